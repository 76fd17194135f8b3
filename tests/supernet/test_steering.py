from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supernet.space import SearchSpace
from supernet.steering import SteeringState


def test_prune_and_lock_shrink_the_space(nb201_space: SearchSpace) -> None:
    state = SteeringState(nb201_space)
    state.prune("1<-0", "none")
    assert state.space_size() == 4 * 5**5
    state.lock("3<-2", "skip_connect")
    assert state.space_size() == 4 * 5**4
    state.restore("1<-0", "none")
    state.unlock("3<-2")
    assert state.space_size() == 15_625


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda s: [s.prune("1<-0", op) for op in ("none", "skip_connect", "nor_conv_1x1",
                                                    "nor_conv_3x3", "avg_pool_3x3")], "last remaining op"),
        (lambda s: (s.prune("1<-0", "none"), s.lock("1<-0", "none")), "pruned"),
        (lambda s: s.prune("9<-0", "none"), "unknown choice point"),
        (lambda s: s.prune("1<-0", "conv_9x9"), "not a candidate"),
        (lambda s: s.set_weights("1<-0", {"none": -1.0}), "negative"),
        (lambda s: s.set_weights("1<-0", dict.fromkeys(
            ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"), 0.0)), "all zero"),
        (lambda s: s.set_weights("1<-0", {"none": float("nan")}), "finite"),
        (lambda s: s.unlock("1<-0"), "not locked"),
        (lambda s: s.restore("1<-0", "none"), "not pruned"),
        (lambda s: (s.lock("1<-0", "none"), s.prune("1<-0", "none")), "unlock it"),
    ],
)
def test_illegal_edits_raise_and_leave_state_unchanged(nb201_space: SearchSpace, action, message: str) -> None:
    state = SteeringState(nb201_space)
    with pytest.raises(ValueError, match=message):
        action(state)
    # the failing call itself changed nothing: replay all but the failing step on a fresh state
    fresh = SteeringState(nb201_space)
    try:
        action(fresh)
    except ValueError:
        pass
    assert state.to_dict() == fresh.to_dict()


def test_failed_edit_keeps_previous_state(nb201_space: SearchSpace) -> None:
    state = SteeringState(nb201_space)
    for op in ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3"):
        state.prune("2<-1", op)
    before = state.to_dict()
    with pytest.raises(ValueError):
        state.prune("2<-1", "avg_pool_3x3")
    with pytest.raises(ValueError):
        state.set_weights("2<-1", {"avg_pool_3x3": 0.0})
    assert state.to_dict() == before


def test_round_trip_and_tampered_dict(nb201_space: SearchSpace) -> None:
    state = SteeringState(nb201_space)
    state.prune("1<-0", "none")
    state.lock("3<-2", "skip_connect")
    state.set_weights("2<-0", {"nor_conv_3x3": 3.0})
    state.set_focus([nb201_space.from_index(7)])
    again = SteeringState.from_dict(state.to_dict(), nb201_space)
    assert again.to_dict() == state.to_dict()
    bad = state.to_dict() | {"locked": {"1<-0": "none"}}
    with pytest.raises(ValueError):
        SteeringState.from_dict(bad, nb201_space)


def test_weighted_sampling_follows_weights(nb201_space: SearchSpace) -> None:
    state = SteeringState(nb201_space)
    state.set_weights("1<-0", {"none": 0.0, "skip_connect": 0.0, "nor_conv_1x1": 0.0,
                               "nor_conv_3x3": 3.0, "avg_pool_3x3": 1.0})
    rng = np.random.default_rng(1)
    picks = [state.sample(rng)[0] for _ in range(4000)]
    assert set(picks) == {"nor_conv_3x3", "avg_pool_3x3"}
    assert 0.70 < picks.count("nor_conv_3x3") / len(picks) < 0.80


edits = st.lists(
    st.tuples(st.sampled_from(["prune", "lock", "unlock", "restore"]),
              st.integers(0, 5), st.integers(0, 4)),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(edits=edits, seed=st.integers(0, 2**32 - 1))
def test_sampling_never_yields_pruned_op_or_breaks_lock(edits, seed: int) -> None:
    space = SearchSpace.from_preset("nb201")
    state = SteeringState(space)
    for kind, cp_index, op_index in edits:
        cp = space.choice_points[cp_index]
        op = cp.candidates[op_index]
        args = (cp.name,) if kind == "unlock" else (cp.name, op)
        try:
            getattr(state, kind)(*args)
        except ValueError:
            pass
    rng = np.random.default_rng(seed)
    for _ in range(50):
        arch = state.sample(rng)
        for op, cp in zip(arch, space):
            assert not state.is_pruned(cp.name, op)
            if cp.name in state.locked:
                assert op == state.locked[cp.name]
        assert state.contains(arch)


@pytest.mark.parametrize(("bad", "message"), [
    ({"pruned": {"1<-0": "none"}}, "steering state: pruned.1<-0 must be a list, got 'none'"),
    ({"weights": {"1<-0": {"none": True}}}, "weights.1<-0.none must be a number, got True"),
    ({"weights": {"1<-0": {"none": float("inf")}}}, "must be a finite number"),
    ({"locked": ["1<-0"]}, "steering state: locked must be an object, got list"),
    ({"focus": "|none~0|"}, "steering state: focus must be a list"),
])
def test_a_steering_dict_of_the_wrong_shape_names_the_field(nb201_space: SearchSpace, bad: dict,
                                                            message: str) -> None:
    with pytest.raises(ValueError) as info:
        SteeringState.from_dict(bad, nb201_space)
    assert message in str(info.value)


def test_assign_takes_over_edits_in_place_as_copies(nb201_space: SearchSpace,
                                                    micro_space: SearchSpace) -> None:
    held = SteeringState(nb201_space)  # the object a trainer and a search hold
    source = SteeringState(nb201_space)
    source.prune("1<-0", "none")
    source.set_weights("2<-0", {"nor_conv_3x3": 3.0})
    source.set_focus([nb201_space.from_index(7)])
    held.assign(source)
    assert held.to_dict() == source.to_dict()
    source.prune("1<-0", "skip_connect")
    assert held.to_dict() != source.to_dict()  # copies: later edits of the source stay there
    with pytest.raises(ValueError, match="another search space"):
        held.assign(SteeringState(micro_space))


def test_membership_agrees_with_contains_and_is_a_snapshot(nb201_space) -> None:
    import numpy as np

    from supernet.steering import SteeringState

    steering = SteeringState(nb201_space)
    steering.prune("1<-0", "none")
    steering.lock("3<-0", "skip_connect")
    inside = steering.membership()
    rng = np.random.default_rng(0)
    archs = [SteeringState(nb201_space).sample(rng) for _ in range(200)]
    assert [inside(a) for a in archs] == [steering.contains(a) for a in archs]
    steering.unlock("3<-0")
    assert any(steering.contains(a) and not inside(a) for a in archs)
