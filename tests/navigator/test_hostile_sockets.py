"""Hostile clients against the real web server (issue 17): each test sends the attack or the
input first, then checks the clear refusal and that state and recording stayed as they were.

Embedded: :class:`~tests.support.synthetic.LiveServer` (loopback, no login, in-process bus).
Lab: password logins (``AuthServer`` of ``test_auth.py``), on Redis where marked ``redis``.
"""

from __future__ import annotations

import gc
import json
import math
import socket
import sqlite3
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from navigator.bus import MemoryBus, make_bus
from navigator.events import CommandAck, Space, TrainProgressEvent
from navigator.socket_guard import HARD_MESSAGE_BYTES, MAX_JOINS_PER_SOCKET, MAX_MESSAGE_CHARS
from tests.navigator.test_auth import AuthServer, Client, answer, refusal
from tests.support.socket_clients import Sio, StrictPoller
from tests.support.synthetic import LiveServer, SyntheticSession

PRUNE = {"type": "prune_op", "args": {"choice_point": "1<-0", "op": "none"}}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer() as srv:
        yield srv


def _session(server: LiveServer, name: str, n: int = 3) -> SyntheticSession:
    s = SyntheticSession(server.bus, name)
    s.publish_start()
    s.publish_candidates(n)
    return s


def _history(bus: Any, session: str) -> list[dict[str, Any]]:
    return [e.to_dict() for e in bus.history(session)]


BAD_TS = (float("nan"), float("inf"), float("-inf"), True, 1e300, -5, "1700000000", 1.7e12)


def _raw_ts_message(session: str, ts: Any) -> str:
    """A command frame as a hostile script writes it: Python's json writes NaN and Infinity."""
    return "42" + json.dumps(["command", {**PRUNE, "session": session, "ts": ts}])


# --- finding 3: a NaN timestamp, non-JSON numbers ----------------------------------------------


def test_bad_ts_is_refused_and_every_watcher_keeps_parsing(server: LiveServer) -> None:
    s = _session(server, "nan-ts")
    watcher = StrictPoller(server.url)
    attacker = StrictPoller(server.url)
    try:
        watcher.emit("join", {"session": "nan-ts", "after_seq": 0})
        watcher.wait(lambda: len(watcher.seqs("nan-ts")) == server.bus.last_seq("nan-ts"))
        before = _history(server.bus, "nan-ts")
        for ts in BAD_TS:
            n = len(attacker.errors)
            attacker._post(_raw_ts_message("nan-ts", ts))
            attacker.wait(lambda: len(attacker.errors) > n)  # noqa: B023
            assert "'ts' must be a number: unix time in seconds, from 0 to 1e11" in attacker.errors[-1]
        assert _history(server.bus, "nan-ts") == before  # nothing recorded, nothing acked
        assert server.bus.next_command("nan-ts") is None  # nothing reached a worker
        # A diverged loss and an infinite rate are still sent, as null: the view keeps going.
        server.bus.publish("nan-ts", TrainProgressEvent(
            epoch=0, epochs=1, step=1, steps_per_epoch=2, loss=math.nan, accuracy=0.5,
            samples_per_s=math.inf, eta_s=-math.inf))
        s.publish_candidates(2)
        total = server.bus.last_seq("nan-ts")
        watcher.wait(lambda: watcher.seqs("nan-ts")[-1:] == [total])
        assert watcher.seqs("nan-ts") == list(range(1, total + 1))
        [progress] = [e for e in watcher.events if e["type"] == "train_progress"]
        assert progress["data"]["loss"] is None and progress["data"]["samples_per_s"] is None
        late = StrictPoller(server.url)  # a fresh tab gets the whole history, parseable
        try:
            late.emit("join", {"session": "nan-ts", "after_seq": 0})
            late.wait(lambda: late.seqs("nan-ts")[-1:] == [total])
        finally:
            late.close()
    finally:
        watcher.close()
        attacker.close()


