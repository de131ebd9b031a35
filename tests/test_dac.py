"""Crossbar input DACs on SKY130 with ngspice really running: the bit-serial word-line
driver against C·V² and the distributed-line bound, the resistor string against its
ideal transfer and the analytic mismatch sigma, the fitted model's HDF5 round trip."""
import math

import numpy as np
import pytest

from imcspice.characterize.fit import fit_file
from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec
from imcspice.circuits import dac as dc
from imcspice.models import OutOfRangeWarning, load

VDD = 1.8


@pytest.fixture(scope="module")
def driver(pool, tmp_path_factory):
    out = tmp_path_factory.mktemp("dac") / "drv.raw.h5"
    raw = run_sweep(SweepSpec("dac", {"n_cells": [128, 256], "v_wl_v": [0.2, 1.8]}), out,
                    pool=pool, progress=False)
    assert raw.status_counts() == {"ok": 4}
    return raw, out


def _pt(raw, q, n, v):
    a, axes = raw.select(q, corner="tt", temp_c=27.0, n_cells=n, v_wl_v=v)
    return float(np.asarray(a).ravel()[0])


def test_rail_energy_is_c_v_squared(driver):
    raw, _ = driver
    for n in (128, 256):
        c_line = n * 1.0e-15
        # the switch's drain junctions and overlap also hang on the line: hand bound
        # <= 1.5 fF per um of switch width (junction 0.29 um x 0.83 fF/um^2 + sidewall
        # ~0.2 fF/um + overlap/Miller ~0.8 fF/um); widths: nfet w, pfet 2w, pull-down w
        # ... and while the switch changes over, its transmission gate and pull-down
        # conduct together: rail-to-ground short-circuit current, <= ~15 % of the
        # dynamic energy for input and output edges of similar length (Veendrick,
        # IEEE JSSC 19(4), 1984)
        w_sw = max(0.42, n / 64)
        c_extra_max = 1.5e-15 * 4 * w_sw
        for v in (0.2, 1.8):
            e = _pt(raw, "e_rail_j", n, v)
            ratio = e / (c_line * v * v)
            assert 1.0 <= ratio <= 1.15 + c_extra_max / c_line, (n, v, ratio)


def test_full_swing_drive_is_cv2_plus_bounded_chain_share(driver):
    raw, _ = driver
    c_line = 256e-15
    e = _pt(raw, "e_drive_j", 256, VDD)
    # E = C·VDD² for the line; the chain, switch gates and short-circuit current add,
    # bounded here at 25 % of it (a 2-stage chain into ~20 fF of switch gates: ~8 %,
    # plus the switch's own junctions ~7 %)
    assert 1.0 <= e / (c_line * VDD ** 2) <= 1.25, e / (c_line * VDD ** 2)
    # at 0.2 V the VDD part (chain + switch gates) dominates: it does not scale with v_wl
    assert _pt(raw, "e_vdd_j", 256, 0.2) > 5 * _pt(raw, "e_rail_j", 256, 0.2)


def test_settling_respects_the_distributed_line_bound(driver):
    raw, _ = driver
    t = {n: _pt(raw, "t_settle_s", n, 0.2) for n in (128, 256)}
    for n, ts in t.items():
        rc = (n * 5.0) * (n * 1e-15)
        # a distributed RC line driven by an ideal step reaches 99 % at its far end after
        # t = (4 RC / pi^2) ln(400 / pi) (first term of the series solution): no driver
        # can do better
        bound = 4 * rc / math.pi ** 2 * math.log(400 / math.pi)
        assert bound < ts < bound + 2e-9, (n, ts, bound)
    assert t[256] > t[128]


def test_driver_model_roundtrip_and_range(driver, tmp_path):
    _, raw_path = driver
    m = fit_file(raw_path, tmp_path / "dac.model.h5")
    back = load(tmp_path / "dac.model.h5")
    assert back.kind == "dac"
    for n, v in ((128, 0.2), (256, 1.8), (181, 1.0)):
        assert back.drive_energy(n, v) == pytest.approx(float(m.drive_energy(n, v)), rel=1e-12, abs=0)
    assert float(back.drive_energy(256, 0.2)) == pytest.approx(
        _pt(driver[0], "e_drive_j", 256, 0.2), rel=1e-6, abs=0)
    with pytest.warns(OutOfRangeWarning):
        back.drive_energy(1024, 0.2)
    with pytest.raises(ValueError):
        back.drive_energy(1024, 0.2, strict=True)


