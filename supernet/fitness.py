"""Per-operation fitness scores: how good are the architectures that use an op?

For every choice point ``c`` and candidate op ``o``, over the evaluated
candidates ``A(c, o)`` that pick ``o`` at ``c``:

- ``mean``  = mean validation accuracy of ``A(c, o)``;
- ``ci``    = mean ± t(0.975, n-1) · s / sqrt(n), the 95% confidence interval of that
  mean (s the sample standard deviation, n = |A(c, o)|; no interval while n < 2;
  the normal quantile 1.96 replaces t when scipy is not installed);
- ``count`` = n, ``best`` = the highest accuracy in ``A(c, o)``;
- ``quantile`` = the 90th percentile of ``A(c, o)``'s accuracies with ``q_low``/``q_high``,
  its distribution-free 95% interval (:mod:`supernet.evidence`): what the op's upper tail
  reaches, the evidence a prune needs (a good op can have a poor mean);
- ``relative`` = mean(c, o) minus the mean accuracy of the evaluated candidates that
  pick another op at ``c`` (pooled, so each candidate counts once): the explanation
  the heatmap shows ("this op is 3 points better than its rivals").

Updates are incremental (Welford's algorithm), so the table costs O(choice
points) per new candidate however large the archive grows; the quantiles sort each op's
accuracies when the table is written out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

try:
    from scipy import stats
except ImportError:  # scipy normally arrives with scikit-learn; intervals then use 1.96
    stats = None

from supernet.evidence import UPPER_QUANTILE, upper_tail
from supernet.records import CandidateRecord
from supernet.space import SearchSpace


@dataclass
class OpFitness:
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    count: int
    best: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Running:
    __slots__ = ("n", "mean", "m2", "best", "values")

    def __init__(self) -> None:
        self.n, self.mean, self.m2, self.best = 0, 0.0, 0.0, -math.inf
        self.values: list[float] = []

    def add(self, value: float) -> None:
        self.n += 1
        delta = value - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (value - self.mean)
        self.best = max(self.best, value)
        self.values.append(value)


class FitnessTable:
    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self._stats = {cp.name: {op: _Running() for op in cp.candidates} for cp in space}
        self._seen: set[str] = set()

    def update(self, records: Iterable[CandidateRecord],
               key: Callable[[CandidateRecord], float] | None = None) -> None:
        """Add newly evaluated candidates; an architecture already counted is skipped.
        ``key``: the value counted (the analyst's "rank by"; default the accuracy)."""
        for record in records:
            if record.arch in self._seen:
                continue
            self._seen.add(record.arch)
            arch = self.space.from_string(record.arch)
            for cp, op in zip(self.space, arch):
                self._stats[cp.name][op].add(record.accuracy if key is None else key(record))

    def score(self, cp: str, op: str) -> OpFitness:
        run = self._stats[self.space.choice_point(cp).name].get(op)
        if run is None:
            raise ValueError(f"{op!r} is not a candidate of {cp!r}")
        if run.n == 0:
            return OpFitness(None, None, None, 0, None)
        if run.n < 2:
            return OpFitness(run.mean, None, None, 1, run.best)
        quantile = 1.96 if stats is None else float(stats.t.ppf(0.975, run.n - 1))
        half = quantile * math.sqrt(run.m2 / (run.n - 1)) / math.sqrt(run.n)
        return OpFitness(run.mean, run.mean - half, run.mean + half, run.n, run.best)

    def relative(self, cp: str, op: str) -> float | None:
        own = self.score(cp, op)
        others = [self._stats[cp][o] for o in self._stats[cp] if o != op and self._stats[cp][o].n]
        if own.mean is None or not others:
            return None
        total = sum(r.n for r in others)
        return own.mean - sum(r.mean * r.n for r in others) / total

    def to_dict(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The heatmap matrix: ``{choice point: {op: {mean, ci_low, ci_high, count, best,
        relative, quantile, q_low, q_high, q}}}``."""
        return {
            cp.name: {op: self.score(cp.name, op).to_dict() | {"relative": self.relative(cp.name, op)}
                      | upper_tail(self._stats[cp.name][op].values, UPPER_QUANTILE)
                      for op in cp.candidates}
            for cp in self.space
        }
