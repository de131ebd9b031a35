"""HeTraX ReRAM tier read at its temperature (accelerators/thermal_reram.py).

Expected values by hand from the published read law (netlists/memristor.spice; the
shipped memristor model is fitted from it): I(V, G, T) = f G V / (1 + a dT) +
(1 - f) G v0 sinh(V/v0) exp(Ea/kB (1/T0 - 1/T)), f = G^2/(G^2 + g_q^2)."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from imcspice.accelerators import arch as archmod
from imcspice.accelerators.analog import CrossbarDevice, CrossbarLinear, Nonideal
from imcspice.accelerators.hetrax import HetraxOps
from imcspice.accelerators.thermal_reram import ReramRead, ThermalCrossbarLinear
from imcspice.models import load

MEM = load(Path(__file__).resolve().parents[1] / "models" / "data" / "memristor.model.h5")
KB, GQ, T0 = 8.617333262e-5, 7.748091729e-5, 300.15


def _ratio(g, t_c, v=0.2, v0=0.5, a=1e-3, ea=0.10):
    f = g * g / (g * g + GQ * GQ)
    return f / (1 + a * (t_c - 27.0)) + (1 - f) * v0 / v * math.sinh(v / v0) * \
        math.exp(ea / KB * (1 / T0 - 1 / (t_c + 273.15)))


def _dev(sigma=None, ir=0.0, rows=32):
    return CrossbarDevice(g_min_s=1e-6, g_max_s=100e-6, v_read_v=0.2, v0_v=0.5,
                          tile_rows=rows, ir_drop_rel=lambda load: ir * np.asarray(load),
                          g_sigma_s=sigma)


def test_programming_is_recovered_exactly():
    """k = 0 (no device read model): the same chip as CrossbarLinear at any temperature
    (the class checks its own recovery at construction as well)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((16, 64)).astype(np.float32)
    dev = _dev(sigma=lambda g: 2e-6 + 0.02 * g, ir=0.05)
    ref = CrossbarLinear(w, dev, None, np.ones(64), 7, bit_serial=True)
    xb = ThermalCrossbarLinear(w, dev, None, np.ones(64), 7, bit_serial=True,
                               read=ReramRead(MEM, 0.2, k=0.0)).at(85.0)
    np.testing.assert_allclose(xb.w_eff, ref.w_eff, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("t_c", [27.0, 60.0, 95.0])
def test_drift_matches_the_read_law_by_hand(t_c):
    """One column, two rows: G+ = (g_max, g_min + span/4), G- = g_min; no noise, no drop."""
    w = np.array([[1.0, 0.25]], dtype=np.float32)
    xb = ThermalCrossbarLinear(w, _dev(), None, np.ones(2), 0, bit_serial=True,
                               read=ReramRead(MEM, 0.2, k=1.0))
    xb.at(t_c)
    xb._var_tiles = None                     # drift only (noise has its own test)
    span = 99e-6
    gp = [100e-6, 1e-6 + 0.25 * span]
    expect = [(g * _ratio(g, t_c) - 1e-6 * _ratio(1e-6, t_c)) / span for g in gp]
    np.testing.assert_allclose(xb.w_eff[0], expect, rtol=2e-5)
    if t_c > 27:     # the low state drifts more than the high one: the weight ratio moves
        assert xb.w_eff[0, 1] / xb.w_eff[0, 0] != pytest.approx(0.25, rel=1e-3, abs=0)


def test_read_noise_per_read_by_hand():
    """Ideal drive of 1 on both rows, 4000 reads: std of y = sqrt(sum sigma_i^2)/span,
    sigma_i^2 = 4 kB T G / (2 t_read) / V^2 + (0.005)^2 G g_q at each cell's read G."""
    w = np.array([[1.0, 0.25]], dtype=np.float32)
    xb = ThermalCrossbarLinear(w, _dev(), None, np.ones(2), 0, bit_serial=True,
                               read=ReramRead(MEM, 0.2, k=1.0)).at(85.0)
    y = xb(np.ones((4000, 2), dtype=np.float32)).ravel()
    cells = [100e-6, 1e-6 + 0.25 * 99e-6, 1e-6, 1e-6]
    var = 0.0
    for g in cells:
        gh = g * _ratio(g, 85.0)
        var += 4 * 1.380649e-23 * 358.15 * gh / (2 * 20e-9) / 0.2 ** 2 + 0.005 ** 2 * gh * GQ
    assert y.std() == pytest.approx(math.sqrt(var) / 99e-6, rel=0.05, abs=0)


def test_hetrax_calibrates_at_programming_temperature_and_reads_hot():
    a = archmod.load("hetrax")
    rng = np.random.default_rng(1)
    w = rng.standard_normal((8, 32)).astype(np.float32) * 0.1
    x = rng.standard_normal((4, 32)).astype(np.float32)
    ranges = {"layer0.ffn.in": {"in_ch": np.abs(x).max(axis=0)}}
    ops = HetraxOps(a, _dev(sigma=lambda g: 1e-6 + 0 * g), ranges, 0, Nonideal.scaled(1.0),
                    mem=MEM, temp_c=85.0)
    ops.calibrating = True
    ops.linear(x, w, None, "layer0.ffn.in")
    xb = ops._xbars["layer0.ffn.in"]
    assert isinstance(xb, ThermalCrossbarLinear) and xb.temp_c == 27.0
    ops.calibrating = False
    assert xb.temp_c == 85.0
    y_hot = ops.linear(x, w, None, "layer0.ffn.in")
    assert np.all(np.isfinite(y_hot))
    # ideal hardware (every non-ideality off) stays the plain crossbar
    off = HetraxOps(a, _dev(), ranges, 0, Nonideal.only([]), mem=MEM, temp_c=85.0)
    off.linear(x, w, None, "layer0.ffn.in")
    assert not isinstance(off._xbars["layer0.ffn.in"], ThermalCrossbarLinear)


def test_paired_summary_by_hand():
    """Three temperatures, two chips (the same at every T): means, stds (ddof 1) and the
    paired differences to the 27 C point computed by hand. At 61 C both chips lose a
    little (-0.005, -0.002): mean -0.0035, std 0.003/sqrt(2) = 0.0021213, standard error
    0.0015; at 95 C they disagree (-0.02, 0.0): mean -0.01, std 0.0141421, standard error
    0.01. Two chips' 95 % interval is 12.706 standard errors (Student t, 1 degree of
    freedom, from the published table): neither is resolved. Three chips losing -0.010,
    -0.012, -0.011: mean -0.011, std 0.001, standard error 0.00057735, interval 4.303 of
    them (2 degrees of freedom) = 0.0024843: resolved."""
    from imcspice.accelerators.machines.hetrax import paired_summary
    per_seed = [[0.97, 0.96], [0.965, 0.958], [0.95, 0.96]]
    s = paired_summary([27.0, 61.0, 95.0], per_seed, 27.0)
    assert s["ref_temp_c"] == 27.0
    assert s["cosine_mean"] == pytest.approx([0.965, 0.9615, 0.955], abs=1e-12)
    assert s["cosine_std"] == pytest.approx([0.0070711, 0.0049497, 0.0070711], abs=1e-7)
    np.testing.assert_allclose(s["diff_per_seed"], [[0, 0], [-0.005, -0.002], [-0.02, 0]],
                               atol=1e-12)
    assert s["diff_mean"] == pytest.approx([0.0, -0.0035, -0.01], abs=1e-12)
    assert s["diff_std"] == pytest.approx([0.0, 0.0021213, 0.0141421], abs=1e-7)
    assert s["diff_sem"] == pytest.approx([0.0, 0.0015, 0.01], abs=1e-9)
    assert s["diff_ci95"] == pytest.approx([0.0, 0.0015 * 12.706, 0.01 * 12.706], rel=1e-4, abs=0)
    assert s["resolved"] == [False, False, False]
    three = paired_summary([27.0, 95.0], [[0.97, 0.96, 0.965], [0.96, 0.948, 0.954]], 27.0)
    assert three["diff_mean"] == pytest.approx([0.0, -0.011], abs=1e-12)
    assert three["diff_ci95"] == pytest.approx([0.0, 0.0024843], rel=1e-4, abs=0)
    assert three["resolved"] == [False, True]
    # the reference point is the curve point nearest the programming temperature
    assert paired_summary([27.0, 61.0, 95.0], per_seed, 30.0)["diff_mean"][0] == 0.0
    assert paired_summary([27.0, 61.0, 95.0], per_seed, 70.0)["diff_mean"] == \
        pytest.approx([0.0035, 0.0, -0.0065], abs=1e-12)
    # one chip: no spread known, nothing resolved
    one = paired_summary([27.0, 95.0], [[0.97], [0.90]], 27.0)
    assert one["cosine_std"] == [0.0, 0.0] and one["resolved"] == [False, False]
    assert one["diff_mean"] == pytest.approx([0.0, -0.07], abs=1e-12)
    with pytest.raises(ValueError, match="temperatures, seeds"):
        paired_summary([27.0, 95.0], [0.97, 0.90], 27.0)


def test_curve_points_quick_keeps_seeds_and_fewer_points():
    """The full protocol gets every point; a smaller one (--quick) at most the quick
    count; the shipped description: 4 and 3."""
    from imcspice.accelerators.accuracy import FULL, QUICK, Protocol
    from imcspice.accelerators.machines.hetrax import curve_points
    xb = {"accuracy_temp_points": 4, "accuracy_temp_points_quick": 3}
    assert curve_points(xb, FULL) == 4
    assert curve_points(xb, QUICK) == 3
    assert curve_points(xb, Protocol(sentences=2, seeds=2, calibration=2)) == 3
    assert curve_points({**xb, "accuracy_temp_points": 2}, QUICK) == 2
    assert curve_points({"accuracy_temp_points": 4}, QUICK) == 4
    assert curve_points({}, FULL) == 0
    shipped = archmod.load("hetrax").component("crossbar")
    assert (curve_points(shipped, FULL), curve_points(shipped, QUICK)) == (4, 3)


def test_curve_temperatures_span_the_range():
    from imcspice.accelerators.machines.hetrax import curve_temperatures
    assert curve_temperatures(1) == [27.0]
    assert curve_temperatures(3) == pytest.approx([27.0, 61.0, 95.0], abs=1e-12)
    assert curve_temperatures(4) == pytest.approx([27.0, 49.6667, 72.3333, 95.0], abs=1e-4)


def test_accuracy_vs_temperature_plot_draws_the_curve(tmp_path):
    """Top: the mean with error bars of the std over chips (bar ends mean +- std), the
    min and the nearest-neighbour agreement; bottom: the paired difference with bars of
    its 95 % t interval (2 standard errors in a curve without one); the stack's
    temperature marked on both."""
    from imcspice.accelerators.plots import accuracy_vs_temperature
    from plotcheck import check_png, line_data, saved_figures
    curve = {"temp_c": [27.0, 61.0, 95.0], "cosine_mean": [0.99, 0.97, 0.9],
             "cosine_std": [0.01, 0.02, 0.03], "chip_seeds": [0, 1],
             "cosine_min": [0.98, 0.95, 0.8], "nn_agreement": [1.0, 1.0, 0.75],
             "diff_mean": [0.0, -0.02, -0.09], "diff_sem": [0.0, 0.005, 0.01],
             "ref_temp_c": 27.0, "t_program_c": 27.0}
    with saved_figures() as figs:
        accuracy_vs_temperature(curve, tmp_path / "t.png", "HeTraX", marker_c=46.8)
    (fig, path), = figs
    top, bottom = fig.axes
    lines = line_data(top)
    for k in ("cosine_mean", "cosine_min", "nn_agreement"):
        assert any(np.array_equal(x, curve["temp_c"]) and np.array_equal(y, curve[k])
                   for x, y in lines), k

    def bars(ax):          # (x, low, high) of each error bar
        (segs,) = [c.lines[2][0].get_segments() for c in ax.containers]
        return np.array([(s[0][0], s[0][1], s[1][1]) for s in segs])
    np.testing.assert_allclose(bars(top), [(27.0, 0.98, 1.0), (61.0, 0.95, 0.99),
                                           (95.0, 0.87, 0.93)], atol=1e-12)
    assert any(np.array_equal(y, curve["diff_mean"]) for _, y in line_data(bottom))
    np.testing.assert_allclose(bars(bottom), [(27.0, 0.0, 0.0), (61.0, -0.03, -0.01),
                                              (95.0, -0.11, -0.07)], atol=1e-12)
    for ax in (top, bottom):
        assert any(np.all(x == 46.8) for x, _ in line_data(ax))   # the stack's temperature
    check_png(fig, path)
    # with its 95 % t interval the bottom panel's bars are that interval
    with saved_figures() as figs:
        accuracy_vs_temperature(dict(curve, diff_ci95=[0.0, 0.0635, 0.127]),
                                tmp_path / "t2.png", "HeTraX", marker_c=46.8)
    (fig, _), = figs
    np.testing.assert_allclose(bars(fig.axes[1]), [(27.0, 0.0, 0.0), (61.0, -0.0835, 0.0435),
                                                   (95.0, -0.217, 0.037)], atol=1e-12)


def test_torch_tier_reads_hot_with_the_same_noise():
    """The torch ReRAM-tier layer made from a hot crossbar: the same drifted weights and a
    read-noise std equal to the numpy path's hand value (test above)."""
    import torch
    from imcspice.accelerators.torch_analog import TorchCrossbarLinear
    torch.set_num_threads(1)
    w = np.array([[1.0, 0.25]], dtype=np.float32)
    xb = ThermalCrossbarLinear(w, _dev(), None, np.ones(2), 0, bit_serial=True,
                               read=ReramRead(MEM, 0.2, k=1.0)).at(85.0)
    t = TorchCrossbarLinear(xb, torch.as_tensor(w))
    torch.manual_seed(0)
    with torch.no_grad():
        y = t(torch.ones(4000, 2), torch.as_tensor(w)).numpy().ravel()
    cells = [100e-6, 1e-6 + 0.25 * 99e-6, 1e-6, 1e-6]
    var = sum(4 * 1.380649e-23 * 358.15 * g * _ratio(g, 85.0) / (2 * 20e-9) / 0.2 ** 2 +
              0.005 ** 2 * g * _ratio(g, 85.0) * GQ for g in cells)
    assert y.std() == pytest.approx(math.sqrt(var) / 99e-6, rel=0.05, abs=0)
    assert y.mean() == pytest.approx(float(xb.w_eff.sum()), rel=1e-3, abs=0)


# --- temperature-tracking reference (ThermalCrossbarLinear(reference="tile")) ----------
# Expected values by hand: h(G, T) = G * ratio(G, T) is a cell's read conductance; the
# reference pair of a tile is G+ref = g_min + span * mean|w|, G-ref = g_min; its gain at T
# is (h(G+ref, 27) - h(g_min, 27)) / (h(G+ref, T) - h(g_min, T)) (read at 27 C through the
# same law: h(G, 27) = G + the gap term's sinh excess, ~1 % at g_min).

def _h(g, t_c):
    return g * _ratio(g, t_c)


def _ref_xbar(w, t_c, reference="tile", reads=10 ** 12):
    """No programming noise, no IR drop; ``reads``: reference reads averaged (10^12: its
    read noise, ~0.1 % of one read, is negligible for the exact checks)."""
    xb = ThermalCrossbarLinear(w, _dev(), None, np.ones(w.shape[1]), 0, bit_serial=True,
                               read=ReramRead(MEM, 0.2, k=1.0), reference=reference,
                               ref_reads=reads)
    return xb.at(t_c)


@pytest.mark.parametrize("t_c", [46.8, 95.0])
def test_reference_restores_a_uniform_drift_exactly(t_c):
    """Every weight +1 (every cell pair g_max / g_min, as the reference pair): the
    corrected tile reads the cold (27 C) weights exactly, by the ratio of read
    conductances."""
    w = np.ones((3, 8), dtype=np.float32)
    hot = _ref_xbar(w, t_c, reference="none")
    ref = _ref_xbar(w, t_c)
    span = 99e-6
    cold = (_h(100e-6, 27.0) - _h(1e-6, 27.0)) / span
    drifted = (_h(100e-6, t_c) - _h(1e-6, t_c)) / span
    np.testing.assert_allclose(hot.w_eff, drifted, rtol=2e-5)      # uncorrected: drifted
    assert abs(drifted / cold - 1.0) > 0.05                         # (a real drift)
    np.testing.assert_allclose(ref.ref_gain, cold / drifted, rtol=2e-5)
    np.testing.assert_allclose(ref.w_eff, cold, rtol=2e-5)         # cold weights restored


@pytest.mark.parametrize("t_c", [46.8, 95.0])
def test_reference_leaves_the_differential_drift(t_c):
    """Weights 1 and 0.25 in one tile: the reference (level 0.625) removes the common
    gain; what remains is the states' different secant drift, computed by hand."""
    w = np.array([[1.0, 0.25]], dtype=np.float32)
    xb = _ref_xbar(w, t_c)
    span, gmin = 99e-6, 1e-6
    g_ref = gmin + 0.625 * span
    gain = (_h(g_ref, 27.0) - _h(gmin, 27.0)) / (_h(g_ref, t_c) - _h(gmin, t_c))

    def weights(t):
        return np.array([(_h(gmin + v * span, t) - _h(gmin, t)) / span for v in (1.0, 0.25)])
    hot, cold = weights(t_c), weights(27.0)
    np.testing.assert_allclose(xb.w_eff[0], gain * hot, rtol=2e-5)
    resid = gain * hot - cold
    assert np.all(np.abs(resid) > 1e-3 * cold)                       # not removed
    # the common gain is what the reference takes out: smaller error than uncorrected
    assert np.linalg.norm(resid) < np.linalg.norm(hot - cold)


def test_reference_is_exact_at_calibration_and_noisy_when_hot():
    """In the calibration pass the reference's read is the nominal (gain 1 exactly); at
    run time, hot, one read of a 2-row reference carries read noise: the gains of 200
    chips scatter around the hand value by the relative noise of the two independent
    reads (nominal and hot). A run-time read at t_cal itself is a second read too: its
    gains scatter around 1 by sqrt(2) x the relative noise of one cold read."""
    w = np.array([[1.0, 0.25]], dtype=np.float32)
    cold = ThermalCrossbarLinear(w, _dev(), None, np.ones(2), 0, bit_serial=True,
                                 read=ReramRead(MEM, 0.2, k=1.0), reference="tile")
    assert cold.at(27.0, calibrating=True).ref_gain[0] == 1.0
    t_c, span, gmin = 85.0, 99e-6, 1e-6
    g_ref = gmin + 0.625 * span
    gain = (_h(g_ref, 27.0) - _h(gmin, 27.0)) / (_h(g_ref, t_c) - _h(gmin, t_c))
    gains = np.array([ThermalCrossbarLinear(
        w, _dev(), None, np.ones(2), s, bit_serial=True, read=ReramRead(MEM, 0.2, k=1.0),
        reference="tile").at(t_c).ref_gain[0] for s in range(200)])
    # sigma of (I+ - I-)/v per read: the test above's per-cell variance, 2 cells each;
    # at 27 C (nominal) and at 85 C (hot), independent draws
    def var(g, t, tk):
        gh = _h(g, t)
        return 4 * 1.380649e-23 * tk * gh / (2 * 20e-9) / 0.2 ** 2 + 0.005 ** 2 * gh * GQ
    v_hot = 2 * (var(g_ref, t_c, 358.15) + var(gmin, t_c, 358.15))
    v_cold = 2 * (var(g_ref, 27.0, 300.15) + var(gmin, 27.0, 300.15))
    i_hot = 2 * (_h(g_ref, t_c) - _h(gmin, t_c))
    i_cold = 2 * (_h(g_ref, 27.0) - _h(gmin, 27.0))
    rel = math.sqrt(v_hot / i_hot ** 2 + v_cold / i_cold ** 2)
    assert gains.mean() == pytest.approx(gain, rel=4 * rel / math.sqrt(200) + 1e-4, abs=0)
    assert gains.std() / gain == pytest.approx(rel, rel=0.2, abs=0)     # 4 sigma of 200 draws
    rel_c = math.sqrt(2 * v_cold) / i_cold
    again = np.array([ThermalCrossbarLinear(
        w, _dev(), None, np.ones(2), s, bit_serial=True, read=ReramRead(MEM, 0.2, k=1.0),
        reference="tile").at(27.0).ref_gain[0] for s in range(200)])
    assert again.mean() == pytest.approx(1.0, abs=4 * rel_c / math.sqrt(200))
    assert again.std() == pytest.approx(rel_c, rel=0.2, abs=0)


def test_reference_draw_is_shared_across_temperatures():
    """Common random numbers: a chip's run-time reference read has one standard-normal
    draw z, the same at every temperature (only its amplitude follows T), and the
    calibration read has another. z is recovered at each T by hand: (read - mean) / sigma
    with the 2-row reference's mean 2 (h(G+ref) - h(g_min)) and the per-cell variances of
    test_read_noise_per_read_by_hand (no programming error, no IR drop in _dev())."""
    w = np.array([[1.0, 0.25]], dtype=np.float32)
    span, gmin = 99e-6, 1e-6
    g_ref = gmin + 0.625 * span

    def z(xb, t_c, which):
        tk = t_c + 273.15
        var = sum(2 * (4 * 1.380649e-23 * tk * _h(g, t_c) / (2 * 20e-9) / 0.2 ** 2 +
                       0.005 ** 2 * _h(g, t_c) * GQ) for g in (g_ref, gmin))
        mean = 2 * (_h(g_ref, t_c) - _h(gmin, t_c))
        return (xb._ref_current(t_c, which)[0] - mean) / math.sqrt(var)
    for seed in (0, 3):
        xb = ThermalCrossbarLinear(w, _dev(), None, np.ones(2), seed, bit_serial=True,
                                   read=ReramRead(MEM, 0.2, k=1.0), reference="tile")
        zs = [z(xb, t, "run") for t in (27.0, 46.8, 95.0)]
        assert zs == pytest.approx([zs[0]] * 3, abs=2e-3)   # the model's fit vs the law
        assert abs(zs[0]) > 1e-2                              # a real draw
        assert abs(z(xb, 27.0, "cal") - zs[0]) > 1e-2         # two independent reads


def test_hetrax_reads_the_reference_knob():
    a = archmod.load("hetrax")
    assert a.component("crossbar")["temp_reference"] in ("tile", "none")
    rng = np.random.default_rng(1)
    w = rng.standard_normal((8, 32)).astype(np.float32) * 0.1
    x = rng.standard_normal((4, 32)).astype(np.float32)
    ranges = {"layer0.ffn.in": {"in_ch": np.abs(x).max(axis=0)}}
    for mode in ("tile", "none"):
        a = archmod.load("hetrax", [f"crossbar.temp_reference={mode}"])
        ops = HetraxOps(a, _dev(), ranges, 0, Nonideal.scaled(1.0), mem=MEM, temp_c=85.0)
        ops.calibrating = True
        ops.linear(x, w, None, "layer0.ffn.in")
        ops.calibrating = False
        xb = ops._xbars["layer0.ffn.in"]
        assert xb.reference == mode
        assert (xb.ref_gain[0] < 0.9) == (mode == "tile")      # hot: the gain falls
    with pytest.raises(ValueError, match="temp_reference"):
        HetraxOps(archmod.load("hetrax", ["crossbar.temp_reference=column"]), _dev(),
                  ranges, 0, Nonideal.scaled(1.0), mem=MEM)


def test_torch_tier_applies_the_reference_gain():
    """The torch layer made from a referenced hot crossbar: mean = the hand-corrected
    weights' sum, read-noise std = the gain x the uncorrected hand value."""
    import torch
    from imcspice.accelerators.torch_analog import TorchCrossbarLinear
    torch.set_num_threads(1)
    w = np.array([[1.0, 0.25]], dtype=np.float32)
    xb = _ref_xbar(w, 85.0)
    t = TorchCrossbarLinear(xb, torch.as_tensor(w))
    torch.manual_seed(0)
    with torch.no_grad():
        y = t(torch.ones(4000, 2), torch.as_tensor(w)).numpy().ravel()
    span, gmin = 99e-6, 1e-6
    g_ref = gmin + 0.625 * span
    gain = (_h(g_ref, 27.0) - _h(gmin, 27.0)) / (_h(g_ref, 85.0) - _h(gmin, 85.0))
    hot = sum((_h(gmin + v * span, 85.0) - _h(gmin, 85.0)) / span for v in (1.0, 0.25))
    assert y.mean() == pytest.approx(gain * hot, rel=1e-3, abs=0)
    cells = [100e-6, 1e-6 + 0.25 * 99e-6, 1e-6, 1e-6]
    var = sum(4 * 1.380649e-23 * 358.15 * _h(g, 85.0) / (2 * 20e-9) / 0.2 ** 2 +
              0.005 ** 2 * _h(g, 85.0) * GQ for g in cells)
    assert y.std() == pytest.approx(gain * math.sqrt(var) / 99e-6, rel=0.05, abs=0)


def test_torch_read_noise_is_the_operators_own_draw():
    """The torch crossbar draws its read noise from its own generator (seeded by the chip
    and the operator): the global torch seed changes nothing, another operator seed
    changes the draw, and the draw's spread is the per-read law's (finite, > 0)."""
    import torch

    from imcspice.accelerators.torch_analog import TorchCrossbarLinear
    w = np.array([[1.0, 0.25]], dtype=np.float32)
    xb = ThermalCrossbarLinear(w, _dev(), None, np.ones(2), 0, bit_serial=False,
                               read=ReramRead(MEM, 0.2, k=1.0)).at(85.0)
    x = torch.ones((256, 2))
    wt = torch.as_tensor(w)

    def run(global_seed, noise_seed):
        torch.manual_seed(global_seed)
        with torch.no_grad():
            return TorchCrossbarLinear(xb, wt, noise_seed)(x, wt)

    a, b, c = run(0, (3, 11)), run(1, (3, 11)), run(0, (3, 12))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert 0 < float(a.std()) < 1


@pytest.mark.parametrize("factor", [2.0, 3.0, 6.0])
def test_hetrax_keeps_digital_the_outlier_channels_its_description_names(factor):
    """The crossbars read the input channels the description's ``crossbar.outlier_factor``
    leaves analog, the same factor the pricing reads (evaluate.py, xbar_loads.py): one
    machine. Ranges 1 (x29), 2.5, 4, 7: median 1, so factor 2 keeps 2.5, 4 and 7 digital,
    3 keeps 4 and 7, 6 keeps 7 (by hand)."""
    a = archmod.load("hetrax", [f"crossbar.outlier_factor={factor}"])
    rng = np.random.default_rng(2)
    w = rng.standard_normal((8, 32)).astype(np.float32) * 0.1
    in_ch = np.ones(32)
    in_ch[[3, 9, 20]] = [2.5, 4.0, 7.0]
    ops = HetraxOps(a, _dev(), {"layer0.ffn.in": {"in_ch": in_ch}}, 0, Nonideal.only([]))
    ops.calibrating = True
    ops.linear(rng.standard_normal((4, 32)).astype(np.float32), w, None, "layer0.ffn.in")
    expect = {2.0: [3, 9, 20], 3.0: [9, 20], 6.0: [20]}[factor]
    assert list(np.flatnonzero(ops._xbars["layer0.ffn.in"].digital)) == expect


def test_race_it_reads_its_cells_through_the_same_model_when_described():
    """crossbar.read_model = true (shipped): RACE-IT's crossbars are read like HeTraX's tiers, at the
    description's 27 C: each read draws sigma_i^2 = 4 kB T G / (2 t_read) / V^2 + (0.005)^2
    G g_q per cell at its read conductance (the hand formula above, 4000 reads of a drive
    of 1 on both rows). false (the machine before 2026-12-02): linear cells,
    no read noise, every read the same. A non-boolean, or no memristor model, is refused."""
    from imcspice.accelerators.race_it import RaceItOps
    from imcspice.errors import ArchError
    w = np.array([[1.0, 0.25]], dtype=np.float32)
    ranges = {"lin": {"in_ch": np.ones(2)}}
    ni = Nonideal(0.0, 1.0, 0.0, False)
    ops = RaceItOps(archmod.load("race-it"), _dev(), 0.0, ranges, ni, mem=MEM)
    xb = ops.crossbar(w, "lin")
    assert isinstance(xb, ThermalCrossbarLinear)
    y = xb(np.ones((4000, 2), dtype=np.float32)).ravel()
    var = 0.0
    for g in [100e-6, 1e-6 + 0.25 * 99e-6, 1e-6, 1e-6]:
        gh = g * _ratio(g, 27.0)
        var += 4 * 1.380649e-23 * 300.15 * gh / (2 * 20e-9) / 0.2 ** 2 + 0.005 ** 2 * gh * GQ
    assert y.std() == pytest.approx(math.sqrt(var) / 99e-6, rel=0.05, abs=0)
    plain = RaceItOps(archmod.load("race-it", ["crossbar.read_model=false"]), _dev(), 0.0,
                      ranges, ni).crossbar(w, "lin")
    assert not isinstance(plain, ThermalCrossbarLinear)
    assert np.ptp(plain(np.ones((50, 2), dtype=np.float32))) == 0.0
    with pytest.raises(ArchError, match="expected true or false"):   # refused at load
        archmod.load("race-it", ["crossbar.read_model=yes"])
    bad = archmod.load("race-it")
    bad.component("crossbar").params["read_model"] = "yes"           # e.g. a variant file
    with pytest.raises(ArchError, match="must be true or false"):
        RaceItOps(bad, _dev(), 0.0, ranges, ni, mem=MEM)
    with pytest.raises(ArchError, match="memristor model"):
        RaceItOps(archmod.load("race-it"), _dev(), 0.0, ranges, ni)


@pytest.mark.parametrize("flicker", [False, True])
def test_reference_reads_average_the_tias_noise_but_not_its_flicker(flicker):
    """The reference pair's two bit-line TIAs add 1 uA rms each to a read. Averaged over
    10^12 reads the part drawn anew per read vanishes; a part below 1 MHz (here all of
    it) is one draw for all of them and stays: over 300 chips the reference's spread is,
    by hand, sqrt(2) x 1 uA / (v0 sinh(v_read / v0)) (in S: no IR drop, trims 1)."""
    one = lambda load, t=None: 1e-6 * np.ones(np.shape(load))     # noqa: E731
    dev = replace(_dev(), tia_noise_a=one, tia_noise_lf_a=one if flicker else None)
    w = np.ones((3, 8), dtype=np.float32)
    refs = [ThermalCrossbarLinear(w, dev, None, np.ones(8), s, bit_serial=True,
                                  read=ReramRead(MEM, 0.2, k=1.0), reference="tile",
                                  ref_reads=10 ** 12)._ref_current(27.0, "cal")[0]
            for s in range(300)]
    hand = math.sqrt(2) * 1e-6 / (0.5 * math.sinh(0.2 / 0.5))
    if flicker:
        assert np.std(refs) == pytest.approx(hand, rel=0.15)
    else:
        assert np.std(refs) < 0.01 * hand
