"""Study mode: named sets of recorded sessions for user studies, and their exports.

A :class:`Study` names a set of sessions with a task description, the conditions an
experimenter compares (say ``human-in-the-loop`` against ``automated``) and an
optional time limit. A session joins a study when it starts: a ``study`` event on
its own stream (:class:`~navigator.events.StudyJoined`) says who sits at it and
under which condition, so the recording, a replay and every tab agree on it.

Modules, one job each: :mod:`.model` (the definition and its validation), :mod:`.store`
(studies in the recording file), :mod:`.actions` (the ``ui_action`` schema),
:mod:`.analytics` (outcomes as pure functions of events), :mod:`.export` (CSV / JSONL / zip
tables), :mod:`.service` (:class:`StudyService`, the web process's side with the time-limit
timer), :mod:`.sockets` (the ``ui_action`` socket message) and :mod:`.cli`
(``navigator study``). The names below are the package's public surface.
"""

from navigator.study.actions import UI_ACTIONS, parse_ui_action
from navigator.study.analytics import (
    action_rows,
    best_over_time,
    first_candidates,
    session_outcomes,
    session_start,
    time_to_table_top,
    time_to_top,
)
from navigator.study.cli import add_study_parser, cmd_study
from navigator.study.export import export_study, export_zip, study_tables
from navigator.study.model import TIME_LIMIT_MESSAGE, TIMER_USER, Study, StudySession
from navigator.study.service import RecordedHistory, StudyHub, StudyService
from navigator.study.sockets import register_study_socket
from navigator.study.store import get_study, list_studies, save_study

__all__ = [
    "TIMER_USER", "TIME_LIMIT_MESSAGE", "UI_ACTIONS", "RecordedHistory",
    "Study", "StudyHub", "StudyService", "StudySession", "action_rows", "add_study_parser",
    "best_over_time", "cmd_study", "export_study", "export_zip", "first_candidates",
    "get_study", "list_studies", "parse_ui_action", "register_study_socket", "save_study",
    "session_outcomes", "session_start", "study_tables", "time_to_table_top", "time_to_top",
]
