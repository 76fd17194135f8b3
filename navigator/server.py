"""The socket side of the web process: Flask-SocketIO on a Flask app, logins, the live hub.

:func:`create_server` puts a Socket.IO server on a Flask app (the UI's, in the composition
root ``navigator/wsgi.py``), guards it with logins when the configuration asks for them and
registers the socket messages: ``join`` {session, after_seq}, ``command`` {command dict},
``start`` {config} (``navigator/lab.py``) and, by the study service, ``ui_action``. The
async mode is the caller's: ``threading`` for ``navigator serve`` (no monkey-patching, so
PyTorch in an embedded worker is safe), ``gevent`` for the lab web under gunicorn's gevent
worker (a greenlet per socket, not a thread; that process imports no torch). Nothing here
knows the UI: it only sees the hub (:mod:`navigator.hub`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from flask import Flask, request
from flask import session as flask_session
from flask_socketio import ConnectionRefusedError, SocketIO, emit
from pydantic import Field

from navigator.auth import (
    LOCAL_USER,
    SHARE,
    AccessPolicy,
    UserStore,
    cookie_problem,
    install_login,
    session_lifetime,
)
from navigator.bus import EventBus
from navigator.commands import CommandError
from navigator.config import ServerConfig, is_loopback
from navigator.hub import LiveHub
from navigator.lab import register_start_handler
from navigator.socket_guard import Gate, harden
from supernet.validation import FiniteFloat, InvalidData, Model, conforms, validate

MAX_AFTER_SEQ = 2**53  # what a browser's number holds exactly


class JoinMessage(Model):
    """``join`` {session, after_seq}: follow a session from just after ``after_seq``."""

    session: Annotated[str, Field(min_length=1)]
    after_seq: Annotated[int, Field(ge=0, le=MAX_AFTER_SEQ, description=(
        f"a non-negative integer (at most {MAX_AFTER_SEQ})"))] = 0


def _sid() -> str:
    """The socket id that Flask-SocketIO puts on the request of a socket event."""
    return str(request.sid)  # type: ignore[attr-defined]


def _one_argument(event: str, args: tuple[Any, ...]) -> Any:
    if len(args) != 1:
        raise CommandError(f"'{event}' takes exactly one JSON object, got {len(args)} arguments")
    return args[0]


def _login_ts() -> float:
    """When the current request's user logged in (``install_login`` stores it in the signed
    cookie); 0 (long expired) for a cookie without it."""
    value: Any = flask_session.get("login_ts")
    return float(value) if conforms(FiniteFloat, value) else 0.0


def _register_socket_handlers(socketio: SocketIO, hub: LiveHub,
                              refusal: Callable[[], str] | None = None) -> None:
    @socketio.on("connect")
    def on_connect(auth: Any = None) -> None:
        if not hub.policy.login_required:
            return
        user = hub.request_user()  # from the signed cookie of the handshake request
        if not user:
            raise ConnectionRefusedError(refusal() if refusal else "login required")
        login_id = flask_session.get("login_id")
        problem = hub.connect(_sid(), user, _login_ts(),
                              login_id if isinstance(login_id, str) else "")
        if problem:
            raise ConnectionRefusedError(problem)

    @socketio.on("disconnect")
    def on_disconnect(*_reason: Any) -> None:
        hub.disconnect(_sid())

    @socketio.on("join")
    def on_join(*args: Any) -> None:
        try:
            message = _one_argument("join", args)
        except CommandError as exc:
            emit("command_error", {"reason": str(exc)})
            return
        try:
            join = validate(JoinMessage, message, "join")
        except InvalidData as exc:
            emit("command_error", {"reason": f"join needs {{'session': <id>, 'after_seq': <int>}}: "
                                             f"{exc}"})
            return
        hub.join(_sid(), join.session, join.after_seq)

    @socketio.on("command")
    def on_command(*args: Any) -> None:
        try:
            message = _one_argument("command", args)
            if not isinstance(message, dict):
                raise CommandError(f"a command must be a JSON object, got {type(message).__name__}")
            if not hub.user:
                raise CommandError("your login expired: log in again")
            command = hub.share(message) if message.get("type") == SHARE else hub.submit(message)
        except CommandError as exc:
            emit("command_error", {"reason": str(exc)})
            return
        emit("command_sent", {"id": command.id, "type": command.type})

    @socketio.on_error_default
    def on_error(exc: Exception) -> None:
        if isinstance(exc, ConnectionRefusedError):
            raise exc  # a refused login must reach python-socketio, which tells the client why
        # Never let one bad message take a handler thread down silently: tell the sender.
        emit("command_error", {"reason": f"server could not handle the message: {exc}"})


AsyncMode = Literal["threading", "gevent"]
"""How Flask-SocketIO waits on sockets: ``gevent`` needs a monkey-patched process."""


def create_server(flask_app: Flask, config: ServerConfig, bus: EventBus,
                  users: UserStore | None = None, *, async_mode: AsyncMode = "threading"
                  ) -> tuple[SocketIO, LiveHub]:
    """The Socket.IO server on ``flask_app`` and its hub (also ``extensions["navigator_hub"]``);
    with ``config.auth == "password"`` every route and socket needs a login (users from
    ``users`` or the config's users file)."""
    flask_app.config["SECRET_KEY"] = config.secret
    # One socket's messages are handled in the order they were sent (a prune, then its
    # restore; the UI actions a study records): no handler thread per message.
    socketio = SocketIO(flask_app, async_mode=async_mode, cors_allowed_origins=None,
                        async_handlers=False, logger=False, engineio_logger=False)
    login = config.login_required
    if login:
        users = users or UserStore.from_config(config)
    policy = AccessPolicy(bus, users, login_required=login)
    hub = LiveHub(bus, socketio, user="" if login else LOCAL_USER, policy=policy,
                  max_sessions_per_user=config.max_sessions_per_user,
                  max_sockets_per_login=config.max_sockets_per_login)
    if login and users is not None:
        hub.request_user = install_login(flask_app, users, config, on_logout=hub.end_login)
        hub.socket_lifetime_s = session_lifetime(config).total_seconds()
    hub.data_roots = config.user_data_roots
    flask_app.extensions["navigator_hub"] = hub
    _register_socket_handlers(socketio, hub, lambda: cookie_problem(flask_app))
    register_start_handler(socketio, hub)  # socket "start" for headless clients (navigator/lab.py)
    # Strict JSON and message limits on the socket; in front of every route, the Host check of
    # the embedded default (loopback, no login: a rebound name must not reach it) and the
    # HTTP body limit. The lab has logins: a page of another site carries no cookie of ours.
    harden(socketio)
    flask_app.wsgi_app = Gate(flask_app.wsgi_app,  # type: ignore[method-assign]
                              loopback_only=is_loopback(config.host) and not login)
    return socketio, hub
