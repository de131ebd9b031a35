"""HeTraX trims its bit lines at the programming temperature and reads them hot
(accelerators/hardware.py crossbar_device, analog.py CrossbarLinear, thermal_reram.py).

Expected values by hand from the shipped crossbar-column model's own ``ir_drop`` at
27 C and at 95 C (d27(L), d95(L) at bit-line load L): a bit line trimmed by
1 / (1 - d27(L_mapped)) and read with the drop d95(L) keeps the gain
(1 - d95(L)) / (1 - d27(L)); the tile reference (a pair at loads m and 0) divides the
tile by its own such gain."""
from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest

from imcspice.accelerators import arch as archmod
from imcspice.accelerators import hardware
from imcspice.accelerators.analog import CrossbarLinear, Nonideal
from imcspice.accelerators.hetrax import HetraxOps
from imcspice.accelerators.thermal_reram import ReramRead, ThermalCrossbarLinear

# the trims by hand: every cell of a bit line takes its loss (the "column" profile; the
# shipped "compensated" one shares it by position: tests/test_ir_profile.py)
HETRAX = archmod.load("hetrax", ["crossbar.ir_profile=column"])
XB = HETRAX.component("crossbar")
HW = hardware.HardwareModels.from_dir(corner=HETRAX.corner)
XBM = HW.need("crossbar-column")
MEM = HW.need("memristor")


