"""Fitting the gain-cell integrator with the OTA's soft output saturation (form
``integrator-soft-rails``, :mod:`imcspice.models.gaincell_ramp`): q_col_c / v_int_v
against the pulse width, all settings of a corner at once."""
from __future__ import annotations

import numpy as np

from ...circuits.gaincell import T_READ_EDGE_S
from ...models.base import Function
from ...models.forms import get_form
from ...models.gaincell_ramp import PARAM_NAMES
from .form import DEFAULT_TOL_PCT
from .holdout import heldout_error
from .ramp import ramp_curves

FORM = "integrator-soft-rails"
#: outputs that carry the excess charge past the output's share (module docstring of
#: models/gaincell_ramp.py): the column charge; the integrator's output holds none
_EXCESS = ("q_col_c",)
#: a side's rail is fitted only where some curve bends toward it: its last step is below
#: this fraction of its steepest step (otherwise no curve constrains the rail, and the
#: side has none)
_BENT = 0.7
#: range of the shared settling time of the step, ns: up to a little above the OTA's
#: start-up 1 / (2 pi GBW beta) ~ 2.4 ns (GBW ~80 MHz, beta = 500 / (500 + 12.8 + ~80 fF
#: of input gate)). Fitted: 1.9 ns on the CI fixture's sweep, the 3 ns bound on the
#: shipped one (there the step also takes part of the slewing columns' falling current)
TE_RANGE = (0.1, 3.0)
#: weight of the pull toward 0 of a curve's step, feedthrough and curvature (in full
#: scales; 1e-3: a full-scale step costs what a 0.1 % FS misfit costs)
RIDGE = 1e-3


def _bending(sub, y0, up: bool) -> bool:
    """Whether some curve on that side of its reset level bends (slows) by its end."""
    for idx in np.ndindex(*sub.shape[:-1]):
        y = sub[idx][np.isfinite(sub[idx])]
        if len(y) < 4:
            continue
        d = np.diff(y) if up else -np.diff(y)
        if (y[-1] > y0[idx]) == up and d.max() > 0 and d[-1] < _BENT * d.max():
            return True
    return False


