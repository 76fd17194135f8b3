"""Attacks on the login, each reproduced against the real server (embedded, and lab mode
with gunicorn + Redis): password guessing, login CSRF, logout from a foreign page, a
logged-out cookie after a restart, a cookie forged with the server secret, user-name probing
through shares, and the secret leaking into files or to workers."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import generate_password_hash

from navigator.auth import SESSION_COOKIE
from navigator.bus import MemoryBus
from navigator.cli import main
from navigator.recording import Recorder, RecordingStore
from tests.navigator.test_auth import PASSWORDS, SECRET, AuthServer, Client, answer, refusal
from tests.navigator.test_wsgi import gunicorn, lab_env
from tests.support.login import csrf_token, post_login, post_logout

FORM_EXPIRED = "this form expired or was sent from another site: nothing was done"
TOO_MANY = "too many failed logins from this address or for this user: try again in"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[AuthServer]:
    server = AuthServer(tmp_path, MemoryBus())
    yield server
    server.close()


def page_status(url: str, cookie: str) -> int:
    return requests.get(url + "/", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"},
                        allow_redirects=False, timeout=10).status_code


def test_password_guessing_is_limited_per_user_and_per_address(lab: AuthServer) -> None:
    for i in range(10):
        r = post_login(requests.Session(), lab.url, "alice", f"guess-{i}")
        assert r.status_code == 401 and "wrong user name or password" in r.text
    # the 11th try is refused before the password is checked, even the right one
    for password in ("guess-10", PASSWORDS["alice"]):
        http = requests.Session()
        r = post_login(http, lab.url, "alice", password)
        assert r.status_code == 429 and TOO_MANY in r.text and 'name="password"' in r.text
        assert page_status(lab.url, http.cookies[SESSION_COOKIE]) == 302  # not logged in
    assert post_login(requests.Session(), lab.url, "bob", PASSWORDS["bob"]).status_code == 303
    # 30 failures from one address lock it for every name
    for i in range(20):
        assert post_login(requests.Session(), lab.url, f"user{i}", "guess").status_code == 401
    r = post_login(requests.Session(), lab.url, "carol", PASSWORDS["carol"])
    assert r.status_code == 429 and TOO_MANY in r.text


def test_a_login_form_posted_from_another_site_is_refused(lab: AuthServer) -> None:
    """Login CSRF: a foreign page makes the victim's browser log in as the attacker."""
    attacker = requests.Session()
    token = csrf_token(attacker, lab.url)  # a token of the attacker's own session
    for data in ({}, {"csrf_token": token}, {"csrf_token": "forged"}):
        victim = requests.Session()
        r = victim.post(lab.url + "/login", timeout=10, allow_redirects=False,
                        headers={"Origin": "http://evil.example"},
                        data={"username": "bob", "password": PASSWORDS["bob"], "next": "/"} | data)
        assert r.status_code == 400 and FORM_EXPIRED in r.text
        assert page_status(lab.url, victim.cookies.get(SESSION_COOKIE, "none")) == 302


def test_the_login_page_shows_no_text_from_the_link(lab: AuthServer) -> None:
    r = requests.get(lab.url + "/login?reason=call%20555-0100%20to%20unlock", timeout=10)
    assert "555" not in r.text and "login required: log in at /login" in r.text


def test_logout_needs_the_form_of_this_site(lab: AuthServer) -> None:
    http = requests.Session()
    assert post_login(http, lab.url, "alice", PASSWORDS["alice"]).status_code == 303
    cookie = http.cookies[SESSION_COOKIE]
    # <img src="/logout"> on any page: shows the button, ends nothing
    r = http.get(lab.url + "/logout", timeout=10)
    assert r.status_code == 200 and "logged in as alice" in r.text and 'value="Log out"' in r.text
    r = http.post(lab.url + "/logout", timeout=10, headers={"Origin": "http://evil.example"})
    assert r.status_code == 400 and FORM_EXPIRED in r.text
    assert page_status(lab.url, cookie) == 200
    assert post_logout(http, lab.url).status_code == 200
    assert page_status(lab.url, cookie) == 302


