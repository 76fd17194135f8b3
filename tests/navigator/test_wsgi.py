"""navigator/wsgi.py, the lab server's entry point, started the way it is deployed: gunicorn
binds wherever ``-b`` says, so it asks for logins (and a secret to sign them) unless
``NAVIGATOR_AUTH=none`` is set explicitly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.support.waiting import free_port

ROOT = Path(__file__).resolve().parents[2]
WEB = ["gunicorn", "-k", "gevent", "-w", "1", "--worker-connections", "4000"]  # the Procfile's
SECRET = "wsgi-test-secret-" + "0123456789abcdef" * 2  # long enough to protect logins


def lab_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The process environment without any NAVIGATOR_* or REDIS_URL setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NAVIGATOR_") and k != "REDIS_URL"}
    return env | {"NAVIGATOR_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)} | extra



@contextmanager
def gunicorn(env: dict[str, str], procs: list[subprocess.Popen[str]] | None = None
             ) -> Iterator[str]:
    """The Procfile's web (``gunicorn -k gevent -w 1 ... 'navigator.wsgi:lab_app()'``) on a
    free loopback port; its URL. ``procs`` receives the master process."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", *WEB[1:], "--no-control-socket",
                             "-b", f"127.0.0.1:{port}", "navigator.wsgi:lab_app()"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if procs is not None:
        procs.append(proc)
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
    with gunicorn(lab_env(tmp_path, NAVIGATOR_SECRET=SECRET)) as url:
        r = requests.get(url + "/", allow_redirects=False, timeout=10)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/")


@pytest.mark.redis
def test_with_redis_and_a_secret_the_lab_server_asks_for_a_login(tmp_path: Path,
                                                                 redis_url: str) -> None:
    with gunicorn(lab_env(tmp_path, REDIS_URL=redis_url, NAVIGATOR_SECRET=SECRET)) as url:
        r = requests.get(url + "/", allow_redirects=False, timeout=10)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/")
        assert requests.get(url + "/_dash-layout", timeout=10).status_code == 401


def test_the_procfile_and_the_refusals_serve_the_web_as_tested_here() -> None:
    from navigator.wsgi import GUNICORN_COMMAND

    web = (ROOT / "Procfile").read_text().splitlines()[0]
    assert web.startswith("web: " + " ".join(WEB) + " -b ") and "--threads" not in web
    assert GUNICORN_COMMAND.startswith(" ".join(WEB) + " -b 0.0.0.0:8050 ")


def test_outside_a_gevent_worker_the_lab_app_refuses_to_start(tmp_path: Path) -> None:
    """gevent sockets in an unpatched process would hang; the old ``--threads`` command would
    bring back a thread per socket."""
    done = subprocess.run([sys.executable, "-c", "from navigator.wsgi import lab_app; lab_app()"],
                          cwd=ROOT, env=lab_env(tmp_path, NAVIGATOR_SECRET=SECRET),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert ("RuntimeError: navigator.wsgi:lab_app() serves its sockets with gevent: run it under "
            "gunicorn's gevent worker, one process: gunicorn -k gevent -w 1") in done.stderr


def test_the_web_process_imports_no_torch(tmp_path: Path) -> None:
    """Patched as gunicorn's gevent worker patches it, the web builds its app torch-free."""
    code = ("from gevent import monkey; monkey.patch_all()\n"
            "import sys\n"
            "from navigator.wsgi import lab_app\n"
            "app = lab_app()\n"
            "assert 'torch' not in sys.modules, 'the web process imported torch'\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                          env=lab_env(tmp_path, NAVIGATOR_SECRET=SECRET),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/<pid>/maps")
def test_many_open_sockets_leave_the_login_page_answering(tmp_path: Path) -> None:
    """Issue 17: ~100 open sockets held every one of gunicorn's threads, so the 101st client
    was refused and /login timed out. With gevent, 150 idle sockets cost 150 greenlets."""
    import websocket

    procs: list[subprocess.Popen[str]] = []
    with gunicorn(lab_env(tmp_path, NAVIGATOR_AUTH="none"), procs) as url:
        workers = _children(procs[0].pid)
        assert workers, "no gunicorn worker process"
        maps = Path(f"/proc/{workers[0]}/maps").read_text()
        assert "libtorch" not in maps, "the gunicorn worker loaded torch"
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        sockets = []
        try:
            for _ in range(150):
                ws = websocket.create_connection(ws_url, timeout=10)
                assert ws.recv().startswith("0")  # engine.io open
                ws.send("40")  # socket.io connect: the server now holds this socket
                assert ws.recv().startswith("40")
                sockets.append(ws)
            began = time.monotonic()
            r = requests.get(url + "/login", timeout=5)
            assert r.status_code == 200 and time.monotonic() - began < 2
            ws = websocket.create_connection(ws_url, timeout=5)  # the 151st is served too
            assert ws.recv().startswith("0")
            sockets.append(ws)
        finally:
            for ws in sockets:
                ws.close()
