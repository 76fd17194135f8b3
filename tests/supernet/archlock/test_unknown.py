"""The unknown target in a search: tasks embedded by their probe scores, the predictor
trained on the known ones, candidates scored on simulated tasks near the source."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from supernet.archlock import UNKNOWN_TARGET, ArchLockConfig, target_key
from supernet.archlock.unknown import SimulatedTarget, probe_archs, task_embedding
from supernet.configs import EngineConfig
from supernet.search import SearchConfig
from supernet.space import Arch, SearchSpace
from supernet.tabular.engine import TabularEngine
from supernet.tabular.synthetic import synthetic_table

DIM = 5


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def test_a_synthetic_world_is_ranked_as_its_truth() -> None:
    """Accuracy bilinear in one-hot code and a hidden task vector; the known tasks and the
    attacker's lie near the source's. The simulated target must rank the space about as
    the attacker's true accuracy does, and no worse than the source's own accuracy would."""
    space = SearchSpace.from_preset("nb201")
    rng = np.random.default_rng(4)
    weights = rng.standard_normal((space.one_hot_dim, DIM))
    source = _unit(rng.standard_normal(DIM))

    def near(cos: float) -> np.ndarray:
        away = rng.standard_normal(DIM)
        away = _unit(away - away.dot(source) * source)
        return cos * source + np.sqrt(1 - cos * cos) * away

    def task(vector: np.ndarray):  # noqa: ANN202 - a plain callable of an arch
        return lambda arch: float(space.one_hot(arch) @ weights @ vector)

    known = {"source": task(source)} | {f"k{i}": task(near(0.6)) for i in range(5)}
    config = ArchLockConfig(unknown_target=True, probe_archs=120, simulated_tasks=8)
    unknown = SimulatedTarget(space, config, known, "source", seed=0)
    attacker = task(near(0.93))
    archs = probe_archs(space, 300, seed=9)  # mostly unseen by the predictor
    predicted = unknown.score_many(archs)
    assert unknown.score(archs[0]) == predicted[0]
    truth = [attacker(a) for a in archs]
    tau = kendalltau(predicted, truth).statistic
    # a task-blind guess: the source's own ranking
    blind = kendalltau([known["source"](a) for a in archs], truth).statistic
    assert tau > max(0.5, blind - 0.1)
    assert all(0.0 <= p <= 1.0 for p in predicted)
    # a predictor told the source points the other way ranks the attacker's task inversely
    flipped = {"source": task(-source)} | {f"k{i}": task(-near(0.6)) for i in range(5)}
    inverse = SimulatedTarget(space, config, flipped, "source", seed=0)
    inv = kendalltau(inverse.score_many(archs), truth).statistic
    assert inv < -0.6


def test_an_embedding_needs_probe_scores_that_differ() -> None:
    assert np.allclose(task_embedding(np.arange(20.0)).std(), 1.0)
    with pytest.raises(ValueError, match="alike"):
        task_embedding(np.ones(20))
    space = SearchSpace.from_preset("nb201")
    with pytest.raises(ValueError, match="not among the known tasks"):
        SimulatedTarget(space, ArchLockConfig(unknown_target=True), {"a": lambda arch: 0.0}, "b")


def _tabular(unknown: bool, targets: list[str]) -> TabularEngine:
    space = SearchSpace.from_preset("nb201")
    table = synthetic_table(space, 5, datasets=("owner", "other", "third"))
    config = EngineConfig(template="nb201", mode="tabular", table_path="synthetic:5",
                          table_dataset="owner", measure_latency=False,
                          search=SearchConfig(population=10, parents=4, seed=1),
                          archlock=ArchLockConfig(targets=targets, unknown_target=unknown,
                                                  source_generations=0, probe_archs=64))
    return TabularEngine(config, table=table)


def test_a_tabular_generation_scores_the_unknown_target() -> None:
    engine = _tabular(True, [])
    records = engine.search_generation()
    key = target_key(UNKNOWN_TARGET)
    values = [r.scores[key] for r in records]
    assert len(set(values)) == len(values) and all(0 <= v <= 1 for v in values)
    assert all("archlock_feasible" in r.scores for r in records)
    assert engine.search.rank_key is not None
    assert engine.archlock is not None
    entry = engine.archlock.export_entry(engine.archive, records[0].arch)
    assert set(entry["targets"]) == {UNKNOWN_TARGET}
    # the predictor learnt from the table's columns: its scores follow the columns' consensus
    table = engine.table
    archs: list[Arch] = probe_archs(engine.space, 200, seed=3)
    consensus = [np.mean([table.with_dataset(d).lookup(a) for d in table.datasets]) for a in archs]
    assert engine._unknown is not None
    cons = kendalltau(engine._unknown.score_many(archs), consensus).statistic
    assert cons > 0.5


def test_named_and_unknown_targets_together_and_refusals() -> None:
    records = _tabular(True, ["other"]).search_generation()
    assert all({target_key("other"), target_key(UNKNOWN_TARGET)} <= set(r.scores) for r in records)
    with pytest.raises(ValueError, match="unknown target's own name"):
        ArchLockConfig(targets=["unknown"], unknown_target=True)
    with pytest.raises(ValueError, match="similarity_low"):
        ArchLockConfig(unknown_target=True, similarity_low=0.99, similarity_high=0.9)
    with pytest.raises(ValueError, match="unknown_target: true"):
        EngineConfig(archlock=ArchLockConfig())
