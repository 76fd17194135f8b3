"""Leases and takeover (the embedded and the data-parallel worker hosts), the embedded host's
queue positions and per-user quotas. The lab server on Ray is tested in test_ray_lab.py."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from navigator.bus import EventBus, MemoryBus, make_bus
from navigator.bus.lease import MemoryCoordinator, SessionLease
from navigator.lab import check_quota
from navigator.worker import WorkerOptions
from navigator.worker_host import WorkerHost
from tests.support.waiting import free_port, until

ROOT = Path(__file__).resolve().parents[2]
LAB = {"template": "tiny", "dataset": "digits", "data_limit": 200, "seed": 0,
       "train": {"epochs": 60, "batch_size": 32, "device": "cpu"},
       "search": {"population": 4, "parents": 2},
       "eval": {"bn_batches": 1, "bn_batch_size": 32, "val_limit": 64},
       "measure_latency": False}


def options(tmp_path: Path) -> WorkerOptions:
    return WorkerOptions(checkpoint_dir=tmp_path / "checkpoints", chunk_steps=2,
                         extra_generations=1, progress_interval_s=0.0, umap=False)



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
    time.sleep(0.6)  # w1 died: its lease lapses, the live entry stays for a takeover
    assert coord.holder(session) is None and session in coord.live()
    assert coord.claim(session, "w2", 5, entry | {"worker": "w2"}, takeover=True) is True
    assert not coord.renew(session, "w1", 0.5)  # the old owner learns it lost the session
    coord.unregister(session)
    coord.release(session, "w2")
    assert coord.claim(session, "w3", 5, entry, takeover=True) is False  # stopped: not resumed


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

def test_embedded_busy_worker_queues_the_next_session_with_its_position(tmp_path: Path) -> None:
    bus = MemoryBus()
    host = WorkerHost(bus, options(tmp_path), max_sessions=1, lease_ttl_s=1.5).start()
    try:
        long = LAB | {"train": LAB["train"] | {"epochs": 200}}
        bus.request_session({"session": "first", "owner": "ana", "config": long})
        until(lambda: "first" in host.workers, what="the first session to start")
        bus.request_session({"session": "second", "owner": "bo", "config": LAB})
        until(lambda: any("position 1 of 1, all workers busy (1 of 1" in s
                          for s in states(bus, "second")), what="the queue position")
        assert len(states(bus, "second")) == 1  # said once, not at every round
        host.workers["first"][0].stopped = True
        until(lambda: any(s.startswith("running") for s in states(bus, "second")),
              what="the queued session to start")
        assert states(bus, "first")[-1] == "stopped: stopped by the analyst"
        assert "first" not in bus.coordinator().live()  # stopped: never resumed elsewhere
    finally:
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
    port = free_port()
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
