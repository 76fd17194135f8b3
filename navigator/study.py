"""Study mode: named sets of recorded sessions for user studies, and their exports.

A :class:`Study` names a set of sessions with a task description, the conditions an
experimenter compares (say ``human-in-the-loop`` against ``automated``) and an
optional time limit. A session joins a study when it starts: a ``study`` event on
its own stream (:class:`~navigator.events.StudyJoined`) says who sits at it and
under which condition, so the recording, a replay and every tab agree on it.

Everything a study analysis needs is computed from the recorded events by pure
functions (:func:`action_rows`, :func:`session_outcomes`, :func:`best_over_time`),
so the numbers can be checked on hand-made event lists and recomputed from any
recording later. :func:`export_study` writes them as CSV or JSONL tables ready for
pandas or R. :class:`StudyService` is the web process's side: starting sessions in a
study, recording UI-only actions, and enforcing the time limit.

Times: ``t_since_start`` is measured from the session's first ``running`` state (the
time a session waits in the queue for a worker is not the participant's), or from its
first event when it never ran. The time limit counts wall-clock time from that moment,
pauses included: it is the participant's time budget.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import re
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from navigator.auth import AccessDenied, AccessPolicy
from navigator.commands import STEERING_COMMANDS, parse_command
from navigator.events import Event, SessionState, StudyJoined, UiAction

if TYPE_CHECKING:
    from navigator.recording import RecordingStore
    from navigator.server import LiveHub

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,79}$")
CONDITION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+-]{0,59}$")
PARTICIPANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_TIME_LIMIT_S = 24 * 3600
TIMER_USER = "study-timer"
TIME_LIMIT_MESSAGE = "study time limit reached"
BEST_AT_S = (60, 300, 600)  # outcome columns best_at_60s, best_at_300s, best_at_600s
TOP_FRACTION = 0.01

# UI-only actions that change what the participant sees, recorded as ``ui_action`` events
# (commands are recorded through their acks). kind -> {detail key: type}; README lists them.
UI_ACTIONS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "map_color": {"color": str},                      # map "Colour by" changed
    "heat_mode": {"mode": str},                       # heatmap click prunes / locks
    "block_mode": {"mode": str},                      # block view click prunes / locks
    "edit_proposed": {"command": str, "choice_point": str, "op": str,  # heatmap/block click
                      "view": str},
    "map_selection": {"n": int, "archs": list},       # lasso / box selection on the map
    "map_zoom": {"x": list, "y": list},               # map zoomed or panned ([]: autoscale)
    "candidate_selected": {"arch": str},              # map point or leaderboard row clicked
    "candidate_pinned": {"arch": str},                # pinned for comparison
    "selection_saved": {"name": str, "n": int},       # named selection saved
    "selections_combined": {"operation": str, "a": str, "b": str, "name": str},  # Combine
    "selection_used": {"use": str, "name": str},      # Focus on / Fitness of a saved selection
    "selection_deleted": {"name": str},               # saved selection deleted
    "weight_edge": {"choice_point": str},             # edge picked for sampling weights
    "leaderboard_view": {"sort_by": list, "filter": str},  # leaderboard sorted / filtered
    "pareto_cost": {"cost": str},                     # the Pareto panel's cost axis
    "theme": {"theme": str},                          # light / dark theme
}
CLICK_MODES = ("prune", "lock")
# (kind, detail key) -> the values the UI can send: anything else is a forged or stale client
UI_ACTION_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("heat_mode", "mode"): CLICK_MODES,
    ("block_mode", "mode"): CLICK_MODES,
    ("edit_proposed", "view"): ("heatmap", "blocks"),
    ("selections_combined", "operation"): ("union", "intersection", "difference", "complement"),
    ("selection_used", "use"): ("focus", "fitness"),
    ("pareto_cost", "cost"): ("latency_ms", "params", "flops"),
    ("theme", "theme"): ("light", "dark"),
}
MAX_DETAIL_CHARS = 8000


# -- the study definition ------------------------------------------------------------------


@dataclass
class StudySession:
    """One session of a study: who sat at it and under which condition."""

    session: str
    participant: str
    condition: str
    joined_ts: float = 0.0
    time_limit_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Study:
    """A named set of sessions: conditions, task description, time limit, participants.

    ``participants`` optionally restricts who may join (empty: anyone with a valid id);
    ``sessions`` is filled from the recording (who already took part).
    """

    name: str
    conditions: list[str]
    task: str = ""
    time_limit_s: float | None = None
    participants: list[str] = field(default_factory=list)
    sessions: list[StudySession] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            raise ValueError(f"study name {self.name!r} must be 1-80 letters, digits, spaces, "
                             "'_', '.' or '-', starting with a letter or digit")
        if isinstance(self.conditions, str):
            self.conditions = [c.strip() for c in self.conditions.split(",") if c.strip()]
        if not isinstance(self.conditions, list) or not self.conditions:
            raise ValueError("a study needs at least one condition, e.g. "
                             "['human-in-the-loop', 'automated']")
        for c in self.conditions:
            if not isinstance(c, str) or not CONDITION_RE.match(c):
                raise ValueError(f"condition {c!r} must be 1-60 letters, digits, spaces, "
                                 "'_', '.', '+' or '-'")
        if len(set(self.conditions)) != len(self.conditions):
            raise ValueError(f"conditions must be distinct, got {self.conditions}")
        if not isinstance(self.task, str) or len(self.task) > 4000:
            raise ValueError("the task description must be text of at most 4000 characters")
        if self.time_limit_s is not None:
            if isinstance(self.time_limit_s, bool) or not isinstance(self.time_limit_s, (int, float)) \
                    or not 0 < self.time_limit_s <= MAX_TIME_LIMIT_S:
                raise ValueError(f"time limit must be a number of seconds in (0, {MAX_TIME_LIMIT_S}] "
                                 f"or empty for none, got {self.time_limit_s!r}")
            self.time_limit_s = float(self.time_limit_s)
        if not isinstance(self.participants, list):
            raise ValueError("participants must be a list of participant ids")
        for p in self.participants:
            check_participant_id(p)
        self.sessions = [s if isinstance(s, StudySession) else StudySession(**s)
                         for s in self.sessions]

    def check_join(self, participant: str, condition: str) -> None:
        """ValueError with the reason when ``participant`` may not join under ``condition``."""
        check_participant_id(participant)
        if condition not in self.conditions:
            raise ValueError(f"condition {condition!r} is not one of study {self.name!r}'s "
                             f"conditions {self.conditions}")
        if self.participants and participant not in self.participants:
            raise ValueError(f"participant {participant!r} is not on study {self.name!r}'s "
                             f"list ({', '.join(self.participants)})")

    def to_dict(self, sessions: bool = True) -> dict[str, Any]:
        d = {"name": self.name, "conditions": list(self.conditions), "task": self.task,
             "time_limit_s": self.time_limit_s, "participants": list(self.participants)}
        return d | ({"sessions": [s.to_dict() for s in self.sessions]} if sessions else {})

    @classmethod
    def from_dict(cls, data: Any) -> Study:
        if not isinstance(data, dict):
            raise ValueError(f"a study must be a JSON object, got {type(data).__name__}")
        known = {"name", "conditions", "task", "time_limit_s", "participants", "sessions"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown study field(s) {unknown}; known: {sorted(known)}")
        if "name" not in data or "conditions" not in data:
            raise ValueError("a study needs 'name' and 'conditions'")
        return cls(**data)


def check_participant_id(participant: Any) -> str:
    if not isinstance(participant, str) or not PARTICIPANT_RE.match(participant):
        raise ValueError(f"participant id {participant!r} must be 1-64 letters, digits, '_', "
                         "'.' or '-', starting with a letter or digit (e.g. P01)")
    return participant


def save_study(store: RecordingStore, study: Study) -> None:
    store.save_study(study.name, study.to_dict(sessions=False))


def list_studies(store: RecordingStore) -> list[Study]:
    members: dict[str, list[StudySession]] = {}
    for row in store.study_sessions():
        members.setdefault(row.pop("study"), []).append(StudySession(**row))
    return [Study.from_dict(spec | {"sessions": members.get(spec["name"], [])})
            for spec in store.study_specs()]


def get_study(store: RecordingStore, name: str) -> Study:
    for study in list_studies(store):
        if study.name == name:
            return study
    names = ", ".join(s.name for s in list_studies(store)) or "none yet"
    raise ValueError(f"no study {name!r} (studies: {names}); create it in the Study panel or "
                     "with `navigator study create`")


# -- UI actions ----------------------------------------------------------------------------


def parse_ui_action(message: Any) -> tuple[str, dict[str, Any]]:
    """Validate a ``ui_action`` message ``{kind, detail}``: (kind, detail) or ValueError."""
    if not isinstance(message, dict):
        raise ValueError(f"a ui_action must be a JSON object, got {type(message).__name__}")
    kind, detail = message.get("kind"), message.get("detail", {})
    if kind not in UI_ACTIONS:
        raise ValueError(f"unknown ui_action kind {kind!r}; known: {sorted(UI_ACTIONS)}")
    if not isinstance(detail, dict):
        raise ValueError("ui_action detail must be a JSON object")
    spec = UI_ACTIONS[kind]
    unknown = sorted(set(detail) - set(spec))
    if unknown:
        raise ValueError(f"ui_action {kind} has unknown detail key(s) {unknown}; "
                         f"known: {sorted(spec)}")
    for key, value in detail.items():
        if isinstance(value, bool) or not isinstance(value, spec[key]):
            raise ValueError(f"ui_action {kind}: {key} must be {getattr(spec[key], '__name__', spec[key])}")
        choices = UI_ACTION_CHOICES.get((kind, key))
        if choices and value not in choices:
            raise ValueError(f"ui_action {kind}: {key} must be one of {list(choices)}, got {value!r}")
    if kind == "map_zoom":
        for key in ("x", "y"):
            _check_axis_range(detail.get(key, []), key)
    if len(json.dumps(detail)) > MAX_DETAIL_CHARS:
        raise ValueError(f"ui_action detail is over {MAX_DETAIL_CHARS} characters")
    return kind, detail


def _check_axis_range(value: list[Any], key: str) -> None:
    """A map_zoom axis is [] (autoscale) or [low, high]: the replay sets it as the axis range."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                  for v in value)
    if len(value) not in (0, 2) or not numbers:
        raise ValueError(f"ui_action map_zoom: {key} must be [] (autoscale) or [low, high] "
                         f"numbers, got {value!r}")


