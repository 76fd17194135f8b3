"""Events: every payload type round-trips through the JSON wire format, and a
malformed envelope (unknown type or schema, missing payload fields, a bad session
state) is refused with a ValueError rather than reaching a view."""

from __future__ import annotations

import json

import pytest

from navigator.events import (
    PAYLOADS,
    SCHEMA_VERSION,
    Candidates,
    CommandAck,
    CommandRejected,
    Event,
    SessionState,
    TrainProgressEvent,
)

SAMPLES = {
    "session_state": {"state": "running", "message": "epoch 1"},
    "train_progress": {"epoch": 0, "epochs": 2, "step": 3, "steps_per_epoch": 10, "loss": 2.1,
                       "accuracy": 0.2, "samples_per_s": 900.0, "eta_s": 4.5},
    "candidates": {"generation": 1, "records": [{"arch": "a", "accuracy": 0.5, "x": 0.1,
                                                 "y": None}]},
    "map_update": {"coords": {"a": [0.1, 0.2]}},
    "fitness": {"matrix": {"1<-0": {"none": {"mean": 0.4, "ci_low": 0.3, "ci_high": 0.5,
                                             "count": 3, "best": 0.6}}}},
    "steering": {"pruned": {"1<-0": ["none"]}, "locked": {}, "weights": {}, "focus": [],
                 "space_size": 12},
    "leaderboard": {"records": [{"arch": "a", "accuracy": 0.9}]},
    "command_ack": {"command_id": "c1", "command": "pause", "user": "ana"},
    "command_rejected": {"command_id": "c2", "command": "prune_op", "user": "ana",
                         "reason": "last remaining op"},
    "error": {"message": "boom", "detail": "trace"},
    "checkpoint": {"path": "/tmp/x.pt", "epoch": 1},
    "space": {"template": {"n_nodes": 3}, "choice_points": [{"name": "1<-0"}], "size": 5},
    "exported": {"arch": "a", "files": {"model": "/tmp/m.py"}},
    "hardware": {"budget_ms": 2.5, "budget_device": "npu", "measured": 40, "predictor_srcc": 0.97,
                 "devices": {"npu": {"device": "npu", "n": 12, "srcc_host": 0.6, "adapted": True,
                                     "srcc_adapted": 0.95, "fastest_ms": 0.4}}},
    "study": {"study": "pilot", "participant": "P7", "condition": "human-in-the-loop",
              "task": "find a small accurate net", "time_limit_s": 600.0},
    "ui_action": {"kind": "map_color", "user": "P7", "detail": {"value": "params"}},
    "advice": {"generation": 3, "auto_apply": False, "proposals": [
        {"id": "prune_op-1", "command": "prune_op", "args": {"choice_point": "1<-0", "op": "none"},
         "confidence": 0.97, "reason": "...", "evidence": {"count": 12}}]},
    "evidence": {"count": 40, "refits": 3, "importance": {"1<-0": {"value": 0.2, "low": 0.1,
                                                                  "high": 0.3}}},
    "trust": {"rank_by": "score", "anchors": 20, "total_anchors": 40,
              "estimators": {"score": {"kendall": 0.6, "kendall_low": 0.5, "kendall_high": 0.7}}},
    "baseline": {"arch": "a", "best_arch": "b", "metric": "relative_l2", "label": "relative L2 error",
                 "higher_is_better": False, "value": 0.091, "best_value": 0.088, "beats": True,
                 "budget": 1},
}


def test_every_payload_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(PAYLOADS)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_round_trip_through_json(kind: str) -> None:
    payload = PAYLOADS[kind].from_dict(SAMPLES[kind])
    event = Event.of("s1", payload)
    event.seq = 7
    wire = json.loads(json.dumps(event.to_dict()))
    assert set(wire) == {"schema", "type", "session", "seq", "ts", "data"}
    assert wire["schema"] == SCHEMA_VERSION and wire["type"] == kind and wire["seq"] == 7
    back = Event.from_dict(wire)
    assert back.to_dict() == event.to_dict()
    assert back.payload() == payload


