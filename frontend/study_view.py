"""Study mode in the UI: the Study panel, UI-action recording and the Replay view.

- **Study panel** (sidebar): the experimenter creates a study or picks one, types the
  participant id, picks the condition and starts the builder's search inside the study;
  the participant sees the task and a countdown of the time limit (enforced server-side by
  :class:`navigator.study.StudyService`). **Export study** downloads the study's tables.
- **UI actions**: Dash callbacks on the controls that change only what the participant sees
  (map colour, zoom and selection, click modes, proposed edits, selections, candidates, the
  leaderboard's sorting, the Pareto cost, the theme, ...) put a validated ``ui_action`` event
  on the session's stream, so the recording holds them next to the commands.
- **Replay**: any recorded session the user may watch, played back at speed x k with a time
  slider. The views are rebuilt by folding the recorded events up to the slider time into a
  fresh :class:`~navigator.session_view.SessionView` and drawing it with the live views' own figure
  functions and the last UI action of each kind (``SessionView.ui_state``), so the replay
  shows what the participant saw: their map colour, zoom and selection, the candidates they
  had selected and pinned, and a line of their click modes and other UI state.
- **Access** (lab server, logins on): the session list, ``?replay=<id>`` and every drawing
  follow the hub's :class:`~navigator.auth.AccessPolicy` watch right; creating and exporting
  studies is for admins (:meth:`navigator.study.StudyService.admin_problem`).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.dash_table.DataTable import DataTable
from dash.exceptions import PreventUpdate

from frontend import figures, ids
from frontend.callbacks import BUILDER_STATES, builder_config, live, selected_archs
from frontend.metric_units import heatmap_units
from frontend.widgets import LEADERBOARD_COLUMNS, field
from navigator.events import Event
from navigator.session_labels import session_label
from navigator.session_view import SessionView

if TYPE_CHECKING:
    from frontend.hub import Hub
    from navigator.recording import RecordingStore
    from navigator.study import StudyService

SPEEDS = (1, 2, 5, 10, 50)
REPLAY_TICK_MS = 250
def study_panel() -> html.Section:
    return html.Section([
        html.H3("Study"),
        html.Details([
            html.Summary("New study"),
            field("Name", dcc.Input(id=ids.STUDY_NAME, type="text", value="", maxLength=80)),
            field("Conditions (comma-separated)", dcc.Input(
                id=ids.STUDY_CONDITIONS, type="text", value="human-in-the-loop,automated")),
            field("Task description", dcc.Textarea(id=ids.STUDY_TASK, value="", maxLength=4000)),
            field("Time limit (s, empty: none)", dcc.Input(id=ids.STUDY_LIMIT, type="number",
                                                            min=1, value=None)),
            html.Button("Create study", id=ids.STUDY_CREATE),
        ], className="study-new"),
        field("Study", dcc.Dropdown(id=ids.STUDY_PICK, placeholder="pick a study")),
        html.Div([
            field("Participant id", dcc.Input(id=ids.STUDY_PARTICIPANT, type="text", value="",
                                               maxLength=64, placeholder="e.g. P01")),
            field("Condition", dcc.Dropdown(id=ids.STUDY_CONDITION, clearable=False)),
        ], className="row"),
        html.Button("Start search in study", id=ids.STUDY_START, className="primary"),
        html.Div(id=ids.STUDY_STATUS, className="hint"),
        html.Div(id=ids.STUDY_COUNTDOWN, className="study-countdown"),
        dcc.Store(id=ids.STUDY_INFO),
        dcc.Store(id=ids.UI_ACTION),
        dcc.Interval(id=ids.STUDY_TICK, interval=1000),
        html.Div([dcc.RadioItems(id=ids.STUDY_FORMAT, options=["csv", "jsonl"], value="csv",
                                 inline=True),
                  html.Button("Export study", id=ids.STUDY_EXPORT),
                  dcc.Download(id=ids.STUDY_DOWNLOAD)], className="button-row"),
    ], className="panel study")


def _replay_graph(cid: str, height: int) -> dcc.Graph:
    return dcc.Graph(id=cid, config={"displaylogo": False}, style={"height": f"{height}px"})


def replay_panel() -> html.Section:
    """Rows of two views each, as the live page pairs them: training and map, fitness and
    blocks, selected and pinned candidate; then the leaderboard (wide arch strings) over the
    timeline."""
    return html.Section([
        html.H3("Replay"),
        dcc.Location(id=ids.REPLAY_URL, refresh=False),
        html.Div([
            dcc.Dropdown(id=ids.REPLAY_SESSION, placeholder="recorded session",
                         className="small-dropdown"),
            html.Button("↻", id=ids.REPLAY_REFRESH, title="refresh the list of recordings"),
            html.Button("Play", id=ids.REPLAY_PLAY, className="primary"),
            dcc.RadioItems(id=ids.REPLAY_SPEED, inline=True, value=10,
                           options=[{"label": f"×{k}", "value": k} for k in SPEEDS]),
        ], className="button-row"),
        dcc.Slider(id=ids.REPLAY_SLIDER, min=0, max=1, step=0.01, value=0, marks=None,
                   tooltip={"placement": "bottom"}),
        dcc.Interval(id=ids.REPLAY_TICK, interval=REPLAY_TICK_MS, disabled=True),
        html.Div(id=ids.REPLAY_INFO, className="hint"),
        html.Div(id=ids.REPLAY_UI, className="hint"),
        html.Div([_replay_graph(ids.REPLAY_TRAINING, 240), _replay_graph(ids.REPLAY_MAP, 320)],
                 className="compare"),
        html.Div([_replay_graph(ids.REPLAY_HEATMAP, 300), _replay_graph(ids.REPLAY_BLOCKS, 300)],
                 className="compare"),
        html.Div([_replay_graph(ids.REPLAY_CANDIDATE, 280),
                  _replay_graph(ids.REPLAY_PINNED, 280)], className="compare"),
        html.Div([DataTable(id=ids.REPLAY_LEADERBOARD, columns=LEADERBOARD_COLUMNS[:3],
                            data=[], page_size=8, style_table={"overflowX": "auto"},
                            style_cell={"fontFamily": "inherit", "fontSize": "12px"}),
                  html.Ul(id=ids.REPLAY_TIMELINE, className="timeline")]),
    ], className="panel replay")


class ReplayCache:
    """Recorded events per session, and the last view folded from them.

    Moving the slider forward folds only the events in between; moving it back starts a
    fresh view (folding is cheap next to drawing). Events are re-read when the recording
    has grown, so a session still running can be replayed up to now.
    """

    def __init__(self, store: RecordingStore) -> None:
        self.store = store
        self._events: dict[str, tuple[list[Event], list[float]]] = {}
        self._view: tuple[str, int, SessionView] | None = None
        self._lock = threading.Lock()

    def events(self, session: str) -> tuple[list[Event], list[float]]:
        """The session's events and their times (s) since its first event."""
        cached = self._events.get(session)
        last = self.store.last_seq(session)
        if cached is None or (cached[0] and cached[0][-1].seq < last) or (not cached[0] and last):
            events = self.store.events(session)
            t0 = events[0].ts if events else 0.0
            cached = (events, [e.ts - t0 for e in events])
            self._events[session] = cached
        return cached

    def duration(self, session: str) -> float:
        offsets = self.events(session)[1]
        return offsets[-1] if offsets else 0.0

    def at(self, session: str, t: float) -> tuple[SessionView, int]:
        """The view after every event up to ``t`` s since the first, and how many those are."""
        with self._lock:
            events, offsets = self.events(session)
            n = bisect.bisect_right(offsets, t + 1e-9)
            if self._view is None or self._view[0] != session or self._view[1] > n:
                self._view = (session, 0, SessionView(session))
            _, done, view = self._view
            for event in events[done:n]:
                view.apply(event)
            self._view = (session, n, view)
            return view, n


