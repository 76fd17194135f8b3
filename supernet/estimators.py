"""Estimators of architecture quality, their combination, and how far to trust them.

An estimator is any score where higher means "predicted better": the supernet's accuracy
with inherited weights (or its negated loss), a zero-cost proxy, FLOPs or params. Each is
noisy in its own way (the supernet's is biased towards what trains fast under weight
sharing, the proxies towards size), so their rank average usually ranks better than any
one of them: :func:`rank_ensemble` is the default ``score`` of a candidate.

Trust is measured against anchors, architectures whose true accuracy is known (table
truth in tabular mode, a user's CSV of measured accuracies, architectures trained stand
alone): :func:`anchor_correlations` gives each estimator's Kendall tau and Spearman rho
over the anchors with a percentile bootstrap interval, which is what the "how far to trust
this ranking" panel shows. numpy and scipy only: the runtime and the web may import it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

ENSEMBLE_MEMBERS: tuple[str, ...] = ("supernet", "naswot", "synflow", "flops")
"""The default ensemble: supernet accuracy and the two most faithful proxies, with FLOPs."""

ENSEMBLE = "score"
"""The name of the ensemble among a candidate's scores (``CandidateRecord.scores``)."""

MIN_ANCHORS = 3
"""Fewer anchors than this give no correlation (one pair says nothing about an order)."""


def normalised_ranks(values: Sequence[float | None]) -> np.ndarray:
    """Average ranks scaled to [0, 1] (1 = highest); a missing or non-finite value ranks
    lowest, so an estimator that failed on an architecture never promotes it."""
    array = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    bad = ~np.isfinite(array)
    if bad.all() or len(array) < 2:
        return np.full(len(array), 0.5)
    array[bad] = np.nanmin(array[~bad]) - 1.0
    return (stats.rankdata(array) - 1.0) / (len(array) - 1.0)


def rank_ensemble(scores: Mapping[str, Sequence[float | None]],
                  members: Sequence[str] = ENSEMBLE_MEMBERS) -> np.ndarray:
    """The mean normalised rank over the ``members`` present in ``scores`` (each a column
    over the same architectures); members missing from ``scores`` are left out."""
    present = [name for name in members if name in scores]
    if not present:
        raise ValueError(f"no ensemble member among the scores: need one of {list(members)}, "
                         f"got {sorted(scores)}")
    return np.mean([normalised_ranks(scores[name]) for name in present], axis=0)


@dataclass(frozen=True)
class AnchorCorrelation:
    """How one estimator orders the anchors compared with their true accuracy."""

    estimator: str
    n: int
    kendall: float | None
    spearman: float | None
    kendall_low: float | None
    kendall_high: float | None
    spearman_low: float | None
    spearman_high: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _finite(value: float) -> float | None:
    return None if not math.isfinite(value) else round(float(value), 4)


