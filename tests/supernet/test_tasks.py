"""Tasks, their losses and metrics, and the one direction every ranking follows."""

from __future__ import annotations

import pytest
import torch

from supernet.proxies import ProxyScorer
from supernet.records import CandidateRecord, best_distinct
from supernet.space import SearchSpace
from supernet.task_metrics import loss_and_metric_sums, relative_l2, task_loss
from supernet.tasks import IMAGE_CLASSIFICATION, Task, rank_value

FIELD = Task(kind="field_regression")


def test_metric_and_direction_follow_the_kind() -> None:
    assert IMAGE_CLASSIFICATION.metric == "accuracy" and IMAGE_CLASSIFICATION.higher_is_better
    assert FIELD.metric == "relative_l2" and not FIELD.higher_is_better
    assert FIELD.label() == "relative L2 error (lower is better)"
    assert Task.from_dict(FIELD.to_dict()) == FIELD
    assert rank_value(0.1, False) > rank_value(0.2, False)
    assert rank_value(0.9, True) > rank_value(0.8, True)


def test_relative_l2_is_scale_free_and_zero_on_the_target() -> None:
    y = torch.randn(3, 1, 8, 8)
    assert relative_l2(y, y).abs().max() < 1e-7
    assert torch.allclose(relative_l2(2 * y, y), torch.ones(3))
    assert torch.allclose(relative_l2(10 * (y + 0.1), 10 * y), relative_l2(y + 0.1, y))
    loss, metric = loss_and_metric_sums(FIELD, 2 * y, y)
    assert metric == pytest.approx(3.0) and task_loss(FIELD, 2 * y, y).item() == pytest.approx(1.0)


def test_classification_sums_count_correct_answers() -> None:
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    _, correct = loss_and_metric_sums(IMAGE_CLASSIFICATION, logits, torch.tensor([0, 1, 1]))
    assert correct == 2


def test_best_distinct_keeps_the_lowest_error_for_a_lower_is_better_metric() -> None:
    def rec(arch: str, value: float) -> CandidateRecord:
        return CandidateRecord(arch=arch, index=0, accuracy=value, loss=value, params=1, flops=1)

    records = [rec("a", 0.3), rec("b", 0.1), rec("a", 0.2), rec("c", 0.5)]
    lowest = best_distinct(records, 2, higher_is_better=False)
    assert [(r.arch, r.accuracy) for r in lowest] == [("b", 0.1), ("a", 0.2)]
    assert [r.arch for r in best_distinct(records, 1)] == ["c"]


def test_batch_proxies_are_refused_beyond_image_classification() -> None:
    space = SearchSpace.from_preset("tiny")
    with pytest.raises(ValueError, match="image classification only.*params, flops"):
        ProxyScorer(space, 1, 1, ("synflow", "params"), task=FIELD)
    scorer = ProxyScorer(space, 6, 4, ("params", "flops"), task=Task(dims=1))
    scores = scorer.score(space.sample_arch(0) if hasattr(space, "sample_arch") else
                          tuple(cp.candidates[-1] for cp in space),
                          torch.randn(4, 6, 50), torch.tensor([0, 1, 2, 3]))
    assert scores["params"] > 0 and scores["flops"] > 0
