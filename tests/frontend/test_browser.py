"""The UI in a real headless Chromium (Debian's, through Playwright's executable_path).

One synthetic server (events from :class:`SyntheticWorker`) and one server with the
real embedded worker on digits, one browser, shared by the whole module. Checks read
the figures' data and the client-side event log in the page, not pixels.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from frontend import ids
from frontend.synthetic import LiveServer, SyntheticWorker
from tests.conftest import CHROMIUM_ARGS

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
VIEWPORT = {"width": 1500, "height": 1000}

GRAPH = "document.querySelector('#{id} .js-plotly-plot')"


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def synthetic() -> Iterator[tuple[LiveServer, SyntheticWorker]]:
    server = LiveServer().start()
    worker = SyntheticWorker(server.bus, candidates_on_start=40).start()
    yield server, worker
    worker.stop()
    server.stop()


@pytest.fixture(scope="module")
def page(browser: Any, synthetic: tuple[LiveServer, SyntheticWorker]) -> Iterator[Any]:
    """A page on the synthetic server with a session started from the builder."""
    server, _ = synthetic
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.goto(server.url)
    _wait_live(pg)
    yield pg
    context.close()


def _wait(page: Any, js: str, arg: Any = None, timeout: float = 15_000) -> Any:
    return page.wait_for_function(js, arg=arg, timeout=timeout)


def _wait_live(page: Any) -> None:
    """Wait for the socket badge (the element itself may not be rendered yet after a load)."""
    _wait(page, f"() => document.getElementById('{ids.CONNECTION}')?.textContent === 'live'")


def _session(page: Any) -> str:
    return page.evaluate(f"() => document.querySelector('#{ids.SESSION_STATE}').textContent"
                         ).split(" · ")[0]


def _map_count(page: Any) -> int:
    return page.evaluate(f"() => {{ const g = {GRAPH.format(id=ids.MAP)}; "
                         "return g && g.data && g.data[0] ? g.data[0].x.length : 0; }")


def _wait_map(page: Any, n: int) -> None:
    _wait(page, f"n => {{ const g = {GRAPH.format(id=ids.MAP)}; "
                "return g && g.data && g.data[0] && g.data[0].x.length >= n; }", n)


def _until(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def _point_of(page: Any, graph: str, x: Any, y: Any) -> tuple[float, float]:
    """Page pixel of data coordinates (x, y) (categories allowed) in a Plotly graph."""
    page.locator(f"#{graph}").scroll_into_view_if_needed()
    return tuple(page.evaluate(
        """([sel, x, y]) => { const gd = document.querySelector(sel);
            const fl = gd._fullLayout, r = gd.getBoundingClientRect();
            return [r.left + fl._size.l + fl.xaxis.d2p(x), r.top + fl._size.t + fl.yaxis.d2p(y)]; }""",
        [f"#{graph} .js-plotly-plot", x, y]))


def _click_heatmap(page: Any, cp: str, op: str, tries: int = 3) -> str:
    """Click a heatmap cell and return the edit preview (retried: a live re-render may eat it)."""
    for attempt in range(tries):
        x, y = _point_of(page, ids.HEATMAP, op, cp)
        page.mouse.click(x, y)
        try:
            _wait(page, "([id, op, cp]) => { const t = document.getElementById(id).textContent;"
                        " return t.includes(op) && t.includes(cp); }", [ids.EDIT_PREVIEW, op, cp],
                  timeout=4_000)
            break
        except Exception:
            if attempt == tries - 1:
                raise
    return page.text_content(f"#{ids.EDIT_PREVIEW}")


def _commands(worker: SyntheticWorker, kind: str) -> list[Any]:
    return [c for c in worker.commands if c.type == kind]


def _shot(page: Any, name: str, selector: str | None = None) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if selector:
        page.locator(selector).first.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    else:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# -- synthetic event stream ------------------------------------------------------------


def test_app_loads_with_builder_and_live_connection(page: Any) -> None:
    assert page.title() == "NAS Navigator"
    _wait(page, f"() => document.getElementById('{ids.SPACE_SIZE}').textContent.includes('15,625')")
    # a validation error from the template shows up while typing
    page.fill(f"#{ids.N_NODES}", "1")
    _wait(page, f"() => document.getElementById('{ids.BUILDER_ERROR}').textContent.includes('2 nodes')")
    page.fill(f"#{ids.N_NODES}", "3")
    _wait(page, f"() => document.getElementById('{ids.SPACE_SIZE}').textContent.startsWith('125 ')")
    page.fill(f"#{ids.N_NODES}", "4")
    _wait(page, f"() => document.getElementById('{ids.SPACE_SIZE}').textContent.includes('15,625')")
    assert page.text_content(f"#{ids.BUILDER_ERROR}") == ""


def test_start_then_points_appear_live(page: Any, synthetic: tuple) -> None:
    server, worker = synthetic
    page.click(f"#{ids.START}")
    _wait(page, f"() => document.getElementById('{ids.SESSION_STATE}').textContent.includes('running')")
    session = _session(page)
    assert session in worker.sessions
    _wait_map(page, 40)
    s = worker.sessions[session]
    for step in range(1, 11):
        s.publish_progress(0, step)
    for _ in range(3):
        before = _map_count(page)
        records = s.publish_candidates(25)
        _wait_map(page, before + 25)
    data = page.evaluate(f"() => {{ const d = {GRAPH.format(id=ids.MAP)}.data[0];"
                         " return {x: Array.from(d.x), arch: d.customdata.map(c => c[0])}; }")
    assert data["arch"][-25:] == [r["arch"] for r in records]
    assert data["x"][-1] == pytest.approx(records[-1]["x"])
    _wait(page, "() => (window.navigatorEvents || []).some(e => e.type === 'leaderboard')")
    assert page.locator(f"#{ids.LEADERBOARD} tbody tr").count() > 5
    _wait(page, f"() => document.getElementById('{ids.PROGRESS_TEXT}').textContent.includes('ETA')")
    seqs = page.evaluate("window.navigatorSeqLog")
    assert seqs == list(range(1, server.bus.last_seq(session) + 1))


def test_heatmap_click_confirm_sends_prune_and_greys_the_cell(page: Any, synthetic: tuple) -> None:
    _, worker = synthetic
    _wait(page, f"() => {GRAPH.format(id=ids.HEATMAP)} && {GRAPH.format(id=ids.HEATMAP)}.data.length == 2")
    preview = _click_heatmap(page, "1<-0", "none")
    assert "prune_op" in preview and "12,500 architectures remain" in preview
    page.click(f"#{ids.CONFIRM_EDIT}")
    command = _until(lambda: _commands(worker, "prune_op"), what="prune_op")[-1]
    assert command.args == {"choice_point": "1<-0", "op": "none"}
    # the worker's steering event greys the cell (z on the grey layer)
    _wait(page, f"""() => {{ const d = {GRAPH.format(id=ids.HEATMAP)}.data;
        const r = d[0].y.indexOf('1<-0'), c = d[0].x.indexOf('none'); return d[0].z[r][c] === 1; }}""")
    # clicking it again offers a restore; the last op of an edge cannot be pruned
    assert "restore_op" in _click_heatmap(page, "1<-0", "none")


def test_lock_mode_sends_lock_edge(page: Any, synthetic: tuple) -> None:
    _, worker = synthetic
    page.check(f"#{ids.HEAT_MODE} input[value='lock']")
    preview = _click_heatmap(page, "3<-2", "nor_conv_3x3")
    assert "lock_edge" in preview and "2,500 architectures" in preview  # 4 * 5 ** 4
    page.click(f"#{ids.CONFIRM_EDIT}")
    command = _until(lambda: _commands(worker, "lock_edge"), what="lock_edge")[-1]
    assert command.args == {"choice_point": "3<-2", "op": "nor_conv_3x3"}
    _wait(page, f"""() => {{ const d = {GRAPH.format(id=ids.HEATMAP)}.data[1];
        const r = d.y.indexOf('3<-2'), c = d.x.indexOf('nor_conv_3x3'); return d.text[r][c].includes('🔒'); }}""")
    page.check(f"#{ids.HEAT_MODE} input[value='prune']")
    _shot(page, "fitness", ".panel.fitness")


def test_lasso_selection_sends_focus_with_selected_archs(page: Any, synthetic: tuple) -> None:
    _, worker = synthetic
    box = page.evaluate(f"""() => {{ const gd = {GRAPH.format(id=ids.MAP)}, d = gd.data[0];
        const xs = Array.from(d.x).sort((a, b) => a - b), ys = Array.from(d.y).sort((a, b) => a - b);
        const q = (v, f) => v[Math.floor(f * (v.length - 1))];
        return [q(xs, 0.2), q(xs, 0.8), q(ys, 0.2), q(ys, 0.8)]; }}""")
    x0, y0 = _point_of(page, ids.MAP, box[0], box[2])
    x1, y1 = _point_of(page, ids.MAP, box[1], box[3])
    page.mouse.move(x0, y0)
    page.mouse.down()
    for px, py in ((x1, y0), (x1, y1), (x0, y1), (x0, y0 + 1)):
        page.mouse.move(px, py, steps=6)
    page.mouse.up()
    _wait(page, f"() => /\\d+ candidates selected/.test(document.getElementById('{ids.SELECTION_INFO}').textContent)")
    selected = int(page.text_content(f"#{ids.SELECTION_INFO}").split()[0])
    assert selected > 3
    _shot(page, "map-selection", ".panel.map")
    page.click(f"#{ids.FOCUS}")
    command = _until(lambda: _commands(worker, "focus"), what="focus")[-1]
    assert len(command.args["archs"]) == selected
    assert all(a.count("+") == 2 for a in command.args["archs"])


def test_pause_and_resume(page: Any, synthetic: tuple) -> None:
    _, worker = synthetic
    page.click(f"#{ids.PAUSE}")
    _wait(page, f"() => document.getElementById('{ids.SESSION_STATE}').textContent.includes('paused')")
    page.click(f"#{ids.RESUME}")
    _wait(page, f"() => document.getElementById('{ids.SESSION_STATE}').textContent.includes('running')")
    assert [c.type for c in worker.commands if c.type in ("pause", "resume")][-2:] == ["pause", "resume"]
    _wait(page, f"() => document.getElementById('{ids.TIMELINE}').textContent.includes('pause')")


def test_malformed_raw_socket_command_gets_command_error_ui_keeps_working(page: Any,
                                                                         synthetic: tuple) -> None:
    _, worker = synthetic
    replies = page.evaluate("""() => new Promise((resolve, reject) => {
        const ws = new WebSocket(location.origin.replace('http', 'ws') + '/socket.io/?EIO=4&transport=websocket');
        const got = [];
        ws.onmessage = (m) => {
            const text = String(m.data);
            if (text === '2') { ws.send('3'); return; }              // engine.io ping
            if (text.startsWith('0')) { ws.send('40'); return; }     // open -> socket.io connect
            if (text.startsWith('40')) {                             // connected: send garbage
                ws.send('42["command","drop tables"]');
                ws.send('42["command",{"type":"prune_op","session":"x","args":{"op":7}}]');
                return;
            }
            if (text.startsWith('42')) { got.push(JSON.parse(text.slice(2))); }
            if (got.length === 2) { ws.close(); resolve(got); }
        };
        ws.onerror = () => reject('websocket error');
        setTimeout(() => reject('no reply'), 8000);
    })""")
    assert [r[0] for r in replies] == ["command_error", "command_error"]
    assert "must be a JSON object, got str" in replies[0][1]["reason"]
    assert "missing argument 'choice_point'" in replies[1][1]["reason"]
    # the page is still live: new candidates keep arriving and controls still send commands
    s = worker.sessions[_session(page)]
    before = _map_count(page)
    s.publish_candidates(5)
    _wait_map(page, before + 5)
    n = len(_commands(worker, "pause"))
    page.click(f"#{ids.PAUSE}")
    _until(lambda: len(_commands(worker, "pause")) > n, what="pause after garbage")
    page.click(f"#{ids.RESUME}")


def test_reconnect_catches_up_without_gap(page: Any, synthetic: tuple) -> None:
    server, worker = synthetic
    session = _session(page)
    s = worker.sessions[session]
    first_id = _socket_id(page)
    assert first_id
    sio = server.socketio.server
    # Drop the transport under the page (as a network blip would); the client reconnects itself.
    # In a thread: engine.io's close waits for its send queue to drain, which can block.
    eio_sid = sio.manager.eio_sid_from_sid(first_id, "/")
    threading.Thread(target=sio.eio.disconnect, args=(eio_sid,), daemon=True).start()
    for _ in range(3):
        s.publish_candidates(4)  # published while the page is away
    _until(lambda: _socket_id(page) not in (None, first_id), what="a new socket id")
    total = server.bus.last_seq(session)
    _wait(page, "n => window.navigatorSeqLog[window.navigatorSeqLog.length - 1] >= n", total)
    assert page.evaluate("window.navigatorSeqLog") == list(range(1, total + 1))
    assert page.text_content(f"#{ids.CONNECTION}") == "live"
    # a reload keeps the session and resumes from the last seq it saw
    page.reload()
    _wait_live(page)
    s.publish_candidates(3)
    total = server.bus.last_seq(session)
    _wait(page, "n => (window.navigatorSeqLog || []).slice(-1)[0] >= n", total)
    log = page.evaluate("window.navigatorSeqLog")
    assert log == list(range(log[0], total + 1)) and log[0] > 1  # contiguous, no replay from 1
    _wait_map(page, len(s.records))


def test_second_tab_on_the_same_session_sees_the_same_live_state(browser: Any, page: Any,
                                                                  synthetic: tuple) -> None:
    server, worker = synthetic
    session = _session(page)
    context = browser.new_context(viewport=VIEWPORT)
    other = context.new_page()
    other.set_default_timeout(15_000)
    try:
        other.goto(server.url)
        _wait_live(other)
        other.click(f"#{ids.SESSION_PICK}")
        other.get_by_role("option", name=session).click()
        _wait(other, "s => document.getElementById('session-state').textContent.startsWith(s)", session)
        s = worker.sessions[session]
        s.publish_candidates(6)
        total = len(s.records)
        for pg in (page, other):
            _wait_map(pg, total)
        archs = [pg.evaluate(f"() => {GRAPH.format(id=ids.MAP)}.data[0].customdata.map(c => c[0]).sort()")
                 for pg in (page, other)]
        assert archs[0] == archs[1] and len(archs[0]) == total
        # an edit from one tab reaches the other through the worker's steering event
        page.click(f"#{ids.PAUSE}")
        _wait(other, f"() => document.getElementById('{ids.SESSION_STATE}').textContent.includes('paused')")
        page.click(f"#{ids.RESUME}")
        _wait(other, f"() => document.getElementById('{ids.SESSION_STATE}').textContent.includes('running')")
    finally:
        context.close()


def _socket_id(page: Any) -> str | None:
    return page.evaluate("() => window.navigatorSocket && window.navigatorSocket.connected"
                         " ? window.navigatorSocket.id : null")


def test_proxy_colouring_correlations_and_budget_slider(page: Any, synthetic: tuple) -> None:
    _, worker = synthetic
    s = worker.sessions[_session(page)]
    synflow = {r["arch"]: r["scores"]["synflow"] for r in s.records}
    page.click(f"#{ids.MAP_COLOR}")
    page.get_by_role("option", name="synflow", exact=True).click()
    _wait(page, f"""s => {{ const d = {GRAPH.format(id=ids.MAP)}.data[0];
        return d.customdata.length > 0 && d.customdata.every((c, i) => d.marker.color[i] === s[c[0]]); }}""",
          synflow)
    _wait(page, f"() => Array.from({GRAPH.format(id=ids.PROXY_CORR)}.data[0].x).includes('synflow')")
    _wait(page, f"() => {GRAPH.format(id=ids.PARETO)}.data[1].x.length >= 2")
    box = page.locator(f"#{ids.BUDGET_SLIDER} input[type=number]")
    box.fill("0.8")
    box.press("Enter")
    page.click(f"#{ids.APPLY_BUDGET}")
    command = _until(lambda: _commands(worker, "set_latency_budget"), what="set_latency_budget")[-1]
    assert command.args == {"budget_ms": 0.8, "device": "host"}
    _wait(page, f"() => document.getElementById('{ids.HARDWARE_INFO}').textContent.includes('budget 0.80 ms')")
    _wait(page, f"() => ({GRAPH.format(id=ids.PARETO)}.layout.shapes || []).some(s => s.x0 === 0.8)")
    _shot(page, "hardware", ".panel.hardware")
    page.click(f"#{ids.MAP_COLOR}")
    page.get_by_role("option", name="accuracy", exact=True).click()


def test_candidate_view_compare_and_screenshots(page: Any, synthetic: tuple) -> None:
    page.click(f"#{ids.LEADERBOARD} tbody tr:nth-child(3) input[type=radio]")
    _wait(page, f"() => {GRAPH.format(id=ids.CANDIDATE_GRAPH_A)}.data.length > 6")
    page.click(f"#{ids.PIN_B}")
    _wait(page, f"() => {GRAPH.format(id=ids.CANDIDATE_GRAPH_B)}.data.length > 6")
    page.click(f"#{ids.LEADERBOARD} tbody tr:nth-child(4) input[type=radio]")
    _wait(page, f"""() => {{ const a = {GRAPH.format(id=ids.CANDIDATE_GRAPH_A)}.layout.annotations,
        b = {GRAPH.format(id=ids.CANDIDATE_GRAPH_B)}.layout.annotations;
        return a.length && b.length && a[a.length - 1].text !== b[b.length - 1].text; }}""")
    text = page.evaluate(f"() => {GRAPH.format(id=ids.CANDIDATE_GRAPH_A)}.layout.annotations.slice(-1)[0].text")
    assert "accuracy" in text and "params" in text and "FLOPs" in text and "latency" in text
    _shot(page, "candidates", ".panel.candidates")
    _shot(page, "leaderboard", ".panel.leaderboard")
    _shot(page, "training", ".panel.training")
    _shot(page, "map", ".panel.map")
    _shot(page, "builder-controls", ".sidebar")
    _shot(page, "overview-light")
    page.click(f"#{ids.THEME_TOGGLE}")
    _wait(page, "() => document.documentElement.dataset.theme === 'dark'")
    _wait(page, f"() => {GRAPH.format(id=ids.MAP)}.layout.template.layout.paper_bgcolor !== 'white'")
    _shot(page, "overview-dark")
    page.click(f"#{ids.THEME_TOGGLE}")
    _wait(page, "() => document.documentElement.dataset.theme === 'light'")


# -- the real embedded worker -------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(workers=True, data_dir=tmp_path_factory.mktemp("navigator")).start()
    yield server
    server.stop()


def _events(page: Any, kind: str) -> list[dict]:
    return page.evaluate("k => (window.navigatorEvents || []).filter(e => e.type === k)", kind)


def test_real_worker_prune_and_lock_are_obeyed(browser: Any, real: LiveServer) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    try:
        pg.goto(real.url)
        _wait_live(pg)
        pg.fill(f"#{ids.EPOCHS}", "2")
        pg.click(f"#{ids.START}")
        _wait(pg, "() => (window.navigatorEvents || []).some(e => e.type === 'candidates')", timeout=60_000)
        _wait(pg, f"() => {GRAPH.format(id=ids.HEATMAP)} && {GRAPH.format(id=ids.HEATMAP)}.data.length == 2")
        session = _session(pg)
        assert session.startswith("s-")
        _click_heatmap(pg, "1<-0", "nor_conv_3x3")
        pg.click(f"#{ids.CONFIRM_EDIT}")
        pg.check(f"#{ids.HEAT_MODE} input[value='lock']")
        _click_heatmap(pg, "2<-1", "skip_connect")
        pg.click(f"#{ids.CONFIRM_EDIT}")
        _wait(pg, """() => (window.navigatorEvents || []).some(e => e.type === 'steering'
                      && e.data.locked['2<-1'] === 'skip_connect'
                      && (e.data.pruned['1<-0'] || []).includes('nor_conv_3x3'))""", timeout=30_000)
        acks = {e["data"]["command"]: e["seq"] for e in _events(pg, "command_ack")}
        assert {"prune_op", "lock_edge"} <= set(acks)
        after = max(acks.values())
        _wait(pg, "n => (window.navigatorEvents || []).filter(e => e.type === 'candidates' "
                  "&& e.seq > n).length >= 2", after, timeout=60_000)
        later = [r["arch"] for e in _events(pg, "candidates") if e["seq"] > after
                 for r in e["data"]["records"]]
        assert len(later) >= 10
        scored = [r["scores"] for e in _events(pg, "candidates") for r in e["data"]["records"]]
        assert all({"synflow", "naswot"} <= set(sc) for sc in scored)  # the builder's default proxies
        for arch in later:
            nodes = arch.split("+")
            assert not nodes[0].startswith("|nor_conv_3x3~0|"), arch  # 1<-0 pruned
            assert nodes[1].split("|")[2] == "skip_connect~1", arch   # 2<-1 locked
        # pause / resume against the real worker
        pg.click(f"#{ids.PAUSE}")
        _wait(pg, f"() => document.getElementById('{ids.SESSION_STATE}').textContent.includes('paused')")
        pg.click(f"#{ids.RESUME}")
        _wait(pg, f"() => document.getElementById('{ids.SESSION_STATE}').textContent.includes('running')")
        # export the selected leaderboard row: JSON + stand-alone module written by the worker
        pg.click(f"#{ids.LEADERBOARD} tbody tr:nth-child(4) input[type=radio]")  # 2nd data row
        pg.click(f"#{ids.EXPORT}")
        _wait(pg, f"() => document.getElementById('{ids.EXPORT_STATUS}').textContent.includes('last export')",
              timeout=60_000)
        exported = _events(pg, "exported")[-1]["data"]
        assert Path(exported["files"]["model"]).is_file() and Path(exported["files"]["json"]).is_file()
        _shot(pg, "real-worker-overview")
        (SCREENSHOTS / "real-worker-steering.json").write_text(json.dumps(
            _events(pg, "steering")[-1]["data"], indent=1))
        pg.click(f"#{ids.STOP}")  # frees the embedded worker for the next test
        _wait(pg, f"() => document.getElementById('{ids.SESSION_STATE}').textContent.includes('stopped')")
    finally:
        context.close()


def test_real_tabular_session_obeys_the_latency_budget_slider(browser: Any, real: LiveServer) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    try:
        pg.goto(real.url)
        _wait_live(pg)
        pg.click(f"#{ids.PRESET}")
        pg.get_by_role("option", name="NAS-Bench-201 (15,625 archs)").click()
        _wait(pg, f"() => document.getElementById('{ids.SPACE_SIZE}').textContent.includes('15,625')")
        pg.check(f"#{ids.MODE} input[value='tabular']")
        pg.fill(f"#{ids.TABLE_PATH}", "synthetic:2")
        pg.click(f"#{ids.START}")
        _wait(pg, "() => (window.navigatorEvents || []).some(e => e.type === 'hardware'"
                  " && e.data.predictor_srcc !== null && e.data.measured >= 40)", timeout=60_000)
        seen = sorted(r["latency_ms"] for e in _events(pg, "candidates") for r in e["data"]["records"])
        budget = round(seen[len(seen) // 2], 2)
        box = pg.locator(f"#{ids.BUDGET_SLIDER} input[type=number]")
        box.fill(str(budget))
        box.press("Enter")
        pg.click(f"#{ids.APPLY_BUDGET}")
        _wait(pg, "() => (window.navigatorEvents || []).some(e => e.type === 'command_ack'"
                  " && e.data.command === 'set_latency_budget')")
        ack = [e for e in _events(pg, "command_ack") if e["data"]["command"] == "set_latency_budget"][-1]
        assert ack["data"]["args"]["budget_ms"] == pytest.approx(budget)
        _wait(pg, "n => (window.navigatorEvents || []).filter(e => e.type === 'candidates'"
                  " && e.seq > n).length >= 3", ack["seq"], timeout=60_000)
        later = [r["latency_ms"] for e in _events(pg, "candidates") if e["seq"] > ack["seq"]
                 for r in e["data"]["records"]]
        assert len(later) >= 20
        assert sum(v <= budget * 1.1 for v in later) >= 0.9 * len(later)  # by the table's truth
        _wait(pg, f"() => document.getElementById('{ids.HARDWARE_INFO}').textContent.includes('budget')")
        _shot(pg, "hardware-tabular", ".panel.hardware")
        pg.click(f"#{ids.STOP}")
        _wait(pg, f"() => document.getElementById('{ids.SESSION_STATE}').textContent.includes('stopped')")
    finally:
        context.close()
