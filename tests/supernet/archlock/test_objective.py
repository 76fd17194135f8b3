"""The ArchLock objective inside a tabular search: target scores, fitness, parents, resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from supernet.archlock import FEASIBLE_KEY, FITNESS_KEY, ArchLockConfig, target_key
from supernet.archlock.fitness import constrained_fitness
from supernet.configs import EngineConfig
from supernet.search import SearchConfig
from supernet.space import SearchSpace
from supernet.tabular.engine import TabularEngine
from supernet.tabular.synthetic import synthetic_table
from supernet.tabular.table import BenchmarkTable


@pytest.fixture(scope="module")
def table() -> BenchmarkTable:
    return synthetic_table(SearchSpace.from_preset("nb201"), 5, datasets=("owner", "attacker"))


def _engine(table: BenchmarkTable, **archlock: object) -> TabularEngine:
    config = EngineConfig(template="nb201", mode="tabular", table_path="synthetic:5",
                          table_dataset="owner", measure_latency=False,
                          search=SearchConfig(population=12, parents=4, seed=1),
                          archlock=ArchLockConfig(**({"targets": ["attacker"]} | archlock)))
    return TabularEngine(config, table=table)


def test_a_generation_records_target_accuracy_fitness_and_feasibility(table: BenchmarkTable
                                                                      ) -> None:
    engine = _engine(table, source_generations=2, tolerance=1.0)
    records = engine.search_generation()
    assert engine.search.rank_key is None  # the first two generations search the source alone
    attacker = table.with_dataset("attacker")
    for r in records:
        assert r.scores[target_key("attacker")] == attacker.lookup(r.arch)
    source = np.array([r.accuracy for r in records])
    target = np.array([[r.scores[target_key("attacker")] for r in records]])
    expected, ok = constrained_fitness(engine.config.archlock, source, target)
    assert [bool(r.scores[FEASIBLE_KEY]) for r in records] == ok.tolist()
    assert [r.scores.get(FITNESS_KEY) for r in records if r.scores[FEASIBLE_KEY]] == \
        expected[ok].tolist()
    assert all(FITNESS_KEY not in r.scores for r in records if not r.scores[FEASIBLE_KEY])
    engine.search_generation()
    key = engine.search.rank_key
    assert key is not None  # now parents are the feasible ones low on the target
    evaluated = {engine.space.from_string(r.arch): r for r in engine.archive}
    parents = [evaluated[p] for p in engine.search._parents()]
    inside = sorted((r for r in engine.archive if r.scores[FEASIBLE_KEY]),
                    key=lambda r: r.scores[target_key("attacker")])
    outside = sorted((r for r in engine.archive if not r.scores[FEASIBLE_KEY]),
                     key=lambda r: -r.accuracy)
    # the feasible lowest on the target first; the most accurate others fill up
    assert [r.arch for r in parents] == [r.arch for r in (inside + outside)[:len(parents)]]


def test_the_pick_and_a_resumed_search_agree_with_the_archive(table: BenchmarkTable,
                                                              tmp_path: Path) -> None:
    engine = _engine(table, source_generations=1)
    for _ in range(3):
        engine.search_generation()
    assert engine.archlock is not None
    picked = engine.archlock.picked(engine.archive)
    best = max(r.accuracy for r in engine.archive)
    feasible = [r for r in engine.archive if r.accuracy >= best - 0.02 - 1e-12]
    assert picked.scores[target_key("attacker")] == min(
        r.scores[target_key("attacker")] for r in feasible)
    entry = engine.archlock.export_entry(engine.archive, picked.arch)
    assert entry["source_accuracy"] == picked.accuracy and entry["feasible"] is True
    assert entry["targets"] == {"attacker": picked.scores[target_key("attacker")]}
    path = engine.save(tmp_path / "lock.pt")
    resumed = TabularEngine.load(path, table=table)
    assert resumed.search.rank_key is not None
    assert resumed.search.propose() == engine.search.propose()


def test_targets_must_be_columns_of_the_table(table: BenchmarkTable) -> None:
    with pytest.raises(ValueError, match="not columns of the table.*owner"):
        _engine(table, targets=["cifar100"])
    with pytest.raises(ValueError, match="needs targets"):
        EngineConfig.from_dict({"mode": "tabular", "template": "nb201", "table_path": "synthetic",
                                "archlock": {}})
