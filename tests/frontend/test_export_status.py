"""The export control's status line: where the last export lies and what its saved weights score."""

from __future__ import annotations

from frontend.callbacks import export_status


def test_export_status_names_the_folder_and_the_measured_accuracy() -> None:
    assert export_status(None) == ""
    trained = {"arch": "a", "files": {"model": "/x/v2/model.py"}, "folder": "/x/v2",
               "metrics": {"test_accuracy": 0.9123, "train_epochs": 2,
                           "curve": [{"epoch": 1, "val_accuracy": 0.8}, {"epoch": 2, "val_accuracy": 0.9}]}}
    text = export_status(trained)
    assert text.startswith("last export: /x/v2") and "test accuracy 0.912" in text
    assert "after 2 stand-alone epochs" in text and "0.80, 0.90" in text
    old = {"arch": "a", "files": {"model": "/x/model.py"}}  # an event recorded before metrics
    assert export_status(old) == "last export: /x/model.py"
