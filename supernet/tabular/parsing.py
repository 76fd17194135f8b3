"""Reading benchmark tables: the CSV format, and NATS-Bench through its official API.

Table format (CSV: UTF-8, comma-separated, one header line, one row per architecture):

| column | required | meaning |
|---|---|---|
| `arch` (or `ArchitectureString`, as NAS-Bench-201 / NATS exports name it) | yes | canonical NAS-Bench-201 string, exactly as `SearchSpace.to_string` writes it for the `nb201` preset (example below); each architecture at most once |
| one column per dataset, named after it (`cifar10`, `cifar100`, `CIFAR10TestAccuracy200Epochs`, ...) | at least one | accuracy as a fraction in [0, 1] (0.9437) or a percentage (94.37) |
| `params` | no | parameter count (a number >= 0, rounded to an integer; a cell may be empty) |
| `flops` | no | multiply-adds for one input sample (a number >= 0, rounded; may be empty) |
| `latency_ms` | no | latency in milliseconds (a number >= 0; may be empty) |

For example:

```
arch,cifar10,cifar100,params,flops
|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|,0.9376,0.7051,1128730,160137344
```

Accuracies become fractions, the unit every other part of NAS Navigator uses. The unit is
detected from the selected column (`percent=None`, the default: percent when a value
exceeds 1, as NAS-Bench-201 publishes them); `percent=True` / `False` insist on one (with
`False` a value above 1 is rejected with a hint). The selected column must hold a finite
number in every row; any other column that is not a valid accuracy column (an index, a
name, a seed) is ignored, so NATS-style exports load as they are. Rows may come in any
order. `BenchmarkTable.from_csv(path, dataset)` reports the first problem with its
line number (the header is line 1): no `arch` column, no column for the dataset (the
available ones are listed), a malformed or non-canonical architecture string, a duplicate
architecture, a non-numeric, empty or out-of-range value, a row with the wrong number of
fields. A table path is user input that may name any file the worker can read, so nothing
of a file is shown until its header proves it a benchmark table; a binary, oversized or
non-regular file is refused before parsing, and ``roots`` confines the path.

The readers return plain columns (:class:`TableColumns`); ``BenchmarkTable`` builds the
table from them, so reading a file never depends on the table class.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from supernet.csv_cells import clipped, parse_number, shown_cell
from supernet.paths import Roots, path_guard
from supernet.space import SearchSpace

ARCH_COLUMN = "arch"
ARCH_COLUMNS: tuple[str, ...] = (ARCH_COLUMN, "ArchitectureString")
"""Names the architecture column may have: ours, and the NAS-Bench-201 / NATS exports' own."""
COST_COLUMNS: tuple[str, ...] = ("params", "flops", "latency_ms")
KNOWN_DATASET_COLUMNS: tuple[str, ...] = ("cifar10", "cifar10-valid", "cifar100",
                                          "ImageNet16-120")
"""The NAS-Bench-201 datasets (any other column name is a dataset too)."""


@dataclass
class TableColumns:
    """The rows of a table as read, before validation against a space."""

    archs: list[str]
    accuracies: dict[str, list[float]]
    source: str
    params: list[float | None] | None = None
    flops: list[float | None] | None = None
    latency_ms: list[float | None] | None = None
    percent: bool = False
    """Whether the selected accuracy column was in percent (converted to fractions)."""


MAX_TABLE_BYTES = 64 * 2**20
"""Largest CSV table read (NAS-Bench-201 with every column: about 3 MB)."""

_COLUMN_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,40}$")


