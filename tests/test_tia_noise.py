"""The crossbar TIA's own noise: recipe tia-noise (ngspice noise analysis of the enabled
TIA at its column's conductance) against the OTA's input noise from another deck (recipe
ota, open loop: models/data/ota.model.h5) and the feedback law; the shipped model; and
the accuracy path's reading of it (accelerators/analog.py CrossbarLinear.tia_sigma) by
hand."""
import copy
import math
import warnings
from dataclasses import replace

import numpy as np
import pytest

from imcspice.accelerators import arch, hardware
from imcspice.accelerators.analog import CrossbarLinear
from imcspice.characterize.defaults import READOUT
from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec

TIA = {"ota_ibias_a": [40e-6], "ota_rz_ohm": [2500.0], "rows": [128]}


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """r_f 25 and 400 ohm, the column all OFF (G 128 uS) and a quarter ON (3.30 mS), 27 C
    (half ON, its 1.33 mA read through 400 ohm would leave the OTA's swing)."""
    out = tmp_path_factory.mktemp("tn") / "tia-noise.raw.h5"
    return run_sweep(SweepSpec("tia-noise", {**TIA, "r_f_ohm": [25.0, 400.0],
                                             "frac_on": [0.0, 0.25]}, ["tt"], [27]),
                     out, progress=False)


def _pick(raw, q, r_f, frac_on):
    """The value of ``q`` at (r_f, frac_on), the sweep's only corner and temperature."""
    v, _ = raw.select(q, r_f_ohm=r_f, frac_on=frac_on)
    return float(np.ravel(v)[0])


def _ota(q):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = hardware.HardwareModels.from_dir().get("ota")
        return float(np.ravel(m.evaluate(q, corner="tt", ibias_a=40e-6, cl_f=1e-13))[0])


G_QUARTER_S = 128 * (1.0 + 0.25 * 99.0) * 1e-6       # 3.296 mS: a quarter at 100 uS


@pytest.mark.parametrize("r_f, frac_on", [(25.0, 0.0), (25.0, 0.25), (400.0, 0.0),
                                          (400.0, 0.25)])
def test_low_frequency_output_noise_is_the_otas_input_noise_times_the_noise_gain(
        raw, r_f, frac_on):
    """At 1 kHz the bit line's capacitance is open, so the output density is the OTA's
    input density (the ota recipe's, open loop: 556 nV/rtHz) times the noise gain
    1 + r_f G_col (1.003 and 1.08 at 25 ohm, 1.05 and 2.32 at 400 ohm), less what the
    finite loop gain keeps of it, z_t / r_f (the measured small-signal transimpedance,
    at 400 ohm). At 25 ohm z_t falls ~11 % short of r_f while the density follows the
    noise gain alone (measured 2026-12-05), so there the loss is not the loop's (the
    output stage's gm6 r_f is small, recipe crossbar-column) and the noise gain alone is
    the expectation."""
    g = 128e-6 if frac_on == 0.0 else G_QUARTER_S
    kept = 1.0 if r_f < 100 else _pick(raw, "z_t_ohm", r_f, frac_on) / r_f
    got = _pick(raw, "vn_out_1khz_v_per_rthz", r_f, frac_on)
    assert got == pytest.approx(_ota("vn_1khz_v_per_rthz") * (1.0 + r_f * g) * kept,
                                rel=0.05)


def test_a_larger_r_f_lowers_the_noise_current_and_the_read_swings_i_r_f(raw):
    """Referred to the input, v_n (1/r_f + G_col): 16x the feedback lowers an all-OFF
    column's noise current more than 8x (measured 2026-12-05: 24.2 -> 1.58 uA, the 25 ohm
    TIA's noise peaking above its GBW included). Each column's own read current flows
    (since 2026-12-05): an all-OFF column's 26 uA leaves the output stage at its bias
    alone, so at 400 ohm it is noisier than a quarter-ON column's (0.72 uA, 677 uA: more
    gm6), not quieter as its smaller conductance alone would make it. The read's DC
    swing is the column's current through about r_f (the OTA's offset and loop gain
    within 15 %)."""
    i_col = 128 * (1.0 + 0.25 * 99.0) * 1e-6 * 0.5 * math.sinh(0.4)   # 677 uA, by hand
    for r_f in (25.0, 400.0):
        assert 0.85 * r_f < _pick(raw, "swing_v", r_f, 0.25) / i_col <= r_f
    off = [_pick(raw, "i_noise_a", r, 0.0) for r in (25.0, 400.0)]
    assert off[0] / off[1] > 8.0
    assert _pick(raw, "i_noise_a", 400.0, 0.25) < off[1]
    # 25 ohm, a quarter ON: ~0.3 mV rms over ~22 ohm, 14 uA: more than half a full-weight
    # cell pair's 20.3 uA (measured 2026-12-05: 14.1 uA)
    assert float(_pick(raw, "i_noise_a", 25.0, 0.25)) > 0.5 * 99e-6 * 0.5 * math.sinh(0.4)


