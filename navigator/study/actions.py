"""The UI-only actions a study records: what the participant changed in what they see, as
``ui_action`` events next to the commands (which are recorded through their acks).

A ``ui_action`` comes from a browser, so everything about it is checked against this schema:
a forged or stale client gets a ValueError, never a row in the recording.
"""

from __future__ import annotations

import json
import math
from typing import Any

# kind -> {detail key: type}; README, "Recorded actions", lists them.
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
