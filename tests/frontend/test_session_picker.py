"""Which session a new tab opens, who holds the worker slot, and the replay list's and the
CLI's session lines (frontend/session_picker.py, navigator/session_labels.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontend.session_picker import session_to_open, slot_holder
from frontend.study_view import _sessions_options
from navigator.cli import main
from navigator.events import Event, Leaderboard, SessionState
from navigator.recording import RecordingStore


def _summary(session: str, state: str, ts: float, budget_paused: bool = False) -> dict:
    return {"session": session, "state": state, "created_ts": ts, "budget_paused": budget_paused,
            "label": session}


def test_a_new_tab_opens_on_the_newest_running_session() -> None:
    summaries = [_summary("a", "running", 1), _summary("b", "paused", 3), _summary("c", "running", 2)]
    assert session_to_open(summaries) == "c"
    assert session_to_open([_summary("b", "paused", 3), _summary("d", "stopped", 4)]) == "b"
    assert session_to_open([_summary("d", "stopped", 4)]) is None


def test_the_slot_holder_is_a_budget_paused_session_other_than_the_waiting_one() -> None:
    summaries = [_summary("old", "paused", 1, budget_paused=True), _summary("new", "queued", 2),
                 _summary("hand", "paused", 3)]
    assert slot_holder(summaries, "new")["session"] == "old"
    assert slot_holder(summaries[1:], "new") is None


def test_replay_list_and_cli_name_start_dataset_space_state_and_best(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = RecordingStore(tmp_path / "recordings.sqlite")
    config = {"name": "wide", "template": "tiny", "dataset": "digits"}
    for seq, payload in enumerate([SessionState(state="running", owner="ana", config=config),
                                   Leaderboard(records=[{"arch": "a", "accuracy": 0.875}]),
                                   SessionState(state="stopped")], 1):
        event = Event.of("s-1", payload)
        event.seq = seq
        store.append(event)
    label = _sessions_options(store, lambda _s: None)[0]["label"]
    assert label.startswith("wide (s-1) · started ")
    assert label.endswith(" · digits · tiny · stopped · best 0.875 · 3 events")
    store.close()
    assert main(["sessions", "--data-dir", str(tmp_path), "list"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("s-1  owner=ana  wide · started ")
    assert "· digits · tiny · stopped · best 0.875  events=3" in line
