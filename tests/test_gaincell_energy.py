"""The integrator-supply-energy form (models/gaincell_energy.py) against its hand
derivation, and the shipped gaincell-mac e_int_j against the class-A OTA's bias."""
from pathlib import Path

import numpy as np
import pytest

from imcspice.models import load
from imcspice.models.forms import get_form
from imcspice.models.gaincell_energy import ENERGY_NAMES, PARAM_NAMES, features

Y0 = 0.45                   # V: the reset level (vref)
TH, TAU, W_TRI, X_IN = 18e-9, 3e-9, 0.05, 0.1
EX = {"t_edge": np.array([1e-9]), "t_ft": np.array([1e-10]), "t_hold": np.array([TH]),
      "tau_bias": np.array([TAU]), "w_triode": np.array([W_TRI]),
      "x_input": np.array([X_IN])}
DATA = Path(__file__).resolve().parents[1] / "models" / "data"


def _p(**kw):
    base = dict(gain=0.05e9, step=0.0, y0=Y0, feedthrough=0.0, rail_lo=-100.0, c_lo=0.0,
                rail_hi=100.0, c_hi=0.0, excess_lo=0.0, excess_hi=0.0, curvature=0.0)
    base.update({n: 0.0 for n in ENERGY_NAMES})
    base.update(kw)
    return np.array([base[n] for n in PARAM_NAMES])


def test_a_linear_ramp_gives_the_hand_integrals():
    """Output y = y0 + g s during the pulse, held after it (no rails, no step): the
    window's integral g t^2 / 2 + (t_hold - t) g t, the bias node's lag g tau
    (exp(-(t_hold - t) / tau) - exp(-t_hold / tau)), no triode or input terms."""
    g = 0.05e9
    t = np.array([0.0, 1e-9, 5e-9, 15e-9])
    hi, lo, hi2, lo2, hold, lag, tri, in_hi, in_lo = features(
        t, np.broadcast_to(_p(gain=g), (4, len(PARAM_NAMES))), EX)
    np.testing.assert_allclose(hi, g * t, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hi2, (g * t) ** 2, rtol=1e-12, atol=1e-15)
    assert np.all(lo == 0) and np.all(lo2 == 0)
    np.testing.assert_allclose(hold, g * t ** 2 / 2 + (TH - t) * g * t, rtol=1e-10,
                               atol=1e-22)
    np.testing.assert_allclose(lag, g * TAU * (np.exp(-(TH - t) / TAU) - np.exp(-TH / TAU)),
                               rtol=1e-10, atol=1e-18)
    assert np.all(np.abs(tri) < 1e-30) and np.all(in_hi == 0) and np.all(in_lo == 0)


def test_no_pulse_costs_the_bias_energy_and_each_term_adds_its_coefficient():
    f = get_form("integrator-supply-energy").func
    t = np.array([0.0, 7e-9])
    base = _p(e_static=4.3e-12)
    assert f([t], base, EX)[0] == 4.3e-12                 # no pulse: the bias only
    ref = features(t, base, EX)
    for k, name in enumerate(ENERGY_NAMES[1:]):
        e = f([t], _p(e_static=4.3e-12, **{name: 2e-13}), EX)
        np.testing.assert_allclose(e, 4.3e-12 + 2e-13 * ref[k], rtol=1e-14)


def test_past_the_rail_the_input_term_saturates_at_x_and_triode_time_counts():
    """A column that drives the output into its top rail within ~1 ns: the excess e = z - y
    grows without bound, the input node's term X (1 - exp(-e / X)) -> X; the triode
    term is the time spent near the rail, ~ (t_hold - 1 ns) exp((y - R) / w) <= t_hold."""
    t = np.array([15e-9])
    p = _p(gain=2e9, rail_hi=1.7, c_hi=0.008)
    *_, tri, in_hi, in_lo = features(t, p, EX)
    assert in_hi[0] == pytest.approx(X_IN, rel=1e-6, abs=0) and in_lo[0] == 0
    assert 0.3 * (TH - 1e-9) < tri[0] < TH


def test_quadrature_matches_a_fine_trapezoid():
    """The 32-node Gauss-Legendre integrals against a 20001-point trapezoid of the same
    trajectory (soft rails, step, feedthrough, curvature all on)."""
    from imcspice.models.gaincell_energy import trajectory
    p = _p(gain=0.12e9, step=-0.02, feedthrough=0.01, curvature=-1e15, rail_hi=1.72,
           c_hi=0.008, rail_lo=0.03, c_lo=0.0025)
    t = 12e-9
    s = np.linspace(0.0, t, 20001)
    ys, _ = trajectory(s, np.broadcast_to(p, (len(s), len(p))), EX)
    ye = ys[-1]
    hold = np.trapezoid(ys - Y0, s) + (TH - t) * (ye - Y0)
    got = features(np.array([t]), p, EX)[4][0]
    assert got == pytest.approx(hold, rel=1e-6, abs=0)


def test_shipped_mac_energy_is_the_ota_bias_moved_by_the_output():
    """Shipped gaincell-mac e_int_j (SKY130 OTA, 64 rows): with no pulse the class-A bias,
    (2 + k2) Iref x 1.8 V x 20 ns = 6 x 20 uA x 1.8 V x 20 ns = 4.32 pJ (circuits/ota.py
    mirror ratios; the reference current's own mirror M8 carries it, within 5 %); an
    output driven up (0.9 V cells) takes current from M7 (less Vsd, a smaller drop
    over the junction it leaves charged), one driven down (0 V cells) adds to it."""
    m = load(DATA / "gaincell-mac.model.h5")
    fn = m.functions["e_int_j"]
    assert fn.form == "integrator-supply-energy"
    e = {vs: m.evaluate("e_int_j", t_pulse_s=np.array([0.0, 15e-9]), vs_col_v=vs)
         for vs in (0.0, 0.9)}
    for v in e.values():
        assert v[0] == pytest.approx(1.8 * 6 * 20e-6 * 20e-9, rel=0.05, abs=0)
    assert e[0.9][1] < e[0.9][0] and e[0.0][1] > e[0.0][0]
