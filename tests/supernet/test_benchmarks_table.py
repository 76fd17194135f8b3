from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch

from supernet.benchmarks_table import (
    NO_TRAINING,
    BenchmarkTable,
    TabularEngine,
    open_engine,
    open_table,
    synthetic_table,
)
from supernet.engine import EngineConfig
from supernet.search import SearchConfig
from supernet.space import SearchSpace
from supernet.steering import SteeringState

NB201 = SearchSpace.from_preset("nb201")
A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
B = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
C = "|skip_connect~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
D = "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|"
MAX_GENERATIONS = 30  # 600 of 15,625 architectures (3.8%); every seed tried needed <= 16


@pytest.fixture(scope="module")
def table() -> BenchmarkTable:
    return synthetic_table(NB201, seed=0, datasets=("cifar10", "cifar100"))


def config(seed: int = 0, population: int = 20) -> EngineConfig:
    return EngineConfig(template="nb201",
                        search=SearchConfig(population=population, parents=5, seed=seed))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- BenchmarkTable -------------------------------------------------------------------------
def test_csv_round_trip(tmp_path: Path) -> None:
    small = BenchmarkTable(NB201, [A, B, C], {"cifar10": [0.9, 0.1, 0.5], "cifar100": [0.7, 0.01, 1 / 3]},
                           "cifar10", params=[1000, 10, None], flops=[5e6, 1e3, 2e6],
                           latency_ms=[1.5, 0.25, 0.75])
    path = small.write_csv(tmp_path / "t.csv")
    assert path.read_text().splitlines()[0] == "arch,cifar10,cifar100,params,flops,latency_ms"
    again = BenchmarkTable.from_csv(path, "cifar100")
    assert again.archs == [A, B, C] and again.dataset == "cifar100" and len(again) == 3
    assert again.lookup(C) == 1 / 3  # exact float round trip
    assert again.with_dataset("cifar10").lookup(A) == 0.9
    assert again.entry(C).params is None and again.entry(A).params == 1000
    assert again.entry(B).flops == 1000 and again.entry(C).latency_ms == 0.75
    assert again.datasets == ["cifar10", "cifar100"]
    assert again.source == str(path.resolve())
    assert again.lookup(NB201.from_string(A)) == 0.7  # an Arch tuple works too


def test_synthetic_table_covers_the_space_and_round_trips(table: BenchmarkTable,
                                                          tmp_path: Path) -> None:
    assert len(table) == NB201.size() == 15_625
    for i in (0, 1, 777, 15_624):
        assert table.archs[i] == NB201.to_string(NB201.from_index(i))
    for name in ("cifar10", "cifar100"):
        accs = table.accuracies[name]
        assert accs.min() >= 0 and accs.max() <= 1 and (accs == accs.max()).sum() == 1
    assert table.true_rank(table.best().arch) == (1, 100.0)
    # a dataset's column depends only on the seed and its name
    alone = synthetic_table(NB201, seed=0, datasets=("cifar100",), costs=False)
    assert (alone.accuracies["cifar100"] == table.accuracies["cifar100"]).all()
    assert synthetic_table(NB201, seed=1, costs=False).lookup(A) != table.lookup(A)
    # costs follow the supernet cost model: more convolutions, more parameters
    assert table.entry(D).params > table.entry(B).params > 0
    again = BenchmarkTable.from_csv(table.write_csv(tmp_path / "s.csv"), "cifar10")
    assert again.archs == table.archs
    assert (again.accuracies["cifar10"] == table.accuracies["cifar10"]).all()
    assert again.params == table.params and again.fingerprint() == table.fingerprint()


def test_true_rank_and_percentile_on_a_hand_made_table() -> None:
    small = BenchmarkTable(NB201, [A, B, C, D], {"cifar10": [0.8, 0.1, 0.9, 0.8]}, "cifar10")
    assert small.true_rank(C) == (1, 100.0)
    assert small.true_rank(A) == (2, pytest.approx(200 / 3))  # tied with D: both rank 2
    assert small.true_rank(D) == small.true_rank(A)
    assert small.true_rank(B) == (4, 0.0)
    assert small.best().arch == C and small.best().accuracy == 0.9
    steering = SteeringState(NB201)
    steering.prune("1<-0", "skip_connect")  # C's op on its first edge
    assert small.best(steering).arch == A  # first of the tie in row order
    assert BenchmarkTable(NB201, [B], {"x": [0.5]}, "x").true_rank(B) == (1, 100.0)
    with pytest.raises(KeyError, match="not in the table"):
        small.lookup("|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|")
    with pytest.raises(ValueError, match="nodes"):
        small.lookup("|none~0|")


HEADER = "arch,cifar10,params\n"