def test_cookie_flags(tmp_path: Path) -> None:
    """HttpOnly and SameSite=Lax always; Secure when configured (else per request: HTTPS)."""
    for secure in (True, None):
        server = AuthServer(tmp_path / str(secure), MemoryBus(), cookie_secure=secure)
        try:
            flags = requests.get(server.url + "/login", timeout=10).headers["Set-Cookie"].lower()
            assert ("; secure" in flags) is bool(secure)
            assert "httponly" in flags and "samesite=lax" in flags
        finally:
            server.close()


def test_a_cookie_forged_with_the_server_secret_is_refused(lab: AuthServer) -> None:
    """The attack of a leaked secret: with the login kept on the server, the cookie is only a
    random id, so signing one for root with the real secret opens nothing."""
    app = lab.app.server
    forged = SecureCookieSessionInterface().get_signing_serializer(app).dumps(  # type: ignore[union-attr]
        {"_permanent": True, "_user_id": "root", "user": "root", "login_ts": time.time(),
         "login_id": "x"})
    assert app.secret_key == SECRET
    assert page_status(lab.url, forged) == 302
    r = requests.post(lab.url + "/_dash-update-component", json={}, timeout=10,
                      headers={"Cookie": f"{SESSION_COOKIE}={forged}"})
    assert r.status_code == 401 and "not one of this server's" in r.json()["error"]
    assert "not one of this server's" in refusal(lab.url, forged)


def test_a_logged_out_cookie_stays_refused_after_a_restart(tmp_path: Path) -> None:
    first = AuthServer(tmp_path, MemoryBus())
    try:
        kept, ended = first.login("alice"), requests.Session()
        assert post_login(ended, first.url, "bob", PASSWORDS["bob"]).status_code == 303
        copy = ended.cookies[SESSION_COOKIE]
        assert post_logout(ended, first.url).status_code == 200
    finally:
        first.close()
    second = AuthServer(tmp_path, MemoryBus())  # the web process restarted
    try:
        assert page_status(second.url, kept) == 200  # a login survives a restart ...
        r = requests.get(second.url + "/", headers={"Cookie": f"{SESSION_COOKIE}={copy}"},
                         allow_redirects=False, timeout=10)
        assert r.status_code == 302 and "you%20logged%20out" in r.headers["Location"]  # ... a logout too
        assert refusal(second.url, copy) == "you logged out: log in again"
    finally:
        second.close()
    logins = tmp_path / "logins"
    assert stat.S_IMODE(logins.stat().st_mode) == 0o700
    files = [p for p in logins.rglob("*") if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)


@pytest.mark.redis
def test_lab_mode_keeps_logins_and_counts_in_redis_across_a_restart(tmp_path: Path,
                                                                    redis_url: str) -> None:
    import redis

    users = ",".join(f"{u}:{generate_password_hash(p, method='pbkdf2:sha256:1000')}"
                     for u, p in PASSWORDS.items())
    env = lab_env(tmp_path, REDIS_URL=redis_url, NAVIGATOR_SECRET=SECRET, NAVIGATOR_USERS=users)
    http = requests.Session()
    with gunicorn(env) as url:
        # behind a TLS proxy (which gunicorn trusts on loopback) the cookie is Secure
        for proto, secure in (("https", True), ("http", False)):
            r = requests.get(url + "/login", headers={"X-Forwarded-Proto": proto}, timeout=10)
            flags = r.headers["Set-Cookie"].lower()
            assert ("; secure" in flags) is secure and "httponly" in flags and "samesite=lax" in flags
        visitor = requests.Session()
        csrf_token(visitor, url)  # anyone may open the login form: its session is short-lived
        client = redis.Redis.from_url(redis_url)
        assert 0 < client.ttl(f"navigator:session:{visitor.cookies[SESSION_COOKIE]}") <= 3600
        assert post_login(http, url, "alice", PASSWORDS["alice"]).status_code == 303
        copy = http.cookies[SESSION_COOKIE]
        assert client.ttl(f"navigator:session:{copy}") > 12 * 3600  # the login's, and a notice
        for i in range(10):  # a name nobody has: other tests on this Redis log in meanwhile
            assert post_login(requests.Session(), url, "mallory", f"guess-{i}").status_code == 401
        assert post_logout(http, url).status_code == 200
    stored = [client.get(key) or b"" for key in client.keys("navigator:session:*")]
    assert stored and not [value for value in stored if SECRET.encode() in value]
    with gunicorn(env) as url:
        r = requests.get(url + "/", headers={"Cookie": f"{SESSION_COOKIE}={copy}"},
                         allow_redirects=False, timeout=10)
        assert r.status_code == 302 and "you%20logged%20out" in r.headers["Location"]
        try:
            r = post_login(requests.Session(), url, "mallory", "guess-10")
            assert r.status_code == 429 and TOO_MANY in r.text  # the count survived the restart
        finally:
            for key in client.scan_iter("*navigator:login*"):  # this address may log in again
                client.delete(key)


