"""navigator/session_view.py: a session's view folded from its events in seq order."""

from __future__ import annotations

from navigator.bus import MemoryBus
from navigator.events import (
    CommandAck,
    CommandRejected,
    Error,
    Event,
    Exported,
    MapUpdate,
    SessionState,
)
from navigator.session_view import SessionView
from tests.support.sessions import EditedChain
from tests.support.synthetic import SyntheticSession


def _view_of(bus: MemoryBus, session: str) -> SessionView:
    view = SessionView(session)
    for event in bus.history(session):
        view.apply(event)
    return view


def test_view_follows_a_synthetic_session() -> None:
    bus = MemoryBus()
    s = SyntheticSession(bus, "s1")
    s.publish_start()
    s.publish_progress(0, 5)
    first = s.publish_candidates(10)
    view = _view_of(bus, "s1")
    assert view.state == "running" and view.space["size"] == 15625
    assert view.last_seq == bus.last_seq("s1")
    assert len(view.progress) == 1 and view.progress[0]["step"] == 5
    assert view.map.archs == [r["arch"] for r in first]
    assert view.map.x == [r["x"] for r in first]
    assert view.map.values["accuracy"] == [r["accuracy"] for r in first]
    assert view.map.values["robustness"] == [r["scores"]["robustness"] for r in first]
    assert view.fitness and len(view.leaderboard) == 10
    assert view.records[first[0]["arch"]]["params"] == first[0]["params"]


def test_replayed_or_duplicate_events_are_ignored() -> None:
    bus = MemoryBus()
    s = SyntheticSession(bus, "s1")
    s.publish_start()
    s.publish_candidates(5)
    view = _view_of(bus, "s1")
    for event in bus.history("s1"):  # a reconnect may deliver them again
        view.apply(event)
    assert len(view.map) == 5 and len(view.timeline) == 2


def test_repeated_arch_updates_record_but_not_map() -> None:
    bus = MemoryBus()
    s = SyntheticSession(bus, "s1")
    s.publish_start()
    records = s.publish_candidates(3)
    view = _view_of(bus, "s1")
    again = dict(records[0], accuracy=0.99)
    view.apply(Event(type="candidates", session="s1", seq=view.last_seq + 1,
                     data={"generation": 9, "records": [again]}))
    assert len(view.map) == 3 and view.records[again["arch"]]["accuracy"] == 0.99


def test_score_columns_stay_aligned_when_a_key_appears_late() -> None:
    view = SessionView("s")
    rec = {"arch": "a", "accuracy": 0.5, "x": 0.0, "y": 0.0}
    view.apply(Event(type="candidates", session="s", seq=1, data={"generation": 1, "records": [rec]}))
    view.apply(Event(type="candidates", session="s", seq=2, data={"generation": 2, "records": [
        dict(rec, arch="b", scores={"zc": 3.0}), dict(rec, arch="c")]}))
    assert view.map.values["zc"] == [None, 3.0, None]
    assert all(len(col) == 3 for col in view.map.values.values())


def test_map_update_moves_points_and_bumps_version() -> None:
    bus = MemoryBus()
    s = SyntheticSession(bus, "s1")
    records = s.publish_candidates(4, fitness=False)
    bus.publish("s1", MapUpdate(coords={records[1]["arch"]: [9.0, -9.0], "unknown": [1.0, 1.0]}))
    view = _view_of(bus, "s1")
    assert view.map.version == 1
    assert (view.map.x[1], view.map.y[1]) == (9.0, -9.0)
    snap = view.snapshot_map(2)
    assert snap["archs"] == [r["arch"] for r in records[2:]] and snap["total"] == 4
    assert snap["version"] == 1 and len(snap["values"]["accuracy"]) == 2


def test_timeline_shows_acks_rejections_with_reason_and_errors() -> None:
    bus = MemoryBus()
    bus.publish("s", CommandAck(command_id="1", command="prune_op", user="ana",
                                args={"choice_point": "1<-0", "op": "none"}, detail="625 remain"))
    bus.publish("s", CommandRejected(command_id="2", command="prune_op", user="ana",
                                     reason="it is the last remaining op"))
    bus.publish("s", Error(message="worker failed: boom"))
    bus.publish("s", Exported(arch="|none~0|", files={"model": "/tmp/x/model.py"}))
    view = _view_of(bus, "s")
    kinds = [t["kind"] for t in view.timeline]
    assert kinds == ["ack", "rejected", "error", "ack"]
    assert "choice_point=1<-0" in view.timeline[0]["text"] and "625 remain" in view.timeline[0]["text"]
    assert "last remaining op" in view.timeline[1]["text"]
    assert view.exports[0]["files"]["model"] == "/tmp/x/model.py"


def test_steering_event_replaces_steering() -> None:
    bus = MemoryBus()
    s = SyntheticSession(bus, "s1")
    s.steering.prune("1<-0", "none")
    s.publish_steering()
    view = _view_of(bus, "s1")
    assert view.steering["pruned"] == {"1<-0": ["none"]}
    assert view.steering["space_size"] == 4 * 5 ** 5



def test_candidates_a_template_edit_removed_stay_on_the_map_but_leave_the_current_set(
        edited_chain: EditedChain) -> None:
    view = _view_of(edited_chain.bus, edited_chain.session)
    assert view.map.archs == edited_chain.archs  # the explored points are still drawn
    assert view.current_archs() == edited_chain.survivors
    assert [r["arch"] for r in view.current_records()] == edited_chain.survivors


def test_refusals_of_users_without_rights_stay_off_the_owners_timeline() -> None:
    bus = MemoryBus()
    bus.publish("s", SessionState(state="running", owner="alice"))
    bus.publish("s", CommandRejected(command_id="b-1", command="prune_op", user="bob",
                                     reason="bob may not steer session s (owner: alice)",
                                     args={"digest": "sha256:0123", "bytes": 400_000},
                                     unauthorized=True))
    bus.publish("s", CommandRejected(command_id="a-1", command="prune_op", user="alice",
                                     reason="it is the last remaining op"))
    view = _view_of(bus, "s")
    assert [t.get("user") for t in view.timeline] == [None, "alice"]
    assert view.unauthorized_commands == 1
