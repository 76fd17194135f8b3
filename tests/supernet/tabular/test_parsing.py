from __future__ import annotations

import sys
from pathlib import Path

import pytest

from supernet.tabular.specs import open_table
from supernet.tabular.table import BenchmarkTable
from tests.supernet.tabular.cases import A, B, write

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
    (HEADER + f"{A},193.5,10\n", "cifar10", "line 2, column 'cifar10': accuracy 193.5 is not a percentage in \\[0, 100\\]"),
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


def test_nats_bench_without_the_package_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nats_bench", None)  # makes the import fail
    with pytest.raises(ValueError, match="needs the 'nats_bench' package, which is not installed"):
        BenchmarkTable.from_nats_bench(None, "cifar10")
    with pytest.raises(ValueError, match="nats_bench"):
        open_table("nats:", "cifar10")


def test_the_documented_example_loads(tmp_path: Path) -> None:
    import supernet.tabular.parsing as module

    doc = module.__doc__ or ""
    example = doc.split("```\n")[1]
    table = BenchmarkTable.from_csv(write(tmp_path / "doc.csv", example), "cifar100")
    assert table.lookup(A) == 0.7051 and table.entry(A).params == 1128730


def test_the_shared_table_header_loads_as_is(tmp_path: Path) -> None:
    """The header and units of ../shared/data/nb201_cifar.csv (NAS-Bench-201 in percent)."""
    path = write(tmp_path / "nb201_cifar.csv",
                 "ArchitectureString,CIFAR10TestAccuracy200Epochs,CIFAR100TestAccuracy200Epochs\n"
                 f"{A},93.66000000000001,70.29333326822916\n{B},10.0,1.0\n")
    table = BenchmarkTable.from_csv(path, "CIFAR10TestAccuracy200Epochs")
    assert table.percent and table.lookup(A) == pytest.approx(0.9366)
    assert table.datasets == ["CIFAR10TestAccuracy200Epochs", "CIFAR100TestAccuracy200Epochs"]
    other = table.with_dataset("CIFAR100TestAccuracy200Epochs")
    assert other.lookup(B) == pytest.approx(0.01) and other.best().arch == A


def test_nats_style_exports_fractions_and_extra_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "nats.csv", "index,arch,note,test-accuracy,flops\n"
                                        f"0,{A},good,0.93,12\n1,{B},bad,0.1,0\n")
    table = BenchmarkTable.from_csv(path, "test-accuracy")
    assert not table.percent and table.lookup(A) == pytest.approx(0.93)
    assert "note" not in table.datasets and table.entry(A).flops == 12
    with pytest.raises(ValueError, match=r"93.0 is not a fraction in \[0, 1\].*percent=True"):
        write(path, f"arch,cifar10\n{A},93\n")
        BenchmarkTable.from_csv(path, "cifar10", percent=False)
