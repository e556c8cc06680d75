"""Exact checks of masks.py that mutation testing (bench/mutation.sh) found missing: the
diagnosis of dead units, starved conditionals and missing degrees, its summary lines, and
build_all_masks, the blocked product of masks in both of its branches (its values, the dtype it
computes in, the blocks it converts) and the hidden degrees of D = 2, the random stream of the masks
of a shipped model, the out-of-range sentence, direct connections in the three masking variants.
Each test pins whole values (lists, texts), not a property a wrong diagnosis could also have."""

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


@pytest.mark.parametrize(
    ("shape_a", "shape_b"),
    [((1, 1), (1, 1)), ((2, 1), (1, 1))],  # a whole and b in column blocks; b whole and a in row blocks
    ids=["column-blocks", "row-blocks"],
)
@pytest.mark.parametrize("inexact", ["a", "b"])
def test_blocked_matmul_in_float32_rounds_both_operands_to_float32_first(shape_a, shape_b, inexact):
    """Computed in `dtype`, as documented: 1 + 2^-24 is not a float32 (it rounds to 1, a tie to
    even), so in float32 (1 + 2^-24) x 3 = 3; a product taken in float64 and rounded only when
    stored, 3 + 3 x 2^-24, would round to the float32 3 + 2^-22 instead. Whichever operand carries
    the value, in either branch."""
    x = 1 + 2.0**-24
    assert np.float32(x) == 1 and np.float32(x * 3) == 3 + 2.0**-22  # the two answers differ
    a = np.full(shape_a, x if inexact == "a" else 3.0)
    b = np.full(shape_b, x if inexact == "b" else 3.0)
    out = blocked_matmul(a, b, np.float32)
    assert out.dtype == np.float32
    assert out.tolist() == [[3.0]] * shape_a[0]


class _BlockRecorder(np.ndarray):
    """An operand that counts, cell by cell, how often a block of it is taken to be converted,
    and records the size of every block."""

    def __getitem__(self, key):
        part = np.asarray(super().__getitem__(key))
        self.taken[key] += 1
        self.block_sizes.append(part.size)
        return part


def _recorder(x: np.ndarray) -> _BlockRecorder:
    rec = x.view(_BlockRecorder)
    rec.taken = np.zeros(x.shape, dtype=np.int64)
    rec.block_sizes = []
    return rec


@pytest.mark.parametrize(
    ("shape_a", "shape_b", "blocked"),
    [
        ((1, 6), (6, 2), "b"),  # columns of b are 6 cells: one column a block
        ((1, 3), (3, 5), "b"),  # columns of 3 cells: two columns a block, the last block one column
        ((2, 6), (6, 1), "a"),  # rows of a are 6 cells: one row a block
        ((5, 3), (3, 1), "a"),  # rows of 3 cells: two rows a block, the last block one row
    ],
    ids=["b-columns-of-one", "b-columns-of-two", "a-rows-of-one", "a-rows-of-two"],
)
def test_blocked_matmul_converts_each_cell_of_the_larger_operand_once_in_blocks_of_at_most_block_cells(
    monkeypatch, shape_a, shape_b, blocked
):
    """The memory bound of the products of masks: the larger operand is converted BLOCK_CELLS cells
    at a time (whole rows or columns), and each of its cells once (blocks that overlap would
    redo the work of a whole operand per block)."""
    monkeypatch.setattr(masks_module, "BLOCK_CELLS", 6)
    rng = np.random.default_rng(1)
    a, b = rng.random(shape_a) < 0.5, rng.random(shape_b) < 0.5
    rec_a, rec_b = _recorder(a), _recorder(b)
    out = blocked_matmul(rec_a, rec_b)
    np.testing.assert_array_equal(out, a.astype(np.int64) @ b.astype(np.int64))
    rec = rec_a if blocked == "a" else rec_b
    assert (rec.taken == 1).all()
    assert max(rec.block_sizes) <= 6


def test_a_random_order_is_drawn_from_the_generator_passed_in():
    cfg = Config(d=9, hidden=(4,), order="random", seed=0)
    got = generation_order(cfg, 0, np.random.default_rng(123))
    assert got.tolist() == np.random.default_rng(123).permutation(9).tolist()
    assert got.tolist() != generation_order(cfg, 0).tolist()  # not mask 0's own stream


def test_the_shipped_digits8_model_has_the_masks_its_configuration_builds():
    """A checkpoint stores its active masks and loading compares them with the masks rebuilt from
    (seed, k): the random stream of a mask (order first, then the hidden degrees, from one generator)
    must stay what it was when the shipped models were trained (digits8: random orders, K = 4)."""
    import json
    from pathlib import Path

    import torch

    import made_viz

    path = Path(made_viz.__file__).parent / "assets" / "pretrained" / "digits8.pt"
    saved = torch.load(path, weights_only=True, map_location="cpu")
    cfg = Config.from_dict(json.loads(saved["config"]))
    assert cfg.order == "random" and cfg.degrees == "random" and cfg.num_masks == 4
    ms = build_masks(cfg, saved["mask_index"])
    for i, mask in enumerate(ms.masks):
        np.testing.assert_array_equal(saved["state_dict"][f"layers.{i}.mask"].numpy(), mask.T)


def test_an_out_of_range_mask_index_is_refused_with_this_sentence():
    with pytest.raises(ValueError) as err:
        build_masks(Config(d=4, hidden=(4,), num_masks=3), 3)
    assert str(err.value) == (
        "mask index 3 out of range: this architecture has 3 mask(s), shown as mask 1..3 (indices 0..2)."
    )


# order (2, 0, 1): pixel 2 is generated first, then 0, then 1, so the positions are m0 = [2, 3, 1]
_STRICT_DIRECT = [[False, True, False], [False, False, False], [True, True, False]]  # m0[i] < m0[j]
_NONSTRICT_DIRECT = [[True, True, False], [False, True, False], [True, True, True]]  # m0[i] <= m0[j]


def test_direct_connections_join_each_input_to_the_outputs_generated_after_it_and_add_one_path():
    ms = build_masks(Config(d=3, hidden=(2,), order=(2, 0, 1), direct=True))
    assert ms.degrees[0].tolist() == [2, 3, 1]
    assert ms.direct.dtype == bool and ms.direct.tolist() == _STRICT_DIRECT
    through_hidden = ms.masks[0].astype(np.int64) @ ms.masks[1].astype(np.int64)
    np.testing.assert_array_equal(ms.connectivity(), through_hidden + np.array(_STRICT_DIRECT))
    assert ms.is_autoregressive()


def test_nonstrict_direct_connections_also_join_each_pixel_to_itself():
    ms = build_masks(Config(d=3, hidden=(2,), order=(2, 0, 1), direct=True, masking="nonstrict"))
    assert ms.direct.tolist() == _NONSTRICT_DIRECT
    assert {(0, 0), (1, 1), (2, 2)} <= set(ms.violations())


def test_unmasked_direct_connections_join_every_input_to_every_output():
    """masking="off" with two hidden units: two paths through them and one direct, for every pair."""
    ms = build_masks(Config(d=3, hidden=(2,), direct=True, masking="off"))
    assert ms.direct.shape == (3, 3) and ms.direct.dtype == bool and ms.direct.all()
    assert ms.connectivity().tolist() == [[3, 3, 3]] * 3


@pytest.mark.parametrize("masking", ["made", "off", "nonstrict"])
def test_a_mask_set_records_which_masking_variant_built_it(masking):
    assert build_masks(Config(d=3, hidden=(2,), masking=masking)).masking == masking
