from __future__ import annotations

import pytest
from scipy import stats

from supernet.fitness import FitnessTable
from supernet.records import CandidateRecord
from supernet.space import SearchSpace


def record(space: SearchSpace, arch: tuple, accuracy: float) -> CandidateRecord:
    return CandidateRecord(arch=space.to_string(arch), index=space.index(arch), accuracy=accuracy,
                           loss=0.0, params=0, flops=0)


def test_scores_match_the_documented_formula(micro_space: SearchSpace) -> None:
    table = FitnessTable(micro_space)
    archs = [("skip_connect", "nor_conv_3x3", "avg_pool_3x3"),
             ("skip_connect", "skip_connect", "skip_connect"),
             ("skip_connect", "avg_pool_3x3", "nor_conv_3x3"),
             ("nor_conv_3x3", "skip_connect", "skip_connect")]
    accs = [0.9, 0.5, 0.7, 0.4]
    table.update([record(micro_space, a, acc) for a, acc in zip(archs, accs)])
    score = table.score("1<-0", "skip_connect")
    values = [0.9, 0.5, 0.7]
    mean = sum(values) / 3
    half = stats.t.ppf(0.975, 2) * stats.tstd(values) / 3 ** 0.5
    assert score.count == 3 and score.best == 0.9
    assert score.mean == pytest.approx(mean)
    assert (score.ci_low, score.ci_high) == (pytest.approx(mean - half), pytest.approx(mean + half))
    assert table.relative("1<-0", "skip_connect") == pytest.approx(mean - 0.4)
    single = table.score("1<-0", "nor_conv_3x3")
    assert single.count == 1 and single.ci_low is None
    assert table.score("1<-0", "avg_pool_3x3").count == 0


def test_incremental_updates_equal_batch_and_skip_duplicates(micro_space: SearchSpace) -> None:
    archs = list(micro_space.all_archs())
    records = [record(micro_space, a, (i % 7) / 7) for i, a in enumerate(archs)]
    batch, incremental = FitnessTable(micro_space), FitnessTable(micro_space)
    batch.update(records)
    for r in records:
        incremental.update([r])
    incremental.update(records[:5])  # already counted
    for cp in micro_space:
        for op in cp.candidates:
            a, b = batch.score(cp.name, op), incremental.score(cp.name, op)
            assert a.count == b.count and a.best == b.best
            assert (a.mean, a.ci_low, a.ci_high) == pytest.approx((b.mean, b.ci_low, b.ci_high))
    assert sum(batch.score("2<-1", op).count for op in micro_space.choice_points[2].candidates) == 27


def test_unknown_op_is_a_value_error(micro_space: SearchSpace) -> None:
    with pytest.raises(ValueError):
        FitnessTable(micro_space).score("1<-0", "none")


def test_without_scipy_the_interval_uses_the_normal_quantile(
        micro_space: SearchSpace, monkeypatch: pytest.MonkeyPatch) -> None:
    import supernet.fitness

    monkeypatch.setattr(supernet.fitness, "stats", None)
    table = FitnessTable(micro_space)
    values = [0.2, 0.6, 0.7, 0.9]
    table.update([record(micro_space, micro_space.from_index(i), v)
                  for i, v in zip((0, 1, 2, 3), values)])  # all pick skip_connect at 1<-0
    score = table.score("1<-0", "skip_connect")
    half = 1.96 * stats.tstd(values) / 2
    assert score.count == 4
    assert (score.ci_low, score.ci_high) == (pytest.approx(0.6 - half), pytest.approx(0.6 + half))
