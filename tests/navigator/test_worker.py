"""Session workers driving a real (tiny) SearchEngine over a real bus: the publish
loop, commands at step boundaries (accepted, rejected with the state unchanged),
pause/resume/stop, fine-tune, export, the host's control channel, and resuming
from the last checkpoint after the worker process is killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from navigator.bus import EventBus, MemoryBus, Subscription, make_bus
from navigator.commands import parse_command
from navigator.events import Event
from navigator.worker import SessionWorker, WorkerOptions
from navigator.worker_host import WorkerHost
from supernet.configs import EngineConfig
from supernet.engine import SearchEngine

ROOT = Path(__file__).resolve().parents[2]
TINY = {"template": "tiny", "dataset": "digits", "data_limit": 200, "seed": 0,
        "train": {"epochs": 2, "batch_size": 32, "device": "cpu"},
        "search": {"population": 4, "parents": 2},
        "eval": {"bn_batches": 1, "bn_batch_size": 32, "val_limit": 64},
        "measure_latency": False}
LONG = TINY | {"train": TINY["train"] | {"epochs": 50}}


def options(tmp_path: Path, **overrides: Any) -> WorkerOptions:
    return WorkerOptions(**({"checkpoint_dir": tmp_path / "checkpoints", "chunk_steps": 2,
                             "extra_generations": 1, "progress_interval_s": 0.0, "umap": False,
                             "exports_dir": tmp_path / "exports"} | overrides))


def wait_for(sub: Subscription, predicate: Callable[[Event], bool], timeout: float = 20,
             seen: list[Event] | None = None) -> Event:
    """Read events (appending them to ``seen``) until one matches; fail on a stall or an error."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = sub.get(timeout=max(deadline - time.monotonic(), 0.01))
        if event is None:
            break
        event.payload()  # every published event is valid on the wire
        if seen is not None:
            seen.append(event)
        if event.type == "error":
            pytest.fail(f"worker error: {event.data['message']}\n{event.data['detail']}")
        if predicate(event):
            return event
    pytest.fail(f"no matching event within {timeout} s")


def state_is(state: str) -> Callable[[Event], bool]:
    return lambda e: e.type == "session_state" and e.data["state"] == state


def reply_to(command_id: str) -> Callable[[Event], bool]:
    return lambda e: (e.type in ("command_ack", "command_rejected")
                      and e.data["command_id"] == command_id)


def send(bus: EventBus, session: str, kind: str, **args: Any) -> str:
    command = parse_command({"type": kind, "session": session, "user": "ana",
                             "id": uuid.uuid4().hex, "args": args})
    bus.send_command(command)
    return command.id


class Running:
    """A SessionWorker on its own thread, stopped (and joined) at the end of the test."""

    def __init__(self, bus: EventBus, tmp_path: Path, config: dict | None = None,
                 **option_overrides: Any) -> None:
        self.bus = bus
        self.session = f"w-{uuid.uuid4().hex[:10]}"
        self.sub = bus.subscribe(self.session)
        self.seen: list[Event] = []
        self.worker = SessionWorker(bus, self.session, EngineConfig.from_dict(config or TINY),
                                    options(tmp_path, **option_overrides), owner="ana")
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.failure: BaseException | None = None
        self.thread.start()

    def _run(self) -> None:
        try:
            self.worker.run()
        except BaseException as exc:  # noqa: BLE001 - surfaced by the test
            self.failure = exc

    def wait(self, predicate: Callable[[Event], bool], timeout: float = 20) -> Event:
        return wait_for(self.sub, predicate, timeout, self.seen)

    def since(self, reply: Event, predicate: Callable[[Event], bool]) -> Event:
        """The first matching event after ``reply``'s command arrived: the worker may publish
        the effect (a state change) just before or just after the acknowledgement."""
        start = max((i for i, e in enumerate(self.seen) if e.seq < reply.seq
                     and e.type in ("command_ack", "command_rejected")), default=-1) + 1
        for event in self.seen[start:]:
            if predicate(event):
                return event
        return self.wait(predicate)

    def command(self, kind: str, **args: Any) -> Event:
        return self.wait(reply_to(send(self.bus, self.session, kind, **args)))

    def stop(self) -> None:
        send(self.bus, self.session, "stop")
        self.thread.join(30)
        assert not self.thread.is_alive(), "worker did not stop"
        assert self.failure is None


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    run = Running(MemoryBus(), tmp_path)
    yield run
    if run.thread.is_alive():
        run.stop()


