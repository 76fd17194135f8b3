"""Outcomes computed from a hand-made event list: exact numbers."""

from __future__ import annotations

from navigator.events import Candidates, SessionState
from navigator.study import (
    TIMER_USER,
    action_rows,
    best_over_time,
    session_outcomes,
    session_start,
    time_to_top,
)
from tests.navigator.study.sample import T0, ev, rec, study_events


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

