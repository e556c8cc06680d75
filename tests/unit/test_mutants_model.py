"""Exact checks of model.py that mutation testing (bench/mutation.sh) found missing:
MaskedLinear.set_mask on its own, default_device, and the size limit of all_binary_inputs."""

import numpy as np
import pytest
import torch

from made_viz.model import MaskedLinear, all_binary_inputs, default_device


def test_masked_linear_set_mask_takes_the_fan_in_by_fan_out_mask_of_masks_py():
    layer = MaskedLinear(3, 2)
    mask = np.array([[1, 0], [0, 1], [1, 1]], dtype=bool)  # (fan_in, fan_out), as masks.py builds
    layer.set_mask(mask)
    assert layer.mask.tolist() == [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]  # stored as (out, in) like the weight
    assert layer.mask.dtype == torch.float32
    w = layer.weight.detach()
    assert torch.equal(layer.masked_weight(), w * torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]))
    x = torch.tensor([[2.0, -1.0, 0.5]])
    expected = torch.stack([w[0, 0] * 2.0 + w[0, 2] * 0.5, -w[1, 1] + w[1, 2] * 0.5]) + layer.bias.detach()
    assert torch.allclose(layer(x)[0], expected)


def test_default_device_is_cuda_only_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device() == torch.device("cuda")


def test_all_binary_inputs_enumerates_up_to_20_pixels_and_refuses_more():
    assert all_binary_inputs(3).tolist() == [
        [0, 0, 0],
        [1, 0, 0],
        [0, 1, 0],
        [1, 1, 0],
        [0, 0, 1],
        [1, 0, 1],
        [0, 1, 1],
        [1, 1, 1],
    ]
    x = all_binary_inputs(20)  # the limit itself is allowed
    assert x.shape == (2**20, 20) and x[-1].sum() == 20
    del x
    with pytest.raises(ValueError, match=r"2\^21 inputs is too many to enumerate"):
        all_binary_inputs(21)
