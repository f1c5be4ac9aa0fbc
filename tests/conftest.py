"""Fixtures for the service: a fresh app per test (Flask's tutorial pattern) and a real server.

The model and jieba load once per process (fazhi.model.get_classifier caches), so building
an app per test costs a new SQLite file, not a new model.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from fazhi.paths import REPORTS_DIR
from service.app import create_app

REPORT_FILE = REPORTS_DIR / "001_4bbaf42a68c37ea5.txt"
TEST_UPLOAD_LIMIT = 2 * 1024 * 1024
SERVER_START_TIMEOUT = 60


def _without_fazhi_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("FAZHI_")}


@pytest.fixture
def app(tmp_path, monkeypatch):
    for name in ("FAZHI_MODEL", "FAZHI_DB", "FAZHI_MAX_UPLOAD_MB"):
        monkeypatch.delenv(name, raising=False)
    return create_app({
        "TESTING": True,
        "DATABASE": str(tmp_path / "fazhi.db"),
        "MAX_CONTENT_LENGTH": TEST_UPLOAD_LIMIT,
    })


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def report_path() -> Path:
    return REPORT_FILE


@pytest.fixture(scope="session")
def report_text() -> str:
    return REPORT_FILE.read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_healthy(base_url: str, process: subprocess.Popen, log_file: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"fazhi serve exited with {process.returncode}:\n{log_file.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"fazhi serve not healthy after {SERVER_START_TIMEOUT} s:\n{log_file.read_text(errors='replace')[-3000:]}")


@pytest.fixture
def live_server(tmp_path):
    """`fazhi serve` (gunicorn, 2 workers) on a free loopback port; yields its base URL."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "fazhi"), "serve", "--host", "127.0.0.1",
               "--port", str(port), "--workers", "2", "--db", str(tmp_path / "live.db")]
    base_url = f"http://127.0.0.1:{port}"
    log_file = tmp_path / "server.log"
    with open(log_file, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                                   env=_without_fazhi_env())
        try:
            _wait_until_healthy(base_url, process, log_file)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
