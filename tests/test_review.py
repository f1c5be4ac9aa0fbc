"""Reviewers correct a scored report: accounts, CSRF, decisions, reviewed figures, export, retraining."""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil

import pytest

from fazhi import cli
from fazhi.labels import load_documents, load_labels
from fazhi.model import load_classifier
from fazhi.paths import DEFAULT_MODEL_FILE, DOCUMENTS_FILE, LABELS_DIR
from fazhi.review import REVIEW_SOURCE, export_labels, review_order, uncertainty
from fazhi.storage import ReportStore

PASSWORD = "correct horse battery"


def store_of(app) -> ReportStore:
    return app.extensions["fazhi_store"]


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def log_in(client, name: str = "reviewer", password: str = PASSWORD):
    return client.post("/login", data={"name": name, "password": password, "csrf_token": csrf_token(client)})


@pytest.fixture
def reviewer(app):
    store_of(app).add_reviewer("reviewer", PASSWORD)
    return "reviewer"


@pytest.fixture
def report_id(client, report_text):
    return client.post("/api/v1/score", json={"text": report_text}).get_json()["id"]


def body_units(app, report_id: int) -> list[int]:
    units = store_of(app).get(report_id)["result"]["sentences"]
    return [i for i, u in enumerate(units) if u["kind"] == "body" and u["area"] != "none"]


def other_area(area: str) -> str:
    return "digital" if area != "digital" else "emergencies"


def decide(client, report_id: int, index: int, token: str | None, **fields):
    data = dict(fields, **({"csrf_token": token} if token else {}))
    return client.post(f"/reports/{report_id}/review/units/{index}", data=data,
                       headers={"Accept": "application/json"})


# --- who may write ------------------------------------------------------------------------

def test_an_anonymous_visitor_reads_but_cannot_correct(app, client, report_id):
    index = body_units(app, report_id)[0]
    assert client.get(f"/reports/{report_id}").status_code == 200
    response = decide(client, report_id, index, csrf_token(client), action="correct", area="digital",
                      category="concrete")
    assert response.status_code == 403
    assert client.post(f"/api/v1/reports/{report_id}/units/{index}", json={"action": "confirm"}).status_code == 403
    assert store_of(app).decisions(report_id) == {}
    # The review page itself asks for a login.
    assert client.get(f"/reports/{report_id}/review").status_code == 303


def test_a_failed_login_does_not_say_which_half_was_wrong(client, reviewer):
    wrong_password = log_in(client, password="not the password")
    wrong_name = log_in(client, name="nobody")
    assert wrong_password.status_code == wrong_name.status_code == 401
    message = "用户名或密码错误"
    assert message in wrong_password.get_data(as_text=True) and message in wrong_name.get_data(as_text=True)


def test_logins_are_rate_limited(client, reviewer):
    for _ in range(5):
        assert log_in(client, password="wrong password!").status_code == 401
    # Even the right password is refused until the window passes.
    refused = log_in(client)
    assert refused.status_code == 429 and "登录失败次数过多" in refused.get_data(as_text=True)


def test_a_forged_form_without_its_csrf_token_is_refused(app, client, reviewer, report_id):
    assert log_in(client).status_code == 303
    index = body_units(app, report_id)[0]
    response = decide(client, report_id, index, None, action="confirm")
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    forged = decide(client, report_id, index, "not-a-token", action="confirm")
    assert forged.status_code == 400
    assert store_of(app).decisions(report_id) == {}


def test_passwords_are_stored_salted_and_hashed(app, reviewer):
    import sqlite3

    with sqlite3.connect(app.config["DATABASE"]) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM reviewers").fetchone()
    assert PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    store_of(app).add_reviewer("second", PASSWORD)
    with sqlite3.connect(app.config["DATABASE"]) as conn:
        hashes = [row[0] for row in conn.execute("SELECT password_hash FROM reviewers")]
    assert len(set(hashes)) == 2  # same password, different salt


