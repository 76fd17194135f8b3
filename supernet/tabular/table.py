"""A benchmark table: the accuracy of every architecture of a space on some datasets.

Tabular mode (``supernet.tabular``) looks candidates up here instead of training a
supernet, so a search can be run, steered and compared with the ground truth in seconds.
The CSV format and the readers are in :mod:`supernet.tabular.parsing`.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from supernet.paths import Roots
from supernet.space import SearchSpace
from supernet.steering import SteeringState
from supernet.tabular.parsing import (
    ARCH_COLUMN,
    ARCH_COLUMNS,
    COST_COLUMNS,
    TableColumns,
    check_arch,
    read_csv,
    read_nats_bench,
)


@dataclass(frozen=True)
class DatasetInfo:
    """Input shape and class count of a benchmark dataset (what an export needs)."""

    name: str
    in_channels: int
    num_classes: int
    image_size: int


KNOWN_DATASETS: dict[str, DatasetInfo] = {
    "cifar10": DatasetInfo("cifar10", 3, 10, 32),
    "cifar10-valid": DatasetInfo("cifar10-valid", 3, 10, 32),
    "cifar100": DatasetInfo("cifar100", 3, 100, 32),
    "ImageNet16-120": DatasetInfo("ImageNet16-120", 3, 120, 16),
}
"""NAS-Bench-201 datasets; another column name is assumed CIFAR-shaped (3x32x32, 10 classes)."""


def dataset_info(name: str) -> DatasetInfo:
    return KNOWN_DATASETS.get(name, DatasetInfo(name, 3, 10, 32))


@dataclass(frozen=True)
class TableEntry:
    """One row of a table for its selected dataset."""

    arch: str
    accuracy: float
    params: int | None = None
    flops: int | None = None
    latency_ms: float | None = None


def _fmt_number(value: float | None) -> str:
    return "" if value is None else repr(value)


class BenchmarkTable:
    """Accuracies (fractions in [0, 1]) of architectures of ``space``, keyed by arch string.

    A table may hold several dataset columns; ``dataset`` selects the one that
    ``lookup``, ``true_rank``, ``best`` and ``entry`` use (``with_dataset`` switches).
    """

    def __init__(self, space: SearchSpace, archs: Sequence[str],
                 accuracies: Mapping[str, Sequence[float] | np.ndarray], dataset: str,
                 params: Sequence[float | None] | None = None,
                 flops: Sequence[float | None] | None = None,
                 latency_ms: Sequence[float | None] | None = None,
                 source: str | None = None, percent: bool = False, check: bool = True) -> None:
        """``check=False`` skips re-parsing the arch strings (for callers that already did)."""
        self.space = space
        self.archs: list[str] = list(archs)
        if not self.archs:
            raise ValueError("a benchmark table needs at least one architecture")
        if not accuracies:
            raise ValueError("a benchmark table needs at least one accuracy (dataset) column")
        self._index: dict[str, int] = {}
        for row, arch in enumerate(self.archs):
            if check:
                check_arch(space, arch, f"row {row}")
            if arch in self._index:
                raise ValueError(f"row {row}: duplicate architecture {arch!r} "
                                 f"(first in row {self._index[arch]})")
            self._index[arch] = row
        n = len(self.archs)
        self.accuracies: dict[str, np.ndarray] = {}
        for name, values in accuracies.items():
            if name in ARCH_COLUMNS or name in COST_COLUMNS:
                raise ValueError(f"{name!r} is a reserved column name, not a dataset")
            array = np.asarray(values, dtype=np.float64)
            if array.shape != (n,):
                raise ValueError(f"dataset {name!r} has {array.size} accuracies for {n} architectures")
            bad = np.flatnonzero(~np.isfinite(array) | (array < 0) | (array > 1))
            if bad.size:
                raise ValueError(f"row {bad[0]}, dataset {name!r}: accuracy {float(array[bad[0]])!r} is "
                                 "not a fraction in [0, 1]")
            self.accuracies[name] = array
        self.params = _costs(params, n, "params", integer=True)
        self.flops = _costs(flops, n, "flops", integer=True)
        self.latency_ms = _costs(latency_ms, n, "latency_ms", integer=False)
        self.source = source
        self.percent = percent
        self.dataset = ""
        self._select(dataset)

    # -- dataset selection ------------------------------------------------------
    @property
    def datasets(self) -> list[str]:
        return list(self.accuracies)

    def _select(self, dataset: str) -> None:
        if dataset not in self.accuracies:
            raise ValueError(f"the table has no accuracy column {dataset!r}; available datasets: "
                             f"{self.datasets}")
        self.dataset = dataset
        self._acc = self.accuracies[dataset]
        self._sorted = np.sort(self._acc)

    def with_dataset(self, dataset: str) -> BenchmarkTable:
        """The same rows with another dataset selected (arrays are shared, not copied)."""
        other = object.__new__(BenchmarkTable)
        other.__dict__.update(self.__dict__)
        other._select(dataset)
        return other

    # -- queries ----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.archs)

    def __contains__(self, arch: object) -> bool:
        return isinstance(arch, str) and arch in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self.archs)

    def _row(self, arch: str | Sequence[str]) -> int:
        key = arch if isinstance(arch, str) else self.space.to_string(arch)
        row = self._index.get(key)
        if row is None:
            check_arch(self.space, key, "lookup")
            raise KeyError(f"architecture {key!r} is not in the table ({len(self)} entries)")
        return row

    def lookup(self, arch: str | Sequence[str]) -> float:
        """Accuracy (fraction) of an architecture on the selected dataset.

        Raises ``ValueError`` for a malformed string, ``KeyError`` for one not in the table.
        """
        return float(self._acc[self._row(arch)])

    def entry(self, arch: str | Sequence[str]) -> TableEntry:
        return self._entry(self._row(arch))

    def _entry(self, row: int) -> TableEntry:
        return TableEntry(
            arch=self.archs[row], accuracy=float(self._acc[row]),
            params=None if self.params is None else self.params[row],
            flops=None if self.flops is None else self.flops[row],
            latency_ms=None if self.latency_ms is None else self.latency_ms[row],
        )

    def true_rank(self, arch: str | Sequence[str]) -> tuple[int, float]:
        """``(rank, percentile)`` of an architecture among all entries, by selected accuracy.

        ``rank`` = 1 + the number of entries strictly better (best = 1; ties share a rank);
        ``percentile`` = ``100 * (len - rank) / (len - 1)``: 100 for the best, 0 for the worst
        (100 when the table has a single entry).
        """
        acc = self._acc[self._row(arch)]
        n = len(self)
        better = n - int(np.searchsorted(self._sorted, acc, side="right"))
        rank = better + 1
        return rank, (100.0 if n == 1 else 100.0 * (n - rank) / (n - 1))

    def best(self, steering: SteeringState | None = None) -> TableEntry:
        """The entry with the highest selected accuracy (first in row order on a tie),
        optionally among the architectures ``steering`` still allows."""
        if steering is None:
            return self._entry(int(np.argmax(self._acc)))
        rows = [row for row, arch in enumerate(self.archs)
                if steering.contains(self.space.from_string(arch))]
        if not rows:
            raise ValueError("no table entry satisfies the steering constraints")
        return self._entry(max(rows, key=lambda r: (self._acc[r], -r)))

    def fingerprint(self) -> str:
        """A hash of the rows and the selected accuracy column (what a search depends on):
        checkpoints use it to detect that a table changed under them."""
        h = hashlib.sha1()
        h.update("\n".join(self.archs).encode())
        h.update(self.dataset.encode())
        h.update(self._acc.tobytes())
        return h.hexdigest()[:16]

    # -- files ----------------------------------------------------------------------
    def write_csv(self, path: str | Path) -> Path:
        """Write every row and dataset column (fractions, exact float round trip)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        costs = [name for name in COST_COLUMNS if getattr(self, name) is not None]
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([ARCH_COLUMN, *self.accuracies, *costs])
            for row, arch in enumerate(self.archs):
                writer.writerow([arch, *(repr(float(a[row])) for a in self.accuracies.values()),
                                 *(_fmt_number(getattr(self, c)[row]) for c in costs)])
        return path

    @classmethod
    def from_csv(cls, path: str | Path, dataset: str, space: SearchSpace | None = None,
                 percent: bool | None = None, roots: Roots = None) -> BenchmarkTable:
        """Load a table (format in :mod:`supernet.tabular.parsing`); errors name the line.
        ``percent``: None detects the unit of ``dataset``'s column. ``roots``: the folders
        ``path`` must lie in (``None``: anywhere)."""
        space = space or SearchSpace.from_preset("nb201")
        columns = read_csv(path, dataset, space, percent=percent, roots=roots)
        return cls._from_columns(space, columns, dataset, percent=columns.percent, check=False)

    @classmethod
    def from_nats_bench(cls, path: str | Path | None, dataset: str,
                        space: SearchSpace | None = None, hp: str = "200",
                        metric: str | None = None) -> BenchmarkTable:
        """The NATS-Bench topology benchmark (see :func:`~supernet.tabular.parsing.read_nats_bench`)."""
        columns = read_nats_bench(path, dataset, hp=hp, metric=metric)
        return cls._from_columns(space or SearchSpace.from_preset("nb201"), columns, dataset)

    @classmethod
    def _from_columns(cls, space: SearchSpace, columns: TableColumns, dataset: str,
                      percent: bool = False, check: bool = True) -> BenchmarkTable:
        return cls(space, columns.archs, columns.accuracies, dataset, params=columns.params,
                   flops=columns.flops, latency_ms=columns.latency_ms, source=columns.source,
                   percent=percent, check=check)


def _costs(values: Sequence[float | None] | None, n: int, name: str,
           integer: bool) -> list[Any] | None:
    if values is None:
        return None
    values = list(values)
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} values for {n} architectures")
    if all(v is None for v in values):
        return None
    out: list[Any] = []
    for row, v in enumerate(values):
        if v is not None and (not math.isfinite(float(v)) or float(v) < 0):
            raise ValueError(f"row {row}, {name}: {v!r} is not a finite number >= 0")
        out.append(None if v is None else (int(round(float(v))) if integer else float(v)))
    return out


