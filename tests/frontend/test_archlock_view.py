"""The ArchLock panel's pure parts: points, front, summary, leaderboard columns, figure."""

from __future__ import annotations

import pytest

from frontend.archlock_builder import lock_error, lock_objective
from frontend.archlock_figures import lock_scatter
from frontend.archlock_view import lock_columns, lock_config, lock_points, lock_summary
from frontend.callbacks import leaderboard_row
from frontend.widgets import LEADERBOARD_COLUMNS
from supernet.archlock import UNKNOWN_TARGET, ArchLockConfig, target_key


def _record(arch: str, source: float, target: float | None) -> dict:
    scores = {} if target is None else {"target:t": target}
    return {"arch": arch, "accuracy": source, "scores": scores}


RECORDS = [_record("a", 0.94, 0.73), _record("b", 0.93, 0.70), _record("c", 0.925, 0.50),
           _record("d", 0.91, 0.40), _record("e", 0.939, 0.52), _record("f", 0.95, None)]


def test_points_leave_out_unscored_records_and_find_the_front() -> None:
    config = ArchLockConfig(targets=["t"], tolerance=2.0)
    points = lock_points(RECORDS, config)
    assert points["archs"] == ["a", "b", "c", "d", "e"]  # f has no target score
    assert points["feasible"] == [True, True, True, False, True]
    assert abs(points["threshold"] - 0.92) < 1e-12
    assert [points["archs"][i] for i in points["front"]] == ["c", "e", "a"]
    summary = lock_summary(points, config)
    assert summary.startswith("4 of 5 candidates within 2 points") and summary.endswith(": c")


def test_columns_name_the_source_and_each_target_after_the_metric() -> None:
    config = lock_config({"archlock": {"targets": ["t", "u"]}})
    assert config is not None and lock_config({}) is None
    assert lock_config({"archlock": {"tolerance": "lots"}}) is None  # unreadable: no panel
    columns = lock_columns(LEADERBOARD_COLUMNS, config)
    ids = [c["id"] for c in columns]
    at = ids.index("accuracy")
    assert ids[at + 1:at + 3] == ["target:t", "target:u"]
    assert columns[at]["name"] == "source accuracy"
    assert lock_columns(LEADERBOARD_COLUMNS, None) == LEADERBOARD_COLUMNS
    row = leaderboard_row(1, {"arch": "a", "accuracy": 0.9,
                              "scores": {"target:t": 0.5, "naswot": 3.0}})
    assert row["target:t"] == 0.5 and "naswot" not in row


def test_the_scatter_draws_points_front_and_threshold_line() -> None:
    fig = lock_scatter([0.9, 0.8, 0.95], [0.5, 0.4, 0.6], ["x", "y", "z"], [True, False, True],
                       0.85, [0, 2], "t")
    assert [t.name for t in fig.data] == ["feasible", "below the threshold", "locked front"]
    assert list(fig.data[0].x) == [0.9, 0.95] and list(fig.data[1].x) == [0.8]
    assert list(fig.data[2].y) == [0.5, 0.6]
    assert [s.x0 for s in fig.layout.shapes] == [0.85]


def test_the_unknown_target_is_shown_as_simulated_targets() -> None:
    config = lock_config({"archlock": {"targets": ["t"], "unknown_target": True}})
    assert config is not None
    columns = {c["id"]: c["name"] for c in lock_columns(LEADERBOARD_COLUMNS, config)}
    assert columns[target_key(UNKNOWN_TARGET)] == "simulated targets"
    assert columns["target:t"] == "target t"


def test_the_builder_fields_become_a_validated_objective() -> None:
    assert lock_objective("", [], "relative", 2, None) is None  # nothing to lock against
    doc = lock_objective(" a, b ", [], "relative", 3, 0.5)
    assert doc is not None and doc["targets"] == ["a", "b"] and not doc["unknown_target"]
    assert doc["tolerance"] == 3.0 and doc["min_source"] == 0.0  # relative: no minimum
    unknown = lock_objective("", [UNKNOWN_TARGET], "absolute", None, 0.9)
    assert unknown is not None and unknown["unknown_target"] and unknown["min_source"] == 0.9
    assert ArchLockConfig.from_dict(unknown).mode == "absolute"
    assert "needs min_source" in lock_error("", [UNKNOWN_TARGET], "absolute", 2, None)
    assert "tolerance" in lock_error("a", [], "relative", 250, None)
    assert "name each target once" in lock_error("a, a", [], "relative", 2, None)
    assert lock_error("a", [], "relative", 2, None) == ""
    with pytest.raises(ValueError, match="min_source"):
        lock_objective("a", [], "absolute", 2, 1.5)
