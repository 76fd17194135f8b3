from __future__ import annotations

import pytest
import torch
from torch import nn

from supernet.ops import OPS, FactorizedReduce, ResNetBasicBlock, Zero
from supernet.space import CELL_OPS

C = 4


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_registry_covers_exactly_the_cell_ops() -> None:
    assert set(OPS) == set(CELL_OPS)


@pytest.mark.parametrize("op", CELL_OPS)
@pytest.mark.parametrize("stride", [1, 2])
def test_ops_keep_channels_and_apply_stride(op: str, stride: int) -> None:
    module = OPS[op](C, stride, True).eval()
    with torch.no_grad():
        out = module(torch.randn(2, C, 8, 8))
    assert out.shape == (2, C, 8 // stride, 8 // stride)


@pytest.mark.parametrize(("op", "expected"), [
    ("none", 0),
    ("skip_connect", 0),
    ("avg_pool_3x3", 0),
    ("max_pool_3x3", 0),
    ("nor_conv_1x1", C * C + 2 * C),
    ("nor_conv_3x3", C * C * 9 + 2 * C),
    ("nor_conv_5x5", C * C * 25 + 2 * C),
    # DARTS: depthwise 3x3 + pointwise 1x1 + BN, stacked twice for sep_conv, once for dil_conv
    ("sep_conv_3x3", 2 * (C * 9 + C * C + 2 * C)),
    ("dil_conv_3x3", C * 9 + C * C + 2 * C),
])
def test_parameter_counts_by_hand(op: str, expected: int) -> None:
    assert _n_params(OPS[op](C, 1, True)) == expected


def test_affine_false_drops_only_the_bn_parameters() -> None:
    assert _n_params(OPS["nor_conv_3x3"](C, 1, False)) == C * C * 9
    bns = [m for m in OPS["sep_conv_3x3"](C, 1, False).modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 2 and all(bn.weight is None and bn.track_running_stats for bn in bns)


def test_none_is_zero_and_skip_is_identity() -> None:
    x = torch.randn(2, C, 6, 6)
    assert isinstance(OPS["none"](C, 1, True), Zero)
    assert torch.equal(OPS["none"](C, 2, True)(x), torch.zeros(2, C, 3, 3))
    assert torch.equal(OPS["skip_connect"](C, 1, True)(x), x)
    assert isinstance(OPS["skip_connect"](C, 2, True), FactorizedReduce)


def test_avg_pool_excludes_padding_and_max_pool_is_3x3() -> None:
    ones = torch.ones(1, 1, 5, 5)
    # with count_include_pad=True a corner would average 4 ones over 9 cells
    assert torch.equal(OPS["avg_pool_3x3"](1, 1, True)(ones), ones)
    x = torch.randn(1, C, 7, 7)
    torch.testing.assert_close(OPS["max_pool_3x3"](C, 1, True)(x),
                               nn.functional.max_pool2d(x, 3, 1, 1))


def test_dilated_conv_sees_a_5x5_window() -> None:
    """An impulse spreads over a dilation-2 3x3 footprint: 9 positions within a 5x5 window."""
    op = OPS["dil_conv_3x3"](1, 1, True).eval()
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 4, 4] = 1.0
    with torch.no_grad():
        nn.init.ones_(op[1].weight)
        nn.init.ones_(op[2].weight)
        diff = (op(x) - op(torch.zeros_like(x))).abs()[0, 0]
    rows, cols = diff.nonzero(as_tuple=True)
    assert sorted(set(rows.tolist())) == [2, 4, 6] and sorted(set(cols.tolist())) == [2, 4, 6]


def test_conv_ops_are_relu_conv_bn() -> None:
    op = OPS["nor_conv_3x3"](C, 1, True)
    assert [type(m) for m in op] == [nn.ReLU, nn.Conv2d, nn.BatchNorm2d]
    assert op[1].bias is None


def test_reduction_block_is_a_residual_basic_block() -> None:
    block = ResNetBasicBlock(C, 2 * C)
    x = torch.randn(2, C, 8, 8)
    assert block(x).shape == (2, 2 * C, 4, 4)
    # conv_a 3x3 s2, conv_b 3x3, 1x1 shortcut after 2x2 average pooling
    assert _n_params(block) == (C * 2 * C * 9 + 4 * C) + (4 * C * C * 9 + 4 * C) + C * 2 * C
    block.eval()
    with torch.no_grad():
        shortcut = block.downsample(x)
        torch.testing.assert_close(block(x) - block.conv_b(block.conv_a(x)), shortcut)


def test_bn_recalibration_with_cumulative_average() -> None:
    """Evaluation resets BN stats and sets momentum=None: running stats become the exact mean."""
    op = OPS["nor_conv_1x1"](C, 1, True)
    bn = op[2]
    bn.reset_running_stats()
    bn.momentum = None
    batches = [torch.randn(8, C, 4, 4) + k for k in range(3)]
    with torch.no_grad():
        outs = [op[1](op[0](b)) for b in batches]
        for b in batches:
            op(b)
    expected = torch.stack([o.mean(dim=(0, 2, 3)) for o in outs]).mean(0)
    torch.testing.assert_close(bn.running_mean, expected, atol=1e-5, rtol=1e-5)