# -- outcomes: pure functions of a session's events ----------------------------------------


def session_start(events: list[Event]) -> float | None:
    """t = 0 of a session: its first ``running`` state, else its first event (None: no events)."""
    for e in events:
        if e.type == "session_state" and e.data.get("state") == "running":
            return e.ts
    return events[0].ts if events else None


def first_candidates(events: list[Event]) -> list[tuple[float, dict[str, Any]]]:
    """(ts, record) of each distinct architecture when it was first evaluated, in order."""
    seen: set[str] = set()
    out = []
    for e in events:
        if e.type == "candidates":
            for r in e.data.get("records", []):
                if r.get("arch") not in seen:
                    seen.add(r.get("arch"))
                    out.append((e.ts, r))
    return out


def action_rows(events: list[Event]) -> list[dict[str, Any]]:
    """One row per action: commands (as acked or rejected) and UI-only actions, in order."""
    t0 = session_start(events) or 0.0
    rows = []
    for e in events:
        d = e.data
        if e.type in ("command_ack", "command_rejected"):
            row = {"source": "command", "kind": d["command"], "user": d.get("user", ""),
                   "outcome": "ack" if e.type == "command_ack" else "rejected",
                   "detail": d.get("args", {}), "reason": d.get("reason", ""),
                   "sent_ts": d.get("sent_ts") or e.ts}
        elif e.type == "ui_action":
            row = {"source": "ui", "kind": d["kind"], "user": d.get("user", ""), "outcome": "ui",
                   "detail": d.get("detail", {}), "reason": "", "sent_ts": e.ts}
        else:
            continue
        rows.append({"seq": e.seq, "ts": e.ts, "t_since_start": round(e.ts - t0, 3)} | row)
    return rows


