"""ACAM (6T2M, SKY130) on real ngspice: window physics, search transient, Compute-ACAM."""
import math

import numpy as np
import pytest

from imcspice.characterize import rawfile
from imcspice.characterize.params import ParameterError
from imcspice.characterize.recipes import get_recipe
from imcspice.characterize.plots.acam import plot_acam_window
from imcspice.characterize.recipes.acam import window_model_from_raw
from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec
from imcspice.circuits import acam as ac
from imcspice.circuits import acam_program as ap
from plotcheck import check_png, line_data, saved_figures

G = [2.0, 10.0, 50.0, 150.0]


@pytest.fixture(scope="module")
def window(pool, tmp_path_factory):
    spec = SweepSpec("acam-window", {"g_low_us": G, "g_high_us": G})
    out = tmp_path_factory.mktemp("acam") / "win.raw.h5"
    raw = run_sweep(spec, out, pool=pool, progress=False)
    assert raw.status_counts() == {"ok": len(G) ** 2}
    return raw


@pytest.fixture(scope="module")
def corners(pool, tmp_path_factory):
    spec = SweepSpec("acam-window", {"g_low_us": [2.0, 10.0, 100.0],
                                     "g_high_us": [2.0, 10.0, 100.0]},
                     corners=["ss", "tt", "ff"])
    out = tmp_path_factory.mktemp("acam") / "corners.raw.h5"
    raw = run_sweep(spec, out, pool=pool, progress=False)
    assert raw.status_counts() == {"ok": 27}
    return raw


def test_bounds_rise_with_their_own_conductance_only(window):
    lo = window.data["v_lo_v"][0, 0]    # (g_low, g_high)
    hi = window.data["v_hi_v"][0, 0]
    assert np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))
    # each bound rises with its own memristor's conductance ...
    assert np.all(np.diff(lo, axis=0) > 0.02), lo
    assert np.all(np.diff(hi, axis=1) > 0.02), hi
    # ... and does not see the other memristor (separate branches; < 1 mV)
    assert np.ptp(lo, axis=1).max() < 1e-3
    assert np.ptp(hi, axis=0).max() < 1e-3
    # programmable range: hundreds of mV over 2-150 uS (Li et al.: ~0.4-1.35 V over 1-150 uS)
    assert lo[-1, 0] - lo[0, 0] > 0.4
    assert hi[0, -1] - hi[0, 0] > 0.5


def test_window_is_open_for_typical_pairs_and_leaks_little(window):
    width = window.data["width_v"][0, 0]
    leak = window.data["i_leak_a"][0, 0]
    i_on = ac.pulldown_on_current_a(1.0, 0.15)
    for il in range(len(G)):
        for ih in range(il + 1, len(G)):          # g_high > g_low: the programmed ranges
            assert width[il, ih] > 0.05, (G[il], G[ih], width[il, ih])
            # a matching cell's ML current at the window centre is far below the criterion
            assert leak[il, ih] < i_on / 100
    # the current curves agree with the extracted bounds
    v = window.axis("v_dl_v")
    i_lo = window.data["i_ml_lo_a"][0, 0, 1, 2]
    lo = window.data["v_lo_v"][0, 0, 1, 2]
    assert i_lo[v < lo - 0.05].min() > i_on > i_lo[v > lo + 0.05].max()


def test_window_shifts_with_corner(corners):
    lo = corners.data["v_lo_v"][:, 0]     # (corner, g_low, g_high)
    hi = corners.data["v_hi_v"][:, 0]
    ss, ff = 0, 2
    assert np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))
    # ff vs ss differ by well more than a few mV at low and mid conductance (measured
    # ~45-50 mV). Near 100 uS the faster divider nfet and the faster pull-down shift
    # the lower bound in opposite directions and nearly cancel (~3 mV).
    assert np.all(np.abs(lo[ss, :2] - lo[ff, :2]) > 0.02), lo[ss] - lo[ff]
    assert np.all(np.abs(hi[ss, :, :2] - hi[ff, :, :2]) > 0.01), hi[ss] - hi[ff]
    # at low conductance the slow corner's weaker T1 needs a higher data-line voltage
    assert lo[ss, 0, 0] > lo[1, 0, 0] > lo[ff, 0, 0]
    # monotonic in conductance at every corner
    assert np.all(np.diff(lo[:, :, 0], axis=1) > 0)
    assert np.all(np.diff(hi[:, 0, :], axis=1) > 0)