def _lab_bad_ts(lab: AuthServer, session: str) -> None:
    lab.session(session, "alice")
    bob = lab.client("bob")  # no right on alice's session
    watcher = StrictPoller(lab.url, lab.login("alice"))
    try:
        watcher.emit("join", {"session": session, "after_seq": 0})
        watcher.wait(lambda: len(watcher.seqs(session)) == 1)
        before = _history(lab.bus, session)
        for ts in BAD_TS:
            kind, reason = answer(bob, {**PRUNE, "session": session, "ts": ts})
            assert kind == "error" and "'ts' must be a number: unix time in seconds" in reason
        assert _history(lab.bus, session) == before
        assert lab.bus.next_command(session) is None
        lab.bus.publish(session, CommandAck(command_id="a", command="pause", user="alice",
                                            sent_ts=math.nan))  # an old worker's ack, say
        watcher.wait(lambda: len(watcher.seqs(session)) == 2)
        assert watcher.events[-1]["data"]["sent_ts"] is None
    finally:
        watcher.close()
        bob.close()


def test_lab_bad_ts_from_a_user_without_rights(tmp_path: Path) -> None:
    lab = AuthServer(tmp_path, MemoryBus())
    try:
        _lab_bad_ts(lab, "s-nan")
    finally:
        lab.close()


@pytest.mark.redis
def test_lab_bad_ts_from_a_user_without_rights_on_redis(tmp_path: Path, redis_url: str) -> None:
    bus = make_bus(redis_url)
    lab = AuthServer(tmp_path, bus, redis_url=redis_url, auth="")
    try:
        _lab_bad_ts(lab, f"s-nan-{uuid.uuid4().hex[:6]}")
    finally:
        lab.close()
        bus.close()


def test_commands_carry_the_servers_receive_time(server: LiveServer) -> None:
    _session(server, "recv")
    client = Sio(server.url)
    try:
        before = time.time()
        assert client.answer({**PRUNE, "session": "recv", "id": "r-1", "ts": 1000.0,
                              "received_ts": 5.0})[0] == "sent"
        command = server.bus.next_command("recv", timeout=2)
        assert command is not None and command.ts == 1000.0  # the client's clock, as sent
        assert command.received_ts is not None and before <= command.received_ts <= time.time()
        # the hub's own refusals (a replayed id here) record it beside sent_ts
        assert client.answer({**PRUNE, "session": "recv", "id": "r-1", "ts": 1001.0})[0] == "error"
        [rejected] = [e.data for e in server.bus.history("recv") if e.type == "command_rejected"]
        assert rejected["sent_ts"] == 1001.0 and rejected["received_ts"] >= before
    finally:
        client.close()


# --- unknown sessions and per-connection resources ---------------------------------------------


def _bogus_ids(n: int) -> list[str]:
    return [f"nope-{uuid.uuid4().hex}" for _ in range(n)]


def test_unknown_sessions_are_refused_and_cost_nothing(server: LiveServer) -> None:
    client = Sio(server.url, "websocket")  # python-socketio's polling reads 16 answers at most
    try:
        bus = server.bus
        assert isinstance(bus, MemoryBus)
        session_count = len(bus.sessions())
        state = (len(server.hub._views), len(server.hub.policy._sessions),
                 len(bus._streams), len(bus._commands))
        # warm up the transport's own buffers, then measure
        client.sio.emit("join", {"session": "warm-up", "after_seq": 0})
        client.wait(lambda: len(client.errors) == 1)
        assert client.errors[0] == "no session 'warm-up': it was never started"
        gc.collect()
        threads = threading.active_count()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            payload = "x" * 100_000
            for session in _bogus_ids(300):
                client.sio.emit("join", {"session": session, "after_seq": 0})
            for session in _bogus_ids(100):  # 100 x 0.1 MB commands: queued forever before
                client.sio.emit("command", {"type": "device_latencies", "session": session,
                                            "args": {"device": "npu", "csv": payload}})
            client.wait(lambda: len(client.errors) == 401, timeout=60)
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - base
        finally:
            tracemalloc.stop()
        assert threading.active_count() <= threads
        assert grown < 2_000_000, f"{grown:,} bytes kept for unknown sessions"
        assert all(r.startswith("no session 'nope-") for r in client.errors[1:])
        assert "start a search first" in client.errors[-1]
        assert (len(server.hub._views), len(server.hub.policy._sessions),
                len(bus._streams), len(bus._commands)) == state
        assert len(bus.sessions()) == session_count and client.sent == []
        assert client.answer({"type": "share", "session": "nope", "args": {"with": "*"}}) == (
            "error", "share: no session 'nope'")
        client.sio.emit("join", {"session": "z" * 1_000_000, "after_seq": 0})
        client.wait(lambda: len(client.errors) == 403)
        assert len(client.errors[-1]) < 100  # an id is not echoed whole
    finally:
        client.close()


