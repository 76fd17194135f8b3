"""Named selections of the map and the set algebra on them (pure: no Dash, no hub).

An analyst lassos regions of the architecture map, keeps them under names, and combines
them (union, intersection, difference, complement) into new named selections: "the
high-accuracy cluster minus the slow corner", say. The result can focus the sampling
(the ``focus`` command) or be compared with the rest of the map op by op
(:func:`fitness_inside_outside`), which says which operations the selected region is made of.

Selections are plain sets of architecture strings, so they are independent of the map's
coordinates (a UMAP refit moves points, not their membership) and of the search space's
kind: the space is only needed to split an architecture into its choice points.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeGuard

import pydantic
from pydantic import Strict

from navigator.commands import MAX_FOCUS_ARCHS
from supernet.validation import (
    STRICT,
    FiniteFloat,
    InvalidData,
    NonEmptyStr,
    conforms,
    requirement,
    validate,
)

if TYPE_CHECKING:
    from supernet.space import SearchSpace

MAX_NAME = 80
# operation -> symbol shown in the UI and used in default result names
OPERATIONS: dict[str, str] = {"union": "∪", "intersection": "∩", "difference": "−", "complement": "¬"}
UNARY = frozenset({"complement"})


@pydantic.dataclasses.dataclass(frozen=True, config=STRICT)
class NamedSelection:
    """A set of architectures under a name; stored in the browser as :meth:`to_dict`.

    A validated dataclass: built in code or from the store, a bad name or member is a
    ValueError."""

    name: Annotated[str, Strict(), requirement(lambda name: bool(name.strip()),
                                               "a selection needs a non-empty name")]
    archs: frozenset[Annotated[NonEmptyStr, Strict()]]

    def __len__(self) -> int:
        return len(self.archs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with sorted members so that equal selections serialise equally."""
        return {"name": self.name, "archs": sorted(self.archs)}

    @classmethod
    def from_dict(cls, data: Any) -> NamedSelection:
        """Rebuild from :meth:`to_dict`; ValueError on anything else (the store is browser-side,
        so it is input like any other)."""
        try:
            return validate(cls, data, "stored selection")
        except InvalidData as exc:
            raise ValueError("a stored selection must be {'name': str, 'archs': [str, ...]}: "
                             + "; ".join(p.describe() for p in exc.problems)) from None


def finite_number(value: object) -> TypeGuard[float]:
    """Whether ``value`` is a finite number (a bool is not one): what may be averaged or ranked.
    Records come from the wire, so an accuracy may be missing, null or NaN."""
    return conforms(FiniteFloat, value)


def validate_name(name: Any, existing: Iterable[str]) -> str:
    """The stripped name if it may name a new selection; otherwise ValueError saying what to do."""
    text = name.strip() if isinstance(name, str) else ""
    if not text:
        raise ValueError("type a name for the selection first")
    if len(text) > MAX_NAME:
        raise ValueError(f"a selection name has at most {MAX_NAME} characters, this one has {len(text)}")
    if text in set(existing):
        raise ValueError(f"a selection named {text!r} exists already: choose another name "
                         "or delete the old one first")
    return text


def find(selections: Sequence[NamedSelection], name: Any) -> NamedSelection:
    """The selection called ``name``; ValueError listing the saved names if there is none."""
    if not isinstance(name, str) or not name:
        raise ValueError("pick a saved selection first")
    for selection in selections:
        if selection.name == name:
            return selection
    saved = [s.name for s in selections]
    raise ValueError(f"no saved selection named {name!r}; saved: {saved}" if saved
                     else f"no saved selection named {name!r}: save a map selection first")


def combine(operation: str, a: frozenset[str], b: frozenset[str] | None,
            universe: Iterable[str]) -> frozenset[str]:
    """``a ∪ b``, ``a ∩ b``, ``a − b`` or the complement of ``a`` (``b`` unused).

    The complement is taken relative to ``universe``, all the points on the map: "every
    candidate the search has evaluated outside A", not the whole (astronomical) search
    space, which could not be focused on or drawn anyway.
    """
    if operation not in OPERATIONS:
        raise ValueError(f"unknown set operation {operation!r}; choose one of {sorted(OPERATIONS)}")
    if operation == "complement":
        return frozenset(universe) - a
    if b is None:
        raise ValueError(f"{operation} needs a second selection B")
    if operation == "union":
        return a | b
    if operation == "intersection":
        return a & b
    return a - b