def test_a_session_publishes_its_whole_story(running: Running) -> None:
    budget = running.wait(lambda e: e.type == "session_state" and "budget" in e.data["message"])
    assert budget.data["state"] == "paused"
    types = [e.type for e in running.seen]
    assert types[0] == "space" and "steering" in types
    assert running.seen[0].data["size"] == 5 ** 6
    progress = [e for e in running.seen if e.type == "train_progress"]
    last = progress[-1].data  # epochs count from 0: the last step of the second epoch
    assert (last["epoch"], last["epochs"], last["step"]) == (1, 2, last["steps_per_epoch"])
    assert [e.data["epoch"] for e in running.seen if e.type == "checkpoint"][:2] == [1, 2]
    batches = [e for e in running.seen if e.type == "candidates"]
    assert len(batches) == 3  # one generation per epoch, then the extra one
    records = [r for b in batches for r in b.data["records"]]
    assert all(isinstance(r["x"], float) and isinstance(r["y"], float) for r in records)
    fitness = [e for e in running.seen if e.type == "fitness"][-1].data["matrix"]
    assert set(fitness) == {cp["name"] for cp in running.seen[0].data["choice_points"]}
    board = [e for e in running.seen if e.type == "leaderboard"][-1].data["records"]
    accuracies = [r["accuracy"] for r in board]
    assert accuracies == sorted(accuracies, reverse=True)
    assert [e.seq for e in running.seen] == list(range(1, len(running.seen) + 1))

    running.stop()
    final = running.bus.history(running.session)[-1]
    assert final.type == "session_state" and final.data["state"] == "stopped"
    assert Path(running.worker.checkpoint_path).exists()


def test_steering_commands_are_validated_on_a_copy(tmp_path: Path) -> None:
    running = Running(MemoryBus(), tmp_path, config=LONG)
    try:
        _check_steering(running)
    finally:
        running.stop()


def _check_steering(running: Running) -> None:
    running.wait(lambda e: e.type == "steering")
    ack = running.command("prune_op", choice_point="1<-0", op="none")
    assert ack.type == "command_ack" and ack.data["effective"] == "next step boundary"
    assert ack.data["user"] == "ana" and ack.data["args"] == {"choice_point": "1<-0", "op": "none"}
    steering = running.wait(lambda e: e.type == "steering")
    assert steering.data["pruned"] == {"1<-0": ["none"]}
    before = steering.data

    illegal = [
        ("lock_edge", {"choice_point": "1<-0", "op": "none"}, "pruned; restore it first"),
        ("prune_op", {"choice_point": "9<-7", "op": "none"}, "9<-7"),
        ("prune_op", {"choice_point": "1<-0", "op": "sep_conv_3x3"}, "not a candidate"),
        ("set_sampling_weights", {"choice_point": "2<-0", "weights": {"none": -2}}, "negative"),
        ("unlock_edge", {"choice_point": "2<-0"}, "is not locked"),
        ("start", {}, "already running"),
    ]
    for kind, args, reason in illegal:
        reply = running.command(kind, **args)
        assert reply.type == "command_rejected", (kind, args)
        assert reason in reply.data["reason"]
    for op in ("skip_connect", "nor_conv_1x1", "nor_conv_3x3"):
        assert running.command("prune_op", choice_point="1<-0", op=op).type == "command_ack"
    last = running.command("prune_op", choice_point="1<-0", op="avg_pool_3x3")
    assert last.type == "command_rejected" and "last remaining op" in last.data["reason"]
    assert running.worker.engine.steering.allowed("1<-0") == ("avg_pool_3x3",)
    assert before["pruned"]["1<-0"] == ["none"]

    # later candidates honour the edit: the first op (edge 1<-0) is always avg_pool_3x3
    running.wait(lambda e: e.type == "candidates")
    batch = running.wait(lambda e: e.type == "candidates")
    assert all(r["arch"].startswith("|avg_pool_3x3~0|") for r in batch.data["records"])


def test_pause_blocks_training_and_resume_continues(tmp_path: Path) -> None:
    run = Running(MemoryBus(), tmp_path, config=LONG)
    try:
        run.wait(lambda e: e.type == "train_progress")
        reply = run.command("pause")
        assert reply.type == "command_ack"
        paused = run.since(reply, state_is("paused"))
        time.sleep(0.5)
        during = run.bus.history(run.session, after_seq=paused.seq)
        assert [e.type for e in during if e.type == "train_progress"] == []
        assert run.worker.engine is not None
        step = run.worker.engine.trainer.global_step
        reply = run.command("resume")
        assert reply.type == "command_ack"
        run.since(reply, state_is("running"))
        run.wait(lambda e: e.type == "train_progress")
        assert run.worker.engine.trainer.global_step > step
        assert run.command("set_search_params", population=6).type == "command_ack"
        assert run.worker.engine.search.config.population == 6
    finally:
        run.stop()


