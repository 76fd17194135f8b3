"""A regression session in Chromium: the leaderboard names the metric with its direction and
lists the lowest relative L2 error first, and the line above it says whether the best found
beats the task's baseline (issue 15). Run with ``pytest -m browser``."""

from __future__ import annotations

from typing import Any

import pytest

from frontend import ids
from navigator.events import Baseline, Candidates, Leaderboard, Space
from supernet.space import SearchSpace
from supernet.tasks import Task
from tests.frontend.test_browser import VIEWPORT, _wait
from tests.support.browser import running_session

pytestmark = pytest.mark.browser

LABEL = "relative L2 error (lower is better)"


def _records(space: SearchSpace) -> list[dict[str, Any]]:
    """Eight candidates whose errors arrive in no order (the worst one first)."""
    errors = [0.9, 0.2, 0.55, 0.05, 0.7, 0.3, 0.15, 0.6]
    return [{"arch": space.to_string(arch), "index": k, "accuracy": e, "loss": e,
             "params": 1000, "flops": 10_000, "latency_ms": None, "generation": 1,
             "parent": None, "scores": {}, "x": float(k), "y": 0.0}
            for k, (arch, e) in enumerate(zip(list(space.all_archs())[:8], errors))]


def test_a_field_session_ranks_and_labels_lower_is_better(browser: Any, synthetic: tuple) -> None:
    server, _worker = synthetic
    space = SearchSpace.from_preset("tiny")
    with running_session(browser, server, VIEWPORT) as (pg, session):
        header = f"#{ids.LEADERBOARD} th[data-dash-column='accuracy']"
        assert "accuracy" in (pg.locator(header).first.text_content() or "")
        records = _records(space)
        server.bus.publish(session, Space(template=space.to_dict(),
                                          choice_points=[cp.to_dict() for cp in space],
                                          size=space.size(),
                                          task=Task(kind="field_regression").describe()))
        server.bus.publish(session, Candidates(generation=1, records=records))
        server.bus.publish(session, Leaderboard(records=records))
        _wait(pg, f"() => [...document.querySelectorAll(\"{header}\")]"
                  f".some(h => h.textContent.includes('{LABEL}'))")
        cells = f"#{ids.LEADERBOARD} td[data-dash-column='accuracy']"
        _wait(pg, f"() => document.querySelectorAll(\"{cells}\").length >= 8"
                  f" && document.querySelector(\"{cells}\").textContent.trim() === '0.050'")
        shown = [float(t) for t in pg.locator(cells).all_text_contents()]
        assert shown == sorted(shown) and shown[0] == 0.05 and 0.9 in shown
        status = f"#{ids.BASELINE_STATUS}"
        assert not (pg.locator(status).text_content() or "").strip()
        server.bus.publish(session, Baseline(
            arch=records[0]["arch"], best_arch=records[3]["arch"], metric="relative_l2",
            label="relative L2 error", higher_is_better=False, value=0.091, best_value=0.088,
            beats=True, budget=1))
        _wait(pg, f"() => (document.querySelector(\"{status}\").textContent || '')"
                  ".includes('beats the baseline 0.0910 (lower is better')")
        assert "best found relative L2 error 0.0880" in (pg.locator(status).text_content() or "")