def slider_end(duration: float) -> float:
    """The replay slider's end: the duration rounded up to the slider's 0.01 s grid, so the
    last event is reachable and the time line says the same end as the slider."""
    return max(round(duration + 0.005, 2), 0.01)


def _sessions_options(store: RecordingStore,
                      refused: Callable[[str], str | None]) -> list[dict[str, str]]:
    """The recorded sessions a replay may show; ``refused`` gives why one may not be shown
    (the labels name participants, so a session one may not watch is not even listed)."""
    members = {m["session"]: m for m in store.study_sessions()}
    options = []
    for info in reversed(store.sessions()):
        if refused(info.id):
            continue
        m = members.get(info.id)
        who = f" · {m['participant']} ({m['study']} / {m['condition']})" if m else ""
        label = session_label(info.id, info.config, info.created_ts, info.state,
                              store.best_accuracy(info.id), who)
        options.append({"label": f"{label} · {info.last_seq} events", "value": info.id})
    return options


def register_study(app: Dash, hub: Hub, service: StudyService) -> None:
    """Every Dash callback of the Study and Replay panels, over a service built (with its
    store, socket message and timer) by the composition root, ``navigator/wsgi.py``.

    A service without a store (bare test apps) makes the panels answer with an explanation.
    ``hub`` keeps the views' common ``register_*`` signature; these panels act only through
    the service, which holds the hub itself.
    """
    _register_study_panel(app, service)
    _register_ui_actions(app, service)
    _register_replay(app, service)


