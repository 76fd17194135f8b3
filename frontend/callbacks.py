"""Dash callbacks: thin glue between components, the live hub and the figures.

Every control becomes a runtime command through ``hub.send``; every view is
rendered from the hub's :class:`~navigator.session_view.SessionView` when an ``events``
batch that concerns it arrives over the websocket: the browser's ``trackSeq``
(assets/navigator.js) sets the view's trigger store (``LIVE_TRIGGERS``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from frontend import figures, ids, map_figures
from frontend.archlock_builder import LOCK_STATES, lock_objective
from frontend.edits import block_edit, prune_outside
from frontend.evidence_figures import with_model
from frontend.feedback_view import progress_line, send_answered
from frontend.metric_units import heatmap_units
from frontend.ranking import rank_key
from frontend.selections import NamedSelection, focus_args
from navigator.auth import AccessDenied
from navigator.commands import CommandError
from supernet.archlock import TARGET_PREFIX
from supernet.space import CellTemplate, SearchSpace

if TYPE_CHECKING:
    from frontend.hub import Hub
    from navigator.session_view import SessionView

EVENTS = Input(ids.SOCKET, "data-events")
# Which event types each live view draws: the browser sets a view's trigger store only for
# socket batches holding one of them (progress ticks, several a second, wake the training
# view alone instead of sending every view's callback to the server).
LIVE_TRIGGERS: dict[str, tuple[str, ...]] = {
    ids.LIVE_TRAINING: ("train_progress", "session_state"),
    ids.LIVE_MAP: ("candidates", "map_update"),
    ids.LIVE_HEATMAP: ("space", "fitness", "steering", "candidates", "evidence"),
    ids.LIVE_TABLES: ("leaderboard", "session_state", "command_ack", "command_rejected", "error",
                      "exported", "baseline"),
    ids.LIVE_HARDWARE: ("candidates", "hardware"),
    ids.LIVE_ADVICE: ("advice", "evidence", "steering"),  # frontend/advisor_view.py
}


def live(trigger: str) -> Input:
    return Input(trigger, "data")


def live_update() -> bool:
    """Whether this callback runs for a socket batch (not a session, theme or control change)."""
    return ctx.triggered_id in LIVE_TRIGGERS


def template_from_fields(n_nodes: Any, ops: list[str] | None, channels: Any, cells: Any,
                         overrides: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The builder's template: ``ops`` on every edge, except edges with their own list."""
    doc: dict[str, Any] = {"kind": "cell", "n_nodes": n_nodes, "C": channels, "cells_per_stage": cells}
    if not overrides or not isinstance(n_nodes, int) or n_nodes < 2:
        return doc | {"ops": list(ops or [])}
    edges = {f"{j}<-{i}": list(ops or []) for j in range(1, n_nodes) for i in range(j)}
    edges.update({k: list(v) for k, v in overrides.items() if k in edges})
    return doc | {"edges": edges}


def _theme_dark(theme: str | None) -> bool:
    return theme == "dark"


def register_callbacks(app: Dash, hub: Hub) -> None:
    _register_live_views(app, hub)
    _register_builder(app, hub)
    _register_controls(app, hub)
    _register_steering(app, hub)
    _register_candidates(app, hub)
    _register_clientside(app)
    from frontend.map_view import register_map_view  # it uses send_command from here

    register_map_view(app, hub)


def marker_of(view: SessionView, rendered: Any, trigger: str) -> dict[str, Any]:
    """What a view is about to draw; PreventUpdate when a socket batch changed none of it.

    Progress ticks arrive several times a second, and re-drawing the heatmap and the tables
    for each would cost the server and the browser for nothing. The test is against a marker
    of what the browser last drew, not against the batch's event types: Dash drops the result
    of a callback whose input changed while it ran, so one batch's update can be lost, and
    the next batch must still draw it.
    """
    marker = {"session": view.session, "seq": view.changed_at(*LIVE_TRIGGERS[trigger])}
    if live_update() and rendered == marker:
        raise PreventUpdate
    return marker


def watched_view(hub: Hub, session: str) -> SessionView:
    """``hub.view``, for a callback: a session this user may not watch (the runtime's
    :class:`AccessDenied`) leaves the callback's outputs as they are."""
    try:
        return hub.view(session)
    except AccessDenied:
        raise PreventUpdate from None


