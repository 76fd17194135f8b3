"""Hostile dataset files and paths (issue 17): a crafted CIFAR-10 batch must not run code,
errors must never echo a file's contents, NaN images are refused, and data roots confine
user-chosen paths without telling whether a file outside them exists."""

from __future__ import annotations

import os
import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from supernet.data import load_dataset
from supernet.paths import check_under_roots

SECRET = "NAVIGATOR_SECRET=hunter2-do-not-leak"


class _Exploit:
    """Unpickling this calls ``os.system`` (or ``eval``), which would create ``marker``."""

    def __init__(self, marker: Path, via: str) -> None:
        self.marker, self.via = marker, via

    def __reduce__(self) -> tuple:
        if self.via == "os.system":
            return os.system, (f"touch {self.marker}",)
        if self.via == "eval":
            return eval, (f"open({str(self.marker)!r}, 'w').close()",)
        return (__import__("builtins").exec, (f"open({str(self.marker)!r}, 'w').close()",))


def _batch(n: int = 12, seed: int = 0) -> dict:
    """A batch as the official archive pickles it: bytes keys, a uint8 array, a label list."""
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"training batch 1 of 5",
            b"labels": [int(v) for v in rng.integers(0, 3, n)],
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [f"img_{i}.png".encode() for i in range(n)]}


class _Python2Pickler(pickle._Pickler):  # type: ignore[name-defined]
    """Writes what the official archive holds (Python 2's cPickle, numpy 1): every string as
    BINSTRING (bytes under ``encoding='bytes'``), numpy's functions under ``numpy.core``."""

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def save_py2_str(self, obj: bytes | str) -> None:
        raw = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    def save_global(self, obj: Any, name: str | None = None) -> None:
        module = obj.__module__.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str
    dispatch[type] = save_global


def _dump(obj: Any, path: Path, protocol: int | str) -> None:
    with path.open("wb") as fh:
        if protocol == "python2":
            _Python2Pickler(fh, protocol=2).dump(obj)
        else:
            pickle.dump(obj, fh, protocol=int(protocol))


def _write_cifar(directory: Path, protocol: int | str = pickle.DEFAULT_PROTOCOL) -> None:
    directory.mkdir(parents=True)
    for k, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        _dump(_batch(seed=k), directory / name, protocol)
    _dump({b"label_names": [b"cat", b"dog", b"owl"], b"num_vis": 3072},
          directory / "batches.meta", protocol)


@pytest.mark.parametrize("via", ["os.system", "eval", "exec"])
@pytest.mark.parametrize("target", ["data_batch_3", "test_batch", "batches.meta"])
def test_a_crafted_batch_is_refused_and_runs_nothing(tmp_path: Path, via: str,
                                                     target: str) -> None:
    _write_cifar(tmp_path / "cifar")
    marker = tmp_path / "pwned"
    with (tmp_path / "cifar" / target).open("wb") as fh:
        pickle.dump({b"data": _Exploit(marker, via), b"labels": [0]}, fh)
    with pytest.raises(ValueError, match=f"{target}.*refus") as info:
        load_dataset(f"cifar10:{tmp_path / 'cifar'}")
    assert not marker.exists()
    assert "touch" not in str(info.value) and "open(" not in str(info.value)


@pytest.mark.parametrize("protocol", ["python2", 2, 4, 5])
def test_genuine_batches_still_load_under_every_pickle_protocol(tmp_path: Path,
                                                                protocol: int | str) -> None:
    _write_cifar(tmp_path / "cifar", protocol)
    data = load_dataset(f"cifar10:{tmp_path / 'cifar'}")
    assert data.classes == ["cat", "dog", "owl"] and data.x_train.shape[1:] == (3, 32, 32)
    assert len(data.y_train) + len(data.y_val) == 60 and len(data.y_test) == 12
    if protocol == "python2":  # the archive's own format: numpy 1 names, Python 2 strings
        raw = (tmp_path / "cifar" / "test_batch").read_bytes()
        assert b"numpy.core.multiarray\n_reconstruct" in raw and b"_codecs" not in raw


