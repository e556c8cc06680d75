"""The Train page through streamlit.testing (AppTest): data, training, uploads, checkpoints.

AppTest does not fire `run_every` timers; the page advances a running run by one short chunk in
every script run, and has a "Train 20 steps" button, so each `at.run()` makes progress.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import struct
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from made_viz import ui
from made_viz.pacer import TICK_COVER, TICK_SECONDS
from made_viz.pretrained import list_pretrained, pretrained_dir

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "made_viz/app_pages/train.py"
RUN = "train_run"


def open_train() -> AppTest:
    # open the Train page directly (its first run draws the sidebar from the session's Config)
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def run_obj(at: AppTest):
    return at.session_state[RUN]


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


@contextmanager
def worker_frozen(run):
    """The run's training worker stopped by the OS until the block ends (a worker starved of CPU by a class)."""
    pid = run.worker_pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def timed_click(at, key: str) -> float:
    """Click and return the seconds the click's page run took."""
    began = time.monotonic()
    click(at, key)
    return time.monotonic() - began


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def choose_builtin(at: AppTest, name: str) -> AppTest:
    at.selectbox(key="t_builtin").set_value(name).run()
    if "t_use_d" in [b.key for b in at.button]:
        assert "must change" in texts(at.warning)
        click(at, "t_use_d")
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("name", ["digits8", "mnist", "bars4", "shapes8"])
def test_each_embedded_dataset_trains(name):
    at = open_train()
    choose_builtin(at, name)
    d = {"digits8": 64, "mnist": 784, "bars4": 16, "shapes8": 64}[name]
    cfg = at.session_state[ui.CFG]
    assert cfg.d == d and cfg.hidden == (128, 128)  # the hidden layers were kept
    assert at.session_state[ui.DATASET] == name
    at.number_input(key="t_epochs").set_value(2000).run()  # long enough never to finish during the test
    click(at, "t_steps")  # "Train 20 steps"
    run = run_obj(at)
    assert run.step == 20 and run.state == "paused" and run.dataset.name == name
    click(at, "t_resume")
    shown = [shown_step(at)]
    for _ in range(2):
        # the page's run told the worker to train until the next tick and did not wait: the steps come
        # while nobody waits, and the next page run (a browser's tick) shows them
        wait_until(lambda: run.step > shown[-1])  # noqa: B023
        at.run()
        shown.append(shown_step(at))
    assert shown[0] < shown[1] < shown[2] and run.state == "running"
    assert at.get("plotly_chart"), "curves are drawn"
    bar = at.get("progress")[0].proto.text
    assert "running" in bar and "examples/s" in bar
    click(at, "t_stop")
    assert run.state == "stopped" and at.session_state[ui.MODEL] is run.model
    # the test NLL shown is -mean log p(x) of the test images under mask 1, computed here directly
    # (K = 1: the ensemble is that one mask)
    expected = direct_test_nll(run.model, run.dataset.test, mask=0)
    ev = run.evaluate()
    assert ev["K"] == 1
    assert ev["nll_1"] == pytest.approx(expected, rel=1e-5) and ev["nll_ensemble"] == pytest.approx(expected, rel=1e-5)
    assert ev["bpd_1"] == pytest.approx(expected / (d * np.log(2)), rel=1e-5)
    shown = next(m.value for m in at.metric if m.label == "One mask (mask 1)")
    assert shown == f"{expected:.2f} nats"


def shown_step(at: AppTest) -> int:
    """The step count the progress bar shows ("**running** · epoch 1 of 2000 · step 57 of ...")."""
    text = at.get("progress")[0].proto.text
    return int(re.search(r"step ([\d,]+) of", text).group(1).replace(",", ""))


