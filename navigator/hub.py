"""The live hub of the web process: session views kept current from the bus, relayed to sockets.

:class:`LiveHub` follows each watched session on the bus, folds its events into a
:class:`~navigator.session_view.SessionView` and relays them to the session's socket room
as ``events`` batches (each event carries its ``seq``). A browser joins with the last seq
it saw and first gets what it missed, so reconnects and late tabs have no gaps. Commands
from the UI and from raw sockets are validated here, against the acting user's rights,
before they travel to the worker over the bus. It also keeps the sockets' logins, so that
a logout or an expired login ends them.

Whatever a client names costs nothing until it is known to exist: a session id that no
event was ever published for gets a reason, never a view, a relay thread, a room or a
command queue (:mod:`navigator.socket_guard` holds the other limits).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import has_request_context, request
from flask_socketio import SocketIO, join_room

from navigator.auth import LOCAL_USER, SHARE, AccessDenied, AccessPolicy
from navigator.bus import EventBus
from navigator.commands import Command, CommandError, parse_command
from navigator.dataset_check import dataset_problem
from navigator.events import CommandAck, CommandRejected, Event, SessionState
from navigator.lab import check_quota
from navigator.session_labels import SessionSummary
from navigator.session_view import SessionView
from navigator.socket_guard import (
    MAX_ID_CHARS,
    MAX_JOINS_PER_SOCKET,
    RejectionLimiter,
    bounded,
    bounded_args,
    encodable,
)
from supernet.configs import EngineConfig
from supernet.paths import Roots
from supernet.templates import check_template_size

BUS_RETRY_S = 0.5  # pause before a relay asks an unreachable bus again
THROTTLED = frozenset({"train_progress", "checkpoint"})  # relayed in batches, not one by one


class LiveHub:
    """Session views kept current from the bus, and the relay of events to socket rooms."""

    def __init__(self, bus: EventBus, socketio: SocketIO, user: str = LOCAL_USER,
                 batch_interval_s: float = 0.3, coalesce_s: float = 0.015,
                 policy: AccessPolicy | None = None, max_sessions_per_user: int = 2,
                 max_sockets_per_login: int = 20) -> None:
        self.bus = bus
        self.batch_interval_s = batch_interval_s
        self.coalesce_s = coalesce_s
        self.socketio = socketio
        self._user = user  # outside a logged-in request: "local" (embedded) or "" (nobody)
        self.policy = policy or AccessPolicy(bus)
        # Set by create_server in password mode: the request's user from the signed cookie.
        self.request_user: Callable[[], str | None] = lambda: None
        self.socket_lifetime_s = 12 * 3600.0
        # sid -> (user at connect, expiry, login id): a logout ends that login's sockets
        self._sockets: dict[str, tuple[str, float, str]] = {}
        self.max_sockets_per_login = max_sockets_per_login  # ServerConfig's; 0 = no limit
        self._joined: dict[str, set[str]] = {}  # sid -> sessions whose rooms it is in
        self._existing: set[str] = set()  # sessions known to exist (they never stop existing)
        self.rejections = RejectionLimiter()  # refusals recorded on session streams, per user
        self._views: dict[str, SessionView] = {}
        self._relayed: dict[str, int] = {}  # last seq relayed to each session's room
        self._relay_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        self.max_sessions_per_user = max_sessions_per_user  # ServerConfig's; 0 = no limit
        self.data_roots: Roots = None  # ServerConfig.user_data_roots: where datasets may lie
        self._summaries: dict[str, SessionSummary] = {}  # the session lists' labels

    @property
    def user(self) -> str:
        """Who acts: the user stored at socket connect (socket handlers), the logged-in user
        of the request (Dash callbacks), else the default. Never taken from a message."""
        if has_request_context():
            sid = getattr(request, "sid", None)
            if sid is not None and sid in self._sockets:
                return self.socket_user(sid)
            name = self.request_user()
            if name:
                return name
        return self._user

    def connect(self, sid: str, user: str, login_ts: float, login_id: str = "") -> str | None:
        """Remember a socket's user until their login expires: ``login_ts`` (when they logged
        in) + the login lifetime, not connect time + lifetime, so a socket opened late in a
        login does not outlive it. Returns why the socket is refused (nothing remembered):
        the login expired, or the user already holds ``max_sockets_per_login`` sockets (each
        costs the server a connection; a browser tab needs one)."""
        expires = login_ts + self.socket_lifetime_s
        now = time.time()
        if now >= expires:
            return "your login expired: log in again"
        with self._lock:
            held = sum(1 for u, until, _ in self._sockets.values() if u == user and now < until)
            if self.max_sockets_per_login and held >= self.max_sockets_per_login:
                return (f"too many connections: {user} already has {held} open (the limit is "
                        f"{self.max_sockets_per_login}); close some tabs or scripts and reload")
            self._sockets[sid] = (user, expires, login_id)
        return None

    def end_login(self, login_id: str) -> None:
        """Close the sockets of a login that ended (/logout): from now on they act as nobody."""
        ended = [sid for sid, (_, _, lid) in list(self._sockets.items()) if lid == login_id]
        for sid in ended:
            self._sockets[sid] = ("", 0.0, login_id)
            self.socketio.server.disconnect(sid, namespace="/")

    def disconnect(self, sid: str) -> None:
        with self._lock:
            self._sockets.pop(sid, None)
            self._joined.pop(sid, None)

    def socket_user(self, sid: str) -> str:
        """The user a socket logged in as, until its login would have expired."""
        user, expires, _ = self._sockets.get(sid, (self._user, float("inf"), ""))
        return user if time.time() < expires else ""

    def exists(self, session: str) -> bool:
        """Whether any event was ever published for ``session``. Asking about an unknown id
        leaves nothing behind (``bus.sessions()``, not a per-id lookup that makes a stream)."""
        if session in self._existing:
            return True
        if session in self.bus.sessions():
            self._existing.add(session)
            return True
        return False

    def view(self, session: str) -> SessionView:
        """The live view of ``session``; :class:`AccessDenied` in a request of a user who may
        not watch it. A session that does not exist (yet) gets an empty view that nobody
        keeps, so no id costs memory or a thread before its first event."""
        if self.policy.login_required and has_request_context():
            problem = (self.policy.watch_problem(self.user, session) if self.exists(session)
                       else f"no session {bounded(session, MAX_ID_CHARS)!r}")
            if problem:
                raise AccessDenied(problem)
        if session not in self._views and not self.exists(session):
            return SessionView(session)
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
            try:
                fresh = subscription.drain(wait)
            except Exception:  # noqa: BLE001 - the bus dropped us (a Redis restart): retry
                if self._stop.is_set():
                    break
                # The subscription's cursor did not move, so nothing is skipped once it is back.
                time.sleep(BUS_RETRY_S)
                continue
            for event in fresh:
                try:
                    view.apply(event)
                except (KeyError, TypeError, ValueError, AttributeError):
                    pass  # a malformed event: the view skips it, the room still gets it
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
            self._emit_events(events, session)
            self._relayed[session] = events[-1].seq

    def _emit_events(self, events: list[Event], to: str) -> None:
        """Send events to a room or socket. A batch that cannot be encoded (an event holding
        an integer of thousands of digits, say) is sent again with each such event replaced
        by an ``error`` event of the same seq: the relay thread lives on, browsers see no gap
        and the recording keeps the original."""
        batch = [e.to_dict() for e in events]
        try:
            self.socketio.emit("events", batch, to=to)
        except (TypeError, ValueError, OverflowError):
            self.socketio.emit("events", [encodable(item) for item in batch], to=to)

    def _relay_lock(self, session: str) -> threading.Lock:
        with self._lock:
            return self._relay_locks.setdefault(session, threading.Lock())

    def join(self, sid: str, session: str, after_seq: int = 0) -> int:
        """Put a socket in the session's room, then send it what it missed (no gap possible).

        Under the session's relay lock, the socket gets from the history exactly the events
        after ``after_seq`` that were already relayed to the room; later ones reach it through
        the room. So it sees every event once, in seq order.
        """
        problem = self._join_problem(sid, session)
        if problem:
            self.socketio.emit("command_error", {"reason": problem}, to=sid)
            return 0
        self.view(session)
        with self._relay_lock(session):
            join_room(session, sid=sid, namespace="/")
            relayed = self._relayed.get(session, 0)
            missed = [e for e in self.bus.history(session, max(int(after_seq), 0))
                      if e.seq <= relayed] if relayed > after_seq else []
            if missed:
                self._emit_events(missed, sid)
        return len(missed)

    def start_session(self, config: dict[str, Any], owner: str) -> str:
        """Validate a search configuration and queue it for a worker; returns the session id."""
        if self.policy.login_required and not owner:
            raise CommandError("login required to start a search (your login may have expired)")
        if isinstance(config, dict) and isinstance(config.get("template"), dict):
            check_template_size(config["template"])  # microseconds, before any parsing
        engine_config = EngineConfig.from_dict(config)
        problem = (None if engine_config.mode == "tabular"
                   else dataset_problem(engine_config.dataset, self.data_roots))
        if problem:  # before anything is queued: the form says why, nothing starts
            raise ValueError(problem)
        session = f"s-{uuid.uuid4().hex[:8]}"
        with self._start_lock:  # two quick starts must not both pass the quota
            check_quota(self.bus, owner, self.max_sessions_per_user)  # navigator/lab.py
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
        return self.submit({"type": kind, "session": session, "args": args or {}})

    def submit(self, message: dict[str, Any]) -> Command:
        """Validate a command message from a socket or the UI and forward it to the session's
        worker: its shape, that the session exists, a template's size, the sender's rights.
        The sender is who the server says (a ``user`` naming anyone else is forged) and
        ``received_ts`` the server's clock; CommandError says why a command is refused."""
        command = parse_command(message | {"user": self.user, "received_ts": time.time()})
        if not self.exists(command.session):
            raise CommandError(f"no session {command.session!r}: start a search first (a "
                               "command is only accepted for a session that exists)")
        if command.type == "edit_template":
            try:
                check_template_size(command.args["template"])
            except ValueError as exc:
                raise CommandError(f"edit_template: {exc}") from None
        self.authorize(command, message.get("user"))
        ended = self._ended(command.session)
        if ended is None:
            self.bus.send_command(command)
        elif command.type == "export":  # no worker listens: a worker host runs it from the checkpoint
            self.bus.request_session(ended | {"kind": "export", "session": command.session,
                                              "command": command.to_dict()})
        else:
            raise self._reject(command, f"session {command.session} has {ended['state']}: "
                                        f"{command.type} cannot be carried out (export still "
                                        "works, from its checkpoint)")
        return command

    def _ended(self, session: str) -> dict[str, Any] | None:
        """``{"state", "message", "owner", "config"}`` of a session that stopped or failed
        (its worker has exited, so its command queue has no reader); None otherwise."""
        view, newest = self._views.get(session), self.bus.last_seq(session)
        last: dict[str, Any] = {}
        if view is not None and view.last_seq >= newest:
            last = {"state": view.state, "message": view.message, "owner": view.owner,
                    "config": view.config}
        for window in (() if last else (256, 8192, newest)):  # the stream's tail, then more
            last = next((dict(e.data) for e in reversed(self.bus.history(session, newest - window))
                         if e.type == "session_state"), {})
            if last:
                break
        if last.get("state") not in ("stopped", "failed"):
            return None
        return {k: last.get(k) for k in ("state", "message", "owner", "config")}

    def _join_problem(self, sid: str, session: str) -> str | None:
        """Why socket ``sid`` may not join ``session``'s room; None after counting it in."""
        if not self.exists(session):
            return f"no session {bounded(session, MAX_ID_CHARS)!r}: it was never started"
        problem = self._watch_problem(sid, session)
        if problem:
            return problem
        with self._lock:
            if not self.socketio.server.manager.is_connected(sid, "/"):
                return f"no open connection {bounded(sid, MAX_ID_CHARS)!r}"
            joined = self._joined.setdefault(sid, set())
            if session not in joined and len(joined) >= MAX_JOINS_PER_SOCKET:
                return (f"this connection already follows {len(joined)} sessions (the limit "
                        f"is {MAX_JOINS_PER_SOCKET}): open another connection")
            joined.add(session)
        return None

    def _watch_problem(self, sid: str, session: str) -> str | None:
        if not self.policy.login_required:
            return None
        user = self.socket_user(sid)
        if not user:
            return "your login expired: log in again"
        if has_request_context() and getattr(request, "sid", None) is None and self.user != user:
            return "this socket belongs to another login"  # a Dash request naming someone's socket
        return self.policy.watch_problem(user, session)

    def _reject(self, command: Command, reason: str) -> CommandError:
        """Record a refused command on the session's stream (when it exists) and say why.

        Anyone can send commands to any session they can name, so what is recorded is
        bounded: a digest of long arguments, a cut reason, and at most a burst of refusals
        per user then one every few seconds (``suppressed`` counts those left out)."""
        if self.exists(command.session):
            user = self.user or "anonymous"
            record, suppressed = self.rejections.admit(user)
            if record:
                self.bus.publish(command.session, CommandRejected(
                    command_id=bounded(command.id, MAX_ID_CHARS), command=command.type,
                    user=user, reason=bounded(reason), args=bounded_args(command.args),
                    sent_ts=command.ts, received_ts=command.received_ts, suppressed=suppressed,
                    unauthorized=self.policy.steer_problem(self.user, command.session) is not None))
        return CommandError(reason)

    def authorize(self, command: Command, claimed: Any = None) -> None:
        """Raise CommandError, recorded as ``command_rejected``, unless the acting user may send
        ``command``: forged ``user`` field (``claimed``), no right to steer, replayed id."""
        problem = self.policy.command_problem(self.user, command, claimed)
        if problem:
            raise self._reject(command, problem)

    def share(self, message: dict[str, Any]) -> Command:
        """The server-side ``share`` command: ``{"type": "share", "session", "id"?,
        "args": {"with": "*" | [names] | []}}``. Published as a ``command_ack`` so it is recorded."""
        session, args = message.get("session"), message.get("args", {})
        if not isinstance(session, str) or not session:
            raise CommandError("share: 'session' must be a non-empty session id")
        if not isinstance(args, dict) or set(args) != {"with"}:
            raise CommandError("share: args must be {'with': '*' | [user names] | []}")
        if not self.exists(session):
            raise CommandError(f"share: no session {session!r}")
        command = Command(type=SHARE, session=session, user=self.user, args=dict(args),
                          id=str(message.get("id") or uuid.uuid4().hex), received_ts=time.time())
        try:
            audience = self.policy.share(self.user, session, args["with"])
        except AccessDenied as exc:
            raise self._reject(command, str(exc)) from None
        self.authorize(command, message.get("user"))  # forged or replayed
        shown = "everyone" if audience == "*" else ", ".join(audience) or "nobody (private)"
        self.bus.publish(session, CommandAck(
            command_id=command.id, command=SHARE, user=self.user, effective="now",
            detail=f"read-only for {shown}", args={"with": audience}, sent_ts=command.ts,
            received_ts=command.received_ts))
        self.policy.shared(session, audience)
        return command

    def sessions(self) -> list[str]:
        if self.policy.login_required and has_request_context():
            return self.policy.watchable(self.user, self.bus.sessions())
        return self.bus.sessions()

    def session_summaries(self) -> list[dict[str, Any]]:
        """:meth:`SessionSummary.to_dict` of every session the acting user may watch, newest
        first; each is folded on from the events it has not seen yet, so a refresh costs the
        new events only."""
        out = []
        for session in self.sessions():
            with self._lock:
                summary = self._summaries.setdefault(session, SessionSummary(session))
            with self._relay_lock(session):
                if self.bus.last_seq(session) > summary.last_seq:
                    for event in self.bus.history(session, summary.last_seq):
                        summary.apply(event)
                out.append(summary.to_dict())
        return sorted(out, key=lambda s: s["created_ts"] or 0, reverse=True)

    def close(self) -> None:
        self._stop.set()
