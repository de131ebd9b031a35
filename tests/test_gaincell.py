"""Gain-cell family on real ngspice + SKY130: the physics a reviewer would check.

References: ../shared/REFERENCE.md "Gain-cell attention" (storage 0–0.9 V centered at
0.45 V, signed non-linear cell current, query pulses of 0.9 V up to 15 ns, column charge
integration, clipped-linear charge-to-pulse readout, leakage toward 0.45 V with Si
retention ~ms and OSFET far longer).
"""
import numpy as np
import pytest

from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("gaincell")


def _ok(raw):
    assert raw.status_counts() == {"ok": raw.status.size}, list(raw.message.ravel())


@pytest.fixture(scope="module")
def mac(pool, out):
    spec = SweepSpec("gaincell-mac", {"rows": [4, 64], "vs_col_v": [0.6, 0.9]})
    raw = run_sweep(spec, out / "mac.raw.h5", pool=pool, progress=False)
    _ok(raw)
    return raw


@pytest.fixture(scope="module")
def retention(pool, out):
    spec = SweepSpec("gaincell-retention", {"write_device": ["si", "osfet"]},
                     temps_c=[27, 85])
    raw = run_sweep(spec, out / "ret.raw.h5", pool=pool, progress=False)
    _ok(raw)
    return raw


# --- gaincell-mac (a): cell current ---------------------------------------------------------
def test_cell_current_is_signed_monotonic_and_crosses_zero_mid_range(mac):
    i, axes = mac.select("i_cell_a", corner="tt", temp_c=27, rows=64, vs_col_v=0.6)
    assert axes == ["vwl_v", "vs_v"]
    vs = mac.axis("vs_v")
    full = i[-1]                                  # Vwl = 0.9 V, the query amplitude
    assert full[0] < -1e-7 and full[-1] > 1e-7    # sources at Vs = 0, sinks at Vs = 0.9 V
    assert np.all(np.diff(full) > 0)              # monotonic in the stored voltage
    for row in i[np.asarray(mac.axis("vwl_v")) >= 0.5]:
        assert np.all(np.diff(row) > 0)
    vz = float(mac.select("vs_zero_v", corner="tt", temp_c=27, rows=64, vs_col_v=0.6)[0])
    assert abs(vz - 0.45) < 0.15, vz
    # non-linear: the slope near the crossing is far below the slope at the ends
    slope = np.gradient(full, vs)
    assert slope[-1] > 5 * slope[np.argmin(abs(vs - vz))]


def test_cell_current_is_not_separable(mac):
    i, _ = mac.select("i_cell_a", corner="tt", temp_c=27, rows=4, vs_col_v=0.6)
    vwl = np.asarray(mac.axis("vwl_v"))
    vs = np.asarray(mac.axis("vs_v"))
    on = i[vwl >= 0.4]
    # I = f(Vs) g(Vwl) would be a rank-1 matrix with a Vwl-independent zero crossing
    s = np.linalg.svd(on / np.abs(on).max(), compute_uv=False)
    assert s[1] / s[0] > 1e-2, s[:3]
    r_hi = i[vwl == vwl.max()][0]
    r_mid = i[np.argmin(abs(vwl - 0.5))]
    top, bottom = np.argmin(abs(vs - 0.9)), np.argmin(abs(vs - 0.0))
    ratio_hi, ratio_mid = r_hi[top] / r_hi[bottom], r_mid[top] / r_mid[bottom]
    assert abs(np.log(abs(ratio_hi / ratio_mid))) > np.log(1.5), (ratio_hi, ratio_mid)


