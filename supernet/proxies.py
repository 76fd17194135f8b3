"""Zero-cost proxies: training-free scores of a freshly initialised stand-alone subnet
computed from one minibatch, to rank or pre-screen architectures in milliseconds.

Proxies (``PROXIES``; every one is "higher is better"):

- ``synflow`` (Tanaka et al. 2020, as in Abdelfattah et al. 2021): sum of
  ``|theta * dR/dtheta|`` over conv and linear weights, where ``R`` is the summed
  output of the network with every parameter replaced by its absolute value, fed a
  single all-ones input, computed in float64 with batch norm bypassed (its output
  replaced by its input, the paper's BN-free network);
- ``naswot`` (Mellor et al. 2021): log-determinant of the binary ReLU-code kernel
  ``K = c c^T + (1 - c)(1 - c)^T`` summed over every ``nn.ReLU`` of the network
  (see :func:`naswot_kernel`);
- ``jacob_cov`` (Mellor et al., v1 of the paper): ``-sum(log(l + k) + 1 / (l + k))``
  over the eigenvalues ``l`` of the correlation matrix of per-sample input
  Jacobians, ``k = 1e-5``;
- ``snip``, ``grad_norm``, ``grasp``, ``fisher`` (as in Abdelfattah et al., "Zero-Cost
  Proxies for Lightweight NAS", 2021): per-weight (``fisher``: per-channel, counted once
  per weight of the channel) saliencies of the cross-entropy on the batch, summed over
  every conv and linear layer;
- ``params`` and ``flops``: the honest baselines every proxy has to beat.

Why every proxy is a pure function of the model: a proxy never writes a parameter,
a buffer or a ``.grad``. Gradients come from ``torch.autograd.grad``; forward passes
run through ``torch.func.functional_call`` with copies of the BN buffers (so
train-mode batch statistics do not leak into the running statistics); synflow runs
on float64 absolute-value copies of the parameters instead of linearising the
module in place and multiplying the signs back, which cannot restore a value
bit-identically once it went through a dtype round trip or a zero sign. So one
fresh model per architecture serves every proxy, in any order, and stays usable.

Forward passes other than synflow's and flops' run in train mode (batch statistics),
as the reference implementations do on a freshly initialised network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats
from torch import nn
from torch.func import functional_call

from supernet.configs import check_proxies
from supernet.data import Dataset
from supernet.export import build_standalone
from supernet.model import _count_macs
from supernet.space import Arch, SearchSpace
from supernet.steering import SteeringState
from supernet.tasks import IMAGE_CLASSIFICATION, Task

ProxyFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], float]
"""``(model, x, y) -> score``: ``model`` maps a batch ``x`` (N x C x H x W) to logits."""

JACOB_COV_K = 1e-5
NASWOT_JITTER = 1e-6
"""Ridge added to the NASWOT kernel, relative to its mean diagonal (see :func:`naswot`)."""
MAX_DRAWS_PER_ARCH = 50
"""``sample_distinct`` gives up after this many draws per requested architecture."""


# -- helpers ----------------------------------------------------------------------


@contextmanager
def _training(model: nn.Module, mode: bool) -> Iterator[None]:
    """Set train/eval mode for the duration, then restore every module's own flag."""
    flags = [(m, m.training) for m in model.modules()]
    model.train(mode)
    try:
        yield
    finally:
        for module, flag in flags:
            module.training = flag


def _forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A forward pass that cannot touch the model's BN running statistics."""
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    return functional_call(model, buffers, (x,))


def _layer_weight_names(model: nn.Module) -> list[str]:
    """Weights of the conv and linear layers: the 'layers' saliencies are summed over."""
    return [f"{name}.weight" for name, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear))]


def _layer_weights(model: nn.Module) -> list[nn.Parameter]:
    return [model.get_parameter(name) for name in _layer_weight_names(model)]


def _loss_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor, create_graph: bool = False
                ) -> tuple[list[nn.Parameter], list[torch.Tensor]]:
    """Layer weights and the cross-entropy gradient for each (zeros for unused weights)."""
    weights = _layer_weights(model)
    with _training(model, True):
        loss = nn.functional.cross_entropy(_forward(model, x), y)
    grads = torch.autograd.grad(loss, weights, allow_unused=True, create_graph=create_graph)
    return weights, [torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads)]


def _bypass_bn(model: nn.Module) -> list[torch.utils.hooks.RemovableHandle]:
    """Forward hooks that make every batch norm return its input unchanged."""
    return [m.register_forward_hook(lambda _m, inp, _out: inp[0]) for m in model.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm)]


