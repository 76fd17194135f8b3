"""Uploaded latency tables (``supernet.hardware.latency_csv``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from supernet.hardware.latency_csv import load_latency_csv
from supernet.space import SearchSpace


def test_csv_loads_text_bytes_and_paths(nb201_space: SearchSpace, tmp_path: Path) -> None:
    a, b = nb201_space.from_index(0), nb201_space.from_index(15_624)
    text = (f"device,arch,latency_ms\npixel,{nb201_space.to_string(a)},1.5\n\n"
            f"pixel, {nb201_space.to_string(b)} ,2\n")
    path = tmp_path / "lat.csv"
    path.write_text(text)
    for source in (text, text.encode("utf-8-sig"), path, str(path)):
        archs, latencies = load_latency_csv(source, nb201_space)
        assert archs == [a, b]
        np.testing.assert_array_equal(latencies, [1.5, 2.0])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("arch,ms\n{a},1\n", "line 1: the header must name"),
        ("arch,latency_ms\n{a},1\n|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|,2\n",
         "line 3: unknown architecture '|bogus~0|"),
        ("arch,latency_ms\n{a},-0.5\n", "line 2: latency_ms -0.5 is negative"),
        ("arch,latency_ms\n{a},fast\n", "line 2: latency_ms 'fast' is not a number"),
        ("arch,latency_ms\n\n{a},nan\n", "line 3: latency_ms 'nan' is not a finite"),
        ("arch,latency_ms\n{a},1\n{a}\n", "line 3: expected 2 fields"),
        ("arch,latency_ms\n", "no data rows"),
        ("", "empty"),
        ("missing.csv", "file 'missing.csv' does not exist"),
    ],
)
def test_csv_errors_name_the_line(nb201_space: SearchSpace, body: str, message: str) -> None:
    text = body.format(a=nb201_space.to_string(nb201_space.from_index(7)))
    with pytest.raises(ValueError, match=message.replace("|", r"\|")):
        load_latency_csv(text, nb201_space)
