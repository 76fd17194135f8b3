"""Analyst actions as validated commands.

On the wire: ``{"type", "session", "user", "id", "args", "ts"}`` and, once the web server
has it, ``received_ts`` (its own clock). :func:`parse_command`
checks the shape through :func:`supernet.validation.validate` (the envelope by
:class:`Envelope`, the arguments by the model :data:`ARGS` names for the type: exactly
the allowed arguments, right types and ranges, ``ts`` a finite unix time in seconds in
[0, 1e11)) and raises :class:`CommandError` with a specific reason otherwise.
Whether a well-formed command is *legal* (pruning the last op of an edge, say)
depends on the session's state: the worker decides that by applying the edit to
a copy of its :class:`~supernet.steering.SteeringState` (:func:`apply_steering`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from supernet.steering import SteeringState
from supernet.validation import (
    FiniteFloat,
    InvalidData,
    Model,
    Name,
    PositiveFloat,
    Problem,
    show,
    validate,
)


class CommandError(ValueError):
    """A command that cannot be accepted; the message says why, for the analyst."""


MAX_FOCUS_ARCHS = 5000
"""Most architectures one ``focus`` command may name (bounds the message and the search's work)."""
MAX_CSV_CHARS = 1_000_000
"""The documented limit of a ``device_latencies`` CSV (1 MB of text); the socket's message
limit (:data:`navigator.socket_guard.MAX_MESSAGE_CHARS`) leaves room for its JSON escaping."""
MAX_TS = 1e11
"""``ts`` is unix seconds in [0, 1e11): any real clock, however skewed, but never a value in
milliseconds (1.7e12) or one that overflows a date."""

ChoicePoint = Annotated[Name, Field(description="a choice point name such as '1<-0'")]
Op = Annotated[Name, Field(description="an op name")]
Device = Annotated[Name, Field(description="'host' or a device whose latencies were uploaded")]


def _int(lo: int, hi: int) -> Any:
    return Field(ge=lo, le=hi, description=f"an integer from {lo} to {hi}")


NOT_GIVEN: Any = None
"""Default of an optional argument: never used, the worker reads only the keys that were sent."""


class Args(Model):
    """Arguments of a command without any."""


class StartArgs(Args):
    config: Annotated[dict[str, Any], Field(description="an engine config object")] = {}


class OpArgs(Args):
    choice_point: ChoicePoint
    op: Op


class UnlockArgs(Args):
    choice_point: ChoicePoint


class WeightsArgs(Args):
    choice_point: ChoicePoint
    weights: Annotated[dict[Name, FiniteFloat],
                       Field(min_length=1, description="a non-empty {op: finite number} object")]


class FocusArgs(Args):
    archs: Annotated[list[Name], Field(min_length=1, max_length=MAX_FOCUS_ARCHS, description=(
        f"a non-empty list of at most {MAX_FOCUS_ARCHS} architecture strings"))]


class FinetuneArgs(Args):
    epochs: Annotated[int, _int(1, 1000)]


class SearchParamsArgs(Args):
    population: Annotated[int, _int(1, 10_000)] = NOT_GIVEN
    parents: Annotated[int, _int(1, 10_000)] = NOT_GIVEN
    mutation_prob: Annotated[FiniteFloat, Field(ge=0, le=1, description="a probability in [0, 1]")] \
        = NOT_GIVEN
    crossover_prob: Annotated[FiniteFloat, Field(ge=0, le=1, description="a probability in [0, 1]")] \
        = NOT_GIVEN
    strategy: Annotated[Literal["evolution", "random", "latent"],
                        Field(description="'evolution', 'random' or 'latent'")] = NOT_GIVEN

    @model_validator(mode="after")
    def _something(self) -> SearchParamsArgs:
        if not self.model_fields_set:
            raise ValueError("give at least one parameter to change")
        return self


class LatencyBudgetArgs(Args):
    budget_ms: Annotated[PositiveFloat | None, Field(
        description="a positive number of milliseconds, or null to lift it")]
    device: Device = NOT_GIVEN


class DeviceLatenciesArgs(Args):
    device: Annotated[Name, Field(description="a device name such as 'jetson-nano'")]
    csv: Annotated[str, Field(min_length=1, max_length=MAX_CSV_CHARS, description=(
        f"CSV text with columns arch,latency_ms (at most 1 MB: {MAX_CSV_CHARS:,} characters)"))]


class EditTemplateArgs(Args):
    template: Annotated[dict[str, Any], Field(description="a search space template object (JSON)")]


class ExportArgs(Args):
    arch: Annotated[Name, Field(description="an architecture string")]
    train_epochs: Annotated[int, _int(0, 1000)] = NOT_GIVEN


class AdvisorArgs(Args):
    auto_apply: Annotated[bool, Field(description="true or false")]


class MapEncodingArgs(Args):
    encoding: Annotated[Name, Field(description="an encoding name such as 'learned', 'path' or 'onehot'")]


class RankByArgs(Args):
    estimator: Annotated[Name, Field(description="an estimator name such as 'score' or 'synflow'")]


ARGS: dict[str, type[Args]] = {
    "start": StartArgs, "pause": Args, "resume": Args, "stop": Args,
    "prune_op": OpArgs, "restore_op": OpArgs, "lock_edge": OpArgs, "unlock_edge": UnlockArgs,
    "set_sampling_weights": WeightsArgs, "focus": FocusArgs, "finetune": FinetuneArgs,
    "set_search_params": SearchParamsArgs, "set_latency_budget": LatencyBudgetArgs,
    "device_latencies": DeviceLatenciesArgs, "edit_template": EditTemplateArgs,
    "export": ExportArgs, "set_advisor": AdvisorArgs, "rank_by": RankByArgs,
    "set_map_encoding": MapEncodingArgs,
}
"""Command type -> the model of its ``args``."""
STEERING_COMMANDS = ("prune_op", "restore_op", "lock_edge", "unlock_edge",
                     "set_sampling_weights", "focus")


class Envelope(Model):
    """A command message around its arguments (which :data:`ARGS` checks by ``type``)."""

    type: str
    session: Annotated[Name, Field(description="a non-empty session id")]
    user: Annotated[Name, Field(description="a non-empty string")] = "local"
    # A missing or empty id gets a fresh one.
    id: Annotated[Name | None, BeforeValidator(lambda v: v or None),
                  Field(description="a string")] = None
    args: dict[str, Any] = {}
    ts: Annotated[float, Field(ge=0, lt=MAX_TS, allow_inf_nan=False, description=(
        "a number: unix time in seconds, from 0 to 1e11"))] = Field(default_factory=time.time)
    # Set by the web server when the command arrives (any value a client sends is replaced).
    received_ts: Annotated[float | None, Field(ge=0, lt=MAX_TS, allow_inf_nan=False, description=(
        "a number: unix time in seconds, from 0 to 1e11"))] = None


@dataclass
class Command:
    type: str
    session: str
    user: str = "local"
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    args: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)
    """When the client says it sent the command (its clock, validated but not trusted)."""
    received_ts: float | None = None
    """When the web server received it (its clock): what study exports can rely on."""

    def to_dict(self) -> dict[str, Any]:
        wire = {"type": self.type, "session": self.session, "user": self.user, "id": self.id,
                "args": self.args, "ts": self.ts}
        return wire if self.received_ts is None else wire | {"received_ts": self.received_ts}

    @classmethod
    def from_dict(cls, data: Any) -> Command:
        return parse_command(data)


