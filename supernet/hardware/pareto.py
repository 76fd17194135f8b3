"""Pareto fronts of accuracy against a cost (latency, parameters, FLOPs)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated ``(accuracy, cost)`` points, by ascending cost.

    ``a`` dominates ``b`` when it is at least as accurate and at most as costly, and
    strictly better in one of the two. So of equal-cost points only the most accurate
    survive, of equal-accuracy points only the cheapest, and exact duplicates of a
    front point are all kept (neither dominates the other; ties in the output keep
    index order). Non-finite values raise, since they cannot be ordered.
    """
    if not len(points):
        return []
    arr = np.asarray(points, dtype=np.float64).reshape(len(points), 2)
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise ValueError(f"point {bad} has a non-finite accuracy or cost: {points[bad]!r}")
    acc, cost = arr[:, 0], arr[:, 1]
    order = np.lexsort((np.arange(len(arr)), -acc, cost))  # cost up, accuracy down, index
    front: list[int] = []
    best_cheaper = -math.inf  # best accuracy among strictly cheaper points
    group_cost, group_best = math.nan, -math.inf
    for i in order.tolist():
        if cost[i] != group_cost:
            best_cheaper = max(best_cheaper, group_best)
            group_cost, group_best = cost[i], acc[i]
        if acc[i] == group_best and acc[i] > best_cheaper:
            front.append(i)
    return front


def _field(record: Any, key: str) -> Any:
    return record.get(key) if isinstance(record, Mapping) else getattr(record, key, None)


def pareto_table(records: Sequence[Any], cost_key: str = "latency_ms",
                 accuracy_key: str = "accuracy") -> list[dict[str, Any]]:
    """The Pareto-optimal records as plain rows sorted by cost (for a table or a CSV).

    ``records`` are :class:`~supernet.records.CandidateRecord` objects or dicts;
    those without a cost (``None``, e.g. latency not measured) cannot be placed and
    are left out.
    """
    usable = [r for r in records
              if _field(r, cost_key) is not None and _field(r, accuracy_key) is not None]
    points = [(float(_field(r, accuracy_key)), float(_field(r, cost_key))) for r in usable]
    rows = []
    for i in pareto_front(points):
        record = usable[i]
        rows.append(dict(record) if isinstance(record, Mapping) else record.to_dict())
    return rows