def test_shipped_model_is_the_priced_tia_and_refuses_another(tmp_path):
    """The shipped tia-noise model is swept at crossbar-column's readout (its feedback
    trimmed per column, its hold) and reads ngspice between its lines; a model of another
    r_f is refused by the accuracy path (it would read another TIA's noise than the one
    priced)."""
    a = arch.load("race-it")
    hw = hardware.HardwareModels.from_dir(None, corner=a.corner, temp_c=a.temp_c)
    xb = a.component("crossbar")
    dev = hardware.crossbar_device(hw, xb)
    tn, xbm = hw.need("tia-noise"), hw.need("crossbar-column")
    for name in ("r_f_ohm", "tia_swing_v", "c_hold_ff"):
        assert tn.valid_range[name] == xbm.valid_range[name], name
    # at 128 rows, 0.2 V, load 0.15 (between the sweep's 1/16 lines, near where the
    # trimmed feedback leaves its 400 ohm top): the table against ngspice at that point
    spice = run_sweep(SweepSpec("tia-noise", {**TIA, **READOUT, "frac_on": [0.15],
                                              "v_read_v": [0.2]}, ["tt"], [27]),
                      tmp_path / "p.raw.h5", progress=False)
    v, _ = spice.select("i_noise_a", frac_on=0.15)
    assert float(np.ravel(dev.tia_noise_a(np.array([0.15])))[0]) == pytest.approx(
        float(np.ravel(v)[0]), rel=0.03)
    # the same model swept at another feedback resistance: refused in one line
    other = copy.copy(tn)
    other.valid_range = {**tn.valid_range, "r_f_ohm": (25.0, 25.0)}
    hw2 = copy.copy(hw)
    hw2.models = {**hw.models, "tia-noise": [other]}
    with pytest.raises(hardware.HardwareModelError, match="another TIA"):
        hardware.crossbar_device(hw2, xb)
    # ... or of a readout the machines do not price: a resized OTA, or a sample-and-hold
    for name, value in (("ota_w3_um", 8.0), ("c_hold_ff", 500.0)):
        other = copy.copy(tn)
        other.valid_range = {**tn.valid_range, name: (value, value)}
        hw2 = copy.copy(hw)
        hw2.models = {**hw.models, "tia-noise": [other]}
        with pytest.raises(hardware.HardwareModelError, match=f"{name}.*another TIA"):
            hardware.crossbar_device(hw2, xb)


@pytest.fixture(scope="module")
def held(tmp_path_factory):
    """r_f 25 ohm, a quarter of the column ON, 27 C: no hold, 250 fF and 1 pF holds."""
    out = tmp_path_factory.mktemp("th") / "tia-noise.raw.h5"
    return run_sweep(SweepSpec("tia-noise", {**TIA, "r_f_ohm": [25.0], "frac_on": [0.25],
                                             "c_hold_ff": [0.0, 250.0, 1000.0]}, ["tt"], [27]),
                     out, progress=False)


def _held(raw, q, c_hold_ff):
    v, _ = raw.select(q, c_hold_ff=c_hold_ff)
    return float(np.ravel(v)[0])


