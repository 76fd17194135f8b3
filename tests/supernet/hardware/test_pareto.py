"""Pareto fronts (``supernet.hardware.pareto``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from supernet.hardware.pareto import pareto_front, pareto_table
from supernet.records import CandidateRecord
from supernet.space import SearchSpace


def brute_force_front(points: list[tuple[float, float]]) -> set[int]:
    def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
        return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])

    return {i for i, p in enumerate(points) if not any(dominates(q, p) for q in points)}


def test_pareto_front_on_a_hand_made_example() -> None:
    points = [
        (0.90, 10.0),  # 0 front
        (0.80, 5.0),   # 1 front
        (0.80, 5.0),   # 2 exact duplicate of a front point: kept
        (0.85, 10.0),  # 3 same cost as 0, less accurate: dominated
        (0.90, 12.0),  # 4 as accurate as 0, costlier: dominated
        (0.70, 8.0),   # 5 dominated by 1
        (0.95, 20.0),  # 6 front
        (0.70, 8.0),   # 7 duplicate of a dominated point: dominated too
        (0.60, 1.0),   # 8 front (cheapest)
    ]
    assert pareto_front(points) == [8, 1, 2, 0, 6]
    assert pareto_front([]) == []
    with pytest.raises(ValueError, match="point 1"):
        pareto_front([(0.5, 1.0), (math.nan, 2.0)])


def test_pareto_front_matches_brute_force_with_many_ties() -> None:
    rng = np.random.default_rng(6)
    for _ in range(20):
        points = [(float(a), float(c)) for a, c in rng.integers(0, 6, size=(40, 2))]
        front = pareto_front(points)
        assert set(front) == brute_force_front(points)
        assert [points[i][1] for i in front] == sorted(points[i][1] for i in front)


def test_pareto_table_rows_sorted_by_cost(nb201_space: SearchSpace) -> None:
    def record(i: int, accuracy: float, latency_ms: float | None) -> CandidateRecord:
        arch = nb201_space.to_string(nb201_space.from_index(i))
        return CandidateRecord(arch=arch, index=i, accuracy=accuracy, loss=1.0, params=10 * i,
                               flops=i, latency_ms=latency_ms)

    records = [record(1, 0.9, 3.0), record(2, 0.7, 1.0), record(3, 0.8, 2.5),
               record(4, 0.99, None), record(5, 0.6, 2.0)]
    rows = pareto_table(records, "latency_ms")
    assert [r["index"] for r in rows] == [2, 3, 1]
    assert rows[0] == records[1].to_dict()
    by_params = pareto_table([r.to_dict() for r in records], "params")
    assert [r["index"] for r in by_params] == [1, 4]
