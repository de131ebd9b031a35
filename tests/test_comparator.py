"""StrongARM comparator (SKY130) on real ngspice: energy against C*V^2, offset against
Pelgrom with the PDK's own mismatch coefficients, delay against the latch's
regeneration, and the fitted model through HDF5."""
import math

import numpy as np
import pytest

from imcspice.characterize.fit import fit_file
from imcspice.characterize.recipes import get_recipe
from imcspice.characterize.recipes.comparator import V_OD
from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec
from imcspice.circuits import comparator as cc
from imcspice.models import OutOfRangeWarning, load

VDD = 1.8
#: SKY130 Vt mismatch coefficients, V*um (models_global.spice: sw_mm_vth0_sky130_fd_pr__
#: nfet_01v8 = 3.356e-3 "Nmos VT", ..._pfet_01v8 = 5.856e-3 "Pmos VT"), applied in the
#: PDK subcircuits as A / sqrt(W L) (times a geometry factor for the nfet, below)
AVT_N, AVT_P = 3.356e-3, 5.856e-3


def sigma_vt_nfet(w, l):
    """sigma(Vt) of one sky130_fd_pr__nfet_01v8: Pelgrom A/sqrt(WL) times the PDK's
    small-geometry factor on its delvto line (models_fet.spice)."""
    f = (0.008 * 8 / l + 0.992) * (0.035 * 7 / w + 0.965) * (0.001 * 56 / (w * l) + 0.999)
    return AVT_N / math.sqrt(w * l) * f


def sigma_vt_pfet(w, l):
    return AVT_P / math.sqrt(w * l)


@pytest.fixture(scope="module")
def loads(pool, tmp_path_factory):
    spec = SweepSpec("comparator", {"c_load_ff": [5.0, 15.0]})
    out = tmp_path_factory.mktemp("cmp") / "loads.raw.h5"
    raw = run_sweep(spec, out, pool=pool, progress=False)
    assert raw.status_counts() == {"ok": 2}
    return raw, out


@pytest.fixture(scope="module")
def mc(pool, tmp_path_factory):
    spec = SweepSpec("comparator", {"v_cm_v": [0.9]}, mc=10)
    out = tmp_path_factory.mktemp("cmp") / "mc.raw.h5"
    raw = run_sweep(spec, out, pool=pool, progress=False)
    assert raw.status_counts() == {"ok": 10}
    return raw, out


def test_load_energy_is_c_v_squared_of_the_swinging_outputs(loads):
    """Per decision the losing output swings VDD -> 0 -> VDD (charge C*VDD from the
    supply) and the winning one dips by v_dip and is pulled back (C*v_dip): adding 10 fF
    to each output adds VDD * C * (VDD + v_dip) per load to the supply energy."""
    raw, _ = loads
    e = raw.data["e_supply_j"][0, 0]          # (c_load, v_od)
    dip = raw.data["v_dip_v"][0, 0]
    k = len(V_OD) - 1                          # 100 mV: a clean, fast decision
    c = np.array([5e-15, 15e-15])
    hand = VDD * c * (VDD + dip[:, k])
    ratio = (e[1, k] - e[0, k]) / (hand[1] - hand[0])
    assert 0.9 < ratio < 1.1, ratio
    # and at every overdrive the extra energy is at least the losing output's C*VDD^2
    assert np.all(e[1] - e[0] > 10e-15 * VDD ** 2)
    # the clock driver's share: charge into the clock pins, the same for both loads
    ec = raw.data["e_clock_j"][0, 0]
    assert np.allclose(ec[0], ec[1], rtol=0.02, atol=0)
    assert np.allclose(raw.data["e_decision_j"][0, 0], e + ec, rtol=1e-12, atol=0)


