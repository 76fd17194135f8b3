"""The start form's check accepts the generated and packaged task datasets (issue 15)."""

from __future__ import annotations

from navigator.dataset_check import dataset_problem


def test_darcy_and_aeon_specs_need_no_file() -> None:
    assert dataset_problem("darcy") is None
    assert dataset_problem("darcy:500") is None
    assert dataset_problem("aeon:BasicMotions") is None


def test_malformed_task_specs_are_refused_with_the_accepted_forms() -> None:
    assert "number of samples" in (dataset_problem("darcy:lots") or "")
    assert "names no aeon set" in (dataset_problem("aeon:") or "")