def _register_study_panel(app: Dash, service: StudyService) -> None:
    @app.callback(Output(ids.STUDY_PICK, "options"), Output(ids.STUDY_PICK, "value"),
                  Output(ids.STUDY_STATUS, "children"),
                  Input(ids.STUDY_CREATE, "n_clicks"), State(ids.STUDY_NAME, "value"),
                  State(ids.STUDY_CONDITIONS, "value"), State(ids.STUDY_TASK, "value"),
                  State(ids.STUDY_LIMIT, "value"))
    def create(n: Any, name: str, conditions: str, task: str, limit: Any) -> tuple:
        value: Any = no_update
        message = ""
        if n:
            try:
                study = service.create({"name": (name or "").strip(), "conditions": conditions or "",
                                        "task": task or "", "time_limit_s": limit or None})
            except (ValueError, TypeError) as exc:
                return no_update, no_update, f"cannot create the study: {exc}"
            value, message = study.name, f"study {study.name!r} saved"
        return [s.name for s in service.studies()], value, message

    @app.callback(Output(ids.STUDY_CONDITION, "options"), Output(ids.STUDY_CONDITION, "value"),
                  Input(ids.STUDY_PICK, "value"), prevent_initial_call=True)
    def conditions(name: str | None) -> tuple:
        study = next((s for s in service.studies() if s.name == name), None)
        if study is None:
            return [], None
        return study.conditions, study.conditions[0]

    @app.callback(Output(ids.SESSION, "data", allow_duplicate=True),
                  Output(ids.STUDY_STATUS, "children", allow_duplicate=True),
                  Input(ids.STUDY_START, "n_clicks"), State(ids.STUDY_PICK, "value"),
                  State(ids.STUDY_PARTICIPANT, "value"), State(ids.STUDY_CONDITION, "value"),
                  *[State(i, "value" if i != ids.EDGE_OVERRIDES else "data") for i in BUILDER_STATES],
                  prevent_initial_call=True)
    def start(_n: Any, name: str | None, participant: str | None, condition: str | None,
              *fields: Any) -> tuple:
        if not name:
            return no_update, "pick or create a study first"
        try:
            session = service.join(name, (participant or "").strip(), condition or "",
                                   builder_config(*fields))
        except (ValueError, TypeError) as exc:
            return no_update, f"cannot start: {exc}"
        return session, f"{participant} started {session} in {name} ({condition})"

    @app.callback(Output(ids.STUDY_INFO, "data"), Input(ids.SESSION, "data"),
                  live(ids.LIVE_TABLES))
    def info(session: str | None, _events: Any) -> Any:
        return service.status(session)

    app.clientside_callback(
        "function(n, info) { return window.navigator_study.countdown(info); }",
        Output(ids.STUDY_COUNTDOWN, "children"), Input(ids.STUDY_TICK, "n_intervals"),
        Input(ids.STUDY_INFO, "data"))

    @app.callback(Output(ids.STUDY_DOWNLOAD, "data"),
                  Output(ids.STUDY_STATUS, "children", allow_duplicate=True),
                  Input(ids.STUDY_EXPORT, "n_clicks"), State(ids.STUDY_PICK, "value"),
                  State(ids.STUDY_FORMAT, "value"), prevent_initial_call=True)
    def export(_n: Any, name: str | None, fmt: str) -> tuple:
        if not name:
            return no_update, "pick a study to export"
        try:
            data = service.export(name, fmt)
        except ValueError as exc:
            return no_update, f"cannot export: {exc}"
        return dcc.send_bytes(data, f"{name.replace(' ', '_')}-{fmt}.zip"), f"exported {name}"


