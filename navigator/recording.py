"""The recording store: every event and every analyst action of every session,
appended durably to one SQLite file, so that sessions can be listed, reopened
after a restart, replayed and exported for user-study analysis.

Each append is its own transaction in WAL mode: a killed writer loses at most the
row it was writing and never corrupts the file. The :class:`Recorder` follows the
bus from the last recorded ``seq`` of each session, so after a restart it resumes
without gaps or duplicates (the primary key ``(session, seq)`` guards that too).
Actions are the commands as the worker acknowledged or rejected them, with the
sender, the time they were sent and the outcome.

The file carries its schema version (``PRAGMA user_version``, upgraded on open by
:data:`MIGRATIONS`) and each event row its wire schema, so an old recording is migrated
and one from a newer navigator refused by name, never misread. The file, its WAL
companions and the exports are created 0600.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from navigator.bus import EventBus, Subscription
from navigator.events import SCHEMA_VERSION, Event
from navigator.tabular_io import check_format, private_file, write_rows

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the tables as first released. IF NOT EXISTS: a file from before versioning
    # (user_version 0) holds them already, or all but the studies tables, which came later.
    ("CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, owner TEXT, created_ts REAL, "
     "config TEXT, state TEXT, last_seq INTEGER DEFAULT 0)",
     "CREATE TABLE IF NOT EXISTS events (session TEXT NOT NULL, seq INTEGER NOT NULL, "
     "type TEXT NOT NULL, ts REAL NOT NULL, data TEXT NOT NULL, PRIMARY KEY (session, seq))",
     "CREATE TABLE IF NOT EXISTS actions (id INTEGER PRIMARY KEY AUTOINCREMENT, "
     "session TEXT NOT NULL, seq INTEGER NOT NULL, command_id TEXT, user TEXT, type TEXT, "
     "args TEXT, sent_ts REAL, outcome TEXT, reason TEXT, UNIQUE (session, seq))",
     "CREATE TABLE IF NOT EXISTS studies (name TEXT PRIMARY KEY, spec TEXT NOT NULL, "
     "created_ts REAL)",
     "CREATE TABLE IF NOT EXISTS study_sessions (session TEXT PRIMARY KEY, study TEXT NOT NULL, "
     "participant TEXT NOT NULL, condition TEXT NOT NULL, joined_ts REAL, time_limit_s REAL)"),
    # 2: each event's wire schema (navigator.events.SCHEMA_VERSION); earlier rows were schema 1
    ("ALTER TABLE events ADD COLUMN event_schema INTEGER NOT NULL DEFAULT 1",),
)
"""The file's schema, one entry per version: entry ``i`` upgrades ``PRAGMA user_version`` i to
i + 1, so any older file is brought up to date on open and a newer one is refused. When
``events.SCHEMA_VERSION`` moves on, a new entry rewrites the stored event rows to it."""
RECORDING_VERSION = len(MIGRATIONS)
# Membership in study_sessions is indexed from the session's ``study`` event, so whichever
# process records the stream records who sat at it.
STUDY_SESSION_COLUMNS = ("session", "study", "participant", "condition", "joined_ts",
                         "time_limit_s")
ACTION_COLUMNS = ("session", "seq", "command_id", "user", "type", "args", "sent_ts", "outcome",
                  "reason")
EVENT_COLUMNS = ("schema", "type", "session", "seq", "ts", "data")  # as Event.to_dict
EVENT_CSV_COLUMNS = ("session", "seq", "type", "ts", "data")


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


@contextlib.contextmanager
def _transaction(cur: sqlite3.Cursor) -> Iterator[None]:
    """One write transaction, rolled back on any error. IMMEDIATE takes the write lock up
    front, so a second writer waits at BEGIN instead of failing half-way through."""
    cur.execute("BEGIN IMMEDIATE")
    try:
        yield
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise


class RecordingStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        for suffix in ("", "-wal", "-shm"):
            sibling = self.path.with_name(self.path.name + suffix)
            if not suffix or sibling.exists():
                private_file(sibling)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{self.path} is not a usable recording database: {exc}") from None

    def _migrate(self) -> None:
        """Bring the file to :data:`RECORDING_VERSION`, each step in one transaction with its
        version number, so a crash mid-way leaves the file at the last completed version."""
        cur = self._db.cursor()
        while (version := int(cur.execute("PRAGMA user_version").fetchone()[0])
               ) != RECORDING_VERSION:
            if not 0 <= version < RECORDING_VERSION:
                self._db.close()
                raise ValueError(
                    f"{self.path} is a recording of schema version {version}; this navigator "
                    f"reads versions up to {RECORDING_VERSION}: open it with the navigator "
                    "version that wrote it")
            with _transaction(cur):
                # another process may have migrated it between our read and our lock
                if int(cur.execute("PRAGMA user_version").fetchone()[0]) == version:
                    for statement in MIGRATIONS[version]:
                        cur.execute(statement)
                    cur.execute(f"PRAGMA user_version = {version + 1}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def append(self, event: Event) -> bool:
        """Record one event (and the action it reports); False if it was already there."""
        with self._lock:
            cur = self._db.cursor()
            with _transaction(cur):
                cur.execute("INSERT OR IGNORE INTO events (session, seq, type, ts, data, "
                            "event_schema) VALUES (?, ?, ?, ?, ?, ?)",
                            (event.session, event.seq, event.type, event.ts,
                             json.dumps(event.data), event.schema))
                inserted = cur.rowcount == 1
                if inserted:
                    self._index(cur, event)
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

    def best_accuracy(self, session: str) -> float | None:
        """The top accuracy of the session's last recorded leaderboard (None before one)."""
        with self._lock:
            row = self._db.execute("SELECT data FROM events WHERE session = ? AND type = "
                                   "'leaderboard' ORDER BY seq DESC LIMIT 1", (session,)).fetchone()
        records = json.loads(row[0]).get("records") or [] if row else []
        scores = [r.get("accuracy") for r in records if isinstance(r, dict)]
        return max((s for s in scores if isinstance(s, (int, float))), default=None)

    def session(self, session: str) -> SessionInfo:
        for info in self.sessions():
            if info.id == session:
                return info
        raise ValueError(f"no recorded session {session!r}; `navigator sessions list` shows them")

    def events(self, session: str, after_seq: int = 0) -> list[Event]:
        """The session's events in order; ValueError for an event this version cannot read
        (written by a newer navigator), rather than handing out a payload it would misread."""
        with self._lock:
            rows = self._db.execute("SELECT seq, type, ts, data, event_schema FROM events "
                                    "WHERE session = ? AND seq > ? ORDER BY seq",
                                    (session, after_seq)).fetchall()
        for seq, _, _, _, schema in rows:
            if schema != SCHEMA_VERSION:
                raise ValueError(
                    f"{self.path}: event {seq} of session {session!r} has event schema "
                    f"{schema}; this navigator reads event schema {SCHEMA_VERSION}: open the "
                    "recording with the navigator version that wrote it")
        return [Event(type=t, session=session, data=json.loads(d), seq=s, ts=ts)
                for s, t, ts, d, _ in rows]

    def _select(self, table: str, columns: Sequence[str], order: str,
                **equal: str | None) -> list[dict[str, Any]]:
        """``columns`` of the rows of ``table`` whose named columns equal the given values
        (None: any value); table and column names are this module's constants, never input."""
        wanted = {column: value for column, value in equal.items() if value is not None}
        query = f"SELECT {', '.join(columns)} FROM {table}"
        if wanted:
            query += " WHERE " + " AND ".join(f"{column} = ?" for column in wanted)
        with self._lock:
            rows = self._db.execute(f"{query} ORDER BY {order}", tuple(wanted.values())).fetchall()
        return [dict(zip(columns, r)) for r in rows]

    def actions(self, session: str | None = None) -> list[dict[str, Any]]:
        return [row | {"args": json.loads(row["args"])}
                for row in self._select("actions", ACTION_COLUMNS, "session, seq", session=session)]

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
        return self._select("study_sessions", STUDY_SESSION_COLUMNS, "joined_ts", study=study)

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
        check_format(fmt)
        self.session(session)
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        events = [e.to_dict() for e in self.events(session)]
        tables = {"events": (events, EVENT_COLUMNS if fmt == "jsonl" else EVENT_CSV_COLUMNS),
                  "actions": (self.actions(session), ACTION_COLUMNS)}
        paths = {}
        for key, (rows, columns) in tables.items():
            paths[key] = out / f"{session}-{key}.{fmt}"
            write_rows(paths[key], rows, columns, fmt)
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
