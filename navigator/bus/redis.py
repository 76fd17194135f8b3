"""The Redis bus of the lab server: web and worker processes meet only here.

Each session's events live in a Redis stream whose entry ids are ``<seq>-0``, so
"everything after seq n" is a plain ``XRANGE``/``XREAD`` from ``n-0``. A Lua
script assigns the seq and appends atomically. The publisher remembers the last
seq it got per session and passes it to the script, which never lets the counter
fall below it: after a restart of a Redis without persistence the sequence
continues instead of starting again at 1.

When Redis is unreachable, ``publish`` keeps the event in a local buffer and
returns it with ``seq = 0``; the buffer is flushed, in order, by the next publish
or by a background retry thread as soon as Redis answers again. Readers retry
with back-off. So a worker keeps training through a Redis restart and no event
is lost.
"""

from __future__ import annotations

import collections
import contextlib
import json
import threading
import time
from typing import Any

import redis
from redis.typing import StreamEntry, XReadResponse

from navigator.bus.base import EventBus, Subscription
from navigator.bus.lease import Coordinator, RedisCoordinator
from navigator.commands import Command, parse_command
from navigator.events import Event, Payload

PREFIX = "navigator"
_APPEND = """
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[2])
if seq < floor then seq = floor end
seq = seq + 1
redis.call('SET', KEYS[1], seq)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], seq .. '-0', 'e', ARGV[1])
redis.call('SADD', KEYS[3], ARGV[4])
return seq
"""
CONNECTION_ERRORS = (redis.ConnectionError, redis.TimeoutError, ConnectionError, OSError)


def _keys(session: str) -> tuple[str, str]:
    return f"{PREFIX}:{session}:seq", f"{PREFIX}:{session}:events"


def _text(value: bytes | str) -> str:
    """The client does not decode replies, yet redis-py types every value as bytes or str."""
    return value.decode() if isinstance(value, bytes) else value


def _event_from_entry(session: str, entry: StreamEntry) -> Event:
    entry_id, fields = entry
    raw = None if fields is None else fields.get(b"e", fields.get("e"))
    if entry_id is None or raw is None:
        raise ValueError(f"stream entry {entry_id!r} of session {session!r} holds no event")
    data = json.loads(raw)
    seq = int(_text(entry_id).split("-")[0])
    return Event(type=data["type"], session=session, data=data["data"], seq=seq, ts=data["ts"])


def _read_entries(reply: XReadResponse) -> list[StreamEntry]:
    """The entries of an XREAD reply; the client speaks RESP2, whose reply is [[stream, entries]]
    (the RESP3 dict form never reaches us)."""
    if not isinstance(reply, list):
        raise TypeError(f"XREAD answered a {type(reply).__name__}: the bus expects RESP2")
    return [entry for _stream, entries in reply for entry in entries]


class RedisSubscription(Subscription):
    def __init__(self, bus: RedisBus, session: str, after_seq: int) -> None:
        self._bus = bus
        self._session = session
        self._cursor = after_seq
        self._buffer: collections.deque[Event] = collections.deque()
        self._closed = False

    def get(self, timeout: float | None = None) -> Event | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._buffer and not self._closed:
            remaining = 1.0 if deadline is None else deadline - time.monotonic()
            block_ms = int(min(remaining, 1.0) * 1000) if remaining > 0.001 else None
            try:
                reply = self._bus.reader.xread({_keys(self._session)[1]: f"{self._cursor}-0"},
                                               count=500, block=block_ms)
            except CONNECTION_ERRORS:
                if block_ms is None:
                    return None
                time.sleep(min(0.2, remaining))
                continue
            for entry in _read_entries(reply or []):
                event = _event_from_entry(self._session, entry)
                if event.seq > self._cursor:
                    self._buffer.append(event)
                    self._cursor = event.seq
            if not self._buffer and block_ms is None:
                return None
        return self._buffer.popleft() if self._buffer else None

    def close(self) -> None:
        self._closed = True


