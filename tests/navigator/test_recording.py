"""Recording store on a real SQLite file: every event and action appended durably,
sessions listed and reopened, replay pacing, JSONL/CSV export, a recorder that
follows the bus across restarts, and a writer killed with SIGKILL mid-stream."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from navigator.bus import EventBus, MemoryBus, make_bus
from navigator.events import (
    CommandAck,
    CommandRejected,
    Error,
    Event,
    SessionState,
    Steering,
)
from navigator.recording import Recorder, RecordingStore, SessionInfo

STEERING = {"pruned": {"1<-0": ["none"]}, "locked": {}, "weights": {}, "focus": [],
            "space_size": 4}


@dataclass
class SessionHistory:
    """A reopened session: its summary, every event and the last steering state."""

    info: SessionInfo
    events: list[Event]
    actions: list[dict[str, Any]]
    steering: dict[str, Any] | None


def reopen(store: RecordingStore, session: str) -> SessionHistory:
    """What the UI rebuilds a recorded session from, through the store's public API."""
    events = store.events(session)
    steering = next((e.data for e in reversed(events) if e.type == "steering"), None)
    return SessionHistory(store.session(session), events, store.actions(session), steering)


def event(session: str, seq: int, payload, ts: float = 1000.0) -> Event:
    e = Event.of(session, payload)
    e.seq, e.ts = seq, ts
    return e


@pytest.fixture
def store(tmp_path: Path):
    store = RecordingStore(tmp_path / "data" / "recordings.sqlite")
    yield store
    store.close()


def fill(store: RecordingStore, session: str = "s1") -> list[Event]:
    events = [
        event(session, 1, SessionState(state="running", owner="ana", config={"seed": 3}), 100.0),
        event(session, 2, CommandAck(command_id="c1", command="prune_op", user="ana",
                                     args={"choice_point": "1<-0", "op": "none"}, sent_ts=100.5),
              101.0),
        event(session, 3, Steering(**STEERING), 101.5),
        event(session, 4, CommandRejected(command_id="c2", command="prune_op", user="bo",
                                          reason="last remaining op", sent_ts=102.0), 103.0),
        event(session, 5, SessionState(state="paused", owner="ana"), 105.0),
    ]
    for e in events:
        assert store.append(e) is True
    return events


def test_file_is_wal_and_created_under_the_data_dir(store: RecordingStore) -> None:
    assert store.path.exists()
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "events", "actions"} <= tables


def test_events_are_stored_once_in_seq_order(store: RecordingStore) -> None:
    events = fill(store)
    assert store.append(events[2]) is False  # a replayed duplicate is ignored
    assert store.last_seq("s1") == 5 and store.last_seq("nobody") == 0
    got = store.events("s1")
    assert [e.to_dict() for e in got] == [e.to_dict() for e in events]
    assert [e.seq for e in store.events("s1", after_seq=3)] == [4, 5]


def test_sessions_summarise_owner_state_and_config(store: RecordingStore) -> None:
    fill(store, "s1")
    store.append(event("s2", 1, Error(message="x"), 200.0))
    infos = store.sessions()
    assert [i.id for i in infos] == ["s1", "s2"]
    s1 = store.session("s1")
    assert (s1.owner, s1.state, s1.last_seq, s1.config) == ("ana", "paused", 5, {"seed": 3})
    assert s1.created_ts == 100.0
    with pytest.raises(ValueError, match="no recorded session 'zzz'"):
        store.session("zzz")


def test_actions_keep_user_time_and_outcome(store: RecordingStore) -> None:
    fill(store)
    actions = store.actions("s1")
    assert [(a["command_id"], a["user"], a["outcome"]) for a in actions] == [
        ("c1", "ana", "ack"), ("c2", "bo", "rejected")]
    assert actions[0]["args"] == {"choice_point": "1<-0", "op": "none"}
    assert actions[0]["sent_ts"] == 100.5
    assert actions[1]["reason"] == "last remaining op"


