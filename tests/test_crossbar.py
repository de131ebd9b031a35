"""Crossbar recipes on real ngspice: IR drop, ideal arithmetic, Kirchhoff's laws against
an independent nodal analysis, the 1T1R access drop, settling, and .npy validation."""
import numpy as np
import pytest

from imcspice.characterize.params import ParameterError
from imcspice.characterize.plots.crossbar import plot_crossbar
from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec
from imcspice.circuits import crossbar as cb
from plotcheck import check_png, line_data, saved_figures


def _sweep(tmp_path, name, recipe, axes, pool):
    raw = run_sweep(SweepSpec(recipe, axes), tmp_path / f"{name}.raw.h5", pool=pool,
                    progress=False)
    assert raw.status_counts() == {"ok": raw.status.size}, raw.message.ravel()
    return raw


def nodal_solution(g, v_in, r_wl, r_bl):
    """Independent reference: nodal analysis of the same resistor network (word-line
    driver at column 0, one segment per cell on each line, bit lines at 0 V past the
    last row). Returns (bit-line currents, V(wl) (R, C), V(bl) (R, C))."""
    rows, cols = g.shape
    n = rows * cols
    a = np.zeros((2 * n, 2 * n))
    b = np.zeros(2 * n)
    wl = lambda r, c: r * cols + c          # noqa: E731
    bl = lambda r, c: n + r * cols + c      # noqa: E731

    def stamp(i, j, y):
        a[i, i] += y
        if j is not None:
            a[j, j] += y
            a[i, j] -= y
            a[j, i] -= y

    gw, gb = 1 / r_wl, 1 / r_bl
    for r in range(rows):
        stamp(wl(r, 0), None, gw)           # driver at in<r> = v_in[r]
        b[wl(r, 0)] += gw * v_in[r]
        for c in range(1, cols):
            stamp(wl(r, c - 1), wl(r, c), gw)
    for c in range(cols):
        for r in range(rows - 1):
            stamp(bl(r, c), bl(r + 1, c), gb)
        stamp(bl(rows - 1, c), None, gb)    # to the virtual ground at 0 V
    for r in range(rows):
        for c in range(cols):
            stamp(wl(r, c), bl(r, c), g[r, c])
    x = np.linalg.solve(a, b)
    v_wl = x[:n].reshape(rows, cols)
    v_bl = x[n:].reshape(rows, cols)
    return gb * v_bl[-1], v_wl, v_bl


# --- crossbar-column ----------------------------------------------------------------------
# These tests check the column (wires, cells, ladder forms) against ideal references, so
# they read it through the behavioral TIA (the labelled option: an ideal virtual ground
# at 0 V); the default SKY130 OTA TIA is tested in test_crossbar_light_and_ota.py.
def test_ir_drop_grows_with_rows_and_wire_resistance(tmp_path, pool):
    rows, rw = [16, 64, 128], [1.0, 4.0, 10.0]
    raw = _sweep(tmp_path, "ir", "crossbar-column",
                 {"tia": ["behavioral"], "device": ["linear"], "rows": rows, "r_bl_ohm": rw}, pool)
    d = raw.data["ir_drop_rel"].squeeze()            # (rows, r_bl_ohm)
    assert np.all(d > 0)
    assert np.all(np.diff(d, axis=0) > 0), d        # more rows -> more drop
    assert np.all(np.diff(d, axis=1) > 0), d        # more wire resistance -> more drop
    i = raw.data["i_out_a"].squeeze()
    assert np.all(np.diff(i, axis=1) < 0)           # and less current
    # the far end of the bit line rises above the virtual ground by the IR drop
    vfar = raw.data["v_bl_far_v"].squeeze()
    assert np.all(np.diff(vfar, axis=0) > 0) and np.all(vfar > 0)
    # the plot draws one curve per wire resistance: 100 (i_ideal - i_out) / i_ideal over rows
    out = tmp_path / "ir.png"
    with saved_figures() as figs:
        plot_crossbar(raw, out)
    (fig, path), = figs
    assert path == out
    i_id = raw.data["i_ideal_a"].squeeze()
    drawn = line_data(fig.axes[0])
    assert len(drawn) == len(rw)
    for k, (x, y) in enumerate(drawn):
        np.testing.assert_array_equal(x, rows)
        np.testing.assert_allclose(y, 100 * (i_id[:, k] - i[:, k]) / i_id[:, k], rtol=1e-9)
    check_png(fig, out, dpi=120)


