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
    from tests.support.synthetic import LiveServer

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


# -- the replay draws what the participant saw at time t ------------------------------------


def _space_payload() -> Any:
    from navigator.events import Space
    from supernet.space import PRESETS, SearchSpace

    space = SearchSpace(PRESETS["tiny"])
    return space, Space(template=space.to_dict(), choice_points=[cp.to_dict() for cp in space],
                        size=space.size())


def _fitness(count: int) -> Any:
    from navigator.events import Fitness

    cell = {"mean": 0.6, "ci_low": 0.5, "ci_high": 0.7, "count": count, "best": 0.7}
    return Fitness(matrix={"1<-0": {"none": cell}, "3<-2": {"skip_connect": cell | {"mean": 0.4}}})


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[RecordingStore, list[str]]]:
    """A session whose participant selects {A, B} and candidate A at 3 s, then {C}, candidate
    C (A pinned), lock mode for blocks and a zoom at 5 s; the fitness grows at 6 s."""
    from navigator.events import Event, UiAction

    space, space_event = _space_payload()
    archs = [space.to_string(a) for a in list(space.all_archs())[:3]]
    ui = lambda kind, **detail: UiAction(kind=kind, user="P1", detail=detail)  # noqa: E731
    payloads = [
        (0.0, SessionState(state="running", owner="local")),
        (0.5, StudyJoined(study="pilot", participant="P1", condition="hitl", task="",
                          time_limit_s=None)),
        (1.0, space_event),
        (2.0, Candidates(generation=1, records=[{"arch": a, "accuracy": 0.5 + i / 10, "x": i,
                                                  "y": i, "params": 100 * i}
                                                 for i, a in enumerate(archs)])),
        (2.5, _fitness(3)),
        (3.0, ui("map_selection", n=2, archs=archs[:2])),
        (3.1, ui("candidate_selected", arch=archs[0])),
        (5.0, ui("map_selection", n=1, archs=archs[2:])),
        (5.1, ui("candidate_selected", arch=archs[2])),
        (5.2, ui("candidate_pinned", arch=archs[0])),
        (5.3, ui("block_mode", mode="lock")),
        (5.4, ui("map_zoom", x=[0.5, 2.5], y=[-1.0, 1.0])),
        (6.0, _fitness(9)),
    ]
    store = RecordingStore(tmp_path / "r.sqlite")
    for seq, (t, payload) in enumerate(payloads, 1):
        event = Event.of("s-replay", payload)
        event.seq, event.ts = seq, 1000.0 + t
        store.append(event)
    yield store, archs
    store.close()


def test_the_replay_at_t_shows_that_time_s_selection_candidate_and_blocks(
        recorded: tuple[RecordingStore, list[str]]) -> None:
    from frontend import figures
    from frontend.study_view import ReplayCache, replay_views

    store, archs = recorded
    cache = ReplayCache(store)

    def views(t: float) -> dict[str, Any]:
        return replay_views(cache.at("s-replay", t)[0])

    def selected(fig: Any) -> list[str]:
        trace = fig.data[0]
        return [trace.customdata[i][0] for i in trace.selectedpoints or []]

    early = views(1.5)
    assert early[ids.REPLAY_MAP].data[0].selectedpoints is None
    assert not early[ids.REPLAY_CANDIDATE].data  # nothing chosen yet: the empty canvas
    late = views(6.5)
    assert selected(late[ids.REPLAY_MAP]) == archs[2:]
    record = store.events("s-replay")[3].data["records"][2]
    assert late[ids.REPLAY_CANDIDATE].to_dict() == figures.architecture_graph(
        archs[2], record, title="Selected by the participant").to_dict()
    assert late[ids.REPLAY_PINNED].layout.annotations[-1].text == figures.candidate_summary(
        store.events("s-replay")[3].data["records"][0])
    assert list(late[ids.REPLAY_MAP].layout.xaxis.range) == [0.5, 2.5]
    assert "block click locks / unlocks" in late[ids.REPLAY_UI]
    # back to 4 s (the cache starts over): that time's selection and candidate, not the later ones
    at4 = views(4.0)
    assert selected(at4[ids.REPLAY_MAP]) == archs[:2]
    assert "2 selected" in at4[ids.REPLAY_MAP].layout.title.text
    assert at4[ids.REPLAY_CANDIDATE].to_dict() == figures.architecture_graph(
        archs[0], store.events("s-replay")[3].data["records"][0],
        title="Selected by the participant").to_dict()
    assert not at4[ids.REPLAY_PINNED].data
    assert at4[ids.REPLAY_PINNED].layout.annotations[0].text == "none pinned yet"
    assert at4[ids.REPLAY_MAP].layout.xaxis.autorange is True
    assert "block click prunes / restores" in at4[ids.REPLAY_UI]
    # the blocks view: the template's choice points in order, the fitness of that time
    blocks = {t.name: t for t in at4[ids.REPLAY_BLOCKS].data}
    assert [t.name for t in at4[ids.REPLAY_BLOCKS].data] == [
        "1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2", "pruned / excluded"]
    assert list(blocks["1<-0"].y) == [3] and list(blocks["3<-2"].x) == [0.4]
    assert list(views(6.5)[ids.REPLAY_BLOCKS].data[0].y) == [9]


