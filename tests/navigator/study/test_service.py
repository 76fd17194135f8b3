"""StudyService: joining, UI actions recorded for the participant (refused for watchers,
over real logins) and the time limit enforced by the timer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from navigator.bus import MemoryBus
from navigator.events import CommandAck, SessionState, StudyJoined
from navigator.recording import RecordingStore
from navigator.session_view import SessionView
from navigator.study import TIMER_USER, StudyService


class FakeHub:
    """The parts of LiveHub that StudyService uses, with views fed by hand."""

    def __init__(self) -> None:
        self.bus = MemoryBus()
        self.user = "local"
        self.views: dict[str, SessionView] = {}
        self.started: list[dict] = []

    def start_session(self, config: dict, owner: str) -> str:
        session = f"s-{len(self.started) + 1}"
        self.started.append(config)
        self.bus.publish(session, SessionState(state="queued", owner=owner))
        return session

    def exists(self, session: str) -> bool:
        return session in self.bus.sessions()

    def view(self, session: str) -> SessionView:
        view = self.views.setdefault(session, SessionView(session))
        for e in self.bus.history(session, view.last_seq):
            view.apply(e)
        return view


def test_service_joins_records_ui_actions_and_enforces_the_time_limit(tmp_path: Path) -> None:
    hub = FakeHub()
    store = RecordingStore(tmp_path / "r.sqlite")
    service = StudyService(hub, store)  # not started: the test drives the timer itself
    service.create({"name": "pilot", "conditions": ["hitl", "auto"], "time_limit_s": 60})
    with pytest.raises(ValueError, match="condition 'x'"):
        service.join("pilot", "P1", "x", {})
    session = service.join("pilot", "P1", "hitl", {"dataset": "digits"})
    joined = hub.bus.history(session)[-1]
    assert joined.type == "study" and joined.data["participant"] == "P1"
    action = service.record_ui_action(session, {"kind": "map_color", "detail": {"color": "flops"}})
    assert action.user == "P1"  # the participant, not the server's user
    with pytest.raises(ValueError, match="unknown session"):
        service.record_ui_action("s-nope", {"kind": "map_color", "detail": {"color": "x"}})

    status = service.status(session, now=0.0)
    assert status["remaining_s"] == 60 and not status["counting"]  # the clock waits for "running"
    running = hub.bus.publish(session, SessionState(state="running"))
    assert service.status(session, now=running.ts + 20)["remaining_s"] == pytest.approx(40)
    service.check_time_limits(now=running.ts + 30)
    assert hub.bus.next_command(session) is None  # time left: nothing sent
    service.check_time_limits(now=running.ts + 61)
    pause = hub.bus.next_command(session)
    assert (pause.type, pause.user) == ("pause", TIMER_USER)
    hub.bus.publish(session, SessionState(state="paused", message="paused"))  # the worker obeys
    service.check_time_limits(now=running.ts + 62)
    last = hub.bus.history(session)[-1]
    assert last.type == "session_state" and last.data["state"] == "paused"
    assert last.data["message"].startswith("study time limit reached (60 s)")
    assert service.status(session, now=running.ts + 62)["expired"] is True
    # resuming past the limit is paused again
    hub.bus.publish(session, SessionState(state="running"))
    service.check_time_limits(now=running.ts + 70)
    assert hub.bus.next_command(session).type == "pause"
    store.close()


def test_service_without_a_store_explains() -> None:
    service = StudyService(FakeHub(), None)
    assert service.studies() == []
    with pytest.raises(ValueError, match="needs the recording store"):
        service.create({"name": "s", "conditions": ["a"]})


def _shared_study_session(lab: Any, session: str, participant: str) -> str:
    """Alice's session in study "pilot" with ``participant`` at it, shared read-only with bob."""
    lab.session(session, "alice")
    lab.bus.publish(session, StudyJoined(study="pilot", participant=participant,
                                         condition="hitl", task="", time_limit_s=None))
    lab.bus.publish(session, CommandAck(command_id="sh-1", command="share", user="alice",
                                        args={"with": ["bob"]}))
    return session


def test_only_who_may_steer_records_ui_actions_over_a_real_login(tmp_path: Path) -> None:
    """A read-only watcher's UI actions would land in the recording under the participant's id:
    they are refused with the reason; the owner's and an admin's are recorded."""
    from tests.navigator.test_auth import AuthServer

    lab = AuthServer(tmp_path, MemoryBus())
    session = _shared_study_session(lab, "s-watched", "P1")
    clients = {u: lab.client(u) for u in ("alice", "bob", "root")}
    try:
        bob = clients["bob"]
        bob.sio.emit("join", {"session": session, "after_seq": 0})
        bob.wait(lambda: len(bob.events) == 3)  # bob may watch
        bob.sio.emit("ui_action", {"session": session, "kind": "map_color",
                                   "detail": {"color": "params"}})
        bob.wait(lambda: len(bob.errors) == 1)
        assert bob.errors[0]["reason"] == (
            "ui_action not recorded: bob may not steer session s-watched (owner: alice) "
            "(read-only watchers' UI actions are not part of the recording)")
        for user, color in (("alice", "flops"), ("root", "latency")):
            clients[user].sio.emit("ui_action", {"session": session, "kind": "map_color",
                                                 "detail": {"color": color}})
            deadline = time.monotonic() + 5
            while len(ui_actions(lab.bus, session)) < 1 + (user == "root") \
                    and time.monotonic() < deadline:
                time.sleep(0.02)
        assert ui_actions(lab.bus, session) == [("P1", {"color": "flops"}),
                                               ("P1", {"color": "latency"})]
        assert [c.errors for c in (clients["alice"], clients["root"])] == [[], []]
    finally:
        for client in clients.values():
            client.close()
        lab.close()


def test_new_ui_action_kinds_recorded_for_the_participant_refused_for_a_watcher(
        tmp_path: Path) -> None:
    from tests.navigator.test_auth import AuthServer

    lab = AuthServer(tmp_path, MemoryBus())
    session = _shared_study_session(lab, "s-new", "P2")
    clients = {u: lab.client(u) for u in ("alice", "bob")}
    sent = [("block_mode", {"mode": "lock"}), ("theme", {"theme": "dark"}),
            ("selection_used", {"use": "focus", "name": "left"})]
    try:
        bob = clients["bob"]
        bob.sio.emit("ui_action", {"session": session, "kind": "block_mode",
                                   "detail": {"mode": "lock"}})
        bob.wait(lambda: len(bob.errors) == 1)
        assert bob.errors[0]["reason"].startswith("ui_action not recorded: bob may not steer")
        before = time.time()
        for kind, detail in sent:
            clients["alice"].sio.emit("ui_action", {"session": session, "kind": kind,
                                                    "detail": detail})
        deadline = time.monotonic() + 5
        while len(ui_actions(lab.bus, session)) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.02)
        recorded = [e for e in lab.bus.history(session) if e.type == "ui_action"]
        assert [(e.data["kind"], e.data["user"], e.data["detail"]) for e in recorded] == [
            (kind, "P2", detail) for kind, detail in sent]
        assert all(before <= e.ts <= time.time() for e in recorded)
        assert clients["alice"].errors == []
    finally:
        for client in clients.values():
            client.close()
        lab.close()


def ui_actions(bus: MemoryBus, session: str) -> list[tuple[str, dict]]:
    return [(e.data["user"], e.data["detail"]) for e in bus.history(session)
            if e.type == "ui_action"]