def test_numpy_labels_and_object_arrays(tmp_path: Path) -> None:
    _write_cifar(tmp_path / "ok")
    batch = _batch()
    batch[b"labels"] = list(np.asarray(batch[b"labels"], np.int64))  # numpy scalars
    with (tmp_path / "ok" / "data_batch_1").open("wb") as fh:
        pickle.dump(batch, fh)
    assert load_dataset(f"cifar10:{tmp_path / 'ok'}").num_classes == 3

    _write_cifar(tmp_path / "objects")
    batch[b"data"] = np.array([{"a": 1}] * 12, dtype=object)
    with (tmp_path / "objects" / "data_batch_1").open("wb") as fh:
        pickle.dump(batch, fh)
    with pytest.raises(ValueError, match="data_batch_1"):
        load_dataset(f"cifar10:{tmp_path / 'objects'}")


def test_errors_never_echo_file_contents(tmp_path: Path) -> None:
    _write_cifar(tmp_path / "cifar")
    (tmp_path / "cifar" / "data_batch_1").write_text(SECRET + "\n")
    with pytest.raises(ValueError, match="data_batch_1") as info:
        load_dataset(f"cifar10:{tmp_path / 'cifar'}")
    assert "hunter2" not in str(info.value) and "NAVIGATOR" not in str(info.value)

    (tmp_path / "secret.npz").write_text(SECRET + "\n")
    with pytest.raises(ValueError, match="secret.npz") as info:
        load_dataset(f"npz:{tmp_path / 'secret.npz'}")
    assert "hunter2" not in str(info.value) and "NAVIGATOR" not in str(info.value)

    (tmp_path / "imgs" / "cat").mkdir(parents=True)
    for i in range(12):
        (tmp_path / "imgs" / "cat" / f"{i}.png").write_text(SECRET)
    with pytest.raises(ValueError, match=r"0\.png") as info:
        load_dataset(f"folder:{tmp_path / 'imgs'}")
    assert "hunter2" not in str(info.value)


def test_npz_with_text_arrays_does_not_echo_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = {"x_train": np.array([[[[SECRET]]]] * 20), "y_train": np.arange(20) % 2,
              "x_test": np.array([[[[SECRET]]]] * 4), "y_test": np.arange(4) % 2}
    np.savez(tmp_path / "t.npz", **arrays)
    with pytest.raises(ValueError, match="t.npz.*x_train") as info:
        load_dataset(f"npz:{tmp_path / 't.npz'}")
    assert "hunter2" not in str(info.value)
    arrays["x_train"] = rng.integers(0, 256, (20, 4, 4, 3), dtype=np.uint8)
    arrays["x_test"] = rng.integers(0, 256, (4, 4, 4, 3), dtype=np.uint8)
    arrays["y_train"] = np.array([SECRET] * 20)
    np.savez(tmp_path / "t.npz", **arrays)
    with pytest.raises(ValueError, match="t.npz.*y_train") as info:
        load_dataset(f"npz:{tmp_path / 't.npz'}")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_images_are_refused(tmp_path: Path, bad: float) -> None:
    rng = np.random.default_rng(0)
    x = rng.random((40, 8, 8, 3)).astype(np.float32) * 255
    x[7, 1, 2, 0] = bad
    np.savez(tmp_path / "f.npz", x_train=x, y_train=np.arange(40) % 4,
             x_test=rng.random((8, 8, 8, 3)) * 255, y_test=np.arange(8) % 4)
    with pytest.raises(ValueError, match="f.npz.*x_train.*NaN or infinite"):
        load_dataset(f"npz:{tmp_path / 'f.npz'}")

    _write_cifar(tmp_path / "cifar")
    batch = _batch()
    batch[b"data"] = batch[b"data"].astype(np.float64)
    batch[b"data"][3, 5] = bad
    with (tmp_path / "cifar" / "test_batch").open("wb") as fh:
        pickle.dump(batch, fh)
    with pytest.raises(ValueError, match="test_batch.*NaN or infinite"):
        load_dataset(f"cifar10:{tmp_path / 'cifar'}")


