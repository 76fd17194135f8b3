from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from torch import nn

from supernet.configs import EvalConfig, TrainConfig
from supernet.data import Dataset, load_dataset
from supernet.evaluate import Evaluator
from supernet.model import Supernet
from supernet.records import CandidateRecord
from supernet.space import SearchSpace
from supernet.steering import SteeringState
from supernet.train import Trainer


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits", limit=400)


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    from supernet.space import CellTemplate

    ops = ("skip_connect", "nor_conv_3x3", "avg_pool_3x3")
    return SearchSpace(CellTemplate(n_nodes=3, edges={"1<-0": ops, "2<-0": ops, "2<-1": ops},
                                    C=4, cells_per_stage=1, n_stages=2))


@pytest.fixture(scope="module")
def trained(space: SearchSpace, digits: Dataset) -> Supernet:
    """A micro supernet trained a few epochs with uniform single-path sampling."""
    torch.manual_seed(0)
    net = Supernet(space, digits.in_channels, digits.num_classes, digits.image_size)
    trainer = Trainer(net, digits, SteeringState(space),
                      TrainConfig(epochs=4, batch_size=32, lr=0.1, device="cpu"))
    while not trainer.done:
        trainer.train_epoch()
    return net


def path_batchnorms(net: Supernet, arch: tuple) -> list[nn.BatchNorm2d]:
    return [m for mod in net.path_modules(arch) for m in mod.modules()
            if isinstance(m, nn.BatchNorm2d)]


def test_candidate_record_round_trips_through_json() -> None:
    record = CandidateRecord(arch="|skip_connect~0|+|none~0|nor_conv_3x3~1|", index=7,
                             accuracy=0.9, loss=0.3, params=1234, flops=5678, latency_ms=None,
                             generation=2, parent="|none~0|+|none~0|none~1|",
                             scores={"fitness": 0.1})
    again = CandidateRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record


@pytest.mark.parametrize(("field", "value"), [("bn_batches", 0), ("batch_size", -3),
                                              ("val_limit", 0), ("bn_batch_size", 1.5),
                                              ("latency_batch", 0), ("latency_repeats", True),
                                              ("latency_warmup", -1)])
def test_eval_config_rejects_bad_values(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"eval.{field} must be"):
        EvalConfig(**{field: value})
    with pytest.raises(ValueError, match="unknown eval setting"):
        EvalConfig.from_dict({"bn_batchez": 2})


def test_eval_config_from_before_the_latency_settings_still_loads() -> None:
    old = {"bn_batches": 2, "bn_batch_size": 64, "batch_size": 256, "val_limit": None}
    config = EvalConfig.from_dict(old)
    assert (config.latency_batch, config.latency_warmup, config.latency_repeats) == (1, 3, 10)
    custom = EvalConfig(latency_batch=32, latency_warmup=0, latency_repeats=2)
    assert EvalConfig.from_dict(json.loads(json.dumps(custom.to_dict()))) == custom


def test_recalibration_sets_running_stats_to_the_paths_batch_statistics(
        space: SearchSpace, trained: Supernet, digits: Dataset) -> None:
    net = copy.deepcopy(trained)
    evaluator = Evaluator(net, digits, EvalConfig(bn_batches=3, bn_batch_size=50))
    arch = ("nor_conv_3x3", "avg_pool_3x3", "nor_conv_3x3")
    # edge "2<-0" takes avg_pool_3x3 here, so its nor_conv_3x3 (and its BN) is off the path
    off_path_bn = next(m for m in net.layers[0].edges[1]["nor_conv_3x3"].modules()
                       if isinstance(m, nn.BatchNorm2d))
    untouched = off_path_bn.running_mean.clone()

    evaluator.recalibrate(arch)
    assert not net.training

    # Batch statistics of every BN input on the path, recomputed on a copy in train mode.
    probe = copy.deepcopy(net).train()
    inputs: dict[int, list[torch.Tensor]] = {}
    bns = path_batchnorms(probe, arch)
    hooks = [bn.register_forward_hook(
        lambda m, inp, out, k=k: inputs.setdefault(k, []).append(inp[0].detach()))
        for k, bn in enumerate(bns)]
    with torch.no_grad():
        for x in evaluator.bn_batches:
            probe(x, arch)
    for h in hooks:
        h.remove()
    assert len(bns) >= 5
    for k, bn in enumerate(path_batchnorms(net, arch)):
        means = torch.stack([t.mean(dim=(0, 2, 3)) for t in inputs[k]]).mean(0)
        variances = torch.stack([t.var(dim=(0, 2, 3), unbiased=True) for t in inputs[k]]).mean(0)
        torch.testing.assert_close(bn.running_mean, means, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(bn.running_var, variances, rtol=1e-4, atol=1e-5)
        assert bn.momentum == 0.1  # restored after the cumulative re-estimate
    torch.testing.assert_close(off_path_bn.running_mean, untouched)


def test_recalibration_improves_inherited_accuracy(space: SearchSpace, trained: Supernet,
                                                   digits: Dataset) -> None:
    net = copy.deepcopy(trained)
    archs = [space.from_index(i) for i in range(0, 27, 2)]
    x, y = digits.x_val, digits.y_val
    net.eval()
    with torch.no_grad():
        shared = [float((net(x, a).argmax(1) == y).float().mean()) for a in archs]
    evaluator = Evaluator(net, digits, EvalConfig(bn_batches=2, bn_batch_size=100))
    recalibrated = [acc for acc, _ in evaluator.evaluate(archs)]
    assert np.mean(recalibrated) >= np.mean(shared)
    assert sum(r >= s for r, s in zip(recalibrated, shared)) >= len(archs) // 2
    assert np.mean(recalibrated) > 0.25  # well above chance (0.1) after a short training


def test_evaluate_is_deterministic_and_keeps_the_training_mode(
        space: SearchSpace, trained: Supernet, digits: Dataset) -> None:
    net = copy.deepcopy(trained).train()
    evaluator = Evaluator(net, digits, EvalConfig(val_limit=60, batch_size=16))
    archs = [space.from_index(i) for i in (0, 13, 26)]
    first = evaluator.evaluate(archs)
    assert net.training
    assert first == evaluator.evaluate(archs)
    for accuracy, loss in first:
        assert 0.0 <= accuracy <= 1.0 and np.isfinite(loss) and loss > 0
        assert accuracy * 60 == pytest.approx(round(accuracy * 60))  # scored on exactly 60 images
    with pytest.raises(ValueError, match="not a candidate"):
        evaluator.evaluate([("none", "none", "none")])


def test_candidate_records_are_checked_but_tolerate_later_keys_and_nan_losses() -> None:
    good = {"arch": "a", "index": 1, "accuracy": 0.5, "loss": float("nan"), "params": None,
            "flops": None, "added_later": 1}
    record = CandidateRecord.from_dict(good)
    assert record.params is None and record.loss != record.loss
    with pytest.raises(ValueError, match="candidate record: index must be an integer, got '1'"):
        CandidateRecord.from_dict(good | {"index": "1"})
    with pytest.raises(ValueError, match="candidate record: missing accuracy"):
        CandidateRecord.from_dict({k: v for k, v in good.items() if k != "accuracy"})