# --- gaincell-mac (b): column charge ------------------------------------------------------------
#: the read path's feedthrough bound per cell (C), by hand from the SKY130 tt bin cards at
#: zero bias (an upper bound on the junction capacitance) and the junction areas of
#: circuits/logic.mos (ad = 0.29 um x W, pd = 2 (W + 0.29 um)). Each read joins the cell's
#: internal nodes to the bit line (at vref 0.45 V) through the access devices:
#: dn (access nfet W 0.42 + read nfet W 0.42; idle at vrn = 0 V): 0.244 um^2 x 1.34 fF/um^2
#: + 2.84 um x 0.037 fF/um + 2 x 0.42 um x 0.245 fF/um overlap = 0.64 fF, so it can take at
#: most 0.64 fF x 0.45 V = +0.29 fC from the bit line; dp (access pfet W 0.84 + read pfet
#: W 1.0; idle at vrp = 1.13 V): 0.534 um^2 x 0.74 fF/um^2 + 4.84 um x 0.099 fF/um + 1.84 um
#: x 0.052 fF/um = 0.97 fF, so it can give at most 0.97 fF x 0.68 V = 0.66 fC to it
FEEDTHROUGH_BOUNDS_C = (-0.66e-15, 0.29e-15)


def test_column_charge_linear_in_pulse_width_below_saturation(mac):
    """No pulse, no charge; every pulse exchanges the read path's feedthrough charge
    (measured -0.8 fC at 64 rows and 1 ns, against +5.2 fC at 2 ns), then the charge
    grows linearly with the width. The access devices are near threshold at the 0.9 V
    word line (gate 0.9 V, source ~0.45 V, SKY130 Vth ~0.5 V with body effect): they
    charge the internal nodes' ~1 fF with ~uA, C dV / I ~ 0.5 ns, so the line is taken
    from 2 ns on; its intercept is the feedthrough (plus the integrator's lag, ~0.2 ns x
    the current: 1 / (2 pi GBW) at 1 GHz) and must lie within the hand bound."""
    t = np.asarray(mac.axis("t_pulse_s"))
    q, _ = mac.select("q_col_c", corner="tt", temp_c=27, rows=64, vs_col_v=0.6)
    v, _ = mac.select("v_int_v", corner="tt", temp_c=27, rows=64, vs_col_v=0.6)
    assert v.max() < 1.7                          # integrator not clamped
    assert abs(q[0]) < 1e-3 * q[-1]               # no pulse, no charge
    assert np.all(np.diff(q[1:]) > 0)
    late = t >= 2e-9
    fit = np.polyfit(t[late], q[late], 1)
    resid = q[late] - np.polyval(fit, t[late])
    assert np.max(np.abs(resid)) < 0.02 * q[-1], resid / q[-1]
    lo, hi = FEEDTHROUGH_BOUNDS_C
    assert 64 * lo - abs(fit[0]) * 0.2e-9 <= fit[1] <= 64 * hi, fit
    # charge scales with the number of rows (identical cells)
    q4, _ = mac.select("q_col_c", corner="tt", temp_c=27, rows=4, vs_col_v=0.6)
    np.testing.assert_allclose(q[-1] / q4[-1], 16.0, rtol=0.03)


def test_column_charge_saturates_with_the_integrator(mac):
    q, _ = mac.select("q_col_c", corner="tt", temp_c=27, rows=64, vs_col_v=0.9)
    v, _ = mac.select("v_int_v", corner="tt", temp_c=27, rows=64, vs_col_v=0.9)
    assert v[-1] == pytest.approx(1.8, abs=0.01)  # output clamp
    dq = np.diff(q)
    assert dq[-1] < 0.5 * dq[0]                   # charge stops growing linearly



@pytest.mark.xfail(strict=True, reason="q_col_c held out at 1.23 % FS (measured): one curve "
                   "reaches the rail in this small sweep and its knee is the held-out line; "
                   "the target is 1 % (was asserted as < 1.5, the measurement plus a margin)")
def test_integrator_charge_meets_the_one_percent_target(mac, out):
    from imcspice.characterize.fit import fit
    m = fit(out / "mac.raw.h5")
    assert m.heldout_error["outputs"]["q_col_c"]["max_pct_fs"] <= 1.0


