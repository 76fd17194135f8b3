"""Zero-cost proxy cost: seconds per architecture of every proxy in ``supernet.proxies``.

Procedure: ``--n`` distinct random architectures of the ``nb201`` preset are built
fresh from one seed (``ProxyScorer.build``) and scored with every proxy on one
training minibatch (``--batch-size``) of the shared CIFAR-10 subset
(``../shared/data/cifar10_subset.npz``; when it is missing, 8x8 digits stand in and
the output says so). Each proxy is timed on its own, the model build separately;
the figure is the median over architectures. The ``params`` proxy, timed in the
same run, is the baseline: ``ratio_to_params`` says how many times more a proxy
costs than counting parameters. Torch runs single-threaded by default (``--threads``)
so that a shared CPU's contention does not swamp the numbers.

The run also reports Kendall's tau of each proxy against FLOPs (``tau_vs_flops``):
how much of a proxy's ranking is just size. With ``--table PATH``, a NAS-Bench-201
accuracy CSV in the format of ``supernet.tabular.parsing`` (``arch`` + one column per
dataset, loaded by ``BenchmarkTable.from_csv``), the architectures are drawn from the
table's rows instead and ``table.correlations`` holds each proxy's Spearman's rho and
Kendall's tau against the ``--table-dataset`` column: the real ranking quality.

Prints human-readable lines, then exactly one JSON object as the last line:
``{"seconds_per_arch", "ratio_to_params", "build_seconds", "tau_vs_flops", "table", "n", ...}``.

    python -m benchmarks.proxies --json [--n N] [--quick] [--device cpu|cuda]
        [--proxies synflow,naswot,...] [--table PATH [--table-dataset NAME] [--table-percent]]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from supernet.configs import check_proxies
from supernet.data import Dataset, load_dataset
from supernet.proxies import (
    PROXIES,
    ProxyScorer,
    proxy_batch,
    rank_correlations,
    sample_distinct,
    score,
)
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState
from supernet.tabular.table import BenchmarkTable

SHARED_NPZ = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10_subset.npz"
DEFAULT_N = 200
QUICK_N = 20


def load_data(path: Path, seed: int) -> tuple[Dataset, str | None]:
    """The shared CIFAR-10 subset, or digits with a note saying why."""
    if path.is_file():
        return load_dataset(f"npz:{path}", seed=seed), None
    return load_dataset("digits", seed=seed), f"{path} not found: 8x8 digits used instead"


def _timed(fn: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - started


def draw_archs(space: SearchSpace, n: int, seed: int, table: BenchmarkTable | None
               ) -> list[Arch]:
    """``n`` distinct random architectures; from the table's rows when there is one, so
    that every scored architecture has an accuracy even in a partial table."""
    rng = np.random.default_rng(seed)
    if table is None:
        return sample_distinct(SteeringState(space), n, rng)
    rows = rng.choice(len(table), min(n, len(table)), replace=False)
    return [space.from_string(table.archs[row]) for row in rows]


def table_report(table: BenchmarkTable | None, space: SearchSpace, archs: Sequence[Arch],
                 scores: dict[str, list[float]]) -> dict[str, Any] | None:
    if table is None:
        return None
    accuracy = [table.lookup(space.to_string(arch)) for arch in archs]
    return {"path": table.source, "dataset": table.dataset, "rows": len(table),
            "correlations": rank_correlations(scores, accuracy)}


def run(n: int, batch_size: int, seed: int, device: str, data_path: Path,
        proxies: Sequence[str] = tuple(PROXIES), table: BenchmarkTable | None = None
        ) -> dict[str, Any]:
    """Score and time ``proxies`` (plus the ``params`` baseline and ``flops``, always)."""
    started = time.perf_counter()
    names = list(dict.fromkeys([*check_proxies(proxies), "params", "flops"]))
    data, note = load_data(data_path, seed)
    space = SearchSpace.from_preset("nb201")
    scorer = ProxyScorer(space, data.in_channels, data.num_classes, seed=seed, device=device)
    x, y = (t.to(device) for t in proxy_batch(data, batch_size, seed))
    archs = draw_archs(space, n, seed, table)
    scores: dict[str, list[float]] = {name: [] for name in names}
    times: dict[str, list[float]] = {name: [] for name in names}
    build_times: list[float] = []
    for arch in archs:
        model, seconds = _timed(scorer.build, arch, data.image_size)
        build_times.append(seconds)
        for name in names:
            value, seconds = _timed(score, name, model, x, y)
            scores[name].append(value)
            times[name].append(seconds)
    median = {name: statistics.median(t) for name, t in times.items()}
    return {
        "seconds_per_arch": median,
        "ratio_to_params": {name: m / median["params"] for name, m in median.items()},
        "build_seconds": statistics.median(build_times),
        "tau_vs_flops": {name: c["kendall"] for name, c in
                         rank_correlations(scores, scores["flops"]).items()},
        "table": table_report(table, space, archs, scores),
        "nonfinite": {name: int((~np.isfinite(v)).sum()) for name, v in scores.items()},
        "n": len(archs),
        "preset": "nb201",
        "dataset": data.name,
        "image_size": data.image_size,
        "batch_size": len(y),
        "device": device,
        "threads": torch.get_num_threads(),
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 2),
        "note": note,
    }


def print_table(table: dict[str, Any] | None) -> None:
    if table is None:
        return
    print(f"rank correlation with {table['dataset']} accuracy of {table['path']}:")
    for name, corr in table["correlations"].items():
        cells = ["n/a" if corr[k] is None else f"{corr[k]:+.3f}" for k in ("spearman", "kendall")]
        print(f"  {name:10s} spearman {cells[0]:>6s}  kendall {cells[1]:>6s}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.proxies", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON object (always printed; kept for the Makefile)")
    parser.add_argument("--n", type=int, help=f"architectures to score (default {DEFAULT_N})")
    parser.add_argument("--quick", action="store_true", help=f"score {QUICK_N} architectures")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0, help="architectures, batch and init")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op CPU threads")
    parser.add_argument("--data", type=Path, default=SHARED_NPZ, help="the CIFAR-10 subset .npz")
    parser.add_argument("--proxies", default=",".join(PROXIES),
                        help="comma-separated proxies to time (params and flops always run)")
    parser.add_argument("--table", type=Path, help="NAS-Bench-201 accuracy CSV to correlate with")
    parser.add_argument("--table-dataset", default="cifar10", help="the table's accuracy column")
    parser.add_argument("--table-percent", action="store_true",
                        help="the table's accuracies are percentages (0-100), not fractions")
    args = parser.parse_args(argv)
    n = args.n if args.n is not None else QUICK_N if args.quick else DEFAULT_N
    if n < 2 or args.batch_size < 2:
        parser.error("--n and --batch-size must be at least 2")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda requested but no CUDA device is available")
    try:
        proxies = check_proxies(p.strip() for p in args.proxies.split(",") if p.strip())
        table = None if args.table is None else BenchmarkTable.from_csv(
            args.table, args.table_dataset, percent=args.table_percent)
    except ValueError as exc:
        parser.error(str(exc))
    if table is not None and len(table) < 2:
        parser.error(f"--table {args.table} has {len(table)} row; correlations need at least 2")
    torch.set_num_threads(args.threads)
    report = run(n, args.batch_size, args.seed, args.device, args.data, proxies, table)
    if report["note"]:
        print(f"NOTE: {report['note']}")
    print(f"{report['n']} nb201 architectures on {report['dataset']} "
          f"({report['image_size']}x{report['image_size']}, batch {report['batch_size']}), "
          f"{report['device']}, {report['threads']} thread(s); build "
          f"{report['build_seconds'] * 1e3:.1f} ms/arch")
    for name, seconds in report["seconds_per_arch"].items():
        tau = report["tau_vs_flops"][name]
        print(f"  {name:10s} {seconds * 1e3:9.2f} ms/arch  x{report['ratio_to_params'][name]:10.1f} "
              f"params  tau vs flops {'n/a' if tau is None else f'{tau:+.2f}'}")
    print_table(report["table"])
    print(f"total {report['seconds']:.1f} s")
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
