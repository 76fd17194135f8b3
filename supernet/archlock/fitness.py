"""ArchLock's fitness and source constraint over a set of evaluated architectures.

Pure numpy: ranks are 1 for the most accurate (ties share their mean rank), the fitness is
``target_rank - source_weight * source_rank`` (higher is better: low on the target, high on
the source; ArchLock uses weight 2), several targets count by their mean rank. Ranks are
taken among the architectures that meet the source constraint, so an infeasible
architecture never pushes a feasible one's fitness around.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

from supernet.archlock.config import ArchLockConfig


def ranks(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """1 for the highest value, ties sharing their mean rank."""
    return np.asarray(rankdata(-np.asarray(values, dtype=np.float64)), dtype=np.float64)


def threshold(config: ArchLockConfig, source: Sequence[float] | np.ndarray) -> float:
    """The least source accuracy (fraction) that meets the constraint: ``min_source``, or
    ``tolerance`` points below the best of ``source`` (the best found so far)."""
    if config.mode == "absolute":
        return config.min_source
    if len(source) == 0:
        return 0.0
    return float(np.max(source)) - config.tolerance / 100.0


def feasible(config: ArchLockConfig, source: Sequence[float] | np.ndarray) -> np.ndarray:
    """Which architectures meet the source constraint (a small epsilon absorbs rounding)."""
    values = np.asarray(source, dtype=np.float64)
    return values >= threshold(config, values) - 1e-12


def target_mean(targets: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Mean target accuracy per architecture; ``targets`` is (n_targets, n_archs)."""
    array = np.asarray(targets, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError("ArchLock needs at least one target: a (targets, architectures) array")
    return array.mean(axis=0)


def fitness(source: Sequence[float] | np.ndarray, targets: Sequence[Sequence[float]] | np.ndarray,
            source_weight: float = 2.0) -> np.ndarray:
    """ArchLock's rank difference ``mean target rank - source_weight * source rank``."""
    target_ranks = np.mean([ranks(t) for t in np.asarray(targets, dtype=np.float64)], axis=0)
    return target_ranks - source_weight * ranks(source)


def constrained_fitness(config: ArchLockConfig, source: Sequence[float] | np.ndarray,
                        targets: Sequence[Sequence[float]] | np.ndarray) -> tuple[np.ndarray,
                                                                                 np.ndarray]:
    """``(fitness, feasible)``: the rank difference among the feasible architectures, NaN
    for the others."""
    source_values = np.asarray(source, dtype=np.float64)
    target_values = np.asarray(targets, dtype=np.float64)
    ok = feasible(config, source_values)
    out = np.full(source_values.shape, np.nan)
    if ok.any():
        out[ok] = fitness(source_values[ok], target_values[:, ok], config.source_weight)
    return out, ok


def pick(config: ArchLockConfig, source: Sequence[float] | np.ndarray,
         targets: Sequence[Sequence[float]] | np.ndarray) -> int:
    """Index of the architecture the search hands over (see ``ArchLockConfig.pick``); the
    most accurate on the source when none is feasible (an absolute bound set too high)."""
    source_values = np.asarray(source, dtype=np.float64)
    if source_values.size == 0:
        raise ValueError("nothing evaluated yet to pick from")
    scores, ok = constrained_fitness(config, source_values, targets)
    if not ok.any():
        return int(np.argmax(source_values))
    rows = np.flatnonzero(ok)
    if config.pick == "fitness":
        key = np.lexsort((-source_values[rows], -scores[rows]))
    else:  # lowest target; among equals the better source
        key = np.lexsort((-source_values[rows], target_mean(targets)[rows]))
    return int(rows[key[0]])


def locked_front(source: Sequence[float] | np.ndarray, target: Sequence[float] | np.ndarray,
                 ok: Sequence[bool] | np.ndarray) -> list[int]:
    """Indices of the feasible architectures no other feasible one beats on both counts
    (higher source and lower target), by ascending source: the scatter's locked front."""
    s = np.asarray(source, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    rows = [int(i) for i in np.flatnonzero(np.asarray(ok, dtype=bool))]
    rows.sort(key=lambda i: (-s[i], t[i]))
    front: list[int] = []
    lowest = np.inf
    for i in rows:  # by descending source: keep each new lowest target
        if t[i] < lowest:
            front.append(i)
            lowest = t[i]
    return front[::-1]
