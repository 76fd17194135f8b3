"""A hand-made study session (exact times and numbers) shared by the study tests."""

from __future__ import annotations

from typing import Any

from navigator.events import (
    Candidates,
    CommandAck,
    CommandRejected,
    Event,
    SessionState,
    StudyJoined,
    UiAction,
)
from navigator.study import TIMER_USER

T0 = 1002.0  # the session's first "running"


def ev(seq: int, payload: Any, ts: float, session: str = "s1") -> Event:
    e = Event.of(session, payload)
    e.seq, e.ts = seq, ts
    return e


def rec(arch: str, acc: float, pct: float | None = None) -> dict[str, Any]:
    return {"arch": arch, "accuracy": acc, "scores": {} if pct is None else {"table_percentile": pct}}


def ack(cid: str, command: str, user: str = "P1", **args: Any) -> CommandAck:
    return CommandAck(command_id=cid, command=command, user=user, args=args)


def study_events(session: str = "s1", participant: str = "P1",
                 condition: str = "human-in-the-loop") -> list[Event]:
    """A 300 s session: 6 distinct candidates in 3 generations, 3 edits, 1 rejected command,
    1 UI action, then the time limit pauses it."""
    payloads = [
        (SessionState(state="queued"), 1000.0),
        (StudyJoined(study="pilot", participant=participant, condition=condition,
                     task="find a good cell", time_limit_s=300.0), 1000.5),
        (SessionState(state="running"), T0),
        (Candidates(generation=1, records=[rec("A", 0.50), rec("B", 0.60, 98.9)]), T0 + 8),
        (UiAction(kind="map_color", user=participant, detail={"color": "params"}), T0 + 18),
        (ack("c1", "prune_op", choice_point="1<-0", op="none"), T0 + 28),
        (Candidates(generation=2, records=[rec("C", 0.55), rec("D", 0.70, 98.0),
                                           rec("A", 0.50)]), T0 + 68),
        (CommandRejected(command_id="c2", command="lock_edge", user="P1", reason="no"), T0 + 78),
        (ack("c3", "lock_edge", choice_point="2<-0", op="skip_connect"), T0 + 88),
        (ack("c4", "set_sampling_weights", choice_point="2<-1", weights={"none": 0.0}), T0 + 98),
        (Candidates(generation=3, records=[rec("E", 0.65), rec("F", 0.80, 99.5)]), T0 + 198),
        (ack("c5", "pause", user=TIMER_USER), T0 + 298),
        (SessionState(state="paused", message="study time limit reached (300 s): session paused"),
         T0 + 300),
    ]
    return [ev(i, p, ts, session) for i, (p, ts) in enumerate(payloads, 1)]

