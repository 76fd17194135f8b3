"""The fitness table of a lower-is-better task in its own units: errors, not negated errors,
under a title that says the direction, with the colour scale reversed (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest

from frontend import figures
from frontend.metric_units import fitness_label, heatmap_units, in_metric_units
from supernet.fitness import FitnessTable
from supernet.records import CandidateRecord
from supernet.space import SearchSpace
from supernet.tasks import Task, rank_value

FIELD = Task(kind="field_regression").describe()


def _errors_table() -> tuple[SearchSpace, FitnessTable, dict[str, list[float]]]:
    """A fitness table counted as the engine counts a lower-is-better task (rank values)."""
    space = SearchSpace.from_preset("tiny")
    rng = np.random.default_rng(0)
    archs = list(space.all_archs())[:40]
    records = [CandidateRecord(arch=space.to_string(a), index=k, accuracy=float(rng.uniform(0.05, 0.9)),
                               loss=0.0, params=1, flops=1) for k, a in enumerate(archs)]
    table = FitnessTable(space)
    table.update(records, key=lambda r: rank_value(r.accuracy, False))
    first = list(space)[0].name
    errors: dict[str, list[float]] = {}
    for a, r in zip(archs, records):
        errors.setdefault(a[0], []).append(r.accuracy)
    return space, table, {f"{first}|{op}": v for op, v in errors.items()}


def test_a_negated_error_table_is_shown_as_errors() -> None:
    space, table, errors = _errors_table()
    raw = table.to_dict()
    shown = in_metric_units(raw, FIELD)
    first = list(space)[0].name
    for key, values in errors.items():
        op = key.split("|")[1]
        cell = shown[first][op]
        assert raw[first][op]["mean"] < 0  # the engine counts the negated error
        assert cell["mean"] == pytest.approx(np.mean(values))
        assert cell["best"] == pytest.approx(min(values))  # the best error is the lowest
        if len(values) >= 2:
            assert cell["ci_low"] < cell["mean"] < cell["ci_high"]
        if cell["quantile"] is not None:
            assert cell["q"] == pytest.approx(0.1)  # the good tail of an error: its low end
            assert cell["quantile"] == pytest.approx(np.quantile(values, 0.1))
    assert in_metric_units(raw, {}) is raw  # accuracy: already in its units
    assert in_metric_units(raw, FIELD, rank_by="synflow") is raw  # an estimator's scores


def test_the_heatmap_names_the_metric_and_reverses_its_colours() -> None:
    space, table, _ = _errors_table()
    cps = [cp.to_dict() for cp in space]
    matrix, label, lower = heatmap_units(table.to_dict(), FIELD, {})
    assert label == "relative L2 error (lower is better)" and lower
    fig = figures.fitness_heatmap(cps, matrix, {"pruned": {}, "locked": {}}, label=label,
                                  lower_is_better=lower)
    heat = fig.data[1]
    assert heat.reversescale is True and heat.colorbar.title.text == label
    assert "relative L2 error" in fig.layout.title.text
    hovers = [h for row in heat.customdata for h in row if h]
    assert any("(lowest of n=" in h for h in hovers) and any("10th percentile" in h for h in hovers)
    assert not any("highest of" in h or "90th percentile" in h for h in hovers)
    assert all(z is None or z > 0 for row in heat.z for z in row)  # errors, not negated
    accuracy = figures.fitness_heatmap(cps, table.to_dict(), {"pruned": {}, "locked": {}})
    assert not accuracy.data[1].reversescale and accuracy.data[1].colorbar.title.text == "accuracy"
    assert fitness_label(FIELD, "synflow") == "synflow (higher is better)"
    assert heatmap_units(table.to_dict(), FIELD, {"rank_by": "synflow"})[2] is False


def test_the_block_view_keeps_good_blocks_on_the_right_for_errors() -> None:
    space, table, _ = _errors_table()
    names = [cp.name for cp in space]
    matrix, label, lower = heatmap_units(table.to_dict(), FIELD, {})
    fig = figures.block_information(matrix, {"pruned": {}, "locked": {}}, False, names, label,
                                    lower)
    assert fig.layout.xaxis.autorange == "reversed" and label in fig.layout.xaxis.title.text
    dots = [x for trace in fig.data if trace.meta and trace.meta.get("choice_point") for x in trace.x]
    assert dots and all(x > 0 for x in dots)  # errors, not negated errors
    assert any(f"mean {label}" in h for trace in fig.data for h in (trace.hovertext or ()))
    plain = figures.block_information(table.to_dict(), {"pruned": {}, "locked": {}}, False, names)
    assert plain.layout.xaxis.autorange != "reversed"
    assert "mean accuracy" in plain.layout.xaxis.title.text
