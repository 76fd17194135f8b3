"""Lab-server policies of the web process: per-user quotas and the socket ``start``.

A user over the quota is refused at once with the reason (:func:`check_quota`). The
count reads the bus's :class:`~navigator.bus.lease.Coordinator` (requests not taken
yet + the live registry), so it is right across web and worker processes, and after a
web restart. Where a waiting session stands is said by whoever schedules it: the
embedded :class:`~navigator.worker_host.WorkerHost`, or the Ray lab's
:class:`~navigator.ray_lab.LabScheduler`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from navigator.bus import EventBus


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

