"""navigator/socket_guard.py: strict JSON for browsers, Host names, digests and rate limits;
and the runtime's refusal of a view (AccessDenied) that the UI turns into PreventUpdate."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from typing import Any

import pytest
from dash.exceptions import PreventUpdate
from flask import Flask

from frontend.callbacks import watched_view
from navigator.auth import AccessDenied, AccessPolicy
from navigator.bus import MemoryBus
from navigator.events import SessionState
from navigator.hub import LiveHub
from navigator.socket_guard import (
    MAX_RECORDED_ARGS,
    BrowserJSON,
    BrowserPacket,
    RejectionLimiter,
    bounded_args,
    encodable,
    finite,
    loopback_host,
)


def _no_constants(name: str) -> Any:
    raise ValueError(name)


def test_packets_never_hold_nan_or_infinity() -> None:
    message = ["events", [{"data": {"loss": math.nan, "eta": math.inf, "x": [-math.inf, 1.5]},
                           "seq": 3}]]
    text = BrowserJSON.dumps(message, separators=(",", ":"))
    assert json.loads(text, parse_constant=_no_constants) == [
        "events", [{"data": {"loss": None, "eta": None, "x": [None, 1.5]}, "seq": 3}]]
    assert BrowserJSON.dumps({"a": 1.0}) == json.dumps({"a": 1.0})  # finite: unchanged
    encoded = BrowserPacket(2, data=["events", {"ts": math.nan}]).encode()
    assert encoded == '2["events",{"ts":null}]'
    assert finite((1.0, math.nan)) == [1.0, None]


def test_an_unencodable_event_becomes_an_error_with_its_seq() -> None:
    event = {"schema": 1, "type": "space", "session": "s", "seq": 4, "ts": 1.0,
             "data": {"size": 10**5000}}
    stand_in = encodable(event)
    assert (stand_in["type"], stand_in["seq"], stand_in["session"]) == ("error", 4, "s")
    assert "event 4 (space) could not be sent to browsers" in stand_in["data"]["message"]
    fine = {"schema": 1, "type": "space", "session": "s", "seq": 5, "ts": 1.0, "data": {}}
    assert encodable(fine) is fine


@pytest.mark.parametrize("host, port, ok", [
    ("127.0.0.1:8050", "8050", True), ("localhost:8050", "8050", True),
    ("[::1]:8050", "8050", True), ("LocalHost:8050", "8050", True), ("127.0.0.1", "80", True),
    ("127.0.0.1:8051", "8050", False), ("127.0.0.1", "8050", False),
    ("evil.example:8050", "8050", False), ("127.0.0.1.evil.example:8050", "8050", False),
    ("localhost.evil.example:8050", "8050", False), ("[::1]x:8050", "8050", False),
    ("::1:8050", "8050", False), ("", "8050", False),
])
def test_only_loopback_host_names_on_the_servers_port(host: str, port: str, ok: bool) -> None:
    assert loopback_host(host, port) is ok


def test_refused_arguments_are_recorded_short_or_as_a_digest() -> None:
    small = {"choice_point": "1<-0", "op": "none"}
    assert bounded_args(small) == small
    big = bounded_args({"device": "npu", "csv": "x" * 400_000})
    assert set(big) == {"digest", "bytes"} and big["digest"].startswith("sha256:")
    assert big["bytes"] > 400_000 and len(json.dumps(big)) < MAX_RECORDED_ARGS


def test_rejections_are_recorded_in_a_burst_then_slowly_per_user() -> None:
    limiter = RejectionLimiter(burst=3, refill_s=0.2)
    assert [limiter.admit("bob")[0] for _ in range(5)] == [True, True, True, False, False]
    assert limiter.admit("alice") == (True, 0)  # per user
    time.sleep(0.25)
    assert limiter.admit("bob") == (True, 2)  # two were left out since the last recorded


def test_the_runtime_refuses_a_view_with_access_denied_and_the_ui_keeps_its_outputs() -> None:
    bus = MemoryBus()
    bus.publish("s-alice", SessionState(state="running", owner="alice"))
    hub = LiveHub(bus, socketio=None,  # no socket is used here
                  user="", policy=AccessPolicy(bus, login_required=True))
    hub.request_user = lambda: "bob"
    app = Flask("test")
    with app.test_request_context("/_dash-update-component"):
        with pytest.raises(AccessDenied, match="bob may not watch session s-alice"):
            hub.view("s-alice")
        with pytest.raises(PreventUpdate):
            watched_view(hub, "s-alice")
        with pytest.raises(AccessDenied, match="no session 'nope'"):
            hub.view("nope")
    assert hub._views == {} and "nope" not in bus.sessions()
    hub.close()


def test_the_runtime_does_not_import_dash() -> None:
    code = ("import sys, navigator.hub, navigator.server, navigator.session_view; "
            "print(sorted(m for m in sys.modules if m == 'dash' or m.startswith('dash.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
