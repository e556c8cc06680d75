"""Autoregressive sampling from a MADE, one pixel at a time in the generation order.

Two samplers give the same samples for the same random numbers:
  * "reference": for t = 1..D run the whole network on the partial image and draw pixel
    order[t] from its conditional — D full forward passes.
  * "fast" (exact): a hidden unit of degree m depends only on the inputs at positions 1..m, so
    it is final once those are set. Each unit is computed once, at step m, from the (final) units
    of the layer below; the output of position t reads only finished units. Total arithmetic is
    about one forward pass, plus D small steps.
Both return a `Trajectory`: the samples, the order and, for every pixel, the conditional
probability p(x_d = 1 | pixels drawn before d) at the moment it was drawn, which the pages
animate. `complete` fills in the unknown pixels of partial images the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .model import MADE


@dataclass
class Trajectory:
    """The whole story of a batch of samples."""

    x: torch.Tensor  # (n, D) float 0/1: the finished samples
    order: torch.Tensor  # (D,) long: order[t] = pixel set at step t
    probs: torch.Tensor  # (n, D): p(x_d = 1 | pixels before d), when pixel d was drawn
    known: torch.Tensor | None = None  # (n, D) bool: pixels given, not drawn (completion)
    mask_index: int = 0
    exact: bool = True  # False for a completion whose known pixels do not come first
    note: str = ""

    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def d(self) -> int:
        return self.x.shape[1]

    def step_pixels(self) -> np.ndarray:
        """Pixel index set at each step (same as order)."""
        return self.order.cpu().numpy()

    def step_probs(self) -> np.ndarray:
        """(n, D): probability of a 1 for the pixel set at step t."""
        return self.probs[:, self.order].cpu().numpy()

    def step_values(self) -> np.ndarray:
        """(n, D): value given to the pixel set at step t."""
        return self.x[:, self.order].cpu().numpy()

    def log_prob(self) -> np.ndarray:
        """(n,) log p(x) of each sample under the mask that drew it, from the recorded
        conditionals (the chain rule: a sum of D log-conditionals)."""
        p = self.probs.double().clamp(1e-300, 1.0)
        q = (1 - self.probs.double()).clamp(1e-300, 1.0)
        terms = torch.where(self.x > 0.5, p.log(), q.log())
        if self.known is not None:
            terms = torch.where(self.known, torch.zeros_like(terms), terms)
        return terms.sum(1).cpu().numpy()

    def frames(self, steps: list[int] | np.ndarray) -> np.ndarray:
        """Partial images after each step in `steps` (0 = nothing drawn, D = finished):
        float (len(steps), n, D) with NaN for pixels not yet set (known pixels are set from
        the start)."""
        pos = np.empty(self.d, dtype=np.int64)
        pos[self.order.cpu().numpy()] = np.arange(1, self.d + 1)
        x = self.x.cpu().numpy()
        known = np.zeros_like(x, dtype=bool) if self.known is None else self.known.cpu().numpy()
        out = np.empty((len(steps), *x.shape), dtype=np.float32)
        for i, s in enumerate(steps):
            shown = (pos[None, :] <= s) | known
            out[i] = np.where(shown, x, np.nan)
        return out


# ---------------------------------------------------------------------------------------------


def _uniforms(n: int, d: int, seed: int, device: torch.device) -> torch.Tensor:
    """The random numbers of a sampling run: u[i, t] decides the pixel drawn at step t."""
    gen = torch.Generator().manual_seed(int(seed))
    return torch.rand(n, d, generator=gen, dtype=torch.float64).to(device)


def _draw(p: torch.Tensor, u: torch.Tensor, greedy: bool) -> torch.Tensor:
    return (p >= 0.5).to(p.dtype) if greedy else (u < p).to(p.dtype)


@torch.no_grad()
def _reference(model: MADE, x: torch.Tensor, known: torch.Tensor, u: torch.Tensor, greedy: bool):
    order = model.order.tolist()
    probs = torch.zeros_like(x)
    for t, pix in enumerate(order):
        p = torch.sigmoid(model(x)[:, pix])
        probs[:, pix] = p
        # compared in float64, as the fast sampler does: float32(u) may round up to p when u < p
        drawn = _draw(p.double(), u[:, t].double(), greedy).to(p.dtype)
        x[:, pix] = torch.where(known[:, pix], x[:, pix], drawn)
    return x, probs


@torch.no_grad()
def _fast(model: MADE, x: torch.Tensor, known: torch.Tensor, u: torch.Tensor, greedy: bool):
    """Exact incremental sampler. Runs in numpy on the CPU whatever the model's device: the work
    is D tiny sequential steps, where per-call overhead (not arithmetic) dominates."""
    ms = model.mask_set()
    if not ms.is_autoregressive():
        raise ValueError(
            "the fast sampler needs a true MADE; this network's masks are broken on purpose "
            "(use method='reference' to watch what goes wrong)."
        )
    d = x.shape[1]
    act = _NUMPY_ACT[model.cfg.activation]
    # Sort each hidden layer's units by degree, so the units that become final at step t form
    # one contiguous block [start[t], start[t+1]); permute the weights to match.
    weights, biases, blocks = [], [], []
    perm_prev = None
    for layer, deg in zip(model.layers[:-1], ms.degrees[1:]):
        perm = np.argsort(deg, kind="stable")
        w = layer.masked_weight().detach().cpu().numpy()[perm]  # (out, in), rows sorted
        if perm_prev is not None:
            w = w[:, perm_prev]
        weights.append(np.ascontiguousarray(w.T))  # (in, out)
        biases.append(layer.bias.detach().cpu().numpy()[perm])
        blocks.append(np.searchsorted(deg[perm], np.arange(d + 1), side="left"))  # start of degree t
        perm_prev = perm
    w_out = model.layers[-1].masked_weight().detach().cpu().numpy()  # (D, H_L or D)
    if perm_prev is not None:
        w_out = w_out[:, perm_prev]
    w_out = np.ascontiguousarray(w_out)
    b_out = model.layers[-1].bias.detach().cpu().numpy()
    w_dir = model.direct.masked_weight().detach().cpu().numpy() if model.direct is not None else None

    xs = x.detach().cpu().numpy().astype(w_out.dtype)
    kn = known.cpu().numpy()
    us = u.cpu().numpy()
    n = xs.shape[0]
    acts = [np.zeros((n, w.shape[1]), dtype=xs.dtype) for w in weights]
    probs = np.zeros_like(xs)
    any_known = bool(kn.any())
    for t, pix in enumerate(ms.order.tolist(), start=1):
        # 1) the conditional of the pixel at position t, from finished units only
        top = acts[-1] if acts else xs
        logit = top @ w_out[pix] + b_out[pix]
        if w_dir is not None:
            logit = logit + xs @ w_dir[pix]
        p = _sigmoid(logit)
        probs[:, pix] = p
        drawn = (p >= 0.5) if greedy else (us[:, t - 1] < p)
        xs[:, pix] = np.where(kn[:, pix], xs[:, pix], drawn) if any_known else drawn
        # 2) units of degree t are now final: compute each exactly once
        below = xs
        for layer in range(len(weights)):
            a, b = blocks[layer][t], blocks[layer][t + 1] if t < d else blocks[layer][d]
            if b > a:
                acts[layer][:, a:b] = act(below @ weights[layer][:, a:b] + biases[layer][a:b])
            below = acts[layer]
    dev, dt = x.device, x.dtype
    return torch.from_numpy(xs).to(dev, dt), torch.from_numpy(probs).to(dev, dt)


def _sigmoid(v: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-v)) without overflow warnings for large |v|."""
    return np.exp(-np.logaddexp(0, -v)).astype(v.dtype, copy=False)


