"""Session labels people can tell apart, and the dataset check of the start form."""

from __future__ import annotations

from pathlib import Path

from navigator.dataset_check import dataset_problem
from navigator.events import Event, Leaderboard, SessionState
from navigator.session_labels import SessionSummary, session_label


def test_a_summary_folds_name_start_dataset_space_state_and_best() -> None:
    summary = SessionSummary("s-1")
    config = {"name": "wide cells", "template": "tiny", "dataset": "digits"}
    for seq, payload in enumerate([SessionState(state="queued", config=config),
                                   SessionState(state="running"),
                                   Leaderboard(records=[{"arch": "a", "accuracy": 0.81}]),
                                   SessionState(state="paused",
                                                message="search budget used up: fine-tune or stop")], 1):
        event = Event.of("s-1", payload)
        event.seq, event.ts = seq, 1_700_000_000.0 + seq
        summary.apply(event)
    label = summary.label()
    assert label.startswith("wide cells (s-1) · started ")
    assert " · digits · tiny · paused · best 0.810" in label
    assert summary.budget_paused and summary.to_dict()["best"] == 0.81
    tabular = session_label("s-2", {"mode": "tabular", "table_path": "synthetic:2",
                                    "template": {"kind": "cell", "n_nodes": 4}}, None, "running", None)
    assert tabular == "s-2 · table synthetic:2 · custom cell (4 nodes) · running · no result yet"


def test_a_dataset_that_cannot_load_is_named_before_anything_starts(tmp_path: Path) -> None:
    assert dataset_problem("digits") is None
    assert "unknown dataset kind 'mnist'" in (dataset_problem("mnist:/x") or "")
    assert "no file" in (dataset_problem(f"npz:{tmp_path / 'missing.npz'}") or "")
    assert "names no path" in (dataset_problem("cifar10:") or "")
    (tmp_path / "d.npz").write_bytes(b"")
    assert dataset_problem(f"npz:{tmp_path / 'd.npz'}") is None
    assert "no folder" in (dataset_problem(f"folder:{tmp_path / 'd.npz'}") or "")
    # within data roots a path outside them is refused the same whether it exists or not
    roots = [tmp_path / "datasets"]
    assert "outside the data folders" in (dataset_problem(f"npz:{tmp_path / 'd.npz'}", roots) or "")
    assert "outside the data folders" in (dataset_problem("npz:/nope.npz", roots) or "")
