"""The event bus interface shared by the in-process and the Redis implementation.

Three kinds of traffic travel on a bus:

- events, per session, each given the next ``seq`` (1, 2, 3, ... without gaps);
  subscribers read them from any ``after_seq`` onwards, first the history and then
  live, so a late or reconnecting reader misses nothing and sees nothing twice;
- commands, per session, consumed by the worker that owns the session;
- session requests on a control channel, taken by the embedded worker host, the Ray lab's
  scheduler (:mod:`navigator.ray_lab`) or the data-parallel worker.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from navigator.bus.lease import Coordinator, MemoryCoordinator
from navigator.commands import Command
from navigator.events import Event, Payload


class Subscription(ABC):
    @abstractmethod
    def get(self, timeout: float | None = None) -> Event | None:
        """The next event in seq order, or None when ``timeout`` seconds pass without one."""

    @abstractmethod
    def close(self) -> None: ...

    def drain(self, timeout: float = 0.0) -> list[Event]:
        """Everything available now (waiting at most ``timeout`` for the first event)."""
        out = []
        event = self.get(timeout)
        while event is not None:
            out.append(event)
            event = self.get(0)
        return out


class EventBus(ABC):
    @abstractmethod
    def publish(self, session: str, payload: Payload) -> Event:
        """Append an event to the session's stream; returns it with its ``seq`` (0 if deferred)."""

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait until every event published so far has its ``seq``; False if not by ``timeout``.

        A bus that writes at once (the in-process one) has nothing to wait for."""
        return True

    @abstractmethod
    def history(self, session: str, after_seq: int = 0) -> list[Event]: ...

    @abstractmethod
    def subscribe(self, session: str, after_seq: int = 0) -> Subscription: ...

    @abstractmethod
    def last_seq(self, session: str) -> int: ...

    @abstractmethod
    def sessions(self) -> list[str]:
        """Every session that has published at least one event."""

    @abstractmethod
    def send_command(self, command: Command) -> None: ...

    @abstractmethod
    def next_command(self, session: str, timeout: float = 0.0) -> Command | None: ...

    @abstractmethod
    def request_session(self, request: dict[str, Any]) -> None:
        """Ask any free worker to run a session (``{"session", "owner", "config"}``)."""

    @abstractmethod
    def next_session_request(self, timeout: float = 0.0) -> dict[str, Any] | None: ...

    def coordinator(self) -> Coordinator:
        """Leases and live sessions of the hosts not on Ray (see ``navigator/bus/lease.py``).

        Buses that cannot share them across processes get an in-process coordinator,
        which is right for every process-local bus.
        """
        if not hasattr(self, "_coordinator"):
            self._coordinator: Coordinator = MemoryCoordinator()
        return self._coordinator

    @abstractmethod
    def close(self) -> None:
        """Release connections and background threads."""
