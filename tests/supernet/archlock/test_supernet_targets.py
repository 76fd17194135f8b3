"""Supernet mode: a target dataset spec scored by a zero-cost proxy for every candidate."""

from __future__ import annotations

import pytest

from supernet.archlock import FEASIBLE_KEY, UNKNOWN_TARGET, ArchLockConfig, target_key
from supernet.configs import EngineConfig, EvalConfig, TrainConfig
from supernet.engine import SearchEngine
from supernet.search import SearchConfig


def test_a_generation_scores_the_target_data_by_proxy() -> None:
    config = EngineConfig(
        template="tiny", dataset="digits", data_limit=300, measure_latency=False,
        train=TrainConfig(epochs=1, batch_size=64, device="cpu", amp=False),
        eval=EvalConfig(bn_batches=1, val_limit=60),
        search=SearchConfig(population=3, parents=2),
        archlock=ArchLockConfig(targets=["digits"], target_limit=100, source_generations=0))
    engine = SearchEngine(config)
    engine.train_steps(3)
    records = engine.search_generation()
    assert engine.lock_targets is not None
    key = target_key("digits")
    values = [r.scores[key] for r in records]
    assert len(set(values)) == len(values)  # a score per architecture, not a constant
    assert values[0] == engine.lock_targets.scores(engine.space.from_string(records[0].arch))[key]
    assert all(FEASIBLE_KEY in r.scores for r in records)
    assert engine.search.rank_key is not None


def test_an_unknown_target_learns_from_class_subsets_of_the_source() -> None:
    config = EngineConfig(
        template="tiny", dataset="digits", data_limit=300, measure_latency=False,
        train=TrainConfig(epochs=1, batch_size=64, device="cpu", amp=False),
        eval=EvalConfig(bn_batches=1, val_limit=60),
        search=SearchConfig(population=4, parents=2),
        archlock=ArchLockConfig(unknown_target=True, known_tasks=2, probe_archs=24,
                                simulated_tasks=4, source_generations=0))
    engine = SearchEngine(config)
    engine.train_steps(2)
    records = engine.search_generation()
    assert engine.lock_targets is not None and engine.lock_targets.unknown is not None
    unknown = engine.lock_targets.unknown
    assert len(unknown.embeddings) == 3  # the source and two class subsets of it
    key = target_key(UNKNOWN_TARGET)
    values = [r.scores[key] for r in records]
    assert all(0.0 <= v <= 1.0 for v in values) and len(set(values)) > 1
    assert values == unknown.score_many([engine.space.from_string(r.arch) for r in records])
    assert all(FEASIBLE_KEY in r.scores for r in records)
    assert engine.search.rank_key is not None


def test_a_task_whose_metric_is_an_error_is_refused() -> None:
    config = EngineConfig(dataset="darcy:40", measure_latency=False,
                          train=TrainConfig(device="cpu"),
                          archlock=ArchLockConfig(targets=["digits"]))
    with pytest.raises(ValueError, match="error to minimise"):
        SearchEngine(config)
