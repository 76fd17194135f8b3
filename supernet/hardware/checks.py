"""Validation of the numbers the hardware modules take from users, with actionable errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import numpy as np
from pydantic import Field

from supernet.validation import validate

_COUNT = Annotated[int, Field(ge=0, description="an integer >= 0")]
_POSITIVE_COUNT = Annotated[int, Field(ge=1, description="an integer >= 1")]
_ALPHA = Annotated[float, Field(gt=0, allow_inf_nan=False,
                                description="a positive finite number")]


def positive_int(name: str, value: object, minimum: int = 1) -> int:
    """``value`` if it is an integer >= ``minimum`` (0 or 1)."""
    if minimum not in (0, 1):
        raise ValueError(f"positive_int checks counts from 0 or 1, not {minimum}")
    return validate(_POSITIVE_COUNT if minimum else _COUNT, value, name)


def as_vector(name: str, values: Sequence[float] | np.ndarray, n: int | None = None
               ) -> np.ndarray:
    out = np.asarray(values, dtype=np.float64).reshape(-1)
    if n is not None and len(out) != n:
        raise ValueError(f"{name} has {len(out)} values for {n} architectures")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must all be finite numbers")
    return out


def check_alpha(name: str, value: float | None, allow_none: bool = True) -> None:
    """A ridge strength: a positive finite number (or None: chosen from data, if allowed)."""
    if value is None and not allow_none:
        raise ValueError(f"{name} must be a positive finite number, got None")
    if value is not None:
        validate(_ALPHA, value, name)
