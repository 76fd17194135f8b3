"""The Redis bus of the lab server: web and worker processes meet only here.

Each session's events live in a Redis stream whose entry ids are ``<seq>-0``, so
"everything after seq n" is a plain ``XRANGE``/``XREAD`` from ``n-0``. A Lua
script assigns the seqs and appends atomically. The publisher remembers the last
seq it got per session and passes it to the script, which never lets the counter
fall below it: after a restart of a Redis without persistence the sequence
continues instead of starting again at 1.

Publishing runs at Redis's speed: ``publish`` only queues the event (its ``seq`` is
0 until written) and one writer thread sends everything queued so far as one
pipelined round trip, one script call per session. Each call carries a batch id the
script remembers, so a batch that is sent again after a lost reply is not appended
twice. When Redis is unreachable the queue simply waits, in order, and the writer
retries; so a worker keeps training through a Redis restart and no event is lost.
Reads in this process (``history``, ``last_seq``, ``sessions``) first wait, briefly,
for what it published to be written: a process always reads its own writes.

Reading runs at Redis's speed too: one reader thread per process reads every watched
session's stream in a single blocking ``XREAD`` and fans each out in memory, through a
:class:`~navigator.bus.feed.Feed`, to all of that session's subscribers.
"""

from __future__ import annotations

import collections
import itertools
import json
import threading
import time
import uuid
from typing import Any

import msgspec
import redis
from redis.typing import StreamEntry, XReadResponse

from navigator.bus.base import EventBus, Subscription
from navigator.bus.feed import READ_COUNT, Feed, FeedSubscription
from navigator.bus.lease import Coordinator, RedisCoordinator
from navigator.commands import Command, parse_command
from navigator.events import Event, Payload

PREFIX = "navigator"
# KEYS: seq, stream, sessions set, last batch; ARGV: batch id, floor, maxlen, session, bodies...
_APPEND = """
local last = redis.call('GET', KEYS[4])
if last then
  local id, done = string.match(last, '^(%S+) (%d+)$')
  if id == ARGV[1] then return tonumber(done) end
end
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[2])
if seq < floor then seq = floor end
for i = 5, #ARGV do
  seq = seq + 1
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], seq .. '-0', 'e', ARGV[i])
end
redis.call('SET', KEYS[1], seq)
redis.call('SET', KEYS[4], ARGV[1] .. ' ' .. seq)
redis.call('SADD', KEYS[3], ARGV[4])
return seq
"""
CONNECTION_ERRORS = (redis.ConnectionError, redis.TimeoutError, ConnectionError, OSError)
BATCH_MAX = 2_000  # events per round trip of the writer
SETTLE_S = 2.0  # how long a read waits for this process's own writes
BACKLOG_MAX = 20_000  # queued events beyond which a publisher waits for the writer
BACKLOG_WAIT_S = 1.0


_DECODER = msgspec.json.Decoder()


def _encode(event: Event) -> bytes | str:
    """The stored body; msgspec is several times faster than ``json`` both ways, which is
    what lets one web process read a stream at Redis's rate. What it cannot write (an
    integer beyond 64 bits) goes through ``json``; non-finite floats become null either way."""
    body = {"type": event.type, "data": event.data, "ts": event.ts}
    try:
        return msgspec.json.encode(body)
    except (msgspec.EncodeError, OverflowError, TypeError):
        return json.dumps(body)


def _decode(raw: bytes | str) -> Any:
    try:
        return _DECODER.decode(raw)
    except msgspec.DecodeError:  # written by json: an integer beyond 64 bits, NaN
        return json.loads(raw)


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
    data = _decode(raw)
    seq = int(_text(entry_id).split("-")[0])
    return Event(type=data["type"], session=session, data=data["data"], seq=seq, ts=data["ts"])


