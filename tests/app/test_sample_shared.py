"""The Sample page's shipped models are shared by the sessions of a process (app_pages/sample_panels)."""

from __future__ import annotations

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