def _d(load: float, t_c: float) -> float:
    """The model's relative IR drop of one of the tile's bit lines (hand call)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(np.ravel(XBM.ir_drop(corner=HETRAX.corner, frac_on=load,
                                          rows=float(XB["rows"]),
                                          r_bl_ohm=float(XB["r_bl_ohm"]), temp_c=t_c,
                                          v_read_v=float(XB["v_read_v"])))[0])


def _device(t_c: float):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return replace(hardware.crossbar_device(HW, XB, t_c), g_sigma_s=None, tia_noise_a=None)


def _weights():
    """One 128-row tile, matrix scale 1: bit line 0 at +0.5 on every row (G+ load 0.5),
    bit line 1 at +1 on one row (G+ load 1/128); every G- at g_min (load 0)."""
    w = np.zeros((2, 128), dtype=np.float32)
    w[0] = 0.5
    w[1, 0] = 1.0
    return w, (0.5, 1.0 / 128)


def _gain(load: float) -> float:
    return (1.0 - _d(load, 95.0)) / (1.0 - _d(load, 27.0))


def _hand_w_eff(w, loads, dev):
    """Each cell G·gain(its bit line's load), G- at g_min with gain(0), over the span."""
    span = dev.g_max_s - dev.g_min_s
    gp = dev.g_min_s + span * w
    return np.stack([(gp[j] * _gain(loads[j]) - dev.g_min_s * _gain(0.0)) / span
                     for j in range(len(loads))])


def test_the_device_carries_the_drop_at_the_programming_temperature():
    hot, cold = _device(95.0), _device(27.0)
    assert cold.ir_drop_cal_rel is None                    # trimmed where it is read
    for load in (0.0, 0.02, 0.5):
        assert hot.ir_drop_rel(load) == _d(load, 95.0)
        assert hot.ir_drop_cal_rel(load) == _d(load, 27.0)
        assert cold.ir_drop_rel(load) == _d(load, 27.0)
    assert _d(0.02, 95.0) > _d(0.02, 27.0)                 # the drop grows hot
    assert _gain(0.02) < 0.99                              # a real gain error to trim


def test_trim_at_27_read_at_95_leaves_the_gain_error_by_hand():
    w, loads = _weights()
    dev = _device(95.0)
    xb = CrossbarLinear(w, dev, None, np.ones(128), 0, bit_serial=True)
    np.testing.assert_allclose(xb.gain_trim[0, 0], [1 / (1 - _d(l, 27.0)) for l in loads],
                               rtol=1e-12)
    # atol: a weight near 0 (-1.4e-4) is the difference of two O(1) conductance terms
    np.testing.assert_allclose(xb.w_eff, _hand_w_eff(w, loads, dev), rtol=1e-6, atol=1e-8)
    # trimmed hot instead (the chip before: built at the read temperature): no error
    at_read = CrossbarLinear(w, replace(dev, ir_drop_cal_rel=None), None, np.ones(128), 0,
                             bit_serial=True)
    np.testing.assert_allclose(at_read.w_eff, w, rtol=1e-6, atol=1e-8)


def test_calibration_reads_cold_and_the_reference_takes_out_its_own_gain():
    """Ideal cells (read k = 0): only the IR drop moves with T. The calibration pass
    (27 C) reads the mapped weights; hot, each bit line keeps gain(L), times the tile
    reference's I_cal / I_run, the pair at loads m (the tile's mean |w|) and 0."""
    w, loads = _weights()
    dev = _device(95.0)
    xb = ThermalCrossbarLinear(w, dev, None, np.ones(128), 0, bit_serial=True,
                               read=ReramRead(MEM, float(dev.v_read_v), k=0.0),
                               reference="tile", t_cal_c=27.0)
    np.testing.assert_allclose(xb.at(27.0, calibrating=True).w_eff, w, rtol=1e-6, atol=1e-8)
    xb.at(95.0)
    span, n, m = dev.g_max_s - dev.g_min_s, 128, (0.5 * 128 + 1.0) / 256
    i_cal = n * span * m
    i_run = n * ((dev.g_min_s + span * m) * _gain(m) - dev.g_min_s * _gain(0.0))
    assert xb.ref_gain[0] == pytest.approx(i_cal / i_run, rel=1e-6, abs=0)
    np.testing.assert_allclose(xb.w_eff, _hand_w_eff(w, loads, dev) * i_cal / i_run,
                               rtol=1e-6, atol=1e-8)


def test_ablation_with_only_the_ir_drop_keeps_the_reference_when_hot():
    """With the device read model off (only the IR drop on), a hot tier still reads its
    tile reference; at the programming temperature the plain crossbar stays."""
    w, _ = _weights()
    ranges = {"layer0.ffn.in": {"in_ch": np.ones(128, dtype=np.float32)}}
    for t_c, thermal in ((95.0, True), (27.0, False)):
        dev = hardware.crossbar_device(HW, XB, t_c)
        ops = HetraxOps(HETRAX, dev, ranges, 0, Nonideal.only(["ir_drop"]), mem=MEM,
                        temp_c=t_c)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # column scale: bit line 1 at load 1
            xb = ops.crossbar(w, "layer0.ffn.in")
        assert isinstance(xb, ThermalCrossbarLinear) == thermal


def test_scaling_the_ir_drop_scales_both_laws():
    dev = _device(95.0)
    half = hardware.scale_crossbar(dev, ir_drop=0.5)
    assert half.ir_drop_cal_rel(0.5) == pytest.approx(0.5 * _d(0.5, 27.0), rel=1e-12, abs=0)
    assert half.ir_drop_rel(0.5) == pytest.approx(0.5 * _d(0.5, 95.0), rel=1e-12, abs=0)
    assert hardware.scale_crossbar(_device(27.0), 0.5).ir_drop_cal_rel is None


@pytest.mark.parametrize("t_c", [27.0, 95.0])
def test_race_it_and_the_programming_temperature_keep_one_law(t_c):
    """RACE-IT names no programming temperature: trimmed where it is read, at any T; a
    HeTraX tile read at t_program_c gets no second law (the code path before the cold
    trims, bit for bit)."""
    race = archmod.load("race-it")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert hardware.crossbar_device(HW, race.component("crossbar"), t_c) \
            .ir_drop_cal_rel is None
        assert hardware.crossbar_device(HW, XB, float(XB["t_program_c"])) \
            .ir_drop_cal_rel is None
