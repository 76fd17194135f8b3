"""UCR/UEA time-series classification sets that aeon ships inside its package (offline).

``aeon:<Name>`` loads the bundled train/test split; the validation set is a stratified part
of the training split. Series become ``[N, C, L]`` float tensors standardised per channel
with training statistics. Variable-length sets (JapaneseVowels) are padded at the end to the
longest series and get one more channel, the mask (1 on real samples, 0 on padding), which
the networks' global pooling honours (``Task.masked``). aeon is imported here, lazily: it
costs seconds and a search on images never needs it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from supernet.configs import MIN_LIMIT
from supernet.data import Dataset, _stratify
from supernet.tasks import Task


def _data_dir() -> Path:
    import aeon.datasets

    return Path(aeon.datasets.__file__).parent / "data"


def bundled_classification_sets() -> list[str]:
    """Names of the classification sets in aeon's package data (a ``.ts`` train file with
    class labels): the only ones that load without a download."""
    names = []
    for train in sorted(_data_dir().glob("*/*_TRAIN.ts")):
        head = train.read_text(errors="replace")[:4000].lower()
        if "@classlabel true" in head and train.name == f"{train.parent.name}_TRAIN.ts":
            names.append(train.parent.name)
    return names


def _padded(series: list[np.ndarray] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values ``[N, C, L]`` zero-padded at the end, mask ``[N, 1, L]``)."""
    if isinstance(series, np.ndarray):
        return series.astype(np.float64), np.ones((len(series), 1, series.shape[2]))
    length = max(s.shape[1] for s in series)
    values = np.zeros((len(series), series[0].shape[0], length))
    mask = np.zeros((len(series), 1, length))
    for i, s in enumerate(series):
        values[i, :, :s.shape[1]] = s
        mask[i, 0, :s.shape[1]] = 1.0
    return values, mask


def _read(name: str, split: str, length: int | None
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from aeon.datasets import load_classification

    x, y = load_classification(name, split=split, extract_path=str(_data_dir()),
                               load_equal_length=False)
    values, mask = _padded(x)
    if length is not None and values.shape[2] < length:  # test series longer than training's
        pad = length - values.shape[2]
        values = np.pad(values, ((0, 0), (0, 0), (0, pad)))
        mask = np.pad(mask, ((0, 0), (0, 0), (0, pad)))
    if not np.isfinite(values).all():
        raise ValueError(f"aeon:{name} holds missing values; choose a set without them")
    return values, mask, np.asarray(y).astype(str)


def load_aeon(name: str, seed: int = 0, val_fraction: float = 0.2,
              limit: int | None = None) -> Dataset:
    """The bundled set ``name`` (see the module docstring); ``ValueError`` lists the names."""
    known = bundled_classification_sets()
    if name not in known:
        raise ValueError(f"unknown aeon dataset {name!r}: without internet only the sets aeon "
                         f"ships load; choose one of {', '.join(known)} (e.g. aeon:BasicMotions)")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    x, mask, labels = _read(name, "train", None)
    x_test, mask_test, labels_test = _read(name, "test", x.shape[2])
    if x_test.shape[2] > x.shape[2]:  # the longest series is in the test split
        x, mask, _ = _read(name, "train", x_test.shape[2])
    classes = sorted(set(labels) | set(labels_test))
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray([index[c] for c in labels], np.int64)
    y_test = np.asarray([index[c] for c in labels_test], np.int64)
    if limit is not None:
        if limit < MIN_LIMIT:
            raise ValueError(f"limit must be at least {MIN_LIMIT} series, got {limit}")
        keep = np.sort(np.random.default_rng(seed).permutation(len(y))[:limit])
        x, mask, y = x[keep], mask[keep], y[keep]
    masked = not bool(mask.all() and mask_test.all())
    rows = np.arange(len(y))
    tr, val = train_test_split(rows, test_size=val_fraction, random_state=seed,
                               stratify=_stratify(y, val_fraction))
    # per-channel statistics of the real training samples only (padding is not data)
    weights = np.broadcast_to(mask[tr], x[tr].shape)
    mean = (x[tr] * weights).sum(axis=(0, 2)) / weights.sum(axis=(0, 2))
    var = (((x[tr] - mean[None, :, None]) ** 2) * weights).sum(axis=(0, 2)) / weights.sum(
        axis=(0, 2))
    std = np.sqrt(var) + 1e-6

    def tensor(values: np.ndarray, m: np.ndarray) -> torch.Tensor:
        scaled = (values - mean[None, :, None]) / std[None, :, None] * m
        out = np.concatenate([scaled, m], axis=1) if masked else scaled
        return torch.from_numpy(out.astype(np.float32))

    channel_mean = tuple(float(v) for v in mean) + ((0.0,) if masked else ())
    channel_std = tuple(float(v) for v in std) + ((1.0,) if masked else ())
    return Dataset(
        f"aeon:{name}", tensor(x[tr], mask[tr]), torch.from_numpy(y[tr]),
        tensor(x[val], mask[val]), torch.from_numpy(y[val]),
        tensor(x_test, mask_test), torch.from_numpy(y_test), len(classes), list(classes),
        input_mean=channel_mean, input_std=channel_std,
        task=Task(kind="classification", dims=1, masked=masked))
