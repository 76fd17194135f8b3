"""The safety preview, the evidence hovers and the pair heatmap, on hand-made data."""

from __future__ import annotations

from frontend.edits import block_edit, safety
from frontend.evidence_figures import cell_evidence_lines, pair_heatmap, with_model
from frontend.figures import fitness_heatmap
from supernet.space import SearchSpace
from supernet.steering import SteeringState


def _space() -> tuple[SearchSpace, dict]:
    sp = SearchSpace.from_preset("nb201")
    doc = {"template": sp.to_dict(), "choice_points": [cp.to_dict() for cp in sp]}
    return sp, doc


def _records(sp: SearchSpace) -> list[dict]:
    """12 records, best first; the best and two others use none on 1<-0."""
    ops = sp.choice_point("1<-0").candidates
    out = []
    for k in range(12):
        first = "none" if k in (0, 4, 7) else ops[1 + k % 4]
        arch = (first,) + tuple(sp.choice_points[j].candidates[(k + j) % 5] for j in range(1, 6))
        out.append({"arch": sp.to_string(arch), "accuracy": 0.9 - 0.01 * k})
    return out


def test_the_preview_counts_the_top_ten_an_edit_excludes() -> None:
    sp, doc = _space()
    steering = SteeringState(sp).to_dict()
    records = _records(sp)
    line = safety(steering, doc, "prune_op", {"choice_point": "1<-0", "op": "none"}, records)
    # of the top 10 (k = 0..9) the ones at k = 0, 4, 7 use none: 3, the best among them
    assert "excludes 3 of the top 10 INCLUDING THE BEST SO FAR" in line
    assert "inside 0.890 (n=9) vs outside 0.900 (n=3)" in line
    lock = safety(steering, doc, "lock_edge", {"choice_point": "1<-0", "op": "none"}, records)
    assert lock.startswith("excludes 7 of the top 10 ·")
    edit, text = block_edit(steering, doc, "prune", "1<-0", "none", records)
    assert edit == {"type": "prune_op", "args": {"choice_point": "1<-0", "op": "none"}}
    assert "excludes 3 of the top 10" in text and text.endswith("Confirm?")


def test_the_preview_adds_the_models_estimate_when_there_is_one() -> None:
    sp, doc = _space()
    potential = {cp.name: {op: {"value": 0.8, "low": 0.7, "high": 0.9} for op in cp.candidates}
                 for cp in sp}
    potential["1<-0"]["none"] = {"value": 0.95, "low": 0.9, "high": 0.97}
    evidence = {"count": 12, "refits": 3, "potential": potential}
    line = safety(SteeringState(sp).to_dict(), doc, "prune_op",
                  {"choice_point": "1<-0", "op": "none"}, _records(sp), evidence)
    assert "model's best reachable inside 0.800 vs outside 0.950 (3 fits on n=12)" in line


def test_every_hover_number_carries_its_count_and_interval() -> None:
    cell = {"mean": 0.9, "ci_low": 0.88, "ci_high": 0.92, "count": 14, "best": 0.95,
            "quantile": 0.94, "q_low": 0.93, "q_high": None, "q": 0.9,
            "model": {"count": 40, "refits": 3, "pd": {"value": 0.91, "low": 0.9, "high": 0.92}}}
    lines = cell_evidence_lines(cell)
    assert lines[0] == "mean 0.900 (95% CI 0.880 to 0.920, n=14)"
    assert lines[1] == "best 0.950 (highest of n=14)"
    assert lines[2] == "90th percentile 0.940 (95% CI 0.930 to …, n=14)"
    assert lines[3] == ("model: partial dependence 0.910 (range 0.900 to 0.920 over 3 fits on "
                        "n=40)")
    assert cell_evidence_lines({"count": 0}) == ["not evaluated yet (n=0)"]


def test_the_heatmap_hover_shows_the_evidence() -> None:
    sp, doc = _space()
    matrix = {cp.name: {op: {"mean": 0.5, "ci_low": 0.4, "ci_high": 0.6, "count": 3,
                             "best": 0.7, "quantile": 0.65, "q_low": 0.5, "q_high": None,
                             "q": 0.9} for op in cp.candidates} for cp in sp}
    evidence = {"count": 9, "refits": 2,
                "potential": {"1<-0": {"none": {"value": 0.6, "low": 0.5, "high": 0.7}}}}
    fig = fitness_heatmap(doc["choice_points"], with_model(matrix, evidence),
                          SteeringState(sp).to_dict())
    hover = fig.data[-1].customdata
    assert "best 0.700 (highest of n=3)" in hover[0][0]
    assert "model: best reachable 0.600" in hover[0][0]


def test_the_pair_heatmap_counts_each_op_pair() -> None:
    sp, doc = _space()
    records = _records(sp)
    fig = pair_heatmap(doc, records, "1<-0", "2<-0")
    heat = fig.data[0]
    total = sum(int(t.removeprefix("n=")) for row in heat.text for t in row)
    assert total == len(records)
    assert list(heat.y) == list(sp.choice_point("1<-0").candidates)
