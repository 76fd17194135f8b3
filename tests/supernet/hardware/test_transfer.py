"""Other devices: rank agreement, adaptation and scaling (``supernet.hardware.transfer``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from supernet.hardware.pareto import pareto_front
from supernet.hardware.predictor import LatencyPredictor
from supernet.hardware.transfer import adapt_predictor, device_srcc, scale_predictor
from supernet.space import SearchSpace
from tests.supernet.hardware.ground_truth import latency, op_mask, synthetic


@pytest.mark.parametrize("transform", [lambda x: 3 * x + 7, np.exp, np.sqrt])
def test_monotone_transform_keeps_ranking_and_pareto_set(transform) -> None:
    rng = np.random.default_rng(3)
    host = rng.uniform(0.5, 5.0, 80)
    accuracy = rng.uniform(0.5, 0.95, 80)
    target = transform(host)
    assert device_srcc(host, target) == pytest.approx(1.0)
    assert pareto_front(list(zip(accuracy, host))) == pareto_front(list(zip(accuracy, target)))
    assert device_srcc(host, -host) == pytest.approx(-1.0)  # the check can fail
    assert math.isnan(device_srcc(host, np.ones_like(host)))
    with pytest.raises(ValueError, match="values"):
        device_srcc(host, host[:-1])


def test_adaptation_fixes_an_op_specific_slowdown(nb201_space: SearchSpace) -> None:
    archs, costs, rng = synthetic(nb201_space, seed=4, n=500)
    host_y = latency(nb201_space, archs, costs, rng, noise=0.05)
    target_costs = np.where(op_mask(nb201_space, "nor_conv_3x3"), 5 * costs, costs)
    target_y = latency(nb201_space, archs, target_costs, rng, noise=0.05)
    host = LatencyPredictor(nb201_space).fit(archs[:200], host_y[:200])
    test, test_y = archs[230:], target_y[230:]
    unadapted = host.spearman(test, test_y)
    for alpha, fit_scale in ((None, True), (0.1, True), (None, False)):
        adapted = adapt_predictor(host, archs[200:230], target_y[200:230], alpha=alpha,
                                  fit_scale=fit_scale)
        assert adapted.spearman(test, test_y) > max(0.9, unadapted + 0.3)
        assert set(adapted.chosen) == {"op", "edge", "scale"} and adapted.n_samples == 30
    # the host itself is unchanged
    assert host.spearman(archs[200:300], host_y[200:300]) > 0.95


def test_adaptation_to_a_uniformly_slower_device_needs_few_samples(
        nb201_space: SearchSpace) -> None:
    archs, costs, rng = synthetic(nb201_space, seed=5, n=400)
    host = LatencyPredictor(nb201_space).fit(
        archs[:200], latency(nb201_space, archs[:200], costs, rng, 0.05))
    target_y = 2.5 * latency(nb201_space, archs, costs, rng, 0.05) + 1.0
    few, test, test_y = archs[200:208], archs[250:], target_y[250:]
    adapted = adapt_predictor(host, few, target_y[200:208])
    scratch = LatencyPredictor(nb201_space).fit(few, target_y[200:208])
    assert adapted.spearman(test, test_y) > 0.98 > scratch.spearman(test, test_y)
    # the prior brings the ranking, the 8 samples bring the ms scale of the new device
    assert np.median(np.abs(adapted.predict(test) - test_y)) < 0.5
    assert np.median(np.abs(host.predict(test) - test_y)) > 5.0
    with pytest.raises(ValueError, match="alpha"):
        adapt_predictor(host, few, target_y[200:208], alpha=-1.0)


def test_scaling_keeps_the_host_ranking_and_converts_the_ms(nb201_space: SearchSpace) -> None:
    archs, costs, rng = synthetic(nb201_space, seed=6, n=300)
    host = LatencyPredictor(nb201_space).fit(
        archs[:200], latency(nb201_space, archs[:200], costs, rng, 0.05))
    target_y = 4.0 * latency(nb201_space, archs, costs, rng, 0.05)
    scaled = scale_predictor(host, archs[200:210], target_y[200:210], device="phone")
    assert scaled.chosen["scale"] == pytest.approx(4.0, rel=0.02) and scaled.n_samples == 10
    assert scaled.device == "phone" and scaled.fastest()[0] == host.fastest()[0]
    test, test_y = archs[220:], target_y[220:]
    assert np.median(np.abs(scaled.predict(test) - test_y)) < 0.5
    np.testing.assert_allclose(scaled.predict(test), 4.0 * host.predict(test), rtol=0.02)
    upside_down = LatencyPredictor(nb201_space).fit(archs[:200], -host.predict(archs[:200]))
    with pytest.raises(ValueError, match="no positive speed ratio"):
        scale_predictor(upside_down, archs[200:210], target_y[200:210])