def best_over_time(events: list[Event]) -> list[dict[str, Any]]:
    """The best accuracy so far each time it improves: (t_since_start, best, n_candidates)."""
    t0 = session_start(events) or 0.0
    rows: list[dict[str, Any]] = []
    best = -math.inf
    for n, (ts, r) in enumerate(first_candidates(events), 1):
        acc = r.get("accuracy")
        if acc is not None and acc > best:
            best = acc
            rows.append({"t_since_start": round(ts - t0, 3), "best_accuracy": acc,
                         "n_candidates": n})
    return rows


def time_to_top(events: list[Event], fraction: float = TOP_FRACTION) -> float | None:
    """Seconds from the start to the first candidate in the top ``fraction`` of all the
    candidates this session evaluated (by accuracy; at least the single best one)."""
    cands = [(ts, r["accuracy"]) for ts, r in first_candidates(events)
             if r.get("accuracy") is not None]
    if not cands:
        return None
    k = max(1, math.ceil(fraction * len(cands)))
    threshold = sorted((a for _, a in cands), reverse=True)[k - 1]
    t0 = session_start(events) or 0.0
    return round(next(ts for ts, a in cands if a >= threshold) - t0, 3)


def time_to_table_top(events: list[Event], fraction: float = TOP_FRACTION) -> float | None:
    """Tabular mode: seconds to the first candidate in the top ``fraction`` of the whole
    benchmark table (``scores.table_percentile >= 100 (1 - fraction)``); None otherwise."""
    t0 = session_start(events) or 0.0
    for ts, r in first_candidates(events):
        pct = (r.get("scores") or {}).get("table_percentile")
        if pct is not None and pct >= 100.0 * (1 - fraction):
            return round(ts - t0, 3)
    return None


