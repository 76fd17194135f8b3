"""The live map in a real browser: the whole space's density under the explored points, a
"building" note until the fixed map is ready, and coordinates that never change once the
browser has them (issue 14), read from the events the page itself received."""

from __future__ import annotations

from typing import Any

import pytest

from frontend import ids
from navigator.events import Candidates, MapUpdate
from supernet.projection import open_fixed_map
from tests.frontend.test_browser import GRAPH, VIEWPORT, _wait, _wait_live, _wait_map
from tests.support.browser import observed_context
from tests.support.synthetic import SyntheticSession

pytestmark = pytest.mark.browser
MAP = GRAPH.format(id=ids.MAP)


def test_fixed_map_points_never_move_and_the_density_renders(browser: Any, synthetic: tuple) -> None:
    server, _ = synthetic
    session = SyntheticSession(server.bus, "fixed-map", preset="tiny", seed=3)
    session.publish_start()
    server.bus.publish(session.session, MapUpdate(coords={}, method="pca", status="building",
                                                  encoding="onehot"))
    fixed = open_fixed_map(session.space, "onehot", 0, None, method="pca")
    context = observed_context(browser, viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(server.url)
        _wait_live(page)
        page.evaluate("s => window.dash_clientside.set_props('session-store', {data: s})",
                      session.session)
        _wait(page, f"() => ({MAP}?.layout?.annotations || []).some(a => a.text.includes('building'))")
        early = session.publish_candidates(30)  # before the map is ready: no coordinates
        for r in early:
            r["x"] = r["y"] = None
        server.bus.publish(session.session, MapUpdate(
            coords={k: list(v) for k, v in fixed.place([r["arch"] for r in early]).items()},
            method="pca", status="ready", encoding="onehot", background=fixed.density()))
        _wait_map(page, 30)
        for _ in range(4):  # later batches arrive placed, drawn in place by the browser
            records = [session.record(a) for a in session.new_archs(25)]
            for r, (x, y) in zip(records, fixed.place([r["arch"] for r in records]).values()):
                r["x"], r["y"] = x, y
            session.records.extend(records)
            server.bus.publish(session.session, Candidates(generation=1, records=records))
        _wait_map(page, 130)  # the browser may append them to the "building" figure first
        _wait(page, f"() => {MAP}.data.some(t => t.name === 'space') && {MAP}.data[0].x.length >= 130")
        shown = page.evaluate(f"""() => {{
            const g = {MAP};
            return {{points: g.data[0].customdata.map((c, i) => [c[0], g.data[0].x[i], g.data[0].y[i]]),
                     traces: g.data.map(t => [t.type, t.name]),
                     density: g.querySelectorAll('.heatmaplayer image').length,
                     title: g.layout.title.text,
                     annotations: (g.layout.annotations || []).map(a => a.text)}}; }}""")
        received = page.evaluate("() => window.navigatorEvents.filter(e => e.session === 'fixed-map'"
                                 " && (e.type === 'candidates' || e.type === 'map_update'))")
    finally:
        context.close()
    seen: dict[str, set[tuple[float, float]]] = {}
    for event in received:
        pairs = ([(r["arch"], r["x"], r["y"]) for r in event["data"]["records"]]
                 if event["type"] == "candidates" else
                 [(a, xy[0], xy[1]) for a, xy in event["data"]["coords"].items()])
        for arch, x, y in pairs:
            if x is not None:
                seen.setdefault(arch, set()).add((x, y))
    assert len(seen) == 130 and all(len(v) == 1 for v in seen.values())  # never moved
    assert {a: (x, y) for a, x, y in shown["points"]} == {a: next(iter(v)) for a, v in seen.items()}
    assert ["heatmap", "space"] in shown["traces"] and shown["density"] >= 1
    assert not any("building" in text for text in shown["annotations"])
    assert "130 candidates" in shown["title"] and "map of 15,625 of 15,625" in shown["title"]


def test_a_refit_is_announced_and_animated(browser: Any, synthetic: tuple) -> None:
    """Choosing another map encoding sends ``set_map_encoding``; the worker's refit (played
    here as ``navigator/worker.py`` publishes it) is announced next to the map, the old
    points stay until the new map places them, and the refit's figures carry a transition."""
    server, _ = synthetic
    session = SyntheticSession(server.bus, "refit-map", preset="tiny", seed=5)
    session.publish_start()
    onehot = open_fixed_map(session.space, "onehot", 0, None, method="pca")
    path = open_fixed_map(session.space, "path", 0, None, method="pca")
    records = session.publish_candidates(20)
    archs = [r["arch"] for r in records]
    server.bus.publish(session.session, MapUpdate(
        coords={k: list(v) for k, v in onehot.place(archs).items()}, method="pca",
        status="ready", encoding="onehot", background=onehot.density()))
    context = observed_context(browser, viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(20_000)
    figure = f"""() => {{ const g = {MAP}; return {{transition: g.layout.transition || null,
        type: g.data[0].type, traces: g.data.map(t => t.name),
        points: Object.fromEntries(g.data[0].customdata.map((c, i) => [c[0], [g.data[0].x[i], g.data[0].y[i]]]))}}; }}"""
    note = f"() => document.getElementById('{ids.MAP_REFIT}').textContent"
    try:
        page.goto(server.url)
        _wait_live(page)
        page.evaluate("s => window.dash_clientside.set_props('session-store', {data: s})",
                      session.session)
        _wait_map(page, 20)
        _wait(page, f"() => {MAP}.data.some(t => t.name === 'space')")
        before = page.evaluate(figure)
        assert before["transition"] is None and page.evaluate(note) == ""
        page.click(f"#{ids.MAP_ENCODING}")
        page.get_by_role("option", name="path", exact=True).click()
        command = server.bus.next_command(session.session, timeout=15)
        assert command is not None and command.type == "set_map_encoding"
        assert command.args == {"encoding": "path"}
        session.ack(command)
        server.bus.publish(session.session, MapUpdate(
            coords={}, method="pca", status="refit", encoding="path",
            message="re-mapping the space with the path encoding; every point moves once"))
        _wait(page, f"() => {note}().includes('re-placing')")
        _wait(page, f"() => ({MAP}.layout.annotations || []).some(a => a.text.includes('re-mapping'))")
        during = page.evaluate(figure)
        page.evaluate(f"() => {{ const g = {MAP}; window.__moved = 0;"
                      " g.on('plotly_transitioning', () => window.__moved++); }")
        server.bus.publish(session.session, MapUpdate(
            coords={k: list(v) for k, v in path.place(archs).items()}, method="pca",
            status="ready", encoding="path", background=path.density()))
        _wait(page, f"() => {note}() === 'Map refit: encoding changed to path — points re-placed'")
        _wait(page, f"() => !({MAP}.layout.annotations || []).some(a => a.text.includes('re-mapping'))"
                    f" && {MAP}.data.some(t => t.name === 'space')")
        after = page.evaluate(figure)
        moved = page.evaluate("() => window.__moved")
    finally:
        context.close()
    assert during["transition"] == {"duration": 800, "easing": "cubic-in-out"}
    assert during["type"] == "scatter" and during["points"] == before["points"]  # old map stays
    assert after["transition"] == during["transition"] and after["type"] == "scatter"
    new = {a: list(xy) for a, xy in path.place(archs).items()}
    assert after["points"] == new and after["points"] != before["points"]
    assert "space" in after["traces"]
    assert moved >= 1  # Plotly animated the points from the old map to the new one
