"""Login, sessions and CSRF: every page but the login form needs a signed-in user.

The session cookie is signed (Flask), HttpOnly and SameSite=Strict. Every POST must carry the
session's CSRF token in the ``csrf_token`` form field; SameSite alone does not cover older
browsers or same-site subdomains.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Sequence

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from correlator.exceptions import AuditAction, AuditRecord
from correlator.storage import Store
from dashboard.throttle import LoginThrottle
from dashboard.users import User, authenticate, find_user

bp = Blueprint("auth", __name__)
"""Routes ``/login`` and ``/logout``."""

OPEN_ENDPOINTS = frozenset({"auth.login", "auth.demo_link", "static", "api.healthz"})
"""Endpoints served without a session (the load balancer's health check needs none)."""

_NO_USER_LOOKUP = frozenset({"static", "api.healthz"})
"""Endpoints that never read the session's account: the health check must answer 503 when
the store (where accounts live) is down, not fail looking the user up."""


def init_app(app: Flask, users: Sequence[User]) -> None:
    """Require a login everywhere except ``OPEN_ENDPOINTS`` and check CSRF on every POST.

    ``users`` come from the settings file; accounts in the store (``nssa user add``) are
    looked up per request, so a disabled account's sessions end at its next request.
    """
    app.extensions["nssa.users"] = tuple(users)
    app.extensions["nssa.login_throttle"] = LoginThrottle()
    if not app.config.get("SECRET_KEY"):
        # Per start: sessions end at a restart, which beats a key that never changes.
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict")
    app.before_request(_check_csrf)
    app.before_request(_require_login)
    app.jinja_env.globals.update(csrf_token=csrf_token, current_user=current_user)
    app.register_blueprint(bp)


def current_user() -> User | None:
    """The signed-in user of this request, or None."""
    user: User | None = g.get("nssa_user")
    return user


def signed_in_user() -> User:
    """The signed-in user (routes behind the login check only)."""
    user = current_user()
    if user is None:
        abort(401)
    return user


def csrf_token() -> str:
    """This session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    """The login form; a right name and password start a fresh session."""
    if request.method == "GET":
        return render_template("login.html", failed=False)
    throttle: LoginThrottle = current_app.extensions["nssa.login_throttle"]
    name = request.form.get("name", "")
    keys = (f"name:{name}", f"addr:{request.remote_addr}")
    if throttle.blocked(*keys):
        # Checked before the password, so a guesser learns nothing while paused.
        return render_template("login.html", failed=False, throttled=True), 429
    user = authenticate(lookup_user(name), request.form.get("password", ""))
    if user is None:
        throttle.failed(*keys)
        _audit(AuditAction.SIGN_IN_FAILED, name)
        return render_template("login.html", failed=True), 401
    throttle.succeeded(*keys)
    _audit(AuditAction.SIGNED_IN, user.name)
    # A new session (and CSRF token) at login, so a planted session id cannot be reused.
    session.clear()
    session["user"] = user.name
    csrf_token()
    return redirect(_safe_next(request.args.get("next")))


@bp.get("/login/demo/<token>")
def demo_link(token: str) -> str:
    """``nssa demo`` only: the secret link it prints signs its user in and lists incidents.

    Enabled by the ``DEMO_LINK`` setting (token, user name), which only the demo sets; the
    token is random per demo run and the demo serves loopback only.
    """
    link = current_app.config.get("DEMO_LINK")
    if not link or not hmac.compare_digest(token.encode(), str(link[0]).encode()):
        abort(404)
    user = lookup_user(str(link[1]))
    if user is None:
        abort(404)
    session.clear()
    session["user"] = user.name
    g.nssa_user = user
    csrf_token()
    from dashboard.incidents import index  # the list itself, so the link shows incidents

    return index()


@bp.post("/logout")
def logout() -> Response:
    """End the session."""
    name = session.get("user")
    if isinstance(name, str):
        _audit(AuditAction.SIGNED_OUT, name)
    session.clear()
    return redirect(url_for("auth.login"))


MAX_AUDITED_NAME = 64
"""Longest typed user name kept in a sign-in record (a guesser chooses what it types)."""


def _audit(action: AuditAction, name: str) -> None:
    """Append a sign-in record: who (as typed, cut short), from which address, when."""
    store: Store = current_app.extensions["nssa.store"]
    shown = name[:MAX_AUDITED_NAME]
    store.put_audit(
        AuditRecord(
            time=time.time(),
            who=shown,
            action=action,
            exception_id=f"user:{shown}",
            detail=f"from {request.remote_addr or '?'}",
        )
    )


def lookup_user(name: str) -> User | None:
    """The enabled user ``name``: the store's account, else the settings file's user."""
    if not name:
        return None
    store: Store = current_app.extensions["nssa.store"]
    configured: tuple[User, ...] = current_app.extensions["nssa.users"]
    return find_user(name, store.user(name), configured)


def _require_login() -> Response | None:
    name = session.get("user")
    wanted = isinstance(name, str) and request.endpoint not in _NO_USER_LOOKUP
    g.nssa_user = lookup_user(str(name)) if wanted else None
    if g.nssa_user is not None or request.endpoint in OPEN_ENDPOINTS:
        return None
    # Scripts (API clients, EventSource) cannot use a login page: they get a plain 401.
    if request.path.startswith(("/api/", "/events/")):
        abort(401)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _check_csrf() -> None:
    # The login form too: its token was set when the form was shown (no login CSRF).
    if request.method != "POST":
        return
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        abort(403)


def _safe_next(target: str | None) -> str:
    """Only a local path may follow a login, never another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("overview.index")
