"""The Flask application factory.

    create_app()                      defaults, overridden by FAZHI_* environment variables
    create_app({"TESTING": True, …})  then by the given mapping (tests, `fazhi serve`)

The model and jieba's dictionary load here, once per process: under a preloading server
(`fazhi serve`) that is the master, before it forks its workers.
"""
from __future__ import annotations

import os

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from fazhi import tokenizer
from fazhi.model import get_classifier
from fazhi.paths import DEFAULT_DATABASE_FILE, DEFAULT_MODEL_FILE
from fazhi.storage import ReportStore
from fazhi.taxonomy import load_taxonomy
from service import api, auth, errors, pages, review
from service.limits import BodyDeadline

DEFAULT_MAX_UPLOAD_MB = 20

# Pages load their script and stylesheet from /static only, and the review page's script posts
# decisions to this site only; nothing else, from nowhere else.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                           "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


class ConfigError(ValueError):
    """A setting from the environment that cannot be used."""


def _max_upload_bytes() -> int:
    raw = os.environ.get("FAZHI_MAX_UPLOAD_MB")
    if raw is None:
        return DEFAULT_MAX_UPLOAD_MB * 1024 * 1024
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = 0
    if megabytes <= 0:
        raise ConfigError(f"FAZHI_MAX_UPLOAD_MB must be a positive number of megabytes, not {raw!r}")
    return int(megabytes * 1024 * 1024)


def _secure_cookies() -> bool:
    # Behind HTTPS the session cookie must not travel over plain HTTP; the default (off) keeps
    # `fazhi serve` on http://127.0.0.1 usable for signing in.
    raw = os.environ.get("FAZHI_SECURE_COOKIES", "0").strip()
    if raw not in ("0", "1"):
        raise ConfigError(f"FAZHI_SECURE_COOKIES must be 1 (served over HTTPS) or 0, not {raw!r}")
    return raw == "1"


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        MODEL_PATH=os.environ.get("FAZHI_MODEL", str(DEFAULT_MODEL_FILE)),
        DATABASE=os.environ.get("FAZHI_DB", str(DEFAULT_DATABASE_FILE)),
        MAX_CONTENT_LENGTH=_max_upload_bytes(),
        HISTORY_PAGE_SIZE=20,
        # Units a result page lists at once (an annual report has 100–600).
        SENTENCES_PAGE_SIZE=500,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=_secure_cookies(),
        # Reviewers' forms stay valid for a working day.
        WTF_CSRF_TIME_LIMIT=8 * 3600,
    )
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = auth.secret_key(app.instance_path)
    # A pasted report arrives as a form field, which Flask caps separately (500 kB by
    # default): give it the same limit as a file.
    app.config["MAX_FORM_MEMORY_SIZE"] = app.config["MAX_CONTENT_LENGTH"]
    app.json.ensure_ascii = False
    app.json.sort_keys = False  # results are large; keep their designed order and save the sort

    app.extensions["fazhi_model"] = get_classifier(app.config["MODEL_PATH"])
    app.extensions["fazhi_store"] = ReportStore(app.config["DATABASE"])
    app.extensions["fazhi_taxonomy"] = load_taxonomy()
    tokenizer.initialize()

    app.wsgi_app = BodyDeadline(app.wsgi_app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(review.bp)
    errors.register_error_handlers(app)

    # Every form that writes carries a CSRF token. Exempt: the JSON API, whose writes take a
    # bearer token and never a cookie, and the anonymous upload form, which has no session
    # to ride on (anyone may upload).
    csrf = CSRFProtect(app)
    csrf.exempt(api.bp)
    csrf.exempt(pages.upload)

    @app.context_processor
    def reviewer_in_templates():
        return {"current_reviewer": auth.current_reviewer()}

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return app
