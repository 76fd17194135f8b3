"""The page: a sticky header (frontend/workspace.py), builder and controls on the left, the
cockpit (map, heatmap, leaderboard: visible together on a 1600x1000 screen) with the other
live views under it, and the secondary views on full-width tabs at the bottom."""

from __future__ import annotations

from dash import dcc, html
from dash.dash_table.DataTable import DataTable
from dash.development.base_component import Component
from dash_socketio import DashSocketIO

from frontend import ids
from frontend.advisor_view import advisor_panel
from frontend.archive_view import archive_panel
from frontend.archlock_builder import lock_fields
from frontend.archlock_view import lock_panel
from frontend.block_view import blocks_panel
from frontend.lego_view import lego_panel
from frontend.map_view import map_encoding_control
from frontend.study_view import replay_panel, study_panel
from frontend.trust_view import trust_panel
from frontend.widgets import LEADERBOARD_COLUMNS, field
from frontend.workspace import header, secondary_views
from supernet.configs import PROXY_NAMES
from supernet.space import CELL_OPS, NB201_OPS

MAP_COLOURS = ["accuracy", "params", "flops", "latency_ms", "generation", "loss"]
PARETO_COSTS = [{"label": "latency (ms)", "value": "latency_ms"},
                {"label": "parameters", "value": "params"}, {"label": "FLOPs", "value": "flops"}]
def _panel(title: str, *children: Component, class_name: str = "") -> html.Section:
    return html.Section([html.H3(title), *children], className=f"panel {class_name}".strip())


def builder() -> html.Section:
    return _panel(
        "Search space",
        field("Session name (optional)", dcc.Input(id=ids.SESSION_NAME, type="text", value="",
                                                    maxLength=80, placeholder="e.g. wide cells, run 2")),
        field("Preset", dcc.Dropdown(id=ids.PRESET, options=[
            {"label": "tiny (digits demo, CPU)", "value": "tiny"},
            {"label": "NAS-Bench-201 (15,625 archs)", "value": "nb201"},
            {"label": "custom template", "value": "custom"}], value="tiny", clearable=False)),
        field("Nodes per cell", dcc.Input(id=ids.N_NODES, type="number", min=2, max=7, value=4)),
        field("Candidate ops (every edge)", dcc.Checklist(
            id=ids.OPS, options=list(CELL_OPS), value=list(NB201_OPS), className="op-palette",
            inputClassName="op-check")),
        html.Details([
            html.Summary("Per-edge candidates"),
            field("Edge", dcc.Dropdown(id=ids.EDGE_PICK, clearable=False)),
            dcc.Checklist(id=ids.EDGE_OPS, options=list(CELL_OPS), value=[], className="op-palette"),
        ], className="edge-editor"),
        html.Div([
            field("Channels C", dcc.Input(id=ids.CHANNELS, type="number", min=1, value=8)),
            field("Cells / stage", dcc.Input(id=ids.CELLS, type="number", min=1, value=1)),
        ], className="row"),
        field("Dataset", dcc.Input(id=ids.DATASET, type="text", value="digits",
                                    placeholder="digits, cifar10:/path, npz:/path, folder:/path")),
        field("Accuracy from", dcc.RadioItems(id=ids.MODE, inline=True, value="supernet", options=[
            {"label": "supernet training", "value": "supernet"},
            {"label": "benchmark table", "value": "tabular"}])),
        field("Zero-cost proxies (scored for every candidate)", dcc.Checklist(
            id=ids.PROXIES, options=list(PROXY_NAMES), value=["synflow", "naswot"],
            className="op-palette")),
        html.Div([
            field("Pre-screen: start from the best of N random archs by the proxies (0: off)",
                   dcc.Input(id=ids.PRESCREEN, type="number", min=0, value=0)),
            field("ranked by (empty: a vote of all scored proxies)", dcc.Dropdown(
                id=ids.PRESCREEN_BY, options=["synflow", "naswot"], value=[], multi=True,
                placeholder="vote of all")),
        ], className="row"),
        field("Table (tabular mode)", dcc.Input(
            id=ids.TABLE_PATH, type="text", value="synthetic:0",
            placeholder="CSV path (arch + accuracy columns), synthetic:SEED or nats:PATH")),
        html.Div([
            field("Epochs", dcc.Input(id=ids.EPOCHS, type="number", min=1, value=10)),
            field("Sampler", dcc.Dropdown(id=ids.SAMPLER, options=["uniform", "fair", "weighted"],
                                           value="uniform", clearable=False)),
        ], className="row"),
        lock_fields(),  # ArchLock's objective (frontend/archlock_builder.py)
        html.Div(id=ids.SPACE_SIZE, className="space-size"),
        html.Div(id=ids.BUILDER_ERROR, className="error-text"),
        html.Button("Start search", id=ids.START, className="primary"),
    )


