"""accelerators/torch_analog.py, torch_chip.py: the torch operators run the chip the
numpy path programs and calibrates (a second implementation of the same machine:
same numbers up to float summation order), pass gradients (straight-through where
quantized), and evaluate the crossbar at the given temperature."""
from dataclasses import replace

import warnings

import numpy as np
import pytest
import torch

from imcspice.accelerators import arch as arch_mod
from imcspice.accelerators import hardware
from imcspice.accelerators.analog import AcamQuantizer, CrossbarLinear, Nonideal
from imcspice.accelerators.torch_analog import TorchCrossbarLinear
from imcspice.accelerators.torch_chip import AnalogChip

torch.set_num_threads(1)
warnings.simplefilter("ignore")


@pytest.fixture(scope="module")
def race_it():
    a = arch_mod.load("race-it")
    hw = hardware.HardwareModels.from_dir(None, corner=a.corner, temp_c=a.temp_c)
    # the TIAs' noise off: the two paths are compared draw for draw
    return a, hw, replace(hardware.crossbar_device(hw, a.component("crossbar")),
                          tia_noise_a=None)


def _xbar(dev, w, x_max, q: bool, seed=3):
    conv = (lambda bits, s: AcamQuantizer(bits, -1.0, 1.0, 0.002, s)) if q else None
    return CrossbarLinear(w, dev, 8 if q else None, x_max, seed, bit_serial=True,
                          out_bits=8 if q else None, quantizer=conv, w_scale="column")


def test_crossbar_matches_numpy_chip(race_it):
    _, _, dev = race_it
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.1, (24, 300)).astype(np.float32)   # 3 row tiles of 128
    x = rng.normal(0, 1, (16, 300)).astype(np.float32)
    xb = _xbar(dev, w, np.abs(x).max(0), q=True)
    xb.calibrate(x)
    want = xb(x)
    got = TorchCrossbarLinear(xb, torch.tensor(w))(torch.tensor(x), torch.tensor(w)).numpy()
    lsb = float(np.max(xb.ranges)) / 128      # one converter step of the widest column
    err = np.abs(got - want)
    # the same codes, or at most a rare flip of one plane's code (summation order)
    assert np.median(err) < 1e-4 * lsb and err.max() < 2 * lsb
    assert np.mean(err > 1e-3 * lsb) < 0.02


def test_ideal_crossbar_is_the_matrix_product(race_it):
    _, _, dev0 = race_it
    dev = hardware.scale_crossbar(dev0, 0.0)     # no IR drop, no programming noise
    rng = np.random.default_rng(1)
    w = rng.normal(0, 0.1, (10, 140)).astype(np.float32)
    x = rng.normal(0, 1, (5, 140)).astype(np.float32)
    xb = _xbar(dev, w, np.abs(x).max(0), q=False)
    y = TorchCrossbarLinear(xb, torch.tensor(w))(torch.tensor(x), torch.tensor(w))
    np.testing.assert_allclose(y.numpy(), x @ w.T, rtol=1e-4, atol=1e-5)


def test_crossbar_gradients_straight_through(race_it):
    _, _, dev = race_it
    rng = np.random.default_rng(2)
    w = rng.normal(0, 0.1, (8, 130)).astype(np.float32)
    x = rng.normal(0, 1, (4, 130)).astype(np.float32)
    xb = _xbar(dev, w, np.abs(x).max(0) * 2, q=True)   # inputs inside the DAC range
    xb.calibrate(x)
    W = torch.tensor(w, requires_grad=True)
    X = torch.tensor(x, requires_grad=True)
    m = TorchCrossbarLinear(xb, W)
    m(X, W).sum().backward()
    # STE: the quantized crossbar's gradient is the ideal product's, with the programmed
    # effective weights: d sum(y) / dx_i = sum_o w_eff[o, i] / x_max; d / dW = x sums
    w_eff = (W.detach()[:, m.analog_idx] * m.x_max + m.delta)
    np.testing.assert_allclose(X.grad.numpy()[:, m.analog_idx.numpy()],
                               np.broadcast_to((w_eff.sum(0) / m.x_max).numpy(), (4, 130)
                                               )[:, m.analog_idx.numpy()], rtol=1e-5)
    np.testing.assert_allclose(W.grad.numpy(), np.broadcast_to(x.sum(0), (8, 130)),
                               rtol=1e-4, atol=1e-4)


