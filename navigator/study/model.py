"""The study definition: a named set of sessions, the conditions compared, the task and the
participant's time budget, validated where they enter (UI, CLI, recording) so every reader
can trust a stored study."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from supernet.validation import Model, requirement, validate

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,79}$")
CONDITION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+-]{0,59}$")
PARTICIPANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_TIME_LIMIT_S = 24 * 3600
# How the time limit shows on a session's stream: the timer's pause is acked as this user, and
# the paused state's message starts with this text (outcomes tell them from the participant's)
TIMER_USER = "study-timer"
TIME_LIMIT_MESSAGE = "study time limit reached"


def _matches(pattern: re.Pattern[str], rule: str) -> Any:
    def check(text: str) -> bool:
        return bool(pattern.match(text))

    return requirement(check, rule)


def _split_commas(value: Any) -> Any:
    """Conditions typed in one field (UI, CLI) arrive as "a, b"."""
    return [c.strip() for c in value.split(",") if c.strip()] if isinstance(value, str) else value


NAME_RULE = "must be 1-80 letters, digits, spaces, '_', '.' or '-', starting with a letter or digit"
CONDITION_RULE = "must be 1-60 letters, digits, spaces, '_', '.', '+' or '-'"
PARTICIPANT_RULE = ("must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or "
                    "digit (e.g. P01)")
Condition = Annotated[str, _matches(CONDITION_RE, CONDITION_RULE)]
ParticipantId = Annotated[str, _matches(PARTICIPANT_RE, PARTICIPANT_RULE)]


class StudySession(Model):
    """One session of a study: who sat at it and under which condition."""

    session: str
    participant: str
    condition: str
    joined_ts: float = 0.0
    time_limit_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


class Study(Model):
    """A named set of sessions: conditions, task description, time limit, participants.

    ``participants`` optionally restricts who may join (empty: anyone with a valid id);
    ``sessions`` is filled from the recording (who already took part). Built in code or
    from a dict, a bad field is an :class:`~supernet.validation.InvalidData` naming it.
    """

    name: Annotated[str, _matches(NAME_RE, NAME_RULE)]
    conditions: Annotated[list[Condition], BeforeValidator(_split_commas),
                          Field(min_length=1, description="a list of at least one condition, "
                                "e.g. ['human-in-the-loop', 'automated']"),
                          requirement(lambda cs: len(set(cs)) == len(cs), "must be distinct")]
    task: Annotated[str, Field(max_length=4000)] = ""
    time_limit_s: Annotated[float, Field(gt=0, le=MAX_TIME_LIMIT_S, description=(
        f"a time limit in seconds in (0, {MAX_TIME_LIMIT_S}], or null for none"))] | None = None
    participants: list[ParticipantId] = []
    sessions: list[StudySession] = []

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
        return self.model_dump(exclude=None if sessions else {"sessions"})

    @classmethod
    def from_dict(cls, data: Any) -> Study:
        """A study from its JSON form (UI, recording); InvalidData naming every bad field."""
        return validate(cls, data, "study")


def check_participant_id(participant: Any) -> str:
    if not isinstance(participant, str) or not PARTICIPANT_RE.match(participant):
        raise ValueError(f"participant id {participant!r} {PARTICIPANT_RULE}")
    return participant