@pytest.mark.parametrize("setting, secure", [(None, False), ("0", False), ("1", True)])
def test_the_session_cookie_is_secure_when_served_over_https(tmp_path, monkeypatch, setting, secure):
    from service.app import create_app

    if setting is not None:
        monkeypatch.setenv("FAZHI_SECURE_COOKIES", setting)
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "h.db"), "SECRET_KEY": "a key for tests only"})
    store_of(app).add_reviewer("reviewer", PASSWORD)
    response = log_in(app.test_client())
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert cookies and ("; Secure" in cookies[0]) is secure


# --- decisions ----------------------------------------------------------------------------

def test_a_correction_is_stored_with_its_context_and_changes_the_reviewed_figures(app, client, reviewer, report_id):
    assert log_in(client).status_code == 303
    token = csrf_token(client, f"/reports/{report_id}/review")
    units = store_of(app).get(report_id)["result"]["sentences"]
    concrete = [i for i in body_units(app, report_id) if units[i]["category"] == "concrete"][:3]
    for index in concrete:
        response = decide(client, report_id, index, token, action="correct", area=units[index]["area"],
                          category="slogan")
        assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["figures"]["reviewed"]["specificity"] < body["figures"]["model"]["specificity"]

    decision = store_of(app).decisions(report_id)[concrete[0]]
    unit = units[concrete[0]]
    assert (decision["text"], decision["start"], decision["end"]) == (unit["text"], unit["start"], unit["end"])
    assert (decision["old_category"], decision["new_category"], decision["reviewer"]) == ("concrete", "slogan", reviewer)
    assert decision["model_version"] == store_of(app).get(report_id)["model_version"]

    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert "审核后" in page and 'id="reviewed-specificity"' in page


def test_a_later_decision_supersedes_and_the_history_stays(app, client, reviewer, report_id):
    log_in(client)
    token = csrf_token(client, f"/reports/{report_id}/review")
    index = body_units(app, report_id)[0]
    area = store_of(app).get(report_id)["result"]["sentences"][index]["area"]
    decide(client, report_id, index, token, action="correct", area=other_area(area), category="concrete")
    decide(client, report_id, index, token, action="confirm")
    assert store_of(app).decisions(report_id)[index]["new_area"] == area
    history = store_of(app).decision_history(report_id)
    assert [d["new_area"] for d in history] == [other_area(area), area]


@pytest.mark.parametrize("fields, code", [
    ({"action": "correct", "area": "no-such-area", "category": "concrete"}, 400),
    ({"action": "correct", "area": "rules"}, 400),                      # a body sentence needs a category
    ({"action": "correct", "area": "rules", "category": "maybe"}, 400),
])
def test_invalid_decisions_are_refused_and_nothing_is_stored(app, client, reviewer, report_id, fields, code):
    log_in(client)
    token = csrf_token(client, f"/reports/{report_id}/review")
    response = decide(client, report_id, body_units(app, report_id)[0], token, **fields)
    assert response.status_code == code and store_of(app).decisions(report_id) == {}
    assert decide(client, report_id, 10**6, token, action="confirm").status_code == 404