def session_outcomes(events: list[Event]) -> dict[str, Any]:
    """One session's outcome row (see README, "Study exports", for every column)."""
    t0 = session_start(events)
    duration = round(events[-1].ts - t0, 3) if events and t0 is not None else 0.0
    cands = first_candidates(events)
    accs = [r["accuracy"] for _, r in cands if r.get("accuracy") is not None]
    acked = [e.data for e in events if e.type == "command_ack"
             and e.data.get("user") != TIMER_USER]
    edits = [d["command"] for d in acked if d["command"] in STEERING_COMMANDS]
    row: dict[str, Any] = {
        "duration_s": duration, "n_candidates": len(cands),
        "best_accuracy": max(accs) if accs else None,
    }
    for limit in BEST_AT_S:
        inside = [r["accuracy"] for ts, r in cands
                  if r.get("accuracy") is not None and ts - (t0 or 0.0) <= limit]
        row[f"best_at_{limit}s"] = (max(inside) if inside else None) if duration >= limit else None
    row |= {
        "time_to_top1pct_s": time_to_top(events),
        "time_to_table_top1pct_s": time_to_table_top(events),
        "n_edits": len(edits),
        "n_prunes": sum(c in ("prune_op", "restore_op") for c in edits),
        "n_locks": sum(c in ("lock_edge", "unlock_edge") for c in edits),
        "n_weights": sum(c == "set_sampling_weights" for c in edits),
        "n_focus": sum(c == "focus" for c in edits),
        "n_commands": len(acked),
        "n_rejected": sum(e.type == "command_rejected" for e in events),
        "n_ui_actions": sum(e.type == "ui_action" for e in events),
        "hit_time_limit": any(e.type == "session_state" and
                              e.data.get("message", "").startswith(TIME_LIMIT_MESSAGE)
                              for e in events),
    }
    return row


# -- exports -------------------------------------------------------------------------------

ACTION_COLUMNS = ("study", "participant", "condition", "session", "seq", "ts", "t_since_start",
                  "source", "kind", "user", "outcome", "detail", "reason", "sent_ts")
OUTCOME_COLUMNS = ("study", "participant", "condition", "session", "time_limit_s", "duration_s",
                   "n_candidates", "best_accuracy", *(f"best_at_{t}s" for t in BEST_AT_S),
                   "time_to_top1pct_s", "time_to_table_top1pct_s", "n_edits", "n_prunes",
                   "n_locks", "n_weights", "n_focus", "n_commands", "n_rejected", "n_ui_actions",
                   "hit_time_limit")
