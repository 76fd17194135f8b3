"""Every control answers next to itself: "sent" at once, then the worker's verdict.

A click sends a command through the hub; the reply line next to the control says it was
sent (or why it could not be), and when the worker's ``command_ack`` or ``command_rejected``
arrives over the socket, the browser (``assets/feedback.js``) replaces the line with the
verdict and the reason: the analyst never has to scroll to the timeline to learn what became
of a click. Commands are matched by id, so only this tab's own clicks are answered in place;
answers to commands sent elsewhere in the page show in the header's toast. Stop asks first.

The progress line says what the session is really doing: no ETA once it stopped or while
it is paused, no "waiting for the first training step" where nothing is trained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dash import Dash, Input, Output, State, ctx, no_update

from frontend import figures, ids
from navigator.commands import CommandError

if TYPE_CHECKING:
    from frontend.hub import Hub

# Where the browser writes a command's verdict (assets/feedback.js), in this order.
ANSWER_TARGETS = (ids.CONTROL_FEEDBACK, ids.TUNE_FEEDBACK, ids.EXPORT_FEEDBACK, ids.EDIT_PREVIEW,
                  ids.BLOCK_PREVIEW, ids.TOAST)
MAX_REMEMBERED = 50  # command ids a tab keeps waiting for a verdict


def progress_line(progress: list[dict[str, Any]], state: str, message: str, mode: str | None
                  ) -> tuple[float, str]:
    """Percent done and the status line of the progress bar, true to the session's state."""
    if state == "failed":
        return 0.0, f"failed: {message}" if message else "failed"
    if state == "queued":
        return 0.0, f"queued: {message}" if message else "queued: waiting for a worker"
    if mode == "tabular":
        return (100.0 if state == "stopped" else 0.0,
                f"{state}: accuracies are looked up in the benchmark table, nothing is trained")
    if not progress:
        if state in ("stopped", "paused"):
            return 0.0, f"{state} before the first training step"
        return 0.0, "waiting for the first training step"
    pct, text = figures.progress_summary(progress)
    if state in ("running", "created"):
        return pct, text
    text = text.rsplit(" · ETA", 1)[0]
    return pct, f"{state} at {text}"


def remember(sent: dict[str, Any] | None, session: str | None, command_id: str, kind: str,
             target: str) -> dict[str, Any]:
    """The sent-commands store with one more command awaiting its verdict in ``target``."""
    entries = dict((sent or {}).get("sent") or {}) if (sent or {}).get("session") == session else {}
    entries[command_id] = [kind, target]
    while len(entries) > MAX_REMEMBERED:
        entries.pop(next(iter(entries)))
    return {"session": session, "sent": entries}


def send_answered(hub: Hub, session: str | None, kind: str, args: dict[str, Any] | None,
                  sent: dict[str, Any] | None, target: str, what: str = "") -> tuple[str, Any]:
    """Send a command; the reply line and the store the browser matches its verdict by."""
    try:
        command = hub.send(session, kind, args)
    except CommandError as exc:
        return f"{kind} not sent: {exc}", no_update
    return (f"{kind}{what} sent, waiting for the worker…",
            remember(sent, session, command.id, kind, target))


def budget_note(value: Any, low: Any, high: Any, floor_moved: bool) -> str:
    """Why the budget box shows another number than was typed: the slider spans the measured
    latencies, so a budget under the fastest one is raised to it (over the slowest: lowered)."""
    if not isinstance(value, (int, float)) or not isinstance(low, (int, float)):
        return ""
    if value < low or (floor_moved and value <= low):
        return (f"raised to {low:.2f} ms: no measured architecture is faster, so the slider "
                "starts there")
    if isinstance(high, (int, float)) and value > high:
        return f"lowered to {high:.2f} ms: the slowest measured architecture"
    return ""


