"""The whole archive: every evaluated candidate of the session, sorted and filtered by the server.

The leaderboard holds the top 20; the archive grid (dash-ag-grid's infinite row model)
holds all of them, thousands, and asks the server for one block of rows at a time
(``getRowsRequest`` -> ``getRowsResponse``), with the grid's sort and filter models applied
here to the session view's current records. Nothing but the visible blocks crosses the socket.

Ranks break ties visibly: equal accuracy goes to the lower loss, then to the architecture
evaluated more often; the ``tie`` column says which rule placed a candidate below its
neighbour, so two equal scores never look arbitrarily ordered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import dash_ag_grid as dag
from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from frontend import ids
from frontend.callbacks import live, watched_view
from frontend.ranking import number as _number
from frontend.ranking import ranked_rows

if TYPE_CHECKING:
    from frontend.hub import Hub

BLOCK_ROWS = 100  # rows per request: the grid's cacheBlockSize
NUMERIC = ("rank", "accuracy", "loss", "evaluations", "params", "flops", "latency_ms", "generation")
COLUMNS: list[dict[str, Any]] = [
    {"field": "rank", "headerName": "rank", "width": 80, "filter": "agNumberColumnFilter"},
    {"field": "tie", "headerName": "tie broken by", "width": 120, "sortable": False,
     "filter": False},
    {"field": "arch", "headerName": "architecture", "flex": 2, "minWidth": 260,
     "filter": "agTextColumnFilter"},
    {"field": "accuracy", "headerName": "accuracy", "width": 110, "filter": "agNumberColumnFilter",
     "valueFormatter": {"function": "params.value == null ? '' : d3.format('.4f')(params.value)"}},
    {"field": "loss", "headerName": "loss", "width": 100, "filter": "agNumberColumnFilter",
     "valueFormatter": {"function": "params.value == null ? '' : d3.format('.4f')(params.value)"}},
    {"field": "evaluations", "headerName": "evals", "width": 90, "filter": "agNumberColumnFilter"},
    {"field": "params", "headerName": "params", "width": 110, "filter": "agNumberColumnFilter",
     "valueFormatter": {"function": "params.value == null ? '' : d3.format(',')(params.value)"}},
    {"field": "flops", "headerName": "FLOPs", "width": 120, "filter": "agNumberColumnFilter",
     "valueFormatter": {"function": "params.value == null ? '' : d3.format(',')(params.value)"}},
    {"field": "latency_ms", "headerName": "latency ms", "width": 110,
     "filter": "agNumberColumnFilter",
     "valueFormatter": {"function": "params.value == null ? '' : d3.format('.3f')(params.value)"}},
    {"field": "generation", "headerName": "gen", "width": 80, "filter": "agNumberColumnFilter"},
]


def _number_test(kind: str, a: float | None, b: float | None) -> Callable[[Any], bool]:
    tests: dict[str, Callable[[float], bool]] = {
        "equals": lambda v: v == a, "notEqual": lambda v: v != a,
        "lessThan": lambda v: a is not None and v < a,
        "lessThanOrEqual": lambda v: a is not None and v <= a,
        "greaterThan": lambda v: a is not None and v > a,
        "greaterThanOrEqual": lambda v: a is not None and v >= a,
        "inRange": lambda v: a is not None and b is not None and a <= v <= b,
    }
    if kind == "blank":
        return lambda v: _number(v) is None
    if kind == "notBlank":
        return lambda v: _number(v) is not None
    if kind not in tests:
        raise ValueError(f"unknown number filter {kind!r}")
    test = tests[kind]
    return lambda v: _number(v) is not None and test(float(v))


def _text_test(kind: str, text: str) -> Callable[[Any], bool]:
    needle = text.lower()
    tests: dict[str, Callable[[str], bool]] = {
        "contains": lambda v: needle in v, "notContains": lambda v: needle not in v,
        "equals": lambda v: v == needle, "notEqual": lambda v: v != needle,
        "startsWith": lambda v: v.startswith(needle), "endsWith": lambda v: v.endswith(needle),
        "blank": lambda v: v == "", "notBlank": lambda v: v != "",
    }
    if kind not in tests:
        raise ValueError(f"unknown text filter {kind!r}")
    test = tests[kind]
    return lambda v: test(str(v or "").lower())


def _condition(model: dict[str, Any]) -> Callable[[Any], bool]:
    """One column filter of the grid's filter model (a condition or AND/OR of conditions)."""
    if "conditions" in model:
        parts = [_condition(c) for c in model["conditions"]]
        if model.get("operator") == "OR":
            return lambda v: any(p(v) for p in parts)
        return lambda v: all(p(v) for p in parts)
    kind = model.get("type", "contains")
    if model.get("filterType") == "number":
        return _number_test(kind, _number(model.get("filter")), _number(model.get("filterTo")))
    return _text_test(kind, str(model.get("filter") or ""))


