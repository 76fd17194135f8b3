"""The one ranking of evaluated candidates (leaderboard and archive): the metric first (in its
direction: accuracy highest first, a relative L2 error lowest first), then the lower loss, then the architecture evaluated more often, then its name, so equal scores
are ordered by a rule the ``tie`` column names instead of by arrival."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def rank_key(record: dict[str, Any], evaluations: int,
             higher_is_better: bool = True) -> tuple[float, float, int, str]:
    """The better metric first (``record["accuracy"]`` holds the task's metric); then lower
    loss; then more evaluations; then the arch string. A missing metric ranks last."""
    metric, loss = number(record.get("accuracy")), number(record.get("loss"))
    sign = 1.0 if higher_is_better else -1.0
    return (-(sign * metric if metric is not None else -math.inf),
            loss if loss is not None else math.inf, -evaluations, str(record.get("arch", "")))


def ranked_rows(records: Sequence[dict[str, Any]], evaluations: dict[str, int],
                higher_is_better: bool = True) -> list[dict[str, Any]]:
    """Every record as an archive row, ranked by :func:`rank_key`, each saying which rule
    separated it from the row above when their metrics tie."""
    keyed = sorted(((rank_key(r, evaluations.get(r["arch"], 1), higher_is_better), r)
                    for r in records),
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
