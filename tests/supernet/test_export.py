from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from supernet.configs import TrainConfig
from supernet.data import load_dataset
from supernet.export import arch_to_json, build_standalone, train_standalone, write_standalone
from supernet.model import Supernet
from supernet.space import SearchSpace
from supernet.steering import SteeringState
from supernet.train import Trainer


@pytest.fixture(scope="module")
def trained() -> tuple[SearchSpace, Supernet]:
    """A tiny supernet trained a few steps so that weights and BN buffers are not at init."""
    torch.manual_seed(0)
    space = SearchSpace.from_preset("tiny")
    data = load_dataset("digits", limit=300)
    net = Supernet(space, data.in_channels, data.num_classes, data.image_size)
    Trainer(net, data, SteeringState(space), TrainConfig(epochs=1, device="cpu")).train_steps(4)
    return space, net.eval()


def test_standalone_output_equals_supernet_path(trained: tuple[SearchSpace, Supernet]) -> None:
    space, net = trained
    rng = np.random.default_rng(3)
    x = torch.randn(5, 1, 8, 8)
    for _ in range(8):
        arch = space.random_arch(rng)
        model = build_standalone(space, arch, 1, 10, 8, supernet=net).eval()
        with torch.no_grad():
            torch.testing.assert_close(model(x), net(x, arch), atol=1e-5, rtol=0)
        assert sum(p.numel() for p in model.parameters()) == net.params(arch)


def test_written_module_file_runs_in_a_fresh_interpreter(
        trained: tuple[SearchSpace, Supernet], tmp_path: Path) -> None:
    space, net = trained
    arch = space.from_index(9876)
    paths = write_standalone(tmp_path, space, arch, 1, 10, 8, supernet=net,
                             metrics={"accuracy": 0.5})
    x = torch.randn(3, 1, 8, 8)
    torch.save(x, tmp_path / "x.pt")
    script = ("import torch, sys; sys.path.insert(0, sys.argv[1]); from model import load; "
              "net = load(); torch.save(net(torch.load(sys.argv[1] + '/x.pt')), sys.argv[1] + '/y.pt')")
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, cwd=tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(torch.load(tmp_path / "y.pt"), net(x, arch), atol=1e-5, rtol=0)
    doc = json.loads(paths["json"].read_text())
    assert doc["arch"] == space.to_string(arch) and doc["metrics"] == {"accuracy": 0.5}
    source = paths["model"].read_text()
    assert "import supernet" not in source and "from supernet" not in source


def test_fresh_standalone_and_json(tiny_space: SearchSpace) -> None:
    arch = tiny_space.from_index(42)
    doc = arch_to_json(tiny_space, arch)
    assert doc["index"] == 42 and doc["ops"]["1<-0"] == arch[0]
    model = build_standalone(tiny_space, arch, 1, 10, 8)
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_train_standalone_learns_digits() -> None:
    data = load_dataset("digits")
    space = SearchSpace.from_preset("tiny")
    arch = space.from_string("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+"
                             "|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
    model = build_standalone(space, arch, 1, 10, 8)
    result = train_standalone(model, data, epochs=4, lr=0.1, batch_size=64)
    assert result["val_accuracy"] > 0.5  # chance is 0.1
    with pytest.raises(ValueError, match="epochs"):
        train_standalone(model, data, epochs=0)


def _import_written(path: Path, name: str) -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_written_model_loaded_with_importlib_equals_supernet_path(
        trained: tuple[SearchSpace, Supernet], tmp_path: Path) -> None:
    space, net = trained
    rng = np.random.default_rng(11)
    x = torch.randn(4, 1, 8, 8)
    for k in range(4):
        arch = space.random_arch(rng)
        paths = write_standalone(tmp_path / str(k), space, arch, 1, 10, 8, supernet=net)
        model = _import_written(paths["model"], f"exported_{k}").load()
        assert not model.training
        with torch.no_grad():
            torch.testing.assert_close(model(x), net(x, arch), atol=1e-5, rtol=0)


def test_standalone_holds_only_the_chosen_ops(trained: tuple[SearchSpace, Supernet]) -> None:
    from supernet.ops import Cell

    space, net = trained
    arch = space.from_index(5000)
    model = build_standalone(space, arch, 1, 10, 8, supernet=net)
    for cell in (m for m in model.modules() if isinstance(m, Cell)):
        assert [list(edge) for edge in cell.edges] == [[op] for op in arch]
    assert set(model.state_dict()) < set(net.state_dict())


def test_standalone_rejects_a_supernet_of_another_shape(
        trained: tuple[SearchSpace, Supernet], micro_space: SearchSpace) -> None:
    space, net = trained
    arch = space.from_index(0)
    with pytest.raises(ValueError, match="another search space"):
        build_standalone(space, arch, 3, 10, 8, supernet=net)
    with pytest.raises(ValueError, match="another search space"):
        build_standalone(micro_space, micro_space.from_index(0), 1, 10, 8, supernet=net)
