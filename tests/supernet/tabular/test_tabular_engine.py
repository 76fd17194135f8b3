from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from supernet.configs import EngineConfig
from supernet.engines import open_engine
from supernet.tabular.engine import NO_TRAINING, TabularEngine
from supernet.tabular.synthetic import synthetic_table
from supernet.tabular.table import BenchmarkTable
from tests.supernet.tabular.cases import NB201, A, B, config, write

MAX_GENERATIONS = 30  # 600 of 15,625 architectures (3.8%); every seed tried needed <= 16


def run_until_best(engine: TabularEngine, target: str, generations: int) -> int | None:
    for g in range(generations):
        engine.search_generation()
        if engine.leaderboard(1)[0].arch == target:
            return g + 1
    return None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unconstrained_search_finds_the_best_entry(table: BenchmarkTable, seed: int) -> None:
    engine = TabularEngine(config(seed), table=table)
    best = table.best()
    used = run_until_best(engine, best.arch, MAX_GENERATIONS)
    assert used is not None, f"best entry not found in {MAX_GENERATIONS} generations"
    top = engine.leaderboard(1)[0]
    assert top.accuracy == best.accuracy and top.loss == pytest.approx(1 - best.accuracy)
    assert top.scores == {"table_rank": 1.0, "table_percentile": 100.0}
    assert top.params == best.params and top.flops == best.flops
    archs = [r.arch for r in engine.archive]
    assert len(archs) == len(set(archs)) == 20 * used  # never re-evaluated
    # the fitness table saw every record, exactly like SearchEngine's
    cp = engine.space.choice_points[0]
    assert sum(engine.fitness.score(cp.name, op).count for op in cp.candidates) == len(archs)


def test_search_respects_prunes_and_locks(table: BenchmarkTable) -> None:
    engine = TabularEngine(config(seed=4), table=table)
    best = NB201.from_string(table.best().arch)
    engine.search_generation()
    engine.search_generation()
    # the analyst prunes the best entry's op on 1<-0 and locks 2<-1 to an op the best lacks
    engine.steering.prune("1<-0", best[0])
    locked = "skip_connect" if best[2] != "skip_connect" else "avg_pool_3x3"
    engine.steering.lock("2<-1", locked)
    engine.steering.prune("3<-2", "none")
    expected = table.best(engine.steering)
    assert expected.arch != table.best().arch
    before = len(engine.archive)
    for _ in range(MAX_GENERATIONS):
        engine.search_generation()
    after = engine.archive[before:]
    assert len(after) > 10 * MAX_GENERATIONS  # fewer than 20 a generation once it converges
    for record in after:
        arch = NB201.from_string(record.arch)
        assert arch[0] != best[0] and arch[5] != "none" and arch[2] == locked, record.arch
    found = max(after, key=lambda r: r.accuracy)
    assert found.arch == expected.arch and found.accuracy == expected.accuracy


def test_focus_seeds_the_first_generation(table: BenchmarkTable) -> None:
    engine = TabularEngine(config(seed=5, population=8), table=table)
    engine.steering.set_focus([NB201.from_string(A)])
    records = engine.search_generation()
    assert len(records) == 8 and {r.parent for r in records} == {A}


