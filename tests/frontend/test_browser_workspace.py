"""The workspace on a 1600x1000 screen: map, heatmap and leaderboard visible together; the
header with the session, its state and the main controls stays in view while the page
scrolls; secondary views on tabs, Replay at full width (issue 16, item 6). Also writes the
light and dark screenshots of the workspace. Run with ``pytest -m browser``."""

from __future__ import annotations

from typing import Any

import pytest

from frontend import figures, ids
from tests.frontend.test_browser import GRAPH, SCREENSHOTS, _tab, _wait
from tests.support.browser import running_session

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1600, "height": 1000}
COCKPIT = {"map": f"#{ids.MAP} .js-plotly-plot", "heatmap": f"#{ids.HEATMAP} .js-plotly-plot",
           "leaderboard": f"#{ids.LEADERBOARD} table"}


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not laid out"
    return box


def _inside(box: dict[str, float]) -> bool:
    return (box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= VIEWPORT["width"]
            and box["y"] + box["height"] <= VIEWPORT["height"])


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def test_cockpit_header_tabs_and_screenshots(browser: Any, synthetic: tuple) -> None:
    server, worker = synthetic
    with running_session(browser, server, VIEWPORT) as (pg, session):
        s = worker.sessions[session]
        for generation in range(6):
            for step in range(1, 11):
                s.publish_progress(generation % 3, step)
            s.publish_candidates(40)
        _wait(pg, f"() => {GRAPH.format(id=ids.HEATMAP)}?.data?.length == 2")
        _wait(pg, f"() => document.querySelectorAll('#{ids.LEADERBOARD} tbody tr').length > 5")
        pg.evaluate("window.scrollTo(0, 0)")
        pg.wait_for_timeout(600)  # the figures' last relayout

        # map, heatmap and leaderboard: whole, on screen at once, side by side
        boxes = {name: _box(pg, selector) for name, selector in COCKPIT.items()}
        for name, box in boxes.items():
            assert _inside(box), f"{name} is not entirely on the 1600x1000 screen: {box}"
            assert box["width"] > 450 and box["height"] > 250, f"{name} is too small: {box}"
        names = list(boxes)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                assert not _overlap(boxes[a], boxes[b]), f"{a} overlaps {b}"
        # the map's hover says generation, FLOPs and latency, for points appended live too
        hover = pg.evaluate(f"() => {GRAPH.format(id=ids.MAP)}.data[0].customdata.slice(-1)[0][3]")
        last = s.records[-1]
        assert hover == (f"generation {last['generation']} · FLOPs {last['flops']:,} · "
                         f"latency {last['latency_ms']:.2f} ms")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(SCREENSHOTS / "workspace_light.png"))

        # the header stays at the top with the session, its state and Pause / Resume / Stop
        pg.evaluate("window.scrollTo(0, 1400)")
        pg.wait_for_timeout(200)
        assert pg.evaluate("window.scrollY") > 500
        header = _box(pg, ".header")
        assert header["y"] == 0
        for cid in (ids.SESSION_PICK, ids.SESSION_STATE, ids.PAUSE, ids.RESUME, ids.STOP):
            box = _box(pg, f"#{cid}")
            assert box["y"] < header["height"] and pg.is_visible(f"#{cid}"), cid

        # secondary views on tabs: one shown at a time, Replay across the whole page
        replay = f"#{ids.REPLAY_SESSION}"
        assert not pg.is_visible(replay) and pg.is_visible(f"#{ids.ARCHIVE}")
        _tab(pg, "Replay")
        _wait(pg, "sel => document.querySelector(sel).offsetParent !== null", replay)
        assert not pg.is_visible(f"#{ids.ARCHIVE}") and not pg.is_visible(f"#{ids.PARETO}")
        assert _box(pg, ".panel.replay")["width"] >= VIEWPORT["width"] - 60
        _tab(pg, "Hardware")
        _wait(pg, f"() => {GRAPH.format(id=ids.PARETO)}?.getBoundingClientRect().width > 600")
        _tab(pg, "Archive")

        pg.evaluate("window.scrollTo(0, 0)")
        pg.click(f"#{ids.THEME_TOGGLE}")
        dark = figures.theme_layout(True)["paper_bgcolor"]
        _wait(pg, f"c => {GRAPH.format(id=ids.MAP)}?._fullLayout?.paper_bgcolor === c"
                  f" && {GRAPH.format(id=ids.HEATMAP)}?._fullLayout?.paper_bgcolor === c", dark)
        pg.wait_for_timeout(600)
        pg.screenshot(path=str(SCREENSHOTS / "workspace_dark.png"))
        pg.click(f"#{ids.THEME_TOGGLE}")
