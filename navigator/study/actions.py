"""The UI-only actions a study records: what the participant changed in what they see, as
``ui_action`` events next to the commands (which are recorded through their acks).

A ``ui_action`` comes from a browser, so everything about it is checked against this schema:
a forged or stale client gets a ValueError, never a row in the recording.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import pydantic
from pydantic import Field

from supernet.validation import FiniteFloat, Model, conforms, requirement, validate

Text = Annotated[str, Field(description="str")]
Count = Annotated[int, Field(description="int")]
Items = Annotated[list[Any], Field(description="list")]
CLICK_MODES = ("prune", "lock")


def _one_of(*choices: str) -> Any:
    """A string the UI can only send as one of ``choices``: anything else is a forged or
    stale client."""
    return Annotated[str, Field(description="str"),
                     requirement(lambda value: value in choices, f"must be one of {list(choices)}")]


# kind -> {detail key: type}, every key optional; README, "Recorded actions", lists them.
UI_ACTIONS: dict[str, dict[str, Any]] = {
    "map_color": {"color": Text},                     # map "Colour by" changed
    "heat_mode": {"mode": _one_of(*CLICK_MODES)},      # heatmap click prunes / locks
    "block_mode": {"mode": _one_of(*CLICK_MODES)},     # block view click prunes / locks
    "edit_proposed": {"command": Text, "choice_point": Text, "op": Text,  # heatmap/block click
                      "view": _one_of("heatmap", "blocks")},
    "map_selection": {"n": Count, "archs": Items},    # lasso / box selection on the map
    "map_zoom": {"x": Items, "y": Items},             # map zoomed or panned ([]: autoscale)
    "candidate_selected": {"arch": Text},             # map point or leaderboard row clicked
    "candidate_pinned": {"arch": Text},               # pinned for comparison
    "selection_saved": {"name": Text, "n": Count},    # named selection saved
    "selections_combined": {"operation": _one_of("union", "intersection", "difference",
                                                "complement"),
                            "a": Text, "b": Text, "name": Text},  # Combine
    "selection_used": {"use": _one_of("focus", "fitness"), "name": Text},  # Focus on / Fitness of
    "selection_deleted": {"name": Text},              # saved selection deleted
    "weight_edge": {"choice_point": Text},            # edge picked for sampling weights
    "leaderboard_view": {"sort_by": Items, "filter": Text},  # leaderboard sorted / filtered
    "pareto_cost": {"cost": _one_of("latency_ms", "params", "flops")},  # Pareto cost axis
    "theme": {"theme": _one_of("light", "dark")},      # light / dark theme
    "advice_accepted": {"id": Text, "command": Text, "command_id": Text},  # advisor: Accept
    "advice_dismissed": {"id": Text, "command": Text},  # advisor: Dismiss
    "pair_heatmap": {"first": Text, "second": Text},   # pair heatmap's choice points picked
}


def _detail_model(kind: str, spec: dict[str, Any]) -> type[Model]:
    """The detail of ``kind`` as a strict model; a missing key is fine (older clients send
    fewer), its default is never validated nor kept: callers record the detail as sent."""
    fields: dict[str, Any] = {key: (tp, None) for key, tp in spec.items()}
    return pydantic.create_model(kind, __base__=Model, **fields)


_DETAILS = {kind: _detail_model(kind, spec) for kind, spec in UI_ACTIONS.items()}
MAX_DETAIL_CHARS = 8000


def parse_ui_action(message: Any) -> tuple[str, dict[str, Any]]:
    """Validate a ``ui_action`` message ``{kind, detail}``: (kind, detail) or ValueError."""
    if not isinstance(message, dict):
        raise ValueError(f"a ui_action must be a JSON object, got {type(message).__name__}")
    kind, detail = message.get("kind"), message.get("detail", {})
    if not isinstance(kind, str) or kind not in UI_ACTIONS:
        raise ValueError(f"unknown ui_action kind {kind!r}; known: {sorted(UI_ACTIONS)}")
    if not isinstance(detail, dict):
        raise ValueError("ui_action detail must be a JSON object")
    validate(_DETAILS[kind], detail, f"ui_action {kind}")
    if kind == "map_zoom":
        for key in ("x", "y"):
            _check_axis_range(detail.get(key, []), key)
    if len(json.dumps(detail)) > MAX_DETAIL_CHARS:
        raise ValueError(f"ui_action detail is over {MAX_DETAIL_CHARS} characters")
    return kind, detail


def _check_axis_range(value: list[Any], key: str) -> None:
    """A map_zoom axis is [] (autoscale) or [low, high]: the replay sets it as the axis range."""
    if len(value) not in (0, 2) or not all(conforms(FiniteFloat, v) for v in value):
        raise ValueError(f"ui_action map_zoom: {key} must be [] (autoscale) or [low, high] "
                         f"numbers, got {value!r}")
