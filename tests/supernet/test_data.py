from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from supernet.data import iterate_batches, load_dataset

SHARED_NPZ = Path(__file__).resolve().parents[3] / "shared" / "data" / "cifar10_subset.npz"


def _cifar_image(label: int) -> np.ndarray:
    """Red ramps along the width, green along the height, blue holds the label."""
    red = np.tile(np.arange(32, dtype=np.uint8) * 8, (32, 1))
    return np.stack([red, red.T, np.full((32, 32), label * 20, np.uint8)])  # CHW


def _write_cifar(directory: Path, per_batch: int = 6, n_test: int = 10) -> None:
    directory.mkdir()
    names = [f"c{i}" for i in range(3)]
    batches = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for k, name in enumerate(batches):
        n = n_test if name == "test_batch" else per_batch
        labels = [(k + i) % 3 for i in range(n)]
        data = np.stack([_cifar_image(label).reshape(-1) for label in labels])
        with (directory / name).open("wb") as fh:
            pickle.dump({b"data": data, b"labels": labels}, fh)
    with (directory / "batches.meta").open("wb") as fh:
        pickle.dump({b"label_names": [n.encode() for n in names]}, fh)


def _write_folder(directory: Path, per_class: int = 7) -> None:
    from PIL import Image

    for label, name in enumerate(["cat", "dog", "owl"]):
        (directory / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.full((12, 10, 3), 40 * label + i, np.uint8)
            Image.fromarray(pixels).save(directory / name / f"{i}.png")


def _write_npz(path: Path, **overrides: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8),
        "y_train": np.arange(40) % 4,
        "x_test": rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8),
        "y_test": np.arange(12) % 4,
    }
    arrays.update(overrides)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})


def test_digits_splits_are_stratified_normalised_and_seeded() -> None:
    data = load_dataset("digits")
    assert (data.in_channels, data.image_size, data.num_classes) == (1, 8, 10)
    assert data.x_train.dtype == torch.float32 and data.x_train.shape[1:] == (1, 8, 8)
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 1797
    assert len(data.y_test) == 360 and len(data.y_val) == 288
    for y in (data.y_val, data.y_test):  # stratified: ~1/10 of each split per class
        assert torch.bincount(y, minlength=10).min() >= len(y) // 10 - 2
    assert abs(float(data.x_train.mean())) < 1e-3 and abs(float(data.x_train.std()) - 1) < 1e-2
    again, other = load_dataset("digits"), load_dataset("digits", seed=1)
    assert torch.equal(again.y_val, data.y_val) and not torch.equal(other.y_val, data.y_val)


def test_limit_takes_a_seeded_subset_of_every_class(tmp_path: Path) -> None:
    _write_folder(tmp_path / "imgs", per_class=20)
    data = load_dataset(f"folder:{tmp_path / 'imgs'}", limit=30)
    labels = torch.cat([data.y_train, data.y_val, data.y_test])
    assert len(labels) == 30
    assert set(labels.tolist()) == {0, 1, 2}  # a plain prefix would hold only 'cat'
    with pytest.raises(ValueError, match="limit"):
        load_dataset("digits", limit=5)


def test_cifar10_python_batches(tmp_path: Path) -> None:
    _write_cifar(tmp_path / "cifar")
    data = load_dataset(f"cifar10:{tmp_path / 'cifar'}", val_fraction=0.2)
    assert data.classes == ["c0", "c1", "c2"] and data.num_classes == 3
    assert (len(data.y_train) + len(data.y_val), len(data.y_test)) == (30, 10)
    assert data.x_train.shape[1:] == (3, 32, 32)
    image = data.x_train[0]
    # rows of the 3072-byte record are R, G, B planes in row-major order
    assert torch.all(image[0, :, 1:] > image[0, :, :-1]) and torch.all(image[0, 1:] == image[0, :-1])
    assert torch.all(image[1, 1:, :] > image[1, :-1, :])
    blue = data.x_train[:, 2, 0, 0]  # labels stay with their images: blue encodes the label
    per_label = [blue[data.y_train == label].unique() for label in range(3)]
    assert all(len(v) == 1 for v in per_label) and per_label[0] < per_label[1] < per_label[2]


def test_cifar10_errors_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ValueError, match="nope.*does not exist"):
        load_dataset(f"cifar10:{missing}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="data_batch_1..5"):
        load_dataset(f"cifar10:{tmp_path / 'empty'}")
    _write_cifar(tmp_path / "broken")
    (tmp_path / "broken" / "data_batch_2").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="data_batch_2 is not a CIFAR-10 python batch"):
        load_dataset(f"cifar10:{tmp_path / 'broken'}")
    _write_cifar(tmp_path / "short")
    with (tmp_path / "short" / "test_batch").open("wb") as fh:
        pickle.dump({b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1]}, fh)
    with pytest.raises(ValueError, match="test_batch holds 3 images and 2 labels"):
        load_dataset(f"cifar10:{tmp_path / 'short'}")


