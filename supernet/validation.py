"""One validation path for everything that arrives as JSON, TOML or keyword arguments.

Configs, commands and event payloads are declared as pydantic models or stdlib
dataclasses; :func:`validate` checks a dict against such a type and raises
:class:`InvalidData` (a ``ValueError``) with one short line per problem that names the
source, the field path and what was expected, e.g.::

    engine config: train.epochs must be an integer from 1 to 1000, got True

The checks are "strict-ish": scalars never change kind (a bool is not an int, ``"5"``
is not a number, ``1.5`` is not an integer), while containers still take their JSON
form (a list becomes a tuple or a frozenset, a string a ``Path``). Floats are finite
under :data:`STRICT`. Types declare their own constraints with ``Annotated`` (the
aliases below, ``pydantic.Field`` bounds, :func:`requirement`), so no module needs
hand-written per-field checks. ``Field(description=...)`` replaces the generic
"expected" text of a field.

Which kind of type to use:

- a stdlib dataclass with ``__pydantic_config__ = STRICT`` (built freely in code,
  ``dataclasses.replace`` works; validated only through :func:`validate`, which runs a
  copy of pydantic's schema with every scalar made strict);
- a :class:`Model` when construction in code must be validated too (strict config,
  :data:`Lax` marks the fields that take a JSON form);
- a pydantic dataclass keeps the validator pydantic built for it (pydantic reuses it
  even inside :func:`validate`), so mark its scalars ``Strict()``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
)
from pydantic.fields import FieldInfo
from pydantic_core import SchemaValidator

T = TypeVar("T")
V = TypeVar("V")

STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
"""Config for models and dataclasses (``model_config`` / ``__pydantic_config__``):
unknown keys are an error and floats must be finite."""

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False,
                                     description="a probability in [0, 1]")]
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Lax = Strict(False)
"""Marks a :class:`Model` field that takes its JSON form: ``Annotated[Path, Lax]``."""
NonEmptyStr = Annotated[str, Field(min_length=1)]
Name = Annotated[str, Field(min_length=1, max_length=500)]
"""A non-empty identifier-like string of bounded length (session ids, op names, ...)."""

MAX_SHOWN = 60
"""Longest rendering of an offending value in a message: input can be megabytes."""
MAX_LINES = 10

_SCALARS = frozenset({"int", "float", "str", "bool", "bytes"})
# Keys of a core schema whose values are data (defaults, literal values), not schemas.
_DATA_KEYS = frozenset({"default", "expected", "metadata", "serialization", "examples"})
_MISSING = frozenset({"missing", "missing_argument", "missing_keyword_only_argument",
                      "missing_positional_only_argument"})
_EXTRA = frozenset({"extra_forbidden", "unexpected_keyword_argument",
                    "unexpected_positional_argument"})
_VALUE_ERRORS = frozenset({"value_error", "assertion_error"})
_EXPECTED: dict[str, str] = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "finite_number": "a finite number",
    "string_type": "a string", "bool_type": "true or false", "bool_parsing": "true or false",
    "dict_type": "an object", "model_type": "an object", "dataclass_type": "an object",
    "model_attributes_type": "an object", "list_type": "a list", "tuple_type": "a list",
    "set_type": "a list", "frozen_set_type": "a list", "path_type": "a path",
    "none_required": "null", "bytes_type": "bytes",
}
_BOUNDS = {"greater_than": (">", "gt"), "greater_than_equal": (">=", "ge"),
           "less_than": ("<", "lt"), "less_than_equal": ("<=", "le")}


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with an input; ``kind`` is pydantic's error type, or ``"missing"``,
    ``"unknown"`` (keys not allowed at ``path``: ``keys``; the allowed ones: ``allowed``)."""

    path: tuple[str | int, ...]
    kind: str
    expected: str
    got: str = ""
    keys: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()

    @property
    def field(self) -> str:
        """The path as written in messages: ``train.epochs``, ``records[3].arch``."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out

    def describe(self) -> str:
        """The problem as one line, without the source."""
        if self.kind == "unknown":
            at = f"{self.field}: " if self.path else ""
            return f"{at}unknown key(s) {list(self.keys)}; allowed: {list(self.allowed)}"
        if self.kind == "missing":
            return f"missing {self.field}" + (f" ({self.expected})" if self.expected else "")
        got = f", got {self.got}" if self.got else ""
        if self.kind in _VALUE_ERRORS and not self.expected.startswith("must "):
            return f"{self.field}: {self.expected}{got}" if self.path else self.expected
        verb = "" if self.expected.startswith("must ") else "must be "
        return f"{self.field + ' ' if self.path else ''}{verb}{self.expected}{got}"


class InvalidData(ValueError):
    """Input that does not match its declared type; the message has one line per problem."""

    def __init__(self, where: str, problems: Sequence[Problem]) -> None:
        self.where = where
        self.problems = tuple(problems)
        lines = [f"{where}: {p.describe()}" for p in self.problems[:MAX_LINES]]
        if len(self.problems) > MAX_LINES:
            lines.append(f"{where}: ... and {len(self.problems) - MAX_LINES} more problem(s)")
        super().__init__("\n".join(lines))


def validate(model_type: type[T], data: Any, where: str) -> T:
    """``data`` as a ``model_type`` (pydantic model, dataclass or any type pydantic knows);
    :class:`InvalidData` naming ``where`` (the source: "config file x.toml [server]",
    "prune_op command") and every problem otherwise."""
    try:
        value: T = _validator(model_type).validate_python(data)
    except ValidationError as exc:
        raise InvalidData(where, problems_of(exc, model_type)) from None
    return value


def conforms(model_type: Any, data: Any) -> bool:
    """Whether :func:`validate` would accept ``data``: for filters that skip what does not
    fit instead of reporting it (a record without a finite accuracy, say)."""
    return bool(_validator(model_type).isinstance_python(data))


def requirement(predicate: Callable[[V], bool], text: str) -> AfterValidator:
    """An ``Annotated`` constraint: the value must satisfy ``predicate``. ``text`` reads after
    the field name ("must start with redis://") or stands alone ("session state must be ...")."""
    def check(value: V) -> V:
        if not predicate(value):
            raise ValueError(text)
        return value

    return AfterValidator(check)


def show(value: Any) -> str:
    """A short rendering of an input value: scalars as ``repr`` (truncated), others by type."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        text = repr(value)
        return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN - 3]}..."
    return type(value).__name__