def test_plot_window(corners, tmp_path):
    """The plot draws, per corner (ss, tt, ff), v_lo vs g_low at the first g_high and v_hi
    vs g_high at the first g_low: exactly the sweep's numbers, on a log conductance axis."""
    out = tmp_path / "win.png"
    with saved_figures() as figs:
        plot_acam_window(corners, out)
    (fig, path), = figs
    assert path == out
    check_png(fig, out, dpi=120)
    ax, = fig.axes
    assert ax.get_xscale() == "log"
    lines = line_data(ax)
    assert len(lines) == 6
    g = [2.0, 10.0, 100.0]
    for ci, corner in enumerate(["ss", "tt", "ff"]):
        (xl, yl), (xh, yh) = lines[2 * ci], lines[2 * ci + 1]
        np.testing.assert_array_equal(xl, g)
        np.testing.assert_array_equal(xh, g)
        np.testing.assert_array_equal(yl, corners.data["v_lo_v"][ci, 0, :, 0])
        np.testing.assert_array_equal(yh, corners.data["v_hi_v"][ci, 0, 0, :])
        assert ax.get_lines()[2 * ci].get_label() == f"{corner} lower bound"


def test_window_model_from_sweep_inverts(window):
    wm = window_model_from_raw(window, corner="tt")
    for v in (0.7, 0.9, 1.1):
        assert abs(float(wm.lo(wm.g_for_lo(v))) - v) < 1e-3
        assert abs(float(wm.hi(wm.g_for_hi(v))) - v) < 1e-3


def test_mc_spreads_thresholds(pool, tmp_path):
    assert get_recipe("acam-mc").outputs == get_recipe("acam-window").outputs
    spec = SweepSpec("acam-mc", {"g_low_us": [10.0], "g_high_us": [50.0]}, mc=8, seed=3)
    raw = run_sweep(spec, tmp_path / "mc.raw.h5", pool=pool, progress=False)
    assert raw.status_counts() == {"ok": 8}
    lo = raw.data["v_lo_v"].ravel()
    hi = raw.data["v_hi_v"].ravel()
    assert np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))
    assert np.std(lo) > 1e-3 and np.std(hi) > 1e-3     # minimum-size devices mismatch
    nom = run_sweep(SweepSpec("acam-mc", {"g_low_us": [10.0], "g_high_us": [50.0]}),
                    tmp_path / "nom.raw.h5", pool=pool, progress=False)
    assert abs(np.mean(lo) - nom.data["v_lo_v"].item()) < 4 * np.std(lo)


