"""The Darcy flow data: the solver satisfies the PDE, the fields look like FNO's."""

from __future__ import annotations

import numpy as np
import pytest

from supernet.data import load_dataset
from supernet.datasets.darcy import (
    HIGH,
    LOW,
    darcy_matrix,
    generate,
    permeability,
    solve_darcy,
)


def _grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    x = (np.arange(n) + 1) / (n + 1)
    return np.meshgrid(x, x, indexing="ij")


@pytest.mark.parametrize("a_value", [1.0, 7.5])
def test_constant_permeability_matches_a_manufactured_solution(a_value: float) -> None:
    """u = sin(pi x) sin(pi y) solves -div(a grad u) = 2 pi^2 a u with u = 0 on the boundary;
    the error falls as h^2 (second-order scheme)."""
    errors = []
    for n in (15, 31):
        x, y = _grid(n)
        exact = np.sin(np.pi * x) * np.sin(np.pi * y)
        u = solve_darcy(np.full((n, n), a_value), 2 * np.pi ** 2 * a_value * exact)
        errors.append(np.abs(u - exact).max())
    assert errors[1] < 2e-3
    assert 3.5 < errors[0] / errors[1] < 4.5  # h halves: the error quarters


def test_discrete_residual_vanishes_on_a_random_field() -> None:
    a = permeability(32, np.random.default_rng(3))
    u = solve_darcy(a)
    residual = darcy_matrix(a) @ u.ravel() - 1.0
    assert np.abs(residual).max() < 1e-8
    assert (u > 0).all()  # a positive source and zero boundary: the pressure is positive
    matrix = darcy_matrix(a)
    assert abs(matrix - matrix.T).max() < 1e-9  # harmonic-mean faces: symmetric operator


def test_samples_are_thresholded_fields_and_reproducible() -> None:
    a, u = generate(6, 16, seed=1)
    assert set(np.unique(a)) == {LOW, HIGH}
    again, _ = generate(6, 16, seed=1)
    assert np.array_equal(a, again)
    assert not np.array_equal(a, generate(6, 16, seed=2)[0])
    assert u.shape == (6, 16, 16)


def test_darcy_spec_gives_a_field_regression_dataset() -> None:
    data = load_dataset("darcy:40", seed=0)
    assert data.task.kind == "field_regression" and not data.task.higher_is_better
    assert data.x_train.shape[1:] == (1, 32, 32) and data.y_train.shape[1:] == (1, 32, 32)
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 40
    with pytest.raises(ValueError, match="darcy:<N>"):
        load_dataset("darcy:many")