def test_one_socket_follows_a_bounded_number_of_sessions(server: LiveServer) -> None:
    names = [f"many-{k}" for k in range(MAX_JOINS_PER_SOCKET + 1)]
    for name in names:
        server.bus.publish(name, CommandAck(command_id="x", command="pause", user="local"))
    client = Sio(server.url, "websocket")
    try:
        for name in names:
            client.sio.emit("join", {"session": name, "after_seq": 0})
        client.wait(lambda: len(client.errors) == 1 and len(client.events) == MAX_JOINS_PER_SOCKET)
        assert client.errors[0] == (f"this connection already follows {MAX_JOINS_PER_SOCKET} "
                                    f"sessions (the limit is {MAX_JOINS_PER_SOCKET}): open "
                                    "another connection")
        client.sio.emit("join", {"session": names[0], "after_seq": 0})  # a rejoin is no new one
        time.sleep(0.3)
        assert len(client.errors) == 1
    finally:
        client.close()
    other = Sio(server.url)  # the limit is per connection
    try:
        other.sio.emit("join", {"session": names[-1], "after_seq": 0})
        other.wait(lambda: len(other.events) == 1)
    finally:
        other.close()


# --- message size --------------------------------------------------------------------------------


def _csv(chars: int) -> str:
    """A CSV of ``chars`` characters whose JSON escaping doubles it (quotes, newlines)."""
    row = '"a|b",1.5\n'
    text = (row * (chars // len(row) + 1))[:chars]
    return text


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_messages_over_the_limit_get_a_size_error_and_the_1mb_csv_fits(
        server: LiveServer, transport: str) -> None:
    session = f"big-{transport}"
    _session(server, session, 1)
    client = Sio(server.url, transport)
    try:
        csv = _csv(1_000_000)
        assert len(json.dumps(csv)) > 1_200_000  # the old 1 MB buffer closed the socket here
        assert client.answer({"type": "device_latencies", "session": session, "id": "csv-1",
                              "args": {"device": "npu", "csv": csv}}) == ("sent", "csv-1")
        command = server.bus.next_command(session, timeout=2)
        assert command is not None and command.args["csv"] == csv
        kind, reason = client.answer({"type": "device_latencies", "session": session,
                                      "args": {"device": "npu", "csv": csv + "x"}})
        assert kind == "error" and "at most 1 MB" in reason
        kind, reason = client.answer({"type": "device_latencies", "session": session,
                                      "args": {"device": "npu", "csv": "y" * MAX_MESSAGE_CHARS}})
        assert kind == "error" and reason.startswith("message too large: ")
        assert f"the limit is {MAX_MESSAGE_CHARS:,} characters" in reason
        assert client.sio.connected  # answered, not dropped
        assert client.answer({**PRUNE, "session": session, "id": "after"}) == ("sent", "after")
        after = server.bus.next_command(session, timeout=2)
        assert after is not None and after.id == "after"
    finally:
        client.close()


def test_http_bodies_beyond_the_hard_limit_get_413_with_the_reason(server: LiveServer) -> None:
    # Only the announced length matters: the server answers before reading a byte of the body.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall((f"POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\n"
                      f"Host: 127.0.0.1:{server.port}\r\nContent-Type: text/plain\r\n"
                      f"Content-Length: {HARD_MESSAGE_BYTES + 1}\r\n\r\n").encode())
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
        reply = b"".join(chunks).decode()
    assert reply.startswith("HTTP/1.1 413 ")
    assert f"message too large: {HARD_MESSAGE_BYTES + 1:,} bytes" in reply
    assert requests.get(server.url + "/", timeout=10).status_code == 200


# --- refused commands: bounded, rate-limited, off the owner's timeline --------------------------