def read_csv(path: str | Path, dataset: str, space: SearchSpace,
             percent: bool | None = None, roots: Roots = None) -> TableColumns:
    """The columns of a CSV table (format in the module docstring); errors name the line.

    The file is user-named, so it may be anything the worker can read (a key, an
    environment): errors show nothing of it until its header proves it a benchmark table
    (an architecture column and one for ``dataset``); from then on they show the offending
    cell. ``percent``: True / False say the unit; None detects it from the ``dataset``
    column (percent when a value exceeds 1). ``roots``: the folders the file must lie in
    (:func:`supernet.paths.check_under_roots`).
    """
    path = Path(path)
    text = _read_text(path_guard(roots)(path), path)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
    except csv.Error:
        header = [""]  # not CSV at all: reported like a header without an arch column
    if header is None or not any(h.strip() for h in header):
        raise ValueError(f"{path}: line 1: the file is empty; expected a header line "
                         f"with an {ARCH_COLUMN!r} column and dataset columns")
    header = [h.strip() for h in header]
    arch_column = next((name for name in ARCH_COLUMNS if name in header), None)
    if arch_column is None:
        found = f"columns found: {header}" if _looks_like_header(header) else (
            "the first line is no CSV header of a benchmark table")
        raise ValueError(f"{path}: line 1: the header has no {ARCH_COLUMN!r} column; {found}; "
                         f"expected a header such as '{ARCH_COLUMN},cifar10'")
    seen_cols: set[str] = set()
    for name in header:
        if not name:
            raise ValueError(f"{path}: line 1: the header has an empty column name")
        if name in seen_cols:
            raise ValueError(f"{path}: line 1: column {shown_cell(name)} appears twice in the header")
        seen_cols.add(name)
    data_cols = [h for h in header if h not in ARCH_COLUMNS and h not in COST_COLUMNS]
    if dataset not in data_cols:
        found = (f"available datasets: {data_cols}" if _looks_like_header(header)
                 else "the header names no dataset of the table format")
        raise ValueError(f"{path}: line 1: no accuracy column for dataset {dataset!r}; {found}")
    cost_cols = [h for h in header if h in COST_COLUMNS]
    pos = {name: k for k, name in enumerate(header)}
    archs: list[str] = []
    lines: dict[str, int] = {}
    line_numbers: list[int] = []
    raw: dict[str, list[str]] = {name: [] for name in data_cols}
    costs: dict[str, list[float | None]] = {name: [] for name in cost_cols}
    try:
        for fields in reader:
            line = reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # blank line
            if len(fields) != len(header):
                raise ValueError(f"{path}: line {line}: {len(fields)} fields, but the header "
                                 f"has {len(header)} columns")
            arch = fields[pos[arch_column]].strip()
            try:
                check_arch(space, arch, "")
            except ValueError as exc:
                raise ValueError(f"{path}: line {line}: malformed architecture string "
                                 f"{shown_cell(arch)}: {clipped(str(exc))}") from None
            if arch in lines:
                raise ValueError(f"{path}: line {line}: duplicate architecture {shown_cell(arch)} "
                                 f"(first on line {lines[arch]})")
            lines[arch] = line
            line_numbers.append(line)
            archs.append(arch)
            value = fields[pos[dataset]]
            where = f"{path}: line {line}, column {dataset!r}: "
            _accuracy_cell(value, where)  # in file order, so the first bad cell is named
            for name in data_cols:
                raw[name].append(fields[pos[name]])
            for name in cost_cols:
                costs[name].append(_cost_cell(fields[pos[name]],
                                              f"{path}: line {line}, column {name!r}: "))
    except csv.Error:
        raise ValueError(f"{path}: line {reader.line_num}: not valid CSV") from None
    if not archs:
        raise ValueError(f"{path}: the table has a header but no rows")
    selected, detected = _accuracy_column(raw[dataset], percent, f"{path}: ", dataset,
                                          line_numbers)
    accs: dict[str, list[float]] = {dataset: selected}
    for name in data_cols:
        if name != dataset:
            try:
                accs[name] = _accuracy_column(raw[name], percent, "", name, line_numbers)[0]
            except ValueError:
                continue  # another kind of column (an index, a name, a seed): ignored
    accs = {name: accs[name] for name in data_cols if name in accs}  # header order
    return TableColumns(archs, accs, source=str(path.resolve()), params=costs.get("params"),
                        flops=costs.get("flops"), latency_ms=costs.get("latency_ms"),
                        percent=detected)