def test_nan_and_fractional_labels_are_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    base = {"x_train": rng.integers(0, 256, (40, 8, 8, 3), dtype=np.uint8),
            "x_test": rng.integers(0, 256, (8, 8, 8, 3), dtype=np.uint8),
            "y_test": np.arange(8) % 4}
    y = (np.arange(40) % 4).astype(np.float64)
    y[3] = np.nan
    np.savez(tmp_path / "l.npz", y_train=y, **base)
    with pytest.raises(ValueError, match="l.npz.*y_train.*NaN or infinite"):
        load_dataset(f"npz:{tmp_path / 'l.npz'}")
    y[3] = 1.5
    np.savez(tmp_path / "l.npz", y_train=y, **base)
    with pytest.raises(ValueError, match="l.npz.*y_train.*whole numbers"):
        load_dataset(f"npz:{tmp_path / 'l.npz'}")


def test_cifar_pixels_out_of_byte_range_are_refused(tmp_path: Path) -> None:
    _write_cifar(tmp_path / "cifar")
    batch = _batch()
    batch[b"data"] = batch[b"data"].astype(np.int64)
    batch[b"data"][0, 0] = 300
    with (tmp_path / "cifar" / "data_batch_2").open("wb") as fh:
        pickle.dump(batch, fh)
    with pytest.raises(ValueError, match="data_batch_2.*0..255"):
        load_dataset(f"cifar10:{tmp_path / 'cifar'}")


def test_an_empty_class_list_is_a_clear_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "e.npz", x_train=rng.integers(0, 256, (40, 8, 8, 3), dtype=np.uint8),
             y_train=np.arange(40) % 4, x_test=rng.integers(0, 256, (8, 8, 8, 3), dtype=np.uint8),
             y_test=np.arange(8) % 4, classes=np.array([], dtype=str))
    with pytest.raises(ValueError, match="e.npz.*no class names") as info:
        load_dataset(f"npz:{tmp_path / 'e.npz'}")
    assert "0..-1" not in str(info.value)
    _write_cifar(tmp_path / "cifar")
    with (tmp_path / "cifar" / "batches.meta").open("wb") as fh:
        pickle.dump({b"label_names": []}, fh)
    with pytest.raises(ValueError, match="cifar.*no class names"):
        load_dataset(f"cifar10:{tmp_path / 'cifar'}")


def test_split_errors_name_the_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "few.npz", x_train=rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8),
             y_train=np.arange(4) % 2, x_test=rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8),
             y_test=np.arange(2) % 2)
    with pytest.raises(ValueError, match="few.npz: 4 training images are too few"):
        load_dataset(f"npz:{tmp_path / 'few.npz'}")


# -- data roots ------------------------------------------------------------------------------


def test_check_under_roots_accepts_paths_inside_and_resolves_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "sets").mkdir(parents=True)
    (root / "sets" / "a.npz").write_bytes(b"x")
    assert check_under_roots(root / "sets" / "a.npz", [root]) == (root / "sets" / "a.npz").resolve()
    assert check_under_roots(str(root), [tmp_path / "other", root]) == root.resolve()
    (tmp_path / "alias").symlink_to(root)  # a link from outside into a root is fine
    assert check_under_roots(tmp_path / "alias" / "sets", [root]) == (root / "sets").resolve()


