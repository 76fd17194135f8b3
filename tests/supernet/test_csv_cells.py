"""The one reading of numbers in user CSV files (benchmark tables, device latencies)."""

from __future__ import annotations

import pytest

from supernet.csv_cells import MAX_SHOWN_CELL, parse_number, shown_cell


def test_a_number_may_have_blanks_around_it() -> None:
    assert parse_number(" 2.5 ", "x: ") == 2.5
    assert parse_number("-1", "x: ") == -1.0


@pytest.mark.parametrize(("text", "nonnegative", "message"), [
    ("", False, "line 2: '' is not a number"),
    ("fast", False, "line 2: 'fast' is not a number"),
    ("inf", False, "line 2: 'inf' is not a finite number"),
    ("-3", True, "line 2: -3.0 is negative"),
])
def test_problems_follow_the_callers_location(text: str, nonnegative: bool, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_number(text, "line 2: ", nonnegative=nonnegative)
    assert str(info.value) == message


def test_a_long_cell_is_shown_clipped() -> None:
    text = "x" * 1000
    assert len(shown_cell(text)) == MAX_SHOWN_CELL and shown_cell(text).endswith("...")
    with pytest.raises(ValueError, match=r"^at: 'x+\.\.\. is not a number$"):
        parse_number(text, "at: ")
