"""CSV, JSONL and zip exports of a study's tables."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

from navigator.recording import RecordingStore
from navigator.study import Study, export_study, export_zip, save_study
from tests.navigator.study.sample import study_events


@pytest.fixture
def study_store(tmp_path: Path) -> RecordingStore:
    store = RecordingStore(tmp_path / "data" / "recordings.sqlite")
    save_study(store, Study(name="pilot", conditions=["human-in-the-loop", "automated"],
                            time_limit_s=300))
    for e in study_events("s1", "P1", "human-in-the-loop") + study_events("s2", "P2", "automated"):
        store.append(e)
    yield store
    store.close()


def test_csv_export_is_one_row_per_action_and_per_session(study_store: RecordingStore,
                                                          tmp_path: Path) -> None:
    paths = export_study(study_store, "pilot", tmp_path / "out", "csv")
    assert sorted(p.name for p in paths.values()) == [
        "pilot-actions.csv", "pilot-best_accuracy.csv", "pilot-outcomes.csv"]
    with paths["actions"].open() as fh:
        actions = list(csv.DictReader(fh))
    assert len(actions) == 12
    first = actions[0]
    assert (first["study"], first["participant"], first["condition"], first["session"],
            first["kind"], first["t_since_start"]) == ("pilot", "P1", "human-in-the-loop", "s1",
                                                       "map_color", "18.0")
    assert json.loads(first["detail"]) == {"color": "params"}
    with paths["outcomes"].open() as fh:
        outcomes = list(csv.DictReader(fh))
    assert [(o["participant"], o["condition"], o["best_accuracy"], o["n_edits"], o["best_at_600s"])
            for o in outcomes] == [("P1", "human-in-the-loop", "0.8", "3", ""),
                                   ("P2", "automated", "0.8", "3", "")]
    assert outcomes[0]["time_to_top1pct_s"] == "198.0" and outcomes[0]["time_limit_s"] == "300.0"
    with paths["best_accuracy"].open() as fh:
        assert len(list(csv.DictReader(fh))) == 8
    try:
        import pandas as pd  # not a dependency: checked only where it happens to be installed
    except ImportError:
        return
    assert pd.read_csv(paths["outcomes"])["best_accuracy"].tolist() == [0.8, 0.8]


def test_jsonl_and_zip_exports(study_store: RecordingStore, tmp_path: Path) -> None:
    paths = export_study(study_store, "pilot", tmp_path / "j", "jsonl")
    outcomes = [json.loads(line) for line in paths["outcomes"].read_text().splitlines()]
    assert outcomes[1]["participant"] == "P2" and outcomes[1]["best_at_600s"] is None
    assert outcomes[1]["hit_time_limit"] is True
    with zipfile.ZipFile(io.BytesIO(export_zip(study_store, "pilot", "csv"))) as zf:
        assert sorted(zf.namelist()) == ["pilot-actions.csv", "pilot-best_accuracy.csv",
                                         "pilot-outcomes.csv"]
    with pytest.raises(ValueError, match="'csv' or 'jsonl'"):
        export_study(study_store, "pilot", tmp_path, "xlsx")

