"""The replay panel's time grid."""

from __future__ import annotations

import pytest

from frontend.study_view import slider_end


@pytest.mark.parametrize("duration", [0.0, 0.004, 3.78, 3.785, 3.7849, 12.0, 599.999])
def test_the_slider_reaches_the_last_event_on_its_own_grid(duration: float) -> None:
    end = slider_end(duration)
    assert end >= duration and end - duration < 0.0101
    assert round(end, 2) == end and end >= 0.01
