"""Study definitions: validation with the reason, round trips, who may join."""

from __future__ import annotations

from typing import Any

import pytest

from navigator.study import Study


def test_study_round_trips_and_splits_comma_separated_conditions() -> None:
    study = Study(name="pilot 1", conditions="human-in-the-loop, automated", task="t",
                  time_limit_s=600, participants=["P1", "P2"])
    assert study.conditions == ["human-in-the-loop", "automated"]
    assert study.time_limit_s == 600.0
    assert Study.from_dict(study.to_dict()) == study
    study.check_join("P1", "automated")


@pytest.mark.parametrize("spec, message", [
    ({"name": "", "conditions": ["a"]},
     "name must be 1-80 letters, digits, spaces, '_', '.' or '-', starting with a letter or "
     "digit, got ''"),
    ({"name": "x/y", "conditions": ["a"]}, "letters, digits"),
    ({"name": "s", "conditions": []}, "at least one condition"),
    ({"name": "s", "conditions": ["a", "a"]}, "distinct"),
    ({"name": "s", "conditions": ["a"], "time_limit_s": 0}, "time limit"),
    ({"name": "s", "conditions": ["a"], "time_limit_s": "10"}, "time limit"),
    ({"name": "s", "conditions": ["a"], "participants": ["bad id"]},
     "participants[0] must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or "
     "digit (e.g. P01), got 'bad id'"),
    ({"name": "s", "conditions": ["a"], "colour": 1},
     "unknown key(s) ['colour']; allowed: ['conditions', 'name', 'participants', 'sessions', "
     "'task', 'time_limit_s']"),
    ({"conditions": ["a"]}, "study: missing name"),
    ("pilot", "study: must be an object, got 'pilot'"),
])
def test_invalid_studies_are_refused_with_the_reason(spec: Any, message: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        Study.from_dict(spec)
    assert message in str(info.value)


def test_join_checks_condition_and_participant_list() -> None:
    study = Study(name="s", conditions=["a", "b"], participants=["P1"])
    with pytest.raises(ValueError, match="condition 'c' is not one of"):
        study.check_join("P1", "c")
    with pytest.raises(ValueError, match="not on study 's'"):
        study.check_join("P2", "a")
    with pytest.raises(ValueError, match="participant id ''"):
        study.check_join("", "a")

