from __future__ import annotations

from pathlib import Path

import pytest
import torch

from supernet.configs import TrainConfig
from supernet.data import load_dataset
from supernet.fewshot import FewShotSupernet, fewshot_supernet, inherited_net
from supernet.model import Supernet
from supernet.space import SearchSpace
from supernet.steering import SteeringState
from supernet.train import Trainer


def test_children_start_with_the_parents_weights_and_each_samples_only_its_op(
        micro_space: SearchSpace) -> None:
    data = load_dataset("digits", limit=200)
    torch.manual_seed(0)
    config = TrainConfig(epochs=8, batch_size=32, device="cpu", fewshot_split=["2<-0"],
                         fewshot_at=0.5)
    net = fewshot_supernet(Supernet(micro_space, data.in_channels, data.num_classes,
                                    data.image_size), config, len(data.y_train))
    assert isinstance(net, FewShotSupernet) and len(net.subnets) == 3
    trainer = Trainer(net, data, SteeringState(micro_space), config)
    seen: list[list[tuple[str, ...]]] = [[] for _ in net.subnets]
    for k, child in enumerate(net.subnets):
        child.register_forward_pre_hook(lambda _m, args, k=k: seen[k].append(tuple(args[1])))
    while trainer.global_step < net.split_step:
        trainer.train_step()
    assert not net.split and not any(seen)
    parent_state = {k: v.clone() for k, v in net.parent.state_dict().items()}
    net.split_if_due(trainer.global_step)
    for child in net.subnets:  # inherited exactly, before any child step
        assert all(torch.equal(child.state_dict()[k], v) for k, v in parent_state.items())
    assert len(trainer.train_steps(15)) == 15
    position = micro_space.position("2<-0")
    for key, archs in zip(net.keys, seen):
        assert archs and {a[position] for a in archs} == {key[0]}
    assert all(torch.equal(net.parent.state_dict()[k], v) for k, v in parent_state.items())
    arch = ("skip_connect", "avg_pool_3x3", "nor_conv_3x3")
    assert inherited_net(net, arch) is net.subnets[net.keys.index(("avg_pool_3x3",))]
    assert net.params(arch) == net.parent.params(arch)


def test_no_split_is_the_plain_supernet_and_bad_splits_are_refused(micro_space: SearchSpace) -> None:
    net = Supernet(micro_space, 1, 10, 8)
    assert fewshot_supernet(net, TrainConfig(), 100) is net
    with pytest.raises(ValueError, match="unknown choice point"):
        FewShotSupernet(net, ["9<-0"], 0)


def test_a_split_engine_saves_and_resumes_its_children(tmp_path: Path) -> None:
    from supernet.configs import EngineConfig
    from supernet.engine import SearchEngine

    space = SearchSpace.from_preset("tiny")
    config = EngineConfig(template="tiny", dataset="digits", data_limit=120, measure_latency=False,
                          train=TrainConfig(epochs=2, batch_size=32, device="cpu",
                                            fewshot_split=[space.names()[0]], fewshot_at=0.5))
    engine = SearchEngine(config)
    assert isinstance(engine.supernet, FewShotSupernet)
    engine.train_epoch()
    engine.train_epoch()
    assert engine.supernet.split
    path = engine.save(tmp_path / "s.pt")
    again = SearchEngine.load(path)
    assert isinstance(again.supernet, FewShotSupernet) and again.supernet.split
    first = engine.supernet.subnets[1].state_dict()
    assert all(torch.equal(v, again.supernet.subnets[1].state_dict()[k]) for k, v in first.items())
    with pytest.raises(ValueError, match="fewshot_split names unknown choice point"):
        EngineConfig(template="tiny", train=TrainConfig(fewshot_split=["nope"]))