def test_mismatch_model_sigma_over_conductance(pool, tmp_path):
    """acam-mismatch from a real MC sweep: sigma(G) as a log table over ln(G), held out."""
    from imcspice.characterize.fit import fit
    g = [float(x) for x in np.geomspace(1.0, 120.0, 12)]
    spec = SweepSpec("acam-mc", {"g_low_us": g, "g_high_us": [20.0]}, mc=8, seed=1)
    path = tmp_path / "mc.raw.h5"
    assert run_sweep(spec, path, pool=pool, progress=False).status_counts() == {"ok": 96}
    m = fit(path)
    assert m.meta["fits"]["sigma_v_lo_v"]["form"] == "table"
    assert m.meta["fits"]["sigma_v_hi_v"]["form"] == "poly-0"   # one g_high: a constant
    e = m.heldout_error["outputs"]["sigma_v_lo_v"]
    # the table must not add error beyond the statistical resolution of what it tabulates:
    # a standard deviation from n samples has a standard error sigma / sqrt(2 (n - 1))
    # (normal samples), here 27 % of the smallest sampled sigma (measured error: 0.02 mV)
    raw = rawfile.read(path)
    v = raw.data["v_lo_v"]
    mc_axis = raw.data_axes["v_lo_v"].index("mc")
    sampled = np.std(v, axis=mc_axis, ddof=1)
    assert e["n_heldout"] >= 2 and e["max_abs"] < sampled.min() / math.sqrt(2 * (8 - 1)), e
    sig = m.sigma("lo", np.array([1.0, 10.0, 120.0]), corner="tt")
    # steep rise at the top (the input pair leaves its Pelgrom floor)
    assert sig[2] > 1.5 * sig[1]
    # transistor mismatch alone (mem_var=0, same seeds): the flat Pelgrom floor of the
    # minimum-size input pair at low G, ~18 mV at 1 uS
    g3 = [1.0, 10.0, 120.0]
    tr = run_sweep(SweepSpec("acam-mc", {"g_low_us": g3, "g_high_us": [20.0],
                                         "mem_var": [0.0]}, mc=8, seed=1),
                   tmp_path / "mc_tr.raw.h5", pool=pool, progress=False)
    assert tr.status_counts() == {"ok": 24}
    sig_tr = np.std(tr.data["v_lo_v"], axis=tr.data_axes["v_lo_v"].index("mc"),
                    ddof=1).ravel()
    assert 5e-3 < sig_tr[0] < 25e-3, sig_tr
    # with M1's programming error + read noise (mem_var=1, the default): expected sigma
    # at 1 uS by hand, in quadrature, from models/memristor.py's sigma_G and the nominal
    # window slope dv_lo/dG (acam-window, forward difference): ~32 mV vs ~34 mV measured
    from imcspice.models import memristor as mem
    nom = run_sweep(SweepSpec("acam-window", {"g_low_us": [1.0, 1.1], "g_high_us": [20.0]}),
                    tmp_path / "nom.raw.h5", pool=pool, progress=False).data["v_lo_v"].ravel()
    slope = (nom[1] - nom[0]) / 0.1e-6                                  # V/S at 1 uS
    sig_g = math.hypot(float(mem.program_sigma_s(1e-6)),
                       mem.READ_RTN_REL * math.sqrt(1e-6 * mem.G_Q_S))  # ~0.52 uS
    expect = math.hypot(sig_tr[0], slope * sig_g)
    i1 = g.index(1.0)
    sig_mc = np.take(sampled, i1, axis=raw.data_axes["v_lo_v"].index("g_low_us") - 1).item()
    assert sig_mc > sig_tr[0] and 0.7 * expect < sig_mc < 1.4 * expect, (sig_mc, expect)
    assert 0.7 * expect < sig[0] < 1.4 * expect, (sig[0], expect)
    assert m.heldout_error["outputs"]["mean_v_lo_v"]["max_abs"] < 5e-3   # 3.1 mV; target 5


@pytest.fixture(scope="module")
def search(pool, tmp_path_factory):
    spec = SweepSpec("acam-search", {"n_cells": [2, 8], "dv_v": [-0.1, 0.03, 0.1, 0.2]})
    raw = run_sweep(spec, tmp_path_factory.mktemp("acam") / "s.raw.h5", pool=pool,
                    progress=False)
    assert raw.status_counts() == {"ok": 8}, raw.message
    return raw


def test_discharge_time_falls_with_distance_and_rises_with_cells(search):
    t = search.data["t_discharge_s"][0, 0]          # (n_cells, dv)
    assert np.all(np.isnan(t[:, 0]))                 # inside the window: stays matched
    assert np.all(np.isfinite(t[:, 1:]))
    assert np.all(np.diff(t[:, 1:], axis=1) < 0), t  # further outside: faster
    assert np.all(t[1, 1:] > t[0, 1:]), t            # more cells: more ML capacitance
    assert np.all(t[:, 1:] < 5e-9)


def test_matched_row_keeps_ml_high_and_margin(search):
    vdd, vs = 1.8, 0.9
    vm = search.data["v_ml_match_v"][0, 0]
    vt = search.data["v_ml_test_v"][0, 0]
    assert np.all(vm > 0.95 * vdd)                    # all matching: ML stays precharged
    assert np.all(vt[:, 0] > 0.95 * vdd)              # test input inside its window
    assert np.all(vt[:, 2:] < vs / 4)                 # clear mismatch: ML discharged
    # the StrongARM decides as the ML voltage says: match inside, mismatch outside
    assert np.all(search.data["d_sense_match"][0, 0] == 0)
    np.testing.assert_array_equal(search.data["d_sense_test"][0, 0], vt < vs)
    m = search.data["v_margin_v"][0, 0]
    assert np.all(m[:, 2:] > 1.0) and np.all(np.abs(m[:, 0]) < 0.05)
    e, em = search.data["e_search_j"][0, 0], search.data["e_search_match_j"][0, 0]
    assert np.all(e[:, 1:] > em[:, 1:])             # recharging a discharged ML costs energy
    assert np.all(em[1] > em[0]) and np.all(em > 0)  # more cells: more energy



