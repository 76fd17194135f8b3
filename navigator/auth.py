"""Users, logins and access rights for the lab server.

Three parts, each usable alone:

* :class:`UserStore`: who may log in. Users with *hashed* passwords (werkzeug's scrypt or
  pbkdf2, never plain text) in a JSON or TOML file, and/or in ``NAVIGATOR_USERS`` so that a
  container can be configured without a file. ``navigator users add`` writes the file.
* :func:`install_login`: the Flask side. With ``auth = "password"`` every HTTP route (Dash
  pages, ``_dash-*`` endpoints, assets) needs a session cookie signed with the server secret;
  ``/login`` and ``/logout`` are plain Flask pages. Who the user is comes only from that
  signed cookie, never from anything a client puts in a message.
* :class:`AccessPolicy`: who may watch and who may steer a search session. The owner (from
  the session's ``session_state`` events) and admins steer; the owner may share a session
  read-only with everyone or named users. Shares are published on the session's stream as a
  ``command_ack`` of a ``share`` command, so they are recorded and survive a restart.

The embedded default (127.0.0.1, no Redis) runs with ``auth = "none"``: one user, ``local``,
owner of everything, and no login page.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
import tomllib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from werkzeug.security import check_password_hash, generate_password_hash

from navigator.commands import Command
from navigator.config import ServerConfig

LOCAL_USER = "local"
ROLES = ("admin", "analyst")
USERS_ENV = "NAVIGATOR_USERS"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 8
SHARE = "share"  # the server-side command that sets who may watch a session
EVERYONE = "*"
# Checked against when a user name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anyone")


class AuthError(ValueError):
    """A failed login or an invalid user definition; the message is meant for the person."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise AuthError(f"user name must be 1-64 letters, digits or . _ @ - (starting with a letter "
                        f"or digit), got {name!r}")
    if name == LOCAL_USER:
        raise AuthError(f"{LOCAL_USER!r} is the user of the embedded default and cannot log in")
    return name


def _check_role(role: str, origin: str) -> str:
    if role not in ROLES:
        raise AuthError(f"{origin}: role must be one of {ROLES}, got {role!r}")
    return role


def parse_env_users(value: str) -> dict[str, User]:
    """``NAVIGATOR_USERS="alice:<hash>,bob:admin:<hash>"``: name, optional role, werkzeug hash.

    The hash itself contains colons (``scrypt:32768:8:1$salt$hex``), so the name is split off at
    the first colon and a role only when the next field is one of :data:`ROLES`.
    """
    users: dict[str, User] = {}
    for entry in filter(None, (e.strip() for e in value.split(","))):
        name, sep, rest = entry.partition(":")
        if not sep or not rest:
            raise AuthError(f"{USERS_ENV}: entry {entry[:40]!r} must be NAME:HASH or NAME:ROLE:HASH")
        role, sep, hashed = rest.partition(":")
        if sep and role in ROLES:
            rest = hashed
        else:
            role = "analyst"
        if "$" not in rest:
            raise AuthError(f"{USERS_ENV}: the password of {name!r} must be a werkzeug hash "
                            "(navigator users hash), not plain text")
        users[check_name(name)] = User(name, role, rest)
    return users


