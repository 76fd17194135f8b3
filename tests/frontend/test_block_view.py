"""The block-information view: its figure, its click edits and its hover lookup."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from frontend import figures
from frontend.block_view import ParsedArchs, archs_using
from frontend.edits import block_edit, position_of
from supernet.fitness import FitnessTable
from supernet.records import CandidateRecord
from supernet.space import SearchSpace
from supernet.steering import SteeringState


def _space_doc(space: SearchSpace) -> dict:
    return {"template": space.to_dict(), "choice_points": [cp.to_dict() for cp in space],
            "size": space.size()}


def _dots(fig: go.Figure) -> dict[tuple[str, str], tuple[float, int, int]]:
    """(cp, op) -> (x, y, trace index) over every drawn dot."""
    out = {}
    for t, trace in enumerate(fig.data):
        for x, y, custom in zip(trace.x or (), trace.y or (), trace.customdata or ()):
            assert tuple(custom) not in out, f"{custom} drawn twice"
            out[tuple(custom)] = (x, y, t)
    return out


@pytest.fixture
def evaluated(tiny_space: SearchSpace) -> tuple[FitnessTable, list[str]]:
    """A fitness table of 60 random tiny-space candidates, none using 'none' on edge 1<-0."""
    rng = np.random.default_rng(3)
    table, archs = FitnessTable(tiny_space), []
    while len(archs) < 60:
        arch = tiny_space.random_arch(rng)
        if arch[0] == "none":
            continue
        text = tiny_space.to_string(arch)
        if text in archs:
            continue
        archs.append(text)
        table.update([CandidateRecord(arch=text, index=len(archs), accuracy=float(rng.uniform(0.3, 0.9)),
                                      loss=1.0, params=1, flops=1)])
    return table, archs


def test_one_dot_per_evaluated_block_with_the_matrix_values(evaluated, tiny_space) -> None:
    table, _ = evaluated
    matrix = table.to_dict()
    steering = SteeringState(tiny_space).to_dict()
    fig = figures.block_information(matrix, steering, choice_points=[cp.name for cp in tiny_space])
    dots = _dots(fig)
    assert len(dots) == 6 * 5  # one dot per (choice point, op), evaluated or not
    waiting = fig.data[-2]
    assert waiting.name == "not evaluated yet" and [tuple(c) for c in waiting.customdata] == [
        ("1<-0", "none")]  # 'none' on 1<-0 never evaluated: left of every other dot, at 0
    x0, y0, _ = dots[("1<-0", "none")]
    evaluated_dots = {k: v for k, v in dots.items() if k != ("1<-0", "none")}
    assert y0 == 0 and x0 < min(x for x, _, _ in evaluated_dots.values())
    assert waiting.marker.color[0] == fig.data[0].marker.color  # its choice point's colour
    for (cp, op), (x, y, _) in evaluated_dots.items():
        assert x == pytest.approx(matrix[cp][op]["mean"]) and y == matrix[cp][op]["count"]
    # every candidate counts once per choice point
    for cp in matrix:
        assert sum(y for (c, _), (_, y, _) in dots.items() if c == cp) == 60
    # one legend entry (trace) per choice point, in the template's order, one colour each
    names = [t.name for t in fig.data[:-2]]
    assert names == [cp.name for cp in tiny_space]
    assert len({t.marker.color for t in fig.data[:-2]}) == 6
    assert "1 block not evaluated yet" in fig.layout.title.text
    assert "mean accuracy" in fig.layout.xaxis.title.text
    hover = fig.data[0].hovertext[0]
    assert "choice point 1 of 6" in hover and "evaluated" in hover and "95% CI" in hover


def test_pruned_and_locked_blocks_are_styled_apart(evaluated, tiny_space) -> None:
    table, _ = evaluated
    state = SteeringState(tiny_space)
    state.prune("2<-0", "avg_pool_3x3")
    state.lock("3<-2", "nor_conv_3x3")
    fig = figures.block_information(table.to_dict(), state.to_dict(),
                                    choice_points=[cp.name for cp in tiny_space])
    dots = _dots(fig)
    grey = fig.data[-1]
    assert grey.name == "pruned / excluded" and grey.marker.symbol == "circle-open"
    assert grey.marker.color == figures.BLOCK_EXCLUDED
    shut_out = {tuple(c) for c in grey.customdata}
    # the pruned op, and the 4 ops a lock shuts out of its choice point
    assert shut_out == {("2<-0", "avg_pool_3x3")} | {("3<-2", op) for op in tiny_space.choice_point("3<-2").candidates
                                                      if op != "nor_conv_3x3"}
    x, y, t = dots[("3<-2", "nor_conv_3x3")]
    locked_trace = fig.data[t]
    i = [tuple(c) for c in locked_trace.customdata].index(("3<-2", "nor_conv_3x3"))
    assert locked_trace.marker.symbol[i] == "star" and locked_trace.name == "3<-2"
    assert all(s == "circle" for k, s in enumerate(locked_trace.marker.symbol) if k != i)
    assert "pruned" in grey.hovertext[[tuple(c) for c in grey.customdata].index(("2<-0", "avg_pool_3x3"))]


def test_any_choice_point_names_and_empty_input() -> None:
    cell = {"mean": 0.7, "ci_low": 0.65, "ci_high": 0.75, "count": 12, "best": 0.8, "relative": 0.02}
    matrix = {"layer1.block": {"mbconv3": cell, "identity": cell | {"mean": 0.5, "count": 3}},
              "layer1.pool": {"max": cell | {"count": 1, "ci_low": None, "ci_high": None}},
              "head": {"linear": cell | {"mean": None, "count": 0}}}
    fig = figures.block_information(matrix, {"pruned": {"layer1.block": ["identity"]}, "locked": {}},
                                    dark=True)
    dots = _dots(fig)
    assert set(dots) == {("layer1.block", "mbconv3"), ("layer1.block", "identity"),
                         ("layer1.pool", "max"), ("head", "linear")}
    assert dots[("layer1.block", "identity")][2] == len(fig.data) - 1  # pruned: the grey trace
    assert dots[("head", "linear")][2] == len(fig.data) - 2  # not evaluated yet
    assert "choice point 2 of 3" in fig.data[1].hovertext[0] and "+0.020" in fig.data[1].hovertext[0]
    assert list(fig.data[1].error_x.array) == [0]  # no interval with one evaluation
    assert fig.layout.template.layout.paper_bgcolor != "white"
    empty = figures.block_information({}, {})
    assert len(empty.data) == 1 and not empty.data[0].x


def test_click_edit_prune_restore_lock_unlock(tiny_space) -> None:
    doc = _space_doc(tiny_space)
    state = SteeringState(tiny_space)
    pending, text = block_edit(state.to_dict(), doc, "prune", "2<-0", "none")
    assert pending == {"type": "prune_op", "args": {"choice_point": "2<-0", "op": "none"}}
    assert "choice point 2 of 6" in text and f"{4 * 5 ** 5:,} architectures remain" in text
    state.prune("2<-0", "none")
    pending, _ = block_edit(state.to_dict(), doc, "prune", "2<-0", "none")
    assert pending["type"] == "restore_op"
    pending, text = block_edit(state.to_dict(), doc, "lock", "3<-2", "skip_connect")
    assert pending == {"type": "lock_edge", "args": {"choice_point": "3<-2", "op": "skip_connect"}}
    state.lock("3<-2", "skip_connect")
    pending, _ = block_edit(state.to_dict(), doc, "lock", "3<-2", "skip_connect")
    assert pending == {"type": "unlock_edge", "args": {"choice_point": "3<-2"}}
    for op in ("skip_connect", "nor_conv_1x1", "nor_conv_3x3"):
        state.prune("1<-0", op)
    pending, text = block_edit(state.to_dict(), doc, "prune", "1<-0", "avg_pool_3x3")
    assert pending is not None
    state.prune("1<-0", "avg_pool_3x3")
    pending, text = block_edit(state.to_dict(), doc, "prune", "1<-0", "none")  # the last op
    assert pending is None and "not possible" in text


def test_hover_lookup_finds_exactly_the_candidates_using_the_block(evaluated, tiny_space) -> None:
    _, archs = evaluated
    cache = ParsedArchs(max_sessions=2)
    space, decoded = cache.decoded("s1", tiny_space.to_dict(), archs[:40])
    using = archs_using(space, decoded, archs[:40], "2<-1", "nor_conv_3x3")
    assert using == [a for a in archs[:40] if tiny_space.from_string(a)[tiny_space.position("2<-1")] == "nor_conv_3x3"]
    assert using and len(using) < 40
    assert archs_using(space, decoded, archs[:40], "1<-0", "none") == []
    assert archs_using(space, decoded, archs[:40], "not-a-choice-point", "none") == []
    # the map grows: only the tail is decoded, and a bad string is skipped, not fatal
    space, decoded = cache.decoded("s1", tiny_space.to_dict(), archs + ["garbage"])
    assert len(decoded) == 61 and decoded[-1] is None
    assert len(archs_using(space, decoded, archs + ["garbage"], "2<-1", "nor_conv_3x3")) >= len(using)
    for name in ("s2", "s3"):
        cache.decoded(name, tiny_space.to_dict(), archs[:1])
    assert list(cache._by_session) == ["s2", "s3"]  # bounded: the oldest session is dropped


def test_position_of() -> None:
    assert position_of(["a", "b", "c"], "c") == "choice point 3 of 3"
    assert position_of(["a"], "z") == "not in the template"


def test_a_pruned_block_never_evaluated_is_grey_at_zero() -> None:
    cell = {"mean": 0.6, "ci_low": 0.5, "ci_high": 0.7, "count": 4}
    matrix = {"head": {"a": cell, "b": cell | {"mean": 0.8}, "c": {"mean": None, "count": 0}}}
    fig = figures.block_information(matrix, {"pruned": {"head": ["c"]}, "locked": {}})
    dots = _dots(fig)
    assert dots[("head", "c")][2] == len(fig.data) - 1 and dots[("head", "c")][1] == 0
    assert dots[("head", "c")][0] < 0.6
    assert "not evaluated yet" in fig.data[-1].hovertext[0] and "pruned" in fig.data[-1].hovertext[0]
    assert all(t.name != "not evaluated yet" for t in fig.data)
