"""Gain-cell family on real ngspice + SKY130: the physics a reviewer would check.

References: ../shared/REFERENCE.md "Gain-cell attention" (storage 0–0.9 V centered at
0.45 V, signed non-linear cell current, query pulses of 0.9 V up to 15 ns, column charge
integration, clipped-linear charge-to-pulse readout, leakage toward 0.45 V with Si
retention ~ms and OSFET far longer).
"""
from pathlib import Path

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
#: the OTA integrator's reset switch (SKY130 nfet W 1 um, L 0.15 um, circuits/ota.py
#: integrator) injects at most its whole channel charge when it opens: Cox W L (1.8 V -
#: vref - Vt) = 8.3 fF/um^2 (tox 4.15 nm) x 0.15 um^2 x (1.8 - 0.45 - 0.4 V, Vt >= 0.4 V)
#: = 1.2 fC. Into the integrator it moves the output by <= 1.2 fC / 500 fF = 2.4 mV; the
#: part that first lands on the bit line comes back through the sense source as the loop
#: restores the virtual ground, so a read with no pulse carries at most that charge.
RESET_INJECTION_C = 8.3e-15 * 0.15 * (1.8 - 0.45 - 0.4)


def test_column_charge_linear_in_pulse_width_below_saturation(mac):
    """No pulse, no charge (beyond the OTA reset switch's injection, RESET_INJECTION_C);
    every pulse exchanges the read path's feedthrough charge
    (measured -0.8 fC at 64 rows and 1 ns, against +5.2 fC at 2 ns), then the charge
    grows linearly with the width. The access devices are near threshold at the 0.9 V
    word line (gate 0.9 V, source ~0.45 V, SKY130 Vth ~0.5 V with body effect): they
    charge the internal nodes' ~1 fF with ~uA, C dV / I ~ 0.5 ns, so the line is taken
    from 2 ns on; its intercept is the feedthrough (plus the reset injection and an
    allowance of 0.2 ns x the current for the cells' response to the virtual ground's
    lag) and must lie within the hand bound."""
    t = np.asarray(mac.axis("t_pulse_s"))
    q, _ = mac.select("q_col_c", corner="tt", temp_c=27, rows=64, vs_col_v=0.6)
    v, _ = mac.select("v_int_v", corner="tt", temp_c=27, rows=64, vs_col_v=0.6)
    assert v.max() < 1.7                          # integrator not clamped
    assert abs(q[0]) < RESET_INJECTION_C          # no pulse: no charge but the reset's
    assert np.all(np.diff(q[1:]) > 0)
    late = t >= 2e-9
    fit = np.polyfit(t[late], q[late], 1)
    resid = q[late] - np.polyval(fit, t[late])
    assert np.max(np.abs(resid)) < 0.02 * q[-1], resid / q[-1]
    lo, hi = FEEDTHROUGH_BOUNDS_C
    assert 64 * lo - abs(fit[0]) * 0.2e-9 <= fit[1] <= 64 * hi + RESET_INJECTION_C, fit
    # charge scales with the number of rows (identical cells)
    q4, _ = mac.select("q_col_c", corner="tt", temp_c=27, rows=4, vs_col_v=0.6)
    np.testing.assert_allclose(q[-1] / q4[-1], 16.0, rtol=0.03)


def test_column_charge_saturates_with_the_integrator(mac):
    q, _ = mac.select("q_col_c", corner="tt", temp_c=27, rows=64, vs_col_v=0.9)
    v, _ = mac.select("v_int_v", corner="tt", temp_c=27, rows=64, vs_col_v=0.9)
    # the OTA's output stage leaves saturation within ~0.3 V of VDD (M7's Vdsat), as in
    # the readout (test_readout_is_clipped_linear)
    assert 1.45 < v[-1] < 1.8
    dq = np.diff(q)
    assert dq[-1] < 0.5 * dq[0]                   # charge stops growing linearly



@pytest.fixture(scope="module")
def mac_model(mac, out):
    """The fixture's sweep fitted (once: ~10-40 s on 2 busy cores)."""
    from imcspice.characterize.fit import fit
    return fit(out / "mac.raw.h5")


def test_integrator_charge_meets_the_one_percent_target(mac_model):
    m = mac_model
    assert m.heldout_error["outputs"]["q_col_c"]["max_pct_fs"] <= 1.0


