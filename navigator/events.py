"""Typed events: everything a search session tells the outside world.

On the wire an event is ``{"schema", "type", "session", "seq", "ts", "data"}``.
``seq`` is assigned by the bus, per session, starting at 1 without gaps, so a
subscriber that saw ``seq = n`` can ask for everything after ``n`` and miss
nothing. ``data`` is the ``to_dict`` of one of the payload dataclasses below,
chosen by ``type``; ``Event.from_dict`` validates both.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict

from supernet.progress import TrainProgress
from supernet.validation import InvalidData, NonNegativeInt, Problem, requirement, show, validate

SCHEMA_VERSION = 1
SESSION_STATES = ("created", "queued", "running", "paused", "finetuning", "stopped", "failed")
# Unknown fields are dropped, not refused: a newer worker on the same bus or recording may
# add some, and a view must still read what it knows.
_FORWARD_COMPATIBLE = ConfigDict(extra="ignore")


class Payload:
    """Base of event payloads: a dataclass with a wire ``type`` name."""

    type: ClassVar[str]
    __pydantic_config__ = _FORWARD_COMPATIBLE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: Any) -> Payload:
        try:
            return validate(cls, data, f"{cls.type} event")
        except InvalidData as exc:
            raise ValueError(_reason(f"{cls.type} event", exc.problems)) from None


def _reason(where: str, problems: tuple[Problem, ...]) -> str:
    missing = [p.field for p in problems if p.kind == "missing"]
    lines = [f"{where} lacks field(s) {missing}"] if missing else []
    for p in problems:
        if not p.path:
            lines.append(f"{where} data must be an object, got {p.got}" if p.got
                         else f"{where}: {p.describe()}")
        elif p.kind != "missing":
            lines.append(f"{where}: {p.describe()}")
    return "\n".join(lines)


@dataclass
class SessionState(Payload):
    type: ClassVar[str] = "session_state"
    state: Annotated[str, requirement(SESSION_STATES.__contains__,
                                      f"session state must be one of {SESSION_STATES}")]
    message: str = ""
    owner: str = ""
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainProgressEvent(Payload, TrainProgress):
    """:class:`supernet.progress.TrainProgress` on the wire."""

    type: ClassVar[str] = "train_progress"
    lr: float = 0.0  # recorded before the learning rate was reported


@dataclass
class Candidates(Payload):
    """A batch of evaluated candidates; each record may carry map coordinates ``x``/``y``."""

    type: ClassVar[str] = "candidates"
    generation: int
    records: list[dict[str, Any]]


@dataclass
class MapUpdate(Payload):
    """The fixed map of the space (``supernet.projection``): ``status`` "building" while it
    is built, "ready" once it is (``coords``: first coordinates of the candidates published
    before; ``background``: the density grid of the whole space, sent once), "refit" when a
    template edit or another ``encoding`` moves every point, "background" when steering
    changes the greyed region. Coordinates once sent never change otherwise."""

    type: ClassVar[str] = "map_update"
    coords: dict[str, list[float]]
    method: str = "umap"
    status: str = ""
    encoding: str = ""
    message: str = ""
    background: dict[str, Any] | None = None


@dataclass
class Fitness(Payload):
    type: ClassVar[str] = "fitness"
    matrix: dict[str, dict[str, dict[str, Any]]]


@dataclass
class Steering(Payload):
    type: ClassVar[str] = "steering"
    pruned: dict[str, list[str]]
    locked: dict[str, str]
    weights: dict[str, dict[str, float]]
    focus: list[str]
    space_size: int


@dataclass
class Leaderboard(Payload):
    type: ClassVar[str] = "leaderboard"
    records: list[dict[str, Any]]


@dataclass
class CommandAck(Payload):
    type: ClassVar[str] = "command_ack"
    command_id: str
    command: str
    user: str
    effective: str = "next step boundary"
    detail: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    sent_ts: float = 0.0  # the client's clock (Command.ts)
    received_ts: float | None = None  # the web server's clock (Command.received_ts)


@dataclass
class CommandRejected(Payload):
    type: ClassVar[str] = "command_rejected"
    command_id: str
    command: str
    user: str
    reason: str
    args: dict[str, Any] = field(default_factory=dict)  # long ones as a digest (socket_guard)
    sent_ts: float = 0.0
    received_ts: float | None = None
    # refusals of this user left unrecorded since the previous one (rate limit)
    suppressed: int = 0
    # the sender may not steer the session: recorded, but kept off its owner's timeline
    unauthorized: bool = False


@dataclass
class Error(Payload):
    type: ClassVar[str] = "error"
    message: str
    detail: str = ""


@dataclass
class Checkpoint(Payload):
    type: ClassVar[str] = "checkpoint"
    path: str
    epoch: int


@dataclass
class Space(Payload):
    """The session's search space, so a view can draw it before any candidate exists."""

    type: ClassVar[str] = "space"
    template: dict[str, Any]
    choice_points: list[dict[str, Any]]
    size: int
    # the dataset's task (``supernet.tasks.Task.describe``: metric, label, higher_is_better);
    # empty: image classification by accuracy, as before tasks existed
    task: dict[str, Any] = field(default_factory=dict)


@dataclass
class Exported(Payload):
    """An export written to disk: its files, the folder (one per version, never overwritten)
    and the metrics measured by loading those files back (``test_accuracy`` among them)."""

    type: ClassVar[str] = "exported"
    arch: str
    files: dict[str, str]
    metrics: dict[str, Any] = field(default_factory=dict)
    folder: str = ""
    version: int = 0


