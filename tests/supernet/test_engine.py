from __future__ import annotations

import json
from pathlib import Path

import pytest

from supernet.configs import EngineConfig, EvalConfig, TrainConfig
from supernet.engine import SearchEngine
from supernet.search import SearchConfig
from supernet.train import TrainProgress

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


@pytest.mark.parametrize(("data", "line"), [
    ({"template": MICRO | {"n_stages": True}},
     "cell template: n_stages must be a positive integer (at most 5), got True"),
    ({"measure_latency": "yes"}, "engine config: measure_latency must be true or false, got 'yes'"),
    ({"data_limit": "abc"}, "engine config: data_limit must be a number of images >= 20"),
    ({"data_limit": 5}, "engine config: data_limit must be a number of images >= 20"),
    ({"train": {"epochs": True}}, "engine config: train.epochs must be a positive integer, got True"),
    ({"search": {"mutation_prob": float("nan")}}, "engine config: search.mutation_prob must be"),
    ({"seed": 1.5}, "engine config: seed must be an integer, got 1.5"),
    ({"template": 7}, "engine config: template must be"),
    ({"dataset": ["digits"]}, "engine config: dataset must be"),
])
def test_hostile_settings_name_the_field(data: dict, line: str) -> None:
    """Issue 17: values of the wrong kind are refused naming the field, not accepted."""
    with pytest.raises(ValueError) as info:
        EngineConfig.from_dict(data)
    assert line in str(info.value)


