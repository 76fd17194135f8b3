"""ArchLock in Chromium: a locked session's source-vs-target scatter (constraint line and
locked front) and the leaderboard's source and target columns; the objective set from the
builder's fields, their errors shown beside them. Run with ``pytest -m browser``."""

from __future__ import annotations

import time
from typing import Any

import pytest

from frontend import ids
from navigator.events import Candidates, Leaderboard, SessionState
from supernet.space import SearchSpace
from tests.frontend.test_browser import GRAPH, VIEWPORT, _shot, _wait
from tests.support.browser import observed_context, running_session, session_of, wait_live

pytestmark = pytest.mark.browser

LOCK = {"targets": ["theirs"], "tolerance": 2.0}


def _records(target: str = "theirs") -> list[dict[str, Any]]:
    """Twelve candidates: source from 0.95 down by 0.4 points, target zig-zagging down."""
    space = SearchSpace.from_preset("tiny")
    out = []
    for k, arch in enumerate(list(space.all_archs())[:12]):
        source, target_value = 0.95 - 0.004 * k, 0.70 - 0.01 * k + (0.03 if k % 2 else 0.0)
        out.append({"arch": space.to_string(arch), "index": k, "accuracy": source,
                    "loss": 1 - source, "params": 1000, "flops": 10_000, "latency_ms": None,
                    "generation": 1, "parent": None,
                    "scores": {f"target:{target}": target_value}, "x": float(k), "y": 0.0})
    return out


def test_a_locked_session_shows_the_scatter_and_both_accuracies(browser: Any,
                                                                 synthetic: tuple) -> None:
    server, _worker = synthetic
    with running_session(browser, server, VIEWPORT) as (pg, session):
        panel = f"document.getElementById('{ids.ARCHLOCK_PANEL}')"
        assert pg.evaluate(f"() => {panel}.style.display") == "none"  # no objective yet
        records = _records()
        server.bus.publish(session, SessionState(state="running", message="locked",
                                                 config={"archlock": LOCK}))
        server.bus.publish(session, Candidates(generation=1, records=records))
        server.bus.publish(session, Leaderboard(records=records))
        _wait(pg, f"() => {panel}.style.display !== 'none'")
        graph = GRAPH.format(id=ids.ARCHLOCK_SCATTER)
        _wait(pg, f"() => {{ const g = {graph}; return g && g.data && g.data.length === 3"
                  " && g.data[0].x.length > 0; }")
        traces = pg.evaluate(f"() => {graph}.data.map(t => [t.name, t.x, t.y])")
        names = [t[0] for t in traces]
        assert names == ["feasible", "below the threshold", "locked front"]
        # 0.95 - 2 points = 0.93: k = 0..5 feasible (0.95 .. 0.930), 6..11 below
        assert len(traces[0][1]) == 6 and len(traces[1][1]) == 6
        assert min(traces[0][1]) >= 0.93 - 1e-9 > max(traces[1][1])
        # the front: a higher source costs a higher target; no feasible point beats one on both
        front = sorted(zip(traces[2][1], traces[2][2]))
        assert front and all(t1 < t2 for (_, t1), (_, t2) in zip(front, front[1:]))
        feasible = list(zip(traces[0][1], traces[0][2]))
        assert all(not any(s2 > s and t2 < t for s2, t2 in feasible) for s, t in front)
        line = pg.evaluate(f"() => {graph}.layout.shapes.map(s => s.x0)")
        assert line == [pytest.approx(0.93)]
        assert "6 of 12 candidates within 2 points" in pg.text_content(f"#{ids.ARCHLOCK_INFO}")
        header = f"#{ids.LEADERBOARD} th"
        _wait(pg, f"() => [...document.querySelectorAll('{header}')]"
                  ".some(h => h.textContent.includes('target theirs'))")
        titles = pg.locator(header).all_inner_texts()
        assert any("source accuracy" in t for t in titles)
        cells = pg.locator(f"#{ids.LEADERBOARD} td[data-dash-column='target:theirs']")
        _wait(pg, f"() => document.querySelectorAll(\"#{ids.LEADERBOARD} "
                  "td[data-dash-column='target:theirs']\").length > 0")
        assert cells.first.inner_text() == "0.700"  # the best source's target accuracy
        _shot(pg, "archlock", f"#{ids.ARCHLOCK_PANEL}")


def _wait_new_session(server: Any, before: set[str]) -> str:
    """The one session the Start button added to the bus."""
    for _ in range(150):
        new = set(server.bus.sessions()) - before
        if new:
            (session,) = new
            return session
        time.sleep(0.1)
    raise AssertionError("Start added no session")


def test_the_builder_sets_the_objective_and_shows_its_errors(browser: Any,
                                                            synthetic: tuple) -> None:
    server, _worker = synthetic
    context = observed_context(browser, viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    try:
        pg.goto(server.url)
        wait_live(pg)
        pg.click(".archlock-fields summary")
        error = f"document.getElementById('{ids.ARCHLOCK_ERROR}').textContent"
        pg.check(f"#{ids.ARCHLOCK_UNKNOWN} input[value='unknown']")
        pg.check(f"#{ids.ARCHLOCK_MODE} input[value='absolute']")  # no minimum given yet
        _wait(pg, f"() => {error}.includes('needs min_source')")
        pg.click(f"#{ids.START}")  # refused like the engine would, nothing starts
        _wait(pg, f"() => document.getElementById('{ids.BUILDER_ERROR}').textContent"
                  ".includes('cannot start')")
        pg.check(f"#{ids.ARCHLOCK_MODE} input[value='relative']")
        pg.fill(f"#{ids.ARCHLOCK_TOLERANCE}", "250")
        _wait(pg, f"() => {error}.includes('tolerance')")
        pg.fill(f"#{ids.ARCHLOCK_TOLERANCE}", "2")
        _wait(pg, f"() => {error} === ''")
        before = set(server.bus.sessions())
        pg.click(f"#{ids.START}")
        _wait(pg, f"() => document.getElementById('{ids.BUILDER_ERROR}').textContent === ''")
        started = _wait_new_session(server, before)
        state = f"document.getElementById('{ids.SESSION_STATE}').textContent"
        _wait(pg, f"s => {state}.startsWith(s) && {state}.includes('running')", started)
        session = session_of(pg)
        assert session == started
        lock = server.hub.view(session).config["archlock"]
        assert lock["unknown_target"] is True and lock["targets"] == []
        assert lock["mode"] == "relative" and lock["tolerance"] == 2.0
        records = _records("unknown")
        server.bus.publish(session, Candidates(generation=1, records=records))
        server.bus.publish(session, Leaderboard(records=records))
        panel = f"document.getElementById('{ids.ARCHLOCK_PANEL}')"
        _wait(pg, f"() => {panel}.style.display !== 'none'")
        graph = GRAPH.format(id=ids.ARCHLOCK_SCATTER)
        # the page may have shown another running session's scatter first: wait for this one's
        _wait(pg, f"() => {{ const g = {graph}; return g && g.layout && g.data.length === 3"
                  " && g.layout.yaxis.title.text.includes('simulated targets'); }")
        _wait(pg, f"() => {graph}.data[0].x.length === 6")  # 0.95 .. 0.93 within 2 points
        header = f"#{ids.LEADERBOARD} th"
        _wait(pg, f"() => [...document.querySelectorAll('{header}')]"
                  ".some(h => h.textContent.includes('simulated targets'))")
    finally:
        context.close()
