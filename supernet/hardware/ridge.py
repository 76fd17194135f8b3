"""Ridge least squares for additive latency models: the fits behind the predictor and
its adaptation to other devices."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from supernet.space import SearchSpace


def _with_intercept(features: np.ndarray, penalty: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    ones = np.ones((len(features), 1))
    return np.hstack([ones, features]), np.concatenate([[0.0], penalty])


def _ridge(features: np.ndarray, target: np.ndarray, penalty: np.ndarray
           ) -> tuple[np.ndarray, float]:
    """Ridge regression with an unpenalised intercept and a per-column penalty.

    Solved by least squares on the system augmented with ``sqrt(penalty)`` rows: the
    one-hot blocks each sum to 1, so without a penalty the problem is singular, and
    ``lstsq`` stays well posed even where a column (an op never measured) is all 0.
    """
    z, pen = _with_intercept(features, penalty)
    a = np.vstack([z, np.diag(np.sqrt(pen))])
    b = np.concatenate([target, np.zeros(len(pen))])
    coef = np.linalg.lstsq(a, b, rcond=None)[0]
    return coef[1:], float(coef[0])


def _loo_mse(features: np.ndarray, target: np.ndarray, penalty: np.ndarray) -> float:
    """Exact leave-one-out error of a ridge fit, from the hat matrix (no refits)."""
    z, pen = _with_intercept(features, penalty)
    inverse = np.linalg.pinv(z.T @ z + np.diag(pen))
    leverage = np.einsum("ij,jk,ik->i", z, inverse, z)
    residual = target - z @ (inverse @ (z.T @ target))
    return float(np.mean((residual / np.maximum(1.0 - leverage, 1e-12)) ** 2))


ALPHA_GRID: tuple[float, ...] = tuple(np.logspace(-3, 3, 7).tolist())
"""Ridge strengths chosen from by exact leave-one-out error when none is given."""


def op_matrix(space: SearchSpace) -> np.ndarray:
    """``(one_hot_dim, n_op_names)``: which op name each one-hot column stands for."""
    names = list(dict.fromkeys(op for cp in space for op in cp.candidates))
    columns = [op for cp in space for op in cp.candidates]
    return np.array([[c == name for name in names] for c in columns], dtype=np.float64)


@dataclass(frozen=True)
class AdditiveFit:
    weights: np.ndarray
    intercept: float
    extra: np.ndarray
    op_alpha: float
    edge_alpha: float


def fit_additive(onehot: np.ndarray, target: np.ndarray, op_matrix: np.ndarray,
                  opalphas: Sequence[float], edgealphas: Sequence[float],
                  extra: np.ndarray | None = None) -> AdditiveFit:
    """Cost of (choice point, op) = shared cost of the op + a per-edge deviation.

    Every edge of a cell sees the same channels and resolution, so an op costs about
    the same wherever it sits: sharing that cost makes a few measurements go a long
    way, and the penalised per-edge deviation (``edge_alpha``) still lets the data
    say otherwise. ``extra`` columns (the host prediction) are unpenalised. Lists of
    several alphas are searched jointly by leave-one-out error.
    """
    extra = np.zeros((len(target), 0)) if extra is None else extra.reshape(len(target), -1)
    x = np.hstack([extra, onehot @ op_matrix, onehot])
    k, n_ops = extra.shape[1], op_matrix.shape[1]

    def penalty(op_alpha: float, edge_alpha: float) -> np.ndarray:
        return np.concatenate([np.zeros(k), np.full(n_ops, op_alpha),
                               np.full(onehot.shape[1], edge_alpha)])

    grid = list(itertools.product(opalphas, edgealphas))
    best = grid[0] if len(grid) == 1 else min(
        grid, key=lambda pair: _loo_mse(x, target, penalty(*pair)))
    coef, intercept = _ridge(x, target, penalty(*best))
    weights = op_matrix @ coef[k:k + n_ops] + coef[k + n_ops:]
    return AdditiveFit(weights, intercept, coef[:k], best[0], best[1])


def alphas(value: float | None) -> tuple[float, ...]:
    return ALPHA_GRID if value is None else (float(value),)