# The live search's strategies (supernet.search's registry), as the parameters panel offers them.
STRATEGY_OPTIONS = [
    {"label": "evolution (mutation + crossover)", "value": "evolution"},
    {"label": "random", "value": "random"},
    {"label": "latent (mutate in the learned embedding, arch2vec)", "value": "latent"},
]


def controls() -> html.Section:
    return _panel(
        "Controls",
        html.Div([dcc.Input(id=ids.FINETUNE_EPOCHS, type="number", min=1, value=3, className="small"),
                  html.Button("Fine-tune k epochs", id=ids.FINETUNE)], className="button-row"),
        html.Div([
            field("Population", dcc.Input(id=ids.POPULATION, type="number", min=1, value=20)),
            field("Mutation p", dcc.Input(id=ids.MUTATION, type="number", min=0, max=1,
                                           step=0.05, value=0.2)),
            field("Strategy", dcc.Dropdown(id=ids.SEARCH_STRATEGY, options=STRATEGY_OPTIONS,
                                           placeholder="keep the current one", clearable=True)),
        ], className="row"),
        html.Button("Apply search parameters", id=ids.APPLY_PARAMS),
        html.Div(id=ids.TUNE_FEEDBACK, className="feedback", role="status"),
        html.Div([dcc.Input(id=ids.SHARE_WITH, type="text", value="",
                            placeholder="share read-only: names, * for all, empty: private"),
                  html.Button("Share", id=ids.SHARE)], className="button-row"),
        html.Div(id=ids.SHARE_STATUS, className="hint"),
    )


def hardware_panel() -> html.Section:
    return html.Section([
        html.H3("Hardware"),
        html.Div([
            field("Cost axis", dcc.Dropdown(id=ids.PARETO_COST, options=PARETO_COSTS,
                                            value="latency_ms", clearable=False)),
            html.Button("Export front (CSV)", id=ids.PARETO_EXPORT),
            dcc.Download(id=ids.PARETO_DOWNLOAD),
        ], className="button-row"),
        dcc.Graph(id=ids.PARETO, config={"displaylogo": False}, style={"height": "320px"}),
        dcc.Interval(id=ids.HARDWARE_TICK, interval=2500),
        html.Div(id=ids.HARDWARE_INFO, className="hint"),
        html.Div([
            html.Span("Latency budget (ms)", className="field-label"),
            dcc.Slider(id=ids.BUDGET_SLIDER, min=0, max=10, step=0.01, value=None, marks=None,
                       tooltip={"placement": "bottom"}),
            html.Div(id=ids.BUDGET_NOTE, className="hint"),
            html.Div([dcc.Dropdown(id=ids.BUDGET_DEVICE, options=["host"], value="host",
                                   clearable=False, className="small-dropdown"),
                      html.Button("Apply budget", id=ids.APPLY_BUDGET, className="primary"),
                      html.Button("Lift budget", id=ids.LIFT_BUDGET)], className="button-row"),
        ], className="budget"),
        html.Div([
            dcc.Input(id=ids.DEVICE_NAME, type="text", value="", placeholder="device name, e.g. jetson"),
            dcc.Upload(html.Button("Upload device latencies (arch,latency_ms CSV)"),
                       id=ids.DEVICE_UPLOAD, max_size=1_000_000),
        ], className="button-row"),
        html.Div(id=ids.BUDGET_STATUS, className="hint"),
        dcc.Graph(id=ids.PROXY_CORR, config={"displaylogo": False}, style={"height": "260px"}),
    ], className="panel hardware")


