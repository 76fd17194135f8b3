"""NAS-Bench-360's question on this app's new tasks: does a short search beat a fixed
baseline trained with the same budget?

Procedure, per task (``--tasks``, default ``aeon:BasicMotions``, ``aeon:GunPoint``, ``darcy``)
and seed (``--seeds``): a supernet search on the ``tiny`` cell space (``--epochs`` supernet
epochs, a generation of ``--population`` after each, ``--generations`` more after training);
its best architecture by validation metric and the space's fixed baseline (every edge a 3x3
conv, :mod:`supernet.baseline`) are then both trained stand-alone from the same seed with the
same budget, ``--train-steps`` optimizer steps (as whole epochs of batch 128: 32 BasicMotions
series make one step an epoch, so a budget in epochs would leave both at chance), and scored
on the held-out test split. The figures are medians over
seeds, in the task's metric and direction (accuracy: higher is better; Darcy's relative L2
error: lower is better), with the number of seeds where the search won. Torch runs
single-threaded (``--threads``) so that a shared CPU's contention does not swamp the run.
These tasks have no benchmark table (the tabular benchmarks' ``--table``/``--column`` do not
apply): the baseline is trained here, in the same run.

Prints one line per task and seed, then exactly one JSON object as the last line:
``{"tasks": {spec: {"metric", "higher_is_better", "best_median", "baseline_median",
"wins", "seeds", "search_seconds_median", "runs": [...]}}, "settings": {...}}``.

    python -m benchmarks.tasks [--tasks aeon:BasicMotions,darcy] [--seeds 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Sequence
from typing import Any

import torch

from supernet.baseline import compare_with_baseline
from supernet.configs import EngineConfig, EvalConfig, TrainConfig
from supernet.engine import SearchEngine
from supernet.search import SearchConfig

DEFAULT_TASKS = ("aeon:BasicMotions", "aeon:GunPoint", "darcy")
STANDALONE_BATCH = 128  # supernet.export.train_standalone's batch


def run_one(task: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    config = EngineConfig(
        template="tiny", dataset=task, seed=seed, measure_latency=False,
        train=TrainConfig(epochs=args.epochs, batch_size=32, lr=0.05, device="cpu", seed=seed),
        search=SearchConfig(population=args.population, seed=seed), eval=EvalConfig())
    engine = SearchEngine(config)
    while not engine.trainer.done:
        engine.train_epoch()
        engine.search_generation()
    for _ in range(args.generations):
        engine.search_generation()
    best = engine.leaderboard(1)[0]
    searched = time.perf_counter() - started
    steps_per_epoch = math.ceil(len(engine.data.y_train) / STANDALONE_BATCH)
    epochs = max(1, math.ceil(args.train_steps / steps_per_epoch))
    comparison = compare_with_baseline(engine.space, engine.space.from_string(best.arch),
                                       engine.data, epochs, seed)
    return comparison.to_dict() | {"seed": seed, "search_estimate": best.accuracy,
                                   "evaluated": len(engine.archive),
                                   "search_seconds": searched,
                                   "total_seconds": time.perf_counter() - started}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metric": runs[0]["metric"], "higher_is_better": runs[0]["higher_is_better"],
            "best_median": statistics.median(r["best"] for r in runs),
            "baseline_median": statistics.median(r["baseline"] for r in runs),
            "wins": sum(bool(r["beaten"]) for r in runs), "seeds": len(runs),
            "search_seconds_median": statistics.median(r["search_seconds"] for r in runs),
            "runs": runs}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tasks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default=",".join(DEFAULT_TASKS),
                        help="comma-separated dataset specs")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="supernet training epochs")
    parser.add_argument("--population", type=int, default=10)
    parser.add_argument("--generations", type=int, default=3, help="generations after training")
    parser.add_argument("--train-steps", type=int, default=150,
                        help="stand-alone optimizer steps of the best found and of the baseline "
                             "alike (rounded up to whole epochs)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true",
                        help="1 seed, 1 supernet epoch, 10 stand-alone steps (a smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs, args.train_steps, args.generations = 1, 1, 10, 1
    torch.set_num_threads(args.threads)
    results: dict[str, Any] = {}
    for task in [t.strip() for t in args.tasks.split(",") if t.strip()]:
        runs = []
        for seed in range(args.seeds):
            run = run_one(task, seed, args)
            print(f"{task} seed {seed}: best {run['best']:.4f} ({run['best_arch']}) vs baseline "
                  f"{run['baseline']:.4f} {run['metric']} "
                  f"({'higher' if run['higher_is_better'] else 'lower'} is better) "
                  f"in {run['total_seconds']:.0f} s")
            runs.append(run)
        results[task] = summarise(runs)
    settings = {k: getattr(args, k) for k in ("seeds", "epochs", "population", "generations",
                                              "train_steps", "threads")}
    print(json.dumps({"tasks": results, "settings": settings}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
