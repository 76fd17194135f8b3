from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from supernet.configs import TrainConfig
from supernet.data import Dataset, load_dataset
from supernet.evaluate import Evaluator
from supernet.export import (
    InputScaling,
    arch_to_json,
    build_standalone,
    export_model,
    load_written,
    raw_images,
    recalibrate_batchnorm,
    train_standalone,
    write_standalone,
)
from supernet.export_files import export_zip, next_version
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


# -- self-contained exports: input scaling, own BatchNorm statistics, measured metrics ----------


@pytest.fixture(scope="module")
def digits_run() -> tuple[SearchSpace, Supernet, Dataset]:
    """A tiny supernet trained three epochs on all digits: its shared BN statistics are not a path's."""
    torch.manual_seed(0)
    space = SearchSpace.from_preset("tiny")
    data = load_dataset("digits")
    net = Supernet(space, data.in_channels, data.num_classes, data.image_size)
    trainer = Trainer(net, data, SteeringState(space), TrainConfig(epochs=3, device="cpu"))
    for _ in range(3):
        trainer.train_epoch()
    return space, net.eval(), data


ARCH = ("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+"
        "|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")


def test_export_takes_unscaled_images_and_equals_the_supernet_path(
        digits_run: tuple[SearchSpace, Supernet, Dataset], tmp_path: Path) -> None:
    space, net, data = digits_run
    arch = space.from_string(ARCH)
    paths, _ = export_model(tmp_path, space, arch, data, supernet=net)
    loaded = load_written(paths["model"])
    assert not loaded.training
    x = data.x_val[:64]
    raw = raw_images(x, InputScaling.of(data))
    assert float(raw.min()) > -1e-5 and float(raw.max()) < 1 + 1e-5  # digits: pixel / 16
    # eval mode: statistics of this path, as the evaluator estimates them before scoring
    reference = recalibrate_batchnorm(build_standalone(space, arch, 1, 10, 8, supernet=net),
                                      data.x_train)
    with torch.no_grad():
        torch.testing.assert_close(loaded(raw), reference(x), atol=1e-4, rtol=0)
    supernet = copy.deepcopy(net).train()  # batch statistics: the same network, same numbers
    with torch.no_grad():
        torch.testing.assert_close(loaded.train()(raw), supernet(x, arch), atol=1e-4, rtol=0)
    doc = json.loads(paths["json"].read_text())
    assert doc["input"]["mean"] == pytest.approx(list(data.input_mean))
    assert "pixel / 16" in paths["model"].read_text()


def test_export_scores_in_a_fresh_process_what_arch_json_reports(
        digits_run: tuple[SearchSpace, Supernet, Dataset], tmp_path: Path) -> None:
    space, net, data = digits_run
    arch = space.from_string(ARCH)
    supernet_estimate = Evaluator(net, data).evaluate([arch])[0][0]
    paths, metrics = export_model(tmp_path, space, arch, data, supernet=net)
    scaling = InputScaling.of(data)
    torch.save({"x": raw_images(data.x_test, scaling), "y": data.y_test}, tmp_path / "test.pt")
    script = ("import sys, torch; sys.path.insert(0, sys.argv[1]); import model; net = model.load(); "
              "d = torch.load(sys.argv[1] + '/test.pt'); "
              "print((net(d['x']).argmax(1) == d['y']).float().mean().item())")
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    fresh = float(proc.stdout.strip())
    doc = json.loads(paths["json"].read_text())
    assert doc["metrics"]["test_accuracy"] == metrics["test_accuracy"]
    assert abs(fresh - doc["metrics"]["test_accuracy"]) <= 0.01
    # the copied path is as good as the search said, not at chance as with shared statistics
    assert abs(doc["metrics"]["val_accuracy"] - supernet_estimate) <= 0.05
    assert doc["metrics"]["val_accuracy"] > 0.3  # chance is 0.1


def test_trained_export_saves_the_trained_weights_as_a_new_version(
        digits_run: tuple[SearchSpace, Supernet, Dataset], tmp_path: Path) -> None:
    space, net, data = digits_run
    arch = space.from_string(ARCH)
    first = next_version(tmp_path)
    copied, _ = export_model(first, space, arch, data, supernet=net)
    second = next_version(tmp_path)
    assert (first.name, second.name) == ("v1", "v2")
    trained, metrics = export_model(second, space, arch, data, supernet=net, train_epochs=2)
    assert copied["weights"].read_bytes() != trained["weights"].read_bytes()
    assert metrics["train_epochs"] == 2 and [p["epoch"] for p in metrics["curve"]] == [1, 2]
    loaded = load_written(trained["model"])
    raw = raw_images(data.x_test, InputScaling.of(data))
    with torch.no_grad():
        accuracy = float((loaded(raw).argmax(1) == data.y_test).float().mean())
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert json.loads(trained["json"].read_text())["metrics"] == json.loads(json.dumps(metrics))
    assert next_version(tmp_path).name == "v3"


def test_export_zip_unpacks_into_a_loadable_model(
        digits_run: tuple[SearchSpace, Supernet, Dataset], tmp_path: Path) -> None:
    import io
    import zipfile

    space, net, data = digits_run
    paths, metrics = export_model(tmp_path / "v1", space, space.from_string(ARCH), data,
                                  supernet=net)
    with zipfile.ZipFile(io.BytesIO(export_zip(tmp_path / "v1"))) as archive:
        assert sorted(archive.namelist()) == ["README.txt", "arch.json", "model.py", "weights.pt"]
        archive.extractall(tmp_path / "unzipped")
    assert "model.load()" in (tmp_path / "unzipped" / "README.txt").read_text()
    loaded = load_written(tmp_path / "unzipped" / "model.py")
    with torch.no_grad():
        accuracy = (loaded(raw_images(data.x_test, InputScaling.of(data))).argmax(1)
                    == data.y_test).float().mean().item()
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    with pytest.raises(ValueError, match="not a complete export"):
        export_zip(tmp_path)
