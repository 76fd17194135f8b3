"""Datasets as in-memory tensors: small enough for the demo and tests, and fast
to batch without DataLoader overhead.

Specs accepted by :func:`load_dataset`:

- ``digits``: scikit-learn's bundled 8x8 digits (offline, the embedded default);
- ``cifar10:<dir>``: the official CIFAR-10 python batches (``data_batch_1..5``, ``test_batch``);
- ``npz:<path>``: arrays ``x_train, y_train, x_test, y_test`` (HWC uint8), e.g. the shared subset;
- ``folder:<dir>``: an image folder with one subdirectory per class (needs Pillow);
- ``aeon:<Name>``: a UCR/UEA time-series classification set that aeon ships in its package
  (series ``[N, C, L]``; variable-length sets padded, with a mask channel;
  :mod:`supernet.datasets.ucr`);
- ``darcy`` / ``darcy:<N>``: Darcy flow fields solved here (:mod:`supernet.datasets.darcy`).

Train/validation come from the training images (stratified); the test split is
held out and never seen by the search.

Dataset files are hostile input on a lab server: CIFAR-10 batches are unpickled by
:class:`BatchUnpickler`, which builds nothing but plain containers and numeric arrays;
errors name the file and what was expected, never its contents; ``roots`` confines
user-chosen paths to folders an administrator allows
(:func:`supernet.paths.check_under_roots`).
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from supernet.configs import MIN_LIMIT
from supernet.paths import Guard, path_guard
from supernet.tasks import IMAGE_CLASSIFICATION, Task

DATASET_KINDS = ("'digits', 'cifar10:<dir>', 'npz:<file>', 'folder:<dir>', 'aeon:<Name>' or "
                 "'darcy[:<N>]'")

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


@dataclass
class Dataset:
    """Normalised float32 tensors (NCHW images, NCL series) and what the model needs to know
    about them; ``task`` says what is predicted and how it is scored."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    classes: list[str]
    # Per-channel training statistics the images were standardised with: an exported model
    # applies them itself, so that it takes the images as they were before (digits: pixel / 16).
    input_mean: tuple[float, ...] = ()
    input_std: tuple[float, ...] = ()
    task: Task = IMAGE_CLASSIFICATION
    # Field targets are divided by this (their training std) so that networks start at scale.
    target_std: float = 1.0

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[2])

    def summary(self) -> dict:
        return {"name": self.name, "train": len(self.y_train), "val": len(self.y_val),
                "test": len(self.y_test), "num_classes": self.num_classes,
                "in_channels": self.in_channels, "image_size": self.image_size,
                "task": self.task.describe()}


def _normalise(train: np.ndarray, *others: np.ndarray
               ) -> tuple[list[torch.Tensor], tuple[float, ...], tuple[float, ...]]:
    """Per-channel standardisation with training statistics only; also returns them."""
    mean = train.mean(axis=(0, 2, 3), keepdims=True)
    std = train.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    tensors = [torch.from_numpy(((a - mean) / std).astype(np.float32)) for a in (train, *others)]
    return tensors, tuple(float(v) for v in mean.ravel()), tuple(float(v) for v in std.ravel())


MIN_IMAGES = 10
"""Fewer images cannot be split into non-empty train, validation and test sets."""


Loaded = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]
"""Training images and labels, test images and labels, class names."""


# -- checks on what a file holds -------------------------------------------------------------