def test_a_sample_and_hold_is_an_rc_low_pass_transparent_to_flicker(held):
    """The hold (a closed transmission gate into c_hold) is a first-order low pass of time
    constant R_on C: 4x the capacitor, 4x the time constant (the switch's R_on is the
    same: the TIA output sits at the same DC level). Below 1 MHz, two decades under its
    corner (~120-500 MHz), it passes the TIA's noise unchanged (|H| = 1 within 1e-4), so
    the flicker part is the unheld TIA's; above it, it takes noise away: the held sample
    is quieter than the TIA output (measured 2026-12-05: 14.1 -> 10.9 -> 8.3 uA)."""
    tau = [_held(held, "tau_hold_s", c) for c in (250.0, 1000.0)]
    assert math.isnan(_held(held, "tau_hold_s", 0.0))
    assert tau[1] / tau[0] == pytest.approx(4.0, rel=0.03)
    lf = [_held(held, "i_noise_lf_a", c) for c in (0.0, 250.0, 1000.0)]
    assert lf[1] == pytest.approx(lf[0], rel=0.01) and lf[2] == pytest.approx(lf[0], rel=0.01)
    noise = [_held(held, "i_noise_a", c) for c in (0.0, 250.0, 1000.0)]
    assert noise[0] > noise[1] > noise[2] > lf[0]


@pytest.mark.parametrize("lf_part", [0.0, 0.5])
def test_tia_sigma_by_hand_and_the_reads_carry_it(lf_part):
    """CrossbarLinear.tia_sigma with a stated noise law i(load) = 1 uA (1 + load): each
    (tile, column) read carries sigma = sqrt(i(load+)^2 + i(load-)^2) w_max / (span v0
    sinh(v_read / v0)) (no IR drop, one loss per column: trims 1). Its part below 1 MHz
    is ``lf_part`` of it (sigma_lf), the same draw on every plane of one input's read:
    over 4000 reads of one input the output's std is, by hand,
    sqrt((sigma^2 - sigma_lf^2) sum_b w_b^2 + sigma_lf^2 (sum_b w_b)^2) over the 8
    planes' weights w_b (no converter)."""
    a = arch.load("race-it")
    hw = hardware.HardwareModels.from_dir(None, corner=a.corner, temp_c=a.temp_c)
    dev = replace(hardware.crossbar_device(hw, a.component("crossbar")), g_sigma_s=None,
                  ir_drop_rel=lambda load: 0.0 * np.asarray(load), ir_profile="column",
                  tia_noise_a=lambda load, t=None: 1e-6 * (1.0 + np.asarray(load)),
                  tia_noise_lf_a=(lambda load, t=None: lf_part * 1e-6 * (1.0 + np.asarray(load)))
                  if lf_part else None)
    rng = np.random.default_rng(3)
    w = rng.normal(0, 0.1, (5, 256)).astype(np.float32)
    xb = CrossbarLinear(w, dev, 8, 1.0, 0, bit_serial=True, w_scale="column",
                        outlier_factor=None)
    span = dev.g_max_s - dev.g_min_s
    unit = span * dev.v0_v * math.sinh(dev.v_read_v / dev.v0_v)
    # loads by hand: a bit line's mean |w|/w_max over its tile's 128 rows, its sign's
    wn = w.T / np.abs(w).max(axis=1)
    for t in range(2):
        blk = wn[t * 128:(t + 1) * 128]
        lp, ln = np.clip(blk, 0, None).mean(0), np.clip(-blk, 0, None).mean(0)
        hand = np.sqrt((1e-6 * (1 + lp)) ** 2 + (1e-6 * (1 + ln)) ** 2) * \
            np.abs(w).max(axis=1) / unit
        np.testing.assert_allclose(xb.col_sigma[t], hand, rtol=1e-5)
        if lf_part:
            np.testing.assert_allclose(xb.col_sigma_lf[t], lf_part * hand, rtol=1e-5)
    assert (xb.col_sigma_lf is None) == (not lf_part)
    x = np.repeat(rng.uniform(-1, 1, (1, 256)).astype(np.float32), 4000, axis=0)
    y = xb(x)
    wts = xb._planes(x[:1])[0].astype(np.float64)
    assert len(wts) == 8
    var = (xb.col_sigma.astype(np.float64) ** 2).sum(0)
    expect = np.sqrt(var * ((1 - lf_part ** 2) * (wts ** 2).sum() + lf_part ** 2 * wts.sum() ** 2))
    np.testing.assert_allclose(y.std(0), expect, rtol=0.05)


def test_a_tia_that_lost_its_virtual_ground_is_refused(tmp_path):
    """r_f 400 ohm at a 0.55 V read: the design current (128 x 25.75 uS x 0.5 V sinh(1.1)
    = 2.2 mA, by hand) would need 0.88 V below v_cm = 0.45 V; the output sits at its rail,
    there is no transimpedance to refer the noise by, and the point fails (as
    crossbar-column's do) instead of reporting a noise current."""
    raw = run_sweep(SweepSpec("tia-noise", {**TIA, "r_f_ohm": [400.0], "v_read_v": [0.55]},
                              ["tt"], [27]), tmp_path / "t.raw.h5", progress=False)
    assert raw.status_counts().get("ok", 0) == 0
    assert np.isnan(np.asarray(raw.data["i_noise_a"])).all()


