"""Every Dash component id in one place, so layout and callbacks cannot drift apart."""

SOCKET = "socket"
SESSION = "session-store"
SEQ = "seq-store"
RESYNC = "resync-store"
MAP_COUNT = "map-count-store"
RENDERED_TRAINING = "rendered-training-store"
RENDERED_HEATMAP = "rendered-heatmap-store"
RENDERED_TABLES = "rendered-tables-store"
RENDERED_PARETO = "rendered-pareto-store"
HARDWARE_TICK = "hardware-tick"  # redraws what the hardware panel's throttle skipped
# Set in the browser (assets/navigator.js, trackSeq) when a socket batch holds events a view
# draws, so that a server callback runs only for the batches that concern it.
LIVE_TRAINING = "live-training"
LIVE_MAP = "live-map"
LIVE_HEATMAP = "live-heatmap"
LIVE_TABLES = "live-tables"
LIVE_HARDWARE = "live-hardware"
PENDING = "pending-edit-store"
THEME = "theme-store"

THEME_TOGGLE = "theme-toggle"
CONNECTION = "connection-status"
SESSION_STATE = "session-state"
SESSION_PICK = "session-pick"
SHARE_WITH = "share-with"
SHARE = "share-button"
SHARE_STATUS = "share-status"

PRESET = "builder-preset"
N_NODES = "builder-n-nodes"
OPS = "builder-ops"
CHANNELS = "builder-channels"
CELLS = "builder-cells"
DATASET = "builder-dataset"
EPOCHS = "builder-epochs"
SAMPLER = "builder-sampler"
MODE = "builder-mode"
TABLE_PATH = "builder-table"
PROXIES = "builder-proxies"
PRESCREEN = "builder-prescreen"
PRESCREEN_BY = "builder-prescreen-by"
EDGE_PICK = "builder-edge"
EDGE_OPS = "builder-edge-ops"
EDGE_OVERRIDES = "builder-edge-overrides"
SPACE_SIZE = "builder-space-size"
BUILDER_ERROR = "builder-error"
START = "start-button"

PAUSE = "pause-button"
RESUME = "resume-button"
STOP = "stop-button"
FINETUNE = "finetune-button"
FINETUNE_EPOCHS = "finetune-epochs"
POPULATION = "search-population"
SEARCH_STRATEGY = "search-strategy"
MUTATION = "search-mutation"
APPLY_PARAMS = "search-apply"

PROGRESS_BAR = "progress-bar"
PROGRESS_TEXT = "progress-text"
LOSS_CURVE = "loss-curve"

MAP = "map"
MAP_COLOR = "map-color"
# the fixed map's encoding menu (frontend/map_view.py)
MAP_ENCODING = "map-encoding"
MAP_ENCODING_STATUS = "map-encoding-status"
MAP_REFIT = "map-refit"  # the announcement of a refit of the map
FOCUS = "focus-button"
PRUNE_OUTSIDE = "prune-outside-button"
SELECTION_INFO = "selection-info"

HEATMAP = "heatmap"
HEAT_MODE = "heatmap-mode"
EDIT_PREVIEW = "edit-preview"
CONFIRM_EDIT = "confirm-edit"
WEIGHT_EDGE = "weight-edge"
WEIGHT_SLIDERS = "weight-sliders"
WEIGHT_SLIDER = "weight-slider"  # pattern-matching: {"type": WEIGHT_SLIDER, "op": name}
APPLY_WEIGHTS = "apply-weights"

CANDIDATE_A = "candidate-a"
CANDIDATE_B = "candidate-b"
CANDIDATE_GRAPH_A = "candidate-graph-a"
CANDIDATE_GRAPH_B = "candidate-graph-b"
PIN_B = "pin-b-button"

LEADERBOARD = "leaderboard"
BASELINE_STATUS = "baseline-status"  # best found vs the task's baseline (task_view.py)
EXPORT = "export-button"
TRAIN_STANDALONE = "train-standalone-button"
EXPORT_STATUS = "export-status"
DOWNLOAD = "download-export-button"  # the latest export as a zip
DOWNLOAD_FILE = "download-export-file"
TRUE_RANK = "true-rank"  # tabular mode: where the best found stands in the whole table

TIMELINE = "timeline"

PARETO = "pareto"
PARETO_COST = "pareto-cost"
PARETO_EXPORT = "pareto-export-button"
PARETO_DOWNLOAD = "pareto-download"
PROXY_CORR = "proxy-correlations"
HARDWARE_INFO = "hardware-info"
BUDGET_SLIDER = "budget-slider"
BUDGET_DEVICE = "budget-device"
APPLY_BUDGET = "apply-budget-button"
LIFT_BUDGET = "lift-budget-button"
BUDGET_STATUS = "budget-status"
DEVICE_NAME = "device-name"
DEVICE_UPLOAD = "device-upload"

