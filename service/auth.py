"""Who may write: reviewer accounts, their sessions, API tokens and the login form.

Anyone may upload and read. Writing a decision takes a reviewer: in the browser a session
from the login form (signed with the app's secret key, forms carrying CSRF tokens), on the
JSON API a bearer token (`fazhi users token NAME`). Accounts live in the history database
with salted password hashes (werkzeug.security); `fazhi users add NAME` creates them.
Failed logins are counted in the database, so the limit holds across server workers.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from service.errors import ServiceError

bp = Blueprint("auth", __name__)

# At most this many failed logins per reviewer name and per client address in the window;
# then the form refuses for the rest of the window (429), whatever the password.
LOGIN_FAILURES_ALLOWED = 5
LOGIN_WINDOW_SECONDS = 15 * 60
SECRET_KEY_FILE = "secret_key"


def secret_key(instance_path: str) -> str:
    """FAZHI_SECRET_KEY, or a random key generated once and kept in the instance folder so that
    sessions survive restarts and are shared by the server's workers."""
    configured = os.environ.get("FAZHI_SECRET_KEY")
    if configured:
        return configured
    path = Path(instance_path) / SECRET_KEY_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        # O_EXCL: when two workers start at once, the first key written wins for both.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    return key


def _store():
    return current_app.extensions["fazhi_store"]


def current_reviewer() -> str | None:
    """The logged-in reviewer, if the account still exists."""
    name = session.get("reviewer")
    return name if name and _store().has_reviewer(name) else None


def require_reviewer() -> str:
    """The reviewer making this request: a session in the browser, a bearer token on /api/."""
    if request.path.startswith("/api/"):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        name = _store().reviewer_of_token(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if name is None:
            raise ServiceError(403, "forbidden", "修改需要审核员令牌（Authorization: Bearer …）"
                                                 " / writing needs a reviewer's token")
        return name
    name = current_reviewer()
    if name is None:
        raise ServiceError(403, "forbidden", "只有登录的审核员可以修改 / only a logged-in reviewer may correct")
    return name


def _safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only (never another host)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("pages.history")


@bp.get("/login")
def login_form():
    return render_template("login.html", next=_safe_next(request.args.get("next")), error=None)


@bp.post("/login")
def login():
    name = (request.form.get("name") or "").strip()
    password = request.form.get("password") or ""
    target = _safe_next(request.form.get("next"))
    keys = (f"name:{name}", f"addr:{request.remote_addr}")
    if any(_store().login_failures(k, LOGIN_WINDOW_SECONDS) >= LOGIN_FAILURES_ALLOWED for k in keys):
        message = f"登录失败次数过多，请 {LOGIN_WINDOW_SECONDS // 60} 分钟后再试 / too many failed logins, try later"
        return render_template("login.html", next=target, error=message), 429
    if not name or not _store().check_password(name, password):
        _store().record_login_failure(*keys)
        # One message for a wrong name and a wrong password: never tell which half was wrong.
        return render_template("login.html", next=target, error="用户名或密码错误 / wrong name or password"), 401
    session.clear()
    session["reviewer"] = name
    return redirect(target, code=303)


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("pages.history"), code=303)
