"""The acam-search cycle's control-gate driver energy (characterize/recipes/acam_drivers.py)
on synthetic waveforms: each control gate is a capacitor, so a CMOS driver draws C*VDD^2
from VDD per rising edge (half stored, half burnt in its pull-up), whatever current
ringing the integrator adds, and nothing when it pulls the gate down."""
import numpy as np
import pytest

from imcspice.characterize.recipes import get_recipe
from imcspice.characterize.recipes.acam import _T_DECIDE_S, _T_EDGE_S
from imcspice.characterize.recipes.acam_drivers import driver_energy

VDD = 1.8
#: gate capacitance per control source, F (arbitrary, distinct so a swapped or missed
#: phase shows)
C_F = {"vpre": 3e-15, "veval": 5e-15, "vslen": 20e-15, "vslenb": 0.7e-15, "vclk": 8e-15}


def _waveforms(p, ring_a):
    """Gate voltage of each source rebuilt from the recipe's PULSE timing, its branch
    current -C dv/dt (ngspice: positive into the + terminal, so a source delivering charge
    reads negative) on a fine uniform time grid, plus a ringing +-ring_a alternating from
    one sample to the next, as the trapezoidal rule leaves after an edge (its trapezoid
    integral is zero over every pair of steps)."""
    te, td = _T_EDGE_S, _T_DECIDE_S
    t_pre, t_ev, t_set = p["t_pre_s"], p["t_eval_s"], p["t_sl_setup_s"]
    t1 = 2 * t_pre + t_ev + td + te
    # np.gradient smears each PULSE corner over a sample, and the phase windows start at
    # the corners: 0.66 % of the energy with 40001 samples (0.18 ps, 20 ps edges), which
    # the comparison's default 1e-12 absolute tolerance hid; 0.063 % with 400001
    t = np.linspace(0.0, t1, 400001)

    def pulse(v1, v2, td_, tr, pw):
        return np.interp(t, [0, td_, td_ + tr, td_ + tr + pw, td_ + 2 * tr + pw],
                         [v1, v1, v2, v2, v1])

    w_sl = t_set + t_ev + td - te
    v = {"vpre": pulse(0, VDD, t_pre, te, t_ev + td),
         "veval": pulse(0, VDD, t_pre + te, te, max(t_ev + td - 3 * te, te)),
         "vslen": pulse(0, VDD, t_pre - t_set, te, w_sl),
         "vslenb": pulse(VDD, 0, t_pre - t_set, te, w_sl),
         "vclk": pulse(0, VDD, t_pre + t_ev - te, te, td - te)}
    ring = ring_a * (-1.0) ** np.arange(len(t))
    vec = {f"{s}#branch": -C_F[s] * np.gradient(v[s], t) + ring for s in v}
    return t, vec


@pytest.mark.parametrize("ring_a", [0.0, 50e-6])
def test_driver_energy_is_c_vdd_squared_per_rising_edge(ring_a):
    p = get_recipe("acam-search").resolve({})
    t, vec = _waveforms(p, ring_a)
    t_on = p["t_pre_s"] - p["t_sl_setup_s"] - _T_EDGE_S
    e = driver_energy(t, vec, p, t_on, t[-1], _T_EDGE_S, _T_DECIDE_S)
    # every source has exactly one rising edge in the window (vslenb's comes after the
    # source line turns off); the falling edges return the charge to ground
    want = sum(C_F.values()) * VDD ** 2
    assert e == pytest.approx(want, rel=2e-3, abs=0)
    # the rectified current (version 2 of the recipe) counts the ringing as energy
    if ring_a:
        rect = sum(np.trapezoid(VDD * np.maximum(-vec[f"{s}#branch"], 0.0)[t >= t_on],
                                t[t >= t_on]) for s in C_F)
        assert rect > 2 * want