def selections_panel() -> html.Section:
    """Named map selections and their set operations (callbacks: frontend/selection_view.py)."""
    return _panel(
        "Selections",
        dcc.Store(id=ids.SELECTIONS, storage_type="session", data={}),
        html.Div([dcc.Input(id=ids.SEL_NAME, type="text", value="", maxLength=80,
                            placeholder="name for the map's current selection"),
                  html.Button("Save selection", id=ids.SEL_SAVE)], className="button-row"),
        html.Ul(id=ids.SEL_LIST, className="selection-list"),
        html.Div([dcc.Dropdown(id=ids.SEL_A, placeholder="A", className="small-dropdown"),
                  dcc.Dropdown(id=ids.SEL_B, placeholder="B", className="small-dropdown")],
                 className="button-row"),
        html.Div([dcc.RadioItems(id=ids.SEL_OP, inline=True, value="intersection", options=[
                      {"label": "A ∪ B", "value": "union"},
                      {"label": "A ∩ B", "value": "intersection"},
                      {"label": "A − B", "value": "difference"},
                      {"label": "not A", "value": "complement"}]),
                  html.Button("Combine", id=ids.SEL_COMBINE)], className="button-row"),
        html.Div([dcc.Dropdown(id=ids.SEL_ACTIVE, placeholder="selection to use",
                               className="small-dropdown"),
                  html.Button("Focus sampling on it", id=ids.SEL_FOCUS, className="primary"),
                  html.Button("Fitness inside vs outside", id=ids.SEL_FITNESS),
                  html.Button("Delete", id=ids.SEL_DELETE, className="danger")],
                 className="button-row"),
        html.Div(id=ids.SEL_STATUS, className="hint"),
        dcc.Graph(id=ids.SEL_FIGURE, config={"displaylogo": False}, responsive=True,
                  style={"display": "none"}),
        class_name="selections")


def cockpit() -> html.Div:
    """What the analyst watches and steers all the time, visible together on a 1600x1000
    screen (the map spans the left column; heatmap over leaderboard on the right)."""
    return html.Div([
        _panel("Map",
               html.Div([field("Colour by", dcc.Dropdown(id=ids.MAP_COLOR, options=MAP_COLOURS,
                                                          value="accuracy", clearable=False)),
                         map_encoding_control(),
                         html.Button("Focus sampling here", id=ids.FOCUS),
                         html.Button("Prune everything outside", id=ids.PRUNE_OUTSIDE)],
                        className="button-row"),
               html.Div(id=ids.SELECTION_INFO, className="hint"),
               dcc.Graph(id=ids.MAP, config={"displaylogo": False}, className="map-graph"),
               class_name="map"),
        _panel("Fitness",
               dcc.RadioItems(id=ids.HEAT_MODE, options=[
                   {"label": "click prunes / restores", "value": "prune"},
                   {"label": "click locks / unlocks", "value": "lock"}], value="prune", inline=True),
               dcc.Graph(id=ids.HEATMAP, config={"displaylogo": False}, style={"height": "300px"}),
               html.Div([html.Span(id=ids.EDIT_PREVIEW, className="hint"),
                         html.Button("Confirm", id=ids.CONFIRM_EDIT, className="primary")],
                        className="button-row"),
               html.Details([
                   html.Summary("Sampling weights"),
                   field("Sampling weights of edge", dcc.Dropdown(id=ids.WEIGHT_EDGE)),
                   html.Div(id=ids.WEIGHT_SLIDERS),
                   html.Button("Apply weights", id=ids.APPLY_WEIGHTS)], className="weights"),
               class_name="fitness"),
        advisor_panel(),
        trust_panel(),  # with the advisor, right under the cockpit (frontend/trust_view.py)
        _panel("Leaderboard",
               html.P(id=ids.BASELINE_STATUS, className="baseline-status"),
               DataTable(id=ids.LEADERBOARD, columns=LEADERBOARD_COLUMNS, data=[],
                         sort_action="native", filter_action="native",
                         row_selectable="single", page_size=8,
                         style_table={"overflowX": "auto"},
                         style_cell={"fontFamily": "inherit", "fontSize": "12px",
                                     "padding": "3px 5px"},
                         # the arch string is long: cut here, whole in the archive and the map
                         style_cell_conditional=[{"if": {"column_id": "arch"}, "maxWidth": "140px",
                                                  "overflow": "hidden", "textOverflow": "ellipsis",
                                                  "textAlign": "left"}]),
               html.Div([html.Button("Export selected", id=ids.EXPORT),
                         html.Button("Train stand-alone", id=ids.TRAIN_STANDALONE),
                         html.Button("Download", id=ids.DOWNLOAD, disabled=True,
                                     title="the latest export as a zip: model.py, weights, arch.json"),
                         dcc.Download(id=ids.DOWNLOAD_FILE)],
                        className="button-row"),
               html.Div(id=ids.EXPORT_FEEDBACK, className="feedback", role="status"),
               html.Div(id=ids.TRUE_RANK, className="hint"),
               html.Div(id=ids.EXPORT_STATUS, className="hint"),
               class_name="leaderboard"),
        lock_panel(),  # ArchLock's source-vs-target scatter, shown with the objective
    ], className="cockpit")