def test_tiny_wires_linear_column_equals_sum_gv(tmp_path, pool):
    raw = _sweep(tmp_path, "ideal", "crossbar-column",
                 {"tia": ["behavioral"], "device": ["linear"], "rows": [64], "r_wl_ohm": [1e-6], "r_bl_ohm": [1e-6],
                  "a0_v_per_v": [1e12]}, pool)
    i = raw.data["i_out_a"].item()
    # default pattern: 32 of 64 cells ON (20 uS), the rest OFF (1 uS), all inputs at 0.2 V
    expect = 0.2 * (32 * 20e-6 + 32 * 1e-6)
    np.testing.assert_allclose(raw.data["i_ideal_a"].item(), expect, rtol=1e-12)
    np.testing.assert_allclose(i, expect, rtol=1e-6)
    assert abs(raw.data["ir_drop_rel"].item()) < 1e-6
    np.testing.assert_allclose(raw.data["v_out_v"].item(), -i * 2e3, rtol=1e-6)  # -I·r_f
    # read energy: the drivers deliver ~V·I over the pulse, a little less while the TIA
    # is still settling
    e = raw.data["e_read_j"].item()
    assert 0.85 * 0.2 * i * 20e-9 < e < 1.01 * 0.2 * i * 20e-9


def test_1t1r_current_lower_than_linear(tmp_path, pool):
    # v0 = 10 V makes the memristor ohmic at 0.2 V (sinh(0.02)/0.02 - 1 = 7e-5), so the
    # only difference between the cells is the access transistor.
    raw = _sweep(tmp_path, "1t1r", "crossbar-column",
                 {"tia": ["behavioral"], "rows": [16], "device": ["linear", "1t1r"], "v0_v": [10.0],
                  "r_wl_ohm": [1e-3], "r_bl_ohm": [1e-3], "a0_v_per_v": [1e9]}, pool)
    i_lin, i_1t1r = raw.data["i_out_a"].squeeze()
    assert i_1t1r < i_lin
    d_lin, d_1t1r = raw.data["ir_drop_rel"].squeeze()
    assert abs(d_lin) < 1e-5
    assert 0.003 < d_1t1r < 0.1    # W = 1 um nfet (~0.9 kOhm) in series with 50 kOhm


def test_settling_time_grows_with_rows(tmp_path, pool):
    raw = _sweep(tmp_path, "settle", "crossbar-column",
                 {"tia": ["behavioral"], "device": ["linear"], "rows": [16, 64, 256]}, pool)
    t = raw.data["t_settle_s"].ravel()
    assert np.all(np.isfinite(t)), t
    assert np.all(np.diff(t) > 0), t
    assert t[0] > 0.1e-9 and t[-1] < 20e-9         # inside the read pulse


def test_settling_is_measured_past_a_short_read_pulse(tmp_path, pool):
    raw = _sweep(tmp_path, "short", "crossbar-column",
                 {"tia": ["behavioral"], "device": ["linear"], "rows": [64], "t_read_s": [1e-9, 20e-9]}, pool)
    t_short, t_long = raw.data["t_settle_s"].ravel()
    assert t_short > 1e-9                           # longer than the 1 ns pulse ...
    np.testing.assert_allclose(t_short, t_long, rtol=0.03)  # ... and found anyway
    e_short, e_long = raw.data["e_read_j"].ravel()
    assert e_short < e_long / 15                    # energy is that of one (short) pulse


def test_column_pattern_is_deterministic():
    on, act = cb.column_pattern(100, 0.3, 0.75, 5)
    assert on.sum() == 30 and act.sum() == 75
    on2, act2 = cb.column_pattern(100, 0.3, 0.75, 5)
    np.testing.assert_array_equal(on, on2)
    np.testing.assert_array_equal(act, act2)
    on3, _ = cb.column_pattern(100, 0.3, 0.75, 6)
    assert not np.array_equal(on, on3)


# --- crossbar-array -----------------------------------------------------------------------
def _files(tmp_path, g, v, tag=""):
    gp, vp = tmp_path / f"g{tag}.npy", tmp_path / f"v{tag}.npy"
    np.save(gp, g)
    np.save(vp, v)
    return str(gp), str(vp)