def _view(hub: Hub, session: str | None) -> SessionView:
    if not session:
        raise PreventUpdate
    return watched_view(hub, session)


def _register_live_views(app: Dash, hub: Hub) -> None:
    @app.callback(Output(ids.SEQ, "data", allow_duplicate=True),
                  Input(ids.SESSION, "data"), Input(ids.SOCKET, "socketId"), Input(ids.RESYNC, "data"),
                  State(ids.SEQ, "data"), prevent_initial_call=True)
    def join(session: str | None, sid: str | None, _resync: Any, seq: dict | None) -> Any:
        if not session or not sid:
            raise PreventUpdate
        seq = seq or {}
        after = seq.get("last_seq", 0) if seq.get("session") == session else 0
        hub.join(sid, session, after)
        # Never write the seq store here: the clientside tracker may already have advanced it
        # with events this join delivered (it resets itself when the session changes).
        return no_update

    @app.callback(Output(ids.SESSION_STATE, "children"), Output(ids.PROGRESS_BAR, "style"),
                  Output(ids.PROGRESS_TEXT, "children"), Output(ids.LOSS_CURVE, "figure"),
                  Output(ids.RENDERED_TRAINING, "data"),
                  live(ids.LIVE_TRAINING), Input(ids.SESSION, "data"), Input(ids.THEME, "data"),
                  Input(ids.SMOOTHING, "value"), State(ids.RENDERED_TRAINING, "data"))
    def training(_events: Any, session: str | None, theme: str, smoothing: Any, rendered: Any) -> tuple:
        window = smoothing if isinstance(smoothing, int) and smoothing > 0 else 1
        if not session:
            return ("no session", {"width": "0%"}, "start a search to see training progress",
                    figures.training_curves([], _theme_dark(theme), window), None)
        view = watched_view(hub, session)
        marker = marker_of(view, rendered, ids.LIVE_TRAINING)
        with view.lock:
            progress = list(view.progress)
            state = f"{session} · {view.state}" + (f" · {view.message}" if view.message else "")
            pct, text = progress_line(progress, view.state, view.message, view.config.get("mode"))
        return (state, {"width": f"{pct:.1f}%"}, text,
                figures.training_curves(progress[-2000:], _theme_dark(theme), window), marker)

    @app.callback(Output(ids.MAP, "figure"), Output(ids.MAP_COUNT, "data"),
                  live(ids.LIVE_MAP), Input(ids.SESSION, "data"), Input(ids.MAP_COLOR, "value"),
                  Input(ids.THEME, "data"), State(ids.MAP_COUNT, "data"))
    def architecture_map(_events: Any, session: str | None, color: str, theme: str,
                         shown: dict | None) -> tuple:
        if not session:
            return figures.architecture_map({"archs": [], "x": [], "y": [], "values": {}}), no_update
        view = watched_view(hub, session)
        shown = shown or {}
        with view.lock:
            version, task = view.map.version, view.task
        if (live_update() and shown.get("session") == session
                and shown.get("version") == version and shown.get("color") == color
                and shown.get("theme") == theme):
            # New candidates only: the browser appends them itself, with no round-trip
            # (assets/navigator.js, liveMap). A whole figure is sent when the session,
            # colour key, theme or the coordinates (a UMAP refit) change.
            raise PreventUpdate
        full = view.snapshot_map(0)
        marker = {"session": session, "version": full["version"], "color": color, "theme": theme,
                  "count": full["total"]}
        return map_figures.live_map(full, color, _theme_dark(theme), session=session,
                                    task=task), marker

    @app.callback(Output(ids.HEATMAP, "figure"), Output(ids.WEIGHT_EDGE, "options"),
                  Output(ids.MAP_COLOR, "options"), Output(ids.RENDERED_HEATMAP, "data"),
                  live(ids.LIVE_HEATMAP), Input(ids.SESSION, "data"), Input(ids.THEME, "data"),
                  State(ids.RENDERED_HEATMAP, "data"))
    def heatmap(_events: Any, session: str | None, theme: str, rendered: Any) -> tuple:
        view = _view(hub, session)
        marker = marker_of(view, rendered, ids.LIVE_HEATMAP)
        with view.lock:
            if view.space is None:
                raise PreventUpdate
            cps = view.space["choice_points"]
            matrix, label, lower = heatmap_units(view.fitness, view.task, view.trust)
            fig = figures.fitness_heatmap(cps, with_model(matrix, view.evidence), view.steering,
                                          _theme_dark(theme), label, lower)
            colours = [k for k in view.map.values if k not in ("parent",)]
        return fig, [cp["name"] for cp in cps], colours or no_update, marker

    @app.callback(Output(ids.LEADERBOARD, "data"), Output(ids.TIMELINE, "children"),
                  Output(ids.EXPORT_STATUS, "children"),
                  Output(ids.TRUE_RANK, "children"), Output(ids.RENDERED_TABLES, "data"),
                  live(ids.LIVE_TABLES), Input(ids.SESSION, "data"), State(ids.RENDERED_TABLES, "data"))
    def tables(_events: Any, session: str | None, rendered: Any) -> tuple:
        # the session picker's options: frontend/session_picker.py
        if not session:
            return [], [], "", "", None
        view = watched_view(hub, session)
        marker = marker_of(view, rendered, ids.LIVE_TABLES)
        with view.lock:
            board = sorted(view.leaderboard,  # ties broken as the archive breaks them
                           key=lambda r: rank_key(r, view.evaluations.get(r["arch"], 1),
                                                  view.higher_is_better))
            if view.trust.get("rank_by", "accuracy") != "accuracy":  # the analyst's "rank by"
                board = list(view.leaderboard)  # as the worker ranked it (navigator/trust.py)
            rows = [leaderboard_row(i + 1, r) for i, r in enumerate(board)]
            items = [html.Li(f"{t.get('user', 'worker')}: {t['text']}", className=f"tl-{t['kind']}")
                     for t in reversed(view.timeline)]
            exported = view.exports[-1] if view.exports else None
        return rows, items, export_status(exported), true_rank_summary(rows), marker


