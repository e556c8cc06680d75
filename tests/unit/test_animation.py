"""Figures of the Sample page (made_viz.animation): frames, thinning, likelihood lens, GIF, size."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from made_viz import animation as A
from made_viz import lens_figures as lens
from made_viz import metrics
from made_viz.app_pages.sample_panels import bigger_type
from made_viz.config import Config
from made_viz.images import Grid, make_grid
from made_viz.model import MADE, model_surprise
from made_viz.sampling import complete, sample
from tests.plotly_valid import assert_valid_as_plotly_would_send

SHAPE = (8, 8)


@pytest.fixture(scope="module")
def shared_model():
    torch.set_num_threads(1)
    m = MADE(Config(d=64, shape=SHAPE, hidden=(32,), order="random", num_masks=2, seed=3))
    with torch.no_grad():  # larger weights than at initialisation: confident, varied conditionals
        for p in m.parameters():
            p.mul_(4)
    return m.eval()


@pytest.fixture
def model(shared_model):
    """The module's model, built once; each test must leave it as it found it (active mask, mode,
    weights), so that no test depends on the order the others ran in."""
    before = {k: v.clone() for k, v in shared_model.state_dict().items()}
    yield shared_model
    assert shared_model.mask_index == 0 and not shared_model.training, "a test changed the shared model"
    for k, v in shared_model.state_dict().items():
        assert torch.equal(v, before[k]), f"a test changed the shared model's {k}"


def expected_mosaic(traj, step: int, grid: Grid) -> np.ndarray:
    """What the samples panel should show after `step` steps, from the trajectory alone:
    0/1 for drawn pixels, 2/3 for given pixels, NaN for pixels not drawn yet, 5 outside tiles."""
    shown = traj.frames([step])[0]
    known = np.zeros_like(shown, dtype=bool) if traj.known is None else traj.known.numpy()
    codes = np.where(np.isnan(shown), np.nan, np.nan_to_num(shown) + 2 * known)
    return grid.mosaic(codes, fill=5)


# ---------------------------------------------------------------------------------------------
# which steps become frames


def test_plan_all_steps_and_thinning_keeps_the_last_frame():
    order = np.random.default_rng(0).permutation(784)
    full = A.frame_plan(order, all_steps=True)
    assert full.steps == tuple(range(785)) and full.every == 1 and not full.thinned
    assert full.describe() == "showing all 784 steps: 785 frames"
    for max_frames in (2, 10, 100, 150, 151, 784):
        plan = A.frame_plan(order, max_frames=max_frames)
        assert plan.steps[0] == 0 and plan.steps[-1] == 784  # start and the finished images
        assert plan.n_frames <= max_frames and plan.n_frames == len(plan.steps)
        assert list(plan.steps) == sorted(set(plan.steps))
        assert all(b - a <= plan.every for a, b in zip(plan.steps, plan.steps[1:]))
        if plan.thinned:
            assert plan.describe() == f"showing every {A.ordinal(plan.every)} step: {plan.n_frames} frames"
    plan = A.frame_plan(order)  # the page's default
    assert plan.every == 6 and plan.n_frames == 132 and plan.steps[-2] == 780


def test_plan_of_a_completion_skips_the_given_pixels():
    order = np.arange(64)
    known = np.zeros((3, 64), dtype=bool)
    known[:, :32] = True  # top half, first in the order
    plan = A.frame_plan(order, known, all_steps=True)
    assert plan.steps == (0, *range(33, 65)) and plan.drawing_steps == 32
    known[1, 40] = True  # given in one row only: still drawn
    assert 41 in A.frame_plan(order, known, all_steps=True).steps
    assert A.frame_plan(order, np.ones((1, 64), bool)).steps == (0,)


def test_ordinal():
    assert [A.ordinal(k) for k in (1, 2, 3, 4, 11, 12, 13, 21, 22, 102, 111)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "102nd",
        "111th",
    ]


# ---------------------------------------------------------------------------------------------
# the animation figure


@pytest.mark.parametrize("thinned", [False, True])
def test_each_frame_shows_exactly_the_pixels_drawn_so_far(model, thinned):
    traj = sample(model, n=5, seed=1, mask=1)
    plan = A.frame_plan(traj.order.numpy(), max_frames=10, all_steps=not thinned)
    fig = A.animation_figure(traj, SHAPE, plan=plan)
    grid = make_grid(5, SHAPE, 64, label_rows=True)
    assert len(fig.frames) == plan.n_frames
    order = traj.order.numpy()
    for i, step in enumerate(plan.steps):
        got = A.frame_visible(fig, i)
        np.testing.assert_array_equal(got, expected_mosaic(traj, step, grid))
        drawn = int((~np.isnan(got) & (got < 5)).sum())
        assert drawn == 5 * step  # exactly `step` pixels per sample
        marks = fig.frames[i].data[1]
        if step:  # the red squares: pixel order[step-1]
            pix = order[step - 1]
            assert [(y, x) for x, y in zip(marks.x[:5], marks.y[:5])] == [grid.cell(j, pix) for j in range(5)]
            p = traj.probs[:, pix].numpy()
            assert list(marks.text[10:]) == [f"{p[j]:.2f}→{int(traj.x[j, pix])}" for j in range(5)]


def test_frames_of_a_completion_show_the_given_pixels_from_the_start(model):
    x = torch.zeros(3, 64)
    x[:, :8] = 1
    known = torch.zeros(3, 64, dtype=torch.bool)
    known[:, :16] = True
    traj = complete(model, x, known, seed=2, mask=0)
    plan = A.frame_plan(traj.order.numpy(), traj.known.numpy(), max_frames=12)
    fig = A.animation_figure(traj, SHAPE, plan=plan)
    grid = make_grid(3, SHAPE, 64, label_rows=True)
    for i, step in enumerate(plan.steps):
        np.testing.assert_array_equal(A.frame_visible(fig, i), expected_mosaic(traj, step, grid))
    first = A.frame_visible(fig, 0)
    assert (first == 3).sum() == 3 * 8 and (first == 2).sum() == 3 * 8  # given ink / paper


def test_set_frame_moves_the_initial_state(model):
    traj = sample(model, n=4, seed=0)
    fig = A.animation_figure(traj, SHAPE, start_frame=0)
    assert fig.layout.sliders[0].active == 0
    assert np.isnan(A.frame_visible(fig, 0)).sum() == 4 * 64
    A.set_frame(fig, 7)
    assert fig.layout.sliders[0].active == 7
    assert (fig.data[A.T_COVER].zmin, fig.data[A.T_COVER].zmax) == (
        fig.frames[7].data[0].zmin,
        fig.frames[7].data[0].zmax,
    )
    assert list(fig.data[A.T_MARKS].x) == list(fig.frames[7].data[1].x)
    A.set_frame(fig, -1)
    assert fig.layout.sliders[0].active == len(fig.frames) - 1


def test_frames_sent_unvalidated_are_exactly_what_plotly_would_validate(model):
    """The frames are built as plain dicts (no plotly validation: ~0.1 s of server CPU per "New seed");
    what the browser gets must be what validated go.Frame objects would have given, for a sample and a
    completion (given pixels, labels), and a copy or a pickled figure keeps its frames."""
    import json
    import pickle

    import plotly.graph_objects as go
    import plotly.io as pio

    known = torch.zeros(3, 64, dtype=torch.bool)
    known[:, :20] = True
    for traj in (sample(model, n=4, seed=0), complete(model, torch.ones(3, 64), known, seed=1)):
        fig = A.animation_figure(traj, SHAPE, show_order=True)
        sent = json.loads(pio.to_json(fig, validate=False))["frames"]
        validated = json.loads(pio.to_json(go.Figure(frames=[go.Frame(f) for f in fig.frame_dicts]), validate=False))
        assert sent == validated["frames"]
        assert len(sent) == len(fig.frames) > 10
        assert [f["name"] for f in sent] == [f.name for f in fig.frames]
        for copy in (go.Figure(fig), A.AnimationFigure(fig), pickle.loads(pickle.dumps(fig))):
            assert json.loads(pio.to_json(copy, validate=False))["frames"] == sent
        assert A.AnimationFigure(fig.to_dict()).frame_dicts == fig.frame_dicts
        assert_valid_as_plotly_would_send(fig)
        assert_valid_as_plotly_would_send(A.set_frame(fig, 3))
        assert_valid_as_plotly_would_send(bigger_type(A.animation_figure(traj, SHAPE), 1.7).freeze())


def test_a_frozen_figure_sends_what_it_would_unfrozen_and_callers_cannot_change_it(model):
    """A figure shared by the sessions of a process is frozen once built (its dict computed once, no deep copy per
    page run): what it sends must be what the same figure sends unfrozen, and what one caller does to the dict
    it gets (Streamlit sets a theme, a caller appends) must not reach the next caller."""
    import json

    import plotly.io as pio

    traj = sample(model, n=4, seed=0)
    for make in (
        lambda: A.animation_figure(traj, SHAPE),
        lambda: A.set_frame(bigger_type(A.animation_figure(traj, SHAPE, show_order=True), 1.7), 5),
    ):
        plain, frozen = make(), make().freeze()
        assert json.loads(pio.to_json(frozen, validate=False)) == json.loads(pio.to_json(plain, validate=False))
        sent = frozen.to_dict()
        sent["layout"]["template"] = "changed by a caller"
        sent["data"].append({"type": "scatter"})
        sent["frames"].pop()
        again = frozen.to_dict()
        assert again["layout"].get("template") != "changed by a caller" and len(again["data"]) == len(plain.data)
        assert len(again["frames"]) == len(plain.frame_dicts)


def test_an_unvalidated_animation_would_be_caught_misspelt():
    """What assert_valid_as_plotly_would_send relies on: validation raises on a property plotly.js would ignore."""
    import plotly.graph_objects as go

    fig = A.AnimationFigure(layout={"sliders": [{"actve": 2}]})  # accepted as it is: nothing checks it here
    with pytest.raises(ValueError, match="actve"):
        assert_valid_as_plotly_would_send(fig)
    assert go.Figure(layout={"sliders": [{"active": 2}]}).layout.sliders[0].active == 2


def test_order_overlay_walks_the_generation_order(model):
    traj = sample(model, n=2, seed=0, mask=1)
    fig = A.animation_figure(traj, SHAPE, show_order=True)
    path = fig.data[A.T_PATH]
    grid = make_grid(2, SHAPE, 64, label_rows=True)
    first_tile = list(zip(path.y[:64], path.x[:64]))
    assert first_tile == [grid.cell(0, p) for p in model.mask_set(1).order]
    assert len(A.animation_figure(traj, SHAPE).data[A.T_PATH].x) == 0


def test_animation_payload_for_16_samples_at_d784_is_small():
    """16 samples of 28x28 (a 4x4 grid, both panels: ~35,000 cells). Sent once: the static layer
    (uint8) and the cover (uint16) as typed arrays, ~130 kB; then each frame is a colour range and
    48 marker/label positions, ~1 kB. So the default (<= 150 frames) stays well under 1 MB, and
    even one frame per pixel (785 frames) under 2.5 MB; a full heatmap per frame would instead be
    over 30 kB x 150 = 5 MB."""
    torch.set_num_threads(1)
    m = MADE(Config(d=784, shape=(28, 28), hidden=(500,), seed=0)).eval()
    traj = sample(m, n=16, seed=0)
    fig = A.animation_figure(traj, (28, 28))
    size = A.animation_json_size(fig)
    print(f"\nanimation JSON, 16 samples at D=784: {size / 1e3:.0f} kB for {len(fig.frames)} frames")
    assert len(fig.frames) <= 150
    assert size < 1_000_000
    everything = A.animation_figure(traj, (28, 28), plan=A.frame_plan(traj.order.numpy(), all_steps=True))
    size_all = A.animation_json_size(everything)
    print(f"animation JSON, all 785 frames: {size_all / 1e3:.0f} kB")
    assert len(everything.frames) == 785 and size_all < 2_500_000


# ---------------------------------------------------------------------------------------------
# likelihood lens


def test_lens_figure_titles_carry_the_totals(model):
    x = sample(model, n=1, seed=4).x.numpy()
    m = model_surprise(model, x)[0]
    b = metrics.bernoulli_surprise(np.full(64, 0.3), x)[0]
    fig = lens.lens_figure(m, b, SHAPE)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [f"MADE: Σ = {m.sum():.2f} nats", f"Independent pixels: Σ = {b.sum():.2f} nats"]
    assert len(lens.lens_figure(m, None, SHAPE).data) == 1
    chain = lens.chain_rule_figure(m, b, model.mask_set(0).order)
    assert chain.data[0].y[-1] == pytest.approx(m.sum()) and chain.data[1].y[-1] == pytest.approx(b.sum())


# ---------------------------------------------------------------------------------------------
# GIF, neighbours, canvas, regions


def test_gif_decodes_with_the_expected_frames(model):
    traj = sample(model, n=4, seed=5)
    data, plan = A.animation_gif(traj, SHAPE, max_frames=20, scale=3)
    img = Image.open(io.BytesIO(data))
    assert img.format == "GIF" and img.n_frames == plan.n_frames and 10 <= plan.n_frames <= 20
    assert img.size == (17 * 3, 17 * 3)  # 2 x 2 tiles of 8 x 8, 1-pixel gaps
    img.seek(plan.n_frames - 1)
    last = np.asarray(img.convert("RGB"))[::3, ::3]
    x = traj.x.numpy().reshape(4, 8, 8)
    for i in range(4):  # tile i at row i // 2, column i % 2
        r0, c0 = 9 * (i // 2), 9 * (i % 2)
        tile_rgb = last[r0 : r0 + 8, c0 : c0 + 8]
        assert (tile_rgb[x[i] == 1] == (0x1F, 0x29, 0x37)).all()  # the finished samples, in ink
        assert (tile_rgb[x[i] == 0] == (0xFF, 0xFF, 0xFF)).all()  # on white paper
    assert img.info["duration"] == 1500  # the last frame is held


def test_neighbours_figure_labels_the_hamming_distances():
    rng = np.random.default_rng(1)
    s, nb = (rng.random((2, 6, 64)) < 0.5).astype(np.uint8)
    dist = (s != nb).sum(1)
    dist[2] = 0
    fig = A.neighbours_figure(s, np.where(np.arange(6)[:, None] == 2, s, nb), dist, SHAPE)
    labels = fig.data[-1].text
    assert labels[2] == "0 px: a copy!" and labels[0] == f"{dist[0]} px"
    assert len(fig.layout.shapes) == 12  # an outline per tile


def test_canvas_has_a_clickable_point_per_pixel():
    x = np.zeros(64)
    x[10] = 1
    fig = lens.canvas_figure(x, SHAPE)
    pts = fig.data[1]
    assert len(pts.x) == 64 and (pts.y[10], pts.x[10]) == (1, 2)
    assert np.asarray(fig.data[0].z)[1, 2] == 1


@pytest.mark.parametrize(
    "region,rows,cols",
    [
        ("top half", slice(0, 4), slice(None)),
        ("bottom half", slice(4, 8), slice(None)),
        ("left half", slice(None), slice(0, 4)),
    ],
)
def test_known_regions(region, rows, cols):
    k = A.known_region(SHAPE, 64, region).reshape(8, 8)
    assert k.sum() == 32 and k[rows, cols].all()
    r = A.known_region(SHAPE, 64, "random 50%", seed=3)
    assert 16 < r.sum() < 48 and (r == A.known_region(SHAPE, 64, "random 50%", seed=3)).all()
    with pytest.raises(ValueError):
        A.known_region(SHAPE, 64, "middle")


# ---------------------------------------------------------------------------------------------
# the Step buttons (played by the browser: checked here against plotly.js's own rule)


def plotly_first_frame(listed: list, current: str | None) -> str | None:
    """The frame plotly.animate(listed, {fromcurrent: true}) draws and keeps, as plotly.js 3 does it
    (src/plot_api/plot_api.js, animate): drop the entries up to the first one named `current` when
    that one is neither first nor last, then play the rest; an entry that is not a name (an object)
    is always played. The Step buttons hold their second entry (the first is empty)."""
    names = [e if isinstance(e, str) else None for e in listed]
    d = names.index(current) if current is not None and current in names else -1
    played = [e for i, e in enumerate(names) if e is None or i > d] if 0 < d < len(names) - 1 else names
    assert played[0] is None, "the first entry drawn must be the empty one"
    return played[1]


@pytest.mark.parametrize("n_frames", [1, 2, 3, 7])
def test_step_buttons_move_one_frame_from_any_frame(n_frames):
    """Whatever frame the browser shows (or none yet: the figure's opening frame), "Step ▶" draws
    the next one and "◀ Step" the previous one, stopping at the ends."""
    for start in range(n_frames):
        names = [f"t-{i}" for i in range(n_frames)]
        for direction in (-1, +1):
            listed = [A.NOOP_FRAME] + [names[k] for k in A.step_frames(n_frames, start, direction)]
            for shown in [None] + names:
                at = start if shown is None else names.index(shown)
                expected = names[min(max(at + direction, 0), n_frames - 1)]
                assert plotly_first_frame(listed, shown) == expected, (start, direction, shown)


def test_figure_step_buttons_hold_one_frame_and_follow_set_frame(model):
    traj = sample(model, n=4, seed=0)
    fig = A.animation_figure(traj, SHAPE)
    names = [f.name for f in fig.frames]
    buttons = {b.label: b for b in fig.layout.updatemenus[0].buttons}
    assert list(buttons) == ["▶ Play", "❚❚ Pause", "◀ Step", "Step ▶", "⟲ Replay"]
    back, fwd = buttons["◀ Step"].args, buttons["Step ▶"].args
    assert back[1]["fromcurrent"] and back[1]["mode"] == "immediate"
    assert [f["duration"] for f in back[1]["frame"]] == [0, A.HOLD_MS]
    last = len(names) - 1
    assert plotly_first_frame(back[0], None) == names[last - 1]  # opens on the finished samples
    assert plotly_first_frame(fwd[0], None) == names[last]
    A.set_frame(fig, 5)
    back, fwd = (b.args for b in fig.layout.updatemenus[0].buttons if "Step" in b.label)
    assert plotly_first_frame(back[0], None) == names[4] and plotly_first_frame(fwd[0], None) == names[6]
    assert plotly_first_frame(fwd[0], names[40]) == names[41]
    # the slider's steps jump to the frames by the same names; another figure names its frames apart
    assert [s.args[0][0] for s in fig.layout.sliders[0].steps] == names
    other = A.animation_figure(sample(model, n=4, seed=1), SHAPE)
    assert not set(names) & {f.name for f in other.frames}
