"""Tabular-benchmark mode: look accuracies up in a NAS-Bench-201 style table instead
of training a supernet.

A :class:`BenchmarkTable` maps every architecture of a search space (by its canonical
NAS-Bench-201 string) to its final accuracy on one dataset, so a search can be run,
steered and compared with the ground truth in seconds. :class:`TabularEngine` drives
the same :class:`~supernet.search.EvolutionarySearch`, steering state, fitness table
and archive as :class:`~supernet.engine.SearchEngine`, with lookups in place of
supernet training and evaluation.

Table format (CSV: UTF-8, comma-separated, one header line, one row per architecture):

| column | required | meaning |
|---|---|---|
| `arch` | yes | canonical NAS-Bench-201 string, exactly as `SearchSpace.to_string` writes it for the `nb201` preset (example below); each architecture at most once |
| one column per dataset, named after it (`cifar10`, `cifar100`, `ImageNet16-120`, ...) | at least one | accuracy as a **fraction in [0, 1]** (0.9437, not 94.37) |
| `params` | no | parameter count (a number >= 0, rounded to an integer; a cell may be empty) |
| `flops` | no | multiply-adds for one input sample (a number >= 0, rounded; may be empty) |
| `latency_ms` | no | latency in milliseconds (a number >= 0; may be empty) |

For example:

```
arch,cifar10,cifar100,params,flops
|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|,0.9376,0.7051,1128730,160137344
```

Accuracies are fractions, the unit every other part of NAS Navigator uses. A table in
percent (as NAS-Bench-201 publishes them) loads with `percent=True`, which accepts
[0, 100] and divides by 100; without it a value above 1 is rejected with that hint.
Every column other than `arch`, `params`, `flops` and `latency_ms` is an accuracy column,
so every one of its cells must hold a finite number (no free-text columns). Rows may come
in any order. `BenchmarkTable.from_csv(path, dataset)` reports the first problem with its
line number (the header is line 1): no `arch` column, no column for the dataset (the
available ones are listed), a malformed or non-canonical architecture string, a duplicate
architecture, a non-numeric, empty or out-of-range value, a row with the wrong number of
fields.

A table spec (`open_table`, the proposed `table_path` setting) is a CSV path,
`synthetic[:SEED]` (the generated table below) or `nats:[PATH]` (the official NATS-Bench
topology benchmark through the `nats_bench` package, if installed). `TabularEngine` needs
a table that covers every architecture of the search space.

In tabular mode a candidate's `accuracy` is the table's, its `loss` is `1 - accuracy` (an
error rate, not a cross-entropy), `params`/`flops`/`latency_ms` come from the table (or are
`None`), its `scores` hold `table_rank` (1 = best entry of the whole table) and
`table_percentile` (100 = best, 0 = worst), and there is no training: the training calls
are no-ops that report `"no training: tabular mode"`.

`synthetic_table(space, seed)` gives every architecture of a space an accuracy from a
random additive per-(edge, op) model plus noise, with a unique best entry, for tests and
demos; `write_csv(path)` saves any table in the format above.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from supernet.evaluate import CandidateRecord, best_distinct
from supernet.fitness import FitnessTable
from supernet.latency_budget import LatencyObjective
from supernet.search import EvolutionarySearch
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState
from supernet.train import save_atomic

ARCH_COLUMN = "arch"
COST_COLUMNS: tuple[str, ...] = ("params", "flops", "latency_ms")
NO_TRAINING = "no training: tabular mode"


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

_SYNTHETIC_RANGES: dict[str, tuple[float, float]] = {
    "cifar10": (0.10, 0.9437), "cifar10-valid": (0.10, 0.9161),
    "cifar100": (0.01, 0.7351), "ImageNet16-120": (0.0083, 0.4731),
}
_OP_PRIOR: dict[str, float] = {
    "none": -1.5, "skip_connect": -0.3, "nor_conv_1x1": 0.4, "nor_conv_3x3": 0.8,
    "avg_pool_3x3": -0.4, "nor_conv_5x5": 0.7, "max_pool_3x3": -0.4, "sep_conv_3x3": 0.6,
    "dil_conv_3x3": 0.5,
}


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
                 accuracies: Mapping[str, Sequence[float]], dataset: str,
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
                _check_arch(space, arch, f"row {row}")
            if arch in self._index:
                raise ValueError(f"row {row}: duplicate architecture {arch!r} "
                                 f"(first in row {self._index[arch]})")
            self._index[arch] = row
        n = len(self.archs)
        self.accuracies: dict[str, np.ndarray] = {}
        for name, values in accuracies.items():
            if name == ARCH_COLUMN or name in COST_COLUMNS:
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
            _check_arch(self.space, key, "lookup")
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

    # -- CSV ----------------------------------------------------------------------
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
                 percent: bool = False) -> BenchmarkTable:
        """Load a table (format in the module docstring); errors name the offending line."""
        space = space or SearchSpace.from_preset("nb201")
        path = Path(path)
        scale = 100.0 if percent else 1.0
        unit = "a percentage in [0, 100]" if percent else "a fraction in [0, 1]"
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read benchmark table {str(path)!r}: {exc}") from None
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise ValueError(f"{path}: line 1: the file is empty; expected a header line "
                             f"with an {ARCH_COLUMN!r} column and dataset columns")
        header = [h.strip() for h in header]
        seen_cols: set[str] = set()
        for name in header:
            if not name:
                raise ValueError(f"{path}: line 1: the header has an empty column name")
            if name in seen_cols:
                raise ValueError(f"{path}: line 1: column {name!r} appears twice in the header")
            seen_cols.add(name)
        if ARCH_COLUMN not in header:
            raise ValueError(f"{path}: line 1: the header has no {ARCH_COLUMN!r} column; "
                             f"columns found: {header}")
        data_cols = [h for h in header if h != ARCH_COLUMN and h not in COST_COLUMNS]
        if dataset not in data_cols:
            raise ValueError(f"{path}: line 1: no accuracy column for dataset {dataset!r}; "
                             f"available datasets: {data_cols}")
        cost_cols = [h for h in header if h in COST_COLUMNS]
        pos = {name: k for k, name in enumerate(header)}
        archs: list[str] = []
        lines: dict[str, int] = {}
        accs: dict[str, list[float]] = {name: [] for name in data_cols}
        costs: dict[str, list[float | None]] = {name: [] for name in cost_cols}
        for fields in reader:
            line = reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # blank line
            if len(fields) != len(header):
                raise ValueError(f"{path}: line {line}: {len(fields)} fields, but the header "
                                 f"has {len(header)} columns")
            arch = fields[pos[ARCH_COLUMN]].strip()
            try:
                _check_arch(space, arch, "")
            except ValueError as exc:
                raise ValueError(f"{path}: line {line}: malformed architecture string "
                                 f"{arch!r}: {exc}") from None
            if arch in lines:
                raise ValueError(f"{path}: line {line}: duplicate architecture {arch!r} "
                                 f"(first on line {lines[arch]})")
            lines[arch] = line
            archs.append(arch)
            for name in data_cols:
                value = _parse_number(fields[pos[name]], path, line, name, empty_ok=False)
                assert value is not None
                if not 0.0 <= value <= scale:
                    hint = (" (it looks like a percentage: load the table with percent=True)"
                            if not percent and 1.0 < value <= 100.0 else "")
                    raise ValueError(f"{path}: line {line}, column {name!r}: accuracy "
                                     f"{value!r} is not {unit}{hint}")
                accs[name].append(value / scale)
            for name in cost_cols:
                costs[name].append(_parse_number(fields[pos[name]], path, line, name,
                                                 empty_ok=True, nonnegative=True))
        if not archs:
            raise ValueError(f"{path}: the table has a header but no rows")
        return cls(space, archs, accs, dataset, params=costs.get("params"),
                   flops=costs.get("flops"), latency_ms=costs.get("latency_ms"),
                   source=str(path.resolve()), percent=percent, check=False)

    @classmethod
    def from_nats_bench(cls, path: str | Path | None, dataset: str,
                        space: SearchSpace | None = None, hp: str = "200",
                        metric: str | None = None) -> BenchmarkTable:
        """Read the NATS-Bench topology benchmark (``tss``) through the official API.

        Needs the ``nats_bench`` package (imported here, lazily) and its benchmark files at
        ``path`` (``None``: the API's default ``$TORCH_HOME`` location). ``metric`` is a key
        of ``get_more_info`` (default: ``valid-accuracy`` when the dataset has one, else
        ``test-accuracy``); percentages are converted to fractions; costs come from
        ``get_cost_info`` (MParams / MFLOPs scaled to counts, latency seconds to ms).
        """
        try:
            from nats_bench import create  # type: ignore[import-not-found]
        except ImportError:
            raise ValueError(
                "BenchmarkTable.from_nats_bench needs the 'nats_bench' package, which is not "
                "installed; install it (pip install nats_bench) and download the NATS-Bench "
                "topology files, or export the benchmark to a CSV and use from_csv"
            ) from None
        space = space or SearchSpace.from_preset("nb201")
        api = create(None if path is None else str(path), "tss", fast_mode=True, verbose=False)
        archs, accs, params, flops, latency = [], [], [], [], []
        for i in range(len(api)):
            info = api.get_more_info(i, dataset, hp=hp, is_random=False)
            key = metric or ("valid-accuracy" if "valid-accuracy" in info else "test-accuracy")
            if key not in info:
                raise ValueError(f"NATS-Bench has no {key!r} for {dataset!r}; keys: {sorted(info)}")
            cost = api.get_cost_info(i, dataset)
            archs.append(api.arch(i))
            accs.append(float(info[key]) / 100.0)
            params.append(float(cost["params"]) * 1e6)
            flops.append(float(cost["flops"]) * 1e6)
            latency.append(float(cost["latency"]) * 1000.0)
        return cls(space, archs, {dataset: accs}, dataset, params=params, flops=flops,
                   latency_ms=latency, source=f"nats:{'' if path is None else path}")


def _check_arch(space: SearchSpace, arch: str, where: str) -> None:
    """Raise ``ValueError`` unless ``arch`` is a canonical architecture string of ``space``."""
    prefix = f"{where}: " if where else ""
    if not isinstance(arch, str):
        raise ValueError(f"{prefix}architecture must be a string, got {type(arch).__name__}")
    try:
        canonical = space.to_string(space.from_string(arch))
    except ValueError as exc:
        raise ValueError(f"{prefix}{exc}") from None
    if canonical != arch:
        raise ValueError(f"{prefix}{arch!r} is not canonical; expected {canonical!r}")


def _parse_number(text: str, path: Path, line: int, column: str, empty_ok: bool,
                  nonnegative: bool = False) -> float | None:
    text = text.strip()
    if not text:
        if empty_ok:
            return None
        raise ValueError(f"{path}: line {line}, column {column!r}: empty; a number is required")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{path}: line {line}, column {column!r}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{path}: line {line}, column {column!r}: {text!r} is not a finite number")
    if nonnegative and value < 0:
        raise ValueError(f"{path}: line {line}, column {column!r}: {value!r} is negative")
    return value


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


# -- synthetic tables -------------------------------------------------------------------
def _dataset_seed(seed: int, dataset: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(dataset.encode())])


def synthetic_table(space: SearchSpace, seed: int = 0, datasets: Sequence[str] = ("cifar10",),
                    noise: float = 0.15, costs: bool = True,
                    max_size: int = 200_000) -> BenchmarkTable:
    """A table for every architecture of ``space`` from an additive model plus noise.

    score(arch) = sum over choice points of effect[cp][op] + noise; the effects are an op
    prior (convolutions good, ``none`` bad) plus N(0, 0.6) per (choice point, op) drawn from
    ``seed``, plus N(0, 0.2) per dataset; the noise is N(0, ``noise``) per architecture and
    dataset. Scores map linearly onto a NAS-Bench-201-like accuracy range per dataset, so
    each dataset column has exactly one best entry (at the top of its range). A dataset's
    column depends only on ``seed`` and its name, not on which other datasets are asked for.
    With ``costs``, params and FLOPs come from the repository's supernet cost model for the
    first dataset's input shape (a model is built once; 0.2 s for ``nb201``), and a latency
    column is 0.3 ms plus 1 ms per 25 MFLOPs, times a log-normal (sigma 0.05) per entry.
    """
    if not datasets:
        raise ValueError("synthetic_table needs at least one dataset name")
    size = space.size()
    if size > max_size:
        raise ValueError(f"the space has {size:,} architectures; synthetic tables enumerate "
                         f"every one, so at most {max_size:,} are allowed")
    rng = np.random.default_rng(seed)
    shared = [np.array([_OP_PRIOR.get(op, 0.0) for op in cp.candidates])
              + rng.normal(0.0, 0.6, len(cp.candidates)) for cp in space]
    # mixed-radix digits of every index (choice point 0 most significant, as SearchSpace.index)
    digits = np.zeros((size, len(space)), dtype=np.int64)
    rest = np.arange(size)
    for k in range(len(space) - 1, -1, -1):
        n_ops = len(space.choice_points[k].candidates)
        rest, digits[:, k] = np.divmod(rest, n_ops)
    accuracies: dict[str, np.ndarray] = {}
    for name in datasets:
        drng = _dataset_seed(seed, name)
        score = drng.normal(0.0, noise, size)
        for k, effect in enumerate(shared):
            score += (effect + drng.normal(0.0, 0.2, effect.size))[digits[:, k]]
        lo, hi = _SYNTHETIC_RANGES.get(name, (0.10, 0.90))
        span = score.max() - score.min()
        acc = lo + (hi - lo) * (score - score.min()) / (span if span > 0 else 1.0)
        if size > 1 and int(np.sum(acc == acc.max())) != 1:  # pragma: no cover - measure zero
            raise RuntimeError(f"synthetic dataset {name!r} has a tied best entry; change the seed")
        accuracies[name] = acc
    params = flops = latency = None
    if costs:
        params, flops = _additive_costs(space, digits, dataset_info(datasets[0]))
        jitter = np.exp(np.random.default_rng(seed + 1).normal(0.0, 0.05, size))
        latency = ((0.3 + np.asarray(flops, dtype=float) / 25e6) * jitter).tolist()
    return BenchmarkTable(space, _arch_strings(space, digits), accuracies, datasets[0],
                          params=params, flops=flops, latency_ms=latency,
                          source=f"synthetic:{seed}", check=False)


def _arch_strings(space: SearchSpace, digits: np.ndarray) -> list[str]:
    """``space.to_string`` of every row of op indices, formatted in bulk."""
    tokens = [[f"{op}~{src}" for op in cp.candidates]
              for cp, (src, _dst) in zip(space, space.edges)]
    groups: list[list[int]] = []
    for k, (_src, dst) in enumerate(space.edges):
        if dst > len(groups):
            groups.append([])
        groups[dst - 1].append(k)
    out = []
    for row in digits.tolist():
        out.append("+".join("|" + "|".join(tokens[k][row[k]] for k in group) + "|"
                            for group in groups))
    return out


def _additive_costs(space: SearchSpace, digits: np.ndarray,
                    info: DatasetInfo) -> tuple[list[int], list[int]]:
    """Params and FLOPs of every row from the supernet cost model, which is a fixed part
    plus one term per (choice point, op) (see ``supernet.model``): profiled once, summed."""
    from supernet.model import Supernet

    net = Supernet(space, info.in_channels, info.num_classes, info.image_size)
    base = tuple(cp.candidates[0] for cp in space)
    results = []
    for cost in (net.params, net.flops):
        at_base = cost(base)
        delta = [np.array([cost(base[:k] + (op,) + base[k + 1:]) - at_base
                           for op in cp.candidates], dtype=np.int64)
                 for k, cp in enumerate(space)]
        total = np.full(len(digits), at_base, dtype=np.int64)
        for k, d in enumerate(delta):
            total += d[digits[:, k]]
        results.append(total.tolist())
    return results[0], results[1]


def open_table(spec: str, dataset: str, space: SearchSpace | None = None,
               percent: bool = False) -> BenchmarkTable:
    """A table from a spec: ``synthetic[:SEED]``, ``nats:[PATH]`` or a CSV path."""
    space = space or SearchSpace.from_preset("nb201")
    if not isinstance(spec, str) or not spec:
        raise ValueError("a table spec must be a CSV path, 'synthetic[:SEED]' or 'nats:[PATH]'")
    if spec == "synthetic" or spec.startswith("synthetic:"):
        seed_text = spec.partition(":")[2] or "0"
        try:
            seed = int(seed_text)
        except ValueError:
            raise ValueError(f"table spec {spec!r}: the seed must be an integer") from None
        return synthetic_table(space, seed, datasets=(dataset,))
    if spec.startswith("nats:"):
        return BenchmarkTable.from_nats_bench(spec[5:] or None, dataset, space)
    return BenchmarkTable.from_csv(spec, dataset, space, percent=percent)


# -- the engine ---------------------------------------------------------------------------
class _NoTrainer:
    """Stands in for :class:`supernet.train.Trainer`: there is nothing to train."""

    note = NO_TRAINING

    def __init__(self) -> None:
        self.epoch = 0
        self.epochs = 0
        self.step_in_epoch = 0
        self.global_step = 0
        self.steps_per_epoch = 0

    @property
    def done(self) -> bool:
        return True

    def steps_remaining(self) -> int:
        return 0

    def train_steps(self, n: int) -> list[float]:
        return []

    def train_epoch(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "steps": 0, "note": NO_TRAINING}

    def extend(self, epochs: int) -> str:
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
            raise ValueError(f"fine-tune epochs must be a positive integer, got {epochs!r}")
        return NO_TRAINING


class TabularEngine:
    """A :class:`~supernet.engine.SearchEngine` stand-in that looks accuracies up in a table.

    Same attributes the runtime worker uses: ``space``, ``steering``, ``search``,
    ``fitness``, ``archive``, ``trainer`` (a no-op: ``done`` is always true, ``epoch`` 0),
    ``data`` (name and input shape only: no tensors), ``supernet`` (``None``), ``device``
    (CPU), ``train_steps``/``train_epoch``/``extend_training``/``finetune`` (no-ops),
    ``search_generation``, ``leaderboard``, ``archive_as_dicts``, ``state_dict``/``save``/
    ``load``. ``config`` is a :class:`~supernet.engine.EngineConfig`; its ``template`` and
    ``search`` (``search.seed`` makes runs reproducible) apply, training/eval/dataset
    settings are ignored.

    The table comes from ``table`` (a :class:`BenchmarkTable` or a spec for
    :func:`open_table`) or else from ``config.table_path`` / ``config.table_dataset`` /
    ``config.table_percent`` when the config has them. It must cover every architecture
    of the space.
    """

    mode = "tabular"

    def __init__(self, config: Any, callback: Callable[[Any], None] | None = None,
                 table: BenchmarkTable | str | None = None, dataset: str | None = None,
                 percent: bool | None = None) -> None:
        self.config = config
        self.callback = callback  # never called: there is no training progress
        self.space: SearchSpace = config.space()
        percent = bool(config.table_percent if percent is None else percent)
        if table is None:
            table = config.table_path
            if not table:
                raise ValueError("tabular mode needs a benchmark table: set table_path to a CSV "
                                 "file, 'synthetic[:SEED]' or 'nats:[PATH]'")
        if isinstance(table, str):
            table = open_table(table, dataset or config.table_dataset, self.space, percent=percent)
        elif dataset and table.dataset != dataset:
            table = table.with_dataset(dataset)
        self.table: BenchmarkTable = table
        self._check_coverage()
        info = dataset_info(table.dataset)
        self.data = DatasetInfo(f"table {table.dataset}", info.in_channels, info.num_classes,
                                info.image_size)
        self.supernet = None
        self.trainer = _NoTrainer()
        self.steering = SteeringState(self.space)
        self.search = EvolutionarySearch(self.space, self.steering, config.search)
        self.fitness = FitnessTable(self.space)
        self.archive: list[CandidateRecord] = []
        self.latency = LatencyObjective(self.space)
        self.search.constraint = self.latency.allows

    def _check_coverage(self) -> None:
        table = self.table
        if table.space != self.space:
            for arch in table.archs:  # every row must at least parse in this space
                _check_arch(self.space, arch, "benchmark table")
        if len(table) < self.space.size():
            missing = next(self.space.to_string(a) for a in self.space.all_archs()
                           if self.space.to_string(a) not in table)
            raise ValueError(f"the benchmark table covers {len(table):,} of the "
                             f"{self.space.size():,} architectures of this space "
                             f"(e.g. {missing!r} is missing); tabular mode needs all of them")

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    # -- training: nothing to do -----------------------------------------------------
    def train_steps(self, n: int) -> list[float]:
        return self.trainer.train_steps(n)

    def train_epoch(self) -> dict[str, Any]:
        return self.trainer.train_epoch()

    def extend_training(self, epochs: int) -> str:
        """Validates ``epochs`` like the supernet engine, then does nothing."""
        return self.trainer.extend(epochs)

    def finetune(self, epochs: int) -> list[dict[str, Any]]:
        self.trainer.extend(epochs)
        return []

    # -- search ---------------------------------------------------------------------------
    def _record(self, arch: Arch, parent: str | None, generation: int) -> CandidateRecord:
        text = self.space.to_string(arch)
        entry = self.table.entry(text)
        rank, percentile = self.table.true_rank(text)
        return CandidateRecord(
            arch=text, index=self.space.index(arch), accuracy=entry.accuracy,
            loss=1.0 - entry.accuracy, params=entry.params, flops=entry.flops,  # type: ignore[arg-type]
            latency_ms=entry.latency_ms, generation=generation, parent=parent,
            scores={"table_rank": float(rank), "table_percentile": percentile},
        )

    def search_generation(self) -> list[CandidateRecord]:
        """Propose (inside the steering constraints), look up, record: one generation."""
        proposals = self.search.propose()
        generation = self.search.generation
        records = [self._record(arch, parent, generation) for arch, parent in proposals]
        self.search.tell(records)
        self.fitness.update(records)
        self.latency.observe(records)
        self.archive.extend(records)
        return records

    def host_latency(self, arch: Arch) -> float:
        """The table's latency of ``arch`` (a table without a latency column has none)."""
        latency = self.table.entry(arch).latency_ms
        if latency is None:
            raise ValueError("this benchmark table has no latency_ms column to compare devices with")
        return latency

    def leaderboard(self, k: int = 10) -> list[CandidateRecord]:
        """Best distinct architectures seen, by table accuracy."""
        return best_distinct(self.archive, k)

    def archive_as_dicts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.archive]

    # -- checkpoints -----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        table = self.table
        return {"mode": self.mode, "config": self.config.to_dict(),
                "table": {"source": table.source, "dataset": table.dataset,
                          "percent": table.percent, "fingerprint": table.fingerprint(),
                          "size": len(table)},
                "steering": self.steering.to_dict(), "search": self.search.state_dict(),
                "latency": self.latency.state_dict(),
                "archive": [r.to_dict() for r in self.archive]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("mode") != self.mode:
            raise ValueError("this checkpoint was not written by a tabular-mode engine")
        saved = state["table"]
        if saved["fingerprint"] != self.table.fingerprint():
            raise ValueError(f"the benchmark table differs from the one the checkpoint was "
                             f"made with (source {saved['source']!r}, dataset "
                             f"{saved['dataset']!r}, {saved['size']:,} entries)")
        restored = SteeringState.from_dict(state["steering"], self.space)
        self.steering.pruned, self.steering.locked = restored.pruned, restored.locked
        self.steering.weights, self.steering.focus = restored.weights, restored.focus
        self.search.load_state_dict(state["search"])
        self.latency.load_state_dict(state["latency"])
        self.archive = [CandidateRecord.from_dict(r) for r in state["archive"]]
        self.fitness = FitnessTable(self.space)
        self.fitness.update(self.archive)

    def save(self, path: str | Path) -> Path:
        return save_atomic(self.state_dict(), path)

    @classmethod
    def load(cls, path: str | Path, callback: Callable[[Any], None] | None = None,
             table: BenchmarkTable | None = None) -> TabularEngine:
        """Resume from ``save``; the table is re-opened from its recorded source unless given."""
        from supernet.engine import EngineConfig

        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - unpickling reports many kinds of error
            raise ValueError(f"cannot read tabular-mode checkpoint {path}: {exc}") from None
        if not isinstance(state, dict) or state.get("mode") != cls.mode:
            raise ValueError(f"{path} is not a tabular-mode checkpoint")
        saved = state["table"]
        if table is None:
            if not saved["source"]:
                raise ValueError("the checkpoint's table has no recorded source; pass table=")
            source = saved["source"]
        else:
            source = table
        engine = cls(EngineConfig.from_dict(state["config"]), callback, table=source,
                     dataset=saved["dataset"], percent=saved["percent"])
        engine.load_state_dict(state)
        return engine


def open_engine(config: Any, callback: Callable[[Any], None] | None = None,
                checkpoint: str | Path | None = None) -> Any:
    """A :class:`TabularEngine` when ``config.mode == "tabular"``, else a ``SearchEngine``;
    resumed from ``checkpoint`` when that file exists."""
    from supernet.engine import SearchEngine

    cls: Any = TabularEngine if config.mode == "tabular" else SearchEngine
    if checkpoint is not None and Path(checkpoint).exists():
        return cls.load(checkpoint, callback)
    return cls(config, callback)