@pytest.mark.parametrize("relayout, detail", [
    ({"xaxis.range[0]": 0.1, "xaxis.range[1]": 0.9, "yaxis.range[0]": -1, "yaxis.range[1]": 2},
     {"x": [0.1, 0.9], "y": [-1, 2]}),
    ({"xaxis.autorange": True, "yaxis.autorange": True}, {"x": [], "y": []}),
    ({"xaxis.range": [1, 2]}, {"x": [1, 2]}),
    ({"autosize": True}, None),
    ({"dragmode": "zoom"}, None),
    (None, None),
])
def test_map_zoom_detail_from_plotly_relayout(relayout: Any, detail: Any) -> None:
    from frontend.study_view import zoom_detail

    assert zoom_detail(relayout) == detail


def test_the_participant_line_says_modes_by_default_and_each_recorded_kind() -> None:
    from frontend.study_view import UI_SUMMARY, participant_ui
    from navigator.study import UI_ACTIONS

    assert set(UI_SUMMARY) == set(UI_ACTIONS) - {"candidate_selected", "candidate_pinned"}
    assert participant_ui({}) == ("participant's view: map coloured by accuracy · heatmap click "
                                  "prunes / restores · block click prunes / restores")
    line = participant_ui({
        "block_mode": {"mode": "lock"}, "theme": {"theme": "dark"},
        "selections_combined": {"operation": "complement", "a": "left", "b": "", "name": ""},
        "edit_proposed": {"command": "lock_edge", "choice_point": "1<-0", "op": "none",
                          "view": "blocks"},
        "leaderboard_view": {"sort_by": [{"column_id": "accuracy", "direction": "desc"}],
                             "filter": ""}})
    assert "block click locks / unlocks" in line and "dark theme" in line
    assert "combined complement of 'left'" in line
    assert "last proposed edit: lock_edge none on 1<-0 (blocks)" in line
    assert "leaderboard sorted by accuracy desc" in line


# -- every control's UI action is recorded through its real Dash callback -------------------


@pytest.fixture(scope="module")
def recording_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.support.synthetic import LiveServer

    server = LiveServer(record=True, data_dir=tmp_path_factory.mktemp("ui")).start()
    server.bus.publish("s-ui", SessionState(state="running", owner="local"))
    server.bus.publish("s-ui", StudyJoined(study="pilot", participant="P7", condition="hitl",
                                           task="", time_limit_s=None))
    yield server
    server.stop()


def _ui_callback(app: Any, component: str, prop: str) -> str:
    """The key of the UI-action callback whose one input is ``component.prop``."""
    return next(k for k, spec in app.callback_map.items() if k.startswith(ids.UI_ACTION)
                and spec["inputs"] == [{"id": component, "property": prop}])


