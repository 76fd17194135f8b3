"""The recording store: every event and every analyst action of every session,
appended durably to one SQLite file, so that sessions can be listed, reopened
after a restart, replayed and exported for user-study analysis.

Each append is its own transaction in WAL mode: a killed writer loses at most the
row it was writing and never corrupts the file. The :class:`Recorder` follows the
bus from the last recorded ``seq`` of each session, so after a restart it resumes
without gaps or duplicates (the primary key ``(session, seq)`` guards that too).
Actions are the commands as the worker acknowledged or rejected them, with the
sender, the time they were sent and the outcome.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from navigator.bus import EventBus, Subscription
from navigator.events import Event

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, owner TEXT, created_ts REAL, config TEXT,
    state TEXT, last_seq INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS events (
    session TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, ts REAL NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (session, seq));
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL, seq INTEGER NOT NULL,
    command_id TEXT, user TEXT, type TEXT, args TEXT, sent_ts REAL, outcome TEXT,
    reason TEXT, UNIQUE (session, seq));
CREATE TABLE IF NOT EXISTS studies (
    name TEXT PRIMARY KEY, spec TEXT NOT NULL, created_ts REAL);
CREATE TABLE IF NOT EXISTS study_sessions (
    session TEXT PRIMARY KEY, study TEXT NOT NULL, participant TEXT NOT NULL,
    condition TEXT NOT NULL, joined_ts REAL, time_limit_s REAL);
"""
# studies / study_sessions (navigator/study.py) came later: CREATE IF NOT EXISTS adds them to
# older files on open, which stay readable. Membership is indexed from the session's ``study``
# event, so whichever process records the stream records who sat at it.
STUDY_SESSION_COLUMNS = ("session", "study", "participant", "condition", "joined_ts",
                         "time_limit_s")
ACTION_COLUMNS = ("session", "seq", "command_id", "user", "type", "args", "sent_ts", "outcome",
                  "reason")


@dataclass
class SessionInfo:
    id: str
    owner: str
    created_ts: float
    state: str
    last_seq: int
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class SessionHistory:
    """A reopened session: its summary, every event and the last steering state."""

    info: SessionInfo
    events: list[Event]
    actions: list[dict[str, Any]]
    steering: dict[str, Any] | None


class RecordingStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{self.path} is not a usable recording database: {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def append(self, event: Event) -> bool:
        """Record one event (and the action it reports); False if it was already there."""
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.execute("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?)",
                            (event.session, event.seq, event.type, event.ts,
                             json.dumps(event.data)))
                inserted = cur.rowcount == 1
                if inserted:
                    self._index(cur, event)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return inserted

