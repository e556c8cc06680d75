"""The pure logic the pages use (no streamlit): the URL's rules, the likelihood lens's numbers,
and the workload bounds. Expected values are written out or computed independently here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from made_viz import budget, data, lens
from made_viz.config import Config, ConfigError
from made_viz.ui import DEFAULT_PRESET, PRESETS
from made_viz.urlstate import app_params, canonical_params, config_from_params

BASE = PRESETS[DEFAULT_PRESET].cfg  # 8x8, hidden 128, 128


def test_only_the_apps_keys_count_and_a_repeated_key_takes_its_last_value():
    assert app_params({"utm_source": "lms", "d": ["64", "12"], "seed": "3"}) == {"d": "12", "seed": "3"}
    assert config_from_params({"utm_source": "lms", "fbclid": "x"}, BASE) == BASE


def test_missing_keys_take_the_default_presets_values():
    assert config_from_params({"d": "12"}, BASE) == Config(d=12, shape=None, hidden=(128, 128), seed=0)
    assert config_from_params({"d": "64"}, BASE) == BASE  # 8 x 8 still has 64 pixels
    assert config_from_params({"seed": "7"}, BASE) == Config(d=64, shape=(8, 8), hidden=(128, 128), seed=7)
    with pytest.raises(ConfigError, match="does not have D = 64 pixels"):
        config_from_params({"shape": "7x7"}, BASE)  # d is the size; shape only draws it


@pytest.mark.parametrize(
    "cfg",
    [p.cfg for p in PRESETS.values()]
    + [
        Config(d=12, shape=None, hidden=(), direct=True, order="reverse", num_masks=3, seed=5, masking="off"),
        Config(d=6, shape=(2, 3), hidden=(7, 7), order=(5, 4, 3, 2, 1, 0), degrees="even", activation="tanh"),
    ],
)
def test_the_canonical_url_reads_back_to_the_same_network(cfg):
    params = canonical_params(cfg, BASE)
    assert params["d"] == str(cfg.d) and len(params) == len(set(params))
    assert config_from_params(params, BASE) == cfg


def test_the_default_presets_url_is_only_its_size():
    assert canonical_params(BASE, BASE) == {"d": "64"}


def test_num_weights_counts_weights_and_biases():
    # 3 -> 4 -> 3: 3*4 + 4 biases, 4*3 + 3 biases
    assert Config(d=3, hidden=(4,)).num_weights == 12 + 4 + 12 + 3
    assert Config(d=3, hidden=(4,), direct=True).num_weights == 31 + 9
    assert Config(d=3, hidden=()).num_weights == 9 + 3


def test_the_exact_checks_are_skipped_for_big_networks():
    assert budget.jacobian_affordable(BASE)
    assert not budget.jacobian_affordable(Config(d=1024, shape=(32, 32), hidden=(2048, 2048)))
    assert not budget.jacobian_affordable(Config(d=2048, hidden=(8,)))  # D > 1024
    assert budget.exact_sum_affordable(Config(d=12, hidden=(64,)))
    assert not budget.exact_sum_affordable(Config(d=12, hidden=(4096, 4096)))  # 2^12 passes of 17 M weights
    assert not budget.exact_sum_affordable(Config(d=13, hidden=(4,)))


def test_the_lens_totals_are_the_sums_of_the_maps_in_nats_and_bits():
    model_map = np.array([0.5, 1.0, 0.25, 0.25])
    stats = lens.TrainStats(bernoulli=np.array([0.5, 0.25, 0.75, 0.5]), median_test_distance=0.0)
    x = np.array([1, 0, 1, 0], dtype=np.float32)
    view = lens.lens(model_map, stats, x)
    base = -(math.log(0.5) + math.log(0.75) + math.log(0.75) + math.log(0.5))
    (n1, nats1, bits1), (n2, nats2, bits2) = view.totals()
    assert (n1, n2) == ("MADE", "Independent pixels")
    assert nats1 == pytest.approx(2.0) and bits1 == pytest.approx(2.0 / (4 * math.log(2)))
    assert nats2 == pytest.approx(base) and bits2 == pytest.approx(base / (4 * math.log(2)))
    assert lens.lens(model_map, None, x).totals() == [("MADE", pytest.approx(2.0), pytest.approx(bits1))]


def test_train_stats_are_the_smoothed_pixel_means_and_the_median_test_distance():
    train = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0]], dtype=np.uint8)
    test = np.array([[1, 1, 1, 1], [0, 0, 0, 0], [1, 0, 0, 0]], dtype=np.uint8)
    stats = lens.train_stats(data.Dataset("t", train, test, (2, 2), "tiny"))
    assert stats.bernoulli == pytest.approx([4 / 5, 3 / 5, 2 / 5, 1 / 5])  # (count + 1) / (N + 2)
    assert stats.median_test_distance == 1.0  # distances 1, 1, 0


def test_canvas_clicks_ink_paper_and_toggle():
    img = np.array([0, 1, 0, 1], dtype=np.uint8)
    clicks = [{"x": 1.2, "y": 0.1}, {"x": 0.0, "y": 1.0}, {"x": 5, "y": 5}]  # pixels 1, 2; one off the canvas
    assert lens.canvas_click(img, clicks, 2, "toggle").tolist() == [0, 0, 1, 1]
    assert lens.canvas_click(img, clicks, 2, "ink").tolist() == [0, 1, 1, 1]
    assert lens.canvas_click(img, clicks, 2, "paper").tolist() == [0, 0, 0, 1]
    assert img.tolist() == [0, 1, 0, 1]  # the input is not changed
