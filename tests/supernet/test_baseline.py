"""The fixed baseline per space and the best-found-vs-baseline comparison."""

from __future__ import annotations

from supernet.baseline import BaselineComparison, baseline_arch, compare_with_baseline
from supernet.data import load_dataset
from supernet.space import SearchSpace


def test_baseline_is_the_plain_convolution_network() -> None:
    cell = SearchSpace.from_preset("tiny")
    assert set(baseline_arch(cell)) == {"nor_conv_3x3"}
    chain = SearchSpace.from_preset("chain-tiny")
    assert baseline_arch(chain) == tuple(cp.candidates[0] for cp in chain)


def test_beaten_follows_the_metric_direction() -> None:
    def comparison(best: float, base: float, higher: bool) -> BaselineComparison:
        return BaselineComparison("relative_l2", higher, 1, "a", "b", best, base)

    assert comparison(0.1, 0.2, False).beaten and not comparison(0.1, 0.2, True).beaten
    assert not comparison(0.2, 0.2, False).beaten  # a tie does not beat the baseline
    assert "lower is better" in comparison(0.1, 0.2, False).summary()


def test_comparison_trains_both_with_the_same_budget() -> None:
    data = load_dataset("aeon:GunPoint")
    space = SearchSpace.from_preset("tiny")
    best = tuple("nor_conv_1x1" for _ in space)
    result = compare_with_baseline(space, best, data, epochs=1)
    assert result.metric == "accuracy" and result.epochs == 1
    assert 0 <= result.best <= 1 and 0 <= result.baseline <= 1
    again = compare_with_baseline(space, best, data, epochs=1)
    assert again == result  # seeded: the same budget gives the same numbers