def test_sharing_does_not_tell_an_analyst_which_user_names_exist(lab: AuthServer) -> None:
    lab.session("s-probe", "alice")
    alice, root = lab.client("alice"), lab.client("root")
    try:
        for names in (["bob"], ["zed"], ["bob", "zed"]):
            kind, _ = answer(alice, {"type": "share", "session": "s-probe", "args": {"with": names}})
            assert kind == "sent"
        details = [e.data["detail"] for e in lab.bus.history("s-probe") if e.type == "command_ack"]
        assert details == ["read-only for bob", "read-only for zed", "read-only for bob, zed"]
        # an admin, who may list the users anyway, is told about a typo
        assert answer(root, {"type": "share", "session": "s-probe", "args": {"with": ["zed"]}}) == (
            "error", "share: unknown user(s) ['zed']")
        kind, reason = answer(alice, {"type": "share", "session": "s-probe",
                                      "args": {"with": ["x" * 10_000]}})
        assert kind == "error" and reason.startswith("share: at most 500 user names")
        assert len(reason) < 200
    finally:
        alice.close()
        root.close()


def test_the_secret_is_written_nowhere(tmp_path: Path) -> None:
    """Logins, a search, steering, a refused command and a logout: neither the recording,
    the events nor the login store hold the secret."""
    from tests.support.synthetic import SyntheticWorker

    bus = MemoryBus()
    store = RecordingStore(tmp_path / "recordings.sqlite")
    recorder = Recorder(bus, store, poll_s=0.05).start()
    server = AuthServer(tmp_path, bus)
    worker = SyntheticWorker(bus, candidates_on_start=3).start()
    http = requests.Session()
    try:
        assert post_login(http, server.url, "alice", PASSWORDS["alice"]).status_code == 303
        alice, bob = Client(server.url, http.cookies[SESSION_COOKIE]), server.client("bob")
        try:
            alice.sio.emit("start", {"config": {}})
            deadline = time.monotonic() + 10
            while not bus.sessions() and time.monotonic() < deadline:
                time.sleep(0.05)
            [session] = bus.sessions()
            prune = {"type": "prune_op", "session": session,
                     "args": {"choice_point": "1<-0", "op": "none"}}
            assert answer(alice, prune)[0] == "sent"
            assert answer(bob, prune)[0] == "error"
        finally:
            alice.close()
            bob.close()
        assert post_logout(http, server.url).status_code == 200
        deadline = time.monotonic() + 10
        while not store.actions(session) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.actions(session)
    finally:
        worker.stop()
        server.close()
        recorder.stop()
        store.close()
    events = json.dumps([e.data for s in bus.sessions() for e in bus.history(s)])
    assert SECRET not in events
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "recordings.sqlite" for p in files)
    assert [p for p in files if SECRET.encode() in p.read_bytes()] == []


def test_a_lab_worker_refuses_to_hold_the_secret(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NAVIGATOR_SECRET", SECRET)
    assert main(["worker", "--redis", "redis://127.0.0.1:1/0"]) == 2  # refused before connecting
    err = capsys.readouterr().err
    assert "NAVIGATOR_SECRET is set in this worker's environment: a worker never needs it" in err
    assert "env -u NAVIGATOR_SECRET navigator worker" in err and SECRET not in err
