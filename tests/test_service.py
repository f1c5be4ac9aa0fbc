"""The Flask service: every route through the test client, bad input, and `fazhi serve` for real.

Results are compared with the library (fazhi.scoring.score_report, classify_sentences) on
the same text: the service must add an id and nothing else.
"""
from __future__ import annotations

import io
import json
import random
import re
import tracemalloc
import urllib.request
import zipfile
from concurrent.futures import ProcessPoolExecutor

import lxml.html
import pytest

from fazhi.classify import classify_sentences
from fazhi.model import load_classifier
from fazhi.paths import DEFAULT_MODEL_FILE, REPORTS_DIR
from fazhi.readers import read_report_bytes
from fazhi.scoring import score_report
from fazhi.storage import ReportStore, content_hash
from fazhi.taxonomy import load_taxonomy

SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"

# Thirteen sentences of economic statistics: long enough to judge, not about law-based government.
ECONOMIC_NEWS = "\n".join([
    "2023年全区经济运行总体平稳。", "全年实现地区生产总值1250亿元，同比增长6.2%。",
    "规模以上工业增加值增长7.1%，其中汽车制造业增长12.3%。", "社会消费品零售总额达到486亿元，增长8.5%。",
    "城镇居民人均可支配收入45210元，增长5.4%。", "农村居民人均可支配收入21030元，增长7.0%。",
    "全年新增城镇就业2.3万人，城镇调查失业率控制在5.5%以内。", "固定资产投资增长4.8%，其中工业投资增长15.2%。",
    "新建改建农村公路320公里，完成老旧小区改造56个。", "全年接待游客1800万人次，实现旅游综合收入150亿元。",
    "新开工重点项目86个，完成投资210亿元。", "进出口总额达到95亿元，增长10.1%。", "全年粮食产量稳定在38万吨。",
])


def model_of(app):
    return app.extensions["fazhi_model"]


def store_of(app) -> ReportStore:
    return app.extensions["fazhi_store"]


def file_upload(data: bytes, filename: str, **fields) -> dict:
    """Keyword arguments for client.post: a multipart form with one file."""
    return {"data": {"file": (io.BytesIO(data), filename), **fields}, "content_type": "multipart/form-data"}


def page(response) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(response.get_data(as_text=True))


def text_of(document, element_id: str) -> str:
    return document.get_element_by_id(element_id).text_content().strip()


def without_id(body: dict) -> dict:
    """The result as the library gives it: without the row id and the page of units (a report
    of at most one page lists all its units)."""
    assert body["sentences_page"]["pages"] == 1
    return {k: v for k, v in body.items() if k not in ("id", "sentences_page")}


def blank_pdf() -> bytes:
    """A valid PDF with a drawing and no text layer, like a scan."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.rect(100, 100, 200, 200)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@pytest.fixture(scope="session")
def zip_bomb(tmp_path_factory) -> bytes:
    """A .docx whose one member inflates to 200 MB of zeros (about 200 kB compressed)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            zeros = bytes(1024 * 1024)
            for _ in range(200):
                member.write(zeros)
    return path.read_bytes()


# --- configuration --------------------------------------------------------------------

def test_settings_come_from_the_environment_then_the_given_config(tmp_path, monkeypatch):
    from service.app import create_app

    monkeypatch.setenv("FAZHI_DB", str(tmp_path / "env.db"))
    monkeypatch.setenv("FAZHI_MAX_UPLOAD_MB", "1.5")
    app = create_app()
    assert app.config["DATABASE"] == str(tmp_path / "env.db") and (tmp_path / "env.db").exists()
    assert app.config["MAX_CONTENT_LENGTH"] == app.config["MAX_FORM_MEMORY_SIZE"] == int(1.5 * 1024 * 1024)
    assert create_app({"DATABASE": str(tmp_path / "given.db")}).config["DATABASE"] == str(tmp_path / "given.db")


