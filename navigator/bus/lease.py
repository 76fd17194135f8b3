"""Who runs which session: leases and the live-session registry of the hosts not on Ray.

A session is run by exactly one worker at a time. The worker proves it with a
*lease* (Redis key ``navigator:lease:<session>`` holding the worker id, set with
``NX`` and an expiry) that a heartbeat thread renews every ``ttl/3``. A worker
that dies stops renewing, the key expires, and any other worker host, which
periodically looks through the *live registry* (hash ``navigator:live``:
session -> request JSON plus the holding worker) for entries without a lease,
claims it with ``SET NX`` and resumes the session from its checkpoint. A worker
whose renewal finds another worker's id in the key has been taken over (it was
stalled, not dead) and must stop at once without writing a checkpoint, so two
workers never write the same session. A worker that cannot reach Redis to renew
for a whole TTL counts its lease as lost the same way: by then the key may have
expired and another worker may have resumed the session.

:class:`MemoryCoordinator` is the in-process equivalent for the embedded default. These
hosts are the embedded one and the data-parallel worker under torchrun; the lab server's
sessions are placed and restarted by Ray (:mod:`navigator.ray_lab`).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

PREFIX = "navigator"


def new_worker_id() -> str:
    """``host-pid-xxxx``: readable in messages, unique across restarts and machines."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


class Coordinator(ABC):
    """Leases and the live registry of one bus."""

    shared: bool = False  # True when other processes see the same state (Redis)

    # -- leases ------------------------------------------------------------------------
    @abstractmethod
    def claim(self, session: str, worker: str, ttl_s: float, entry: dict[str, Any],
              takeover: bool = False) -> bool:
        """Take the session's lease and record it as live with ``entry``.

        Returns True when claimed, False when another worker holds it (or, for a
        ``takeover``, when the session left the live registry meanwhile).
        """

    @abstractmethod
    def renew(self, session: str, worker: str, ttl_s: float) -> bool:
        """Extend our lease (re-taking it if it lapsed unclaimed); False if another worker has it."""

    @abstractmethod
    def release(self, session: str, worker: str) -> None:
        """Drop the lease if it is still ours."""

    @abstractmethod
    def holder(self, session: str) -> str | None: ...

    # -- live registry -----------------------------------------------------------------
    @abstractmethod
    def live(self) -> dict[str, dict[str, Any]]:
        """Sessions some worker runs (or ran until it died): session -> entry."""

    @abstractmethod
    def unregister(self, session: str) -> None:
        """The session stopped or failed: nobody should resume it."""

    @abstractmethod
    def queued(self) -> list[dict[str, Any]]:
        """Session requests no worker has taken yet, next first."""

    def active_sessions(self, owner: str) -> list[str]:
        """The owner's sessions that are queued, running or paused (stopped/failed ones are not)."""
        sessions = [r["session"] for r in self.queued() if r.get("owner") == owner]
        sessions += [s for s, e in self.live().items() if e.get("owner") == owner]
        return list(dict.fromkeys(sessions))


