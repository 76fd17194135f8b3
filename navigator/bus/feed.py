"""One reader per session stream and web process, fanned out to its subscribers in memory.

A web process watches a session from several places at once (the hub's relay, the
recorder, the study service; a benchmark's eight subscribers): reading the stream once
and handing every reader the same parsed events keeps the Redis traffic and the JSON
decoding at one stream's worth, whatever the number of watchers.

The feed keeps a bounded log of what it read. A subscriber holds only its cursor (the
last seq it returned); it takes what follows from the log, and whatever the log no
longer (or not yet) holds, from Redis with ``XRANGE``: a late, slow or reconnecting
reader still gets every event after its ``after_seq`` exactly once, in order.
"""

from __future__ import annotations

import bisect
import collections
import threading
import time
from collections.abc import Callable

from navigator.bus.base import Subscription
from navigator.events import Event

LOG_MAX = 20_000  # events a feed keeps for its subscribers; older ones come from Redis
READ_COUNT = 2_000  # entries per XREAD / XRANGE reply
Ranger = Callable[[int, int | None], list[Event]]  # (after_seq, upto_seq or None) -> events


class Feed:
    """The stream of one session as this process reads it, while anyone listens.

    The bus's one reader thread reads every feed's stream in a single blocking ``XREAD``
    and appends what comes to the feed (:meth:`append`)."""

    def __init__(self, session: str, after_seq: int, span: Ranger) -> None:
        self.session = session
        self.cursor = after_seq  # the last seq read from Redis
        self.changed = threading.Condition()
        self.seqs: list[int] = []
        self.events: list[Event] = []
        self.listeners = 0
        self.span = span

    def append(self, fresh: list[Event]) -> None:
        with self.changed:
            fresh = [e for e in fresh if e.seq > self.cursor]
            self.events.extend(fresh)
            self.seqs.extend(e.seq for e in fresh)
            if fresh:
                self.cursor = fresh[-1].seq
            if len(self.events) > LOG_MAX:
                drop = len(self.events) - LOG_MAX // 2
                del self.events[:drop], self.seqs[:drop]
            self.changed.notify_all()

    def after(self, cursor: int) -> tuple[list[Event], int]:
        """(events after ``cursor`` held in the log, first seq the log holds; caller has the lock)."""
        start = bisect.bisect_right(self.seqs, cursor)
        return self.events[start:], (self.seqs[0] if self.seqs else self.cursor + 1)


class FeedSubscription(Subscription):
    def __init__(self, feed: Feed, after_seq: int, release: Callable[[Feed], None]) -> None:
        self._feed = feed
        self._cursor = after_seq
        self._buffer: collections.deque[Event] = collections.deque()
        self._closed = False
        self._release = release

    def _take(self) -> bool:
        """Move what follows the cursor into the buffer; False when there is nothing yet."""
        feed = self._feed
        with feed.changed:
            if feed.cursor <= self._cursor:
                return False
            logged, first = feed.after(self._cursor)
        missing: list[Event] = []
        if first > self._cursor + 1:  # before the log: read it from Redis
            try:
                missing = feed.span(self._cursor, first - 1)
            except Exception:  # noqa: BLE001 - Redis away: retried on the next get
                time.sleep(0.2)
                return False
            if not missing:  # trimmed off the stream (or lost with Redis): nothing to wait for
                self._cursor = first - 1
        for event in missing + logged:
            if event.seq > self._cursor:
                self._buffer.append(event)
                self._cursor = event.seq
        return bool(self._buffer)

    def _ask_redis(self) -> bool:
        """What Redis holds after the cursor that the reader has not brought yet: a caller
        that will not wait (``get(0)``) gets everything written so far, as it would from
        Redis itself."""
        try:
            fresh = self._feed.span(self._cursor, None)
        except Exception:  # noqa: BLE001 - Redis away: nothing new, the caller asks again
            return False
        for event in fresh:
            if event.seq > self._cursor:
                self._buffer.append(event)
                self._cursor = event.seq
        return bool(self._buffer)

    def get(self, timeout: float | None = None) -> Event | None:
        if self._buffer:
            return self._buffer.popleft()
        deadline = None if timeout is None else time.monotonic() + timeout
        feed = self._feed
        while not self._closed:
            if self._take() or (timeout == 0 and self._ask_redis()):
                return self._buffer.popleft()
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            with feed.changed:
                feed.changed.wait_for(lambda: self._closed or feed.cursor > self._cursor,
                                      1.0 if remaining is None else min(remaining, 1.0))
        return None

    def drain(self, timeout: float = 0.0) -> list[Event]:
        """Everything available now, without asking Redis again after the first event."""
        first = self.get(timeout)
        if first is None:
            return []
        self._take()
        out = [first, *self._buffer]
        self._buffer.clear()
        return out

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._release(self._feed)