@dataclass
class Hardware(Payload):
    """The latency objective: the budget on proposals, the host predictor's quality, and
    how the latencies uploaded for other devices rank against the host (see
    :class:`supernet.latency_budget.LatencyObjective`)."""

    type: ClassVar[str] = "hardware"
    budget_ms: float | None = None
    budget_device: str = "host"
    measured: int = 0
    predictor_srcc: float | None = None
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class StudyJoined(Payload):
    """The session belongs to a study (see :mod:`navigator.study`): who sits at it, under
    which condition, and the time limit the web process enforces. On the stream so that
    the recording, a replay and a second tab all know whose session it is."""

    type: ClassVar[str] = "study"
    study: str
    participant: str
    condition: str
    task: str = ""
    time_limit_s: float | None = None


@dataclass
class UiAction(Payload):
    """A UI-only action that changed what the participant sees (map colour, selections, ...).

    Commands are recorded through their acks; these never reach a worker, but a study needs
    them too. ``kind`` is one of :data:`navigator.study.UI_ACTIONS`."""

    type: ClassVar[str] = "ui_action"
    kind: str
    user: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class AdviceEvent(Payload):
    """The advisor's proposals after a generation (:class:`supernet.advisor.Advice` dicts:
    id, command, args, confidence, reason, evidence) and whether they were auto-applied."""

    type: ClassVar[str] = "advice"
    generation: int
    proposals: list[dict[str, Any]]
    auto_apply: bool = False


@dataclass
class Evidence(Payload):
    """A model's evidence beyond the fitness means (:func:`supernet.evidence.model_importance`):
    per choice point its importance, per op its partial dependence and the best accuracy the
    model predicts with it; each ``{value, low, high}`` over ``refits`` fits on ``count``."""

    type: ClassVar[str] = "evidence"
    count: int
    refits: int = 0
    importance: dict[str, dict[str, float]] = field(default_factory=dict)
    partial_dependence: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    potential: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)


@dataclass
class Trust(Payload):
    """How far to trust each estimator's ranking (:func:`supernet.estimators.trust_report`):
    per estimator its Kendall tau and Spearman rho against the anchors (architectures of
    known accuracy) with bootstrap intervals, and which estimator ranks the session now."""

    type: ClassVar[str] = "trust"
    rank_by: str
    anchors: int
    total_anchors: int = 0
    estimators: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Baseline(Payload):
    """Best found vs the task's fixed baseline network, both trained stand-alone with the
    same budget (``epochs``) and scored on the test split (:mod:`supernet.baseline`): the
    NAS-Bench-360 question, "did the search beat a plain network?"."""

    type: ClassVar[str] = "baseline"
    arch: str  # the baseline's arch string
    best_arch: str
    metric: str
    label: str  # the metric in its own words ("relative L2 error")
    higher_is_better: bool
    value: float  # the baseline's test metric
    best_value: float  # the best found architecture's test metric
    beats: bool  # the best found is strictly better than the baseline
    budget: int  # stand-alone training epochs of each


PAYLOADS: dict[str, type[Payload]] = {
    cls.type: cls
    for cls in (SessionState, TrainProgressEvent, Candidates, MapUpdate, Fitness, Steering,
                Leaderboard, CommandAck, CommandRejected, Error, Checkpoint, Space, Exported,
                Hardware, StudyJoined, UiAction, AdviceEvent, Evidence, Trust, Baseline)
}


@dataclass
class Event:
    type: str
    session: str
    data: dict[str, Any]
    seq: int = 0
    ts: float = field(default_factory=time.time)
    schema: int = SCHEMA_VERSION

    @classmethod
    def of(cls, session: str, payload: Payload) -> Event:
        return cls(type=payload.type, session=session, data=payload.to_dict())

    def payload(self) -> Payload:
        return PAYLOADS[self.type].from_dict(self.data)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": self.schema, "type": self.type, "session": self.session,
                "seq": self.seq, "ts": self.ts, "data": self.data}

    @classmethod
    def from_dict(cls, data: Any) -> Event:
        if not isinstance(data, dict):
            raise ValueError(f"an event must be an object, got {type(data).__name__}")
        try:
            wire = validate(_Wire, data, "event")
        except InvalidData as exc:
            fields = {p.path[:1] for p in exc.problems}
            if ("schema",) in fields:
                raise _unsupported(data.get("schema")) from None
            if ("type",) in fields:
                raise _unknown(data.get("type")) from None
            raise ValueError(_reason("event", exc.problems)) from None
        if wire.schema != SCHEMA_VERSION:
            raise _unsupported(wire.schema)
        if wire.type not in PAYLOADS:
            raise _unknown(wire.type)
        event = cls(type=wire.type, session=wire.session, data=wire.data, seq=wire.seq,
                    ts=wire.ts)
        event.payload()
        return event


@dataclass
class _Wire:
    """An event as read from JSON: the envelope is checked here, ``data`` by its payload."""

    __pydantic_config__ = _FORWARD_COMPATIBLE
    schema: int
    type: str
    session: str = ""
    seq: NonNegativeInt = 0
    ts: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)


def _unsupported(schema: Any) -> ValueError:
    return ValueError(f"unsupported event schema {show(schema)}; "
                      f"this version reads schema {SCHEMA_VERSION}")


def _unknown(kind: Any) -> ValueError:
    return ValueError(f"unknown event type {show(kind)}; known: {sorted(PAYLOADS)}")
