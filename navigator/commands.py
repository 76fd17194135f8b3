"""Analyst actions as validated commands.

On the wire: ``{"type", "session", "user", "id", "args"}``. :func:`parse_command`
checks the shape (known type, exactly the allowed arguments, right types and
ranges) and raises :class:`CommandError` with a specific reason otherwise.
Whether a well-formed command is *legal* (pruning the last op of an edge, say)
depends on the session's state: the worker decides that by applying the edit to
a copy of its :class:`~supernet.steering.SteeringState` (:func:`apply_steering`).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from supernet.steering import SteeringState


class CommandError(ValueError):
    """A command that cannot be accepted; the message says why, for the analyst."""


def _str(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 500


def _int(lo: int, hi: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _prob(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


def _weights(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(
        _str(k) and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        for k, v in value.items())


MAX_FOCUS_ARCHS = 5000
"""Most architectures one ``focus`` command may name (bounds the message and the search's work)."""


def _archs(value: Any) -> bool:
    return isinstance(value, list) and 0 < len(value) <= MAX_FOCUS_ARCHS and all(_str(a) for a in value)


def _budget(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)
                             and math.isfinite(value) and value > 0)


def _csv_text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 1_000_000


def _mapping(value: Any) -> bool:
    return isinstance(value, dict)


# type -> {arg: (validator, required, description)}
ARGS: dict[str, dict[str, tuple[Callable[[Any], bool], bool, str]]] = {
    "start": {"config": (_mapping, False, "an engine config object")},
    "pause": {},
    "resume": {},
    "stop": {},
    "prune_op": {"choice_point": (_str, True, "a choice point name such as '1<-0'"),
                 "op": (_str, True, "an op name")},
    "restore_op": {"choice_point": (_str, True, "a choice point name"),
                   "op": (_str, True, "an op name")},
    "lock_edge": {"choice_point": (_str, True, "a choice point name"),
                  "op": (_str, True, "an op name")},
    "unlock_edge": {"choice_point": (_str, True, "a choice point name")},
    "set_sampling_weights": {"choice_point": (_str, True, "a choice point name"),
                             "weights": (_weights, True, "a non-empty {op: finite number} object")},
    "focus": {"archs": (_archs, True, "a non-empty list of architecture strings")},
    "finetune": {"epochs": (_int(1, 1000), True, "an integer from 1 to 1000")},
    "set_search_params": {
        "population": (_int(1, 10_000), False, "an integer from 1 to 10000"),
        "parents": (_int(1, 10_000), False, "an integer from 1 to 10000"),
        "mutation_prob": (_prob, False, "a probability in [0, 1]"),
        "crossover_prob": (_prob, False, "a probability in [0, 1]"),
        "strategy": (lambda v: v in ("evolution", "random"), False, "'evolution' or 'random'"),
    },
    "set_latency_budget": {
        "budget_ms": (_budget, True, "a positive number of milliseconds, or null to lift it"),
        "device": (_str, False, "'host' or a device whose latencies were uploaded"),
    },
    "device_latencies": {
        "device": (_str, True, "a device name such as 'jetson-nano'"),
        "csv": (_csv_text, True, "CSV text with columns arch,latency_ms (at most 1 MB)"),
    },
    "edit_template": {"template": (_mapping, True, "a search space template object (JSON)")},
    "export": {"arch": (_str, True, "an architecture string"),
               "train_epochs": (_int(0, 1000), False, "an integer from 0 to 1000")},
}
STEERING_COMMANDS = ("prune_op", "restore_op", "lock_edge", "unlock_edge",
                     "set_sampling_weights", "focus")


@dataclass
class Command:
    type: str
    session: str
    user: str = "local"
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    args: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "session": self.session, "user": self.user, "id": self.id,
                "args": self.args, "ts": self.ts}

    @classmethod
    def from_dict(cls, data: Any) -> Command:
        return parse_command(data)


def parse_command(data: Any) -> Command:
    """Validate the shape of a command message; raises CommandError naming the problem."""
    if not isinstance(data, dict):
        raise CommandError(f"a command must be a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    if kind not in ARGS:
        raise CommandError(f"unknown command type {kind!r}; known: {sorted(ARGS)}")
    extra = sorted(set(data) - {"type", "session", "user", "id", "args", "ts"})
    if extra:
        raise CommandError(f"{kind}: unexpected field(s) {extra}")
    session = data.get("session")
    if not _str(session):
        raise CommandError(f"{kind}: 'session' must be a non-empty session id")
    user = data.get("user", "local")
    if not _str(user):
        raise CommandError(f"{kind}: 'user' must be a non-empty string")
    command_id = data.get("id") or uuid.uuid4().hex
    if not _str(command_id):
        raise CommandError(f"{kind}: 'id' must be a string")
    args = data.get("args", {})
    if not isinstance(args, dict):
        raise CommandError(f"{kind}: 'args' must be an object, got {type(args).__name__}")
    spec = ARGS[kind]
    unknown = sorted(set(args) - set(spec))
    if unknown:
        raise CommandError(f"{kind}: unknown argument(s) {unknown}; allowed: {sorted(spec)}")
    for name, (check, required, description) in spec.items():
        if name not in args:
            if required:
                raise CommandError(f"{kind}: missing argument {name!r} ({description})")
            continue
        if not check(args[name]):
            shown = repr(args[name])
            shown = shown if len(shown) <= 80 else f"{shown[:77]}..."
            raise CommandError(f"{kind}: argument {name!r} must be {description}, got {shown}")
    if kind == "set_search_params" and not args:
        raise CommandError("set_search_params: give at least one parameter to change")
    ts = data.get("ts", time.time())
    if not isinstance(ts, (int, float)):
        raise CommandError(f"{kind}: 'ts' must be a number")
    return Command(type=kind, session=session, user=user, id=command_id, args=dict(args), ts=ts)


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
