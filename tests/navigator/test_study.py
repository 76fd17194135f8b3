"""Study mode: validation and persistence of studies, outcomes computed from a hand-made
event list (exact numbers), CSV/JSONL/zip exports, the CLI, UI-action validation and the
time limit enforced by StudyService."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from frontend.state import SessionView
from navigator.bus import MemoryBus
from navigator.cli import main
from navigator.events import (
    Candidates,
    CommandAck,
    CommandRejected,
    Event,
    SessionState,
    StudyJoined,
    UiAction,
)
from navigator.recording import RecordingStore
from navigator.study import (
    TIMER_USER,
    Study,
    StudyService,
    action_rows,
    best_over_time,
    export_study,
    export_zip,
    get_study,
    list_studies,
    parse_ui_action,
    save_study,
    session_outcomes,
    session_start,
    time_to_top,
)

T0 = 1002.0  # the session's first "running"


def ev(seq: int, payload: Any, ts: float, session: str = "s1") -> Event:
    e = Event.of(session, payload)
    e.seq, e.ts = seq, ts
    return e


def rec(arch: str, acc: float, pct: float | None = None) -> dict[str, Any]:
    return {"arch": arch, "accuracy": acc, "scores": {} if pct is None else {"table_percentile": pct}}


def ack(cid: str, command: str, user: str = "P1", **args: Any) -> CommandAck:
    return CommandAck(command_id=cid, command=command, user=user, args=args)


def study_events(session: str = "s1", participant: str = "P1",
                 condition: str = "human-in-the-loop") -> list[Event]:
    """A 300 s session: 6 distinct candidates in 3 generations, 3 edits, 1 rejected command,
    1 UI action, then the time limit pauses it."""
    payloads = [
        (SessionState(state="queued"), 1000.0),
        (StudyJoined(study="pilot", participant=participant, condition=condition,
                     task="find a good cell", time_limit_s=300.0), 1000.5),
        (SessionState(state="running"), T0),
        (Candidates(generation=1, records=[rec("A", 0.50), rec("B", 0.60, 98.9)]), T0 + 8),
        (UiAction(kind="map_color", user=participant, detail={"color": "params"}), T0 + 18),
        (ack("c1", "prune_op", choice_point="1<-0", op="none"), T0 + 28),
        (Candidates(generation=2, records=[rec("C", 0.55), rec("D", 0.70, 98.0),
                                           rec("A", 0.50)]), T0 + 68),
        (CommandRejected(command_id="c2", command="lock_edge", user="P1", reason="no"), T0 + 78),
        (ack("c3", "lock_edge", choice_point="2<-0", op="skip_connect"), T0 + 88),
        (ack("c4", "set_sampling_weights", choice_point="2<-1", weights={"none": 0.0}), T0 + 98),
        (Candidates(generation=3, records=[rec("E", 0.65), rec("F", 0.80, 99.5)]), T0 + 198),
        (ack("c5", "pause", user=TIMER_USER), T0 + 298),
        (SessionState(state="paused", message="study time limit reached (300 s): session paused"),
         T0 + 300),
    ]
    return [ev(i, p, ts, session) for i, (p, ts) in enumerate(payloads, 1)]


# -- Study -------------------------------------------------------------------------------


def test_study_round_trips_and_splits_comma_separated_conditions() -> None:
    study = Study(name="pilot 1", conditions="human-in-the-loop, automated", task="t",
                  time_limit_s=600, participants=["P1", "P2"])
    assert study.conditions == ["human-in-the-loop", "automated"]
    assert study.time_limit_s == 600.0
    assert Study.from_dict(study.to_dict()) == study
    study.check_join("P1", "automated")


@pytest.mark.parametrize("spec, message", [
    ({"name": "", "conditions": ["a"]}, "study name ''"),
    ({"name": "x/y", "conditions": ["a"]}, "letters, digits"),
    ({"name": "s", "conditions": []}, "at least one condition"),
    ({"name": "s", "conditions": ["a", "a"]}, "distinct"),
    ({"name": "s", "conditions": ["a"], "time_limit_s": 0}, "time limit"),
    ({"name": "s", "conditions": ["a"], "time_limit_s": "10"}, "time limit"),
    ({"name": "s", "conditions": ["a"], "participants": ["bad id"]}, "participant id 'bad id'"),
    ({"name": "s", "conditions": ["a"], "colour": 1}, "unknown study field(s) ['colour']"),
    ({"conditions": ["a"]}, "needs 'name' and 'conditions'"),
    ("pilot", "must be a JSON object"),
])
def test_invalid_studies_are_refused_with_the_reason(spec: Any, message: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        Study.from_dict(spec)
    assert message in str(info.value)


def test_join_checks_condition_and_participant_list() -> None:
    study = Study(name="s", conditions=["a", "b"], participants=["P1"])
    with pytest.raises(ValueError, match="condition 'c' is not one of"):
        study.check_join("P1", "c")
    with pytest.raises(ValueError, match="not on study 's'"):
        study.check_join("P2", "a")
    with pytest.raises(ValueError, match="participant id ''"):
        study.check_join("", "a")


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


# -- outcomes from a hand-made event list ------------------------------------------------


def test_outcomes_of_a_hand_made_session_are_exact() -> None:
    events = study_events()
    assert session_start(events) == T0
    assert session_outcomes(events) == {
        "duration_s": 300.0, "n_candidates": 6, "best_accuracy": 0.80,
        "best_at_60s": 0.60, "best_at_300s": 0.80, "best_at_600s": None,  # ran only 300 s
        "time_to_top1pct_s": 198.0,            # top 1% of 6 = the best one, F, at t = 198 s
        "time_to_table_top1pct_s": 198.0,      # F is the first with table_percentile >= 99
        "n_edits": 3, "n_prunes": 1, "n_locks": 1, "n_weights": 1, "n_focus": 0,
        "n_commands": 3,                       # the timer's pause is not the participant's
        "n_rejected": 1, "n_ui_actions": 1, "hit_time_limit": True,
    }
    assert best_over_time(events) == [
        {"t_since_start": 8.0, "best_accuracy": 0.50, "n_candidates": 1},
        {"t_since_start": 8.0, "best_accuracy": 0.60, "n_candidates": 2},
        {"t_since_start": 68.0, "best_accuracy": 0.70, "n_candidates": 4},
        {"t_since_start": 198.0, "best_accuracy": 0.80, "n_candidates": 6},
    ]
    # with a 34% top fraction: ceil(0.34 * 6) = 3 best are F, D, E (>= 0.65): D first, at 68 s
    assert time_to_top(events, 0.34) == 68.0


def test_action_rows_list_commands_and_ui_actions_in_order() -> None:
    rows = action_rows(study_events())
    assert [(r["t_since_start"], r["source"], r["kind"], r["outcome"], r["user"]) for r in rows] == [
        (18.0, "ui", "map_color", "ui", "P1"),
        (28.0, "command", "prune_op", "ack", "P1"),
        (78.0, "command", "lock_edge", "rejected", "P1"),
        (88.0, "command", "lock_edge", "ack", "P1"),
        (98.0, "command", "set_sampling_weights", "ack", "P1"),
        (298.0, "command", "pause", "ack", TIMER_USER),
    ]
    assert rows[0]["detail"] == {"color": "params"} and rows[2]["reason"] == "no"


def test_empty_and_never_running_sessions() -> None:
    assert session_outcomes([])["n_candidates"] == 0
    queued = [ev(1, SessionState(state="queued"), 5.0),
              ev(2, Candidates(generation=1, records=[rec("A", 0.4)]), 7.0)]
    out = session_outcomes(queued)  # t = 0 falls back to the first event
    assert out["duration_s"] == 2.0 and out["time_to_top1pct_s"] == 2.0
    assert out["best_at_60s"] is None and out["time_to_table_top1pct_s"] is None


# -- exports -----------------------------------------------------------------------------


@pytest.fixture
def study_store(tmp_path: Path) -> RecordingStore:
    store = RecordingStore(tmp_path / "data" / "recordings.sqlite")
    save_study(store, Study(name="pilot", conditions=["human-in-the-loop", "automated"],
                            time_limit_s=300))
    for e in study_events("s1", "P1", "human-in-the-loop") + study_events("s2", "P2", "automated"):
        store.append(e)
    yield store
    store.close()


def test_csv_export_is_one_row_per_action_and_per_session(study_store: RecordingStore,
                                                          tmp_path: Path) -> None:
    paths = export_study(study_store, "pilot", tmp_path / "out", "csv")
    assert sorted(p.name for p in paths.values()) == [
        "pilot-actions.csv", "pilot-best_accuracy.csv", "pilot-outcomes.csv"]
    with paths["actions"].open() as fh:
        actions = list(csv.DictReader(fh))
    assert len(actions) == 12
    first = actions[0]
    assert (first["study"], first["participant"], first["condition"], first["session"],
            first["kind"], first["t_since_start"]) == ("pilot", "P1", "human-in-the-loop", "s1",
                                                       "map_color", "18.0")
    assert json.loads(first["detail"]) == {"color": "params"}
    with paths["outcomes"].open() as fh:
        outcomes = list(csv.DictReader(fh))
    assert [(o["participant"], o["condition"], o["best_accuracy"], o["n_edits"], o["best_at_600s"])
            for o in outcomes] == [("P1", "human-in-the-loop", "0.8", "3", ""),
                                   ("P2", "automated", "0.8", "3", "")]
    assert outcomes[0]["time_to_top1pct_s"] == "198.0" and outcomes[0]["time_limit_s"] == "300.0"
    with paths["best_accuracy"].open() as fh:
        assert len(list(csv.DictReader(fh))) == 8
    try:
        import pandas as pd  # not a dependency: checked only where it happens to be installed
    except ImportError:
        return
    assert pd.read_csv(paths["outcomes"])["best_accuracy"].tolist() == [0.8, 0.8]


def test_jsonl_and_zip_exports(study_store: RecordingStore, tmp_path: Path) -> None:
    paths = export_study(study_store, "pilot", tmp_path / "j", "jsonl")
    outcomes = [json.loads(line) for line in paths["outcomes"].read_text().splitlines()]
    assert outcomes[1]["participant"] == "P2" and outcomes[1]["best_at_600s"] is None
    assert outcomes[1]["hit_time_limit"] is True
    with zipfile.ZipFile(io.BytesIO(export_zip(study_store, "pilot", "csv"))) as zf:
        assert sorted(zf.namelist()) == ["pilot-actions.csv", "pilot-best_accuracy.csv",
                                         "pilot-outcomes.csv"]
    with pytest.raises(ValueError, match="'csv' or 'jsonl'"):
        export_study(study_store, "pilot", tmp_path, "xlsx")


def test_cli_study_create_list_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path)
    assert main(["study", "--data-dir", data, "create", "pilot", "--conditions",
                 "human-in-the-loop,automated", "--time-limit", "300", "--task", "go"]) == 0
    store = RecordingStore(tmp_path / "recordings.sqlite")
    for e in study_events():
        store.append(e)
    store.close()
    assert main(["study", "--data-dir", data, "list"]) == 0
    out = capsys.readouterr().out
    assert "pilot  conditions=human-in-the-loop,automated  time_limit=300s  sessions=1" in out
    assert "s1  participant=P1  condition=human-in-the-loop" in out
    assert main(["study", "--data-dir", data, "export", "pilot", "--out", str(tmp_path / "o"),
                 "--format", "jsonl"]) == 0
    lines = (tmp_path / "o" / "pilot-actions.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["participant"] == "P1" and len(lines) == 6
    assert main(["study", "--data-dir", data, "export", "nope"]) == 2
    assert "no study 'nope'" in capsys.readouterr().err
    assert main(["study", "--data-dir", data, "create", "bad", "--conditions", ","]) == 2
    assert "at least one condition" in capsys.readouterr().err


# -- UI actions and the web process's StudyService ---------------------------------------


@pytest.mark.parametrize("message, reason", [
    ({"kind": "dance"}, "unknown ui_action kind 'dance'"),
    ({"kind": "map_color", "detail": {"colour": "x"}}, "unknown detail key(s) ['colour']"),
    ({"kind": "map_color", "detail": {"color": 3}}, "color must be str"),
    ({"kind": "map_selection", "detail": {"n": True, "archs": []}}, "n must be int"),
    ({"kind": "map_color", "detail": "params"}, "detail must be a JSON object"),
    ("map_color", "must be a JSON object"),
])
def test_ui_actions_are_validated(message: Any, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_ui_action(message)
    assert reason in str(info.value)
    assert parse_ui_action({"kind": "map_color", "detail": {"color": "params"}}) == (
        "map_color", {"color": "params"})


@pytest.mark.parametrize("kind, detail, reason", [
    ("block_mode", {"mode": "erase"}, "block_mode: mode must be one of ['prune', 'lock'], got 'erase'"),
    ("heat_mode", {"mode": "paint"}, "heat_mode: mode must be one of ['prune', 'lock']"),
    ("edit_proposed", {"command": "prune_op", "view": "table"},
     "view must be one of ['heatmap', 'blocks']"),
    ("selections_combined", {"operation": "xor", "a": "l", "b": "r", "name": ""},
     "operation must be one of ['union', 'intersection', 'difference', 'complement']"),
    ("selection_used", {"use": "delete", "name": "l"}, "use must be one of ['focus', 'fitness']"),
    ("selection_deleted", {"name": 3}, "name must be str"),
    ("pareto_cost", {"cost": "watts"}, "cost must be one of ['latency_ms', 'params', 'flops']"),
    ("theme", {"theme": "sepia"}, "theme must be one of ['light', 'dark']"),
    ("leaderboard_view", {"sort_by": "accuracy"}, "sort_by must be list"),
    ("map_zoom", {"x": [0.5]}, "x must be [] (autoscale) or [low, high] numbers, got [0.5]"),
    ("map_zoom", {"y": ["a", "b"]}, "y must be [] (autoscale) or [low, high]"),
    ("map_zoom", {"x": [0, float("inf")]}, "x must be [] (autoscale) or [low, high]"),
])
def test_new_ui_action_kinds_are_validated(kind: str, detail: dict, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_ui_action({"kind": kind, "detail": detail})
    assert reason in str(info.value)


@pytest.mark.parametrize("kind, detail", [
    ("block_mode", {"mode": "lock"}),
    ("edit_proposed", {"command": "lock_edge", "choice_point": "1<-0", "op": "none",
                       "view": "blocks"}),
    ("edit_proposed", {"command": "prune_op", "choice_point": "1<-0", "op": "none"}),  # before views
    ("selections_combined", {"operation": "complement", "a": "left", "b": "", "name": ""}),
    ("selection_used", {"use": "fitness", "name": "left"}),
    ("selection_deleted", {"name": "left"}),
    ("pareto_cost", {"cost": "flops"}),
    ("theme", {"theme": "dark"}),
    ("leaderboard_view", {"sort_by": [{"column_id": "accuracy", "direction": "asc"}],
                          "filter": ""}),
    ("map_zoom", {"x": [0, 1.5], "y": []}),
])
def test_new_ui_action_kinds_are_accepted(kind: str, detail: dict) -> None:
    assert parse_ui_action({"kind": kind, "detail": detail}) == (kind, detail)


class FakeHub:
    """The parts of LiveHub that StudyService uses, with views fed by hand."""

    def __init__(self) -> None:
        self.bus = MemoryBus()
        self.user = "local"
        self.views: dict[str, SessionView] = {}
        self.started: list[dict] = []

    def start_session(self, config: dict, owner: str) -> str:
        session = f"s-{len(self.started) + 1}"
        self.started.append(config)
        self.bus.publish(session, SessionState(state="queued", owner=owner))
        return session

    def view(self, session: str) -> SessionView:
        view = self.views.setdefault(session, SessionView(session))
        for e in self.bus.history(session, view.last_seq):
            view.apply(e)
        return view


def test_service_joins_records_ui_actions_and_enforces_the_time_limit(tmp_path: Path) -> None:
    hub = FakeHub()
    store = RecordingStore(tmp_path / "r.sqlite")
    service = StudyService(hub, store)  # not started: the test drives the timer itself
    service.create({"name": "pilot", "conditions": ["hitl", "auto"], "time_limit_s": 60})
    with pytest.raises(ValueError, match="condition 'x'"):
        service.join("pilot", "P1", "x", {})
    session = service.join("pilot", "P1", "hitl", {"dataset": "digits"})
    joined = hub.bus.history(session)[-1]
    assert joined.type == "study" and joined.data["participant"] == "P1"
    action = service.record_ui_action(session, {"kind": "map_color", "detail": {"color": "flops"}})
    assert action.user == "P1"  # the participant, not the server's user
    with pytest.raises(ValueError, match="unknown session"):
        service.record_ui_action("s-nope", {"kind": "map_color", "detail": {"color": "x"}})

    status = service.status(session, now=0.0)
    assert status["remaining_s"] == 60 and not status["counting"]  # the clock waits for "running"
    running = hub.bus.publish(session, SessionState(state="running"))
    assert service.status(session, now=running.ts + 20)["remaining_s"] == pytest.approx(40)
    service.check_time_limits(now=running.ts + 30)
    assert hub.bus.next_command(session) is None  # time left: nothing sent
    service.check_time_limits(now=running.ts + 61)
    pause = hub.bus.next_command(session)
    assert (pause.type, pause.user) == ("pause", TIMER_USER)
    hub.bus.publish(session, SessionState(state="paused", message="paused"))  # the worker obeys
    service.check_time_limits(now=running.ts + 62)
    last = hub.bus.history(session)[-1]
    assert last.type == "session_state" and last.data["state"] == "paused"
    assert last.data["message"].startswith("study time limit reached (60 s)")
    assert service.status(session, now=running.ts + 62)["expired"] is True
    # resuming past the limit is paused again
    hub.bus.publish(session, SessionState(state="running"))
    service.check_time_limits(now=running.ts + 70)
    assert hub.bus.next_command(session).type == "pause"
    store.close()


def test_service_without_a_store_explains() -> None:
    service = StudyService(FakeHub(), None)
    assert service.studies() == []
    with pytest.raises(ValueError, match="needs the recording store"):
        service.create({"name": "s", "conditions": ["a"]})


def _shared_study_session(lab: Any, session: str, participant: str) -> str:
    """Alice's session in study "pilot" with ``participant`` at it, shared read-only with bob."""
    lab.session(session, "alice")
    lab.bus.publish(session, StudyJoined(study="pilot", participant=participant,
                                         condition="hitl", task="", time_limit_s=None))
    lab.bus.publish(session, CommandAck(command_id="sh-1", command="share", user="alice",
                                        args={"with": ["bob"]}))
    return session