# -- proxies ----------------------------------------------------------------------


def synflow(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Synaptic flow of the linearised (|theta|, BN-free) network on one all-ones input."""
    del y
    params = {n: p.detach().double().abs().requires_grad_() for n, p in model.named_parameters()}
    buffers = {n: b.double() if b.is_floating_point() else b.clone()
               for n, b in model.named_buffers()}
    ones = torch.ones((1, *x.shape[1:]), dtype=torch.float64, device=x.device)
    handles = _bypass_bn(model)
    try:
        with _training(model, False):
            out = functional_call(model, {**params, **buffers}, (ones,))
    finally:
        for handle in handles:
            handle.remove()
    names = _layer_weight_names(model)
    grads = torch.autograd.grad(out.sum(), [params[n] for n in names], allow_unused=True)
    return float(sum((params[n].detach() * g).abs().sum()
                     for n, g in zip(names, grads) if g is not None))


@torch.no_grad()
def naswot_kernel(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The N x N float64 NASWOT kernel: for every ReLU unit, +1 where two inputs agree.

    ``K[i, j]`` counts the ReLU units (over every ``nn.ReLU`` call of the forward
    pass) on which inputs ``i`` and ``j`` are both active or both inactive, so the
    diagonal is the number of ReLU units. A unit's code is ``output > 0``, which
    equals ``input > 0`` and is unaffected by in-place ReLUs.
    """
    n = len(x)
    kernel = torch.zeros(n, n, dtype=torch.float64, device=x.device)

    def hook(_module: nn.Module, _inp: tuple, out: torch.Tensor) -> None:
        units = out[0].numel()
        # float32 sums of 0/1 products are exact below 2**24 terms, and twice as fast
        codes = (out.reshape(n, -1) > 0).to(torch.float32 if units < 2**24 else torch.float64)
        active = codes.sum(1, dtype=torch.float64)
        # (1 - c)(1 - c)^T = units - active_i - active_j + c c^T: one matmul instead of two
        both = (codes @ codes.T).double()
        kernel.add_(2 * both - active[:, None] - active[None, :] + units)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        with _training(model, True):
            _forward(model, x)
    finally:
        for handle in handles:
            handle.remove()
    return kernel


def naswot(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """``log det(K + eps I)`` of :func:`naswot_kernel`, ``eps = NASWOT_JITTER * mean(diag K)``.

    ``K`` is positive semi-definite but singular whenever two inputs share a code (a
    dead network, duplicate images), where the plain log-determinant is -inf. The
    relative ridge keeps the score finite and continuous, penalising each missing
    rank by about ``log(1e-6)`` while moving a well-conditioned ``K`` negligibly.
    """
    del y
    kernel = naswot_kernel(model, x)
    scale = float(kernel.diagonal().mean())
    if scale == 0:
        raise ValueError("naswot needs nn.ReLU activations, and this model ran none")
    eye = torch.eye(len(kernel), dtype=kernel.dtype, device=kernel.device)
    return float(torch.linalg.slogdet(kernel + NASWOT_JITTER * scale * eye).logabsdet)


def jacob_cov(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mellor et al. v1: decorrelated input Jacobians score high.

    Undefined correlations (a sample whose Jacobian is constant, e.g. a network that
    ignores its input) count as perfect correlation, the worst case, rather than NaN.
    """
    del y
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad(), _training(model, True):
        out = _forward(model, x)
    (jac,) = torch.autograd.grad(out.sum(), x)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(jac.reshape(len(x), -1).double().cpu().numpy())
    eig = np.clip(np.linalg.eigvalsh(np.nan_to_num(np.atleast_2d(corr), nan=1.0)), 0.0, None)
    return float(-np.sum(np.log(eig + JACOB_COV_K) + 1.0 / (eig + JACOB_COV_K)))


def snip(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Connection sensitivity: sum of ``|theta * dL/dtheta|``."""
    with torch.enable_grad():
        weights, grads = _loss_grads(model, x, y)
    return float(sum((w.detach() * g).abs().sum() for w, g in zip(weights, grads)))


def grad_norm(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Sum over layers of the L2 norm of the loss gradient of their weights."""
    with torch.enable_grad():
        _, grads = _loss_grads(model, x, y)
    return float(sum(g.norm() for g in grads))


def grasp(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Gradient signal preservation: sum of ``-theta * (H g)`` with ``g = dL/dtheta``."""
    with torch.enable_grad():
        weights, grads = _loss_grads(model, x, y, create_graph=True)
        z = sum(((g.detach() * g).sum() for g in grads), torch.zeros((), device=x.device))
        hg = torch.autograd.grad(z, weights, allow_unused=True)
    return float(sum((-w.detach() * h).sum() for w, h in zip(weights, hg) if h is not None))


def fisher(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Per-channel Fisher information of every conv/linear output, counted once per weight.

    For layer output ``a`` and ``g = dL/da`` channel ``k`` scores
    ``0.5 * mean_n (sum_hw a * g)^2``. The reference broadcasts that score to each of the
    channel's weights before summing, so it is weighted by the fan-in ``weight[k].numel()``
    here too: without it a 3x3 conv's channels would count no more than a 1x1 conv's.
    """
    acts: list[tuple[int, torch.Tensor]] = []

    def keep(module: nn.Module, _inp: tuple, out: torch.Tensor) -> None:
        weight = module.weight  # hooked on convs and linears only: a parameter
        assert isinstance(weight, torch.Tensor)
        acts.append((weight[0].numel(), out))

    handles = [m.register_forward_hook(keep) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.enable_grad(), _training(model, True):
            loss = nn.functional.cross_entropy(_forward(model, x), y)
    finally:
        for handle in handles:
            handle.remove()
    grads = torch.autograd.grad(loss, [act for _, act in acts], allow_unused=True)
    total = 0.0
    for (fan_in, act), grad in zip(acts, grads):
        if grad is not None:
            g_nk = (act * grad).sum(dim=tuple(range(2, act.dim()))) if act.dim() > 2 else act * grad
            total += fan_in * float(g_nk.detach().pow(2).mean(0).mul(0.5).sum())
    return total


def params(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Parameter count; on a stand-alone subnet it equals ``Supernet.params(arch)``."""
    del x, y
    return float(sum(p.numel() for p in model.parameters()))


@torch.no_grad()
def flops(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Multiply-adds for one sample, counted like ``Supernet.flops`` on the ops that run.

    Unlike ``Supernet.flops`` (NAS-Bench-201's convention) it leaves out ops whose
    input node is fed only by 'none' edges: the stand-alone module never runs them.
    """
    del y
    with _training(model, False):
        macs, _ = _count_macs(model, x[:1])
    return float(macs)


PROXIES: dict[str, ProxyFn] = {
    "synflow": synflow,
    "naswot": naswot,
    "jacob_cov": jacob_cov,
    "snip": snip,
    "grad_norm": grad_norm,
    "grasp": grasp,
    "fisher": fisher,
    "params": params,
    "flops": flops,
}
"""Every proxy by name; all are "higher is better"."""

TASK_AGNOSTIC_PROXIES: tuple[str, ...] = ("params", "flops")
"""The proxies that are costs, not scores of a batch: they hold for every task. The others
were designed on (and read) image batches with class labels (cross-entropy, logits), so
1-D series and field regression refuse them (:class:`ProxyScorer`)."""


def image_only_proxies(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(n for n in names if n not in TASK_AGNOSTIC_PROXIES)


def score(name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """One proxy of ``model`` on the batch ``(x, y)``; the model is left unchanged."""
    check_proxies([name])
    return float(PROXIES[name](model, x, y))


# -- scoring architectures ----------------------------------------------------------


@dataclass
class ProxyScorer:
    """Scores architectures of ``space`` on freshly initialised stand-alone subnets.

    Every subnet is initialised from ``seed`` (inside ``torch.random.fork_rng``, so
    the caller's RNG is untouched), on the CPU and then moved to ``device``: the
    same seed gives the same weights, hence the same scores, on every call, in any
    order, and every architecture is judged from the same random stream.
    """

    space: SearchSpace
    in_channels: int
    num_classes: int
    proxies: tuple[str, ...] = tuple(PROXIES)
    seed: int = 0
    device: str = "cpu"
    task: Task = IMAGE_CLASSIFICATION

    def __post_init__(self) -> None:
        self.proxies = check_proxies(self.proxies)
        refused = image_only_proxies(self.proxies) if not self.task.image_only else ()
        if refused:
            raise ValueError(
                f"the proxies {', '.join(refused)} are defined for image classification only "
                f"(they score 2-D image batches against class labels); for a task scored by "
                f"{self.task.label()} use only {', '.join(TASK_AGNOSTIC_PROXIES)}")

    def build(self, arch: Sequence[str], image_size: int) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = build_standalone(self.space, arch, self.in_channels, self.num_classes,
                                     image_size, task=self.task)
        return model.to(self.device)

    def _check_batch(self, x: torch.Tensor, y: torch.Tensor) -> None:
        if (x.dim() != 2 + self.task.dims or x.shape[1] != self.in_channels
                or x.shape[0] != len(y)):
            raise ValueError(
                f"expected x of shape N x {self.in_channels} x H x W and N labels, got x "
                f"{tuple(x.shape)} and {len(y)} labels"
            )

    def score(self, arch: Sequence[str], x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """Every proxy of this scorer for one architecture (one fresh subnet)."""
        self._check_batch(x, y)
        model = self.build(arch, int(x.shape[-1]))
        x, y = x.to(self.device), y.to(self.device)
        return {name: score(name, model, x, y) for name in self.proxies}


def proxy_batch(data: Dataset, batch_size: int, seed: int = 0
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random minibatch of the training split (never validation or test)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    n = len(data.y_train)
    idx = torch.from_numpy(np.random.default_rng(seed).choice(n, min(batch_size, n), False))
    return data.x_train[idx], data.y_train[idx]


def sample_distinct(steering: SteeringState, n: int, rng: np.random.Generator) -> list[Arch]:
    """Up to ``n`` distinct architectures the steering state allows, in draw order.

    Fewer come back when fewer are allowed (or reachable: an op with sampling weight
    0 is never drawn); drawing stops after ``MAX_DRAWS_PER_ARCH * n`` draws.
    """
    target = min(n, steering.space_size())
    seen: dict[Arch, None] = {}
    for _ in range(MAX_DRAWS_PER_ARCH * n):
        if len(seen) >= target:
            break
        seen.setdefault(steering.sample(rng))
    return list(seen)


def rank_vote(scores: Mapping[str, Sequence[float]]) -> np.ndarray:
    """Sum over proxies of each candidate's rank (1 = highest score, ties averaged).

    A NaN score ranks last. Lower sums are better; with one proxy this is its order.
    """
    if not scores:
        raise ValueError("rank_vote needs the scores of at least one proxy")
    total = np.zeros(len(next(iter(scores.values()))))
    for values in scores.values():
        v = np.asarray(values, dtype=np.float64)
        total += stats.rankdata(-np.where(np.isnan(v), -np.inf, v))
    return total


def prescreen(scorer: ProxyScorer, steering: SteeringState, x: torch.Tensor, y: torch.Tensor,
              n: int, k: int, seed: int = 0, by: Sequence[str] = ()) -> list[Arch]:
    """Top ``k`` of ``n`` random distinct allowed architectures, best first.

    Ranked by the proxies named in ``by`` (default: all of the scorer's): by that proxy
    alone, or by a rank vote (:func:`rank_vote`) of several; ties go to the earlier draw.
    Candidates come from ``sample_distinct(steering, n, np.random.default_rng(seed))``.
    """
    if steering.space != scorer.space:
        raise ValueError("the steering state belongs to another search space than the scorer")
    voters = list(by) or list(scorer.proxies)
    unknown = [name for name in voters if name not in scorer.proxies]
    if unknown:
        raise ValueError(f"prescreen by {unknown}: not among the scored proxies {list(scorer.proxies)}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    candidates = sample_distinct(steering, n, np.random.default_rng(seed))
    if len(candidates) < k:
        raise ValueError(
            f"the steering state yields only {len(candidates)} distinct architectures, "
            f"fewer than k={k}; lower k or restore pruned ops"
        )
    rows = [scorer.score(arch, x, y) for arch in candidates]
    votes = rank_vote({name: [r[name] for r in rows] for name in voters})
    return [candidates[i] for i in np.argsort(votes, kind="stable")[:k]]


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def rank_correlations(scores: Mapping[str, Sequence[float]], accuracy: Sequence[float]
                      ) -> dict[str, dict[str, float | None]]:
    """Spearman's rho and Kendall's tau-b of each proxy against accuracy.

    ``None`` where a correlation is undefined (fewer than 2 points, a constant
    column or a NaN), so the result is valid JSON for the UI.
    """
    acc = np.asarray(accuracy, dtype=np.float64)
    out: dict[str, dict[str, float | None]] = {}
    for name, values in scores.items():
        v = np.asarray(values, dtype=np.float64)
        if len(v) != len(acc):
            raise ValueError(f"proxy {name!r} has {len(v)} scores for {len(acc)} accuracies; "
                             "give one score per architecture")
        if len(v) < 2 or np.ptp(v) == 0 or np.ptp(acc) == 0:
            out[name] = {"spearman": None, "kendall": None}
        else:
            out[name] = {"spearman": _finite_or_none(stats.spearmanr(v, acc).statistic),
                         "kendall": _finite_or_none(stats.kendalltau(v, acc).statistic)}
    return out
