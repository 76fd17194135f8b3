from __future__ import annotations

import numpy as np
import pytest
import torch

from supernet.model import Supernet
from supernet.space import SearchSpace

ALL_3X3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_nb201_costs_match_the_benchmark_tables(nb201_space: SearchSpace) -> None:
    # NAS-Bench-201 lists 1.531546 MB params and 220.11968 M FLOPs for the all-3x3 cell on CIFAR-10
    net = Supernet(nb201_space, in_channels=3, num_classes=10, image_size=32)
    arch = nb201_space.from_string(ALL_3X3)
    assert net.params(arch) == 1_531_546
    assert net.flops(arch) == 220_119_680


def test_params_and_flops_by_hand_on_a_micro_net(micro_space: SearchSpace) -> None:
    net = Supernet(micro_space, in_channels=1, num_classes=3, image_size=4)
    skip = ("skip_connect",) * 3
    conv = ("nor_conv_3x3", "skip_connect", "skip_connect")
    # stem conv 1->4 3x3 on 4x4: 16*9*4 MACs; reduction: conv_a 4->8 s2 (2x2 out) 4*36*8,
    # conv_b 8->8 4*72*8, downsample 1x1 4*4*8; classifier 8*3
    fixed_macs = 16 * 9 * 4 + 4 * 36 * 8 + 4 * 72 * 8 + 4 * 4 * 8 + 8 * 3
    assert net.flops(skip) == fixed_macs
    # one 3x3 conv 4->4 on 4x4 in stage 1 and one 8->8 on 2x2 in stage 2
    assert net.flops(conv) == fixed_macs + 16 * 36 * 4 + 4 * 72 * 8
    assert net.params(conv) - net.params(skip) == (4 * 4 * 9 + 2 * 4) + (8 * 8 * 9 + 2 * 8)


def test_forward_only_touches_the_sampled_path(tiny_space: SearchSpace) -> None:
    net = Supernet(tiny_space, in_channels=1, num_classes=10, image_size=8)
    arch = tiny_space.from_index(4321)
    out = net(torch.randn(4, 1, 8, 8), arch)
    out.sum().backward()
    on_path = {id(p) for p in net.path_parameters(arch)}
    for p in net.parameters():
        assert (p.grad is not None) == (id(p) in on_path)
    assert sum(p.numel() for p in net.path_parameters(arch)) == net.params(arch)


def test_all_none_cell_gives_zero_cell_output(tiny_space: SearchSpace) -> None:
    net = Supernet(tiny_space, in_channels=1, num_classes=10, image_size=8).eval()
    out = net(torch.randn(2, 1, 8, 8), ("none",) * 6)
    assert out.shape == (2, 10)
    assert torch.isfinite(out).all()


def test_every_op_runs(rng: np.random.Generator) -> None:
    from supernet.space import CELL_OPS, CellTemplate

    space = SearchSpace(CellTemplate.from_dict({"n_nodes": 2, "ops": list(CELL_OPS), "C": 4,
                                                "cells_per_stage": 1, "n_stages": 2}))
    net = Supernet(space, 3, 5, 8)
    for op in CELL_OPS:
        assert net(torch.randn(2, 3, 8, 8), (op,)).shape == (2, 5)


def test_rejects_foreign_architecture(tiny_space: SearchSpace) -> None:
    net = Supernet(tiny_space, 1, 10, 8)
    with pytest.raises(ValueError, match="not a candidate"):
        net.params(("conv_9x9",) * 6)


def test_cell_node_is_the_sum_of_its_chosen_incoming_ops(micro_space: SearchSpace) -> None:
    from supernet.ops import Cell

    torch.manual_seed(0)
    net = Supernet(micro_space, in_channels=1, num_classes=3, image_size=8).eval()
    cell = next(layer for layer in net.layers if isinstance(layer, Cell))
    x = torch.randn(2, 4, 8, 8)
    arch = ("nor_conv_3x3", "avg_pool_3x3", "nor_conv_3x3")  # edges 1<-0, 2<-0, 2<-1
    with torch.no_grad():
        node1 = cell.edges[0]["nor_conv_3x3"](x)
        expected = cell.edges[1]["avg_pool_3x3"](x) + cell.edges[2]["nor_conv_3x3"](node1)
        torch.testing.assert_close(cell(x, arch), expected)


def test_none_edges_are_skipped_and_an_unfed_node_is_zero(tiny_space: SearchSpace) -> None:
    from supernet.ops import Cell

    net = Supernet(tiny_space, in_channels=1, num_classes=10, image_size=8).eval()
    cell = next(layer for layer in net.layers if isinstance(layer, Cell))
    x = torch.randn(2, 8, 8, 8)
    # edges 1<-0 2<-0 2<-1 3<-0 3<-1 3<-2: node 1 is fed only by none, so the conv 3<-1 adds nothing
    arch = ("none", "skip_connect", "none", "none", "nor_conv_3x3", "skip_connect")
    with torch.no_grad():
        torch.testing.assert_close(cell(x, arch), x)
        assert torch.count_nonzero(cell(x, ("none",) * 6)) == 0
    # costs still count an op behind a dead node, as NAS-Bench-201's tables do
    conv = ("none", "none", "none", "none", "nor_conv_3x3", "none")
    assert net.flops(conv) > net.flops(("none",) * 6)


