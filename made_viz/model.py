"""The MADE network in torch: masked linear layers whose masks come from `masks.py`.

Germain, Gregor, Murray, Larochelle. "MADE: Masked Autoencoder for Distribution Estimation",
ICML 2015, arXiv:1502.03509.

One forward pass gives the logits of all D conditionals p(x_d = 1 | x_<d). The K masks of
order/connectivity-agnostic training share one set of weights; `set_mask(k)` switches between
them without rebuilding. The ensemble likelihood averages *probabilities*:
    log p(x) = logsumexp_k log p_k(x) - log K,
never logits (the average of logits of different orderings is not an autoregressive model).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import Config
from .masks import MaskSet, build_masks

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class MaskedLinear(nn.Linear):
    """nn.Linear whose weight is multiplied by a fixed 0/1 mask (a buffer: moves with .to(),
    is saved in state_dict and is never trained)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__(in_features, out_features, bias)
        self.register_buffer("mask", torch.ones(out_features, in_features))

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """nn.Linear's default initialisation (uniform in ±1/sqrt(fan_in), the bound of
        kaiming_uniform_(a=sqrt(5))), weight first, then bias, drawn from `generator` (default: a
        private one seeded 0). Never from torch's global generator, which nn.Linear's own
        initialisation would advance on every model a student builds."""
        gen = torch.Generator().manual_seed(0) if generator is None else generator
        bound = 1.0 / math.sqrt(self.in_features)
        with torch.no_grad():
            self.weight.copy_(torch.empty_like(self.weight, device="cpu").uniform_(-bound, bound, generator=gen))
            if self.bias is not None:
                self.bias.copy_(torch.empty_like(self.bias, device="cpu").uniform_(-bound, bound, generator=gen))

    def set_mask(self, mask: np.ndarray) -> None:
        """`mask` as built by masks.py: bool (fan_in, fan_out)."""
        self.mask.copy_(torch.as_tensor(np.ascontiguousarray(mask.T), dtype=self.mask.dtype))

    def masked_weight(self) -> torch.Tensor:
        return self.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.masked_weight(), self.bias)


class MADE(nn.Module):
    """MADE for D binary inputs.

    Args:
        cfg: the architecture (D, hidden sizes, activation, direct connections, ordering and
             degree mode, number of masks K, seed, masking variant).
    The weights are initialised from torch's global generator seeded with cfg.seed, so the same
    config gives the same initial network.
    """

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        sizes = [cfg.d, *cfg.hidden, cfg.d]
        self.layers = nn.ModuleList(MaskedLinear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.direct = MaskedLinear(cfg.d, cfg.d, bias=False) if cfg.direct else None
        self.reset_parameters()
        self.act = _ACTIVATIONS[cfg.activation]()
        self._mask_sets: dict[int, MaskSet] = {}
        self._mask_tensors: dict[int, list[torch.Tensor]] = {}
        self.mask_index = 0
        self.set_mask(0)

    # --- masks --------------------------------------------------------------------------------
    @property
    def num_masks(self) -> int:
        return self.cfg.num_masks

    def mask_set(self, k: int | None = None) -> MaskSet:
        """Degrees and masks of mask k (default: the active one); built once, then cached."""
        k = self.mask_index if k is None else k
        if k not in self._mask_sets:
            self._mask_sets[k] = build_masks(self.cfg, k)
        return self._mask_sets[k]

    def reset_parameters(self) -> None:
        """nn.Linear's default initialisation, drawn from a private generator seeded with
        cfg.seed: the same config gives the same network, and building models in several
        threads at once (one server, many students) never mixes their random streams."""
        gen = torch.Generator().manual_seed(self.cfg.seed)
        for layer in [*self.layers, *([self.direct] if self.direct is not None else [])]:
            layer.reset_parameters(gen)

    def set_mask(self, k: int) -> None:
        """Make mask k (0 <= k < K) the active one. Cheap: copies masks converted once per k."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"set_mask takes a mask number 0..{self.cfg.num_masks - 1}, got {k!r}.")
        k = int(k)
        if k not in self._mask_tensors:
            ms = self.mask_set(k)
            mats = list(ms.masks) + ([ms.direct] if self.direct is not None else [])
            self._mask_tensors[k] = [torch.as_tensor(np.ascontiguousarray(m.T), dtype=torch.float32) for m in mats]
        targets = [*self.layers, *([self.direct] if self.direct is not None else [])]
        with torch.no_grad():
            for layer, t in zip(targets, self._mask_tensors[k]):
                layer.mask.copy_(t)
        self.mask_index = k

    @property
    def order(self) -> torch.Tensor:
        """Generation order of the active mask: order[t] = pixel drawn at step t."""
        return torch.as_tensor(self.mask_set().order)

    # --- density -------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, D) of p(x_d = 1 | x_<d) for every d, under the active mask."""
        h = x
        for layer in self.layers[:-1]:
            h = self.act(layer(h))
        out = self.layers[-1](h)
        if self.direct is not None:
            out = out + self.direct(x)
        return out

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) in nats per example, shape (N,), under the active mask."""
        x = x.to(self.layers[0].weight.dtype)
        return -F.binary_cross_entropy_with_logits(self(x), x, reduction="none").sum(dim=1)

    def conditional_log_probs(self, x: torch.Tensor) -> torch.Tensor:
        """(N, D): log p(x_d | x_<d) of the value x_d actually has (the per-pixel 'surprise' is minus this)."""
        x = x.to(self.layers[0].weight.dtype)
        return -F.binary_cross_entropy_with_logits(self(x), x, reduction="none")

    def log_prob_ensemble(self, x: torch.Tensor, masks: int | list[int] | None = None) -> torch.Tensor:
        """log of the average over masks of p_k(x): logsumexp_k log p_k(x) - log K, shape (N,).

        masks: None = all K masks, an int k = the first k masks, or a list of mask indices.
        Restores the active mask afterwards."""
        if masks is None:
            masks = list(range(self.num_masks))
        elif isinstance(masks, int):
            if not 1 <= masks <= self.num_masks:
                raise ValueError(f"ensemble size must be between 1 and {self.num_masks}, got {masks}.")
            masks = list(range(masks))
        active = self.mask_index
        try:
            per_mask = []
            for k in masks:
                self.set_mask(k)
                per_mask.append(self.log_prob(x))
        finally:
            self.set_mask(active)
        return torch.logsumexp(torch.stack(per_mask), dim=0) - math.log(len(masks))

    @property
    def device(self) -> torch.device:
        return self.layers[0].weight.device


# ---------------------------------------------------------------------------------------------
# small helpers used by tests, the CLI and the pages


def default_device() -> torch.device:
    """CUDA when present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def all_binary_inputs(d: int) -> torch.Tensor:
    """All 2^d binary vectors (rows), for exact sums over the whole space (small d only)."""
    if d > 20:
        raise ValueError(f"2^{d} inputs is too many to enumerate.")
    idx = torch.arange(2**d)
    return ((idx[:, None] >> torch.arange(d)) & 1).float()


