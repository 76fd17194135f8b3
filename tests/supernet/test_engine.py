from __future__ import annotations

import json
from pathlib import Path

import pytest

from supernet.engine import EngineConfig, SearchEngine
from supernet.evaluate import EvalConfig
from supernet.search import SearchConfig
from supernet.train import TrainConfig, TrainProgress

MICRO = {"n_nodes": 3, "ops": ["skip_connect", "nor_conv_3x3", "avg_pool_3x3"], "C": 4,
         "cells_per_stage": 1, "n_stages": 2}


def micro_config(**overrides: object) -> EngineConfig:
    base = {"template": MICRO, "dataset": "digits", "data_limit": 300, "seed": 3,
            "train": TrainConfig(epochs=2, batch_size=32, device="cpu", seed=3),
            "search": SearchConfig(population=6, parents=3, seed=3),
            "eval": EvalConfig(bn_batches=2, bn_batch_size=64),
            "measure_latency": False}
    return EngineConfig(**(base | overrides))


def test_config_round_trips_through_json() -> None:
    config = micro_config()
    again = EngineConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert EngineConfig.from_dict({"template": "tiny"}).space().size() == 5 ** 6


@pytest.mark.parametrize(("data", "message"), [
    ({"template": "huge"}, "unknown preset"),
    ({"template": {"n_nodes": 3, "ops": ["conv_7x7"]}}, "unknown op"),
    ({"train": {"epochs": 0}}, "train.epochs"),
    ({"search": {"population": 0}}, "search.population"),
    ({"eval": {"bn_batches": -1}}, "eval.bn_batches"),
    ({"dataset": ""}, "dataset"),
    ({"epochs": 3}, "unknown engine setting"),
    ({"proxies": ["vibes"]}, "unknown proxy"),
    ({"proxies": "synflow"}, "must be a list"),
    ({"prescreen_n": 10}, "needs at least one proxy"),
    ({"prescreen_n": -1, "proxies": ["synflow"]}, "non-negative"),
    ({"mode": "tabular", "table_path": "synthetic:0", "template": "nb201", "proxies": ["naswot"]},
     "tabular mode has none"),
    ([1, 2], "mapping"),
])
def test_bad_configs_are_rejected_with_a_reason(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EngineConfig.from_dict(data)  # type: ignore[arg-type]


def test_train_search_fitness_and_leaderboard() -> None:
    reports: list[TrainProgress] = []
    engine = SearchEngine(micro_config(), reports.append)
    assert len(engine.train_steps(3)) == 3 and len(reports) == 3
    engine.train_epoch()
    assert engine.trainer.epoch == 1

    first = engine.search_generation()
    second = engine.search_generation()
    assert len(first) == len(second) == 6
    assert {r.generation for r in first} == {0} and {r.generation for r in second} == {1}
    assert all(r.parent is None for r in first) and all(r.parent for r in second)
    assert len({r.arch for r in first + second}) == 12  # never re-evaluated
    for r in first + second:
        arch = engine.space.from_string(r.arch)
        assert r.index == engine.space.index(arch)
        assert r.params == engine.supernet.params(arch) and r.flops == engine.supernet.flops(arch)
        assert 0 <= r.accuracy <= 1 and r.loss > 0

    counts = [engine.fitness.score("1<-0", op).count for op in MICRO["ops"]]
    assert sum(counts) == len(engine.archive) == 12
    board = engine.leaderboard(5)
    assert len(board) == 5 and board[0].accuracy == max(r.accuracy for r in engine.archive)
    assert [r.accuracy for r in board] == sorted((r.accuracy for r in board), reverse=True)


def test_steering_edits_reach_training_and_search() -> None:
    engine = SearchEngine(micro_config())
    engine.steering.prune("2<-1", "avg_pool_3x3")
    engine.steering.lock("1<-0", "nor_conv_3x3")
    assert engine.trainer.steering is engine.steering is engine.search.steering
    engine.train_steps(2)
    records = engine.search_generation()
    assert len(records) == 6  # 1 x 3 x 2 = 6 architectures remain: all proposed once
    for r in records:
        arch = engine.space.from_string(r.arch)
        assert arch[0] == "nor_conv_3x3" and arch[2] != "avg_pool_3x3"


def test_save_and_load_continue_exactly(tmp_path: Path) -> None:
    engine = SearchEngine(micro_config())
    engine.train_steps(4)
    engine.steering.prune("2<-0", "skip_connect")
    engine.search_generation()
    path = engine.save(tmp_path / "engine.pt")

    restored = SearchEngine.load(path)
    assert restored.steering.to_dict() == engine.steering.to_dict()
    assert restored.search.steering is restored.steering
    assert [r.to_dict() for r in restored.archive] == [r.to_dict() for r in engine.archive]
    assert restored.fitness.to_dict() == engine.fitness.to_dict()
    assert restored.train_steps(5) == engine.train_steps(5)
    assert ([r.to_dict() for r in restored.search_generation()]
            == [r.to_dict() for r in engine.search_generation()])


def test_finetune_continues_after_the_planned_epochs() -> None:
    engine = SearchEngine(micro_config(train=TrainConfig(epochs=1, batch_size=64, device="cpu")))
    engine.train_epoch()
    assert engine.trainer.done
    stats = engine.finetune(1)
    assert len(stats) == 1 and engine.trainer.epoch == 2 and engine.trainer.done


def test_proxies_score_every_candidate_and_prescreen_warm_starts(tmp_path: Path) -> None:
    config = micro_config(proxies=["synflow", "naswot"], prescreen_n=10)
    engine = SearchEngine(config)
    warm = [engine.space.to_string(a) for a in engine.search.warm_start]
    assert len(warm) == 6  # the population, best first by the proxies' rank vote
    first = engine.search_generation()
    assert [r.arch for r in first] == warm
    assert all(set(r.scores) == {"synflow", "naswot"} for r in first)
    again = SearchEngine(config).search_generation()
    assert [r.scores for r in again] == [r.scores for r in first]  # seeded: same scores
    engine.save(tmp_path / "e.pt")
    assert SearchEngine.load(tmp_path / "e.pt").config.proxies == ["synflow", "naswot"]
