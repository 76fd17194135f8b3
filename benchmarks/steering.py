"""Does steering help? A simulated analyst who accepts every advice, against the search alone.

Tabular mode (accuracies looked up in a benchmark table, no training): for each seed, four
strategies search the same table for ``--budget`` evaluations (default 1000):

- ``random`` and ``evolution``: the search alone (project defaults: population 20);
- ``random+advisor`` and ``evolution+advisor``: the same, with the advisor auto-applied
  after every generation through the worker's own command path: a
  :class:`navigator.advisor.SessionAdvisor` with auto-apply on turns each advice into the
  command dict the UI's Accept button sends, which ``parse_command`` checks and
  :meth:`navigator.worker.SessionWorker.handle` applies (acknowledged or rejected on a
  memory bus) exactly as it does for a browser's commands;
- on request only (``--strategies ...,latent``): ``latent``, evolution mutating in the
  learned embedding (``supernet/latent_search.py``; its encoder fitted once per run).

Per run it records how many evaluations it took to reach the top 1% and the top 0.1% of
the table (by the chosen column; a run that never does counts as ``budget + 1``) and the
best accuracy found after 100, 300 and 1000 evaluations. Medians over seeds are reported.
The advisor knows nothing of the column: any accuracy column of the table can be named.

Prints one line per strategy, then exactly one JSON object as the last line::

    {"seeds": N, "column": ..., "budget": ..., "targets": {...},
     "strategies": {"evolution": {"median_evals_top1", "median_evals_top01",
                                  "reached_top01", "best_at": {"100", "300", "1000"},
                                  "commands_acked", "commands_rejected"}, ...}}

    python -m benchmarks.steering --json [--table PATH] [--column NAME] [--seeds N]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from navigator.advisor import SessionAdvisor
from navigator.bus import MemoryBus
from navigator.worker import SessionWorker, WorkerOptions
from supernet.configs import EngineConfig
from supernet.search import SearchConfig
from supernet.space import SearchSpace
from supernet.tabular.engine import TabularEngine
from supernet.tabular.table import BenchmarkTable

DEFAULT_TABLE = "../shared/data/nb201_cifar.csv"
DEFAULT_COLUMN = "CIFAR10TestAccuracy200Epochs"
STRATEGIES = ("random", "evolution", "random+advisor", "evolution+advisor")
OPTIONAL = ("latent", "latent+advisor")
CHECKPOINTS = (100, 300, 1000)
SESSION = "steering-benchmark"


def load_table(path: str, column: str, percent: bool | None = None) -> BenchmarkTable:
    """The table's ``column``; percentages are recognised by values above 1."""
    space = SearchSpace.from_preset("nb201")
    if percent is None:
        try:
            return BenchmarkTable.from_csv(path, column, space, percent=False)
        except ValueError as exc:
            if "percent" not in str(exc):
                raise
        percent = True
    return BenchmarkTable.from_csv(path, column, space, percent=percent)


def thresholds(table: BenchmarkTable) -> dict[str, float]:
    """The accuracy that puts an architecture in the top 1% / 0.1% of the table."""
    ordered = np.sort(np.array([table.lookup(a) for a in table.archs]))[::-1]
    return {name: float(ordered[max(1, math.ceil(frac * len(ordered))) - 1])
            for name, frac in (("top1", 0.01), ("top01", 0.001))}


def run(table: BenchmarkTable, strategy: str, seed: int, budget: int,
        checkpoint_dir: Path) -> dict[str, Any]:
    """One search of ``budget`` evaluations: the accuracy of each evaluation, in order."""
    base, _, helper = strategy.partition("+")
    config = EngineConfig(template="nb201", mode="tabular", table_path=table.source or "table",
                          table_dataset=table.dataset, table_percent=table.percent, seed=seed,
                          measure_latency=False, search=SearchConfig(strategy=base, seed=seed))
    engine = TabularEngine(config, table=table)
    engine.search.encoder_cache = checkpoint_dir / "encoders"  # latent: one fit for all seeds
    bus = MemoryBus()
    worker = SessionWorker(bus, SESSION, config, WorkerOptions(checkpoint_dir=checkpoint_dir,
                                                               umap=False))
    worker.engine = engine
    advisor = SessionAdvisor(bus, SESSION, worker.handle) if helper == "advisor" else None
    if advisor is not None:
        advisor.set_auto_apply(True)
    accuracies: list[float] = []
    while len(accuracies) < budget:
        records = engine.search_generation()
        accuracies.extend(r.accuracy for r in records)
        if advisor is not None:
            advisor.after_generation(engine)
        elif not records:
            break  # nothing left to evaluate (never happens without steering)
    events = bus.history(SESSION)
    return {"accuracies": accuracies[:budget],
            "acked": sum(e.type == "command_ack" for e in events),
            "rejected": sum(e.type == "command_rejected" for e in events)}


def summarise(runs: list[dict[str, Any]], marks: dict[str, float], budget: int
              ) -> dict[str, Any]:
    def evals_to(threshold: float, accs: list[float]) -> int:
        return next((i + 1 for i, acc in enumerate(accs) if acc >= threshold), budget + 1)

    to = {name: [evals_to(t, r["accuracies"]) for r in runs] for name, t in marks.items()}
    best_at = {str(n): round(100 * median(max(r["accuracies"][:n]) for r in runs), 4)
               for n in CHECKPOINTS if n <= budget}
    return {"median_evals_top1": median(to["top1"]), "median_evals_top01": median(to["top01"]),
            "reached_top01": sum(v <= budget for v in to["top01"]),
            "best_at": best_at,
            "commands_acked": sum(r["acked"] for r in runs),
            "commands_rejected": sum(r["rejected"] for r in runs)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", default=DEFAULT_TABLE)
    parser.add_argument("--column", default=DEFAULT_COLUMN)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--json", action="store_true", help="(the JSON line is always printed)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    table = load_table(args.table, args.column)
    marks = thresholds(table)
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in STRATEGIES + OPTIONAL]
    if unknown:
        parser.error(f"unknown strategies {unknown}; choose from {list(STRATEGIES + OPTIONAL)}")
    out: dict[str, Any] = {}
    # the advisor's models are small: one BLAS thread each is faster than a contended pool
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(limits=1):
        for strategy in strategies:
            runs = [run(table, strategy, seed, args.budget, Path(tmp)) for seed in range(args.seeds)]
            out[strategy] = summarise(runs, marks, args.budget)
            print(f"{strategy:>18}: {out[strategy]}", flush=True)
    result: dict[str, Any] = {
        "seeds": args.seeds, "column": args.column, "budget": args.budget,
        "thresholds": {k: round(100 * v, 4) for k, v in marks.items()},
        "strategies": out, "seconds": round(time.monotonic() - started, 1)}
    if "evolution" in out and "evolution+advisor" in out:
        e, a = out["evolution"], out["evolution+advisor"]
        result["evolution_ratio"] = round(a["median_evals_top01"] / e["median_evals_top01"], 3)
        last = str(max(int(k) for k in e["best_at"]))
        result["evolution_best_not_lower"] = a["best_at"][last] >= e["best_at"][last]
    if "random" in out and "random+advisor" in out:
        result["random_ratio"] = round(out["random+advisor"]["median_evals_top01"]
                                       / out["random"]["median_evals_top01"], 3)
    result["targets"] = {"evolution_ratio": 0.8, "random_ratio": round(1 / 3, 3)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