def test_column_charge_fits_the_feedthrough_ramp_form(mac_model):
    """q_col_c as the integrator-soft-rails form (models/gaincell_ramp.py: reset level, the
    read path's feedthrough, settling step, ramp, the OTA's soft rails)."""
    m = mac_model
    fq = m.functions["q_col_c"]
    assert fq.form == "integrator-soft-rails"
    # the fitted offset of the ramp per cell (feedthrough, whole after the edge, plus the
    # settling step: the internal nodes' exchange and the integrator's lag) within the
    # hand bound (FEEDTHROUGH_BOUNDS_C; the lag's share: <= 0.2 ns x the cell current,
    # 1 / (2 pi GBW) at 1 GHz, and the current of a 0.6-0.9 V cell is <= 14 fC/ns per
    # cell: 64 rows reach the 900 fC rail in ~1 ns at 0.9 V). The lag is a small-signal
    # bound: it holds while the OTA follows the ramp linearly, i.e. while the ramp's slope
    # (gain / cint) is below the OTA's slew rate I5 / Cc = 20 uA / 250 fF = 80 V/us
    # (circuits/ota.py); a column that asks for more (64 rows at 0.9 V: ~0.1 V/ns) is
    # slewing and its first nanosecond is not bounded by it
    par = np.asarray(fq.values)
    offset = par[..., fq.param_names.index("feedthrough")] + \
        par[..., fq.param_names.index("step")]
    slope_v_per_s = np.abs(par[..., fq.param_names.index("gain")]) / 500e-15
    linear = slope_v_per_s < 20e-6 / 250e-15
    k = fq.grid_inputs.index("rows")
    rows = np.asarray(fq.grid_axes[k]).reshape([1] * (1 + k) + [-1] +
                                               [1] * (offset.ndim - 2 - k))
    assert linear.sum() >= 3, slope_v_per_s.ravel()        # 4 rows and 64 rows at 0.6 V
    per_cell = np.broadcast_to(offset / rows, offset.shape)[linear]
    lo, hi = FEEDTHROUGH_BOUNDS_C
    # (plus the OTA reset switch's injection, shared by the column's cells)
    assert np.all((per_cell >= lo - 0.2e-9 * 14e-6) &
                  (per_cell <= hi + RESET_INJECTION_C /
                   np.broadcast_to(rows, offset.shape)[linear])), per_cell.ravel()
    t = np.linspace(1e-9, 15e-9, 57)             # beyond the 100 ps word-line edge
    for vs in (0.6, 0.75, 0.9):
        q = m.column_charge(t, rows=64, vs_col_v=vs)
        assert np.all(np.diff(q) >= -1e-18)       # charge monotone in pulse width
        assert m.column_charge(np.array([0.0]), rows=64, vs_col_v=vs)[0] == 0.0
    assert 1.45 < m.integrator_output(np.array([15e-9]), rows=64, vs_col_v=0.9)[0] < 1.8


def test_integrator_output_held_out_within_one_percent(mac_model):
    m = mac_model
    assert m.functions["v_int_v"].form == "integrator-soft-rails"
    for vs in (0.6, 0.75, 0.9):
        # no pulse: the reset level, vref plus the reset switch's injection
        assert m.integrator_output(np.array([0.0]), rows=64, vs_col_v=vs)[0] == \
            pytest.approx(0.45, abs=RESET_INJECTION_C / 500e-15)
    # the target: held-out error <= 1 % of full scale
    assert m.heldout_error["outputs"]["v_int_v"]["max_pct_fs"] < 1.0


def test_integrator_energy_closed_form_held_out_within_one_percent(mac_model):
    """e_int_j as integrator-supply-energy (models/gaincell_energy.py) on v_int_v's
    trajectory: with no pulse the class-A bias, 6 x 20 uA x 1.8 V x 20 ns = 4.32 pJ
    (circuits/ota.py mirror ratios, within 5 %), and the issue's 1 % FS held out."""
    m = mac_model
    assert m.functions["e_int_j"].form == "integrator-supply-energy"
    for rows in (4, 64):
        e0 = m.evaluate("e_int_j", t_pulse_s=np.array([0.0]), rows=rows, vs_col_v=0.9)[0]
        assert e0 == pytest.approx(1.8 * 6 * 20e-6 * 20e-9, rel=0.05, abs=0)
    assert m.heldout_error["outputs"]["e_int_j"]["max_pct_fs"] <= 1.0


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


# --- gaincell-mac: the SKY130 OTA integrator against the behavioral op-amp -----------------------
@pytest.fixture(scope="module")
def mac_int(pool, out):
    """One 64-row column of cells at 0.6 V (~115 fC at 15 ns: far inside both
    integrators' swing) read through each integrator."""
    spec = SweepSpec("gaincell-mac", {"rows": [64], "vs_col_v": [0.6],
                                      "integrator": ["ota", "behavioral"]})
    raw = run_sweep(spec, out / "mac_int.raw.h5", pool=pool, progress=False)
    _ok(raw)
    assert raw.data_axes["v_int_v"] == ["corner", "temp_c", "rows", "vs_col_v", "integrator",
                                        "t_pulse_s"]
    return raw