def _read_entries(reply: XReadResponse) -> list[StreamEntry]:
    """The entries of an XREAD reply; the client speaks RESP2, whose reply is [[stream, entries]]
    (the RESP3 dict form never reaches us)."""
    if not isinstance(reply, list):
        raise TypeError(f"XREAD answered a {type(reply).__name__}: the bus expects RESP2")
    return [entry for _stream, entries in reply for entry in entries]


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
        self._changed = threading.Condition()
        self._pending: collections.deque[Event] = collections.deque()  # queued, not yet written
        self._queued = 0  # events ever queued; _written of them are in Redis
        self._written = 0
        self._reachable = True  # the writer's last round trip succeeded
        self._last_seq: dict[str, int] = {}
        self._batch_ids = (f"{uuid.uuid4().hex[:12]}.{n}" for n in itertools.count())
        self._feeds: dict[str, Feed] = {}
        self._feeds_lock = threading.Lock()
        self._wake_key = f"{PREFIX}:wake:{uuid.uuid4().hex}"
        self._reader: threading.Thread | None = None  # started with the first subscription
        self._closed = False
        self._writer = threading.Thread(target=self._write_loop, name="redis-bus-writer",
                                        daemon=True)
        self._writer.start()

    # -- publishing ----------------------------------------------------------------
    def publish(self, session: str, payload: Payload) -> Event:
        """Queue the event for the writer. A publisher faster than Redis takes them waits
        (at most ``BACKLOG_WAIT_S`` per event) while more than ``BACKLOG_MAX`` are queued, so
        the queue and every reader's lag stay bounded; while Redis is unreachable nothing
        waits: the worker goes on and its events wait for Redis, in order."""
        event = Event.of(session, payload)
        with self._changed:
            if self._reachable and len(self._pending) >= BACKLOG_MAX:
                self._changed.wait_for(lambda: len(self._pending) < BACKLOG_MAX // 2
                                       or not self._reachable or self._closed, BACKLOG_WAIT_S)
            self._pending.append(event)
            self._queued += 1
            self._changed.notify_all()
        return event

    def _write_loop(self) -> None:
        batch: list[Event] = []
        batch_id = ""
        while True:
            with self._changed:
                if not batch:
                    self._changed.wait_for(lambda: self._pending or self._closed)
                    if not self._pending:
                        return
                    batch = list(itertools.islice(self._pending, BATCH_MAX))
                    batch_id = next(self._batch_ids)
            try:
                self._write(batch_id, batch)
            except CONNECTION_ERRORS:
                with self._changed:
                    self._reachable = False
                    self._changed.notify_all()
                    if self._closed:
                        return  # close() gave up on an unreachable Redis
                    self._changed.wait(0.2)
                continue  # the same batch, under the same id: never appended twice
            with self._changed:
                for _ in batch:
                    self._pending.popleft()
                self._written += len(batch)
                self._reachable = True
                self._changed.notify_all()
            batch = []

    def _write(self, batch_id: str, batch: list[Event]) -> None:
        """One round trip: a script call per session, each appending that session's events."""
        by_session: dict[str, list[Event]] = {}
        for event in batch:
            by_session.setdefault(event.session, []).append(event)
        pipe = self.client.pipeline(transaction=False)
        for session, events in by_session.items():
            seq_key, stream_key = _keys(session)
            bodies = [_encode(e) for e in events]
            self._append(keys=[seq_key, stream_key, f"{PREFIX}:sessions",
                               f"{PREFIX}:{session}:batch"],
                         args=[batch_id, self._last_seq.get(session, 0), self.maxlen, session,
                               *bodies], client=pipe)
        for (session, events), last in zip(by_session.items(), pipe.execute(), strict=True):
            first = int(last) - len(events) + 1
            for offset, event in enumerate(events):
                event.seq = first + offset
            self._last_seq[session] = int(last)

    def flush(self, timeout: float = SETTLE_S) -> bool:
        """Wait until everything published so far is in Redis; False if it is not by ``timeout``."""
        with self._changed:
            target = self._queued
            return self._changed.wait_for(lambda: self._written >= target, timeout)

    # -- reading ---------------------------------------------------------------------
    def _range(self, session: str, after_seq: int, upto_seq: int | None = None) -> list[Event]:
        out: list[Event] = []
        low, high = f"({max(after_seq, 0)}-0", "+" if upto_seq is None else f"{upto_seq}-0"
        while True:
            entries = self.client.xrange(_keys(session)[1], min=low, max=high, count=READ_COUNT)
            out.extend(_event_from_entry(session, entry) for entry in entries or [])
            if len(entries or []) < READ_COUNT:
                return out
            low = f"({out[-1].seq}-0"

    def _read_loop(self) -> None:
        """The process's one stream reader: every watched session's stream in one blocking
        XREAD, plus this bus's wake-up stream, written to when a new feed starts."""
        wake_cursor = "$"
        while not self._closed:
            with self._feeds_lock:
                feeds = {_keys(s)[1]: f for s, f in self._feeds.items()}
            streams = {key: f"{feed.cursor}-0" for key, feed in feeds.items()}
            streams[self._wake_key] = wake_cursor
            try:
                reply = self.reader.xread(streams, count=READ_COUNT, block=1000)  # type: ignore[arg-type]
                if wake_cursor == "$":
                    wake_cursor = "0-0"
            except CONNECTION_ERRORS:
                time.sleep(0.2)  # the cursors stay: nothing is skipped once Redis is back
                continue
            if not isinstance(reply, list):
                continue  # nil: the block timed out
            for stream, entries in reply:
                key = _text(stream)
                if key == self._wake_key:
                    wake_cursor = _text(entries[-1][0]) if entries else wake_cursor
                elif key in feeds:
                    session = feeds[key].session
                    feeds[key].append([_event_from_entry(session, e) for e in entries])

    def _wake(self) -> None:
        try:
            self.client.xadd(self._wake_key, {"w": 1}, maxlen=8, approximate=False)
            self.client.expire(self._wake_key, 3600)
        except CONNECTION_ERRORS:
            pass  # the reader retries by itself when Redis is back

    def history(self, session: str, after_seq: int = 0) -> list[Event]:
        self.flush()
        return self._range(session, after_seq)

    def subscribe(self, session: str, after_seq: int = 0) -> Subscription:
        after_seq = max(after_seq, 0)
        with self._feeds_lock:
            feed = self._feeds.get(session)
            started = feed is None
            if feed is None:
                feed = Feed(session, after_seq, span=lambda low, high: self._range(session, low,
                                                                                  high))
                self._feeds[session] = feed
            with feed.changed:
                feed.listeners += 1
            if self._reader is None:
                self._reader = threading.Thread(target=self._read_loop, name="redis-bus-reader",
                                                daemon=True)
                self._reader.start()
        if started:
            self._wake()
        return FeedSubscription(feed, after_seq, self._release)

    def _release(self, feed: Feed) -> None:
        with self._feeds_lock, feed.changed:
            feed.listeners -= 1
            if feed.listeners <= 0 and self._feeds.get(feed.session) is feed:
                del self._feeds[feed.session]  # the reader leaves it out from its next read

    def last_seq(self, session: str) -> int:
        self.flush()
        return int(self.client.get(_keys(session)[0]) or 0)

    def sessions(self) -> list[str]:
        self.flush()
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
        """Write what is still queued (for at most ``SETTLE_S`` when Redis is away), then let go."""
        self.flush()
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._writer.join(timeout=SETTLE_S)
        if self._reader is not None:
            self._reader.join(timeout=SETTLE_S)
        with self._feeds_lock:
            feeds = list(self._feeds.values())
            self._feeds.clear()
        for feed in feeds:
            with feed.changed:
                feed.listeners = 0
                feed.changed.notify_all()
        try:
            self.client.delete(self._wake_key)
        except CONNECTION_ERRORS:
            pass  # it expires on its own
        self.client.close()
        self.reader.close()