class UserStore:
    """Users from a JSON/TOML file plus ``NAVIGATOR_USERS``; the environment wins on a clash.

    File format (JSON; TOML has the same tables)::

        {"users": {"alice": {"password_hash": "scrypt:...", "role": "admin"}}}

    The file is re-read when it changes on disk, so ``navigator users add`` takes effect on a
    running server without a restart.
    """

    def __init__(self, path: str | Path | None = None, env: Mapping[str, str] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else None
        self._env_users = parse_env_users((os.environ if env is None else env).get(USERS_ENV, ""))
        self._file_users: dict[str, User] = {}
        self._mtime: float | None = None
        self._lock = threading.Lock()
        self._refresh()

    @classmethod
    def from_config(cls, config: ServerConfig) -> UserStore:
        return cls(config.users_path)

    def _refresh(self) -> None:
        if self.path is None:
            return
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            self._file_users, self._mtime = {}, None
            return
        if mtime != self._mtime:
            self._file_users, self._mtime = self._read(self.path), mtime

    @staticmethod
    def _read(path: Path) -> dict[str, User]:
        text = path.read_text()
        try:
            doc = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text or "{}")
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise AuthError(f"users file {path} is not valid {path.suffix[1:] or 'JSON'}: {exc}") from None
        table = doc.get("users", {}) if isinstance(doc, dict) else None
        if not isinstance(table, dict):
            raise AuthError(f"users file {path}: expected a 'users' table of name -> "
                            "{password_hash, role}")
        users = {}
        for name, entry in table.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("password_hash"), str):
                raise AuthError(f"users file {path}: user {name!r} needs a 'password_hash' string")
            role = _check_role(entry.get("role", "analyst"), f"users file {path}, user {name!r}")
            users[check_name(name)] = User(name, role, entry["password_hash"])
        return users

    def _write(self) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        users = dict(sorted(self._file_users.items()))
        if self.path.suffix == ".toml":  # JSON strings are valid TOML basic strings
            text = "".join(f"[users.{json.dumps(u.name)}]\npassword_hash = {json.dumps(u.password_hash)}\n"
                           f"role = {json.dumps(u.role)}\n\n" for u in users.values())
        else:
            text = json.dumps({"users": {u.name: {"password_hash": u.password_hash, "role": u.role}
                                         for u in users.values()}}, indent=2) + "\n"
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # hashes stay private
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, self.path)
        self._mtime = self.path.stat().st_mtime

    def users(self) -> list[User]:
        with self._lock:
            self._refresh()
            return sorted((self._file_users | self._env_users).values(), key=lambda u: u.name)

    def get(self, name: str) -> User | None:
        with self._lock:
            self._refresh()
            return self._env_users.get(name) or self._file_users.get(name)

    def add_user(self, name: str, password: str, role: str = "analyst") -> User:
        """Hash ``password`` and write the user to the file (replacing one of the same name)."""
        if self.path is None:
            raise AuthError("this user store has no file to write to")
        check_name(name)
        _check_role(role, "add_user")
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise AuthError(f"password must have at least {MIN_PASSWORD} characters")
        user = User(name, role, generate_password_hash(password))
        with self._lock:
            self._refresh()
            self._file_users[name] = user
            self._write()
        return user

    def remove_user(self, name: str) -> None:
        with self._lock:
            self._refresh()
            if name not in self._file_users:
                raise AuthError(f"no user {name!r} in {self.path}")
            del self._file_users[name]
            self._write()

    def verify(self, name: str, password: str) -> User:
        """The user if ``password`` is right; AuthError with one message for any mismatch
        (a wrong name and a wrong password look the same, so names cannot be probed)."""
        user = self.get(name) if isinstance(name, str) else None
        ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
        if user is None or not ok:
            raise AuthError("wrong user name or password")
        return user


# --- access rights -----------------------------------------------------------------------


@dataclass
class SessionAccess:
    """What the policy knows about one session: owner, read-only shares, command ids seen."""

    owner: str = ""
    everyone: bool = False
    watchers: frozenset[str] = frozenset()
    exists: bool = False
    seen: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def shared(self) -> str | list[str]:
        return EVERYONE if self.everyone else sorted(self.watchers)


class AccessDenied(ValueError):
    """A command or join the sender has no right to; the message names who and why."""


