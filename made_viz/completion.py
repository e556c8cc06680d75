"""Completion on the Sample page: which pixels are given ("top half", ...) and what the page says
about the result (exact, or which mask would make it exact)."""

from __future__ import annotations

import numpy as np

from .images import image_hw


def completion_advice(exact: bool, note: str, known: np.ndarray, orders: list[np.ndarray]) -> str:
    """What the page says about a completion: its trajectory's note, and when it is not exact,
    which of the model's masks (generation orders) would put the known pixels first."""
    if exact:
        return f"{note} Each completion is a true sample of p(missing pixels | given pixels)."
    from .sampling import completion_is_exact

    better = [k for k, order in enumerate(orders) if completion_is_exact(order, known)]
    if better:
        return f"{note} Mask {better[0]} of this model puts them first: pick it above for an exact completion."
    return (
        f"{note} None of this model's masks puts them first, and the model was trained with its own orders, "
        "so the app cannot just reorder: what you see is the honest approximate completion."
    )


def known_region(shape: tuple[int, int] | None, d: int, region: str, seed: int = 0) -> np.ndarray:
    """(D,) bool: the pixels given to a completion ("top half", "left half", "bottom half", "random 50%")."""
    h, w = image_hw(shape, d)
    rr, cc = np.divmod(np.arange(d), w)
    if region == "top half":
        return rr < (h + 1) // 2 if h > 1 else cc < (w + 1) // 2
    if region == "bottom half":
        return rr >= h // 2 if h > 1 else cc >= w // 2
    if region == "left half":
        return cc < (w + 1) // 2
    if region == "random 50%":
        return np.random.default_rng(seed).random(d) < 0.5
    raise ValueError(f"unknown region {region!r}")
