"""The independent-pixel baseline of the likelihood lens (made_viz.metrics), checked against torch's
own Bernoulli distribution and the definition of bits per dimension."""

import math

import numpy as np
import pytest
import torch

from made_viz import metrics


def test_bernoulli_baseline_total_is_its_own_log_likelihood():
    rng = np.random.default_rng(0)
    train = (rng.random((200, 64)) < np.linspace(0, 0.9, 64)).astype(np.uint8)  # pixel 0 never on
    p = metrics.bernoulli_probs(train)
    np.testing.assert_allclose(p, (train.sum(0) + 1) / (200 + 2))
    assert (p > 0).all() and (p < 1).all()  # smoothed: no infinite surprise
    x = (rng.random((5, 64)) < 0.5).astype(np.float32)
    x[:, 0] = 1  # a pixel never seen on in training
    s = metrics.bernoulli_surprise(p, x)
    ll = torch.distributions.Bernoulli(probs=torch.tensor(p)).log_prob(torch.tensor(x, dtype=torch.float64)).sum(1)
    np.testing.assert_allclose(s.sum(1), -ll.numpy())
    assert np.isfinite(s).all()
    assert metrics.bits_per_dim(64 * math.log(2), 64) == pytest.approx(1.0)
    # the baseline's NLL is the mean of these totals
    assert metrics.independent_bernoulli_nll(train, x) == pytest.approx(float(-ll.numpy().mean()))