def _flood(lab: AuthServer, session: str, recording: Path) -> None:
    lab.session(session, "alice")
    bob = lab.client("bob")
    try:
        time.sleep(0.5)  # the recorder has the session
        size = recording.stat().st_size
        big = {"type": "device_latencies", "session": session,
               "args": {"device": "npu", "csv": "<script>alert(1)</script>," * 16_000}}
        started = time.monotonic()
        for k in range(50):
            kind, reason = answer(bob, {**big, "id": f"flood-{k}"})
            assert (kind, reason) == ("error", f"bob may not steer session {session} (owner: alice)")
        assert time.monotonic() - started < 30
        rejected = [e for e in lab.bus.history(session) if e.type == "command_rejected"]
        assert 1 <= len(rejected) <= 12  # a burst, then one every few seconds
        for event in rejected:
            assert len(json.dumps(event.to_dict())) < 1_000
            assert event.data["args"]["digest"].startswith("sha256:")
            assert event.data["unauthorized"] is True
        assert lab.bus.next_command(session) is None
        view = lab.hub.view(session)
        deadline = time.monotonic() + 5
        while view.last_seq < lab.bus.last_seq(session) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert view.last_seq == lab.bus.last_seq(session) and view.unauthorized_commands == len(rejected)
        assert not any(t.get("user") == "bob" for t in view.timeline)
        assert "<script>" not in json.dumps(list(view.timeline))
        deadline, n = time.monotonic() + 10, -1
        while n != len(rejected) and time.monotonic() < deadline:  # the recorder catches up
            time.sleep(0.1)
            with sqlite3.connect(recording) as db:
                [(n,)] = db.execute("SELECT count(*) FROM events WHERE session = ? AND "
                                    "type = 'command_rejected'", (session,))
        assert n == len(rejected)
        assert recording.stat().st_size - size < 200_000
    finally:
        bob.close()


def _recording_lab(tmp_path: Path, bus: Any, **config: Any) -> tuple[AuthServer, Any, Path]:
    from navigator.recording import Recorder, RecordingStore

    path = tmp_path / "recordings.sqlite"
    recorder = Recorder(bus, RecordingStore(path), poll_s=0.05).start()
    return AuthServer(tmp_path, bus, **config), recorder, path


def test_a_user_without_rights_cannot_flood_the_owners_recording(tmp_path: Path) -> None:
    bus = MemoryBus()
    lab, recorder, path = _recording_lab(tmp_path, bus)
    try:
        _flood(lab, "s-flood", path)
    finally:
        lab.close()
        recorder.stop()


@pytest.mark.redis
def test_a_user_without_rights_cannot_flood_the_owners_recording_on_redis(
        tmp_path: Path, redis_url: str) -> None:
    bus = make_bus(redis_url)
    lab, recorder, path = _recording_lab(tmp_path, bus, redis_url=redis_url, auth="")
    try:
        _flood(lab, f"s-flood-{uuid.uuid4().hex[:6]}", path)
    finally:
        lab.close()
        recorder.stop()
        bus.close()


# --- finding 5: DNS rebinding ------------------------------------------------------------------


def test_a_foreign_host_name_is_refused_on_loopback(server: LiveServer) -> None:
    port = server.port
    sessions = server.bus.sessions()
    evil = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
    for method, path in (("GET", "/"), ("GET", "/_dash-layout"),
                         ("POST", "/_dash-update-component"),
                         ("GET", "/socket.io/?EIO=4&transport=polling")):
        r = requests.request(method, server.url + path, headers=evil, timeout=10, json={})
        assert r.status_code == 403, (path, r.status_code)
        assert r.text.startswith(f"blocked host 'evil.example:{port}': this server listens on "
                                 "loopback")
    wrong_port = requests.get(server.url + "/", headers={"Host": f"127.0.0.1:{port + 1}"},
                              timeout=10)
    assert wrong_port.status_code == 403
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert requests.get(server.url + "/", headers={"Host": host}, timeout=10).status_code == 200
    assert server.bus.sessions() == sessions


def test_a_lab_server_with_logins_keeps_its_host_names(lab_server: AuthServer) -> None:
    port = lab_server.url.rsplit(":", 1)[1]
    r = requests.get(lab_server.url + "/login", headers={"Host": f"navigator.lab:{port}"},
                     timeout=10)
    assert r.status_code == 200  # behind a proxy or on a lab name: logins guard it


