"""Commands: the shape check of parse_command names the exact problem, and the
steering edits the worker applies are legal-or-unchanged."""

from __future__ import annotations

import json
import time

import pytest

from navigator.commands import ARGS, Command, CommandError, apply_steering, parse_command
from supernet.space import SearchSpace
from supernet.steering import SteeringState

VALID_ARGS = {
    "start": {"config": {"template": "tiny"}},
    "pause": {},
    "resume": {},
    "stop": {},
    "prune_op": {"choice_point": "1<-0", "op": "none"},
    "restore_op": {"choice_point": "1<-0", "op": "none"},
    "lock_edge": {"choice_point": "1<-0", "op": "nor_conv_3x3"},
    "unlock_edge": {"choice_point": "1<-0"},
    "set_sampling_weights": {"choice_point": "1<-0", "weights": {"none": 0.5}},
    "focus": {"archs": ["a"]},
    "finetune": {"epochs": 2},
    "set_search_params": {"population": 8, "mutation_prob": 0.3},
    "export": {"arch": "a"},
    "set_latency_budget": {"budget_ms": 2.5, "device": "npu"},
    "device_latencies": {"device": "npu", "csv": "arch,latency_ms\na,1.0\n"},
    "edit_template": {"template": {"kind": "chain", "layers": [], "heads": []}},
    "set_advisor": {"auto_apply": True},
    "set_map_encoding": {"encoding": "path"},
    "rank_by": {"estimator": "synflow"},
}


def wire(kind: str, **overrides: object) -> dict:
    return {"type": kind, "session": "s1", "user": "ana", "id": "c-1",
            "args": VALID_ARGS[kind]} | overrides


def test_every_command_type_is_covered() -> None:
    assert set(VALID_ARGS) == set(ARGS)


@pytest.mark.parametrize("kind", sorted(VALID_ARGS))
def test_valid_commands_parse_and_round_trip(kind: str) -> None:
    command = parse_command(wire(kind))
    assert (command.type, command.session, command.user, command.id) == (kind, "s1", "ana", "c-1")
    assert command.args == VALID_ARGS[kind]
    again = Command.from_dict(json.loads(json.dumps(command.to_dict())))
    assert again == command


def test_missing_id_and_user_get_defaults() -> None:
    command = parse_command({"type": "pause", "session": "s1"})
    assert command.user == "local" and len(command.id) == 32


def test_a_huge_bad_argument_is_not_echoed_whole() -> None:
    with pytest.raises(CommandError) as info:
        parse_command(wire("device_latencies", args={"device": "npu", "csv": "x" * 2_000_000}))
    assert len(str(info.value)) < 300


def test_command_error_is_a_value_error() -> None:
    assert issubclass(CommandError, ValueError)


@pytest.mark.parametrize("bad, match", [
    ("pause", "must be a JSON object, got str"),
    ({"type": "dance", "session": "s1"}, "unknown command type 'dance'"),
    ({"session": "s1"}, "unknown command type None"),
    (wire("pause", extra=1), r"unexpected field\(s\) \['extra'\]"),
    (wire("pause", session=""), "'session' must be a non-empty session id"),
    (wire("pause", user=5), "'user' must be a non-empty string"),
    (wire("pause", args=[1]), "'args' must be an object, got list"),
    (wire("prune_op", args={"choice_point": "1<-0"}), "missing argument 'op'"),
    (wire("unlock_edge", args={"choice_point": "1<-0", "op": "x"}),
     r"unknown argument\(s\) \['op'\]"),
    (wire("finetune", args={"epochs": -1}), "'epochs' must be an integer from 1 to 1000, got -1"),
    (wire("finetune", args={"epochs": 0}), "'epochs' must be an integer from 1 to 1000"),
    (wire("finetune", args={"epochs": 1.5}), "'epochs' must be an integer"),
    (wire("finetune", args={"epochs": True}), "'epochs' must be an integer"),
    (wire("set_sampling_weights", args={"choice_point": "1<-0", "weights": {"none": "x"}}),
     "'weights' must be a non-empty"),
    (wire("set_sampling_weights", args={"choice_point": "1<-0", "weights": {}}),
     "'weights' must be a non-empty"),
    (wire("set_sampling_weights", args={"choice_point": "1<-0", "weights": {"a": float("nan")}}),
     "'weights' must be a non-empty"),
    (wire("focus", args={"archs": []}), "'archs' must be a non-empty list"),
    (wire("set_search_params", args={}), "give at least one parameter"),
    (wire("set_search_params", args={"mutation_prob": 1.5}), "must be a probability in"),
    (wire("set_search_params", args={"strategy": "annealing"}), "'evolution', 'random' or 'latent'"),
    (wire("pause", ts="noon"), "'ts' must be a number"),
    (wire("set_latency_budget", args={"budget_ms": 0}), "'budget_ms' must be a positive number"),
    (wire("set_latency_budget", args={"budget_ms": float("inf")}), "'budget_ms' must be a positive"),
    (wire("set_latency_budget", args={}), "missing argument 'budget_ms'"),
    (wire("device_latencies", args={"device": "npu", "csv": ""}), "'csv' must be CSV text"),
    (wire("device_latencies", args={"device": "npu", "csv": "x" * 1_000_001}), "at most 1 MB"),
])
def test_malformed_commands_name_the_problem(bad: object, match: str) -> None:
    with pytest.raises(CommandError, match=match):
        parse_command(bad)


