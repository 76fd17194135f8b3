from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from navigator.cli import main
from navigator.events import CommandAck, Event, SessionState
from navigator.recording import RecordingStore
from tests.support.waiting import free_port


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "navigator", *args], capture_output=True,
                          text=True, timeout=timeout)



def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("serve", "worker", "search", "sessions"):
        assert command in out


@pytest.mark.parametrize("argv", [["serve", "--port", "eighty"], ["launch"],
                                  ["sessions", "delete"], ["search", "--preset", "huge"]])
def test_bad_flags_exit_2_with_a_message(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_worker_without_redis_explains(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NAVIGATOR_REDIS_URL", raising=False)
    assert main(["worker", "--data-dir", str(tmp_path)]) == 2
    assert "needs --redis" in capsys.readouterr().err


def test_lab_needs_redis_and_a_plain_worker_points_to_it(capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NAVIGATOR_REDIS_URL", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert main(["lab", "--data-dir", str(tmp_path)]) == 2
    assert "`navigator lab` needs --redis" in capsys.readouterr().err
    assert main(["worker", "--redis", "redis://127.0.0.1:1/0", "--data-dir", str(tmp_path)]) == 2
    assert "sessions run on Ray: start `navigator lab" in capsys.readouterr().err


def test_bad_config_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "navigator.toml"
    config.write_text("[server]\nport = 99999\n")
    assert main(["sessions", "--config", str(config), "list"]) == 2
    assert "port must be" in capsys.readouterr().err


def test_sessions_list_export_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = RecordingStore(tmp_path / "recordings.sqlite")
    for seq, payload in enumerate([SessionState(state="running", owner="ana"),
                                   CommandAck(command_id="c1", command="pause", user="ana")], 1):
        event = Event.of("s-1", payload)
        event.seq = seq
        store.append(event)
    store.close()
    assert main(["sessions", "--data-dir", str(tmp_path), "list"]) == 0
    assert "s-1  owner=ana" in capsys.readouterr().out
    assert main(["sessions", "--data-dir", str(tmp_path), "export", "s-1", "--format", "csv",
                 "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "s-1-actions.csv").read_text().count("pause") == 1
    assert main(["sessions", "--data-dir", str(tmp_path), "replay", "s-1", "--speed", "1000"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line)["seq"] for line in lines[-2:]] == [1, 2]
    assert main(["sessions", "--data-dir", str(tmp_path), "export", "nope"]) == 2


@pytest.mark.slow
def test_headless_search_completes_on_cpu(tmp_path: Path) -> None:
    result = run_cli("search", "--headless", "--preset", "tiny", "--dataset", "digits",
                     "--epochs", "2", "--extra-generations", "1", "--population", "8", "--data-limit", "600",
                     "--device", "cpu", "--out", str(tmp_path / "best"))
    assert result.returncode == 0, result.stderr
    assert "Top" in result.stdout and "|" in result.stdout
    assert (tmp_path / "best" / "model.py").exists()


def test_headless_search_rejects_bad_dataset() -> None:
    result = run_cli("search", "--headless", "--dataset", "folder:/no/such/dir", "--epochs", "1")
    assert result.returncode == 2 and "does not exist" in result.stderr


@pytest.mark.slow
def test_serve_answers_http_200(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "navigator", "serve", "--port", str(port),
                             "--data-dir", str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    assert response.status == 200
                    assert "NAS Navigator" in response.read().decode()
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.time() < deadline, "server did not answer within 60 s"
                time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("where", ["flag", "environment"])
def test_serve_refuses_a_network_host_and_points_to_gunicorn(
        where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17: ``--host 0.0.0.0`` ran Werkzeug's development server for the network."""
    argv = ["serve", "--data-dir", str(tmp_path), "--port", str(free_port())]
    if where == "flag":
        argv += ["--host", "0.0.0.0"]
    else:
        monkeypatch.setenv("NAVIGATOR_HOST", "0.0.0.0")
        monkeypatch.setenv("NAVIGATOR_SECRET", "cli-test-secret-" + "0123456789abcdef" * 2)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "navigator serve: error: host '0.0.0.0': `navigator serve` runs Werkzeug's " \
           "development server, which must not face a network" in err
    assert "gunicorn -k gevent -w 1 --worker-connections 4000 -b 0.0.0.0:8050 " \
           "'navigator.wsgi:lab_app()'" in err
    assert not (tmp_path / "recordings.sqlite").exists()  # nothing was started


def test_serve_with_cuda_and_no_gpu_fails_at_startup_naming_the_flag(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    assert main(["serve", "--data-dir", str(tmp_path), "--device", "cuda"]) == 2
    assert ("flag --device: device must be 'auto' or 'cpu': no CUDA device is available on this "
            "machine for the embedded workers, got 'cuda'") in capsys.readouterr().err
