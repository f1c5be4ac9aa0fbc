"""Bounds on how long a client may take to send its request body.

A public upload form meets slow and idle clients as a matter of course. The server (gthread
workers, service/server.py) keeps a connection that has sent nothing out of its threads; once
a request's headers are in, `BodyDeadline` gives the body a total deadline and each read an
idle timeout, so a client that trickles bytes is answered 408 and its thread freed instead of
being held for minutes.
"""
from __future__ import annotations

import os
import socket
import threading
import time

from werkzeug.exceptions import RequestTimeout

# Seconds the whole request body may take to arrive, and the longest silence within it.
DEFAULT_BODY_SECONDS = 30.0
DEFAULT_IDLE_SECONDS = 10.0


class _DeadlineInput:
    """wsgi.input, read under a total deadline and an idle timeout on the client's socket."""

    def __init__(self, stream, sock: socket.socket | None, deadline: float, idle: float):
        self._stream, self._sock, self._deadline, self._idle = stream, sock, deadline, idle

    def _guarded(self, read, *args):
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise RequestTimeout("请求内容发送过慢，已超时 / the request body arrived too slowly")
        if self._sock is not None:
            self._sock.settimeout(min(remaining, self._idle))
        try:
            return read(*args)
        except (TimeoutError, socket.timeout) as exc:
            raise RequestTimeout("请求内容发送过慢，已超时 / the request body arrived too slowly") from exc

    def read(self, *args):
        return self._guarded(self._stream.read, *args)

    def readline(self, *args):
        return self._guarded(self._stream.readline, *args)

    def readlines(self, *args):
        return self._guarded(self._stream.readlines, *args)

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line


def _expire(sock: socket.socket) -> None:
    """At the deadline: the next wait for the client's bytes fails at once, even inside a read
    that the server's own loop keeps going (a trickle never leaves the socket idle)."""
    try:
        sock.settimeout(0.001)
    except OSError:  # already closed
        pass


class BodyDeadline:
    """WSGI middleware: every request body is read under `_DeadlineInput`, and on the server's
    socket (gunicorn gives it in the environ) a timer enforces the total deadline."""

    def __init__(self, app, body_seconds: float | None = None, idle_seconds: float | None = None):
        self.app = app
        self.body_seconds = body_seconds if body_seconds is not None else float(
            os.environ.get("FAZHI_BODY_SECONDS", DEFAULT_BODY_SECONDS))
        self.idle_seconds = idle_seconds if idle_seconds is not None else DEFAULT_IDLE_SECONDS

    def __call__(self, environ, start_response):
        sock = environ.get("gunicorn.socket")
        environ["wsgi.input"] = _DeadlineInput(environ["wsgi.input"], sock,
                                               time.monotonic() + self.body_seconds, self.idle_seconds)
        timer = None
        if sock is not None:
            timer = threading.Timer(self.body_seconds, _expire, (sock,))
            timer.daemon = True
            timer.start()
        try:
            return self.app(environ, start_response)
        finally:
            if timer is not None:
                timer.cancel()
                timer.join()  # a callback already under way finishes before the reset below
                sock.settimeout(None)  # the server writes the response in blocking mode
