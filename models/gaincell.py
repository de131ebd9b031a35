"""Gain-cell attention (Leroux et al.) behavioral models, from the gaincell-* recipes.

``gaincell-mac`` (recipe gaincell-mac):
    i_cell_a(vwl_v, vs_v)  signed cell read current vs word-line level and stored voltage.
        NOT separable (the push-pull read's two branches turn on at different (Vwl, Vs)):
        a 2-D lookup table of asinh(I / s) (s = 1e-3 of the largest |I|: linear near 0,
        logarithmic over the sub-threshold decades), refined with a monotone cubic (PCHIP)
        in both axes, per corner/temperature. A 2-D polynomial was tried and misses by
        several percent of full scale at the grid's edges. It does not depend on the
        column voltage vs_col_v of the charge measurement, so that axis is averaged out.
    q_col_c(t_pulse_s, ...) column charge vs query pulse width, v_int_v(t_pulse_s, ...)
        integrator output, with the SKY130 OTA integrator (recipe v8 on): closed form
        ``integrator-soft-rails`` (models/gaincell_ramp.py, hand derivation there): the
        ramp below through the OTA's soft rails, its loop gain falling linearly with the
        output's headroom as M7 (top) or M6 (bottom) enters triode, a hyperbolic knee
        ~Vdsat wide; q_col_c adds the charge the cells still deliver into the input node
        after the output stops, saturating exponentially. With the behavioral op-amp
        (hard clamp) the fitter keeps whichever of the two forms fits the training
        points better. Closed form ``integrator-ramp-feedthrough`` (older files:
        ``integrator-ramp-lag``, without the feedthrough term; ``integrator-ramp-shaped``,
        ``integrator-ramp``: a 100 ps edge step) per setting (forms.py) -- z = y0 +
        feedthrough * min(t / t_ft, 1) + step * (1 - exp(-t / t_edge)) + gain * t
        (feedthrough: the charge the cells' internal nodes between access and read
        transistors, idle at the read rails, exchange with the bit line at every read,
        whole once the 100 ps word-line edge has passed; measured -0.8 fC at 64 rows and
        1 ns, against +5.2 fC at 2 ns; y0 the reset
        level: vref_v for v_int, 0 for q; step the word-line edge coupling, or, negative,
        the integrator's start-up lag, settling with one t_edge shared by all settings
        (the word-line edge or 0.25-2 ns, least squares on the unclamped curves); gain
        the column current), hard
        clamp at the rails the data sits on, or a slope-continuous bend into the rail
        from a shared knee, 1 - exp(-u) or tanh(u) per side (q keeps flowing after the
        clamp while the bit line discharges, then stops sharply);
        gain (asinh-stored) and step interpolated over the settings. Where that form
        misses the training points by > 1 % FS, a table over the pulse width and the
        settings, monotone-cubic refined (the shipped FULL sweep uses the form for both).
    vs_zero_v  stored voltage of zero cell current (over the swept settings).
    e_read_j(t_pulse_s, ...) energy per cell read from supply-current integration (read
        word-line drivers + PMOS read rail; linear in the pulse width below the
        integrator's saturation): a table over the read-issued widths t_pulse_s > 0,
        monotone-cubic refined, and 0 at t_pulse_s = 0 (no pulse, no read: the drivers'
        edge charge is a step there, not a slope); i_vrp_a(vwl_v, vs_v)
        the PMOS rail's DC current, asinh table like i_cell_a.
    e_int_j(t_pulse_s, ...) the column integrator OTA's supply energy over the 20 ns read
        window, per column read (class A: its bias energy, moved by 1-5 % by the read):
        closed form ``integrator-supply-energy`` (models/gaincell_energy.py, the
        derivation there) on the output trajectory of v_int_v's fit, a table where that
        misses the training points by > 1 % FS; absent from files swept with the
        behavioral integrator.

``gaincell-readout``: t_out_s (see below), e_int_j(q_in_c) the integrator OTA's supply
energy per conversion (table), v_int_v, gain_s_per_c, q_sat_c, t_out_max_s.

``gaincell-write``: e_write_j = supply energy of the write drivers (phase charge x
rail level), with t_settle_s, v_err_v, dv_inj_v, v_stored_v, e_net_j, tables.

``gaincell-retention``: v_sn_v(t_s, v0_v, temp_c, ...) as ``time-scaled-curve`` (the
trajectory on a scaled log-time axis ln(t / a), ln a Arrhenius in 1/T); t_out_s of
``gaincell-readout`` as ``saturating-linear`` in q_in_c (rails pinned). Every other
quantity of ``gaincell-retention``, ``gaincell-write``, ``gaincell-readout`` (and any
further gaincell-* recipe) as a table over its axes; time constants
(quantities named ``tau*``) are tabulated as log(tau) over 1/T, i.e. Arrhenius-like
interpolation between swept temperatures (points whose relaxation starts within 20 mV
of its end level have no measurable 1/e time: they are interpolated from their
neighbours and not held out); the hold-state leakage i_leak_a as
asinh(I / s) (a signed current over decades), monotone-cubic refined in vs_v and
interpolated in 1/T; the write outputs v_err_v and dv_inj_v linearly (they cross or
approach zero). :meth:`GainCellModel.stored_voltage` applies
V(t) = v_mid + (V0 - v_mid) * exp(-t / tau(T)) with the fitted level and time constant.
"""
from __future__ import annotations

