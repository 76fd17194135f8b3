"""The "how far to trust this ranking" panel, and the analyst's "rank by" choice.

The worker correlates every estimator with the anchors (architectures of known accuracy)
after each generation and publishes a ``trust`` event (:mod:`navigator.trust`); this panel
draws the last one from the session view: per estimator Kendall's tau with its bootstrap
interval and Spearman's rho, best first, with a plain-words verdict. Its "Rank by" control
sends the ``rank_by`` command through the normal command path (acknowledged and recorded
like any other), which reorders the leaderboard, the fitness table and evolution's parents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from frontend import ids
from frontend.callbacks import send_command, watched_view
from frontend.widgets import field

if TYPE_CHECKING:
    from dash.development.base_component import Component

    from frontend.hub import Hub

REFRESH_MS = 3000
DEFAULT_CHOICES = ("accuracy", "score")


def verdict(tau: float | None, low: float | None) -> str:
    """Plain words for a Kendall tau and the low end of its interval."""
    if tau is None:
        return "too few anchors"
    if low is not None and low <= 0.0:
        return "not reliable yet"
    if tau >= 0.6:
        return "trustworthy"
    if tau >= 0.3:
        return "rough guide"
    return "weak"


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:+.2f}"


def trust_rows(trust: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per estimator, the best-correlated first (those without a tau last)."""
    rows = []
    for name, c in (trust.get("estimators") or {}).items():
        rows.append({"estimator": name, "kendall": c.get("kendall"),
                     "interval": f"[{_number(c.get('kendall_low'))}, {_number(c.get('kendall_high'))}]",
                     "spearman": c.get("spearman"), "n": c.get("n", 0),
                     "verdict": verdict(c.get("kendall"), c.get("kendall_low"))})
    return sorted(rows, key=lambda r: (r["kendall"] is None, -(r["kendall"] or 0.0), r["estimator"]))


def trust_table(trust: dict[str, Any]) -> Component:
    rows = trust_rows(trust)
    if not rows:
        return html.Div("no anchors yet: architectures of known accuracy (a benchmark table "
                        "in tabular mode, the table_path CSV in supernet mode) appear here as "
                        "the search evaluates them", className="hint")
    ranking = trust.get("rank_by")
    head = html.Tr([html.Th(t) for t in ("estimator", "Kendall τ", "90% interval", "Spearman ρ",
                                         "anchors", "")])
    body = [html.Tr([html.Td(r["estimator"] + (" (ranking)" if r["estimator"] == ranking else "")),
                     html.Td(_number(r["kendall"])), html.Td(r["interval"]),
                     html.Td(_number(r["spearman"])), html.Td(str(r["n"])), html.Td(r["verdict"])],
                    className="ranking" if r["estimator"] == ranking else "")
            for r in rows]
    return html.Table([html.Thead(head), html.Tbody(body)], className="trust-table")


def trust_summary(trust: dict[str, Any]) -> str:
    if not trust:
        return "waiting for the first generation"
    return (f"{trust.get('anchors', 0)} evaluated anchor(s) of {trust.get('total_anchors', 0)} "
            f"known; ranking by {trust.get('rank_by', 'accuracy')}")


def trust_panel() -> html.Section:
    return html.Section([
        html.H3("How far to trust this ranking"),
        html.Div(id=ids.TRUST_SUMMARY, className="hint"),
        html.Div(id=ids.TRUST_TABLE),
        html.Div([field("Rank by", dcc.Dropdown(id=ids.RANK_BY, value="accuracy",
                                                 options=list(DEFAULT_CHOICES), clearable=False)),
                  html.Button("Rank by this", id=ids.APPLY_RANK_BY)], className="button-row"),
        html.Div(id=ids.RANK_BY_STATUS, className="hint", role="status"),
        dcc.Interval(id=ids.TRUST_TICK, interval=REFRESH_MS),
    ], className="panel trust")


def register_trust(app: Dash, hub: Hub) -> None:
    @app.callback(Output(ids.TRUST_SUMMARY, "children"), Output(ids.TRUST_TABLE, "children"),
                  Output(ids.RANK_BY, "options"),
                  Input(ids.TRUST_TICK, "n_intervals"), Input(ids.SESSION, "data"))
    def render(_tick: Any, session: str | None) -> tuple:
        if not session:
            raise PreventUpdate
        view = watched_view(hub, session)
        with view.lock:
            trust = dict(view.trust)
        names = list(dict.fromkeys([*DEFAULT_CHOICES, *(trust.get("estimators") or {})]))
        return trust_summary(trust), trust_table(trust), names

    @app.callback(Output(ids.RANK_BY_STATUS, "children"), Input(ids.APPLY_RANK_BY, "n_clicks"),
                  State(ids.RANK_BY, "value"), State(ids.SESSION, "data"),
                  prevent_initial_call=True)
    def rank_by(_n: Any, estimator: str | None, session: str | None) -> str:
        if not estimator:
            raise PreventUpdate
        return send_command(hub, session, "rank_by", {"estimator": estimator})