    def _index(self, cur: sqlite3.Cursor, event: Event) -> None:
        d = event.data
        cur.execute("INSERT OR IGNORE INTO sessions (id, owner, created_ts, config, state) "
                    "VALUES (?, '', ?, '{}', 'created')", (event.session, event.ts))
        cur.execute("UPDATE sessions SET last_seq = MAX(last_seq, ?) WHERE id = ?",
                    (event.seq, event.session))
        if event.type == "session_state":
            cur.execute("UPDATE sessions SET state = ? WHERE id = ?", (d["state"], event.session))
            if d.get("owner"):
                cur.execute("UPDATE sessions SET owner = ? WHERE id = ?", (d["owner"], event.session))
            if d.get("config"):
                cur.execute("UPDATE sessions SET config = ? WHERE id = ?",
                            (json.dumps(d["config"]), event.session))
        elif event.type in ("command_ack", "command_rejected"):
            cur.execute(
                "INSERT OR IGNORE INTO actions (session, seq, command_id, user, type, args, "
                "sent_ts, outcome, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (event.session, event.seq, d["command_id"], d["user"], d["command"],
                 json.dumps(d.get("args", {})), d.get("sent_ts") or event.ts,
                 "ack" if event.type == "command_ack" else "rejected", d.get("reason", "")))
        elif event.type == "ui_action":  # UI-only actions are actions too, outcome 'ui'
            cur.execute(
                "INSERT OR IGNORE INTO actions (session, seq, command_id, user, type, args, "
                "sent_ts, outcome, reason) VALUES (?, ?, '', ?, ?, ?, ?, 'ui', '')",
                (event.session, event.seq, d.get("user", ""), d["kind"],
                 json.dumps(d.get("detail", {})), event.ts))
        elif event.type == "study":
            cur.execute("INSERT OR REPLACE INTO study_sessions VALUES (?, ?, ?, ?, ?, ?)",
                        (event.session, d["study"], d["participant"], d["condition"], event.ts,
                         d.get("time_limit_s")))

    def last_seq(self, session: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT MAX(seq) FROM events WHERE session = ?",
                                   (session,)).fetchone()
        return int(row[0] or 0)

    def sessions(self) -> list[SessionInfo]:
        with self._lock:
            rows = self._db.execute("SELECT id, owner, created_ts, state, last_seq, config "
                                    "FROM sessions ORDER BY created_ts").fetchall()
        return [SessionInfo(r[0], r[1], r[2], r[3], r[4], json.loads(r[5] or "{}")) for r in rows]

    def session(self, session: str) -> SessionInfo:
        for info in self.sessions():
            if info.id == session:
                return info
        raise ValueError(f"no recorded session {session!r}; `navigator sessions list` shows them")

    def events(self, session: str, after_seq: int = 0) -> list[Event]:
        with self._lock:
            rows = self._db.execute("SELECT seq, type, ts, data FROM events WHERE session = ? "
                                    "AND seq > ? ORDER BY seq", (session, after_seq)).fetchall()
        return [Event(type=t, session=session, data=json.loads(d), seq=s, ts=ts)
                for s, t, ts, d in rows]

    def actions(self, session: str | None = None) -> list[dict[str, Any]]:
        query = f"SELECT {', '.join(ACTION_COLUMNS)} FROM actions"
        params: tuple = ()
        if session is not None:
            query += " WHERE session = ?"
            params = (session,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY session, seq", params).fetchall()
        return [dict(zip(ACTION_COLUMNS, r)) | {"args": json.loads(r[5])} for r in rows]

    def save_study(self, name: str, spec: dict[str, Any]) -> None:
        """Create or replace a study definition (validated by :class:`navigator.study.Study`)."""
        with self._lock:
            self._db.execute("INSERT INTO studies VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE "
                             "SET spec = excluded.spec", (name, json.dumps(spec), time.time()))

    def study_specs(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT spec FROM studies ORDER BY created_ts").fetchall()
        return [json.loads(r[0]) for r in rows]

    def study_sessions(self, study: str | None = None) -> list[dict[str, Any]]:
        """Who sat at which session of a study (all studies when ``study`` is None)."""
        query = f"SELECT {', '.join(STUDY_SESSION_COLUMNS)} FROM study_sessions"
        params: tuple = ()
        if study is not None:
            query += " WHERE study = ?"
            params = (study,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY joined_ts", params).fetchall()
        return [dict(zip(STUDY_SESSION_COLUMNS, r)) for r in rows]

    def reopen(self, session: str) -> SessionHistory:
        info = self.session(session)
        events = self.events(session)
        steering = next((e.data for e in reversed(events) if e.type == "steering"), None)
        return SessionHistory(info, events, self.actions(session), steering)

    def replay(self, session: str, speed: float = 1.0,
               sleep: Callable[[float], None] = time.sleep) -> Iterator[Event]:
        """The session's events in order, paced by their recorded timestamps divided by ``speed``."""
        if speed <= 0:
            raise ValueError(f"replay speed must be > 0, got {speed}")
        previous = None
        for event in self.events(session):
            if previous is not None:
                sleep(max(event.ts - previous, 0.0) / speed)
            previous = event.ts
            yield event

    def export(self, session: str, out_dir: str | Path, fmt: str = "jsonl") -> dict[str, Path]:
        """Write an events table and an actions table (``jsonl`` or ``csv``) for analysis."""
        if fmt not in ("jsonl", "csv"):
            raise ValueError(f"export format must be 'jsonl' or 'csv', got {fmt!r}")
        self.session(session)
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        events = [e.to_dict() for e in self.events(session)]
        actions = self.actions(session)
        paths = {"events": out / f"{session}-events.{fmt}", "actions": out / f"{session}-actions.{fmt}"}
        for key, rows in (("events", events), ("actions", actions)):
            with paths[key].open("w", newline="") as fh:
                if fmt == "jsonl":
                    fh.writelines(json.dumps(r) + "\n" for r in rows)
                else:
                    columns = (["session", "seq", "type", "ts", "data"] if key == "events"
                               else list(ACTION_COLUMNS))
                    writer = csv.DictWriter(fh, columns, extrasaction="ignore")
                    writer.writeheader()
                    for r in rows:
                        writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v
                                         for k, v in r.items()})
        return paths


class Recorder:
    """Follows every session on the bus and appends its events to the store."""

    def __init__(self, bus: EventBus, store: RecordingStore, poll_s: float = 0.5) -> None:
        self.bus = bus
        self.store = store
        self.poll_s = poll_s
        self._subs: dict[str, Subscription] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)

    def start(self) -> Recorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sub in self._subs.values():
            sub.close()

    def record_available(self) -> int:
        """Append whatever is on the bus now; returns how many events were recorded."""
        for session in self.bus.sessions():
            if session not in self._subs:
                self._subs[session] = self.bus.subscribe(session, self.store.last_seq(session))
        count = 0
        for sub in self._subs.values():
            for event in sub.drain(0):
                count += self.store.append(event)
        return count

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.record_available():
                    self._stop.wait(self.poll_s)
            except Exception:  # noqa: BLE001 - a bus hiccup must not end the recording
                self._stop.wait(self.poll_s)