def _array(tmp_path, name, gp, vp, pool, **fixed):
    axes = {"conductances": [gp], "inputs": [vp], "device": ["linear"],
            "a0_v_per_v": [1e12], **{k: [v] for k, v in fixed.items()}}
    return _sweep(tmp_path, name, "crossbar-array", axes, pool)


def test_array_obeys_kirchhoff_against_nodal_analysis(tmp_path, pool):
    rng = np.random.default_rng(3)
    g = rng.uniform(1e-6, 5e-5, (9, 7))                 # 20 kOhm .. 1 MOhm cells
    v = rng.uniform(0.0, 0.4, 9)
    gp, vp = _files(tmp_path, g, v)
    r_wl, r_bl = 30.0, 70.0                             # large, unequal: drops are visible
    raw = _array(tmp_path, "kcl", gp, vp, pool, r_wl_ohm=r_wl, r_bl_ohm=r_bl)
    i_ref, vwl_ref, vbl_ref = nodal_solution(g, v, r_wl, r_bl)
    i = raw.data["i_out_a"].reshape(7)
    np.testing.assert_allclose(i, i_ref, rtol=1e-6)
    np.testing.assert_allclose(raw.data["v_wl_v"].reshape(9, 7), vwl_ref, rtol=1e-6)
    np.testing.assert_allclose(raw.data["v_bl_v"].reshape(9, 7), vbl_ref, rtol=1e-6,
                               atol=1e-12)
    assert np.all(raw.data["ir_drop_rel"] > 0)          # the wires cost current
    np.testing.assert_allclose(raw.data["i_ideal_a"].reshape(7), v @ g, rtol=1e-12)
    assert list(raw.axis("col")) == list(range(7)) and list(raw.axis("row")) == list(range(9))
    # the plot draws the nodal solution's currents and the hand-computed ideal sum in uA
    out = tmp_path / "arr.png"
    with saved_figures() as figs:
        plot_crossbar(raw, out)
    (fig, path), = figs
    (c1, spice), (c2, ideal) = line_data(fig.axes[0])
    np.testing.assert_array_equal(c1, np.arange(7))
    np.testing.assert_array_equal(c2, np.arange(7))
    np.testing.assert_allclose(spice, 1e6 * i_ref, rtol=1e-6)
    np.testing.assert_allclose(ideal, 1e6 * (v @ g), rtol=1e-12)
    (c3, drop), = line_data(fig.axes[1])
    # currents agree to 1e-6 relative, so the drop (a fraction) to 1e-6 absolute: 1e-4 %
    np.testing.assert_allclose(drop, 100 * (v @ g - i_ref) / (v @ g), rtol=0, atol=2e-4)
    check_png(fig, out, dpi=120)


def test_array_rebuilds_when_file_contents_change(tmp_path, pool):
    rng = np.random.default_rng(4)
    v = rng.uniform(0.1, 0.3, 4)
    g1 = rng.uniform(1e-6, 5e-5, (4, 3))
    gp, vp = _files(tmp_path, g1, v)
    a = _array(tmp_path, "f1", gp, vp, pool, r_wl_ohm=10.0, r_bl_ohm=10.0)
    g2 = g1[::-1].copy()
    np.save(gp, g2)                                      # same path, new contents
    b = _array(tmp_path, "f2", gp, vp, pool, r_wl_ohm=10.0, r_bl_ohm=10.0)
    for gg, raw in ((g1, a), (g2, b)):
        np.testing.assert_allclose(raw.data["i_out_a"].ravel(),
                                   nodal_solution(gg, v, 10.0, 10.0)[0], rtol=1e-6)