BEST_COLUMNS = ("study", "participant", "condition", "session", "t_since_start",
                "best_accuracy", "n_candidates")


def study_tables(store: RecordingStore, name: str) -> dict[str, list[dict[str, Any]]]:
    """The study's three tables as rows: actions, outcomes and best_accuracy (over time)."""
    study = get_study(store, name)
    tables: dict[str, list[dict[str, Any]]] = {"actions": [], "outcomes": [], "best_accuracy": []}
    for member in study.sessions:
        events = store.events(member.session)
        keys = {"study": study.name, "participant": member.participant,
                "condition": member.condition, "session": member.session}
        tables["actions"] += [keys | row for row in action_rows(events)]
        tables["outcomes"].append(keys | {"time_limit_s": member.time_limit_s}
                                  | session_outcomes(events))
        tables["best_accuracy"] += [keys | row for row in best_over_time(events)]
    return tables


def _write(path: Path, rows: Iterable[dict[str, Any]], columns: tuple[str, ...], fmt: str) -> None:
    with path.open("w", newline="") as fh:
        if fmt == "jsonl":
            fh.writelines(json.dumps({c: r.get(c) for c in columns}) + "\n" for r in rows)
            return
        writer = csv.DictWriter(fh, columns, extrasaction="ignore")
        writer.writeheader()
        for r in rows:  # nested values as JSON text, missing values as empty cells (NA)
            writer.writerow({c: json.dumps(v) if isinstance(v, (dict, list)) else
                             ("" if v is None else v) for c, v in r.items()})


def export_study(store: RecordingStore, name: str, out_dir: str | Path,
                 fmt: str = "csv") -> dict[str, Path]:
    """Write ``<study>-actions``, ``<study>-outcomes`` and ``<study>-best_accuracy`` tables."""
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"export format must be 'csv' or 'jsonl', got {fmt!r}")
    tables = study_tables(store, name)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = name.replace(" ", "_")
    columns = {"actions": ACTION_COLUMNS, "outcomes": OUTCOME_COLUMNS,
               "best_accuracy": BEST_COLUMNS}
    paths = {}
    for key, rows in tables.items():
        paths[key] = out / f"{stem}-{key}.{fmt}"
        _write(paths[key], rows, columns[key], fmt)
    return paths


