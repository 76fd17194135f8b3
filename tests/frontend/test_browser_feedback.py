"""Every control answers next to itself within a second with the worker's verdict; Stop asks
first; the status line tells the real state; a bad dataset path stops the start form
(issue 16, item 5). Run with ``pytest -m browser``."""

from __future__ import annotations

import time
from typing import Any

import pytest

from frontend import ids
from navigator.events import CommandAck, CommandRejected, SessionState
from tests.frontend.test_browser import _pick, _until, _wait
from tests.support.browser import running_session

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1600, "height": 1000}


def _text(page: Any, cid: str) -> str:
    return page.text_content(f"#{cid}") or ""


def _answered_within(page: Any, cid: str, words: str, seconds: float = 1.0) -> float:
    """Seconds from now until ``cid`` holds ``words``; fails after ``seconds``."""
    start = time.monotonic()
    _wait(page, "([id, w]) => (document.getElementById(id).textContent || '').includes(w)",
          [cid, words], timeout=seconds * 1000)
    return time.monotonic() - start


def test_controls_answer_in_place_stop_asks_and_status_tells_the_truth(browser: Any,
                                                                        synthetic: tuple) -> None:
    server, worker = synthetic
    with running_session(browser, server, VIEWPORT) as (pg, session):
        s = worker.sessions[session]
        s.publish_progress(0, 3)
        _wait(pg, f"() => document.getElementById('{ids.PROGRESS_TEXT}').textContent.includes('ETA')")

        # Pause: the worker's ack lands next to the button, within a second of the click
        pg.click(f"#{ids.PAUSE}")
        assert _answered_within(pg, ids.CONTROL_FEEDBACK, "pause accepted") < 1.0
        pg.click(f"#{ids.RESUME}")
        _answered_within(pg, ids.CONTROL_FEEDBACK, "resume accepted")
        # this tab's own answers stay next to their controls; another user's go to the toast
        _wait(pg, f"() => !document.getElementById('{ids.TOAST}').textContent.includes('resume')")
        server.bus.publish(session, CommandAck(command_id="c-bob", command="set_search_params",
                                               user="bob", detail="population 30",
                                               received_ts=time.time()))
        _answered_within(pg, ids.TOAST, "bob: set_search_params accepted: population 30")
        assert "set_search_params" not in _text(pg, ids.TUNE_FEEDBACK)

        # the search strategy is chosen next to population and mutation and sent with them
        _pick(pg, ids.SEARCH_STRATEGY, "latent (mutate in the learned embedding, arch2vec)")
        pg.click(f"#{ids.APPLY_PARAMS}")
        params = _until(lambda: [c for c in worker.commands if c.type == "set_search_params"
                                 and c.session == session], what="set_search_params")[-1]
        assert params.args["strategy"] == "latent" and params.args["population"] == 20
        _answered_within(pg, ids.TUNE_FEEDBACK, "set_search_params accepted")

        # a refusal by the worker: its reason, next to the control that sent it
        worker.sessions.pop(session)  # the synthetic worker stops answering this session
        pg.click(f"#{ids.FINETUNE}")
        command = _until(lambda: server.bus.next_command(session, 0.1), what="finetune")
        assert command.type == "finetune"
        server.bus.publish(session, CommandRejected(
            command_id=command.id, command="finetune", user=command.user,
            reason="fine-tune needs a paused session", sent_ts=command.ts,
            received_ts=command.received_ts))
        assert _answered_within(pg, ids.TUNE_FEEDBACK,
                                "finetune rejected: fine-tune needs a paused session") < 1.0
        worker.sessions[session] = s

        # Stop asks first: dismissed, nothing is sent; accepted, the stop reaches the worker
        pg.once("dialog", lambda dialog: dialog.dismiss())
        pg.click(f"#{ids.STOP}")
        time.sleep(0.5)
        assert not [c for c in worker.commands if c.type == "stop" and c.session == session]
        pg.once("dialog", lambda dialog: dialog.accept())
        pg.click(f"#{ids.STOP}")
        _until(lambda: [c for c in worker.commands if c.type == "stop" and c.session == session],
               what="stop")
        _answered_within(pg, ids.CONTROL_FEEDBACK, "stop accepted")

        # a stopped session has no ETA
        server.bus.publish(session, SessionState(state="stopped", message="stopped by local"))
        _wait(pg, f"() => document.getElementById('{ids.PROGRESS_TEXT}').textContent.startsWith('stopped at')")
        assert "ETA" not in _text(pg, ids.PROGRESS_TEXT)

        # a dataset path that does not exist: the form says so and nothing starts
        before = set(server.bus.sessions())
        pg.fill(f"#{ids.DATASET}", "npz:/no/such/folder/data.npz")
        pg.click(f"#{ids.START}")
        _wait(pg, f"() => document.getElementById('{ids.BUILDER_ERROR}').textContent.includes('no file')")
        assert "cannot start" in _text(pg, ids.BUILDER_ERROR)
        assert set(server.bus.sessions()) == before and session == session
        pg.fill(f"#{ids.DATASET}", "digits")