_NUMPY_ACT = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh, "sigmoid": _sigmoid}


def _run(
    model: MADE, x0: torch.Tensor, known: torch.Tensor, seed: int, method: str, greedy: bool, mask: int | None
) -> Trajectory:
    if method not in ("fast", "reference"):
        raise ValueError(f"unknown sampling method {method!r}: use 'fast' or 'reference'.")
    active = model.mask_index
    k = active if mask is None else int(mask)
    was_training = model.training
    # a model in eval mode sampled under its active mask is only read (the Sample page shares the shipped
    # models between sessions): no flag and no mask is written then
    if was_training:
        model.eval()
    try:
        if k != active:
            model.set_mask(k)
        u = _uniforms(x0.shape[0], x0.shape[1], seed, x0.device)
        fn = _fast if method == "fast" else _reference
        x, probs = fn(model, x0, known, u, greedy)
        order = model.order.clone()
    finally:
        if model.mask_index != active:
            model.set_mask(active)
        if was_training:
            model.train(True)
    return Trajectory(x=x, order=order, probs=probs, mask_index=k)


def sample(
    model: MADE, n: int = 16, seed: int = 0, method: str = "fast", greedy: bool = False, mask: int | None = None
) -> Trajectory:
    """Draw n samples pixel by pixel in the generation order of mask `mask` (default: active).

    greedy=True takes the more likely value of each pixel instead of sampling it."""
    if n < 1:
        raise ValueError(f"number of samples must be at least 1, got {n}.")
    dtype = model.layers[0].weight.dtype
    x0 = torch.zeros(n, model.cfg.d, dtype=dtype, device=model.device)
    known = torch.zeros(n, model.cfg.d, dtype=torch.bool, device=model.device)
    return _run(model, x0, known, seed, method, greedy, mask)


