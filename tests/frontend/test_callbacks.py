"""frontend/callbacks.py: the pure helpers behind the leaderboard."""

from __future__ import annotations

from frontend.callbacks import leaderboard_row, true_rank_summary


def _record(arch: str, accuracy: float, scores: dict | None = None) -> dict:
    return {"arch": arch, "accuracy": accuracy, "params": 10, "flops": 20, "latency_ms": 1.5,
            "generation": 2, "loss": 0.1, "scores": scores or {}}


def test_a_supernet_leaderboard_has_no_true_rank() -> None:
    rows = [leaderboard_row(1, _record("a", 0.9, {"synflow": 3.0}))]
    assert rows[0] == {"rank": 1, "arch": "a", "accuracy": 0.9, "params": 10, "flops": 20,
                       "latency_ms": 1.5, "generation": 2}
    assert true_rank_summary(rows) == ""


def test_tabular_rows_carry_the_true_rank_and_the_summary_names_the_best() -> None:
    rows = [leaderboard_row(1, _record("a", 0.93, {"table_rank": 7.0, "table_percentile": 99.96})),
            leaderboard_row(2, _record("b", 0.94, {"table_rank": 3.0, "table_percentile": 99.987}))]
    assert [r["table_rank"] for r in rows] == [7, 3]
    assert true_rank_summary(rows) == ("best found: true rank 3 in the benchmark table "
                                       "(better than 99.99 % of all entries)")


def test_the_builders_proxy_fields_make_an_engine_config_that_ranks_by_the_chosen_proxy() -> None:
    from frontend.callbacks import builder_config
    from supernet.configs import EngineConfig

    config = builder_config(3, ["skip_connect", "nor_conv_3x3"], 4, 1, "digits", 2, "uniform",
                            None, "supernet", None, ["synflow", "naswot"], 12, ["naswot"])
    engine = EngineConfig.from_dict(config)
    assert (engine.proxies, engine.prescreen_n, engine.prescreen_by) == (
        ["synflow", "naswot"], 12, ["naswot"])
    vote = EngineConfig.from_dict(builder_config(3, ["skip_connect"], 4, 1, "digits", 2, "uniform",
                                                 None, "supernet", None, ["synflow"], 5, []))
    assert vote.prescreen_by == []  # empty: the vote of every scored proxy


def test_ranked_by_offers_only_the_scored_proxies() -> None:
    from frontend.callbacks import ranking_choices

    assert ranking_choices(["synflow", "snip"], ["snip", "naswot"]) == (["synflow", "snip"], ["snip"])
    assert ranking_choices(None, ["snip"]) == ([], [])