def test_the_api_takes_a_reviewers_token_for_writes(app, client, reviewer, report_id):
    token = store_of(app).new_token(reviewer)
    index = body_units(app, report_id)[0]
    url = f"/api/v1/reports/{report_id}/units/{index}"
    assert client.post(url, json={"action": "confirm"}, headers={"Authorization": "Bearer wrong"}).status_code == 403
    response = client.post(url, json={"action": "confirm"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.get_json()["decision"]["reviewer"] == reviewer
    report = client.get(f"/api/v1/reports/{report_id}").get_json()
    assert report["review"]["decided"] == 1 and report["review"]["decisions"][0]["unit_index"] == index


def test_html_in_a_reports_text_stays_text_on_the_review_page(app, client, reviewer):
    text = "\n".join(["区司法局开展执法检查3次，<script>alert(1)</script>整改问题12个。"] +
                     [f"全区共办理行政复议案件{n}件，纠错率{n}%。" for n in range(20, 40)])
    report_id = client.post("/api/v1/score", json={"text": text}).get_json()["id"]
    log_in(client)
    page = client.get(f"/reports/{report_id}/review?order=document").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_least_certain_first_puts_undecided_uncertain_units_first(app, report_id):
    units = store_of(app).get(report_id)["result"]["sentences"]
    order = review_order(units, {}, least_certain=True)
    body = [i for i in order if units[i]["kind"] != "furniture"]
    certainties = [uncertainty(units[i]) for i in body]
    assert certainties == sorted(certainties) and sorted(order) == list(range(len(units)))
    decided = {order[0]: {"new_area": "rules"}}
    assert review_order(units, decided, least_certain=True)[-1] == order[0] or units[order[0]]["kind"] == "furniture"


def test_prune_keeps_reviewed_reports(app, client, reviewer, report_id, report_text):
    other = client.post("/api/v1/score", json={"text": report_text + "\n补充一句。"}).get_json()["id"]
    store_of(app).add_decision(report_id, body_units(app, report_id)[0], new_area="rules", new_category="slogan",
                               reviewer=reviewer)
    assert store_of(app).prune(keep=0) == 1
    assert store_of(app).get(report_id) is not None and store_of(app).get(other) is None


def test_a_reupload_under_another_name_shows_that_name(app, client, report_text):
    data = report_text.encode("utf-8")
    first = client.post("/api/v1/score", data={"file": (io.BytesIO(data), "第一个名字.txt")}).get_json()["id"]
    again = client.post("/api/v1/score", data={"file": (io.BytesIO(data), "第二个名字.txt")}).get_json()["id"]
    assert first == again and store_of(app).get(first)["filename"] == "第二个名字.txt"
    assert "第二个名字.txt" in client.get(f"/reports/{first}").get_data(as_text=True)


# --- the CLI ------------------------------------------------------------------------------

def test_users_add_and_token_from_the_cli(tmp_path, monkeypatch, capsys):
    db = tmp_path / "fazhi.db"  # not there yet: adding the first reviewer creates it
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["users", "add", "审核员甲", "--password-stdin", "--db", str(db)]) == 0
    assert ReportStore(db).check_password("审核员甲", PASSWORD)
    assert not ReportStore(db).check_password("审核员甲", PASSWORD + "x")
    capsys.readouterr()
    assert cli.main(["users", "token", "审核员甲", "--db", str(db)]) == 0
    token = capsys.readouterr().out.strip()
    assert ReportStore(db).reviewer_of_token(token) == "审核员甲"
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["users", "add", "乙", "--password-stdin", "--db", str(db)]) == cli.EXIT_BAD_INPUT
    assert cli.main(["users", "token", "nobody", "--db", str(db)]) == cli.EXIT_BAD_INPUT
    assert cli.main(["users", "list", "--db", str(tmp_path / "missing.db")]) == cli.EXIT_BAD_INPUT


# --- from decisions to labels to a model --------------------------------------------------

@pytest.fixture
def labels_copy(tmp_path):
    """A copy of the project's labels and document list, to export into."""
    labels = tmp_path / "data" / "labels"
    shutil.copytree(LABELS_DIR, labels, ignore=shutil.ignore_patterns("*/"))
    shutil.copy(DOCUMENTS_FILE, tmp_path / "data" / "documents.yaml")
    return labels


def _correct_three(app, report_id: int, reviewer: str) -> list[dict]:
    store = store_of(app)
    units = store.get(report_id)["result"]["sentences"]
    chosen = body_units(app, report_id)[:3]
    decisions = []
    for index in chosen:
        unit = units[index]
        new_category = "slogan" if unit["category"] == "concrete" else "concrete"
        decisions.append(store.add_decision(report_id, index, new_area=other_area(unit["area"]),
                                            new_category=new_category, reviewer=reviewer))
    return decisions