def wait_until(cond, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def direct_test_nll(model, test: np.ndarray, mask: int) -> float:
    """-mean log p(x) over the test images under one mask, straight from the model (the model's
    own mask is left as it was)."""
    active = model.mask_index
    try:
        model.set_mask(mask)
        with torch.no_grad():
            return -float(model.log_prob(torch.as_tensor(test, dtype=torch.float32)).double().mean())
    finally:
        model.set_mask(active)


def test_d_mismatch_offers_one_click_fix_and_resets_explicit_order():
    at = open_train()
    at.sidebar.selectbox(key="w_order").set_value("explicit").run()
    at.sidebar.text_input(key="w_order_text").set_value(", ".join(map(str, range(63, -1, -1)))).run()
    assert isinstance(at.session_state[ui.CFG].order, tuple)
    at.selectbox(key="t_builtin").set_value("bars4").run()
    warning = texts(at.warning)
    assert "D = 4 × 4 = 16" in warning and "D = 64" in warning and "resets to natural" in warning
    assert at.session_state[RUN] is None  # nothing to start until D matches
    assert "t_start" not in [b.key for b in at.button] and "matches the architecture" in texts(at.info)
    click(at, "t_use_d")
    cfg = at.session_state[ui.CFG]
    assert cfg.d == 16 and cfg.shape == (4, 4) and cfg.order == "natural" and cfg.hidden == (128, 128)
    assert run_obj(at).dataset.name == "bars4"


def test_divergence_stops_with_message_and_finite_weights():
    at = open_train()
    choose_builtin(at, "bars4")
    at.select_slider(key="t_lr").set_value(10.0).run()
    click(at, "t_start")
    # the page's runs (ticks) do not wait for the worker, which may still be starting: tick until the run ends
    end = time.monotonic() + 60
    while run_obj(at).state == "running" and time.monotonic() < end:
        at.run()
        time.sleep(0.05)
    at.run()  # the next tick: the fragment trains after drawing, so the page shows the end one run later
    run = run_obj(at)
    assert run.state == "diverged"
    assert "diverged" in texts(at.error) and "learning rate" in texts(at.error)
    assert all(torch.isfinite(p).all() for p in run.model.parameters())
    assert not at.exception


def test_architecture_change_after_training_offers_reset():
    at = open_train()
    click(at, "t_steps")
    click(at, "t_stop")
    old = run_obj(at)
    at.sidebar.text_input(key="w_hidden").set_value("32").run()
    warning = texts(at.warning)
    assert "belongs to the old architecture" in warning and "hidden 128-128" in warning and "hidden 32" in warning
    assert at.session_state[ui.MODEL] is old.model  # still there for the Sample page
    click(at, "t_reset_new")
    run = run_obj(at)
    assert run is not old and run.state == "idle" and run.cfg.hidden == (32,)


def test_bad_uploads_are_refused_and_the_session_goes_on():
    at = open_train()
    at.radio(key="t_source").set_value("Upload").run()
    at.file_uploader(key="t_upload").set_value(("x.npy", b"\x00garbage\xff" * 10, "application/octet-stream")).run()
    assert not at.exception and "cannot be used" in texts(at.error) and "x.npy" in texts(at.error)
    truncated = struct.pack(">IIII", 0x00000803, 100, 28, 28) + bytes(500)  # promises 100 images, has < 1
    at.file_uploader(key="t_upload").set_value(("train-images-idx3-ubyte", truncated, "application/octet-stream")).run()
    assert not at.exception and "train-images-idx3-ubyte" in texts(at.error)
    # a good upload works (grey levels, binarized by threshold)
    grey = np.random.default_rng(0).integers(0, 256, size=(50, 4, 4), dtype=np.uint8)
    buf = io.BytesIO()
    np.save(buf, grey)
    at.file_uploader(key="t_upload").set_value(("grey.npy", buf.getvalue(), "application/octet-stream")).run()
    assert not at.error
    click(at, "t_use_d")
    assert at.session_state[ui.CFG].d == 16
    click(at, "t_steps")
    assert run_obj(at).step == 20 and run_obj(at).dataset.name == "grey.npy"
    assert at.session_state[ui.DATASET] == "upload:grey.npy"


def test_corrupt_foreign_and_malicious_checkpoints_are_refused(tmp_path):
    at = open_train()
    cfg0 = at.session_state[ui.CFG]
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = io.BytesIO()
    torch.save({"format": "made-viz-checkpoint", "version": 1, "payload": Evil()}, evil)
    foreign = io.BytesIO()
    torch.save({"weight": torch.zeros(3)}, foreign)
    for name, blob in (
        ("bad.pt", b"PK\x03\x04 truncated zip"),
        ("random.pt", os.urandom(300)),
        ("evil.pt", evil.getvalue()),
        ("foreign.pt", foreign.getvalue()),
    ):
        at.file_uploader(key="t_ckpt").set_value((name, blob, "application/octet-stream")).run()
        assert not at.exception
        assert f"{name} was not loaded" in texts(at.error), (name, texts(at.error))
        assert at.session_state[ui.CFG] == cfg0 and ui.MODEL not in at.session_state
    assert not marker.exists()
    click(at, "t_steps")  # the session still trains
    assert run_obj(at).step == 20


def test_download_then_upload_a_checkpoint_in_another_session():
    at = open_train()
    choose_builtin(at, "bars4")
    at.sidebar.number_input(key="w_masks").set_value(2).run()
    click(at, "t_steps")
    click(at, "t_stop")
    blob = run_obj(at).checkpoint_bytes()
    assert at.get("download_button")
    other = open_train()  # a fresh session, default architecture
    other.file_uploader(key="t_ckpt").set_value(("mine.pt", blob, "application/octet-stream")).run()
    assert not other.exception and "Loaded checkpoint mine.pt" in texts(other.success)
    cfg = other.session_state[ui.CFG]
    assert cfg == run_obj(at).cfg and cfg.num_masks == 2
    loaded = run_obj(other)
    assert loaded.state == "done" and other.session_state[ui.MODEL] is loaded.model
    assert other.selectbox(key="t_builtin").value == "bars4"
    assert other.sidebar.number_input(key="w_masks").value == 2
    ev = loaded.evaluate()
    assert ev["nll_1"] == pytest.approx(run_obj(at).evaluate()["nll_1"], rel=1e-5)


def test_load_pretrained_model():
    # the shipped models are part of the repository: an unreadable index must fail here, not skip
    # (list_pretrained() returns [] on read errors, so the index is read independently first)
    index = json.loads((pretrained_dir() / "index.json").read_text(encoding="utf-8"))
    assert "digits8" in {e["name"] for e in index}
    assert "digits8" in {p.name for p in list_pretrained()}, "index.json lists digits8 but list_pretrained() does not"
    at = open_train()
    info = next(p for p in list_pretrained() if p.name == "digits8")
    at.selectbox(key="t_pre").set_value(info.name).run()
    click(at, "t_pre_load")
    cfg = at.session_state[ui.CFG]
    assert cfg.num_masks == info.K and cfg.d == 64
    run = run_obj(at)
    assert run.state == "done" and at.session_state[ui.MODEL] is run.model
    ev = run.evaluate()
    assert ev["nll_1"] == pytest.approx(info.test_nll_1, abs=1e-3)
    assert ev["nll_ensemble"] == pytest.approx(info.test_nll_ensemble, abs=1e-3)
    assert any(m.value == f"{info.test_nll_1:.2f} nats" for m in at.metric)


def test_two_sessions_train_at_once_and_see_only_their_own_runs():
    a, b = open_train(), open_train()
    choose_builtin(b, "bars4")
    for at in (a, b):
        at.number_input(key="t_epochs").set_value(2000).run()  # long enough never to finish during the test
    click(a, "t_start")
    click(b, "t_start")
    for _ in range(3):
        a.run()
        b.run()
    ra, rb = run_obj(a), run_obj(b)
    assert ra is not rb
    assert ra.dataset.name == "digits8" and rb.dataset.name == "bars4"
    assert ra.cfg.d == 64 and rb.cfg.d == 16 and a.session_state[ui.CFG].d == 64
    wait_until(lambda: ra.step > 0 and rb.step > 0)  # the ticks the pages sent train in the workers
    click(a, "t_pause")  # its acknowledgement carries the weights
    steps_a = ra.step
    b.run()
    assert ra.step == steps_a and rb.state == "running"
    assert ra.model is not None and ra.model is not rb.model and ra.model.cfg.d == 64


def test_server_data_folder_lists_only_files_inside(tmp_path, monkeypatch):
    root = tmp_path / "data"
    root.mkdir()
    np.save(root / "blocks.npy", (np.random.default_rng(1).random((40, 16)) > 0.5).astype(np.uint8))
    np.save(tmp_path / "secret.npy", np.zeros((5, 16), np.uint8))
    os.symlink(tmp_path / "secret.npy", root / "escape.npy")
    monkeypatch.setenv("MADE_VIZ_DATA_DIR", str(root))
    at = open_train()
    at.radio(key="t_source").set_value("Server folder").run()
    assert at.selectbox(key="t_folder").options == ["blocks.npy"]
    assert not at.exception and not at.error
    click(at, "t_use_d")
    click(at, "t_steps")
    assert run_obj(at).dataset.name == "blocks.npy" and at.session_state[ui.DATASET] == "folder:blocks.npy"


def test_switching_pages_keeps_the_run_and_unit_toggle_redraws_in_bits():
    at = open_train()
    at.number_input(key="t_epochs").set_value(2000).run()  # long enough never to finish during the test
    click(at, "t_start")
    run = run_obj(at)
    at.run()
    wait_until(lambda: run.step > 0)  # the worker trains the page's ticks
    # the last tick the page chose: TICK_SECONDS, longer while many sessions of this process train (the
    # process-wide pacer may still count other tests' runs)
    tick = max(TICK_SECONDS, at.session_state["_t_tick"])
    at.switch_page("made_viz/app_pages/home.py").run()
    assert not at.exception and run_obj(at) is run and run.state == "running"
    # away from the Train page nothing trains once the last tick the page sent has ended (it runs
    # pacer.TICK_COVER ticks from when it was sent; the page does not wait for it)
    time.sleep(tick * TICK_COVER + 1.0)
    steps = run.worker_report()["step"]
    at.run()
    time.sleep(1.0)
    assert run.worker_report()["step"] == steps and run.state == "running"
    at.switch_page(PAGE).run()
    assert run_obj(at) is run
    wait_until(lambda: run.step > steps)  # back: the page ticks again and the same run goes on
    at.button_group(key="t_unit").set_value("bits").run()
    assert not at.exception
    fig = at.get("plotly_chart")
    spec = next(json.loads(c.proto.spec) for c in fig if "bits per dimension" in c.proto.spec)
    refs = [t for t in spec["data"] if t["name"].startswith("independent pixels")]
    assert refs and 0 < refs[0]["y"][0] < 1  # 25.2 nats / (64 ln 2) = 0.57 bits per pixel


def test_a_page_run_never_waits_for_the_training_worker():
    """A teacher's "everyone press Start": the page's run tells the worker to train and goes on. Before,
    every run of a page with a running training (a click, a page switch, a tick) waited for the worker to
    confirm a slice, up to 5 s when 15 runs shared it. Here the worker is frozen (SIGSTOP): the runs must
    still end at once, and the steps come once it goes on."""
    from made_viz.training_process import TICK_GRACE_SECONDS

    at = open_train()
    at.number_input(key="t_epochs").set_value(2000).run()
    click(at, "t_steps")  # the worker is up and has this run
    run = run_obj(at)
    pid = run.worker_pid
    os.kill(pid, signal.SIGSTOP)
    try:
        began = time.monotonic()
        click(at, "t_resume")
        at.run()  # a tick
        at.switch_page("made_viz/app_pages/architecture.py").run()
        at.switch_page(PAGE).run()  # back: the page ticks again
        took = time.monotonic() - began
        frozen = run.step
    finally:
        os.kill(pid, signal.SIGCONT)
    assert not at.exception, at.exception
    assert run.state == "running" and frozen == 20
    # four page runs, three of them ticking: waiting for the frozen worker, each of those three would have
    # taken TICK_GRACE_SECONDS or more (15 s in all); a loaded machine's AppTest runs take a few seconds
    assert took < 2 * TICK_GRACE_SECONDS, f"the page runs took {took:.1f} s: they waited for the worker"
    wait_until(lambda: run.step > 20)  # the worker trains the tick it was sent
    at.run()
    assert shown_step(at) > 20
    click(at, "t_stop")
    assert run.state == "stopped" and shown_step(at) == run.step


def test_stop_answers_at_once_when_the_worker_is_slow_and_the_page_shows_the_final_count_when_it_comes(monkeypatch):
    """A class's burst of clicks can starve the training workers of CPU: a Stop that waited for the worker's
    final count took ~6 s (p95, bench/ws_load.py, 30 students at once). Now the button waits at most
    MADE_VIZ_STOP_WAIT seconds; meanwhile the page says "stopping" (never "stopped" with a count that could
    still change) and evaluates nothing; once the count comes, the next tick redraws the page with it."""
    from made_viz.app_pages import train_panels

    monkeypatch.setenv("MADE_VIZ_STOP_WAIT", "0.3")
    at = open_train()
    at.number_input(key="t_epochs").set_value(2000).run()
    click(at, "t_steps")  # the worker is up and has this run
    run = run_obj(at)
    click(at, "t_resume")
    wait_until(lambda: run.step > 20)
    with worker_frozen(run):
        took = timed_click(at, "t_stop")
        assert run.state == "stopped" and run.stopping
        bar = at.get("progress")[0].proto.text
        assert bar.startswith("**stopping**") and "stopped" not in bar
        assert train_panels.STOPPING in texts(at.info) and not at.success
        assert not at.metric, "nothing is evaluated before the final weights are in"
        assert "Stopped by you" not in texts(at.success) + bar
        assert not at.exception, at.exception
    # ACK_SECONDS (10 s) before; a loaded machine's AppTest run takes a second or two
    assert took < 5, f"the Stop click's run took {took:.1f} s: it waited for the frozen worker"
    wait_until(lambda: not run.stopping)
    final = run.step
    report = run.worker_report()
    assert report is not None and report["step"] == final and report["state"] == "stopped"
    at.run()  # the live panel's next tick sees the count and redraws the whole page
    at.run()
    assert not at.exception, at.exception
    assert at.get("progress")[0].proto.text.startswith("**stopped**") and shown_step(at) == final
    assert f"Stopped by you after {final} steps." in texts(at.success)
    assert at.metric, "the test NLL of the final weights is shown"
    time.sleep(0.5)
    assert run.step == final  # nothing trains after Stop


def test_steps_answer_at_once_when_the_worker_is_slow_and_the_page_shows_them_when_taken(monkeypatch):
    """The "+20 steps" button waits for the worker as Stop does: at most MADE_VIZ_STOP_WAIT seconds (the worker
    takes the steps in turns with its other runs). Meanwhile the page says it is training them and evaluates nothing;
    once they are taken, the next tick redraws the page with the count and the test NLL."""
    at = open_train()
    click(at, "t_steps")  # the worker is up and has this run (the tests' long wait: a cold worker)
    run = run_obj(at)
    assert run.step == 20 and not run.stepping
    monkeypatch.setenv("MADE_VIZ_STOP_WAIT", "0.3")
    with worker_frozen(run):
        took = timed_click(at, "t_steps")
        assert run.stepping and run.state == "paused" and run.step == 20
        assert at.get("progress")[0].proto.text.startswith("**training 20 steps**")
        assert at.button(key="t_steps").disabled  # one "+20" at a time
        assert not at.metric and not [b for b in at.button if b.key == "t_eval"], "no evaluation of old weights"
        assert not at.exception, at.exception
    assert took < 5, f"the click's run took {took:.1f} s: it waited for the frozen worker"
    wait_until(lambda: not run.stepping)
    assert run.step == 40 and run.worker_report()["step"] == 40
    at.run()  # the live panel's next tick sees the steps taken and redraws the whole page
    at.run()
    assert not at.exception, at.exception
    assert at.get("progress")[0].proto.text.startswith("**paused**") and shown_step(at) == 40
    click(at, "t_eval")  # the test set can be evaluated again: the weights after 40 steps
    assert at.metric and run.cached_evaluation() is not None and not at.exception
    assert not at.button(key="t_steps").disabled
    run.step_error = "the worker's sentence"  # as when it says, after the page stopped waiting, why it could not
    at.run()
    assert "The last +20 steps could not be taken: the worker's sentence" in texts(at.error)
