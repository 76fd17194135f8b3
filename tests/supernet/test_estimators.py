from __future__ import annotations

import pytest

from supernet.estimators import (
    anchor_correlations,
    normalised_ranks,
    rank_ensemble,
    top_k_percentile,
)


def test_anchor_correlations_on_a_hand_made_example() -> None:
    truth = [0.1, 0.2, 0.3, 0.4, 0.5]
    result = anchor_correlations({"perfect": [1, 2, 3, 4, 5], "reversed": [5, 4, 3, 2, 1],
                                  "one_swap": [2, 1, 3, 4, 5], "few": [1, None, None, None, 2]},
                                 truth, n_boot=100)
    assert result["perfect"].kendall == 1.0 and result["perfect"].spearman == 1.0
    assert result["reversed"].kendall == -1.0
    # one discordant pair of 10: tau = (9 - 1) / 10; rho = 1 - 6 * 2 / (5 * 24)
    assert result["one_swap"].kendall == pytest.approx(0.8)
    assert result["one_swap"].spearman == pytest.approx(0.9)
    swap = result["one_swap"]
    assert swap.kendall_low is not None and swap.kendall_high is not None
    assert swap.kendall_low <= 0.8 <= swap.kendall_high and swap.kendall_high <= 1.0
    assert result["few"].n == 2 and result["few"].kendall is None
    with pytest.raises(ValueError, match="3 values for 5 anchors"):
        anchor_correlations({"x": [1, 2, 3]}, truth)


def test_rank_ensemble_averages_ranks_and_missing_values_rank_lowest() -> None:
    assert normalised_ranks([3.0, None, 10.0]).tolist() == [0.5, 0.0, 1.0]
    combined = rank_ensemble({"supernet": [0.1, 0.9, 0.5], "flops": [3, 1, 2], "other": [9, 9, 9]})
    assert combined.tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert rank_ensemble({"supernet": [0.1, 0.9, 0.5], "flops": [1, 3, 2]}).argmax() == 1
    with pytest.raises(ValueError, match="no ensemble member"):
        rank_ensemble({"other": [1, 2]})
    assert top_k_percentile([0.3, 0.9, 0.1], [50.0, 99.0, 1.0], k=1) == 99.0


def test_rank_by_changes_the_leaderboard_fitness_and_evolutions_parents() -> None:
    from supernet.configs import EngineConfig
    from supernet.search import SearchConfig
    from supernet.tabular.engine import TabularEngine

    engine = TabularEngine(EngineConfig(template="nb201", mode="tabular", table_path="synthetic:1",
                                        search=SearchConfig(population=20, parents=5, seed=0)))
    for _ in range(2):
        engine.search_generation()
    by_accuracy = [r.arch for r in engine.leaderboard(5)]
    parents_by_accuracy = engine.search._parents()
    engine.set_rank_by("params")
    by_params = engine.leaderboard(5)
    params = sorted({r.arch: r.params for r in engine.archive}.values(), reverse=True)
    assert [r.params for r in by_params] == params[:5]
    assert [r.arch for r in by_params] != by_accuracy
    parents = engine.search._parents()
    assert parents != parents_by_accuracy
    assert [engine.table.entry(a).params for a in parents] == params[:5]  # ties in any order
    heat = engine.fitness.to_dict()
    assert max(v["mean"] or 0 for ops in heat.values() for v in ops.values()) > 1.0  # params counted
    with pytest.raises(ValueError, match="unknown estimator 'nope'"):
        engine.set_rank_by("nope")
    engine.set_rank_by("accuracy")
    assert [r.arch for r in engine.leaderboard(5)] == by_accuracy
