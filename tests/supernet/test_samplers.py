from __future__ import annotations

from collections import Counter

import numpy as np
from scipy import stats

from supernet.samplers import sample_paths, weights_apply
from supernet.space import SearchSpace
from supernet.steering import SteeringState


def _frequencies(steering: SteeringState, sampler: str, cp: str, n: int) -> Counter[str]:
    rng = np.random.default_rng(7)
    j = steering.space.names().index(cp)
    return Counter(path[j] for _ in range(n) for path in sample_paths(steering, sampler, rng))


def test_weights_change_frequencies_under_the_default_uniform_sampler(
        nb201_space: SearchSpace) -> None:
    """Chi-square against the weights (fixed seed): weights set in the UI take effect."""
    steering = SteeringState(nb201_space)
    ops = nb201_space.choice_point("3<-0").candidates
    weights = {op: float(k + 1) for k, op in enumerate(ops)}  # 1:2:3:4:5
    steering.set_weights("3<-0", weights)
    seen = _frequencies(steering, "uniform", "3<-0", 3000)
    observed = [seen[op] for op in ops]
    expected = [3000 * weights[op] / sum(weights.values()) for op in ops]
    assert stats.chisquare(observed, expected).pvalue > 0.01
    # and clearly not uniform any more
    assert stats.chisquare(observed).pvalue < 1e-6


def test_uniform_without_weights_stays_uniform(nb201_space: SearchSpace) -> None:
    seen = _frequencies(SteeringState(nb201_space), "uniform", "1<-0", 3000)
    assert stats.chisquare(list(seen.values())).pvalue > 0.01
    assert len(seen) == 5


def test_only_the_fair_sampler_ignores_weights() -> None:
    assert weights_apply("uniform") and weights_apply("weighted")
    assert not weights_apply("fair")
