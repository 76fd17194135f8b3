"""Sessions people can tell apart: labelled picker, a new tab on the running session, and a
budget-paused session that would hold the only worker slot is named with an offer to stop
it (issue 16, item 8). Run with ``pytest -m browser``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from frontend import ids
from navigator.events import SessionState
from tests.frontend.test_browser import _session, _wait, _wait_live
from tests.support.browser import observed_context
from tests.support.synthetic import LiveServer, SyntheticSession

pytestmark = pytest.mark.browser

PAUSED = "s-aaaa0001"
RUNNING = "s-cccc0003"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """The real app with no worker at all: a start stays queued."""
    with LiveServer() as live:
        yield live


def _page(browser: Any, server: LiveServer) -> tuple[Any, Any]:
    context = observed_context(browser, viewport={"width": 1600, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.goto(server.url)
    _wait_live(pg)
    return context, pg


def test_labels_new_tab_and_the_worker_slot_of_a_budget_paused_session(browser: Any,
                                                                       server: LiveServer) -> None:
    bus = server.bus
    bus.publish(PAUSED, SessionState(state="queued", owner="local", config={
        "name": "baseline", "template": "tiny", "dataset": "digits"}))
    paused = SyntheticSession(bus, PAUSED)
    paused.publish_start()
    paused.publish_candidates(30)
    best = max(r["accuracy"] for r in paused.records)
    bus.publish(PAUSED, SessionState(state="paused", message="search budget used up: fine-tune or stop"))

    context, pg = _page(browser, server)
    try:
        # a new tab opens on a session by itself (no running one: the paused one)
        _wait(pg, f"s => document.getElementById('{ids.SESSION_STATE}').textContent.startsWith(s)", PAUSED)
        pg.click(f"#{ids.SESSION_PICK}")
        option = pg.get_by_role("option", name=f"baseline ({PAUSED})")
        label = option.text_content() or ""
        for part in ("started ", " · digits · tiny · paused · ", f"best {best:.3f}"):
            assert part in label, (part, label)
        pg.keyboard.press("Escape")

        # a new start waits for the slot the paused session holds: the page says so ...
        pg.click(f"#{ids.START}")
        _wait(pg, f"s => !document.getElementById('{ids.SESSION_STATE}').textContent.startsWith(s)"
                  f" && document.getElementById('{ids.SESSION_STATE}').textContent.includes('queued')",
              PAUSED)
        waiting = _session(pg)
        _wait(pg, f"s => document.getElementById('{ids.SLOT_NOTICE}').textContent.includes(s)", PAUSED)
        assert "budget" in (pg.text_content(f"#{ids.SLOT_NOTICE}") or "")
        # ... and offers to stop it
        pg.click(f"#{ids.SLOT_STOP}")
        command = bus.next_command(PAUSED, 5.0)
        assert command is not None and command.type == "stop"
        assert bus.next_command(waiting, 0.1) is None
        _wait(pg, f"() => document.getElementById('{ids.SLOT_NOTICE}').textContent.includes('sent stop')")
    finally:
        context.close()

    # with a running session, a new tab opens on it
    running = SyntheticSession(bus, RUNNING)
    running.publish_start()
    context, pg = _page(browser, server)
    try:
        _wait(pg, f"s => document.getElementById('{ids.SESSION_STATE}').textContent.startsWith(s)", RUNNING)
    finally:
        context.close()