def test_subnets_share_the_weights_of_a_common_op(tiny_space: SearchSpace) -> None:
    torch.manual_seed(0)
    net = Supernet(tiny_space, in_channels=1, num_classes=10, image_size=8).eval()
    a = ("nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "skip_connect", "none")
    b = ("nor_conv_3x3", "nor_conv_1x1", "skip_connect", "skip_connect", "avg_pool_3x3", "none")
    c = ("nor_conv_1x1",) + a[1:]
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        before = {arch: net(x, arch) for arch in (a, b, c)}
        for cell in net.layers[::2]:  # cells only: stages alternate with reduction blocks
            cell.edges[0]["nor_conv_3x3"][1].weight.mul_(2.0)
        after = {arch: net(x, arch) for arch in (a, b, c)}
    assert not torch.allclose(before[a], after[a]) and not torch.allclose(before[b], after[b])
    torch.testing.assert_close(before[c], after[c])


def test_config_round_trip_rebuilds_the_same_network(tiny_space: SearchSpace) -> None:
    net = Supernet(tiny_space, in_channels=1, num_classes=10, image_size=8)
    clone = Supernet.from_config(net.config())
    clone.load_state_dict(net.state_dict())
    arch = tiny_space.from_index(777)
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(clone.eval()(x, arch), net.eval()(x, arch))
    assert clone.flops(arch) == net.flops(arch) and clone.params(arch) == net.params(arch)


@pytest.mark.gpu
def test_cuda_forward_matches_cpu(tiny_space: SearchSpace) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    net = Supernet(tiny_space, in_channels=1, num_classes=10, image_size=8).eval()
    arch = tiny_space.from_index(4321)
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        expected = net(x, arch)
        got = net.cuda()(x.cuda(), arch).cpu()
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    assert net.flops(arch) > 0


# MACs and parameters of each op on a 2-node net with C=4 on 4x4 inputs: one edge per cell,
# a stage-1 cell at 4 channels on 4x4 and a stage-2 cell at 8 channels on 2x2
def _conv_cost(c: int, hw: int, k: int, groups: int = 1) -> tuple[int, int]:
    """(params, MACs) of a bias-free k x k conv c -> c on an hw x hw map."""
    params = c * c * k * k // groups
    return params, params * hw * hw


def _op_cost(op: str, c: int, hw: int) -> tuple[int, int]:
    half = [_conv_cost(c, hw, 3, groups=c), _conv_cost(c, hw, 1)]  # depthwise + pointwise
    convs = {"nor_conv_1x1": [_conv_cost(c, hw, 1)], "nor_conv_3x3": [_conv_cost(c, hw, 3)],
             "nor_conv_5x5": [_conv_cost(c, hw, 5)], "dil_conv_3x3": half,
             "sep_conv_3x3": half * 2}.get(op, [])
    n_bn = 2 if op == "sep_conv_3x3" else int(bool(convs))  # one BN per conv stack
    return sum(p for p, _ in convs) + n_bn * 2 * c, sum(m for _, m in convs)


@pytest.mark.parametrize("op", ["none", "skip_connect", "avg_pool_3x3", "max_pool_3x3",
                                "nor_conv_1x1", "nor_conv_3x3", "nor_conv_5x5", "sep_conv_3x3",
                                "dil_conv_3x3"])
def test_every_op_costs_by_hand(op: str) -> None:
    from supernet.space import CELL_OPS, CellTemplate

    space = SearchSpace(CellTemplate.from_dict({"n_nodes": 2, "ops": list(CELL_OPS), "C": 4,
                                                "cells_per_stage": 1, "n_stages": 2}))
    net = Supernet(space, in_channels=1, num_classes=3, image_size=4)
    expected = [a + b for a, b in zip(_op_cost(op, 4, 4), _op_cost(op, 8, 2))]
    base_params, base_flops = net.params(("none",)), net.flops(("none",))
    assert [net.params((op,)) - base_params, net.flops((op,)) - base_flops] == expected
    assert sum(p.numel() for p in net.path_parameters((op,))) == net.params((op,))


def test_every_edge_of_every_cell_owns_each_candidate(tiny_space: SearchSpace) -> None:
    from supernet.ops import Cell

    net = Supernet(tiny_space, 1, 10, 8)
    cells = [m for m in net.modules() if isinstance(m, Cell)]
    assert len(cells) == tiny_space.template.n_stages * tiny_space.template.cells_per_stage
    convs = [edge["nor_conv_3x3"][1].weight for cell in cells for edge in cell.edges]
    assert len({id(w) for w in convs}) == len(cells) * len(tiny_space)  # nothing shared by accident
    for cell in cells:
        assert [tuple(edge) for edge in cell.edges] == [cp.candidates for cp in tiny_space]


def test_train_and_eval_switch_every_module_also_on_a_copy(tiny_space: SearchSpace) -> None:
    import copy

    net = Supernet(tiny_space, 1, 10, 8)
    assert net.eval() is net and not any(m.training for m in net.modules())
    clone = copy.deepcopy(net).train()  # the cached module list must follow the copy
    assert all(m.training for m in clone.modules()) and not any(m.training for m in net.modules())
    net.layers[0].train()  # a sub-tree switched on its own is switched back by the next call
    net.eval()
    assert not any(m.training for m in net.modules())
    with pytest.raises(ValueError, match="bool"):
        net.train("yes")
