"""Binary images as arrays, plotly figures and PNG bytes (no streamlit, no torch).

The one home of image grids: `Grid` lays n tiles of h x w pixels out in rows, and every grid the
app draws (the data preview, samples, the sampling animation, nearest neighbours, PNG and GIF
exports) is built from it.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from .plot_parts import plain_figure
from .style import hex_to_rgb

# pixel colours: 0 = white paper, 1 = ink, NaN = not drawn yet
INK = "#1f2937"
PAPER = "#ffffff"
UNSET = "#dbeafe"
GIVEN_PAPER = "#fef3c7"  # known pixels of a completion (amber: "given, not drawn")
GIVEN_INK = "#b45309"
GAP = "#cbd5e1"  # tile outlines and gaps
GAP_GREY = (160, 160, 160)  # the gaps between tiles of a PNG
# heatmap colours of a grid figure: paper (0), "not drawn yet" (0.5), ink (1); gaps are NaN (transparent)
GRID_SCALE = [[0.0, PAPER], [0.49, PAPER], [0.5, UNSET], [0.51, INK], [1.0, INK]]


def image_hw(shape: tuple[int, int] | None, d: int) -> tuple[int, int]:
    """(height, width) to draw D values: `shape`, or one row of D pixels (what `Config.image_shape`
    and `Dataset.image_shape` give; figure builders also accept shape=None)."""
    return tuple(shape) if shape is not None else (1, d)


def as_images(x: np.ndarray, shape: tuple[int, int] | None) -> np.ndarray:
    """(n, D) -> (n, h, w). Without a shape, a vector of D is shown as one row."""
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[None]
    h, w = image_hw(shape, x.shape[1])
    if h * w != x.shape[1]:
        raise ValueError(f"cannot show {x.shape[1]} values as {h}x{w} images.")
    return x.reshape(len(x), h, w)


@dataclass(frozen=True)
class Grid:
    """n tiles of h x w pixels in rows of `cols`, separated by pad_x columns and pad_y rows."""

    n: int
    h: int
    w: int
    cols: int
    pad_x: int = 1
    pad_y: int = 1

    @property
    def rows(self) -> int:
        return math.ceil(self.n / self.cols)

    @property
    def size(self) -> tuple[int, int]:
        return (self.rows * (self.h + self.pad_y) - self.pad_y, self.cols * (self.w + self.pad_x) - self.pad_x)

    def origin(self, i: int) -> tuple[int, int]:
        """(row, col) of the top-left pixel of tile i."""
        r, c = divmod(i, self.cols)
        return r * (self.h + self.pad_y), c * (self.w + self.pad_x)

    def mosaic(self, values: np.ndarray, fill: float, dtype=np.float64) -> np.ndarray:
        """(n, D) or (n, h, w) -> one 2-D mosaic, gaps = fill."""
        out = np.full(self.size, fill, dtype=dtype)
        imgs = np.asarray(values).reshape(self.n, self.h, self.w)
        for i in range(self.n):
            r0, c0 = self.origin(i)
            out[r0 : r0 + self.h, c0 : c0 + self.w] = imgs[i]
        return out

    def cell(self, i: int, pixel: int) -> tuple[int, int]:
        """(row, col) in the mosaic of pixel `pixel` of tile i."""
        r0, c0 = self.origin(i)
        return r0 + pixel // self.w, c0 + pixel % self.w


def make_grid(n: int, shape: tuple[int, int] | None, d: int, cols: int | None = None, label_rows: bool = False) -> Grid:
    """About square (ceil(sqrt n) columns unless `cols`); label_rows leaves room under each row for a label."""
    h, w = image_hw(shape, d)
    cols = cols or math.ceil(math.sqrt(n))
    pad_y = max(2, math.ceil(0.22 * h)) if label_rows else 1
    return Grid(n, h, w, cols, 1, pad_y)


def tile(images: np.ndarray, cols: int | None = None, pad: int = 1, fill: float = np.nan) -> np.ndarray:
    """(n, h, w) -> one (rows*(h+pad)-pad, cols*(w+pad)-pad) float32 mosaic, gaps filled with `fill`."""
    n, h, w = images.shape
    grid = Grid(n, h, w, cols or math.ceil(math.sqrt(n)), pad, pad)
    return grid.mosaic(images, fill, dtype=np.float32)


def image_layout(height: int | None, title: str | None = None, annotations: list | None = None) -> dict:
    """Plotly layout of a figure that is only images: hidden axes, square pixels, row 0 at the top."""
    hidden = dict(visible=False, constrain="domain")
    top = 30 if title else 24 if annotations else 0
    layout = dict(
        height=height,
        margin=dict(l=0, r=0, t=top, b=0),
        xaxis=dict(hidden),
        yaxis=dict(hidden, autorange="reversed", scaleanchor="x"),
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
    )
    if title:
        layout["title"] = dict(text=title)
    if annotations:
        layout["annotations"] = annotations
    return layout


def grid_figure(
    x: np.ndarray,
    shape: tuple[int, int] | None,
    cols: int | None = None,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """A plotly heatmap of a grid of binary images: ink on paper, NaN = not drawn yet (light blue),
    transparent gaps. Built as one dict (plotly validates it once), so a live panel can redraw it cheaply."""
    mosaic = tile(as_images(np.asarray(x, dtype=np.float32), shape), cols, pad=1, fill=-1.0)
    z = np.where(np.isnan(mosaic), 0.5, mosaic)
    z = np.where(mosaic == -1.0, np.nan, z)  # gaps are transparent
    trace = dict(type="heatmap", z=z, zmin=0, zmax=1, showscale=False, hoverinfo="skip", colorscale=GRID_SCALE)
    return plain_figure([trace], image_layout(height, title))


def to_rgb(mosaic: np.ndarray) -> np.ndarray:
    """Mosaic of 0/1/NaN (and -1 gaps) -> uint8 RGB."""
    out = np.empty((*mosaic.shape, 3), dtype=np.uint8)
    out[:] = hex_to_rgb(PAPER)
    out[mosaic == 1] = hex_to_rgb(INK)
    out[np.isnan(mosaic)] = hex_to_rgb(UNSET)
    out[mosaic == -1] = GAP_GREY
    return out


def grid_png(x: np.ndarray, shape: tuple[int, int] | None, cols: int | None = None, scale: int = 4) -> bytes:
    """PNG bytes of a grid of binary images, each pixel `scale` x `scale`."""
    from PIL import Image

    mosaic = tile(as_images(x, shape).astype(np.float32), cols, pad=1, fill=-1.0)
    img = Image.fromarray(to_rgb(mosaic)).resize((mosaic.shape[1] * scale, mosaic.shape[0] * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
