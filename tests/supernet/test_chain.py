"""Chain-of-blocks templates: structure, shape checks, encodings, the supernet, export and steering."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from supernet.configs import TrainConfig
from supernet.data import load_dataset
from supernet.export import build_standalone, write_standalone
from supernet.model import ChainSupernet, Supernet
from supernet.space import SearchSpace, template_from_dict
from supernet.steering import SteeringState
from supernet.templates.chain import (
    BlockSpec,
    ChainLayer,
    ChainTemplate,
    chain_tiny,
    navigator_chain,
)
from supernet.train import Trainer


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return SearchSpace(chain_tiny())


@pytest.fixture(scope="module")
def trained(space: SearchSpace) -> Supernet:
    """Trained a few steps so that weights and BN running statistics are not at init."""
    torch.manual_seed(0)
    data = load_dataset("digits", limit=300)
    net = Supernet(space, data.in_channels, data.num_classes, data.image_size)
    losses = Trainer(net, data, SteeringState(space), TrainConfig(epochs=1, device="cpu")).train_steps(3)
    assert all(np.isfinite(losses))
    return net.eval()


def test_navigator_chain_preset_has_the_paper_size_and_named_choice_points() -> None:
    space = SearchSpace.from_preset("navigator-chain")
    assert space.size() == 839_808 == 6 ** 7 * 3
    names = [cp.name for cp in space]
    assert names[:3] == ["layer1.block", "layer1.pool", "layer2.block"] and names[-1] == "head"
    assert space.choice_point("layer4.block").candidates == ("conv3x3", "conv5x5", "sep3x3")
    shapes = dict(navigator_chain().output_shapes(3, 32))
    assert shapes["layer6.pool"] == (64, 4, 4) and shapes["head"] == (10, 1, 1)


def test_template_json_round_trip_and_dispatch() -> None:
    doc = navigator_chain().to_dict()
    template = template_from_dict(doc)
    assert isinstance(template, ChainTemplate) and template == navigator_chain()
    assert SearchSpace.from_dict(doc) == SearchSpace.from_preset("navigator-chain")


def test_arch_strings_round_trip_and_are_readable(space: SearchSpace, rng: np.random.Generator) -> None:
    for _ in range(20):
        arch = space.random_arch(rng)
        assert space.from_string(space.to_string(arch)) == arch
        assert space.from_index(space.index(arch)) == arch
    arch = ("conv3x3", "max", "sep3x3", "avg", "conv5x5", "max", "dense2")
    assert space.to_string(arch) == "conv3x3,max|sep3x3,avg|conv5x5,max|dense2"
    with pytest.raises(ValueError, match="one per layer"):
        space.from_string("conv3x3,max|dense1")
    with pytest.raises(ValueError, match="layer1"):
        space.from_string("conv3x3|sep3x3,avg|conv5x5,max|dense2")


def _two_layers(second: dict) -> dict:
    return {"kind": "chain",
            "layers": [{"name": "stem", "blocks": [{"name": "c", "type": "conv", "filters": 8}]},
                       {"name": "mid", "blocks": [{"name": "a", "type": "conv", "filters": 8}, second]}],
            "heads": [{"name": "h", "type": "dense"}]}


def test_shape_check_names_the_layer_whose_candidates_disagree() -> None:
    strided = _two_layers({"name": "b", "type": "conv", "filters": 8, "stride": 2})
    template = ChainTemplate.from_dict(strided)
    with pytest.raises(ValueError, match=r"mid\.block.*a gives 8×8×8, b gives 8×4×4"):
        template.output_shapes(1, 8)
    wider = _two_layers({"name": "b", "type": "sep_conv", "filters": 16})
    with pytest.raises(ValueError, match=r"mid\.block.*8×8×8.*16×8×8"):
        ChainTemplate.from_dict(wider).output_shapes(1, 8)
    with pytest.raises(ValueError, match=r"mid\.block"):
        Supernet(SearchSpace(template), 1, 10, 8)


def test_shape_check_rejects_a_chain_that_shrinks_the_image_away() -> None:
    template = navigator_chain()
    with pytest.raises(ValueError, match=r"layer6\.pool.*too small"):
        template.output_shapes(1, 4)


@pytest.mark.parametrize("doc, message", [
    ({"kind": "chain", "layers": [], "heads": [{"name": "h", "type": "dense"}]}, "at least one layer"),
    (_two_layers({"name": "b", "type": "warp"}), "unknown type 'warp'"),
    (_two_layers({"name": "a", "type": "conv"}), "twice"),
    (_two_layers({"name": "b", "type": "conv", "filters": 0}), "filters must be an integer >= 1"),
    (_two_layers({"name": "b", "type": "conv", "dilation": 2}), "no property"),
    (_two_layers({"name": "b|c", "type": "conv"}), "letters, digits"),
    (_two_layers({"name": "b", "type": "dense"}), "may only be heads"),
    (_two_layers({"name": "b", "type": "max_pool", "kernel": 2, "padding": 2}), "at most half"),
])
def test_bad_templates_get_actionable_errors(doc: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChainTemplate.from_dict(doc)


def test_chain_supernet_trains_and_costs_add_up(space: SearchSpace, trained: Supernet) -> None:
    assert isinstance(trained, ChainSupernet)
    arch = space.from_string("conv5x5,avg|sep3x3,max|conv3x3,max|dense3")
    assert trained.params(arch) == sum(p.numel() for p in trained.path_parameters(arch))
    small = space.from_string("sep3x3,avg|sep3x3,max|sep3x3,max|dense1")
    assert trained.flops(small) < trained.flops(arch)
    clone = Supernet.from_config(trained.config())
    assert isinstance(clone, ChainSupernet) and clone.space == space


def test_exported_module_equals_the_supernet_path(space: SearchSpace, trained: Supernet,
                                                  tmp_path: Path, rng: np.random.Generator) -> None:
    """The key invariant on chains: same weights, same outputs, also in a fresh interpreter."""
    x = torch.randn(4, 1, 8, 8)
    for _ in range(6):
        arch = space.random_arch(rng)
        model = build_standalone(space, arch, 1, 10, 8, supernet=trained).eval()
        with torch.no_grad():
            torch.testing.assert_close(model(x), trained(x, arch), atol=1e-5, rtol=0)
        assert sum(p.numel() for p in model.parameters()) == trained.params(arch)
    arch = space.random_arch(rng)
    write_standalone(tmp_path, space, arch, 1, 10, 8, supernet=trained)
    torch.save(x, tmp_path / "x.pt")
    script = ("import torch, sys; sys.path.insert(0, sys.argv[1]); from model import load; "
              "torch.save(load()(torch.load(sys.argv[1] + '/x.pt')), sys.argv[1] + '/y.pt')")
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, cwd=tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(torch.load(tmp_path / "y.pt"), trained(x, arch), atol=1e-5, rtol=0)
    assert "from supernet" not in (tmp_path / "model.py").read_text()


def test_steering_prunes_and_locks_chain_choice_points(space: SearchSpace,
                                                       rng: np.random.Generator) -> None:
    steering = SteeringState(space)
    steering.prune("layer2.block", "conv5x5")
    steering.lock("layer3.pool", "avg")
    steering.lock("head", "dense2")
    with pytest.raises(ValueError):
        steering.lock("layer2.block", "conv5x5")
    for _ in range(50):
        arch = steering.sample(rng)
        assert arch[space.position("layer2.block")] != "conv5x5"
        assert arch[space.position("layer3.pool")] == "avg" and arch[-1] == "dense2"


def test_a_chain_layer_without_pools_is_one_choice_point() -> None:
    conv = BlockSpec("c", "conv", {"filters": 4})
    template = ChainTemplate(layers=(ChainLayer("only", (conv, BlockSpec("i", "identity"))),),
                             heads=(BlockSpec("h", "dense"),))
    space = SearchSpace(template)
    assert [cp.name for cp in space] == ["only.block", "head"] and space.size() == 2
    with pytest.raises(ValueError, match="only.block"):  # identity keeps 1 channel, conv makes 4
        template.output_shapes(1, 8)


def test_proxies_and_latency_model_work_on_chains(space: SearchSpace, trained: Supernet,
                                                  rng: np.random.Generator) -> None:
    from supernet.proxies import ProxyScorer

    scorer = ProxyScorer(space, 1, 10, ("synflow", "naswot", "params"), seed=1)
    x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,))
    arch = space.random_arch(rng)
    first = scorer.score(arch, x, y)
    assert first == scorer.score(arch, x, y) and all(np.isfinite(v) for v in first.values())
    assert first["params"] == trained.params(arch)
    costs = {cp.name: {op: float(len(op)) for op in cp.candidates} for cp in space}
    allowed = [cp.candidates for cp in space]
    assert space.kind.fastest(space.template, allowed, costs) == ("sep3x3", "max", "sep3x3", "max", "sep3x3",
                                                       "max", "dense1")  # shortest names win


def test_the_navigator_chain_preset_trains_a_step_and_exports_an_equal_module() -> None:
    """The full 839,808-path preset, not only the tiny one, on 8x8 digits."""
    torch.manual_seed(0)
    space = SearchSpace.from_preset("navigator-chain")
    data = load_dataset("digits", limit=128)
    net = Supernet(space, data.in_channels, data.num_classes, data.image_size)
    trainer = Trainer(net, data, SteeringState(space),
                      TrainConfig(epochs=1, batch_size=32, device="cpu"))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    losses = trainer.train_steps(2)
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert any(not torch.equal(before[k], v) for k, v in net.state_dict().items())
    net.eval()
    x = data.x_val[:4]
    arch = space.random_arch(np.random.default_rng(3))
    model = build_standalone(space, arch, data.in_channels, data.num_classes, data.image_size,
                             supernet=net).eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x), net(x, arch), atol=1e-5, rtol=0)


@pytest.mark.parametrize("sampler", ["weighted", "fair"])
def test_sampling_weights_and_fair_paths_on_choice_points_of_unequal_size(
        space: SearchSpace, sampler: str, rng: np.random.Generator) -> None:
    from supernet.samplers import sample_paths

    steering = SteeringState(space)
    steering.set_weights("layer1.block", {"conv3x3": 8.0, "conv5x5": 1.0, "sep3x3": 0.0})
    steering.prune("head", "dense3")
    steps = [sample_paths(steering, sampler, rng) for _ in range(400)]
    paths = [p for step in steps for p in step]
    layer1 = [p[space.position("layer1.block")] for p in paths]
    assert {p[-1] for p in paths} == {"dense1", "dense2"} and all(space.accepts(p) for p in paths)
    assert "sep3x3" not in layer1 or sampler == "fair"  # fair ignores weights, not prunes
    if sampler == "weighted":
        assert 6 < layer1.count("conv3x3") / max(layer1.count("conv5x5"), 1) < 11
    else:  # strict fairness: every step uses every allowed op of every choice point
        for step in steps:
            assert len(step) == 3
            for k, cp in enumerate(space):
                assert {p[k] for p in step} == set(steering.allowed(cp.name))
