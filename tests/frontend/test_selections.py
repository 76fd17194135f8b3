"""Named map selections: set operations, fitness inside vs outside, the panel's helpers."""

from __future__ import annotations

import time

import pytest

from frontend import figures
from frontend.selection_view import (
    listing,
    stored,
    with_selections,
)
from frontend.selections import (
    NamedSelection,
    OpContrast,
    combine,
    combine_named,
    default_name,
    find,
    fitness_inside_outside,
    focus_args,
    load_all,
    validate_name,
)
from navigator.commands import MAX_FOCUS_ARCHS, CommandError, parse_command
from supernet.space import SearchSpace
from tests.support.sessions import EditedChain

# A hand-made map of 8 points: A = {1..4}, B = {3..6}, C = {7}.
UNIVERSE = [f"p{i}" for i in range(1, 9)]
A = NamedSelection("A", frozenset({"p1", "p2", "p3", "p4"}))
B = NamedSelection("B", frozenset({"p3", "p4", "p5", "p6"}))
C = NamedSelection("C", frozenset({"p7"}))


@pytest.mark.parametrize(("operation", "expected"), [
    ("union", {"p1", "p2", "p3", "p4", "p5", "p6"}),
    ("intersection", {"p3", "p4"}),
    ("difference", {"p1", "p2"}),
    ("complement", {"p5", "p6", "p7", "p8"}),
])
def test_combine_gives_the_exact_sets_of_the_hand_made_example(operation: str, expected: set) -> None:
    assert combine(operation, A.archs, B.archs, UNIVERSE) == frozenset(expected)


def test_set_algebra_identities_hold_on_the_example() -> None:
    def op(name: str, a: frozenset, b: frozenset | None = None) -> frozenset:
        return combine(name, a, b, UNIVERSE)

    assert op("intersection", A.archs, C.archs) == frozenset()  # disjoint
    assert op("difference", B.archs, A.archs) == {"p5", "p6"}  # not symmetric
    assert op("complement", op("complement", A.archs)) == A.archs
    # De Morgan: not (A ∪ B) == not A ∩ not B
    assert op("complement", op("union", A.archs, B.archs)) == op(
        "intersection", op("complement", A.archs), op("complement", B.archs)) == {"p7", "p8"}
    assert op("complement", frozenset(UNIVERSE)) == frozenset()


def test_combine_rejects_unknown_operations_and_a_missing_b() -> None:
    with pytest.raises(ValueError, match="unknown set operation 'xor'.*complement"):
        combine("xor", A.archs, B.archs, UNIVERSE)
    with pytest.raises(ValueError, match="union needs a second selection B"):
        combine("union", A.archs, None, UNIVERSE)
    assert combine("complement", A.archs, None, UNIVERSE) == {"p5", "p6", "p7", "p8"}


def test_combine_named_looks_up_names_and_names_the_result() -> None:
    saved = [A, B, C]
    made = combine_named(saved, "intersection", "A", "B", UNIVERSE)
    assert made == NamedSelection("A ∩ B", frozenset({"p3", "p4"}))
    # composite operands are bracketed so the name stays unambiguous
    assert combine_named([*saved, made], "union", "A ∩ B", "C", UNIVERSE).name == "(A ∩ B) ∪ C"
    assert combine_named(saved, "complement", "A", None, UNIVERSE, name=" outside A ").name == "outside A"
    assert default_name("difference", "A", "B") == "A − B" and default_name("complement", "A") == "¬A"


def test_errors_are_specific_and_actionable() -> None:
    saved = [A, B]
    with pytest.raises(ValueError, match=r"no saved selection named 'Z'; saved: \['A', 'B'\]"):
        combine_named(saved, "union", "A", "Z", UNIVERSE)
    with pytest.raises(ValueError, match="save a map selection first"):
        find([], "A")
    with pytest.raises(ValueError, match="pick a saved selection first"):
        find(saved, None)
    with pytest.raises(ValueError, match="type a name"):
        validate_name("   ", ["A"])
    with pytest.raises(ValueError, match="'A' exists already: choose another name"):
        validate_name(" A ", ["A", "B"])
    with pytest.raises(ValueError, match="at most 80 characters"):
        validate_name("x" * 81, [])
    with pytest.raises(ValueError, match="exists already"):  # the default name is taken too
        combine_named([*saved, NamedSelection("A ∪ B", frozenset())], "union", "A", "B", UNIVERSE)
    with pytest.raises(ValueError, match="non-empty name"):
        NamedSelection("", frozenset({"p1"}))