def export_status(exported: dict[str, Any] | None) -> str:
    """Where the last export lies and how well its saved weights score (from arch.json)."""
    if not exported:
        return ""
    metrics = exported.get("metrics") or {}
    where = exported.get("folder") or exported["files"].get("model", "")
    text = f"last export: {where}"
    metric = str(metrics.get("metric", "accuracy"))  # the task's (issue 15): relative_l2, ...
    name = metric.replace("_", " ")
    if f"test_{metric}" in metrics:
        trained = metrics.get("train_epochs") or 0
        text += (f" - test {name} {metrics[f'test_{metric}']:.3f} of the saved weights"
                 + (f" after {trained} stand-alone epochs" if trained else ""))
        curve = metrics.get("curve") or []
        if curve:
            text += f" (val {name} by epoch: " + ", ".join(
                f"{p[f'val_{metric}']:.2f}" for p in curve) + ")"
    return text


def leaderboard_row(rank: int, record: dict[str, Any]) -> dict[str, Any]:
    """A leaderboard line; in tabular mode it also says where the candidate stands in the table."""
    row = {"rank": rank, **{k: record.get(k) for k in
                            ("arch", "accuracy", "params", "flops", "latency_ms", "generation")}}
    scores = record.get("scores") or {}
    if "table_rank" in scores:
        row["table_rank"] = int(scores["table_rank"])
        row["table_percentile"] = scores.get("table_percentile")
    # ArchLock: each target's accuracy, its column id the score key (frontend/archlock_view.py)
    row |= {k: v for k, v in scores.items() if k.startswith(TARGET_PREFIX)}
    return row


def true_rank_summary(rows: list[dict[str, Any]]) -> str:
    """What a tabular search is for: how good its best find truly is among all entries."""
    ranked = [r for r in rows if r.get("table_rank") is not None]
    if not ranked:
        return ""
    best = min(ranked, key=lambda r: r["table_rank"])
    text = f"best found: true rank {best['table_rank']:,} in the benchmark table"
    if best.get("table_percentile") is not None:
        text += f" (better than {best['table_percentile']:.2f} % of all entries)"
    return text