def test_check_under_roots_refuses_escapes_alike_whether_or_not_the_file_exists(
        tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (tmp_path / "secret.txt").write_text(SECRET)
    (root / "link").symlink_to(tmp_path / "secret.txt")
    (root / "dirlink").symlink_to(tmp_path)
    messages = set()
    for path in [tmp_path / "secret.txt", tmp_path / "missing.txt", root / ".." / "secret.txt",
                 root / ".." / "missing.txt", root / "link", root / "dirlink" / "secret.txt",
                 root / "dirlink" / "missing.txt", Path("/etc/shadow"), Path("/nope/shadow"),
                 root / "sub" / ".." / "x"]:
        with pytest.raises(ValueError, match="outside the data folders") as info:
            check_under_roots(path, [root])
        messages.add(str(info.value).replace(str(path), "<path>"))
    assert len(messages) == 1  # one wording: nothing tells an existing file from a missing one
    assert "hunter2" not in messages.pop()
    with pytest.raises(ValueError, match="outside the data folders"):
        check_under_roots(root, [])


def test_load_dataset_honours_roots(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _write_cifar(root / "cifar")
    _write_cifar(tmp_path / "elsewhere")
    assert load_dataset(f"cifar10:{root / 'cifar'}", roots=[root]).num_classes == 3
    assert load_dataset(f"cifar10:{tmp_path / 'elsewhere'}").num_classes == 3  # no roots
    for spec in (f"cifar10:{tmp_path / 'elsewhere'}", f"npz:{tmp_path / 'x.npz'}",
                 f"folder:{root / '..' / 'elsewhere'}", "npz:/etc/shadow",
                 "folder:/proc/self"):
        with pytest.raises(ValueError, match="outside the data folders"):
            load_dataset(spec, roots=[root])
    assert load_dataset("digits", roots=[root]).num_classes == 10  # bundled, no path


def test_links_inside_a_root_cannot_reach_files_outside(tmp_path: Path) -> None:
    from PIL import Image

    root = tmp_path / "data"
    _write_cifar(root / "cifar")
    _write_cifar(tmp_path / "outside")
    (root / "cifar" / "data_batch_2").unlink()
    (root / "cifar" / "data_batch_2").symlink_to(tmp_path / "outside" / "data_batch_2")
    with pytest.raises(ValueError, match="outside the data folders"):
        load_dataset(f"cifar10:{root / 'cifar'}", roots=[root])

    for label in ("cat", "dog"):
        (root / "imgs" / label).mkdir(parents=True)
        for i in range(8):
            Image.fromarray(np.full((4, 4, 3), i, np.uint8)).save(root / "imgs" / label / f"{i}.png")
    assert load_dataset(f"folder:{root / 'imgs'}", roots=[root]).num_classes == 2
    (tmp_path / "owl").mkdir()
    (root / "imgs" / "owl").symlink_to(tmp_path / "owl")
    with pytest.raises(ValueError, match="outside the data folders"):
        load_dataset(f"folder:{root / 'imgs'}", roots=[root])
    (root / "imgs" / "owl").unlink()
    (tmp_path / "leak.png").write_text(SECRET)
    (root / "imgs" / "dog" / "9.png").symlink_to(tmp_path / "leak.png")
    with pytest.raises(ValueError, match="outside the data folders") as info:
        load_dataset(f"folder:{root / 'imgs'}", roots=[root])
    assert "hunter2" not in str(info.value)


def _raw_pickle(module: str, name: str, args: str) -> bytes:
    """``module.name(*args)`` in protocol 0, as an attacker would write it by hand."""
    return f"c{module}\n{name}\n({args}tR.".encode()


@pytest.mark.parametrize(("module", "name", "args"), [
    ("numpy.testing._private.utils", "runstring", "S'open({marker!r}, \"w\").close()'\n(dt"),
    ("numpy", "load", "S'{marker}'\n"),
    ("numpy", "ndarray", "(I1000000000000\nt"),  # a terabyte, uninitialised
    ("builtins", "getattr", "cos\nsystem\nS'touch'\n"),
])
def test_numpy_and_builtin_gadgets_are_refused(tmp_path: Path, module: str, name: str,
                                               args: str) -> None:
    _write_cifar(tmp_path / "cifar")
    marker = tmp_path / "pwned"
    (tmp_path / "cifar" / "data_batch_1").write_bytes(
        _raw_pickle(module, name, args.format(marker=str(marker))))
    with pytest.raises(ValueError, match="data_batch_1 is refused"):
        load_dataset(f"cifar10:{tmp_path / 'cifar'}")
    assert not marker.exists()


def test_an_array_rebuilt_with_a_huge_shape_is_refused(tmp_path: Path) -> None:
    _write_cifar(tmp_path / "cifar")
    bomb = ("cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I1000000000000\ntS'b'\n"
            "tR.")
    (tmp_path / "cifar" / "test_batch").write_bytes(bomb.encode())
    with pytest.raises(ValueError, match="test_batch is refused"):
        load_dataset(f"cifar10:{tmp_path / 'cifar'}")