def archive_page(rows: list[dict[str, Any]], request: dict[str, Any] | None) -> dict[str, Any]:
    """The block of ``rows`` (ranked) the grid asks for, after its filters and sort."""
    request = request or {}
    for column, model in (request.get("filterModel") or {}).items():
        if column in COLUMNS_BY_FIELD:
            test = _condition(model)
            rows = [r for r in rows if test(r.get(column))]
    for item in reversed(request.get("sortModel") or []):  # the first sort key is the major one
        column, descending = item.get("colId"), item.get("sort") == "desc"
        if column not in COLUMNS_BY_FIELD:
            continue
        if column in NUMERIC:
            # a missing value sorts last either way (the rank order breaks the ties)
            present = [r for r in rows if _number(r.get(column)) is not None]
            missing = [r for r in rows if _number(r.get(column)) is None]
            rows = sorted(present, key=lambda r: float(r[column]), reverse=descending) + missing
        else:
            rows = sorted(rows, key=lambda r: str(r.get(column) or ""), reverse=descending)
    start = max(int(request.get("startRow") or 0), 0)
    end = max(int(request.get("endRow") or start + BLOCK_ROWS), start)
    return {"rowData": rows[start:end], "rowCount": len(rows)}


COLUMNS_BY_FIELD = {c["field"]: c for c in COLUMNS}


def archive_panel() -> html.Section:
    return html.Section([
        html.H3("Archive: every evaluated candidate"),
        html.Div(id=ids.ARCHIVE_INFO, className="hint"),
        html.Div("Tick a row to draw it in the Candidates panel (and pin it for comparison).",
                 className="hint"),
        dcc.Store(id=ids.ARCHIVE_REFRESHED),
        dag.AgGrid(id=ids.ARCHIVE, rowModelType="infinite", columnDefs=COLUMNS,
                   defaultColDef={"sortable": True, "resizable": True,
                                  "filterParams": {"maxNumConditions": 2}},
                   dashGridOptions={"cacheBlockSize": BLOCK_ROWS, "maxBlocksInCache": 20,
                                    "rowSelection": {"mode": "singleRow"},
                                    "infiniteInitialRowCount": 1},
                   style={"height": "460px", "width": "100%"}),
    ], className="panel archive")


def register_archive(app: Dash, hub: Hub) -> None:
    @app.callback(Output(ids.ARCHIVE, "getRowsResponse"), Input(ids.ARCHIVE, "getRowsRequest"),
                  State(ids.SESSION, "data"), prevent_initial_call=True)
    def rows(request: dict | None, session: str | None) -> dict[str, Any]:
        if not session:
            return {"rowData": [], "rowCount": 0}
        view = watched_view(hub, session)
        with view.lock:
            ranked = ranked_rows(view.current_records(), dict(view.evaluations),
                                 view.higher_is_better)
        try:
            return archive_page(ranked, request)
        except ValueError:  # a filter this page does not know: show nothing rather than guess
            return {"rowData": [], "rowCount": 0}

    @app.callback(Output(ids.ARCHIVE_INFO, "children"), live(ids.LIVE_MAP),
                  Input(ids.SESSION, "data"))
    def info(_events: Any, session: str | None) -> str:
        if not session:
            return "start or join a session: its candidates are listed here"
        view = watched_view(hub, session)
        with view.lock:
            n = len(view.current_archs())
        return (f"{n:,} evaluated candidates; sort or filter any column (the server does it). "
                "Equal accuracies are ranked by lower loss, then by more evaluations.")

    @app.callback(Output(ids.CANDIDATE_A, "data", allow_duplicate=True),
                  Input(ids.ARCHIVE, "selectedRows"), prevent_initial_call=True)
    def choose(selected: list | None) -> str:
        """A row picked in the archive is drawn in the Candidates panel (and can be pinned)."""
        if not selected or not isinstance(selected[0], dict) or not selected[0].get("arch"):
            raise PreventUpdate
        return str(selected[0]["arch"])

    # New candidates or another session: the grid asks again for the blocks it shows.
    app.clientside_callback(
        "function(_e, _s) { return window.navigator_workspace.refreshArchive("
        f"'{ids.ARCHIVE}'); }}",
        Output(ids.ARCHIVE_REFRESHED, "data"), live(ids.LIVE_MAP), Input(ids.SESSION, "data"),
        prevent_initial_call=True)