def completion_is_exact(order: np.ndarray | torch.Tensor, known: np.ndarray | torch.Tensor) -> bool:
    """True iff the known pixels are exactly the first positions of the order (for every row)."""
    order = np.asarray(order)
    known = np.atleast_2d(np.asarray(known, dtype=bool))
    k = known.sum(1)
    ordered = known[:, order]  # known flags in generation order
    first = np.arange(len(order))[None, :] < k[:, None]
    return bool((ordered == first).all())


def order_known_first(known: np.ndarray, base_order: np.ndarray) -> tuple[int, ...]:
    """An order that puts the known pixels first (keeping `base_order`'s relative order on
    each side): with it, completion is exact."""
    known = np.asarray(known, dtype=bool)
    base_order = np.asarray(base_order)
    return tuple(int(i) for i in base_order[known[base_order]]) + tuple(int(i) for i in base_order[~known[base_order]])


def complete(
    model: MADE,
    x: torch.Tensor | np.ndarray,
    known: torch.Tensor | np.ndarray,
    seed: int = 0,
    method: str = "fast",
    greedy: bool = False,
    mask: int | None = None,
) -> Trajectory:
    """Sample the unknown pixels of partial images x (n, D), keeping the pixels where `known`.

    Exact (a sample of p(unknown | known)) when the known pixels come first in the order.
    Otherwise the earlier unknown pixels are drawn without looking at the later known ones: the
    result is marked `exact=False` with a note (reorder with `order_known_first`)."""
    dtype = model.layers[0].weight.dtype
    # ascontiguousarray: a mirrored image (negative strides) cannot be viewed by torch
    x = torch.as_tensor(x if isinstance(x, torch.Tensor) else np.ascontiguousarray(x)).to(model.device, dtype).clone()
    known = torch.as_tensor(known if isinstance(known, torch.Tensor) else np.ascontiguousarray(known))
    known = known.to(model.device).bool()
    if x.ndim == 1:
        x = x[None]
    if known.ndim == 1:
        known = known[None].expand_as(x)
    if x.shape[1] != model.cfg.d or known.shape != x.shape:
        raise ValueError(f"partial images must have D = {model.cfg.d} pixels and a matching known-pixel mask.")
    x = torch.where(known, x, torch.zeros_like(x))
    traj = _run(model, x, known.clone(), seed, method, greedy, mask)
    traj.known = known.clone()
    traj.exact = completion_is_exact(traj.order.cpu().numpy(), known.cpu().numpy())
    if traj.exact:
        traj.note = (
            "Exact: the known pixels come first in the order, so each drawn pixel is conditioned on all of them."
        )
    else:
        traj.note = (
            "Approximate: some known pixels come after unknown ones in the order, so those unknown "
            "pixels were drawn without seeing them. Choose an order that puts the known pixels first."
        )
    return traj
