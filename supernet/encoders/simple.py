"""The fixed codes: one-hot of the canonical architecture, and the path encoding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from supernet.encoders import Encoder, register_encoder
from supernet.encoders.graph import canonical, path_encoding


@register_encoder("onehot")
class OneHotEncoder(Encoder):
    """One block per choice point; dead cell edges count as ``none`` (one network, one code)."""

    def encode(self, archs: Sequence[Sequence[str]]) -> np.ndarray:
        return self.space.one_hot_many([canonical(self.space, a) for a in archs])


@register_encoder("path")
class PathEncoder(Encoder):
    """Which op sequences connect the input to the output."""

    def encode(self, archs: Sequence[Sequence[str]]) -> np.ndarray:
        return path_encoding(self.space, archs)