@pytest.fixture
def lab_server(tmp_path: Path) -> Iterator[AuthServer]:
    lab = AuthServer(tmp_path, MemoryBus())
    yield lab
    lab.close()


# --- finding 4 (part): sockets per login ----------------------------------------------------------


def test_sockets_per_login_are_capped_with_a_reason(tmp_path: Path) -> None:
    lab = AuthServer(tmp_path, MemoryBus(), max_sockets_per_login=3)
    clients: list[Client] = []
    try:
        cookie = lab.login("alice")
        clients = [Client(lab.url, cookie) for _ in range(3)]
        assert refusal(lab.url, cookie) == (
            "too many connections: alice already has 3 open (the limit is 3); close some tabs "
            "or scripts and reload")
        assert refusal(lab.url, lab.login("alice")).startswith("too many connections")  # per user
        clients.append(Client(lab.url, lab.login("bob")))  # others are not affected
        clients.pop(0).close()
        time.sleep(0.3)
        clients.append(Client(lab.url, cookie))  # a closed one frees its place
    finally:
        for c in clients:
            c.close()
        lab.close()


# --- templates and the relay ------------------------------------------------------------------


def _cell(n_nodes: int, ops: tuple[str, ...] = ("skip_connect", "nor_conv_3x3")) -> dict[str, Any]:
    """A cell template with ``ops`` on each of its n(n-1)/2 edges (a short document)."""
    return {"kind": "cell", "n_nodes": n_nodes, "ops": list(ops), "C": 4, "cells_per_stage": 1}


def test_a_huge_template_is_refused_in_milliseconds(server: LiveServer) -> None:
    template = _cell(1500)  # 1.1 M edges
    sessions = server.bus.sessions()
    started = time.perf_counter()
    with pytest.raises(ValueError, match="template too large"):
        server.hub.start_session({"template": template, "dataset": "digits"}, owner="local")
    assert time.perf_counter() - started < 0.05
    assert server.bus.sessions() == sessions and server.bus.next_session_request() is None
    _session(server, "edit-huge", 1)
    client = Sio(server.url)
    try:
        kind, reason = client.answer({"config": {"template": template}}, event="start")
        assert kind == "error" and "template too large" in reason
        started = time.perf_counter()
        kind, reason = client.answer({"type": "edit_template", "session": "edit-huge",
                                      "args": {"template": template}})
        assert time.perf_counter() - started < 0.5  # a socket round trip
        assert kind == "error" and reason.startswith("edit_template: template too large")
        assert server.bus.next_command("edit-huge") is None
    finally:
        client.close()


def test_the_largest_valid_template_validates_quickly() -> None:
    from supernet.configs import EngineConfig
    from supernet.templates.limits import MAX_CELL_NODES

    template = _cell(MAX_CELL_NODES)  # 66 edges, 2**66 architectures
    started = time.perf_counter()
    EngineConfig.from_dict({"template": template, "dataset": "digits"})
    assert time.perf_counter() - started < 0.5  # fine on the socket handler thread


def test_an_event_that_cannot_be_encoded_leaves_no_gap(server: LiveServer) -> None:
    s = _session(server, "unencodable", 1)
    client = StrictPoller(server.url)
    try:
        client.emit("join", {"session": "unencodable", "after_seq": 0})
        client.wait(lambda: len(client.seqs("unencodable")) == server.bus.last_seq("unencodable"))
        bad = server.bus.publish("unencodable", Space(template={}, choice_points=[],
                                                      size=10**5000))
        s.publish_candidates(2)
        total = server.bus.last_seq("unencodable")
        client.wait(lambda: client.seqs("unencodable")[-1:] == [total])
        assert client.seqs("unencodable") == list(range(1, total + 1))
        [stand_in] = [e for e in client.events if e["seq"] == bad.seq]
        assert stand_in["type"] == "error" and "could not be sent to browsers" in \
            stand_in["data"]["message"]
        s.publish_candidates(1)  # the relay thread is alive
        client.wait(lambda: client.seqs("unencodable")[-1:] == [server.bus.last_seq("unencodable")])
    finally:
        client.close()
