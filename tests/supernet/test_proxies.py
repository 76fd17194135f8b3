from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from supernet.model import Supernet
from supernet.proxies import (
    JACOB_COV_K,
    NASWOT_JITTER,
    PROXIES,
    ProxyScorer,
    naswot,
    naswot_kernel,
    prescreen,
    rank_correlations,
    rank_vote,
    sample_distinct,
    score,
)
from supernet.space import CELL_OPS, CellTemplate, SearchSpace
from supernet.steering import SteeringState

INIT_FREE = {"params", "flops"}
"""Proxies that do not depend on the random initialisation."""


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Digits-sized inputs: 8 images of 1 x 8 x 8, 10 classes."""
    gen = torch.Generator().manual_seed(0)
    return torch.randn(8, 1, 8, 8, generator=gen), torch.randint(0, 10, (8,), generator=gen)


@pytest.fixture
def all_ops_space() -> SearchSpace:
    """A micro template whose edges offer every op of the registry."""
    return SearchSpace(CellTemplate(n_nodes=3, edges={e: CELL_OPS for e in ("1<-0", "2<-0", "2<-1")},
                                    C=4, cells_per_stage=1, n_stages=2))


def _used_model(space: SearchSpace, arch: tuple[str, ...], x: torch.Tensor) -> nn.Module:
    """A model in train mode whose BN buffers are no longer at their initial values."""
    model = ProxyScorer(space, 1, 10).build(arch, 8)
    with torch.no_grad():
        model.train()(x)
    return model


def test_unknown_proxy_lists_the_known_ones(micro_space: SearchSpace,
                                            batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    model = ProxyScorer(micro_space, 1, 10).build(micro_space.random_arch(np.random.default_rng(0)), 8)
    with pytest.raises(ValueError, match="unknown proxy") as info:
        score("synfow", model, *batch)
    assert all(name in str(info.value) for name in PROXIES)
    with pytest.raises(ValueError, match="'nope'"):
        ProxyScorer(micro_space, 1, 10, proxies=("snip", "nope"))
    with pytest.raises(ValueError, match="no proxy given"):
        ProxyScorer(micro_space, 1, 10, proxies=())


def test_synflow_leaves_parameters_and_buffers_bit_identical(
        tiny_space: SearchSpace, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    arch = ("nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "nor_conv_3x3",
            "skip_connect")
    model = _used_model(tiny_space, arch, batch[0])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    value = score("synflow", model, *batch)
    assert value > 0 and math.isfinite(value)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) and before[k].dtype == after[k].dtype
               for k in before)
    assert all(p.grad is None for p in model.parameters())


def test_synflow_follows_the_conservation_law_with_abs_weights_and_bn_bypassed() -> None:
    # Synflow's per-layer sums of theta * dR/dtheta all equal R for a positively
    # homogeneous network, so two bias-free layers score 2R with R = 1^T |W2| |W1| 1.
    torch.manual_seed(0)
    bn = nn.BatchNorm1d(3)
    model = nn.Sequential(nn.Linear(4, 3, bias=False), bn, nn.ReLU(), nn.Linear(3, 2, bias=False))
    with torch.no_grad():
        bn.weight.fill_(-3.0)
        bn.running_mean.fill_(5.0)
    w1, w2 = (m.weight.detach().double().abs() for m in (model[0], model[3]))
    r = float((w2 @ w1 @ torch.ones(4, dtype=torch.float64)).sum())
    assert score("synflow", model, torch.randn(6, 4), torch.zeros(6)) == pytest.approx(2 * r)


def test_synflow_computes_in_float64_where_float32_overflows() -> None:
    # 15 bias-free layers of 2 units, |w| = 1000: R = 2 * 2000**15 ~ 7e49 overflows float32
    # (max 3e38) and a float32 sum would be inf; synflow of such a chain is exactly 15 R.
    depth, width, magnitude = 15, 2, 1000.0
    model = nn.Sequential(*(nn.Linear(width, width, bias=False) for _ in range(depth)))
    with torch.no_grad():
        for k, layer in enumerate(model):
            layer.weight.fill_(magnitude if k % 2 else -magnitude)
    r = width * (width * magnitude) ** depth
    assert score("synflow", model, torch.randn(3, width), torch.zeros(3)) == pytest.approx(
        depth * r, rel=1e-12)
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_synflow_runs_every_layer_of_a_real_subnet_in_float64(
        tiny_space: SearchSpace, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    model = ProxyScorer(tiny_space, 1, 10).build(("nor_conv_3x3",) * 6, 8)
    seen: list[tuple[torch.dtype, torch.dtype]] = []

    def record(_m: nn.Module, inp: tuple, out: torch.Tensor) -> None:
        seen.append((inp[0].dtype, out.dtype))

    handles = [m.register_forward_hook(record) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    score("synflow", model, *batch)
    for handle in handles:
        handle.remove()
    assert len(seen) >= len(handles) > 6
    assert set(seen) == {(torch.float64, torch.float64)}


# -- reference values on a hand-built network ---------------------------------------
# Each proxy is compared with the definition of Abdelfattah et al.'s reference code
# (SamsungLabs/zero-cost-nas, foresight/pruners/measures), recomputed here another way.
# The network has biases (excluded from every saliency), a batch norm (train mode: batch
# statistics) and both a conv and a linear layer; float64 so the match can be tight.


@pytest.fixture
def hand_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                         nn.Flatten(), nn.Linear(3 * 4 * 4, 5)).double()


@pytest.fixture
def hand_batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return (torch.randn(6, 2, 4, 4, generator=gen, dtype=torch.float64),
            torch.randint(0, 5, (6,), generator=gen))


def _layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _backward_copy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> nn.Module:
    """A train-mode copy of ``model`` with ``.grad`` of the batch cross-entropy filled in."""
    net = copy.deepcopy(model).train()
    F.cross_entropy(net(x), y).backward()
    return net


def test_snip_is_the_sum_of_abs_weight_times_gradient(
        hand_net: nn.Module, hand_batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    net = _backward_copy(hand_net, *hand_batch)
    expected = sum(float((m.weight.detach() * m.weight.grad).abs().sum()) for m in _layers(net))
    assert score("snip", hand_net, *hand_batch) == pytest.approx(expected, rel=1e-10)


def test_grad_norm_sums_the_per_layer_l2_norms(
        hand_net: nn.Module, hand_batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    layers = _layers(_backward_copy(hand_net, *hand_batch))
    expected = sum(float(torch.linalg.vector_norm(m.weight.grad)) for m in layers)
    global_norm = float(torch.linalg.vector_norm(torch.cat([m.weight.grad.flatten()
                                                             for m in layers])))
    assert expected > 1.01 * global_norm  # the two reductions are told apart
    assert score("grad_norm", hand_net, *hand_batch) == pytest.approx(expected, rel=1e-10)


def test_grasp_is_minus_weights_dot_hessian_times_gradient(
        hand_net: nn.Module, hand_batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, y = hand_batch
    net = copy.deepcopy(hand_net).train()
    names = [f"{n}.weight" for n, m in net.named_modules() if m in _layers(net)]
    shapes = [net.get_parameter(n).shape for n in names]
    theta = torch.cat([net.get_parameter(n).detach().flatten() for n in names])

    def loss(flat: torch.Tensor) -> torch.Tensor:
        chunks = flat.split([s.numel() for s in shapes])
        weights = {n: c.reshape(s) for n, c, s in zip(names, chunks, shapes)}
        return F.cross_entropy(functional_call(net, weights, (x,)), y)

    gradient = torch.autograd.functional.jacobian(loss, theta)
    hessian = torch.autograd.functional.hessian(loss, theta)  # the full one, across layers
    expected = float(-theta @ (hessian @ gradient))
    assert abs(expected) > 1e-6
    assert score("grasp", hand_net, *hand_batch) == pytest.approx(expected, rel=1e-8)


def test_fisher_counts_each_channel_once_per_weight_like_the_reference(
        hand_net: nn.Module, hand_batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    # The reference's per-channel score is 0.5 * mean_n (dL/dm_nk)^2 for a gate m_nk = 1 on
    # channel k of sample n's layer output (= sum_hw act * grad), broadcast to the channel's
    # weight[k] (its fan-in) before the sum over all weights.
    x, y = hand_batch
    net = copy.deepcopy(hand_net).train()
    layers = _layers(net)
    gates = [torch.ones(len(x), m.weight.shape[0], dtype=x.dtype, requires_grad=True)
             for m in layers]

    def gated(gate: torch.Tensor) -> Callable[..., torch.Tensor]:
        return lambda _m, _i, out: out * gate.reshape(*gate.shape, *[1] * (out.dim() - 2))

    handles = [m.register_forward_hook(gated(g)) for m, g in zip(layers, gates)]
    grads = torch.autograd.grad(F.cross_entropy(net(x), y), gates)
    for handle in handles:
        handle.remove()
    expected = sum(m.weight[0].numel() * float(0.5 * g.pow(2).mean(0).sum())
                   for m, g in zip(layers, grads))
    assert score("fisher", hand_net, *hand_batch) == pytest.approx(expected, rel=1e-10)


def test_jacob_cov_scores_the_eigenvalues_of_the_jacobian_correlations(
        hand_net: nn.Module, hand_batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, y = hand_batch
    net = copy.deepcopy(hand_net).train()
    inputs = x.clone().requires_grad_(True)
    net(inputs).sum().backward()  # the reference: one backward of the batch's summed output
    jac = inputs.grad.reshape(len(x), -1).numpy()
    centred = jac - jac.mean(1, keepdims=True)
    unit = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    eig = np.linalg.eigvals(unit @ unit.T).real
    expected = -np.sum(np.log(eig + JACOB_COV_K) + 1.0 / (eig + JACOB_COV_K))
    assert eig.min() > 1e-3  # a well-conditioned case: no clipping involved
    assert score("jacob_cov", hand_net, x, y) == pytest.approx(float(expected), rel=1e-9)


def test_every_proxy_leaves_the_model_unchanged(micro_space: SearchSpace,
                                                batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    model = _used_model(micro_space, ("nor_conv_3x3", "skip_connect", "avg_pool_3x3"), batch[0])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for name in PROXIES:
        score(name, model, *batch)
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()), name
        assert all(p.grad is None for p in model.parameters()), name
        assert all(m.training for m in model.modules()), name


def test_naswot_kernel_is_symmetric_psd_with_relu_units_on_the_diagonal(
        tiny_space: SearchSpace, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    x = batch[0]
    model = ProxyScorer(tiny_space, 1, 10).build(tiny_space.random_arch(np.random.default_rng(1)), 8)
    units = 0

    def count(_m: nn.Module, _i: tuple, out: torch.Tensor) -> None:
        nonlocal units
        units += out[0].numel()

    handles = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.ReLU)]
    kernel = naswot_kernel(model, x)
    for h in handles:
        h.remove()
    assert units > 0 and kernel.shape == (8, 8)
    assert torch.equal(kernel, kernel.T)
    assert torch.equal(kernel.diagonal(), torch.full((8,), float(units), dtype=torch.float64))
    assert torch.linalg.eigvalsh(kernel).min() >= -1e-9 * units
    expected = torch.linalg.slogdet(kernel + NASWOT_JITTER * units * torch.eye(8)).logabsdet
    assert naswot(model, x, batch[1]) == pytest.approx(float(expected))


def test_naswot_is_finite_on_a_rank_deficient_kernel(micro_space: SearchSpace) -> None:
    model = ProxyScorer(micro_space, 1, 10).build(("nor_conv_3x3",) * 3, 8)
    x = torch.randn(1, 1, 8, 8).repeat(4, 1, 1, 1)  # identical images: K has rank 1
    assert torch.linalg.matrix_rank(naswot_kernel(model, x)) == 1
    assert math.isfinite(naswot(model, x, torch.zeros(4, dtype=torch.long)))


def test_scores_are_deterministic_under_a_seed(micro_space: SearchSpace,
                                               batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    arch = ("nor_conv_3x3", "avg_pool_3x3", "nor_conv_3x3")
    torch.manual_seed(123)
    first = ProxyScorer(micro_space, 1, 10, seed=0).score(arch, *batch)
    global_state = torch.get_rng_state()
    again = ProxyScorer(micro_space, 1, 10, seed=0).score(arch, *batch)
    assert torch.equal(global_state, torch.get_rng_state())  # the caller's RNG is untouched
    other = ProxyScorer(micro_space, 1, 10, seed=1).score(arch, *batch)
    assert first == again
    assert set(first) == set(PROXIES)
    for name in PROXIES:
        assert (first[name] == other[name]) == (name in INIT_FREE), name


def test_a_proxy_does_not_depend_on_the_others(micro_space: SearchSpace,
                                               batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    arch = ("nor_conv_3x3", "skip_connect", "nor_conv_3x3")
    everything = ProxyScorer(micro_space, 1, 10).score(arch, *batch)
    assert ProxyScorer(micro_space, 1, 10, proxies=("synflow",)).score(arch, *batch) == {
        "synflow": everything["synflow"]}


@pytest.mark.parametrize("op", CELL_OPS)
def test_every_proxy_is_finite_for_every_op(all_ops_space: SearchSpace, op: str,
                                            batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    scores = ProxyScorer(all_ops_space, 1, 10).score((op,) * 3, *batch)
    assert all(isinstance(v, float) and math.isfinite(v) for v in scores.values()), scores


def test_params_and_flops_follow_the_cost_model(tiny_space: SearchSpace,
                                                batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    costs = Supernet(tiny_space, 1, 10, 8)
    scorer = ProxyScorer(tiny_space, 1, 10, proxies=("params", "flops"))
    live = ("nor_conv_3x3",) * 6
    dead = ("none", "nor_conv_1x1", "none", "nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3")
    assert scorer.score(live, *batch) == {"params": costs.params(live), "flops": costs.flops(live)}
    got = scorer.score(dead, *batch)  # node 1 is fed only by 'none': its out-edges never run
    assert got["params"] == costs.params(dead)
    assert 0 < got["flops"] < costs.flops(dead)


def test_prescreen_respects_prune_and_lock(tiny_space: SearchSpace,
                                           batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    steering = SteeringState(tiny_space)
    steering.prune("1<-0", "nor_conv_3x3")
    steering.prune("1<-0", "none")
    steering.lock("3<-2", "skip_connect")
    scorer = ProxyScorer(tiny_space, 1, 10, proxies=("naswot",))
    top = prescreen(scorer, steering, *batch, n=10, k=4, seed=3)
    assert len(top) == 4 and len(set(top)) == 4
    assert all(steering.contains(a) for a in top)
    assert all(a[tiny_space.position("3<-2")] == "skip_connect" for a in top)
    assert all(a[tiny_space.position("1<-0")] not in ("nor_conv_3x3", "none") for a in top)
    for name in ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1"):
        steering.lock(name, "skip_connect")
    with pytest.raises(ValueError, match="only 1 distinct"):
        prescreen(scorer, steering, *batch, n=10, k=2)


def test_rank_vote_on_a_hand_example() -> None:
    # ranks by a: 1 4 3 2; by b: 4 2 3 1
    votes = rank_vote({"a": [0.9, 0.1, 0.5, 0.7], "b": [10, 30, 20, 40]})
    assert votes.tolist() == [5, 6, 6, 3]
    assert rank_vote({"a": [1.0, 1.0, 0.0, float("nan")]}).tolist() == [1.5, 1.5, 3, 4]


def test_prescreen_by_vote_matches_hand_computed_ranks(
        micro_space: SearchSpace, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    steering = SteeringState(micro_space)
    scorer = ProxyScorer(micro_space, 1, 10, proxies=("synflow", "naswot", "snip"))
    candidates = sample_distinct(steering, 6, np.random.default_rng(5))
    assert len(candidates) == 6
    table = [scorer.score(a, *batch) for a in candidates]
    sums = [sum(1 + sum(other[p] > row[p] for other in table) for p in scorer.proxies)
            for row in table]
    expected = [candidates[i] for i in sorted(range(6), key=lambda i: (sums[i], i))[:3]]
    assert prescreen(scorer, steering, *batch, n=6, k=3, seed=5) == expected
    by_one = prescreen(ProxyScorer(micro_space, 1, 10, proxies=("synflow",)), steering, *batch,
                       n=6, k=2, seed=5)
    assert by_one == sorted(candidates, key=lambda a: -table[candidates.index(a)]["synflow"])[:2]


def test_rank_correlations() -> None:
    scores = [0.1, 0.4, 0.2, 0.9, 0.5]
    acc = np.exp(scores).tolist()  # monotone, not linear
    got = rank_correlations({"up": scores, "down": [-s for s in scores], "flat": [1.0] * 5}, acc)
    assert got["up"] == {"spearman": pytest.approx(1.0), "kendall": pytest.approx(1.0)}
    assert got["down"] == {"spearman": pytest.approx(-1.0), "kendall": pytest.approx(-1.0)}
    assert got["flat"] == {"spearman": None, "kendall": None}
    with pytest.raises(ValueError, match="one score per architecture"):
        rank_correlations({"up": scores[:3]}, acc)
