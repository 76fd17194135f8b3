"""``learned``: an arch2vec-style variational graph autoencoder (Yan et al., NeurIPS 2020).

A GIN encoder reads the graph view (``supernet.encoders.graph``: op nodes joined where
data flows) and gives every node a Gaussian latent; the decoder reconstructs each node's
op and every connection (a bilinear score of two nodes' latents), with a KL term that
keeps the latent space smooth. It is trained on the space's architectures alone, no
accuracies: the canonical cells of the whole space when it has at most ``sample``
architectures, else a seeded sample. An architecture's embedding is the mean of its
nodes' latent means: isomorphic graphs get the same vector by construction (sum
aggregation, mean pooling), and cells that differ only in dead edges share one graph.
Chains are sequences of choice points (a path graph whose node labels name the slot).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from supernet.encoders import Encoder, register_encoder
from supernet.encoders.graph import canonical, graphs, vocabulary
from supernet.space import SearchSpace


class GraphVAE(nn.Module):
    def __init__(self, n_labels: int, hidden: int = 32, latent: int = 16, layers: int = 3) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_labels, hidden)
        self.gin = nn.ModuleList(
            nn.Sequential(nn.Linear(3 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
            for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)
        self.op_head = nn.Linear(latent, n_labels)
        self.edge_map = nn.Linear(latent, latent, bias=False)
        self.edge_bias = nn.Parameter(torch.zeros(()))

    def encode(self, adj: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-node latent mean and log-variance ``[B, N, latent]``."""
        h = self.embed(labels)
        for layer, norm in zip(self.gin, self.norms):
            incoming = adj.transpose(1, 2) @ h  # sum over predecessors
            outgoing = adj @ h  # sum over successors
            h = norm(h + layer(torch.cat([h, incoming, outgoing], dim=-1)))
        return self.mu(h), self.logvar(h)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Op logits ``[B, N, labels]`` and connection logits ``[B, N, N]``."""
        return self.op_head(z), self.edge_map(z) @ z.transpose(1, 2) + self.edge_bias


def _loss(model: GraphVAE, adj: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
          beta: float) -> torch.Tensor:
    mu, logvar = model.encode(adj, labels)
    noise = torch.randn(mu.shape, generator=generator)
    ops, edges = model.decode(mu + noise * torch.exp(0.5 * logvar))
    kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1))
    return (F.cross_entropy(ops.flatten(0, 1), labels.flatten())
            + F.binary_cross_entropy_with_logits(edges, adj) + beta * kl)


@register_encoder("learned")
class GraphVAEEncoder(Encoder):
    """arch2vec: unsupervised graph embedding of the canonical architecture."""

    def __init__(self, space: SearchSpace, seed: int = 0, steps: int = 1500, batch: int = 128,
                 sample: int = 20_000, latent: int = 16) -> None:
        super().__init__(space, seed)
        self.steps, self.batch, self.sample, self.latent = steps, batch, sample, latent
        self.model = self._build()

    def _build(self) -> GraphVAE:
        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            return GraphVAE(len(vocabulary(self.space)), latent=self.latent)

    def training_archs(self) -> list[tuple[str, ...]]:
        """Distinct canonical architectures of the whole space, or of a seeded sample."""
        space = self.space
        if space.size() <= self.sample:
            archs = list(space.all_archs())
        else:
            rng = np.random.default_rng(self.seed)
            archs = [space.random_arch(rng) for _ in range(self.sample)]
        return sorted({canonical(space, a) for a in archs})

    def fit(self) -> None:
        adj_np, labels_np = graphs(self.space, self.training_archs())
        adj, labels = torch.from_numpy(adj_np), torch.from_numpy(labels_np)
        generator = torch.Generator().manual_seed(self.seed)
        self.model = self._build()
        optimiser = torch.optim.Adam(self.model.parameters(), lr=3e-3)
        self.model.train()
        for step in range(self.steps):
            rows = torch.randint(len(adj), (min(self.batch, len(adj)),), generator=generator)
            beta = 0.005 * min(1.0, step / max(self.steps // 2, 1))  # KL warm-up
            loss = _loss(self.model, adj[rows], labels[rows], generator, beta)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        self.model.eval()

    @torch.no_grad()
    def node_latents(self, archs: Sequence[Sequence[str]]) -> torch.Tensor:
        adj, labels = graphs(self.space, archs)
        return self.model.encode(torch.from_numpy(adj), torch.from_numpy(labels))[0]

    def encode(self, archs: Sequence[Sequence[str]]) -> np.ndarray:
        out = [self.node_latents(archs[i:i + 4096]).mean(dim=1).numpy()
               for i in range(0, len(archs), 4096)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.latent), np.float32)

    @torch.no_grad()
    def reconstruction(self, archs: Sequence[Sequence[str]]) -> dict[str, float]:
        """Share of node ops and of adjacency entries decoded right from the latent means."""
        adj, labels = graphs(self.space, archs)
        ops, edges = self.model.decode(self.node_latents(archs))
        return {"ops": float((ops.argmax(-1).numpy() == labels).mean()),
                "adjacency": float(((edges.numpy() > 0) == (adj > 0.5)).mean())}

    def state(self) -> dict[str, np.ndarray]:
        return {k: v.detach().numpy() for k, v in self.model.state_dict().items()}

    def load(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
        self.model.eval()
