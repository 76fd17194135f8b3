"""Load benchmark of the lab web process: N logged-in watchers of one session, over Redis.

The lab web as the Procfile runs it (``gunicorn -k gevent -w 1 --worker-connections 4000
'navigator.wsgi:lab_app()'``:
the real app factory, logins, Redis, the recorder) on a free loopback port. Each of N
users, a distinct login (``u0`` .. ``u<N-1>``, analysts; log-ins through the real login
form, so the per-login socket cap applies as deployed: one socket each), watches the same
session, which its owner ``u0`` has shared with everyone: ``u0`` is a python-socketio client
that steers (a ``focus`` command about once a second), the others are plain Socket.IO
clients over websockets, as browsers connect, all read by one thread of this process. A
synthetic publisher in this process feeds the session through Redis at ``--rate``
progress events/s (the most frequent type a worker publishes) and acknowledges commands
the way a worker does; a real worker would measure training, not delivery. All the while a
probe asks for the login page (``GET /login``, no cookie) every 0.25 s: with a thread per
socket, ~100 open sockets left it unanswered.

Per N in 1, 10, 100, 1000, over ``--seconds`` (bounded; 10 s by default):

- delivered events/s: events received by all watchers together, per second;
  ``delivery_ratio`` compares that with what was published times N (1.0 = nothing lost);
- p50 (median) / p95 delivery latency: publish timestamp -> watcher receive (the same
  clock, loopback only). Progress events are relayed in batches every 0.3 s by design
  (``navigator/hub.py``), so that figure is mostly the batching; command round trips
  (emit -> ``command_ack`` back to ``u0``) show the latency of a steering action;
- the login page: requests, answered (HTTP 200), p50 / p95 / max response time;
- commands sent and acknowledged, and errors (refused connections, socket errors,
  out-of-order or lost events, unacknowledged commands, unanswered login pages).

N=1 is the baseline of the same run: ``ratios`` give each N's latencies over it. Prints
human-readable lines, then one JSON object as the last line. An unreachable Redis is an
error (exit status 2), not a skipped run.

    python -m benchmarks.load --json [--quick] [--redis redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

CLIENTS = (1, 10, 100, 1000)
QUICK_CLIENTS = (1, 2)
ROOT = Path(__file__).resolve().parents[1]
WORKER_CONNECTIONS = 4000  # as the Procfile: gunicorn's default 1000 queues the 1001st client
DRAIN_S = 3.0  # after the clock stops: the most to wait for in-flight batches and acks
PASSWORD = "load-benchmark"
PROBE_EVERY_S = 0.25
LOGIN_TIMEOUT_S = 5.0  # a login page slower than this counts as unanswered
FOCUS = ["|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|"
         "skip_connect~2|"]


def _percentile(values: Sequence[float], q: int) -> float | None:
    """The q-th percentile rounded to 0.1; None (JSON null, never NaN) without values."""
    if len(values) < 2:
        return round(values[0], 1) if values else None
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


class _Feed:
    """What one client saw of the session: seq order, progress latencies, acks, errors."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.received = 0
        self.acks = 0
        self.last_seq = 0
        self.errors: list[str] = []

    def take(self, batch: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
        """Fold a batch of events; returns its command acks."""
        acks = []
        for event in batch:
            if event["seq"] <= self.last_seq:
                self.errors.append(f"seq {event['seq']} after {self.last_seq}")
            self.last_seq = event["seq"]
            if event["type"] == "train_progress":
                self.received += 1
                self.latencies.append(now - event["ts"])
            elif event["type"] == "command_ack" and event["data"]["command"] == "focus":
                self.acks += 1
                acks.append(event)
        return acks


class _Steerer:
    """The session's owner: a python-socketio client sending a steering command per second."""

    def __init__(self, url: str, cookie: str, session: str) -> None:
        import socketio

        self.session = session
        self.feed = _Feed()
        self.round_trips: list[float] = []
        self.sent: dict[str, float] = {}
        self._lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("events", self._on_events)
        self.sio.on("command_error", lambda d: self.feed.errors.append(str(d.get("reason"))))
        refused: list[str] = []
        self.sio.on("connect_error", lambda data: refused.append(str(data)))
        try:
            self.sio.connect(url, headers={"Cookie": cookie}, transports=["websocket"],
                             wait_timeout=10)
        except socketio.exceptions.ConnectionError as exc:
            raise ConnectionError(f"the steering client {session} was refused: {exc} "
                                  f"{refused}") from None
        self.sio.emit("join", {"session": session, "after_seq": 0})

    def _on_events(self, batch: list[dict[str, Any]]) -> None:
        now = time.time()
        with self._lock:
            for ack in self.feed.take(batch, now):
                sent = self.sent.pop(ack["data"]["command_id"], None)
                if sent is not None:
                    self.round_trips.append(now - sent)

    def steer(self) -> None:
        command_id = uuid.uuid4().hex
        with self._lock:
            self.sent[command_id] = time.time()
        self.sio.emit("command", {"type": "focus", "session": self.session, "id": command_id,
                                  "args": {"archs": FOCUS}})

    def close(self) -> None:
        self.sio.disconnect()


class _Watchers:
    """Socket.IO clients over websockets (engine.io v4 framing by hand), all read by one
    thread: a thread per client would measure this process, not the server."""

    def __init__(self, url: str, cookies: Sequence[str], session: str, errors: list[str]) -> None:
        import websocket

        self.feeds: list[_Feed] = []
        self._sockets: list[Any] = []
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        join = "42" + json.dumps(["join", {"session": session, "after_seq": 0}])
        for cookie in cookies:
            try:
                ws = websocket.create_connection(ws_url, timeout=10, cookie=cookie,
                                                 origin=url)
                if not ws.recv().startswith("0"):
                    raise ConnectionError("no engine.io open packet")
                ws.send("40")
                answer = ws.recv()
                if not answer.startswith("40"):
                    raise ConnectionError(f"socket refused: {answer[:200]}")
                ws.send(join)
            except Exception as exc:  # noqa: BLE001 - a refused connection is a result
                errors.append(f"connect watcher {len(self._sockets) + 1}: {exc}")
                break
            self._selector.register(ws.sock, selectors.EVENT_READ, (ws, len(self.feeds)))
            self._sockets.append(ws)
            self.feeds.append(_Feed())
        self._thread = threading.Thread(target=self._read, name="watchers", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.1):
                ws, i = key.data
                feed = self.feeds[i]
                try:
                    message = ws.recv()
                except Exception as exc:  # noqa: BLE001
                    feed.errors.append(f"socket closed: {exc}")
                    self._selector.unregister(key.fileobj)
                    continue
                if message == "2":
                    ws.send("3")  # engine.io ping -> pong
                elif message.startswith("42"):
                    name, data = json.loads(message[2:])[:2]
                    if name == "events":
                        feed.take(data, time.time())
                    elif name == "command_error":
                        feed.errors.append(str(data.get("reason")))
                elif message.startswith(("41", "44")):
                    feed.errors.append(f"disconnected by the server: {message[:200]}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for ws in self._sockets:
            ws.shutdown()  # no close handshake to wait for: the server sees the socket end
        self._selector.close()


class _LoginProbe:
    """``GET /login`` every PROBE_EVERY_S s, as someone arriving at the lab page would."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.times: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="login-probe", daemon=True)

    def start(self) -> _LoginProbe:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.perf_counter()
            try:
                r = requests.get(self.url + "/login", timeout=LOGIN_TIMEOUT_S)
                if r.status_code == 200 and 'name="password"' in r.text:
                    self.times.append(time.perf_counter() - began)
                else:
                    self.failures.append(f"login page: HTTP {r.status_code}")
            except requests.RequestException as exc:
                self.failures.append(f"login page: {type(exc).__name__}")
            self._stop.wait(max(PROBE_EVERY_S - (time.perf_counter() - began), 0.0))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(LOGIN_TIMEOUT_S + 1)


def _log_in(url: str, name: str) -> str:
    """The Cookie header of a fresh login of ``name`` through the login form."""
    with requests.Session() as http:
        page = http.get(url + "/login", timeout=30)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if token is None:
            raise RuntimeError(f"no CSRF token on the login page: {page.text[:300]}")
        r = http.post(url + "/login", data={"username": name, "password": PASSWORD,
                                            "csrf_token": token.group(1), "next": "/"},
                      headers={"Origin": url, "Referer": url + "/login"},
                      allow_redirects=False, timeout=30)
        if r.status_code != 303:
            raise RuntimeError(f"login of {name} failed: HTTP {r.status_code} {r.text[:300]}")
        return "; ".join(f"{k}={v}" for k, v in http.cookies.get_dict().items())


def _create_session(bus: Any, owner: str) -> str:
    """A session that exists (a state event) and that its owner shared with every login."""
    from navigator.events import CommandAck, SessionState

    session = f"load-{uuid.uuid4().hex[:8]}"
    bus.publish(session, SessionState(state="running", message="load benchmark", owner=owner))
    bus.publish(session, CommandAck(command_id=uuid.uuid4().hex, command="share", user=owner,
                                    args={"with": "*"}, sent_ts=time.time(),
                                    detail="shared with everyone"))
    bus.flush()  # publishing is asynchronous: in Redis before the web is asked about it
    return session


def _publish(bus: Any, session: str, rate: float, stop: threading.Event,
             counts: dict[str, int]) -> None:
    """Every 1/rate s: one progress event, and acks for any pending command."""
    from navigator.events import CommandAck, TrainProgressEvent

    start = time.perf_counter()
    tick = 0
    while not stop.is_set():
        bus.publish(session, TrainProgressEvent(
            epoch=0, epochs=10, step=tick, steps_per_epoch=100, loss=2.3, accuracy=0.1,
            samples_per_s=1500.0, eta_s=12.5))
        counts["progress"] += 1
        command = bus.next_command(session)
        while command is not None:
            bus.publish(session, CommandAck(command_id=command.id, command=command.type,
                                            user=command.user, args=command.args,
                                            sent_ts=command.ts, detail="load benchmark"))
            counts["acks"] += 1
            command = bus.next_command(session)
        tick += 1
        delay = start + tick / rate - time.perf_counter()
        if delay > 0:
            stop.wait(delay)


def _steer_for(steerer: _Steerer, seconds: float, errors: list[str]) -> float:
    """The owner steers once a second until ``seconds`` are up; returns the time taken."""
    start = time.perf_counter()
    next_steer = start + 0.5
    while time.perf_counter() - start < seconds:
        if time.perf_counter() >= next_steer:
            try:
                steerer.steer()
            except Exception as exc:  # noqa: BLE001
                errors.append(f"emit: {exc}")
            next_steer += 1.0
        time.sleep(0.02)
    return time.perf_counter() - start


def _drain(feeds: list[_Feed], steerer: _Steerer, counts: dict[str, int]) -> None:
    """Wait (at most DRAIN_S) until every published event and every ack has arrived."""
    deadline = time.monotonic() + DRAIN_S
    while time.monotonic() < deadline:
        if all(f.received >= counts["progress"] and f.acks >= counts["acks"] for f in feeds) \
                and not steerer.sent:
            return
        time.sleep(0.05)


def run_clients(url: str, bus: Any, cookies: Sequence[str], n: int, seconds: float,
                rate: float) -> dict[str, Any]:
    session = _create_session(bus, "u0")
    errors: list[str] = []
    began = time.perf_counter()
    steerer = _Steerer(url, cookies[0], session)
    watchers = _Watchers(url, cookies[1:n], session, errors)
    connect_s = time.perf_counter() - began
    time.sleep(0.5)  # joins settle before the clock starts
    counts = {"progress": 0, "acks": 0}
    stop = threading.Event()
    publisher = threading.Thread(target=_publish, args=(bus, session, rate, stop, counts),
                                 daemon=True)
    probe = _LoginProbe(url).start()
    publisher.start()
    elapsed = _steer_for(steerer, seconds, errors)
    stop.set()
    publisher.join(5)
    feeds = [steerer.feed, *watchers.feeds]
    _drain(feeds, steerer, counts)
    probe.stop()
    watchers.close()
    steerer.close()
    return _summary(n, feeds, steerer, counts, elapsed, rate, errors, probe, connect_s)


def _summary(n: int, feeds: list[_Feed], steerer: _Steerer, counts: dict[str, int],
             elapsed: float, rate: float, errors: list[str], probe: _LoginProbe,
             connect_s: float) -> dict[str, Any]:
    published = counts["progress"] * n
    received = sum(f.received for f in feeds)
    latencies = [x * 1000 for f in feeds for x in f.latencies]
    round_trips = [x * 1000 for x in steerer.round_trips]
    acked = len(steerer.round_trips)
    sent = acked + len(steerer.sent)
    errors = errors + [e for f in feeds for e in f.errors] + probe.failures
    if len(feeds) < n:
        errors.append(f"{n - len(feeds)} of {n} watchers could not connect")
    if received < published:
        errors.append(f"{published - received} of {published} events not delivered")
    if acked < sent:
        errors.append(f"{sent - acked} of {sent} commands not acknowledged")
    login = [x * 1000 for x in probe.times]
    return {"clients": n, "watchers_connected": len(feeds), "seconds": round(elapsed, 2),
            "connect_s": round(connect_s, 2), "rate_per_session": rate,
            "published": published, "delivered": received,
            "delivered_events_per_s": round(received / elapsed, 1),
            "delivery_ratio": round(received / published, 4) if published else 0.0,
            "latency_p50_ms": _percentile(latencies, 50),
            "latency_p95_ms": _percentile(latencies, 95),
            "commands_sent": sent, "commands_acked": acked,
            "command_rtt_p50_ms": _percentile(round_trips, 50),
            "command_rtt_p95_ms": _percentile(round_trips, 95),
            "login_requests": len(probe.times) + len(probe.failures),
            "login_answered": len(probe.times),
            "login_p50_ms": _percentile(login, 50),
            "login_p95_ms": _percentile(login, 95),
            "login_max_ms": round(max(login), 1) if login else None,
            "errors": len(errors), "error_samples": errors[:5]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_users(data_dir: Path, n: int) -> None:
    """``u0`` .. ``u<n-1>``, analysts, one password (a one-round pbkdf2 hash: the benchmark
    measures sockets, not password hashing)."""
    from werkzeug.security import generate_password_hash

    hashed = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
    users = {f"u{i}": {"password_hash": hashed, "role": "analyst"} for i in range(n)}
    path = data_dir / "users.json"
    path.write_text(json.dumps({"users": users}))
    path.chmod(0o600)


class WebProcess:
    """``gunicorn -k gevent -w 1 'navigator.wsgi:lab_app()'``, the Procfile's web, on loopback."""

    def __init__(self, redis_url: str, users: int, startup_s: float = 60.0) -> None:
        self.redis_url = redis_url
        self.users = users
        self.startup_s = startup_s
        self.url = ""
        self._dir = tempfile.TemporaryDirectory(prefix="navigator-load-")
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> WebProcess:
        data_dir = Path(self._dir.name)
        _write_users(data_dir, self.users)
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("NAVIGATOR_") and k != "REDIS_URL"}
        env |= {"REDIS_URL": self.redis_url, "NAVIGATOR_SECRET": secrets.token_hex(32),
                "NAVIGATOR_DATA_DIR": str(data_dir)}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", "1",
             "--worker-connections", str(WORKER_CONNECTIONS), "-b", f"127.0.0.1:{port}", "--graceful-timeout", "2", "--no-control-socket",
             "navigator.wsgi:lab_app()"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._wait_up()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_up(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the web process exited with status {self._proc.returncode}:"
                                   f"\n{self.log_tail()}")
            try:
                requests.get(self.url + "/login", timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"the web process did not answer at {self.url} within "
                           f"{self.startup_s:.0f} s:\n{self.log_tail()}")

    def log_in_all(self) -> list[str]:
        """A Cookie header per user, ``u0`` first (eight log-ins at a time)."""
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(lambda i: _log_in(self.url, f"u{i}"), range(self.users)))

    def log_tail(self, chars: int = 2000) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-chars:]

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()
        self._dir.cleanup()