def _virtual_ground_bound(dv, t_p, a0, gbw_hz, pm_deg, beta):
    """Largest |Delta v_in| (V) of an integrator's virtual ground at the end of the read
    (T_END_S = 20 ns), relative to the no-pulse read, for output increments ``dv`` (V) after
    pulses ``t_p`` (s), by hand:

    * static: an op-amp of DC gain A0 holds its input at -v_out / A0: |dv| / A0;
    * dynamic: while the output ramps at S, a gain-bandwidth GBW needs an input of
      S / (2 pi GBW) (A(s) ~ 2 pi GBW / s above the dominant pole); after the current stops
      (the pulse's end, T_Q0_S + t_p + its 100 ps edge) that lag decays in the loop with
      feedback factor beta = cint / (cint + C_bl). Two-pole model of the phase margin PM:
      second pole p2 = w_u tan(PM) (w_u = 2 pi GBW), closed-loop s^2 + p2 s + beta w_u p2
      = 0: if underdamped (zeta = p2 / (2 w_n) < 1, w_n^2 = beta w_u p2) the envelope decays
      at p2 / 2 and starts up to 1 / sqrt(1 - zeta^2) above the lag; overdamped, at the
      slow root. S is the larger of the mean slope dv / t_p and the slope over the last
      nanosecond of the pulse (the current when it stops)."""
    wu = 2 * np.pi * gbw_hz
    p2 = wu * np.tan(np.radians(min(pm_deg, 89.0)))
    wn = np.sqrt(beta * wu * p2)
    zeta = p2 / (2 * wn)
    if pm_deg >= 90:                      # single pole: the loop's one pole, beta w_u
        sigma, amp = beta * wu, 1.0
    elif zeta < 1:
        sigma, amp = p2 / 2, 1 / np.sqrt(1 - zeta ** 2)
    else:
        sigma, amp = (p2 - np.sqrt(p2 ** 2 - 4 * beta * wu * p2)) / 2, 1.0
    slope = np.zeros_like(dv)
    slope[1:] = np.maximum(np.abs(dv[1:]) / t_p[1:], np.abs(np.diff(dv)) / np.diff(t_p))
    t_left = 20e-9 - (2e-9 + t_p + 100e-12)
    return np.abs(dv) / a0 + amp * slope / wu * np.exp(-sigma * t_left)


