"""The lab server on a real local Ray cluster (two nodes on this machine) and real Redis:
sessions placed on different nodes, a dead node's session restarted elsewhere from its
checkpoint, a start request that survives a crash at any step, a GPU session that waits
on a CPU-only cluster, and Redis outages of 3 s and 15 s that lose nothing."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from navigator.bus import EventBus, make_bus
from navigator.bus.redis import RedisBus
from navigator.commands import parse_command
from navigator.events import SessionState
from navigator.hub import LiveHub
from navigator.recording import Recorder, RecordingStore
from navigator.worker import WorkerOptions

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from navigator.ray_lab import LIVE_KEY, REQUESTS_KEY, LabScheduler  # noqa: E402
from tests.support.waiting import free_port, until  # noqa: E402

pytestmark = pytest.mark.redis
TABULAR = {"template": "nb201", "mode": "tabular", "table_path": "synthetic:3",
           "search": {"population": 4, "parents": 2}, "measure_latency": False}
SUPERNET = {"template": "tiny", "dataset": "digits", "data_limit": 200, "seed": 0,
            "train": {"epochs": 200, "batch_size": 32, "device": "cpu"},
            "search": {"population": 4, "parents": 2},
            "eval": {"bn_batches": 1, "bn_batch_size": 32, "val_limit": 64},
            "measure_latency": False}
FAST_FAILURE = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500,
                "health_check_timeout_ms": 500, "health_check_failure_threshold": 2}



def states(bus: EventBus, session: str) -> list[tuple[str, str]]:
    return [(e.data["state"], e.data["message"]) for e in bus.history(session)
            if e.type == "session_state"]


def options(tmp_path: Path, extra_generations: int = 40) -> WorkerOptions:
    return WorkerOptions(checkpoint_dir=tmp_path / "cache", chunk_steps=2,
                         extra_generations=extra_generations, progress_interval_s=0.2,
                         umap=False)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A head without CPUs (nothing runs there) and two one-CPU nodes."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    head = {"num_cpus": 0, "include_dashboard": False, "_system_config": FAST_FAILURE}
    lab = Cluster(initialize_head=True, head_node_args=head)
    for _ in range(2):
        lab.add_node(num_cpus=1)
    ray.init(address=lab.address, namespace="navigator", log_to_driver=False)
    lab.wait_for_nodes()
    yield lab
    ray.shutdown()
    lab.shutdown()


class Lab:
    """A scheduler ticking on a thread against one Redis, and a bus to look with."""

    def __init__(self, redis_url: str, tmp_path: Path, extra_generations: int = 40) -> None:
        self.bus = make_bus(redis_url)
        self.scheduler = LabScheduler(redis_url, options(tmp_path, extra_generations),
                                      str(tmp_path / "checkpoints"), poll_s=0.2)
        self.thread = threading.Thread(target=self.scheduler.run_forever, daemon=True)

    def start(self) -> Lab:
        self.thread.start()
        return self

    def request(self, config: dict[str, Any], owner: str = "ana") -> str:
        """What the web's start does: a "queued" state, then the request."""
        session = f"s-{uuid.uuid4().hex[:8]}"
        self.bus.publish(session, SessionState(state="queued", message="waiting for a worker",
                                               owner=owner, config=config))
        self.bus.request_session({"session": session, "owner": owner, "config": config})
        return session

    def node(self, session: str) -> str:
        actor = until(lambda: self.scheduler.actor(session), 30, f"the actor of {session}")
        return str(ray.get(actor.ready.remote(), timeout=60)["node"])

    def command(self, session: str, kind: str) -> None:
        self.bus.send_command(parse_command({"type": kind, "session": session, "user": "ana"}))

    def stop(self, session: str) -> None:
        self.command(session, "stop")
        until(lambda: any(s == "stopped" for s, _ in states(self.bus, session)), 60,
              f"{session} to stop")

    def close(self) -> None:
        self.scheduler.stop()
        self.thread.join(timeout=10) if self.thread.is_alive() else None
        client = self.scheduler.bus.client
        client.delete(LIVE_KEY, REQUESTS_KEY)
        self.scheduler.reconcile()  # nothing is live: every session actor goes
        self.scheduler.close()
        self.bus.close()


