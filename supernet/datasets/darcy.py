"""Darcy flow, the dense 2-D regression task of NAS-Bench-360 and FNO, solved here.

A sample is a permeability field ``a`` on an ``n x n`` grid (a Gaussian random field with
covariance ``(-Laplace + tau^2)^(-alpha)``, thresholded to 12 where positive and 3 elsewhere,
as in FNO) and the pressure ``u`` solving ``-div(a grad u) = f`` on the unit square with
``u = 0`` on the boundary and ``f = 1``. The solver is a five-point finite-volume scheme on the
interior nodes ``x_i = (i + 1) h``, ``h = 1 / (n + 1)``, with harmonic-mean face coefficients
(exact for a layered medium); a sparse LU solve per sample. 1,000 samples at 32x32 take a
few seconds and the same seed gives the same data, so no file is needed.

The network sees ``a`` standardised and predicts ``u / target_std``; the metric is the
relative L2 error (lower is better), which a global scale leaves unchanged.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from supernet.data import Dataset
from supernet.tasks import Task

GRID = 32
DEFAULT_SAMPLES = 1000
MAX_SAMPLES = 20000
HIGH, LOW = 12.0, 3.0  # FNO's permeability values


def gaussian_field(n: int, rng: np.random.Generator, alpha: float = 2.0,
                   tau: float = 3.0) -> np.ndarray:
    """One sample of a zero-mean GRF on an ``n x n`` periodic grid, by spectral synthesis."""
    k = np.fft.fftfreq(2 * n, d=1.0 / (2 * n))  # twice the size: the periodicity not seen
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    spectrum = (4 * np.pi ** 2 * k2 + tau ** 2) ** (-alpha / 2)
    noise = rng.standard_normal((2 * n, 2 * n)) + 1j * rng.standard_normal((2 * n, 2 * n))
    return np.real(np.fft.ifft2(spectrum * noise))[:n, :n]


def permeability(n: int, rng: np.random.Generator) -> np.ndarray:
    return np.where(gaussian_field(n, rng) >= 0, HIGH, LOW)


def darcy_matrix(a: np.ndarray) -> sp.csr_matrix:
    """The discrete operator ``-div(a grad .)`` on the interior nodes (row-major order)."""
    n = a.shape[0]
    if a.shape != (n, n) or not np.all(a > 0):
        raise ValueError("the permeability must be a positive square field")
    h2 = (1.0 / (n + 1)) ** 2
    # faces between neighbours: harmonic means; faces to the boundary: the node's own value
    east = 2 * a[:, :-1] * a[:, 1:] / (a[:, :-1] + a[:, 1:])  # between (i, j) and (i, j+1)
    south = 2 * a[:-1, :] * a[1:, :] / (a[:-1, :] + a[1:, :])  # between (i, j) and (i+1, j)
    diag = np.zeros((n, n))
    diag[:, :-1] += east
    diag[:, 1:] += east
    diag[:-1, :] += south
    diag[1:, :] += south
    diag[:, 0] += a[:, 0]
    diag[:, -1] += a[:, -1]
    diag[0, :] += a[0, :]
    diag[-1, :] += a[-1, :]
    idx = np.arange(n * n).reshape(n, n)
    rows = [idx.ravel(), idx[:, :-1].ravel(), idx[:, 1:].ravel(), idx[:-1, :].ravel(),
            idx[1:, :].ravel()]
    cols = [idx.ravel(), idx[:, 1:].ravel(), idx[:, :-1].ravel(), idx[1:, :].ravel(),
            idx[:-1, :].ravel()]
    vals = [diag.ravel(), -east.ravel(), -east.ravel(), -south.ravel(), -south.ravel()]
    return sp.csr_matrix((np.concatenate(vals) / h2, (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n * n, n * n))


def solve_darcy(a: np.ndarray, f: np.ndarray | float = 1.0) -> np.ndarray:
    """The pressure ``u`` on the interior nodes for permeability ``a`` and source ``f``."""
    n = a.shape[0]
    rhs = np.broadcast_to(np.asarray(f, dtype=np.float64), (n, n)).ravel()
    # a minimum-degree ordering of the symmetric pattern: 1.6x faster than the default here
    lu = spla.splu(darcy_matrix(a).tocsc(), permc_spec="MMD_AT_PLUS_A")
    return lu.solve(rhs).reshape(n, n)


def generate(samples: int, n: int = GRID, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(permeabilities, pressures), each ``[samples, n, n]``, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    a = np.stack([permeability(n, rng) for _ in range(samples)])
    return a, np.stack([solve_darcy(field) for field in a])


def _samples(arg: str) -> int:
    if not arg:
        return DEFAULT_SAMPLES
    if not arg.isdigit() or not 10 <= int(arg) <= MAX_SAMPLES:
        raise ValueError(f"darcy:<N> takes a number of samples from 10 to {MAX_SAMPLES}, "
                         f"got {arg!r} (e.g. darcy:1000)")
    return int(arg)


def load_darcy(arg: str, seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2,
               limit: int | None = None) -> Dataset:
    """``darcy`` or ``darcy:<N>``: N samples split into train / validation / test."""
    n_samples = _samples(arg) if limit is None else min(_samples(arg), limit)
    for label, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < fraction < 1:
            raise ValueError(f"{label} must be in (0, 1), got {fraction}")
    a, u = generate(n_samples, GRID, seed)
    n_test = max(1, int(round(test_fraction * n_samples)))
    n_val = max(1, int(round(val_fraction * (n_samples - n_test))))
    n_train = n_samples - n_test - n_val
    mean, std = float(a[:n_train].mean()), float(a[:n_train].std()) + 1e-6
    target_std = float(u[:n_train].std())

    def inputs(part: slice) -> torch.Tensor:
        return torch.from_numpy(((a[part] - mean) / std)[:, None].astype(np.float32))

    def targets(part: slice) -> torch.Tensor:
        return torch.from_numpy((u[part] / target_std)[:, None].astype(np.float32))

    tr, val, te = slice(0, n_train), slice(n_train, n_train + n_val), slice(n_train + n_val, None)
    return Dataset("darcy", inputs(tr), targets(tr), inputs(val), targets(val), inputs(te),
                   targets(te), num_classes=1, classes=["pressure"], input_mean=(mean,),
                   input_std=(std,), task=Task(kind="field_regression", dims=2),
                   target_std=target_std)
