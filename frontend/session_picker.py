"""Sessions people can tell apart, and a worker slot nobody holds for nothing.

The picker labels each session with its name, start time, dataset, space, state and best
accuracy (``hub.session_summaries``, worded by ``navigator/session_labels.py``, as the replay
list and ``navigator sessions list`` word it). A new tab opens on the newest running session
the user may watch. A start that waits in the queue while a session paused at the end of
its search budget holds the worker slot says so, and offers to stop that session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import Dash, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from frontend import ids
from frontend.callbacks import live, send_command, watched_view

if TYPE_CHECKING:
    from frontend.hub import Hub

OPEN_ON = ("running", "paused", "queued")  # what a new tab opens on, in this preference


def session_options(summaries: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The picker's options, newest first."""
    return [{"label": s["label"], "value": s["session"]} for s in summaries]


def session_to_open(summaries: list[dict[str, Any]]) -> str | None:
    """The session a fresh tab shows: the newest running one, else the newest paused or queued."""
    for state in OPEN_ON:
        found = [s for s in summaries if s["state"] == state]
        if found:
            return str(max(found, key=lambda s: s["created_ts"] or 0)["session"])
    return None


def slot_holder(summaries: list[dict[str, Any]], waiting: str) -> dict[str, Any] | None:
    """A session paused at the end of its budget while ``waiting`` is queued: the worker slot
    it holds is what the new start waits for."""
    held = [s for s in summaries if s["budget_paused"] and s["session"] != waiting]
    return max(held, key=lambda s: s["created_ts"] or 0) if held else None


def register_session_picker(app: Dash, hub: Hub) -> None:
    @app.callback(Output(ids.SESSION, "data", allow_duplicate=True),
                  Input(ids.SESSION_PICK, "id"), State(ids.SESSION, "data"),
                  prevent_initial_call="initial_duplicate")
    def open_running(_id: str, session: str | None) -> str:
        if session:  # this tab already shows one (a reload keeps it)
            raise PreventUpdate
        chosen = session_to_open(hub.session_summaries())
        if chosen is None:
            raise PreventUpdate
        return chosen

    @app.callback(Output(ids.SESSION_PICK, "options"), Output(ids.SESSION_PICK, "value"),
                  Output(ids.SLOT_NOTICE, "children"), Output(ids.SLOT_STOP, "style"),
                  live(ids.LIVE_TABLES), Input(ids.SESSION, "data"))
    def picker(_events: Any, session: str | None) -> tuple:
        summaries = hub.session_summaries()
        notice, hidden = "", {"display": "none"}
        if session:
            view = watched_view(hub, session)
            with view.lock:
                queued = view.state == "queued"
            holder = slot_holder(summaries, session) if queued else None
            if holder is not None:
                notice = (f"This search waits for the worker slot held by {holder['session']}, "
                          f"paused because its search budget is used up. Stop it to start this "
                          f"one (its results and exports stay).")
                hidden = {}
        return session_options(summaries), session or no_update, notice, hidden

    @app.callback(Output(ids.SLOT_NOTICE, "children", allow_duplicate=True),
                  Input(ids.SLOT_STOP, "n_clicks"), State(ids.SESSION, "data"),
                  prevent_initial_call=True)
    def stop_holder(_n: Any, session: str | None) -> str:
        holder = slot_holder(hub.session_summaries(), session or "")
        if holder is None:
            return "no paused session holds the worker slot any more"
        return send_command(hub, holder["session"], "stop") + f" to {holder['session']}"
