"""Hostile table paths (issue 17): ``table_path`` names any file the worker can read, so
errors must never echo what a file holds until its header proves it a benchmark table, and
data roots confine table and ``nats:`` paths without telling whether a file outside exists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from supernet.configs import EngineConfig
from supernet.engine import SearchEngine
from supernet.engines import open_engine
from supernet.tabular import parsing
from supernet.tabular.engine import TabularEngine
from supernet.tabular.specs import open_table
from supernet.tabular.synthetic import synthetic_table
from tests.supernet.tabular.cases import NB201, A, write

SECRET = "hunter2-do-not-leak"


def refusal(spec: str, **kwargs: object) -> str:
    with pytest.raises(ValueError) as info:
        open_table(spec, "cifar10", **kwargs)  # type: ignore[arg-type]
    return str(info.value)


@pytest.mark.parametrize("text", [
    f"NAVIGATOR_SECRET={SECRET}\nREDIS_URL=redis://:{SECRET}@lab:6379/0\n",  # an env file
    f"root:$6${SECRET}$hash:19000:0:99999:7:::\n",  # /etc/shadow
    f"{SECRET}\n",  # a bare token file
    f"user,{SECRET}\nalice,x\n",  # a CSV, but no benchmark table
    f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n",
    f'"{SECRET}\n',  # an unterminated quote: not even CSV
])
def test_a_file_with_a_secret_first_line_is_refused_without_echoing_it(tmp_path: Path,
                                                                       text: str) -> None:
    path = write(tmp_path / "secret", text)
    message = refusal(str(path))
    assert SECRET not in message and "hunter2" not in message
    assert str(path) in message and "line 1" in message and "'arch' column" in message


def test_proc_environ_and_binary_files_get_a_clear_error_without_content(tmp_path: Path) -> None:
    environ = tmp_path / "environ"
    environ.write_bytes(f"NAVIGATOR_SECRET={SECRET}\0REDIS_URL=x\0".encode())
    png = tmp_path / "image.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + SECRET.encode() + bytes(range(256)))
    for path in (environ, png):
        message = refusal(str(path))
        assert "not a UTF-8 text file" in message and str(path) in message
        assert SECRET not in message and "PNG" not in message
    if os.access("/proc/self/environ", os.R_OK):
        assert "not a UTF-8 text file" in refusal("/proc/self/environ")


def test_cells_of_a_file_that_is_no_table_are_never_shown(tmp_path: Path) -> None:
    # a header that names neither an arch column nor a dataset: nothing of the file is shown
    path = write(tmp_path / "t.csv", f"arch,{SECRET}\n{A},0.5\n")
    message = refusal(str(path))
    assert "no accuracy column for dataset 'cifar10'" in message and SECRET not in message
    # the header names the dataset: the file is a table, and its bad cell is named by position
    path = write(tmp_path / "u.csv", f"arch,cifar10\n{A},0.5\n{SECRET[:5]},0.4\n")
    assert "line 3: malformed architecture string" in refusal(str(path))


def test_devices_directories_and_huge_files_are_refused_before_reading(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "no such file" in refusal(str(tmp_path))
    if Path("/dev/zero").exists():
        assert "no such file" in refusal("/dev/zero")  # not a regular file: never read
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert "no such file" in refusal(str(fifo))  # opening it would block forever
    monkeypatch.setattr(parsing, "MAX_TABLE_BYTES", 100)
    big = write(tmp_path / "big.csv", "arch,cifar10\n" + f"{A},0.5\n" * 10)
    assert "larger than" in refusal(str(big))


def test_table_paths_outside_the_data_roots_are_refused_alike(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    inside = synthetic_table(NB201, seed=0).write_csv(root / "nb201.csv")
    outside = write(tmp_path / "secret.csv", f"NAVIGATOR_SECRET={SECRET}\n")
    assert len(open_table(str(inside), "cifar10", roots=[root])) == NB201.size()
    messages = set()
    for spec in (str(outside), str(tmp_path / "missing.csv"), str(root / ".." / "secret.csv"),
                 "/etc/shadow", "/proc/self/environ"):
        message = refusal(spec, roots=[root])
        assert "outside the data folders" in message and SECRET not in message
        messages.add(message.replace(spec, "<path>"))
    assert len(messages) == 1  # nothing tells an existing file from a missing one
    for spec in (f"nats:{tmp_path}", "nats:/etc"):
        assert "outside the data folders" in refusal(spec, roots=[root])
    assert len(open_table("synthetic:1", "cifar10", roots=[root])) == NB201.size()


def test_engines_take_their_data_roots_from_the_caller_not_the_config(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    outside = synthetic_table(NB201, seed=0).write_csv(tmp_path / "nb201.csv")
    config = EngineConfig(template="nb201", mode="tabular", table_path=str(outside))
    assert "data_roots" not in config.to_dict()
    with pytest.raises(ValueError, match="outside the data folders"):
        open_engine(config, data_roots=[root])
    with pytest.raises(ValueError, match="outside the data folders"):
        TabularEngine(config, data_roots=[root])
    engine = open_engine(config)  # no roots: the embedded default reads any path
    checkpoint = engine.save(tmp_path / "ck.pt")
    with pytest.raises(ValueError, match="outside the data folders"):
        open_engine(config, checkpoint=checkpoint, data_roots=[root])  # resuming re-checks
    with pytest.raises(ValueError, match="unknown engine setting"):
        EngineConfig.from_dict({"data_roots": ["/"]})  # a browser cannot lift the limit
    dataset = EngineConfig(dataset=f"npz:{tmp_path / 'x.npz'}", measure_latency=False)
    with pytest.raises(ValueError, match="outside the data folders"):
        SearchEngine(dataset, data_roots=[root])