def export_zip(store: RecordingStore, name: str, fmt: str = "csv") -> bytes:
    """The same tables in one zip file (the UI's download button)."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buffer, "w") as zf:
        for path in export_study(store, name, tmp, fmt).values():
            zf.write(path, path.name)
    return buffer.getvalue()


# -- the web process's side ----------------------------------------------------------------


class RecordedHistory:
    """The recording read as a bus history, so that the access rules (owner, shares) also
    decide about recorded sessions the bus no longer holds (an in-memory bus after a restart)."""

    def __init__(self, store: RecordingStore) -> None:
        self.store = store

    def history(self, session: str, after_seq: int = 0) -> list[Event]:
        return self.store.events(session, after_seq)


class StudyService:
    """Starts sessions in a study, records UI actions, enforces time limits.

    The time limit is enforced by the web process, which already follows every watched
    session: when it runs out while the session runs, a ``pause`` command (user
    ``study-timer``) goes to the worker, and once the session is paused a ``session_state``
    says why. A participant who resumes is paused again.
    """

    def __init__(self, hub: LiveHub, store: RecordingStore | None, poll_s: float = 0.25) -> None:
        self.hub = hub
        self.store = store
        self.poll_s = poll_s
        self._members: dict[str, dict[str, Any]] = {}  # session -> StudyJoined dict
        self._pause_sent: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="study-timer", daemon=True)
        self._recorded: AccessPolicy | None = None  # the access rules over the recording

    def start(self) -> StudyService:
        if self.store is not None:
            for row in self.store.study_sessions():
                if row["time_limit_s"]:
                    self._members[row["session"]] = row
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()

    def _need_store(self) -> RecordingStore:
        if self.store is None:
            raise ValueError("study mode needs the recording store: run `navigator serve` "
                             "(this server was created without one)")
        return self.store

    def _login_policy(self) -> AccessPolicy | None:
        """The hub's access policy when logins are on; None means everything is allowed."""
        policy = getattr(self.hub, "policy", None)
        return policy if policy is not None and policy.login_required else None

    def admin_problem(self, action: str) -> str | None:
        """Why the acting user may not ``action`` a study, or None. Study definitions and
        exports span every participant's sessions, so with logins only admins handle them."""
        policy = self._login_policy()
        user = self.hub.user
        if policy is None or policy.is_admin(user):
            return None
        if not user:
            return f"login required to {action} (your login may have expired)"
        return f"only an admin may {action}; {user} is not one"

    def replay_problem(self, session: str) -> str | None:
        """Why the acting user may not replay ``session``, or None. A replay shows all a
        session showed, so it needs the watch right; the bus decides while it holds the
        session, the recording once the bus has forgotten it."""
        policy = self._login_policy()
        if policy is None:
            return None
        if policy.access(session).exists or self.store is None:
            return policy.watch_problem(self.hub.user, session)
        if self._recorded is None:
            self._recorded = AccessPolicy(RecordedHistory(self.store), policy.users,
                                          login_required=True)
        return self._recorded.watch_problem(self.hub.user, session)

    def studies(self) -> list[Study]:
        return list_studies(self.store) if self.store is not None else []

    def create(self, spec: dict[str, Any]) -> Study:
        problem = self.admin_problem("create studies")
        if problem:
            raise AccessDenied(problem)
        study = Study.from_dict(spec)
        save_study(self._need_store(), study)
        return study

    def export(self, name: str, fmt: str = "csv") -> bytes:
        """The study's tables as a zip (the panel's download), for admins only with logins."""
        problem = self.admin_problem("export studies")
        if problem:
            raise AccessDenied(problem)
        return export_zip(self._need_store(), name, fmt)

    def join(self, study_name: str, participant: str, condition: str,
             config: dict[str, Any]) -> str:
        """Start a session for ``participant`` under ``condition``; returns its id."""
        study = get_study(self._need_store(), study_name)
        study.check_join(participant, condition)
        session = self.hub.start_session(config, owner=self.hub.user)
        joined = StudyJoined(study=study.name, participant=participant, condition=condition,
                             task=study.task, time_limit_s=study.time_limit_s)
        self.hub.bus.publish(session, joined)
        with self._lock:
            self._members[session] = joined.to_dict()
        return session

    def membership(self, session: str | None) -> dict[str, Any] | None:
        if not session:
            return None
        with self._lock:
            if session in self._members:
                return self._members[session]
        view = self.hub.view(session)
        with view.lock:
            return dict(view.study) if view.study else None

    def record_ui_action(self, session: str | None, message: Any) -> UiAction:
        """Validate a UI action and put it on the session's stream (so it is recorded).

        It is recorded under the participant's id, so only a user who may steer the session
        records one; a read-only watcher's are refused.
        """
        kind, detail = parse_ui_action(message)
        if not session or self.hub.bus.last_seq(session) == 0:
            raise ValueError(f"ui_action for unknown session {session!r}")
        policy = self._login_policy()
        problem = policy.steer_problem(self.hub.user, session) if policy is not None else None
        if problem:  # recorded as the participant's: only who sits at the session (or an admin)
            raise AccessDenied(f"ui_action not recorded: {problem} (read-only watchers' UI "
                               "actions are not part of the recording)")
        member = self.membership(session)
        user = member["participant"] if member else self.hub.user
        action = UiAction(kind=kind, user=user, detail=detail)
        self.hub.bus.publish(session, action)
        return action

    def status(self, session: str | None, now: float | None = None) -> dict[str, Any] | None:
        """What the Study panel shows: membership, task, seconds left, whether time is up."""
        member = self.membership(session)
        if member is None or session is None:
            return None
        now = time.time() if now is None else now
        view = self.hub.view(session)
        with view.lock:
            state, since = view.state, view.running_since
        limit = member.get("time_limit_s")
        remaining = None
        if limit:
            remaining = limit if since is None else max(0.0, limit - (now - since))
        return {"study": member.get("study"), "participant": member.get("participant"),
                "condition": member.get("condition"), "task": member.get("task", ""),
                "time_limit_s": limit, "remaining_s": remaining, "state": state,
                "counting": since is not None and remaining is not None and remaining > 0,
                "expired": remaining == 0.0}

    def check_time_limits(self, now: float | None = None) -> None:
        """Pause sessions whose participant's time is up (called by the timer thread)."""
        now = time.time() if now is None else now
        with self._lock:
            timed = [(s, m["time_limit_s"]) for s, m in self._members.items() if m.get("time_limit_s")]
        for session, limit in timed:
            view = self.hub.view(session)
            with view.lock:
                state, since = view.state, view.running_since
            if since is None or now - since < limit:
                continue
            if state in ("running", "finetuning"):
                if now - self._pause_sent.get(session, 0.0) > 5.0:
                    self._pause_sent[session] = now
                    self.hub.bus.send_command(parse_command(
                        {"type": "pause", "session": session, "user": TIMER_USER, "args": {}}))
            elif state == "paused" and self._pause_sent.pop(session, None) is not None:
                self.hub.bus.publish(session, SessionState(
                    state="paused", message=f"{TIME_LIMIT_MESSAGE} ({limit:g} s): session paused"))
            elif state in ("stopped", "failed"):
                with self._lock:
                    self._members.pop(session, None)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.check_time_limits()
            except Exception:  # noqa: BLE001 - one bad session must not stop the timer
                continue


