#!/usr/bin/env python
"""Training speed: MADE through `made_viz.train.Trainer` vs a plain masked MLP written here.

    python bench/bench_train.py [--quick] [--threads N] [--repeats R] [--steps S]

Both train a 784-500-784 network with batch 100 on random binary data (10,000 x 784), Adam
with lr 1e-3, the loss summed over pixels and averaged over the batch. The reference is the
smallest sensible hand-written loop: two nn.Linear layers whose weights are multiplied by fixed
0/1 masks in the forward pass, BCE-with-logits, torch.optim.Adam with its defaults, a shuffled
index_select minibatch and one loss.item() per step. The two are measured side by side in the
same process, interleaved (the order alternates between repeats), after a warm-up; each figure
is the median over the repeats of examples per second.

Prints one JSON object: examples/s of both, `ratio` = MADE / reference (target >= 1.0), and
`ratio_same_optimizer`, against the reference with the same (fused, when available) Adam as the
Trainer, to show how much of the gain is the optimizer. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

try:
    import made_viz  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from made_viz.config import Config  # noqa: E402
from made_viz.masks import build_masks  # noqa: E402
from made_viz.model import MADE  # noqa: E402
from made_viz.train import TrainConfig, Trainer  # noqa: E402

D, HIDDEN, BATCH, N = 784, 500, 100, 10_000


class ReferenceMaskedMLP(nn.Module):
    """D -> H -> D with weight * mask in forward: what one would write by hand."""

    def __init__(self, masks):
        super().__init__()
        self.fc1 = nn.Linear(D, HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, D)
        self.register_buffer("m1", torch.as_tensor(masks[0].T.copy(), dtype=torch.float32))
        self.register_buffer("m2", torch.as_tensor(masks[1].T.copy(), dtype=torch.float32))

    def forward(self, x):
        h = F.relu(F.linear(x, self.fc1.weight * self.m1, self.fc1.bias))
        return F.linear(h, self.fc2.weight * self.m2, self.fc2.bias)


class ReferenceLoop:
    """Shuffled minibatches, BCE-with-logits, Adam; `run(steps)` trains that many steps."""

    def __init__(self, x: torch.Tensor, masks, fused: bool = False):
        torch.manual_seed(0)
        self.net = ReferenceMaskedMLP(masks)
        kw = {"fused": True} if fused else {}
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3, **kw)
        self.x = x
        self.gen = torch.Generator().manual_seed(0)
        self.perm = torch.randperm(len(x), generator=self.gen)
        self.pos = 0

    def run(self, steps: int) -> None:
        for _ in range(steps):
            if self.pos >= len(self.x):
                self.perm, self.pos = torch.randperm(len(self.x), generator=self.gen), 0
            xb = self.x.index_select(0, self.perm[self.pos : self.pos + BATCH])
            self.pos += BATCH
            loss = F.binary_cross_entropy_with_logits(self.net(xb), xb, reduction="sum") / xb.shape[0]
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            loss.item()


def fused_adam_available() -> bool:
    try:
        torch.optim.Adam([nn.Parameter(torch.zeros(1))], fused=True)
        return True
    except (RuntimeError, TypeError, ValueError):
        return False


def measure(fn, steps: int) -> float:
    """Examples per second of fn(steps)."""
    t = time.perf_counter()
    fn(steps)
    return steps * BATCH / (time.perf_counter() - t)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--steps", type=int, default=40, help="minibatch steps per measurement")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--quick", action="store_true", help="3 repeats of 15 steps")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats, args.steps = 3, 15
    if args.threads:
        torch.set_num_threads(args.threads)

    x = (torch.rand(N, D, generator=torch.Generator().manual_seed(0)) < 0.2).float()
    cfg = Config(d=D, hidden=(HIDDEN,), order="natural", seed=0)
    model = MADE(cfg)
    trainer = Trainer(model, x, TrainConfig(batch_size=BATCH, epochs=10_000, valid_fraction=0.0, lr=1e-3))
    ms = build_masks(cfg, 0)
    contenders = {
        "made_trainer": lambda s: trainer.step_chunk(max_steps=s),
        "reference": ReferenceLoop(x, ms.masks).run,
    }
    fused = fused_adam_available()
    if fused:
        contenders["reference_fused_adam"] = ReferenceLoop(x, ms.masks, fused=True).run
    for fn in contenders.values():  # warm-up
        fn(5)
    results = {k: [] for k in contenders}
    names = list(contenders)
    for r in range(args.repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            results[name].append(measure(contenders[name], args.steps))
    med = {k: statistics.median(v) for k, v in results.items()}
    out = {
        "benchmark": "train",
        "network": f"{D}-{HIDDEN}-{D}",
        "batch_size": BATCH,
        "n": N,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "repeats": args.repeats,
        "steps_per_measurement": args.steps,
        "made_examples_per_s": round(med["made_trainer"], 1),
        "reference_examples_per_s": round(med["reference"], 1),
        "ratio": round(med["made_trainer"] / med["reference"], 3),
        "target_ratio": 1.0,
        "trainer_uses_fused_adam": fused,
    }
    if fused:
        out["reference_fused_adam_examples_per_s"] = round(med["reference_fused_adam"], 1)
        out["ratio_same_optimizer"] = round(med["made_trainer"] / med["reference_fused_adam"], 3)
    out["all_examples_per_s"] = {k: [round(v, 1) for v in vs] for k, vs in results.items()}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