def test_selections_round_trip_and_bad_stored_entries_are_dropped() -> None:
    assert NamedSelection.from_dict(A.to_dict()) == A
    assert A.to_dict() == {"name": "A", "archs": ["p1", "p2", "p3", "p4"]}
    with pytest.raises(ValueError, match="a stored selection must be"):
        NamedSelection.from_dict({"name": "A", "archs": "p1"})
    assert load_all([A.to_dict(), {"name": ""}, "junk", B.to_dict()]) == [A, B]
    assert load_all(None) == []


@pytest.mark.parametrize("stored, match", [
    ({"name": "A", "archs": {"p1": 1}}, "archs must be a list, got dict"),
    ({"name": 5, "archs": []}, "name must be a string, got 5"),
    ({"name": "  ", "archs": []}, "a selection needs a non-empty name"),
    ({"name": "A", "archs": ["p1", 5]}, r"archs\[1\] must be a string, got 5"),
    ({"name": "A", "archs": [""]}, r"archs\[0\] must be at least 1 character"),
    ({"name": "A", "archs": [], "colour": "red"},
     r"unknown key\(s\) \['colour'\]; allowed: \['archs', 'name'\]"),
    (["A"], "must be an object, got list"),
])
def test_a_bad_stored_selection_names_the_field(stored: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        NamedSelection.from_dict(stored)


def test_a_selection_stays_a_frozen_dataclass() -> None:
    from dataclasses import FrozenInstanceError, replace

    assert replace(A, archs=frozenset({"p9"})) == NamedSelection("A", frozenset({"p9"}))
    assert len({A, NamedSelection("A", frozenset(A.archs))}) == 1
    with pytest.raises(FrozenInstanceError):
        A.name = "Z"  # type: ignore[misc]
    with pytest.raises(ValueError, match="a selection needs a non-empty name"):
        replace(A, name=" ")


# -- fitness of blocks inside vs outside ---------------------------------------------------


def _arch(space: SearchSpace, ops: tuple[str, str, str]) -> str:
    return space.to_string(ops)


def test_fitness_inside_outside_on_hand_made_records(micro_space: SearchSpace) -> None:
    # micro space: edges 1<-0, 2<-0, 2<-1; ops skip_connect, nor_conv_3x3, avg_pool_3x3
    skip, conv, pool = "skip_connect", "nor_conv_3x3", "avg_pool_3x3"
    r1 = {"arch": _arch(micro_space, (skip, conv, conv)), "accuracy": 0.9}   # inside
    r2 = {"arch": _arch(micro_space, (skip, pool, conv)), "accuracy": 0.7}   # inside
    r3 = {"arch": _arch(micro_space, (conv, conv, pool)), "accuracy": 0.5}   # outside
    r4 = {"arch": _arch(micro_space, (skip, conv, pool)), "accuracy": 0.3}   # outside
    r5 = {"arch": _arch(micro_space, (pool, pool, pool)), "accuracy": None}  # not evaluated
    selected = {r1["arch"], r2["arch"], "an arch with no record"}
    rows = fitness_inside_outside([r1, r2, r3, r4, r5], micro_space, selected)
    assert [(r.choice_point, r.op) for r in rows] == [
        (cp.name, op) for cp in micro_space.choice_points for op in cp.candidates]
    by = {(r.choice_point, r.op): r for r in rows}
    cell = by["1<-0", skip]
    assert (cell.mean_inside, cell.count_inside, cell.count_outside) == (pytest.approx(0.8), 2, 1)
    assert cell.mean_outside == pytest.approx(0.3) and cell.difference == pytest.approx(0.5)
    assert by["2<-0", conv] == OpContrast("2<-0", conv, pytest.approx(0.9), 1, pytest.approx(0.4), 2)
    assert by["2<-0", conv].difference == pytest.approx(0.5)
    assert by["2<-1", pool].to_dict() == {
        "choice_point": "2<-1", "op": pool, "mean_inside": None, "count_inside": 0,
        "mean_outside": pytest.approx(0.4), "count_outside": 2, "difference": None}
    # seen on one side only: None, never 0
    only_inside = by["2<-1", conv]
    assert only_inside.mean_inside == pytest.approx(0.8) and only_inside.mean_outside is None
    assert only_inside.difference is None
    # never seen with an accuracy at all (r5 is skipped)
    assert by["1<-0", pool] == OpContrast("1<-0", pool, None, 0, None, 0)


def test_fitness_inside_outside_rejects_an_arch_of_another_space(micro_space: SearchSpace) -> None:
    with pytest.raises(ValueError, match="nodes"):
        fitness_inside_outside([{"arch": "|skip_connect~0|", "accuracy": 0.5}], micro_space, set())


def test_inside_outside_figure_draws_differences_and_marks_one_sided_ops() -> None:
    rows = [OpContrast("1<-0", "skip_connect", 0.8, 2, 0.3, 1),
            OpContrast("1<-0", "nor_conv_3x3", None, 0, 0.5, 1),
            OpContrast("2<-1", "avg_pool_3x3", 0.2, 1, 0.6, 3)]
    fig = figures.inside_outside_figure([r.to_dict() for r in rows], "A ∩ B", 2, 4)
    bar = fig.data[0]
    assert bar.orientation == "h"
    assert list(bar.x) == pytest.approx([0.5, 0, -0.4])
    assert list(bar.y) == ["1<-0 · skip_connect", "1<-0 · nor_conv_3x3 (not inside)",
                           "2<-1 · avg_pool_3x3"]
    assert list(bar.marker.color) == ["#2e7d32", "#9e9e9e", "#c62828"]
    assert bar.customdata[1][0] == "—" and bar.customdata[0][0] == "0.800"
    assert "'A ∩ B' (2 inside, 4 outside)" in fig.layout.title.text
    assert fig.layout.height >= 300


# -- the panel's helpers --------------------------------------------------------------------


def test_store_is_keyed_by_session_and_keeps_other_sessions() -> None:
    data = with_selections({"s-1": [C.to_dict()]}, "s-2", [A, B])
    assert stored(data, "s-2") == [A, B] and stored(data, "s-1") == [C]
    assert stored(data, None) == [] and stored("junk", "s-1") == [] and stored(None, "s-1") == []
    items, options = listing([A, C])
    assert [o["value"] for o in options] == ["A", "C"] and options[0]["label"] == "A (4)"
    assert len(items) == 2
    assert listing([])[1] == []


def test_focus_args_guard_the_commands_limits() -> None:
    assert focus_args(B) == {"archs": ["p3", "p4", "p5", "p6"]}
    with pytest.raises(ValueError, match="'E' is empty"):
        focus_args(NamedSelection("E", frozenset()))
    big = NamedSelection("big", frozenset(f"a{i}" for i in range(MAX_FOCUS_ARCHS + 1)))
    with pytest.raises(ValueError, match="5,001 architectures; focus accepts at most 5,000"):
        focus_args(big)
    # the limit is the focus command's own: one more is rejected there too
    ok = {"type": "focus", "session": "s", "args": {"archs": ["a"] * MAX_FOCUS_ARCHS}}
    assert parse_command(ok).args["archs"]
    with pytest.raises(CommandError, match="archs"):
        parse_command(ok | {"args": {"archs": ["a"] * (MAX_FOCUS_ARCHS + 1)}})


def test_after_a_template_edit_the_panel_works_on_the_candidates_that_remain(
        edited_chain: EditedChain) -> None:
    from flask import Flask
    from flask_socketio import SocketIO

    from frontend.selection_view import _combine_saved, _fitness_figure
    from navigator.hub import LiveHub

    hub = LiveHub(edited_chain.bus, SocketIO(Flask(__name__), async_mode="threading"))
    view = hub.view(edited_chain.session)
    deadline = time.monotonic() + 10
    while view.last_seq < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    first = NamedSelection("first", frozenset(edited_chain.archs[:2]))
    everything_else = _combine_saved(hub, edited_chain.session, [first], "complement", "first",
                                     None, "rest")
    assert everything_else.archs == set(edited_chain.survivors) - first.archs
    status, fig = _fitness_figure(hub, edited_chain.session, first, dark=False)
    assert "first" in status and fig.data
    hub.close()
