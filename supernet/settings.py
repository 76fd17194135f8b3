"""Settings dataclasses on the shared validation path (:mod:`supernet.validation`).

Configs and documents of the ML core are stdlib dataclasses whose annotations carry their
constraints. They arrive two ways, and both must be checked alike: as JSON (``from_dict``,
through :func:`parse`) and built in code (``TrainConfig(epochs=0)``, through
:func:`check_fields` in ``__post_init__``). pydantic builds a dataclass without calling
``__init__`` but does call ``__post_init__``, so a value from :func:`parse` is checked twice;
that costs microseconds (validators are cached per type) and keeps one set of rules.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, TypeVar

from supernet.validation import InvalidData, Problem, show, validate

T = TypeVar("T")


def parse(model_type: type[T], data: Any, where: str, noun: str, prefix: str = "",
          unknown: str = "unknown {noun}(s) {keys}; known: {allowed}") -> T:
    """``data`` as a ``model_type`` (see :func:`supernet.validation.validate`); unknown keys
    are reported in the words the docs and earlier messages use (``unknown`` with ``noun``:
    "unknown engine setting(s) [...]"), fields as ``prefix.field`` (``train.epochs``: the
    section a config file or the CLI names)."""
    try:
        return validate(model_type, data, where)
    except InvalidData as exc:
        head = (prefix,) if prefix else ()
        problems = [_named(p, noun, unknown) if p.kind == "unknown" and not p.path
                    else p for p in exc.problems]
        problems = [dataclasses.replace(p, path=(*head, *p.path)) for p in problems]
        raise InvalidData(exc.where, problems) from None


def check_fields(obj: Any, prefix: str = "") -> None:
    """Validate a dataclass instance built in code field by field, as :func:`parse` would,
    and store each field's validated value (JSON forms become their types: lists ->
    tuples). ``InvalidData`` names the class and ``prefix.field`` (``train.epochs``)."""
    cls = type(obj)
    problems: list[Problem] = []
    head = (prefix,) if prefix else ()
    for name, annotation in _annotations(cls).items():
        given = getattr(obj, name)
        try:
            value = validate(annotation, given, cls.__name__)
        except InvalidData as exc:
            problems += [dataclasses.replace(p, path=(*head, name, *p.path),
                                             got=p.got or ("" if p.path else show(given)))
                         for p in exc.problems]
            continue
        object.__setattr__(obj, name, value)  # frozen dataclasses too
    if problems:
        raise InvalidData(cls.__name__, problems)


_ANNOTATIONS: dict[type, dict[str, Any]] = {}


def _annotations(cls: type) -> dict[str, Any]:
    """Field name -> annotation of a dataclass (resolving them costs ~100 µs: once per class)."""
    if cls not in _ANNOTATIONS:
        hints = typing.get_type_hints(cls, include_extras=True)
        _ANNOTATIONS[cls] = {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}
    return _ANNOTATIONS[cls]


def _named(problem: Problem, noun: str, unknown: str) -> Problem:
    """Unknown keys of the object itself in the caller's words (nested objects keep theirs)."""
    text = unknown.format(noun=noun, keys=list(problem.keys), allowed=list(problem.allowed))
    return Problem(problem.path, "value_error", text)
