"""navigator/server.py and navigator/hub.py over a real socket: a live server on a free port,
python-socketio clients."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import socketio

from tests.support.synthetic import LiveServer, SyntheticSession


class Client:
    """A python-socketio client that records what the server sends it."""

    def __init__(self, url: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("events", self._on("events"))
        self.sio.on("command_error", self._on("errors"))
        self.sio.on("command_sent", self._on("sent"))
        self.sio.connect(url, transports=["polling"], wait_timeout=10)

    def _on(self, name: str) -> Callable[[Any], None]:
        def handler(data: Any) -> None:
            with self.changed:
                target = getattr(self, name)
                target.extend(data) if isinstance(data, list) else target.append(data)
                self.changed.notify_all()
        return handler

    def wait(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout), "timed out waiting for the server"

    def seqs(self, session: str) -> list[int]:
        return [e["seq"] for e in self.events if e["session"] == session]

    def close(self) -> None:
        self.sio.disconnect()


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer() as srv:
        yield srv


@pytest.fixture
def client(server: LiveServer) -> Iterator[Client]:
    c = Client(server.url)
    yield c
    c.close()


def _session(server: LiveServer, name: str, n: int = 5) -> SyntheticSession:
    s = SyntheticSession(server.bus, name)
    s.publish_start()
    s.publish_candidates(n)
    return s


def test_join_sends_history_then_live_events_without_gaps(server: LiveServer, client: Client) -> None:
    s = _session(server, "join-all")
    last = server.bus.last_seq("join-all")
    client.sio.emit("join", {"session": "join-all", "after_seq": 0})
    client.wait(lambda: len(client.seqs("join-all")) >= last)
    s.publish_candidates(3)
    for step in range(1, 6):
        s.publish_progress(0, step)
    total = server.bus.last_seq("join-all")
    client.wait(lambda: client.seqs("join-all")[-1:] == [total])
    time.sleep(0.4)  # nothing more may arrive: no duplicates from the history/live overlap
    assert client.seqs("join-all") == list(range(1, total + 1))
    event = client.events[0]
    assert set(event) == {"schema", "type", "session", "seq", "ts", "data"}
    assert event["schema"] == 1 and event["type"] == "session_state"


def test_rejoin_after_seq_gets_only_what_was_missed(server: LiveServer, client: Client) -> None:
    s = _session(server, "rejoin")
    client.sio.emit("join", {"session": "rejoin", "after_seq": 0})
    seen = server.bus.last_seq("rejoin")
    client.wait(lambda: len(client.seqs("rejoin")) >= seen)
    client.close()
    s.publish_candidates(4)  # published while nobody listens
    late = Client(server.url)
    try:
        late.sio.emit("join", {"session": "rejoin", "after_seq": seen})
        total = server.bus.last_seq("rejoin")
        late.wait(lambda: late.seqs("rejoin")[-1:] == [total])
        time.sleep(0.3)
        assert late.seqs("rejoin") == list(range(seen + 1, total + 1))
        assert any(e["type"] == "candidates" for e in late.events)
    finally:
        late.close()


def test_rooms_keep_sessions_apart(server: LiveServer, client: Client) -> None:
    _session(server, "room-a")
    other = _session(server, "room-b")
    client.sio.emit("join", {"session": "room-a", "after_seq": 0})
    client.wait(lambda: len(client.seqs("room-a")) >= server.bus.last_seq("room-a"))
    other.publish_candidates(2)
    time.sleep(0.5)
    assert {e["session"] for e in client.events} == {"room-a"}


@pytest.mark.parametrize("message, reason", [
    ("not an object", "must be a JSON object, got str"),
    ([1, 2, 3], "must be a JSON object, got list"),
    (42, "must be a JSON object, got int"),
    (None, "exactly one JSON object, got 0 arguments"),  # python-socketio sends no argument
    ({"type": "explode", "session": "x"}, "unknown command type 'explode'"),
    ({"type": "prune_op", "session": "x", "args": {"choice_point": "1<-0"}}, "missing argument 'op'"),
    ({"type": "finetune", "session": "x", "args": {"epochs": "three"}}, "argument 'epochs' must be"),
    ({"type": "focus", "session": "x", "args": {"archs": []}}, "non-empty list"),
    ({"type": "pause", "session": "x", "args": {"now": True}}, "unknown argument(s) ['now']"),
    ({"type": "pause"}, "'session' must be a non-empty session id"),
    ({"type": "pause", "session": "x", "args": "fast"}, "'args' must be an object"),
])
def test_malformed_command_gets_command_error_with_reason(server: LiveServer, client: Client,
                                                          message: Any, reason: str) -> None:
    client.sio.emit("command", message)
    client.wait(lambda: len(client.errors) == 1)
    assert reason in client.errors[0]["reason"]
    assert server.bus.next_command("x") is None  # nothing reached a worker


def test_malformed_join_gets_command_error(client: Client) -> None:
    for message, reason in ((["s"], "join needs"), ({"session": "s", "after_seq": -1}, "non-negative"),
                            ({"session": "s", "after_seq": "3"}, "non-negative")):
        client.errors.clear()
        client.sio.emit("join", message)
        client.wait(lambda: len(client.errors) == 1)
        assert reason in client.errors[0]["reason"]


def test_valid_command_is_forwarded_to_the_bus(server: LiveServer, client: Client) -> None:
    _session(server, "fwd", 1)  # commands reach only sessions that exist
    client.sio.emit("command", {"type": "prune_op", "session": "fwd", "id": "c-1", "user": "mallory",
                                "args": {"choice_point": "1<-0", "op": "none"}})
    client.wait(lambda: len(client.sent) == 1)
    assert client.sent[0] == {"id": "c-1", "type": "prune_op"}
    command = server.bus.next_command("fwd", timeout=2)
    assert command is not None and command.args == {"choice_point": "1<-0", "op": "none"}
    assert command.user == server.hub.user  # the server, not the client, says who sent it


def test_server_survives_garbage_and_keeps_serving(server: LiveServer, client: Client) -> None:
    # Raw engine.io/socket.io frames that no well-behaved client sends: broken JSON, an event
    # without a name, two arguments to 'command'.
    sid = client.sio.eio.sid
    url = f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}"
    for frame in ('42["command", {"type": ', "42[]", '42["command", {"type": "pause"}, 7]'):
        requests.post(url, data=frame.encode(), timeout=5)
    time.sleep(0.3)
    fresh = Client(server.url)
    try:
        fresh.sio.emit("command", "still there?")
        fresh.wait(lambda: len(fresh.errors) == 1)
        _session(server, "after-garbage", 2)
        fresh.sio.emit("join", {"session": "after-garbage", "after_seq": 0})
        fresh.wait(lambda: len(fresh.seqs("after-garbage")) == server.bus.last_seq("after-garbage"))
    finally:
        fresh.close()
    assert requests.get(server.url + "/", timeout=5).status_code == 200


def test_progress_is_batched_but_candidates_are_relayed_at_once(server: LiveServer) -> None:
    s = _session(server, "pace", 2)
    batches: list[tuple[float, list[dict]]] = []
    sio = socketio.Client(reconnection=False)
    sio.on("events", lambda data: batches.append((time.monotonic(), data)))
    sio.connect(server.url, transports=["polling"], wait_timeout=10)
    try:
        sio.emit("join", {"session": "pace", "after_seq": 0})
        time.sleep(0.5)
        batches.clear()
        t0, ticks = time.monotonic(), 0
        while time.monotonic() - t0 < 1.0:  # up to 100 progress ticks a second
            s.publish_progress(0, 1)
            ticks += 1
            time.sleep(0.01)
        time.sleep(server.hub.batch_interval_s + 0.1)
        progress_batches = len(batches)
        assert ticks >= 30
        assert sum(len(b) for _, b in batches) == ticks  # every tick arrives, in few batches
        assert progress_batches <= 1.0 / server.hub.batch_interval_s + 3
        delays = []
        for _ in range(5):
            batches.clear()
            published = time.monotonic()
            s.publish_candidates(3)  # candidates + fitness + leaderboard: one coalesced batch
            deadline = published + 3
            while not any(e["type"] == "candidates" for _, b in batches for e in b):
                assert time.monotonic() < deadline
                time.sleep(0.002)
            delays.append(batches[0][0] - published)
            assert [e["type"] for e in batches[0][1]] == ["candidates", "fitness", "leaderboard"]
            time.sleep(0.05)
        assert sorted(delays)[2] < 0.15, delays
    finally:
        sio.disconnect()
