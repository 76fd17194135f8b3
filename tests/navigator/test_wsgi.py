"""navigator/wsgi.py, the lab server's entry point, started the way it is deployed: gunicorn
binds wherever ``-b`` says, so it asks for logins (and a secret to sign them) unless
``NAVIGATOR_AUTH=none`` is set explicitly."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def lab_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The process environment without any NAVIGATOR_* or REDIS_URL setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NAVIGATOR_") and k != "REDIS_URL"}
    return env | {"NAVIGATOR_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)} | extra


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str]) -> Iterator[str]:
    """``gunicorn -w 1 --threads 4 'navigator.wsgi:lab_app()'`` on a free loopback port; its URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4",
                             "-b", f"127.0.0.1:{port}", "navigator.wsgi:lab_app()"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"gunicorn exited: {proc.stderr.read()}"
            try:  # the port opens at once, the worker answers once it has loaded the app
                requests.get(url + "/login", timeout=(2, 60))
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_importing_the_entry_point_reads_no_environment_and_builds_nothing(tmp_path: Path) -> None:
    """``navigator serve`` imports ``create_app`` from here: that must not need a lab secret."""
    done = subprocess.run([sys.executable, "-c", "import navigator.wsgi"], cwd=ROOT,
                          env=lab_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_without_a_secret_the_lab_server_refuses_to_start(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "from navigator.wsgi import lab_app; lab_app()"],
                          cwd=ROOT,
                          env=lab_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert ("ValueError: the lab server (navigator.wsgi) needs a session secret to sign logins: "
            "set NAVIGATOR_SECRET") in done.stderr


def test_without_redis_the_lab_server_still_asks_for_a_login(tmp_path: Path) -> None:
    with gunicorn(lab_env(tmp_path, NAVIGATOR_SECRET="wsgi-test-secret")) as url:
        r = requests.get(url + "/", allow_redirects=False, timeout=10)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/")


@pytest.mark.redis
def test_with_redis_and_a_secret_the_lab_server_asks_for_a_login(tmp_path: Path,
                                                                 redis_url: str) -> None:
    with gunicorn(lab_env(tmp_path, REDIS_URL=redis_url, NAVIGATOR_SECRET="wsgi-test-secret")) as url:
        r = requests.get(url + "/", allow_redirects=False, timeout=10)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/")
        assert requests.get(url + "/_dash-layout", timeout=10).status_code == 401