def _register_builder(app: Dash, hub: Hub) -> None:
    @app.callback(Output(ids.N_NODES, "value"), Output(ids.OPS, "value"),
                  Output(ids.CHANNELS, "value"), Output(ids.CELLS, "value"),
                  Input(ids.PRESET, "value"), prevent_initial_call=True)
    def load_preset(name: str) -> tuple:
        if name == "custom":
            raise PreventUpdate
        t = SearchSpace.from_preset(name).template
        return t.n_nodes, list(t.edges["1<-0"]), t.C, t.cells_per_stage

    @app.callback(Output(ids.EDGE_PICK, "options"), Output(ids.EDGE_PICK, "value"),
                  Output(ids.EDGE_OVERRIDES, "data", allow_duplicate=True),
                  Input(ids.N_NODES, "value"), prevent_initial_call="initial_duplicate")
    def edges(n_nodes: Any) -> tuple:
        if not isinstance(n_nodes, int) or not 2 <= n_nodes <= 10:
            return [], None, {}
        names = [f"{j}<-{i}" for j in range(1, n_nodes) for i in range(j)]
        return names, names[0], {}

    @app.callback(Output(ids.EDGE_OPS, "value"), Input(ids.EDGE_PICK, "value"),
                  State(ids.EDGE_OVERRIDES, "data"), State(ids.OPS, "value"))
    def show_edge(edge: str | None, overrides: dict | None, ops: list[str]) -> list[str]:
        return list((overrides or {}).get(edge, ops or [])) if edge else []

    @app.callback(Output(ids.EDGE_OVERRIDES, "data"), Input(ids.EDGE_OPS, "value"),
                  State(ids.EDGE_PICK, "value"), State(ids.EDGE_OVERRIDES, "data"),
                  State(ids.OPS, "value"), prevent_initial_call=True)
    def edit_edge(edge_ops: list[str], edge: str | None, overrides: dict | None,
                  ops: list[str]) -> dict:
        overrides = dict(overrides or {})
        if not edge or sorted(edge_ops or []) == sorted(overrides.get(edge, ops or [])):
            raise PreventUpdate
        overrides[edge] = list(edge_ops or [])
        return overrides

    @app.callback(Output(ids.SPACE_SIZE, "children"), Output(ids.BUILDER_ERROR, "children"),
                  Input(ids.N_NODES, "value"), Input(ids.OPS, "value"),
                  Input(ids.CHANNELS, "value"), Input(ids.CELLS, "value"),
                  Input(ids.EDGE_OVERRIDES, "data"))
    def validate(n_nodes: Any, ops: list[str], channels: Any, cells: Any,
                 overrides: dict | None) -> tuple[str, str]:
        try:
            space = SearchSpace(CellTemplate.from_dict(
                template_from_fields(n_nodes, ops, channels, cells, overrides)))
        except (ValueError, TypeError) as exc:
            return "", str(exc)
        return f"{space.size():,} architectures · {len(space)} edges", ""

    @app.callback(Output(ids.SESSION, "data"), Output(ids.BUILDER_ERROR, "children", allow_duplicate=True),
                  Input(ids.START, "n_clicks"),
                  State(ids.N_NODES, "value"), State(ids.OPS, "value"), State(ids.CHANNELS, "value"),
                  State(ids.CELLS, "value"), State(ids.DATASET, "value"), State(ids.EPOCHS, "value"),
                  State(ids.SAMPLER, "value"), State(ids.EDGE_OVERRIDES, "data"),
                  State(ids.MODE, "value"), State(ids.TABLE_PATH, "value"),
                  State(ids.PROXIES, "value"), State(ids.PRESCREEN, "value"),
                  State(ids.PRESCREEN_BY, "value"), State(ids.SESSION_NAME, "value"),
                  *(State(i, "value") for i in LOCK_STATES), prevent_initial_call=True)
    def start(_n: int, n_nodes: Any, ops: list[str], channels: Any, cells: Any, dataset: str,
              epochs: Any, sampler: str, overrides: dict | None, mode: str, table: str | None,
              proxies: list[str] | None, prescreen: Any, prescreen_by: list[str] | None,
              name: str | None, *lock: Any) -> tuple:
        config = builder_config(n_nodes, ops, channels, cells, dataset, epochs, sampler,
                                overrides, mode, table, proxies, prescreen, prescreen_by, name)
        try:
            objective = lock_objective(*lock)  # ArchLock (frontend/archlock_builder.py)
            if objective is not None:
                config["archlock"] = objective
            return hub.start_session(config, owner=hub.user), ""
        except (ValueError, TypeError) as exc:
            return no_update, f"cannot start: {exc}"

    @app.callback(Output(ids.PRESCREEN_BY, "options"), Output(ids.PRESCREEN_BY, "value"),
                  Input(ids.PROXIES, "value"), State(ids.PRESCREEN_BY, "value"))
    def prescreen_choices(proxies: list[str] | None, chosen: list[str] | None) -> tuple:
        return ranking_choices(proxies, chosen)

    @app.callback(Output(ids.SESSION, "data", allow_duplicate=True), Input(ids.SESSION_PICK, "value"),
                  State(ids.SESSION, "data"), prevent_initial_call=True)
    def pick(session: str | None, current: str | None) -> str:
        if not session or session == current:
            raise PreventUpdate
        return session