def test_a_paused_session_handed_to_another_worker_stays_paused(tmp_path: Path) -> None:
    bus = MemoryBus()
    first = Running(bus, tmp_path, config=LONG)
    first.wait(lambda e: e.type == "checkpoint")
    paused = first.since(first.command("pause"), state_is("paused"))
    first.worker.handover = True  # what a host shutdown does on a shared bus
    first.stop()
    assert [e.data["state"] for e in bus.history(first.session, after_seq=paused.seq)
            if e.type == "session_state"] == ["queued"]
    after = bus.last_seq(first.session)
    second = SessionWorker(bus, first.session, EngineConfig.from_dict(LONG), options(tmp_path))
    thread = threading.Thread(target=second.run, daemon=True)
    thread.start()
    sub = bus.subscribe(first.session, after_seq=after)
    try:
        seen: list[Event] = []
        resumed = wait_for(sub, state_is("paused"), seen=seen)
        assert "resumed from checkpoint" in resumed.data["message"]
        time.sleep(0.5)
        later = bus.history(first.session, after_seq=after)
        assert not any(e.type == "train_progress" for e in later)
        assert not any(e.type == "session_state" and e.data["state"] == "running" for e in later)
        send(bus, first.session, "resume")
        wait_for(sub, state_is("running"), seen=seen)
        wait_for(sub, lambda e: e.type == "train_progress", seen=seen)
    finally:
        send(bus, first.session, "stop")
        thread.join(30)


def test_finetune_and_export(running: Running) -> None:
    running.wait(lambda e: e.type == "session_state" and "budget" in e.data["message"])
    reply = running.command("finetune", epochs=1)
    assert reply.type == "command_ack"
    running.since(reply, state_is("finetuning"))
    checkpoint = running.wait(lambda e: e.type == "checkpoint" and e.data["epoch"] == 3)
    assert Path(checkpoint.data["path"]).exists()

    best = running.worker.engine.leaderboard(1)[0].arch
    assert running.command("export", arch=best).type == "command_ack"
    exported = [e for e in running.bus.history(running.session) if e.type == "exported"][-1]
    assert exported.data["arch"] == best
    files = {k: Path(v) for k, v in exported.data["files"].items()}
    assert all(p.exists() for p in files.values())
    assert json.loads(files["json"].read_text())["arch"] == best
    bad = running.command("export", arch="|nope~0|")
    assert bad.type == "command_rejected"


def test_tabular_session_searches_the_table_and_obeys_steering(tmp_path: Path) -> None:
    config = {"template": "nb201", "mode": "tabular", "table_path": "synthetic:3",
              "search": {"population": 8, "parents": 3}, "measure_latency": False}
    run = Running(MemoryBus(), tmp_path, config, extra_generations=4)
    try:
        assert "looking accuracies up" in run.wait(state_is("running")).data["message"]
        first = run.wait(lambda e: e.type == "candidates").data["records"]
        assert all(0 < r["accuracy"] < 1 and "table_rank" in r["scores"] for r in first)
        reply = run.command("prune_op", choice_point="1<-0", op="nor_conv_3x3")
        assert reply.type == "command_ack"
        rejected = run.command("finetune", epochs=1)
        assert rejected.type == "command_rejected" and "tabular" in rejected.data["reason"]
        arch = first[0]["arch"]
        assert run.command("export", arch=arch, train_epochs=2).type == "command_rejected"
        assert run.command("export", arch=arch).type == "command_ack"
        used_up = lambda e: e.type == "session_state" and "budget" in e.data["message"]  # noqa: E731
        if not any(used_up(e) for e in run.seen):
            run.wait(used_up)
        later = [r["arch"] for e in run.seen if e.type == "candidates" and e.seq > reply.seq
                 for r in e.data["records"]]
        assert later and not any(a.startswith("|nor_conv_3x3~0|") for a in later)
    finally:
        run.stop()


