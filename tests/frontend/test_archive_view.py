"""The archive's server-side ranking, filtering, sorting and paging (frontend/archive_view.py)."""

from __future__ import annotations

import pytest

from frontend.archive_view import archive_page
from frontend.ranking import ranked_rows


def _record(arch: str, accuracy: float, loss: float, params: int = 100) -> dict:
    return {"arch": arch, "accuracy": accuracy, "loss": loss, "params": params, "flops": 10,
            "latency_ms": 0.5, "generation": 1}


def test_ties_are_broken_by_loss_then_evaluations_and_say_so() -> None:
    records = [_record("a", 0.9, 0.5), _record("b", 0.9, 0.3), _record("c", 0.95, 0.9),
               _record("d", 0.9, 0.3)]
    rows = ranked_rows(records, {"a": 1, "b": 1, "d": 4})
    assert [r["arch"] for r in rows] == ["c", "d", "b", "a"]
    assert [r["tie"] for r in rows] == ["", "", "evaluations", "loss"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    assert ranked_rows([_record("y", 0.9, 0.3), _record("x", 0.9, 0.3)], {})[1]["tie"] == \
        "name (exact tie)"


def test_a_page_is_the_requested_block_after_filters_and_sort() -> None:
    rows = ranked_rows([_record(f"a{i:04d}", i / 3000, 1 - i / 3000, params=i) for i in range(3000)], {})
    page = archive_page(rows, {"startRow": 100, "endRow": 200})
    assert page["rowCount"] == 3000 and len(page["rowData"]) == 100
    assert page["rowData"][0]["rank"] == 101 and page["rowData"][0]["arch"] == "a2899"
    over = archive_page(rows, {"startRow": 0, "endRow": 50, "sortModel": [{"colId": "params",
                                                                          "sort": "asc"}],
                              "filterModel": {"accuracy": {"filterType": "number",
                                                           "type": "greaterThan", "filter": 0.5}}})
    assert over["rowCount"] == sum(i / 3000 > 0.5 for i in range(3000))
    assert [r["params"] for r in over["rowData"][:2]] == [1501, 1502]
    text = archive_page(rows, {"filterModel": {"arch": {"filterType": "text", "type": "endsWith",
                                                        "filter": "99"}}})
    assert text["rowCount"] == 30  # a0099, a0199, ... a2999
    either = archive_page(rows, {"filterModel": {"params": {
        "filterType": "number", "operator": "OR", "conditions": [
            {"filterType": "number", "type": "lessThan", "filter": 2},
            {"filterType": "number", "type": "inRange", "filter": 10, "filterTo": 12}]}}})
    assert sorted(r["params"] for r in either["rowData"]) == [0, 1, 10, 11, 12]


def test_an_unknown_filter_is_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match="unknown number filter"):
        archive_page(ranked_rows([_record("a", 0.5, 0.5)], {}),
                     {"filterModel": {"loss": {"filterType": "number", "type": "near", "filter": 1}}})