def test_delay_grows_logarithmically_at_small_overdrive(loads):
    """Regeneration: t_d ~ tau * ln(1 / v_od) at small overdrive, tau = C_out / (gm_n +
    gm_p) of the latch. Hand estimate: C_out ~ 5 fF load + ~4 fF of latch/precharge
    gates and junctions; gm of a 2 um SKY130 nfet + pfet near VDD/2 ~ 0.5-1.5 mS: tau
    ~ 6-18 ps, i.e. of order 10 ps (checked to a factor ~3 either side)."""
    raw, _ = loads
    t = raw.data["t_decision_s"][0, 0, 0]     # c_load = 5 fF
    assert np.all(np.isfinite(t))
    assert np.all(np.diff(t) < 0)              # larger overdrive, faster
    # slope per e-fold over the first decade (0.1 -> 1 mV)
    tau = (t[0] - t[4]) / math.log(V_OD[4] / V_OD[0])
    assert 3e-12 < tau < 40e-12, tau
    # a heavier load slows it
    assert np.all(raw.data["t_decision_s"][0, 0, 1] > t)


def test_offset_sigma_matches_pelgrom_with_the_pdk_coefficients(mc):
    """Input-referred offset: the input pair's sqrt(2) sigma(Vt), plus the latch pairs'
    divided by the first-phase gain A = 2 Vtn / (Vgs - Vtn) (Razavi 2015) ~ 2.5 at
    Vcm = 0.9 V (Vtn ~ 0.5 V). Lower bound: the input pair alone; upper: both."""
    raw, _ = mc
    vos = raw.data["v_offset_v"].ravel()
    assert np.all(np.isfinite(vos)) and len(vos) == 10
    s = float(np.std(vos, ddof=1))
    sa = cc.StrongArm()
    s_in = math.sqrt(2) * sigma_vt_nfet(sa.w_in_um, sa.l_in_um)
    s_latch = math.sqrt(2) * math.hypot(sigma_vt_nfet(sa.w_ln_um, sa.l_ln_um),
                                        sigma_vt_pfet(sa.w_lp_um, sa.l_lp_um)) / 2.5
    s_all = math.hypot(s_in, s_latch)
    assert 5.0e-3 < s_in < 6.5e-3            # 5.6 mV from the PDK numbers
    # 95 % interval of a sample std over 10 normal samples: [0.69, 1.83] x sigma
    assert 0.69 * s_in < s < 1.3 * s_all, (s, s_in, s_all)
    # nominal devices: no offset beyond the bisection's 20 uV resolution (symmetric deck)
    assert abs(np.mean(vos)) < 3 * s / math.sqrt(10)


def test_model_round_trip_and_range(mc, tmp_path):
    raw, path = mc
    m = fit_file(path, tmp_path / "cmp.model.h5")
    m2 = load(tmp_path / "cmp.model.h5")
    assert m2.kind == "comparator" and m2.meta["mc_samples"] == 10
    od = np.array([2e-4, 3e-3, 0.05])
    for q in ("e_decision_j", "t_decision_s"):
        assert np.allclose(m.evaluate(q, v_od_v=od), m2.evaluate(q, v_od_v=od), rtol=1e-12,
                           atol=0)
        assert q in m2.heldout_error["outputs"]
    # the model reproduces the MC-mean energy at a swept overdrive
    mean_e = np.nanmean(raw.data["e_decision_j"].reshape(10, -1), axis=0)
    assert m2.decision_energy(V_OD[6]) == pytest.approx(mean_e[6], rel=1e-6, abs=0)
    assert m2.offset_sigma() == pytest.approx(np.std(raw.data["v_offset_v"], ddof=1),
                                              rel=1e-9, abs=0)
    with pytest.warns(OutOfRangeWarning):
        m2.evaluate("t_decision_s", v_od_v=1.0)
    with pytest.raises(ValueError):
        m2.evaluate("t_decision_s", v_od_v=1e-6, strict=True)


def test_recipe_declares_what_the_gain_cell_readout_uses():
    r = get_recipe("comparator")
    assert "e_decision_j" in {o.name for o in r.outputs}
    assert r.param("w_in_um").structural and not r.param("c_load_ff").structural


def test_netlist_builder_refuses_bad_geometry():
    with pytest.raises(ValueError):
        cc.fet_line("m1", "d", "g", "s", "b", "sky130_fd_pr__nfet_01v8", -1.0, 0.15)
    with pytest.raises(ValueError):
        cc.fet_line("m1;x", "d", "g", "s", "b", "sky130_fd_pr__nfet_01v8", 1.0, 0.15)