class Model(BaseModel):
    """Base of pydantic models: strict (no coercion at all, unlike :func:`validate` on a
    dataclass, so fields that take a JSON form need :data:`Lax`), unknown keys forbidden,
    finite floats; ``Model(**kwargs)`` raises :class:`InvalidData` like :func:`validate`."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidData(type(self).__name__, problems_of(exc, type(self))) from None

    # pydantic then validates dicts without calling this __init__ (validate() names the source).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


def problems_of(exc: ValidationError, model_type: Any) -> list[Problem]:
    """The errors of ``exc`` as :class:`Problem` s: union branches folded into one line per
    field, unknown keys of one object into one line that lists the allowed keys."""
    out: list[Problem] = []
    unknown: dict[tuple[str | int, ...], list[str]] = {}
    seen: set[tuple[str | int, ...]] = set()
    for error in exc.errors():
        path, info, _ = _walk(model_type, error["loc"])
        kind = error["type"]
        if kind in _EXTRA:
            unknown.setdefault(path[:-1], []).append(str(path[-1]) if path else "?")
            continue
        if path in seen:
            continue  # another branch of a union, or a second constraint of the same field
        seen.add(path)
        description = info.description if info is not None else None
        if kind in _MISSING:
            out.append(Problem(path, "missing", description or ""))
        elif kind in _VALUE_ERRORS:
            message = str(error.get("ctx", {}).get("error", error["msg"]))
            out.append(Problem(path, kind, message, "" if not path else show(error["input"])))
        else:
            out.append(Problem(path, kind, description or _expected(error), show(error["input"])))
    for path, keys in unknown.items():
        allowed = tuple(sorted(_fields(_walk(model_type, path)[2])))
        out.insert(0, Problem(path, "unknown", "", keys=tuple(keys), allowed=allowed))
    return out


def _expected(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in _BOUNDS:
        sign, key = _BOUNDS[kind]
        return f"{sign} {ctx.get(key)}"
    if kind == "literal_error":
        return str(ctx.get("expected"))
    if kind in ("string_too_short", "too_short"):
        what = "character(s)" if kind.startswith("string") else "item(s)"
        return f"at least {ctx.get('min_length')} {what}"
    if kind in ("string_too_long", "too_long"):
        what = "character(s)" if kind.startswith("string") else "item(s)"
        return f"at most {ctx.get('max_length')} {what}"
    if kind == "string_pattern_mismatch":
        return f"a string matching {ctx.get('pattern')}"
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    message = str(error["msg"])
    return message.removeprefix("Input should be ").removeprefix("Input is ")


_VALIDATORS: dict[Any, SchemaValidator] = {}


def _validator(model_type: Any) -> SchemaValidator:
    """pydantic's validator for ``model_type`` with every scalar schema made strict (built once
    per type: building costs milliseconds, validating microseconds)."""
    validator = _VALIDATORS.get(model_type)
    if validator is None:
        validator = SchemaValidator(_harden(TypeAdapter(model_type).core_schema))
        _VALIDATORS[model_type] = validator
    return validator


def _harden(node: Any) -> Any:
    """A copy of a core schema with ``strict`` on every scalar schema (an explicit
    ``Strict(False)`` stays lax); defaults and literal values are data and stay as they are."""
    if isinstance(node, list):
        return [_harden(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "fields" and isinstance(value, dict):  # field name -> schema: any name goes
            out[key] = {name: _harden(v) for name, v in value.items()}
        else:
            out[key] = value if key in _DATA_KEYS else _harden(value)
    if isinstance(out.get("type"), str) and out["type"] in _SCALARS and "strict" not in out:
        out["strict"] = True
    return out


def _walk(model_type: Any, loc: Sequence[str | int]) -> tuple[tuple[str | int, ...],
                                                          FieldInfo | None, Any]:
    """Follow an error location through ``model_type``: the path without union branch tags,
    the ``FieldInfo`` (with a description) of the field the path ends at, if any, and the
    type found there."""
    tp, info = model_type, None
    path: list[str | int] = []
    for part in loc:
        tp, info = _described(tp, info)
        if len(_members(tp)) > 1:
            tp = Any  # pydantic names the union branch it tried: not part of the path
            continue
        path.append(part)
        fields = _fields(tp)
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if isinstance(part, str) and part in fields:
            info = tp.model_fields[part] if issubclass(tp, BaseModel) else None
            tp = fields[part]
        else:
            info = None
            if origin in (dict, Mapping) and len(args) == 2:
                tp = args[1]
            elif origin in (list, tuple, set, frozenset, Sequence) and args:
                tp = args[0]
            else:
                tp = Any
    tp, info = _described(tp, info)
    return tuple(path), info, tp


def _described(tp: Any, info: FieldInfo | None) -> tuple[Any, FieldInfo | None]:
    """``tp`` without ``Annotated`` and ``Optional`` wrappers, and the innermost description."""
    while True:
        while typing.get_origin(tp) is Annotated:
            described = [m for m in tp.__metadata__ if isinstance(m, FieldInfo) and m.description]
            info = described[-1] if described else info
            tp = typing.get_args(tp)[0]
        members = _members(tp)
        if len(members) != 1 or typing.get_origin(tp) is Annotated:
            return tp, info
        tp = members[0]


def _members(tp: Any) -> list[Any]:
    """The non-None members of a union type; [] for anything else."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(tp) if a is not type(None)]
    return []


def _fields(tp: Any) -> dict[str, Any]:
    """Field name -> annotation of a model or dataclass type; {} for anything else."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return {name: f.rebuild_annotation() for name, f in tp.model_fields.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(tp) if f.init}
    return {}