def _cleanup_redis(url: str) -> None:
    import redis

    from navigator.bus.redis import PREFIX

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{PREFIX}:load-*"):
        client.delete(key)
    for member in client.smembers(f"{PREFIX}:sessions"):
        if member.startswith(b"load-"):
            client.srem(f"{PREFIX}:sessions", member)
    client.close()


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON object (always printed; kept for the Makefile)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: N = 1 and 2 only, 2 s each")
    parser.add_argument("--seconds", type=float, help="measured seconds per N (default 10, quick 2)")
    parser.add_argument("--rate", type=float, default=10.0,
                        help="progress events per second of the session (default %(default)s)")
    parser.add_argument("--redis", default=os.environ.get("NAVIGATOR_TEST_REDIS_URL",
                                                          "redis://127.0.0.1:6379/15"),
                        help="Redis URL (default: %(default)s)")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (2.0 if args.quick else 10.0)
    if args.seconds <= 0 or args.rate <= 0:
        parser.error("--seconds and --rate must be positive")
    return args


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None  # None: nothing to compare


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _ratios(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Each N over the N=1 baseline of the same run."""
    base = results["1"]
    return {n: {"latency_p50": _ratio(r["latency_p50_ms"], base["latency_p50_ms"]),
                "latency_p95": _ratio(r["latency_p95_ms"], base["latency_p95_ms"]),
                "command_rtt_p50": _ratio(r["command_rtt_p50_ms"], base["command_rtt_p50_ms"]),
                "command_rtt_p95": _ratio(r["command_rtt_p95_ms"], base["command_rtt_p95_ms"]),
                "login_p95": _ratio(r["login_p95_ms"], base["login_p95_ms"]),
                "per_client_events_per_s": _ratio(r["delivered_events_per_s"] / int(n),
                                                  base["delivered_events_per_s"])}
            for n, r in results.items() if n != "1"}


def _print_line(r: dict[str, Any]) -> None:
    print(f"N={r['clients']:4d}: {r['delivered_events_per_s']:8.1f} events/s delivered "
          f"({r['delivery_ratio']:.1%} of published), latency p50 {_ms(r['latency_p50_ms'])} "
          f"p95 {_ms(r['latency_p95_ms'])}; commands {r['commands_acked']}/"
          f"{r['commands_sent']} acked, rtt p95 {_ms(r['command_rtt_p95_ms'])}; login page "
          f"{r['login_answered']}/{r['login_requests']} answered, p95 {_ms(r['login_p95_ms'])}; "
          f"{r['errors']} errors", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    from navigator.bus import make_bus

    try:
        bus = make_bus(args.redis)
    except ValueError as exc:
        message = f"load benchmark needs a Redis server: {exc} (start redis-server or pass --redis URL)"
        print(message, file=sys.stderr)
        print(json.dumps({"error": message}), flush=True)
        return 2
    began = time.perf_counter()
    sizes = QUICK_CLIENTS if args.quick else CLIENTS
    report: dict[str, Any] = {"bus": "redis", "server": "gunicorn gevent (1 worker), lab_app",
                              "transport": "websocket", "auth": "password, one login per watcher",
                              "baseline": "N=1", "results": {}}
    from benchmarks.bus import redis_xadd_baseline

    xadd, how = redis_xadd_baseline(args.redis, 20_000 if args.quick else 100_000)
    report["redis_server_xadd_per_s"], report["redis_baseline"] = round(xadd), how
    print(f"Redis's own XADD rate on this server: {xadd:,.0f} /s ({how})", flush=True)
    try:
        with WebProcess(args.redis, max(sizes)) as web:
            logins_began = time.perf_counter()
            cookies = web.log_in_all()
            report["login_all_s"] = round(time.perf_counter() - logins_began, 1)
            for n in sizes:
                r = run_clients(web.url, bus, cookies, n, args.seconds, args.rate)
                report["results"][str(n)] = r
                _print_line(r)
    finally:
        _cleanup_redis(args.redis)
        bus.close()
    report["ratios"] = _ratios(report["results"])
    report["wall_s"] = round(time.perf_counter() - began, 1)
    print(json.dumps(report, allow_nan=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
