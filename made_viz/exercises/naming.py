"""How the exercises name things in their sentences: a pixel by index and place, and a list cut
after MAX_NAMED items."""

from __future__ import annotations

MAX_NAMED = 6  # pixels named one by one in an explanation; the rest are counted


def pixel_name(i: int, shape: tuple[int, int] | None) -> str:
    if shape is None or shape[0] == 1:
        return f"pixel {i}"
    return f"pixel {i} (row {i // shape[1]}, col {i % shape[1]})"


def listed(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_NAMED])
    return shown + (f" and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else "")
