"""The Sample page's shipped models are shared by the sessions of a process (app_pages/sample_panels)."""

from __future__ import annotations

import random
from pathlib import Path

import torch
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_sessions_share_the_shipped_model_and_never_switch_its_mask():
    """Every session on the Sample page uses the process's one copy of a shipped model per mask (a copy per
    session cost ~27 MB for MNIST); choosing another mask gives that mask's shared copy, the other stays."""
    from made_viz.app_pages import sample_panels

    a = AppTest.from_file(APP, default_timeout=120)
    a.switch_page("made_viz/app_pages/sample.py").run()
    b = AppTest.from_file(APP, default_timeout=120)
    b.switch_page("made_viz/app_pages/sample.py").run()
    assert not a.exception and not b.exception
    name = next(s for s in a.selectbox if s.label == "Model").value
    cfg, saved = sample_panels.pretrained_config(name)
    num_masks = cfg.num_masks
    assert num_masks > 1
    shared = sample_panels.pretrained_model(name, saved)
    assert "_sample_models" not in a.session_state and "_sample_models" not in b.session_state
    other = (saved + 1) % num_masks
    b.selectbox(key="s_mask").set_value(other).run()
    assert not b.exception
    assert sample_panels.pretrained_model(name, other).mask_index == other
    assert shared.mask_index == saved and not shared.training  # a's model untouched
    # b's samples are those of the shared copy under its mask, a's of the saved mask
    traj_b = b.session_state["_sample_last"]["traj"]
    traj_a = a.session_state["_sample_last"]["traj"]
    assert traj_b.mask_index == other and traj_a.mask_index == saved
    assert torch.equal(traj_b.order, torch.as_tensor(shared.mask_set(other).order))


def test_a_link_that_names_the_model_and_mask_sets_them_without_a_widget_warning(monkeypatch):
    """/sample?model=mnist&smask=2: the link's choices are written to session state before the selectboxes
    exist; passing them a default index too made Streamlit warn in the server log ("created with a default
    value but also had its value set via the Session State API") on every such link."""
    from streamlit.elements.lib import policies

    warned: list[str] = []
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    monkeypatch.setattr(policies._LOGGER, "warning", lambda msg, *a, **k: warned.append(msg % a if a else msg))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"model": "mnist", "smask": "2"})
    at.switch_page("made_viz/app_pages/sample.py").run()
    assert not at.exception
    assert at.selectbox(key="s_model").value == "mnist"
    assert at.selectbox(key="s_mask").value == 2
    assert not [w for w in warned if "default value" in w], warned


def _on_sample(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if query:
        at.query_params.update(query)
    at.switch_page("made_viz/app_pages/sample.py").run()
    assert not at.exception
    return at


def _figure(at: AppTest) -> dict:
    return next(iter(v for k, v in at.session_state["_sample_last"].items() if k[0] == "fig"))[0]


def test_a_shipped_models_samples_and_animation_are_built_once_for_every_session(monkeypatch):
    """A class opens the Sample page on the same shipped model and seed, and presses "New seed" through the same
    seeds: each trajectory and its animation are made once per process (sample_panels._shared_entry) and
    read by every session (about 55 ms of server CPU each: 30 at once queued for seconds)."""
    from made_viz.app_pages import sample_panels

    made: list[int] = []
    real = sample_panels.sample
    monkeypatch.setattr(sample_panels, "sample", lambda *a, **k: made.append(k["seed"]) or real(*a, **k))
    seed = random.randrange(10**6, 2**31 - 2)  # a seed no other test of this process used
    a, b = _on_sample({"sseed": str(seed)}), _on_sample({"sseed": str(seed)})
    assert made == [seed]
    assert a.session_state["_sample_last"] is b.session_state["_sample_last"]
    assert _figure(a) is _figure(b)
    for at in (a, b):
        at.button(key="s_new").click().run()
        assert not at.exception
    assert made == [seed, seed + 1]
    assert a.session_state["_sample_last"] is b.session_state["_sample_last"]
    # a session's own choices stay its own: b asks for 4 samples, a still shows 16
    b.selectbox(key="s_n").set_value(4).run()
    assert b.session_state["_sample_last"]["traj"].n == 4 and a.session_state["_sample_last"]["traj"].n == 16


def test_the_shared_samples_know_a_shipped_model_by_its_weights(monkeypatch):
    """The process-wide trajectory cache is keyed by content, never by a name: other weights under the same
    name are another model."""
    from made_viz.app_pages import sample_panels as sp

    cfg, state, k = sp._pretrained_state("mnist")
    key = sp.shipped_key("mnist")
    assert key.startswith("mnist-") and sp.Ctx(None, "mnist", None, None, 0, "random", shared=True).cache_key == key
    first = sorted(state)[0]
    monkeypatch.setattr(sp, "_pretrained_state", lambda name: (cfg, {**state, first: state[first] + 1}, k))
    sp.shipped_key.clear()
    try:
        assert sp.shipped_key("mnist") != key
    finally:
        sp.shipped_key.clear()
    assert sp.Ctx(None, "session-1-2.0", None, None, 0, "random").cache_key == "session-1-2.0"