def test_chain_is_even_and_tapered():
    w = dc.chain_widths(300.0, 0.42, 1.0, 4.0)
    assert len(w) % 2 == 0 and len(w) >= 2
    assert w[1][0] / w[0][0] == pytest.approx(4.0, rel=1e-6, abs=0)


@pytest.fixture(scope="module")
def rstring(pool, tmp_path_factory):
    out = tmp_path_factory.mktemp("dac") / "ml.raw.h5"
    raw = run_sweep(SweepSpec("dac-multilevel", {"n_cells": [64, 256], "bits": [4]}), out,
                    pool=pool, progress=False)
    assert raw.status_counts() == {"ok": 2}
    return raw


def test_ideal_string_is_linear_and_costs_static_plus_charge(rstring):
    n_res, r_unit, v_ref, t_conv = 16, 500.0, 0.2, 5e-9
    for n in (64, 256):
        a = {q: float(np.asarray(rstring.select(q, n_cells=n)[0]).ravel()[0])
             for q in ("inl_max_lsb", "dnl_max_lsb", "p_static_w", "e_conv_j", "t_settle_s")}
        # equal resistors: INL = DNL = 0 (the switches carry no DC current)
        assert a["inl_max_lsb"] < 1e-3 and a["dnl_max_lsb"] < 1e-3, a
        assert a["p_static_w"] == pytest.approx(v_ref ** 2 / (n_res * r_unit), rel=1e-3, abs=0)
        # energy from V_ref: the string's static power over the window plus the charge
        # V_ref·C·V_out(full scale) of the row (C: n cells x 1 fF), plus at most that of
        # the 16 tap switches' output-side parasitics. Per transmission gate (2 um nfet +
        # 2 um pfet, drain area 0.58 um^2, perimeter 4.58 um; SKY130 tt bin-5 cards,
        # zero bias, an upper bound): nfet 1.34 fF/um^2 x 0.58 + 0.037 fF/um x 4.58 +
        # overlap 0.245 fF/um x 2 = 1.44 fF, pfet 0.74 x 0.58 + 0.099 x 4.58 + 0.052 x 2
        # = 0.98 fF: 38.7 fF for 16; plus the selected gate's channels following the
        # output (Cox 8.3 fF/um^2 x 2 um x 0.15 um x 2 devices = 5 fF): <= 44 fF
        c = n * 1e-15
        v_fs = v_ref * (n_res - 1) / n_res
        base = a["p_static_w"] * t_conv + v_ref * c * v_fs
        assert base <= a["e_conv_j"] <= base + v_ref * v_fs * 44e-15, (n, a)


@pytest.mark.parametrize("n_seeds", [pytest.param(24, marks=pytest.mark.slow), 12])
def test_string_mismatch_matches_analytic_sigma(pool, tmp_path, n_seeds):
    # INL_k of a string of N resistors with independent relative errors sigma, against
    # its ends: variance sigma^2 k (N - k) / N (linearized), so at k = N/2 sigma sqrt(N)/2
    sigma, bits, seeds = 0.02, 4, list(range(n_seeds))
    n = 2 ** bits
    raw = run_sweep(SweepSpec("dac-multilevel", {"mismatch_seed": seeds,
                                                 "sigma_r_rel": [sigma], "bits": [bits],
                                                 "n_cells": [16], "t_conv_s": [1e-9]}),
                    tmp_path / "mc.raw.h5", pool=pool, progress=False)
    inl = np.asarray(raw.select("inl_mid_lsb")[0], float).ravel()
    assert len(inl) == len(seeds) and np.all(np.isfinite(inl))
    expect = sigma * math.sqrt(n) / 2
    got = float(np.std(inl, ddof=1))
    # the sample std's own relative error is 1/sqrt(2 (n - 1)): 15 % at 24, 21 % at 12;
    # the band is ~2.5 of those
    band = 2.5 / math.sqrt(2 * (len(seeds) - 1))
    assert (1 - band) * expect < got < (1 + band) * expect, (got, expect)
    assert abs(float(np.mean(inl))) < 3 * expect / math.sqrt(len(seeds))