def test_column_charge_fits_the_feedthrough_ramp_form(mac, out):
    """q_col_c as the integrator-ramp-feedthrough form (reset level, the read path's
    feedthrough, settling step, linear ramp, shared rails and knees)."""
    from imcspice.characterize.fit import fit
    m = fit(out / "mac.raw.h5")
    fq = m.functions["q_col_c"]
    assert fq.form == "integrator-ramp-feedthrough"
    # the fitted offset of the ramp per cell (feedthrough, whole after the edge, plus the
    # settling step: the internal nodes' exchange and the integrator's lag) within the
    # hand bound (FEEDTHROUGH_BOUNDS_C; the lag's share: <= 0.2 ns x the cell current,
    # 1 / (2 pi GBW) at 1 GHz, and the current of a 0.6-0.9 V cell is <= 14 fC/ns per
    # cell: 64 rows reach the 900 fC rail in ~1 ns at 0.9 V)
    par = np.asarray(fq.values)
    offset = par[..., fq.param_names.index("feedthrough")] + \
        par[..., fq.param_names.index("step")]
    k = fq.grid_inputs.index("rows")
    rows = np.asarray(fq.grid_axes[k]).reshape([1] * (1 + k) + [-1] +
                                               [1] * (offset.ndim - 2 - k))
    per_cell = offset / rows
    lo, hi = FEEDTHROUGH_BOUNDS_C
    assert np.all((per_cell >= lo - 0.2e-9 * 14e-6) & (per_cell <= hi)), per_cell.ravel()
    t = np.linspace(1e-9, 15e-9, 57)             # beyond the 100 ps word-line edge
    for vs in (0.6, 0.75, 0.9):
        q = m.column_charge(t, rows=64, vs_col_v=vs)
        assert np.all(np.diff(q) >= -1e-18)       # charge monotone in pulse width
        assert m.column_charge(np.array([0.0]), rows=64, vs_col_v=vs)[0] == 0.0
    assert m.integrator_output(np.array([15e-9]), rows=64, vs_col_v=0.9)[0] == \
        pytest.approx(1.8, abs=0.01)              # clamp


def test_integrator_output_held_out_within_one_percent(mac, out):
    from imcspice.characterize.fit import fit
    m = fit(out / "mac.raw.h5")
    assert m.functions["v_int_v"].form == "integrator-ramp-feedthrough"
    for vs in (0.6, 0.75, 0.9):
        assert m.integrator_output(np.array([0.0]), rows=64, vs_col_v=vs)[0] == \
            pytest.approx(0.45, abs=1e-6)         # no pulse: reset level (vref)
    # the target: held-out error <= 1 % of full scale
    assert m.heldout_error["outputs"]["v_int_v"]["max_pct_fs"] < 1.0


