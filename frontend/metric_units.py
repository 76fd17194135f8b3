"""The fitness table in the task's own units and direction.

The engine's fitness table counts each candidate's ranking value, higher = better
(:func:`supernet.tasks.rank_value`): for a lower-is-better task (relative L2 error) that is the
negated error, which suits every ranking but would read as "-0.09 accuracy" in a view. Here
the table is turned back into the metric (an error of 0.09, its 95% interval, the best = the
lowest, the good tail = the 10th percentile) with a title that says the direction, and the
heatmap reverses its colour scale so that "good" has the same colour for every task. When the
analyst ranks by another estimator (``rank_by``) the table holds that estimator's scores,
already higher = better, and is shown as it is. (The ``evidence`` event's model numbers are
fitted on the recorded metric and need no turning: merge them in after this.)
"""

from __future__ import annotations

from typing import Any

from supernet.estimators import RANK_BY_DEFAULT

Matrix = dict[str, dict[str, dict[str, Any]]]

_BOUNDS = (("ci_low", "ci_high"), ("q_low", "q_high"))
_VALUES = ("mean", "best", "relative", "quantile")


def negated_metric(task: dict[str, Any], rank_by: str = RANK_BY_DEFAULT) -> bool:
    """Whether the fitness values are the negated metric of a lower-is-better task."""
    return rank_by == RANK_BY_DEFAULT and not task.get("higher_is_better", True)


def fitness_label(task: dict[str, Any], rank_by: str = RANK_BY_DEFAULT) -> str:
    """What the fitness colour means: "relative L2 error (lower is better)", "accuracy", or
    the estimator the analyst ranks by."""
    if rank_by != RANK_BY_DEFAULT:
        return f"{rank_by} (higher is better)"
    return str(task.get("label") or "accuracy")


def _negate(value: Any) -> Any:
    return -value if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    out = dict(cell)
    for key in _VALUES:
        if key in out:
            out[key] = _negate(out[key])
    for low, high in _BOUNDS:
        if low in out or high in out:
            out[low], out[high] = _negate(cell.get(high)), _negate(cell.get(low))
    if isinstance(cell.get("q"), (int, float)):  # the good tail of an error is its low end
        out["q"] = 1.0 - cell["q"]
    out["lower_is_better"] = True  # the hovers say "lowest" (evidence_figures.py)
    return out


def in_metric_units(matrix: Matrix, task: dict[str, Any],
                    rank_by: str = RANK_BY_DEFAULT) -> Matrix:
    """``matrix`` with every value in the metric's own units (unchanged when they already are)."""
    if not negated_metric(task, rank_by):
        return matrix
    return {cp: {op: _cell(cell) for op, cell in ops.items()} for cp, ops in matrix.items()}


def heatmap_units(matrix: Matrix, task: dict[str, Any],
                  trust: dict[str, Any]) -> tuple[Matrix, str, bool]:
    """A session's fitness matrix in its metric's units, the colour's title and whether the
    colour scale is reversed (``trust``: the last ``trust`` event, which names the ``rank_by``)."""
    rank_by = str(trust.get("rank_by") or RANK_BY_DEFAULT)
    return (in_metric_units(matrix, task, rank_by), fitness_label(task, rank_by),
            negated_metric(task, rank_by))