def zoom_detail(relayout: dict | None) -> dict[str, list[float]] | None:
    """The axis ranges a map zoom / pan / autoscale set ([] for autoscale), or None when the
    relayout changed no axis (first draw, a lasso, a drag-mode switch)."""
    detail = {}
    for axis, key in (("xaxis", "x"), ("yaxis", "y")):
        d = relayout or {}
        if f"{axis}.range[0]" in d and f"{axis}.range[1]" in d:
            detail[key] = [d[f"{axis}.range[0]"], d[f"{axis}.range[1]"]]
        elif isinstance(d.get(f"{axis}.range"), list):
            detail[key] = list(d[f"{axis}.range"])
        elif d.get(f"{axis}.autorange"):
            detail[key] = []
    return detail or None


def _pending_detail(view: str) -> Callable[[dict | None], dict[str, str] | None]:
    """edit_proposed from a pending-edit store ({type, args}) of the heatmap or block view."""
    def detail(pending: dict | None) -> dict[str, str] | None:
        if not pending:
            return None
        args = pending["args"]
        return {"command": pending["type"], "choice_point": args.get("choice_point", ""),
                "op": args.get("op", ""), "view": view}
    return detail


def _register_ui_actions(app: Dash, service: StudyService) -> None:
    """One output-less callback per recorded UI action (README, "Recorded actions")."""

    def record(session: str | None, kind: str, detail: dict[str, Any]) -> Any:
        if not session:
            return no_update
        try:
            service.record_ui_action(session, {"kind": kind, "detail": detail})
        except ValueError:
            return no_update  # a session not on this bus (yet): nothing to record into
        return {"session": session, "kind": kind}

    def on(component: str, prop: str, kind: str, detail: Any, *states: State) -> None:
        @app.callback(Output(ids.UI_ACTION, "data", allow_duplicate=True),
                      Input(component, prop), State(ids.SESSION, "data"), *states,
                      prevent_initial_call=True)
        def _record(value: Any, session: str | None, *extra: Any) -> Any:
            d = detail(value, *extra)
            return no_update if d is None else record(session, kind, d)

    _register_view_actions(on)
    _register_selection_actions(on)


OnAction = Callable[..., None]


def _register_view_actions(on: OnAction) -> None:
    """The controls of the map, heatmap, blocks, candidates, leaderboard, hardware and theme."""
    on(ids.MAP_COLOR, "value", "map_color", lambda v: {"color": v} if v else None)
    on(ids.HEAT_MODE, "value", "heat_mode", lambda v: {"mode": v} if v else None)
    on(ids.BLOCK_MODE, "value", "block_mode", lambda v: {"mode": v} if v else None)
    on(ids.PENDING, "data", "edit_proposed", _pending_detail("heatmap"))
    on(ids.BLOCK_PENDING, "data", "edit_proposed", _pending_detail("blocks"))
    on(ids.MAP, "selectedData", "map_selection", lambda sel: {
        "n": len(selected_archs(sel)), "archs": selected_archs(sel)[:50]})
    on(ids.MAP, "relayoutData", "map_zoom", zoom_detail)
    on(ids.CANDIDATE_A, "data", "candidate_selected", lambda a: {"arch": a} if a else None)
    on(ids.CANDIDATE_B, "data", "candidate_pinned", lambda a: {"arch": a} if a else None)
    on(ids.WEIGHT_EDGE, "value", "weight_edge", lambda e: {"choice_point": e} if e else None)
    on(ids.LEADERBOARD, "sort_by", "leaderboard_view",
       lambda sort, query: {"sort_by": sort or [], "filter": query or ""},
       State(ids.LEADERBOARD, "filter_query"))
    on(ids.LEADERBOARD, "filter_query", "leaderboard_view",
       lambda query, sort: {"sort_by": sort or [], "filter": query or ""},
       State(ids.LEADERBOARD, "sort_by"))
    on(ids.PARETO_COST, "value", "pareto_cost", lambda c: {"cost": c} if c else None)
    on(ids.THEME, "data", "theme", lambda t: {"theme": t} if t in ("light", "dark") else None)