def _numbers(source: Path, what: str, value: Any) -> np.ndarray:
    """``value`` as a finite numeric array; NaN or inf would train silently into NaN losses."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        array = np.asarray(None)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{source}: {what} must be an array of numbers")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{source}: {what} holds NaN or infinite values; every value must be "
                         "a finite number")
    return array


def _labels(source: Path, what: str, value: Any) -> np.ndarray:
    labels = _numbers(source, what, value)
    if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
        raise ValueError(f"{source}: {what} must be whole numbers (class indices)")
    return labels.astype(np.int64)


def _split(name: str, source: Path | str, x: np.ndarray, y: np.ndarray, x_test: np.ndarray | None,
           y_test: np.ndarray | None, classes: list[str], seed: int, val_fraction: float,
           test_fraction: float, limit: int | None) -> Dataset:
    if len(x) != len(y):
        raise ValueError(f"{source}: {len(x)} images but {len(y)} labels")
    if not classes:
        raise ValueError(f"{source}: the dataset has no class names; give one name per class "
                         "(npz: a 'classes' array; CIFAR-10: b'label_names' in batches.meta)")
    labels = np.concatenate([y, np.asarray([] if y_test is None else y_test, np.int64)])
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        raise ValueError(f"{source}: labels must lie in 0..{len(classes) - 1} (one per class "
                         f"name), got {labels.min()}..{labels.max()}")
    for label, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < fraction < 1:
            raise ValueError(f"{label} must be in (0, 1), got {fraction}")
    if limit is not None:
        if limit < MIN_LIMIT:
            raise ValueError(f"limit must be at least {MIN_LIMIT} images, got {limit}")
        # a seeded random subset: folder datasets are sorted by class, a prefix would drop classes
        keep = np.sort(np.random.default_rng(seed).permutation(len(y))[:limit])
        x, y = x[keep], y[keep]
    if len(y) < MIN_IMAGES:
        raise ValueError(
            f"{source}: {len(y)} training images are too few to split into train/val/test; "
            f"provide at least {MIN_IMAGES}"
        )
    if x_test is None:
        x, x_test, y, y_test = train_test_split(x, y, test_size=test_fraction, random_state=seed,
                                                stratify=_stratify(y, test_fraction))
    x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=val_fraction, random_state=seed,
                                                stratify=_stratify(y, val_fraction))
    (xt, xv, xte), mean, std = _normalise(x_tr, x_val, x_test)
    return Dataset(name, xt, torch.from_numpy(y_tr).long(), xv, torch.from_numpy(y_val).long(),
                   xte, torch.from_numpy(np.asarray(y_test)).long(), len(classes), classes,
                   input_mean=mean, input_std=std)


def _stratify(y: np.ndarray, fraction: float) -> np.ndarray | None:
    """Labels to stratify on, or None where a stratified split is impossible (tiny sets)."""
    counts = np.bincount(y)
    present = int((counts > 0).sum())
    held_out = int(np.ceil(fraction * len(y)))
    feasible = (counts[counts > 0].min() >= 2 and held_out >= present
                and len(y) - held_out >= present)
    return y if feasible else None


def _digits() -> tuple[np.ndarray, np.ndarray, list[str]]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    return x, bunch.target.astype(np.int64), [str(c) for c in bunch.target_names]


def _hwc_to_nchw(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) / 255.0).transpose(0, 3, 1, 2)


# -- CIFAR-10 python batches -----------------------------------------------------------------


class _Refused(pickle.UnpicklingError):
    """The pickle asked for something a CIFAR-10 batch never holds."""


def _plain_dtype(spec: Any, align: bool = False, copy: bool = False) -> np.dtype:
    """``numpy.dtype`` for numeric types only: object arrays would hold arbitrary objects."""
    if not isinstance(spec, (str, bytes)):
        raise _Refused("a dtype from something other than a type code")
    dtype = np.dtype(spec.decode("latin1") if isinstance(spec, bytes) else spec, align, copy)
    if dtype.hasobject:
        raise _Refused("an object dtype")
    return dtype


class _NdarrayType:
    """Stands in for ``numpy.ndarray`` in a batch: only ``_reconstruct`` may use it, so the
    pickle cannot call the constructor with a shape of its choosing (a memory bomb)."""

    def __call__(self, *args: Any) -> None:
        raise _Refused("an uninitialised array")


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """The empty array numpy's pickles fill by ``__setstate__`` with their own bytes."""
    if not isinstance(subtype, _NdarrayType) or shape != (0,):
        raise _Refused("an array built other than numpy pickles build one")
    return np.ndarray((0,), _plain_dtype(dtype))


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any,
                axis_order: Any = None) -> np.ndarray:
    """Pickle protocol 5's array: numeric bytes of the file itself, copied."""
    if not isinstance(buf, (bytes, bytearray)) or not isinstance(dtype, np.dtype):
        raise _Refused("an array from something other than bytes")
    array = np.frombuffer(buf, _plain_dtype(dtype.str)).reshape(shape, order=order)
    return array.copy() if axis_order is None else array.transpose(axis_order).copy()


def _scalar(dtype: Any, data: Any) -> Any:
    """A numpy number (labels built from an array hold these)."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, bytes):
        raise _Refused("a scalar other than a number")
    return np.frombuffer(data, dtype, count=1)[0]


def _latin1(text: Any, encoding: Any) -> bytes:
    """How Python 3 pickles bytes under protocol 2 (``_codecs.encode(text, 'latin1')``)."""
    if not isinstance(text, str) or encoding != "latin1":
        raise _Refused("an encoding other than latin1")
    return text.encode("latin1")


_NDARRAY = _NdarrayType()
_BATCH_GLOBALS: dict[tuple[str, str], Any] = {("_codecs", "encode"): _latin1,
                                              ("numpy", "ndarray"): _NDARRAY,
                                              ("numpy", "dtype"): _plain_dtype}
for _core in ("numpy.core", "numpy._core"):  # numpy 1 and numpy 2 spell their modules apart
    _BATCH_GLOBALS[(f"{_core}.multiarray", "_reconstruct")] = _reconstruct
    _BATCH_GLOBALS[(f"{_core}.multiarray", "scalar")] = _scalar
    _BATCH_GLOBALS[(f"{_core}.numeric", "_frombuffer")] = _frombuffer


class BatchUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR-10 python batch without running code from the file.

    ``pickle.load`` imports and calls whatever a file names, so a crafted batch runs code in
    the worker. A genuine batch holds a dict of bytes keys, lists, bytes, numbers and numpy
    arrays; this unpickler resolves only the few numpy names that rebuild such arrays, each
    replaced by a checked function, and refuses every other global.
    """

    def __init__(self, file: io.BufferedIOBase) -> None:
        super().__init__(file, encoding="bytes")

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _BATCH_GLOBALS[(module, name)]
        except KeyError:
            raise _Refused("a global that is no numpy array") from None


