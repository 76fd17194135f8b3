"""The web worker under torchrun (navigator/ddp.py): rank 0 runs the session, rank 1 follows.

One spawn of 2 CPU ranks (gloo) runs both scenarios, since process start-up dominates:

1. ``bad``: rank 1 cannot build the engine; rank 0 must fail the session with rank 1's
   reason, and the group must stay usable for the next session.
2. ``good``: a tiny digits search through training, its budget pause (long enough for
   heartbeats), a template edit, a fine-tune epoch (new epochs and learning-rate schedule
   on rank 0 only: the ``train`` messages must carry them) and stop. Both ranks then save
   their supernet parameters; they must be *identical*: a follower out of step (another
   learning rate, a missed step, stale weights after the edit) fails here, and one that
   misses a step entirely blocks a collective until the 60 s process-group timeout.

BatchNorm running statistics are left out of the comparison on purpose: rank 0's evaluator
re-estimates them in place (see navigator/ddp.py), the follower never evaluates.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.multiprocessing as mp

from navigator.bus import EventBus, MemoryBus, Subscription, make_bus
from navigator.commands import parse_command
from navigator.ddp import Follower, RankLink
from navigator.events import Event
from navigator.worker import SessionWorker, WorkerOptions
from supernet.configs import EngineConfig
from supernet.distributed import DistributedContext
from supernet.engine import SearchEngine
from tests.support.waiting import free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {"template": "tiny", "dataset": "digits", "data_limit": 200, "seed": 0,
          "train": {"epochs": 2, "batch_size": 32, "device": "cpu"},
          "search": {"population": 3, "parents": 2},
          "eval": {"bn_batches": 1, "bn_batch_size": 32, "val_limit": 64},
          "measure_latency": False}
HEARTBEAT_S = 0.3
EDITED_EDGE = ["skip_connect", "nor_conv_3x3"]  # edge 1<-0 after the template edit



def _params(engine: SearchEngine) -> dict[str, torch.Tensor]:
    return {k: p.detach().clone() for k, p in engine.supernet.named_parameters()}


def _edited_template() -> dict[str, Any]:
    doc = EngineConfig.from_dict(CONFIG).space().to_dict()
    doc["edges"]["1<-0"] = EDITED_EDGE
    return doc


# -- the ranks (spawned processes) ------------------------------------------------------------
def _wait(sub: Subscription, predicate: Callable[[Event], bool], seen: list[Event],
          timeout: float = 60, errors_ok: bool = False) -> Event:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = sub.get(timeout=0.5)
        if event is None:
            continue
        seen.append(event)
        if event.type == "error" and not errors_ok:
            raise AssertionError(f"worker error: {event.data['message']}\n{event.data['detail']}")
        if predicate(event):
            return event
    raise AssertionError(f"no matching event within {timeout} s; saw {[e.type for e in seen]}")


def _command(bus: MemoryBus, sub: Subscription, session: str, seen: list[Event], kind: str,
             **args: Any) -> Event:
    command = parse_command({"type": kind, "session": session, "user": "ana",
                             "id": uuid.uuid4().hex, "args": args})
    bus.send_command(command)
    reply = _wait(sub, lambda e: e.type in ("command_ack", "command_rejected")
                  and e.data["command_id"] == command.id, seen)
    assert reply.type == "command_ack", reply.data
    return reply


def _budget_used(after: int = 0) -> Callable[[Event], bool]:
    return lambda e: (e.seq > after and e.type == "session_state"
                      and "budget used up" in e.data["message"])


def _run_session(bus: MemoryBus, worker: SessionWorker) -> tuple[threading.Thread, list]:
    failures: list[BaseException] = []

    def run() -> None:
        try:
            worker.run()
        except BaseException as exc:  # noqa: BLE001 - checked by the scenario
            failures.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, failures


def _rank0(context: DistributedContext, ckpt: Path) -> dict[str, Any]:
    link = RankLink(context, heartbeat_s=HEARTBEAT_S).start()
    bus = MemoryBus()
    options = WorkerOptions(checkpoint_dir=ckpt, chunk_steps=2, extra_generations=1,
                            progress_interval_s=0.0, umap=False)

    # 1. rank 1 cannot build the engine: the session fails with its reason
    bad = SessionWorker(bus, "bad", EngineConfig.from_dict(CONFIG), options)
    bad.link = link
    bad_sub, bad_seen = bus.subscribe("bad"), []
    thread, failures = _run_session(bus, bad)
    failed = _wait(bad_sub, lambda e: e.type == "session_state" and e.data["state"] == "failed",
                   bad_seen, errors_ok=True)
    thread.join(30)
    errors = [e.data["message"] for e in bad_seen if e.type == "error"]

    # 2. the whole story, with the follower in lockstep
    worker = SessionWorker(bus, "good", EngineConfig.from_dict(CONFIG), options)
    worker.link = link
    sub, seen = bus.subscribe("good"), []
    thread, good_failures = _run_session(bus, worker)
    _wait(sub, _budget_used(), seen)
    time.sleep(4 * HEARTBEAT_S)  # paused: only heartbeats keep rank 1 company
    _command(bus, sub, "good", seen, "edit_template", template=_edited_template())
    reply = _command(bus, sub, "good", seen, "finetune", epochs=1)
    _wait(sub, _budget_used(reply.seq), seen)
    bus.send_command(parse_command({"type": "stop", "session": "good", "user": "ana",
                                    "id": uuid.uuid4().hex, "args": {}}))
    thread.join(60)
    assert not thread.is_alive() and not good_failures, good_failures
    link.shutdown()
    engine = worker.engine
    assert isinstance(engine, SearchEngine)
    return {"bad_state": failed.data["message"], "bad_errors": errors,
            "bad_raised": [repr(f) for f in failures],
            "params": _params(engine), "global_step": engine.trainer.global_step,
            "epochs": engine.trainer.epochs, "schedule": dict(engine.trainer.schedule),
            "edge": list(engine.space.to_dict()["edges"]["1<-0"]),
            "states": [e.data["message"] for e in seen if e.type == "session_state"],
            "broken": link.broken}


class _PickyFollower(Follower):
    """Cannot build the session named ``bad`` (as if its checkpoint were unreachable)."""

    def _build(self, config: dict[str, Any], checkpoint: str | None) -> SearchEngine:
        if self.session == "bad":
            raise FileNotFoundError("no such checkpoint on rank 1")
        return super()._build(config, checkpoint)


def _rank1(context: DistributedContext) -> dict[str, Any]:
    follower = _PickyFollower(context)
    closed: dict[str, Any] = {}

    def on_close(session: str, engine: SearchEngine) -> None:
        closed[session] = {"params": _params(engine), "global_step": engine.trainer.global_step,
                           "edge": list(engine.space.to_dict()["edges"]["1<-0"])}

    follower.on_close = on_close
    follower.run()
    return {"closed": closed, "received": follower.received, "steps": follower.steps_trained}


def _rank(rank: int, port: int, out: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE="2", LOCAL_RANK=str(rank))
    context = DistributedContext.from_env("cpu", timeout_s=60)
    result = _rank0(context, Path(out) / "checkpoints") if rank == 0 else _rank1(context)
    torch.save(result, Path(out) / f"rank{rank}.pt")
    context.close()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("ddp-worker")
    mp.spawn(_rank, args=(free_port(), str(out)), nprocs=2, join=True)
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(2)]


# -- the tests --------------------------------------------------------------------------------
def test_a_follower_that_cannot_open_fails_the_session_with_its_reason(
        ranks: list[dict[str, Any]]) -> None:
    rank0, rank1 = ranks
    assert "rank 1: FileNotFoundError: no such checkpoint on rank 1" in rank0["bad_state"]
    assert any("could not follow (opening session bad)" in m for m in rank0["bad_errors"])
    assert "bad" not in rank1["closed"]  # it never had an engine
    assert rank0["broken"] is None  # the group stayed usable: the next session ran


def test_the_follower_trains_in_lockstep_through_edit_and_finetune(
        ranks: list[dict[str, Any]]) -> None:
    rank0, rank1 = ranks
    follower = rank1["closed"]["good"]
    assert rank0["edge"] == follower["edge"] == EDITED_EDGE  # both rebuilt on the edit
    assert rank0["epochs"] == 3 and rank0["schedule"]["start"] > 0  # the fine-tune epoch ran
    assert follower["global_step"] == rank0["global_step"] == rank1["steps"]
    assert set(follower["params"]) == set(rank0["params"])
    different = [k for k, v in rank0["params"].items() if not torch.equal(v, follower["params"][k])]
    assert not different, f"{len(different)} tensors differ between the ranks, e.g. {different[:3]}"

    initial = _params(SearchEngine(EngineConfig.from_dict(CONFIG)))
    common = [k for k, v in follower["params"].items()
              if k in initial and initial[k].shape == v.shape]
    trained = [k for k in common if not torch.equal(initial[k], follower["params"][k])]
    assert len(common) > 10 and len(trained) >= 0.8 * len(common), (len(trained), len(common))


def test_rank_0_reports_the_data_parallel_run_and_heartbeats_keep_rank_1(
        ranks: list[dict[str, Any]]) -> None:
    rank0, rank1 = ranks
    running = [m for m in rank0["states"] if m.startswith("training on")]
    assert running and running[0].endswith("; data-parallel on 2 ranks (gloo)"), rank0["states"]
    received = rank1["received"]
    assert received["open"] == 2 and received["retemplate"] == 1 and received["shutdown"] == 1
    assert received["close"] >= 1 and received["train"] >= rank1["steps"] // 2
    assert received.get("noop", 0) >= 2  # at least the 1.2 s budget pause, at 0.3 s


def test_the_link_and_follower_refuse_a_single_process() -> None:
    single = DistributedContext.single("cpu")
    with pytest.raises(ValueError, match="rank 0"):
        RankLink(single)
    with pytest.raises(ValueError, match="rank > 0"):
        Follower(single)


# -- end to end: torchrun + Redis ------------------------------------------------------------
def _rank_1_of(torchrun_pid: int) -> int:
    """The pid of the ``RANK=1`` child of a torchrun process (Linux /proc)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            env = (stat.parent / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if parent == torchrun_pid and b"RANK=1" in env:
            return int(stat.parent.name)
    raise AssertionError("rank 1 not found")


def _request(bus: EventBus, config: dict[str, Any]) -> tuple[str, Subscription]:
    session = f"ddp-{uuid.uuid4().hex[:8]}"
    sub = bus.subscribe(session)
    bus.request_session({"session": session, "owner": "ana", "config": config})
    return session, sub


def _state(state: str, text: str = "") -> Callable[[Event], bool]:
    return lambda e: (e.type == "session_state" and e.data["state"] == state
                      and text in e.data["message"])


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds rank 1 in /proc")
def test_torchrun_worker_runs_a_session_from_redis_and_fails_it_when_a_rank_dies(
        tmp_path: Path, redis_url: str) -> None:
    import redis

    # sessions that earlier tests left in the live registry would be taken over first
    redis.Redis.from_url(redis_url).flushdb()
    torchrun = Path(sys.executable).parent / "torchrun"
    cmd = [str(torchrun), "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), "-m", "navigator", "worker", "--redis", redis_url,
           "--device", "cpu", "--max-sessions", "3", "--data-dir", str(tmp_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=ROOT)
    bus = make_bus(redis_url)
    try:
        # a whole session, run by rank 0 with the other rank training along
        session, sub = _request(bus, CONFIG)
        seen: list[Event] = []
        running = _wait(sub, _state("running"), seen, timeout=90)
        assert running.data["message"].endswith("; data-parallel on 2 ranks (gloo)")
        _wait(sub, lambda e: e.type == "candidates", seen)
        bus.send_command(parse_command({"type": "stop", "session": session, "user": "ana",
                                        "id": uuid.uuid4().hex, "args": {}}))
        _wait(sub, _state("stopped"), seen)
        assert (tmp_path / "checkpoints" / f"{session}.pt").exists()

        # rank 1 dies mid-search: rank 0 fails the session, says why, and the job ends
        long = CONFIG | {"train": CONFIG["train"] | {"epochs": 200}}
        session, sub = _request(bus, long)
        _wait(sub, lambda e: e.type == "train_progress", seen, timeout=30)
        os.kill(_rank_1_of(proc.pid), 9)
        failed = _wait(sub, _state("failed"), seen, errors_ok=True)
        assert "data-parallel training failed" in failed.data["message"]
        assert proc.wait(timeout=60) != 0
    finally:
        if proc.poll() is None:
            proc.terminate()  # torchrun passes SIGTERM on to its ranks
        output = proc.communicate(timeout=60)[0]
        bus.close()
    assert "data-parallel on 2 ranks (gloo), one session at a time" in output, output
    assert "max_sessions 3 ignored" in output
    assert "navigator worker: error: data-parallel training failed" in output