def test_array_1t1r_matches_device_law_with_tiny_wires(tmp_path, pool):
    rng = np.random.default_rng(5)
    g = rng.uniform(1e-6, 2e-5, (5, 3))
    v = rng.uniform(0.1, 0.3, 5)
    gp, vp = _files(tmp_path, g, v)
    raw = _sweep(tmp_path, "a1t1r", "crossbar-array",
                 {"conductances": [gp], "inputs": [vp], "device": ["1t1r", "linear"],
                  "r_wl_ohm": [1e-3], "r_bl_ohm": [1e-3], "a0_v_per_v": [1e12]}, pool)
    i_1t1r, i_lin = raw.data["i_out_a"].reshape(2, 3)
    ideal_sinh = (g * 0.5 * np.sinh(v[:, None] / 0.5)).sum(axis=0)
    assert np.all(i_1t1r < ideal_sinh)                   # access transistor drop
    assert np.all(i_1t1r > 0.9 * ideal_sinh)
    np.testing.assert_allclose(i_lin, v @ g, rtol=1e-6)


@pytest.mark.parametrize("which, make, match", [
    ("conductances", lambda: np.full(6, 1e-5), "shape"),                   # 1-D
    ("conductances", lambda: np.full((2, 3, 1), 1e-5), "shape"),           # 3-D
    ("conductances", lambda: np.array([[1e-5, np.nan], [1e-5, 1e-5]]), "NaN"),
    ("conductances", lambda: np.array([[1e-5, -1e-6], [1e-5, 1e-5]]), "values must lie"),
    ("conductances", lambda: np.array([[1e-5, None], [1e-5, 1e-5]], dtype=object), "object"),
    ("conductances", lambda: np.full((300, 2), 1e-5), "outside"),          # too large
    ("inputs", lambda: np.array([0.2, np.inf]), "NaN or infinite"),
    ("inputs", lambda: np.array([0.2, 5.0]), "values must lie"),
    ("inputs", lambda: np.array([True, False]), "dtype"),
])
def test_bad_npy_refused_naming_the_parameter(tmp_path, which, make, match):
    good = {"conductances": np.full((2, 2), 1e-5), "inputs": np.array([0.2, 0.1])}
    paths = {}
    for k, arr in good.items():
        paths[k] = str(tmp_path / f"{k}.npy")
        np.save(paths[k], make() if k == which else arr, allow_pickle=True)
    with pytest.raises(ParameterError, match=rf"'{which}'.*{match}"):
        SweepSpec("crossbar-array", {k: [p] for k, p in paths.items()})


def test_inputs_length_must_match_rows(tmp_path, pool):
    gp, vp = _files(tmp_path, np.full((3, 2), 1e-5), np.array([0.2, 0.1]))
    spec = SweepSpec("crossbar-array", {"conductances": [gp], "inputs": [vp]})
    with pytest.raises(ParameterError, match=r"'inputs'.*one voltage per row"):
        run_sweep(spec, tmp_path / "x.raw.h5", pool=pool, progress=False)


def test_array_size_is_limited_to_256_per_dimension(tmp_path):
    gp, vp = _files(tmp_path, np.full((257, 4), 1e-5), np.full(257, 0.2))
    with pytest.raises(ParameterError, match=r"'conductances'.*256 per dimension"):
        SweepSpec("crossbar-array", {"conductances": [gp], "inputs": [vp],
                                     "device": ["1t1r"]})


def test_array_files_are_required(tmp_path, pool):
    with pytest.raises(ParameterError, match="'conductances' is required"):
        run_sweep(SweepSpec("crossbar-array", {}), tmp_path / "x.raw.h5", pool=pool,
                  progress=False)
    with pytest.raises(ParameterError, match="does not exist"):
        SweepSpec("crossbar-array", {"conductances": [str(tmp_path / "none.npy")]})


# --- spread pattern and the crossbar-column model -----------------------------------------
def test_spread_pattern_is_even_with_the_same_count():
    from imcspice.characterize.recipes.crossbar import spread_pattern
    for rows in (16, 24, 100, 256):
        for f in (0.0, 0.25, 0.3, 0.5, 0.75, 1.0):
            on = spread_pattern(rows, f)
            rand, _ = cb.column_pattern(rows, f, 1.0, 0)
            assert on.sum() == rand.sum()                  # same count as the random one
            gaps = np.diff(np.flatnonzero(on))
            if len(gaps):                                   # evenly interleaved
                assert gaps.max() - gaps.min() <= 1, (rows, f, gaps)


