"""Cells of the CSV files users hand in (benchmark tables, device latencies): one reading of
a number and one bounded way to show a cell in an error, for every such file."""

from __future__ import annotations

import math

MAX_SHOWN_CELL = 200
"""Longest rendering of a cell in an error message."""


def clipped(text: str) -> str:
    return text if len(text) <= MAX_SHOWN_CELL else f"{text[:MAX_SHOWN_CELL - 3]}..."


def shown_cell(text: str) -> str:
    """A cell as an error shows it: quoted and bounded in length."""
    return clipped(repr(text))


def parse_number(text: str, where: str, nonnegative: bool = False) -> float:
    """The finite number in a cell (blanks around it ignored).

    ValueError otherwise, the message ``where`` (the caller's "line 3, column 'x': ") followed
    by the problem: not a number (an empty cell included), not finite, or negative when
    ``nonnegative``.
    """
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}{shown_cell(text)} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{where}{shown_cell(text)} is not a finite number")
    if nonnegative and value < 0:
        raise ValueError(f"{where}{value!r} is negative")
    return value