@pytest.mark.parametrize("partial_sums", ["digital", "analog"])
def test_a_hot_tier_reads_the_tia_noise_at_its_temperature(partial_sums):
    """HeTraX: a ThermalCrossbarLinear read at 95 C carries the noise law at 95 C (here
    i(load, T) = 1 uA x (1 + load) x T / 27 C, a stated law), through each tile's
    reference gain; with analog partial sums the tiles' noises, each through its gain,
    add in the one conversion. By hand from the law: each tile's 27 C sigma (the
    digital chip's, gain 1 in calibration) times 95/27 times its gain."""
    from imcspice.accelerators.thermal_reram import ReramRead, ThermalCrossbarLinear
    a = arch.load("hetrax")
    hw = hardware.HardwareModels.from_dir(corner=a.corner)
    dev = replace(hardware.crossbar_device(hw, a.component("crossbar"), 95.0),
                  g_sigma_s=None, tia_noise_a=lambda load, t=None: 1e-6 * (
                      1.0 + np.asarray(load)) * (95.0 if t is None else t) / 27.0)
    w = np.random.default_rng(1).normal(0, 0.1, (4, 256)).astype(np.float32)

    def chip(sums):
        return ThermalCrossbarLinear(w, dev, None, np.ones(256), 0, bit_serial=True,
                                     partial_sums=sums,
                                     read=ReramRead(hw.need("memristor"),
                                                    float(dev.v_read_v), k=0.0),
                                     reference="tile", t_cal_c=27.0)
    cold = chip("digital").at(27.0, calibrating=True).col_sigma.astype(np.float64)
    xb = chip(partial_sums)
    hot = xb.at(95.0).col_sigma.astype(np.float64)
    tiles = cold * 95.0 / 27.0 * xb.ref_gain[:, None]              # (2 tiles, out)
    hand = tiles if partial_sums == "digital" else np.sqrt((tiles ** 2).sum(0))[None]
    assert abs(xb.ref_gain - 1.0).max() > 1e-3                     # a real gain to apply
    np.testing.assert_allclose(hot, hand, rtol=1e-5)


def test_shipped_crossbar_column_reads_ngspice_at_the_machines_point(tmp_path):
    """The shipped crossbar-column model at the machines' read (128 rows, 2.5 ohm, 0.2 V,
    the shipped readout) between its load lines (18 of 128 cells ON, between the 4/32 and
    5/32 lines, past where the trimmed feedback leaves its 800 ohm top) against ngspice:
    within 1.5 % at 27 C (a swept line); at 52 C, between the sweep's 45 and 60 C lines
    (HeTraX's tiers run at 45-55 C), within 3 % (measured 2026-12-05: -0.19 .. -0.06 % at
    27 C; at 52 C +0.49 % settling, +2.46 % the TIA's energy, +0.41 % the read's).
    Before the 45 and 60 C lines were swept, 45 C read +4.4 % (400 ohm) and +7.5 % (800
    ohm) off on the settling time."""
    spice = run_sweep(SweepSpec("crossbar-column", {
        "rows": [128], "r_bl_ohm": [2.5], "frac_on": [0.140625], "v_read_v": [0.2],
        "g_on_us": [100.0], "pattern": ["spread"], "read_window": ["settled"],
        "ota_ibias_a": [4e-5], "ota_rz_ohm": [2500.0], **READOUT}, ["tt"], [27, 52]),
        tmp_path / "x.raw.h5", progress=False)
    m = hardware.HardwareModels.from_dir().get("crossbar-column")
    for t, tol in ((27.0, 0.015), (52.0, 0.03)):
        for q in ("t_settle_s", "e_tia_j", "e_read_j", "i_out_a"):
            v, _ = spice.select(q, temp_c=t)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = m.evaluate(q, corner="tt", rows=128.0, r_bl_ohm=2.5, frac_on=0.140625,
                                 v_read_v=0.2, temp_c=t)
            assert float(np.ravel(got)[0]) == pytest.approx(float(np.ravel(v)[0]),
                                                            rel=tol), (q, t)