def test_export_writes_review_labels_deduplicated_and_registers_the_report(app, client, reviewer, labels_copy):
    # A new report (sentences no label file holds) and the labelled report 001 (all held).
    fresh = "\n".join(f"第{n}季度，区政务服务中心新增“一网通办”事项{n * 7}项，压缩办理时限{n}个工作日。" for n in range(1, 13))
    fresh_id = client.post("/api/v1/score", json={"text": fresh}).get_json()["id"]
    corrected = _correct_three(app, fresh_id, reviewer)
    labelled_text = (LABELS_DIR.parent / "reports" / "001_4bbaf42a68c37ea5.txt").read_text(encoding="utf-8")
    labelled_id = client.post("/api/v1/score", json={"text": labelled_text}).get_json()["id"]
    _correct_three(app, labelled_id, reviewer)

    summary = export_labels(store_of(app), labels_copy, labels_copy.parent / "documents.yaml")
    assert summary.exported == 3 and summary.corrected == 3 and summary.already_labelled == 3
    assert sum(summary.area_changes.values()) == 3
    units = load_labels(labels_copy)  # the whole folder still loads: no disagreement
    review = [u for u in units if u.source == REVIEW_SOURCE]
    assert sorted((u.text, u.area, u.category) for u in review) == sorted(
        (d["text"], d["new_area"], d["new_category"]) for d in corrected)
    documents = load_documents(labels_copy.parent / "documents.yaml")
    assert documents[review[0].doc].kind == "review"
    assert "# The labelled source documents" in (labels_copy.parent / "documents.yaml").read_text(encoding="utf-8")
    # Exporting again gives the same files.
    before = {p.name: p.read_bytes() for p in labels_copy.iterdir()}
    export_labels(store_of(app), labels_copy, labels_copy.parent / "documents.yaml")
    assert {p.name: p.read_bytes() for p in labels_copy.iterdir()} == before


def test_the_whole_loop_upload_correct_export_train(app, client, reviewer, labels_copy, tmp_path, monkeypatch):
    """Upload a small report, correct three units in the browser's way (session, CSRF), export
    with the CLI, train: a new data hash, and the corrected sentences in the training set."""
    import mlflow

    import training.train

    text = "\n".join(f"{n}月，区应急管理局组织开展危险化学品企业执法检查{n + 4}次，督促整改隐患{n * 3}处。"
                     for n in range(1, 13))
    report_id = client.post("/", data={"text": text}).headers["Location"].rsplit("/", 1)[-1]
    report_id = int(report_id)
    log_in(client)
    token = csrf_token(client, f"/reports/{report_id}/review")
    units = store_of(app).get(report_id)["result"]["sentences"]
    chosen = body_units(app, report_id)[:3]
    for index in chosen:
        response = decide(client, report_id, index, token, action="correct", area="emergencies", category="concrete"
                          if units[index]["category"] == "slogan" else "slogan")
        assert response.status_code == 200
    expected = {(units[i]["text"], "emergencies", store_of(app).decisions(report_id)[i]["new_category"]) for i in chosen}

    assert cli.main(["labels", "export", "--db", app.config["DATABASE"], "--out", str(labels_copy)]) == 0

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    with contextlib.redirect_stdout(io.StringIO()):
        assert training.train.main(["--labels-dir", str(labels_copy), "--area-features", "word+char+kw",
                                    "--category-features", "anchor"]) == 0
    client_ = mlflow.MlflowClient(tracking_uri=os.environ["MLFLOW_TRACKING_URI"])
    (run,) = client_.search_runs([client_.get_experiment_by_name("fazhi").experiment_id])
    assert run.data.params["data_hash"] != load_classifier(DEFAULT_MODEL_FILE).info["data_hash"]
    assert run.data.params["n_units_review"] == "3"
    local = client_.download_artifacts(run.info.run_id, "data/training-set.jsonl", str(tmp_path))
    trained = {(r["text"], r["area"], r["category"]) for r in map(json.loads, open(local, encoding="utf-8"))
               if r["source"] == REVIEW_SOURCE}
    assert trained == expected


def test_review_labels_train_but_never_evaluate():
    from fazhi.labels import LabelledUnit, load_documents
    from training.evaluate import build_tasks

    documents = load_documents()
    review_doc = type(documents["001"])(doc="review-0123456789ab", kind="review", title="t", year=None, file=None)
    unit = LabelledUnit(doc=review_doc.doc, text="区司法局开展执法检查3次。", area="enforcement", category="concrete",
                        source=REVIEW_SOURCE, kind="body", file="review-0123456789ab.jsonl", line=1)
    manual = [u for u in load_labels() if u.doc == "001"][:20]
    area, category = build_tasks(manual + [unit], {**documents, review_doc.doc: review_doc})
    assert not area.evaluate[-1] and not category.evaluate[-1]
    assert area.texts[-1] == unit.text  # it trains