def parse_command(data: Any) -> Command:
    """Validate the shape of a command message; raises CommandError naming the problem."""
    if not isinstance(data, dict):
        raise CommandError(f"a command must be a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    try:
        envelope = validate(Envelope, data, "command")
    except InvalidData as exc:
        if any(p.path[:1] == ("type",) for p in exc.problems):
            raise CommandError(f"unknown command type {show(kind)}; known: {sorted(ARGS)}") from None
        raise CommandError("; ".join(_envelope_reason(str(kind), p) for p in exc.problems)) from None
    if envelope.type not in ARGS:
        raise CommandError(f"unknown command type {show(kind)}; known: {sorted(ARGS)}")
    spec = ARGS[envelope.type]
    try:
        validate(spec, envelope.args, envelope.type)
    except InvalidData as exc:
        raise CommandError("; ".join(_args_reason(envelope.type, spec, envelope.args, p)
                                     for p in exc.problems)) from None
    # The arguments stay as sent (no defaults added): workers and recordings see the wire form.
    return Command(type=envelope.type, session=envelope.session, user=envelope.user,
                   id=envelope.id or uuid.uuid4().hex, args=dict(envelope.args), ts=envelope.ts,
                   received_ts=envelope.received_ts)


def _envelope_reason(kind: str, problem: Problem) -> str:
    if problem.kind == "unknown":
        return f"{kind}: unexpected field(s) {list(problem.keys)}"
    return f"{kind}: {problem.path[0]!r} must be {problem.expected}, got {problem.got}"


def _args_reason(kind: str, spec: type[Args], args: dict[str, Any], problem: Problem) -> str:
    if problem.kind == "unknown":
        return f"{kind}: unknown argument(s) {list(problem.keys)}; allowed: {list(problem.allowed)}"
    if not problem.path:
        return f"{kind}: {problem.expected}"
    name = str(problem.path[0])
    description = spec.model_fields[name].description or problem.expected
    if problem.kind == "missing":
        return f"{kind}: missing argument {name!r} ({description})"
    shown = repr(args[name])
    shown = shown if len(shown) <= 80 else f"{shown[:77]}..."
    return f"{kind}: argument {name!r} must be {description}, got {shown}"


def apply_steering(command: Command, steering: SteeringState) -> None:
    """Apply a steering command to ``steering``; raises ValueError if it is illegal there."""
    a = command.args
    if command.type == "prune_op":
        steering.prune(a["choice_point"], a["op"])
    elif command.type == "restore_op":
        steering.restore(a["choice_point"], a["op"])
    elif command.type == "lock_edge":
        steering.lock(a["choice_point"], a["op"])
    elif command.type == "unlock_edge":
        steering.unlock(a["choice_point"])
    elif command.type == "set_sampling_weights":
        steering.set_weights(a["choice_point"], a["weights"])
    elif command.type == "focus":
        steering.set_focus(steering.space.from_string(s) for s in a["archs"])
    else:
        raise AssertionError(f"{command.type} is not a steering command")