def test_read_energy_from_supply_current_integration(pool, out):
    """e_read_j (the read drivers' and vrp's charge integrated over the transient) grows
    with the pulse width at the rate vrp x I_P: with I_P the charge rate the column's
    integrator receives per row (another source: the bit line's sense source; at
    Vs = 0.225 V the NMOS branch is off), and within 20 % with the PMOS branch's DC
    current from the separate DC bench (vwl = 0.9 V; there the storage node is forced,
    in the transient it floats and shifts by a few mV when the word lines switch,
    exponentially moving the subthreshold current); its offset at the shortest pulse is the word lines' C V^2: two access gates (SKY130 0.42/0.15 nfet and
    0.84/0.15 pfet, ~1-2 fF/um^2 x 0.19 um^2 + overlap, i.e. 0.3-1 fF in all) swung by
    0.9 V charged from their rails: C x 0.9 V^2 = 0.25-0.8 fJ."""
    raw = run_sweep(SweepSpec("gaincell-mac", {"rows": [4], "vs_col_v": [0.225]}),
                    out / "mac_e.raw.h5", pool=pool, progress=False)
    _ok(raw)
    e, _ = raw.select("e_read_j", corner="tt", temp_c=27, rows=4, vs_col_v=0.225)
    t = np.asarray(raw.axis("t_pulse_s"))
    i_vrp, _ = raw.select("i_vrp_a", corner="tt", temp_c=27, rows=4, vs_col_v=0.225)
    vs, vwl = np.asarray(raw.axis("vs_v")), np.asarray(raw.axis("vwl_v"))
    i_p = float(np.interp(0.225, vs, i_vrp[np.argmin(abs(vwl - 0.9))]))
    assert i_p > 1e-8                                   # the PMOS branch conducts
    slope = np.polyfit(t[4:13], e[4:13], 1)[0]          # 4..12 ns, away from the edges
    q, _ = raw.select("q_col_c", corner="tt", temp_c=27, rows=4, vs_col_v=0.225)
    i_col = -np.polyfit(t[4:13], q[4:13], 1)[0] / 4     # per row, sourced into the line
    np.testing.assert_allclose(slope, 1.13 * i_col, rtol=0.03)
    np.testing.assert_allclose(slope, 1.13 * i_p, rtol=0.2)
    assert e[0] < 1e-18                                 # no pulse, no read energy
    offset = e[1] - slope * 1e-9
    assert 0.2e-15 < offset < 1.2e-15, offset
    # the model keeps that step: 0 with no pulse, and on the read-issued branch the line
    # E = offset + slope t (a table across t = 0 would put half the edge energy off at 1 ns)
    from imcspice.characterize.fit import fit
    m = fit(out / "mac_e.raw.h5")
    assert m.evaluate("e_read_j", t_pulse_s=np.array([0.0]))[0] == 0.0
    tt = np.array([1e-9, 1.5e-9, 2.5e-9, 7.5e-9])
    np.testing.assert_allclose(m.evaluate("e_read_j", t_pulse_s=tt), offset + slope * tt,
                               rtol=0.05)


# --- gaincell-superposition ----------------------------------------------------------------------
def test_superposition_error_small_but_nonzero(pool, out):
    spec = SweepSpec("gaincell-superposition", {"rows": [8], "pattern_seed": [0, 3],
                                                "a0": [100, 1e5]})
    raw = run_sweep(spec, out / "sup.raw.h5", pool=pool, progress=False)
    _ok(raw)
    assert raw.data_axes["err_c"] == ["corner", "temp_c", "rows", "pattern_seed", "a0"]
    err = raw.data["err_rel"][0, 0, 0]            # pattern_seed, a0
    assert np.all(np.abs(err) < 0.01), err
    err_c = raw.data["err_c"][0, 0, 0]
    assert np.max(np.abs(err_c)) > 5e-18, err_c  # above the ~1e-18 C integration noise
    # a lower op-amp gain moves the virtual ground more: larger error, same sign
    assert abs(err_c[0, 0]) > abs(err_c[0, 1]) and err_c[0, 0] * err_c[0, 1] > 0
    q1 = raw.data["q_single_c"][0, 0, 0, 0, 1]
    assert np.all(np.isnan(q1[8:])) and np.all(np.isfinite(q1[:8]))
    q_idle = float(raw.data["q_idle_c"][0, 0, 0, 0, 1])
    np.testing.assert_allclose(q_idle + np.sum(q1[:8] - q_idle),
                               raw.data["q_sum_c"][0, 0, 0, 0, 1], rtol=1e-12)
    vs = raw.data["vs_row_v"][0, 0, 0, 0, 1, :8]
    tw = raw.data["t_row_s"][0, 0, 0, 0, 1, :8]
    on = tw > 0
    # a pulsed cell's charge has the sign of (stored voltage - zero crossing)
    far = on & (np.abs(vs - 0.45) > 0.1)
    assert np.any(far)
    assert np.all(np.sign(q1[:8][far] - q_idle) == np.sign(vs[far] - 0.45))
    assert np.all(q1[:8][~on] == q_idle)