def _pair(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan
    return float(stats.kendalltau(x, y).statistic), float(stats.spearmanr(x, y).statistic)


def anchor_correlations(estimates: Mapping[str, Sequence[float | None]],
                        truth: Sequence[float], n_boot: int = 200, level: float = 0.9,
                        seed: int = 0) -> dict[str, AnchorCorrelation]:
    """Kendall tau and Spearman rho of every estimator against ``truth`` over the anchors
    it scored, with a percentile bootstrap interval at ``level`` (resampling anchors)."""
    y_all = np.asarray(truth, dtype=np.float64)
    out: dict[str, AnchorCorrelation] = {}
    for name, values in estimates.items():
        if len(values) != len(y_all):
            raise ValueError(f"estimator {name!r} has {len(values)} values for "
                             f"{len(y_all)} anchors")
        x = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
        keep = np.isfinite(x) & np.isfinite(y_all)
        x, y = x[keep], y_all[keep]
        n = len(x)
        if n < MIN_ANCHORS:
            out[name] = AnchorCorrelation(name, n, None, None, None, None, None, None)
            continue
        tau, rho = _pair(x, y)
        rng = np.random.default_rng(seed)
        boots = np.array([_pair(x[idx], y[idx]) for idx in
                          (rng.integers(n, size=n) for _ in range(n_boot))])
        alpha = (1.0 - level) / 2.0
        lows = highs = (math.nan, math.nan)
        if np.isfinite(boots).any():
            lows = tuple(np.nanquantile(boots, alpha, axis=0))
            highs = tuple(np.nanquantile(boots, 1.0 - alpha, axis=0))
        out[name] = AnchorCorrelation(name, n, _finite(tau), _finite(rho), _finite(lows[0]),
                                      _finite(highs[0]), _finite(lows[1]), _finite(highs[1]))
    return out


def top_k_percentile(estimate: Sequence[float], percentiles: Sequence[float], k: int = 10
                     ) -> float:
    """The median true percentile of the ``k`` architectures an estimator ranks highest."""
    order = np.argsort(-np.asarray(estimate, dtype=np.float64), kind="stable")[:k]
    return float(np.median(np.asarray(percentiles, dtype=np.float64)[order]))


# -- estimators of evaluated candidates (what "rank by" chooses) ---------------------------

RANK_BY_DEFAULT = "accuracy"
NOT_ESTIMATORS = frozenset({"table_rank", "table_percentile"})
"""Scores of a record that are no estimate of quality (the table's truth, for reference)."""


def estimator_columns(records: Sequence[Any]) -> dict[str, list[float | None]]:
    """Every estimator the records carry, higher = better: ``accuracy``, ``loss`` (negated),
    ``flops`` and ``params`` (larger is predicted better, as the baselines rank), every
    numeric score (zero-cost proxies; latencies negated) and the rank ``score`` ensemble."""
    columns: dict[str, list[float | None]] = {
        "accuracy": [r.accuracy for r in records],
        "loss": [None if r.loss is None or not math.isfinite(r.loss) else -r.loss
                 for r in records],
    }
    for name in ("flops", "params"):
        values = [getattr(r, name) for r in records]
        if any(v is not None for v in values):
            columns[name] = [None if v is None else float(v) for v in values]
    names = sorted({k for r in records for k in r.scores} - NOT_ESTIMATORS - {ENSEMBLE})
    for name in names:
        sign = -1.0 if name.startswith("latency") else 1.0
        columns[name] = [None if name not in r.scores else sign * float(r.scores[name])
                         for r in records]
    if records:
        members = {"supernet" if k == "accuracy" else k: v for k, v in columns.items()}
        columns[ENSEMBLE] = rank_ensemble(members).tolist()
    return columns


def estimator_names(records: Sequence[Any]) -> list[str]:
    return list(estimator_columns(records)) if records else [RANK_BY_DEFAULT, ENSEMBLE]


def ranked_values(records: Sequence[Any], rank_by: str) -> list[float]:
    """Each record's value of the ``rank_by`` estimator (missing: -inf, ranked last)."""
    if rank_by == RANK_BY_DEFAULT or not records:
        return [r.accuracy for r in records]
    columns = estimator_columns(records)
    if rank_by not in columns:
        raise ValueError(f"unknown estimator {rank_by!r} to rank by; this session has "
                         f"{list(columns)}")
    return [-math.inf if v is None else float(v) for v in columns[rank_by]]


def trust_report(records: Sequence[Any], anchors: Mapping[str, float], rank_by: str,
                 n_boot: int = 200) -> dict[str, Any]:
    """Each estimator's correlations over the evaluated candidates that are anchors (their
    true accuracy known): the ``trust`` event's payload."""
    best: dict[str, Any] = {}
    for r in records:  # each architecture once, at its latest evaluation
        if r.arch in anchors:
            best[r.arch] = r
    chosen = list(best.values())
    truth = [anchors[r.arch] for r in chosen]
    columns = estimator_columns(chosen) if chosen else {}
    correlations = anchor_correlations(columns, truth, n_boot=n_boot) if chosen else {}
    return {"rank_by": rank_by, "anchors": len(chosen), "total_anchors": len(anchors),
            "estimators": {name: c.to_dict() for name, c in correlations.items()}}


def values_by_arch(records: Sequence[Any], rank_by: str) -> dict[str, float]:
    """``rank_by``'s value of every evaluated architecture (its latest evaluation)."""
    return dict(zip((r.arch for r in records), ranked_values(records, rank_by)))


def ensemble_scores(records: Sequence[Any]) -> list[float]:
    """The ``score`` ensemble of every record, ranked among all of ``records``."""
    return estimator_columns(records)[ENSEMBLE] if records else []  # type: ignore[return-value]
