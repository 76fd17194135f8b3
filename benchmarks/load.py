"""Load benchmark of the lab web process: N analysts, each steering a session, over Redis.

One web process (the real app, ``create_app`` in this process on a free loopback
port, through :class:`frontend.synthetic.LiveServer`) on the Redis bus; for each
N in 1, 10, 50 there are N socket clients (python-socketio), each joined to its
own session. A synthetic publisher feeds every session at a fixed event rate
(``--rate`` progress events/s, the most frequent type a worker publishes) and
acknowledges commands the way a worker does; a real worker per client would
measure training, not delivery. Every client sends a steering command (``focus``)
about once a second.

Per N, over ``--seconds`` (bounded; 10 s by default):

- delivered events/s: events received by all clients together, per second;
  ``delivery_ratio`` compares that with what was published (1.0 = nothing lost);
- p50/p95 delivery latency: publish timestamp -> client receive (the same clock,
  loopback only). Progress events are relayed in batches every 0.3 s by design
  (``navigator/server.py``), so that figure is mostly the batching; command
  round trips (emit -> ``command_ack`` back) show the latency of a steering action;
- commands sent and acknowledged, and errors (socket errors, lost events,
  unacknowledged commands).

N=1 is the baseline of the same run: ``ratios`` give the N=10 and N=50 latencies
over it. Prints human-readable lines, then one JSON object as the last line.

    python -m benchmarks.load --json [--quick] [--redis redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

CLIENTS = (1, 10, 50)
QUICK_CLIENTS = (1, 10)


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


def run_clients(server: Any, n: int, seconds: float, rate: float, transport: str
                ) -> dict[str, Any]:
    sessions = [f"load-{uuid.uuid4().hex[:8]}" for _ in range(n)]
    errors: list[str] = []
    analysts: list[_Analyst] = []
    try:
        for session in sessions:
            analysts.append(_Analyst(server.url, session, transport))
    except Exception as exc:  # noqa: BLE001 - a refused connection is a result, not a crash
        errors.append(f"connect: {exc}")
    time.sleep(0.5)  # joins settle before the clock starts
    counts = dict.fromkeys(sessions, 0)
    stop = threading.Event()
    publisher = threading.Thread(target=_publish, args=(server.bus, sessions, rate, stop, counts),
                                 daemon=True)
    start = time.perf_counter()
    publisher.start()
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
    stop.set()
    publisher.join(5)
    elapsed = time.perf_counter() - start
    time.sleep(1.5)  # in-flight batches and acks arrive
    published = sum(counts[a.session] for a in analysts)
    received = sum(a.received for a in analysts)
    latencies = [x * 1000 for a in analysts for x in a.latencies]
    round_trips = [x * 1000 for a in analysts for x in a.round_trips]
    sent = sum(a.acked + len(a.sent) for a in analysts)
    acked = sum(a.acked for a in analysts)
    errors += [e for a in analysts for e in a.errors]
    if received < published:
        errors.append(f"{published - received} of {published} events not delivered")
    if acked < sent:
        errors.append(f"{sent - acked} of {sent} commands not acknowledged")
    for analyst in analysts:
        analyst.close()
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON object (always printed; kept for the Makefile)")
    parser.add_argument("--quick", action="store_true", help="N = 1 and 10 only, 5 s each")
    parser.add_argument("--seconds", type=float, help="measured seconds per N (default 10, quick 5)")
    parser.add_argument("--rate", type=float, default=10.0,
                        help="progress events per second per session (default %(default)s)")
    parser.add_argument("--transport", choices=["polling", "websocket"], default="websocket",
                        help="engine.io transport of the clients (default: websocket, as browsers "
                             "use; websocket-client comes with requirements-dev.txt)")
    parser.add_argument("--redis", default=os.environ.get("NAVIGATOR_TEST_REDIS_URL",
                                                          "redis://127.0.0.1:6379/15"),
                        help="Redis URL (default: %(default)s)")
    args = parser.parse_args(argv)
    seconds = args.seconds or (5.0 if args.quick else 10.0)
    if seconds <= 0 or args.rate <= 0:
        parser.error("--seconds and --rate must be positive")

    from frontend.synthetic import LiveServer
    from navigator.bus import make_bus

    try:
        bus = make_bus(args.redis)
    except ValueError as exc:
        print(json.dumps({"skipped": str(exc)}))
        return 0
    report: dict[str, Any] = {"bus": "redis", "transport": args.transport, "results": {}}
    try:
        with LiveServer(bus=bus) as server:
            for n in QUICK_CLIENTS if args.quick else CLIENTS:
                r = run_clients(server, n, seconds, args.rate, args.transport)
                report["results"][str(n)] = r
                print(f"N={n:3d}: {r['delivered_events_per_s']:8.1f} events/s delivered "
                      f"({r['delivery_ratio']:.1%} of published), latency p50 "
                      f"{r['latency_p50_ms']:.1f} ms p95 {r['latency_p95_ms']:.1f} ms; commands "
                      f"{r['commands_acked']}/{r['commands_sent']} acked, rtt p95 "
                      f"{r['command_rtt_p95_ms']:.1f} ms; {r['errors']} errors", flush=True)
    finally:
        _cleanup_redis(args.redis)
    base = report["results"]["1"]

    def ratio(a: float, b: float) -> float | None:
        return round(a / b, 3) if b and a == a and b == b else None  # None: nothing to compare

    report["ratios"] = {n: {"latency_p95": ratio(r["latency_p95_ms"], base["latency_p95_ms"]),
                            "command_rtt_p95": ratio(r["command_rtt_p95_ms"],
                                                     base["command_rtt_p95_ms"]),
                            "per_client_events_per_s": ratio(r["delivered_events_per_s"] / int(n),
                                                             base["delivered_events_per_s"])}
                        for n, r in report["results"].items() if n != "1"}
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