# named map selections and their set operations (frontend/selection_view.py)
SELECTIONS = "selections-store"  # browser-side: {session id: [NamedSelection.to_dict(), ...]}
SEL_NAME = "selection-name"
SEL_SAVE = "selection-save-button"
SEL_LIST = "selection-list"
SEL_A = "selection-a"
SEL_B = "selection-b"
SEL_OP = "selection-op"
SEL_COMBINE = "selection-combine-button"
SEL_ACTIVE = "selection-active"
SEL_DELETE = "selection-delete-button"
SEL_FOCUS = "selection-focus-button"
SEL_FITNESS = "selection-fitness-button"
SEL_STATUS = "selection-status"
SEL_FIGURE = "selection-fitness-figure"

# the block-information view (frontend/block_view.py)
BLOCKS = "blocks"
BLOCK_MODE = "blocks-mode"
BLOCK_INFO = "blocks-info"
BLOCK_TEMPLATE = "block-template"  # the template strip: where a hovered block sits
BLOCK_PREVIEW = "blocks-preview"
BLOCK_CONFIRM = "blocks-confirm"
BLOCK_PENDING = "blocks-pending-store"
BLOCK_HOVER = "blocks-hover-store"
BLOCK_HIGHLIGHTED = "blocks-highlighted-store"
RENDERED_BLOCKS = "rendered-blocks-store"

# the lego builder of chain templates (frontend/lego_view.py)
LEGO_PANEL = "lego-panel"
LEGO_DOC = "lego-doc-store"  # the chain template's JSON dict: the builder's source of truth
LEGO_SELECTED = "lego-selected-store"  # {"layer": int | None, "slot": str | None, "index": int | None}
LEGO_DROP = "lego-drop-store"  # set by assets/lego_view.js when a palette brick is dropped on a slot
LEGO_PRESET = "lego-preset"
LEGO_ADD_LAYER = "lego-add-layer-button"
LEGO_DELETE = "lego-delete-button"
LEGO_MOVE_LEFT = "lego-move-left-button"
LEGO_MOVE_RIGHT = "lego-move-right-button"
LEGO_SAVE = "lego-save-button"
LEGO_DOWNLOAD = "lego-download"
LEGO_UPLOAD = "lego-upload"
LEGO_START = "lego-start-button"
LEGO_APPLY = "lego-apply-button"
LEGO_CANVAS = "lego-canvas"
LEGO_PANE = "lego-pane"
LEGO_SIZE = "lego-space-size"
LEGO_ERROR = "lego-error"
LEGO_STATUS = "lego-status"
# pattern-matching types: {"type": LEGO_PALETTE, "block": type}, {"type": LEGO_LAYER, "layer": i},
# {"type": LEGO_SLOT, "layer": i, "slot": s}, {"type": LEGO_BRICK, "layer": i, "slot": s, "index": k},
# {"type": LEGO_PROP, "key": property, "ref": "layer:slot:index"} (layer -1: the head choice)
LEGO_PALETTE = "lego-palette"
LEGO_LAYER = "lego-layer"
LEGO_SLOT = "lego-slot"
LEGO_BRICK = "lego-brick"
LEGO_PROP = "lego-prop"

# study mode and the replay view (frontend/study_view.py)
STUDY_PICK = "study-pick"
STUDY_NAME = "study-name"
STUDY_CONDITIONS = "study-conditions"
STUDY_TASK = "study-task"
STUDY_LIMIT = "study-time-limit"
STUDY_CREATE = "study-create-button"
STUDY_PARTICIPANT = "study-participant"
STUDY_CONDITION = "study-condition"
STUDY_START = "study-start-button"
STUDY_STATUS = "study-status"
STUDY_INFO = "study-info-store"  # StudyService.status() of the current session, or None
UI_ACTION = "ui-action-store"  # the last UI action recorded ({session, kind}), for tests
STUDY_COUNTDOWN = "study-countdown"
STUDY_TICK = "study-tick"
STUDY_FORMAT = "study-export-format"
STUDY_EXPORT = "study-export-button"
STUDY_DOWNLOAD = "study-download"
REPLAY_URL = "replay-url"  # ?replay=<session> opens the replay view on that session
REPLAY_SESSION = "replay-session"
REPLAY_REFRESH = "replay-refresh-button"
REPLAY_PLAY = "replay-play-button"
REPLAY_SPEED = "replay-speed"
REPLAY_SLIDER = "replay-slider"
REPLAY_TICK = "replay-tick"
REPLAY_INFO = "replay-info"
REPLAY_TRAINING = "replay-training"
REPLAY_MAP = "replay-map"
REPLAY_HEATMAP = "replay-heatmap"
REPLAY_LEADERBOARD = "replay-leaderboard"
REPLAY_TIMELINE = "replay-timeline"
REPLAY_BLOCKS = "replay-blocks"
REPLAY_CANDIDATE = "replay-candidate"  # the candidate the participant had selected
REPLAY_PINNED = "replay-pinned"  # ... and the one they had pinned for comparison
REPLAY_UI = "replay-ui"  # one line of the participant's UI state (modes, colour, ...)

