"""Lab-server policies of the web process: per-user quotas and the queue monitor.

Several users share a few workers, so two things must never be silent:

* a user over the quota is refused at once with the reason (:func:`check_quota`);
* a session no worker has taken yet says so, with its position in the queue or,
  when no worker has announced itself at all, how to start one
  (:class:`QueueMonitor`). Without it a "Start search" whose worker never comes
  looks exactly like a slow start.

Both read the bus's :class:`~navigator.bus.lease.Coordinator`, so they are right
across web and worker processes, and after a web restart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from navigator.bus import EventBus
from navigator.bus.lease import QUEUE_MONITOR, new_worker_id
from navigator.events import SessionState


class QuotaExceeded(ValueError):
    """A user already runs as many sessions as they may."""


def check_quota(bus: EventBus, owner: str, limit: int) -> None:
    """Refuse a new session when ``owner`` already has ``limit`` queued/running/paused ones.

    The count comes from the coordinator (requests not yet taken + the live registry,
    from which stopped and failed sessions are removed), not from this process's
    memory, so it holds across web processes and restarts. ``limit`` 0 means no limit.
    """
    if limit <= 0:
        return
    active = bus.coordinator().active_sessions(owner)
    if len(active) >= limit:
        noun = "session" if len(active) == 1 else "sessions"
        raise QuotaExceeded(f"{owner} already runs {len(active)} {noun} (limit {limit}): "
                            f"stop one first ({', '.join(active)})")


class QueueMonitor:
    """Publishes where each waiting session stands, as ``session_state`` "queued" messages.

    A request that no worker took within ``grace_s`` gets the state "queued" with the
    message "position k of n, all workers busy (...)" (updated whenever its position
    changes), or "no worker is running: start one with ..." when no worker host has
    announced itself (the UI shows ``state: message``). A live
    session whose worker stopped answering (its lease expired, no host free to take
    it over yet) is reported too. Only one web process publishes (it holds the
    ``__queue-monitor__`` lease), and it publishes under the coordinator's queue lock,
    which workers' claims wait for, so a "queued" message never follows "running".
    """

    def __init__(self, bus: EventBus, interval_s: float = 0.5, grace_s: float = 1.0) -> None:
        self.bus = bus
        self.coordinator = bus.coordinator()
        self.interval_s = interval_s
        self.grace_s = grace_s
        self.id = f"web-{new_worker_id()}"
        self._first_seen: dict[str, float] = {}
        self._said: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> QueueMonitor:
        self._thread = threading.Thread(target=self._run, name="queue-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        ttl = max(3 * self.interval_s, 2.0)
        while not self._stop.wait(self.interval_s):
            try:
                if self.coordinator.renew(QUEUE_MONITOR, self.id, ttl):
                    self.tick()
            except Exception:  # noqa: BLE001 - bus unreachable: try again next tick
                continue

    def messages(self, now: float | None = None) -> dict[str, tuple[dict[str, Any], str]]:
        """session -> (request or live entry, message) for every session that waits."""
        now = time.monotonic() if now is None else now
        queued = self.coordinator.queued()
        workers = self.coordinator.workers()
        orphans = {s: e for s, e in self.coordinator.live().items()
                   if self.coordinator.holder(s) is None}
        waiting = [r["session"] for r in queued] + list(orphans)
        for session in waiting:
            self._first_seen.setdefault(session, now)
        for session in set(self._first_seen) - set(waiting):
            del self._first_seen[session]
            self._said.pop(session, None)
        slots = sum(int(w.get("max_sessions", 1)) for w in workers.values())
        busy = sum(int(w.get("busy", 0)) for w in workers.values())
        if not workers:
            why = f"no worker is running: {self.coordinator.worker_hint()}"
        else:
            n_workers = f"{len(workers)} worker{'s' if len(workers) != 1 else ''}"
            why = (f"all workers busy ({busy} of {slots} session slots in use on {n_workers})"
                   if busy >= slots else f"{slots - busy} free slot(s) on {n_workers}, "
                                         "about to start")
        out: dict[str, tuple[dict[str, Any], str]] = {}
        for k, request in enumerate(queued, start=1):
            out[request["session"]] = (request, why if not workers else
                                       f"position {k} of {len(queued)}, {why}")
        for session, entry in orphans.items():
            out[session] = (entry, f"worker {entry.get('worker', '?')} stopped answering; "
                                   f"waiting to resume from the last checkpoint: {why}")
        return {s: v for s, v in out.items() if now - self._first_seen[s] >= self.grace_s}

    def tick(self) -> None:
        with self.coordinator.queue_lock() as locked:
            if not locked:
                return
            for session, (request, message) in self.messages().items():
                if self._said.get(session) == message:
                    continue
                self._said[session] = message
                self.bus.publish(session, SessionState(
                    state="queued", message=message, owner=request.get("owner", ""),
                    config=request.get("config") or {}))


def register_start_handler(socketio: Any, hub: Any,
                           user_of: Callable[[], str] | None = None) -> None:
    """Socket message ``start`` {config}: start a session; answers ``session_started``
    {session} or ``command_error`` {reason} (invalid config, quota). Headless clients
    (tests, ``benchmarks/load.py``, scripts) use it; the UI starts through Dash."""
    from flask_socketio import emit

    @socketio.on("start")
    def on_start(*args: Any) -> None:
        message = args[0] if len(args) == 1 else None
        if not isinstance(message, dict) or not isinstance(message.get("config", {}), dict):
            emit("command_error", {"reason": "start takes one object {'config': {...}}"})
            return
        owner = user_of() if user_of is not None else hub.user
        try:
            session = hub.start_session(message.get("config") or {}, owner=owner)
        except (ValueError, TypeError) as exc:
            emit("command_error", {"reason": f"cannot start: {exc}"})
            return
        emit("session_started", {"session": session, "id": message.get("id")})