# The builder's fields, in this order, as States: the Study panel starts sessions from them too.
BUILDER_STATES = (ids.N_NODES, ids.OPS, ids.CHANNELS, ids.CELLS, ids.DATASET, ids.EPOCHS,
                  ids.SAMPLER, ids.EDGE_OVERRIDES, ids.MODE, ids.TABLE_PATH, ids.PROXIES,
                  ids.PRESCREEN, ids.PRESCREEN_BY, ids.SESSION_NAME)


def builder_config(n_nodes: Any, ops: list[str], channels: Any, cells: Any, dataset: str,
                   epochs: Any, sampler: str, overrides: dict[str, Any] | None, mode: str,
                   table: str | None, proxies: list[str] | None, prescreen: Any,
                   prescreen_by: list[str] | None = None, name: str | None = None) -> dict[str, Any]:
    """The engine configuration the builder's fields describe (values of ``BUILDER_STATES``)."""
    config: dict[str, Any] = {"template": template_from_fields(n_nodes, ops, channels, cells, overrides),
              "dataset": (dataset or "").strip() or "digits",
              "train": {"epochs": epochs, "sampler": sampler, "lr": 0.1},
              "name": (name or "").strip()}
    if mode == "tabular":  # no training data, so no proxies either
        config |= {"mode": "tabular", "table_path": (table or "").strip() or None}
    else:
        config |= proxy_fields(proxies, prescreen, prescreen_by)
    return config


def ranking_choices(proxies: list[str] | None, chosen: list[str] | None
                    ) -> tuple[list[str], list[str]]:
    """Options and value of "ranked by": only scored proxies can rank the pre-screen."""
    scored = list(proxies or [])
    return scored, [name for name in chosen or [] if name in scored]


def proxy_fields(proxies: list[str] | None, prescreen: Any, prescreen_by: list[str] | None
                 ) -> dict[str, Any]:
    """The engine settings of the proxy fields (cell builder and lego builder alike)."""
    fields: dict[str, Any] = {"proxies": list(proxies or []), "prescreen_n": prescreen or 0}
    if prescreen_by:
        fields["prescreen_by"] = list(prescreen_by)
    return fields


def send_command(hub: Hub, session: str | None, kind: str, args: dict | None = None) -> str:
    try:
        hub.send(session, kind, args)
    except CommandError as exc:
        return f"not sent: {exc}"
    return f"sent {kind}"


def proposal(session: str | None, edit: dict[str, Any] | None, preview: str
             ) -> tuple[dict[str, Any] | None, str]:
    """A proposed edit (``block_edit``) for the pending store, tagged with its session."""
    return (edit | {"session": session} if edit else None), preview


def register_confirm(app: Dash, hub: Hub, button: str, pending: str, preview: str,
                     hint: str) -> None:
    """The confirm step of a proposed edit: ``button`` sends the command a click put in the
    ``pending`` store and clears it. The heatmap and the block view propose the same edits
    (``block_edit``), so they confirm them the same way; ``hint`` answers a confirm with
    nothing proposed. A proposal names its session (:func:`proposal`): one left over from
    another session is dropped, not sent to this one."""
    @app.callback(Output(preview, "children", allow_duplicate=True),
                  Output(pending, "data", allow_duplicate=True),
                  Output(ids.SENT_COMMANDS, "data", allow_duplicate=True),
                  Input(button, "n_clicks"), State(pending, "data"),
                  State(ids.SESSION, "data"), State(ids.SENT_COMMANDS, "data"),
                  prevent_initial_call=True)
    def confirm(_n: Any, proposed: dict | None, session: str | None, sent: dict | None) -> tuple:
        if not proposed or proposed.get("session") != session:
            return hint, None, no_update
        text, store = send_answered(hub, session, proposed["type"], proposed["args"], sent, preview)
        return text, None, store