def _rising_crossing(x, i, level):
    """First x where i rises through ``level``, linear interpolation in log(i) (written
    here from the definition, not the recipe's ``crossing``)."""
    k = int(np.argmax(np.asarray(i) >= level))
    assert k > 0 and i[k] >= level > i[k - 1]
    f = (np.log(level) - np.log(i[k - 1])) / (np.log(i[k]) - np.log(i[k - 1]))
    return x[k - 1] + f * (x[k] - x[k - 1])


def test_replica_edges_match_a_standalone_cell(search, window):
    """acam-search locates the window edges on a replica cell inside the row's deck. The
    expectation comes from a different simulation: acam-window's standalone DC sweep of one
    cell at the same conductances (g_low 10 uS, g_high 50 uS: the recipe defaults), its
    upper-branch current i_ml_hi_a crossing the on-criterion I_on = 100 nA x W/L =
    100 nA x 1.0/0.15 = 667 nA (constant-current threshold; w_pd 1 um, l_pd 0.15 um),
    located here by log-linear interpolation between the 2.5 mV DC steps. (Replaces a
    golden 1.0634 V +/- 10 mV copied from an earlier run.)"""
    i_on = 100e-9 * 1.0 / 0.15
    dl = window.axis("v_dl_v")
    assert dl[1] - dl[0] == pytest.approx(2.5e-3, rel=1e-6, abs=0)
    ig_lo, ig_hi = G.index(10.0), G.index(50.0)
    v_hi = _rising_crossing(dl, window.data["i_ml_hi_a"][0, 0, ig_lo, ig_hi], i_on)
    v_lo = _rising_crossing(dl[::-1], window.data["i_ml_lo_a"][0, 0, ig_lo, ig_hi][::-1],
                            i_on)
    assert 0.3 < v_lo < v_hi < 1.5                     # a real, open window
    # both row lengths: the replica is one cell whatever the row; within one DC step
    for k in range(2):
        assert search.data["v_hi_v"][0, 0, k, 0] == pytest.approx(v_hi, abs=2.5e-3)
        assert search.data["v_lo_v"][0, 0, k, 0] == pytest.approx(v_lo, abs=2.5e-3)


def test_lower_edge_mismatch_discharges(pool, tmp_path):
    spec = SweepSpec("acam-search", {"edge": ["lo"], "dv_v": [-0.1, 0.15], "n_cells": [2]})
    raw = run_sweep(spec, tmp_path / "lo.raw.h5", pool=pool, progress=False)
    assert raw.status_counts() == {"ok": 2}
    t = raw.data["t_discharge_s"].ravel()
    assert math.isnan(t[0]) and 0 < t[1] < 5e-9


def test_compute_acam_decodes_with_bounded_error(pool, tmp_path):
    spec = SweepSpec("compute-acam", {"func": ["exp", "gelu"]})
    raw = run_sweep(spec, tmp_path / "c.raw.h5", pool=pool, progress=False)
    assert raw.status_counts() == {"ok": 2}, raw.message
    for k in range(2):
        code = raw.data["code"][0, 0, k]
        ideal = raw.data["code_ideal"][0, 0, k]
        assert raw.data["max_abs_err_lsb"][0, 0, k] <= 1      # Gray code: one LSB at most
        assert raw.data["mean_abs_err_lsb"][0, 0, k] <= 0.1
        assert set(code.astype(int)) == set(ideal.astype(int))
        n = int(raw.data["n_rows"][0, 0, k])
        assert n == 4                                  # 3 Gray bits of these functions
        g = np.concatenate([raw.data["g_low_us"][0, 0, k, :n],
                            raw.data["g_high_us"][0, 0, k, :n]])
        assert np.all((g >= 1.0) & (g <= 150.0))
        assert np.all(np.isnan(raw.data["g_low_us"][0, 0, k, n:]))
    # the calibration replicas agree with acam-window at the same conductances
    gcal = raw.axis("g_cal_us")
    pick = [2, 8]
    win = run_sweep(SweepSpec("acam-window", {"g_low_us": list(gcal[pick])}),
                    tmp_path / "w.raw.h5", pool=pool, progress=False)
    np.testing.assert_allclose(raw.data["cal_v_lo_v"][0, 0, 0, pick],
                               win.data["v_lo_v"].ravel(), atol=1e-3)