def register_study_socket(socketio: Any, service: StudyService) -> None:
    """``ui_action`` socket messages: {session, kind, detail}; errors go back as command_error."""
    from flask_socketio import emit

    @socketio.on("ui_action")
    def on_ui_action(*args: Any) -> None:
        try:
            if len(args) != 1 or not isinstance(args[0], dict):
                raise ValueError("'ui_action' takes exactly one JSON object {session, kind, detail}")
            message = args[0]
            service.record_ui_action(message.get("session"),
                                     {k: v for k, v in message.items() if k != "session"})
        except ValueError as exc:
            emit("command_error", {"reason": str(exc)})


# -- command line: navigator study create|list|export --------------------------------------


def add_study_parser(sub: Any, common: Any) -> None:
    study = sub.add_parser("study", help="create, list or export user studies")
    common(study)
    actions = study.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="define a study")
    create.add_argument("name")
    create.add_argument("--conditions", required=True,
                        help="comma-separated, e.g. human-in-the-loop,automated")
    create.add_argument("--task", default="", help="task description shown to participants")
    create.add_argument("--time-limit", type=float, help="seconds per session (default: none)")
    create.add_argument("--participants", default="", help="comma-separated allowed ids (optional)")
    actions.add_parser("list", help="list studies and their sessions")
    export = actions.add_parser("export", help="write actions, outcomes and best_accuracy tables")
    export.add_argument("name")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.add_argument("--out", type=Path, default=Path("."), help="output folder")


def cmd_study(args: argparse.Namespace, store: RecordingStore) -> int:
    if args.action == "create":
        study = Study(name=args.name, conditions=args.conditions, task=args.task,
                      time_limit_s=args.time_limit,
                      participants=[p.strip() for p in args.participants.split(",") if p.strip()])
        save_study(store, study)
        print(f"study {study.name!r}: conditions {study.conditions}")
    elif args.action == "list":
        studies = list_studies(store)
        if not studies:
            print("no studies")
        for s in studies:
            limit = f"{s.time_limit_s:g}s" if s.time_limit_s else "none"
            print(f"{s.name}  conditions={','.join(s.conditions)}  time_limit={limit}  "
                  f"sessions={len(s.sessions)}")
            for m in s.sessions:
                print(f"  {m.session}  participant={m.participant}  condition={m.condition}")
    else:
        paths = export_study(store, args.name, args.out, args.format)
        print("\n".join(f"{k}: {v}" for k, v in paths.items()))
    return 0
