"""The cell and chain networks on series (1-D ops, padding mask) and fields (dense head)."""

from __future__ import annotations

import pytest
import torch

from supernet.blocks import GlobalAverage
from supernet.model import Supernet
from supernet.ops import masked_mean
from supernet.space import SearchSpace
from supernet.tasks import Task

SERIES = Task(dims=1)
MASKED = Task(dims=1, masked=True)
FIELD = Task(kind="field_regression")


def _arch(space: SearchSpace, k: int) -> tuple[str, ...]:
    return tuple(cp.candidates[(k + i) % len(cp.candidates)] for i, cp in enumerate(space))


@pytest.mark.parametrize("preset", ["tiny", "chain-tiny"])
def test_series_run_through_1d_ops(preset: str) -> None:
    space = SearchSpace.from_preset(preset)
    net = Supernet(space, 6, 4, 40, SERIES)
    convs = [m for m in net.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d))]
    assert convs and all(isinstance(m, torch.nn.Conv1d) for m in convs)
    for k in range(3):
        arch = _arch(space, k)
        assert net(torch.randn(5, 6, 40), arch).shape == (5, 4)
        assert net.params(arch) > 0 and net.flops(arch) > 0


def test_global_pooling_averages_only_the_real_positions() -> None:
    x = torch.randn(2, 4, 10)
    mask = torch.ones(2, 1, 10)
    mask[0, 0, 6:] = 0.0
    expected = torch.stack([x[0, :, :6].mean(1), x[1].mean(1)])
    assert torch.allclose(masked_mean(x, mask), expected, atol=1e-6)
    assert torch.allclose(GlobalAverage()(x, mask), expected, atol=1e-6)
    # a strided layer halved the length: the mask is resized with it
    half = masked_mean(x[:, :, ::2], mask)
    assert torch.allclose(half[0], x[0, :, ::2][:, :3].mean(1), atol=1e-6)


@pytest.mark.parametrize("preset", ["tiny", "chain-tiny"])
def test_masked_networks_read_the_last_channel_as_the_mask(preset: str) -> None:
    torch.manual_seed(0)
    space = SearchSpace.from_preset(preset)
    net = Supernet(space, 3 + 1, 2, 32, MASKED).eval()
    first_conv = next(m for m in net.modules() if isinstance(m, torch.nn.Conv1d))
    assert first_conv.in_channels == 3  # the mask is not a signal channel
    arch = _arch(space, 0)
    x = torch.cat([torch.randn(1, 3, 32), torch.ones(1, 1, 32)], 1)
    x[:, :3, 20:] = 0.0
    shorter = x.clone()
    shorter[:, -1, 20:] = 0.0  # same values, but the last 12 steps are padding
    with torch.no_grad():
        assert not torch.allclose(net(x, arch), net(shorter, arch), atol=1e-4)


@pytest.mark.parametrize("preset", ["tiny", "chain-tiny"])
def test_field_head_predicts_one_value_per_input_position(preset: str) -> None:
    space = SearchSpace.from_preset(preset)
    net = Supernet(space, 1, 1, 32, FIELD)
    out = net(torch.randn(2, 1, 32, 32), _arch(space, 1))
    assert out.shape == (2, 1, 32, 32)
    assert not any(isinstance(m, torch.nn.Linear) for m in net.modules())
