"""Exports from a session's worker: trained ones saved as a new version with the metrics of
the saved files, and exports of a stopped session carried out from its checkpoint (any other
command to a stopped session is rejected at once, with a reason)."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from navigator.bus import MemoryBus
from navigator.commands import CommandError, parse_command
from navigator.events import Event
from navigator.hub import LiveHub
from navigator.worker import run_export_job
from navigator.worker_host import WorkerHost
from tests.navigator.test_worker import TINY, Running, options, reply_to, send, state_is, wait_for


def _md5(path: str | Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def _exported(events: list[Event]) -> Event:
    return [e for e in events if e.type == "exported"][-1]


def test_trained_export_is_saved_as_a_new_version_with_its_metrics(tmp_path: Path) -> None:
    run = Running(MemoryBus(), tmp_path)
    try:
        run.wait(lambda e: e.type == "session_state" and "budget" in e.data["message"])
        assert run.worker.engine is not None
        best = run.worker.engine.leaderboard(1)[0].arch
        assert run.command("export", arch=best).type == "command_ack"
        copied = _exported(run.bus.history(run.session)).data
        reply = run.command("export", arch=best, train_epochs=2)
        assert reply.type == "command_ack" and "test accuracy" in reply.data["detail"]
        trained = _exported(run.bus.history(run.session)).data
    finally:
        run.stop()
    assert (Path(copied["folder"]).name, Path(trained["folder"]).name) == ("v1", "v2")
    assert trained["version"] == 2 and Path(trained["files"]["model"]).parent.name == "v2"
    assert _md5(copied["files"]["weights"]) != _md5(trained["files"]["weights"])
    doc = json.loads(Path(trained["files"]["json"]).read_text())
    assert doc["metrics"] == trained["metrics"] and 0 < doc["metrics"]["test_accuracy"] <= 1
    assert [p["epoch"] for p in trained["metrics"]["curve"]] == [1, 2]
    assert json.loads(Path(copied["files"]["json"]).read_text())["metrics"]["test_accuracy"] > 0


def test_export_after_stop_is_carried_out_from_the_checkpoint(tmp_path: Path) -> None:
    bus = MemoryBus()
    host = WorkerHost(bus, options(tmp_path)).start()
    hub = LiveHub(bus, SimpleNamespace(emit=lambda *a, **k: None))
    try:
        session = hub.start_session(TINY, owner="local")
        sub, seen = bus.subscribe(session), list[Event]()
        wait_for(sub, lambda e: e.type == "session_state" and "budget" in e.data["message"],
                 timeout=60, seen=seen)
        best = [e for e in seen if e.type == "leaderboard"][-1].data["records"][0]["arch"]
        hub.send(session, "stop")
        wait_for(sub, state_is("stopped"), seen=seen)
        host.workers[session][1].join(30)
        command = hub.send(session, "export", {"arch": best})
        reply = wait_for(sub, reply_to(command.id), timeout=60, seen=seen)
        assert reply.type == "command_ack", reply.data
        exported = _exported(seen).data
        assert exported["arch"] == best and Path(exported["files"]["weights"]).exists()
        assert exported["metrics"]["test_accuracy"] > 0
        for kind in ("resume", "pause", "finetune"):
            with pytest.raises(CommandError, match=f"has stopped: {kind} cannot be carried out"):
                hub.send(session, kind, {"epochs": 1} if kind == "finetune" else {})
        rejected = [e for e in bus.history(session) if e.type == "command_rejected"]
        assert [e.data["command"] for e in rejected] == ["resume", "pause", "finetune"]
        states = [e for e in bus.history(session) if e.type == "session_state"]
        assert states[-1].data["state"] == "stopped"
        restarted = LiveHub(bus, SimpleNamespace(emit=lambda *a, **k: None))  # no view yet
        with pytest.raises(CommandError, match="has stopped: resume"):
            restarted.send(session, "resume")
        restarted.close()
    finally:
        hub.close()
        host.stop()


def test_export_job_without_a_checkpoint_is_rejected_with_a_reason(tmp_path: Path) -> None:
    bus = MemoryBus()
    command = parse_command({"type": "export", "session": "s-none", "user": "ana",
                             "id": uuid.uuid4().hex, "args": {"arch": "|none~0|"}})
    run_export_job(bus, {"session": "s-none", "owner": "ana", "config": TINY, "state": "failed",
                         "command": command.to_dict()}, options(tmp_path))
    [reply] = [e for e in bus.history("s-none") if e.type in ("command_ack", "command_rejected")]
    assert reply.type == "command_rejected"
    assert "failed before its first checkpoint" in reply.data["reason"]


def test_commands_that_arrive_while_stopping_are_answered(tmp_path: Path) -> None:
    run = Running(MemoryBus(), tmp_path)
    run.wait(lambda e: e.type == "session_state" and "budget" in e.data["message"])
    assert run.worker.engine is not None
    best = run.worker.engine.leaderboard(1)[0].arch
    run.stop()
    export = send(run.bus, run.session, "export", arch=best)  # queued after the worker let go
    resume = send(run.bus, run.session, "resume")
    run.worker._answer_after_stop()  # what the worker does right after publishing "stopped"
    replies = {e.data["command_id"]: e for e in run.bus.history(run.session)
               if e.type in ("command_ack", "command_rejected")}
    assert replies[export].type == "command_ack"
    assert replies[resume].type == "command_rejected"
    assert "has stopped; resume cannot be carried out" in replies[resume].data["reason"]