def test_ota_integrator_output_matches_the_behavioral_one(mac_int):
    """The OTA integrator's transfer V_out - vref = Q/cint within the bound its DC gain
    and GBW set, and its output against the behavioral op-amp's.

    The charge q_col_c is what flows out of the integrator's input node (the sense source
    sits between it and the bit line), so exactly: Delta v_int - Delta q / cint = Delta
    v_in, the virtual ground's move. Increments from the no-pulse read drop what the two
    integrators do not share at zero charge: the OTA's offset and its nfet reset
    switch's charge injection (channel charge Cox W L (1.8 V - vref - Vt) = 8.3 fF/um^2 x
    0.15 um^2 x ~0.85 V ~ 1 fC, ~2 mV on 500 fF). Bound of Delta v_in:
    :func:`_virtual_ground_bound` with the OTA's A0, GBW and phase margin from its own AC
    characterization (shipped ``ota`` model at the 20 uA design bias, the lowest GBW and
    PM over its 50 fF - 1 pF loads: ~75 dB, ~80 MHz, ~61 deg) and the behavioral op-amp's
    parameters (60 dB, 1 GHz, single pole: PM 90 deg). beta = 500 / (500 + 12.8) (the
    64-row bit line's 0.2 fF per row).

    The column charge itself moves with the bit line's level (the cells' drain
    conductance): the OTA's input sits S / (2 pi GBW) ~ 30 mV lower during a read, the
    behavioral one's ~3 mV. That is held to the project's 1 % full-scale accuracy target
    (not a derived bound), so the outputs agree within 1 % FS / cint plus both bounds."""
    from imcspice.models import load
    ota_m = load(Path(__file__).resolve().parents[1] / "models" / "data" / "ota.model.h5")
    cl = np.array([5e-14, 1e-12])
    fig = {q: ota_m.evaluate(q, corner="tt", ibias_a=np.full(2, 20e-6), cl_f=cl,
                             temp_c=27.0) for q in ("a0_db", "gbw_hz", "pm_deg")}
    a0_ota = 10 ** (float(np.min(fig["a0_db"])) / 20)
    gbw_ota, pm_ota = float(np.min(fig["gbw_hz"])), float(np.min(fig["pm_deg"]))
    assert a0_ota > 1e3 and 5e7 < gbw_ota < 2e8 and pm_ota > 45    # the design (ota.py)
    beta = 500e-15 / (500e-15 + 64 * 0.2e-15)
    t = np.asarray(mac_int.axis("t_pulse_s"))
    dq, dv = {}, {}
    for k, name in enumerate(("ota", "behavioral")):
        q = mac_int.data["q_col_c"][0, 0, 0, 0, k]
        v = mac_int.data["v_int_v"][0, 0, 0, 0, k]
        dq[name], dv[name] = q - q[0], v - v[0]
    bound = {"ota": _virtual_ground_bound(dv["ota"], t, a0_ota, gbw_ota, pm_ota, beta),
             "behavioral": _virtual_ground_bound(dv["behavioral"], t, 1e3, 1e9, 90.0, beta)}
    err = dv["ota"] - dq["ota"] / 500e-15
    print("ota transfer error / bound:", np.round(np.abs(err) / np.maximum(bound["ota"],
                                                                           1e-30), 3))
    assert np.all(np.abs(err) <= bound["ota"]), (err, bound["ota"])
    fs = float(np.max(np.abs(dq["behavioral"])))
    print("charge difference / FS:", np.max(np.abs(dq["ota"] - dq["behavioral"])) / fs)
    assert np.max(np.abs(dq["ota"] - dq["behavioral"])) <= 0.01 * fs
    print("output difference / bound:", np.round(np.abs(dv["ota"] - dv["behavioral"]) / (
        0.01 * fs / 500e-15 + bound["ota"] + bound["behavioral"]), 3))
    np.testing.assert_array_less(np.abs(dv["ota"] - dv["behavioral"]),
                                 0.01 * fs / 500e-15 + bound["ota"] + bound["behavioral"])


def test_mac_integrator_energy_is_the_ota_bias_over_the_read(mac_int):
    """A class-A OTA draws Iref + I5 + I7 = (2 + k2) ibias from 1.8 V whatever the charge
    (circuits/ota.py mirror ratios): e_int_j ~ 1.8 V x 6 x 20 uA x 20 ns = 4.32 pJ per
    column read; the behavioral op-amp has no supply."""
    e = mac_int.data["e_int_j"][0, 0, 0, 0]
    np.testing.assert_allclose(e[0], 1.8 * 6 * 20e-6 * 20e-9, rtol=0.05)
    assert np.all(np.isnan(e[1]))


# --- gaincell-superposition ----------------------------------------------------------------------
def test_superposition_error_small_but_nonzero(pool, out):
    """On the behavioral op-amp, whose DC gain a0 is a parameter (the OTA's is fixed by
    its devices: its superposition is checked in tests/test_tight_tolerance.py)."""
    spec = SweepSpec("gaincell-superposition", {"rows": [8], "pattern_seed": [0, 3],
                                                "integrator": ["behavioral"],
                                                "a0": [100, 1e5]})
    raw = run_sweep(spec, out / "sup.raw.h5", pool=pool, progress=False)
    _ok(raw)
    assert raw.data_axes["err_c"] == ["corner", "temp_c", "rows", "pattern_seed",
                                      "integrator", "a0"]

    def d(q):
        return raw.data[q][0, 0, 0, :, 0]        # pattern_seed, a0 (, row)
    err = d("err_rel")
    assert np.all(np.abs(err) < 0.01), err
    err_c = d("err_c")
    assert np.max(np.abs(err_c)) > 5e-18, err_c  # above the ~1e-18 C integration noise
    # a lower op-amp gain moves the virtual ground more: larger error, same sign
    assert abs(err_c[0, 0]) > abs(err_c[0, 1]) and err_c[0, 0] * err_c[0, 1] > 0
    q1 = d("q_single_c")[0, 1]
    assert np.all(np.isnan(q1[8:])) and np.all(np.isfinite(q1[:8]))
    q_idle = float(d("q_idle_c")[0, 1])
    np.testing.assert_allclose(q_idle + np.sum(q1[:8] - q_idle), d("q_sum_c")[0, 1],
                               rtol=1e-12)
    vs = d("vs_row_v")[0, 1, :8]
    tw = d("t_row_s")[0, 1, :8]
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
