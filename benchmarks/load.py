"""Load benchmark of the lab web process: N analysts, each steering a session, over Redis.

One web process (the real app, ``create_app`` on the Redis bus, under gunicorn with
threads and simple-websocket as the Procfile runs it, on a free loopback port; no
logins) and, for each N in 1, 10, 50, N socket clients (python-socketio, websocket
transport), each joined to its own session. The Werkzeug dev server is not used: it
never answers a websocket close frame, so every client disconnect waited 3 s.
A synthetic publisher in this process feeds every session through Redis at a fixed
event rate (``--rate`` progress events/s, the most frequent type a worker publishes)
and acknowledges commands the way a worker does; a real worker per client would
measure training, not delivery. Every client sends a steering command (``focus``)
about once a second.

Per N, over ``--seconds`` (bounded; 10 s by default):

- delivered events/s: events received by all clients together, per second;
  ``delivery_ratio`` compares that with what was published (1.0 = nothing lost);
- p50 (median) / p95 delivery latency: publish timestamp -> client receive (the same
  clock, loopback only). Progress events are relayed in batches every 0.3 s by design
  (``navigator/hub.py``), so that figure is mostly the batching; command round trips
  (emit -> ``command_ack`` back) show the latency of a steering action;
- commands sent and acknowledged, and errors (socket errors, lost events,
  unacknowledged commands).

N=1 is the baseline of the same run: ``ratios`` give the N=10 and N=50 latencies
over it. Prints human-readable lines, then one JSON object as the last line. An
unreachable Redis is an error (exit status 2), not a skipped run.

    python -m benchmarks.load --json [--quick] [--redis redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

CLIENTS = (1, 10, 50)
QUICK_CLIENTS = (1, 2)
ROOT = Path(__file__).resolve().parents[1]
URL_ENV = "NAVIGATOR_LOAD_REDIS_URL"  # how the gunicorn process learns the bus
DRAIN_S = 3.0  # after the clock stops: the most to wait for in-flight batches and acks


def _percentile(values: Sequence[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


class _Analyst:
    """One socket client joined to its own session, sending a steering command per second."""

    def __init__(self, url: str, session: str, transport: str) -> None:
        import socketio

        self.session = session
        self.latencies: list[float] = []
        self.round_trips: list[float] = []
        self.received = 0
        self.errors: list[str] = []
        self.sent: dict[str, float] = {}
        self.acked = 0
        self.last_seq = 0
        self._lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("events", self._on_events)
        self.sio.on("command_error", lambda d: self.errors.append(str(d.get("reason"))))
        self.sio.connect(url, transports=[transport], wait_timeout=10)
        self.sio.emit("join", {"session": session, "after_seq": 0})

    def _on_events(self, batch: list[dict[str, Any]]) -> None:
        now = time.time()
        with self._lock:
            for event in batch:
                if event["seq"] <= self.last_seq:
                    self.errors.append(f"seq {event['seq']} after {self.last_seq}")
                self.last_seq = event["seq"]
                if event["type"] == "train_progress":
                    self.received += 1
                    self.latencies.append(now - event["ts"])
                elif event["type"] == "command_ack":
                    sent = self.sent.pop(event["data"]["command_id"], None)
                    if sent is not None:
                        self.acked += 1
                        self.round_trips.append(now - sent)

    def steer(self) -> None:
        command_id = uuid.uuid4().hex
        with self._lock:
            self.sent[command_id] = time.time()
        self.sio.emit("command", {"type": "focus", "session": self.session, "id": command_id,
                                  "args": {"archs": ["|skip_connect~0|+|skip_connect~0|"
                                                     "skip_connect~1|+|skip_connect~0|"
                                                     "skip_connect~1|skip_connect~2|"]}})

    def close(self) -> None:
        self.sio.disconnect()


def _publish(bus: Any, sessions: list[str], rate: float, stop: threading.Event,
             counts: dict[str, int]) -> None:
    """Every 1/rate s: one progress event per session, and acks for any pending command."""
    from navigator.events import CommandAck, TrainProgressEvent

    start = time.perf_counter()
    tick = 0
    while not stop.is_set():
        for session in sessions:
            bus.publish(session, TrainProgressEvent(
                epoch=0, epochs=10, step=tick, steps_per_epoch=100, loss=2.3, accuracy=0.1,
                samples_per_s=1500.0, eta_s=12.5))
            counts[session] += 1
            command = bus.next_command(session)
            while command is not None:
                bus.publish(session, CommandAck(command_id=command.id, command=command.type,
                                                user=command.user, args=command.args,
                                                sent_ts=command.ts, detail="load benchmark"))
                command = bus.next_command(session)
        tick += 1
        delay = start + tick / rate - time.perf_counter()
        if delay > 0:
            stop.wait(delay)


def _connect(url: str, sessions: list[str], transport: str, errors: list[str]
             ) -> list[_Analyst]:
    analysts: list[_Analyst] = []
    try:
        for session in sessions:
            analysts.append(_Analyst(url, session, transport))
    except Exception as exc:  # noqa: BLE001 - a refused connection is a result, not a crash
        errors.append(f"connect: {exc}")
    return analysts


def _steer_for(analysts: list[_Analyst], seconds: float, errors: list[str]) -> float:
    """Every analyst steers once a second until ``seconds`` are up; returns the time taken."""
    start = time.perf_counter()
    next_steer = start + 0.5
    while time.perf_counter() - start < seconds:
        if time.perf_counter() >= next_steer:
            for analyst in analysts:
                try:
                    analyst.steer()
                except Exception as exc:  # noqa: BLE001
                    errors.append(f"emit: {exc}")
            next_steer += 1.0
        time.sleep(0.02)
    return time.perf_counter() - start


def _drain(analysts: list[_Analyst], counts: dict[str, int]) -> None:
    """Wait (at most DRAIN_S) until every published event and every ack has arrived."""
    deadline = time.monotonic() + DRAIN_S
    while time.monotonic() < deadline:
        if all(a.received >= counts[a.session] and not a.sent for a in analysts):
            return
        time.sleep(0.05)


def run_clients(url: str, bus: Any, n: int, seconds: float, rate: float, transport: str
                ) -> dict[str, Any]:
    sessions = [f"load-{uuid.uuid4().hex[:8]}" for _ in range(n)]
    errors: list[str] = []
    analysts = _connect(url, sessions, transport, errors)
    time.sleep(0.5)  # joins settle before the clock starts
    counts = dict.fromkeys(sessions, 0)
    stop = threading.Event()
    publisher = threading.Thread(target=_publish, args=(bus, sessions, rate, stop, counts),
                                 daemon=True)
    publisher.start()
    elapsed = _steer_for(analysts, seconds, errors)
    stop.set()
    publisher.join(5)
    _drain(analysts, counts)
    for analyst in analysts:
        analyst.close()
    return _summary(n, analysts, counts, elapsed, rate, errors)


def _summary(n: int, analysts: list[_Analyst], counts: dict[str, int], elapsed: float,
             rate: float, errors: list[str]) -> dict[str, Any]:
    published = sum(counts[a.session] for a in analysts)
    received = sum(a.received for a in analysts)
    latencies = [x * 1000 for a in analysts for x in a.latencies]
    round_trips = [x * 1000 for a in analysts for x in a.round_trips]
    sent = sum(a.acked + len(a.sent) for a in analysts)
    acked = sum(a.acked for a in analysts)
    errors = errors + [e for a in analysts for e in a.errors]
    if received < published:
        errors.append(f"{published - received} of {published} events not delivered")
    if acked < sent:
        errors.append(f"{sent - acked} of {sent} commands not acknowledged")
    return {"clients": n, "seconds": round(elapsed, 2), "rate_per_session": rate,
            "published": published, "delivered": received,
            "delivered_events_per_s": round(received / elapsed, 1),
            "delivery_ratio": round(received / published, 4) if published else 0.0,
            "latency_p50_ms": round(_percentile(latencies, 50), 1),
            "latency_p95_ms": round(_percentile(latencies, 95), 1),
            "commands_sent": sent, "commands_acked": acked,
            "command_rtt_p50_ms": round(_percentile(round_trips, 50), 1),
            "command_rtt_p95_ms": round(_percentile(round_trips, 95), 1),
            "errors": len(errors), "error_samples": errors[:5]}


def web_app() -> Any:
    """gunicorn app factory (``benchmarks.load:web_app()``): the app the benchmark measures.

    No logins, as :class:`tests.support.synthetic.LiveServer` serves, so the figures are
    the relay's, not the login form's."""
    from navigator.bus import make_bus
    from navigator.config import ServerConfig
    from navigator.wsgi import create_app

    config = ServerConfig(host="127.0.0.1", port=0, secret=uuid.uuid4().hex, auth="none",
                          embedded_workers=0, data_dir=tempfile.mkdtemp(prefix="navigator-load-"))
    dash_app, _ = create_app(config, make_bus(os.environ[URL_ENV]))
    return dash_app.server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebProcess:
    """The web app under gunicorn (one worker, threads), as the Procfile runs it, on loopback.

    gunicorn's threaded worker answers a websocket close at once, where the Werkzeug dev
    server left each client disconnect waiting 3 s for a reply that never came."""

    def __init__(self, redis_url: str, startup_s: float = 60.0) -> None:
        self.redis_url = redis_url
        self.startup_s = startup_s
        self.url = ""
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> WebProcess:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "100",
             "-b", f"127.0.0.1:{port}", "--graceful-timeout", "2", "--no-control-socket",
             "benchmarks.load:web_app()"],
            cwd=ROOT, env=os.environ | {URL_ENV: self.redis_url},
            stdout=self._log, stderr=subprocess.STDOUT)
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
                with urllib.request.urlopen(self.url + "/", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the web process did not answer at {self.url} within "
                           f"{self.startup_s:.0f} s:\n{self.log_tail()}")

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
                        help="progress events per second per session (default %(default)s)")
    parser.add_argument("--transport", choices=["polling", "websocket"], default="websocket",
                        help="engine.io transport of the clients (default: websocket, as browsers "
                             "use; websocket-client comes with requirements-dev.txt)")
    parser.add_argument("--redis", default=os.environ.get("NAVIGATOR_TEST_REDIS_URL",
                                                          "redis://127.0.0.1:6379/15"),
                        help="Redis URL (default: %(default)s)")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (2.0 if args.quick else 10.0)
    if args.seconds <= 0 or args.rate <= 0:
        parser.error("--seconds and --rate must be positive")
    return args


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b and a == a and b == b else None  # None: nothing to compare


def _ratios(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Each N over the N=1 baseline of the same run."""
    base = results["1"]
    return {n: {"latency_p50": _ratio(r["latency_p50_ms"], base["latency_p50_ms"]),
                "latency_p95": _ratio(r["latency_p95_ms"], base["latency_p95_ms"]),
                "command_rtt_p50": _ratio(r["command_rtt_p50_ms"], base["command_rtt_p50_ms"]),
                "command_rtt_p95": _ratio(r["command_rtt_p95_ms"], base["command_rtt_p95_ms"]),
                "per_client_events_per_s": _ratio(r["delivered_events_per_s"] / int(n),
                                                  base["delivered_events_per_s"])}
            for n, r in results.items() if n != "1"}


def _print_line(r: dict[str, Any]) -> None:
    print(f"N={r['clients']:3d}: {r['delivered_events_per_s']:8.1f} events/s delivered "
          f"({r['delivery_ratio']:.1%} of published), latency p50 {r['latency_p50_ms']:.1f} ms "
          f"p95 {r['latency_p95_ms']:.1f} ms; commands {r['commands_acked']}/"
          f"{r['commands_sent']} acked, rtt p95 {r['command_rtt_p95_ms']:.1f} ms; "
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
    report: dict[str, Any] = {"bus": "redis", "server": "gunicorn gthread (1 worker)",
                              "transport": args.transport, "baseline": "N=1", "results": {}}
    try:
        with WebProcess(args.redis) as web:
            for n in QUICK_CLIENTS if args.quick else CLIENTS:
                r = run_clients(web.url, bus, n, args.seconds, args.rate, args.transport)
                report["results"][str(n)] = r
                _print_line(r)
    finally:
        _cleanup_redis(args.redis)
        bus.close()
    report["ratios"] = _ratios(report["results"])
    report["wall_s"] = round(time.perf_counter() - began, 1)
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
