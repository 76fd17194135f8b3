"""Seeded tabular searches run back to back, summarised: how well does a search strategy
find good architectures of a benchmark table, and how much does that vary with the seed?

Every seed is a fresh :class:`~supernet.tabular.engine.TabularEngine` on the same table
(read once) running ``generations`` generations; the summary quotes medians over seeds of
the best true accuracy found, its percentile in the whole table, and how many distinct
architectures each seed looked up.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from typing import Any

from supernet.archlock import ArchLockConfig, target_key, target_names
from supernet.configs import EngineConfig
from supernet.search import SearchConfig
from supernet.tabular.engine import TabularEngine
from supernet.tabular.table import BenchmarkTable


@dataclass(frozen=True)
class SeedResult:
    seed: int
    best_arch: str
    best_accuracy: float
    best_percentile: float
    evaluated: int
    targets: dict[str, float] = field(default_factory=dict)
    """ArchLock: the target accuracies of the pick (``best_*`` is then the locked pick)."""


def run_seeds(config: EngineConfig, table: BenchmarkTable, seeds: int,
              generations: int) -> list[SeedResult]:
    """``seeds`` searches (seeds ``config.seed``, ``config.seed + 1``, ...)."""
    if seeds < 1 or generations < 1:
        raise ValueError("seeds and generations must be at least 1")
    results = []
    for k in range(seeds):
        seed = config.seed + k
        seeded = replace(config, seed=seed, search=replace(config.search, seed=seed))
        engine = TabularEngine(seeded, table=table)
        for _ in range(generations):
            engine.search_generation()
        locking = engine.archlock
        best = engine.leaderboard(1)[0] if locking is None else locking.picked(engine.archive)
        targets = {} if locking is None else {
            name: best.scores[target_key(name)] for name in target_names(locking.config)}
        results.append(SeedResult(seed, best.arch, best.accuracy,
                                  table.true_rank(best.arch)[1], len(engine.archive), targets))
    return results


def summary(results: list[SeedResult], table: BenchmarkTable) -> dict[str, Any]:
    """Medians over seeds, and the table's own best for reference."""
    return {"seeds": len(results), "column": table.dataset, "rows": len(table),
            "median_best_accuracy": statistics.median(r.best_accuracy for r in results),
            "median_best_percentile": statistics.median(r.best_percentile for r in results),
            "median_evaluated": statistics.median(r.evaluated for r in results),
            "table_best_accuracy": table.best().accuracy,
            "per_seed": [r.__dict__ for r in results]}


def tabular_config(table_path: str, column: str, population: int, strategy: str,
                   seed: int, archlock: ArchLockConfig | None = None) -> EngineConfig:
    return EngineConfig(template="nb201", mode="tabular", table_path=table_path,
                        table_dataset=column, seed=seed, measure_latency=False,
                        search=SearchConfig(strategy=strategy, population=population, seed=seed),
                        archlock=archlock)