def _register_selection_actions(on: OnAction) -> None:
    """The Selections panel: what was saved, combined, used and deleted (by name)."""
    on(ids.SEL_SAVE, "n_clicks", "selection_saved",
       lambda n, name, sel: {"name": name or "", "n": len(selected_archs(sel))} if n else None,
       State(ids.SEL_NAME, "value"), State(ids.MAP, "selectedData"))
    on(ids.SEL_COMBINE, "n_clicks", "selections_combined",
       lambda n, op, a, b, name: {"operation": op, "a": a or "", "b": b or "",
                                  "name": name or ""} if n and op else None,
       State(ids.SEL_OP, "value"), State(ids.SEL_A, "value"), State(ids.SEL_B, "value"),
       State(ids.SEL_NAME, "value"))
    for button, use in ((ids.SEL_FOCUS, "focus"), (ids.SEL_FITNESS, "fitness")):
        on(button, "n_clicks", "selection_used",
           lambda n, name, _use=use: {"use": _use, "name": name} if n and name else None,
           State(ids.SEL_ACTIVE, "value"))
    on(ids.SEL_DELETE, "n_clicks", "selection_deleted",
       lambda n, name: {"name": name} if n and name else None, State(ids.SEL_ACTIVE, "value"))


def _replay_hint(service: StudyService, session: str | None) -> str:
    """Why nothing is drawn (no store, no session, no right to watch it), or ""."""
    if service.store is None:
        return "replay needs the recording store (navigator serve)"
    if not session:
        return "pick a recorded session"
    problem = service.replay_problem(session)
    return f"cannot replay {session}: {problem}" if problem else ""


REPLAY_OUTPUTS = ((ids.REPLAY_TRAINING, "figure"), (ids.REPLAY_MAP, "figure"),
                  (ids.REPLAY_HEATMAP, "figure"), (ids.REPLAY_BLOCKS, "figure"),
                  (ids.REPLAY_CANDIDATE, "figure"), (ids.REPLAY_PINNED, "figure"),
                  (ids.REPLAY_LEADERBOARD, "data"), (ids.REPLAY_TIMELINE, "children"),
                  (ids.REPLAY_UI, "children"), (ids.REPLAY_INFO, "children"))
CLICK_EFFECT = {"prune": "prunes / restores", "lock": "locks / unlocks"}
# kind -> what the replay's "participant's view" line says of that kind's last detail
UI_SUMMARY: dict[str, Callable[[dict[str, Any]], str]] = {
    "map_color": lambda d: f"map coloured by {d.get('color', 'accuracy')}",
    "heat_mode": lambda d: f"heatmap click {CLICK_EFFECT.get(d.get('mode', ''), 'prunes / restores')}",
    "block_mode": lambda d: f"block click {CLICK_EFFECT.get(d.get('mode', ''), 'prunes / restores')}",
    "map_selection": lambda d: f"{d.get('n', 0):,} candidates selected on the map",
    "map_zoom": lambda d: "map zoomed" if d.get("x") or d.get("y") else "map autoscaled",
    "edit_proposed": lambda d: (f"last proposed edit: {d.get('command')} {d.get('op', '')} on "
                                f"{d.get('choice_point')} ({d.get('view', 'heatmap')})"),
    "weight_edge": lambda d: f"sampling weights of {d.get('choice_point')} open",
    "selection_saved": lambda d: f"saved selection {d.get('name')!r}",
    "selections_combined": lambda d: (
        f"combined {d.get('a')!r} {d.get('operation')} {d.get('b')!r}" if d.get("b")
        else f"combined {d.get('operation')} of {d.get('a')!r}"),
    "selection_used": lambda d: f"used selection {d.get('name')!r} ({d.get('use')})",
    "selection_deleted": lambda d: f"deleted selection {d.get('name')!r}",
    "leaderboard_view": lambda d: _leaderboard_summary(d),
    "pareto_cost": lambda d: f"Pareto cost {d.get('cost')}",
    "theme": lambda d: f"{d.get('theme')} theme",
    "advice_accepted": lambda d: f"accepted advice {d.get('command', '')}".rstrip(),
    "advice_dismissed": lambda d: f"dismissed advice {d.get('command', '')}".rstrip(),
    "pair_heatmap": lambda d: f"pair heatmap {d.get('first', '')} x {d.get('second', '')}",
}


