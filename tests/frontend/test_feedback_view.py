"""The status line says what a session really does (frontend/feedback_view.py)."""

from __future__ import annotations

from frontend.feedback_view import budget_note, progress_line, remember


def _tick(epoch: int = 0, step: int = 5) -> dict:
    return {"epoch": epoch, "epochs": 3, "step": step, "steps_per_epoch": 10, "loss": 1.2,
            "accuracy": 0.4, "samples_per_s": 900.0, "eta_s": 42.0}


def test_only_a_running_session_has_an_eta() -> None:
    assert "ETA 42s" in progress_line([_tick()], "running", "", "supernet")[1]
    pct, text = progress_line([_tick()], "stopped", "stopped by ana", "supernet")
    assert "ETA" not in text and text.startswith("stopped at epoch 1/3") and pct > 0
    assert "ETA" not in progress_line([_tick()], "paused", "", "supernet")[1]


def test_no_waiting_for_training_where_nothing_is_trained() -> None:
    assert "nothing is trained" in progress_line([], "running", "", "tabular")[1]
    assert progress_line([], "failed", "no file 'x.npz'", "supernet")[1] == "failed: no file 'x.npz'"
    assert progress_line([], "queued", "position 1 of 1", None)[1] == "queued: position 1 of 1"
    assert progress_line([], "running", "", "supernet")[1] == "waiting for the first training step"
    assert progress_line([], "stopped", "", "supernet")[1] == "stopped before the first training step"


def test_the_sent_store_keeps_one_sessions_commands() -> None:
    sent = remember(None, "s-1", "c1", "pause", "control-feedback")
    sent = remember(sent, "s-1", "c2", "export", "export-feedback")
    assert sent == {"session": "s-1", "sent": {"c1": ["pause", "control-feedback"],
                                               "c2": ["export", "export-feedback"]}}
    assert remember(sent, "s-2", "c3", "stop", "x")["sent"] == {"c3": ["stop", "x"]}


def test_the_budget_box_says_when_its_floor_raised_it() -> None:
    assert budget_note(0.5, 0.8, 3.0, floor_moved=False).startswith("raised to 0.80 ms")
    assert budget_note(0.8, 0.8, 3.0, floor_moved=True).startswith("raised to 0.80 ms")
    assert budget_note(0.8, 0.8, 3.0, floor_moved=False) == ""
    assert budget_note(1.2, 0.8, 3.0, floor_moved=True) == ""
    assert budget_note(4.0, 0.8, 3.0, floor_moved=False).startswith("lowered to 3.00 ms")
    assert budget_note(None, 0.8, 3.0, floor_moved=True) == ""