def _register_controls(app: Dash, hub: Hub) -> None:
    # Pause / Resume / Stop, fine-tune and export answer next to themselves: feedback_view.py
    @app.callback(Output(ids.SHARE_STATUS, "children"), Input(ids.SHARE, "n_clicks"),
                  State(ids.SHARE_WITH, "value"), State(ids.SESSION, "data"), prevent_initial_call=True)
    def share(_n: Any, text: str | None, session: str | None) -> str:
        if not session:
            return "no session yet: start a search first"
        audience = share_audience(text)
        try:
            hub.share({"session": session, "args": {"with": audience}})
        except CommandError as exc:
            return f"not shared: {exc}"
        if audience == "*":
            return "everyone may now watch this session (only you steer)"
        return f"read-only for {', '.join(audience)}" if audience else "private: only you see it"


def share_audience(text: str | None) -> str | list[str]:
    """The share box's text as the ``share`` command's audience: ``*``, names, or none."""
    names = [n.strip() for n in (text or "").replace(";", ",").split(",") if n.strip()]
    return "*" if "*" in names else sorted(set(names))


def _register_steering(app: Dash, hub: Hub) -> None:
    @app.callback(Output(ids.PENDING, "data"), Output(ids.EDIT_PREVIEW, "children"),
                  Input(ids.HEATMAP, "clickData"), State(ids.HEAT_MODE, "value"),
                  State(ids.SESSION, "data"), prevent_initial_call=True)
    def pick_cell(click: dict | None, mode: str, session: str | None) -> tuple:
        """The heatmap proposes the same edits as the block view (``block_edit``)."""
        if not click or not click.get("points"):
            raise PreventUpdate
        view = _view(hub, session)
        point = click["points"][0]
        with view.lock:
            steering, space, evidence = dict(view.steering), view.space, view.evidence
        if space is None:
            raise PreventUpdate
        return proposal(session, *block_edit(steering, space, mode, point["y"], point["x"],
                                             view.current_records(), evidence))

    register_confirm(app, hub, ids.CONFIRM_EDIT, ids.PENDING, ids.EDIT_PREVIEW,
                     "click a heatmap cell first")

    @app.callback(Output(ids.WEIGHT_SLIDERS, "children"), Input(ids.WEIGHT_EDGE, "value"),
                  State(ids.SESSION, "data"))
    def sliders(edge: str | None, session: str | None) -> list:
        if not edge or not session:
            return []
        view = watched_view(hub, session)
        with view.lock:
            cp = next((c for c in (view.space or {}).get("choice_points", []) if c["name"] == edge), None)
            weights = view.steering.get("weights", {}).get(edge, {})
        if cp is None:
            return []
        return [html.Div([html.Span(op, className="slider-label"),
                          dcc.Slider(id={"type": ids.WEIGHT_SLIDER, "op": op}, min=0, max=5, step=0.5,
                                     value=weights.get(op, 1.0), marks=None,
                                     tooltip={"placement": "right"})], className="slider-row")
                for op in cp["candidates"]]

    @app.callback(Output(ids.EDIT_PREVIEW, "children", allow_duplicate=True),
                  Input(ids.APPLY_WEIGHTS, "n_clicks"), State(ids.WEIGHT_EDGE, "value"),
                  State({"type": ids.WEIGHT_SLIDER, "op": ALL}, "value"),
                  State({"type": ids.WEIGHT_SLIDER, "op": ALL}, "id"),
                  State(ids.SESSION, "data"), prevent_initial_call=True)
    def apply_weights(_n: Any, edge: str | None, values: list, slider_ids: list, session: str | None) -> str:
        if not edge or not values:
            return "pick an edge and set its weights first"
        weights = {sid["op"]: float(v) for sid, v in zip(slider_ids, values)}
        return send_command(hub, session, "set_sampling_weights", {"choice_point": edge, "weights": weights})

    @app.callback(Output(ids.SELECTION_INFO, "children"), Input(ids.MAP, "selectedData"))
    def selection(selected: dict | None) -> str:
        archs = selected_archs(selected)
        return f"{len(archs)} candidates selected" if archs else "lasso or box-select points on the map"

    @app.callback(Output(ids.SELECTION_INFO, "children", allow_duplicate=True),
                  Input(ids.FOCUS, "n_clicks"), Input(ids.PRUNE_OUTSIDE, "n_clicks"),
                  State(ids.MAP, "selectedData"), State(ids.SESSION, "data"), prevent_initial_call=True)
    def act_on_selection(_f: Any, _p: Any, selected: dict | None, session: str | None) -> str:
        archs = selected_archs(selected)
        if not archs:
            return "select candidates on the map first (lasso or box)"
        if ctx.triggered_id == ids.FOCUS:
            try:
                args = focus_args(NamedSelection("the map selection", frozenset(archs)))
            except ValueError as exc:
                return str(exc)
            return send_command(hub, session, "focus", args) + f" around {len(archs)} candidates"
        view = _view(hub, session)
        with view.lock:
            steering, space = dict(view.steering), view.space
        if space is None:
            raise PreventUpdate
        edits = prune_outside(steering, space, archs)
        for cp, op in edits:
            send_command(hub, session, "prune_op", {"choice_point": cp, "op": op})
        return f"sent {len(edits)} prunes keeping only ops used by the selection"