def test_latency_budget_and_device_upload(tmp_path: Path) -> None:
    config = {"template": "nb201", "mode": "tabular", "table_path": "synthetic:4",
              "search": {"population": 10, "parents": 3}, "measure_latency": False}
    run = Running(MemoryBus(), tmp_path, config, extra_generations=50)
    try:
        model = run.wait(lambda e: e.type == "hardware" and e.data["predictor_srcc"] is not None)
        assert model.data["predictor_srcc"] > 0.8 and model.data["budget_ms"] is None
        refused = run.command("set_latency_budget", budget_ms=0.001)
        assert refused.type == "command_rejected" and "below every latency" in refused.data["reason"]
        table = run.worker.engine.table
        latencies = sorted(run.worker.engine.latency.measured.values())
        budget = latencies[len(latencies) // 2]
        ack = run.command("set_latency_budget", budget_ms=budget)
        assert ack.type == "command_ack" and "limited to" in ack.data["detail"]
        run.since(ack, lambda e: e.type == "hardware" and e.data["budget_ms"] == budget)
        # another device where skip connections are slow: ranks disagree, so it is adapted
        space = run.worker.engine.space
        rows = [(a, table.entry(a).latency_ms * (1 + 4 * space.from_string(a).count("skip_connect")))
                for a in table.archs[7::311]]
        csv = "arch,latency_ms\n" + "".join(f"{a},{v:.4f}\n" for a, v in rows)
        upload = run.command("device_latencies", device="npu", csv=csv)
        assert upload.type == "command_ack", upload.data
        assert upload.data["detail"].startswith("npu: ") and "so adapted" in upload.data["detail"]
        hardware = run.since(upload, lambda e: e.type == "hardware" and "npu" in e.data["devices"])
        assert hardware.data["devices"]["npu"]["adapted"]
        bad = run.command("device_latencies", device="npu", csv="arch,latency_ms\n|nope~0|,1\n")
        assert bad.type == "command_rejected" and "line 2" in bad.data["reason"]
        path = run.command("device_latencies", device="npu", csv="/etc/passwd")
        assert path.type == "command_rejected"  # a path is CSV text here, never read from disk
    finally:
        run.stop()


def test_host_starts_sessions_from_the_control_channel(tmp_path: Path) -> None:
    bus = MemoryBus()
    host = WorkerHost(bus, options(tmp_path), max_sessions=2).start()
    try:
        good, bad = f"h-{uuid.uuid4().hex[:8]}", f"h-{uuid.uuid4().hex[:8]}"
        good_sub, bad_sub = bus.subscribe(good), bus.subscribe(bad)
        bus.request_session({"session": bad, "owner": "bo", "config": {"template": "huge"}})
        bus.request_session({"session": good, "owner": "ana", "config": TINY})
        failed = _first(bad_sub, state_is("failed"))
        assert "unknown preset 'huge'" in failed.data["message"]
        running = wait_for(good_sub, state_is("running"))
        assert running.data["owner"] == "ana"
        wait_for(good_sub, lambda e: e.type == "candidates")
    finally:
        host.stop()
    assert host.busy() == 0


def _first(sub: Subscription, predicate: Callable[[Event], bool]) -> Event:
    """Like wait_for, but an error event is expected here rather than a failure."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        event = sub.get(timeout=1)
        if event is not None and predicate(event):
            return event
    pytest.fail("no matching event")


# -- crash and resume ------------------------------------------------------------------------

CRASHING_WORKER = """
import json, sys, threading
from pathlib import Path
from navigator.bus import make_bus
from navigator.commands import parse_command
from navigator.worker import SessionWorker, WorkerOptions
from supernet.configs import EngineConfig

url, session, ckpt, config = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
bus = make_bus(url or None)
bus.send_command(parse_command({"type": "prune_op", "session": session, "user": "ana",
                                "args": {"choice_point": "2<-1", "op": "nor_conv_3x3"}}))
options = WorkerOptions(checkpoint_dir=Path(ckpt), chunk_steps=1, extra_generations=1000,
                        progress_interval_s=0.0, umap=False)
worker = SessionWorker(bus, session, EngineConfig.from_dict(config), options)
sub = bus.subscribe(session)

def report():
    while True:
        event = sub.get(timeout=1)
        if event is not None and event.type in ("checkpoint", "error"):
            print(json.dumps(event.to_dict()), flush=True)

threading.Thread(target=report, daemon=True).start()
worker.run()
"""


def _crash_after_first_checkpoint(url: str, session: str, ckpt: Path) -> dict:
    config = TINY | {"train": TINY["train"] | {"epochs": 40}}
    proc = subprocess.Popen([sys.executable, "-c", CRASHING_WORKER, url, session, str(ckpt),
                             json.dumps(config)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            event = json.loads(line)
            assert event["type"] == "checkpoint", event
            break
        else:
            pytest.fail("worker subprocess exited before its first checkpoint")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return event


def _resume_and_check(bus: EventBus, session: str, tmp_path: Path, checkpoint: dict) -> None:
    saved = SearchEngine.load(checkpoint["data"]["path"])
    assert saved.trainer.epoch >= 1 and saved.archive
    after = bus.last_seq(session)
    sub = bus.subscribe(session, after_seq=after)
    worker = SessionWorker(bus, session, EngineConfig.from_dict(TINY), options(tmp_path))
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        seen: list[Event] = []
        resumed = wait_for(sub, lambda e: e.type == "session_state"
                           and "resumed from checkpoint" in e.data["message"], seen=seen)
        assert resumed.seq > after  # the sequence continues, it does not restart at 1
        steering = wait_for(sub, lambda e: e.type == "steering", seen=seen)
        assert steering.data["pruned"] == {"2<-1": ["nor_conv_3x3"]}
        assert worker.engine is not None
        assert worker.engine.trainer.epoch >= saved.trainer.epoch
        assert [r.arch for r in worker.engine.archive[:len(saved.archive)]] == \
            [r.arch for r in saved.archive]
        assert worker.engine.trainer.epochs == 40  # the checkpoint's plan, not the new config's
        wait_for(sub, lambda e: e.type == "train_progress", seen=seen)
    finally:
        send(bus, session, "stop")
        thread.join(30)


@pytest.mark.slow
def test_a_killed_worker_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    session = f"crash-{uuid.uuid4().hex[:8]}"
    checkpoint = _crash_after_first_checkpoint("", session, tmp_path / "checkpoints")
    _resume_and_check(MemoryBus(), session, tmp_path, checkpoint)


@pytest.mark.slow
@pytest.mark.redis
def test_a_killed_redis_worker_resumes_with_history_intact(tmp_path: Path,
                                                           redis_url: str) -> None:
    session = f"crash-{uuid.uuid4().hex[:8]}"
    checkpoint = _crash_after_first_checkpoint(redis_url, session, tmp_path / "checkpoints")
    bus = make_bus(redis_url)
    try:
        history = bus.history(session)
        assert [e.seq for e in history] == list(range(1, len(history) + 1))
        assert checkpoint["seq"] in [e.seq for e in history if e.type == "checkpoint"]
        _resume_and_check(bus, session, tmp_path, checkpoint)
    finally:
        bus.close()


def test_editing_the_template_of_a_paused_chain_session(tmp_path: Path) -> None:
    from supernet.space import SearchSpace
    from supernet.templates.chain import chain_tiny

    doc = chain_tiny().to_dict()
    run = Running(MemoryBus(), tmp_path, config=LONG | {"template": doc})
    try:
        run.wait(lambda e: e.type == "candidates")
        edited = json.loads(json.dumps(doc))
        edited["layers"][0]["blocks"] = edited["layers"][0]["blocks"][:1]  # only conv3x3 left
        rejected = run.command("edit_template", template=edited)
        assert rejected.type == "command_rejected" and "pause the session" in rejected.data["reason"]
        run.command("pause")
        bad = json.loads(json.dumps(edited))
        bad["layers"][1]["blocks"][0]["filters"] = 4
        reply = run.command("edit_template", template=bad)
        assert reply.type == "command_rejected" and "layer2.block" in reply.data["reason"]
        assert run.worker.engine is not None and run.worker.engine.space == SearchSpace(chain_tiny())
        reply = run.command("edit_template", template=edited)
        assert reply.type == "command_ack", reply.data
        space_event = run.since(reply, lambda e: e.type == "space")
        assert space_event.data["size"] == 648 // 3
        assert run.since(reply, state_is("paused")).data["message"].startswith("template edited")
        assert run.command("resume").type == "command_ack"
        new_space = SearchSpace.from_dict(edited)
        after = run.wait(lambda e: e.type == "candidates" and e.seq > reply.seq, timeout=60)
        assert all(new_space.from_string(r["arch"])[0] == "conv3x3" for r in after.data["records"])
        assert json.loads(json.dumps(run.worker.config.template)) == edited
    finally:
        run.stop()
    resumed = SearchEngine.load(run.worker.checkpoint_path)
    assert resumed.space == SearchSpace.from_dict(edited)
