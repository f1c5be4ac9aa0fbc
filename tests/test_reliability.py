"""A damaged or unwritable history database: one clear line at start-up, 503 from /healthz."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fazhi.storage import ReportStore, StoreError

FAZHI = str(Path(sys.executable).with_name("fazhi"))


def _store_with_rows(path: Path, rows: int = 400) -> None:
    store = ReportStore(path)
    for i in range(rows):
        store.add({"verdict": "scored", "score": 50.0, "model_version": "m", "pad": "法" * 400},
                  content_hash=f"{i:064x}", title=f"报告{i}", filename=None, source="test")
    with sqlite3.connect(path) as conn:  # fold the WAL into the file, as after a clean stop
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _damaged(tmp_path: Path, how: str) -> Path:
    path = tmp_path / "history.db"
    _store_with_rows(path)
    data = bytearray(path.read_bytes())
    if how == "header":
        data[:100] = b"\x00" * 100
    elif how == "truncated":
        data = data[: len(data) // 3 + 17]
    elif how == "middle page":
        page = 4096
        middle = (len(data) // page // 2) * page
        data[middle:middle + page] = b"\xff" * page
    path.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


@pytest.mark.parametrize("how", ["header", "truncated", "middle page"])
def test_a_damaged_database_is_refused_with_one_line_naming_it(tmp_path, how):
    path = _damaged(tmp_path, how)
    with pytest.raises(StoreError, match="damaged") as caught:
        ReportStore(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_serve_on_a_damaged_database_exits_with_one_line(tmp_path):
    path = _damaged(tmp_path, "header")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAZHI_")}
    done = subprocess.run([FAZHI, "serve", "--port", "1", "--db", str(path)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(path) in lines[0] and "Traceback" not in done.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only files anyway")
def test_a_read_only_database_is_refused(tmp_path):
    path = tmp_path / "history.db"
    _store_with_rows(path, rows=3)
    path.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(StoreError, match="cannot be written"):
            ReportStore(path)
    finally:
        tmp_path.chmod(0o755)


def test_healthz_reports_the_database_and_503_when_it_cannot_write(app, client, monkeypatch):
    assert client.get("/healthz").get_json()["database"] == "ok"
    store = app.extensions["fazhi_store"]

    def cannot_write():
        raise StoreError(f"history database {store.path} cannot be written (attempt to write a readonly database)")
    monkeypatch.setattr(store, "check_writable", cannot_write)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable" and str(store.path) in response.get_json()["database"]


# --- bounds on one report (fazhi/limits.py) -----------------------------------------------

from fazhi import limits  # noqa: E402
from fazhi.paths import REPORTS_DIR  # noqa: E402
from fazhi.storage import decode_result  # noqa: E402

SHORT_LINES = "\n".join(("法治。" if i % 2 else "甲") for i in range(limits.MAX_UNITS * 2 + 10))
NESTED_HTML = ("<html><body>" + "<div>" * (limits.MAX_HTML_DEPTH + 50) + "法治政府建设。"
               + "</div>" * (limits.MAX_HTML_DEPTH + 50) + "</body></html>")


@pytest.mark.parametrize("payload, status, code", [
    ({"text": "依法行政。" * (limits.MAX_TEXT_CHARS // 5 + 1)}, 413, "too_long"),
    ({"text": SHORT_LINES}, 422, "too_many_units"),
    ({"text": "依法行政" * (limits.MAX_UNIT_CHARS // 4 + 1)}, 422, "unit_too_long"),
])
def test_reports_beyond_the_bounds_are_refused_with_a_reason(app, client, payload, status, code):
    before = app.extensions["fazhi_store"].count()
    response = client.post("/api/v1/score", json=payload)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and "上限" in error["message"]
    assert app.extensions["fazhi_store"].count() == before


def test_deeply_nested_html_is_refused_before_it_is_parsed(client):
    import io

    response = client.post("/api/v1/score", data={"file": (io.BytesIO(NESTED_HTML.encode()), "deep.html")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "too_deep"


def test_cli_refuses_a_report_beyond_the_bounds_with_one_line(tmp_path, capsys):
    from fazhi.cli import main

    path = tmp_path / "short-lines.txt"
    path.write_text(SHORT_LINES, encoding="utf-8")
    assert main(["score", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "上限" in err


# --- compact history and pruning ----------------------------------------------------------

def test_an_ordinary_report_is_stored_compactly(app, client):
    text = next(REPORTS_DIR.glob("001_*.txt")).read_text(encoding="utf-8")
    report_id = client.post("/api/v1/score", json={"text": text}).get_json()["id"]
    store = app.extensions["fazhi_store"]
    with sqlite3.connect(store.path) as conn:
        (size,) = conn.execute("SELECT length(result_json) FROM reports WHERE id = ?", (report_id,)).fetchone()
    assert size <= 30 * 1024
    assert store.get(report_id)["result"]["score"] is not None


def test_rows_stored_as_plain_json_still_read(tmp_path):
    store = ReportStore(tmp_path / "old.db")
    with sqlite3.connect(store.path) as conn:
        conn.execute("INSERT INTO reports (created_at, content_hash, model_version, title, source, verdict, "
                     "result_json) VALUES ('2025-01-01T00:00:00+00:00', 'h', 'm', 't', 'api', 'scored', ?)",
                     ('{"verdict": "scored", "score": 1.5}',))
    assert store.get(1)["result"] == {"verdict": "scored", "score": 1.5}
    assert decode_result(b"x\x9c\xab\xae\x05\x00\x01u\x00\xf9") == {}


def test_history_prune_by_count_and_age(tmp_path, capsys):
    from fazhi.cli import main

    path = tmp_path / "history.db"
    _store_with_rows(path, rows=10)
    with sqlite3.connect(path) as conn:  # the three oldest were scored a year ago
        conn.execute("UPDATE reports SET created_at = '2000-01-01T00:00:00+00:00' WHERE id <= 3")
    assert main(["history", "prune", "--older-than", "30", "--db", str(path)]) == 0
    assert ReportStore(path).count() == 7
    assert main(["history", "prune", "--keep", "4", "--vacuum", "--db", str(path)]) == 0
    store = ReportStore(path)
    assert store.count() == 4 and [r["id"] for r in store.list()] == [10, 9, 8, 7]
    assert "deleted 3 of 7 reports, 4 kept" in capsys.readouterr().out
    assert main(["history", "prune", "--db", str(path)]) == 2  # says what to prune, or nothing


# --- batch outputs --------------------------------------------------------------------------

def test_batch_refuses_an_unwritable_output_folder_before_scoring(tmp_path, capsys):
    from fazhi.cli import main

    reports = tmp_path / "reports" / "2020"
    reports.mkdir(parents=True)
    (reports / "巴南区.txt").write_text(next(REPORTS_DIR.glob("001_*.txt")).read_text(encoding="utf-8"),
                                     encoding="utf-8")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    started = time.monotonic()
    assert main(["batch", str(tmp_path / "reports"), "--out", str(blocker / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(blocker / "out") in err
    assert time.monotonic() - started < 20  # refused before scoring, not after


def test_an_output_that_cannot_be_completed_leaves_the_previous_one(tmp_path, monkeypatch):
    import errno

    from fazhi import reporting

    path = tmp_path / "scores.csv"
    path.write_text("previous run\n", encoding="utf-8")

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(reporting.os, "replace", disk_full)
    with pytest.raises(reporting.OutputError, match=r"cannot write .*scores\.csv: No space left on device"):
        with reporting.replacing(path) as tmp:
            tmp.write_text("new run, half written", encoding="utf-8")
    assert path.read_text(encoding="utf-8") == "previous run\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]


def test_deeply_nested_json_is_a_400_not_a_500(client):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/score", data='{"text": ' + body + "}", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_ten_thousand_form_fields_are_named_as_such(client):
    response = client.post("/", data={f"f{i}": "x" for i in range(10_000)}, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "表单字段过多" in response.get_data(as_text=True)


# --- a long report's result page is paged -----------------------------------------------------

def test_a_long_reports_page_lists_its_units_a_page_at_a_time(app, client):
    app.config["SENTENCES_PAGE_SIZE"] = 100
    text = next(REPORTS_DIR.glob("003_*.txt")).read_text(encoding="utf-8")  # the plan: ~900 units
    report_id = client.post("/api/v1/score", json={"text": text}).get_json()["id"]
    units = len(app.extensions["fazhi_store"].get(report_id)["result"]["sentences"])
    pages = -(-units // 100)
    first = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert first.count('class="sentence ') == 100 and f"第 1 / {pages} 页" in first
    assert f"全部领域（{units}）" in first and 'id="next-page"' in first and 'id="prev-page"' not in first
    last = client.get(f"/reports/{report_id}?page={pages}").get_data(as_text=True)
    assert last.count('class="sentence ') == units - 100 * (pages - 1) and f'start="{100 * (pages - 1) + 1}"' in last
    beyond = client.get(f"/reports/{report_id}?page=9999").get_data(as_text=True)
    assert f"第 {pages} / {pages} 页" in beyond  # clamped, not an error


def test_a_long_reports_json_lists_its_units_a_page_at_a_time(app, client):
    from service.api import API_UNITS_PAGE_SIZE

    text = next(REPORTS_DIR.glob("003_*.txt")).read_text(encoding="utf-8")
    first = client.post("/api/v1/score", json={"text": text}).get_json()
    stored = app.extensions["fazhi_store"].get(first["id"])["result"]["sentences"]
    assert len(stored) > API_UNITS_PAGE_SIZE  # the plan is long enough to need two pages
    paging = first["sentences_page"]
    assert paging["total"] == len(stored) and paging["pages"] == -(-len(stored) // API_UNITS_PAGE_SIZE)
    assert first["sentences"] == stored[:API_UNITS_PAGE_SIZE]
    collected, following = list(first["sentences"]), paging["next"]
    while following:
        page = client.get(following).get_json()
        assert page["sentences_page"]["first_index"] == len(collected)
        collected += page["sentences"]
        following = page["sentences_page"]["next"]
    assert collected == stored
