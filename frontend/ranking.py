"""The one ranking of evaluated candidates (leaderboard and archive): accuracy first, then
the lower loss, then the architecture evaluated more often, then its name, so equal scores
are ordered by a rule the ``tie`` column names instead of by arrival."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def rank_key(record: dict[str, Any], evaluations: int) -> tuple[float, float, int, str]:
    """Higher accuracy first; then lower loss; then more evaluations; then the arch string."""
    acc, loss = number(record.get("accuracy")), number(record.get("loss"))
    return (-(acc if acc is not None else -math.inf), loss if loss is not None else math.inf,
            -evaluations, str(record.get("arch", "")))


def ranked_rows(records: Sequence[dict[str, Any]], evaluations: dict[str, int]) -> list[dict[str, Any]]:
    """Every record as an archive row, ranked by :func:`rank_key`, each saying which rule
    separated it from the row above when their accuracies tie."""
    keyed = sorted(((rank_key(r, evaluations.get(r["arch"], 1)), r) for r in records),
                   key=lambda kr: kr[0])
    rows: list[dict[str, Any]] = []
    previous: tuple[float, float, int, str] | None = None
    for i, (key, r) in enumerate(keyed):
        tie = ""
        if previous is not None and key[0] == previous[0]:
            tie = "loss" if key[1] != previous[1] else "evaluations" if key[2] != previous[2] \
                else "name (exact tie)"
        rows.append({"rank": i + 1, "tie": tie, "arch": r["arch"], "accuracy": r.get("accuracy"),
                     "loss": number(r.get("loss")), "evaluations": evaluations.get(r["arch"], 1),
                     "params": r.get("params"), "flops": r.get("flops"),
                     "latency_ms": r.get("latency_ms"), "generation": r.get("generation")})
        previous = key
    return rows