@pytest.mark.parametrize("trigger, value, state, kind, detail", [
    (f"{ids.BLOCK_MODE}.value", "lock", {}, "block_mode", {"mode": "lock"}),
    (f"{ids.BLOCK_PENDING}.data", {"type": "unlock_edge", "args": {"choice_point": "1<-0"}}, {},
     "edit_proposed", {"command": "unlock_edge", "choice_point": "1<-0", "op": "",
                       "view": "blocks"}),
    (f"{ids.PENDING}.data", {"type": "prune_op", "args": {"choice_point": "2<-0", "op": "none"}},
     {}, "edit_proposed", {"command": "prune_op", "choice_point": "2<-0", "op": "none",
                           "view": "heatmap"}),
    (f"{ids.SEL_COMBINE}.n_clicks", 1, {f"{ids.SEL_OP}.value": "difference",
                                        f"{ids.SEL_A}.value": "left", f"{ids.SEL_B}.value": "right",
                                        f"{ids.SEL_NAME}.value": "mine"},
     "selections_combined", {"operation": "difference", "a": "left", "b": "right", "name": "mine"}),
    (f"{ids.SEL_FOCUS}.n_clicks", 1, {f"{ids.SEL_ACTIVE}.value": "left"}, "selection_used",
     {"use": "focus", "name": "left"}),
    (f"{ids.SEL_FITNESS}.n_clicks", 2, {f"{ids.SEL_ACTIVE}.value": "left"}, "selection_used",
     {"use": "fitness", "name": "left"}),
    (f"{ids.SEL_DELETE}.n_clicks", 1, {f"{ids.SEL_ACTIVE}.value": "left"}, "selection_deleted",
     {"name": "left"}),
    (f"{ids.PARETO_COST}.value", "params", {}, "pareto_cost", {"cost": "params"}),
    (f"{ids.THEME}.data", "dark", {}, "theme", {"theme": "dark"}),
    (f"{ids.MAP}.relayoutData", {"xaxis.range[0]": 0.1, "xaxis.range[1]": 0.9}, {}, "map_zoom",
     {"x": [0.1, 0.9]}),
    (f"{ids.LEADERBOARD}.sort_by", [{"column_id": "accuracy", "direction": "desc"}],
     {f"{ids.LEADERBOARD}.filter_query": "{accuracy} > 0.5"}, "leaderboard_view",
     {"sort_by": [{"column_id": "accuracy", "direction": "desc"}], "filter": "{accuracy} > 0.5"}),
])
def test_each_control_records_its_ui_action_with_time_and_participant(
        recording_server: Any, trigger: str, value: Any, state: dict[str, Any], kind: str,
        detail: dict[str, Any]) -> None:
    component, prop = trigger.split(".")
    key = _ui_callback(recording_server.app, component, prop)
    before = time.time()
    response = dash_call(recording_server.app, recording_server.url, None, key, {trigger: value},
                         state | {f"{ids.SESSION}.data": "s-ui"})
    assert response == {ids.UI_ACTION: {"data": {"session": "s-ui", "kind": kind}}}
    last = recording_server.bus.history("s-ui")[-1]
    assert (last.type, last.data["kind"], last.data["user"], last.data["detail"]) == (
        "ui_action", kind, "P7", detail)
    assert before <= last.ts <= time.time()


@pytest.mark.parametrize("trigger, value, state", [
    (f"{ids.MAP}.relayoutData", {"autosize": True}, {}),  # the map's first draw
    (f"{ids.THEME}.data", "sepia", {}),
    (f"{ids.SEL_FOCUS}.n_clicks", 1, {f"{ids.SEL_ACTIVE}.value": None}),  # nothing to use
])
def test_controls_that_changed_nothing_record_nothing(recording_server: Any, trigger: str,
                                                      value: Any, state: dict[str, Any]) -> None:
    component, prop = trigger.split(".")
    n = len(recording_server.bus.history("s-ui"))
    assert not dash_call(recording_server.app, recording_server.url, None,
                         _ui_callback(recording_server.app, component, prop), {trigger: value},
                         state | {f"{ids.SESSION}.data": "s-ui"})  # no_update: nothing sent
    assert len(recording_server.bus.history("s-ui")) == n
