"""Fitting the gain-cell integrator OTA's supply energy (form ``integrator-supply-energy``,
:mod:`imcspice.models.gaincell_energy`): e_int_j against the pulse width, on the output
trajectory of the integrator's own fit (v_int_v, ``integrator-soft-rails``)."""
from __future__ import annotations

import numpy as np

from ...circuits.gaincell import T_QUERY_MAX_S
from ...models.base import Function
from ...models.gaincell_energy import ENERGY_NAMES, N_TRAJ, PARAM_NAMES, features
from .form import DEFAULT_TOL_PCT, training_grid
from .holdout import heldout_error, split_grid

FORM = "integrator-supply-energy"
TRAJECTORY_FORM = "integrator-soft-rails"
#: the window after the pulse starts (recipe gaincell-mac: pulses start at 2 ns, the
#: window ends 3 ns after the longest pulse, gaincell_common.T_END_S - T_Q0_S)
T_HOLD_S = T_QUERY_MAX_S + 3e-9
#: assumption (circuit estimate, not fitted): the bias node vbp's recovery time, C_bp /
#: gm8: the gates of M5, M7, M8 (16 + 16 + 64 um x 1 um, 2/3 Cox ~ 6 fF/um^2: ~0.57 pF)
#: over gm8 ~ 2 Iref / Vov ~ 180 uS at 20 uA: ~3 ns (the drop of M7's current lags the
#: output by that much in the transient of the shipped deck)
TAU_BIAS_S = 3e-9
#: assumption: the width over which M7's current collapses as the output nears the top
#: rail (a few tens of mV of headroom past its Vdsat; the soft rail's knee, c_hi ~ 8 mV
#: in the shipped fit, is of the same order)
W_TRIODE_V = 0.05
#: assumption: the excursion of the OTA's input node, in output volts of excess, over
#: which the cells' current stops once the virtual ground is lost (models/
#: gaincell_ramp.py, excess_lo/hi of q_col_c: X ~ 0.1-0.5 pC on 0.5 pF)
X_INPUT_V = 0.1
#: weight of the pull of a setting's coefficients toward the corner's shared ones (in
#: full scales per normalized feature): the coefficients are the OTA's, the same for
#: every column; left free, a setting with few moving points (a column that barely
#: moves its output) takes any value for the rail terms, and the held-out settings
#: between two training ones interpolate that
RIDGE = 0.1


def fit_supply_energy(gd, traj: Function | None, seed, axis: str = "t_pulse_s"):
    """Form ``integrator-supply-energy`` over the pulse width, per setting, on the output
    trajectory ``traj`` (the v_int_v function of the same sweep, fitted on the same
    training split): its parameters are copied, the energy coefficients fitted by linear
    least squares, first shared by all settings of a corner, then per setting pulled
    toward the shared ones (RIDGE). Returns (Function, held-out error) or (None, None)
    when there is no such trajectory or the worst training error exceeds the tolerance."""
    if traj is None or traj.form != TRAJECTORY_FORM:
        return None, None
    masks = split_grid(gd, {axis: "form"}, seed)
    param_axes, axes, sub, pshape, xs = training_grid(gd, masks, [axis])
    if list(traj.grid_inputs) != param_axes or list(traj.corners) != list(gd.corners) or \
            any(len(a) != len(axes[n]) or not np.allclose(a, axes[n], rtol=1e-9, atol=0.0)
                for n, a in zip(param_axes, traj.grid_axes)):
        return None, None
    t = xs[0]
    fs = gd.full_scale
    ptraj = np.asarray(traj.values, dtype=np.float64)
    ex = {"t_edge": traj.extra["t_edge"], "t_ft": traj.extra["t_ft"],
          "t_hold": np.array([T_HOLD_S]), "tau_bias": np.array([TAU_BIAS_S]),
          "w_triode": np.array([W_TRIODE_V]), "x_input": np.array([X_INPUT_V])}
    # features at the training widths: pshape + (n_t, 1 + 9)
    pt = np.broadcast_to(ptraj[..., None, :], pshape + (len(t), N_TRAJ))
    tt = np.broadcast_to(t, pshape + (len(t),))
    feat = np.stack([np.ones(pshape + (len(t),))] + features(tt, pt, ex), axis=-1)
    n_e = len(ENERGY_NAMES)
    coef = np.zeros(pshape + (n_e,))
    worst = 0.0
    for c in range(pshape[0]):
        fc, yc = feat[c], sub[c]
        ok = np.isfinite(yc)
        if ok.sum() < 2 * n_e:
            return None, None
        scale = np.max(np.abs(fc[ok]), axis=0)
        scale[scale == 0] = 1.0
        a_all = fc / scale
        shared, *_ = np.linalg.lstsq(a_all[ok], yc[ok] / fs, rcond=None)
        for idx in np.ndindex(*pshape[1:]):
            a, y = a_all[idx], yc[idx]
            k = np.isfinite(y)
            m = a[k].T @ a[k] + RIDGE * np.eye(n_e)
            x = np.linalg.solve(m, a[k].T @ (y[k] / fs) + RIDGE * shared)
            coef[(c,) + idx] = x * fs / scale
            worst = max(worst, 100 * float(np.max(np.abs(a[k] @ x - y[k] / fs))))
    if worst > DEFAULT_TOL_PCT:
        return None, None
    values = np.concatenate([ptraj, coef], axis=-1)
    scales = ["inv_kelvin" if n == "temp_c" else "linear" for n in param_axes]
    fn = Function(name=gd.name, unit=gd.unit, form=FORM, corners=list(gd.corners),
                  grid_inputs=param_axes, grid_axes=[axes[n] for n in param_axes],
                  values=values, form_inputs=[axis], param_names=list(PARAM_NAMES),
                  scales=scales, extra=ex,
                  doc=f"integrator OTA supply energy vs {axis}: bias over the window plus "
                      "the output trajectory's charge on the supply (models/"
                      "gaincell_energy.py)")
    fn.validate()
    err = heldout_error(fn, gd, masks)
    err["training_max_pct_fs"] = worst
    return fn, err
