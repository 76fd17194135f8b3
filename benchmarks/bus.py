"""Event bus benchmark: throughput and publish-to-receive latency.

For each bus (in-process, and Redis when one answers) and 1 and 8 subscribers:

- throughput: one publisher sends ``--events`` events as fast as it can while
  every subscriber drains its own subscription in a thread; events/s is the
  count divided by the time until the *last* subscriber has everything, so a
  slow fan-out is not hidden behind a fast ``publish``;
- latency: ``--latency-events`` events are sent at a steady ``--rate``, the way a
  worker publishes progress, and each subscriber records ``now - event.ts``;
  p50/p95 are over all subscribers' samples. Saturation latency would only
  measure queueing, which the throughput figure already covers.

Prints human-readable lines, then exactly one JSON object as the last line:
``{"memory": {"1": {...}, "8": {...}}, "redis": {...}}``.

    python -m benchmarks.bus --json [--redis redis://127.0.0.1:6379/15]
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

from navigator.bus import EventBus, make_bus
from navigator.events import TrainProgressEvent

SUBSCRIBERS = (1, 8)
TARGET_EVENTS_PER_S = 20_000
TARGET_REDIS_P95_MS = 5.0


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


def _run(bus: EventBus, subscribers: int, count: int, rate: float | None
         ) -> tuple[float, list[float]]:
    """Publish ``count`` events (paced at ``rate``/s if given); returns (seconds, latencies)."""
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
    start = time.perf_counter()
    for i in range(count):
        if rate:
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        bus.publish(session, _payload(i))
    for t in threads:
        t.join(timeout=60)
    if len(done) != subscribers:
        raise RuntimeError(f"only {len(done)} of {subscribers} subscribers received everything")
    return max(done) - start, [x for per in latencies for x in per]


def _percentile(values: Sequence[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else (values[0] if values else float("nan"))


def bench_bus(bus: EventBus, events: int, latency_events: int, rate: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for subscribers in SUBSCRIBERS:
        seconds, _ = _run(bus, subscribers, events, rate=None)
        _, latencies = _run(bus, subscribers, latency_events, rate=rate)
        ms = [x * 1000 for x in latencies]
        results[str(subscribers)] = {
            "subscribers": subscribers,
            "events": events,
            "events_per_s": round(events / seconds, 1),
            "latency_events": latency_events,
            "rate_per_s": rate,
            "latency_p50_ms": round(_percentile(ms, 50), 3),
            "latency_p95_ms": round(_percentile(ms, 95), 3),
        }
    return results


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
    parser.add_argument("--redis", default=os.environ.get("NAVIGATOR_TEST_REDIS_URL",
                                                          "redis://127.0.0.1:6379/15"),
                        help="Redis URL to benchmark (default: %(default)s); '' to skip")
    args = parser.parse_args(argv)
    if args.events < 1 or args.latency_events < 2 or args.rate <= 0:
        parser.error("--events must be >= 1, --latency-events >= 2 and --rate > 0")

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
            report[name] = bench_bus(bus, args.events, args.latency_events, args.rate)
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
        redis_ok = all(r["latency_p95_ms"] < TARGET_REDIS_P95_MS
                       for r in report["redis"].values())
        print(f"target p95 < {TARGET_REDIS_P95_MS} ms over Redis: "
              f"{'met' if redis_ok else 'MISSED'}")
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