# --- gaincell-retention --------------------------------------------------------------------------
def test_leakage_faster_when_hot_and_osfet_retains_far_longer(retention):
    tau = retention.data["tau_s"]                 # corner, temp, write_device, v0
    assert retention.data_axes["tau_s"] == ["corner", "temp_c", "write_device", "v0_v"]
    si27, si85 = tau[0, 0, 0], tau[0, 1, 0]
    os27, os85 = tau[0, 0, 1], tau[0, 1, 1]
    assert np.all(np.isfinite(tau)) and np.all(tau > 0)
    assert np.all(si85 < si27) and np.all(os85 < os27)
    assert np.all(os27 > 1e3 * si27) and np.all(os85 > 1e3 * si85)
    assert np.all(si85 < 0.1)                     # Si at 85 C: ms-class retention
    assert np.all(os27 > 1e3)                     # OSFET: beyond ~20 min at 27 C


def test_retention_relaxes_toward_the_leakage_zero(retention):
    vinf = retention.data["v_inf_v"]
    np.testing.assert_allclose(vinf[0, :, 1], 0.45, atol=0.01)  # OSFET: symmetric leak
    assert np.all(retention.data["ode_err_v"] < 0.01)  # quasi-static ODE = transient
    v = retention.data["v_sn_v"]
    t = retention.axis("t_s")
    for ti in range(2):
        for d in range(2):
            for k in range(v.shape[3]):
                traj = v[0, ti, d, k]
                late = traj[t > 1e-5]
                dist = np.abs(late - vinf[0, ti, d])
                assert dist[-1] < 0.2 * dist[0] or d == 1 and ti == 0, (ti, d, k)
                assert np.all(np.diff(dist) < 2e-3)  # no overshoot beyond ODE noise
    ileak = retention.data["i_leak_a"]
    vs = retention.axis("vs_v")
    hot, cold = ileak[0, 1, 0], ileak[0, 0, 0]
    at = np.argmin(abs(vs - 0.7))
    assert hot[at] > 10 * cold[at] > 0            # Si junction leakage: thermally activated


# --- gaincell-write ------------------------------------------------------------------------------
def test_write_settles_injects_and_costs_energy(pool, out):
    spec = SweepSpec("gaincell-write", {"write_device": ["si", "osfet"]})
    raw = run_sweep(spec, out / "wr.raw.h5", pool=pool, progress=False)
    _ok(raw)
    ts = raw.data["t_settle_s"][0, 0]
    assert np.all(ts >= 0) and np.all(ts < 10e-9)  # within the 10 ns write pulse
    assert np.all(np.abs(raw.data["v_err_v"][0, 0]) < 5e-3)
    inj = raw.data["dv_inj_v"][0, 0]
    assert np.all(inj < -1e-3) and np.all(inj > -0.15)  # NMOS-type: charge pulled out
    e = raw.data["e_write_j"][0, 0]
    assert np.all(e > 1e-17) and np.all(e < 1e-13)
    vw = raw.axis("v_write_v")
    # larger writes above mid cost more: the bit-line driver's v_write x Cs x (v_write -
    # v_prev) grows from zero slope at v_prev = 0.45 V, while the word line's gate
    # charge falls as the channel potential rises (~1.8 V x Cgc per volt), so the sum
    # has its minimum just above 0.45 V and rises from 0.5 V on
    assert np.all(np.diff(e[0][vw >= 0.5]) > 0)


# --- gaincell-readout ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def readout(pool, out):
    raw = run_sweep(SweepSpec("gaincell-readout", {"integrator": ["ota", "behavioral"]}),
                    out / "ro.raw.h5", pool=pool, progress=False)
    _ok(raw)
    assert raw.data_axes["t_out_s"] == ["corner", "temp_c", "integrator", "q_in_c"]
    return raw


