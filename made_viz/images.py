"""Binary images as arrays, plotly figures and PNG bytes (no streamlit).

Shared by every page that shows images: the data preview, samples, completions.
"""
from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go

# pixel colours: 0 = white paper, 1 = ink, NaN = not drawn yet
INK = "#1f2937"
PAPER = "#ffffff"
UNSET = "#dbeafe"


def as_images(x: np.ndarray, shape: tuple[int, int] | None) -> np.ndarray:
    """(n, D) -> (n, h, w). Without a shape, a vector of D is shown as one row."""
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[None]
    h, w = shape if shape is not None else (1, x.shape[1])
    if h * w != x.shape[1]:
        raise ValueError(f"cannot show {x.shape[1]} values as {h}x{w} images.")
    return x.reshape(len(x), h, w)


def tile(images: np.ndarray, cols: int | None = None, pad: int = 1, fill: float = np.nan) -> np.ndarray:
    """(n, h, w) -> one (rows*(h+pad)-pad, cols*(w+pad)-pad) mosaic, gaps filled with `fill`."""
    n, h, w = images.shape
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), fill, dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = images[i]
    return out


def grid_figure(x: np.ndarray, shape: tuple[int, int] | None, cols: int | None = None,
                title: str | None = None, height: int | None = None) -> go.Figure:
    """A plotly heatmap of a grid of binary images (values 0/1, NaN = not set)."""
    imgs = as_images(x, shape)
    mosaic = tile(imgs, cols, pad=1, fill=-1.0)
    z = np.where(np.isnan(mosaic), 0.5, mosaic)
    z = np.where(mosaic == -1.0, np.nan, z)  # gaps are transparent
    fig = go.Figure(go.Heatmap(
        z=z, zmin=0, zmax=1, showscale=False, hoverinfo="skip",
        colorscale=[[0.0, PAPER], [0.49, PAPER], [0.5, UNSET], [0.51, INK], [1.0, INK]]))
    fig.update_yaxes(autorange="reversed", visible=False, scaleanchor="x", constrain="domain")
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_layout(margin=dict(l=0, r=0, t=30 if title else 0, b=0), title=title,
                      height=height, plot_bgcolor="rgba(0,0,0,0)", paper_bgcolor="rgba(0,0,0,0)")
    return fig


def to_rgb(mosaic: np.ndarray) -> np.ndarray:
    """Mosaic of 0/1/NaN (and -1 gaps) -> uint8 RGB."""
    def rgb(hexcode: str) -> np.ndarray:
        return np.array([int(hexcode[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)
    out = np.empty((*mosaic.shape, 3), dtype=np.uint8)
    out[:] = rgb(PAPER)
    out[mosaic == 1] = rgb(INK)
    out[np.isnan(mosaic)] = rgb(UNSET)
    out[mosaic == -1] = (160, 160, 160)
    return out


def grid_png(x: np.ndarray, shape: tuple[int, int] | None, cols: int | None = None, scale: int = 4) -> bytes:
    """PNG bytes of a grid of binary images, each pixel `scale` x `scale`."""
    from PIL import Image
    mosaic = tile(as_images(x, shape).astype(np.float32), cols, pad=1, fill=-1.0)
    img = Image.fromarray(to_rgb(mosaic)).resize((mosaic.shape[1] * scale, mosaic.shape[0] * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
