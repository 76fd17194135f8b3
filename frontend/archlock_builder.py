"""The Start-search builder's ArchLock fields: which tasks to lock against and how much
source accuracy may go.

The fields become ``EngineConfig.archlock`` through the one validation path
(:meth:`supernet.archlock.ArchLockConfig.from_dict`), so the builder refuses exactly what
the engine would, and says why next to the fields before a session is started.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from frontend import ids
from frontend.widgets import field
from supernet.archlock import UNKNOWN_TARGET, ArchLockConfig

# The fields as the start callback reads them (States, in this order).
LOCK_STATES = (ids.ARCHLOCK_TARGETS, ids.ARCHLOCK_UNKNOWN, ids.ARCHLOCK_MODE,
               ids.ARCHLOCK_TOLERANCE, ids.ARCHLOCK_MIN_SOURCE)


def lock_fields() -> html.Details:
    """Collapsed by default: a search without targets runs without the objective."""
    return html.Details([
        html.Summary("ArchLock: lock against target tasks"),
        field("Targets (tabular: other table columns; supernet: dataset specs), comma-separated",
              dcc.Input(id=ids.ARCHLOCK_TARGETS, type="text", value="",
                        placeholder="e.g. cifar100, ImageNet16-120 or cifar10:/data/c10")),
        dcc.Checklist(id=ids.ARCHLOCK_UNKNOWN, value=[], options=[
            {"label": "unknown target: simulated targets near the source", "value": UNKNOWN_TARGET}]),
        field("Source constraint", dcc.RadioItems(id=ids.ARCHLOCK_MODE, value="relative", options=[
            {"label": "within X points of the best found", "value": "relative"},
            {"label": "absolute minimum", "value": "absolute"}])),
        html.Div([
            # no min/max on the inputs: the browser would blank a value out of range, and the
            # validation path's message beside the fields says what the range is
            field("X (points)", dcc.Input(id=ids.ARCHLOCK_TOLERANCE, type="number", step="any",
                                          value=2)),
            field("minimum source accuracy (fraction)", dcc.Input(
                id=ids.ARCHLOCK_MIN_SOURCE, type="number", step="any", value=None)),
        ], className="row"),
        html.Div(id=ids.ARCHLOCK_ERROR, className="error-text"),
    ], className="archlock-fields")


def lock_objective(targets: str | None, unknown: list[str] | None, mode: str | None,
                   tolerance: Any, min_source: Any) -> dict[str, Any] | None:
    """The ``archlock`` settings the fields describe, validated (a ``ValueError`` naming the
    field otherwise); None when no target is named and the unknown one is not ticked."""
    names = [t.strip() for t in (targets or "").split(",") if t.strip()]
    if not names and UNKNOWN_TARGET not in (unknown or []):
        return None
    doc: dict[str, Any] = {"targets": names, "unknown_target": UNKNOWN_TARGET in (unknown or []),
                           "mode": mode or "relative"}
    if tolerance is not None:
        doc["tolerance"] = float(tolerance) if isinstance(tolerance, int) else tolerance
    if doc["mode"] == "absolute" and min_source is not None:
        doc["min_source"] = float(min_source) if isinstance(min_source, int) else min_source
    return ArchLockConfig.from_dict(doc).to_dict()


def lock_error(*values: Any) -> str:
    """What is wrong with the fields (empty when they are fine or unused)."""
    try:
        lock_objective(*values)
    except (ValueError, TypeError) as exc:
        return f"ArchLock: {exc}"
    return ""
