from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from supernet.evaluate import CandidateRecord
from supernet.hardware import (
    LatencyMeter,
    LatencyPredictor,
    active_edges,
    adapt_predictor,
    device_srcc,
    load_latency_csv,
    pareto_front,
    pareto_table,
    sample_within_budget,
    scale_predictor,
    within_budget,
)
from supernet.space import Arch, CellTemplate, SearchSpace, cell_edges, edge_name
from supernet.steering import SteeringState


def op_mask(space: SearchSpace, op: str) -> np.ndarray:
    """One-hot columns of ``op`` on every choice point."""
    return np.array([o == op for cp in space for o in cp.candidates])


def synthetic(space: SearchSpace, seed: int, n: int
              ) -> tuple[list[Arch], np.ndarray, np.random.Generator]:
    """Random archs and a ground truth of random per-(edge, op) costs (ms)."""
    rng = np.random.default_rng(seed)
    costs = rng.uniform(0.1, 1.0, space.one_hot_dim)
    return [space.random_arch(rng) for _ in range(n)], costs, rng


def runs(space: SearchSpace, arch: Arch) -> np.ndarray:
    """One-hot mask of the ops that execute, walking the cell like ``supernet.ops.Cell``."""
    n = space.template.n_nodes
    nodes: list[bool] = [True]  # node k received something
    ran: list[bool] = []
    for dst in range(1, n):
        got = False
        for src in range(dst):
            op = arch[len(ran)]
            ran.append(op != "none" and nodes[src])
            got = got or ran[-1]
        nodes.append(got)
    return space.one_hot(arch) * np.repeat(ran, [len(cp.candidates) for cp in space])


def latency(space: SearchSpace, archs: list[Arch], costs: np.ndarray,
            rng: np.random.Generator, noise: float, active: bool = True) -> np.ndarray:
    """Ground truth: 2 ms + the costs of the edges that run (of every edge if not ``active``)."""
    x = np.stack([runs(space, a) for a in archs]) if active else space.one_hot_many(archs)
    return x @ costs + 2.0 + rng.normal(0.0, noise, len(archs))


def brute_force_front(points: list[tuple[float, float]]) -> set[int]:
    def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
        return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])

    return {i for i, p in enumerate(points) if not any(dominates(q, p) for q in points)}


# -- predictor ---------------------------------------------------------------------


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


# -- devices -----------------------------------------------------------------------


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


# -- CSV -----------------------------------------------------------------------------


def test_csv_loads_text_bytes_and_paths(nb201_space: SearchSpace, tmp_path: Path) -> None:
    a, b = nb201_space.from_index(0), nb201_space.from_index(15_624)
    text = (f"device,arch,latency_ms\npixel,{nb201_space.to_string(a)},1.5\n\n"
            f"pixel, {nb201_space.to_string(b)} ,2\n")
    path = tmp_path / "lat.csv"
    path.write_text(text)
    for source in (text, text.encode("utf-8-sig"), path, str(path)):
        archs, latencies = load_latency_csv(source, nb201_space)
        assert archs == [a, b]
        np.testing.assert_array_equal(latencies, [1.5, 2.0])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("arch,ms\n{a},1\n", "line 1: the header must name"),
        ("arch,latency_ms\n{a},1\n|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|,2\n",
         "line 3: unknown architecture '|bogus~0|"),
        ("arch,latency_ms\n{a},-0.5\n", "line 2: latency_ms -0.5 is negative"),
        ("arch,latency_ms\n{a},fast\n", "line 2: latency_ms 'fast' is not a number"),
        ("arch,latency_ms\n\n{a},nan\n", "line 3: latency_ms 'nan' is not a finite"),
        ("arch,latency_ms\n{a},1\n{a}\n", "line 3: expected 2 fields"),
        ("arch,latency_ms\n", "no data rows"),
        ("", "empty"),
        ("missing.csv", "file 'missing.csv' does not exist"),
    ],
)
def test_csv_errors_name_the_line(nb201_space: SearchSpace, body: str, message: str) -> None:
    text = body.format(a=nb201_space.to_string(nb201_space.from_index(7)))
    with pytest.raises(ValueError, match=message.replace("|", r"\|")):
        load_latency_csv(text, nb201_space)


