"""The Train page's run object (made_viz.session) and figure builders (made_viz.curves)."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest
import torch

from made_viz import curves
from made_viz.checkpoint import load_checkpoint
from made_viz.config import Config
from made_viz.data import Dataset, load_dataset
from made_viz.images import grid_figure
from made_viz.metrics import independent_bernoulli_nll
from made_viz.session import (
    DIVERGED,
    DONE,
    IDLE,
    MIN_CHUNK_SECONDS,
    PAUSED,
    RUNNING,
    STOPPED,
    Pacer,
)
from made_viz.train import TrainConfig
from made_viz.training_run import LocalRun as TrainingRun  # the engine, trained in this process


@pytest.fixture(scope="module")
def bars():
    return load_dataset("bars4")


def small_cfg(**kw) -> Config:
    base = dict(d=16, shape=(4, 4), hidden=(32,), seed=0)
    base.update(kw)
    return Config(**base)


def params(model) -> dict[str, torch.Tensor]:
    return {k: p.detach().clone() for k, p in model.named_parameters()}


# --- state machine ------------------------------------------------------------------------------


def test_state_machine_start_pause_resume_stop_reset(bars):
    run = TrainingRun(small_cfg(), bars, TrainConfig(epochs=3))
    assert run.state == IDLE and run.model is None and not run.has_model
    assert not run.pause() and not run.resume() and not run.stop()  # nothing to pause/stop yet
    assert run.advance(max_steps=5) == 0  # idle: no training
    assert run.start() and run.state == RUNNING
    assert not run.start()  # only once
    assert run.advance(max_steps=5) == 5 and run.step == 5
    assert run.has_model
    assert run.pause() and run.state == PAUSED and not run.pause()
    assert run.advance(max_steps=5) == 0 and run.step == 5  # paused: nothing moves
    assert run.resume() and run.state == RUNNING
    assert run.advance(max_steps=3) == 3 and run.step == 8
    assert run.stop() and run.state == STOPPED and "8 steps" in run.message
    assert run.finished and not run.resume() and not run.start()
    assert run.advance(max_steps=5) == 0 and run.step == 8
    old_model = run.model
    run.reset()
    assert run.state == IDLE and run.step == 0 and run.history == [] and run.model is None
    assert run.train_points() == [] and run.valid_points() == []
    assert all(torch.isfinite(p).all() for p in old_model.parameters())  # handed-out model untouched


def test_train_steps_from_idle_pauses(bars):
    run = TrainingRun(small_cfg(), bars, TrainConfig(epochs=3))
    assert run.train_steps(7) == 7
    assert run.state == PAUSED and run.step == 7
    assert run.resume() and run.advance(max_steps=2) == 2 and run.step == 9


def test_chunked_progress_reaches_done(bars):
    run = TrainingRun(small_cfg(), bars, TrainConfig(epochs=2, batch_size=200, lr=1e-2))
    run.start()
    fractions, chunks = [], 0
    while run.active:
        run.advance(max_steps=7)
        fractions.append(run.progress()["fraction"])
        chunks += 1
    steps_per_epoch = math.ceil(4500 / 200)
    assert run.state == DONE and chunks == math.ceil(2 * steps_per_epoch / 7)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert run.message.startswith("Finished: 2 epochs")
    prog = run.progress()
    assert prog["epoch"] == 2 and prog["step"] == 2 * steps_per_epoch and prog["examples_per_s"] > 0
    vp = run.valid_points()
    assert [x for x, _ in vp] == [1.0, 2.0] and all(math.isfinite(y) for _, y in vp)
    tp = run.train_points()
    xs = [x for x, _ in tp]
    assert xs == sorted(xs) and xs[-1] == pytest.approx(2.0) and len(tp) == 2 * steps_per_epoch
    # the smoothed curve falls: a fresh network costs about D ln 2, a trained one much less
    assert tp[0][1] > tp[-1][1] + 1


def test_divergence_stops_and_keeps_last_good_weights(bars):
    run = TrainingRun(small_cfg(hidden=(64, 64)), bars, TrainConfig(lr=10.0, epochs=5))
    run.start()
    before = params(run.model)
    while run.active:
        before = params(run.model)
        run.advance(max_steps=1)
    assert run.state == DIVERGED
    assert "diverged" in run.message and "learning rate" in run.message and "10" in run.message
    after = params(run.model)
    assert all(torch.isfinite(p).all() for p in after.values())
    assert all(torch.equal(before[k], after[k]) for k in before)  # the weights of the last good chunk
    assert run.advance(max_steps=1) == 0 and not run.resume()


def test_dataset_must_match_d(bars):
    with pytest.raises(ValueError, match="D = 16"):
        TrainingRun(small_cfg(d=64, shape=(8, 8)), bars)
    run = TrainingRun(small_cfg(), bars)
    with pytest.raises(ValueError):
        run.reset(cfg=small_cfg(d=64, shape=(8, 8)))


def test_two_sessions_see_only_their_own_runs(bars):
    digits = load_dataset("digits8")
    alone = TrainingRun(small_cfg(), bars, TrainConfig(epochs=1, seed=3))
    alone.start()
    for _ in range(4):
        alone.advance(max_steps=10)
    a = TrainingRun(small_cfg(), bars, TrainConfig(epochs=1, seed=3))
    b = TrainingRun(
        Config(d=64, shape=(8, 8), hidden=(48,), num_masks=3, order="random"),
        digits,
        TrainConfig(epochs=5, lr=3e-3, seed=9),
    )
    a.start(), b.start()
    for _ in range(4):  # interleaved chunks, as two browser tabs would do
        a.advance(max_steps=10)
        b.advance(max_steps=6)
    b.pause()
    assert a.state == RUNNING and b.state == PAUSED
    assert a.step == 40 and b.step == 24
    assert [r["loss"] for r in a.trainer.step_history] == [r["loss"] for r in alone.trainer.step_history]
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), alone.model.parameters()))
    assert a.train_points() == alone.train_points()
    assert b.model is not a.model and b.trainer.step_history[0]["loss"] != a.trainer.step_history[0]["loss"]


def test_pacer_gives_each_training_session_a_fair_share():
    pacer = Pacer(slots=1, window=60)
    assert pacer.share(1, 0.5) == 0.5  # alone: the whole chunk, as before
    assert pacer.share(2, 0.5) == pytest.approx(0.25)  # two sessions ticking: half each
    for k in range(3, 11):
        pacer.share(k, 0.5)
    assert pacer.training() == 10 and pacer.share(1, 0.5) == pytest.approx(0.05)
    for k in range(11, 40):
        pacer.share(k, 0.5)
    assert pacer.share(1, 0.5) == MIN_CHUNK_SECONDS  # never below a few minibatches
    assert Pacer(slots=2, window=60).share(1, 0.5) == 0.5
    assert Pacer().tick(1) == 0.5  # the tick grows only when many train
    assert pacer.tick(1) == pytest.approx(39 / 4)  # 39 training: about 4 redraws a second in all
    assert Pacer().peek(1) == 4.0 and pacer.peek(1) == pytest.approx(39 / 2)  # and 2 sample panels
    gone = Pacer(slots=1, window=0.05)  # a closed tab stops ticking and stops counting
    gone.share(1, 0.5)
    time.sleep(0.1)
    assert gone.share(2, 0.5) == 0.5


def test_pacer_lets_one_chunk_train_at_a_time(bars):
    pacer = Pacer(slots=1, window=60)
    run = TrainingRun(small_cfg(), bars, TrainConfig(epochs=50, seed=0))
    run.start()
    with pacer.slot(timeout=1) as held:  # another session is training
        assert held
        assert run.advance(max_seconds=0.05, pacer=pacer) == 0  # no slot within the tick: no steps
        with pacer.slot(timeout=0.01) as again:
            assert not again
    assert run.step == 0
    assert run.advance(max_seconds=0.05, pacer=pacer) > 0  # the slot is free again
    # four threads: the chunks never overlap (asserts in a thread are collected and re-raised here)
    inside, overlap, errors, lock = [0], [], [], threading.Lock()

    def chunk():
        try:
            with pacer.slot(timeout=5) as ok:
                assert ok, "no training slot within 5 s"
                with lock:
                    inside[0] += 1
                    overlap.append(inside[0])
                run2 = TrainingRun(small_cfg(), bars, TrainConfig(epochs=1, seed=1))
                run2.start()
                assert run2.advance(max_steps=5) == 5
                with lock:
                    inside[0] -= 1
        except BaseException as e:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=chunk) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]
    assert overlap == [1, 1, 1, 1]


def test_paced_chunks_train_the_same_steps_as_unpaced(bars):
    a = TrainingRun(small_cfg(), bars, TrainConfig(epochs=1, seed=3))
    b = TrainingRun(small_cfg(), bars, TrainConfig(epochs=1, seed=3))
    a.start(), b.start()
    a.advance(max_steps=12)
    b.advance(max_steps=12, pacer=Pacer())
    assert [r["loss"] for r in a.trainer.step_history] == [r["loss"] for r in b.trainer.step_history]


# --- evaluation, snapshot, checkpoint -----------------------------------------------------------


def per_mask_log_probs(model, x: np.ndarray) -> torch.Tensor:
    """(K, N) log p_k(x) of every mask from the raw logits (independent of the library's evaluation)."""
    xt = torch.tensor(np.asarray(x), dtype=torch.float64)
    shown, rows = model.mask_index, []
    with torch.no_grad():
        for k in range(model.num_masks):
            model.set_mask(k)
            p = torch.sigmoid(model(xt.float()).double())
            rows.append((xt * torch.log(p) + (1 - xt) * torch.log1p(-p)).sum(1))
    model.set_mask(shown)
    return torch.stack(rows)


def test_evaluate_one_mask_and_ensemble(bars):
    run = TrainingRun(small_cfg(num_masks=3, order="random"), bars, TrainConfig(epochs=1))
    assert run.evaluate() is None
    run.train_steps(30)
    ev = run.evaluate()
    lp = per_mask_log_probs(run.model, bars.test)  # (3, N), written out from the logits
    ensemble = torch.logsumexp(lp, 0) - math.log(3)  # log of the mean of the probabilities
    assert ev["K"] == 3 and ev["nll_1"] == pytest.approx(float(-lp[0].mean()), rel=1e-5)
    assert ev["nll_ensemble"] == pytest.approx(float(-ensemble.mean()), rel=1e-5)
    assert ev["nll_ensemble"] != pytest.approx(float(-lp.mean()), rel=1e-4)  # not the mean of the log-probs
    assert ev["bpd_1"] == pytest.approx(ev["nll_1"] / (16 * math.log(2)))
    assert run.evaluate() is ev  # cached until the weights change
    run.train_steps(1)
    assert run.evaluate() is not ev


def test_snapshot_samples_and_conditionals(bars):
    run = TrainingRun(small_cfg(num_masks=2), bars, TrainConfig(epochs=1))
    assert run.snapshot() is None
    run.train_steps(20)
    snap = run.snapshot(n=5)
    assert snap.samples.shape == (5, 16) and set(np.unique(snap.samples)) <= {0, 1}
    assert snap.mask == run.active_mask
    # the conditionals are sigmoid(logits) of the shown (validation) image under the mask training uses
    model = run.model
    assert np.array_equal(snap.image, run.trainer.valid_x[0].numpy())
    shown = model.mask_index
    with torch.no_grad():
        model.set_mask(snap.mask)
        expected = torch.sigmoid(model(torch.as_tensor(snap.image[None], dtype=torch.float32)))[0].numpy()
        model.set_mask(shown)
    np.testing.assert_allclose(snap.probs, expected, rtol=1e-6)
    # the samples are the fast sampler's with seed 0 under that mask
    from made_viz import sample

    again = sample(model, n=5, seed=0, method="fast", mask=snap.mask).x.numpy().astype(np.uint8)
    assert np.array_equal(snap.samples, again)
    assert model.mask_index == shown  # the peek left the model's mask as it was
    run.train_steps(1)
    assert run.snapshot(max_age=60) is snap  # throttled
    assert run.snapshot(max_age=0) is not snap


def test_checkpoint_round_trip(bars):
    run = TrainingRun(small_cfg(num_masks=2), bars, TrainConfig(epochs=1, batch_size=500))
    run.start()
    while run.active:
        run.advance(max_steps=4)
    ck = load_checkpoint(run.checkpoint_bytes())
    assert ck.config == run.cfg and ck.data["name"] == "bars4"
    loaded = TrainingRun.from_checkpoint(ck, bars, source="checkpoint test.pt")
    assert loaded.state == DONE and loaded.has_model and loaded.valid_points() == run.valid_points()
    assert loaded.evaluate()["nll_1"] == pytest.approx(run.evaluate()["nll_1"], rel=1e-5)
    assert loaded.train_points() == [(h["epoch"], h["train_nll"]) for h in run.history]


# --- curves -------------------------------------------------------------------------------------


def test_curve_has_reference_lines_with_right_values(bars):
    run = TrainingRun(small_cfg(), bars, TrainConfig(epochs=1))
    refs = run.references()
    bern = independent_bernoulli_nll(bars.train, bars.test)
    assert [r.label for r in refs] == ["independent pixels", "exact entropy (floor)"]
    assert refs[0].nats == pytest.approx(bern) and refs[1].nats == pytest.approx(math.log(30))
    run.train_steps(45)
    for unit, scale in (("nats", 1.0), ("bits", 1 / (16 * math.log(2)))):
        fig = curves.nll_figure(run.train_points(), run.valid_points(), 16, unit=unit, references=refs, epochs=1)
        by_name = {t.name.split(":")[0]: t for t in fig.data}
        assert set(by_name) == {"training", "validation", "independent pixels", "exact entropy (floor)"}
        assert list(by_name["exact entropy (floor)"].y) == pytest.approx([math.log(30) * scale] * 2)
        assert list(by_name["independent pixels"].y) == pytest.approx([bern * scale] * 2)
        assert list(by_name["training"].y) == pytest.approx([y * scale for _, y in run.train_points()])
        assert fig.layout.yaxis.title.text == curves.unit_label(unit)


def test_reference_lines_skip_missing_values():
    assert curves.reference_lines(None, None) == []
    assert [r.label for r in curves.reference_lines(25.0, None)] == ["independent pixels"]
    fig = curves.nll_figure([], [], 64, references=curves.reference_lines(25.0, None))
    assert len(fig.data) == 1 and fig.data[0].y[0] == pytest.approx(25.0)
    with pytest.raises(ValueError):
        curves.to_unit(1.0, 4, "furlongs")


def test_preview_and_conditionals_figures(bars):
    fig = curves.preview_figure(bars.train, bars.shape, n=12, cols=6)
    z = np.array(fig.data[0].z, dtype=float)
    assert z.shape == (2 * 5 - 1, 6 * 5 - 1)
    cf = curves.conditionals_figure(bars.test[0], np.full(16, 0.25), bars.shape)
    z = np.array(cf.data[0].z, dtype=float)
    assert z.shape == (4, 4 + 1 + 4)  # image | gap | probabilities
    assert np.array_equal(z[:, :4], bars.test[0].reshape(4, 4)) and np.isnan(z[:, 4]).all()
    assert np.allclose(z[:, 5:], 0.25)
    g = grid_figure(np.array([[0, 1, np.nan, 1]]), (2, 2))
    assert np.array_equal(np.array(g.data[0].z, dtype=float), [[0, 1], [0.5, 1]])  # NaN = not drawn yet


# --- the server's data folder -------------------------------------------------------------------


def test_data_mismatch_and_config_for_data(bars):
    from made_viz.session import config_for_data, data_mismatch, stale_message

    cfg = Config(d=64, shape=(8, 8), hidden=(50, 20), order=tuple(range(63, -1, -1)), num_masks=3, seed=7)
    msg = data_mismatch(bars, cfg)
    assert "D = 4 × 4 = 16" in msg and "D = 64" in msg and "resets to natural" in msg
    new = config_for_data(cfg, bars)
    assert (new.d, new.shape, new.order, new.hidden, new.num_masks, new.seed) == (16, (4, 4), "natural", (50, 20), 3, 7)
    assert data_mismatch(bars, new) is None
    run = TrainingRun(new, bars, TrainConfig(epochs=1))
    assert stale_message(run, new.replace(hidden=(8,)), bars) is None  # idle runs simply follow
    run.train_steps(2)
    assert stale_message(run, new, bars) is None
    text = stale_message(run, new.replace(hidden=(8,)), bars)
    assert "old architecture" in text and "hidden 50-20" in text and "hidden 8" in text
    other = Dataset("other", bars.train, bars.test, bars.shape, "the same pixels under another name")
    assert "old data" in stale_message(run, new, other)


# --- pre-trained models -------------------------------------------------------------------------


def test_shipped_pretrained_models_match_their_index():
    from made_viz.pretrained import list_pretrained, load_pretrained

    infos = {p.name: p for p in list_pretrained()}
    assert {"digits8", "mnist"} <= set(infos)
    mnist = infos["mnist"]
    assert mnist.K == 4 and mnist.dataset == "mnist"
    assert mnist.command.startswith("made-viz train mnist --hidden 500,500")
    for info in infos.values():
        ck = load_pretrained(info.name)
        assert ck.config.num_masks == info.K and ck.data["name"] == info.dataset
        assert ck.extra["test_nll"] == pytest.approx(info.test_nll_1, abs=1e-3)
        assert info.test_nll_ensemble <= info.test_nll_1 + 0.05 and info.size_bytes < 9e6
    a, b = load_pretrained("digits8"), load_pretrained("digits8")  # a fresh model on every call
    assert a.model is not b.model
    with torch.no_grad():
        a.model.layers[0].weight.zero_()
    assert b.model.layers[0].weight.abs().sum() > 0


def test_pretrained_index_cannot_point_outside_its_folder(tmp_path, monkeypatch):
    import json

    from made_viz.pretrained import PretrainedIndexError, get_info, list_pretrained

    folder = tmp_path / "pre"
    folder.mkdir()
    (tmp_path / "outside.pt").write_bytes(b"x")
    entry = dict(
        name="x",
        title="t",
        dataset="digits8",
        description="d",
        test_nll_1=1.0,
        test_nll_ensemble=1.0,
        K=1,
        command="c",
        file="../outside.pt",
    )
    (folder / "index.json").write_text(json.dumps([entry, dict(entry, name="gone", file="missing.pt")]))
    monkeypatch.setenv("MADE_VIZ_PRETRAINED", str(folder))
    assert list_pretrained() == []
    with pytest.raises(KeyError):
        get_info("x")
    (folder / "index.json").write_text("not json")  # a damaged index is an error, never "no models"
    with pytest.raises(PretrainedIndexError):
        list_pretrained()