def test_reopen_gives_full_history_and_last_steering(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    first = RecordingStore(path)
    fill(first)
    first.close()
    again = RecordingStore(path)
    history = reopen(again, "s1")
    assert [e.seq for e in history.events] == [1, 2, 3, 4, 5]
    assert history.steering == STEERING
    assert history.info.state == "paused" and len(history.actions) == 2
    again.close()


def test_replay_scales_recorded_delays(store: RecordingStore) -> None:
    fill(store)
    slept: list[float] = []
    replayed = list(store.replay("s1", speed=4.0, sleep=slept.append))
    assert [e.seq for e in replayed] == [1, 2, 3, 4, 5]
    assert slept == pytest.approx([0.25, 0.125, 0.375, 0.5])
    with pytest.raises(ValueError, match="replay speed must be > 0"):
        list(store.replay("s1", speed=0))


def test_export_jsonl_and_csv(store: RecordingStore, tmp_path: Path) -> None:
    events = fill(store)
    paths = store.export("s1", tmp_path / "out", fmt="jsonl")
    lines = paths["events"].read_text().splitlines()
    assert [json.loads(x) for x in lines] == [e.to_dict() for e in events]
    assert len(paths["actions"].read_text().splitlines()) == 2

    paths = store.export("s1", tmp_path / "out", fmt="csv")
    with paths["events"].open() as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["seq"]) for r in rows] == [1, 2, 3, 4, 5]
    assert json.loads(rows[2]["data"]) == STEERING
    with paths["actions"].open() as fh:
        actions = list(csv.DictReader(fh))
    assert [a["user"] for a in actions] == ["ana", "bo"]
    assert json.loads(actions[0]["args"]) == {"choice_point": "1<-0", "op": "none"}

    with pytest.raises(ValueError, match="'csv' or 'jsonl', got 'xlsx'"):
        store.export("s1", tmp_path, fmt="xlsx")
    with pytest.raises(ValueError, match="no recorded session"):
        store.export("nope", tmp_path)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ValueError, match="is not a usable recording database"):
        RecordingStore(path)


def _record_from(bus: EventBus, path: Path, sessions: list[str]) -> None:
    for i in range(3):
        for s in sessions:
            bus.publish(s, Error(message=f"m{i}"))
    store = RecordingStore(path)
    recorder = Recorder(bus, store)
    recorder.record_available()
    for s in sessions:
        assert [e.seq for e in store.events(s)] == [1, 2, 3]
    for s in sessions:
        bus.publish(s, Error(message="while down"))  # published while no recorder runs
    store.close()

    store = RecordingStore(path)  # a restarted recorder resumes from the stored seq
    recorder = Recorder(bus, store, poll_s=0.05).start()
    for s in sessions:
        bus.publish(s, Error(message="live"))
    try:
        import time

        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(store.last_seq(s) < 5 for s in sessions):
            time.sleep(0.05)
        for s in sessions:
            events = store.events(s)
            assert [e.seq for e in events] == [1, 2, 3, 4, 5]
            assert [e.data["message"] for e in events][-2:] == ["while down", "live"]
    finally:
        recorder.stop()
        store.close()


def test_recorder_follows_a_memory_bus_across_restarts(tmp_path: Path) -> None:
    _record_from(MemoryBus(), tmp_path / "r.sqlite", ["a", "b"])


@pytest.mark.redis
def test_recorder_follows_a_redis_bus_across_restarts(tmp_path: Path, redis_url: str) -> None:
    bus = make_bus(redis_url)
    try:
        tag = uuid.uuid4().hex[:8]
        _record_from(bus, tmp_path / "r.sqlite", [f"rec-{tag}-a", f"rec-{tag}-b"])
    finally:
        bus.close()


WRITER = """
import sys
from navigator.events import Error, Event
from navigator.recording import RecordingStore

store = RecordingStore(sys.argv[1])
seq = 0
while True:
    seq += 1
    e = Event.of("crash", Error(message="x" * 200, detail=str(seq)))
    e.seq = seq
    store.append(e)
    print(seq, flush=True)
"""


def test_killed_writer_leaves_a_consistent_file(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parents[2])
    committed = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        committed = int(line)
        if committed >= 300:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = RecordingStore(path)
    seqs = [e.seq for e in store.events("crash")]
    store.close()
    assert len(seqs) >= committed  # every acknowledged append is there ...
    assert seqs == list(range(1, len(seqs) + 1))  # ... without gaps
