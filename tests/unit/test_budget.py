"""The per-student budget: an exact weight count, a clear refusal, an operator's limit, and mask
products whose memory stays bounded."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from made_viz import budget
from made_viz.config import Config, ConfigError
from made_viz.masks import blocked_matmul, build_masks

COUNT_CONFIGS = [
    Config(d=3, hidden=(4,)),
    Config(d=64, shape=(8, 8), hidden=(128, 128)),
    Config(d=10, hidden=()),  # no hidden layer
    Config(d=10, hidden=(), direct=True),
    Config(d=12, hidden=(7, 5, 3), direct=True, num_masks=4),  # K masks share the weights
    Config(d=784, shape=(28, 28), hidden=(500,)),
    Config(d=5, hidden=(1, 9, 1, 9), activation="tanh", masking="off"),
]


@pytest.mark.parametrize(
    "cfg", COUNT_CONFIGS, ids=lambda c: f"d{c.d}-h{'x'.join(map(str, c.hidden)) or 0}{'-direct' if c.direct else ''}"
)
def test_num_weights_counts_every_parameter_of_the_model(cfg):
    from made_viz.model import MADE  # torch only here: config and budget do not need it

    assert cfg.num_weights == sum(p.numel() for p in MADE(cfg).parameters())


def test_the_paper_sized_network_is_refused_with_one_clear_sentence():
    cfg = Config(d=784, shape=(28, 28), hidden=(4096,) * 8)
    assert cfg.num_weights == 784 * 4096 + 4096 + 7 * (4096 * 4096 + 4096) + 4096 * 784 + 784
    with pytest.raises(ConfigError) as err:
        budget.check_budget(cfg, limit=10_000_000)
    msg = str(err.value)
    assert msg == (
        f"This network has {cfg.num_weights:,} weights; this server allows at most 10,000,000 per "
        "student (MADE_VIZ_MAX_WEIGHTS). Use fewer or narrower hidden layers."
    )


def test_masks_count_against_the_budget_and_the_message_says_so():
    cfg = Config(d=784, shape=(28, 28), hidden=(500,), num_masks=16)
    budget.check_budget(cfg.replace(num_masks=8), limit=10_000_000)  # 785,284 x 8 fits
    with pytest.raises(
        ConfigError,
        match=r"785,284 weights × 16 masks = 12,564,544; .* at most 10,000,000 .*"
        r"Use fewer masks",
    ):
        budget.check_budget(cfg, limit=10_000_000)


def test_the_limit_is_inclusive_and_defaults_to_max_weights():
    cfg = Config(d=64, shape=(8, 8), hidden=(128, 128))
    budget.check_budget(cfg, limit=cfg.num_weights)
    with pytest.raises(ConfigError):
        budget.check_budget(cfg, limit=cfg.num_weights - 1)
    budget.check_budget(cfg)  # the default preset fits the default limit
    assert budget.MAX_WEIGHTS == budget.read_limit()


@pytest.mark.parametrize(
    "raw, want", [("", 10_000_000), ("2000000", 2_000_000), ("2_000_000", 2_000_000), ("2,000,000", 2_000_000)]
)
def test_operator_limit_from_the_environment(raw, want):
    assert budget.read_limit({budget.ENV_VAR: raw}) == want
    assert budget.read_limit({}) == budget.DEFAULT_MAX_WEIGHTS


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "1.5e6"])
def test_a_bad_operator_limit_is_refused_not_ignored(raw):
    with pytest.raises(ValueError, match="MADE_VIZ_MAX_WEIGHTS must be a positive whole number"):
        budget.read_limit({budget.ENV_VAR: raw})


def test_blocked_products_equal_the_plain_product():
    rng = np.random.default_rng(0)
    import made_viz.masks as M

    old = M.BLOCK_CELLS
    try:
        M.BLOCK_CELLS = 512  # many small blocks, uneven edges
        for shape_a, shape_b in (((37, 300), (300, 53)), ((300, 37), (37, 53)), ((40, 40), (40, 40))):
            a = rng.random(shape_a) < 0.3
            b = rng.random(shape_b) < 0.5
            want = a.astype(np.int64) @ b.astype(np.int64)
            np.testing.assert_array_equal(blocked_matmul(a, b), want)
            np.testing.assert_array_equal(blocked_matmul(a, b, np.float32), want)
    finally:
        M.BLOCK_CELLS = old


def test_connectivity_of_wide_layers_allocates_no_float_copy_of_a_mask():
    """D = 64 with two layers of 2048: a float64 copy of the 2048 x 2048 mask alone is 32 MB; the
    blocked product must stay well under it (its result is 64 x 64 and its blocks 8 MB)."""
    ms = build_masks(Config(d=64, hidden=(2048, 2048)))
    tracemalloc.start()
    try:
        conn = ms.connectivity()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MB"
    want = ms.masks[0].astype(np.int64) @ ms.masks[1].astype(np.int64) @ ms.masks[2].astype(np.int64)
    np.testing.assert_array_equal(conn, want)


def test_the_jacobian_check_is_skipped_for_a_network_over_two_million_weights_even_with_few_inputs():
    """D x weights alone let an 8 x 8 network of 10 M weights through (640 M multiply-adds); its check built
    a 10 M-weight model per student run (bench.memory: 30 such students peaked at 1.36 GB)."""
    wide_small_image = Config(d=64, shape=(8, 8), hidden=(1185,) * 8)
    assert wide_small_image.d * wide_small_image.num_weights <= budget.MAX_CHECK_WORK
    assert not budget.jacobian_affordable(wide_small_image)
    assert budget.jacobian_affordable(Config(d=784, shape=(28, 28), hidden=(500,)))  # 0.79 M: checked
    at_limit = Config(d=64, shape=(8, 8), hidden=(1000, 1000))  # 1.13 M
    assert budget.jacobian_affordable(at_limit)
