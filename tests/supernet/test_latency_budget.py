"""The latency objective of a running search: host predictor, budget, other devices."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from supernet.configs import EngineConfig
from supernet.hardware import active_edges
from supernet.latency_budget import LatencyObjective
from supernet.records import CandidateRecord
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState
from supernet.tabular.engine import TabularEngine

NB201 = SearchSpace.from_preset("nb201")
OP_COST = {"none": 0.0, "skip_connect": 0.05, "avg_pool_3x3": 0.3, "nor_conv_1x1": 0.6,
           "nor_conv_3x3": 1.5}


def latency(arch: Arch, slow_op: str | None = None) -> float:
    """Additive over the edges that run (an edge fed by nothing costs nothing, as in ops.Cell)."""
    return 0.2 + sum(OP_COST[op] * (6.0 if op == slow_op else 1.0)
                     for op, runs in zip(arch, active_edges(NB201, arch)) if runs)


def records(space: SearchSpace, archs: list[Arch]) -> list[CandidateRecord]:
    return [CandidateRecord(arch=space.to_string(a), index=space.index(a), accuracy=0.5, loss=1.0,
                            params=0, flops=0, latency_ms=latency(a)) for a in archs]


def sample(space: SearchSpace, n: int, seed: int) -> list[Arch]:
    rng = np.random.default_rng(seed)
    return [space.from_index(int(i)) for i in rng.choice(space.size(), n, replace=False)]


@pytest.fixture
def objective(nb201_space: SearchSpace) -> LatencyObjective:
    obj = LatencyObjective(nb201_space)
    obj.observe(records(nb201_space, sample(nb201_space, 60, 0)))
    return obj


def test_no_model_no_budget_until_enough_measurements(nb201_space: SearchSpace) -> None:
    obj = LatencyObjective(nb201_space)
    obj.observe(records(nb201_space, sample(nb201_space, 3, 1)))
    assert obj.predict(sample(nb201_space, 1, 2)) is None and obj.allows(sample(nb201_space, 1, 2)[0])
    with pytest.raises(ValueError, match="no latency model for device 'host' yet"):
        obj.set_budget(2.0, SteeringState(nb201_space))


def test_host_predictor_ranks_unseen_architectures(objective: LatencyObjective,
                                                   nb201_space: SearchSpace) -> None:
    unseen = sample(nb201_space, 40, 9)
    predicted = objective.predict(unseen)
    truth = [latency(a) for a in unseen]
    assert np.corrcoef(np.argsort(np.argsort(predicted)), np.argsort(np.argsort(truth)))[0, 1] > 0.95
    assert objective.summary()["predictor_srcc"] > 0.95


def test_budget_filters_proposals_and_impossible_budgets_are_refused(
        objective: LatencyObjective, nb201_space: SearchSpace) -> None:
    steering = SteeringState(nb201_space)
    with pytest.raises(ValueError, match="below every latency measured on host"):
        objective.set_budget(0.01, steering)
    steering.lock("1<-0", "nor_conv_3x3")
    steering.lock("2<-0", "nor_conv_3x3")  # runs whatever else is pruned: slower than 1 ms
    with pytest.raises(ValueError, match="fastest is predicted at"):
        objective.set_budget(min(objective.measured.values()) + 0.01, steering)
    with pytest.raises(ValueError, match="positive number"):
        objective.set_budget(-1.0, steering)
    assert objective.budget_ms is None  # refused budgets change nothing
    steering = SteeringState(nb201_space)
    assert "limited to 3.00 ms" in objective.set_budget(3.0, steering)
    archs = sample(nb201_space, 300, 3)
    allowed = [a for a in archs if objective.allows(a)]
    assert 0 < len(allowed) < len(archs)
    assert all(objective.predict([a])[0] <= 3.0 for a in allowed)
    objective.set_budget(None, steering)
    assert all(objective.allows(a) for a in archs)


def test_a_device_with_the_same_ranks_gets_the_host_model_scaled(objective: LatencyObjective,
                                                                  nb201_space: SearchSpace) -> None:
    archs = sample(nb201_space, 20, 4)
    report = objective.add_device("phone", archs, [3 * latency(a) for a in archs], latency)
    assert report.srcc_host == pytest.approx(1.0, abs=1e-3) and not report.adapted  # ties round
    assert report.scale == pytest.approx(3.0, rel=0.05) and report.note == ""
    probe = sample(nb201_space, 30, 10)
    np.testing.assert_allclose(objective.predict(probe, "phone"), 3 * objective.predict(probe),
                               rtol=0.05)
    steering = SteeringState(nb201_space)
    budget = float(np.median([3 * latency(a) for a in archs]))
    assert "on phone" in objective.set_budget(budget, steering, "phone")
    assert objective.budget_device == "phone"
    assert all(objective.predict([a], "phone")[0] <= budget
               for a in probe if objective.allows(a))
    copy = LatencyObjective(nb201_space)
    copy.load_state_dict(objective.state_dict())
    np.testing.assert_allclose(copy.predict(probe, "phone"), objective.predict(probe, "phone"))


def test_an_upload_before_the_host_model_exists_says_why_nothing_was_fitted(
        nb201_space: SearchSpace) -> None:
    obj = LatencyObjective(nb201_space)
    obj.observe(records(nb201_space, sample(nb201_space, 3, 1)))
    archs = sample(nb201_space, 30, 5)
    slow = obj.add_device("npu", archs, [latency(a, slow_op="avg_pool_3x3") for a in archs], latency)
    assert slow.srcc_host < 0.9 and not slow.adapted and slow.srcc_adapted is None
    assert "no host latency model yet (3 of 5 candidates measured)" in slow.note
    assert "adapting" in slow.note and obj.summary()["devices"]["npu"]["note"] == slow.note
    same = obj.add_device("phone", archs, [2 * latency(a) for a in archs], latency)
    assert same.scale is None and "scaling" in same.note
    with pytest.raises(ValueError, match="no latency model for device 'npu'"):
        obj.set_budget(5.0, SteeringState(nb201_space), "npu")
    obj.observe(records(nb201_space, sample(nb201_space, 10, 2)))
    again = obj.add_device("npu", archs, [latency(a, slow_op="avg_pool_3x3") for a in archs], latency)
    assert again.adapted and again.note == "" and "npu" in obj.predictors


@pytest.mark.parametrize(("uploaded", "host", "message"), [
    (lambda a: 2.5, latency, "uploaded for device 'npu' are all equal \\(2.5 ms\\)"),
    (latency, lambda a: 1.0, "this worker measured for the uploaded architectures are all equal"),
])
def test_equal_latencies_are_refused_instead_of_reporting_nan(
        objective: LatencyObjective, nb201_space: SearchSpace,
        uploaded: Callable[[Arch], float], host: Callable[[Arch], float], message: str) -> None:
    archs = sample(nb201_space, 10, 4)
    with pytest.raises(ValueError, match=message):
        objective.add_device("npu", archs, [uploaded(a) for a in archs], host)
    assert "npu" not in objective.devices and "npu" not in objective.predictors
    json.dumps(objective.summary(), allow_nan=False)


def test_a_nan_rank_agreement_from_an_old_checkpoint_reaches_json_as_none(
        objective: LatencyObjective, nb201_space: SearchSpace) -> None:
    state = objective.state_dict()
    state["devices"] = {"old": {"device": "old", "n": 5, "srcc_host": float("nan"),
                                "adapted": False, "srcc_adapted": None, "fastest_ms": 1.0}}
    copy = LatencyObjective(nb201_space)
    copy.load_state_dict(state)  # reports from before scale/note existed still load
    summary = json.loads(json.dumps(copy.summary(), allow_nan=False))
    assert summary["devices"]["old"]["srcc_host"] is None
    assert summary["devices"]["old"]["scale"] is None and summary["devices"]["old"]["note"] == ""


def test_a_device_where_one_op_is_slow_gets_an_adapted_model(objective: LatencyObjective,
                                                             nb201_space: SearchSpace) -> None:
    archs = sample(nb201_space, 30, 5)
    target = [latency(a, slow_op="avg_pool_3x3") for a in archs]
    report = objective.add_device("npu", archs, target, latency)
    assert report.adapted and report.srcc_host < 0.9
    assert report.srcc_adapted is not None and report.srcc_adapted > report.srcc_host + 0.05
    unseen = sample(nb201_space, 40, 6)
    truth = [latency(a, slow_op="avg_pool_3x3") for a in unseen]
    rank = lambda v: np.argsort(np.argsort(v))  # noqa: E731
    adapted = np.corrcoef(rank(objective.predict(unseen, "npu")), rank(truth))[0, 1]
    host = np.corrcoef(rank(objective.predict(unseen)), rank(truth))[0, 1]
    assert adapted > host
    assert "on npu" in objective.set_budget(float(np.median(truth)), SteeringState(nb201_space), "npu")
    with pytest.raises(ValueError, match="at least 5"):
        objective.add_device("tpu", archs[:3], target[:3], latency)
    with pytest.raises(ValueError, match="own device"):
        objective.add_device("host", archs, target, latency)


def test_state_round_trip(objective: LatencyObjective, nb201_space: SearchSpace) -> None:
    objective.set_budget(3.0, SteeringState(nb201_space))
    archs = sample(nb201_space, 10, 7)
    objective.add_device("npu", archs, [latency(a, "avg_pool_3x3") for a in archs], latency)
    copy = LatencyObjective(nb201_space)
    copy.load_state_dict(objective.state_dict())
    assert copy.summary() == objective.summary()
    probe = sample(nb201_space, 5, 8)
    np.testing.assert_allclose(copy.predict(probe), objective.predict(probe))


def test_tabular_engine_search_respects_a_latency_budget(tmp_path: Path) -> None:
    config = EngineConfig.from_dict({"template": "nb201", "mode": "tabular",
                                     "table_path": "synthetic:1",
                                     "search": {"population": 10, "seed": 0}})
    engine = TabularEngine(config)
    engine.search_generation()
    budget = float(np.median([r.latency_ms for r in engine.archive]))
    engine.latency.set_budget(budget, engine.steering)
    before = len(engine.archive)
    for _ in range(3):
        engine.search_generation()
    later = engine.archive[before:]
    assert len(later) >= 20
    # the predictor is refit each generation, so judge by the table's true latencies
    assert np.mean([r.latency_ms <= budget * 1.1 for r in later]) >= 0.9
    assert np.mean([r.latency_ms for r in later]) < np.mean([r.latency_ms for r in engine.archive[:before]])
    engine.save(tmp_path / "t.pt")
    assert TabularEngine.load(tmp_path / "t.pt").latency.budget_ms == budget


def test_a_device_report_describes_itself_in_one_line() -> None:
    from supernet.latency_budget import DeviceReport

    report = DeviceReport("edge", 9, 0.95, False, None, 1.5, scale=2.0)
    assert report.describe() == "edge: 9 latencies, SRCC with host 0.95; host model x 2"
    nan = DeviceReport("old", 5, float("nan"), False, None, 1.0, note="uploaded before 0.2")
    assert nan.describe() == "old: 5 latencies, SRCC with host undefined; uploaded before 0.2"