def selected_archs(selected: dict | None) -> list[str]:
    points = (selected or {}).get("points") or []
    return sorted({p["customdata"][0] for p in points if p.get("customdata")})


def _register_candidates(app: Dash, hub: Hub) -> None:
    @app.callback(Output(ids.CANDIDATE_A, "data"), Input(ids.MAP, "clickData"),
                  Input(ids.LEADERBOARD, "selected_rows"), State(ids.LEADERBOARD, "data"),
                  prevent_initial_call=True)
    def choose(click: dict | None, rows: list | None, data: list | None) -> str:
        if ctx.triggered_id == ids.MAP and click and click.get("points"):
            point = click["points"][0]
            if point.get("customdata"):
                return point["customdata"][0]
        if rows and data and rows[0] < len(data):
            return data[rows[0]]["arch"]
        raise PreventUpdate

    @app.callback(Output(ids.CANDIDATE_B, "data"), Input(ids.PIN_B, "n_clicks"),
                  State(ids.CANDIDATE_A, "data"), prevent_initial_call=True)
    def pin(_n: Any, arch: str | None) -> str:
        if not arch:
            raise PreventUpdate
        return arch

    for store, graph, title in ((ids.CANDIDATE_A, ids.CANDIDATE_GRAPH_A, "Selected"),
                                (ids.CANDIDATE_B, ids.CANDIDATE_GRAPH_B, "Pinned for comparison")):
        @app.callback(Output(graph, "figure"), Input(store, "data"), Input(ids.THEME, "data"),
                      State(ids.SESSION, "data"))
        def draw(arch: str | None, theme: str, session: str | None, _title: str = title) -> Any:
            record = None
            if arch and session:
                view = watched_view(hub, session)
                with view.lock:
                    record = view.records.get(arch)
            return figures.architecture_graph(arch, record, _theme_dark(theme), title=_title)


def _register_clientside(app: Dash) -> None:
    triggers = json.dumps(list(LIVE_TRIGGERS.values()))
    app.clientside_callback(
        "function(events, seq, session) { return window.navigator_glue.trackSeq("
        f"events, seq, session, {triggers}); }}",
        Output(ids.SEQ, "data"), Output(ids.RESYNC, "data"),
        *[Output(trigger, "data") for trigger in LIVE_TRIGGERS],
        EVENTS, State(ids.SEQ, "data"), State(ids.SESSION, "data"), prevent_initial_call=True)
    # In the browser, not on the server: the badge must change while the server is unreachable.
    app.clientside_callback(
        "function(connected, sid) { return window.navigator_glue.connection(connected, sid); }",
        Output(ids.CONNECTION, "children"), Output(ids.CONNECTION, "className"),
        Input(ids.SOCKET, "connected"), Input(ids.SOCKET, "socketId"))
    app.clientside_callback(
        "function(n, theme) { return window.navigator_glue.toggleTheme(n, theme); }",
        Output(ids.THEME, "data"), Input(ids.THEME_TOGGLE, "n_clicks"), State(ids.THEME, "data"))


