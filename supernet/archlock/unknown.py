"""ArchLock-TU in a search: the unknown target's score of each candidate.

Nobody names the attacker's task, so the search locks against the tasks an attacker would
likely pick: ones that resemble the source. The known tasks (a table's accuracy columns, or
the source data and class subsets of it scored by a zero-cost proxy) are each scored on one
seeded set of probe architectures; a task's embedding is its z-scored scores of the first
``EMBED_ARCHS`` probes (Task2Vec-lite: a task is known by how a fixed set of networks does
on it, a vector of the same size for every task of every family). The pairwise predictor
(:class:`~supernet.archlock.predictor.TransferPredictor`) learns "a beats b on this task"
from those scores; a candidate's unknown-target score is its mean win probability against
the probes, averaged over ``simulated_tasks`` embeddings at a cosine similarity in the
configured range around the source's. Torch-free: the tasks come in as plain callables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy.stats import rankdata

from supernet.archlock.config import ArchLockConfig
from supernet.archlock.predictor import TransferPredictor, simulated_embeddings
from supernet.space import Arch, SearchSpace

EMBED_ARCHS = 16
"""Probe architectures whose scores embed a task."""
REFERENCE_ARCHS = 32
"""Probe architectures a candidate's win probability is taken against."""


def probe_archs(space: SearchSpace, n: int, seed: int) -> list[Arch]:
    """``n`` distinct seeded architectures (fewer in a smaller space), in draw order."""
    rng = np.random.default_rng(seed)
    out: dict[Arch, None] = {}
    for _ in range(20 * n):
        if len(out) >= min(n, space.size()):
            break
        out.setdefault(space.random_arch(rng))
    return list(out)


def task_embedding(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    """A task's embedding: its z-scored ranks of the embedding probes (scale-free, so a
    proxy's scores and a column's accuracies compare)."""
    head = np.asarray(scores, dtype=np.float64)[:EMBED_ARCHS]
    ranked = rankdata(head)
    spread = float(np.std(ranked))
    if spread == 0:
        raise ValueError("a known task scores every probe architecture alike: its embedding "
                         "is undefined (try more probe_archs)")
    return (ranked - ranked.mean()) / spread


class SimulatedTarget:
    """The unknown target of one session: fitted once on construction (deterministic in
    ``seed``, so a resumed session rebuilds the same predictor), then ``score(arch)``."""

    def __init__(self, space: SearchSpace, config: ArchLockConfig,
                 tasks: Mapping[str, Callable[[Arch], float]], source: str,
                 seed: int = 0) -> None:
        if source not in tasks:
            raise ValueError(f"the source task {source!r} is not among the known tasks "
                             f"{sorted(tasks)}")
        self.space = space
        self.probes = probe_archs(space, config.probe_archs, seed)
        if len(self.probes) < EMBED_ARCHS:
            raise ValueError(f"the space holds {len(self.probes)} architectures; the unknown "
                             f"target needs at least {EMBED_ARCHS} to embed a task")
        codes = space.one_hot_many(self.probes).astype(np.float64)
        scored = {name: np.array([task(a) for a in self.probes]) for name, task in tasks.items()}
        self.embeddings = {name: task_embedding(values) for name, values in scored.items()}
        self.predictor = TransferPredictor(seed=seed).fit(
            codes, [(self.embeddings[name], values) for name, values in scored.items()])
        self.simulated = simulated_embeddings(
            self.embeddings[source], config.simulated_tasks,
            (config.similarity_low, config.similarity_high), seed)
        self._reference = codes[:REFERENCE_ARCHS]
        self._cache: dict[Arch, float] = {}

    def score(self, arch: Arch) -> float:
        """Mean predicted win rate of ``arch`` on the simulated tasks, in [0, 1]."""
        if arch not in self._cache:
            self.score_many([arch])
        return self._cache[arch]

    def score_many(self, archs: Sequence[Arch]) -> list[float]:
        """``score`` of each of ``archs``, the new ones predicted in one batch."""
        new = list(dict.fromkeys(a for a in archs if a not in self._cache))
        if new:
            codes = self.space.one_hot_many(new).astype(np.float64)
            values = self.predictor.score(codes, self.simulated, self._reference)
            self._cache.update(zip(new, (float(v) for v in values)))
        return [self._cache[a] for a in archs]
