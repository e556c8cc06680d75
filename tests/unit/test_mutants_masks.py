"""Exact checks of masks.py that mutation testing (bench/mutation.sh) found missing: the
diagnosis of dead units, starved conditionals and missing degrees, its summary lines, and
build_all_masks, the blocked product of masks in both of its branches and the hidden degrees of
D = 2. Each test pins whole values (lists, texts), not a property a wrong diagnosis
could also have."""

import numpy as np
import pytest

import made_viz.masks as masks_module
from made_viz import Config, build_masks
from made_viz.masks import Diagnostics, MaskSet, blocked_matmul, build_all_masks, diagnose, generation_order


def _hand_built() -> MaskSet:
    """D = 3 (natural order), two hidden layers of 2 units, wired by hand:
    layer 1: unit 0 <- input 0; unit 1 <- nothing (no input).
    layer 2: unit 0 <- layer-1 unit 1 only (so no input reaches it); unit 1 <- layer-1 unit 0.
    outputs: layer-2 unit 1 -> outputs 1 and 2; layer-2 unit 0 -> nothing (reaches no output),
    so layer-1 unit 1 reaches no output either. Output 2 may see inputs 0 and 1 but sees only 0."""
    m0 = np.array([1, 2, 3])
    masks = [
        np.array([[1, 0], [0, 0], [0, 0]], bool),
        np.array([[0, 1], [1, 0]], bool),
        np.array([[0, 0, 0], [0, 1, 1]], bool),
    ]
    return MaskSet(degrees=[m0, np.array([1, 2]), np.array([1, 2])], masks=masks, order=np.arange(3))


def test_diagnosis_of_a_hand_wired_network_is_exact():
    diag = diagnose(_hand_built())
    assert diag.no_input == [(1, 1), (2, 0)]
    assert diag.no_output == [(1, 1), (2, 0)]
    assert diag.starved == [(2, 3, 1, 2)]  # pixel 2, position 3, sees 1 of 2
    assert diag.missing_degrees == []
    assert not diag.ok
    low_degrees = MaskSet(
        degrees=[np.array([1, 2, 3]), np.array([2, 2]), np.array([1, 2])], masks=_hand_built().masks, order=np.arange(3)
    )
    assert diagnose(low_degrees).missing_degrees == [(1, [1])]  # degrees run from 1, not 0 or 2


def test_a_real_made_has_no_dead_inputs_and_the_lists_are_empty_not_missing():
    diag = build_masks(Config(d=8, hidden=(64, 64), seed=1)).diagnostics()
    assert diag.no_input == [] and diag.no_output == [] and diag.starved == [] and diag.missing_degrees == []
    assert diag.ok


def test_missing_degrees_are_listed_per_layer_from_1_to_d_minus_1():
    """'even' degrees of D = 6: 2 units get degrees [1, 3] (2, 4, 5 missing), 3 units [1, 2, 4]
    (3, 5 missing), 8 units cover 1..5."""
    ms = build_masks(Config(d=6, hidden=(2, 3, 8), degrees="even"))
    assert [d.tolist() for d in ms.degrees[1:3]] == [[1, 3], [1, 2, 4]]
    assert diagnose(ms).missing_degrees == [(1, [2, 4, 5]), (2, [3, 5])]


def test_summary_lines_name_the_counts_and_the_first_starved_conditional():
    diag = Diagnostics(
        no_input=[(1, 0), (2, 3)], no_output=[(1, 4)], starved=[(5, 2, 0, 1), (7, 3, 1, 2)], missing_degrees=[(1, [2])]
    )
    assert diag.summary() == [
        "2 hidden unit(s) receive no input at all: they are constants.",
        "1 hidden unit(s) reach no output: their weights are wasted.",
        (
            "2 conditional(s) see fewer inputs than the order allows (e.g. pixel 5, position 2, sees 0 of 1): "
            "some degrees have no hidden unit."
        ),
    ]
    assert Diagnostics([], [], [], [(1, [2])]).summary() == []


def test_build_all_masks_gives_the_k_mask_sets_in_order():
    cfg = Config(d=6, hidden=(10,), order="random", num_masks=3, seed=4)
    sets = build_all_masks(cfg)
    assert [ms.index for ms in sets] == [0, 1, 2]
    for k, ms in enumerate(sets):
        ref = build_masks(cfg, k)
        assert np.array_equal(ms.order, ref.order)
        assert all(np.array_equal(a, b) for a, b in zip(ms.masks, ref.masks))
    assert not np.array_equal(sets[0].order, sets[1].order)