def steer(state: SteeringState, kind: str, **args: object) -> None:
    apply_steering(parse_command({"type": kind, "session": "s", "args": args}), state)


def test_steering_commands_change_a_state(micro_space: SearchSpace) -> None:
    state = SteeringState(micro_space)
    steer(state, "prune_op", choice_point="1<-0", op="skip_connect")
    steer(state, "lock_edge", choice_point="2<-0", op="avg_pool_3x3")
    steer(state, "set_sampling_weights", choice_point="2<-1", weights={"nor_conv_3x3": 3})
    arch = "|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|"
    steer(state, "focus", archs=[micro_space.to_string(micro_space.from_string(arch))])
    assert state.allowed("1<-0") == ("nor_conv_3x3", "avg_pool_3x3")
    assert state.allowed("2<-0") == ("avg_pool_3x3",)
    assert state.weight("2<-1", "nor_conv_3x3") == 3
    assert len(state.focus) == 1
    steer(state, "restore_op", choice_point="1<-0", op="skip_connect")
    steer(state, "unlock_edge", choice_point="2<-0")
    assert state.space_size() == 27


@pytest.mark.parametrize("kind, args, match", [
    ("prune_op", {"choice_point": "9<-0", "op": "none"}, "9<-0"),
    ("prune_op", {"choice_point": "1<-0", "op": "sep_conv_3x3"}, "not a candidate"),
    ("lock_edge", {"choice_point": "1<-0", "op": "skip_connect"}, "pruned; restore it first"),
    ("set_sampling_weights", {"choice_point": "1<-0", "weights": {"nor_conv_3x3": -1}},
     "negative"),
    ("unlock_edge", {"choice_point": "1<-0"}, "is not locked"),
    ("focus", {"archs": ["not an arch"]}, "describes 1 nodes"),
])
def test_illegal_steering_leaves_the_state_unchanged(micro_space: SearchSpace, kind: str,
                                                      args: dict, match: str) -> None:
    state = SteeringState(micro_space)
    steer(state, "prune_op", choice_point="1<-0", op="skip_connect")
    before = state.to_dict()
    with pytest.raises(ValueError, match=match):
        steer(state, kind, **args)
    assert state.to_dict() == before


def test_pruning_the_last_op_is_refused(micro_space: SearchSpace) -> None:
    state = SteeringState(micro_space)
    steer(state, "prune_op", choice_point="1<-0", op="skip_connect")
    steer(state, "prune_op", choice_point="1<-0", op="nor_conv_3x3")
    with pytest.raises(ValueError, match="last remaining op"):
        steer(state, "prune_op", choice_point="1<-0", op="avg_pool_3x3")
    assert state.allowed("1<-0") == ("avg_pool_3x3",)


def test_non_steering_commands_are_not_applied(micro_space: SearchSpace) -> None:
    with pytest.raises(AssertionError):
        steer(SteeringState(micro_space), "pause")


