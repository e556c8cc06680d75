"""Writes the golden figure JSON that tests/unit/test_golden_figures.py pins.

Run once from the commit *before* a behaviour-preserving move (the goldens in this folder were written
from commit f1dedaf, before the restructure of issue 11):  PYTHONPATH=<checkout> python tests/golden/make_golden.py
Only rerun it when a figure is changed on purpose, and say so in the commit message.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cases():
    """name -> a function building one plotly figure. Imports resolve old and new module layouts."""
    from made_viz import MADE, Config, build_masks
    from made_viz import figures as F

    try:
        from made_viz.sampling import sample
    except ImportError:
        from made_viz.sample import sample
    from made_viz import animation as A

    seed = Config(d=3, shape=(1, 3), hidden=(4,), order=(1, 2, 0), degrees="even", seed=0)
    small = Config(d=16, shape=(4, 4), hidden=(12, 10), order="random", degrees="random", seed=3)
    big = Config(d=784, shape=(28, 28), hidden=(500,), order="natural", seed=0)
    ms_seed, ms_small, ms_big = build_masks(seed), build_masks(small), build_masks(big)
    model = MADE(Config(d=16, shape=(4, 4), hidden=(24,), order="random", seed=5))
    traj = sample(model, n=4, seed=0)
    return {
        "network_seed": lambda: F.network_figure(ms_seed),
        "network_small": lambda: F.network_figure(ms_small),
        "network_big_bundled": lambda: F.network_figure(ms_big),
        "mask_small_0": lambda: F.mask_figure(ms_small, 0),
        "mask_small_out": lambda: F.mask_figure(ms_small, 2),
        "connectivity_small": lambda: F.connectivity_figure(ms_small),
        "animation_small": lambda: A.animation_figure(traj, (4, 4)),
    }


def figure_json(fig) -> object:
    """A figure as plain JSON (plotly's own encoder turns arrays into lists), without `layout.template`:
    that is the process's plotly default theme (Streamlit installs its own once a page has drawn a chart),
    not part of the figure we build."""
    out = json.loads(fig.to_json())
    out.get("layout", {}).pop("template", None)
    return out


if __name__ == "__main__":
    for name, build in cases().items():
        (HERE / f"{name}.json").write_text(json.dumps(figure_json(build()), sort_keys=True))
        print(name, file=sys.stderr)
