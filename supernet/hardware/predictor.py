"""The linear latency predictor: one cost per (choice point, op), charged when it runs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from supernet.hardware.checks import as_vector, check_alpha
from supernet.hardware.ridge import alphas, fit_additive, op_matrix
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState
from supernet.validation import STRICT, NonNegativeInt, validate


def rank_correlation(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray
                     ) -> float:
    """Spearman's rho; NaN when either side is constant (a ranking is then undefined)."""
    x = as_vector("first ranking", a)
    y = as_vector("second ranking", b, len(x))
    if len(x) < 2:
        raise ValueError(f"a rank correlation needs at least 2 points, got {len(x)}")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(stats.spearmanr(x, y).statistic)


def active_edges(space: SearchSpace, arch: Sequence[str]) -> list[bool]:
    """Which choice points of ``arch`` run, so cost time (the template kind decides).

    A cell skips ``none`` edges and every edge whose source node received nothing
    (all of its inputs ``none`` or from such nodes); every block of a chain runs.
    """
    return space.kind.runs(space.template, space.validate_arch(arch))


class LatencyPredictor:
    """Latency (ms) as intercept + one cost per (choice point, op), by ridge least squares.

    The model is linear in the space's one-hot encoding. Each cost is fitted as a
    cost shared by the op on every edge plus a per-edge deviation penalised by
    ``edge_ridge`` (``None``: chosen by leave-one-out from :data:`ALPHA_GRID`): with
    few measurements (fewer than one-hot columns) the shared part carries the fit,
    with many the deviations are free. ``ridge`` only makes the collinear one-hot
    system solvable; it is not meant to shrink real costs. A (choice point, op) never
    measured gets the op's shared cost from the other edges, but an op measured
    nowhere costs 0 like an idle edge: measure every op at least once.
    ``device`` is a free-text label of what was measured.

    With ``active_only`` (default) an edge is charged only when it runs (see
    :func:`active_edges`): the cell skips ``none`` edges and edges out of nodes that
    received nothing, and charging them anyway mis-predicts exactly the cheap cells
    a latency budget cares about (on measured ``nb201`` CPU latencies, 20 samples:
    Spearman 0.89 -> 0.99, median error 1.2 -> 0.5 ms).
    """

    def __init__(self, space: SearchSpace, ridge: float = 1e-3,
                 edge_ridge: float | None = None, device: str = "",
                 active_only: bool = True) -> None:
        check_alpha("ridge", ridge, allow_none=False)
        check_alpha("edge_ridge", edge_ridge)
        self.space = space
        self.active_only = bool(active_only)
        self.ridge = float(ridge)
        self.edge_ridge = edge_ridge
        self.device = device
        self.weights: np.ndarray | None = None
        self.intercept = 0.0
        self.n_samples = 0
        self.chosen: dict[str, float] = {}
        """Ridge strengths the last fit used (``edge``; ``op`` and ``scale`` when adapted)."""

    @property
    def fitted(self) -> bool:
        return self.weights is not None

    def features(self, archs: Sequence[Sequence[str]]) -> np.ndarray:
        """One-hot encoding; with ``active_only``, blocks of edges that never run are 0."""
        archs = [self.space.validate_arch(a) for a in archs]
        x = self.space.one_hot_many(archs).astype(np.float64)
        if self.active_only and archs:
            sizes = [len(cp.candidates) for cp in self.space]
            kind, template = self.space.kind, self.space.template
            x *= np.array([np.repeat(kind.runs(template, tuple(a)), sizes) for a in archs])
        return x

    def fit(self, archs: Sequence[Sequence[str]], latencies: Sequence[float] | np.ndarray
            ) -> LatencyPredictor:
        """Fit on measured ``(arch, latency)`` pairs; returns ``self`` for chaining."""
        if len(archs) < 2:
            raise ValueError(f"fitting needs at least 2 measured architectures, got {len(archs)}")
        y = as_vector("latencies", latencies, len(archs))
        fit = fit_additive(self.features(archs), y, op_matrix(self.space), (self.ridge,),
                            alphas(self.edge_ridge))
        self._set(fit.weights, fit.intercept, len(y), {"edge": fit.edge_alpha})
        return self

    def _set(self, weights: np.ndarray, intercept: float, n_samples: int,
             chosen: dict[str, float]) -> None:
        self.weights, self.intercept = weights, float(intercept)
        self.n_samples, self.chosen = n_samples, chosen

    def _require_fit(self) -> np.ndarray:
        if self.weights is None:
            raise ValueError("the latency predictor is not fitted yet: call fit() first")
        return self.weights

    def predict(self, archs: Sequence[Sequence[str]]) -> np.ndarray:
        """Predicted latency (ms) of each architecture."""
        weights = self._require_fit()
        return self.features(archs) @ weights + self.intercept

    def spearman(self, archs: Sequence[Sequence[str]],
                 latencies: Sequence[float] | np.ndarray) -> float:
        """Rank agreement with measurements that were not used for fitting."""
        return rank_correlation(self.predict(archs), latencies)

    def op_costs(self) -> dict[str, dict[str, float]]:
        """Predicted cost of each op on each choice point (relative; the intercept is apart)."""
        weights = self._require_fit()
        out: dict[str, dict[str, float]] = {}
        k = 0
        for cp in self.space:
            out[cp.name] = {op: float(weights[k + i]) for i, op in enumerate(cp.candidates)}
            k += len(cp.candidates)
        return out

    def fastest(self, steering: SteeringState | None = None) -> tuple[Arch, float]:
        """The allowed architecture with the lowest predicted latency, found exactly.

        The model is additive over the edges that run, so no search over the space
        is needed: without ``active_only`` the cheapest allowed op on every choice
        point wins; with it, the template kind finds the exact minimum over the choice
        points that run (a cell tries every pattern of live nodes, ``2**(n_nodes-1)``
        of them, with the cheapest consistent ops per node).
        """
        costs = self.op_costs()
        allowed = [steering.allowed(cp.name) if steering else cp.candidates
                   for cp in self.space]
        if self.active_only:
            arch = self.space.kind.fastest(self.space.template, allowed, costs)
        else:
            arch = tuple(min(ops, key=costs[cp.name].__getitem__)
                         for ops, cp in zip(allowed, self.space))
        return arch, float(self.predict([arch])[0])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (costs keyed by choice point and op) for checkpoints and events."""
        return {"space": self.space.to_dict(), "ridge": self.ridge,
                "edge_ridge": self.edge_ridge, "active_only": self.active_only,
                "device": self.device, "n_samples": self.n_samples, "chosen": dict(self.chosen),
                "intercept": self.intercept,
                "op_costs": self.op_costs() if self.fitted else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], space: SearchSpace | None = None
                  ) -> LatencyPredictor:
        """Rebuild and validate; with ``space`` given, the stored space must match it."""
        doc = validate(_PredictorDocument, data, "latency predictor")
        stored = SearchSpace.from_dict(doc.space)
        if space is not None and space != stored:
            raise ValueError("the latency predictor was fitted on another search space")
        out = cls(space or stored, doc.ridge, doc.edge_ridge, doc.device, doc.active_only)
        if doc.op_costs is not None:
            out._set(_weights_from_costs(out.space, doc.op_costs), doc.intercept,
                     doc.n_samples, doc.chosen)
        return out


@dataclass
class _PredictorDocument:
    """The JSON form of a predictor (``LatencyPredictor.to_dict``); ``op_costs`` is null
    before the first fit."""

    __pydantic_config__ = STRICT

    space: dict[str, Any]
    ridge: float = 1e-3
    edge_ridge: float | None = None
    active_only: bool = True
    device: str = ""
    n_samples: NonNegativeInt = 0
    chosen: dict[str, float] = field(default_factory=dict)
    intercept: float = 0.0
    op_costs: dict[str, dict[str, float]] | None = None


def _weights_from_costs(space: SearchSpace, costs: Mapping[str, Mapping[str, float]]
                        ) -> np.ndarray:
    values: list[float] = []
    for cp in space:
        given = costs.get(cp.name, {})
        missing = [op for op in cp.candidates if op not in given]
        if missing:
            raise ValueError(f"latency predictor: no cost for {missing} on {cp.name!r}")
        values.extend(given[op] for op in cp.candidates)
    return as_vector("op costs", values)
