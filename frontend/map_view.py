"""The map's encoding menu: which embedding the fixed map of the space is drawn from.

Choosing one sends ``set_map_encoding``; the worker re-maps the space (announced as a
refit, every point moves once) and the command's ack records the choice on the session's
timeline, like every other steering decision. Next to the menu the last refit is announced
(``map_figures.refit_note``: what changed, and whether the points are re-placed yet).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import Dash, Input, Output, State, dcc, html

from frontend import ids
from frontend.callbacks import live, send_command, watched_view
from frontend.map_figures import refit_note
from frontend.widgets import field
from supernet.encoders import DEFAULT_ENCODING, ENCODINGS

if TYPE_CHECKING:
    from frontend.hub import Hub


def map_encoding_control() -> html.Div:
    return html.Div([field("Map encoding", dcc.Dropdown(
        id=ids.MAP_ENCODING, options=list(ENCODINGS), value=DEFAULT_ENCODING, clearable=False)),
        html.Span(id=ids.MAP_ENCODING_STATUS, className="hint"),
        html.Span(id=ids.MAP_REFIT, className="hint", role="status")])


def register_map_view(app: Dash, hub: Hub) -> None:
    @app.callback(Output(ids.MAP_ENCODING_STATUS, "children"), Input(ids.MAP_ENCODING, "value"),
                  State(ids.SESSION, "data"), prevent_initial_call=True)
    def choose_encoding(encoding: str, session: str | None) -> str:
        if not session:
            return "start a session first"
        return send_command(hub, session, "set_map_encoding", {"encoding": encoding})

    @app.callback(Output(ids.MAP_REFIT, "children"), live(ids.LIVE_MAP), Input(ids.SESSION, "data"))
    def announce_refit(_events: Any, session: str | None) -> str:
        if not session:
            return ""
        view = watched_view(hub, session)
        with view.lock:
            return refit_note({"refit": view.map.refit})
