"""A shipped model is shared by every session of a process (one per model and mask), so the Sample page's
work on it must only read it: sampling, completing and the surprise map with the model's own mask touch no
mask and no flag. Each session's own copy cost ~27 MB (weights, masks, the fast sampler's arrays)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from made_viz import MADE, Config, sample
from made_viz.model import model_surprise
from made_viz.sampling import complete


@pytest.fixture
def frozen_model(monkeypatch):
    """A model in eval mode whose set_mask and train() raise: any write would fail the test."""
    model = MADE(Config(d=9, shape=(3, 3), hidden=(16,), num_masks=3, order="random", seed=4))
    model.set_mask(2)
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}

    def refuse(*a, **k):
        raise AssertionError("the shared model was written to")

    monkeypatch.setattr(model, "set_mask", refuse)
    monkeypatch.setattr(model, "train", refuse)
    yield model
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_sampling_with_the_models_own_mask_writes_nothing(frozen_model):
    for method in ("fast", "reference"):
        traj = sample(frozen_model, n=4, seed=1, mask=2, method=method)
        assert traj.mask_index == 2 and traj.x.shape == (4, 9)
    assert sample(frozen_model, n=2, seed=1).mask_index == 2  # mask=None: the active one


def test_completing_and_the_surprise_map_with_the_models_own_mask_write_nothing(frozen_model):
    x = (np.arange(18).reshape(2, 9) % 3 == 0).astype(np.float32)
    known = np.zeros((2, 9), dtype=bool)
    known[:, :4] = True
    traj = complete(frozen_model, x, known, seed=0, mask=2)
    assert np.array_equal(traj.x.numpy()[known], x[known])
    s = model_surprise(frozen_model, x, mask=2)
    assert s.shape == (2, 9) and np.all(s >= 0)


def test_another_mask_still_switches_and_restores():
    """An unshared model (a student's own) may still be sampled under any mask: switched for the run, restored."""
    model = MADE(Config(d=9, shape=(3, 3), hidden=(16,), num_masks=3, order="random", seed=4))
    model.train()
    traj = sample(model, n=3, seed=0, mask=1)
    assert traj.mask_index == 1 and torch.equal(traj.order, torch.as_tensor(model.mask_set(1).order))
    assert model.mask_index == 0 and model.training


def test_the_surprise_map_of_a_mirrored_float_image_is_that_of_its_copy():
    """A mirrored float32 image has negative strides, which torch cannot view (ValueError before)."""
    model = MADE(Config(d=9, shape=(3, 3), hidden=(16,), seed=4)).eval()
    x = (np.arange(18).reshape(2, 9) % 4 == 0).astype(np.float32)
    mirrored = x[:, ::-1]
    np.testing.assert_array_equal(model_surprise(model, mirrored), model_surprise(model, mirrored.copy()))