def test_deterministic_under_a_seed(table: BenchmarkTable) -> None:
    def run(seed: int) -> list[dict]:
        engine = TabularEngine(config(seed), table=table)
        for _ in range(4):
            engine.search_generation()
        return engine.archive_as_dicts()

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_save_load_resumes_identically(table: BenchmarkTable, tmp_path: Path) -> None:
    engine = TabularEngine(config(seed=3), table=table)
    for _ in range(3):
        engine.search_generation()
    engine.steering.prune("3<-0", "none")
    engine.steering.set_weights("1<-0", {"nor_conv_3x3": 3.0})
    engine.search.set_params(mutation_prob=0.4)
    path = engine.save(tmp_path / "tab.pt")
    continued = [engine.search_generation() for _ in range(3)]

    resumed = TabularEngine.load(path, table=table)
    assert resumed.steering.to_dict() == TabularEngine.load(path).steering.to_dict()  # re-opens
    assert resumed.search.config.mutation_prob == 0.4
    assert len(resumed.archive) == 60 and resumed.search.generation == 3
    assert resumed.fitness.to_dict() != TabularEngine(config(3), table=table).fitness.to_dict()
    assert [resumed.search_generation() for _ in range(3)] == continued
    assert resumed.archive_as_dicts() == engine.archive_as_dicts()
    assert resumed.fitness.to_dict() == engine.fitness.to_dict()
    assert resumed.leaderboard(5) == engine.leaderboard(5)

    other = synthetic_table(NB201, seed=1, costs=False)
    with pytest.raises(ValueError, match="benchmark table differs"):
        TabularEngine.load(path, table=other)
    with pytest.raises(ValueError, match="cannot read tabular-mode checkpoint"):
        TabularEngine.load(write(tmp_path / "x.pt", "not a checkpoint"))
    torch.save({"config": config().to_dict(), "trainer": {}}, tmp_path / "supernet.pt")
    with pytest.raises(ValueError, match="not a tabular-mode checkpoint"):
        TabularEngine.load(tmp_path / "supernet.pt")


def test_training_calls_are_no_ops_and_worker_attributes_exist(table: BenchmarkTable,
                                                               tmp_path: Path) -> None:
    reports: list[object] = []
    engine = TabularEngine(config(), reports.append, table=table.with_dataset("cifar100"))
    assert engine.train_steps(8) == [] and engine.trainer.done and engine.trainer.epoch == 0
    assert engine.train_epoch()["note"] == NO_TRAINING
    assert engine.extend_training(2) == NO_TRAINING and engine.finetune(1) == []
    with pytest.raises(ValueError, match="positive integer"):
        engine.extend_training(0)
    assert reports == []
    assert engine.data.name == "table cifar100" and engine.data.num_classes == 100
    assert engine.device.type == "cpu" and engine.supernet is None
    records = engine.search_generation()
    assert all(r.accuracy == table.with_dataset("cifar100").lookup(r.arch) for r in records)
    assert not any(math.isnan(r.loss) for r in records)
    counted = sum(cell["count"] for cell in engine.fitness.to_dict()["1<-0"].values())
    assert counted == len(records)  # the fitness table saw every looked-up candidate


def test_engines_from_config_specs_and_coverage(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tabular mode needs a benchmark table"):
        TabularEngine(config())

    with pytest.raises(ValueError, match="tabular mode needs table_path"):
        EngineConfig(template="nb201", mode="tabular")
    with pytest.raises(ValueError, match="mode must be"):
        EngineConfig(template="nb201", mode="lookup")
    cfg = EngineConfig.from_dict({"template": "nb201", "mode": "tabular", "table_path": "synthetic:2",
                                  "search": {"population": 5, "seed": 1}})
    engine = open_engine(cfg)
    assert isinstance(engine, TabularEngine) and engine.table.source == "synthetic:2"
    engine.search_generation()
    engine.save(tmp_path / "e.pt")
    assert open_engine(cfg, checkpoint=tmp_path / "e.pt").archive == engine.archive

    partial = write(tmp_path / "partial.csv", f"arch,cifar10\n{A},0.5\n{B},0.25\n")
    with pytest.raises(ValueError, match="covers 2 of the 15,625 architectures"):
        TabularEngine(config(), table=str(partial))
    micro = BenchmarkTable(NB201, [A], {"c": [0.5]}, "c")
    tiny_cfg = EngineConfig(template={"n_nodes": 3, "ops": ["none", "skip_connect"]})
    with pytest.raises(ValueError, match="benchmark table"):
        TabularEngine(tiny_cfg, table=micro)
