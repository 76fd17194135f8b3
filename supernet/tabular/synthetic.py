"""Synthetic benchmark tables, for tests and demos without a real benchmark.

``synthetic_table(space, seed)`` gives every architecture of a space an accuracy from a
random additive per-(edge, op) model plus noise, with a unique best entry; ``write_csv``
saves it like any table.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from supernet.space import SearchSpace
from supernet.tabular.table import BenchmarkTable, DatasetInfo, dataset_info

_SYNTHETIC_RANGES: dict[str, tuple[float, float]] = {
    "cifar10": (0.10, 0.9437), "cifar10-valid": (0.10, 0.9161),
    "cifar100": (0.01, 0.7351), "ImageNet16-120": (0.0083, 0.4731),
}
_OP_PRIOR: dict[str, float] = {
    "none": -1.5, "skip_connect": -0.3, "nor_conv_1x1": 0.4, "nor_conv_3x3": 0.8,
    "avg_pool_3x3": -0.4, "nor_conv_5x5": 0.7, "max_pool_3x3": -0.4, "sep_conv_3x3": 0.6,
    "dil_conv_3x3": 0.5,
}


def _dataset_seed(seed: int, dataset: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(dataset.encode())])


def synthetic_table(space: SearchSpace, seed: int = 0, datasets: Sequence[str] = ("cifar10",),
                    noise: float = 0.15, costs: bool = True,
                    max_size: int = 200_000) -> BenchmarkTable:
    """A table for every architecture of ``space`` from an additive model plus noise.

    score(arch) = sum over choice points of effect[cp][op] + noise; the effects are an op
    prior (convolutions good, ``none`` bad) plus N(0, 0.6) per (choice point, op) drawn from
    ``seed``, plus N(0, 0.2) per dataset; the noise is N(0, ``noise``) per architecture and
    dataset. Scores map linearly onto a NAS-Bench-201-like accuracy range per dataset, so
    each dataset column has exactly one best entry (at the top of its range). A dataset's
    column depends only on ``seed`` and its name, not on which other datasets are asked for.
    With ``costs``, params and FLOPs come from the repository's supernet cost model for the
    first dataset's input shape (a model is built once; 0.2 s for ``nb201``), and a latency
    column is 0.3 ms plus 1 ms per 25 MFLOPs, times a log-normal (sigma 0.05) per entry.
    """
    if not datasets:
        raise ValueError("synthetic_table needs at least one dataset name")
    size = space.size()
    if size > max_size:
        raise ValueError(f"the space has {size:,} architectures; synthetic tables enumerate "
                         f"every one, so at most {max_size:,} are allowed")
    rng = np.random.default_rng(seed)
    shared = [np.array([_OP_PRIOR.get(op, 0.0) for op in cp.candidates])
              + rng.normal(0.0, 0.6, len(cp.candidates)) for cp in space]
    # mixed-radix digits of every index (choice point 0 most significant, as SearchSpace.index)
    digits = np.zeros((size, len(space)), dtype=np.int64)
    rest = np.arange(size)
    for k in range(len(space) - 1, -1, -1):
        n_ops = len(space.choice_points[k].candidates)
        rest, digits[:, k] = np.divmod(rest, n_ops)
    accuracies: dict[str, np.ndarray] = {}
    for name in datasets:
        drng = _dataset_seed(seed, name)
        score = drng.normal(0.0, noise, size)
        for k, effect in enumerate(shared):
            score += (effect + drng.normal(0.0, 0.2, effect.size))[digits[:, k]]
        lo, hi = _SYNTHETIC_RANGES.get(name, (0.10, 0.90))
        span = score.max() - score.min()
        acc = lo + (hi - lo) * (score - score.min()) / (span if span > 0 else 1.0)
        if size > 1 and int(np.sum(acc == acc.max())) != 1:  # pragma: no cover - measure zero
            raise RuntimeError(f"synthetic dataset {name!r} has a tied best entry; change the seed")
        accuracies[name] = acc
    params = flops = latency = None
    if costs:
        params, flops = _additive_costs(space, digits, dataset_info(datasets[0]))
        jitter = np.exp(np.random.default_rng(seed + 1).normal(0.0, 0.05, size))
        latency = ((0.3 + np.asarray(flops, dtype=float) / 25e6) * jitter).tolist()
    return BenchmarkTable(space, _arch_strings(space, digits), accuracies, datasets[0],
                          params=params, flops=flops, latency_ms=latency,
                          source=f"synthetic:{seed}", check=False)


def _arch_strings(space: SearchSpace, digits: np.ndarray) -> list[str]:
    """``space.to_string`` of every row of op indices, formatted in bulk."""
    tokens = [[f"{op}~{src}" for op in cp.candidates]
              for cp, (src, _dst) in zip(space, space.edges)]
    groups: list[list[int]] = []
    for k, (_src, dst) in enumerate(space.edges):
        if dst > len(groups):
            groups.append([])
        groups[dst - 1].append(k)
    out = []
    for row in digits.tolist():
        out.append("+".join("|" + "|".join(tokens[k][row[k]] for k in group) + "|"
                            for group in groups))
    return out


def _additive_costs(space: SearchSpace, digits: np.ndarray,
                    info: DatasetInfo) -> tuple[list[int], list[int]]:
    """Params and FLOPs of every row from the supernet cost model, which is a fixed part
    plus one term per (choice point, op) (see ``supernet.model``): profiled once, summed."""
    from supernet.model import Supernet

    net = Supernet(space, info.in_channels, info.num_classes, info.image_size)
    base = tuple(cp.candidates[0] for cp in space)
    results = []
    for cost in (net.params, net.flops):
        at_base = cost(base)
        delta = [np.array([cost(base[:k] + (op,) + base[k + 1:]) - at_base
                           for op in cp.candidates], dtype=np.int64)
                 for k, cp in enumerate(space)]
        total = np.full(len(digits), at_base, dtype=np.int64)
        for k, d in enumerate(delta):
            total += d[digits[:, k]]
        results.append(total.tolist())
    return results[0], results[1]