@pytest.mark.parametrize("value", ["abc", "0", "-3"])
def test_a_bad_upload_limit_in_the_environment_is_refused(tmp_path, monkeypatch, value):
    from service.app import ConfigError, create_app

    monkeypatch.setenv("FAZHI_MAX_UPLOAD_MB", value)
    with pytest.raises(ConfigError, match="FAZHI_MAX_UPLOAD_MB"):
        create_app({"DATABASE": str(tmp_path / "h.db")})


def test_a_bad_secure_cookies_setting_is_refused(tmp_path, monkeypatch):
    from service.app import ConfigError, create_app

    monkeypatch.setenv("FAZHI_SECURE_COOKIES", "yes")
    with pytest.raises(ConfigError, match="FAZHI_SECURE_COOKIES"):
        create_app({"DATABASE": str(tmp_path / "h.db")})


# --- pages ----------------------------------------------------------------------------

def test_upload_page_has_file_picker_and_paste_box(client):
    response = client.get("/")
    assert response.status_code == 200
    document = page(response)
    picker = document.get_element_by_id("file")
    assert picker.get("type") == "file" and picker.get("accept") == ".txt,.docx,.pdf,.html,.htm"
    assert document.get_element_by_id("text").tag == "textarea"
    assert document.get_element_by_id("title").get("name") == "title"
    assert document.get_element_by_id("upload-form").get("method") == "post"
    assert "上传" in response.get_data(as_text=True)


