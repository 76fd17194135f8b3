"""Supernet mode's target tasks: zero-cost proxy scores of each candidate on target data.

In tabular mode a target task's accuracy is another column; a supernet is trained on the
source only, so a target is judged the way ArchLock judges it without training: a
data-dependent zero-cost proxy (``ArchLockConfig.proxy``, NASWOT by default) of a freshly
initialised stand-alone copy on one seeded batch of the target dataset (a second dataset
spec, loaded within the same data roots as the source). The unknown target
(``unknown_target``, :mod:`supernet.archlock.unknown`) learns from the same proxy on the
source data and on ``known_tasks`` seeded class subsets of it (each at least two classes,
at most all but one), the tasks "like the source" an attacker could derive from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from supernet.archlock.config import UNKNOWN_TARGET, ArchLockConfig
from supernet.archlock.objective import target_key
from supernet.archlock.unknown import SimulatedTarget
from supernet.data import Dataset, load_dataset
from supernet.paths import Roots
from supernet.proxies import ProxyScorer, proxy_batch
from supernet.space import SearchSpace

PROXY_BATCH = 64


Batch = tuple[torch.Tensor, torch.Tensor]


def class_subsets(data: Dataset, n: int, seed: int) -> list[tuple[str, Batch]]:
    """``n`` seeded proxy batches of the training images of random class subsets, named
    by their classes (none for a task without classes or with fewer than three)."""
    if not data.task.image_only or data.num_classes < 3:
        return []
    rng = np.random.default_rng(seed)
    labels = data.y_train.numpy()
    out = []
    for _ in range(n):
        size = int(rng.integers(2, data.num_classes))
        chosen = np.sort(rng.choice(data.num_classes, size, replace=False))
        rows = np.flatnonzero(np.isin(labels, chosen))
        pick = torch.from_numpy(rng.choice(rows, min(PROXY_BATCH, len(rows)), replace=False))
        out.append((f"classes {','.join(map(str, chosen))}",
                    (data.x_train[pick], data.y_train[pick])))
    return out


class ProxyTargets:
    """One proxy scorer and batch per target dataset spec of ``config.targets``, and the
    unknown target's predictor when ``config.unknown_target`` (needs ``source``)."""

    def __init__(self, space: SearchSpace, config: ArchLockConfig, seed: int = 0,
                 roots: Roots = None, source: Dataset | None = None) -> None:
        self.config = config
        self._scorers = []
        for spec in config.targets:
            data = load_dataset(spec, seed=seed, limit=config.target_limit, roots=roots)
            scorer = ProxyScorer(space, data.in_channels, data.num_classes, (config.proxy,),
                                 seed=seed, task=data.task)
            self._scorers.append((spec, scorer, proxy_batch(data, PROXY_BATCH, seed)))
        self.unknown = None
        if config.unknown_target:
            if source is None:
                raise ValueError("the unknown target learns from the source data: pass source")
            self.unknown = SimulatedTarget(space, config, self._known_tasks(space, source, seed),
                                           source.name, seed)

    def _known_tasks(self, space: SearchSpace, source: Dataset,
                     seed: int) -> dict[str, Callable[[Sequence[str]], float]]:
        """The source and its class subsets, each scored by the proxy on its own batch."""
        scorer = ProxyScorer(space, source.in_channels, source.num_classes, (self.config.proxy,),
                             seed=seed, task=source.task)
        batches = [(source.name, proxy_batch(source, PROXY_BATCH, seed))]
        batches += class_subsets(source, self.config.known_tasks, seed)
        proxy = self.config.proxy

        def task(batch: Batch) -> Callable[[Sequence[str]], float]:
            return lambda arch: scorer.score(arch, *batch)[proxy]

        return {name: task(batch) for name, batch in batches}

    def scores(self, arch: Sequence[str]) -> dict[str, float]:
        """``{target:<spec>: proxy score}`` of ``arch`` on every target dataset, and
        ``target:unknown``: its predicted win rate on the simulated tasks."""
        out = {target_key(spec): scorer.score(arch, *batch)[self.config.proxy]
               for spec, scorer, batch in self._scorers}
        if self.unknown is not None:
            out[target_key(UNKNOWN_TARGET)] = self.unknown.score(tuple(arch))
        return out