def test_ladder_forms_physics():
    """The closed forms alone (no SPICE): the uniform-ladder limit T(u) -> 1 - u/3 for a
    light load and 1/sqrt(u) for a heavy one; the drop grows with rows, r_bl and load."""
    from imcspice.models.crossbar import CrossbarColumnModel
    from imcspice.models.forms import get_form
    drop = get_form("crossbar-ir-drop").func
    p = np.array([1.0, 1.0, 0.0])
    rows = np.array([16.0, 64.0, 256.0])

    def d(rows, r, f, g_on=100.0, g_off=1.0, p=p):
        return drop([np.asarray(rows, float), np.asarray(r, float), np.asarray(f, float),
                     np.asarray(g_on, float), np.asarray(g_off, float)], p, {})
    u = CrossbarColumnModel.wire_load(rows, 1e-3, 0.5, 100.0, 1.0)
    np.testing.assert_allclose(d(rows, 1e-3, 0.5), u / 3, rtol=0.02)
    u_big = CrossbarColumnModel.wire_load(1e4, 10.0, 1.0, 100.0, 0.0)
    np.testing.assert_allclose(d(1e4, 10.0, 1.0, g_off=0.0), 1 - 1 / np.sqrt(u_big), rtol=1e-6)
    assert np.all(np.diff(d(rows, 5.0, 0.5)) > 0)                    # rows
    assert np.all(np.diff(d(64, np.array([1.0, 2.0, 10.0]), 0.5)) > 0)   # wire resistance
    assert np.all(np.diff(d(64, 5.0, np.array([0.25, 0.5, 0.75]))) > 0)  # conductance load
    # the current form is the ideal current times (1 - drop), signed by the TIA scale
    cur = get_form("crossbar-column-current").func
    x = [rows, np.full(3, 5.0), np.full(3, 0.5), np.full(3, 100.0), np.full(3, 1.0),
         np.full(3, 0.2)]
    i = cur(x, p, {"v0_v": np.array([0.0]), "scale": np.array([1.0])})
    np.testing.assert_allclose(i, rows * 50.5e-6 * 0.2 * (1 - d(rows, 5.0, 0.5)), rtol=1e-12)
    v = cur(x, p, {"v0_v": np.array([0.0]), "scale": np.array([-2e3])})
    np.testing.assert_allclose(v, -2e3 * i, rtol=1e-12)


