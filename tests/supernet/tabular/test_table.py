from __future__ import annotations

from pathlib import Path

import pytest

from supernet.steering import SteeringState
from supernet.tabular.synthetic import synthetic_table
from supernet.tabular.table import BenchmarkTable
from tests.supernet.tabular.cases import NB201, A, B, C, D


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


def test_constructor_validates_rows() -> None:
    with pytest.raises(ValueError, match="row 1: duplicate"):
        BenchmarkTable(NB201, [A, A], {"c": [0.1, 0.2]}, "c")
    with pytest.raises(ValueError, match="row 0, dataset 'c': accuracy 1.5 is not a fraction"):
        BenchmarkTable(NB201, [A], {"c": [1.5]}, "c")
    with pytest.raises(ValueError, match="available datasets: \\['c'\\]"):
        BenchmarkTable(NB201, [A], {"c": [0.5]}, "cifar10")
    with pytest.raises(ValueError, match="not canonical|must look like"):
        BenchmarkTable(NB201, [" " + A], {"c": [0.5]}, "c")
