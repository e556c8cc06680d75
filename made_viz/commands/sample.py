"""`made-viz sample`: draw samples from a checkpoint into a PNG grid, each beside its nearest
training image when the data set is at hand (is the model copying?)."""

from __future__ import annotations

import argparse
import math

import numpy as np

from ..config import Config
from .shared import check_writable, checkpoint_data, emit, use_threads

MAX_SAMPLES = 1024


def image_shape(cfg: Config, data: dict | None = None) -> tuple[int, int]:
    """(h, w) to draw D pixels: the config's shape, the data's, a square, else one row."""
    if cfg.shape is not None:
        return tuple(cfg.shape)
    shape = (data or {}).get("shape")
    if (
        isinstance(shape, (list, tuple))
        and len(shape) == 2
        and all(isinstance(v, int) for v in shape)
        and shape[0] * shape[1] == cfg.d
    ):
        return int(shape[0]), int(shape[1])
    side = math.isqrt(cfg.d)
    return (side, side) if side * side == cfg.d else (1, cfg.d)


def sample_grid_image(
    samples: np.ndarray, shape: tuple[int, int], neighbors: np.ndarray | None = None, cols: int | None = None
):
    """A PIL image: the samples in a grid, each followed by its nearest training image (if given).
    Ink (1) is white on black; cells are separated by grey."""
    from PIL import Image

    h, w = shape
    n = len(samples)
    scale = max(1, min(16, 96 // max(h, w)))
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    per = 2 if neighbors is not None else 1
    pad, inner = 4, 2
    cell_w = per * w * scale + (per - 1) * inner
    cell_h = h * scale
    canvas = np.full((rows * (cell_h + pad) + pad, cols * (cell_w + pad) + pad), 128, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = pad + r * (cell_h + pad), pad + c * (cell_w + pad)
        pics = [samples[i]] if neighbors is None else [samples[i], neighbors[i]]
        for j, pic in enumerate(pics):
            img = np.kron(np.asarray(pic, dtype=np.uint8).reshape(h, w) * 255, np.ones((scale, scale), np.uint8))
            xo = x + j * (w * scale + inner)
            canvas[y : y + cell_h, xo : xo + w * scale] = img
    return Image.fromarray(canvas, mode="L")


def cmd_sample(args: argparse.Namespace) -> int:
    from ..checkpoint import load_checkpoint
    from ..sampling import sample

    if not 1 <= args.n <= MAX_SAMPLES:
        raise ValueError(f"--n must be between 1 and {MAX_SAMPLES}, got {args.n}.")
    if args.seed < 0:
        raise ValueError(f"--seed must be 0 or positive, got {args.seed}.")
    if not str(args.out).lower().endswith(".png"):
        raise ValueError(f"--out {args.out}: the grid is written as PNG; use a name ending in .png.")
    check_writable(args.out)
    ck = load_checkpoint(args.checkpoint)
    cfg = ck.config
    if args.mask is not None and not 0 <= args.mask < cfg.num_masks:
        raise ValueError(
            f"--mask must be between 0 and {cfg.num_masks - 1} (the checkpoint has {cfg.num_masks} mask(s))."
        )
    ds = checkpoint_data(ck, args.data, args.binarize, required=False)
    use_threads(args, ck.model)
    traj = sample(ck.model, n=args.n, seed=args.seed, method=args.method, greedy=args.greedy, mask=args.mask)
    x = traj.x.cpu().numpy().round().astype(np.uint8)
    shape = image_shape(cfg, ck.data)
    idx = dist = None
    lines = []
    if ds is not None:
        from ..data import nearest_neighbors

        idx, dist = nearest_neighbors(x, ds.train, k=1)
        for i in range(len(x)):
            lines.append(
                f"sample {i}: nearest training image #{int(idx[i])} of {ds.name}, "
                f"Hamming distance {int(dist[i])} of {cfg.d} pixels"
            )
        lines.append(
            f"mean Hamming distance {float(np.mean(dist)):.2f}; exact copies of training images: "
            f"{int(np.sum(dist == 0))} of {len(x)}"
        )
    image = sample_grid_image(x, shape, None if ds is None else ds.train[idx])
    image.save(args.out, format="PNG")
    layout = "each beside its nearest training image" if ds is not None else "no nearest neighbours"
    lines.append(f"wrote {args.out} ({len(x)} samples of {shape[0]}x{shape[1]} with mask {traj.mask_index}, {layout})")
    summary = {
        "command": "sample",
        "out": str(args.out),
        "n": len(x),
        "seed": args.seed,
        "mask": traj.mask_index,
        "greedy": args.greedy,
        "shape": list(shape),
        "log_prob": traj.log_prob().tolist(),
        "neighbors": None if idx is None else [int(v) for v in idx],
        "distances": None if dist is None else [int(v) for v in dist],
    }
    emit(args, lines, summary)
    return 0
