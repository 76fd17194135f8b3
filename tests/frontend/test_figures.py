"""frontend/figures.py: pure functions, plain data in, go.Figure out."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import pytest

from frontend import figures
from supernet.space import SearchSpace


def _progress(epoch: int, step: int, epochs: int = 2, steps: int = 10, eta: float = 75) -> dict:
    return {"epoch": epoch, "epochs": epochs, "step": step, "steps_per_epoch": steps,
            "loss": 1.5 - 0.1 * step, "accuracy": 0.05 * step, "samples_per_s": 1234.0,
            "eta_s": eta}


def _snapshot(n: int = 3) -> dict:
    archs = [f"arch{i}" for i in range(n)]
    return {"archs": archs, "x": [float(i) for i in range(n)], "y": [2.0 * i for i in range(n)],
            "values": {"accuracy": [0.5 + 0.1 * i for i in range(n)],
                       "params": [1000 * (i + 1) for i in range(n)],
                       "generation": list(range(n)),
                       "robustness": [None] + [0.3] * (n - 1)},
            "version": 0, "total": n}


def test_training_curves_has_loss_and_accuracy_on_two_axes() -> None:
    fig = figures.training_curves([_progress(0, s) for s in range(1, 11)] + [_progress(1, 5)])
    assert isinstance(fig, go.Figure)
    loss, acc = fig.data
    assert (loss.name, acc.name) == ("loss", "train-batch accuracy")
    assert figures.TRAIN_ACCURACY in fig.layout.title.text  # says which accuracy it plots
    assert acc.yaxis == "y2" and loss.yaxis in (None, "y")
    assert list(loss.x)[:2] == [0.1, 0.2] and list(loss.x)[-1] == 1.5  # epoch + step fraction
    assert list(acc.y)[-1] == pytest.approx(0.25)


def test_training_curves_smoothing_is_a_trailing_mean() -> None:
    assert figures.smoothed([1.0, 3.0, 5.0, 7.0], 2) == [1.0, 2.0, 4.0, 6.0]
    assert figures.smoothed([1.0, 3.0], 1) == [1.0, 3.0]
    fig = figures.training_curves([_progress(0, s) for s in range(1, 11)], window=5)
    assert "mean of 5 steps" in fig.layout.title.text
    assert list(fig.data[0].y)[4] == pytest.approx(sum(list(figures.training_curves(
        [_progress(0, s) for s in range(1, 11)]).data[0].y)[:5]) / 5)


def test_training_curves_empty_and_dark() -> None:
    fig = figures.training_curves([], dark=True)
    assert len(fig.data) == 2 and len(fig.data[0].x) == 0
    assert fig.layout.template.layout.paper_bgcolor != go.Figure(
        figures.training_curves([])).layout.template.layout.paper_bgcolor


def test_progress_summary_percent_and_eta() -> None:
    assert figures.progress_summary([]) == (0.0, "waiting for the first training step")
    pct, text = figures.progress_summary([_progress(0, 5)])
    assert pct == pytest.approx(25.0)
    assert "epoch 1/2" in text and "1m 15s" in text and "1,234 samples/s" in text
    pct, _ = figures.progress_summary([_progress(1, 10, eta=0)])
    assert pct == pytest.approx(100.0)
    pct, text = figures.progress_summary([_progress(0, 10, eta=9)])  # last step of epoch 1
    assert pct == pytest.approx(50.0) and "ETA 9s" in text


def test_map_trace_is_webgl_with_arch_in_customdata() -> None:
    trace = figures.map_trace(_snapshot(), "accuracy")
    assert trace["type"] == "scattergl" and trace["mode"] == "markers"
    assert trace["x"] == [0.0, 1.0, 2.0] and trace["y"] == [0.0, 2.0, 4.0]
    assert [c[0] for c in trace["customdata"]] == ["arch0", "arch1", "arch2"]
    assert trace["marker"]["color"] == pytest.approx([0.5, 0.6, 0.7])
    assert "%{customdata[0]}" in trace["hovertemplate"]


@pytest.mark.parametrize("key", ["params", "generation", "robustness"])
def test_map_colour_switches_to_any_column(key: str) -> None:
    snap = _snapshot()
    trace = figures.map_trace(snap, key)
    assert trace["marker"]["color"] == snap["values"][key]
    assert trace["marker"]["colorbar"]["title"]["text"] == figures.COLOR_LABELS.get(key, key)


def test_map_colour_by_missing_key_gives_no_colour_but_same_length() -> None:
    trace = figures.map_trace(_snapshot(), "latency_ms")
    assert trace["marker"]["color"] == [None, None, None]


def test_architecture_map_selects_with_lasso_and_counts_points() -> None:
    fig = figures.architecture_map(_snapshot(5), "accuracy", method="UMAP")
    assert fig.layout.dragmode == "lasso"
    assert fig.data[0].type == "scattergl" and len(fig.data[0].x) == 5
    assert "5 candidates" in fig.layout.title.text and "UMAP" in fig.layout.title.text
    assert fig.layout.uirevision  # zoom survives live updates
    empty = figures.architecture_map({"archs": [], "x": [], "y": [], "values": {}})
    assert len(empty.data[0].x) == 0


def test_architecture_map_handles_10k_points_quickly() -> None:
    import time

    n = 10_000
    snap = {"archs": [str(i) for i in range(n)], "x": [0.0] * n, "y": [1.0] * n,
            "values": {"accuracy": [0.5] * n}, "version": 1, "total": n}
    t0 = time.perf_counter()
    trace = figures.map_trace(snap)
    assert len(trace["customdata"]) == n
    assert time.perf_counter() - t0 < 1.0


def _heatmap_inputs() -> tuple[list[dict], dict, dict]:
    space = SearchSpace.from_preset("tiny")
    cps = [cp.to_dict() for cp in space]
    matrix = {"1<-0": {"none": {"mean": 0.4, "count": 3}, "nor_conv_3x3": {"mean": 0.7, "count": 5}},
              "2<-0": {"skip_connect": {"mean": 0.6, "count": 2}}}
    steering = {"pruned": {"1<-0": ["none"]}, "locked": {"2<-1": "nor_conv_1x1"},
                "weights": {}, "focus": []}
    return cps, matrix, steering


def test_fitness_heatmap_colours_counts_pruned_and_locked() -> None:
    cps, matrix, steering = _heatmap_inputs()
    fig = figures.fitness_heatmap(cps, matrix, steering)
    grey, heat = fig.data
    ops, names = list(heat.x), list(heat.y)
    assert names == [cp["name"] for cp in cps]
    assert ops[:5] == ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
    r, c = names.index("1<-0"), ops.index("nor_conv_3x3")
    assert heat.z[r][c] == pytest.approx(0.7) and "n=5" in heat.text[r][c]
    # pruned: no fitness colour, drawn on the grey layer
    c_none = ops.index("none")
    assert heat.z[r][c_none] is None and grey.z[r][c_none] == 1
    # locking 2<-1 greys every other op of that edge and marks the locked one
    r_locked = names.index("2<-1")
    c_locked = ops.index("nor_conv_1x1")
    assert figures.LOCK_MARK in heat.text[r_locked][c_locked] and grey.z[r_locked][c_locked] is None
    # excluded by the lock: drawn apart from pruned cells (2, not 1), and the legend says so
    assert all(grey.z[r_locked][k] == figures.LOCKED_OUT for k in range(len(ops)) if k != c_locked)
    assert "pruned" in fig.layout.annotations[0].text and "lock" in fig.layout.annotations[0].text
    # never evaluated: count 0, no colour, not grey
    r2 = names.index("3<-2")
    assert heat.z[r2][c] is None and heat.text[r2][c] == "n=0" and grey.z[r2][c] is None


def test_chain_heatmap_columns_follow_the_choice_points() -> None:
    cps = [{"name": "layer1.block", "candidates": ["conv3x3", "sep_conv3x3"]},
           {"name": "layer1.pool", "candidates": ["max_pool", "identity"]},
           {"name": "head", "candidates": ["dense64", "conv3x3"]}]
    assert figures.heatmap_columns(cps) == ["conv3x3", "sep_conv3x3", "max_pool", "identity",
                                            "dense64"]


def test_fitness_heatmap_blank_for_ops_an_edge_does_not_offer() -> None:
    cps = [{"name": "1<-0", "candidates": ["none", "skip_connect"]},
           {"name": "2<-0", "candidates": ["nor_conv_3x3"]}]
    fig = figures.fitness_heatmap(cps, {}, {"pruned": {}, "locked": {}})
    heat = fig.data[1]
    ops = list(heat.x)
    assert set(ops) == {"none", "skip_connect", "nor_conv_3x3"}
    assert heat.text[1][ops.index("none")] == "" and heat.text[0][ops.index("nor_conv_3x3")] == ""


def test_cell_graph_draws_every_edge_labelled_with_its_op() -> None:
    space = SearchSpace.from_preset("tiny")
    arch = ("nor_conv_3x3", "skip_connect", "none", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3")
    text = space.to_string(arch)
    record = {"accuracy": 0.812, "params": 12345, "flops": 678900, "latency_ms": 1.5}
    fig = figures.cell_graph(text, record, title="Selected")
    edges = [t for t in fig.data if t.mode == "lines"]
    assert len(edges) == len(space)  # one curve per edge
    labels = [a.text for a in fig.layout.annotations]
    assert sorted(labels[: len(space)]) == sorted(arch)
    nodes = [t for t in fig.data if t.mode == "markers+text"][0]
    assert list(nodes.text) == ["0", "1", "2", "3"]
    metrics = labels[-1]
    assert "0.812" in metrics and "12,345" in metrics and "678,900" in metrics and "1.50 ms" in metrics
    none_edge = [t for t in edges if t.line.dash == "dot"]
    assert len(none_edge) == 1  # 'none' is drawn dotted
    assert fig.layout.title.text == "Selected"


def test_cell_graph_placeholder_and_missing_latency() -> None:
    fig = figures.cell_graph(None)
    assert not fig.data and "click a point" in fig.layout.annotations[0].text
    fig = figures.cell_graph("|skip_connect~0|", {"accuracy": 0.5, "params": 1, "flops": 2,
                                                  "latency_ms": None}, dark=True)
    assert "latency" not in fig.layout.annotations[-1].text
    xs = [t.x for t in fig.data if t.mode == "markers+text"][0]
    assert all(math.isfinite(x) for x in xs)


def test_candidate_summary_leaves_out_metrics_the_worker_did_not_send() -> None:
    full = {"accuracy": 0.9, "params": 12345, "flops": 678, "latency_ms": 1.5}
    assert figures.candidate_summary(full) == ("accuracy 0.900 · params 12,345 · FLOPs 678 · "
                                               "latency 1.50 ms")
    table_row = {"accuracy": 0.9, "params": None, "flops": None, "latency_ms": None}
    assert figures.candidate_summary(table_row) == "accuracy 0.900"


def test_architecture_graph_draws_cells_and_chains() -> None:
    cell = figures.architecture_graph("|nor_conv_3x3~0|+|skip_connect~0|none~1|", None)
    assert any(a.text == "nor_conv_3x3" for a in cell.layout.annotations)
    chain = figures.architecture_graph("conv3x3,max|sep3x3,avg|dense2", {"accuracy": 0.5})
    bricks = [a.text for a in chain.layout.annotations if a.text in ("conv3x3", "max", "sep3x3", "avg", "dense2")]
    assert bricks == ["conv3x3", "max", "sep3x3", "avg", "dense2"]
    assert len(chain.layout.shapes) == 5
    assert [a.text for a in chain.layout.annotations if a.text in ("L1", "L2", "head")] == ["L1", "L2", "head"]


def test_template_strip_outlines_the_hovered_block_and_fades_what_steering_shuts_out() -> None:
    cps = [{"name": "layer1.block", "candidates": ["conv3x3", "sep3x3"]},
           {"name": "head", "candidates": ["dense1", "dense2", "dense3"]}]
    steering = {"pruned": {"layer1.block": ["sep3x3"]}, "locked": {"head": "dense2"}}
    fig = figures.template_strip(cps, steering, ("head", "dense3"))
    shapes = {s.name: s for s in fig.layout.shapes}
    assert len(fig.layout.shapes) == 5 and set(shapes) == {
        "layer1.block/conv3x3", "layer1.block/sep3x3", "head/dense1", "head/dense2", "highlight"}
    mark = shapes["highlight"]
    assert mark.x0 < 1 < mark.x1 and mark.line.color == figures.HIGHLIGHT_COLOUR
    assert shapes["layer1.block/sep3x3"].opacity < shapes["layer1.block/conv3x3"].opacity
    assert shapes["head/dense1"].opacity < shapes["head/dense2"].opacity  # shut out by the lock
    assert shapes["head/dense2"].line.width == 2  # the locked one
    assert len(figures.template_strip(cps, steering).layout.shapes) == 5
    assert not any(s.name == "highlight" for s in figures.template_strip(cps, steering).layout.shapes)


def test_architecture_map_draws_a_given_selection_as_selected_points() -> None:
    snap = _snapshot(5)
    fig = figures.architecture_map(snap, selected=[snap["archs"][3], snap["archs"][1], "gone"])
    assert list(fig.data[0].selectedpoints) == [1, 3]
    assert fig.layout.title.text.endswith("· 2 selected")
    assert figures.architecture_map(snap).data[0].selectedpoints is None  # live map: untouched
    assert list(figures.architecture_map(snap, selected=[]).data[0].selectedpoints) == []


def test_map_hover_shows_generation_flops_and_latency() -> None:
    snapshot = {"archs": ["a", "b"], "x": [0.0, 1.0], "y": [0.0, 1.0],
                "values": {"accuracy": [0.5, 0.6], "params": [10, 20], "generation": [3, None],
                           "flops": [1200000, None], "latency_ms": [1.234, None]}}
    trace = figures.map_trace(snapshot)
    assert trace["customdata"][0][3] == "generation 3 · FLOPs 1,200,000 · latency 1.23 ms"
    assert trace["customdata"][1][3] == "generation ? · FLOPs ? · latency ?"
    assert "%{customdata[3]}" in trace["hovertemplate"]