@pytest.mark.parametrize(("text", "dataset", "message"), [
    ("", "cifar10", "line 1: the file is empty"),
    ("name,cifar10\nx,0.5\n", "cifar10", r"line 1: the header has no 'arch' column; columns found: \['name', 'cifar10'\]"),
    (f"arch,cifar10,cifar100\n{A},0.5,0.4\n", "ImageNet16-120",
     r"no accuracy column for dataset 'ImageNet16-120'; available datasets: \['cifar10', 'cifar100'\]"),
    (HEADER + f"{A},0.5,10\n|nor_conv_3x3~0|+|none~1|,0.5,1\n", "cifar10",
     "line 3: malformed architecture string"),
    (HEADER + f"{A},0.5,10\n{B.replace('none~2', 'conv_7x7~2')},0.5,1\n", "cifar10",
     "line 3: malformed architecture string .*conv_7x7"),
    (HEADER + f"{A},0.5,10\n{B},0.5,1\n{A},0.6,1\n", "cifar10",
     "line 4: duplicate architecture .*first on line 2"),
    (HEADER + f"{A},high,10\n", "cifar10", "line 2, column 'cifar10': 'high' is not a number"),
    (HEADER + f"{A},0.5,ten\n", "cifar10", "line 2, column 'params': 'ten' is not a number"),
    (HEADER + f"{A},,10\n", "cifar10", "line 2, column 'cifar10': empty"),
    (HEADER + f"{A},nan,10\n", "cifar10", "line 2, column 'cifar10': 'nan' is not a finite number"),
    (HEADER + f"{A},93.5,10\n", "cifar10", "line 2, column 'cifar10': accuracy 93.5 is not a fraction in \\[0, 1\\].*percent=True"),
    (HEADER + f"{A},0.5,-3\n", "cifar10", "line 2, column 'params': -3.0 is negative"),
    (HEADER + f"{A},0.5\n", "cifar10", "line 2: 2 fields, but the header has 3 columns"),
    ("arch,cifar10,cifar10\n", "cifar10", "column 'cifar10' appears twice"),
    (HEADER, "cifar10", "header but no rows"),
])
def test_csv_errors_name_the_problem_and_line(tmp_path: Path, text: str, dataset: str,
                                              message: str) -> None:
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError, match=message):
        BenchmarkTable.from_csv(path, dataset)


def test_percent_tables_are_converted_and_validated(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", f"arch,cifar10\n{A},93.5\n{B},10\n")
    table = BenchmarkTable.from_csv(path, "cifar10", percent=True)
    assert table.lookup(A) == pytest.approx(0.935) and table.lookup(B) == pytest.approx(0.1)
    write(path, f"arch,cifar10\n{A},101\n")
    with pytest.raises(ValueError, match=r"line 2.*101.0 is not a percentage in \[0, 100\]"):
        BenchmarkTable.from_csv(path, "cifar10", percent=True)
    with pytest.raises(ValueError, match="cannot read benchmark table"):
        BenchmarkTable.from_csv(tmp_path / "missing.csv", "cifar10")
    blank_cost = write(tmp_path / "c.csv", f"arch,cifar10,flops\n\n{A},0.5,\n{B},0.25,7\n")
    assert BenchmarkTable.from_csv(blank_cost, "cifar10").entry(A).flops is None


def test_constructor_validates_rows() -> None:
    with pytest.raises(ValueError, match="row 1: duplicate"):
        BenchmarkTable(NB201, [A, A], {"c": [0.1, 0.2]}, "c")
    with pytest.raises(ValueError, match="row 0, dataset 'c': accuracy 1.5 is not a fraction"):
        BenchmarkTable(NB201, [A], {"c": [1.5]}, "c")
    with pytest.raises(ValueError, match="available datasets: \\['c'\\]"):
        BenchmarkTable(NB201, [A], {"c": [0.5]}, "cifar10")
    with pytest.raises(ValueError, match="not canonical|must look like"):
        BenchmarkTable(NB201, [" " + A], {"c": [0.5]}, "c")


def test_nats_bench_without_the_package_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nats_bench", None)  # makes the import fail
    with pytest.raises(ValueError, match="needs the 'nats_bench' package, which is not installed"):
        BenchmarkTable.from_nats_bench(None, "cifar10")
    with pytest.raises(ValueError, match="nats_bench"):
        open_table("nats:", "cifar10")


# -- TabularEngine ----------------------------------------------------------------------
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


def test_the_documented_example_loads(tmp_path: Path) -> None:
    import supernet.benchmarks_table as module

    doc = module.__doc__ or ""
    example = doc.split("```\n")[1]
    table = BenchmarkTable.from_csv(write(tmp_path / "doc.csv", example), "cifar100")
    assert table.lookup(A) == 0.7051 and table.entry(A).params == 1128730
