"""The Train page's NLL chart counts epochs in whole epochs, also before training starts (issue 12)."""

import numpy as np
import plotly.io as pio
import pytest

from made_viz import curves


def tick_values(fig) -> list[float]:
    """The x ticks plotly.js will draw, computed from the figure's axis settings the way plotly does for
    a linear axis: from tick0 every dtick; without dtick, plotly picks 1, 2 or 5 x 10^k for about 6 ticks
    (plotly.js autoTicks: roughly range / 6, rounded up to a nice value)."""
    ax = pio.from_json(fig.to_json()).layout.xaxis
    lo, hi = ax.range
    if ax.dtick is None:
        rough = (hi - lo) / 6
        base = 10 ** np.floor(np.log10(rough))
        dtick = next(base * m for m in (1, 2, 5, 10) if base * m >= rough)
        tick0 = 0.0
    else:
        dtick, tick0 = float(ax.dtick), float(ax.tick0 or 0)
    first = tick0 + np.ceil((lo - tick0) / dtick) * dtick
    return list(np.arange(first, hi + 1e-9, dtick))


@pytest.mark.parametrize("epochs", [None, 1, 3, 10, 200])
def test_idle_chart_shows_whole_epochs(epochs):
    fig = curves.nll_figure([], [], 64, epochs=epochs)
    ticks = tick_values(fig)
    assert len(ticks) >= 2 and ticks[0] == 0
    assert all(float(t).is_integer() for t in ticks), ticks


@pytest.mark.parametrize("x_last", [0.3, 1.7, 4.0, 9.5, 37.0])
def test_running_chart_ticks_are_whole_epochs(x_last):
    train = [(x, 100.0 - x) for x in np.linspace(0.01, x_last, 20)]
    valid = [(float(e), 99.0 - e) for e in range(1, int(x_last) + 1)]
    fig = curves.nll_figure(train, valid, 64, epochs=200)
    ticks = tick_values(fig)
    assert fig.layout.xaxis.range[1] >= x_last
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