import numpy as np

from .base import BehavioralModel, register_kind
from ..errors import UnknownNameError


class GainCellModel(BehavioralModel):
    kind = "gaincell"

    def _first(self, prefixes) -> str | None:
        for p in prefixes:
            for n in self.functions:
                if n.startswith(p):
                    return n
        return None


@register_kind
class GainCellMacModel(GainCellModel):
    kind = "gaincell-mac"
    primary = "i_cell_a"

    def cell_current(self, vs_v, vwl_v, *, corner=None, strict=False, **settings):
        """Signed cell read current [A] (positive: sunk from the bit line)."""
        return self.evaluate("i_cell_a", corner=corner, strict=strict, vs_v=vs_v, vwl_v=vwl_v,
                             **settings)

    def column_charge(self, t_pulse_s, *, corner=None, strict=False, **settings):
        return self.evaluate("q_col_c", corner=corner, strict=strict, t_pulse_s=t_pulse_s,
                             **settings)

    def integrator_output(self, t_pulse_s, *, corner=None, strict=False, **settings):
        return self.evaluate("v_int_v", corner=corner, strict=strict, t_pulse_s=t_pulse_s,
                             **settings)

    def evaluate(self, output=None, *, corner=None, strict=False, **inputs):
        """As :meth:`BehavioralModel.evaluate`; ``e_read_j`` is 0 at t_pulse_s <= 0 where
        its table covers only read-issued widths (no pulse, no read: the drivers' edge
        charge is a step at t = 0 that a table must not interpolate across)."""
        out = super().evaluate(output, corner=corner, strict=strict, **inputs)
        name = self._output(output)
        if name != "e_read_j" or "t_pulse_s" not in inputs:
            return out
        fn = self.functions[name]
        if "t_pulse_s" not in fn.grid_inputs or \
                fn.grid_axes[fn.grid_inputs.index("t_pulse_s")][0] <= 0:
            return out          # older files tabulate the t = 0 line itself
        from .array_api import namespace_of
        xp = namespace_of(out, inputs["t_pulse_s"])
        t = xp.broadcast_arrays(xp.asfloat(inputs["t_pulse_s"], like=out), out)[0]
        return xp.where(t > 0, out, out * 0)


@register_kind
class GainCellRetentionModel(GainCellModel):
    kind = "gaincell-retention"
    primary = "v_sn_v"

    def tau(self, *, corner=None, strict=False, **settings):
        name = self._first(("tau",))
        if name is None:
            raise UnknownNameError("this retention model has no time-constant output (tau*)")
        return self.evaluate(name, corner=corner, strict=strict, **_only(self, name, settings))

    def relax_level(self, *, corner=None, strict=False, **settings):
        name = self._first(("v_mid", "v_inf", "v_relax", "v_final", "v_rel"))
        if name is None:
            return np.float64(0.45)   # REFERENCE.md: relaxes toward 0.45 V
        return self.evaluate(name, corner=corner, strict=strict, **_only(self, name, settings))

    def stored_voltage(self, v0_v, t_s, *, corner=None, strict=False, **settings):
        """V(t) = v_inf + (V0 - v_inf) * exp(-t / tau(V0, T)): relaxation toward the
        hold-state equilibrium level (~ the 0.45 V mid level)."""
        v0 = np.asarray(v0_v, dtype=np.float64)
        name = self._first(("tau",))
        kw = dict(settings)
        if name and "v0_v" in self.functions[name].inputs:
            kw["v0_v"] = v0
        tau = self.tau(corner=corner, strict=strict, **kw)
        vm = self.relax_level(corner=corner, strict=strict, **settings)
        return vm + (v0 - vm) * np.exp(-np.asarray(t_s) / tau)


@register_kind
class GainCellWriteModel(GainCellModel):
    kind = "gaincell-write"
    primary = "v_stored_v"


@register_kind
class GainCellReadoutModel(GainCellModel):
    kind = "gaincell-readout"
    primary = "t_out_s"


def _only(model, output, settings):
    ins = set(model.functions[output].inputs)
    return {k: v for k, v in settings.items() if k in ins}