def default_name(operation: str, a: str, b: str | None = None) -> str:
    """A readable name for a combination, bracketing operands that are combinations themselves."""
    def operand(name: str) -> str:
        return f"({name})" if any(sym in name for sym in OPERATIONS.values()) else name

    if operation in UNARY:
        return f"{OPERATIONS[operation]}{operand(a)}"
    return f"{operand(a)} {OPERATIONS[operation]} {operand(b or '?')}"


def combine_named(selections: Sequence[NamedSelection], operation: str, a: Any, b: Any,
                  universe: Iterable[str], name: Any = None) -> NamedSelection:
    """Combine two saved selections (by name) into a new, validly named one.

    ``name`` empty or None gives :func:`default_name`; either way the name must be new.
    """
    first = find(selections, a)
    second = None if operation in UNARY else find(selections, b)
    members = combine(operation, first.archs, second.archs if second else None, universe)
    wanted = name if isinstance(name, str) and name.strip() else default_name(
        operation, first.name, second.name if second else None)
    return NamedSelection(validate_name(wanted, (s.name for s in selections)), members)


def load_all(data: Any) -> list[NamedSelection]:
    """The selections of a stored list; entries that do not parse are dropped, not fatal:
    one tampered entry must not lose the analyst the others."""
    out = []
    for item in data if isinstance(data, list) else []:
        try:
            out.append(NamedSelection.from_dict(item))
        except ValueError:
            continue
    return out


@dataclass(frozen=True)
class OpContrast:
    """Mean accuracy of the candidates using ``op`` at ``choice_point``, inside vs outside.

    A mean is None (never 0) where no candidate on that side uses the op, and so is the
    difference: "not seen" must not read as "bad".
    """

    choice_point: str
    op: str
    mean_inside: float | None
    count_inside: int
    mean_outside: float | None
    count_outside: int

    @property
    def difference(self) -> float | None:
        if self.mean_inside is None or self.mean_outside is None:
            return None
        return self.mean_inside - self.mean_outside

    def to_dict(self) -> dict[str, Any]:
        return {"choice_point": self.choice_point, "op": self.op, "mean_inside": self.mean_inside,
                "count_inside": self.count_inside, "mean_outside": self.mean_outside,
                "count_outside": self.count_outside, "difference": self.difference}


def fitness_inside_outside(records: Iterable[Mapping[str, Any]], space: SearchSpace,
                           selected: Iterable[str]) -> list[OpContrast]:
    """Per (choice point, op) of ``space``, in the space's order: mean accuracy of the records
    inside ``selected`` against those outside it.

    Records without a finite accuracy are left out of both sides. An architecture that
    ``space`` cannot parse raises ValueError (records of another session's space).
    """
    inside = frozenset(selected)
    cps = list(space.choice_points)
    # [choice point][op] -> [sum in, count in, sum out, count out]
    sums: list[dict[str, list[float]]] = [{op: [0.0, 0, 0.0, 0] for op in cp.candidates} for cp in cps]
    for record in records:
        accuracy = record.get("accuracy")
        if not finite_number(accuracy):
            continue
        side = 0 if record["arch"] in inside else 2
        for k, op in enumerate(space.from_string(record["arch"])):
            cell = sums[k][op]
            cell[side] += accuracy
            cell[side + 1] += 1
    return [OpContrast(cp.name, op, _mean(s_in, n_in), int(n_in), _mean(s_out, n_out), int(n_out))
            for cp, cells in zip(cps, sums) for op, (s_in, n_in, s_out, n_out) in cells.items()]


def _mean(total: float, count: float) -> float | None:
    return total / count if count else None


def focus_args(selection: NamedSelection) -> dict[str, Any]:
    """The ``focus`` command's arguments; ValueError saying what to do when it cannot be sent."""
    if not selection.archs:
        raise ValueError(f"{selection.name!r} is empty: there is nothing to focus on")
    if len(selection) > MAX_FOCUS_ARCHS:
        raise ValueError(f"{selection.name!r} has {len(selection):,} architectures; focus accepts at "
                         f"most {MAX_FOCUS_ARCHS:,}: intersect it with a smaller selection first")
    return {"archs": sorted(selection.archs)}
