"""Studies in the recording file: definitions in its ``studies`` table, membership indexed by
:class:`~navigator.recording.RecordingStore` from each session's ``study`` event."""

from __future__ import annotations

from typing import TYPE_CHECKING

from navigator.study.model import Study, StudySession

if TYPE_CHECKING:
    from navigator.recording import RecordingStore


def save_study(store: RecordingStore, study: Study) -> None:
    store.save_study(study.name, study.to_dict(sessions=False))


def list_studies(store: RecordingStore) -> list[Study]:
    members: dict[str, list[StudySession]] = {}
    for row in store.study_sessions():
        members.setdefault(row.pop("study"), []).append(StudySession(**row))
    return [Study.from_dict(spec | {"sessions": members.get(spec["name"], [])})
            for spec in store.study_specs()]


def get_study(store: RecordingStore, name: str) -> Study:
    for study in list_studies(store):
        if study.name == name:
            return study
    names = ", ".join(s.name for s in list_studies(store)) or "none yet"
    raise ValueError(f"no study {name!r} (studies: {names}); create it in the Study panel or "
                     "with `navigator study create`")