# --- no ngspice below --------------------------------------------------------------------
def test_gray_code_round_trip_and_single_bit_steps():
    n = np.arange(256)
    g = ap.gray_encode(n)
    np.testing.assert_array_equal(ap.gray_decode(g), n)
    assert np.all(np.array([bin(x).count("1") for x in g[1:] ^ g[:-1]]) == 1)


@pytest.mark.parametrize("func,bits", [("exp", 3), ("gelu", 3), ("exp", 2), ("gelu", 4)])
def test_program_decodes_exactly_with_ideal_cells(func, bits):
    f, a, b = ap.FUNCTIONS[func]
    wm = ap.WindowModel.reference()
    ranges = ap.compute_acam_program(f, a, b, bits, wm)
    assert len(ranges) == bits
    conds = ap.program_conductances(ranges, wm)
    x = np.linspace(a, b, 501)
    vx = wm.x_to_v(x, a, b)
    # ideal cells: a row matches when v_lo(g_low) <= v <= v_hi(g_high)
    flat = [g for bit in conds for g in bit]
    match = np.stack([(vx >= wm.lo(gl) - 1e-9) & (vx <= wm.hi(gh) + 1e-9)
                      for gl, gh in flat], axis=-1)
    code = ap.decode_matches(match, [len(r) for r in ranges])
    ideal = ap.quantized_code(f, x, a, b, bits)
    # exact except at inputs within 1e-6 of a code boundary
    assert np.mean(code != ideal) < 0.01
    if func == "exp" and bits == 3:
        assert [len(r) for r in ranges] == [2, 1, 1]      # Gray bits of a monotone ramp


def test_builders_refuse_bad_values():
    with pytest.raises(ValueError):
        ac.row_lines(0, [], [], {})
    with pytest.raises(ValueError):
        ac.cell_line("c", "dl; .control", "ml", "a", "b", "sl", "vdd", "0", {})
    with pytest.raises(ValueError):
        ac.cell_line("c", "dl", "ml", "a", "b", "sl", "vdd", "0", {"g_low_us": float("nan")})
    with pytest.raises(ParameterError):
        SweepSpec("acam-search", {"n_cells": [129]})
    with pytest.raises(ParameterError):
        SweepSpec("acam-window", {"g_low_us": [0.1]})


def test_search_and_compute_plots(search, tmp_path):
    """The acam-search plot: one curve per row length, discharge time (ns) vs dv (mV),
    exactly the sweep's values; the matched point (dv < 0) is a gap (NaN), not a zero."""
    from imcspice.characterize.fit_plot import plot_raw as plots
    with saved_figures() as figs:
        plots(search, tmp_path / "s.png")
    (fig, path), = figs
    check_png(fig, path, dpi=120)
    ax, = fig.axes
    lines = line_data(ax)
    assert [ln.get_label() for ln in ax.get_lines()] == ["2 cells", "8 cells"]
    for k, (x, y) in enumerate(lines):
        np.testing.assert_allclose(x, [-100.0, 30.0, 100.0, 200.0])
        np.testing.assert_allclose(y, search.data["t_discharge_s"][0, 0, k] * 1e9)
        assert np.isnan(y[0]) and np.all(np.isfinite(y[1:]))


def test_subckt_defaults_match_the_parameter_dataclass():
    import re
    from dataclasses import fields
    from imcspice import netlists
    text = netlists.path("acam.spice").read_text()
    m = re.search(r"^\.subckt imc_acam_6t2m (.*?)^[^+]", text, flags=re.S | re.M)
    header = m.group(1).replace("\n+", " ")
    defaults = dict(re.findall(r"(\w+)=([0-9.eE+-]+)", header))
    cell = ac.AcamCell()
    for f in fields(ac.AcamCell):
        if f.name in ac.AcamCell.SUBCKT_PARAMS:
            assert float(defaults[f.name]) == getattr(cell, f.name), f.name