class AccessPolicy:
    """Decides who may watch and steer a session, and spots forged and replayed commands.

    With ``login_required=False`` (the embedded default) everybody is ``local`` and may do
    everything; only replayed command ids are still refused. A session's owner and shares are
    folded from its bus history on first use and kept in memory afterwards (one web process,
    which is what Flask-SocketIO in threading mode needs anyway).
    """

    MAX_SEEN = 20_000  # command ids remembered per session

    def __init__(self, bus: Any, users: UserStore | None = None, login_required: bool = False) -> None:
        self.bus = bus
        self.users = users
        self.login_required = login_required
        self._sessions: dict[str, SessionAccess] = {}
        self._lock = threading.RLock()

    def _fold(self, session: str) -> SessionAccess:
        state = SessionAccess()
        for event in self.bus.history(session, 0):
            state.exists = True
            d = event.data
            if event.type == "session_state" and d.get("owner"):
                state.owner = d["owner"]
            elif event.type in ("command_ack", "command_rejected"):
                state.seen[d.get("command_id", "")] = None
                if event.type == "command_ack" and d.get("command") == SHARE:
                    self._apply_share(state, d.get("args", {}).get("with", []))
        return state

    @staticmethod
    def _apply_share(state: SessionAccess, with_: Any) -> None:
        state.everyone = with_ == EVERYONE
        state.watchers = frozenset(with_) if isinstance(with_, list) else frozenset()

    def access(self, session: str) -> SessionAccess:
        with self._lock:
            state = self._sessions.get(session)
            # An unknown session may appear any moment, and its owner with a later event.
            if state is None or not state.exists or (self.login_required and not state.owner):
                fresh = self._fold(session)
                if state is not None:
                    fresh.seen.update(state.seen)
                self._sessions[session] = state = fresh
            return state

    def is_admin(self, user: str) -> bool:
        found = self.users.get(user) if self.users is not None else None
        return bool(found and found.is_admin)

    def watch_problem(self, user: str, session: str) -> str | None:
        """Why ``user`` may not watch ``session``, or None when they may."""
        if not self.login_required:
            return None
        if not user:
            return "login required"
        state = self.access(session)
        if not state.exists:
            return f"no session {session!r}"
        if user == state.owner or self.is_admin(user) or state.everyone or user in state.watchers:
            return None
        return (f"{user} may not watch session {session} (owner: {state.owner or 'nobody'}; "
                "it is not shared with them)")

    def steer_problem(self, user: str, session: str) -> str | None:
        """Why ``user`` may not steer ``session`` (owner or admin only), or None."""
        if not self.login_required:
            return None
        if not user:
            return "login required"
        state = self.access(session)
        if not state.exists:  # nothing to steer yet: only an admin may address it
            return None if self.is_admin(user) else f"no session {session!r}"
        if user == state.owner or self.is_admin(user):
            return None
        return f"{user} may not steer session {session} (owner: {state.owner or 'nobody'})"

    def command_problem(self, sender: str, command: Command, claimed: Any = None) -> str | None:
        """Why a command from ``sender`` is refused: forged user, no right to steer, or a
        replayed id. Every id checked is remembered, accepted or not."""
        if self.login_required and claimed is not None and claimed != sender:
            return f"forged command: it claims user {claimed!r} but {sender or 'nobody'} sent it"
        problem = self.steer_problem(sender, command.session)
        with self._lock:
            state = self.access(command.session)
            duplicate = command.id in state.seen
            state.seen[command.id] = None
            while len(state.seen) > self.MAX_SEEN:
                state.seen.popitem(last=False)
        if problem:
            return problem
        if duplicate:
            return (f"duplicate command id {command.id!r} for session {command.session}: "
                    "a replayed command is not applied twice")
        return None

    def share(self, user: str, session: str, with_: Any) -> str | list[str]:
        """Validate a share request from ``user``; returns the normalized audience.

        ``with_`` is ``"*"`` (everyone logged in), a list of user names, or ``[]`` (private again).
        Only the owner or an admin may share.
        """
        if with_ != EVERYONE and not (isinstance(with_, list) and all(isinstance(n, str) for n in with_)):
            raise AccessDenied("share: 'with' must be '*' (everyone) or a list of user names")
        problem = self.steer_problem(user, session)
        if problem:
            raise AccessDenied(problem.replace("may not steer", "may not share"))
        if isinstance(with_, list):
            unknown = [n for n in with_ if self.users is not None and self.users.get(n) is None]
            if self.login_required and unknown:
                raise AccessDenied(f"share: unknown user(s) {unknown}")
            return sorted(set(with_))
        return EVERYONE

    def shared(self, session: str, with_: str | list[str]) -> None:
        """Record in memory a share that was just published on the session's stream."""
        with self._lock:
            self._apply_share(self.access(session), with_)

    def watchable(self, user: str, sessions: Iterable[str]) -> list[str]:
        return [s for s in sessions if self.watch_problem(user, s) is None]


# --- login (Flask) ------------------------------------------------------------------------

