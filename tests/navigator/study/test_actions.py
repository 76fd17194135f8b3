"""UI-action validation: every kind, key, type and choice the UI can send."""

from __future__ import annotations

from typing import Any

import pytest

from navigator.study import parse_ui_action


@pytest.mark.parametrize("message, reason", [
    ({"kind": "dance"}, "unknown ui_action kind 'dance'"),
    ({"kind": "map_color", "detail": {"colour": "x"}}, "map_color: unknown key(s) ['colour']; allowed: ['color']"),
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