def _chip(arch, ranges, ni=None, **kw):
    chip = AnalogChip(arch, nonideal=ni, **kw)
    chip.factory = chip._make_factory(ranges)
    chip.ranges, chip.phase = chip.factory.r, "run"
    return chip


RANGES = {"s": {"in": 6.0}, "g": {"in": 4.0},
          "n": {"var_min": 0.5, "var_max": 3.0, "out": 3.0, "out_ch": np.full(16, 3.0)},
          "m": {"in": 2.0, "in2": 2.0, "prod": 2.0}}


def test_acam_operators_match_numpy_race_it():
    chip = _chip("race-it", RANGES)
    f = chip.factory
    rng = np.random.default_rng(4)
    x = rng.normal(0, 2, (2, 3, 8, 16)).astype(np.float32)
    b = rng.normal(0, 0.7, (2, 3, 16, 8)).astype(np.float32)
    g, be = rng.normal(1, 0.1, 16).astype(np.float32), rng.normal(0, 0.1, 16).astype(np.float32)
    t = torch.tensor
    np.testing.assert_allclose(chip.softmax(t(x), "s").numpy(), f.softmax(x, "s"), atol=1e-6)
    np.testing.assert_allclose(chip.activation(t(x), "g", torch.nn.functional.gelu).numpy(),
                               f.gelu(x, "g"), atol=1e-5)
    np.testing.assert_allclose(chip.layernorm(t(x), t(g), t(be), 1e-12, "n").numpy(),
                               f.layernorm(x, g, be, 1e-12, "n"), atol=1e-5)
    got, want = chip.matmul(t(x), t(b), "m").numpy(), f.matmul(x, b, "m")
    step = 2.0 / 127                          # one product-lookup level
    assert np.mean(np.abs(got - want) > 1e-4) < 0.02 and np.abs(got - want).max() < 2 * step


def test_acam_lookup_gradient_is_the_function_derivative():
    chip = _chip("race-it", RANGES)
    x = torch.linspace(-3.5, 3.5, 41, dtype=torch.float32, requires_grad=True)
    chip.activation(x, "g", torch.nn.functional.gelu).sum().backward()
    xd = x.detach().double().requires_grad_()
    torch.nn.functional.gelu(xd).sum().backward()   # exact GELU derivative (autograd)
    np.testing.assert_allclose(x.grad.numpy(), xd.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_ideal_chip_operators_are_exact():
    chip = _chip("race-it", RANGES, Nonideal.only([]))
    x = torch.randn(2, 3, 8, 16)
    torch.testing.assert_close(chip.softmax(x, "s"), torch.softmax(x, -1))
    torch.testing.assert_close(chip.matmul(x, x.transpose(-1, -2), "m"),
                               x @ x.transpose(-1, -2))


def test_reram_tier_evaluated_at_its_temperature():
    # HeTraX's ReRAM tier: the crossbar device (IR drop from the temperature-swept
    # crossbar-column model) is evaluated at the chip's temperature
    cold, hot = AnalogChip("hetrax", temp_c=27.0), AnalogChip("hetrax", temp_c=85.0)
    assert cold.temp_c == 27.0 and hot.temp_c == 85.0
    d27, d85 = cold.dev.ir_drop_rel(0.5), hot.dev.ir_drop_rel(0.5)
    xbm = cold.hw.need("crossbar-column")
    xb = cold.arch.component("crossbar")
    kw = dict(rows=xb["rows"], r_bl_ohm=xb["r_bl_ohm"], frac_on=0.5, v_read_v=xb["v_read_v"])
    assert d27 == pytest.approx(float(xbm.ir_drop(corner="tt", temp_c=27.0, **kw)), rel=1e-6, abs=0)
    assert d85 == pytest.approx(float(xbm.ir_drop(corner="tt", temp_c=85.0, **kw)), rel=1e-6, abs=0)
    assert abs(d85 - d27) > 1e-3
    assert cold.kind == "hetrax" and cold.engine("layer0.ffn.in", "linear") == "crossbar"
    assert cold.engine("layer0.attn.q", "linear") == "sm"
