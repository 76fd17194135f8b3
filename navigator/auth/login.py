"""The Flask side of logins: every route behind ``/login``, with the login kept on the server.

* Flask-Login says who is logged in; the session behind the cookie lives on the server
  (Flask-Session): in Redis in lab mode, else in files under ``<data_dir>/logins`` (0600).
  The cookie holds only a random session id, so knowing the secret forges nothing, and a
  logout deletes the login on the server: a copy of the cookie stays refused after a restart.
* Flask-WTF's CSRF token guards the two forms, ``POST /login`` and ``POST /logout``;
  ``GET /logout`` only shows the logout button. The token is checked in those two views
  alone (``WTF_CSRF_CHECK_DEFAULT`` off) because Dash's callbacks and the Socket.IO transport
  carry no token: they are JSON and same-origin requests that a foreign page cannot make.
* Flask-Limiter bounds failed logins per client address and per user name (Redis-backed in
  lab mode, so every web thread and restart shares the count).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, has_request_context, redirect, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf

from navigator.auth.stores import login_limiter, session_store
from navigator.auth.users import AuthError, UserStore
from navigator.config import ServerConfig

SESSION_COOKIE = "navigator_session"
# Failed logins. An address may be a whole lab behind one NAT or proxy, so it gets more.
LIMIT_PER_USER = "10 per minute"
LIMIT_PER_ADDRESS = "30 per minute"
# An ended login's record outlives it this long, so that its cookie is answered with why
# ("you logged out", "your login expired") rather than with a bare "log in".
NOTICE = timedelta(days=1)
_LOGIN_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>NAS Navigator: log in</title>
<style>body{{font-family:sans-serif;max-width:22em;margin:4em auto}}label,input{{display:block;
width:100%;margin:.3em 0}}.msg{{color:#b00020}}</style></head>
<body><h1>NAS Navigator</h1><p class="msg" id="message">{message}</p>
<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<input type="hidden" name="csrf_token" value="{token}">
<label>User <input name="username" autocomplete="username" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<input type="submit" value="Log in"></form></body></html>
"""
_LOGOUT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>NAS Navigator: log out</title></head>
<body style="font-family:sans-serif;max-width:22em;margin:4em auto"><h1>NAS Navigator</h1>
<p id="message">{message}</p><form method="post" action="/logout">
<input type="hidden" name="csrf_token" value="{token}">
<input type="submit" value="Log out"></form></body></html>
"""
_FORM_EXPIRED = ("this form expired or was sent from another site: nothing was done; "
                 "reload the page and try again")


class _LoginUser(UserMixin):
    def __init__(self, name: str) -> None:
        self.id = name


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _safe_next(target: str | None) -> str:
    """Only a local path: a login link must not send the person to another site."""
    if (not target or not target.startswith("/") or target.startswith("//") or "\\" in target
            or urlsplit(target).netloc):
        return "/"
    return target


def session_lifetime(config: ServerConfig) -> timedelta:
    return timedelta(hours=float(config.session_hours))


def login_is_fresh(login_ts: Any, lifetime_s: float) -> bool:
    """Whether a login made at ``login_ts`` still holds: the login time fixes its end, for the
    pages and the sockets alike, however often the session is used."""
    return (isinstance(login_ts, (int, float)) and not isinstance(login_ts, bool)
            and time.time() < login_ts + lifetime_s)


def cookie_problem(app: Flask) -> str:
    """Why the current request has no logged-in user, in words for the person."""
    if not request.cookies.get(app.config["SESSION_COOKIE_NAME"]):
        return "login required: log in at /login"
    if isinstance(session.get("ended"), str):
        return f"{session['ended']}: log in again"
    if session.get("_user_id") is not None:
        return "your login expired: log in again"
    if not any(key != "_permanent" for key in session):
        return ("login required: your session cookie is not one of this server's (it ended "
                "long ago, or is forged)")
    return "login required: log in at /login"


def install_login(server: Flask, users: UserStore, config: ServerConfig,
                  on_logout: Callable[[str], None] | None = None) -> Callable[[], str | None]:
    """Guard every route of ``server`` behind ``/login``; returns a function giving the
    current request's user. ``on_logout(login_id)`` runs when a login ends (the web server
    closes that login's sockets).

    Pages get a redirect to the login page; ``_dash-*`` endpoints, other non-GET requests and
    JSON clients get 401 with the reason (expired, ended, missing cookie) as JSON.
    """
    lifetime = session_lifetime(config)
    lifetime_s = lifetime.total_seconds()
    server.config.update(
        PERMANENT_SESSION_LIFETIME=lifetime + NOTICE, SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_REFRESH_EACH_REQUEST=False,  # the login time ends a login, not the last request
        WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=None)  # the token lives with the session
    server.session_interface = session_store(server, config)
    csrf = CSRFProtect(server)
    manager = LoginManager(server)
    manager.session_protection = None  # the session id is on the server: nothing to pin to an IP

    @manager.user_loader
    def load_user(name: str) -> _LoginUser | None:
        # a removed user, an expired login: logged out
        if users.get(name) is None or not login_is_fresh(session.get("login_ts"), lifetime_s):
            return None
        return _LoginUser(name)

    def user() -> str | None:
        if not has_request_context() or not current_user.is_authenticated:
            return None
        return str(current_user.get_id())

    def page(message: str, next_path: str, status: int) -> tuple[str, int, dict[str, str]]:
        return (_LOGIN_PAGE.format(message=_escape(message), next=_escape(next_path),
                                   token=generate_csrf()), status,
                {"Content-Type": "text/html; charset=utf-8"})

    def form_is_ours() -> bool:
        try:
            csrf.protect()
        except CSRFError:
            return False
        return True

    @server.before_request
    def require_login() -> Any:
        if request.path in ("/login", "/logout") or user():
            return None
        reason = cookie_problem(server)
        if (request.method != "GET" or request.path.startswith("/_")
                or request.accept_mimetypes.best == "application/json"):
            return {"error": reason}, 401
        target = request.full_path if request.query_string else request.path
        return redirect(f"/login?next={quote(target)}&reason={quote(reason)}", code=302)

    def too_many(limit: Any) -> Any:
        wait = max(1, int(limit.reset_at - time.time()))
        return server.make_response(page(
            f"too many failed logins from this address or for this user: try again in {wait} s",
            _safe_next(request.form.get("next")), 429))

    def login() -> Any:
        if request.method == "GET":
            # The reason is the server's own view of the cookie, never the link's text: a link
            # could otherwise put any words on this page.
            message = (f"logged in as {user()}" if user() else
                       cookie_problem(server) if "reason" in request.args else "")
            return page(message, _safe_next(request.args.get("next")), 200)
        next_path = _safe_next(request.form.get("next"))
        if not form_is_ours():
            return page(_FORM_EXPIRED, next_path, 400)
        try:
            found = users.verify(request.form.get("username", ""), request.form.get("password", ""))
        except AuthError as exc:
            return page(str(exc), next_path, 401)
        server.session_interface.regenerate(session)  # type: ignore[attr-defined]  # no fixation
        session.clear()
        login_user(_LoginUser(found.name))
        session["login_ts"] = time.time()
        session["login_id"] = secrets.token_urlsafe(12)
        session.permanent = True
        return redirect(next_path, code=303)

    limiter = login_limiter(server, config)
    failed: Callable[[Any], bool] = lambda response: response.status_code == 401  # noqa: E731
    by_user: Callable[[], str] = lambda: "user:" + str(request.form.get("username", ""))[:64]  # noqa: E731
    for limit, key in ((LIMIT_PER_ADDRESS, None), (LIMIT_PER_USER, by_user)):
        login = limiter.limit(limit, key_func=key, methods=["POST"], deduct_when=failed,
                              on_breach=too_many)(login)
    server.add_url_rule("/login", "login", login, methods=["GET", "POST"])

    @server.route("/logout", methods=["GET", "POST"])
    def logout() -> Any:
        def answer(message: str, status: int = 200) -> tuple[str, int, dict[str, str]]:
            return (_LOGOUT_PAGE.format(message=_escape(message), token=generate_csrf()), status,
                    {"Content-Type": "text/html; charset=utf-8"})

        if request.method == "GET":  # a link or an <img> elsewhere must not log anyone out
            return answer(f"logged in as {user()}" if user() else "you are not logged in")
        if not form_is_ours():
            return answer(_FORM_EXPIRED, 400)
        login_id = session.get("login_id")
        if on_logout is not None and isinstance(login_id, str):
            on_logout(login_id)
        logout_user()
        session.clear()
        session["ended"] = "you logged out"  # the login is gone; its record only says why
        return page("logged out", "/", 200)

    return user