def test_defaults_fill_optional_fields() -> None:
    ack = CommandAck.from_dict(SAMPLES["command_ack"])
    assert ack.effective == "next step boundary"
    assert TrainProgressEvent.from_dict(SAMPLES["train_progress"]).lr == 0.0


@pytest.mark.parametrize("bad, match", [
    ([1, 2], "must be an object"),
    ({"schema": 2, "type": "error", "data": {"message": "x"}}, "unsupported event schema 2"),
    ({"type": "error", "data": {"message": "x"}}, "unsupported event schema None"),
    ({"schema": 1, "type": "telepathy", "data": {}}, "unknown event type 'telepathy'"),
    ({"schema": 1, "type": "checkpoint", "data": {"path": "/x"}}, r"lacks field\(s\) \['epoch'\]"),
    ({"schema": 1, "type": "session_state", "data": {"state": "dancing"}}, "session state must be"),
    ({"schema": 1, "type": "fitness", "data": "nope"}, "data must be an object"),
])
def test_malformed_events_are_refused(bad: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Event.from_dict(bad)


def test_unknown_payload_fields_are_dropped_for_forward_compatibility() -> None:
    state = SessionState.from_dict({"state": "paused", "future_field": 1})
    assert state == SessionState(state="paused")


def test_candidates_keep_map_coordinates() -> None:
    payload = Candidates.from_dict(SAMPLES["candidates"])
    assert payload.records[0]["x"] == 0.1 and payload.records[0]["y"] is None


@pytest.mark.parametrize("bad, match", [
    ({"schema": 1, "type": ["error"], "data": {}}, "unknown event type list"),
    ({"schema": [1], "type": "error", "data": {}}, "unsupported event schema list"),
    ({"schema": True, "type": "error", "data": {"message": "x"}}, "unsupported event schema True"),
    ({"schema": 1, "type": "error", "seq": "3", "data": {"message": "x"}},
     "event: seq must be an integer, got '3'"),
    ({"schema": 1, "type": "error", "seq": -1, "data": {"message": "x"}}, "seq must be >= 0"),
    ({"schema": 1, "type": "checkpoint", "data": {"path": "/x", "epoch": True}},
     "checkpoint event: epoch must be an integer, got True"),
    ({"schema": 1, "type": "train_progress", "data": SAMPLES["train_progress"] | {"loss": "2"}},
     "train_progress event: loss must be a number"),
    ({"schema": 1, "type": "candidates", "data": {"generation": 1, "records": [1]}},
     r"candidates event: records\[0\] must be an object, got 1"),
])
def test_payload_and_envelope_types_are_checked(bad: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Event.from_dict(bad)


def test_a_diverged_loss_still_reads() -> None:
    progress = TrainProgressEvent.from_dict(SAMPLES["train_progress"] | {"loss": float("nan")})
    assert progress.loss != progress.loss


def test_train_progress_event_is_the_trainers_progress() -> None:
    from supernet.progress import TrainProgress

    report = TrainProgress(**SAMPLES["train_progress"], lr=0.05)
    event = TrainProgressEvent(**report.to_dict())
    assert isinstance(event, TrainProgress) and event.to_dict() == report.to_dict()


def test_recorded_commands_from_before_received_ts_still_read() -> None:
    """``received_ts`` (the server's clock), ``suppressed`` and ``unauthorized`` are additions
    with defaults: acks and refusals recorded before them read as they always did."""
    old_ack = {"command_id": "c", "command": "pause", "user": "ana", "sent_ts": 5.0}
    assert CommandAck.from_dict(old_ack).received_ts is None
    old = {"command_id": "c", "command": "pause", "user": "ana", "reason": "no", "sent_ts": 5.0}
    rejected = CommandRejected.from_dict(old)
    assert (rejected.received_ts, rejected.suppressed, rejected.unauthorized) == (None, 0, False)
    assert CommandRejected.from_dict(old | {"received_ts": 6.0}).received_ts == 6.0