def register_feedback(app: Dash, hub: Hub) -> None:
    @app.callback(Output(ids.BUDGET_NOTE, "children"), Input(ids.BUDGET_SLIDER, "value"),
                  Input(ids.BUDGET_SLIDER, "min"), Input(ids.BUDGET_SLIDER, "max"),
                  prevent_initial_call=True)
    def budget(value: Any, low: Any, high: Any) -> str:
        moved = any(t["prop_id"] == f"{ids.BUDGET_SLIDER}.min" for t in ctx.triggered)
        return budget_note(value, low, high, moved)

    app.clientside_callback(
        "function(n) { return !!n; }",
        Output(ids.STOP_CONFIRM, "displayed"), Input(ids.STOP, "n_clicks"), prevent_initial_call=True)

    @app.callback(Output(ids.CONTROL_FEEDBACK, "children"),
                  Output(ids.SENT_COMMANDS, "data", allow_duplicate=True),
                  Input(ids.PAUSE, "n_clicks"), Input(ids.RESUME, "n_clicks"),
                  Input(ids.STOP_CONFIRM, "submit_n_clicks"), State(ids.SESSION, "data"),
                  State(ids.SENT_COMMANDS, "data"), prevent_initial_call=True)
    def control(_p: Any, _r: Any, _s: Any, session: str | None, sent: dict | None) -> tuple:
        kind = {ids.PAUSE: "pause", ids.RESUME: "resume", ids.STOP_CONFIRM: "stop"}[ctx.triggered_id]
        return send_answered(hub, session, kind, {}, sent, ids.CONTROL_FEEDBACK)

    @app.callback(Output(ids.TUNE_FEEDBACK, "children"),
                  Output(ids.SENT_COMMANDS, "data", allow_duplicate=True),
                  Input(ids.FINETUNE, "n_clicks"), Input(ids.APPLY_PARAMS, "n_clicks"),
                  State(ids.FINETUNE_EPOCHS, "value"), State(ids.POPULATION, "value"),
                  State(ids.MUTATION, "value"), State(ids.SEARCH_STRATEGY, "value"),
                  State(ids.SESSION, "data"), State(ids.SENT_COMMANDS, "data"),
                  prevent_initial_call=True)
    def tune(_f: Any, _a: Any, epochs: Any, population: Any, mutation: Any, strategy: Any,
             session: str | None, sent: dict | None) -> tuple:
        if ctx.triggered_id == ids.FINETUNE:
            return send_answered(hub, session, "finetune", {"epochs": epochs}, sent,
                                 ids.TUNE_FEEDBACK)
        params: dict[str, Any] = {"population": population, "mutation_prob": mutation}
        if strategy:  # none chosen: the session keeps its strategy
            params["strategy"] = strategy
        return send_answered(hub, session, "set_search_params", params, sent, ids.TUNE_FEEDBACK)

    @app.callback(Output(ids.EXPORT_FEEDBACK, "children"),
                  Output(ids.SENT_COMMANDS, "data", allow_duplicate=True),
                  Input(ids.EXPORT, "n_clicks"), Input(ids.TRAIN_STANDALONE, "n_clicks"),
                  State(ids.LEADERBOARD, "derived_virtual_data"),
                  State(ids.LEADERBOARD, "derived_virtual_selected_rows"),
                  State(ids.SESSION, "data"), State(ids.SENT_COMMANDS, "data"),
                  prevent_initial_call=True)
    def export(_e: Any, _t: Any, rows: list | None, selected: list | None, session: str | None,
               sent: dict | None) -> tuple:
        if not rows:
            return "no candidates yet", no_update
        row = rows[selected[0]] if selected else rows[0]
        args: dict[str, Any] = {"arch": row["arch"]}
        if ctx.triggered_id == ids.TRAIN_STANDALONE:
            args["train_epochs"] = 5
        return send_answered(hub, session, "export", args, sent, ids.EXPORT_FEEDBACK,
                             f" of {row['arch']}")

    app.clientside_callback(
        "function(events, sent, session) { return window.navigator_feedback.answers("
        "events, sent, session, " + repr(list(ANSWER_TARGETS)).replace("'", '"') + "); }",
        *[Output(target, "children", allow_duplicate=True) for target in ANSWER_TARGETS],
        Input(ids.SOCKET, "data-events"), Input(ids.SENT_COMMANDS, "data"),
        State(ids.SESSION, "data"), prevent_initial_call=True)