@pytest.mark.parametrize("kind", [["pause"], {"a": 1}, 5, True])
def test_a_non_string_type_is_a_command_error(kind: object) -> None:
    with pytest.raises(CommandError, match="unknown command type"):
        parse_command({"type": kind, "session": "s1"})


@pytest.mark.parametrize("field", ["session", "user", "id"])
@pytest.mark.parametrize("value", [["x"], {"x": 1}, 5, True])
def test_non_string_fields_are_command_errors(field: str, value: object) -> None:
    with pytest.raises(CommandError, match=f"pause: '{field}' must be"):
        parse_command(wire("pause", **{field: value}))


@pytest.mark.parametrize("ts", [float("nan"), float("inf"), -float("inf"), True, -1, 1e11,
                                1.7e12, "1", None, [1]])
def test_ts_must_be_a_finite_unix_time_in_seconds(ts: object) -> None:
    with pytest.raises(CommandError, match="'ts' must be a number: unix time in seconds"):
        parse_command(wire("pause", ts=ts))


def test_a_plausible_ts_is_kept_and_a_missing_one_is_now() -> None:
    assert parse_command(wire("pause", ts=0)).ts == 0
    assert parse_command(wire("pause", ts=1_700_000_000.5)).ts == 1_700_000_000.5
    before = time.time()
    assert before <= parse_command(wire("pause")).ts <= time.time()


@pytest.mark.parametrize("bad, match", [
    (wire("finetune", args={"epochs": "3"}), "'epochs' must be an integer from 1 to 1000, got '3'"),
    (wire("set_search_params", args={"population": None}), "'population' must be an integer"),
    (wire("set_search_params", args={"strategy": ["random"]}), "'strategy' must be 'evolution'"),
    (wire("set_sampling_weights", args={"choice_point": "1<-0", "weights": {"a": True}}),
     "'weights' must be a non-empty"),
    (wire("set_latency_budget", args={"budget_ms": True}), "'budget_ms' must be a positive"),
    (wire("focus", args={"archs": ["a", 5]}), "'archs' must be a non-empty list"),
    (wire("export", args={"arch": "a", "train_epochs": 2.0}), "'train_epochs' must be an integer"),
    (wire("start", args={"config": "tiny"}), "'config' must be an engine config object"),
])
def test_arguments_are_not_coerced(bad: dict, match: str) -> None:
    with pytest.raises(CommandError, match=match):
        parse_command(bad)


def test_every_problem_is_named_and_extra_keys_list_the_allowed_ones() -> None:
    with pytest.raises(CommandError) as info:
        parse_command(wire("finetune", args={"epochs": 0, "lr": 0.1}))
    message = str(info.value)
    assert "unknown argument(s) ['lr']; allowed: ['epochs']" in message
    assert "'epochs' must be an integer from 1 to 1000, got 0" in message


def test_args_stay_as_sent() -> None:
    command = parse_command(wire("set_search_params", args={"population": 4}))
    assert command.args == {"population": 4}
    assert parse_command(wire("pause", id="")).id != ""


def test_the_servers_receive_time_travels_beside_the_clients_ts() -> None:
    old = parse_command(wire("pause", ts=100.0))  # a message from before received_ts
    assert old.received_ts is None and "received_ts" not in old.to_dict()
    stamped = parse_command(wire("pause", ts=100.0, received_ts=105.5))
    assert (stamped.ts, stamped.received_ts) == (100.0, 105.5)
    assert parse_command(json.loads(json.dumps(stamped.to_dict()))) == stamped  # over the bus
    for bad in (float("nan"), float("inf"), True, -1, 1e300):
        with pytest.raises(CommandError, match="'received_ts' must be a number: unix time"):
            parse_command(wire("pause", received_ts=bad))


def test_set_advisor_takes_a_strict_bool() -> None:
    from navigator.commands import CommandError, parse_command

    ok = parse_command({"type": "set_advisor", "session": "s", "args": {"auto_apply": True}})
    assert ok.args == {"auto_apply": True}
    for bad in ({"auto_apply": 1}, {}, {"auto_apply": True, "x": 1}):
        try:
            parse_command({"type": "set_advisor", "session": "s", "args": bad})
        except CommandError as exc:
            assert "set_advisor" in str(exc)
        else:
            raise AssertionError(f"accepted {bad}")