class MemoryCoordinator(Coordinator):
    """The in-process version: one lock, dicts, and expiry times on the monotonic clock."""

    def __init__(self, queued: Callable[[], list[dict[str, Any]]] = list) -> None:
        self._lock = threading.RLock()
        self._queued = queued
        self._leases: dict[str, tuple[str, float]] = {}
        self._live: dict[str, dict[str, Any]] = {}

    def _lease(self, session: str) -> str | None:
        held = self._leases.get(session)
        if held is None or held[1] <= time.monotonic():
            self._leases.pop(session, None)
            return None
        return held[0]

    def claim(self, session: str, worker: str, ttl_s: float, entry: dict[str, Any],
              takeover: bool = False) -> bool:
        with self._lock:
            if self._lease(session) is not None or (takeover and session not in self._live):
                return False
            self._leases[session] = (worker, time.monotonic() + ttl_s)
            self._live[session] = dict(entry)
            return True

    def renew(self, session: str, worker: str, ttl_s: float) -> bool:
        with self._lock:
            if self._lease(session) not in (None, worker):
                return False
            self._leases[session] = (worker, time.monotonic() + ttl_s)
            return True

    def release(self, session: str, worker: str) -> None:
        with self._lock:
            if self._lease(session) == worker:
                del self._leases[session]

    def holder(self, session: str) -> str | None:
        with self._lock:
            return self._lease(session)

    def live(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {s: dict(e) for s, e in self._live.items()}

    def unregister(self, session: str) -> None:
        with self._lock:
            self._live.pop(session, None)

    def queued(self) -> list[dict[str, Any]]:
        return self._queued()


_CLAIM = """
if ARGV[5] == '1' and redis.call('HEXISTS', KEYS[2], ARGV[3]) == 0 then return 0 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
  return 1
end
return 0
"""
_RENEW = """
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisCoordinator(Coordinator):
    """The shared version (the torchrun worker's): every process sees the same leases."""

    shared = True

    def __init__(self, client: Any, url: str) -> None:
        self.client = client
        self.url = url
        self._claim = client.register_script(_CLAIM)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._live_key = f"{PREFIX}:live"

    @staticmethod
    def _lease_key(session: str) -> str:
        return f"{PREFIX}:lease:{session}"

    def claim(self, session: str, worker: str, ttl_s: float, entry: dict[str, Any],
              takeover: bool = False) -> bool:
        return bool(self._claim(keys=[self._lease_key(session), self._live_key],
                                args=[worker, int(ttl_s * 1000), session, json.dumps(entry),
                                      "1" if takeover else "0"]))

    def renew(self, session: str, worker: str, ttl_s: float) -> bool:
        return bool(self._renew(keys=[self._lease_key(session)], args=[worker, int(ttl_s * 1000)]))

    def release(self, session: str, worker: str) -> None:
        self._release(keys=[self._lease_key(session)], args=[worker])

    def holder(self, session: str) -> str | None:
        value = self.client.get(self._lease_key(session))
        return value.decode() if value is not None else None

    def live(self) -> dict[str, dict[str, Any]]:
        return {k.decode(): json.loads(v) for k, v in self.client.hgetall(self._live_key).items()}

    def unregister(self, session: str) -> None:
        self.client.hdel(self._live_key, session)

    def queued(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.client.lrange(f"{PREFIX}:requests", 0, -1)]

class SessionLease:
    """Our lease on one session, renewed by a heartbeat thread until released or lost.

    The lease is lost when a renewal finds another worker's id (the session was taken
    over) or when no renewal has succeeded for ``ttl_s``: by then the key may have
    expired in Redis and another worker may be running the session from its checkpoint,
    so a worker that cannot prove it still holds the lease must act as if it did not.
    ``on_lost`` runs once, on the heartbeat thread; ``lost`` turns True at the deadline
    even while a renewal hangs on an unreachable server.
    """

    def __init__(self, coordinator: Coordinator, session: str, worker: str, ttl_s: float = 10.0,
                 on_lost: Callable[[], None] | None = None) -> None:
        self.coordinator = coordinator
        self.session = session
        self.worker = worker
        self.ttl_s = ttl_s
        self.on_lost = on_lost
        self._lost = False
        self._renewed = time.monotonic()  # the claim just set the key's expiry
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lost(self) -> bool:
        """Taken over, or not renewed within the TTL; once lost, always lost."""
        with self._lock:
            if not self._lost and not self._stop.is_set():
                self._lost = time.monotonic() - self._renewed >= self.ttl_s
            return self._lost

    @property
    def held(self) -> bool:
        return not self.lost and not self._stop.is_set()

    def start(self) -> SessionLease:
        self._thread = threading.Thread(target=self._beat, name=f"lease-{self.session}",
                                        daemon=True)
        self._thread.start()
        return self

    def _pause(self) -> float:
        """Every ttl/3, but never past the deadline, so a loss is reported on time."""
        return max(0.0, min(self.ttl_s / 3, self._renewed + self.ttl_s - time.monotonic()))

    def _beat(self) -> None:
        while not self._stop.wait(self._pause()):
            if not self.lost:
                self._renew()
            if self.lost:
                if self.on_lost is not None:
                    self.on_lost()
                return

    def _renew(self) -> None:
        attempt = time.monotonic()
        try:
            ok = self.coordinator.renew(self.session, self.worker, self.ttl_s)
        except Exception:  # noqa: BLE001 - bus unreachable: retried until the TTL runs out
            return
        with self._lock:
            if not ok:
                self._lost = True
            elif not self._lost:
                self._renewed = attempt

    def release(self) -> None:
        """Stop renewing and give the lease back (if it is still ours)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        if not self.lost:
            try:
                self.coordinator.release(self.session, self.worker)
            except Exception:  # noqa: BLE001 - it expires on its own
                pass