class RedisBus(EventBus):
    def __init__(self, url: str, maxlen: int = 1_000_000) -> None:
        self.url = url
        self.maxlen = maxlen
        options = {"socket_connect_timeout": 1.0, "health_check_interval": 5}
        self.client = redis.Redis.from_url(url, socket_timeout=2.0, **options)
        self.reader = redis.Redis.from_url(url, socket_timeout=5.0, **options)
        try:
            self.client.ping()
        except CONNECTION_ERRORS as exc:
            raise ValueError(f"cannot reach Redis at {url}: {exc}") from None
        self._append = self.client.register_script(_APPEND)
        self._coordinator: Coordinator = RedisCoordinator(self.client, url)
        self._lock = threading.Lock()
        self._pending: collections.deque[tuple[str, Event]] = collections.deque()
        self._last_seq: dict[str, int] = {}
        self._closed = threading.Event()
        self._retry = threading.Thread(target=self._retry_loop, name="redis-bus-retry",
                                       daemon=True)
        self._retry.start()

    # -- events ------------------------------------------------------------------
    def _append_now(self, session: str, event: Event) -> int:
        seq_key, stream_key = _keys(session)
        body = json.dumps({"type": event.type, "data": event.data, "ts": event.ts})
        seq = int(self._append(keys=[seq_key, stream_key, f"{PREFIX}:sessions"],
                               args=[body, self._last_seq.get(session, 0), self.maxlen, session]))
        self._last_seq[session] = seq
        return seq

    def _flush(self) -> None:
        """Send buffered events in order; stops at the first failure (caller holds the lock),
        leaving the rest buffered for the next publish or the retry thread."""
        with contextlib.suppress(*CONNECTION_ERRORS):
            while self._pending:
                session, event = self._pending[0]
                event.seq = self._append_now(session, event)
                self._pending.popleft()

    def publish(self, session: str, payload: Payload) -> Event:
        event = Event.of(session, payload)
        with self._lock:
            self._pending.append((session, event))
            self._flush()
        return event

    def _retry_loop(self) -> None:
        while not self._closed.wait(0.2):
            if self._pending:
                with self._lock:
                    self._flush()

    def history(self, session: str, after_seq: int = 0) -> list[Event]:
        entries = self.client.xrange(_keys(session)[1], min=f"({max(after_seq, 0)}-0")
        return [_event_from_entry(session, entry) for entry in entries or []]

    def subscribe(self, session: str, after_seq: int = 0) -> Subscription:
        return RedisSubscription(self, session, max(after_seq, 0))

    def last_seq(self, session: str) -> int:
        return int(self.client.get(_keys(session)[0]) or 0)

    def sessions(self) -> list[str]:
        return sorted(_text(s) for s in self.client.smembers(f"{PREFIX}:sessions"))

    # -- commands and session requests ---------------------------------------------
    def send_command(self, command: Command) -> None:
        self.client.rpush(f"{PREFIX}:{command.session}:commands", json.dumps(command.to_dict()))

    def _pop(self, key: str, timeout: float) -> bytes | str | None:
        """The head of a list, waiting up to ``timeout`` s (0: not at all); None when the list
        stays empty or Redis is unreachable (after a short pause, so callers can loop)."""
        try:
            if timeout > 0:
                reply = self.reader.blpop([key], timeout=max(timeout, 0.01))
                return reply[1] if reply else None
            raw = self.client.lpop(key)
        except CONNECTION_ERRORS:
            time.sleep(min(timeout, 0.2))
            return None
        # Without a count LPOP answers one value or nil, never the list its typing allows.
        return raw if isinstance(raw, (bytes, str)) else None

    def next_command(self, session: str, timeout: float = 0.0) -> Command | None:
        raw = self._pop(f"{PREFIX}:{session}:commands", timeout)
        return parse_command(json.loads(raw)) if raw else None

    def request_session(self, request: dict[str, Any]) -> None:
        self.client.rpush(f"{PREFIX}:requests", json.dumps(request))

    def next_session_request(self, timeout: float = 0.0) -> dict[str, Any] | None:
        raw = self._pop(f"{PREFIX}:requests", timeout)
        return json.loads(raw) if raw else None

    def close(self) -> None:
        self._closed.set()
        self._retry.join(timeout=2)
        with self._lock:
            self._flush()
        self.client.close()
        self.reader.close()
