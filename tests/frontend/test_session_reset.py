"""Switching or starting a session resets every view's local state (issue 16, defect 4), and
the Download button only ever zips the session's own export; both checked through real Dash
requests to the real app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from frontend import ids
from frontend.session_reset import SESSION_LOCAL
from navigator.bus import MemoryBus
from navigator.events import Exported, SessionState
from tests.frontend.test_study_view import dash_call
from tests.navigator.test_auth import AuthServer
from tests.support.synthetic import LiveServer


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    live = LiveServer().start()
    yield live
    live.stop()


def test_a_session_change_clears_every_views_local_state(server: LiveServer) -> None:
    response = dash_call(server.app, server.url, None, f"..{ids.PENDING}.data@",
                         {f"{ids.SESSION}.data": "s-second"})
    assert response is not None
    cleared = {(cid, prop): value for cid, props in response.items() for prop, value in props.items()}
    expected = {(cid, prop): value for cid, prop, value in SESSION_LOCAL}
    assert cleared == expected
    for component in ((ids.PENDING, "data"), (ids.BLOCK_PENDING, "data"), (ids.EDIT_PREVIEW, "children"),
                      (ids.CANDIDATE_A, "data"), (ids.CANDIDATE_B, "data"),
                      (ids.LEADERBOARD, "selected_rows"), (ids.SELECTION_INFO, "children")):
        assert component in cleared, component
    assert cleared[(ids.PENDING, "data")] is None and cleared[(ids.CANDIDATE_A, "data")] is None
    assert cleared[(ids.LEADERBOARD, "selected_rows")] == []


@pytest.mark.parametrize("button, pending, preview, hint", [
    (ids.CONFIRM_EDIT, ids.PENDING, ids.EDIT_PREVIEW, "click a heatmap cell first"),
    (ids.BLOCK_CONFIRM, ids.BLOCK_PENDING, ids.BLOCK_PREVIEW, "click a block first")])
def test_an_edit_proposed_in_another_session_is_dropped_not_sent(
        server: LiveServer, button: str, pending: str, preview: str, hint: str) -> None:
    stale = {"type": "prune_op", "args": {"choice_point": "1<-0", "op": "none"}, "session": "s-first"}
    response = dash_call(server.app, server.url, None, f"..{preview}.children@",
                         {f"{button}.n_clicks": 1},
                         {f"{pending}.data": stale, f"{ids.SESSION}.data": "s-second"})
    assert response is not None
    assert response[pending]["data"] is None
    assert response[preview]["children"] == hint  # as if nothing had been proposed


def test_download_without_an_export_sends_nothing(server: LiveServer) -> None:
    assert dash_call(server.app, server.url, None, f"..{ids.DOWNLOAD_FILE}.data",
                     {f"{ids.DOWNLOAD}.n_clicks": 1}, {f"{ids.SESSION}.data": "s-none"}) is None
    enabled = dash_call(server.app, server.url, None, f"{ids.DOWNLOAD}.disabled",
                        {f"{ids.SESSION}.data": "s-none"})
    assert enabled == {ids.DOWNLOAD: {"disabled": True}}


def test_download_zips_the_sessions_own_export_for_those_who_may_watch_it(tmp_path: Path) -> None:
    import base64
    import io
    import zipfile

    folder = tmp_path / "exports" / "v1"
    folder.mkdir(parents=True)
    for name in ("model.py", "weights.pt", "arch.json", "README.txt"):
        (folder / name).write_text(name)
    lab = AuthServer(tmp_path, MemoryBus())
    try:
        lab.bus.publish("s-bob", SessionState(state="running", owner="bob"))
        lab.bus.publish("s-bob", Exported(arch="a", files={"model": str(folder / "model.py")},
                                          folder=str(folder), version=1))
        inputs, state = {f"{ids.DOWNLOAD}.n_clicks": 1}, {f"{ids.SESSION}.data": "s-bob"}
        for user, watches in (("alice", False), ("bob", True)):
            cookie = lab.login(user)
            enabled = dash_call(lab.app, lab.url, cookie, f"{ids.DOWNLOAD}.disabled",
                                {f"{ids.SESSION}.data": "s-bob"})
            sent = dash_call(lab.app, lab.url, cookie, f"..{ids.DOWNLOAD_FILE}.data", inputs, state)
            if not watches:  # another user's session: the button stays off, nothing is sent
                assert enabled is None and sent is None
                continue
            assert enabled == {ids.DOWNLOAD: {"disabled": False}}
            assert sent is not None
            data = sent[ids.DOWNLOAD_FILE]["data"]
            assert data["filename"] == "navigator-s-bob-v1.zip"
            with zipfile.ZipFile(io.BytesIO(base64.b64decode(data["content"]))) as z:
                assert sorted(z.namelist()) == ["README.txt", "arch.json", "model.py", "weights.pt"]
    finally:
        lab.close()
