"""Architectures, configs and files shared by the tabular-mode tests."""

from __future__ import annotations

from pathlib import Path

from supernet.configs import EngineConfig
from supernet.search import SearchConfig
from supernet.space import SearchSpace

NB201 = SearchSpace.from_preset("nb201")
A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
B = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
C = "|skip_connect~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
D = "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|"


def config(seed: int = 0, population: int = 20) -> EngineConfig:
    return EngineConfig(template="nb201",
                        search=SearchConfig(population=population, parents=5, seed=seed))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
