"""Latency budgets (``supernet.hardware.budget``)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from supernet.hardware.budget import sample_within_budget, within_budget
from supernet.hardware.predictor import LatencyPredictor
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState
from tests.supernet.hardware.ground_truth import latency, synthetic


@pytest.fixture
def budget_setup(nb201_space: SearchSpace) -> tuple[LatencyPredictor, SteeringState]:
    archs, costs, rng = synthetic(nb201_space, seed=7, n=120)
    predictor = LatencyPredictor(nb201_space).fit(
        archs, latency(nb201_space, archs, costs, rng, 0.01))
    steering = SteeringState(nb201_space)
    steering.prune("1<-0", "none")
    steering.prune("2<-1", "nor_conv_3x3")
    steering.lock("3<-0", "avg_pool_3x3")
    return predictor, steering


def allowed_archs(steering: SteeringState) -> list[Arch]:
    return list(itertools.product(*(steering.allowed(cp.name) for cp in steering.space)))


def test_sampling_respects_steering_and_budget(nb201_space: SearchSpace, budget_setup) -> None:
    predictor, steering = budget_setup
    allowed = allowed_archs(steering)
    predicted = predictor.predict(allowed)
    assert predictor.fastest(steering)[1] == pytest.approx(predicted.min())
    budget = float(np.quantile(predicted, 0.3))
    archs = sample_within_budget(nb201_space, steering, predictor, budget,
                                 np.random.default_rng(0), n=25)
    assert len(archs) == 25 and len(set(archs)) > 5
    assert all(steering.contains(a) for a in archs)
    assert all(within_budget(predictor, archs, budget))
    assert max(predictor.predict(archs)) <= budget
    again = sample_within_budget(nb201_space, steering, predictor, budget,
                                 np.random.default_rng(0), n=25)
    assert again == archs  # seeded
    flags = within_budget(predictor, allowed[:50], budget)
    assert flags == [p <= budget for p in predicted[:50]]


def test_impossible_budget_raises_a_clear_error(nb201_space: SearchSpace,
                                                budget_setup) -> None:
    predictor, steering = budget_setup
    fastest = float(predictor.predict(allowed_archs(steering)).min())
    with pytest.raises(ValueError, match=rf"no architecture under .* ms is allowed .*; the "
                                         rf"fastest allowed predicted is {fastest:.4g} ms"):
        sample_within_budget(nb201_space, steering, predictor, fastest * 0.99,
                             np.random.default_rng(0), n=1)
    # reachable in principle but too rare for the tries allowed
    with pytest.raises(ValueError, match=r"after 20 tries \(found 0 of 3\); the fastest allowed"):
        sample_within_budget(nb201_space, steering, predictor, fastest * 1.0001,
                             np.random.default_rng(0), n=3, max_tries=20)
    with pytest.raises(ValueError, match="positive number of ms"):
        within_budget(predictor, [], -1.0)
