"""One behavioural suite for both event buses (in-process and real Redis): per-session
seq without gaps, history + live subscriptions from any seq, command and session
request queues; plus a real Redis restart under a publishing worker."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from navigator.bus import EventBus, MemoryBus, make_bus
from navigator.bus.redis import RedisBus
from navigator.commands import parse_command
from navigator.events import Error, TrainProgressEvent
from tests.support.waiting import free_port


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def bus(request: pytest.FixtureRequest) -> Iterator[EventBus]:
    url = None if request.param == "memory" else request.getfixturevalue("redis_url")
    bus = make_bus(url)
    yield bus
    bus.close()


@pytest.fixture
def session() -> str:
    """A fresh session id, so that tests sharing one Redis database never see each other."""
    return f"t-{uuid.uuid4().hex[:12]}"


def err(i: int) -> Error:
    return Error(message=f"m{i}")


def messages(events: list) -> list[str]:
    return [e.data["message"] for e in events]


def test_seq_starts_at_one_and_is_per_session(bus: EventBus, session: str) -> None:
    other = session + "-b"
    sent = [bus.publish(session, err(i)) for i in range(3)] + [bus.publish(other, err(0))]
    assert bus.flush()  # the Redis bus writes in batches: seqs are known once written
    assert [e.seq for e in sent] == [1, 2, 3, 1]
    assert bus.last_seq(session) == 3 and bus.last_seq(other) == 1
    assert {session, other} <= set(bus.sessions())


def test_history_after_seq(bus: EventBus, session: str) -> None:
    for i in range(5):
        bus.publish(session, err(i))
    events = bus.history(session, after_seq=2)
    assert [e.seq for e in events] == [3, 4, 5]
    assert messages(events) == ["m2", "m3", "m4"]
    assert all(e.session == session and e.type == "error" for e in events)
    assert bus.history(session, after_seq=5) == []
    assert bus.history(session + "-none") == []


def test_events_survive_the_bus_intact(bus: EventBus, session: str) -> None:
    payload = TrainProgressEvent(epoch=1, epochs=2, step=3, steps_per_epoch=4, loss=0.123456789,
                                 accuracy=0.5, samples_per_s=1e3, eta_s=2.0, lr=0.01)
    sent = bus.publish(session, payload)
    (got,) = bus.history(session)  # a process reads its own writes: history waits for them
    assert got.to_dict() == sent.to_dict()
    assert got.payload() == payload


def test_subscribe_replays_then_goes_live_without_gaps(bus: EventBus, session: str) -> None:
    for i in range(5):
        bus.publish(session, err(i))
    sub = bus.subscribe(session, after_seq=2)

    def later() -> None:
        for i in range(5, 10):
            time.sleep(0.01)
            bus.publish(session, err(i))

    thread = threading.Thread(target=later)
    thread.start()
    got = []
    while len(got) < 8:
        event = sub.get(timeout=5)
        assert event is not None, f"stalled after {[e.seq for e in got]}"
        got.append(event)
    thread.join()
    assert [e.seq for e in got] == list(range(3, 11))
    assert messages(got) == [f"m{i}" for i in range(2, 10)]
    assert sub.get(timeout=0.05) is None
    sub.close()


def test_concurrent_publishers_get_unique_contiguous_seqs(bus: EventBus, session: str) -> None:
    subs = [bus.subscribe(session) for _ in range(3)]

    def publisher(tag: str) -> None:
        for i in range(40):
            bus.publish(session, Error(message=f"{tag}{i}"))

    threads = [threading.Thread(target=publisher, args=(t,)) for t in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    history = bus.history(session)
    assert [e.seq for e in history] == list(range(1, 161))
    for tag in "abcd":  # each publisher's own events keep their order
        mine = [m for m in messages(history) if m[0] == tag]
        assert mine == [f"{tag}{i}" for i in range(40)]
    for sub in subs:  # every subscriber sees the same sequence
        got = []
        while len(got) < 160:
            event = sub.get(timeout=5)
            assert event is not None
            got.append(event)
        assert [e.to_dict() for e in got] == [e.to_dict() for e in history]
        sub.close()


def test_get_times_out_and_close_ends_a_subscription(bus: EventBus, session: str) -> None:
    sub = bus.subscribe(session)
    start = time.monotonic()
    assert sub.get(timeout=0.2) is None
    assert 0.15 <= time.monotonic() - start < 2
    bus.publish(session, err(0))
    assert sub.drain(timeout=2)[0].seq == 1
    sub.close()
    bus.publish(session, err(1))
    assert sub.get(timeout=0.1) is None


def test_commands_are_fifo_per_session(bus: EventBus, session: str) -> None:
    other = session + "-b"
    assert bus.next_command(session) is None
    sent = [parse_command({"type": t, "session": session, "user": "ana", "id": f"c{i}"})
            for i, t in enumerate(["pause", "resume", "stop"])]
    for command in sent:
        bus.send_command(command)
    bus.send_command(parse_command({"type": "pause", "session": other}))
    got = [bus.next_command(session, timeout=1) for _ in range(3)]
    assert got == sent
    assert bus.next_command(session, timeout=0.1) is None
    assert bus.next_command(other).type == "pause"


def test_next_command_waits_for_a_late_command(bus: EventBus, session: str) -> None:
    command = parse_command({"type": "finetune", "session": session, "args": {"epochs": 2}})
    timer = threading.Timer(0.1, bus.send_command, args=(command,))
    timer.start()
    assert bus.next_command(session, timeout=3) == command
    timer.join()


def test_session_requests_travel_on_the_control_channel(bus: EventBus, session: str) -> None:
    while bus.next_session_request() is not None:  # leftovers of an earlier run
        pass
    requests = [{"session": session, "owner": "ana", "config": {"template": "tiny"}},
                {"session": session + "-2", "owner": "bo", "config": {}}]
    for request in requests:
        bus.request_session(request)
    assert [bus.next_session_request(timeout=1) for _ in requests] == requests
    assert bus.next_session_request(timeout=0.1) is None


def test_make_bus_picks_the_implementation() -> None:
    assert isinstance(make_bus(None), MemoryBus)
    assert isinstance(make_bus("memory://"), MemoryBus)
    with pytest.raises(ValueError, match="unsupported bus URL 'kafka://x'"):
        make_bus("kafka://x")


def test_unreachable_redis_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="cannot reach Redis at redis://127.0.0.1:1/0"):
        make_bus("redis://127.0.0.1:1/0")


# -- a real Redis restart --------------------------------------------------------------------


class OwnRedis:
    """A private redis-server on a loopback port, so killing it never disturbs the shared one."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.kill()