def _accuracy_column(cells: list[str], percent: bool | None, where: str, name: str,
                     line_numbers: list[int]) -> tuple[list[float], bool]:
    """The fractions of one accuracy column, and whether it was in percent: ``percent``
    None detects the unit (a value above 1 means percent)."""
    values = [_accuracy_cell(text, f"{where}line {line}, column {name!r}: ")
              for text, line in zip(cells, line_numbers)]
    if percent is None:
        percent = max(values) > 1.0
    scale = 100.0 if percent else 1.0
    unit = "a percentage in [0, 100]" if percent else "a fraction in [0, 1]"
    for value, line in zip(values, line_numbers):
        if not 0.0 <= value <= scale:
            hint = (" (it looks like a percentage: load the table with percent=True)"
                    if not percent and 1.0 < value <= 100.0 else "")
            raise ValueError(f"{where}line {line}, column {name!r}: accuracy "
                             f"{value!r} is not {unit}{hint}")
    return [value / scale for value in values], percent


def _read_text(path: Path, shown: Path) -> str:
    """The file as text; errors name ``shown`` (the path as given) and what was expected,
    never a byte of the file."""
    where = f"cannot read benchmark table {str(shown)!r}"
    try:
        if not path.is_file():
            raise ValueError(f"{where}: no such file (a CSV file was expected)")
        with open(path, "rb") as fh:
            data = fh.read(MAX_TABLE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"{where}: {exc.strerror or type(exc).__name__}") from None
    if len(data) > MAX_TABLE_BYTES:
        raise ValueError(f"{where}: the file is larger than {MAX_TABLE_BYTES // 2**20} MiB "
                         "(MAX_TABLE_BYTES); a benchmark table is a few MB")
    not_text = ValueError(f"{where}: it is not a UTF-8 text file; a CSV table was expected")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise not_text from None
    if "\0" in text:  # binary, or /proc/*/environ
        raise not_text
    return text


def _looks_like_header(header: list[str]) -> bool:
    """Whether a first line reads as the column names of a table (then it may be shown):
    short names, and at least one a dataset or cost column of the table format."""
    known = set(KNOWN_DATASET_COLUMNS) | set(COST_COLUMNS)
    return (len(header) >= 2 and all(_COLUMN_NAME.match(h) for h in header)
            and any(h in known for h in header))


def read_nats_bench(path: str | Path | None, dataset: str, hp: str = "200",
                    metric: str | None = None) -> TableColumns:
    """The NATS-Bench topology benchmark (``tss``) through the official API.

    Needs the ``nats_bench`` package (imported here, lazily) and its benchmark files at
    ``path`` (``None``: the API's default ``$TORCH_HOME`` location). ``metric`` is a key
    of ``get_more_info`` (default: ``valid-accuracy`` when the dataset has one, else
    ``test-accuracy``); percentages are converted to fractions; costs come from
    ``get_cost_info`` (MParams / MFLOPs scaled to counts, latency seconds to ms).
    """
    try:
        from nats_bench import create
    except ImportError:
        raise ValueError(
            "BenchmarkTable.from_nats_bench needs the 'nats_bench' package, which is not "
            "installed; install it (pip install nats_bench) and download the NATS-Bench "
            "topology files, or export the benchmark to a CSV and use from_csv"
        ) from None
    api = create(None if path is None else str(path), "tss", fast_mode=True, verbose=False)
    archs: list[str] = []
    accs: list[float] = []
    params: list[float | None] = []
    flops: list[float | None] = []
    latency: list[float | None] = []
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
    return TableColumns(archs, {dataset: accs}, source=f"nats:{'' if path is None else path}",
                        params=params, flops=flops, latency_ms=latency)


def check_arch(space: SearchSpace, arch: str, where: str) -> None:
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


def _accuracy_cell(text: str, where: str) -> float:
    if not text.strip():
        raise ValueError(f"{where}empty; a number is required")
    return parse_number(text, where)


def _cost_cell(text: str, where: str) -> float | None:
    """A cost, or None for an empty cell (costs are optional per row)."""
    return parse_number(text, where, nonnegative=True) if text.strip() else None
