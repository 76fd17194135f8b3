"""Smoke test of ``python -m benchmarks.load``: the Procfile's gunicorn gevent web, real Redis,
real logins."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchmarks.load", "--json", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.redis
def test_quick_load_run_delivers_every_event_and_reports_against_n1(redis_url: str) -> None:
    began = time.monotonic()
    run = _load("--quick", "--redis", redis_url, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert time.monotonic() - began < 30  # disconnects answered at once, not 3 s each
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(report["results"]) == {"1", "2"} and report["baseline"] == "N=1"
    for r in report["results"].values():
        assert r["errors"] == 0, r["error_samples"]
        assert r["delivered"] == r["published"] > 0 and r["delivered_events_per_s"] > 0
        assert r["commands_acked"] == r["commands_sent"] > 0
        assert 0 < r["latency_p50_ms"] <= r["latency_p95_ms"]
        assert r["watchers_connected"] == r["clients"]
        assert r["login_answered"] == r["login_requests"] > 0  # the login page kept answering
    assert set(report["ratios"]["2"]) >= {"latency_p50", "latency_p95", "command_rtt_p95",
                                          "login_p95", "per_client_events_per_s"}


def test_an_unreachable_redis_fails_the_run_with_a_reason() -> None:
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = _load("--redis", f"redis://127.0.0.1:{port}/0", timeout=30)
    assert run.returncode == 2
    assert f"cannot reach Redis at redis://127.0.0.1:{port}/0" in run.stderr
    assert "error" in json.loads(run.stdout.strip().splitlines()[-1])
