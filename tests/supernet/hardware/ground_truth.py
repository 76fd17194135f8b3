"""Synthetic latency ground truths: random per-(edge, op) costs of the edges that run."""

from __future__ import annotations

import numpy as np

from supernet.space import Arch, SearchSpace


def op_mask(space: SearchSpace, op: str) -> np.ndarray:
    """One-hot columns of ``op`` on every choice point."""
    return np.array([o == op for cp in space for o in cp.candidates])


def synthetic(space: SearchSpace, seed: int, n: int
              ) -> tuple[list[Arch], np.ndarray, np.random.Generator]:
    """Random archs and a ground truth of random per-(edge, op) costs (ms)."""
    rng = np.random.default_rng(seed)
    costs = rng.uniform(0.1, 1.0, space.one_hot_dim)
    return [space.random_arch(rng) for _ in range(n)], costs, rng


def runs(space: SearchSpace, arch: Arch) -> np.ndarray:
    """One-hot mask of the ops that execute, walking the cell like ``supernet.ops.Cell``."""
    n = space.template.n_nodes
    nodes: list[bool] = [True]  # node k received something
    ran: list[bool] = []
    for dst in range(1, n):
        got = False
        for src in range(dst):
            op = arch[len(ran)]
            ran.append(op != "none" and nodes[src])
            got = got or ran[-1]
        nodes.append(got)
    return space.one_hot(arch) * np.repeat(ran, [len(cp.candidates) for cp in space])


def latency(space: SearchSpace, archs: list[Arch], costs: np.ndarray,
            rng: np.random.Generator, noise: float, active: bool = True) -> np.ndarray:
    """Ground truth: 2 ms + the costs of the edges that run (of every edge if not ``active``)."""
    x = np.stack([runs(space, a) for a in archs]) if active else space.one_hot_many(archs)
    return x @ costs + 2.0 + rng.normal(0.0, noise, len(archs))
