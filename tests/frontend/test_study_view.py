"""The Study and Replay panels: the replay slider's time grid, and access rights on the lab
server (a replay shows only sessions one may watch; studies are created and exported by admins)
checked through real Dash requests with real logins."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from frontend import ids
from frontend.study_view import slider_end
from navigator.auth import SESSION_COOKIE
from navigator.bus import MemoryBus
from navigator.events import Candidates, CommandAck, SessionState, StudyJoined
from navigator.recording import Recorder, RecordingStore
from tests.navigator.test_auth import AuthServer


@pytest.mark.parametrize("duration", [0.0, 0.004, 3.78, 3.785, 3.7849, 12.0, 599.999])
def test_the_slider_reaches_the_last_event_on_its_own_grid(duration: float) -> None:
    end = slider_end(duration)
    assert end >= duration and end - duration < 0.0101
    assert round(end, 2) == end and end >= 0.01


def dash_call(app: Any, url: str, cookie: str | None, outputs: str,
              inputs: dict[str, Any], state: dict[str, Any] | None = None) -> dict | None:
    """POST one callback to ``/_dash-update-component`` as the browser does; its response
    ({component: {prop: value}}), or None when the server sent no update (204)."""
    key = next(k for k in app.callback_map if k.startswith(outputs))
    spec = app.callback_map[key]

    def values(specs: list[dict[str, str]], given: dict[str, Any]) -> list[dict[str, Any]]:
        return [s | {"value": given.get(f"{s['id']}.{s['property']}")} for s in specs]

    parts = [p.split(".") for p in key.strip(".").split("...")] if key.startswith("..") else \
        [key.split(".")]
    body = {"output": key, "outputs": [{"id": i, "property": p} for i, p in parts],
            "inputs": values(spec["inputs"], inputs), "state": values(spec["state"], state or {}),
            "changedPropIds": list(inputs)}
    if not key.startswith(".."):
        body["outputs"] = body["outputs"][0]
    r = requests.post(url + "/_dash-update-component", json=body, timeout=20,
                      cookies={SESSION_COOKIE: cookie} if cookie else {})
    if r.status_code == 204:
        return None
    assert r.status_code == 200, r.text
    return r.json()["response"]


class Panels:
    """Dash calls of the Study and Replay panels, as one logged-in user."""

    def __init__(self, app: Any, url: str, cookie: str | None) -> None:
        self.app, self.url, self.cookie = app, url, cookie

    def call(self, outputs: str, inputs: dict[str, Any], state: dict[str, Any] | None = None
             ) -> dict | None:
        return dash_call(self.app, self.url, self.cookie, outputs, inputs, state)

    def replay_list(self, search: str = "") -> tuple[list[dict[str, str]], Any]:
        trigger = {f"{ids.REPLAY_URL}.search": search}
        response = self.call(f"..{ids.REPLAY_SESSION}.options", trigger)
        assert response is not None
        return (response[ids.REPLAY_SESSION]["options"],
                response[ids.REPLAY_SESSION].get("value"))

    def draw(self, session: str) -> dict:
        response = self.call(f"..{ids.REPLAY_TRAINING}.figure", {
            f"{ids.REPLAY_SLIDER}.value": 1e6, f"{ids.REPLAY_SESSION}.value": session})
        assert response is not None
        return response

    def span(self, session: str) -> dict | None:
        return self.call(f"..{ids.REPLAY_SLIDER}.max", {f"{ids.REPLAY_SESSION}.value": session},
                         {f"{ids.REPLAY_SLIDER}.value": 0})

    def create(self, name: str) -> dict:
        response = self.call(f"..{ids.STUDY_PICK}.options", {f"{ids.STUDY_CREATE}.n_clicks": 1}, {
            f"{ids.STUDY_NAME}.value": name, f"{ids.STUDY_CONDITIONS}.value": "hitl,auto"})
        assert response is not None
        return response

    def export(self, name: str) -> dict:
        response = self.call(f"..{ids.STUDY_DOWNLOAD}.data", {f"{ids.STUDY_EXPORT}.n_clicks": 1}, {
            f"{ids.STUDY_PICK}.value": name, f"{ids.STUDY_FORMAT}.value": "csv"})
        assert response is not None
        return response


def _record(bus: MemoryBus, store: RecordingStore, session: str, owner: str, *extra: Any) -> None:
    bus.publish(session, SessionState(state="running", owner=owner))
    for payload in extra:
        bus.publish(session, payload)
    bus.publish(session, Candidates(generation=1, records=[{"arch": f"{session}-a",
                                                            "accuracy": 0.5, "x": 0.0, "y": 0.0}]))
    Recorder(bus, store).record_available()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[AuthServer]:
    """A password-mode server whose recording holds four sessions: alice's (a study session of
    participant P1), bob's (private), carol's (shared with alice), and bob's ``s-old``, which
    only the recording still holds (the in-memory bus of a previous run is gone)."""
    server = AuthServer(tmp_path, MemoryBus())
    store = RecordingStore(server.config.recording_path)
    store.save_study("pilot", {"name": "pilot", "conditions": ["hitl", "auto"]})
    _record(server.bus, store, "s-alice", "alice", StudyJoined(
        study="pilot", participant="P1", condition="hitl", task="", time_limit_s=None))
    _record(server.bus, store, "s-bob", "bob")
    _record(server.bus, store, "s-carol", "carol", CommandAck(
        command_id="sh-1", command="share", user="carol", args={"with": ["alice"]}))
    _record(MemoryBus(), store, "s-old", "bob")
    store.close()
    yield server
    server.close()


def test_replay_lists_and_draws_only_sessions_the_user_may_watch(lab: AuthServer) -> None:
    alice = Panels(lab.app, lab.url, lab.login("alice"))
    options, _ = alice.replay_list()
    assert sorted(o["value"] for o in options) == ["s-alice", "s-carol"]
    assert any("P1 (pilot / hitl)" in o["label"] for o in options)
    assert "participant P1" in alice.draw("s-alice")[ids.REPLAY_INFO]["children"]
    # ?replay= of someone else's session (or a value typed into the dropdown) draws nothing
    _, asked = alice.replay_list("?replay=s-bob")
    assert asked == "s-bob"
    refused = alice.draw("s-bob")
    assert refused[ids.REPLAY_INFO]["children"] == (
        "cannot replay s-bob: alice may not watch session s-bob (owner: bob; it is not shared "
        "with them)")
    assert refused[ids.REPLAY_LEADERBOARD]["data"] == []
    assert alice.span("s-bob") is None and alice.span("s-alice") is not None
    assert "alice may not watch session s-old (owner: bob" in (
        alice.draw("s-old")[ids.REPLAY_INFO]["children"])
    # the owner still replays a session only the recording holds; an admin replays everything
    bob = Panels(lab.app, lab.url, lab.login("bob"))
    assert sorted(o["value"] for o in bob.replay_list()[0]) == ["s-bob", "s-old"]
    assert bob.draw("s-old")[ids.REPLAY_INFO]["children"].startswith("t = ")
    root = Panels(lab.app, lab.url, lab.login("root"))
    assert sorted(o["value"] for o in root.replay_list()[0]) == ["s-alice", "s-bob", "s-carol",
                                                                 "s-old"]


def test_only_admins_create_and_export_studies(lab: AuthServer) -> None:
    alice = Panels(lab.app, lab.url, lab.login("alice"))
    refused = alice.create("alice-study")
    assert refused[ids.STUDY_STATUS]["children"] == (
        "cannot create the study: only an admin may create studies; alice is not one")
    refused = alice.export("pilot")
    assert ids.STUDY_DOWNLOAD not in refused
    assert refused[ids.STUDY_STATUS]["children"] == (
        "cannot export: only an admin may export studies; alice is not one")
    root = Panels(lab.app, lab.url, lab.login("root"))
    created = root.create("root-study")
    assert created[ids.STUDY_STATUS]["children"] == "study 'root-study' saved"
    assert sorted(created[ids.STUDY_PICK]["options"]) == ["pilot", "root-study"]
    exported = root.export("pilot")
    assert exported[ids.STUDY_DOWNLOAD]["data"]["filename"] == "pilot-csv.zip"


def test_without_logins_everything_stays_allowed(tmp_path: Path) -> None:
    """The embedded default (auth none): every recording is listed, anyone creates and exports."""
    from frontend.synthetic import LiveServer

    server = LiveServer(record=True, data_dir=tmp_path).start()
    try:
        server.bus.publish("s-local", SessionState(state="running", owner="local"))
        panels = Panels(server.app, server.url, None)
        deadline = time.monotonic() + 10
        while not panels.replay_list()[0] and time.monotonic() < deadline:
            time.sleep(0.05)  # the server's recorder polls the bus
        assert [o["value"] for o in panels.replay_list()[0]] == ["s-local"]
        assert panels.create("pilot")[ids.STUDY_STATUS]["children"] == "study 'pilot' saved"
        assert panels.export("pilot")[ids.STUDY_DOWNLOAD]["data"]["filename"] == "pilot-csv.zip"
    finally:
        server.stop()