@torch.no_grad()
def total_probability(model: MADE, ensemble: bool = False) -> float:
    """Sum of p(x) over all 2^D binary inputs: 1 for a true MADE, anything for a broken one."""
    x = all_binary_inputs(model.cfg.d).to(model.device)
    lp = model.log_prob_ensemble(x) if ensemble else model.log_prob(x)
    return float(torch.logsumexp(lp.double(), dim=0).exp())


def jacobian_dependencies(model: MADE, points: int = 8) -> np.ndarray:
    """(D, D) bool: [i, j] = output logit j changes with input i, from the torch Jacobian at
    random inputs (independent of the masks: checks what the network actually computes)."""
    d = model.cfg.d
    gen = torch.Generator().manual_seed(1234)
    # several random points, so a path switched off by an inactive ReLU at one point still shows
    x = torch.rand(points, d, generator=gen).to(model.device)
    jac = torch.autograd.functional.jacobian(lambda v: model(v).sum(0), x, vectorize=True)  # (out, N, in)
    return (jac.abs().sum(1) > 0).T.cpu().numpy()


def model_surprise(model: MADE, x: np.ndarray, mask: int | None = None) -> np.ndarray:
    """(n, D) per-pixel surprise -log p(x_d | x_<d) under mask `mask` (default: active), in nats,
    for the Sample page's likelihood lens. Its row sums are -log p(x) (the chain rule). Restores
    the active mask (under the active mask nothing is written: a shared model is only read)."""
    x = np.ascontiguousarray(np.atleast_2d(np.asarray(x, dtype=np.float32)))  # a mirrored image too
    active = model.mask_index
    try:
        if mask is not None and int(mask) != active:
            model.set_mask(int(mask))
        with torch.no_grad():
            clp = model.conditional_log_probs(torch.as_tensor(x, device=model.device))
    finally:
        if model.mask_index != active:
            model.set_mask(active)
    return -clp.double().cpu().numpy()


def dependency_violations(model: MADE) -> list[tuple[int, int]]:
    """Input->output pairs the Jacobian shows but the ordering forbids (input not strictly before)."""
    m0 = model.mask_set().degrees[0]
    dep = jacobian_dependencies(model)
    bad = dep & ~(m0[:, None] < m0[None, :])
    return sorted(zip(*(a.tolist() for a in np.nonzero(bad))), key=lambda p: (m0[p[1]], m0[p[0]]))
