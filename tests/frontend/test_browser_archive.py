"""The whole archive in the browser: thousands of candidates, sorted, filtered and paged by
the server through dash-ag-grid's infinite row model, ties broken visibly (issue 16,
item 7). Run with ``pytest -m browser``."""

from __future__ import annotations

from typing import Any

import pytest

from frontend import ids
from frontend.ranking import ranked_rows
from navigator.events import Candidates
from tests.frontend.test_browser import _tab, _wait
from tests.support.browser import running_session

pytestmark = pytest.mark.browser

API = f"window.dash_ag_grid.getApi('{ids.ARCHIVE}')"


def _rows(page: Any, first: int, n: int) -> list[dict]:
    """The rows the grid holds at ``first`` .. ``first + n`` (None where not loaded)."""
    return page.evaluate(f"""([a, n]) => {{ const api = {API}; const out = [];
        for (let i = a; i < a + n; i++) {{ const node = api.getDisplayedRowAtIndex(i);
          out.push(node && node.data ? node.data : null); }}
        return out; }}""", [first, n])


def _wait_rows(page: Any, first: int, predicate: str, arg: Any = None) -> None:
    _wait(page, f"""([a, arg]) => {{ const api = window.dash_ag_grid?.getApi?.('{ids.ARCHIVE}');
        if (!api) return false; const node = api.getDisplayedRowAtIndex(a);
        return !!(node && node.data) && ({predicate})(node.data, api, arg); }}""", [first, arg])


def test_archive_sorts_filters_and_pages_thousands_on_the_server(browser: Any,
                                                                 synthetic: tuple) -> None:
    server, worker = synthetic
    with running_session(browser, server, {"width": 1600, "height": 1000}, timeout_ms=20_000) as (pg, session):
        s = worker.sessions[session]
        for _ in range(5):
            s.publish_candidates(500, fitness=False)
        # two crafted ties: equal accuracy, told apart by loss, then by evaluations
        tied = [s.record(a) | {"accuracy": 0.99, "loss": loss} for a, loss in
                zip(s.new_archs(3), (0.2, 0.1, 0.1))]
        server.bus.publish(session, Candidates(generation=99, records=tied))
        server.bus.publish(session, Candidates(generation=99, records=[tied[2]]))  # evaluated twice
        records = {r["arch"]: r for r in s.records + tied}
        total = len(records)
        assert total >= 2000
        _tab(pg, "Archive")
        _wait(pg, "n => document.getElementById('" + ids.ARCHIVE_INFO + "').textContent"
                  ".startsWith(n.toLocaleString('en-US') + ' evaluated')", total)
        _wait_rows(pg, 0, "(d, api, n) => api.getDisplayedRowCount() === n", total)

        # the top rows: the tie at 0.99, broken by loss, then by evaluations, and it says so
        top = _rows(pg, 0, 3)
        assert [r["arch"] for r in top] == [tied[2]["arch"], tied[1]["arch"], tied[0]["arch"]]
        assert [r["tie"] for r in top] == ["", "evaluations", "loss"]
        assert top[0]["evaluations"] == 2

        # a row ticked in the archive is drawn in the Candidates panel
        pg.evaluate(f"() => {API}.getDisplayedRowAtIndex(1).setSelected(true)")
        ops = [entry.rpartition("~")[0] for node in tied[1]["arch"].split("+")
               for entry in node.strip("|").split("|")]
        _wait(pg, "ops => JSON.stringify((document.querySelector('#" + ids.CANDIDATE_GRAPH_A
                  + " .js-plotly-plot')?.layout?.annotations || []).map(a => a.text).slice(0, -1))"
                  " === JSON.stringify(ops)", ops)

        # paged: far rows come from the server on demand, in the same order as the ranking
        expected = ranked_rows(list(records.values()), {tied[2]["arch"]: 2})
        pg.evaluate(f"() => {API}.ensureIndexVisible({total - 5}, 'bottom')")
        _wait_rows(pg, total - 5, "(d, api, arch) => d.arch === arch", expected[total - 5]["arch"])
        loaded = pg.evaluate(f"() => {{ let n = 0; {API}.forEachNode(x => {{ if (x.data) n++; }});"
                             " return n; }")
        assert loaded < total  # not the whole archive in the page

        # sorted by the server: smallest params first
        pg.evaluate(f"() => {{ {API}.ensureIndexVisible(0); {API}.applyColumnState("
                    "{state: [{colId: 'params', sort: 'asc'}], defaultState: {sort: null}}); }")
        smallest = min(r["params"] for r in records.values())
        _wait_rows(pg, 0, "(d, api, p) => d.params === p", smallest)
        # filtered by the server: accuracy above a threshold
        threshold = sorted(r["accuracy"] for r in records.values())[total // 2]
        above = sum(r["accuracy"] > threshold for r in records.values())
        pg.evaluate(f"t => {API}.setFilterModel({{accuracy: {{filterType: 'number', "
                    "type: 'greaterThan', filter: t}})", threshold)
        _wait_rows(pg, 0, "(d, api, n) => api.getDisplayedRowCount() === n", above)
        assert all(r is None or r["accuracy"] > threshold for r in _rows(pg, 0, 50))
