"""The Advisor panel: the worker's proposals with their evidence, accepted or dismissed in one
click, the auto-apply switch, and the evidence beyond the mean (importance, op pairs).

- **Accept** sends the proposal's command exactly as a heatmap confirm would (``hub.send``:
  the normal command path, answered by ``command_ack`` or ``command_rejected``) and records
  an ``advice_accepted`` UI action naming the advice and the command id; **Dismiss** records
  ``advice_dismissed``. Both hide the proposal in this tab (the store names its session).
- Each prune or lock shows, before it is accepted, what it costs (``edits.safety``: the
  top-10 candidates and best so far it excludes, best inside vs outside).
- The **auto-apply advisor** switch sends ``set_advisor``; the worker then applies every
  proposal itself (the automated-steering condition of a study); the status line says which
  mode the worker last reported.
- **Evidence**: the model's importance per choice point, and on demand the op-pair heatmap of
  two chosen choice points (``evidence_figures.pair_heatmap``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from frontend import ids
from frontend.callbacks import live, watched_view
from frontend.edits import safety
from frontend.evidence_figures import importance_figure, pair_heatmap
from navigator.commands import CommandError

if TYPE_CHECKING:
    from frontend.hub import Hub
    from navigator.study import StudyService

AUTO_ON = "on"


def advisor_panel() -> html.Section:
    """The "Advisor" panel (next to "Fitness" in the layout), stores included."""
    return html.Section([
        html.H3("Advisor"),
        dcc.Checklist(id=ids.ADVISOR_AUTO, options=[{"label": "auto-apply advisor",
                                                     "value": AUTO_ON}], value=[], inline=True),
        html.Div(id=ids.ADVISOR_STATUS, className="hint"),
        html.Div(id=ids.ADVISOR_LIST, className="advisor-list"),
        html.Details([
            html.Summary("Evidence: importance and op pairs"),
            dcc.Graph(id=ids.IMPORTANCE, config={"displaylogo": False}, style={"height": "240px"}),
            html.Div([dcc.Dropdown(id=ids.PAIR_FIRST, placeholder="choice point (rows)"),
                      dcc.Dropdown(id=ids.PAIR_SECOND, placeholder="choice point (columns)")],
                     className="button-row"),
            dcc.Graph(id=ids.PAIR_HEATMAP, config={"displaylogo": False},
                      style={"height": "300px"})]),
        dcc.Store(id=ids.ADVISOR_DECIDED), dcc.Store(id=ids.LIVE_ADVICE),
    ], className="panel advisor")


def describe(proposal: dict[str, Any]) -> str:
    """One line naming the command: 'prune_op none on 3<-0', 'focus on 5 architectures'."""
    args, kind = proposal["args"], proposal["command"]
    if kind == "focus":
        return f"focus on {len(args['archs'])} architectures"
    if kind == "set_sampling_weights":
        weights = ", ".join(f"{op} {w:g}" for op, w in args["weights"].items())
        return f"set_sampling_weights on {args['choice_point']}: {weights}"
    op = f" {args['op']}" if "op" in args else ""
    return f"{kind}{op} on {args['choice_point']}"


def open_proposals(advice: dict[str, Any], decided: dict[str, Any] | None, session: str
                   ) -> list[dict[str, Any]]:
    """The proposals of the last ``advice`` event this tab has not accepted or dismissed."""
    done = set(decided.get("ids", [])) if decided and decided.get("session") == session else set()
    return [p for p in advice.get("proposals", []) if p["id"] not in done]


def proposal_item(proposal: dict[str, Any], cost: str) -> html.Div:
    return html.Div([
        html.Div([html.B(describe(proposal)),
                  html.Span(f" · confidence {proposal['confidence']:.0%}", className="hint")]),
        html.Div(proposal["reason"], className="hint"),
        html.Div(cost, className="hint") if cost else None,
        html.Div([html.Button("Accept", id={"type": ids.ADVISOR_ACCEPT, "index": proposal["id"]},
                              className="primary"),
                  html.Button("Dismiss", id={"type": ids.ADVISOR_DISMISS, "index": proposal["id"]})],
                 className="button-row"),
    ], className="advice")


def register_advisor(app: Dash, hub: Hub, service: StudyService) -> None:
    @app.callback(Output(ids.ADVISOR_LIST, "children"), Output(ids.ADVISOR_STATUS, "children"),
                  Output(ids.IMPORTANCE, "figure"), Output(ids.PAIR_FIRST, "options"),
                  Output(ids.PAIR_SECOND, "options"),
                  live(ids.LIVE_ADVICE), Input(ids.SESSION, "data"), Input(ids.ADVISOR_DECIDED, "data"),
                  Input(ids.THEME, "data"))
    def render(_events: Any, session: str | None, decided: dict | None, theme: str) -> tuple:
        if not session:
            return [], "no session yet", importance_figure({}, theme == "dark"), [], []
        view = watched_view(hub, session)
        with view.lock:
            advice, evidence, steering, space = (dict(view.advice), dict(view.evidence),
                                                 dict(view.steering), view.space)
        records = view.current_records()
        if space is None:
            raise PreventUpdate
        items = []
        for p in open_proposals(advice, decided, session):
            cost = (safety(steering, space, p["command"], p["args"], records, evidence)
                    if p["command"] in ("prune_op", "lock_edge") and records else "")
            items.append(proposal_item(p, cost))
        mode = "auto-applying its proposals" if advice.get("auto_apply") else "proposing; you decide"
        status = (f"advisor (generation {advice['generation']}): {mode}; {len(items)} open"
                  if advice else "the advisor speaks after the first generations")
        names = [cp["name"] for cp in space["choice_points"]]
        return items, status, importance_figure(evidence, theme == "dark"), names, names

    @app.callback(Output(ids.ADVISOR_DECIDED, "data"),
                  Output(ids.ADVISOR_STATUS, "children", allow_duplicate=True),
                  Input({"type": ids.ADVISOR_ACCEPT, "index": ALL}, "n_clicks"),
                  Input({"type": ids.ADVISOR_DISMISS, "index": ALL}, "n_clicks"),
                  State(ids.SESSION, "data"), State(ids.ADVISOR_DECIDED, "data"),
                  prevent_initial_call=True)
    def decide(_accepts: list, _dismisses: list, session: str | None, decided: dict | None
               ) -> tuple:
        trigger = ctx.triggered_id
        if not session or not isinstance(trigger, dict) or not ctx.triggered[0].get("value"):
            raise PreventUpdate  # a button that just appeared, not a click
        view = watched_view(hub, session)
        with view.lock:
            proposal = next((p for p in view.advice.get("proposals", [])
                             if p["id"] == trigger["index"]), None)
        if proposal is None:
            return no_update, "that proposal is no longer current"
        done = list(decided["ids"]) if decided and decided.get("session") == session else []
        detail = {"id": proposal["id"], "command": proposal["command"]}
        if trigger["type"] == ids.ADVISOR_ACCEPT:
            try:
                command = hub.send(session, proposal["command"], proposal["args"])
            except CommandError as exc:
                return no_update, f"{describe(proposal)} not sent: {exc}"
            _record(service, session, "advice_accepted", detail | {"command_id": command.id})
            text = f"accepted: {describe(proposal)} sent, waiting for the worker…"
        else:
            _record(service, session, "advice_dismissed", detail)
            text = f"dismissed: {describe(proposal)}"
        return {"session": session, "ids": done + [proposal["id"]]}, text

    @app.callback(Output(ids.ADVISOR_STATUS, "children", allow_duplicate=True),
                  Input(ids.ADVISOR_AUTO, "value"), State(ids.SESSION, "data"),
                  prevent_initial_call=True)
    def auto(value: list[str] | None, session: str | None) -> str:
        on = AUTO_ON in (value or [])
        try:
            hub.send(session, "set_advisor", {"auto_apply": on})
        except CommandError as exc:
            return f"set_advisor not sent: {exc}"
        return f"auto-apply {'on' if on else 'off'} sent, waiting for the worker…"

    @app.callback(Output(ids.PAIR_HEATMAP, "figure"), Input(ids.PAIR_FIRST, "value"),
                  Input(ids.PAIR_SECOND, "value"), live(ids.LIVE_ADVICE),
                  State(ids.SESSION, "data"), State(ids.THEME, "data"))
    def pairs(first: str | None, second: str | None, _events: Any, session: str | None,
              theme: str) -> Any:
        if not session or not first or not second or first == second:
            raise PreventUpdate
        view = watched_view(hub, session)
        with view.lock:
            space = view.space
        if space is None:
            raise PreventUpdate
        if ctx.triggered_id in (ids.PAIR_FIRST, ids.PAIR_SECOND):
            _record(service, session, "pair_heatmap", {"first": first, "second": second})
        return pair_heatmap(space, view.current_records(), first, second, theme == "dark")


def _record(service: StudyService, session: str, kind: str, detail: dict[str, Any]) -> None:
    """A decision on the session's stream (recorded with it); a read-only watcher's is not."""
    try:
        service.record_ui_action(session, {"kind": kind, "detail": detail})
    except ValueError:
        pass  # AccessDenied is a ValueError: watchers cannot steer, so they decide nothing
