"""Published and precomputed MADE results on binarized MNIST, with one home: made_viz/assets/paper_results.json.

The file holds (1) the figures students compare against (the paper's MNIST table, the reference
PyTorch re-implementation's figure on this project's machine), each with its source, and (2) the
paper's Figure 2, test NLL against the number of masks used in training with one hidden layer of
500: the point read off the paper, and this project's own measurement (bench/bench_paper.py; the
command, date and machine are kept with the numbers, so the app can say where they came from).

Nothing here is computed at run time: the app only draws these numbers, and only where they apply,
the test split of the shipped binarized MNIST (the same D = 784 pixels, made the paper's way).
No streamlit here: a damaged file raises ResultsError with one readable sentence for the page to show.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from .curves import Reference
from .data.builtin import assets_dir, load_dataset
from .plot_parts import plain_figure
from .style import FONT

RESULTS_FILE = "paper_results.json"
SCHEMA = 1
MNIST_NAME, MNIST_D = "mnist", 784
ONE_COLOR, ENSEMBLE_COLOR, PAPER_COLOR, YOU_COLOR = "#2563eb", "#059669", "#6b7280", "#dc2626"


class ResultsError(ValueError):
    """The results file is missing or damaged; the message is one sentence a student can read."""


@dataclass(frozen=True)
class Published:
    """One published test NLL (nats per example) and where it comes from."""

    key: str
    label: str  # full name, shown on hover and in captions
    short: str  # legend name on the NLL chart
    nats: float
    line: bool  # drawn as a reference line on the Train page's curves
    source: str


@dataclass(frozen=True)
class MaskPoint:
    """Figure 2's x = masks used in training; y = test NLL of one mask, and of their ensemble."""

    masks: int
    nll_one_mask: float | None
    nll_ensemble: float | None


@dataclass(frozen=True)
class Measured:
    """This project's Figure 2: the points and how they were made (empty until measured)."""

    points: tuple[MaskPoint, ...]
    command: str
    date: str
    machine: str
    note: str = ""  # what budget the points had, when it differs from the paper's (shown in the caption)


@dataclass(frozen=True)
class PaperResults:
    published: tuple[Published, ...]
    paper_points: tuple[MaskPoint, ...]
    paper_source: str
    measured: Measured

    def lines(self) -> tuple[Published, ...]:
        """The figures drawn as reference lines on the curves."""
        return tuple(p for p in self.published if p.line)


# --- reading and checking the file ------------------------------------------------------------------
def results_path() -> Path:
    """The package's results file (importlib.resources via assets_dir; $MADE_VIZ_ASSETS overrides it
    like the data sets and the pre-trained models)."""
    return assets_dir() / RESULTS_FILE


def load_results(path: str | Path | None = None) -> PaperResults:
    """Read and check the results file (cached per file version: the lead edits it by hand)."""
    p = Path(path) if path is not None else results_path()
    try:
        st = p.stat()
    except OSError:
        raise ResultsError(f"The published results file {p.name} is missing from {p.parent}.") from None
    return _load(str(p), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, size: int) -> PaperResults:
    name = Path(path).name
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ResultsError(f"The published results file {name} is damaged: {_short(e)}.") from None
    try:
        return parse_results(raw)
    except (KeyError, TypeError, ValueError) as e:
        raise ResultsError(f"The published results file {name} is damaged: {_short(e)}.") from None


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def parse_results(raw) -> PaperResults:
    """Check every field (types, finite positive NLLs, whole positive mask counts in increasing order)
    and build the results; ValueError/KeyError/TypeError name what is wrong."""
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise ValueError(f'expected a JSON object with "schema": {SCHEMA}')
    published = tuple(_published(p) for p in _list(raw["published"], "published"))
    if len({p.key for p in published}) != len(published):
        raise ValueError("two published results share a key")
    fig2 = _dict(raw["figure2"], "figure2")
    paper, measured = _dict(fig2["paper"], "figure2.paper"), _dict(fig2["measured"], "figure2.measured")
    points = _points(measured["points"], "figure2.measured.points")
    info = {k: _text(measured[k], f"figure2.measured.{k}") for k in ("command", "date", "machine")}
    if points and not all(info.values()):
        raise ValueError("measured points need their command, date and machine")
    info["note"] = _text(measured.get("note", ""), "figure2.measured.note") if points else ""
    return PaperResults(
        published,
        _points(paper["points"], "figure2.paper.points"),
        _text(paper["source"], "figure2.paper.source"),
        Measured(points, **info),
    )


def _dict(v, where: str) -> dict:
    if not isinstance(v, dict):
        raise TypeError(f"{where} must be an object")
    return v


def _list(v, where: str) -> list:
    if not isinstance(v, list):
        raise TypeError(f"{where} must be a list")
    return v


def _text(v, where: str) -> str:
    if not isinstance(v, str):
        raise TypeError(f"{where} must be text")
    return v.strip()


def _nll(v, where: str, optional: bool = False) -> float | None:
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"{where} must be a positive number of nats, got {v!r}")
    return float(v)


