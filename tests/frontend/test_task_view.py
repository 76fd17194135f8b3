"""The task in the views: the metric column's title and the ranking's direction."""

from __future__ import annotations

from frontend.callbacks import export_status
from frontend.ranking import rank_key, ranked_rows
from frontend.task_view import baseline_line, leaderboard_columns
from navigator.events import Baseline, Event
from navigator.session_view import SessionView
from supernet.space import SearchSpace
from supernet.tasks import Task

FIELD = Task(kind="field_regression").describe()


def _titles(task: dict) -> dict[str, str]:
    return {c["id"]: c["name"] for c in leaderboard_columns(task)}


def test_the_metric_column_is_named_with_its_direction() -> None:
    assert _titles(FIELD)["accuracy"] == "relative L2 error (lower is better)"
    assert _titles({})["accuracy"] == "accuracy"  # sessions recorded before tasks existed
    assert _titles(FIELD)["params"] == "params"


def test_rows_rank_the_lowest_error_first_for_a_lower_is_better_task() -> None:
    records = [{"arch": a, "accuracy": e, "loss": e} for a, e in
               (("a", 0.4), ("b", 0.1), ("c", None), ("d", 0.3))]
    lower = ranked_rows(records, {}, higher_is_better=False)
    assert [r["arch"] for r in lower] == ["b", "d", "a", "c"]  # a missing metric last
    higher = ranked_rows(records, {})
    assert [r["arch"] for r in higher] == ["a", "d", "b", "c"]
    assert rank_key(records[1], 1, False) < rank_key(records[0], 1, False)


def test_the_session_view_reads_the_task_from_the_space_event() -> None:
    space = SearchSpace.from_preset("tiny")
    view = SessionView("s")
    assert view.higher_is_better and view.task == {}
    view.apply(Event(type="space", session="s", seq=1, data={
        "template": space.to_dict(), "choice_points": [cp.to_dict() for cp in space],
        "size": space.size(), "task": FIELD}))
    assert view.task["metric"] == "relative_l2" and not view.higher_is_better


def test_the_export_status_names_the_task_metric() -> None:
    text = export_status({"folder": "/x", "files": {}, "metrics": {
        "metric": "relative_l2", "test_relative_l2": 0.123, "train_epochs": 0}})
    assert "test relative l2 0.123" in text


def _baseline(best: float, base: float, higher: bool) -> dict:
    metric, label = ("accuracy", "accuracy") if higher else ("relative_l2", "relative L2 error")
    beats = best > base if higher else best < base
    return Baseline(arch="base", best_arch="best", metric=metric, label=label,
                    higher_is_better=higher, value=base, best_value=best, beats=beats,
                    budget=3).to_dict()


def test_the_baseline_line_says_who_wins_in_the_metrics_direction() -> None:
    assert baseline_line({}) == ""  # nothing until the worker has trained both
    line = baseline_line(_baseline(0.088, 0.091, higher=False))
    assert line.startswith("best found relative L2 error 0.0880 beats the baseline 0.0910 "
                           "(lower is better")
    assert "3 epoch(s)" in line and "baseline base" in line
    worse = baseline_line(_baseline(0.095, 0.091, higher=False))
    assert "0.0950 does not beat the baseline 0.0910" in worse
    assert "beats the baseline 0.8000 (higher is better" in baseline_line(
        _baseline(0.9, 0.8, higher=True))


def test_the_session_view_keeps_the_last_baseline() -> None:
    view = SessionView("s")
    assert view.baseline == {}
    data = _baseline(0.088, 0.091, higher=False)
    view.apply(Event(type="baseline", session="s", seq=1, data=data))
    assert view.baseline == data
