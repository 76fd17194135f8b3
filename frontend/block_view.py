"""The block-information view: every (choice point, op) of the template as one dot.

x = mean accuracy of the candidates that use the block, y = how often it was evaluated,
colour = choice point (``figures.block_information``). It redraws with the fitness
heatmap's live trigger (``fitness``, ``steering``, ``candidates`` and ``space`` events).

- **hover** a dot: the block's brick is outlined in the template strip under the dots
  (``figures.template_strip``: every choice point with its candidates, pruned ones faded),
  the status line says where it sits (choice point k of N) and how many mapped candidates
  use it, and those candidates are ringed on the architecture map. The server sends the matching arch strings to a store; the browser
  draws the ring as an overlay trace on the map (``assets/block_view.js``), so the map's
  own live updates (``navigator_glue.liveMap``) and lasso selection are left untouched.
- **click** a dot: prune / restore or lock / unlock it, after the same preview and confirm
  step as a heatmap cell (``edits.block_edit`` and ``callbacks.register_confirm``), with the
  resulting space size.

Choice-point names are never parsed: cell edges ("2<-0") and chain-of-blocks names
("layer1.block") are both just names; arch strings are decoded by the session's own
``SearchSpace``.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from frontend import figures, ids
from frontend.callbacks import live, marker_of, proposal, register_confirm, watched_view
from frontend.edits import block_edit, position_of
from frontend.evidence_figures import with_model
from frontend.metric_units import heatmap_units
from supernet.space import SearchSpace

if TYPE_CHECKING:
    from frontend.hub import Hub

HOVER_HINT = "hover a block to see where it sits in the template and ring its candidates on the map"
MAX_CACHED_SESSIONS = 8


def blocks_panel() -> html.Section:
    """The "Blocks" panel (laid out after "Fitness" in ``layout.views``), stores included."""
    return html.Section([
        html.H3("Blocks"),
        dcc.RadioItems(id=ids.BLOCK_MODE, options=[
            {"label": "click prunes / restores", "value": "prune"},
            {"label": "click locks / unlocks", "value": "lock"}], value="prune", inline=True),
        dcc.Graph(id=ids.BLOCKS, config={"displaylogo": False}, style={"height": "340px"},
                  clear_on_unhover=True),
        html.Div(HOVER_HINT, id=ids.BLOCK_INFO, className="hint"),
        dcc.Graph(id=ids.BLOCK_TEMPLATE, config={"displaylogo": False, "displayModeBar": False},
                  style={"height": "200px"}),
        html.Div([html.Span(id=ids.BLOCK_PREVIEW, className="hint"),
                  html.Button("Confirm", id=ids.BLOCK_CONFIRM, className="primary")],
                 className="button-row"),
        dcc.Store(id=ids.RENDERED_BLOCKS), dcc.Store(id=ids.BLOCK_PENDING),
        dcc.Store(id=ids.BLOCK_HOVER), dcc.Store(id=ids.BLOCK_HIGHLIGHTED),
    ], className="panel blocks")


class ParsedArchs:
    """Arch strings of each session's map, decoded once (archs are only ever appended).

    A hover asks which candidates use a block; decoding thousands of arch strings on every
    hover would cost tens of ms each time, so the decoded tuples are kept per session and
    only the new tail is decoded.
    """

    def __init__(self, max_sessions: int = MAX_CACHED_SESSIONS) -> None:
        self._lock = threading.Lock()
        self._max = max_sessions
        self._by_session: OrderedDict[str, tuple[str, SearchSpace, list[tuple[str, ...] | None]]] = (
            OrderedDict())

    def decoded(self, session: str, template: dict[str, Any], archs: list[str]
                ) -> tuple[SearchSpace, list[tuple[str, ...] | None]]:
        """The space and one decoded arch per entry of ``archs`` (None where it does not parse)."""
        key = json.dumps(template, sort_keys=True)
        with self._lock:
            entry = self._by_session.get(session)
            if entry is None or entry[0] != key or len(entry[2]) > len(archs):
                entry = (key, SearchSpace.from_dict(template), [])
            _, space, parsed = entry
            for text in archs[len(parsed):]:
                try:
                    parsed.append(space.from_string(text))
                except (ValueError, KeyError, IndexError):
                    parsed.append(None)
            self._by_session[session] = entry
            self._by_session.move_to_end(session)
            while len(self._by_session) > self._max:
                self._by_session.popitem(last=False)
            return space, list(parsed)


def archs_using(space: SearchSpace, decoded: list[tuple[str, ...] | None], archs: list[str],
                cp: str, op: str) -> list[str]:
    """The arch strings (of ``archs``, decoded as ``decoded``) that pick ``op`` at ``cp``."""
    names = [c.name for c in space]
    if cp not in names:
        return []
    k = names.index(cp)
    return [text for text, arch in zip(archs, decoded) if arch is not None and arch[k] == op]


def register_block_view(app: Dash, hub: Hub) -> None:
    parsed = ParsedArchs()

    @app.callback(Output(ids.BLOCKS, "figure"), Output(ids.RENDERED_BLOCKS, "data"),
                  live(ids.LIVE_HEATMAP), Input(ids.SESSION, "data"), Input(ids.THEME, "data"),
                  State(ids.RENDERED_BLOCKS, "data"))
    def render(_events: Any, session: str | None, theme: str, rendered: Any) -> tuple:
        if not session:
            return figures.block_information({}, {}, theme == "dark"), None
        view = watched_view(hub, session)
        marker = marker_of(view, rendered, ids.LIVE_HEATMAP)
        with view.lock:
            if view.space is None:
                raise PreventUpdate
            names = [cp["name"] for cp in view.space["choice_points"]]
            matrix, label, lower = heatmap_units(view.fitness, view.task, view.trust)
            fig = figures.block_information(with_model(matrix, view.evidence), view.steering,
                                            theme == "dark", names, label, lower)
        return fig, marker

    @app.callback(Output(ids.BLOCK_HOVER, "data"), Output(ids.BLOCK_INFO, "children"),
                  Input(ids.BLOCKS, "hoverData"), State(ids.SESSION, "data"))
    def hover(data: dict | None, session: str | None) -> tuple:
        point = _block_point(data)
        if point is None or not session:
            return None, HOVER_HINT
        cp, op = point
        view = watched_view(hub, session)
        with view.lock:
            if view.space is None:
                raise PreventUpdate
            space_doc = view.space
            archs = list(view.map.archs)
        space, decoded = parsed.decoded(session, space_doc["template"], archs)
        using = archs_using(space, decoded, archs, cp, op)
        where = position_of([c.name for c in space], cp)
        return ({"session": session, "choice_point": cp, "op": op, "archs": using},
                f"{op} at {cp}: {where} in the template (outlined below) · used by {len(using):,} of "
                f"{len(archs):,} candidates on the map (ringed there)")

    @app.callback(Output(ids.BLOCK_TEMPLATE, "figure"), Input(ids.BLOCK_HOVER, "data"),
                  Input(ids.RENDERED_BLOCKS, "data"), Input(ids.THEME, "data"),
                  State(ids.SESSION, "data"))
    def template(hover: dict | None, _rendered: Any, theme: str | None, session: str | None
                 ) -> Any:
        """Redrawn on hover and whenever the dots were (steering edits fade bricks)."""
        if not session:
            return figures.template_strip([], {}, None, theme == "dark")
        view = watched_view(hub, session)
        with view.lock:
            if view.space is None:
                raise PreventUpdate
            cps, steering = view.space["choice_points"], dict(view.steering)
        mark = ((hover["choice_point"], hover["op"]) if hover and hover.get("session") == session
                else None)
        return figures.template_strip(cps, steering, mark, theme == "dark")

    @app.callback(Output(ids.BLOCK_PENDING, "data"), Output(ids.BLOCK_PREVIEW, "children"),
                  Input(ids.BLOCKS, "clickData"), State(ids.BLOCK_MODE, "value"),
                  State(ids.SESSION, "data"), prevent_initial_call=True)
    def pick(click: dict | None, mode: str, session: str | None) -> tuple:
        point = _block_point(click)
        if point is None or not session:
            raise PreventUpdate
        view = watched_view(hub, session)
        with view.lock:
            steering, space, evidence = dict(view.steering), view.space, view.evidence
        if space is None:
            raise PreventUpdate
        return proposal(session, *block_edit(steering, space, mode, *point,
                                             view.current_records(), evidence))

    register_confirm(app, hub, ids.BLOCK_CONFIRM, ids.BLOCK_PENDING, ids.BLOCK_PREVIEW,
                     "click a block first")

    # In the browser: ringing the candidates on the map must not cost a map round-trip.
    app.clientside_callback(
        "function(hover) { return window.navigator_blocks.highlight(hover, "
        f"{json.dumps(ids.MAP)}); }}",
        Output(ids.BLOCK_HIGHLIGHTED, "data"), Input(ids.BLOCK_HOVER, "data"),
        prevent_initial_call=True)


def _block_point(data: dict | None) -> tuple[str, str] | None:
    """(choice point, op) of the first point of a hover / click event that is a block dot."""
    for point in (data or {}).get("points") or []:
        custom = point.get("customdata")
        if isinstance(custom, list) and len(custom) >= 2:
            return str(custom[0]), str(custom[1])
    return None
