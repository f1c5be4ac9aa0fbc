"""Run the service under gunicorn (`fazhi serve`).

The app is created here, in the master process, before gunicorn forks its workers: the
model and jieba's dictionary are loaded once and shared copy-on-write, instead of once per
worker (jieba issue #399). preload_app says the same to gunicorn, so it never reloads the
app in a worker.
"""
from __future__ import annotations

from gunicorn.app.base import BaseApplication

from service.app import create_app

# Seconds a worker may spend on one request: the longest reports score in about a second,
# but a big PDF or .docx takes longer to read.
WORKER_TIMEOUT = 120


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
        "preload_app": True,
        "timeout": WORKER_TIMEOUT,
        "accesslog": "-",
        "errorlog": "-",
    }).run()
