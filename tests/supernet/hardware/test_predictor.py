"""The linear latency predictor (``supernet.hardware.predictor``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from supernet.hardware.predictor import LatencyPredictor, active_edges
from supernet.space import CellTemplate, SearchSpace, cell_edges, edge_name
from tests.supernet.hardware.ground_truth import latency, op_mask, runs, synthetic


@pytest.mark.parametrize("active", [True, False])
def test_predictor_ranks_held_out_linear_latency(nb201_space: SearchSpace, active: bool) -> None:
    archs, costs, rng = synthetic(nb201_space, seed=1, n=300)
    y = latency(nb201_space, archs, costs, rng, noise=0.05, active=active)
    predictor = LatencyPredictor(nb201_space, active_only=active).fit(archs[:150], y[:150])
    assert predictor.spearman(archs[150:], y[150:]) > 0.95
    assert np.median(np.abs(predictor.predict(archs[150:]) - y[150:])) < 0.1  # ms, not only ranks
    # the learned per-op costs recover the ground truth up to a per-edge offset
    learned = np.concatenate([list(c.values()) for c in predictor.op_costs().values()])
    ran = op_mask(nb201_space, "none") == 0 if active else slice(None)
    assert np.corrcoef(learned[ran], costs[ran])[0, 1] > 0.9


def test_active_edges_follow_the_cell(nb201_space: SearchSpace) -> None:
    space = nb201_space
    dead_node_1 = space.from_string(
        "|none~0|+|skip_connect~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|")
    assert active_edges(space, dead_node_1) == [False, True, False, True, False, False]
    rng = np.random.default_rng(8)
    for arch in [space.random_arch(rng) for _ in range(50)]:
        mask = np.repeat(active_edges(space, arch), [len(cp.candidates) for cp in space])
        np.testing.assert_array_equal(space.one_hot(arch) * mask, runs(space, arch))


def test_fastest_is_exact_on_enumerable_spaces() -> None:
    rng = np.random.default_rng(9)
    ops = ("none", "skip_connect", "nor_conv_1x1", "avg_pool_3x3")
    for _ in range(15):
        n = int(rng.integers(2, 5))
        edges = {edge_name(i, j): tuple(rng.choice(ops, size=int(rng.integers(1, 5)),
                                                   replace=False))
                 for i, j in cell_edges(n)}
        space = SearchSpace(CellTemplate(n_nodes=n, edges=edges, C=4, cells_per_stage=1))
        archs = list(space.all_archs())
        if len(archs) < 2:
            continue
        for active in (True, False):  # negative costs too: the search must not assume > 0
            predictor = LatencyPredictor(space, active_only=active).fit(
                archs, rng.normal(0.0, 1.0, len(archs)))
            arch, ms = predictor.fastest()
            assert ms == pytest.approx(predictor.predict(archs).min())
            assert ms == pytest.approx(predictor.predict([arch])[0])


def test_predictor_round_trips_through_json(nb201_space: SearchSpace,
                                            micro_space: SearchSpace) -> None:
    archs, costs, rng = synthetic(nb201_space, seed=2, n=60)
    predictor = LatencyPredictor(nb201_space, device="cpu").fit(
        archs, latency(nb201_space, archs, costs, rng, 0.01))
    restored = LatencyPredictor.from_dict(json.loads(json.dumps(predictor.to_dict())),
                                          nb201_space)
    np.testing.assert_allclose(restored.predict(archs), predictor.predict(archs))
    assert restored.device == "cpu" and restored.n_samples == 60
    with pytest.raises(ValueError, match="another search space"):
        LatencyPredictor.from_dict(predictor.to_dict(), micro_space)
    broken = predictor.to_dict()
    del broken["op_costs"]["1<-0"]["none"]
    with pytest.raises(ValueError, match="no cost for"):
        LatencyPredictor.from_dict(broken)
    with pytest.raises(ValueError, match="not fitted"):
        LatencyPredictor(nb201_space).predict(archs)
    with pytest.raises(ValueError, match="3 values for 2"):
        LatencyPredictor(nb201_space).fit(archs[:2], [1.0, 2.0, 3.0])