def fit_soft_ramp(gd, seed, axis: str = "t_pulse_s"):
    """Form ``integrator-soft-rails`` over the pulse width.

    Per setting (curve): gain, step, feedthrough; the reset level y0 is the setting's
    (vref_v for v_int_v, 0 for q_col_c), not fitted. Per corner, shared by its curves: the
    rails and knee widths of each side a curve bends toward (else no rail on that side),
    and for q_col_c the excess charge per side; one step settling time t_edge for all.
    All by one least-squares fit of the training points (sparse Jacobian: a curve's own
    parameters touch only its points). gain is stored and interpolated linearly between
    settings, not as asinh like the cell current: the ramp's slope is the cells' current
    only while the OTA keeps up; above ~0.1 V/ns (the output stage's slew, I5/Cc ~
    0.08 V/ns plus the Miller path) it is capped, so over the stored voltage it rises
    exponentially and then flattens, and log-like interpolation falls short at that
    corner (measured on the shipped sweep: 2.46 % FS at the held-out 0.675 V line, 0.47 %
    linear; rows: the slope is linear in the number of rows). Returns
    (Function, held-out error) or (None, None) when the worst training error exceeds
    the tolerance."""
    from scipy.optimize import least_squares  # start-up time
    from scipy.sparse import lil_matrix
    curves = ramp_curves(gd, seed, axis)
    if curves is None:
        return None, None
    masks, param_axes, axes, sub, pshape, t, y0 = curves
    fs = gd.full_scale
    f = get_form(FORM).func
    excess = gd.name in _EXCESS
    n_corner = pshape[0]
    curves = [idx for idx in np.ndindex(*pshape)]
    # shared per corner: rail_lo, c_lo, rail_hi, c_hi (+ excess_lo, excess_hi); global te
    sides = [(_bending(sub[c], y0[c], False), _bending(sub[c], y0[c], True))
             for c in range(n_corner)]
    tnorm = float(np.max(t)) or 1.0
    n_sh = 6 if excess else 4

    def unpack(x):
        pc = x[:4 * len(curves)].reshape(len(curves), 4)
        sh = x[4 * len(curves):-1].reshape(n_corner, n_sh)
        return pc, sh, float(x[-1])

    def params(pc, sh, k, idx):
        c = idx[0]
        s = sh[c]
        on_lo, on_hi = sides[c]
        rlo = y0[idx] - s[0] * fs if on_lo else y0[idx] - 1e3 * fs
        rhi = y0[idx] + s[2] * fs if on_hi else y0[idx] + 1e3 * fs
        clo = s[1] * fs if on_lo else 0.0
        chi = s[3] * fs if on_hi else 0.0
        xlo = s[4] * fs if excess else 0.0
        xhi = s[5] * fs if excess else 0.0
        return np.array([pc[k, 0] * fs / tnorm, pc[k, 1] * fs, y0[idx], pc[k, 2] * fs,
                         rlo, clo, rhi, chi, xlo, xhi, pc[k, 3] * fs / tnorm ** 2])

    oks = [np.isfinite(sub[idx]) for idx in curves]
    rows = np.cumsum([0] + [int(o.sum()) for o in oks])
    n_pts = int(rows[-1])
    # a weak pull of each curve's step, feedthrough and curvature toward 0 (RIDGE per
    # full scale): a curve clamped after two or three points does not determine them,
    # and left free they wander between neighbouring settings, which the held-out lines
    # between them then interpolate
    rows = np.append(rows, n_pts + 3 * len(curves))

    def resid(x):
        pc, sh, te = unpack(x)
        ex = {"t_edge": np.array([te * 1e-9]), "t_ft": np.array([T_READ_EDGE_S])}
        out = np.empty(rows[-1])
        for k, idx in enumerate(curves):
            ok = oks[k]
            out[rows[k]:rows[k + 1]] = (f([t[ok]], params(pc, sh, k, idx), ex) -
                                        sub[idx][ok]) / fs
        out[n_pts:] = RIDGE * pc[:, 1:].ravel()
        return out

    # start: each curve's slope over its first unclamped steps, no step or feedthrough;
    # rails a little beyond the data, knees ~ 2 % FS, excess ~ a third of full scale
    pc0 = []
    for k, idx in enumerate(curves):
        ok = oks[k]
        tt, yy = t[ok & (t > 0)], sub[idx][ok & (t > 0)]
        g = (yy[min(2, len(yy) - 1)] - y0[idx]) / max(tt[min(2, len(tt) - 1)], 1e-30) \
            if len(yy) else 0.0
        pc0.append([g * tnorm / fs, 0.0, 0.0, 0.0])
    lo_d = float(np.nanmin(sub - y0[..., None])) / fs
    hi_d = float(np.nanmax(sub - y0[..., None])) / fs
    sh0 = [max(-lo_d, 0.05) * (0.8 if excess else 1.05), 0.01,
           max(hi_d, 0.05) * (0.8 if excess else 1.05), 0.02] + ([0.3, 0.3] if excess else [])
    x0 = np.concatenate([np.ravel(pc0), np.tile(sh0, n_corner), [1.0]])
    n = len(x0)
    lb = np.full(n, -np.inf)
    ub = np.full(n, np.inf)
    nc = 4 * len(curves)
    for c in range(n_corner):
        b = nc + c * n_sh
        lb[b:b + n_sh] = [1e-3, 0.0, 1e-3, 0.0] + ([1e-3, 1e-3] if excess else [])
        ub[b:b + n_sh] = [100.0, 1.0, 100.0, 1.0] + ([100.0, 100.0] if excess else [])
    lb[-1], ub[-1] = TE_RANGE            # the step's settling time, ns
    x0 = np.clip(x0, lb + 1e-9, ub - 1e-9)
    sp = lil_matrix((rows[-1], n), dtype=int)
    for k, idx in enumerate(curves):
        r = slice(rows[k], rows[k + 1])
        sp[r, 4 * k:4 * k + 4] = 1
        sp[r, nc + idx[0] * n_sh:nc + (idx[0] + 1) * n_sh] = 1
        sp[r, -1] = 1
        for j in range(3):
            sp[n_pts + 3 * k + j, 4 * k + 1 + j] = 1
    r = least_squares(resid, x0, bounds=(lb, ub), jac_sparsity=sp, x_scale="jac",
                      max_nfev=400, ftol=1e-10, xtol=1e-10, gtol=1e-10)
    pc, sh, te = unpack(r.x)
    worst = 100 * float(np.max(np.abs(resid(r.x)[:n_pts])))
    if worst > DEFAULT_TOL_PCT:
        return None, None
    out = np.zeros(pshape + (len(PARAM_NAMES),))
    for k, idx in enumerate(curves):
        out[idx] = params(pc, sh, k, idx)
    ex = {"t_edge": np.array([te * 1e-9]), "t_ft": np.array([T_READ_EDGE_S])}
    scales = ["inv_kelvin" if n == "temp_c" else "linear" for n in param_axes]
    fn = Function(name=gd.name, unit=gd.unit, form=FORM, corners=list(gd.corners),
                  grid_inputs=param_axes, grid_axes=[axes[n] for n in param_axes], values=out,
                  form_inputs=[axis], param_names=list(PARAM_NAMES), scales=scales,
                  extra=ex,
                  doc=f"column integrator vs {axis}: feedthrough, start-up step, ramp, the "
                      "OTA's soft rails" + (", excess charge past them" if excess else ""))
    fn.validate()
    err = heldout_error(fn, gd, masks)
    err["training_max_pct_fs"] = worst
    err["rails"] = {c: {"lo": float(out[(i,) + (0,) * (len(pshape) - 1)][4]) if sides[i][0]
                        else None,
                        "hi": float(out[(i,) + (0,) * (len(pshape) - 1)][6]) if sides[i][1]
                        else None}
                    for i, c in enumerate(gd.corners)}
    err["t_edge_s"] = te * 1e-9
    return fn, err
