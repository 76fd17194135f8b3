"""The web process's side of study mode: starting sessions in a study, recording UI-only
actions, guarding the panels, and enforcing the time limit with a timer thread.

The time limit counts wall-clock time from the session's first ``running`` state, pauses
included: it is the participant's time budget.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

from navigator.auth import AccessDenied, AccessPolicy
from navigator.commands import parse_command
from navigator.events import Event, SessionState, StudyJoined, UiAction
from navigator.study.actions import parse_ui_action
from navigator.study.export import export_zip
from navigator.study.model import TIME_LIMIT_MESSAGE, TIMER_USER, Study
from navigator.study.store import get_study, list_studies, save_study

if TYPE_CHECKING:
    from navigator.bus import EventBus
    from navigator.recording import RecordingStore
    from navigator.session_view import SessionView


class StudyHub(Protocol):
    """What the service needs of the web process's hub (the server's ``LiveHub``): kept
    this narrow so the study package never imports the server, and tests can hand in a fake.
    An access policy is used when the hub has one (``policy``) and logins are on."""

    @property
    def bus(self) -> EventBus: ...

    @property
    def user(self) -> str: ...

    def start_session(self, config: dict[str, Any], owner: str) -> str: ...

    def exists(self, session: str) -> bool: ...

    def view(self, session: str) -> SessionView: ...


class RecordedHistory:
    """The recording read as a bus history, so that the access rules (owner, shares) also
    decide about recorded sessions the bus no longer holds (an in-memory bus after a restart)."""

    def __init__(self, store: RecordingStore) -> None:
        self.store = store

    def history(self, session: str, after_seq: int = 0) -> list[Event]:
        return self.store.events(session, after_seq)


class StudyService:
    """Starts sessions in a study, records UI actions, enforces time limits.

    The time limit is enforced by the web process, which already follows every watched
    session: when it runs out while the session runs, a ``pause`` command (user
    ``study-timer``) goes to the worker, and once the session is paused a ``session_state``
    says why. A participant who resumes is paused again.
    """

    def __init__(self, hub: StudyHub, store: RecordingStore | None, poll_s: float = 0.25) -> None:
        self.hub = hub
        self.store = store
        self.poll_s = poll_s
        self._members: dict[str, dict[str, Any]] = {}  # session -> StudyJoined dict
        self._pause_sent: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="study-timer", daemon=True)
        self._recorded: AccessPolicy | None = None  # the access rules over the recording

    def start(self) -> StudyService:
        if self.store is not None:
            for row in self.store.study_sessions():
                if row["time_limit_s"]:
                    self._members[row["session"]] = row
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()

    def _need_store(self) -> RecordingStore:
        if self.store is None:
            raise ValueError("study mode needs the recording store: run `navigator serve` "
                             "(this server was created without one)")
        return self.store

    def _login_policy(self) -> AccessPolicy | None:
        """The hub's access policy when logins are on; None means everything is allowed."""
        policy = getattr(self.hub, "policy", None)
        return policy if policy is not None and policy.login_required else None

    def admin_problem(self, action: str) -> str | None:
        """Why the acting user may not ``action`` a study, or None. Study definitions and
        exports span every participant's sessions, so with logins only admins handle them."""
        policy = self._login_policy()
        user = self.hub.user
        if policy is None or policy.is_admin(user):
            return None
        if not user:
            return f"login required to {action} (your login may have expired)"
        return f"only an admin may {action}; {user} is not one"

    def replay_problem(self, session: str) -> str | None:
        """Why the acting user may not replay ``session``, or None. A replay shows all a
        session showed, so it needs the watch right; the bus decides while it holds the
        session, the recording once the bus has forgotten it."""
        policy = self._login_policy()
        if policy is None:
            return None
        if policy.access(session).exists or self.store is None:
            return policy.watch_problem(self.hub.user, session)
        if self._recorded is None:
            self._recorded = AccessPolicy(RecordedHistory(self.store), policy.users,
                                          login_required=True)
        return self._recorded.watch_problem(self.hub.user, session)

    def studies(self) -> list[Study]:
        return list_studies(self.store) if self.store is not None else []

    def create(self, spec: dict[str, Any]) -> Study:
        problem = self.admin_problem("create studies")
        if problem:
            raise AccessDenied(problem)
        study = Study.from_dict(spec)
        save_study(self._need_store(), study)
        return study

    def export(self, name: str, fmt: str = "csv") -> bytes:
        """The study's tables as a zip (the panel's download), for admins only with logins."""
        problem = self.admin_problem("export studies")
        if problem:
            raise AccessDenied(problem)
        return export_zip(self._need_store(), name, fmt)

    def join(self, study_name: str, participant: str, condition: str,
             config: dict[str, Any]) -> str:
        """Start a session for ``participant`` under ``condition``; returns its id."""
        study = get_study(self._need_store(), study_name)
        study.check_join(participant, condition)
        session = self.hub.start_session(config, owner=self.hub.user)
        joined = StudyJoined(study=study.name, participant=participant, condition=condition,
                             task=study.task, time_limit_s=study.time_limit_s)
        self.hub.bus.publish(session, joined)
        with self._lock:
            self._members[session] = joined.to_dict()
        return session

    def membership(self, session: str | None) -> dict[str, Any] | None:
        if not session:
            return None
        with self._lock:
            if session in self._members:
                return self._members[session]
        view = self.hub.view(session)
        with view.lock:
            return dict(view.study) if view.study else None

    def record_ui_action(self, session: str | None, message: Any) -> UiAction:
        """Validate a UI action and put it on the session's stream (so it is recorded).

        It is recorded under the participant's id, so only a user who may steer the session
        records one; a read-only watcher's are refused.
        """
        kind, detail = parse_ui_action(message)
        if not session or not self.hub.exists(session):
            raise ValueError(f"ui_action for unknown session {session!r}")
        policy = self._login_policy()
        problem = policy.steer_problem(self.hub.user, session) if policy is not None else None
        if problem:  # recorded as the participant's: only who sits at the session (or an admin)
            raise AccessDenied(f"ui_action not recorded: {problem} (read-only watchers' UI "
                               "actions are not part of the recording)")
        member = self.membership(session)
        user = member["participant"] if member else self.hub.user
        action = UiAction(kind=kind, user=user, detail=detail)
        self.hub.bus.publish(session, action)
        return action

    def status(self, session: str | None, now: float | None = None) -> dict[str, Any] | None:
        """What the Study panel shows: membership, task, seconds left, whether time is up."""
        member = self.membership(session)
        if member is None or session is None:
            return None
        now = time.time() if now is None else now
        view = self.hub.view(session)
        with view.lock:
            state, since = view.state, view.running_since
        limit = member.get("time_limit_s")
        remaining = None
        if limit:
            remaining = limit if since is None else max(0.0, limit - (now - since))
        return {"study": member.get("study"), "participant": member.get("participant"),
                "condition": member.get("condition"), "task": member.get("task", ""),
                "time_limit_s": limit, "remaining_s": remaining, "state": state,
                "counting": since is not None and remaining is not None and remaining > 0,
                "expired": remaining == 0.0}

    def check_time_limits(self, now: float | None = None) -> None:
        """Pause sessions whose participant's time is up (called by the timer thread)."""
        now = time.time() if now is None else now
        with self._lock:
            timed = [(s, m["time_limit_s"]) for s, m in self._members.items() if m.get("time_limit_s")]
        for session, limit in timed:
            view = self.hub.view(session)
            with view.lock:
                state, since = view.state, view.running_since
            if since is None or now - since < limit:
                continue
            if state in ("running", "finetuning"):
                if now - self._pause_sent.get(session, 0.0) > 5.0:
                    self._pause_sent[session] = now
                    self.hub.bus.send_command(parse_command(
                        {"type": "pause", "session": session, "user": TIMER_USER, "args": {}}))
            elif state == "paused" and self._pause_sent.pop(session, None) is not None:
                self.hub.bus.publish(session, SessionState(
                    state="paused", message=f"{TIME_LIMIT_MESSAGE} ({limit:g} s): session paused"))
            elif state in ("stopped", "failed"):
                with self._lock:
                    self._members.pop(session, None)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.check_time_limits()
            except Exception:  # noqa: BLE001 - one bad session must not stop the timer
                continue
