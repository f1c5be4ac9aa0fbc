"""Run the service under gunicorn (`fazhi serve`).

The app is created here, in the master process, before gunicorn forks its workers: the
model and jieba's dictionary are loaded once and shared copy-on-write, instead of once per
worker (jieba issue #399). preload_app says the same to gunicorn, so it never reloads the
app in a worker.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.http.errors import LimitRequestHeaders, ParseException, UnsupportedTransferCoding
from gunicorn.workers.gthread import ThreadWorker

from service.app import create_app

# Seconds a worker may spend on one request: the longest reports score in about a second,
# but a big PDF or .docx takes longer to read.
WORKER_TIMEOUT = 120
# Threads per worker (gthread). A connection that has sent nothing waits in the worker's
# poller, not in a thread; one that trickles its request holds a thread only until the body
# deadline (service/limits.py). With 2 workers, 32 threads: ten slow clients leave most of
# them free, while the model stays loaded once per worker. An async worker (gevent) would
# make slow clients cheaper still, but scoring is CPU-bound and would stall its event loop.
THREADS_PER_WORKER = 16
# Seconds a keep-alive connection may sit idle between requests.
KEEPALIVE_SECONDS = 5


class ServiceWorker(ThreadWorker):
    """gunicorn's threaded worker, answering the requests gunicorn cannot parse itself
    (malformed Content-Length, oversized headers…) the way the service answers bad input, as
    JSON with a Chinese and English message, instead of gunicorn's English HTML page."""

    def handle_error(self, req, client, addr, exc):
        if isinstance(exc, LimitRequestHeaders):
            status, reason = 431, "Request Header Fields Too Large"
        elif isinstance(exc, UnsupportedTransferCoding):
            status, reason = 501, "Not Implemented"
        elif isinstance(exc, ParseException):
            status, reason = 400, "Bad Request"
        else:  # a fault of the service: gunicorn logs it and answers 500 as it does
            return super().handle_error(req, client, addr, exc)
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        body = json.dumps({"error": {"code": "malformed_request",
                                     "message": f"请求格式无效 / malformed request: {exc}"}},
                          ensure_ascii=False).encode("utf-8")
        head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
                f"Content-Type: application/json; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n")
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except Exception:  # the client is gone: nothing to tell it
            self.log.debug("Failed to send error message.")


class _Server(BaseApplication):
    def __init__(self, app, options: dict):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def serve(*, host: str = "127.0.0.1", port: int = 8000, workers: int = 2,
          database: str | None = None, model_path: str | None = None) -> None:
    """Create the app (may raise ModelError or ConfigError), then serve it until stopped."""
    overrides = {}
    if database:
        overrides["DATABASE"] = database
    if model_path:
        overrides["MODEL_PATH"] = model_path
    app = create_app(overrides)
    _Server(app, {
        "bind": bind_address(host, port),
        "workers": workers,
        "worker_class": ServiceWorker,
        "threads": THREADS_PER_WORKER,
        "keepalive": KEEPALIVE_SECONDS,
        "preload_app": True,
        "timeout": WORKER_TIMEOUT,
        "accesslog": "-",
        "errorlog": "-",
    }).run()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@contextmanager
def server_process(database: Path, *, workers: int = 2, log_file: Path | None = None,
                   env: dict | None = None, start_timeout: float = 60) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run `fazhi serve` as a separate process on a free loopback port, for tests and
    benchmarks; yields (base URL, process) once /healthz answers, and stops it afterwards."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("fazhi")), "serve", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--db", str(database)]
    base_url = f"http://127.0.0.1:{port}"
    with open(log_file or os.devnull, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   cwd=Path(database).parent)
        try:
            _wait_until_healthy(base_url, process, log_file, start_timeout)
            yield base_url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(base_url: str, process: subprocess.Popen, log_file: Path | None, timeout: float) -> None:
    def log_tail() -> str:
        return log_file.read_text(errors="replace")[-3000:] if log_file else "(no log kept)"

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"fazhi serve exited with {process.returncode}:\n{log_tail()}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"fazhi serve not healthy after {timeout} s:\n{log_tail()}")