def test_image_folder(tmp_path: Path) -> None:
    _write_folder(tmp_path / "imgs")
    (tmp_path / "imgs" / ".cache").mkdir()  # hidden directories are not classes
    (tmp_path / "imgs" / "cat" / "notes.txt").write_text("not an image")
    data = load_dataset(f"folder:{tmp_path / 'imgs'}")
    assert data.classes == ["cat", "dog", "owl"] and data.name == "imgs"
    assert (data.in_channels, data.image_size) == (3, 32)
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 21


def test_image_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        load_dataset(f"folder:{tmp_path / 'missing'}")
    (tmp_path / "flat").mkdir()
    with pytest.raises(ValueError, match="no class subdirectories"):
        load_dataset(f"folder:{tmp_path / 'flat'}")
    _write_folder(tmp_path / "imgs")
    (tmp_path / "imgs" / "empty_class").mkdir()
    with pytest.raises(ValueError, match="empty_class holds no images"):
        load_dataset(f"folder:{tmp_path / 'imgs'}")
    (tmp_path / "imgs" / "empty_class" / "bad.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="cannot read image .*bad.png"):
        load_dataset(f"folder:{tmp_path / 'imgs'}")


def test_too_few_images_is_a_clear_error(tmp_path: Path) -> None:
    _write_folder(tmp_path / "imgs", per_class=2)
    with pytest.raises(ValueError, match="6 training images are too few"):
        load_dataset(f"folder:{tmp_path / 'imgs'}")


def test_npz_arrays(tmp_path: Path) -> None:
    _write_npz(tmp_path / "d.npz", classes=np.array(["a", "b", "c", "d"]))
    data = load_dataset(f"npz:{tmp_path / 'd.npz'}")
    assert data.classes == ["a", "b", "c", "d"] and data.x_test.shape == (12, 3, 16, 16)
    assert len(data.y_train) + len(data.y_val) == 40


@pytest.mark.parametrize(("overrides", "message"), [
    ({"y_test": None}, r"lacks arrays \['y_test'\]"),
    ({"x_train": np.zeros((40, 16, 16), np.uint8)}, "N x H x W x C"),
    ({"x_test": np.zeros((12, 8, 8, 3), np.uint8)}, "must match"),
    ({"y_train": np.arange(39) % 4}, "x_train holds 40 images but y_train has shape"),
    ({"x_test": np.zeros((0, 16, 16, 3), np.uint8), "y_test": np.zeros(0, np.int64)},
     "at least one image"),
    ({"classes": np.array(["a", "b"])}, r"labels must lie in 0..1"),
])
def test_npz_errors(tmp_path: Path, overrides: dict, message: str) -> None:
    _write_npz(tmp_path / "d.npz", **overrides)
    with pytest.raises(ValueError, match=message):
        load_dataset(f"npz:{tmp_path / 'd.npz'}")


def test_bad_specs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown dataset kind 'mnist'"):
        load_dataset("mnist:/x")
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("cifar10")
    with pytest.raises(ValueError, match=r"does not exist"):
        load_dataset(f"npz:{tmp_path / 'none.npz'}")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not a readable .npz"):
        load_dataset(f"npz:{tmp_path / 'text.npz'}")
    with pytest.raises(ValueError, match="test_fraction"):
        load_dataset("digits", test_fraction=1.5)


@pytest.mark.skipif(not SHARED_NPZ.exists(), reason="shared CIFAR-10 subset not present")
def test_shared_cifar_subset() -> None:
    data = load_dataset(f"npz:{SHARED_NPZ}", limit=200)
    assert data.classes[:2] == ["airplane", "automobile"] and data.num_classes == 10
    assert (data.in_channels, data.image_size) == (3, 32) and len(data.y_test) == 2000


def test_iterate_batches_covers_every_sample_once() -> None:
    x = torch.arange(10.0).reshape(10, 1, 1, 1)
    y = torch.arange(10)
    batches = list(iterate_batches(x, y, 4, np.random.default_rng(0)))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    seen = torch.cat([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    assert all(torch.equal(bx.flatten().long(), by) for bx, by in batches)
    again = torch.cat([b[1] for b in iterate_batches(x, y, 4, np.random.default_rng(0))])
    assert torch.equal(again, seen)
    ordered = torch.cat([b[1] for b in iterate_batches(x, y, 3, np.random.default_rng(0),
                                                       shuffle=False)])
    assert ordered.tolist() == list(range(10))
    with pytest.raises(ValueError, match="batch_size"):
        next(iterate_batches(x, y, 0, np.random.default_rng(0)))