def _unpickle(path: Path, expected: str) -> dict:
    """The dict a CIFAR-10 file holds; ValueError naming the file, never quoting it."""
    try:
        with path.open("rb") as fh:
            value = BatchUnpickler(fh).load()
    except _Refused as exc:
        raise ValueError(f"{path} is refused: it asks to build {exc}, but {expected} holds only "
                         "a dict of bytes, lists, numbers and numpy arrays (nothing in the "
                         "file was run)") from None
    except Exception as exc:  # noqa: BLE001 - malformed pickles raise many kinds of error
        raise ValueError(f"{path} is not {expected}: reading it failed "
                         f"({type(exc).__name__})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path} is not {expected}: it holds a {type(value).__name__}, "
                         "not a dict")
    return value


BATCH = "a CIFAR-10 python batch (a pickled dict with b'data' of N x 3072 uint8 and b'labels')"


def _read_batch(path: Path, source: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N x 32 x 32 x 3 uint8) and labels of one batch; ``source`` names it in errors."""
    batch = _unpickle(path, BATCH)
    if b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{source} is not {BATCH}: it lacks b'data' or b'labels'")
    data = _numbers(source, "b'data'", batch[b"data"])
    labels = _labels(source, "b'labels'", batch[b"labels"])
    if data.ndim != 2 or data.shape[1] != 3072 or labels.ndim != 1:
        raise ValueError(f"{source} is not {BATCH}: b'data' has shape {data.shape}")
    if data.size and (data.min() < 0 or data.max() > 255):
        raise ValueError(f"{source}: b'data' must hold pixel values in 0..255")
    if len(data) != len(labels) or len(data) == 0:
        raise ValueError(f"{source} holds {len(data)} images and {len(labels)} labels; "
                         "expected the same, non-zero number")
    return data.astype(np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def _read_label_names(path: Path, source: Path) -> list[str]:
    names = _unpickle(path, "a CIFAR-10 meta file").get(b"label_names")
    if not isinstance(names, list) or not all(isinstance(n, (bytes, str)) for n in names):
        raise ValueError(f"{source} is not a CIFAR-10 meta file: it needs b'label_names', "
                         "a list of class names")
    try:
        return [n.decode() if isinstance(n, bytes) else n for n in names]
    except UnicodeDecodeError:
        raise ValueError(f"{source}: b'label_names' must be UTF-8 text") from None


def _cifar10(directory: Path, guard: Guard) -> Loaded:
    if not guard(directory).is_dir():
        raise ValueError(f"CIFAR-10 directory {directory} does not exist")
    train_files = [directory / f"data_batch_{i}" for i in range(1, 6)]
    present = [f for f in train_files if guard(f).exists()]
    if not present or not guard(directory / "test_batch").exists():
        raise ValueError(
            f"{directory} is not a CIFAR-10 python-batch directory: expected data_batch_1..5 "
            "and test_batch (the 'cifar-10-batches-py' folder of the official archive)"
        )
    parts = [_read_batch(guard(f), f) for f in present]
    x_test, y_test = _read_batch(guard(directory / "test_batch"), directory / "test_batch")
    classes = [f"class_{i}" for i in range(10)]
    meta = directory / "batches.meta"
    if guard(meta).exists():
        classes = _read_label_names(guard(meta), meta)
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return _hwc_to_nchw(x), y, _hwc_to_nchw(x_test), y_test, classes


# -- npz arrays and image folders ------------------------------------------------------------


def _npz(path: Path, guard: Guard) -> Loaded:
    if not guard(path).is_file():
        raise ValueError(f"npz file {path} does not exist")
    expected = "x_train, y_train, x_test, y_test (and optionally classes)"
    try:
        files = np.load(guard(path), allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - a non-zip file raises many kinds of error
        raise ValueError(f"{path} is not a readable .npz file of arrays {expected} "
                         f"({type(exc).__name__})") from None
    with files:
        needed = {"x_train", "y_train", "x_test", "y_test"}
        missing = needed - set(files.files)
        if missing:
            raise ValueError(f"{path} lacks arrays {sorted(missing)}; it needs {sorted(needed)}")
        arrays: dict[str, np.ndarray] = {}
        for key in sorted(needed | ({"classes"} & set(files.files))):
            try:
                arrays[key] = files[key]
            except Exception as exc:  # noqa: BLE001 - object arrays, corrupt members, ...
                raise ValueError(f"{path}: array {key} cannot be read without pickle "
                                 f"({type(exc).__name__}); save plain numeric arrays") from None
    x_train = _numbers(path, "x_train", arrays["x_train"])
    x_test = _numbers(path, "x_test", arrays["x_test"])
    if x_train.ndim != 4 or x_train.shape[-1] not in (1, 3):
        raise ValueError(f"{path}: x_train must be N x H x W x C images, got shape {x_train.shape}")
    if x_test.shape[1:] != x_train.shape[1:]:
        raise ValueError(f"{path}: x_test images have shape {x_test.shape[1:]}, "
                         f"x_train images {x_train.shape[1:]}; they must match")
    y_train = _labels(path, "y_train", arrays["y_train"])
    y_test = _labels(path, "y_test", arrays["y_test"])
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if y.ndim != 1 or len(x) != len(y) or len(y) == 0:
            raise ValueError(f"{path}: x_{split} holds {len(x)} images but y_{split} has shape "
                             f"{y.shape}; expected one label per image and at least one image")
    n = int(max(y_train.max(), y_test.max())) + 1
    classes = [str(c) for c in arrays["classes"]] if "classes" in arrays else [
        f"class_{i}" for i in range(n)]
    return _hwc_to_nchw(x_train), y_train, _hwc_to_nchw(x_test), y_test, classes


def _folder(directory: Path, guard: Guard,
            image_size: int = 32) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if not guard(directory).is_dir():
        raise ValueError(f"image folder {directory} does not exist")
    class_dirs = sorted(d for d in directory.iterdir()
                        if not d.name.startswith(".") and guard(d).is_dir())
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
                with Image.open(guard(f)) as img:
                    img = img.convert("RGB").resize((image_size, image_size))
                    images.append(np.asarray(img, dtype=np.uint8))
            except (OSError, Image.DecompressionBombError) as exc:
                raise ValueError(f"cannot read image {f} ({type(exc).__name__}); expected "
                                 "a PNG, JPEG, BMP, GIF or WebP image") from None
            labels.append(label)
    return _hwc_to_nchw(np.stack(images)), np.asarray(labels, np.int64), [d.name for d in class_dirs]


def load_dataset(spec: str, seed: int = 0, val_fraction: float = 0.2,
                 test_fraction: float = 0.2, limit: int | None = None,
                 roots: Sequence[str | Path] | None = None) -> Dataset:
    """Load a dataset by spec (see the module docstring); errors say what was expected.

    ``roots``: the folders a user-named path must lie in (a lab server's data roots), every
    file read checked with :func:`~supernet.paths.check_under_roots`; None (the embedded default, one local
    user) allows any path.
    """
    if not isinstance(spec, str) or not spec:
        raise ValueError("dataset spec must be a non-empty string such as 'digits'")
    kind, _, arg = spec.partition(":")

    def split(name: str, source: Path | str, x: np.ndarray, y: np.ndarray,
              x_test: np.ndarray | None, y_test: np.ndarray | None,
              classes: list[str]) -> Dataset:
        return _split(name, source, x, y, x_test, y_test, classes, seed, val_fraction,
                      test_fraction, limit)

    if kind == "digits":
        x, y, classes = _digits()
        return split("digits", "digits", x, y, None, None, classes)
    if kind == "darcy":
        from supernet.datasets.darcy import load_darcy

        return load_darcy(arg, seed, val_fraction, test_fraction, limit)
    if kind == "aeon":
        from supernet.datasets.ucr import load_aeon

        return load_aeon(arg, seed, val_fraction, limit)
    if not arg:
        raise ValueError(
            f"unknown dataset {spec!r}: use {DATASET_KINDS}"
        )
    path = Path(arg).expanduser()
    guard = path_guard(roots)
    if kind == "cifar10":
        return split("cifar10", path, *_cifar10(path, guard))
    if kind == "npz":
        return split(path.stem, path, *_npz(path, guard))
    if kind == "folder":
        x, y, classes = _folder(path, guard)
        return split(path.name, path, x, y, None, None, classes)
    raise ValueError(
        f"unknown dataset kind {kind!r}: use {DATASET_KINDS}"
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
