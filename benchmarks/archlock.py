"""Does ArchLock lock? Target-task accuracy given up against source accuracy kept, on a table.

Tabular mode (no training): for each seed, a :class:`~supernet.tabular.engine.TabularEngine`
with the ArchLock objective (``EngineConfig.archlock``: ``--source`` is the session's column,
``--target`` the column locked against, relative constraint of ``--tolerance`` points)
searches ``--evaluations`` architectures (default 1000: the first ``--source-generations``
generations on the source alone, then towards low target accuracy among the feasible). Its
pick is scored against the TABLE's best source architecture (ground truth, which the search
never sees):

- ``source_loss``: source accuracy points below the table's best source architecture;
- ``target_drop_pct``: relative drop of target accuracy vs that architecture's target accuracy;
- ``table_optimum_drop_pct``: the best drop the table allows under the same tolerance.

Baselines in the same run, same budget and seeds: ``source_only`` (plain evolution on the
source; its best architecture is what an owner without ArchLock ships), ``random`` (random
search, same constraint and pick) and ``fitness_pick`` (ArchLock's own rank-difference
fitness, ``pick="fitness"``, as the hand-over rule), ``unknown_target`` (ArchLock-TU: the
target column held out of the table the search gets, so it locks against simulated targets
learnt from the remaining columns - with a two-column file, the source alone). Medians over seeds; per-seed figures in
``by_seed``. Any two accuracy columns of the file can be named, in either order, or one
column twice (the drop is then bounded by the tolerance itself).

Prints one line per seed, then exactly one JSON object as the last line::

    {"source_loss", "target_drop_pct", "table_optimum_drop_pct", "evaluations", "ratio",
     "baselines": {...}, "by_seed": [...], ...}

    python -m benchmarks.archlock --json --table PATH --source COL --target COL --tolerance 2
"""

from __future__ import annotations

import argparse
import json
import time
from statistics import median
from typing import Any

import numpy as np

from supernet.archlock import ArchLockConfig
from supernet.configs import EngineConfig
from supernet.search import SearchConfig
from supernet.tabular.engine import TabularEngine
from supernet.tabular.specs import open_table
from supernet.tabular.table import BenchmarkTable

DEFAULT_TABLE = "../shared/data/nb201_cifar.csv"
DEFAULT_SOURCE = "CIFAR10TestAccuracy200Epochs"
DEFAULT_TARGET = "CIFAR100TestAccuracy200Epochs"
POPULATION = 20


def table_optimum(table: BenchmarkTable, source: str, target: str,
                  tolerance: float) -> tuple[int, float]:
    """(row of the best source architecture, best relative target drop in percent among the
    rows within ``tolerance`` points of it)."""
    s, t = table.accuracies[source], table.accuracies[target]
    best = int(np.argmax(s))
    ok = s >= s[best] - tolerance / 100.0 - 1e-12
    return best, float(100.0 * (t[best] - t[ok].min()) / t[best])


def held_out(table: BenchmarkTable, target: str) -> BenchmarkTable:
    """``table`` without the ``target`` column: what the unknown-target arm may see."""
    return BenchmarkTable(table.space, table.archs,
                          {k: v for k, v in table.accuracies.items() if k != target},
                          table.dataset, table.params, table.flops, table.latency_ms,
                          source=table.source, percent=table.percent, check=False)


