"""accelerators/torch_quant.py: the torch quantizers give the numpy path's values
(:mod:`.analog`, a second implementation) and pass gradients straight through."""
import numpy as np
import pytest
import torch

from imcspice.accelerators import analog
from imcspice.accelerators.torch_quant import (AcamLookup, quantize_pulse,
                                                quantize_symmetric, quantize_uniform, ste_round)

torch.set_num_threads(1)


def test_uniform_symmetric_pulse_match_numpy():
    x = np.random.default_rng(0).uniform(-1.5, 1.5, 2000)
    t = torch.tensor(x)
    np.testing.assert_array_equal(quantize_uniform(t, 4, -1.0, 1.0).numpy(),
                                  analog.quantize_uniform(x, 4, -1.0, 1.0))
    np.testing.assert_allclose(quantize_symmetric(t, 5, 1.2).numpy(),
                               analog.quantize_symmetric(x, 5, 1.2), rtol=0, atol=1e-15)
    np.testing.assert_allclose(quantize_pulse(t, 3).numpy(), analog.quantize_pulse(x, 3),
                               rtol=0, atol=1e-15)


def test_uniform_hand_values():
    # 2 bits over [0, 1]: step 0.25, levels 0.125, 0.375, 0.625, 0.875 (mid-rise)
    x = torch.tensor([-0.3, 0.1, 0.26, 0.5, 0.99, 7.0])
    got = quantize_uniform(x, 2, 0.0, 1.0)
    assert got.tolist() == pytest.approx([0.125, 0.125, 0.375, 0.625, 0.875, 0.875], rel=1e-6, abs=0)


def test_straight_through_gradients():
    x = torch.tensor([-2.0, -0.5, 0.1, 0.7, 3.0], requires_grad=True)
    quantize_uniform(x, 3, -1.0, 1.0).sum().backward()
    # identity inside the range, nothing where the converter clips
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    y = torch.tensor([0.3, 1.7], requires_grad=True)
    ste_round(y).sum().backward()
    assert y.grad.tolist() == [1.0, 1.0]


def test_acam_lookup_same_codes_as_numpy_and_function_gradient():
    q = analog.AcamQuantizer(5, -3.0, 0.0, sigma_rel=0.01, seed=7)  # mismatched thresholds
    m = AcamLookup(q)
    x = np.random.default_rng(1).uniform(-3.5, 0.5, 5000)
    t = torch.tensor(x, requires_grad=True)
    np.testing.assert_array_equal(m.code(t).numpy(), q.code(x))
    np.testing.assert_allclose(m(t).detach().numpy(), q(x), rtol=0, atol=1e-12)
    y = m.lookup(t, torch.exp)
    np.testing.assert_allclose(y.detach().numpy(), q.lookup(x, np.exp), rtol=1e-12)
    y.sum().backward()
    inside = (x > -3.0) & (x < 0.0)
    # STE: d/dx exp(x) = exp(x) inside the programmed range, 0 outside
    np.testing.assert_allclose(t.grad.numpy()[inside], np.exp(x[inside]), rtol=1e-12)
    assert np.all(t.grad.numpy()[~inside] == 0)