def test_only_who_may_steer_records_ui_actions_over_a_real_login(tmp_path: Path) -> None:
    """A read-only watcher's UI actions would land in the recording under the participant's id:
    they are refused with the reason; the owner's and an admin's are recorded."""
    from tests.navigator.test_auth import AuthServer

    lab = AuthServer(tmp_path, MemoryBus())
    session = _shared_study_session(lab, "s-watched", "P1")
    clients = {u: lab.client(u) for u in ("alice", "bob", "root")}
    try:
        bob = clients["bob"]
        bob.sio.emit("join", {"session": session, "after_seq": 0})
        bob.wait(lambda: len(bob.events) == 3)  # bob may watch
        bob.sio.emit("ui_action", {"session": session, "kind": "map_color",
                                   "detail": {"color": "params"}})
        bob.wait(lambda: len(bob.errors) == 1)
        assert bob.errors[0]["reason"] == (
            "ui_action not recorded: bob may not steer session s-watched (owner: alice) "
            "(read-only watchers' UI actions are not part of the recording)")
        for user, color in (("alice", "flops"), ("root", "latency")):
            clients[user].sio.emit("ui_action", {"session": session, "kind": "map_color",
                                                 "detail": {"color": color}})
            deadline = time.monotonic() + 5
            while len(ui_actions(lab.bus, session)) < 1 + (user == "root") \
                    and time.monotonic() < deadline:
                time.sleep(0.02)
        assert ui_actions(lab.bus, session) == [("P1", {"color": "flops"}),
                                               ("P1", {"color": "latency"})]
        assert [c.errors for c in (clients["alice"], clients["root"])] == [[], []]
    finally:
        for client in clients.values():
            client.close()
        lab.close()