# the workspace (frontend/workspace.py): secondary views on tabs below the cockpit
WORKSPACE_TABS = "workspace-tabs"
TAB_PANE = "tab-pane"  # pattern-matching: {"type": TAB_PANE, "tab": name}, shown when its tab is
SMOOTHING = "training-smoothing"  # moving-average window of the training chart
HEADER_COUNTDOWN = "header-countdown"  # the study's time left, shown whatever tab is open

# feedback next to each control (frontend/feedback_view.py, assets/feedback.js)
CONTROL_FEEDBACK = "control-feedback"  # the header's Pause / Resume / Stop
TUNE_FEEDBACK = "tune-feedback"  # Fine-tune and Apply search parameters
EXPORT_FEEDBACK = "export-feedback"  # Export selected and Train stand-alone
TOAST = "toast"  # answers to commands sent from elsewhere in the page
SENT_COMMANDS = "sent-commands-store"  # {"session", "sent": {command id: [kind, target id]}}
STOP_CONFIRM = "stop-confirm"
BUDGET_NOTE = "budget-note"  # says when the budget slider's floor raised the value
SLOT_NOTICE = "slot-notice"  # a budget-paused session holding the only worker slot
SLOT_STOP = "slot-stop-button"
SESSION_NAME = "builder-session-name"  # what the analyst calls the search (the session lists)

# the whole archive (frontend/archive_view.py): every evaluated candidate, paged by the server
ARCHIVE = "archive-grid"
ARCHIVE_INFO = "archive-info"
ARCHIVE_REFRESHED = "archive-refreshed-store"  # when the grid last re-asked for its rows

# the trust panel (frontend/trust_view.py): estimators vs anchors, and "rank by"
TRUST_SUMMARY = "trust-summary"
TRUST_TABLE = "trust-table"
TRUST_TICK = "trust-tick"
RANK_BY = "rank-by"
APPLY_RANK_BY = "apply-rank-by"
RANK_BY_STATUS = "rank-by-status"

# the advisor and the evidence beyond the mean (frontend/advisor_view.py)
LIVE_ADVICE = "live-advice"  # trigger store: advice, evidence, acks and refusals
ADVISOR_AUTO = "advisor-auto"  # the "auto-apply advisor" switch (sends set_advisor)
ADVISOR_LIST = "advisor-list"  # the open proposals, each with Accept / Dismiss
ADVISOR_ACCEPT = "advisor-accept"  # pattern-matching: {"type": ADVISOR_ACCEPT, "index": advice id}
ADVISOR_DISMISS = "advisor-dismiss"  # pattern-matching: {"type": ADVISOR_DISMISS, "index": id}
ADVISOR_DECIDED = "advisor-decided-store"  # {"session", "ids": [advice ids accepted or dismissed]}
ADVISOR_STATUS = "advisor-status"
PAIR_FIRST = "pair-first"  # the two choice points of the pair heatmap
PAIR_SECOND = "pair-second"
PAIR_HEATMAP = "pair-heatmap"
IMPORTANCE = "importance-graph"

# ArchLock: source vs target accuracy (frontend/archlock_view.py)
ARCHLOCK_PANEL = "archlock-panel"  # shown only when the session has the objective
ARCHLOCK_SCATTER = "archlock-scatter"
ARCHLOCK_INFO = "archlock-info"
# the builder's ArchLock objective (frontend/archlock_builder.py)
ARCHLOCK_TARGETS = "builder-archlock-targets"  # table columns / dataset specs, comma-separated
ARCHLOCK_UNKNOWN = "builder-archlock-unknown"  # checklist: ["unknown"] adds the simulated targets
ARCHLOCK_MODE = "builder-archlock-mode"
ARCHLOCK_TOLERANCE = "builder-archlock-tolerance"
ARCHLOCK_MIN_SOURCE = "builder-archlock-min-source"
ARCHLOCK_ERROR = "builder-archlock-error"
