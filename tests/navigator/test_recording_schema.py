"""Recording files across versions and users: ``PRAGMA user_version`` migrations bring an
old file up to date with its data intact, a newer file or a newer event is refused by name
instead of misread, and the file, its WAL companions and exports are created 0600."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest

from navigator.events import SCHEMA_VERSION, Error, Event, SessionState
from navigator.recording import MIGRATIONS, RECORDING_VERSION, RecordingStore

UNVERSIONED = """
CREATE TABLE sessions (id TEXT PRIMARY KEY, owner TEXT, created_ts REAL, config TEXT,
    state TEXT, last_seq INTEGER DEFAULT 0);
CREATE TABLE events (session TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL,
    ts REAL NOT NULL, data TEXT NOT NULL, PRIMARY KEY (session, seq));
CREATE TABLE actions (id INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL,
    seq INTEGER NOT NULL, command_id TEXT, user TEXT, type TEXT, args TEXT, sent_ts REAL,
    outcome TEXT, reason TEXT, UNIQUE (session, seq));
INSERT INTO sessions VALUES ('old', 'ana', 50.0, '{"seed": 1}', 'stopped', 2);
INSERT INTO events VALUES ('old', 1, 'session_state', 50.0,
    '{"state": "running", "message": "", "owner": "ana", "config": {"seed": 1}}');
INSERT INTO events VALUES ('old', 2, 'error', 51.0, '{"message": "boom", "detail": ""}');
INSERT INTO actions (session, seq, command_id, user, type, args, sent_ts, outcome, reason)
    VALUES ('old', 2, 'c1', 'ana', 'pause', '{}', 50.5, 'ack', '');
"""
"""A recording as navigator wrote it before files carried a version (and before studies)."""


def _event(session: str, seq: int, payload, ts: float = 100.0) -> Event:
    e = Event.of(session, payload)
    e.seq, e.ts = seq, ts
    return e


def _user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def test_a_new_file_is_at_the_current_version(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "r.sqlite")
    store.close()
    assert _user_version(tmp_path / "r.sqlite") == RECORDING_VERSION == len(MIGRATIONS)


def test_an_unversioned_file_is_migrated_with_its_data_intact(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(UNVERSIONED)
    assert _user_version(path) == 0
    store = RecordingStore(path)
    try:
        assert [(e.seq, e.type, e.schema) for e in store.events("old")] == [
            (1, "session_state", SCHEMA_VERSION), (2, "error", SCHEMA_VERSION)]
        assert store.events("old")[1].data == {"message": "boom", "detail": ""}
        info = store.session("old")
        assert (info.owner, info.state, info.config) == ("ana", "stopped", {"seed": 1})
        assert [a["command_id"] for a in store.actions("old")] == ["c1"]
        assert store.study_specs() == []  # the studies tables were added
        assert store.append(_event("old", 3, Error(message="after")))
        assert [e.seq for e in store.events("old")] == [1, 2, 3]
    finally:
        store.close()
    assert _user_version(path) == RECORDING_VERSION
    again = RecordingStore(path)  # reopening a migrated file changes nothing
    assert [e.seq for e in again.events("old")] == [1, 2, 3]
    again.close()


def test_each_migration_step_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite"
    with sqlite3.connect(path) as db:  # a file at version 1: the tables, no event schema
        for statement in MIGRATIONS[0]:
            db.execute(statement)
        db.execute("PRAGMA user_version = 1")
        db.execute("INSERT INTO events VALUES ('s', 1, 'error', 1.0, "
                   "'{\"message\": \"m\", \"detail\": \"\"}')")
    store = RecordingStore(path)
    assert [e.data["message"] for e in store.events("s")] == ["m"]
    store.close()
    with sqlite3.connect(path) as db:
        columns = [r[1] for r in db.execute("PRAGMA table_info(events)")]
    assert "event_schema" in columns and _user_version(path) == RECORDING_VERSION


def test_a_file_from_a_newer_navigator_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    RecordingStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {RECORDING_VERSION + 5}")
    before = path.read_bytes()
    with pytest.raises(ValueError, match=rf"new.sqlite is a recording of schema version "
                                         rf"{RECORDING_VERSION + 5}.*up to {RECORDING_VERSION}"):
        RecordingStore(path)
    assert path.read_bytes() == before


def test_an_event_of_a_newer_schema_is_refused_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    store = RecordingStore(path)
    store.append(_event("s", 1, SessionState(state="running", owner="ana")))
    newer = Event(type="error", session="s", data={"text": "renamed field"}, seq=2, ts=101.0,
                  schema=SCHEMA_VERSION + 1)
    store.append(newer)
    with pytest.raises(ValueError, match=rf"r.sqlite: event 2 of session 's' has event schema "
                                         rf"{SCHEMA_VERSION + 1}.*reads event schema "
                                         rf"{SCHEMA_VERSION}"):
        store.events("s")
    with pytest.raises(ValueError, match="event schema"):
        store.export("s", tmp_path / "out")
    assert [e.seq for e in store.events("s", after_seq=2)] == []
    assert store.session("s").owner == "ana"  # summaries do not parse events
    store.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_created_readable_by_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "recordings.sqlite"
    store = RecordingStore(path)
    try:
        store.append(_event("s", 1, SessionState(state="running", owner="ana",
                                                 config={"secret": "x"})))
        companions = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
        assert all(p.exists() for p in companions)
        assert [_mode(p) for p in [path, *companions]] == [0o600] * 3
        for fmt in ("jsonl", "csv"):
            paths = store.export("s", tmp_path / "out", fmt=fmt)
            assert [_mode(p) for p in paths.values()] == [0o600, 0o600]
            assert "running" in paths["events"].read_text()
    finally:
        store.close()


def test_a_world_readable_file_is_tightened_on_open(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    RecordingStore(path).close()
    path.chmod(0o644)
    (tmp_path / "out").mkdir()
    loose = tmp_path / "out" / "s-events.jsonl"
    loose.write_text("stale")
    loose.chmod(0o644)
    store = RecordingStore(path)
    store.append(_event("s", 1, Error(message="m")))
    assert _mode(path) == 0o600
    paths = store.export("s", tmp_path / "out")
    assert _mode(paths["events"]) == 0o600
    assert [json.loads(x)["seq"] for x in paths["events"].read_text().splitlines()] == [1]
    store.close()