def pending(bus: EventBus) -> int:
    """Events the Redis bus holds back until Redis answers again."""
    assert isinstance(bus, RedisBus)
    return len(bus._pending)


@pytest.mark.redis
def test_redis_restart_loses_no_event(own_redis: OwnRedis, session: str) -> None:
    bus = make_bus(own_redis.url)
    sub = bus.subscribe(session)
    try:
        for i in range(5):
            bus.publish(session, err(i))
        assert [e.seq for e in sub.drain(timeout=2)] == [1, 2, 3, 4, 5]

        own_redis.kill()
        down = [bus.publish(session, err(i)) for i in range(5, 10)]  # a worker keeps going
        assert [e.seq for e in down] == [0] * 5  # buffered locally, seq not yet assigned
        assert pending(bus) == 5

        own_redis.start()
        deadline = time.monotonic() + 10
        while pending(bus) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pending(bus) == 0, "buffered events were not flushed after Redis came back"
        bus.publish(session, err(10))

        got = []
        while len(got) < 6:
            event = sub.get(timeout=5)
            assert event is not None, f"subscriber stalled after {[e.seq for e in got]}"
            got.append(event)
        assert [e.seq for e in got] == list(range(6, 12))
        assert messages(got) == [f"m{i}" for i in range(5, 11)]
        assert [e.seq for e in down] == list(range(6, 11))  # assigned on flush, in order
    finally:
        sub.close()
        bus.close()


@pytest.mark.redis
def test_a_batch_sent_again_after_a_lost_reply_is_not_appended_twice(redis_url: str,
                                                                      session: str) -> None:
    from navigator.events import Event

    bus = make_bus(redis_url)
    assert isinstance(bus, RedisBus)
    try:
        batch = [Event.of(session, err(i)) for i in range(3)]
        bus._write("retry-test.0", batch)
        bus._write("retry-test.0", batch)  # the reply was lost: the writer sends it again
        assert [e.seq for e in bus.history(session)] == [1, 2, 3]
        assert [e.seq for e in batch] == [1, 2, 3]
    finally:
        bus.close()


def test_late_subscribers_share_the_stream_and_catch_up_from_their_seq(bus: EventBus,
                                                                      session: str) -> None:
    early = bus.subscribe(session)
    for i in range(6):
        bus.publish(session, err(i))
    assert [e.seq for e in early.drain(timeout=2)][:1] == [1]
    late = bus.subscribe(session, after_seq=2)  # behind what the shared reader already has
    bus.publish(session, err(6))
    got: list = []
    while len(got) < 5:
        event = late.get(timeout=5)
        assert event is not None, f"stalled after {[e.seq for e in got]}"
        got.append(event)
    assert [e.seq for e in got] == [3, 4, 5, 6, 7]
    early.close()
    late.close()
