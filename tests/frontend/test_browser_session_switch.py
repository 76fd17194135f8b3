"""Starting a second session in the same tab leaves nothing of the first behind: no pending
edit preview (and nothing sent when Confirm is clicked), no candidate drawn, no leaderboard
selection, no control answer line (issue 16, defect 4). Run with ``pytest -m browser``."""

from __future__ import annotations

from typing import Any

import pytest

from frontend import ids
from tests.frontend.test_browser import (
    GRAPH,
    VIEWPORT,
    _click_heatmap,
    _session,
    _wait,
    _wait_live,
)
from tests.support.browser import observed_context

pytestmark = pytest.mark.browser


def _start(page: Any, previous: str | None = None) -> str:
    page.click(f"#{ids.START}")
    _wait(page, "([id, prev]) => { const t = document.getElementById(id).textContent;"
                " return t.includes('running') && !(prev && t.startsWith(prev)); }",
          [ids.SESSION_STATE, previous])
    _wait(page, f"() => {GRAPH.format(id=ids.HEATMAP)} && {GRAPH.format(id=ids.HEATMAP)}.data.length == 2")
    _wait(page, f"() => document.querySelectorAll('#{ids.LEADERBOARD} tbody tr input[type=radio]').length > 1")
    return _session(page)


def _candidate_title(page: Any) -> str:
    return page.evaluate(f"() => {GRAPH.format(id=ids.CANDIDATE_GRAPH_A)}?.layout?.title?.text || ''")


def test_starting_a_new_session_resets_every_views_local_state(browser: Any, synthetic: tuple) -> None:
    server, worker = synthetic
    context = observed_context(browser, viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    try:
        pg.goto(server.url)
        _wait_live(pg)
        first = _start(pg)
        pg.click(f"#{ids.LEADERBOARD} tbody tr:nth-child(4) input[type=radio]")
        _wait(pg, f"() => {GRAPH.format(id=ids.CANDIDATE_GRAPH_A)}?.data?.length > 0")
        pg.click(f"#{ids.PAUSE}")
        _wait(pg, f"() => document.getElementById('{ids.CONTROL_FEEDBACK}').textContent.includes('pause')")
        assert "prune_op" in _click_heatmap(pg, "1<-0", "none")
        second = _start(pg, first)
        assert second != first
        _wait(pg, f"() => document.getElementById('{ids.EDIT_PREVIEW}').textContent === ''")
        assert pg.text_content(f"#{ids.SELECTION_INFO}") == ""
        assert pg.text_content(f"#{ids.CONTROL_FEEDBACK}") == ""
        assert pg.locator(f"#{ids.LEADERBOARD} tbody input[type=radio]:checked").count() == 0
        assert pg.evaluate(f"() => {GRAPH.format(id=ids.CANDIDATE_GRAPH_A)}.data.length") == 0
        before = len(worker.commands)
        pg.click(f"#{ids.CONFIRM_EDIT}")  # the first session's prune must not reach the second
        _wait(pg, f"() => document.getElementById('{ids.EDIT_PREVIEW}').textContent.includes('click')")
        assert [c for c in worker.commands[before:] if c.type == "prune_op"] == []
    finally:
        context.close()
