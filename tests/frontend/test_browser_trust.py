"""The "how far to trust this ranking" panel in Chromium: a session's ``trust`` event is
drawn (estimators best first, with intervals and the ranking one marked) and "Rank by"
sends the ``rank_by`` command through the normal path (issue 19). Run with ``pytest -m browser``."""

from __future__ import annotations

from typing import Any

import pytest

from frontend import ids
from navigator.events import Trust
from tests.frontend.test_browser import VIEWPORT, _pick, _wait
from tests.support.browser import running_session

pytestmark = pytest.mark.browser


def _correlation(name: str, tau: float, low: float, high: float) -> dict[str, Any]:
    return {"estimator": name, "n": 12, "kendall": tau, "spearman": tau + 0.1,
            "kendall_low": low, "kendall_high": high, "spearman_low": None, "spearman_high": None}


def test_trust_panel_shows_the_anchors_correlations_and_sends_rank_by(
        browser: Any, synthetic: tuple) -> None:
    server, worker = synthetic
    with running_session(browser, server, VIEWPORT) as (pg, session):
        server.bus.publish(session, Trust(rank_by="accuracy", anchors=12, total_anchors=15625,
                                          estimators={
                                              "accuracy": _correlation("accuracy", 0.21, -0.05, 0.44),
                                              "score": _correlation("score", 0.64, 0.41, 0.8)}))
        _wait(pg, f"() => document.querySelectorAll('#{ids.TRUST_TABLE} tbody tr').length == 2")
        rows = pg.locator(f"#{ids.TRUST_TABLE} tbody tr").all_inner_texts()
        assert rows[0].startswith("score") and "+0.64" in rows[0] and "trustworthy" in rows[0]
        assert "accuracy (ranking)" in rows[1] and "not reliable yet" in rows[1]
        assert "12 evaluated anchor(s) of 15625" in pg.text_content(f"#{ids.TRUST_SUMMARY}")
        _pick(pg, ids.RANK_BY, "score")
        before = len(worker.commands)
        pg.click(f"#{ids.APPLY_RANK_BY}")
        _wait(pg, f"() => document.getElementById('{ids.RANK_BY_STATUS}').textContent.includes('sent rank_by')")
        sent = [c for c in worker.commands[before:] if c.type == "rank_by"]
        for _ in range(50):
            if sent:
                break
            pg.wait_for_timeout(100)
            sent = [c for c in worker.commands[before:] if c.type == "rank_by"]
        assert sent and sent[0].args == {"estimator": "score"}