def test_ota_drift_forms_by_hand():
    """The -vg forms (models/crossbar_vg.py) on a linear column with no access device and
    no wire (a = 1, r_bl ~ 0): 64 rows, frac_on 0.25 of 100 / 1 uS at 0.2 V draw
    I_lad = 64 * 25.75 uS * 0.2 V = 329.6 uA, the design current (i_design_frac 0.25),
    so q_lad = 1; a 2 mV drift of the sense node lowers every cell's 0.2 V by 1 %:
    I = I_lad / (1 + 0.002 / 0.2) and the TIA output carries the drift itself."""
    import imcspice.models.crossbar_vg  # noqa: F401  (registers the forms)
    from imcspice.models.forms import get_form
    x = [np.array([64.0]), np.array([1e-9]), np.array([0.25]), np.array([100.0]),
         np.array([1.0]), np.array([0.2])]
    p = np.array([1.0, 1.0, 0.0, 0.0, 1.0, 0.002])
    ex = {"v0_v": np.array([0.0]), "i_design_frac": np.array([0.25]),
          "i_floor_a": np.array([160e-6])}
    i_lad = 64 * 25.75e-6 * 0.2
    drop = get_form("crossbar-ir-drop-vg").func(x, p, ex)
    np.testing.assert_allclose(drop, 1 - 1 / 1.01, rtol=1e-6)
    cur = get_form("crossbar-column-current-vg").func
    i = cur(x, p, dict(ex, scale=np.array([1.0]), sense=np.array([0.0])))
    np.testing.assert_allclose(i, i_lad / 1.01, rtol=1e-6)
    v = cur(x, p, dict(ex, scale=np.array([-25.0]), sense=np.array([1.0])))
    np.testing.assert_allclose(v, -25.0 * i_lad / 1.01 + 0.002 / 1.01, rtol=1e-6)
    # no drift: the access-aware ladder form itself
    p0 = p.copy()
    p0[5] = 0.0
    np.testing.assert_allclose(get_form("crossbar-ir-drop-vg").func(x, p0, ex),
                               get_form("crossbar-ir-drop-acc").func(x, p0[:5], ex),
                               rtol=1e-12)
    # the -vgh forms bend the drift with the load: v_err = e*q*(1 + h*(q - 1)). At the
    # design current (q_lad = 1) it is e whatever h; at twice it (frac_on 0.5: 64 *
    # 50.5 uS * 0.2 V = 646.4 uA, I_max 329.6 uA) with h = 0.5 the drift is 2 mV * q_lad *
    # (1 + 0.5 (q_lad - 1)), the cells read 0.2 V less it (first order in I_lad), and the
    # output carries it at the lowered current's q; h = 0 is the -vg form
    ph = np.append(p, 0.5)
    np.testing.assert_allclose(get_form("crossbar-ir-drop-vgh").func(x, ph, ex),
                               1 - 1 / 1.01, rtol=1e-6)
    curh = get_form("crossbar-column-current-vgh").func
    x2 = [x[0], x[1], np.array([0.5])] + x[3:]
    i2 = 64 * 50.5e-6 * 0.2
    q2 = i2 / i_lad
    v_err = 0.002 * q2 * (1 + 0.5 * (q2 - 1))
    i_h = curh(x2, ph, dict(ex, scale=np.array([1.0]), sense=np.array([0.0])))
    np.testing.assert_allclose(i_h, i2 / (1 + v_err / 0.2), rtol=1e-6)
    q_out = i_h[0] / i_lad
    np.testing.assert_allclose(
        curh(x2, ph, dict(ex, scale=np.array([-25.0]), sense=np.array([1.0]))),
        -25.0 * i_h + 0.002 * q_out * (1 + 0.5 * (q_out - 1)), rtol=1e-6)
    ex1 = dict(ex, scale=np.array([-25.0]), sense=np.array([1.0]))
    np.testing.assert_allclose(curh(x2, np.append(p, 0.0), ex1), cur(x2, p, ex1), rtol=1e-12)
    # the supply follows the output stage's size: 16 rows design 82.4 uA < the one-copy
    # floor 160 uA; 128 rows 659.2 uA
    sup = get_form("crossbar-tia-supply").func
    rows = np.array([16.0, 128.0])
    xs = [rows] + [np.full(2, a[0]) for a in x[1:]]
    np.testing.assert_allclose(sup(xs, np.array([1e-4, 1.8]), ex),
                               1e-4 + 1.8 * np.array([160e-6, 128 * 25.75e-6 * 0.2]),
                               rtol=1e-12)



#: the project's fitting target (characterize/fitting: DEFAULT_TOL_PCT, 1 % of full scale
#: on held-out points) and the outputs of this small sweep that miss it today: none (the
#: settling time, form crossbar-load-quadratic-rows with the bit line's rows term, held
#: out 0.62 %, 1.37 % without it; held out near the edge, fitters/crossbar.py
#: FORM_AXIS_HOLDOUT; the other outputs 0.09-0.24 %). A fit that gets better or worse
#: changes the set, and the test says so.
TARGET_PCT_FS = 1.0
MISSES_1PCT: set[str] = set()


def _misses(m) -> set[str]:
    errs = m.heldout_error["outputs"]
    assert all(e["n_heldout"] > 0 for e in errs.values()), errs
    return {n for n, e in errs.items() if e["max_pct_fs"] >= TARGET_PCT_FS}


def test_column_model_closed_forms_hold_out_within_target(tmp_path, pool):
    """A small real sweep (evenly loaded 1T1R column): every output takes its ladder
    closed form and predicts held-out rows / r_bl lines (near-edge + interior lines; the
    grid's edges are trained) within the measured bounds, and the drop behaves
    physically."""
    from imcspice.characterize.fit import fit
    raw = tmp_path / "col.raw.h5"
    run_sweep(SweepSpec("crossbar-column", {"tia": ["behavioral"], "rows": [16, 24, 32, 48, 64, 96, 128],
                                            "r_bl_ohm": [1.0, 2.5, 5.0, 7.0, 10.0],
                                            "frac_on": [0.25, 0.75], "g_on_us": [100.0],
                                            "pattern": ["spread"]}),
              raw, pool=pool, progress=False)
    m = fit(raw)
    forms = m.meta["outputs_form"]
    assert forms["ir_drop_rel"] == "crossbar-ir-drop-acc"
    assert forms["i_out_a"] == forms["v_out_v"] == "crossbar-column-current-acc"
    assert forms["t_settle_s"] == "crossbar-load-quadratic-rows"
    assert _misses(m) == MISSES_1PCT, m.heldout_error["outputs"]
    a, b, c, k, m_off = m.functions["ir_drop_rel"].values.reshape(-1, 5)[0]
    assert 0.8 < a < 1.0          # the access transistor costs a few % of the current
    assert 0.5 < b < 1.5          # effective cell conductance ~ nominal
    d = m.ir_drop(rows=np.array([16, 64, 128]), r_bl_ohm=5.0, frac_on=0.5)
    assert np.all(np.diff(d) > 0) and d[0] > 0
    d = m.ir_drop(rows=64, r_bl_ohm=np.array([1.0, 5.0, 10.0]), frac_on=0.5)
    assert np.all(np.diff(d) > 0)


