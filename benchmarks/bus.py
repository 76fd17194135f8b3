"""Event bus benchmark: throughput and publish-to-receive latency.

For each bus (in-process, and Redis when one answers) and 1 and 8 subscribers:

- throughput: one publisher (over Redis, a process of its own, as a worker is) sends ``--events`` events as fast as it can while
  every subscriber drains its own subscription in a thread; events/s is the
  count divided by the time until the *last* subscriber has everything, so a
  slow fan-out is not hidden behind a fast ``publish``;
- latency: ``--latency-events`` events are sent at a steady ``--rate``, the way a
  worker publishes progress, and each subscriber records ``now - event.ts``;
  p50/p95 are over all subscribers' samples. Saturation latency would only
  measure queueing, which the throughput figure already covers.

Redis's own rate is measured in the same run against the same server
(``redis_server_xadd_per_s``: ``redis-benchmark`` XADD of an event-sized entry with its
default 50 clients, or, where ``redis-benchmark`` is not installed, a redis-py pipeline
of XADDs), and each Redis figure is reported as a ratio of it. Every figure is the
median of ``--repeats`` runs.

Prints human-readable lines, then exactly one JSON object as the last line:
``{"memory": {"1": {...}, "8": {...}}, "redis": {...}, "redis_server_xadd_per_s": ...}``.

    python -m benchmarks.bus --json [--redis redis://127.0.0.1:6379/13]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from navigator.bus import EventBus, make_bus
from navigator.events import Event, TrainProgressEvent

SUBSCRIBERS = (1, 8)
TARGET_EVENTS_PER_S = 20_000
TARGET_REDIS_P95_MS = 5.0
TARGET_REDIS_RATIO = 0.5  # of Redis's own XADD rate, with 8 subscribers
BASELINE_KEY = "navigator:bench-xadd-baseline"


def _payload(i: int) -> TrainProgressEvent:
    """A realistic event: progress is by far the most frequent type a worker publishes."""
    return TrainProgressEvent(epoch=0, epochs=10, step=i, steps_per_epoch=100, loss=2.3,
                              accuracy=0.1, samples_per_s=1500.0, eta_s=12.5, lr=0.05)


def _drain(bus: EventBus, session: str, count: int, ready: threading.Barrier,
           latencies: list[float] | None, done: list[float]) -> None:
    sub = bus.subscribe(session)
    ready.wait()
    received = 0
    while received < count:
        event = sub.get(timeout=10)
        if event is None:
            raise RuntimeError(f"subscriber stalled after {received} of {count} events")
        if latencies is not None:
            latencies.append(time.time() - event.ts)
        received += 1
    done.append(time.perf_counter())
    sub.close()


def _publish(bus: EventBus, session: str, count: int, rate: float | None) -> float:
    """Publish ``count`` events (paced at ``rate``/s if given); returns the start time."""
    start = time.perf_counter()
    for i in range(count):
        if rate:
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        bus.publish(session, _payload(i))
    bus.flush(60)
    return start


def _worker_process(url: str, session: str, count: int, rate: float | None, ready: Any,
                    go: Any) -> None:
    """The publisher of the Redis runs: a worker process of its own, as on a lab server."""
    bus = make_bus(url)
    ready.set()
    go.wait()
    _publish(bus, session, count, rate)
    bus.close()


def _run(bus: EventBus, subscribers: int, count: int, rate: float | None, url: str | None
         ) -> tuple[float, list[float]]:
    """``count`` events from one publisher to ``subscribers`` readers of ``bus``; returns
    (seconds until the last reader has them all, latencies). With a Redis ``url`` the
    publisher is another process (a worker), the readers share this one (the web)."""
    session = f"bench-{uuid.uuid4().hex[:10]}"
    ready = threading.Barrier(subscribers + 1)
    latencies: list[list[float]] = [[] for _ in range(subscribers)]
    done: list[float] = []
    threads = [threading.Thread(target=_drain, daemon=True,
                                args=(bus, session, count, ready,
                                      latencies[i] if rate else None, done))
               for i in range(subscribers)]
    for t in threads:
        t.start()
    ready.wait()
    if url is None:
        start = _publish(bus, session, count, rate)
    else:
        context = multiprocessing.get_context("spawn")
        started, go = context.Event(), context.Event()
        worker = context.Process(target=_worker_process,
                                 args=(url, session, count, rate, started, go), daemon=True)
        worker.start()
        if not started.wait(60):
            raise RuntimeError("the publisher process did not start")
        start = time.perf_counter()
        go.set()
    for t in threads:
        t.join(timeout=60)
    if url is not None:
        worker.join(timeout=60)
    if len(done) != subscribers:
        raise RuntimeError(f"only {len(done)} of {subscribers} subscribers received everything")
    return max(done) - start, [x for per in latencies for x in per]


def _percentile(values: Sequence[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else (values[0] if values else float("nan"))


def bench_bus(bus: EventBus, events: int, latency_events: int, rate: float, repeats: int,
              url: str | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for subscribers in SUBSCRIBERS:
        runs = []
        for _ in range(repeats):
            seconds, _ = _run(bus, subscribers, events, rate=None, url=url)
            _, latencies = _run(bus, subscribers, latency_events, rate=rate, url=url)
            ms = [x * 1000 for x in latencies]
            runs.append((events / seconds, _percentile(ms, 50), _percentile(ms, 95)))
        results[str(subscribers)] = {
            "subscribers": subscribers,
            "events": events,
            "repeats": repeats,
            "events_per_s": round(statistics.median(r[0] for r in runs), 1),
            "latency_events": latency_events,
            "rate_per_s": rate,
            "latency_p50_ms": round(statistics.median(r[1] for r in runs), 3),
            "latency_p95_ms": round(statistics.median(r[2] for r in runs), 3),
        }
    return results


def _event_body() -> str:
    """What the bus stores per event (same size as the benchmark's own events)."""
    event = Event.of("bench", _payload(1))
    return json.dumps({"type": event.type, "data": event.data, "ts": event.ts})


def redis_xadd_baseline(url: str, count: int) -> tuple[float, str]:
    """Redis's own XADD rate on the server behind ``url``: (entries/s, how it was measured)."""
    import redis

    client = redis.Redis.from_url(url)
    options = client.connection_pool.connection_kwargs
    body = _event_body()
    try:
        tool = shutil.which("redis-benchmark")
        if tool and "path" not in options:
            command = [tool, "-h", str(options.get("host", "127.0.0.1")),
                       "-p", str(options.get("port", 6379)), "--dbnum", str(options.get("db", 0)),
                       "-n", str(count), "--csv", "XADD", BASELINE_KEY, "*", "e", body]
            if options.get("password"):
                command[1:1] = ["-a", str(options["password"])]
            out = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                 check=True).stdout
            # "test","rps",<6 latency columns>; the test's name holds the body's own quotes
            rates = [line.rsplit(",", 7)[1].strip('"') for line in out.splitlines()
                     if line.startswith('"XADD')]
            if rates and re.fullmatch(r"[\d.]+", rates[-1]):
                return float(rates[-1]), "redis-benchmark XADD, 50 clients"
        start = time.perf_counter()
        pipe = client.pipeline(transaction=False)
        for i in range(count):
            pipe.xadd(BASELINE_KEY, {"e": body})
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()
        return count / (time.perf_counter() - start), "redis-py pipeline of XADD, 1000 per trip"
    finally:
        client.delete(BASELINE_KEY)
        client.close()