@pytest.mark.parametrize("k, name", [(0, "ota"), (1, "behavioral")])
def test_readout_is_clipped_linear(readout, k, name):
    raw = readout
    q = raw.axis("q_in_c")
    w = raw.data["t_out_s"][0, 0, k]
    v = raw.data["v_int_v"][0, 0, k]
    assert np.all(w[q < 0] == 0)                  # no charge, no pulse
    assert np.all(w[q == 0] < 0.05e-9)            # (the OTA's offset: ~1 mV of ramp)
    gain = float(raw.data["gain_s_per_c"][0, 0, k])
    np.testing.assert_allclose(gain, 15e-9 / (500e-15 * 0.9), rtol=0.02)
    q_sat = float(raw.data["q_sat_c"][0, 0, k])
    assert 400e-15 < q_sat < 470e-15
    beyond = w[q > q_sat + 20e-15]
    assert len(beyond) >= 3 and np.ptp(beyond) < 0.01 * beyond.max()  # stops growing
    # V = vref + Q/cint over the ramp's span (0.45 .. 1.35 V)
    lin = (q > 0) & (q < 450e-15)
    if name == "behavioral":
        np.testing.assert_allclose(v[lin], 0.45 + q[lin] / 500e-15, atol=3e-3)
    else:
        # sampled 0.9 ns after the input current stops: a ~90 MHz OTA (tau = 1/(2 pi GBW)
        # ~ 1.7 ns) lags a ramp by slope x tau and has recovered ~40 % of that lag by then
        rise = q[lin] / 500e-15
        lag = (q[lin] / 15e-9 / 500e-15) * 1.7e-9 * np.exp(-0.9 / 1.7)
        err = (0.45 + rise) - v[lin]
        assert np.all(err > 0) and np.all(err < 1.5 * lag), (err, lag)
    if name == "behavioral":
        assert v[-1] == pytest.approx(1.8, abs=0.01)   # ideal clamp at the supply
    else:
        # the OTA's output stage leaves saturation within ~0.3 V of VDD (M7's Vdsat)
        assert 1.45 < v[-1] < 1.8


def test_readout_energy_is_the_ota_bias_over_the_window(readout):
    """A class-A OTA draws Iref + I5 + I7 = (2 + k2) ibias from 1.8 V whatever the charge:
    E ~ 1.8 V x 6 x 20 uA x 35 ns = 7.56 pJ (mirror ratios of circuits/ota.py); less
    where the output saturates (M7 in triode draws less)."""
    e = readout.data["e_int_j"][0, 0]
    q = readout.axis("q_in_c")
    hand = 1.8 * 6 * 20e-6 * 35e-9
    np.testing.assert_allclose(e[0][q < 450e-15], hand, rtol=0.05)
    assert np.all(e[0] <= hand * 1.05)
    assert np.all(np.isnan(e[1]))                 # the behavioral op-amp has no supply


# --- plots ------------------------------------------------------------------------------
def test_plot_gaincell(mac, retention, out):
    from imcspice.characterize.fit_plot import plot_raw as plot_gaincell
    from plotcheck import check_png, line_data, saved_figures
    for raw, name in ((mac, "mac.png"), (retention, "ret.png")):
        with saved_figures() as figs:
            plot_gaincell(raw, out / name)
        (fig, path), = figs
        check_png(fig, path)
        a1, a2 = fig.axes
        if raw is mac:
            # I(Vs) per Vwl in uA at the first outer point; charge vs pulse width in fC
            i = raw.data["i_cell_a"][(0,) * (raw.data["i_cell_a"].ndim - 2)]
            lines = [ln for ln in line_data(a1) if len(ln[0]) > 2]    # not the 0 line
            assert len(lines) == len(raw.axis("vwl_v"))
            for k, (x, y) in enumerate(lines):
                np.testing.assert_allclose(x, raw.axis("vs_v"))
                np.testing.assert_allclose(y, i[k] * 1e6)
            q = raw.data["q_col_c"][(0,) * (raw.data["q_col_c"].ndim - 1)]
            (x, y), = line_data(a2)
            np.testing.assert_allclose(x, raw.axis("t_pulse_s") * 1e9)
            np.testing.assert_allclose(y, q * 1e15)
        else:
            # 2 devices x 2 temperatures, each with one trajectory per written level
            v = raw.data["v_sn_v"]
            n_traj = int(np.prod(v.shape[:-1]))
            lines = line_data(a1)
            assert len(lines) == n_traj and a1.get_xscale() == "log"
            np.testing.assert_allclose(np.sort(np.concatenate([y for _, y in lines])),
                                       np.sort(v.ravel()))
            assert a2.get_yscale() == "log"
