"""The workspace around the views: a sticky header with the session, its state and the main
controls, and the secondary views on tabs.

On a 1600x1000 screen the map, the heatmap and the leaderboard are visible together (the
cockpit, ``assets/navigator.css``); the views an analyst opens now and then (archive,
hardware, study, replay) sit on tabs under it, at the full width of the page. Every tab's
content stays mounted and is only hidden, so its callbacks, figures and inputs keep their
state while another tab is shown (``assets/workspace.js`` shows one and lets its charts
take their width).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, State, dcc, html
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from frontend import figures, ids

if TYPE_CHECKING:
    from frontend.hub import Hub

STOP_QUESTION = ("Stop this session? The search ends for good: its results stay, and the best "
                 "candidates can still be exported, but it cannot be resumed.")


def header() -> html.Header:
    """Title, session picker and state on the first line; progress, Pause / Resume / Stop and
    their answer on the second. It stays at the top of the window while the page scrolls."""
    return html.Header([
        html.Div([
            html.H1("NAS Navigator"),
            dcc.Dropdown(id=ids.SESSION_PICK, placeholder="join a session", clearable=False,
                         className="session-pick", optionHeight=48),
            html.Span("no session", id=ids.SESSION_STATE, className="badge state"),
            html.Span("connecting…", id=ids.CONNECTION, className="badge"),
            html.Button("◐ theme", id=ids.THEME_TOGGLE, className="ghost"),
        ], className="header-row"),
        html.Div([
            html.Div([html.Div(html.Div(id=ids.PROGRESS_BAR, className="progress-fill"),
                               className="progress"),
                      html.Div(id=ids.PROGRESS_TEXT, className="progress-text")],
                     className="header-progress"),
            html.Div([html.Button("Pause", id=ids.PAUSE), html.Button("Resume", id=ids.RESUME),
                      html.Button("Stop", id=ids.STOP, className="danger")],
                     className="button-row header-controls"),
            html.Span(id=ids.CONTROL_FEEDBACK, className="feedback", role="status"),
            html.Span(id=ids.HEADER_COUNTDOWN, className="study-countdown"),
            html.Span(id=ids.TOAST, className="toast", role="status"),
            dcc.ConfirmDialog(id=ids.STOP_CONFIRM, message=STOP_QUESTION),
        ], className="header-row"),
        html.Div([html.Span(id=ids.SLOT_NOTICE),
                  html.Button("Stop it", id=ids.SLOT_STOP, className="danger",
                              style={"display": "none"})], className="slot-notice"),
    ], className="header")


TABS: tuple[tuple[str, str], ...] = (("archive", "Archive"), ("hardware", "Hardware"),
                                     ("study", "Study"), ("replay", "Replay"))


def tab_pane(name: str, *children: Component) -> html.Div:
    return html.Div(list(children), id={"type": ids.TAB_PANE, "tab": name}, className="tab-pane",
                    style={} if name == TABS[0][0] else {"display": "none"})


def secondary_views(panes: dict[str, list[Component]]) -> html.Section:
    """The tab bar and one pane per tab (``panes``: tab name -> its panels), full width."""
    return html.Section([
        dcc.Tabs(id=ids.WORKSPACE_TABS, value=TABS[0][0], className="workspace-tabs",
                 children=[dcc.Tab(label=label, value=name, className="workspace-tab",
                                   selected_className="workspace-tab--selected")
                           for name, label in TABS]),
        *[tab_pane(name, *panes.get(name, [])) for name, _ in TABS],
    ], className="secondary")


def rethemed(figure: dict[str, Any] | None, dark: bool) -> go.Figure:
    """The same figure in the other theme (for charts drawn once, on a click)."""
    fig = go.Figure(figure or {})
    fig.update_layout(**figures.theme_layout(dark))
    return fig


def register_workspace(app: Dash, hub: Hub) -> None:
    app.clientside_callback(
        "function(tab, panes) { return window.navigator_workspace.showTab(tab, panes); }",
        Output({"type": ids.TAB_PANE, "tab": ALL}, "style"), Input(ids.WORKSPACE_TABS, "value"),
        State({"type": ids.TAB_PANE, "tab": ALL}, "id"))

    # a participant sees the study's clock in the header, not only on the Study tab
    app.clientside_callback("function(text) { return text || ''; }",
                            Output(ids.HEADER_COUNTDOWN, "children"),
                            Input(ids.STUDY_COUNTDOWN, "children"))

    @app.callback(Output(ids.SEL_FIGURE, "figure", allow_duplicate=True),
                  Input(ids.THEME, "data"), State(ids.SEL_FIGURE, "figure"),
                  prevent_initial_call=True)
    def retheme_selection(theme: str | None, figure: dict | None) -> go.Figure:
        """"Fitness inside vs outside" is drawn on a click: a theme switch redraws it too."""
        if not figure or not figure.get("data"):
            raise PreventUpdate
        return rethemed(figure, theme == "dark")