@pytest.fixture
def lab(cluster: Cluster, redis_url: str, tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(redis_url, tmp_path).start()
    yield lab
    lab.close()


def test_two_users_sessions_run_at_once_on_different_nodes(lab: Lab) -> None:
    socketio = SimpleNamespace(emit=lambda *_args, **_kw: None)
    hub = LiveHub(lab.bus, socketio)  # type: ignore[arg-type]
    try:
        sa = hub.start_session(TABULAR, owner="alice")
        sb = hub.start_session(TABULAR, owner="bob")
        for session in (sa, sb):
            until(lambda s=session: any(st == "running" for st, _ in states(lab.bus, s)), 90,
                  f"{session} to run")
        assert lab.node(sa) != lab.node(sb)  # one CPU per node: Ray put them apart
        live = {k.decode(): json.loads(v) for k, v in lab.bus.client.hgetall(LIVE_KEY).items()}
        assert {live[sa]["owner"], live[sb]["owner"]} == {"alice", "bob"}
        for session in (sa, sb):
            lab.stop(session)
        until(lambda: lab.scheduler.actor(sa) is None and lab.scheduler.actor(sb) is None, 30,
              "the ended sessions' actors to go")
        assert not lab.bus.client.hexists(LIVE_KEY, sa)
        # an export of a stopped session runs as a Ray task, from the checkpoint
        arch = next(e for e in lab.bus.history(sa) if e.type == "candidates").data["records"][0]
        command = hub.send(sa, "export", {"arch": arch["arch"]})
        until(lambda: any(e.type == "command_ack" and e.data["command_id"] == command.id
                          for e in lab.bus.history(sa)), 90, "the export")
        assert any(e.type == "exported" for e in lab.bus.history(sa))
        assert states(lab.bus, sa)[-1][0] == "stopped"
    finally:
        hub.close()


def test_a_start_request_survives_a_crash_at_every_step(cluster: Cluster, redis_url: str,
                                                        tmp_path: Path) -> None:
    first = Lab(redis_url, tmp_path)  # never ticks on its own: each step is taken by hand
    session = first.request(TABULAR)
    # 1. the scheduler died before it saw the request: it waits in the list
    assert first.bus.client.llen(REQUESTS_KEY) == 1
    # 2. it died after admitting it, before Ray heard of it: the registry has it
    assert first.scheduler.admit() == [session]
    assert first.bus.client.llen(REQUESTS_KEY) == 0 and first.bus.client.hexists(LIVE_KEY, session)
    assert first.scheduler.actor(session) is None
    first.scheduler.close()
    # 3. a new scheduler creates the actor; it dies too, before the first event
    second = Lab(redis_url, tmp_path)
    second.scheduler.reconcile()
    before = ray.get(second.scheduler.actor(session).ready.remote(), timeout=60)
    second.scheduler.close()
    # 4. a third one finds the actor (no second copy), whose process is then killed
    third = Lab(redis_url, tmp_path).start()
    try:
        third.scheduler.reconcile()
        assert ray.get(third.scheduler.actor(session).ready.remote(), timeout=60) == before
        os.kill(before["pid"], 9)
        until(lambda: _pid(third, session) not in (None, before["pid"]), 60,
              "Ray to restart the actor")
        until(lambda: any(s == "running" for s, _ in states(third.bus, session)), 60,
              "the session to run")
        history = third.bus.history(session)
        assert [e.seq for e in history] == list(range(1, len(history) + 1))
        third.stop(session)
    finally:
        third.close()
        second.bus.close()
        first.bus.close()


def test_navigator_lab_killed_after_taking_a_request_is_carried_on_by_the_next_one(
        cluster: Cluster, redis_url: str, tmp_path: Path) -> None:
    """The real ``navigator lab`` process: kill -9 once it took the request, start another."""
    import sys

    env = {k: v for k, v in os.environ.items() if k != "NAVIGATOR_SECRET"}
    command = [sys.executable, "-m", "navigator", "lab", "--redis", redis_url, "--ray-address",
               cluster.address, "--data-dir", str(tmp_path)]
    log = (tmp_path / "lab.log").open("ab")
    first = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    lab = Lab(redis_url, tmp_path)  # only to request and look: it never ticks
    second = None
    try:
        session = lab.request(TABULAR)
        until(lambda: lab.bus.client.hexists(LIVE_KEY, session), 60, "the request to be taken")
        first.kill()
        first.wait(10)
        second = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        until(lambda: any(s == "running" for s, _ in states(lab.bus, session)), 90,
              f"{session} to run: {(tmp_path / 'lab.log').read_text()[-1500:]}")
        assert ray.util.list_named_actors(all_namespaces=True).count(
            {"name": f"session:{session}", "namespace": "navigator"}) == 1
        lab.stop(session)
        until(lambda: lab.scheduler.actor(session) is None, 30, "the ended session's actor")
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(30)
        lab.close()


def _pid(lab: Lab, session: str) -> int | None:
    actor = lab.scheduler.actor(session)
    if actor is None:
        return None
    try:
        return int(ray.get(actor.ready.remote(), timeout=5)["pid"])
    except (ray.exceptions.RayError, TimeoutError):
        return None


def test_a_gpu_session_waits_on_a_cpu_only_cluster_with_its_position(lab: Lab) -> None:
    gpu = dict(SUPERNET, train=dict(SUPERNET["train"], device="cuda"))
    session = lab.request(gpu)
    message = until(lambda: next((m for s, m in states(lab.bus, session)
                                  if s == "queued" and "GPU" in m), None), 30,
                    "the queue position")
    assert "waiting for a GPU" in message and "position 1 of 1" in message
    assert "ray start --address" in message
    time.sleep(1.0)
    assert [s for s, _ in states(lab.bus, session)] == ["queued", "queued"]  # never started
    assert session in lab.scheduler.waiting()  # Ray holds it back: no node fits


def test_a_dead_nodes_session_restarts_elsewhere_from_its_checkpoint(
        cluster: Cluster, redis_url: str, tmp_path: Path) -> None:
    cluster.add_node(num_cpus=1)  # one of three nodes dies; two stay for the other tests
    cluster.wait_for_nodes()
    lab = Lab(redis_url, tmp_path).start()
    store = RecordingStore(tmp_path / "recordings.sqlite")
    recorder = Recorder(make_bus(redis_url), store, poll_s=0.1).start()
    try:
        session = lab.request(SUPERNET)
        node = until(lambda: _node_of(lab, session), 90, "the session's node")
        victim = next(n for n in cluster.worker_nodes if n.node_id == node)
        checkpoint = until(lambda: [e for e in lab.bus.history(session)
                                    if e.type == "checkpoint"], 120, "a checkpoint")[-1]
        cluster.remove_node(victim, allow_graceful=False)
        resumed = until(lambda: next((m for s, m in states(lab.bus, session)
                                      if "resumed from checkpoint" in m), None), 120,
                        "the session to resume on another node")
        assert int(resumed.split("epoch ")[1].split()[0]) >= checkpoint.data["epoch"]
        assert until(lambda: _node_of(lab, session), 30, "the new node") != node
        last = lab.bus.last_seq(session)
        until(lambda: any(e.type == "checkpoint" for e in lab.bus.history(session, last)), 120,
              "a checkpoint after the restart")
        lab.stop(session)
        history = lab.bus.history(session)
        assert [e.seq for e in history] == list(range(1, len(history) + 1))
        until(lambda: len(store.events(session)) == len(history), 30, "the recording")
        assert [e.seq for e in store.events(session)] == [e.seq for e in history]
    finally:
        recorder.stop()
        lab.close()


def _node_of(lab: Lab, session: str) -> str | None:
    actor = lab.scheduler.actor(session)
    if actor is None:
        return None
    try:
        return str(ray.get(actor.ready.remote(), timeout=5)["node"])
    except (ray.exceptions.RayError, TimeoutError):
        return None


# -- Redis outages -----------------------------------------------------------------------------


def _redis(port: int, folder: Path) -> subprocess.Popen[bytes]:
    """A private Redis that keeps its data across a restart (append-only file), so that the
    shared one of the other tests is never disturbed."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is needed for this test (scripts/test.sh installs it)")
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "yes", "--appendfsync", "always",
                             "--dir", str(folder)], stdout=subprocess.DEVNULL)
    until(lambda: _answers(port), 10, "the private Redis")
    return proc


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def test_redis_outages_of_3_and_15_s_lose_no_event_and_no_session(
        cluster: Cluster, tmp_path: Path) -> None:
    port = free_port()
    server = _redis(port, tmp_path)
    url = f"redis://127.0.0.1:{port}/0"
    lab = Lab(url, tmp_path).start()
    store = RecordingStore(tmp_path / "recordings.sqlite")
    web = make_bus(url)  # the web process's bus: its recorder
    recorder = Recorder(web, store, poll_s=0.1).start()
    try:
        session = lab.request(SUPERNET)
        until(lambda: len(store.events(session)) > 10, 90, "the session to run and be recorded")
        for outage_s in (3.0, 15.0):
            server.terminate()
            server.wait(10)
            time.sleep(outage_s)
            server = _redis(port, tmp_path)
            recorded = len(store.events(session))
            until(lambda n=recorded: len(store.events(session)) > n + 5, 60,
                  f"events after the {outage_s:g} s outage")
            assert lab.bus.client.hexists(LIVE_KEY, session)  # the session was never dropped
            assert isinstance(lab.bus, RedisBus)
        lab.stop(session)
        history = lab.bus.history(session)
        assert [e.seq for e in history] == list(range(1, len(history) + 1))
        until(lambda: len(store.events(session)) == len(history), 30, "the whole recording")
        assert [e.to_dict() for e in store.events(session)] == [e.to_dict() for e in history]
        assert [s for s, _ in states(lab.bus, session)].count("failed") == 0
    finally:
        recorder.stop()
        web.close()
        lab.close()
        server.terminate()
        server.wait(10)


def test_checkpoints_at_an_fsspec_uri_are_uploaded_and_fetched_back(tmp_path: Path) -> None:
    """A URI store (here ``file://``, as ``s3://`` would be) keeps a local copy per node."""
    from navigator.ray_lab import CheckpointStore

    remote = f"file://{tmp_path / 'bucket'}"
    first = CheckpointStore(remote, tmp_path / "node-a")
    first.fetch("s-1")  # nothing there yet: only the local folder is made
    (tmp_path / "node-a" / "s-1.pt").write_bytes(b"epoch 3")
    first.push("s-1")
    assert (tmp_path / "bucket" / "s-1.pt").read_bytes() == b"epoch 3"
    second = CheckpointStore(remote, tmp_path / "node-b")  # the node a restart lands on
    second.fetch("s-1")
    assert (second.local_dir() / "s-1.pt").read_bytes() == b"epoch 3"
    shared = CheckpointStore(str(tmp_path / "nfs"), tmp_path / "unused")
    assert shared.local_dir() == tmp_path / "nfs" and not shared.remote