def test_pages_send_a_strict_content_security_policy(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "http" not in policy


def test_pasted_report_redirects_to_its_result_page(app, client, report_text):
    response = client.post("/", data={"text": report_text, "title": "巴南区报告"})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/reports/")

    result_page = client.get(location)
    assert result_page.status_code == 200
    document = page(result_page)
    expected = score_report(model_of(app), report_text, title="巴南区报告")
    assert text_of(document, "score") == f"{expected['score']:.1f}"
    assert text_of(document, "report-title") == "巴南区报告"
    sentences = document.find_class("sentence")
    assert len(sentences) == len(expected["sentences"])
    assert [s.get("data-area") for s in sentences] == [u["area"] for u in expected["sentences"]]
    marks = {s.get("data-category"): s.find_class("mark")[0].text_content() for s in sentences
             if s.get("data-category")}
    assert marks == {"concrete": "具体", "slogan": "口号"}
    names = load_taxonomy().names()
    missing = [li.text_content() for li in document.get_element_by_id("missing-areas") if li.get("data-area")]
    assert missing == [names[a] for a in expected["missing_areas"]]
    assert document.get_element_by_id("area-chart").tag == "svg"
    assert document.get_element_by_id("area-filter").tag == "select"


def test_uploaded_file_is_read_scored_and_named(app, client, report_path):
    data = report_path.read_bytes()
    response = client.post("/", **file_upload(data, report_path.name))
    assert response.status_code == 303
    document = page(client.get(response.headers["Location"]))
    expected = score_report(model_of(app), read_report_bytes(data, report_path.name))
    assert text_of(document, "score") == f"{expected['score']:.1f}"
    assert text_of(document, "filename") == report_path.name
    evidence = [li.text_content() for li in document.find_class("evidence")]
    assert any(e["text"] in line for area in expected["areas"].values() for e in area["evidence"]
               for line in evidence)


def test_history_lists_reports_newest_first_and_opens_them(client, report_text):
    other = (REPORTS_DIR / "000_b5c9b7414a2a048a.txt").read_text(encoding="utf-8")
    first = client.post("/", data={"text": report_text, "title": "第一份"}).headers["Location"]
    second = client.post("/", data={"text": other, "title": "第二份"}).headers["Location"]

    document = page(client.get("/reports"))
    rows = document.find_class("history-row")
    links = [row.xpath(".//a")[0] for row in rows]
    assert [a.text_content() for a in links] == ["第二份", "第一份"]
    assert [a.get("href") for a in links] == [second, first]
    assert text_of(document, "history-total") == "2"
    for link in links:
        reopened = page(client.get(link.get("href")))
        assert text_of(reopened, "report-title") == link.text_content()


def test_history_is_paginated(app, client, report_text):
    result = score_report(model_of(app), report_text)
    for i in range(25):
        store_of(app).add(result, content_hash=content_hash(f"{i}"), title=f"报告{i}", filename=None, source="test")
    first = page(client.get("/reports"))
    assert len(first.find_class("history-row")) == 20
    assert first.find_class("history-row")[0].get("data-id") == "25"
    second = page(client.get(first.get_element_by_id("next-page").get("href")))
    assert [r.get("data-id") for r in second.find_class("history-row")] == ["5", "4", "3", "2", "1"]
    for wild in ("999", "10000000000000000000000", "-3", "abc"):
        assert client.get(f"/reports?page={wild}").status_code == 200


def test_unknown_report_is_a_chinese_404_page(client):
    for path in ("/reports/42", "/reports/100000000000000000000000000", "/nowhere"):
        response = client.get(path)
        assert response.status_code == 404
        assert "页面不存在" in response.get_data(as_text=True)
        assert response.mimetype == "text/html"


# --- JSON API -------------------------------------------------------------------------

def test_api_score_of_a_file_equals_score_report(app, client, report_path):
    data = report_path.read_bytes()
    response = client.post("/api/v1/score", **file_upload(data, report_path.name))
    assert response.status_code == 200
    body = response.get_json()
    assert isinstance(body["id"], int)
    assert without_id(body) == score_report(model_of(app), read_report_bytes(data, report_path.name))


def test_api_score_of_json_text_equals_score_report(app, client, report_text):
    response = client.post("/api/v1/score", json={"text": report_text, "title": "巴南区"})
    assert response.status_code == 200
    body = response.get_json()
    assert without_id(body) == score_report(model_of(app), report_text, title="巴南区")
    assert store_of(app).get(body["id"])["result"] == without_id(body)
    assert client.get(f"/reports/{body['id']}").status_code == 200


def test_same_text_is_stored_once_per_model_version(app, client, report_text):
    first = client.post("/api/v1/score", json={"text": report_text}).get_json()["id"]
    again = client.post("/api/v1/score", json={"text": report_text, "title": "另一个标题"}).get_json()["id"]
    assert again == first and store_of(app).count() == 1


@pytest.mark.parametrize("text, verdict", [("依法行政。", "too_short"), (ECONOMIC_NEWS, "not_a_report")])
def test_unscorable_text_is_a_verdict_not_an_error(app, client, text, verdict):
    response = client.post("/api/v1/score", json={"text": text})
    assert response.status_code == 200
    body = response.get_json()
    assert body["verdict"] == verdict and body["score"] is None
    assert without_id(body) == score_report(model_of(app), text)
    assert client.get(f"/reports/{body['id']}").status_code == 200


def test_api_classify_equals_classify_sentences(app, client, report_text):
    sentences = report_text.split("\n")[:60]
    assert "" in sentences  # blank lines are part of the contract: off-topic, not dropped
    response = client.post("/api/v1/classify", json={"sentences": sentences})
    assert response.status_code == 200
    assert response.get_json() == {"results": classify_sentences(model_of(app), sentences)}
    assert client.post("/api/v1/classify", json={"sentences": []}).get_json() == {"results": []}


def test_api_model_describes_version_metrics_and_taxonomy(app, client):
    body = client.get("/api/v1/model").get_json()
    assert body["version"] == model_of(app).version
    assert body["metrics"] and all(isinstance(v, (int, float)) for v in body["metrics"].values())
    assert body["taxonomy"] == load_taxonomy().to_dict()


def test_healthz(app, client):
    assert client.get("/healthz").get_json() == {"status": "ok", "model_version": model_of(app).version,
                                                 "database": "ok"}


def test_openapi_document_describes_every_api_route(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.get_data(as_text=True))
    assert document["openapi"].startswith("3.1")
    def openapi_path(rule: str) -> str:  # Flask's <int:report_id> is OpenAPI's {report_id}
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)

    api_routes = {openapi_path(rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    assert api_routes == set(document["paths"])
    for path, operations in document["paths"].items():
        methods = {m.lower() for rule in app.url_map.iter_rules() if openapi_path(rule.rule) == path
                   for m in rule.methods - {"HEAD", "OPTIONS"}}
        assert set(operations) == methods, path


# --- bad input ------------------------------------------------------------------------

BAD_API_INPUTS = [
    # (case, path, request keyword arguments, status, error code)
    ("empty file", "/api/v1/score", lambda: file_upload(b"", "empty.txt"), 400, "empty"),
    ("binary file", "/api/v1/score",
     lambda: file_upload(b"\x89PNG\r\n\x1a\n" + random.Random(0).randbytes(4096), "report.txt"), 400, "binary"),
    ("corrupt docx", "/api/v1/score", lambda: file_upload(b"PK\x03\x04 not really a zip", "report.docx"), 400, "corrupt"),
    ("pdf without text", "/api/v1/score", lambda: file_upload(blank_pdf(), "scan.pdf"), 400, "no_text"),
    ("unsupported suffix", "/api/v1/score", lambda: file_upload(b"MZ\x90\x00", "report.exe"), 415, "unsupported"),
    ("no suffix", "/api/v1/score", lambda: file_upload(b"some text", "report"), 415, "unsupported"),
    ("nothing sent", "/api/v1/score", lambda: {}, 400, "missing_field"),
    ("form without file", "/api/v1/score", lambda: {"data": {"text": "依法行政。"}}, 400, "missing_field"),
    ("json without text", "/api/v1/score", lambda: {"json": {"title": "x"}}, 400, "missing_field"),
    ("json text not a string", "/api/v1/score", lambda: {"json": {"text": 42}}, 400, "invalid_field"),
    ("json title not a string", "/api/v1/score", lambda: {"json": {"text": "依法行政。", "title": []}}, 400, "invalid_field"),
    ("json array body", "/api/v1/score", lambda: {"json": ["依法行政。"]}, 400, "invalid_json"),
    ("malformed json", "/api/v1/score",
     lambda: {"data": b'{"text": ', "content_type": "application/json"}, 400, "invalid_json"),
    ("blank text", "/api/v1/score", lambda: {"json": {"text": " \n\t "}}, 400, "empty"),
    ("lone surrogate", "/api/v1/score",
     lambda: {"data": b'{"text": "\\ud800"}', "content_type": "application/json"}, 400, "encoding"),
    ("classify without json", "/api/v1/classify", lambda: {"data": "依法行政。"}, 400, "invalid_json"),
    ("classify missing field", "/api/v1/classify", lambda: {"json": {}}, 400, "invalid_field"),
    ("classify string not list", "/api/v1/classify", lambda: {"json": {"sentences": "依法行政。"}}, 400, "invalid_field"),
    ("classify non-string item", "/api/v1/classify", lambda: {"json": {"sentences": ["a", 1]}}, 400, "invalid_field"),
    ("classify too many", "/api/v1/classify", lambda: {"json": {"sentences": ["依法行政。"] * 5001}}, 400,
     "too_many_sentences"),
    ("classify sentence too long", "/api/v1/classify", lambda: {"json": {"sentences": ["法" * 10_001]}}, 400,
     "sentence_too_long"),
]

BAD_PAGE_INPUTS = [
    ("nothing chosen", lambda: {"data": {"text": "  ", "file": (io.BytesIO(b""), "")},
                                "content_type": "multipart/form-data"}, 400),
    ("empty file", lambda: file_upload(b"", "empty.txt"), 400),
    ("unsupported suffix", lambda: file_upload(b"abc", "report.doc"), 415),
    ("pdf without text", lambda: file_upload(blank_pdf(), "scan.pdf"), 400),
]


@pytest.mark.parametrize("case, path, make_request, status, code", BAD_API_INPUTS, ids=[c[0] for c in BAD_API_INPUTS])
def test_bad_api_input_is_a_json_4xx(client, case, path, make_request, status, code):
    response = client.post(path, **make_request())
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]


@pytest.mark.parametrize("case, make_request, status", BAD_PAGE_INPUTS, ids=[c[0] for c in BAD_PAGE_INPUTS])
def test_bad_page_input_is_a_chinese_error_page(client, case, make_request, status):
    response = client.post("/", **make_request())
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert "出错了" in response.get_data(as_text=True)
    assert text_of(page(response), "error-message")


def test_upload_over_the_limit_is_413_naming_the_limit(client):
    too_big = b"a" * (2 * 1024 * 1024 + 1)
    response = client.post("/api/v1/score", **file_upload(too_big, "big.txt"))
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "too_large" and "2 MB" in error["message"]
    page_response = client.post("/", **file_upload(too_big, "big.txt"))
    assert page_response.status_code == 413 and "2 MB" in page_response.get_data(as_text=True)
    pasted = client.post("/", data={"text": "法" * (1024 * 1024)})  # 3 MB of UTF-8 in a form field
    assert pasted.status_code == 413


def test_pasted_text_larger_than_flasks_form_default_is_accepted(client, report_text):
    # Flask caps form fields at 500 kB unless told otherwise; the paste box gets the upload limit.
    long_text = report_text + "\n" * 600_000  # the bytes without the cost of scoring them
    assert 500_000 < len(long_text.encode("utf-8")) < 2 * 1024 * 1024
    assert client.post("/", data={"text": long_text}).status_code == 303


def test_docx_zip_bomb_is_refused_without_inflating_it(client, zip_bomb):
    tracemalloc.start()
    try:
        response = client.post("/api/v1/score", **file_upload(zip_bomb, "report.docx"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert peak < 50 * 1024 * 1024, f"peak {peak / 2**20:.0f} MB while refusing the bomb"


def test_uploaded_file_name_is_never_used_as_a_path(app, client, report_text, tmp_path, monkeypatch):
    workdir = tmp_path / "a" / "b"
    workdir.mkdir(parents=True)
    monkeypatch.chdir(workdir)  # "../../etc/passwd.txt" would land in tmp_path/etc
    before = {p for p in tmp_path.rglob("*")}
    response = client.post("/", **file_upload(report_text.encode("utf-8"), "../../etc/passwd.txt"))
    assert response.status_code == 303
    api = client.post("/api/v1/score", **file_upload(b"\xef\xbb\xbf" + report_text.encode("utf-8"),
                                                         "..\\..\\etc\\shadow.txt"))
    assert api.status_code == 200
    created = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")} - {
        p.relative_to(tmp_path).as_posix() for p in before}
    assert created <= {"fazhi.db-wal", "fazhi.db-shm"}
    assert not (tmp_path / "etc").exists()
    report_id = int(response.headers["Location"].rsplit("/", 1)[1])
    # The same text twice: one row, named after the latest upload, never a path.
    filename = store_of(app).get(report_id)["filename"]
    assert filename.endswith("shadow.txt") and "/" not in filename and "\\" not in filename


def test_script_in_a_report_is_escaped_everywhere(client, report_text):
    text = f"{report_text}\n{SCRIPT}区司法局开展依法行政培训3次，参训1200人次。\n"
    # No '"' in the name: werkzeug's test client does not escape it in the multipart header.
    response = client.post("/", **file_upload(text.encode("utf-8"), "<img src=x onerror=alert(1)>.txt",
                                              title=f"{SCRIPT}报告"))
    assert response.status_code == 303
    for path in (response.headers["Location"], "/reports"):
        html = client.get(path).get_data(as_text=True)
        assert ESCAPED_SCRIPT in html
        assert SCRIPT not in html and "<img" not in html
        assert html.count("<script") == (1 if path.startswith("/reports/") else 0)  # report.js only


def test_bad_inputs_leave_the_history_unchanged(app, client, report_text, zip_bomb):
    stored = client.post("/api/v1/score", json={"text": report_text}).get_json()
    assert store_of(app).count() == 1
    for case, path, make_request, status, code in BAD_API_INPUTS:
        assert client.post(path, **make_request()).status_code == status, case
    for case, make_request, status in BAD_PAGE_INPUTS:
        assert client.post("/", **make_request()).status_code == status, case
    assert client.post("/api/v1/score", **file_upload(zip_bomb, "bomb.docx")).status_code == 413
    assert client.post("/", **file_upload(b"a" * (3 * 1024 * 1024), "big.txt")).status_code == 413

    assert store_of(app).count() == 1
    assert text_of(page(client.get(f"/reports/{stored['id']}")), "score") == f"{stored['score']:.1f}"
    assert len(page(client.get("/reports")).find_class("history-row")) == 1


# --- storage --------------------------------------------------------------------------

def _result(score: float, model_version: str = "m1") -> dict:
    return {"verdict": "scored", "score": score, "coverage": 0.5, "specificity": 0.25,
            "model_version": model_version, "sentences": [{"text": "依法行政。"}]}


def test_store_keeps_one_row_per_text_and_model_version(tmp_path):
    store = ReportStore(tmp_path / "sub" / "history.db")
    first = store.add(_result(60.0), content_hash="h1", title="一", filename="a.txt", source="test")
    assert store.add(_result(61.0), content_hash="h1", title="二", filename=None, source="test") == first
    other_model = store.add(_result(62.0, "m2"), content_hash="h1", title="三", filename=None, source="test")
    injected = store.add(_result(10.0), content_hash="h2", title="'); DROP TABLE reports; --",
                         filename=None, source="test", district="巴南区", year=2020)
    assert store.count() == 3
    assert store.find("h1", "m1")["id"] == first and store.find("h1", "m3") is None
    # The first result is kept; the title is the latest upload's, the file name the last one given.
    assert store.get(first)["result"] == _result(60.0) and store.get(first)["title"] == "二"
    assert store.get(first)["filename"] == "a.txt"
    listed = store.list()
    assert [r["id"] for r in listed] == [injected, other_model, first]
    assert "result" not in listed[0] and "result_json" not in listed[0]
    assert listed[0]["title"] == "'); DROP TABLE reports; --" and listed[0]["year"] == 2020
    assert store.list(limit=1, offset=1)[0]["id"] == other_model
    assert store.get(10**30) is None and store.get(0) is None


def _add_many(args) -> list[int]:
    path, worker = args
    store = ReportStore(path)
    return [store.add(_result(float(i)), content_hash=f"{worker}-{i}", title="t", filename=None, source="test")
            for i in range(25)]


def test_store_is_safe_for_concurrent_processes(tmp_path):
    path = tmp_path / "shared.db"
    with ProcessPoolExecutor(max_workers=4) as pool:
        ids = [i for chunk in pool.map(_add_many, [(path, w) for w in range(4)]) for i in chunk]
    assert len(set(ids)) == 100 and ReportStore(path).count() == 100


# --- the real server ------------------------------------------------------------------

def test_fazhi_serve_reports_a_missing_model_without_starting(tmp_path, capsys):
    from fazhi.cli import EXIT_BAD_INPUT, main

    code = main(["serve", "--model", str(tmp_path / "missing.joblib"), "--db", str(tmp_path / "h.db")])
    assert code == EXIT_BAD_INPUT
    assert "missing.joblib" in capsys.readouterr().err


def test_fazhi_serve_scores_a_real_report(live_server, report_text):
    request = urllib.request.Request(
        f"{live_server}/api/v1/score", data=json.dumps({"text": report_text}).encode("utf-8"),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        body = json.loads(response.read())
    # Loaded afresh, not from this process's cache: the committed model may have been
    # retrained since the test session started.
    expected = score_report(load_classifier(DEFAULT_MODEL_FILE), report_text)
    assert body["score"] == expected["score"] and 0 < body["score"] <= 100
    with urllib.request.urlopen(f"{live_server}/reports/{body['id']}", timeout=30) as response:
        assert f"{expected['score']:.1f}" in response.read().decode("utf-8")


def test_a_novel_is_not_filed_under_any_task_area(client):
    novel = "\n".join(["第一章", "那年冬天，他独自走在回家的路上，雪下得很大。", "母亲站在门口，手里提着一盏旧灯笼。"] * 10)
    body = client.post("/api/v1/score", json={"text": novel}).get_json()
    assert body["verdict"] == "not_a_report"
    page = client.get(f"/reports/{body['id']}").get_data(as_text=True)
    assert 'id="off-topic-note"' in page and 'id="area-chart"' not in page
    assert "政府机构职能体系" not in page and "未归类" in page
