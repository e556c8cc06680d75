"""Look shared by every figure (no streamlit, no torch): type size and colour helpers, one home each."""

from __future__ import annotations

FONT = dict(size=15)  # plotly font of every figure: readable on a classroom projector


def hex_to_rgb(hexcode: str) -> tuple[int, int, int]:
    """'#rrggbb' -> (r, g, b) as integers 0..255."""
    code = hexcode.lstrip("#")
    if len(code) != 6:
        raise ValueError(f"colour must look like #rrggbb, got {hexcode!r}")
    return tuple(int(code[i : i + 2], 16) for i in (0, 2, 4))


def rgba(hexcode: str, alpha: float) -> str:
    """'#rrggbb' and an opacity -> a CSS 'rgba(r,g,b,a)' string for plotly."""
    r, g, b = hex_to_rgb(hexcode)
    return f"rgba({r},{g},{b},{alpha:.3f})"