def _leaderboard_summary(detail: dict[str, Any]) -> str:
    parts = [f"sorted by {s.get('column_id')} {s.get('direction')}"
             for s in detail.get("sort_by", []) if isinstance(s, dict)]
    if detail.get("filter"):
        parts.append(f"filtered {detail['filter']}")
    return "leaderboard " + (", ".join(parts) or "unsorted")


DEFAULT_UI = {"map_color": {"color": "accuracy"}, "heat_mode": {"mode": "prune"},
              "block_mode": {"mode": "prune"}}


def participant_ui(ui_state: dict[str, dict[str, Any]]) -> str:
    """One line of the participant's UI state at the replay time: the click modes and map
    colour always (their defaults until changed), then each other recorded kind's last value."""
    state = DEFAULT_UI | ui_state
    kinds = [*DEFAULT_UI, *(k for k in UI_SUMMARY if k in ui_state and k not in DEFAULT_UI)]
    return "participant's view: " + " · ".join(UI_SUMMARY[k](state[k]) for k in kinds)


def _replay_map(snap: dict[str, Any], ui: dict[str, dict[str, Any]], dark: bool,
                task: dict[str, Any]) -> Any:
    """The map in the participant's colour, with their selection and zoom."""
    colour = ui.get("map_color", {}).get("color", "accuracy")
    fig = figures.architecture_map(snap, colour, dark, "replay",
                                   selected=ui.get("map_selection", {}).get("archs") or None,
                                   task=task)
    zoom = ui.get("map_zoom", {})
    for axis, update in (("x", fig.update_xaxes), ("y", fig.update_yaxes)):
        if zoom.get(axis):
            update(range=zoom[axis], autorange=False)
        else:
            update(autorange=True)
    return fig


def _candidate(view: SessionView, arch: str | None, dark: bool, title: str, none: str) -> Any:
    """The candidate drawing; without one, ``none`` says so (not the live hint to click one)."""
    fig = figures.architecture_graph(arch, view.records.get(arch) if arch else None, dark,
                                     title=title)
    if not arch:
        fig.layout.annotations[0].text = none
    return fig


def replay_views(view: SessionView, dark: bool = False) -> dict[str, Any]:
    """Every replay view but the info line, keyed by component id, drawn from the folded
    ``view`` with the live views' figure functions and the participant's UI state."""
    with view.lock:
        ui = {kind: dict(detail) for kind, detail in view.ui_state.items()}
        cps = (view.space or {}).get("choice_points", [])
        names = [cp["name"] for cp in cps]
        matrix, label, lower = heatmap_units(view.fitness, view.task, view.trust)
        return {
            ids.REPLAY_TRAINING: figures.training_curves(list(view.progress[-2000:]), dark),
            ids.REPLAY_MAP: _replay_map(view.snapshot_map(0), ui, dark, view.task),
            ids.REPLAY_HEATMAP: figures.fitness_heatmap(cps, matrix, view.steering, dark,
                                                        label, lower),
            ids.REPLAY_BLOCKS: figures.block_information(matrix, view.steering, dark, names,
                                                         label, lower),
            ids.REPLAY_CANDIDATE: _candidate(view, ui.get("candidate_selected", {}).get("arch"),
                                             dark, "Selected by the participant",
                                             "no candidate selected yet"),
            ids.REPLAY_PINNED: _candidate(view, ui.get("candidate_pinned", {}).get("arch"),
                                          dark, "Pinned for comparison", "none pinned yet"),
            ids.REPLAY_LEADERBOARD: [{"rank": i + 1, "arch": r.get("arch"),
                                      "accuracy": r.get("accuracy")}
                                     for i, r in enumerate(view.leaderboard)],
            ids.REPLAY_TIMELINE: [html.Li(f"{x.get('user', 'worker')}: {x['text']}",
                                          className=f"tl-{x['kind']}")
                                  for x in list(view.timeline)[-12:][::-1]],
            ids.REPLAY_UI: participant_ui(ui),
        }