def _published(p) -> Published:
    p = _dict(p, "a published result")
    key = _text(p["key"], "published key")
    if not isinstance(p.get("line"), bool):
        raise TypeError(f"published {key}: line must be true or false")
    return Published(
        key,
        _text(p["label"], f"{key} label"),
        _text(p["short"], f"{key} short"),
        _nll(p["nats"], f"{key} nats"),
        p["line"],
        _text(p["source"], f"{key} source"),
    )


def _points(v, where: str) -> tuple[MaskPoint, ...]:
    out = []
    for q in _list(v, where):
        q = _dict(q, f"a point of {where}")
        k = q["masks"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"{where}: masks must be a whole number >= 1, got {k!r}")
        one = _nll(q["nll_one_mask"], f"{where} masks {k}", optional=True)
        ens = _nll(q["nll_ensemble"], f"{where} masks {k}", optional=True)
        if one is None and ens is None:
            raise ValueError(f"{where}: masks {k} has no NLL")
        out.append(MaskPoint(k, one, ens))
    if any(a.masks >= b.masks for a, b in zip(out, out[1:])):
        raise ValueError(f"{where}: masks must increase")
    return tuple(out)


# --- where the figures apply ------------------------------------------------------------------------
def applies_to(ds) -> bool:
    """True for the shipped binarized MNIST (or a file with exactly its contents): the published
    figures are test NLLs on binarized MNIST and mean nothing for digits8, generated sets or uploads."""
    if ds is None or ds.d != MNIST_D:
        return False
    shipped = load_dataset(MNIST_NAME)
    return ds is shipped or ds.fingerprint == shipped.fingerprint


def reference_lines(results: PaperResults, ds) -> list[Reference]:
    """The published figures as curve reference lines (nats per example), only where they apply."""
    if not applies_to(ds):
        return []
    return [Reference(p.short, p.nats, f"{p.label}, test split<br>{p.source[:90]}") for p in results.lines()]


# --- Figure 2: what more masks buy -------------------------------------------------------------------
def provenance(results: PaperResults) -> str:
    """ "precomputed on <machine>, <command>" for the figure's caption, or why there is nothing to show."""
    m = results.measured
    if not m.points:
        return "This project's Figure 2 has not been measured yet (bench/bench_paper.py); shown: the paper's point."
    return f"Precomputed on {m.machine} ({m.date}), `{m.command}`." + (f" {m.note}" if m.note else "")


def masks_figure(
    results: PaperResults, you: MaskPoint | None = None, you_label: str = "you", height: int = 300
) -> go.Figure:
    """Figure 2: test NLL (nats) against the number of masks used in training, one line for a single
    mask at test and one for the ensemble of all of them, the paper's read-off point, and (`you`) the
    student's own K with their one-mask and ensemble figures."""
    data = []
    m = results.measured.points
    for attr, name, color in (
        ("nll_one_mask", "one mask at test", ONE_COLOR),
        ("nll_ensemble", "ensemble of all masks", ENSEMBLE_COLOR),
    ):
        pts = [(p.masks, getattr(p, attr)) for p in m if getattr(p, attr) is not None]
        if pts:
            data.append(
                dict(
                    type="scatter",
                    x=[k for k, _ in pts],
                    y=[v for _, v in pts],
                    mode="lines+markers",
                    name=f"measured: {name}",
                    line=dict(color=color, width=2.5),
                    marker=dict(size=8),
                    hovertemplate="%{x} masks in training<br>" + name + " %{y:.2f} nats<extra></extra>",
                )
            )
    paper = [(p.masks, p.nll_one_mask) for p in results.paper_points if p.nll_one_mask is not None]
    if paper:
        data.append(
            dict(
                type="scatter",
                x=[k for k, _ in paper],
                y=[v for _, v in paper],
                mode="markers",
                name="paper (read off Fig. 2)",
                marker=dict(color=PAPER_COLOR, size=11, symbol="diamond"),
                hovertemplate="paper, %{x} mask: about %{y:.1f} nats<extra></extra>",
            )
        )
    if you is not None:
        for v, name, symbol in ((you.nll_one_mask, "one mask", "circle-open"), (you.nll_ensemble, "ensemble", "star")):
            if v is not None:
                data.append(
                    dict(
                        type="scatter",
                        x=[you.masks],
                        y=[v],
                        mode="markers",
                        name=f"{you_label}: {name}",
                        marker=dict(color=YOU_COLOR, size=13, symbol=symbol, line=dict(width=2)),
                        hovertemplate=f"{you_label}, K = %{{x}}: {name} %{{y:.2f}} nats<extra></extra>",
                    )
                )
    ks = sorted({p.masks for p in m} | {k for k, _ in paper} | ({you.masks} if you else set()))
    layout = dict(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        font=FONT,
        showlegend=True,
        xaxis=dict(
            title=dict(text="masks used in training"),
            type="log",
            tickvals=ks,
            ticktext=[str(k) for k in ks],
            showgrid=True,
            gridcolor="#e5e7eb",
        ),
        yaxis=dict(title=dict(text="test NLL (nats per example)"), showgrid=True, gridcolor="#e5e7eb"),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, font=dict(size=12)),
        plot_bgcolor="white",
        paper_bgcolor="rgba(0,0,0,0)",
    )
    return plain_figure(data, layout)