# -- Pareto --------------------------------------------------------------------------


def test_pareto_front_on_a_hand_made_example() -> None:
    points = [
        (0.90, 10.0),  # 0 front
        (0.80, 5.0),   # 1 front
        (0.80, 5.0),   # 2 exact duplicate of a front point: kept
        (0.85, 10.0),  # 3 same cost as 0, less accurate: dominated
        (0.90, 12.0),  # 4 as accurate as 0, costlier: dominated
        (0.70, 8.0),   # 5 dominated by 1
        (0.95, 20.0),  # 6 front
        (0.70, 8.0),   # 7 duplicate of a dominated point: dominated too
        (0.60, 1.0),   # 8 front (cheapest)
    ]
    assert pareto_front(points) == [8, 1, 2, 0, 6]
    assert pareto_front([]) == []
    with pytest.raises(ValueError, match="point 1"):
        pareto_front([(0.5, 1.0), (math.nan, 2.0)])


def test_pareto_front_matches_brute_force_with_many_ties() -> None:
    rng = np.random.default_rng(6)
    for _ in range(20):
        points = [(float(a), float(c)) for a, c in rng.integers(0, 6, size=(40, 2))]
        front = pareto_front(points)
        assert set(front) == brute_force_front(points)
        assert [points[i][1] for i in front] == sorted(points[i][1] for i in front)


def test_pareto_table_rows_sorted_by_cost(nb201_space: SearchSpace) -> None:
    def record(i: int, accuracy: float, latency_ms: float | None) -> CandidateRecord:
        arch = nb201_space.to_string(nb201_space.from_index(i))
        return CandidateRecord(arch=arch, index=i, accuracy=accuracy, loss=1.0, params=10 * i,
                               flops=i, latency_ms=latency_ms)

    records = [record(1, 0.9, 3.0), record(2, 0.7, 1.0), record(3, 0.8, 2.5),
               record(4, 0.99, None), record(5, 0.6, 2.0)]
    rows = pareto_table(records, "latency_ms")
    assert [r["index"] for r in rows] == [2, 3, 1]
    assert rows[0] == records[1].to_dict()
    by_params = pareto_table([r.to_dict() for r in records], "params")
    assert [r["index"] for r in by_params] == [1, 4]


# -- measuring -----------------------------------------------------------------------


def test_latency_meter_measures_and_caches(micro_space: SearchSpace) -> None:
    meter = LatencyMeter(micro_space, in_channels=1, image_size=8, batch_size=4,
                         warmup=1, repeats=3)
    archs = [micro_space.from_index(i) for i in (0, 13, 26)]
    state = torch.get_rng_state()
    first = meter.measure_many(archs)
    assert meter.measurements == 3
    assert all(math.isfinite(ms) and ms > 0 for ms in first)
    assert meter.measure_many(archs) == first and meter.measurements == 3  # cached
    profile = meter.profile(archs[0])
    assert set(profile) == {1, 4} and profile[1] == first[0] and meter.measurements == 4
    assert set(meter.cached()) == {(a, 1) for a in archs} | {(archs[0], 4)}
    assert torch.equal(state, torch.get_rng_state())  # seeded without touching global RNG
    with pytest.raises(ValueError, match="batch"):
        meter.measure(archs[0], batch=0)
    with pytest.raises(ValueError, match="not a candidate"):
        meter.measure(("none", "none", "none"))


def test_latency_meter_refuses_missing_cuda(micro_space: SearchSpace) -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(ValueError, match="no CUDA device"):
        LatencyMeter(micro_space, 1, 8, device="cuda")


@pytest.mark.gpu
def test_latency_meter_on_cuda(micro_space: SearchSpace) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    meter = LatencyMeter(micro_space, 1, 8, device="cuda", warmup=2, repeats=5)
    ms = meter.measure(micro_space.from_index(5), batch=8)
    assert math.isfinite(ms) and ms > 0


# -- budget --------------------------------------------------------------------------


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