def _replay_info(view: SessionView, session: str, t: float, n: int, end: float) -> str:
    with view.lock:
        state, study, count = view.state, dict(view.study), len(view.map)
    who = (f" · participant {study['participant']} ({study['study']} / {study['condition']})"
           if study else "")
    return f"t = {t:.2f} s of {end:.2f} s · {n} events · {count} candidates · {state}{who}"


def _register_replay(app: Dash, service: StudyService) -> None:
    cache: list[ReplayCache] = []

    def replays() -> ReplayCache:
        if not cache:
            cache.append(ReplayCache(service._need_store()))
        return cache[0]

    @app.callback(Output(ids.REPLAY_SESSION, "options"), Output(ids.REPLAY_SESSION, "value"),
                  Input(ids.REPLAY_REFRESH, "n_clicks"), Input(ids.REPLAY_URL, "search"),
                  Input(ids.SESSION, "data"))
    def sessions(_n: Any, search: str | None, _session: Any) -> tuple:
        if service.store is None:
            return [], no_update
        asked = parse_qs((search or "").lstrip("?")).get("replay", [None])[0]
        value = asked if asked and ctx.triggered_id in (ids.REPLAY_URL, None) else no_update
        return _sessions_options(service.store, service.replay_problem), value

    @app.callback(Output(ids.REPLAY_SLIDER, "max"), Output(ids.REPLAY_SLIDER, "value"),
                  Input(ids.REPLAY_SESSION, "value"), Input(ids.REPLAY_REFRESH, "n_clicks"),
                  State(ids.REPLAY_SLIDER, "value"), prevent_initial_call=True)
    def span(session: str | None, _n: Any, value: Any) -> tuple:
        if not session or service.store is None or service.replay_problem(session):
            raise PreventUpdate
        duration = slider_end(replays().duration(session))
        keep = ctx.triggered_id == ids.REPLAY_REFRESH and isinstance(value, (int, float))
        return duration, min(value, duration) if keep else 0

    @app.callback(*[Output(cid, prop) for cid, prop in REPLAY_OUTPUTS],
                  Input(ids.REPLAY_SLIDER, "value"), Input(ids.REPLAY_SESSION, "value"),
                  Input(ids.THEME, "data"))
    def draw(t: Any, session: str | None, theme: str | None) -> tuple:
        dark = theme == "dark"
        hint = _replay_hint(service, session)
        if hint or not session:  # there is a hint whenever there is no session
            drawn = replay_views(SessionView(""), dark) | {ids.REPLAY_UI: "", ids.REPLAY_INFO: hint}
        else:
            t = float(t or 0.0)
            view, n = replays().at(session, t)
            drawn = replay_views(view, dark)
            drawn[ids.REPLAY_INFO] = _replay_info(view, session, t, n,
                                                  slider_end(replays().duration(session)))
        return tuple(drawn[cid] for cid, _ in REPLAY_OUTPUTS)

    app.clientside_callback(
        "function(play, tick, value, max, speed, disabled) { return window.navigator_study"
        f".replayTick(play, tick, value, max, speed, disabled, {REPLAY_TICK_MS}); }}",
        Output(ids.REPLAY_SLIDER, "value", allow_duplicate=True),
        Output(ids.REPLAY_TICK, "disabled"), Output(ids.REPLAY_PLAY, "children"),
        Input(ids.REPLAY_PLAY, "n_clicks"), Input(ids.REPLAY_TICK, "n_intervals"),
        State(ids.REPLAY_SLIDER, "value"), State(ids.REPLAY_SLIDER, "max"),
        State(ids.REPLAY_SPEED, "value"), State(ids.REPLAY_TICK, "disabled"),
        prevent_initial_call=True)