def views() -> html.Div:
    """The views below the cockpit, two to a row."""
    return html.Div([
        _panel("Training",
               html.Div([html.Span("smoothing: mean of the last k steps", className="field-label"),
                         html.Div(dcc.Input(id=ids.SMOOTHING, type="number", min=1, max=500,
                                            step=1, value=1), className="narrow")],
                        className="button-row"),
               dcc.Graph(id=ids.LOSS_CURVE, config={"displaylogo": False}, style={"height": "260px"}),
               class_name="training"),
        _panel("Candidates",
               html.Div([dcc.Graph(id=ids.CANDIDATE_GRAPH_A, config={"displaylogo": False}),
                         dcc.Graph(id=ids.CANDIDATE_GRAPH_B, config={"displaylogo": False})],
                        className="compare"),
               html.Button("Pin for comparison →", id=ids.PIN_B),
               class_name="candidates"),
        blocks_panel(),
        selections_panel(),
        _panel("Timeline", html.Ul(id=ids.TIMELINE, className="timeline"), class_name="timeline-panel"),
        lego_panel(),
    ], className="views")


def build_layout() -> html.Div:
    return html.Div([
        DashSocketIO(id=ids.SOCKET, eventNames=["events", "command_error"]),
        dcc.Store(id=ids.SESSION, storage_type="session"),
        dcc.Store(id=ids.SEQ, storage_type="session", data={"last_seq": 0, "session": None}),
        dcc.Store(id=ids.RESYNC),
        dcc.Store(id=ids.MAP_COUNT, data={"count": 0, "version": -1, "color": None}),
        dcc.Store(id=ids.RENDERED_TRAINING),
        dcc.Store(id=ids.RENDERED_HEATMAP),
        dcc.Store(id=ids.RENDERED_TABLES),
        dcc.Store(id=ids.RENDERED_PARETO),
        *[dcc.Store(id=trigger) for trigger in (ids.LIVE_TRAINING, ids.LIVE_MAP, ids.LIVE_HEATMAP,
                                                ids.LIVE_TABLES, ids.LIVE_HARDWARE)],
        dcc.Store(id=ids.PENDING),
        dcc.Store(id=ids.EDGE_OVERRIDES, data={}),
        dcc.Store(id=ids.THEME, storage_type="local", data="light"),
        dcc.Store(id=ids.CANDIDATE_A),
        dcc.Store(id=ids.CANDIDATE_B),
        dcc.Store(id=ids.SENT_COMMANDS),
        header(),
        html.Div([html.Aside([builder(), controls()], className="sidebar"),
                  html.Div([cockpit(), views()], className="workspace")], className="main"),
        secondary_views({"archive": [archive_panel()], "hardware": [hardware_panel()],
                         "study": [study_panel()], "replay": [replay_panel()]}),
    ], id="app-root")
