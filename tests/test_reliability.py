"""A damaged or unwritable history database: one clear line at start-up, 503 from /healthz."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
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
