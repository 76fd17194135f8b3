"""An advisor proposal accepted in the browser becomes an acknowledged command, and the
proposal, the decision and the command are all in the recording. Run with ``pytest -m browser``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from frontend import ids
from navigator.events import AdviceEvent
from navigator.recording import RecordingStore
from tests.frontend.test_browser import VIEWPORT, _session, _wait, _wait_live
from tests.support.browser import observed_context
from tests.support.synthetic import LiveServer, SyntheticWorker

pytestmark = pytest.mark.browser

PROPOSAL = {"id": "prune_op-test", "command": "prune_op",
            "args": {"choice_point": "1<-0", "op": "none"}, "confidence": 0.97,
            "reason": "none of the top 10 uses none on 1<-0, although 12 of 40 did",
            "evidence": {"count": 12, "evaluated": 40, "top_k": 10}}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, SyntheticWorker, Path]]:
    data = tmp_path_factory.mktemp("advisor")
    server = LiveServer(record=True, data_dir=data).start()
    worker = SyntheticWorker(server.bus, candidates_on_start=40).start()
    yield server, worker, data
    worker.stop()
    server.stop()


def _recorded(store: RecordingStore, session: str, kind: str, timeout: float = 10) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [a for a in store.actions(session) if a["type"] == kind]
        if rows:
            return rows
        time.sleep(0.05)  # the recorder polls the bus
    pytest.fail(f"no recorded {kind} action in session {session}")


def test_an_accepted_proposal_is_an_acknowledged_recorded_command(browser: Any,
                                                                  recorded: tuple) -> None:
    server, worker, _ = recorded
    context = observed_context(browser, viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(server.url)
        _wait_live(page)
        page.click(f"#{ids.START}")
        _wait(page, f"() => document.getElementById('{ids.SESSION_STATE}').textContent"
                    ".includes('running')")
        session = _session(page)
        server.bus.publish(session, AdviceEvent(generation=2, proposals=[PROPOSAL]))
        accept = page.locator(f"#{ids.ADVISOR_LIST} button.primary")
        accept.wait_for()
        advice_text = page.text_content(f"#{ids.ADVISOR_LIST}")
        assert "prune_op none on 1<-0" in advice_text and "97%" in advice_text
        assert "excludes" in advice_text  # the safety preview of a prune
        accept.click()
        _wait(page, f"() => document.getElementById('{ids.ADVISOR_STATUS}').textContent"
                    ".includes('accepted')")
        _wait(page, f"() => !document.querySelector('#{ids.ADVISOR_LIST} button.primary')")
        deadline = time.monotonic() + 10
        while not any(c.type == "prune_op" for c in worker.commands) and time.monotonic() < deadline:
            time.sleep(0.05)
        sent = [c for c in worker.commands if c.type == "prune_op"]
        assert [c.args for c in sent] == [PROPOSAL["args"]]
        store = server.recorder.store
        acks = _recorded(store, session, "prune_op")
        assert acks[0]["outcome"] == "ack" and acks[0]["command_id"] == sent[0].id
        decision = _recorded(store, session, "advice_accepted")[0]
        assert decision["outcome"] == "ui"
        assert decision["args"] == {"id": PROPOSAL["id"], "command": "prune_op",
                                    "command_id": sent[0].id}
        assert any(e.type == "advice" for e in store.events(session))
    finally:
        context.close()
