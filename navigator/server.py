"""The socket side of the web process: Flask-SocketIO on a Flask app, logins, the live hub.

:func:`create_server` puts a Socket.IO server on a Flask app (the UI's, in the composition
root ``navigator/wsgi.py``), guards it with logins when the configuration asks for them and
registers the socket messages: ``join`` {session, after_seq}, ``command`` {command dict},
``start`` {config} (``navigator/lab.py``) and, by the study service, ``ui_action``. Threading
async mode: no monkey-patching, so PyTorch in an embedded worker is safe. Nothing here
knows the UI: it only sees the hub (:mod:`navigator.hub`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, request
from flask import session as flask_session
from flask_socketio import ConnectionRefusedError, SocketIO, emit

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
from navigator.commands import CommandError, parse_command
from navigator.config import ServerConfig
from navigator.hub import LiveHub
from navigator.lab import register_start_handler


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
    value = flask_session.get("login_ts")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


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
        if not hub.connect(_sid(), user, _login_ts(), login_id if isinstance(login_id, str) else ""):
            raise ConnectionRefusedError("your login expired: log in again")

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
        if not isinstance(message, dict) or not isinstance(message.get("session"), str):
            emit("command_error", {"reason": "join needs {'session': <id>, 'after_seq': <int>}"})
            return
        after = message.get("after_seq", 0)
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            emit("command_error", {"reason": "after_seq must be a non-negative integer"})
            return
        hub.join(_sid(), message["session"], after)

    @socketio.on("command")
    def on_command(*args: Any) -> None:
        try:
            message = _one_argument("command", args)
            if not isinstance(message, dict):
                raise CommandError(f"a command must be a JSON object, got {type(message).__name__}")
            if not hub.user:
                raise CommandError("your login expired: log in again")
            if message.get("type") == SHARE:
                command = hub.share(message)
            else:
                # The sender is who the server says; a 'user' naming anyone else is forged.
                command = parse_command(message | {"user": hub.user})
                hub.authorize(command, message.get("user"))
                hub.bus.send_command(command)
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


def create_server(flask_app: Flask, config: ServerConfig, bus: EventBus,
                  users: UserStore | None = None) -> tuple[SocketIO, LiveHub]:
    """The Socket.IO server on ``flask_app`` and its hub (also ``extensions["navigator_hub"]``);
    with ``config.auth == "password"`` every route and socket needs a login (users from
    ``users`` or the config's users file)."""
    flask_app.config["SECRET_KEY"] = config.secret
    socketio = SocketIO(flask_app, async_mode="threading", cors_allowed_origins=None,
                        logger=False, engineio_logger=False)
    login = config.login_required
    if login:
        users = users or UserStore.from_config(config)
    policy = AccessPolicy(bus, users, login_required=login)
    hub = LiveHub(bus, socketio, user="" if login else LOCAL_USER, policy=policy,
                  max_sessions_per_user=config.max_sessions_per_user)
    if login and users is not None:
        hub.request_user = install_login(flask_app, users, config, on_logout=hub.end_login)
        hub.socket_lifetime_s = session_lifetime(config).total_seconds()
    flask_app.extensions["navigator_hub"] = hub
    _register_socket_handlers(socketio, hub, lambda: cookie_problem(flask_app))
    register_start_handler(socketio, hub)  # socket "start" for headless clients (navigator/lab.py)
    return socketio, hub
