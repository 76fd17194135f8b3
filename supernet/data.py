"""Datasets as in-memory tensors: small enough for the demo and tests, and fast
to batch without DataLoader overhead.

Specs accepted by :func:`load_dataset`:

- ``digits``: scikit-learn's bundled 8x8 digits (offline, the embedded default);
- ``cifar10:<dir>``: the official CIFAR-10 python batches (``data_batch_1..5``, ``test_batch``);
- ``npz:<path>``: arrays ``x_train, y_train, x_test, y_test`` (HWC uint8), e.g. the shared subset;
- ``folder:<dir>``: an image folder with one subdirectory per class (needs Pillow).

Train/validation come from the training images (stratified); the test split is
held out and never seen by the search.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


@dataclass
class Dataset:
    """Normalised float32 NCHW tensors and what the model needs to know about them."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    classes: list[str]

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[2])

    def summary(self) -> dict:
        return {"name": self.name, "train": len(self.y_train), "val": len(self.y_val),
                "test": len(self.y_test), "num_classes": self.num_classes,
                "in_channels": self.in_channels, "image_size": self.image_size}


def _normalise(train: np.ndarray, *others: np.ndarray) -> list[torch.Tensor]:
    """Per-channel standardisation with training statistics only."""
    mean = train.mean(axis=(0, 2, 3), keepdims=True)
    std = train.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    return [torch.from_numpy(((a - mean) / std).astype(np.float32)) for a in (train, *others)]


MIN_IMAGES = 10
"""Fewer images cannot be split into non-empty train, validation and test sets."""


def _stratify(y: np.ndarray, fraction: float) -> np.ndarray | None:
    """Labels to stratify on, or None where a stratified split is impossible (tiny sets)."""
    counts = np.bincount(y)
    present = int((counts > 0).sum())
    held_out = int(np.ceil(fraction * len(y)))
    feasible = (counts[counts > 0].min() >= 2 and held_out >= present
                and len(y) - held_out >= present)
    return y if feasible else None


def _split(name: str, x: np.ndarray, y: np.ndarray, x_test: np.ndarray | None,
           y_test: np.ndarray | None, classes: list[str], seed: int, val_fraction: float,
           test_fraction: float, limit: int | None) -> Dataset:
    if len(x) != len(y):
        raise ValueError(f"{name}: {len(x)} images but {len(y)} labels")
    labels = np.concatenate([y, np.asarray([] if y_test is None else y_test, np.int64)])
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        raise ValueError(f"{name}: labels must lie in 0..{len(classes) - 1} (one per class name), "
                         f"got {labels.min()}..{labels.max()}")
    for label, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < fraction < 1:
            raise ValueError(f"{label} must be in (0, 1), got {fraction}")
    if limit is not None:
        if limit < 20:
            raise ValueError(f"limit must be at least 20 images, got {limit}")
        # a seeded random subset: folder datasets are sorted by class, a prefix would drop classes
        keep = np.sort(np.random.default_rng(seed).permutation(len(y))[:limit])
        x, y = x[keep], y[keep]
    if len(y) < MIN_IMAGES:
        raise ValueError(
            f"{name}: {len(y)} training images are too few to split into train/val/test; "
            f"provide at least {MIN_IMAGES}"
        )
    if x_test is None:
        x, x_test, y, y_test = train_test_split(x, y, test_size=test_fraction, random_state=seed,
                                                stratify=_stratify(y, test_fraction))
    x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=val_fraction, random_state=seed,
                                                stratify=_stratify(y, val_fraction))
    xt, xv, xte = _normalise(x_tr, x_val, x_test)
    return Dataset(name, xt, torch.from_numpy(y_tr).long(), xv, torch.from_numpy(y_val).long(),
                   xte, torch.from_numpy(np.asarray(y_test)).long(), len(classes), classes)


def _digits() -> tuple[np.ndarray, np.ndarray, list[str]]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    return x, bunch.target.astype(np.int64), [str(c) for c in bunch.target_names]


def _hwc_to_nchw(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) / 255.0).transpose(0, 3, 1, 2)


def _cifar10(directory: Path) -> tuple[np.ndarray, ...]:
    if not directory.is_dir():
        raise ValueError(f"CIFAR-10 directory {directory} does not exist")
    train_files = [directory / f"data_batch_{i}" for i in range(1, 6)]
    present = [f for f in train_files if f.exists()]
    if not present or not (directory / "test_batch").exists():
        raise ValueError(
            f"{directory} is not a CIFAR-10 python-batch directory: expected data_batch_1..5 "
            "and test_batch (the 'cifar-10-batches-py' folder of the official archive)"
        )

    def read(path: Path) -> tuple[np.ndarray, np.ndarray]:
        try:
            with path.open("rb") as fh:
                batch = pickle.load(fh, encoding="bytes")
            data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            labels = np.asarray(batch[b"labels"], dtype=np.int64)
        except (pickle.UnpicklingError, KeyError, ValueError, EOFError, TypeError) as exc:
            raise ValueError(
                f"{path} is not a CIFAR-10 python batch (a pickled dict with b'data' of "
                f"N x 3072 uint8 and b'labels'): {exc!r}"
            ) from None
        if len(data) != len(labels) or len(data) == 0:
            raise ValueError(f"{path} holds {len(data)} images and {len(labels)} labels; "
                             "expected the same, non-zero number")
        return data.transpose(0, 2, 3, 1), labels

    parts = [read(f) for f in present]
    x_test, y_test = read(directory / "test_batch")
    classes = [f"class_{i}" for i in range(10)]
    meta = directory / "batches.meta"
    if meta.exists():
        try:
            with meta.open("rb") as fh:
                classes = [c.decode() for c in pickle.load(fh, encoding="bytes")[b"label_names"]]
        except (pickle.UnpicklingError, KeyError, EOFError, TypeError, AttributeError) as exc:
            raise ValueError(f"{meta} is not a CIFAR-10 meta file with b'label_names': "
                             f"{exc!r}") from None
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return _hwc_to_nchw(x), y, _hwc_to_nchw(x_test), y_test, classes


