"""The lab server: leases and takeover, queue positions, per-user quotas, and the whole set-up
(one web process, two worker processes, real Redis, socket clients) with a worker killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from navigator.bus import EventBus, MemoryBus, make_bus
from navigator.bus.lease import MemoryCoordinator, SessionLease
from navigator.lab import QueueMonitor, check_quota
from navigator.recording import RecordingStore
from navigator.worker import WorkerOptions
from navigator.worker_host import WorkerHost
from tests.support.login import post_login

ROOT = Path(__file__).resolve().parents[2]
LAB = {"template": "tiny", "dataset": "digits", "data_limit": 200, "seed": 0,
       "train": {"epochs": 60, "batch_size": 32, "device": "cpu"},
       "search": {"population": 4, "parents": 2},
       "eval": {"bn_batches": 1, "bn_batch_size": 32, "val_limit": 64},
       "measure_latency": False}


def options(tmp_path: Path) -> WorkerOptions:
    return WorkerOptions(checkpoint_dir=tmp_path / "checkpoints", chunk_steps=2,
                         extra_generations=1, progress_interval_s=0.0, umap=False)


def until(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def states(bus: EventBus, session: str) -> list[str]:
    return [f"{e.data['state']}: {e.data['message']}" for e in bus.history(session)
            if e.type == "session_state"]


# -- leases --------------------------------------------------------------------------------------

@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def bus(request: pytest.FixtureRequest) -> Iterator[EventBus]:
    b = make_bus(request.getfixturevalue("redis_url")) if request.param == "redis" else MemoryBus()
    yield b
    b.close()


def test_a_lease_is_held_by_one_worker_and_an_expired_one_can_be_taken_over(bus: EventBus) -> None:
    coord = bus.coordinator()
    session = f"lease-{uuid.uuid4().hex[:8]}"
    entry = {"session": session, "owner": "ana", "config": {}, "worker": "w1"}
    assert coord.claim(session, "w1", 0.5, entry) is True
    assert coord.claim(session, "w2", 0.5, entry | {"worker": "w2"}) is False
    assert coord.holder(session) == "w1" and coord.live()[session]["worker"] == "w1"
    assert coord.renew(session, "w1", 0.5) and not coord.renew(session, "w2", 0.5)
    with coord.queue_lock() as locked:  # the queue monitor publishing: claims must wait
        assert locked and coord.claim(f"{session}-x", "w2", 0.5, entry) is None
    time.sleep(0.6)  # w1 died: its lease lapses, the live entry stays for a takeover
    assert coord.holder(session) is None and session in coord.live()
    assert coord.claim(session, "w2", 5, entry | {"worker": "w2"}, takeover=True) is True
    assert not coord.renew(session, "w1", 0.5)  # the old owner learns it lost the session
    coord.unregister(session)
    coord.release(session, "w2")
    assert coord.claim(session, "w3", 5, entry, takeover=True) is False  # stopped: not resumed
    coord.announce("w9", {"max_sessions": 2, "busy": 1}, ttl_s=0.3)
    assert coord.workers()["w9"]["busy"] == 1
    time.sleep(0.4)
    assert "w9" not in coord.workers()
    if coord.shared:  # the hint names the Redis server, never a password
        assert coord.worker_hint().startswith("start one with `navigator worker --redis redis://")


def test_a_worker_whose_lease_was_taken_stops_without_a_checkpoint(tmp_path: Path) -> None:
    bus = MemoryBus()
    host = WorkerHost(bus, options(tmp_path), max_sessions=1, worker_id="w1", lease_ttl_s=0.6)
    worker = host.start_session({"session": "zombie", "owner": "ana",
                                 "config": LAB | {"train": LAB["train"] | {"epochs": 200}}})
    assert worker is not None and worker.lease is not None
    until(lambda: any(e.type == "checkpoint" for e in bus.history("zombie")), what="a checkpoint")
    coord = bus.coordinator()
    assert isinstance(coord, MemoryCoordinator)
    with coord._lock:  # another worker took the session over while this one was stalled
        coord._leases["zombie"] = ("w2", time.monotonic() + 60)
    _, thread = host.workers["zombie"]
    thread.join(10)
    assert not thread.is_alive() and worker.lost
    checkpoints = len([e for e in bus.history("zombie") if e.type == "checkpoint"])
    time.sleep(0.3)
    assert len([e for e in bus.history("zombie") if e.type == "checkpoint"]) == checkpoints
    assert not any(s.startswith("stopped") for s in states(bus, "zombie"))
    assert "zombie" in coord.live() and coord.holder("zombie") == "w2"  # still the new owner's
    before = bus.last_seq("zombie")
    worker._generation()  # an evaluation still in flight when the lease went
    worker._set_state("running", "too late")
    assert bus.last_seq("zombie") == before  # the new owner alone publishes


def test_session_lease_reports_a_loss_once() -> None:
    coord = MemoryCoordinator()
    lost: list[bool] = []
    assert coord.claim("s", "w1", 0.3, {"session": "s"})
    lease = SessionLease(coord, "s", "w1", ttl_s=0.3, on_lost=lambda: lost.append(True)).start()
    time.sleep(0.35)
    assert coord.holder("s") == "w1"  # renewed past its first expiry
    with coord._lock:
        coord._leases["s"] = ("w2", time.monotonic() + 60)
    until(lambda: lost, timeout=2, what="the loss")
    lease.release()
    assert lost == [True] and coord.holder("s") == "w2"  # releasing a lost lease frees nothing


# -- queue and quota ---------------------------------------------------------------------------

def test_queue_monitor_says_no_worker_then_positions_as_the_queue_moves() -> None:
    bus = MemoryBus()
    monitor = QueueMonitor(bus, grace_s=0.0)
    for name in ("q1", "q2"):
        bus.request_session({"session": name, "owner": "ana", "config": {}})
    monitor.tick()
    assert states(bus, "q1") == ["queued: no worker is running: start `navigator serve` with "
                                 "--embedded-workers 1 (or more)"]
    bus.coordinator().announce("w1", {"max_sessions": 1, "busy": 1}, ttl_s=30)
    monitor.tick()
    monitor.tick()  # unchanged: nothing new is published
    busy = "all workers busy (1 of 1 session slots in use on 1 worker)"
    assert states(bus, "q1")[1:] == [f"queued: position 1 of 2, {busy}"]
    assert states(bus, "q2")[1:] == [f"queued: position 2 of 2, {busy}"]
    assert bus.next_session_request()["session"] == "q1"
    monitor.tick()
    assert states(bus, "q2")[-1] == f"queued: position 1 of 1, {busy}"
    assert len(states(bus, "q1")) == 2  # taken: no more queue messages for it


def test_embedded_busy_worker_queues_the_next_session_with_its_position(tmp_path: Path) -> None:
    bus = MemoryBus()
    host = WorkerHost(bus, options(tmp_path), max_sessions=1, lease_ttl_s=1.5).start()
    monitor = QueueMonitor(bus, interval_s=0.1, grace_s=0.3).start()
    try:
        long = LAB | {"train": LAB["train"] | {"epochs": 200}}
        bus.request_session({"session": "first", "owner": "ana", "config": long})
        until(lambda: "first" in host.workers, what="the first session to start")
        bus.request_session({"session": "second", "owner": "bo", "config": LAB})
        until(lambda: any("position 1 of 1, all workers busy (1 of 1" in s
                          for s in states(bus, "second")), what="the queue position")
        host.workers["first"][0].stopped = True
        until(lambda: any(s.startswith("running") for s in states(bus, "second")),
              what="the queued session to start")
        assert states(bus, "first")[-1] == "stopped: stopped by the analyst"
        assert "first" not in bus.coordinator().live()  # stopped: never resumed elsewhere
    finally:
        monitor.stop()
        host.stop()


def test_quota_counts_queued_running_and_paused_sessions_per_user() -> None:
    bus = MemoryBus()
    coord = bus.coordinator()
    bus.request_session({"session": "b1", "owner": "bob", "config": {}})
    coord.claim("b2", "w1", 30, {"session": "b2", "owner": "bob", "config": {}})  # running
    with pytest.raises(ValueError, match=r"bob already runs 2 sessions \(limit 2\): stop one first"):
        check_quota(bus, "bob", 2)
    check_quota(bus, "alice", 2)
    check_quota(bus, "bob", 0)  # 0 = no limit
    coord.unregister("b2")  # stopped
    check_quota(bus, "bob", 2)


def test_live_hub_refuses_a_session_over_the_quota() -> None:
    from types import SimpleNamespace

    from navigator.hub import LiveHub

    bus = MemoryBus()
    hub = LiveHub(bus, SimpleNamespace(emit=lambda *a, **k: None))  # type: ignore[arg-type]
    hub.max_sessions_per_user = 1
    try:
        first = hub.start_session({"template": "tiny"}, owner="bob")
        with pytest.raises(ValueError, match=f"bob already runs 1 session \\(limit 1\\): stop one "
                                             f"first \\({first}\\)"):
            hub.start_session({"template": "tiny"}, owner="bob")
        hub.start_session({"template": "tiny"}, owner="alice")
    finally:
        hub.close()


def test_quick_starts_at_once_cannot_pass_the_quota_together() -> None:
    from types import SimpleNamespace

    from navigator.hub import LiveHub

    hub = LiveHub(MemoryBus(), SimpleNamespace(emit=lambda *a, **k: None))  # type: ignore[arg-type]
    hub.max_sessions_per_user = 1
    barrier, started, refused = threading.Barrier(8), [], []

    def start() -> None:
        barrier.wait()
        try:
            started.append(hub.start_session({"template": "tiny"}, owner="dan"))
        except ValueError as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=start) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(started) == 1 and len(refused) == 7
    finally:
        hub.close()


# -- the whole lab set-up over real processes ---------------------------------------------------

PASSWORDS = {"alice": "alice-password", "bob": "bob-password", "carol": "carol-password"}


class LabClient:
    """A logged-in python-socketio client recording what the server sends it."""

    def __init__(self, url: str, user: str) -> None:
        http = requests.Session()
        reply = post_login(http, url, user, PASSWORDS[user])  # with the form's CSRF token
        assert reply.status_code in (302, 303), reply.text[:300]
        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        self.events: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.started: list[str] = []
        self.changed = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("events", self._events)
        self.sio.on("command_error", lambda d: self._add(self.errors, d["reason"]))
        self.sio.on("session_started", lambda d: self._add(self.started, d["session"]))
        self.sio.connect(url, headers={"Cookie": cookie}, transports=["polling"], wait_timeout=10)

    def _events(self, batch: list[dict[str, Any]]) -> None:
        with self.changed:
            self.events.extend(batch)
            self.changed.notify_all()

    def _add(self, target: list[str], value: str) -> None:
        with self.changed:
            target.append(value)
            self.changed.notify_all()

    def wait(self, predicate: Callable[[], Any], timeout: float, what: str) -> None:
        with self.changed:
            if not self.changed.wait_for(predicate, timeout):
                pytest.fail(f"timed out after {timeout} s waiting for {what}; errors: "
                            f"{self.errors}; last events: {[e['type'] for e in self.events[-5:]]}")

    def start(self, config: dict[str, Any]) -> str:
        before = len(self.started)
        self.sio.emit("start", {"config": config})
        self.wait(lambda: len(self.started) > before or self.errors, 30, "session_started")
        assert not self.errors, self.errors
        session = self.started[-1]
        self.sio.emit("join", {"session": session, "after_seq": 0})
        return session

    def of(self, session: str, kind: str | None = None) -> list[dict[str, Any]]:
        with self.changed:
            return [e for e in self.events if e["session"] == session
                    and (kind is None or e["type"] == kind)]

    def command(self, session: str, kind: str, **args: Any) -> str:
        command_id = uuid.uuid4().hex
        self.sio.emit("command", {"type": kind, "session": session, "id": command_id,
                                  "args": args})
        return command_id

    def close(self) -> None:
        self.sio.disconnect()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _resumed(e: dict[str, Any]) -> bool:
    return e["type"] == "session_state" and "resumed from checkpoint" in e["data"]["message"]


@pytest.mark.slow
@pytest.mark.redis
def test_two_workers_two_users_a_watcher_and_a_killed_worker(tmp_path: Path, redis_url: str) -> None:
    import redis
    from werkzeug.security import generate_password_hash

    redis.Redis.from_url(redis_url).flushdb()
    users = ",".join(f"{u}:{generate_password_hash(p, method='pbkdf2:sha256:1000')}"
                     for u, p in PASSWORDS.items())
    env = {k: v for k, v in os.environ.items() if k != "NAVIGATOR_SECRET"} | {
        "NAVIGATOR_LEASE_TTL_S": "2", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    web_env = env | {"NAVIGATOR_SECRET": "lab-test-secret-of-at-least-32-chars",
                     "NAVIGATOR_USERS": users}  # workers never hold the secret
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    shared = tmp_path / "shared"  # the checkpoint dir every worker host must see
    logs = {name: (tmp_path / f"{name}.log").open("w") for name in ("web", "w1", "w2")}
    cmd = [sys.executable, "-m", "navigator"]
    procs = {"web": subprocess.Popen(cmd + ["serve", "--redis", redis_url, "--embedded-workers",
                                            "0", "--port", str(port), "--data-dir",
                                            str(tmp_path / "web")],
                                     env=web_env, cwd=ROOT, stdout=logs["web"],
                                     stderr=subprocess.STDOUT)}
    for name in ("w1", "w2"):
        procs[name] = subprocess.Popen(cmd + ["worker", "--redis", redis_url, "--max-sessions", "1",
                                              "--device", "cpu", "--data-dir", str(shared)],
                                       env=env, cwd=ROOT, stdout=logs[name],
                                       stderr=subprocess.STDOUT)
    bus = make_bus(redis_url)
    clients: list[LabClient] = []

    def log_tail() -> str:
        return "\n".join(f"--- {n}\n{(tmp_path / f'{n}.log').read_text()[-1500:]}" for n in logs)

    try:
        def web_up() -> bool:
            try:
                return requests.get(f"{url}/login", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        until(web_up, 60, "the web process")
        until(lambda: len(bus.coordinator().workers()) == 2, 60, "two workers to announce themselves")
        alice, bob, carol = (LabClient(url, u) for u in ("alice", "bob", "carol"))
        clients += [alice, bob, carol]
        sa, sb = alice.start(LAB), bob.start(LAB)

        # Both run at once, on different workers, and each user sees only their own session.
        alice.wait(lambda: alice.of(sa, "checkpoint"), 60, "alice's first checkpoint")
        bob.wait(lambda: bob.of(sb, "checkpoint"), 60, "bob's first checkpoint")
        holders = {bus.coordinator().holder(sa), bus.coordinator().holder(sb)}
        assert len(holders) == 2 and None not in holders
        assert {e["session"] for e in alice.events} == {sa}
        assert {e["session"] for e in bob.events} == {sb}

        # Bob steers his own session; he may neither watch nor steer Alice's.
        prune = bob.command(sb, "prune_op", choice_point="1<-0", op="none")
        bob.wait(lambda: any(e["type"] == "command_ack" and e["data"]["command_id"] == prune
                             for e in bob.of(sb)), 30, "bob's prune to be acknowledged")
        bob.sio.emit("join", {"session": sa, "after_seq": 0})
        bob.wait(lambda: any("may not watch" in r for r in bob.errors), 10, "bob's refusal")
        bob.errors.clear()
        assert {e["session"] for e in bob.events} == {sb}

        # Carol watches Alice's session once it is shared with her, but cannot steer it.
        alice.command(sa, "share", **{"with": ["carol"]})
        alice.wait(lambda: any(e["type"] == "command_ack" and e["data"]["command"] == "share"
                               for e in alice.of(sa)), 10, "the share")
        carol.sio.emit("join", {"session": sa, "after_seq": 0})
        carol.wait(lambda: carol.of(sa, "checkpoint"), 20, "carol to see alice's session")
        carol.command(sa, "pause")
        carol.wait(lambda: any("may not steer" in r for r in carol.errors), 10, "carol's refusal")
        assert not any(e["data"]["state"] == "paused" for e in alice.of(sa, "session_state"))

        # Kill -9 the worker running Alice's session; Bob stops his, so the survivor is free.
        dead = bus.coordinator().holder(sa)
        victim = next(n for n in ("w1", "w2") if f"-{procs[n].pid}-" in f"-{dead}-")
        last_checkpoint = alice.of(sa, "checkpoint")[-1]
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait(10)
        bob.command(sb, "stop")
        bob.wait(lambda: any(e["data"]["state"] == "stopped" for e in bob.of(sb, "session_state")),
                 30, "bob's session to stop")
        alice.wait(lambda: any(_resumed(e) for e in alice.of(sa)), 40, "the takeover")
        resumed = next(e for e in alice.of(sa) if _resumed(e))
        survivor = bus.coordinator().holder(sa)
        assert survivor not in (None, dead)
        assert f"on worker {survivor} after worker {dead} stopped answering" in \
            resumed["data"]["message"]
        alice.wait(lambda: any(e["type"] == "candidates" and e["seq"] > resumed["seq"]
                               for e in alice.of(sa)), 40, "candidates after the takeover")
        carol.wait(lambda: any(_resumed(e) for e in carol.of(sa)), 10, "carol to see the takeover")

        # The recording is intact: one gap-free sequence with the pre-crash checkpoint and the
        # post-resume candidates, and every client saw strictly increasing seqs.
        history = bus.history(sa)
        assert [e.seq for e in history] == list(range(1, len(history) + 1))
        by_seq = {e.seq: e for e in history}
        assert by_seq[last_checkpoint["seq"]].type == "checkpoint"
        assert last_checkpoint["seq"] < resumed["seq"]
        assert int(resumed["data"]["message"].split("epoch ")[1].split()[0]) >= \
            last_checkpoint["data"]["epoch"]
        for client in (alice, carol):
            seqs = [e["seq"] for e in client.of(sa)]
            assert seqs == sorted(set(seqs))
        assert {e["session"] for e in bob.events} == {sb}
        # ... and so is the web process's SQLite recording of it
        store = RecordingStore(tmp_path / "web" / "recordings.sqlite")
        until(lambda: any(e.seq >= resumed["seq"] for e in store.events(sa)), timeout=20,
              what="the takeover in the recording file")
        recorded = store.events(sa)
        assert [e.seq for e in recorded] == list(range(1, len(recorded) + 1))
        assert {e.seq: e.type for e in recorded}[last_checkpoint["seq"]] == "checkpoint"

        # The quota (queued + running + paused sessions of a user) and the queue position: the
        # one surviving worker is busy with Alice's session, so her second one waits.
        second = alice.start(LAB | {"seed": 1})
        alice.sio.emit("start", {"config": LAB})
        alice.wait(lambda: alice.errors, 10, "the quota refusal")
        assert "alice already runs 2 sessions (limit 2): stop one first" in alice.errors[-1]
        alice.wait(lambda: any("position 1 of 1, all workers busy (1 of 1 session slots "
                               "in use on 1 worker)" in e["data"]["message"]
                               for e in alice.of(second, "session_state")), 20,
                   "the queue position of alice's second session")
    except BaseException:
        print(log_tail())
        raise
    finally:
        for client in clients:
            client.close()
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs.values():
            log.close()
        bus.close()



# -- a worker cut off from Redis ---------------------------------------------------------------

@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own on a free port, so the test can cut workers off."""
    import shutil

    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("NAVIGATOR_REQUIRE_REDIS", "") not in ("", "0"):
            pytest.fail("Redis is required but redis-server is not on PATH")
        pytest.skip("redis-server is not on PATH")
    port = _free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"

    def answers() -> bool:
        try:
            return bool(redis.Redis.from_url(url, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    until(answers, timeout=10, what=f"redis-server on port {port}")
    yield url, proc
    proc.kill()
    proc.wait(5)


def _cut_off(proc: subprocess.Popen[bytes]) -> float:
    """Shut the server down (its port closes): every later renewal fails for real."""
    proc.terminate()
    proc.wait(5)
    return time.monotonic()


@pytest.mark.redis
def test_a_lease_that_cannot_be_renewed_for_a_ttl_is_lost(
        own_redis: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, proc = own_redis
    bus = make_bus(url)
    coord = bus.coordinator()
    lost: list[float] = []
    assert coord.claim("cut", "w1", 1.0, {"session": "cut"})
    lease = SessionLease(coord, "cut", "w1", ttl_s=1.0,
                         on_lost=lambda: lost.append(time.monotonic())).start()
    time.sleep(1.3)
    assert coord.holder("cut") == "w1" and lease.held  # renewed past its first expiry
    cut = _cut_off(proc)
    until(lambda: lost, timeout=3, what="the lease reported lost")
    assert lease.lost and not lease.held
    assert lost[0] - cut <= 1.0 + 0.5  # within the TTL of the last renewal, plus a beat
    time.sleep(0.5)
    lease.release()
    bus.close()
    assert len(lost) == 1


@pytest.mark.redis
def test_a_worker_cut_off_from_redis_stops_and_writes_no_checkpoint(
        tmp_path: Path, own_redis: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, proc = own_redis
    bus = make_bus(url)
    host = WorkerHost(bus, options(tmp_path), max_sessions=1, worker_id="w1", lease_ttl_s=1.0)
    worker = host.start_session({"session": "island", "owner": "ana",
                                 "config": LAB | {"train": LAB["train"] | {"epochs": 200}}})
    assert worker is not None
    until(lambda: any(e.type == "checkpoint" for e in bus.history("island")), what="a checkpoint")
    checkpoint = tmp_path / "checkpoints" / "island.pt"
    cut_wall = time.time()
    cut = _cut_off(proc)
    _, thread = host.workers["island"]
    thread.join(1.0 + 10)
    assert not thread.is_alive() and worker.lost  # another worker may be resuming it by now
    assert time.monotonic() - cut < 1.0 + 10
    written = checkpoint.stat().st_mtime
    assert written < cut_wall + 1.0 + 0.5  # nothing after the loss: the last file is its own
    time.sleep(0.5)
    assert checkpoint.stat().st_mtime == written
    bus.close()
