"""Slow and idle clients cannot take the service down (a real `fazhi serve` on loopback).

Ten clients hold connections open: five send nothing at all, five send headers and then
their body at about one byte a second. The service keeps answering /healthz within a second
and keeps scoring a real report; the trickling clients get 408 once the body deadline
passes, instead of holding a worker thread for minutes.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.request

import pytest

from fazhi.paths import REPORTS_DIR
from service.server import server_process

BODY_SECONDS = 4  # the body deadline for this test's server (FAZHI_BODY_SECONDS)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("slow")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAZHI_")}
    env["FAZHI_BODY_SECONDS"] = str(BODY_SECONDS)
    with server_process(root / "slow.db", workers=2, log_file=root / "server.log", env=env) as (url, _):
        yield url


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def _trickle(address, stop: threading.Event, answers: list):
    """Headers for a large body, then one byte a second until answered or stopped."""
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(b"POST /api/v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000\r\n\r\n{")
        sock.settimeout(1.0)
        while not stop.is_set():
            try:
                data = sock.recv(4096)
                if data:
                    answers.append(data)
                return
            except (TimeoutError, socket.timeout):
                try:
                    sock.sendall(b" ")
                except OSError:
                    return


def test_ten_slow_clients_leave_the_service_answering(server):
    address = _address(server)
    stop = threading.Event()
    idle = [socket.create_connection(address) for _ in range(5)]
    answers: list = []
    tricklers = [threading.Thread(target=_trickle, args=(address, stop, answers), daemon=True) for _ in range(5)]
    for t in tricklers:
        t.start()
    try:
        time.sleep(1.0)  # every slow client is connected and stalling
        report = next(REPORTS_DIR.glob("001_*.txt")).read_text(encoding="utf-8")
        for _ in range(5):
            started = time.monotonic()
            with urllib.request.urlopen(f"{server}/healthz", timeout=5) as response:
                assert response.status == 200
            assert time.monotonic() - started < 1.0
            request = urllib.request.Request(f"{server}/api/v1/score", data=json.dumps({"text": report}).encode(),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                assert json.loads(response.read())["score"] is not None
        # The trickling clients are cut off at the body deadline with a 408.
        deadline = time.monotonic() + BODY_SECONDS + 15
        while len(answers) < len(tricklers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(answers) == len(tricklers)
        assert all(a.startswith(b"HTTP/1.1 408") for a in answers), answers[:1]
    finally:
        stop.set()
        for sock in idle:
            sock.close()
        for t in tricklers:
            t.join(timeout=5)


def _raw(address, request: bytes) -> bytes:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("request_bytes, status", [
    (b"POST /api/v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
    (b"GET /api/v1/model HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
])
def test_requests_gunicorn_cannot_parse_are_answered_like_other_bad_input(server, request_bytes, status):
    answer = _raw(_address(server), request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"application/json" in head
    error = json.loads(body.decode("utf-8"))["error"]
    assert error["code"] == "malformed_request" and "请求格式无效" in error["message"]