def _npz(path: Path) -> tuple[np.ndarray, ...]:
    if not path.is_file():
        raise ValueError(f"npz file {path} does not exist")
    try:
        arrays = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable .npz file: {exc}") from None
    needed = {"x_train", "y_train", "x_test", "y_test"}
    missing = needed - set(arrays.files)
    if missing:
        raise ValueError(f"{path} lacks arrays {sorted(missing)}; it needs {sorted(needed)}")
    x_train, x_test = arrays["x_train"], arrays["x_test"]
    if x_train.ndim != 4 or x_train.shape[-1] not in (1, 3):
        raise ValueError(f"{path}: x_train must be N x H x W x C images, got shape {x_train.shape}")
    if x_test.shape[1:] != x_train.shape[1:]:
        raise ValueError(f"{path}: x_test images have shape {x_test.shape[1:]}, "
                         f"x_train images {x_train.shape[1:]}; they must match")
    y_train = arrays["y_train"].astype(np.int64)
    y_test = arrays["y_test"].astype(np.int64)
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if y.ndim != 1 or len(x) != len(y) or len(y) == 0:
            raise ValueError(f"{path}: x_{split} holds {len(x)} images but y_{split} has shape "
                             f"{y.shape}; expected one label per image and at least one image")
    n = int(max(y_train.max(), y_test.max())) + 1
    classes = [str(c) for c in arrays["classes"]] if "classes" in arrays.files else [
        f"class_{i}" for i in range(n)]
    return _hwc_to_nchw(x_train), y_train, _hwc_to_nchw(x_test), y_test, classes


def _folder(directory: Path, image_size: int = 32) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if not directory.is_dir():
        raise ValueError(f"image folder {directory} does not exist")
    class_dirs = sorted(d for d in directory.iterdir()
                        if d.is_dir() and not d.name.startswith("."))
    if not class_dirs:
        raise ValueError(f"image folder {directory} has no class subdirectories (one per class)")
    try:
        from PIL import Image
    except ImportError:
        raise ValueError("reading an image folder needs Pillow: pip install pillow") from None
    images, labels = [], []
    for label, class_dir in enumerate(class_dirs):
        files = sorted(f for f in class_dir.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"class folder {class_dir} holds no images ({sorted(IMAGE_SUFFIXES)})")
        for f in files:
            try:
                with Image.open(f) as img:
                    img = img.convert("RGB").resize((image_size, image_size))
                    images.append(np.asarray(img, dtype=np.uint8))
            except OSError as exc:
                raise ValueError(f"cannot read image {f}: {exc}") from None
            labels.append(label)
    return _hwc_to_nchw(np.stack(images)), np.asarray(labels, np.int64), [d.name for d in class_dirs]


def load_dataset(spec: str, seed: int = 0, val_fraction: float = 0.2,
                 test_fraction: float = 0.2, limit: int | None = None) -> Dataset:
    """Load a dataset by spec (see the module docstring); errors say what was expected."""
    if not isinstance(spec, str) or not spec:
        raise ValueError("dataset spec must be a non-empty string such as 'digits'")
    kind, _, arg = spec.partition(":")
    common = {"seed": seed, "val_fraction": val_fraction, "test_fraction": test_fraction,
              "limit": limit}
    if kind == "digits":
        x, y, classes = _digits()
        return _split("digits", x, y, None, None, classes, **common)
    if not arg:
        raise ValueError(
            f"unknown dataset {spec!r}: use 'digits', 'cifar10:<dir>', 'npz:<file>' or 'folder:<dir>'"
        )
    path = Path(arg).expanduser()
    if kind == "cifar10":
        x, y, xt, yt, classes = _cifar10(path)
        return _split("cifar10", x, y, xt, yt, classes, **common)
    if kind == "npz":
        x, y, xt, yt, classes = _npz(path)
        return _split(path.stem, x, y, xt, yt, classes, **common)
    if kind == "folder":
        x, y, classes = _folder(path)
        return _split(path.name, x, y, None, None, classes, **common)
    raise ValueError(
        f"unknown dataset kind {kind!r}: use 'digits', 'cifar10:<dir>', 'npz:<file>' or 'folder:<dir>'"
    )


def iterate_batches(x: torch.Tensor, y: torch.Tensor, batch_size: int,
                    rng: np.random.Generator, shuffle: bool = True
                    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Minibatches of in-memory tensors; the permutation comes from ``rng`` for determinism."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    n = len(y)
    order = torch.from_numpy(rng.permutation(n)) if shuffle else torch.arange(n)
    order = order.to(x.device)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield x[idx], y[idx]


KNOWN_INPUT_SHAPES: dict[str, tuple[int, int]] = {"digits": (1, 8), "cifar10": (3, 32), "folder": (3, 32)}
"""(channels, image size) of each dataset kind whose shape is fixed, for checking a template
against a dataset without loading it."""


def input_shape(spec: str) -> tuple[int, int] | None:
    """(channels, image size) a dataset spec will load as; ``None`` when only loading tells (npz)."""
    kind = spec.partition(":")[0] if isinstance(spec, str) else ""
    return KNOWN_INPUT_SHAPES.get(kind)