#: outputs of the read-voltage sweep below that miss the 1 % target today: none (held
#: out 0.29 % i_out_a, 0.28 % v_out_v, 0.31 % ir_drop_rel, 0.27 % e_read_j, 0.73 %
#: t_settle_s; the closed forms' axes are held out near the edge, fitters/crossbar.py
#: FORM_AXIS_HOLDOUT; with the 128-row edge held out, extrapolated from 16-64 rows,
#: i_out_a and v_out_v missed by 1.31 % and 1.30 % and t_settle_s by 1.47 %)
MISSES_V_1PCT: set[str] = set()


def test_column_model_read_voltage_sweep_holds_out(tmp_path, pool):
    """Read voltage swept at two loads (1T1R: the cell law and the access transistor make the ladder
    ratio depend on V): every output keeps its read-voltage closed form, with a, b, c, k
    (d0..d2) fitted per V, and predicts held-out V and rows lines within the bounds."""
    from imcspice.characterize.fit import fit
    raw = tmp_path / "colv.raw.h5"
    run_sweep(SweepSpec("crossbar-column", {"tia": ["behavioral"], "rows": [16, 32, 64, 128], "r_bl_ohm": [1.0, 10.0],
                                            "frac_on": [0.25, 0.75], "g_on_us": [100.0],
                                            "v_read_v": [0.1, 0.2, 0.3, 0.4, 0.55],
                                            "pattern": ["spread"]}),
              raw, pool=pool, progress=False)
    m = fit(raw)
    assert m.meta["outputs_form"] == {"i_out_a": "crossbar-column-current-acc",
                                      "v_out_v": "crossbar-column-current-acc",
                                      "ir_drop_rel": "crossbar-ir-drop-acc",
                                      "e_read_j": "crossbar-read-energy-acc",
                                      "t_settle_s": "crossbar-settling-acc"}
    assert "v_read_v" in m.functions["i_out_a"].grid_inputs   # parameters per read voltage
    assert _misses(m) == MISSES_V_1PCT, {k: e["max_pct_fs"] for k, e in
                                         m.heldout_error["outputs"].items()}
    # the energy grows ~V*law(V); the column current with law(V) (1t1r: sinh, superlinear)
    e = m.read_energy(rows=64, r_bl_ohm=1.0, frac_on=0.75, v_read_v=np.array([0.2, 0.4]))
    assert 4.0 < e[1] / e[0] < 6.0


def test_parameter_file_replaced_after_planning_fails_the_point(tmp_path):
    # the netlist was built from the planned file; a worker must not measure a new one
    from imcspice.characterize import engine
    from imcspice.characterize.runner import build_tasks
    gp, vp = _files(tmp_path, np.full((2, 2), 1e-5), np.array([0.2, 0.1]))
    spec = SweepSpec("crossbar-array", {"conductances": [gp], "inputs": [vp],
                                        "device": ["linear"]})
    tasks, _ = build_tasks(spec, range(spec.n_points))
    np.save(vp, np.array([0.5, 0.5]))                    # replaced mid-sweep
    res = engine.run_task(tasks[0], use_cache=False)
    assert res.status == "error" and "changed since the sweep was planned" in res.message
    np.save(vp, np.array([0.2, 0.1]))                    # the planned content again: fine
    assert engine.run_task(tasks[0], use_cache=False).status == "ok"