def run(table: BenchmarkTable, source: str, target: str, tolerance: float, seed: int,
        evaluations: int, strategy: str, pick: str, source_generations: int,
        locking: bool = True, unknown: bool = False) -> dict[str, Any]:
    """One seeded search; the figures of its pick against the table's best source arch."""
    archlock = ArchLockConfig(targets=[] if unknown else [target], unknown_target=unknown,
                              tolerance=tolerance, pick=pick,
                              source_generations=source_generations)
    config = EngineConfig(template="nb201", mode="tabular", table_path=table.source or "table",
                          table_dataset=source, measure_latency=False,
                          search=SearchConfig(strategy=strategy, population=POPULATION, seed=seed),
                          archlock=archlock if locking else None)
    seen = held_out(table.with_dataset(source), target) if unknown and source != target else table
    engine = TabularEngine(config, table=seen)
    while len(engine.archive) < evaluations:
        engine.search_generation()
    if locking:
        assert engine.archlock is not None
        chosen = engine.archlock.picked(engine.archive)
        target_acc = table.with_dataset(target).lookup(chosen.arch)
    else:
        chosen = max(engine.archive, key=lambda r: r.accuracy)
        target_acc = table.with_dataset(target).lookup(chosen.arch)
    s, t = table.accuracies[source], table.accuracies[target]
    best = int(np.argmax(s))
    return {"seed": seed, "arch": chosen.arch, "evaluations": len(engine.archive),
            "source_loss": 100.0 * float(s[best] - chosen.accuracy),
            "target_drop_pct": 100.0 * float(t[best] - target_acc) / float(t[best]),
            "source_acc": 100.0 * chosen.accuracy, "target_acc": 100.0 * target_acc}


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {key: median(r[key] for r in runs)
            for key in ("source_loss", "target_drop_pct", "evaluations")}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", default=DEFAULT_TABLE)
    parser.add_argument("--source", "--column", dest="source", default=DEFAULT_SOURCE,
                        help="the owner's accuracy column (--column: the same)")
    parser.add_argument("--target", default=DEFAULT_TARGET, help="the column locked against")
    parser.add_argument("--tolerance", type=float, default=2.0, help="source points given up")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--evaluations", type=int, default=1000)
    parser.add_argument("--source-generations", type=int,
                        default=ArchLockConfig().source_generations,
                        help="generations on the source alone first (the objective's default)")
    parser.add_argument("--json", action="store_true", help="(the JSON line is always printed)")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.evaluations < POPULATION:
        parser.error(f"--seeds must be >= 1 and --evaluations >= {POPULATION}")
    start = time.perf_counter()
    table = open_table(args.table, args.source)
    for column in (args.source, args.target):
        if column not in table.datasets:
            parser.error(f"{column!r} is not an accuracy column of {args.table}: {table.datasets}")
    _, optimum = table_optimum(table, args.source, args.target, args.tolerance)
    common = (table, args.source, args.target, args.tolerance)
    arms = {"archlock": ("evolution", "lowest_target", True, False),
            "fitness_pick": ("evolution", "fitness", True, False),
            "random": ("random", "lowest_target", True, False),
            "source_only": ("evolution", "lowest_target", False, False),
            "unknown_target": ("evolution", "lowest_target", True, True)}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in arms}
    for seed in range(args.seeds):
        for name, (strategy, pick, locking, unknown) in arms.items():
            runs[name].append(run(*common, seed, args.evaluations, strategy, pick,
                                  args.source_generations, locking, unknown))
        mine = runs["archlock"][-1]
        print(f"seed {seed}: source loss {mine['source_loss']:.2f} points, target drop "
              f"{mine['target_drop_pct']:.2f}% (table optimum {optimum:.2f}%)")
    headline = summary(runs["archlock"])
    result: dict[str, Any] = {
        **headline, "table_optimum_drop_pct": optimum,
        "ratio": headline["target_drop_pct"] / optimum if optimum > 0 else None,
        "meets_target": bool(headline["source_loss"] <= args.tolerance + 1e-9 and (
            optimum <= 0 or headline["target_drop_pct"] >= 0.8 * optimum)),
        "table": args.table, "source": args.source, "target": args.target,
        "tolerance": args.tolerance, "seeds": args.seeds, "budget": args.evaluations,
        "baselines": {name: summary(runs[name]) for name in arms if name != "archlock"},
        "by_seed": runs["archlock"],
        "seconds": round(time.perf_counter() - start, 1)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