SESSION_COOKIE = "navigator_session"
_LOGIN_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>NAS Navigator: log in</title>
<style>body{{font-family:sans-serif;max-width:22em;margin:4em auto}}label,input{{display:block;
width:100%;margin:.3em 0}}.msg{{color:#b00020}}</style></head>
<body><h1>NAS Navigator</h1><p class="msg" id="message">{message}</p>
<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label>User <input name="username" autocomplete="username" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<input type="submit" value="Log in"></form></body></html>
"""


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


class RevokedLogins:
    """Logins ended by /logout before they expired.

    The session cookie lives in the browser, so clearing it at logout does not stop a copy
    of it (another tab, a stolen cookie) or a socket opened with it. Each login carries a
    random id; a logged-out id is refused until the login would have expired anyway, after
    which it is forgotten. Kept in the web process (one per deployment).
    """

    def __init__(self, lifetime_s: float) -> None:
        self.lifetime_s = lifetime_s
        self._ended: dict[str, float] = {}  # login id -> when it would have expired
        self._lock = threading.Lock()

    def revoke(self, login_id: Any, login_ts: Any) -> None:
        if isinstance(login_id, str) and login_id:
            start = login_ts if isinstance(login_ts, (int, float)) else time.time()
            with self._lock:
                self._ended[login_id] = start + self.lifetime_s

    def __contains__(self, login_id: object) -> bool:
        now = time.time()
        with self._lock:
            for key in [k for k, until in self._ended.items() if until <= now]:
                del self._ended[key]
            return login_id in self._ended


def cookie_problem(app: Any) -> str:
    """Why the current request has no logged-in user, in words for the person."""
    from flask import request, session
    from itsdangerous import BadSignature, SignatureExpired

    raw = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
    if not raw:
        return "login required: log in at /login"
    lifetime_s = app.permanent_session_lifetime.total_seconds()
    serializer = app.session_interface.get_signing_serializer(app)
    try:
        serializer.loads(raw, max_age=int(lifetime_s))
    except SignatureExpired:
        return "your login expired: log in again"
    except BadSignature:
        return "invalid session cookie (not signed by this server): log in again"
    if session.get("user") and not login_is_fresh(session.get("login_ts"), lifetime_s):
        return "your login expired: log in again"
    if session.get("login_id") in app.extensions.get("navigator_revoked", ()):
        return "you logged out: log in again"
    return "login required: log in at /login"


def login_is_fresh(login_ts: Any, lifetime_s: float) -> bool:
    """Whether a login made at ``login_ts`` still holds.

    Flask re-signs a permanent cookie on every response, so the cookie alone would never
    expire for someone who keeps using the site; the login time fixes one end for the
    pages and the sockets alike.
    """
    return (isinstance(login_ts, (int, float)) and not isinstance(login_ts, bool)
            and time.time() < login_ts + lifetime_s)


def current_user(users: UserStore, lifetime_s: float = float("inf"),
                 revoked: RevokedLogins | None = None) -> str | None:
    """The logged-in user of the current request, from the signed session cookie only."""
    from flask import has_request_context, session

    if not has_request_context():
        return None
    name = session.get("user")
    if not isinstance(name, str) or users.get(name) is None:  # a removed user is logged out
        return None
    if not login_is_fresh(session.get("login_ts"), lifetime_s):
        return None
    if revoked is not None and session.get("login_id") in revoked:
        return None
    return name


def install_login(server: Any, users: UserStore, config: ServerConfig,
                  on_logout: Callable[[str], None] | None = None) -> Callable[[], str | None]:
    """Guard every route of ``server`` (a Flask app) behind ``/login``; returns a function
    giving the current request's user. ``on_logout(login_id)`` runs when a login ends
    (the web server closes that login's sockets).

    Pages get a redirect to the login page; ``_dash-*`` endpoints, other non-GET requests and
    JSON clients get 401 with the reason (expired, forged, missing cookie) as JSON.
    """
    from flask import jsonify, redirect, request, session

    lifetime = session_lifetime(config)
    server.config.update(PERMANENT_SESSION_LIFETIME=lifetime,
                         SESSION_COOKIE_NAME=SESSION_COOKIE, SESSION_COOKIE_HTTPONLY=True,
                         SESSION_COOKIE_SAMESITE="Lax")

    revoked = RevokedLogins(lifetime.total_seconds())
    server.extensions["navigator_revoked"] = revoked

    def user() -> str | None:
        return current_user(users, lifetime.total_seconds(), revoked)

    def page(message: str, next_path: str, status: int) -> tuple[str, int, dict[str, str]]:
        return (_LOGIN_PAGE.format(message=_escape(message), next=_escape(next_path)), status,
                {"Content-Type": "text/html; charset=utf-8"})

    @server.before_request
    def require_login() -> Any:
        if request.path in ("/login", "/logout") or user():
            return None
        reason = cookie_problem(server)
        if (request.method != "GET" or request.path.startswith("/_")
                or request.accept_mimetypes.best == "application/json"):
            return jsonify({"error": reason}), 401
        target = request.full_path if request.query_string else request.path
        return redirect(f"/login?next={quote(target)}&reason={quote(reason)}", code=302)

    @server.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "GET":
            reason = request.args.get("reason", "")
            return page(reason, _safe_next(request.args.get("next")), 200)
        next_path = _safe_next(request.form.get("next"))
        try:
            user = users.verify(request.form.get("username", ""), request.form.get("password", ""))
        except AuthError as exc:
            return page(str(exc), next_path, 401)
        session.clear()
        session["user"] = user.name
        session["login_ts"] = time.time()
        session["login_id"] = secrets.token_urlsafe(12)
        session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME
        return redirect(next_path, code=303)

    @server.route("/logout", methods=["GET", "POST"])
    def logout() -> Any:
        login_id = session.get("login_id")
        revoked.revoke(login_id, session.get("login_ts"))
        if on_logout is not None and isinstance(login_id, str):
            on_logout(login_id)
        session.clear()
        return page("logged out", "/", 200)

    return user
