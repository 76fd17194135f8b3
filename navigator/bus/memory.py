"""The in-process bus of the embedded default: no Redis, worker threads in the web process."""

from __future__ import annotations

import collections
import queue
import threading
from typing import Any

from navigator.bus.base import EventBus, Subscription
from navigator.bus.lease import Coordinator, MemoryCoordinator
from navigator.commands import Command
from navigator.events import Event, Payload


class _Stream:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.changed = threading.Condition()


class MemorySubscription(Subscription):
    """Takes every new event under one lock acquisition, then serves them from a local buffer."""

    def __init__(self, stream: _Stream, after_seq: int) -> None:
        self._stream = stream
        self._cursor = after_seq
        self._buffer: collections.deque[Event] = collections.deque()
        self._closed = False

    def get(self, timeout: float | None = None) -> Event | None:
        if self._buffer:
            return self._buffer.popleft()
        with self._stream.changed:
            if not self._stream.changed.wait_for(
                    lambda: self._closed or len(self._stream.events) > self._cursor, timeout):
                return None
            if self._closed:
                return None
            self._buffer.extend(self._stream.events[self._cursor:])
            self._cursor = len(self._stream.events)
        return self._buffer.popleft()

    def close(self) -> None:
        with self._stream.changed:
            self._closed = True
            self._stream.changed.notify_all()


class MemoryBus(EventBus):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[str, _Stream] = {}
        self._commands: dict[str, queue.Queue[Command]] = {}
        self._requests: queue.Queue[dict[str, Any]] = queue.Queue()
        self._coordinator: Coordinator = MemoryCoordinator(self._queued)

    def _stream(self, session: str) -> _Stream:
        with self._lock:
            return self._streams.setdefault(session, _Stream())

    def publish(self, session: str, payload: Payload) -> Event:
        stream = self._stream(session)
        with stream.changed:
            event = Event.of(session, payload)
            event.seq = len(stream.events) + 1
            stream.events.append(event)
            stream.changed.notify_all()
        return event

    def restore(self, events: list[Event]) -> int:
        """Put recorded events back, seqs as they were (after a restart of the embedded
        server, from its recording): those that continue their stream without a gap are
        taken; returns how many."""
        taken = 0
        for event in events:
            stream = self._stream(event.session)
            with stream.changed:
                if event.seq == len(stream.events) + 1:
                    stream.events.append(event)
                    taken += 1
                    stream.changed.notify_all()
        return taken

    def history(self, session: str, after_seq: int = 0) -> list[Event]:
        stream = self._stream(session)
        with stream.changed:
            return list(stream.events[max(after_seq, 0):])

    def subscribe(self, session: str, after_seq: int = 0) -> Subscription:
        return MemorySubscription(self._stream(session), max(after_seq, 0))

    def last_seq(self, session: str) -> int:
        stream = self._stream(session)
        with stream.changed:
            return len(stream.events)

    def sessions(self) -> list[str]:
        with self._lock:
            return [s for s, stream in self._streams.items() if stream.events]

    def _queue(self, session: str) -> queue.Queue[Command]:
        with self._lock:
            return self._commands.setdefault(session, queue.Queue())

    def send_command(self, command: Command) -> None:
        self._queue(command.session).put(command)

    def next_command(self, session: str, timeout: float = 0.0) -> Command | None:
        try:
            return self._queue(session).get(timeout=timeout) if timeout > 0 else \
                self._queue(session).get_nowait()
        except queue.Empty:
            return None

    def request_session(self, request: dict[str, Any]) -> None:
        self._requests.put(dict(request))

    def next_session_request(self, timeout: float = 0.0) -> dict[str, Any] | None:
        try:
            return self._requests.get(timeout=timeout) if timeout > 0 else \
                self._requests.get_nowait()
        except queue.Empty:
            return None

    def _queued(self) -> list[dict[str, Any]]:
        with self._requests.mutex:
            return [dict(r) for r in self._requests.queue]

    def close(self) -> None:
        with self._lock:
            streams = list(self._streams.values())
        for stream in streams:
            with stream.changed:
                stream.changed.notify_all()
