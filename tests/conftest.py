"""Fixtures for the service: a fresh app per test (Flask's tutorial pattern) and a real server.

The model and jieba load once per process (fazhi.model.get_classifier caches), so building
an app per test costs a new SQLite file, not a new model.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from fazhi.paths import REPORTS_DIR
from service.app import create_app
from service.server import server_process

REPORT_FILE = REPORTS_DIR / "001_4bbaf42a68c37ea5.txt"
TEST_UPLOAD_LIMIT = 2 * 1024 * 1024
SERVER_START_TIMEOUT = 60


@pytest.fixture(scope="session", autouse=True)
def cache_home(tmp_path_factory):
    """The tokenizer's word index (fazhi.lexicon) of this run goes to a folder of its own, for
    this process and the commands it starts, not to the user's cache."""
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache-home"))
    yield
    if saved is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = saved


def _without_fazhi_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAZHI_")}
    env["FAZHI_SECRET_KEY"] = "a key for tests only"  # not the checkout's instance folder
    return env


@pytest.fixture
def app(tmp_path, monkeypatch):
    for name in ("FAZHI_MODEL", "FAZHI_DB", "FAZHI_MAX_UPLOAD_MB", "FAZHI_SECURE_COOKIES"):
        monkeypatch.delenv(name, raising=False)
    return create_app({
        "TESTING": True,
        "DATABASE": str(tmp_path / "fazhi.db"),
        "MAX_CONTENT_LENGTH": TEST_UPLOAD_LIMIT,
        "SECRET_KEY": "a key for tests only",
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


@pytest.fixture
def live_server(tmp_path):
    """`fazhi serve` (gunicorn, 2 workers) on a free loopback port; yields its base URL."""
    with server_process(tmp_path / "live.db", workers=2, log_file=tmp_path / "server.log",
                        env=_without_fazhi_env(), start_timeout=SERVER_START_TIMEOUT) as (base_url, _):
        yield base_url