def test_cuda_without_a_gpu_fails_when_the_engine_is_built() -> None:
    """The worker that owns the device refuses it; the web (no GPU in a lab) accepts the
    config, so a lab's web never turns a cuda session away for lacking a GPU itself."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    config = EngineConfig.from_dict({"train": {"device": "cuda"}})
    with pytest.raises(ValueError, match="train.device must be 'auto' or 'cpu': no CUDA device "
                                         "is available on this machine, got 'cuda'"):
        SearchEngine(config)
    with pytest.raises(ValueError, match="train.device must be 'auto', 'cpu' or 'cuda"):
        EngineConfig.from_dict({"train": {"device": "cuda:x"}})


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
    warm = [engine.space.to_string(a) for a in engine._prescreen(10)]
    assert len(warm) == 6  # the population, best first by the proxies' rank vote
    first = engine.search_generation()
    assert [r.arch for r in first] == warm
    assert all(set(r.scores) == {"synflow", "naswot", "score"} for r in first)  # + the ensemble
    again = SearchEngine(config).search_generation()
    assert [r.scores for r in again] == [r.scores for r in first]  # seeded: same scores
    engine.save(tmp_path / "e.pt")
    assert SearchEngine.load(tmp_path / "e.pt").config.proxies == ["synflow", "naswot"]


def _chain_doc(drop_conv5: bool = False, add_identity: bool = False) -> dict:
    from supernet.templates.chain import chain_tiny

    doc = chain_tiny().to_dict()
    layer = doc["layers"][1]
    if drop_conv5:
        layer["blocks"] = [b for b in layer["blocks"] if b["name"] != "conv5x5"]
    if add_identity:
        doc["layers"][2]["pools"].append({"name": "keep", "type": "identity"})
    return doc


def chain_config(**overrides: object) -> EngineConfig:
    return micro_config(template=_chain_doc(), **overrides)


def test_a_chain_template_trains_and_searches() -> None:
    engine = SearchEngine(chain_config())
    engine.train_epoch()
    records = engine.search_generation()
    assert len(records) == 6 and all(engine.space.accepts(r.arch) for r in records)
    assert all(0 <= r.accuracy <= 1 and r.params > 0 for r in records)
    assert set(engine.fitness.to_dict()) == {cp.name for cp in engine.space}


def test_a_tabular_chain_is_refused() -> None:
    with pytest.raises(ValueError, match="chain template needs mode 'supernet'"):
        chain_config(mode="tabular", table_path="synthetic:0")


def test_editing_the_template_keeps_surviving_weights_steering_and_candidates() -> None:
    import torch

    engine = SearchEngine(chain_config())
    engine.train_epoch()
    engine.search_generation()
    engine.steering.prune("layer1.block", "sep3x3")
    engine.steering.lock("layer2.block", "conv5x5")  # conv5x5 of layer2 goes away below
    step = engine.trainer.global_step
    new, detail = engine.retemplated(_chain_doc(drop_conv5=True, add_identity=True))
    assert new.space.choice_point("layer2.block").candidates == ("conv3x3", "sep3x3")
    assert new.space.choice_point("layer3.pool").candidates == ("max", "avg", "keep")
    old_w, new_w = engine.supernet.state_dict(), new.supernet.state_dict()
    kept = "choices.0.conv3x3.0.weight"
    assert torch.equal(new_w[kept], old_w[kept])
    assert "choices.2.conv5x5.0.weight" not in new_w
    assert new.steering.is_pruned("layer1.block", "sep3x3") and "layer2.block" not in new.steering.locked
    assert new.trainer.global_step == step and new.config.template == _chain_doc(True, True)
    survivors = [r for r in engine.archive if ",conv5x5," not in f",{r.arch.split('|')[1]},"]
    assert [r.arch for r in new.archive] == [r.arch for r in survivors]
    assert "dropped 1 steering edits" in detail
    new.train_steps(2)
    records = new.search_generation()
    assert all(r.arch.split("|")[1].split(",")[0] != "conv5x5" for r in records)
    with pytest.raises(ValueError, match="layer2"):
        bad = _chain_doc()
        bad["layers"][1]["blocks"][0]["stride"] = 2
        engine.retemplated(bad)


def test_an_edit_that_removes_a_choice_point_keeps_the_weights_of_the_later_layers() -> None:
    import torch

    engine = SearchEngine(chain_config())
    with torch.no_grad():  # no weight may equal a fresh initialisation by chance
        for p in engine.supernet.parameters():
            p.add_(1.0)
    doc = _chain_doc()
    del doc["layers"][0]["pools"]  # layer1.pool goes: every later position shifts by one
    new, detail = engine.retemplated(doc)
    assert [cp.name for cp in new.space][:2] == ["layer1.block", "layer2.block"]
    old_w, new_w = engine.supernet.state_dict(), new.supernet.state_dict()
    old_index = [cp.name for cp in engine.space].index
    new_index = [cp.name for cp in new.space].index
    for cp, tensor in [("layer2.block", "conv3x3.0.weight"), ("layer3.block", "sep3x3.0.weight"),
                       ("head", "dense2.layers.4.weight")]:
        old_key = f"choices.{old_index(cp)}.{tensor}"
        new_key = f"choices.{new_index(cp)}.{tensor}"
        assert old_key in old_w and new_key in new_w, (old_key, new_key)
        assert torch.equal(new_w[new_key], old_w[old_key]), cp
    assert f"kept {len(new_w)} of {len(new_w)} weight tensors" in detail


def test_candidates_are_timed_as_stand_alone_nets_at_batch_1_and_the_configured_batch() -> None:
    from supernet.engine import latency_score_key
    from supernet.latency_budget import HOST

    config = micro_config(measure_latency=True, eval=EvalConfig(
        bn_batches=2, bn_batch_size=64, latency_batch=4, latency_warmup=1, latency_repeats=3))
    engine = SearchEngine(config)
    assert engine.meter.device == engine.device and engine.meter.repeats == 3
    engine.train_steps(2)
    records = engine.search_generation() + engine.search_generation()
    cached = engine.meter.cached()
    archs = [engine.space.from_string(r.arch) for r in records]
    assert set(cached) == {(a, 1) for a in archs} | {(a, 4) for a in archs}
    for r, arch in zip(records, archs):
        assert r.latency_ms == cached[(arch, 1)] > 0
        assert r.scores.keys() == {latency_score_key(4), "score"}  # + the ensemble (issue 19)
        assert r.scores[latency_score_key(4)] == cached[(arch, 4)]
    assert engine.latency.measured == {a: r.latency_ms for a, r in zip(archs, records)}
    assert HOST in engine.latency.predictors and engine.latency.summary()["measured"] == 12
    measurements = engine.meter.measurements
    assert engine.host_latency(archs[0]) == records[0].latency_ms
    assert engine.meter.measurements == measurements  # an uploaded device reuses the cache
    budget = max(r.latency_ms for r in records)
    assert "proposals limited" in engine.latency.set_budget(budget, engine.steering)


def test_prescreen_ranks_by_the_chosen_proxy_and_is_not_redone_on_resume(tmp_path: Path) -> None:
    import numpy as np

    from supernet.proxies import prescreen, sample_distinct

    config = micro_config(proxies=["naswot", "params"], prescreen_n=10, prescreen_by=["params"])
    engine = SearchEngine(config)
    assert engine.search.warm_start == []  # nothing is scored before the search starts
    batch, seed = engine._proxy_batch, config.seed
    drawn = sample_distinct(engine.steering, 10, np.random.default_rng(seed))
    params = [engine.scorer.score(a, *batch)["params"] for a in drawn]
    by_params = prescreen(engine.scorer, engine.steering, *batch, n=10, k=6, seed=seed,
                          by=["params"])
    assert by_params == [drawn[i] for i in np.argsort(-np.asarray(params), kind="stable")[:6]]
    assert by_params != prescreen(engine.scorer, engine.steering, *batch, n=10, k=6, seed=seed)
    first = engine.search_generation()
    assert [r.arch for r in first] == [engine.space.to_string(a) for a in by_params]
    engine.save(tmp_path / "e.pt")
    resumed = SearchEngine.load(tmp_path / "e.pt")
    assert resumed.config.prescreen_by == ["params"]
    resumed._prescreen = lambda n: pytest.fail("a resumed search must not prescreen again")
    resumed.search_generation()
    assert resumed.search.generation == 2
    with pytest.raises(ValueError, match="rank only by proxies that are scored"):
        micro_config(proxies=["synflow"], prescreen_n=10, prescreen_by=["naswot"])


def test_engine_families_come_from_a_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    import supernet.engines as engines
    from supernet.tabular.engine import TabularEngine

    assert engines.engine_modes() == ["supernet", "tabular"]
    assert engines.engine_family("supernet") is SearchEngine
    assert engines.engine_family("tabular") is TabularEngine
    assert SearchEngine.mode == "supernet" and TabularEngine.mode == "tabular"
    with pytest.raises(ValueError, match=r"mode must be one of \['supernet', 'tabular'\], got 'lookup'"):
        engines.engine_family("lookup")
    with pytest.raises(ValueError, match="already registered"):
        engines.register_engine("tabular")(SearchEngine)
    monkeypatch.setattr(engines, "_FAMILIES", dict(engines._FAMILIES))

    class Tracing(SearchEngine):
        """A family of its own: the registry, not a switch, decides what a mode runs."""

    engines.register_engine("tracing")(Tracing)
    config = micro_config(mode="tracing")
    assert type(engines.open_engine(config)) is Tracing