def test_32_cell_row_reduced(search, tmp_path):
    """A long row in CI: one point (dv = 0.1 V above the upper edge) of a 32-cell row,
    its evaluation window cut from 5 to 2.5 ns, compared with the 8-cell row of the
    `search` fixture at the same dv (the 128-cell row: test_full_size_128_cell_row, slow;
    with the in-row DC window search and line resistance a 128-cell point costs minutes
    on 2 busy cores). Expectations:
    * the discharge time t = C_ML * dV / I: one mismatching cell's pull-down current, an
      ML capacitance growing linearly with N (each cell adds its pull-down drains and a
      wire segment) on top of fixed parts (precharge device, comparator input), so
      t8 < t32 < 4 * t8;
    * 31 matching cells + the test cell: with the input inside every window the ML still
      holds above 95 % of VDD and the comparator decides "match"; the mismatching row
      is decided "mismatch";
    * the replica's window edges do not depend on the row (the standalone cell's values,
      test_replica_edges_match_a_standalone_cell)."""
    spec = SweepSpec("acam-search", {"n_cells": [32], "dv_v": [0.1], "t_eval_s": [2.5e-9]})
    raw = run_sweep(spec, tmp_path / "row32.raw.h5", workers=1, progress=False)
    assert raw.status_counts() == {"ok": 1}, raw.message
    t32 = float(raw.data["t_discharge_s"].item())
    t8 = float(search.data["t_discharge_s"][0, 0, 1, 2])       # n_cells 8, dv 0.1
    assert t8 < t32 < 4 * t8, (t8, t32)
    assert float(raw.data["v_ml_match_v"].item()) > 0.95 * 1.8
    assert float(raw.data["v_ml_test_v"].item()) < 0.9 / 4
    assert raw.data["d_sense_match"].item() == 0 and raw.data["d_sense_test"].item() == 1
    np.testing.assert_allclose(raw.data["v_hi_v"].item(), search.data["v_hi_v"][0, 0, 1, 2],
                               atol=2.5e-3)


@pytest.mark.slow
def test_full_size_128_cell_row(tmp_path):
    """Full-size row (N = 128): runs with the recipe's own timeout (no --timeout needed)."""
    from imcspice.characterize.runner import run_sweep
    from imcspice.characterize.sweep import SweepSpec
    raw = run_sweep(SweepSpec("acam-search", {"n_cells": [8, 128], "dv_v": [0.1]}),
                    tmp_path / "row128.raw.h5", workers=2, progress=False, timeout_s=1800)
    assert raw.status_counts() == {"ok": 2}
    t = raw.data["t_discharge_s"].ravel()
    assert t[1] > t[0] > 0   # a 16x longer match line discharges more slowly


def test_tied_sweep_measures_both_bounds(window, pool, tmp_path):
    """g_high_from=g_low programs M2 like M1, so one 1-D sweep gives both bounds: its
    v_lo_v(g) and v_hi_v(g) equal the full g_low x g_high grid's v_lo_v at g_low = g and
    v_hi_v at g_high = g (each bound depends on its own memristor only); the window model
    read from it inverts as the grid's does."""
    raw = run_sweep(SweepSpec("acam-window", {"g_low_us": G, "g_high_from": ["g_low"]}),
                    tmp_path / "tied.raw.h5", pool=pool, progress=False)
    assert raw.status_counts() == {"ok": len(G)}
    lo, hi = raw.data["v_lo_v"].ravel(), raw.data["v_hi_v"].ravel()
    np.testing.assert_allclose(lo, window.data["v_lo_v"][0, 0, :, 0], atol=1e-3)
    np.testing.assert_allclose(hi, window.data["v_hi_v"][0, 0, 0, :], atol=1e-3)
    wm = window_model_from_raw(raw, corner="tt")
    assert abs(float(wm.hi(wm.g_for_hi(0.9))) - 0.9) < 1e-3
