"""`navigator study create|list|export`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from navigator.cli import main
from navigator.recording import RecordingStore
from tests.navigator.study.sample import study_events


def test_cli_study_create_list_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path)
    assert main(["study", "--data-dir", data, "create", "pilot", "--conditions",
                 "human-in-the-loop,automated", "--time-limit", "300", "--task", "go"]) == 0
    store = RecordingStore(tmp_path / "recordings.sqlite")
    for e in study_events():
        store.append(e)
    store.close()
    assert main(["study", "--data-dir", data, "list"]) == 0
    out = capsys.readouterr().out
    assert "pilot  conditions=human-in-the-loop,automated  time_limit=300s  sessions=1" in out
    assert "s1  participant=P1  condition=human-in-the-loop" in out
    assert main(["study", "--data-dir", data, "export", "pilot", "--out", str(tmp_path / "o"),
                 "--format", "jsonl"]) == 0
    lines = (tmp_path / "o" / "pilot-actions.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["participant"] == "P1" and len(lines) == 6
    assert main(["study", "--data-dir", data, "export", "nope"]) == 2
    assert "no study 'nope'" in capsys.readouterr().err
    assert main(["study", "--data-dir", data, "create", "bad", "--conditions", ","]) == 2
    assert "at least one condition" in capsys.readouterr().err

