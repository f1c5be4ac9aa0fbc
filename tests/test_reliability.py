"""A damaged or unwritable history database: one clear line at start-up, 503 from /healthz.

And kill -9 while writing never loses or corrupts stored results: a batch killed while it
replaces its outputs leaves each one whole (the earlier run's or the new one), and a process
killed inside a write to the history keeps every row committed before.
"""
from __future__ import annotations

import contextlib
import csv
import inspect
import io
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image

from fazhi import limits, reporting
from fazhi.batch import DEFAULT_DB_NAME
from fazhi.paths import REPORTS_DIR
from fazhi.storage import ReportStore, StoreError, decode_result
from fazhi.taxonomy import load_taxonomy

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


def _open_new_stores_in_step(barrier, folder: Path, rounds: int, failures) -> None:
    for round_ in range(rounds):
        barrier.wait()  # every process opens the same new file at the same moment
        try:
            ReportStore(folder / f"history-{round_}.db")
        except StoreError as exc:
            failures.put(str(exc))


def test_processes_opening_a_new_database_together_all_open_it(tmp_path):
    # Switching a new file to WAL takes a lock SQLite does not wait for: server workers or a
    # batch opening a new history together met "database is locked", reported as "damaged"
    # (one open in 50 before the retry; 6 processes opening 40 new files catch that surely).
    context = multiprocessing.get_context("fork")
    barrier, failures = context.Barrier(6), context.Queue()
    processes = [context.Process(target=_open_new_stores_in_step, args=(barrier, tmp_path, 40, failures))
                 for _ in range(6)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert all(process.exitcode == 0 for process in processes)
    assert failures.empty(), failures.get()


def test_a_database_locked_past_the_busy_timeout_is_called_busy_not_damaged(tmp_path, monkeypatch):
    path = tmp_path / "history.db"
    ReportStore(path)
    monkeypatch.setattr("fazhi.storage.BUSY_TIMEOUT_SECONDS", 0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write
    try:
        with pytest.raises(StoreError, match="is busy") as caught:
            ReportStore(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "damaged" not in str(caught.value) and str(path) in str(caught.value)


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

# --- kill -9 while writing never loses or corrupts stored results ---------------------------
#
# The process is frozen (SIGSTOP) the moment the write of interest is seen in progress, the
# test checks while it is frozen that the write really is in progress, and only then sends
# SIGKILL: the kill lands in the window every time, instead of at a delay that may miss it.


REPO_ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
# The outputs of a batch whose districts have one year each (so no year-over-year chart).
BATCH_OUTPUTS = (reporting.CSV_NAME, reporting.XLSX_NAME, reporting.HTML_NAME, reporting.HEATMAP_NAME,
                 reporting.SPECIFICITY_NAME)
KILL_ATTEMPTS = 5          # runs that finish before their write is caught are tried again
CHILD_TIMEOUT_SECONDS = 120


def _child_env() -> dict:
    """The environment for a child process: it imports this checkout's `fazhi`, not an installed one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAZHI_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def _freeze(process: subprocess.Popen) -> bool:
    """SIGSTOP the child and wait until it has stopped: True, or False if it exited first."""
    os.kill(process.pid, signal.SIGSTOP)
    _, status = os.waitpid(process.pid, os.WUNTRACED)
    if os.WIFSTOPPED(status):
        return True
    process.returncode = os.waitstatus_to_exitcode(status)
    return False


def _kill_frozen(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)  # a stopped process dies at once, where it stopped
    assert process.wait(timeout=CHILD_TIMEOUT_SECONDS) == -signal.SIGKILL


def _assert_complete(path: Path) -> int:
    """Fail unless `path` is a whole output of its kind; the number of rows, for the CSV."""
    data = path.read_bytes()
    assert data, f"{path.name} is empty"
    if path.suffix == ".csv":
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        rows = list(reader)
        assert reader.fieldnames == reporting.csv_columns(load_taxonomy())
        for row in rows:  # a cut line lacks fields (None) or leaves a quote open
            assert None not in row and None not in row.values(), f"{path.name}: incomplete row {row}"
            assert row["status"] in reporting.STATUS_LABELS
        assert data.endswith(b"\r\n")
        return len(rows)
    if path.suffix == ".xlsx":
        workbook = load_workbook(path)
        assert workbook.sheetnames == [reporting.SHEET_RANKING, reporting.SHEET_MATRIX, reporting.SHEET_ERRORS]
        workbook.close()
    elif path.suffix == ".png":
        assert data.startswith(PNG_SIGNATURE) and data.endswith(PNG_END), f"{path.name} is not a whole PNG"
        with Image.open(path) as image:
            image.load()  # decodes every chunk
    elif path.suffix == ".html":
        assert data.decode("utf-8").rstrip().endswith("</html>"), f"{path.name} is cut short"
    return 0


def _half_written(path: Path) -> bool:
    """Whether `path` holds the start of a PNG or XLSX file but not its end."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return False
    if ".png" in path.suffixes:
        return data.startswith(PNG_SIGNATURE) and not data.endswith(PNG_END)
    return data.startswith(b"PK") and not zipfile.is_zipfile(io.BytesIO(data))  # the zip directory comes last


def _run_batch_killed_while_writing(reports: Path, out: Path, target: str, log: Path) -> subprocess.Popen | None:
    """`fazhi batch` in a child process, killed while `target` is half written: the process, or
    None if the write went by before it could be caught (the run then finished normally)."""
    with open(log, "wb") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "fazhi.cli", "batch", str(reports), "--out", str(out)],
                                   stdout=log_file, stderr=subprocess.STDOUT, env=_child_env(), cwd=out.parent)
    temporary = out / f".{target}.{process.pid}.tmp"  # what `reporting.replacing` writes first
    try:
        deadline = time.monotonic() + CHILD_TIMEOUT_SECONDS
        while process.poll() is None:
            assert time.monotonic() < deadline, f"fazhi batch still running:\n{log.read_text(errors='replace')}"
            if _half_written(temporary):
                if not _freeze(process):
                    break
                if _half_written(temporary):  # still half written while frozen: kill it right here
                    _kill_frozen(process)
                    return process
                os.kill(process.pid, signal.SIGCONT)
            time.sleep(0.0005)
    finally:
        if process.returncode is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, log.read_text(errors="replace")
    return None


@pytest.mark.parametrize("target", [reporting.HEATMAP_NAME, reporting.XLSX_NAME])
def test_batch_killed_while_writing_its_outputs_leaves_every_output_whole(tmp_path, capsys, target):
    from fazhi.cli import main

    seeds = sorted(REPORTS_DIR.glob("00[012]_*.txt"))  # the three short seed reports
    reports, out = tmp_path / "reports", tmp_path / "out"
    reports.mkdir()
    for seed in seeds[:2]:
        shutil.copy(seed, reports)
    assert main(["batch", str(reports), "--out", str(out)]) == 0  # a complete earlier run
    capsys.readouterr()
    earlier = {name: (out / name).read_bytes() for name in BATCH_OUTPUTS}
    assert all(earlier.values())
    shutil.copy(seeds[2], reports)  # one more report: the new outputs differ from the earlier ones

    for attempt in range(KILL_ATTEMPTS):
        killed = _run_batch_killed_while_writing(reports, out, target, tmp_path / f"batch-{attempt}.log")
        if killed is not None:
            break
    else:
        pytest.fail(f"{KILL_ATTEMPTS} runs finished before the write of {target} could be caught")

    # The kill landed while the target was half written: its temporary is left behind so ...
    stale = out / f".{target}.{killed.pid}.tmp"
    assert _half_written(stale)
    # ... and the output itself is still the earlier run's, byte for byte.
    assert (out / target).read_bytes() == earlier[target]
    for name in BATCH_OUTPUTS:  # each one the earlier run's or the new run's, whole
        rows = _assert_complete(out / name)
        if name == reporting.CSV_NAME:
            assert rows in (2, 3)
    # The report scored before the outputs were begun is kept, and the database is sound.
    store = ReportStore(out / DEFAULT_DB_NAME)
    assert store.count() == 3
    assert all(store.get(r["id"])["result"]["score"] is not None for r in store.list())

    # Running it again finishes the job from the database and removes the stale temporary.
    assert main(["batch", str(reports), "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert stdout.startswith("3 reports: 0 scored, 3 cached, 0 errors"), stdout
    assert ".tmp" not in stdout
    for name in BATCH_OUTPUTS:
        assert f"wrote {out / name}" in stdout
    assert _assert_complete(out / reporting.CSV_NAME) == 3
    for name in BATCH_OUTPUTS:
        _assert_complete(out / name)
    leftovers = {p.name for p in out.iterdir()} - {*BATCH_OUTPUTS, DEFAULT_DB_NAME,
                                                   f"{DEFAULT_DB_NAME}-wal", f"{DEFAULT_DB_NAME}-shm"}
    assert leftovers == set() and not stale.exists()  # the killed run's temporary is cleared, nothing new left


def history_result(i: int) -> dict:
    """Row i: its number and 48 KB of incompressible text, so each insert writes a dozen pages."""
    return {"verdict": "scored", "score": float(i % 100), "model_version": "kill-test", "i": i,
            "pad": random.Random(i).randbytes(24 * 1024).hex()}


# A child process adds rows as fast as it can and logs each one after `add` has returned
# (committed); a row's content follows from its number, so every row read back can be checked.
_HISTORY_WRITER = "import random\n\n" + inspect.getsource(history_result) + '''
import sys

from fazhi import storage

store = storage.ReportStore(sys.argv[1])
with open(sys.argv[2], "w", encoding="utf-8") as log:
    log.write(storage.__file__ + "\\n")
    log.flush()
    for i in range(10**9):
        store.add(history_result(i), content_hash=f"{i:064x}", title=f"报告{i}", filename=f"{i}.txt",
                  source="kill-test")
        log.write(f"{i}\\n")
        log.flush()
'''
MIN_COMMITTED = 30
FREEZE_TRIES = 500


def _holds_write_lock(db: Path) -> bool:
    """Whether another connection holds the database's write lock (nothing is written)."""
    with contextlib.closing(sqlite3.connect(db, timeout=0, isolation_level=None)) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            # "locking protocol" (SQLITE_PROTOCOL): frozen mid-update of the WAL index, a lock held.
            if any(word in str(exc) for word in ("locked", "busy", "locking protocol")):
                return True
            raise
        conn.execute("ROLLBACK")
        return False


def test_history_killed_mid_write_keeps_every_committed_row(tmp_path):
    db, log = tmp_path / "history.db", tmp_path / "committed.log"
    with open(tmp_path / "writer.err", "wb") as err:
        process = subprocess.Popen([sys.executable, "-c", _HISTORY_WRITER, str(db), str(log)],
                                   stdout=subprocess.DEVNULL, stderr=err, env=_child_env(), cwd=tmp_path)
    pause = random.Random(0)
    try:
        deadline = time.monotonic() + CHILD_TIMEOUT_SECONDS
        while not log.exists() or log.read_text(encoding="utf-8").count("\n") <= MIN_COMMITTED:
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "writer.err").read_text()
            time.sleep(0.01)
        for _ in range(FREEZE_TRIES):
            assert _freeze(process), (tmp_path / "writer.err").read_text()
            if _holds_write_lock(db):  # frozen inside a write transaction: kill it there
                _kill_frozen(process)
                break
            os.kill(process.pid, signal.SIGCONT)
            time.sleep(pause.uniform(0, 0.005))
        else:
            pytest.fail(f"the writer was never caught inside a write transaction in {FREEZE_TRIES} tries")
    finally:
        if process.returncode is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()

    module_file, *lines = log.read_text(encoding="utf-8").split("\n")[:-1]  # whole lines only
    assert Path(module_file).resolve().is_relative_to(REPO_ROOT)  # the child ran this checkout's code
    committed = [int(line) for line in lines]
    assert len(committed) >= MIN_COMMITTED and committed == list(range(len(committed)))

    store = ReportStore(db)  # opens: quick_check passes
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    stored = {}
    for summary in store.list(limit=10**6):
        record = store.get(summary["id"])
        i = record["result"]["i"]
        assert record["result"] == history_result(i) and record["content_hash"] == f"{i:064x}"
        stored[i] = record
    # Every committed row is there, intact; the row being written when killed is there or not.
    assert set(committed) <= set(stored) <= {*committed, len(committed)}

    new = len(committed) + 1
    report_id = store.add(history_result(new), content_hash=f"{new:064x}", title="after", filename=None,
                          source="kill-test")
    assert store.get(report_id)["result"] == history_result(new)
    assert store.count() == len(stored) + 1


def test_a_pdf_past_the_text_bound_is_refused_before_every_page_is_read(monkeypatch):
    from pypdf import PdfReader
    from test_readers import make_printed_pdf

    import fazhi.readers

    data = make_printed_pdf("\n".join(f"第{i}条，区司法局组织开展行政执法案卷评查，共评查案卷{i}件。" for i in range(1500)))
    monkeypatch.setattr(limits, "MAX_TEXT_CHARS", 3_000)
    monkeypatch.setattr(fazhi.readers, "MAX_TEXT_CHARS", 3_000)
    read = []
    original = fazhi.readers._pdf_lines
    monkeypatch.setattr(fazhi.readers, "_pdf_lines", lambda page: read.append(page) or original(page))
    with pytest.raises(limits.LimitError) as refused:
        fazhi.readers.read_report_bytes(data, "long.pdf")
    assert refused.value.code == "too_long"
    assert len(read) < len(PdfReader(io.BytesIO(data)).pages) / 4