def test_new_ui_action_kinds_recorded_for_the_participant_refused_for_a_watcher(
        tmp_path: Path) -> None:
    from tests.navigator.test_auth import AuthServer

    lab = AuthServer(tmp_path, MemoryBus())
    session = _shared_study_session(lab, "s-new", "P2")
    clients = {u: lab.client(u) for u in ("alice", "bob")}
    sent = [("block_mode", {"mode": "lock"}), ("theme", {"theme": "dark"}),
            ("selection_used", {"use": "focus", "name": "left"})]
    try:
        bob = clients["bob"]
        bob.sio.emit("ui_action", {"session": session, "kind": "block_mode",
                                   "detail": {"mode": "lock"}})
        bob.wait(lambda: len(bob.errors) == 1)
        assert bob.errors[0]["reason"].startswith("ui_action not recorded: bob may not steer")
        before = time.time()
        for kind, detail in sent:
            clients["alice"].sio.emit("ui_action", {"session": session, "kind": kind,
                                                    "detail": detail})
        deadline = time.monotonic() + 5
        while len(ui_actions(lab.bus, session)) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.02)
        recorded = [e for e in lab.bus.history(session) if e.type == "ui_action"]
        assert [(e.data["kind"], e.data["user"], e.data["detail"]) for e in recorded] == [
            (kind, "P2", detail) for kind, detail in sent]
        assert all(before <= e.ts <= time.time() for e in recorded)
        assert clients["alice"].errors == []
    finally:
        for client in clients.values():
            client.close()
        lab.close()


def ui_actions(bus: MemoryBus, session: str) -> list[tuple[str, dict]]:
    return [(e.data["user"], e.data["detail"]) for e in bus.history(session)
            if e.type == "ui_action"]
