"""The study definition: a named set of sessions, the conditions compared, the task and the
participant's time budget, validated where they enter (UI, CLI, recording) so every reader
can trust a stored study."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,79}$")
CONDITION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+-]{0,59}$")
PARTICIPANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_TIME_LIMIT_S = 24 * 3600
# How the time limit shows on a session's stream: the timer's pause is acked as this user, and
# the paused state's message starts with this text (outcomes tell them from the participant's)
TIMER_USER = "study-timer"
TIME_LIMIT_MESSAGE = "study time limit reached"


@dataclass
class StudySession:
    """One session of a study: who sat at it and under which condition."""

    session: str
    participant: str
    condition: str
    joined_ts: float = 0.0
    time_limit_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Study:
    """A named set of sessions: conditions, task description, time limit, participants.

    ``participants`` optionally restricts who may join (empty: anyone with a valid id);
    ``sessions`` is filled from the recording (who already took part).
    """

    name: str
    conditions: list[str]
    task: str = ""
    time_limit_s: float | None = None
    participants: list[str] = field(default_factory=list)
    sessions: list[StudySession] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            raise ValueError(f"study name {self.name!r} must be 1-80 letters, digits, spaces, "
                             "'_', '.' or '-', starting with a letter or digit")
        if isinstance(self.conditions, str):
            self.conditions = [c.strip() for c in self.conditions.split(",") if c.strip()]
        if not isinstance(self.conditions, list) or not self.conditions:
            raise ValueError("a study needs at least one condition, e.g. "
                             "['human-in-the-loop', 'automated']")
        for c in self.conditions:
            if not isinstance(c, str) or not CONDITION_RE.match(c):
                raise ValueError(f"condition {c!r} must be 1-60 letters, digits, spaces, "
                                 "'_', '.', '+' or '-'")
        if len(set(self.conditions)) != len(self.conditions):
            raise ValueError(f"conditions must be distinct, got {self.conditions}")
        if not isinstance(self.task, str) or len(self.task) > 4000:
            raise ValueError("the task description must be text of at most 4000 characters")
        if self.time_limit_s is not None:
            if isinstance(self.time_limit_s, bool) or not isinstance(self.time_limit_s, (int, float)) \
                    or not 0 < self.time_limit_s <= MAX_TIME_LIMIT_S:
                raise ValueError(f"time limit must be a number of seconds in (0, {MAX_TIME_LIMIT_S}] "
                                 f"or empty for none, got {self.time_limit_s!r}")
            self.time_limit_s = float(self.time_limit_s)
        if not isinstance(self.participants, list):
            raise ValueError("participants must be a list of participant ids")
        for p in self.participants:
            check_participant_id(p)
        self.sessions = [s if isinstance(s, StudySession) else StudySession(**s)
                         for s in self.sessions]

    def check_join(self, participant: str, condition: str) -> None:
        """ValueError with the reason when ``participant`` may not join under ``condition``."""
        check_participant_id(participant)
        if condition not in self.conditions:
            raise ValueError(f"condition {condition!r} is not one of study {self.name!r}'s "
                             f"conditions {self.conditions}")
        if self.participants and participant not in self.participants:
            raise ValueError(f"participant {participant!r} is not on study {self.name!r}'s "
                             f"list ({', '.join(self.participants)})")

    def to_dict(self, sessions: bool = True) -> dict[str, Any]:
        d = {"name": self.name, "conditions": list(self.conditions), "task": self.task,
             "time_limit_s": self.time_limit_s, "participants": list(self.participants)}
        return d | ({"sessions": [s.to_dict() for s in self.sessions]} if sessions else {})

    @classmethod
    def from_dict(cls, data: Any) -> Study:
        if not isinstance(data, dict):
            raise ValueError(f"a study must be a JSON object, got {type(data).__name__}")
        known = {"name", "conditions", "task", "time_limit_s", "participants", "sessions"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown study field(s) {unknown}; known: {sorted(known)}")
        if "name" not in data or "conditions" not in data:
            raise ValueError("a study needs 'name' and 'conditions'")
        return cls(**data)


def check_participant_id(participant: Any) -> str:
    if not isinstance(participant, str) or not PARTICIPANT_RE.match(participant):
        raise ValueError(f"participant id {participant!r} must be 1-64 letters, digits, '_', "
                         "'.' or '-', starting with a letter or digit (e.g. P01)")
    return participant

