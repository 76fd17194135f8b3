"""A locked tabular session: candidates carry both accuracies, and so does an export."""

from __future__ import annotations

import json
from pathlib import Path

from navigator.bus import MemoryBus
from supernet.space import SearchSpace
from supernet.tabular.synthetic import synthetic_table
from tests.navigator.test_worker import Running


def test_candidates_and_exports_record_source_and_target(tmp_path: Path) -> None:
    table = synthetic_table(SearchSpace.from_preset("nb201"), 6, datasets=("mine", "theirs"))
    path = table.write_csv(tmp_path / "two.csv")
    config = {"template": "nb201", "mode": "tabular", "table_path": str(path),
              "table_dataset": "mine", "search": {"population": 8, "parents": 3},
              "measure_latency": False,
              "archlock": {"targets": ["theirs"], "tolerance": 3.0, "source_generations": 1}}
    run = Running(MemoryBus(), tmp_path, config, extra_generations=3)
    try:
        first = run.wait(lambda e: e.type == "candidates").data["records"]
        theirs = table.with_dataset("theirs")
        assert all(r["scores"]["target:theirs"] == theirs.lookup(r["arch"]) for r in first)
        assert all(r["scores"]["archlock_feasible"] in (0.0, 1.0) for r in first)
        arch = next(r["arch"] for r in first if r["scores"]["archlock_feasible"])
        reply = run.command("export", arch=arch)
        assert reply.type == "command_ack"
        exported = run.since(reply, lambda e: e.type == "exported")
        lock = exported.data["metrics"]["archlock"]
        assert lock["source_accuracy"] == table.lookup(arch)
        assert lock["targets"] == {"theirs": theirs.lookup(arch)} and lock["feasible"]
        written = json.loads(Path(exported.data["files"]["json"]).read_text())
        assert written["archlock"] == lock
    finally:
        run.stop()


def test_a_session_locked_against_the_unknown_target_records_it(tmp_path: Path) -> None:
    table = synthetic_table(SearchSpace.from_preset("nb201"), 7, datasets=("mine", "other"))
    path = table.write_csv(tmp_path / "two.csv")
    config = {"template": "nb201", "mode": "tabular", "table_path": str(path),
              "table_dataset": "mine", "search": {"population": 8, "parents": 3},
              "measure_latency": False,
              "archlock": {"unknown_target": True, "source_generations": 0, "probe_archs": 32}}
    run = Running(MemoryBus(), tmp_path, config, extra_generations=2)
    try:
        first = run.wait(lambda e: e.type == "candidates").data["records"]
        assert all(0.0 <= r["scores"]["target:unknown"] <= 1.0 for r in first)
        arch = first[0]["arch"]
        reply = run.command("export", arch=arch)
        exported = run.since(reply, lambda e: e.type == "exported")
        lock = exported.data["metrics"]["archlock"]
        assert lock["targets"] == {"unknown": first[0]["scores"]["target:unknown"]}
        assert lock["config"]["unknown_target"] is True
    finally:
        run.stop()
