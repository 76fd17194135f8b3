"""navigator/auth/: users and hashed passwords, the login in front of every route and socket,
and per-session access rights enforced on the server (owner/admin steer, shared users watch),
with forged and replayed commands rejected and recorded."""

from __future__ import annotations

import io
import json
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from itsdangerous import URLSafeTimedSerializer
from werkzeug.security import generate_password_hash

from navigator.auth import SESSION_COOKIE, AuthError, UserStore, parse_env_users
from navigator.bus import EventBus, MemoryBus, make_bus
from navigator.cli import main
from navigator.config import ServerConfig, resolve
from navigator.events import SessionState
from tests.support.login import post_login, post_logout

PASSWORDS = {"alice": "alice-password", "bob": "bob-password", "carol": "carol-password",
             "root": "root-password"}
SECRET = "lab-secret-of-at-least-32-characters"


# --- user store and CLI ------------------------------------------------------------------


def test_user_store_hashes_passwords_and_verifies(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.json", env={})
    store.add_user("alice", "alice-password", "admin")
    store.add_user("bob", "bob-password")
    text = (tmp_path / "users.json").read_text()
    assert "alice-password" not in text and "bob-password" not in text  # hashes only
    hashes = json.loads(text)["users"]
    assert hashes["alice"]["password_hash"].startswith(("scrypt:", "pbkdf2:"))
    assert hashes["alice"]["role"] == "admin" and hashes["bob"]["role"] == "analyst"
    assert stat.S_IMODE((tmp_path / "users.json").stat().st_mode) == 0o600
    assert store.verify("alice", "alice-password").is_admin
    assert not store.verify("bob", "bob-password").is_admin
    for name, password in (("alice", "wrong-password"), ("nobody", "alice-password"), ("bob", "")):
        with pytest.raises(AuthError, match="wrong user name or password"):
            store.verify(name, password)
    # A second store (another process, the running server) sees the file's changes.
    assert [u.name for u in UserStore(tmp_path / "users.json", env={}).users()] == ["alice", "bob"]
    store.remove_user("bob")
    assert UserStore(tmp_path / "users.json", env={}).get("bob") is None


def test_user_store_toml_file_and_bad_input(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.toml", env={})
    store.add_user("dana@lab", "dana-password")
    again = UserStore(tmp_path / "users.toml", env={})
    assert again.verify("dana@lab", "dana-password").role == "analyst"
    with pytest.raises(AuthError, match="at least 8 characters"):
        store.add_user("eve", "short")
    with pytest.raises(AuthError, match="user name must be"):
        store.add_user("eve smith", "long-enough")
    with pytest.raises(AuthError, match="'local' is the user of the embedded default"):
        store.add_user("local", "long-enough")
    (tmp_path / "bad.json").write_text('{"users": {"x": {"role": "admin"}}}')
    with pytest.raises(AuthError, match="user 'x' needs a 'password_hash'"):
        UserStore(tmp_path / "bad.json", env={})


def test_users_from_the_environment() -> None:
    hashed = generate_password_hash("carol-password")
    users = parse_env_users(f"carol:admin:{hashed}, dave:{hashed}")
    assert (users["carol"].role, users["dave"].role) == ("admin", "analyst")
    store = UserStore(None, env={"NAVIGATOR_USERS": f"dave:{hashed}"})
    assert store.verify("dave", "carol-password").name == "dave"
    with pytest.raises(AuthError, match="must be a werkzeug hash"):
        parse_env_users("mallory:plaintext")
    with pytest.raises(AuthError, match="NAME:HASH"):
        parse_env_users("mallory")


def test_cli_users_add_list_and_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("NAVIGATOR_USERS", raising=False)
    base = ["users", "--data-dir", str(tmp_path)]
    monkeypatch.setattr("sys.stdin", io.StringIO("alice-password\n"))
    assert main([*base, "add", "alice", "--admin", "--password-stdin"]) == 0
    assert f"alice (admin) saved in {tmp_path / 'users.json'}" in capsys.readouterr().out
    assert UserStore(tmp_path / "users.json", env={}).verify("alice", "alice-password").is_admin
    assert main([*base, "list"]) == 0
    assert capsys.readouterr().out.strip() == "alice  admin"
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main([*base, "add", "bob", "--password-stdin"]) == 2
    assert "password must have at least 8 characters" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("bob-password\n"))
    assert main(["users", "hash", "--password-stdin"]) == 0
    hashed = capsys.readouterr().out.strip()
    assert UserStore(None, env={"NAVIGATOR_USERS": f"bob:{hashed}"}).verify("bob", "bob-password")


# --- configuration -----------------------------------------------------------------------


def test_auth_defaults_and_secret() -> None:
    assert resolve(ServerConfig, env={}).auth == "none"  # the embedded default: no login
    assert resolve(ServerConfig, cli={"host": "0.0.0.0"}, env={}).auth == "password"
    lab = resolve(ServerConfig, env={"NAVIGATOR_REDIS_URL": "redis://lab:6379/0",
                                     "NAVIGATOR_SECRET": SECRET, "NAVIGATOR_SESSION_HOURS": "0.5"})
    assert lab.login_required and lab.session_hours == 0.5
    assert lab.users_path == lab.data_dir / "users.json"
    with pytest.raises(ValueError, match="lab mode .* needs a session secret: set NAVIGATOR_SECRET"):
        ServerConfig(redis_url="redis://lab:6379/0")
    with pytest.raises(ValueError, match="auth must be 'none' or 'password', got 'ldap'"):
        ServerConfig(auth="ldap")
    with pytest.raises(ValueError, match="session_hours must be a positive number"):
        ServerConfig(session_hours=0)
    with pytest.raises(ValueError, match="NAVIGATOR_SESSION_HOURS: session_hours must be a number"):
        resolve(ServerConfig, env={"NAVIGATOR_SESSION_HOURS": "long"})


# --- a lab-mode server over real sockets -------------------------------------------------


class AuthServer:
    """``create_app`` in password mode on a free port, with four users (root is an admin)."""

    def __init__(self, tmp_path: Path, bus: EventBus, **config: Any) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        from navigator.wsgi import create_app

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

        self.users = UserStore(tmp_path / "users.json", env={})
        for name, password in PASSWORDS.items():
            self.users.add_user(name, password, "admin" if name == "root" else "analyst")
        self.config = ServerConfig(**{"auth": "password", "secret": SECRET, "data_dir": tmp_path,
                                      "embedded_workers": 0} | config)
        self.bus = bus
        self.app, self.socketio = create_app(self.config, bus, users=self.users)
        self.hub = self.app.server.extensions["navigator_hub"]
        self._server = make_server("127.0.0.1", 0, self.app.server, threaded=True,
                                   request_handler=Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def login(self, user: str) -> str:
        """Log in through the form; returns the signed session cookie."""
        http = requests.Session()
        r = post_login(http, self.url, user, PASSWORDS[user])
        assert r.status_code == 303 and r.headers["Location"] == "/"
        return http.cookies[SESSION_COOKIE]

    def client(self, user: str) -> Client:
        return Client(self.url, self.login(user))

    def session(self, name: str, owner: str) -> str:
        self.bus.publish(name, SessionState(state="running", owner=owner))
        return name

    def close(self) -> None:
        self._server.shutdown()
        self.hub.close()


class Client:
    """A python-socketio client with a session cookie, recording what the server sends."""

    def __init__(self, url: str, cookie: str | None) -> None:
        self.events: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.refused: list[Any] = []
        self.changed = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        for name, target in (("events", self.events), ("command_error", self.errors),
                             ("command_sent", self.sent), ("connect_error", self.refused)):
            self.sio.on(name, self._on(target))
        headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {}
        self.sio.connect(url, transports=["polling"], wait_timeout=10, headers=headers)

    def _on(self, target: list[Any]) -> Callable[[Any], None]:
        def handler(data: Any = None) -> None:
            with self.changed:
                target.extend(data) if isinstance(data, list) else target.append(data)
                self.changed.notify_all()
        return handler

    def wait(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout), "timed out waiting for the server"

    def close(self) -> None:
        self.sio.disconnect()


def refusal(url: str, cookie: str | None) -> str:
    """The reason a socket connection is refused (fails the test if it is accepted)."""
    reasons: list[Any] = []
    sio = socketio.Client(reconnection=False)
    sio.on("connect_error", lambda data=None: reasons.append(data))
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {}
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(url, transports=["polling"], wait_timeout=5, headers=headers)
    assert reasons, "no connect_error from the server"
    return reasons[0]["message"]


def rejections(bus: EventBus, session: str) -> list[dict[str, Any]]:
    return [e.data for e in bus.history(session) if e.type == "command_rejected"]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[AuthServer]:
    server = AuthServer(tmp_path, MemoryBus())
    yield server
    server.close()


PRUNE = {"type": "prune_op", "args": {"choice_point": "1<-0", "op": "none"}}


def answer(client: Client, message: dict[str, Any]) -> tuple[str, str]:
    """Send a command and wait for its answer: ("sent", id) or ("error", reason)."""
    n_sent, n_errors = len(client.sent), len(client.errors)
    client.sio.emit("command", message)
    client.wait(lambda: len(client.sent) > n_sent or len(client.errors) > n_errors)
    if len(client.errors) > n_errors:
        return "error", client.errors[-1]["reason"]
    return "sent", client.sent[-1]["id"]


def test_without_a_cookie_every_route_and_the_socket_need_a_login(lab: AuthServer) -> None:
    r = requests.get(lab.url + "/", allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/")
    r = requests.post(lab.url + "/_dash-update-component", json={}, timeout=10)
    assert r.status_code == 401 and r.json() == {"error": "login required: log in at /login"}
    assert requests.get(lab.url + "/_dash-layout", timeout=10).status_code == 401
    page = requests.get(lab.url + "/login?reason=login%20required", timeout=10)
    assert page.status_code == 200 and "login required" in page.text and 'name="password"' in page.text
    assert refusal(lab.url, None) == "login required: log in at /login"


def test_wrong_password_is_rejected_with_a_clear_message(lab: AuthServer) -> None:
    for user, password in (("alice", "bob-password"), ("mallory", "alice-password")):
        r = post_login(requests.Session(), lab.url, user, password)
        assert r.status_code == 401 and "wrong user name or password" in r.text
        assert SESSION_COOKIE not in r.cookies


def test_login_opens_pages_and_socket_and_logout_closes_them(lab: AuthServer) -> None:
    http = requests.Session()
    r = post_login(http, lab.url, "alice", "alice-password", "//evil.example/")
    assert r.status_code == 303 and r.headers["Location"] == "/"  # never off-site
    assert http.get(lab.url + "/", allow_redirects=False, timeout=10).status_code == 200
    assert http.get(lab.url + "/_dash-layout", timeout=10).status_code == 200
    client = Client(lab.url, http.cookies[SESSION_COOKIE])
    try:
        lab.session("s-own", "alice")
        client.sio.emit("join", {"session": "s-own", "after_seq": 0})
        client.wait(lambda: len(client.events) == 1)
        assert client.events[0]["data"]["owner"] == "alice"
        assert answer(client, {**PRUNE, "session": "s-own", "id": "a-1"}) == ("sent", "a-1")
        command = lab.bus.next_command("s-own", timeout=2)
        assert command is not None and command.user == "alice"
        # logout ends the login on the server: its open socket is closed, and a copy of the
        # cookie (another tab, a stolen one) no longer opens pages or sockets
        copy = http.cookies[SESSION_COOKIE]
        post_logout(http, lab.url)
        deadline = time.monotonic() + 10
        while client.sio.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not client.sio.connected, "the logged-out login's socket is still open"
        assert http.get(lab.url + "/", allow_redirects=False, timeout=10).status_code == 302
        r = requests.get(lab.url + "/", headers={"Cookie": f"{SESSION_COOKIE}={copy}"},
                         allow_redirects=False, timeout=10)
        assert r.status_code == 302 and "you%20logged%20out" in r.headers["Location"]
        assert refusal(lab.url, copy) == "you logged out: log in again"
        assert lab.bus.next_command("s-own", timeout=0.2) is None
    finally:
        client.close()


def test_expired_and_forged_cookies_are_rejected(tmp_path: Path) -> None:
    server = AuthServer(tmp_path, MemoryBus(), session_hours=1 / 3600)  # a 1-second login
    try:
        cookie = server.login("alice")
        headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
        assert requests.get(server.url + "/", headers=headers, allow_redirects=False,
                            timeout=10).status_code == 200
        time.sleep(2.2)
        r = requests.get(server.url + "/", headers=headers, allow_redirects=False, timeout=10)
        assert r.status_code == 302 and "your%20login%20expired" in r.headers["Location"]
        r = requests.post(server.url + "/_dash-update-component", json={}, headers=headers, timeout=10)
        assert r.status_code == 401 and r.json()["error"] == "your login expired: log in again"
        assert refusal(server.url, cookie) == "your login expired: log in again"
        # A cookie naming alice, signed with another secret, is not hers.
        forged = URLSafeTimedSerializer("guessed-secret", salt="cookie-session", signer_kwargs={
            "key_derivation": "hmac", "digest_method": "sha1"}).dumps({"user": "alice"})
        message = refusal(server.url, forged)
        assert message == ("login required: your session cookie is not one of this "
                           "server's (it ended long ago, or is forged)")
    finally:
        server.close()


def refreshed_cookie(server: AuthServer, user: str, login_ts: float) -> str:
    """The cookie of a login made at ``login_ts`` whose server-side session was just saved
    again (as any change to it does): a fresh record, the login time of the form post."""
    from flask import session

    app = server.app.server
    with app.test_request_context("/"):
        session.update({"_permanent": True, "_user_id": user, "login_ts": login_ts})
        response = app.response_class()
        app.session_interface.save_session(app, session, response)
        return str(session.sid)  # Flask-Session's id


def test_a_socket_expires_with_its_login_not_a_lifetime_after_connecting(tmp_path: Path) -> None:
    server = AuthServer(tmp_path, MemoryBus(), session_hours=1.0)
    try:
        server.session("s-late", "alice")
        login_ts = time.time() - 3600 + 1.5  # the login has 1.5 s left
        late = Client(server.url, refreshed_cookie(server, "alice", login_ts))
        try:
            assert answer(late, {**PRUNE, "session": "s-late", "id": "l-1"}) == ("sent", "l-1")
            time.sleep(max(0.0, login_ts + 3600 - time.time()) + 0.2)
            assert answer(late, {**PRUNE, "session": "s-late", "id": "l-2"}) == (
                "error", "your login expired: log in again")
        finally:
            late.close()
        stale = refreshed_cookie(server, "alice", time.time() - 3601)
        assert refusal(server.url, stale) == "your login expired: log in again"
    finally:
        server.close()


def test_pages_expire_with_the_login_even_when_the_cookie_was_just_refreshed(
        tmp_path: Path) -> None:
    """Flask re-signs the cookie on every response; the login time still ends the login, so
    pages and sockets agree (no page that loads but whose socket is refused)."""
    server = AuthServer(tmp_path, MemoryBus(), session_hours=1.0)
    try:
        fresh = refreshed_cookie(server, "alice", time.time() - 60)
        stale = refreshed_cookie(server, "alice", time.time() - 3601)
        page = lambda cookie: requests.get(server.url + "/", headers={  # noqa: E731
            "Cookie": f"{SESSION_COOKIE}={cookie}"}, allow_redirects=False, timeout=10)
        assert page(fresh).status_code == 200
        r = page(stale)
        assert r.status_code == 302 and "your%20login%20expired" in r.headers["Location"]
        r = requests.post(server.url + "/_dash-update-component", json={}, timeout=10,
                          headers={"Cookie": f"{SESSION_COOKIE}={stale}"})
        assert r.status_code == 401 and r.json()["error"] == "your login expired: log in again"
    finally:
        server.close()


def test_another_users_command_is_rejected_and_recorded(lab: AuthServer) -> None:
    lab.session("s-alice", "alice")
    bob = lab.client("bob")
    try:
        kind, reason = answer(bob, {**PRUNE, "session": "s-alice", "id": "b-1"})
        assert (kind, reason) == ("error", "bob may not steer session s-alice (owner: alice)")
        assert lab.bus.next_command("s-alice", timeout=0.2) is None  # nothing reached a worker
        [rejected] = rejections(lab.bus, "s-alice")
        assert (rejected["user"], rejected["command"], rejected["command_id"]) == ("bob", "prune_op", "b-1")
        assert rejected["reason"] == reason
        bob.sio.emit("join", {"session": "s-alice", "after_seq": 0})  # not shared: no watching either
        bob.wait(lambda: len(bob.errors) == 2)
        assert bob.errors[-1]["reason"].startswith("bob may not watch session s-alice (owner: alice")
        assert bob.events == []
    finally:
        bob.close()


def test_shared_session_can_be_watched_but_not_steered(lab: AuthServer) -> None:
    lab.session("s-shared", "alice")
    alice, bob, carol, root = (lab.client(u) for u in ("alice", "bob", "carol", "root"))
    try:
        assert answer(bob, {"type": "share", "session": "s-shared", "args": {"with": ["bob"]}}) == (
            "error", "bob may not share session s-shared (owner: alice)")
        assert answer(alice, {"type": "share", "session": "s-shared", "id": "sh-1",
                              "args": {"with": ["bob"]}}) == ("sent", "sh-1")
        [ack] = [e.data for e in lab.bus.history("s-shared") if e.type == "command_ack"]
        assert (ack["command"], ack["user"], ack["args"]) == ("share", "alice", {"with": ["bob"]})
        bob.sio.emit("join", {"session": "s-shared", "after_seq": 0})
        bob.wait(lambda: any(e["type"] == "command_ack" for e in bob.events))
        kind, reason = answer(bob, {**PRUNE, "session": "s-shared"})
        assert (kind, reason) == ("error", "bob may not steer session s-shared (owner: alice)")
        carol.sio.emit("join", {"session": "s-shared", "after_seq": 0})
        carol.wait(lambda: len(carol.errors) == 1)
        assert "carol may not watch session s-shared" in carol.errors[0]["reason"]
        assert answer(root, {**PRUNE, "session": "s-shared", "id": "r-1"}) == ("sent", "r-1")  # admin
        assert answer(alice, {"type": "share", "session": "s-shared", "args": {"with": "*"}})[0] == "sent"
        carol.sio.emit("join", {"session": "s-shared", "after_seq": 0})
        carol.wait(lambda: len(carol.events) > 0)
        assert lab.hub.policy.access("s-shared").everyone
    finally:
        for c in (alice, bob, carol, root):
            c.close()


def test_forged_user_and_replayed_id_are_rejected_and_recorded(lab: AuthServer) -> None:
    lab.session("s-forge", "alice")
    alice, bob = lab.client("alice"), lab.client("bob")
    try:
        kind, reason = answer(bob, {**PRUNE, "session": "s-forge", "user": "alice", "id": "f-1"})
        assert kind == "error"
        assert reason == "forged command: it claims user 'alice' but bob sent it"
        assert answer(alice, {**PRUNE, "session": "s-forge", "id": "c-1"}) == ("sent", "c-1")
        assert answer(alice, {**PRUNE, "session": "s-forge", "id": "c-1"}) == (
            "error", "duplicate command id 'c-1' for session s-forge: a replayed command is not "
                     "applied twice")
        assert answer(bob, {**PRUNE, "session": "s-forge", "id": "c-1"}) == (
            "error", "bob may not steer session s-forge (owner: alice)")  # replayed by another user
        assert [(r["user"], r["command_id"], r["reason"].split(":")[0]) for r in
                rejections(lab.bus, "s-forge")] == [
            ("bob", "f-1", "forged command"), ("alice", "c-1", "duplicate command id 'c-1' for session s-forge"),
            ("bob", "c-1", "bob may not steer session s-forge (owner")]
        assert lab.bus.next_command("s-forge", timeout=1).id == "c-1"
        assert lab.bus.next_command("s-forge", timeout=0.2) is None  # only once
    finally:
        alice.close()
        bob.close()


def test_dash_callbacks_act_as_the_logged_in_user(lab: AuthServer) -> None:
    """``send_command`` (every Dash control) and the session picker use the request's login."""
    from flask import session

    from frontend.callbacks import send_command

    lab.session("s-dash", "alice")
    lab.session("s-other", "carol")
    with lab.app.server.test_request_context("/_dash-update-component", method="POST"):
        session["_user_id"], session["login_ts"] = "bob", time.time()
        assert send_command(lab.hub, "s-dash", "pause") == (
            "not sent: bob may not steer session s-dash (owner: alice)")
        assert lab.hub.sessions() == []
    with lab.app.server.test_request_context("/_dash-update-component", method="POST"):
        session["_user_id"], session["login_ts"] = "alice", time.time()
        assert send_command(lab.hub, "s-dash", "pause") == "sent pause"
        assert lab.hub.sessions() == ["s-dash"]
    assert [r["user"] for r in rejections(lab.bus, "s-dash")] == ["bob"]
    assert lab.bus.next_command("s-dash", timeout=1).user == "alice"


@pytest.mark.redis
def test_lab_mode_on_redis_records_the_rejection(tmp_path: Path, redis_url: str) -> None:
    from navigator.recording import Recorder, RecordingStore

    bus = make_bus(redis_url)
    store = RecordingStore(tmp_path / "recordings.sqlite")
    recorder = Recorder(bus, store, poll_s=0.1).start()
    server = AuthServer(tmp_path, bus, redis_url=redis_url, auth="")  # lab mode picks the login
    try:
        assert server.config.login_required and server.config.lab_mode
        assert refusal(server.url, None) == "login required: log in at /login"
        session = server.session("s-redis-auth", "alice")
        bob = server.client("bob")
        try:
            assert answer(bob, {**PRUNE, "session": session, "id": "rb-1"}) == (
                "error", f"bob may not steer session {session} (owner: alice)")
        finally:
            bob.close()
        deadline = time.monotonic() + 10
        while not store.actions(session) and time.monotonic() < deadline:
            time.sleep(0.1)
        [action] = store.actions(session)
        assert (action["user"], action["outcome"], action["command_id"]) == ("bob", "rejected", "rb-1")
        assert action["reason"] == f"bob may not steer session {session} (owner: alice)"
    finally:
        server.close()
        recorder.stop()
        bus.close()


@pytest.mark.browser
def test_browser_logs_in_and_starts_a_search_it_owns(tmp_path: Path, chromium_path: str) -> None:
    """The whole Dash app behind the login: form, cookie on every Dash request and the socket."""
    from playwright.sync_api import sync_playwright

    from frontend import ids
    from tests.conftest import CHROMIUM_ARGS
    from tests.support.synthetic import SyntheticWorker

    server = AuthServer(tmp_path, MemoryBus())
    worker = SyntheticWorker(server.bus, candidates_on_start=5).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(server.url + "/")
            assert "/login" in page.url and "login required" in page.text_content("#message")
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", "wrong-password")
            page.click("input[type=submit]")
            assert "wrong user name or password" in page.text_content("#message")
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", "alice-password")
            page.click("input[type=submit]")
            page.wait_for_function(f"() => document.getElementById('{ids.CONNECTION}')"
                                   "?.textContent === 'live'")
            page.click(f"#{ids.START}")
            page.wait_for_function(f"() => document.getElementById('{ids.SESSION_STATE}')"
                                   ".textContent.includes('running')")
            session = page.text_content(f"#{ids.SESSION_STATE}").split(" ")[0]
            assert server.hub.policy.access(session).owner == "alice"
            page.fill(f"#{ids.SHARE_WITH}", "bob, carol")
            page.click(f"#{ids.SHARE}")
            page.wait_for_function(f"() => document.getElementById('{ids.SHARE_STATUS}')"
                                   ".textContent === 'read-only for bob, carol'")
            assert server.hub.policy.access(session).shared() == ["bob", "carol"]
            browser.close()
    finally:
        worker.stop()
        server.close()
