"""The hardware panel's data preparation and figures (pure functions)."""

from __future__ import annotations

import base64

import pytest

from frontend import figures
from frontend.hardware_view import (
    decode_upload,
    front_csv,
    front_of,
    hardware_summary,
    score_correlations,
    thin_cloud,
)


def test_score_correlations_rank_every_usable_score_against_accuracy() -> None:
    acc = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    values = {"accuracy": acc, "loss": [1, 2, 3, 4, 5, 6], "generation": [0, 0, 1, 1, 2, 2],
              "synflow": [1.0, 2.0, 3.0, 4.0, 5.0, 60.0],   # monotone: 1
              "naswot": [6, 5, 4, 3, 2, 1],                  # reversed: -1
              "flat": [3, 3, 3, 3, 3, 3],                    # constant: undefined
              "sparse": [1, None, None, None, 2, 3],         # too few points
              "params": [5, None, 7, 8, 9, 10]}              # one missing: still 5 points
    out = score_correlations(values)
    assert set(out) == {"synflow", "naswot", "params"}
    assert out["synflow"] == {"spearman": pytest.approx(1.0), "kendall": pytest.approx(1.0)}
    assert out["naswot"]["spearman"] == pytest.approx(-1.0)
    assert out["params"]["kendall"] == pytest.approx(1.0)


def test_front_of_skips_points_without_a_cost() -> None:
    costs = [1.0, None, 2.0, 3.0, 2.5, 1.0]
    acc = [0.5, 0.99, 0.7, 0.9, 0.6, 0.4]
    assert sorted(front_of(costs, acc)) == [0, 2, 3]  # 4 is dominated by 2, 5 by 0


def test_front_csv_puts_the_cost_first() -> None:
    rows = [{"arch": "a", "accuracy": 0.5, "params": 10, "flops": 20, "latency_ms": 1.0, "x": 3}]
    text = front_csv(rows, "params")
    assert text.splitlines() == ["arch,accuracy,params,flops,latency_ms", "a,0.5,10,20,1.0"]


def test_hardware_summary_reads_like_a_sentence() -> None:
    assert "waiting" in hardware_summary({})
    text = hardware_summary({"measured": 40, "predictor_srcc": 0.97, "budget_ms": 2.5,
                             "budget_device": "npu",
                             "devices": {
                                 "npu": {"device": "npu", "n": 12, "srcc_host": 0.61,
                                         "adapted": True, "srcc_adapted": 0.95},
                                 "gpu": {"device": "gpu", "n": 8, "srcc_host": 0.97,
                                         "adapted": False, "scale": 0.125},
                                 "tpu": {"device": "tpu", "n": 6, "srcc_host": 0.4,
                                         "adapted": False, "note": "no host latency model yet"}}})
    assert text == ("latency model from 40 measured candidates (rank agreement 0.97) · budget "
                    "2.50 ms on npu · npu: 12 latencies, SRCC with host 0.61; below 0.9, so "
                    "adapted (cross-validated SRCC 0.95) · gpu: 8 latencies, SRCC with host "
                    "0.97; host model x 0.125 · tpu: 6 latencies, SRCC with host 0.40; no host "
                    "latency model yet")


def test_decode_upload_takes_small_utf8_text_only() -> None:
    url = "data:text/csv;base64," + base64.b64encode(b"\xef\xbb\xbfarch,latency_ms\n").decode()
    assert decode_upload(url) == "arch,latency_ms\n"
    with pytest.raises(ValueError, match="not UTF-8"):
        decode_upload("data:;base64," + base64.b64encode(b"\xff\xfe\x00").decode())
    with pytest.raises(ValueError, match="at most 1,000,000"):
        decode_upload("data:;base64," + base64.b64encode(b"x" * 1_000_001).decode())


def test_pareto_figure_draws_the_front_in_cost_order_and_the_budget() -> None:
    costs, acc, archs = [3.0, 1.0, 2.0, None], [0.9, 0.5, 0.7, 0.99], ["a", "b", "c", "d"]
    fig = figures.pareto_front_figure(costs, acc, archs, [0, 1, 2], "latency_ms", budget=2.5)
    cloud, front = fig.data
    assert cloud.type == "scatter" and len(cloud.x) == 3  # SVG: a second WebGL context slows the map  # 'd' has no cost
    assert list(front.x) == [1.0, 2.0, 3.0] and [c[0] for c in front.customdata] == ["b", "c", "a"]
    assert fig.layout.shapes[0].x0 == 2.5 and "3 on the Pareto front" in fig.layout.title.text
    assert not figures.pareto_front_figure(costs, acc, archs, [0], "params", budget=2.5).layout.shapes


def test_correlation_figure_orders_scores_by_strength() -> None:
    fig = figures.correlation_figure({"a": {"spearman": 0.2, "kendall": 0.1},
                                      "b": {"spearman": -0.8, "kendall": -0.6}}, dark=True)
    assert list(fig.data[0].x) == ["b", "a"] and list(fig.data[1].y) == [-0.6, 0.1]


def test_thin_cloud_caps_the_points_but_keeps_the_front() -> None:
    kept = thin_cloud(10_000, keep=[3, 9_999], limit=2000)
    assert len(kept) <= 2002 and {3, 9_999} <= set(kept) and kept == sorted(kept)
    assert thin_cloud(50, keep=[], limit=2000) == list(range(50))


def test_the_budget_range_follows_the_chosen_device() -> None:
    from frontend.hardware_view import budget_range

    host = [2.0, 3.0, 5.0]
    assert budget_range(host, None) == (1.8, 5.5)
    assert budget_range([], None) == (0.0, 10.0)
    slower = {"device": "edge", "fastest_ms": 9.0, "scale": 4.0}  # a scaled host model
    assert budget_range(host, slower) == (7.2, 22.0)
    adapted = {"device": "npu", "fastest_ms": 1.0, "scale": None}  # twice as fast at best
    assert budget_range(host, adapted) == (0.9, 2.75)
