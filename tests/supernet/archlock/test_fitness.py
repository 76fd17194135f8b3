"""ArchLock's fitness and constraint on a hand-made six-architecture table, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from supernet.archlock import (
    ArchLockConfig,
    constrained_fitness,
    feasible,
    fitness,
    locked_front,
    pick,
    ranks,
    threshold,
)

#            a0     a1     a2     a3     a4     a5
SOURCE = [0.940, 0.930, 0.925, 0.910, 0.939, 0.800]
TARGET = [0.730, 0.700, 0.500, 0.400, 0.520, 0.300]


def test_ranks_are_one_for_the_best_and_share_ties() -> None:
    assert ranks([0.5, 0.9, 0.7]).tolist() == [3.0, 1.0, 2.0]
    assert ranks([0.9, 0.9, 0.1]).tolist() == [1.5, 1.5, 3.0]


def test_relative_constraint_is_within_tolerance_points_of_the_best() -> None:
    config = ArchLockConfig(targets=["t"], tolerance=2.0)
    assert threshold(config, SOURCE) == pytest.approx(0.92)
    # 0.910 and 0.800 are more than 2 points below 0.940
    assert feasible(config, SOURCE).tolist() == [True, True, True, False, True, False]
    loose = ArchLockConfig(targets=["t"], tolerance=3.0)
    assert feasible(loose, SOURCE).tolist() == [True, True, True, True, True, False]


def test_absolute_constraint_is_a_fixed_source_accuracy() -> None:
    config = ArchLockConfig(targets=["t"], mode="absolute", min_source=0.93)
    assert threshold(config, SOURCE) == 0.93
    assert feasible(config, SOURCE).tolist() == [True, True, False, False, True, False]
    with pytest.raises(ValueError, match="min_source"):
        ArchLockConfig(targets=["t"], mode="absolute")


def test_fitness_is_target_rank_minus_twice_source_rank_among_the_feasible() -> None:
    # Feasible a0, a1, a2, a4. Source ranks: a0 1, a4 2, a1 3, a2 4.
    # Target ranks (1 = most accurate): a0 1, a1 2, a4 3, a2 4.
    # Fitness: a0 1-2 = -1, a1 2-6 = -4, a2 4-8 = -4, a4 3-4 = -1.
    config = ArchLockConfig(targets=["t"], tolerance=2.0)
    scores, ok = constrained_fitness(config, SOURCE, [TARGET])
    assert ok.tolist() == [True, True, True, False, True, False]
    assert scores[ok].tolist() == [-1.0, -4.0, -4.0, -1.0]
    assert np.isnan(scores[~ok]).all()
    # weight 1: a0 0, a1 -1, a2 0, a4 1
    assert fitness(np.array(SOURCE)[ok], [np.array(TARGET)[ok]], 1.0).tolist() == [0, -1, 0, 1]


def test_several_targets_count_by_their_mean_rank() -> None:
    other = [0.1, 0.2, 0.3, 0.4]  # reversed order: ranks a 4, b 3, c 2, d 1
    both = fitness([0.9, 0.8, 0.7, 0.6], [[0.9, 0.8, 0.7, 0.6], other])
    assert both.tolist() == [2.5 - 2, 2.5 - 4, 2.5 - 6, 2.5 - 8]


def test_the_pick_is_the_lowest_feasible_target_or_the_best_fitness() -> None:
    lowest = ArchLockConfig(targets=["t"], tolerance=2.0)
    assert pick(lowest, SOURCE, [TARGET]) == 2  # a3 and a5 are lower but infeasible
    by_fitness = ArchLockConfig(targets=["t"], tolerance=2.0, pick="fitness")
    assert pick(by_fitness, SOURCE, [TARGET]) == 0  # a0 and a4 tie at -1: the better source
    impossible = ArchLockConfig(targets=["t"], mode="absolute", min_source=0.99)
    assert pick(impossible, SOURCE, [TARGET]) == 0  # nothing feasible: the best source


def test_the_locked_front_keeps_the_feasible_that_nothing_beats_on_both() -> None:
    ok = feasible(ArchLockConfig(targets=["t"]), SOURCE)
    # a0 (best source), a4 (lower target than a0), a2 (lowest target); a1 is beaten by a4
    assert locked_front(SOURCE, TARGET, ok) == [2, 4, 0]


def test_bad_settings_are_refused_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="archlock.tolerance"):
        ArchLockConfig.from_dict({"targets": ["t"], "tolerance": 101})
    with pytest.raises(ValueError, match="once"):
        ArchLockConfig(targets=["t", "t"])
    with pytest.raises(ValueError, match="pick"):
        ArchLockConfig.from_dict({"targets": ["t"], "pick": "best"})
