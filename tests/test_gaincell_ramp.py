"""The integrator-soft-rails form (models/gaincell_ramp.py) against its hand derivation:
(z - y)(R - y) = c (y - y0) per side, plus the excess charge X (1 - exp(-(z - y) / X))."""
import numpy as np
import pytest

from imcspice.models.forms import get_form
from imcspice.models.gaincell_ramp import PARAM_NAMES, soft_rails

Y0, R_LO, R_HI = 0.45, 0.03, 1.70          # V: vref and the OTA's rails (shipped fit ~these)


def _p(**kw):
    base = dict(gain=0.1e9, step=0.0, y0=Y0, feedthrough=0.0, rail_lo=R_LO, c_lo=0.01,
                rail_hi=R_HI, c_hi=0.02, excess_lo=0.0, excess_hi=0.0, curvature=0.0)
    base.update(kw)
    return np.array([base[n] for n in PARAM_NAMES])


def test_soft_rails_solve_the_gain_collapse_equation():
    z = np.linspace(-3.0, 5.0, 801)
    y = soft_rails(z, Y0, R_LO, 0.01, R_HI, 0.02)
    up, dn = z >= Y0, z < Y0
    np.testing.assert_allclose(((z - y) * (R_HI - y))[up], (0.02 * (y - Y0))[up],
                               atol=1e-12)
    np.testing.assert_allclose(((y - z) * (y - R_LO))[dn], (0.01 * (Y0 - y))[dn],
                               atol=1e-12)
    assert np.all((y > R_LO) & (y < R_HI)) and np.all(np.diff(y) > 0)
    # by hand at z = R: d = R - y solves d^2 = c (R - y0 - d): d = (-c + sqrt(c^2 +
    # 4 c (R - y0))) / 2 = (-0.02 + sqrt(0.0004 + 0.1)) / 2 = 0.1484 V (the knee, ~Vdsat)
    y_at_rail = soft_rails(np.array([R_HI]), Y0, R_LO, 0.01, R_HI, 0.02)[0]
    assert R_HI - y_at_rail == pytest.approx(0.1484, abs=2e-4)
    # reset level kept exactly; small-signal slope (R - y0) / (R - y0 + c) = 1.25 / 1.27
    assert soft_rails(np.array([Y0]), Y0, R_LO, 0.01, R_HI, 0.02)[0] == Y0
    dz = 1e-6
    slope = (soft_rails(np.array([Y0 + dz]), Y0, R_LO, 0.01, R_HI, 0.02)[0] - Y0) / dz
    assert slope == pytest.approx(1.25 / 1.27, rel=1e-5, abs=0)


def test_zero_knee_is_the_hard_clamp_and_excess_adds_up_to_x():
    z = np.linspace(-2.0, 4.0, 61)
    np.testing.assert_allclose(soft_rails(z, Y0, R_LO, 0.0, R_HI, 0.0),
                               np.clip(z, R_LO, R_HI), atol=1e-12)
    f = get_form("integrator-soft-rails").func
    ex = {"t_edge": np.array([1e-9]), "t_ft": np.array([1e-10])}
    t = np.array([0.0, 1e-6])                           # no pulse, and far past the rail
    v = f([t], _p(), ex)
    q = f([t], _p(excess_hi=0.2), ex)
    assert v[0] == Y0 and q[0] == Y0                     # no pulse: the reset level
    assert v[1] == pytest.approx(R_HI, abs=1e-3)         # the output stops at its rail
    assert q[1] == pytest.approx(R_HI + 0.2, abs=1e-3)   # the charge: rail plus X


def test_form_runs_on_torch_with_finite_gradients():
    import torch  # a dependency (pyproject): missing, the test fails
    f = get_form("integrator-soft-rails").func
    ex = {"t_edge": np.array([1e-9]), "t_ft": np.array([1e-10])}
    t = np.linspace(0, 15e-9, 16)
    ref = f([t], _p(excess_hi=0.2, excess_lo=0.1), ex)
    tt = torch.tensor(t, dtype=torch.float64, requires_grad=True)
    out = f([tt], torch.tensor(_p(excess_hi=0.2, excess_lo=0.1)), ex)
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-12)
    out.sum().backward()
    assert torch.isfinite(tt.grad).all()
