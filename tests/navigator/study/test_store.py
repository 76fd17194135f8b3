"""Studies and their membership persist in the recording file, old files stay readable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from navigator.recording import RecordingStore
from navigator.study import Study, get_study, list_studies, save_study
from tests.navigator.study.sample import T0, study_events


def test_studies_persist_with_their_sessions(tmp_path: Path) -> None:
    path = tmp_path / "recordings.sqlite"
    store = RecordingStore(path)
    save_study(store, Study(name="pilot", conditions=["human-in-the-loop", "automated"],
                            time_limit_s=300))
    for e in study_events():
        store.append(e)
    store.close()
    store = RecordingStore(path)  # reopened: definitions and membership come back
    study = get_study(store, "pilot")
    assert study.time_limit_s == 300.0
    assert [(m.session, m.participant, m.condition, m.time_limit_s) for m in study.sessions] == [
        ("s1", "P1", "human-in-the-loop", 300.0)]
    save_study(store, Study(name="pilot", conditions=["x"]))  # replaced, not duplicated
    assert [s.conditions for s in list_studies(store)] == [["x"]]
    with pytest.raises(ValueError, match="no study 'nope'"):
        get_study(store, "nope")
    # UI actions are action rows too, with the participant as user
    ui = [a for a in store.actions("s1") if a["outcome"] == "ui"]
    assert ui == [{"session": "s1", "seq": 5, "command_id": "", "user": "P1", "type": "map_color",
                   "args": {"color": "params"}, "sent_ts": T0 + 18, "outcome": "ui", "reason": ""}]
    store.close()


def test_a_recording_file_from_before_study_mode_stays_readable(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE sessions (id TEXT PRIMARY KEY, owner TEXT, created_ts REAL, config TEXT,
                                   state TEXT, last_seq INTEGER DEFAULT 0);
            CREATE TABLE events (session TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL,
                                 ts REAL NOT NULL, data TEXT NOT NULL, PRIMARY KEY (session, seq));
            CREATE TABLE actions (id INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL,
                                  seq INTEGER NOT NULL, command_id TEXT, user TEXT, type TEXT,
                                  args TEXT, sent_ts REAL, outcome TEXT, reason TEXT,
                                  UNIQUE (session, seq));
            INSERT INTO sessions VALUES ('old', 'ana', 1.0, '{}', 'stopped', 1);
            INSERT INTO events VALUES ('old', 1, 'session_state', 1.0, '{"state": "stopped"}');
        """)
    store = RecordingStore(path)
    assert [e.seq for e in store.events("old")] == [1]
    assert list_studies(store) == [] and store.study_sessions() == []
    store.close()