def _cleanup_redis(url: str) -> None:
    """Delete the benchmark's own sessions so repeated runs do not fill the database."""
    import redis

    from navigator.bus.redis import PREFIX

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{PREFIX}:bench-*"):
        client.delete(key)
    for member in client.smembers(f"{PREFIX}:sessions"):
        if member.startswith(b"bench-"):
            client.srem(f"{PREFIX}:sessions", member)
    client.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bus", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON object (always printed; kept for the Makefile)")
    parser.add_argument("--events", type=int, default=20_000, help="events per throughput run")
    parser.add_argument("--latency-events", type=int, default=2_000,
                        help="events per latency run")
    parser.add_argument("--rate", type=float, default=2_000.0,
                        help="publish rate (events/s) of the latency runs")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--baseline-events", type=int, default=100_000,
                        help="XADDs of the Redis baseline")
    parser.add_argument("--redis", default=os.environ.get("NAVIGATOR_BENCH_REDIS_URL",
                                                          "redis://127.0.0.1:6379/13"),
                        help="Redis URL to benchmark (default: %(default)s); '' to skip")
    args = parser.parse_args(argv)
    if args.events < 1 or args.latency_events < 2 or args.rate <= 0 or args.repeats < 1:
        parser.error("--events and --repeats must be >= 1, --latency-events >= 2, --rate > 0")

    report: dict[str, Any] = {}
    for name, url in (("memory", None), ("redis", args.redis)):
        if name == "redis" and not url:
            report[name] = {"skipped": "no Redis URL given"}
            continue
        try:
            bus = make_bus(url)
        except ValueError as exc:
            report[name] = {"skipped": str(exc)}
            print(f"{name:6s} skipped: {exc}")
            continue
        try:
            if url:
                rates = [redis_xadd_baseline(url, args.baseline_events)
                         for _ in range(args.repeats)]
                report["redis_server_xadd_per_s"] = round(statistics.median(r[0] for r in rates))
                report["redis_baseline"] = rates[0][1]
            report[name] = bench_bus(bus, args.events, args.latency_events, args.rate,
                                     args.repeats, url)
            if url:
                for r in report[name].values():
                    r["ratio_to_redis_xadd"] = round(
                        r["events_per_s"] / report["redis_server_xadd_per_s"], 3)
        finally:
            bus.close()
            if url:
                _cleanup_redis(url)
        for r in report[name].values():
            print(f"{name:6s} {r['subscribers']} subscriber(s): {r['events_per_s']:>10,.0f} "
                  f"events/s; latency at {r['rate_per_s']:.0f}/s p50 {r['latency_p50_ms']:.3f} ms"
                  f", p95 {r['latency_p95_ms']:.3f} ms")
    memory_ok = all(r["events_per_s"] >= TARGET_EVENTS_PER_S for r in report["memory"].values())
    print(f"target >= {TARGET_EVENTS_PER_S:,} events/s in-process: "
          f"{'met' if memory_ok else 'MISSED'}")
    if "skipped" not in report["redis"]:
        eight = report["redis"]["8"]
        print(f"Redis's own XADD rate: {report['redis_server_xadd_per_s']:,} /s "
              f"({report['redis_baseline']}); the bus with 8 subscribers delivers "
              f"{eight['ratio_to_redis_xadd']:.2f}x of it")
        redis_ok = all(r["latency_p95_ms"] < TARGET_REDIS_P95_MS
                       for r in report["redis"].values())
        print(f"target p95 < {TARGET_REDIS_P95_MS} ms over Redis: "
              f"{'met' if redis_ok else 'MISSED'}")
        print(f"target >= {TARGET_REDIS_RATIO}x Redis's XADD rate with 8 subscribers: "
              f"{'met' if eight['ratio_to_redis_xadd'] >= TARGET_REDIS_RATIO else 'MISSED'}")
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