def test_violations_of_an_unmasked_network_are_every_pair_not_strictly_before_in_generation_order():
    """masking="off" with one hidden unit: exactly one path between every input and output (so a
    count of 1 is a violation too). Order (2, 0, 1): positions m0 = [2, 3, 1]. The pairs come sorted
    by the output's position, then the input's: the student reads them in generation order."""
    ms = build_masks(Config(d=3, hidden=(1,), order=[2, 0, 1], masking="off"))
    assert ms.degrees[0].tolist() == [2, 3, 1]
    assert ms.connectivity().tolist() == [[1, 1, 1]] * 3
    assert ms.violations() == [(2, 2), (0, 2), (1, 2), (0, 0), (1, 0), (1, 1)]
    assert not ms.is_autoregressive()


def test_connectivity_is_computed_once_per_mask_set():
    """The app redraws the path counts on every rerun: the (D, D) product is cached, not rebuilt."""
    ms = build_masks(Config(d=8, hidden=(16,), seed=2))
    assert ms.connectivity() is ms.connectivity()


def test_degrees_and_path_counts_are_whole_numbers():
    """int64 as documented: the app prints degrees and path counts, and 3 must not show as 3.0."""
    for degrees in ("random", "even"):
        ms = build_masks(Config(d=6, hidden=(5, 4), degrees=degrees, seed=3))
        assert all(m.dtype == np.int64 for m in ms.degrees), degrees
        assert ms.connectivity().dtype == np.int64


def test_generation_order_defaults_to_mask_0():
    cfg = Config(d=7, hidden=(8,), order="random", num_masks=3, seed=9)
    assert np.array_equal(generation_order(cfg), build_masks(cfg, 0).order)
    assert not np.array_equal(generation_order(cfg), build_masks(cfg, 1).order)


def test_named_and_explicit_orders_are_exact():
    assert generation_order(Config(d=4, hidden=(4,), order="natural")).tolist() == [0, 1, 2, 3]
    assert generation_order(Config(d=4, hidden=(4,), order="reverse")).tolist() == [3, 2, 1, 0]
    explicit = generation_order(Config(d=4, hidden=(4,), order=[2, 0, 3, 1]))
    assert explicit.tolist() == [2, 0, 3, 1] and explicit.dtype == np.int64


def test_mask_index_k_equal_to_k_masks_is_out_of_range():
    for num_masks in (1, 3):
        cfg = Config(d=4, hidden=(4,), num_masks=num_masks)
        build_masks(cfg, num_masks - 1)
        with pytest.raises(ValueError, match="out of range"):
            build_masks(cfg, num_masks)


@pytest.mark.parametrize(
    ("shape_a", "shape_b"),
    [((2, 3), (3, 5)), ((5, 3), (3, 2))],  # a whole and b in column blocks; b whole and a in row blocks
    ids=["column-blocks", "row-blocks"],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocked_matmul_gives_the_exact_product_in_the_requested_dtype(monkeypatch, shape_a, shape_b, dtype):
    monkeypatch.setattr(masks_module, "BLOCK_CELLS", 6)  # blocks of 2 columns or 2 rows, the last one short
    rng = np.random.default_rng(0)
    a, b = rng.random(shape_a) < 0.6, rng.random(shape_b) < 0.6
    out = blocked_matmul(a, b, dtype)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, a.astype(np.int64) @ b.astype(np.int64))


def test_after_inputs_of_degree_1_only_a_d_of_2_leaves_every_hidden_unit_degree_1():
    """D = 2: the hidden degrees are drawn from [min(previous degrees), D - 1] = [1, 1]; a unit of
    degree 0 would see no input at all."""
    ms = build_masks(Config(d=2, hidden=(8, 8), order="natural"))
    assert [deg.tolist() for deg in ms.degrees] == [[1, 2], [1] * 8, [1] * 8]
    assert diagnose(ms).ok


def test_build_masks_numbers_its_mask_set_and_mask_0_is_the_default():
    cfg = Config(d=4, hidden=(6,), num_masks=3, seed=1)
    assert build_masks(cfg).index == 0 and build_masks(cfg, 2).index == 2
    np.testing.assert_array_equal(build_masks(cfg).order, build_masks(cfg, 0).order)
