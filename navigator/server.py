"""The web process: the Dash app and a Flask-SocketIO server on the same Flask app.

The :class:`LiveHub` follows each watched session on the bus, folds its events
into a :class:`~frontend.state.SessionView` and relays them to the session's
socket room as ``events`` batches (each event carries its ``seq``). A browser
joins with the last seq it saw and first gets what it missed, so reconnects and
late tabs have no gaps. Commands arrive as Dash callbacks or raw ``command``
socket messages; both are validated here and travel to the worker over the bus.
Threading async mode: no monkey-patching, so PyTorch in an embedded worker is safe.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import dash
from flask import request
from flask_socketio import SocketIO, emit, join_room

from frontend.block_view import register_block_view
from frontend.callbacks import register_callbacks
from frontend.hardware_view import register_hardware
from frontend.layout import build_layout
from frontend.lego_view import register_lego_view
from frontend.selection_view import register_selections
from frontend.state import SessionView
from navigator.bus import EventBus
from navigator.commands import Command, CommandError, parse_command
from navigator.config import ServerConfig
from navigator.events import Event, SessionState
from supernet.engine import EngineConfig

ASSETS = Path(__file__).resolve().parent.parent / "assets"
THROTTLED = frozenset({"train_progress", "checkpoint"})  # relayed in batches, not one by one


class LiveHub:
    """Session views kept current from the bus, and the relay of events to socket rooms."""

    def __init__(self, bus: EventBus, socketio: SocketIO, user: str = "local",
                 batch_interval_s: float = 0.3, coalesce_s: float = 0.015) -> None:
        self.bus = bus
        self.batch_interval_s = batch_interval_s
        self.coalesce_s = coalesce_s
        self.socketio = socketio
        self.user = user
        self._views: dict[str, SessionView] = {}
        self._relayed: dict[str, int] = {}  # last seq relayed to each session's room
        self._relay_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def view(self, session: str) -> SessionView:
        with self._lock:
            if session not in self._views:
                self._views[session] = SessionView(session)
                thread = threading.Thread(target=self._follow, args=(session,),
                                          name=f"hub-{session}", daemon=True)
                thread.start()
            return self._views[session]

    def _follow(self, session: str) -> None:
        view = self._views[session]
        subscription = self.bus.subscribe(session, 0)
        batch: list[Event] = []
        last_relay = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            wait = 1.0 if not batch else max(0.0, last_relay + self.batch_interval_s - now)
            if batch and any(e.type not in THROTTLED for e in batch):
                wait = min(wait, self.coalesce_s)
            fresh = subscription.drain(wait)
            for event in fresh:
                view.apply(event)
            batch.extend(fresh)
            if not batch:
                continue
            # Progress ticks are batched (at most one relay per batch_interval_s) so the number
            # of Dash re-renders, and the GIL time taken from an embedded worker, stays bounded;
            # anything else (candidates, acks, steering) goes out after a short coalescing pause
            # that gathers the worker's burst (candidates + fitness + leaderboard) into one batch.
            due = time.monotonic() - last_relay >= self.batch_interval_s
            if due or (not fresh and any(e.type not in THROTTLED for e in batch)):
                self._relay(session, batch)
                batch, last_relay = [], time.monotonic()
        subscription.close()

    def _relay(self, session: str, events: list[Event]) -> None:
        with self._relay_lock(session):
            self.socketio.emit("events", [e.to_dict() for e in events], to=session)
            self._relayed[session] = events[-1].seq

    def _relay_lock(self, session: str) -> threading.Lock:
        with self._lock:
            return self._relay_locks.setdefault(session, threading.Lock())

    def join(self, sid: str, session: str, after_seq: int = 0) -> int:
        """Put a socket in the session's room, then send it what it missed (no gap possible).

        Under the session's relay lock, the socket gets from the history exactly the events
        after ``after_seq`` that were already relayed to the room; later ones reach it through
        the room. So it sees every event once, in seq order.
        """
        self.view(session)
        with self._relay_lock(session):
            join_room(session, sid=sid, namespace="/")
            relayed = self._relayed.get(session, 0)
            missed = [e for e in self.bus.history(session, max(int(after_seq), 0))
                      if e.seq <= relayed] if relayed > after_seq else []
            if missed:
                self.socketio.emit("events", [e.to_dict() for e in missed], to=sid)
        return len(missed)

    def start_session(self, config: dict[str, Any], owner: str) -> str:
        """Validate a search configuration and queue it for a worker; returns the session id."""
        engine_config = EngineConfig.from_dict(config)
        session = f"s-{uuid.uuid4().hex[:8]}"
        self.bus.publish(session, SessionState(state="queued", message="waiting for a worker",
                                               owner=owner, config=engine_config.to_dict()))
        self.bus.request_session({"session": session, "owner": owner,
                                  "config": engine_config.to_dict()})
        self.view(session)
        return session

    def send(self, session: str | None, kind: str, args: dict[str, Any] | None = None) -> Command:
        """Validate and forward an analyst action from the UI."""
        if not session:
            raise CommandError("no session yet: start a search first")
        command = parse_command({"type": kind, "session": session, "user": self.user,
                                 "args": args or {}})
        self.bus.send_command(command)
        return command

    def sessions(self) -> list[str]:
        return self.bus.sessions()

    def close(self) -> None:
        self._stop.set()


def _one_argument(event: str, args: tuple[Any, ...]) -> Any:
    if len(args) != 1:
        raise CommandError(f"'{event}' takes exactly one JSON object, got {len(args)} arguments")
    return args[0]


def _register_socket_handlers(socketio: SocketIO, hub: LiveHub) -> None:
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
        hub.join(request.sid, message["session"], after)

    @socketio.on("command")
    def on_command(*args: Any) -> None:
        try:
            message = _one_argument("command", args)
            if not isinstance(message, dict):
                raise CommandError(f"a command must be a JSON object, got {type(message).__name__}")
            command = parse_command(message | {"user": hub.user})
        except CommandError as exc:
            emit("command_error", {"reason": str(exc)})
            return
        hub.bus.send_command(command)
        emit("command_sent", {"id": command.id, "type": command.type})

    @socketio.on_error_default
    def on_error(exc: Exception) -> None:
        # Never let one bad message take a handler thread down silently: tell the sender.
        emit("command_error", {"reason": f"server could not handle the message: {exc}"})


def create_app(config: ServerConfig, bus: EventBus) -> tuple[dash.Dash, SocketIO]:
    app = dash.Dash("navigator", assets_folder=str(ASSETS), title="NAS Navigator",
                    suppress_callback_exceptions=True, update_title=None)
    app.server.config["SECRET_KEY"] = config.secret
    app.layout = build_layout()
    socketio = SocketIO(app.server, async_mode="threading", cors_allowed_origins=None,
                        logger=False, engineio_logger=False)
    hub = LiveHub(bus, socketio)
    app.server.extensions["navigator_hub"] = hub
    _register_socket_handlers(socketio, hub)
    register_callbacks(app, hub)
    register_hardware(app, hub)
    register_block_view(app, hub)
    register_selections(app, hub)
    register_lego_view(app, hub)
    return app, socketio
