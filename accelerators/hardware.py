"""The characterized hardware, as the accelerators see it.

:class:`HardwareModels` is the one place that knows which model file and which
output holds each circuit figure an accelerator needs (crossbar IR drop, ACAM
mismatch, gain-cell current surface, ...). Accelerators read its fields and
methods only, so a new model kind changes this file, not the accelerators.
Everything here comes from ``*.model.h5`` files (``imcspice fit`` output) via
:mod:`imcspice.models.store`: no SPICE runs, no PySpice import.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..models import OutOfRangeWarning, store
from ..errors import ImcspiceError

#: where ``imcspice models build-defaults`` writes the shipped SKY130 models
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models" / "data"


class HardwareModelError(ImcspiceError, RuntimeError):
    """A model file the evaluation needs is missing or unusable."""


@dataclass
class HardwareModels:
    """Behavioral models of every characterized part, at one corner and temperature."""

    corner: str
    temp_c: float
    models: dict = field(default_factory=dict)      # kind -> [BehavioralModel, ...]
    files: dict = field(default_factory=dict)       # id(model) -> path

    @classmethod
    def from_dir(cls, path: str | Path | None = None, corner: str = "tt",
                 temp_c: float = 27.0) -> "HardwareModels":
        d = Path(path) if path else DEFAULT_MODELS_DIR
        if not d.is_dir():
            raise HardwareModelError(f"model directory {d} does not exist; build it with "
                                     "`imcspice models build-defaults --out DIR`")
        hw = cls(corner, float(temp_c))
        for p in sorted(d.glob("*.model.h5")):  # sorted: the choice among equals is stable
            m = store.load(p)
            hw.models.setdefault(m.kind, []).append(m)
            hw.files[id(m)] = str(p)
        return hw

    def get(self, kind: str, **choices):
        """The first model of ``kind`` fitted with these choice parameters (e.g.
        ``write_device="si"``), or None."""
        for m in self.models.get(kind, []):
            have = m.meta.get("choices", {})
            if all(have.get(k) == v for k, v in choices.items()):
                return m
        return None

    def need(self, kind: str, **choices):
        m = self.get(kind, **choices)
        if m is None:
            want = f" with {choices}" if choices else ""
            raise HardwareModelError(f"no '{kind}' model{want} in the model directory "
                                     f"(have: {', '.join(sorted(self.models)) or 'none'}); "
                                     "fit one with `imcspice fit` or rebuild the defaults")
        return m

    def provenance(self) -> dict:
        return {Path(self.files[id(m)]).name: {
                    "kind": m.kind, "source_raw_sha256": m.source_raw_sha256,
                    "heldout_max_pct_fs": m.heldout_error.get("max_pct_fs")}
                for ms in self.models.values() for m in ms}


def _scalar(x) -> float:
    return float(np.asarray(x).ravel()[0])


def _pinned(model, name: str) -> float:
    """A setting the sweep held fixed (valid range lo == hi) or the centre of its range."""
    lo, hi = model.valid_range[name]
    return 0.5 * (lo + hi)


def _clip_to(model, name: str, value: float) -> float:
    lo, hi = model.valid_range[name]
    return float(min(max(value, lo), hi))


# --- crossbars (RACE-IT, HeTraX ReRAM tiers) ------------------------------------------------

def _verified(sigma_fn, tol_us: float | None):
    """Programming sigma after write-verify to +-tol (uniform residual), never above the
    open-loop sigma."""
    if tol_us is None:
        return sigma_fn
    cap = tol_us * 1e-6 / np.sqrt(3.0)
    return lambda g: np.minimum(sigma_fn(g), cap)


def crossbar_device(hw: HardwareModels, xb, temp_c: float | None = None):
    """A crossbar tile as characterized, for the description component ``xb`` (rows,
    r_bl_ohm, v_read_v, write_verify_tol_us): conductance range of the crossbar-column
    sweep, the memristor's read law and programming variability, and the IR drop at
    the tile's rows, wire resistance, read voltage and temperature, as a function of
    each bit line's own conductance load (the model's ``frac_on``). Where ``xb`` names a
    programming temperature ``t_program_c`` (C; HeTraX) other than ``temp_c``, and the
    model was swept over temperature, the same law at that temperature is the device's
    ``ir_drop_cal_rel``: the TIA trims and the calibration reads see the drop of the
    cold chip, the run-time reads the hot one (without ``t_program_c``, RACE-IT, the
    tile is trimmed at the temperature it is read).

    Nothing is clipped: a setting or a load outside the model's valid range is
    evaluated by the model, which warns (``OutOfRangeWarning``) that it extrapolates
    there (a column load below the fitted floor once read the drop of that floor
    instead: issue 12). A model without ``frac_on`` (a load-free sweep) is refused."""
    from .analog import CrossbarDevice
    xbm = hw.need("crossbar-column")
    mem = hw.need("memristor")
    t = hw.temp_c if temp_c is None else temp_c
    v_read = float(xb["v_read_v"])
    if "frac_on" not in xbm.functions["ir_drop_rel"].inputs:
        raise HardwareModelError("the crossbar-column model has no frac_on input: the IR "
                                 "drop cannot follow each bit line's load (sweep frac_on)")
    t_prog = xb.get("t_program_c")
    law = _ir_drop_law(hw, xbm, xb, v_read, float(t))
    cold = not (t_prog is None or float(t_prog) == float(t) or "temp_c" not in xbm.valid_range)
    cal = _ir_drop_law(hw, xbm, xb, v_read, float(t_prog)) if cold else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v0 = _scalar(mem.fitted(corner=hw.corner)["v0"])
    tol = xb.get("write_verify_tol_us")
    return CrossbarDevice(g_min_s=_pinned(xbm, "g_off_us") * 1e-6,
                          g_max_s=_pinned(xbm, "g_on_us") * 1e-6, v_read_v=v_read,
                          v0_v=v0, tile_rows=int(xb["rows"]), ir_drop_rel=law,
                          g_sigma_s=_verified(lambda g: mem.sigma_us(np.asarray(g) * 1e6) * 1e-6,
                                              tol if tol else None), ir_drop_cal_rel=cal,
                          ir_profile=str(xb.get("ir_profile", "column")),
                          r_bl_ohm=float(xb.get("r_bl_ohm", 0.0)),
                          r_access_ohm=_access_ohm(hw, xbm, xb, v_read, float(t)),
                          r_access_cal_ohm=_access_ohm(hw, xbm, xb, v_read, float(t_prog))
                          if cold else None,
                          **_tia_noise_laws(hw, xbm, xb, v_read, float(t)))


#: what makes the tia-noise model's amplifier the crossbar-column model's: the same
#: settings (held fixed in both sweeps), or the accuracy would read another TIA's noise
#: than the one the cost prices. The readout's design (OTA sizes, the feedback's swing
#: target, the sample-and-hold): a model swept before those were parameters has the
#: defaults (characterize/recipes/crossbar_params.py readout_params)
_SAME_TIA = ("r_f_ohm", "ota_ibias_a", "ota_rz_ohm", "g_on_us", "g_off_us", "tia_swing_v",
             "c_hold_ff", "w_hold_um")


def _readout_defaults() -> dict[str, float]:
    """Each readout setting's value in a model swept without it: the OTA's device sizes
    (every OtaParams size, as ``ota_<field>``), no swing rule, no hold."""
    from dataclasses import fields

    from ..circuits.ota import OtaParams
    return {**{f"ota_{f.name}": float(getattr(OtaParams, f.name)) for f in fields(OtaParams)
               if f.name.endswith("_um")},
            "tia_swing_v": 0.0, "c_hold_ff": 0.0, "w_hold_um": 1.0}


def _tia_noise_laws(hw: HardwareModels, xbm, xb, v_read: float, t: float) -> dict:
    """The tia-noise model's input-referred noise (A rms) of one read of a bit line of the
    tile ``xb`` as functions of its load (and temperature, C: default ``t``), checked to
    be the amplifier the crossbar-column model prices: ``tia_noise_a`` (all of it) and
    ``tia_noise_lf_a`` (its part below 1 MHz; None from a model without it)."""
    tn = hw.need("tia-noise")
    dflt = _readout_defaults()
    for name in (*_SAME_TIA, *(n for n in dflt if n.startswith("ota_"))):
        have = [_pinned(m, name) if name in m.valid_range else dflt.get(name)
                for m in (tn, xbm)]
        if None not in have and not np.isclose(have[0], have[1], rtol=1e-6):
            raise HardwareModelError(
                f"the tia-noise model's {name} ({have[0]:g}) is not the crossbar-column "
                f"model's ({have[1]:g}): the accuracy would read another TIA's noise than the "
                "one priced; sweep both at the same TIA")
    rows = float(xb["rows"])

    def law(quantity: str):
        def noise(load, temp_c: float | None = None):
            temp = t if temp_c is None else float(temp_c)
            f = np.asarray(load, dtype=np.float64)
            return tn.evaluate(quantity, corner=hw.corner, rows=np.full(f.shape, rows),
                               frac_on=f, v_read_v=np.full(f.shape, v_read),
                               temp_c=np.full(f.shape, temp))
        return noise
    return {"tia_noise_a": law("i_noise_a"),
            "tia_noise_lf_a": law("i_noise_lf_a") if "i_noise_lf_a" in tn.functions else None}


def _tile_settings(xbm, xb, v_read: float, t: float) -> dict[str, float]:
    """The crossbar-column model's settings of the tile ``xb`` read at ``v_read`` (V) and
    ``t`` (C), where the model takes them."""
    settings = {"rows": float(xb["rows"])}
    if "r_bl_ohm" in xbm.valid_range:
        settings["r_bl_ohm"] = float(xb["r_bl_ohm"])
    if "temp_c" in xbm.valid_range:
        settings["temp_c"] = float(t)
    if "v_read_v" in xbm.functions["ir_drop_rel"].inputs:
        settings["v_read_v"] = v_read
    return settings


def _access_ohm(hw: HardwareModels, xbm, xb, v_read: float, t: float) -> float:
    """Each cell's access transistor in series (ohm) at ``t`` (C), from the access-aware
    IR-drop forms (parameters ``a`` and ``m``: ngspice's 1T1R columns fitted by
    characterize/fitters/crossbar.py): a g_on cell passes the fraction ``a`` of its current
    without a wire, so ``r = (1/a - 1) / g_on``. 0 for a form without it."""
    f = xbm.functions["ir_drop_rel"]
    if not {"a", "m"} <= set(f.param_names):
        return 0.0
    settings = _tile_settings(xbm, xb, v_read, t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # the tile's settings are checked by its law
        p = f.params_at(hw.corner, {n: np.asarray(settings.get(n, _pinned(xbm, n)))
                                    for n in f.grid_inputs})
    a = _scalar(np.asarray(p)[..., f.param_names.index("a")])
    if not 0.0 < a <= 1.0:      # a fraction of the current: anything else is a bad file
        raise HardwareModelError(f"crossbar-column model: ir_drop_rel's wire-free fraction "
                                 f"a = {a!r} at this tile is not in (0, 1]; refit the model")
    return (1.0 / a - 1.0) / (_pinned(xbm, "g_on_us") * 1e-6)


def _ir_drop_law(hw: HardwareModels, xbm, xb, v_read: float, t: float):
    """The crossbar-column model's ``ir_drop_rel`` of the tile ``xb`` at ``t`` (C), as a
    function of the bit-line load (warns where the load leaves the fitted range)."""
    settings = _tile_settings(xbm, xb, v_read, t)
    # the settings fixed for the tile: checked (warned) once here, not per evaluation
    xbm.check_range({k: np.asarray(v) for k, v in settings.items()})

    def ir_drop(load):
        lo, hi = (float(x) for x in xbm.valid_range["frac_on"])
        f = np.asarray(load, dtype=np.float64)
        if f.size and (f.min() < lo - 1e-9 or f.max() > hi + 1e-9):
            warnings.warn(f"crossbar-column model: bit-line load spans [{f.min():.4g}, "
                          f"{f.max():.4g}] of the conductance span, outside the fitted "
                          f"frac_on range [{lo:g}, {hi:g}]; the IR drop there is "
                          "extrapolated by the ladder form", OutOfRangeWarning,
                          stacklevel=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # ranges checked above, once
            r = np.asarray(xbm.ir_drop(corner=hw.corner, frac_on=f, **settings),
                           dtype=np.float64)
        return np.broadcast_to(r, np.shape(load)) if np.ndim(load) else float(r.ravel()[0])
    return ir_drop


def scale_crossbar(dev, k: float = 1.0, *, ir_drop: float | None = None,
                   programming_noise: float | None = None, tia_noise: float | None = None):
    """The same tile with its characterized non-idealities multiplied: the IR drop by
    ``ir_drop`` (the wire and access-transistor resistances that share it among the cells
    with it), the programming sigma by ``programming_noise`` and the TIAs' noise by
    ``tia_noise`` (each defaults to ``k``; 0 removes it)."""
    from dataclasses import replace
    ki = k if ir_drop is None else ir_drop
    kp = k if programming_noise is None else programming_noise
    kt = k if tia_noise is None else tia_noise
    sig, ir, cal = dev.g_sigma_s, dev.ir_drop_rel, dev.ir_drop_cal_rel
    tia, lf = dev.tia_noise_a, dev.tia_noise_lf_a
    return replace(dev, r_bl_ohm=ki * dev.r_bl_ohm, r_access_ohm=ki * dev.r_access_ohm,
                   r_access_cal_ohm=None if dev.r_access_cal_ohm is None else
                   ki * dev.r_access_cal_ohm,
                   ir_drop_rel=lambda load: ki * np.asarray(ir(load)),
                   ir_drop_cal_rel=None if cal is None else
                   (lambda load: ki * np.asarray(cal(load))),
                   g_sigma_s=(lambda g: kp * sig(g)) if (sig is not None and kp) else None,
                   tia_noise_a=(lambda load, temp_c=None: kt * np.asarray(tia(load, temp_c)))
                   if (tia is not None and kt) else None,
                   tia_noise_lf_a=(lambda load, temp_c=None: kt * np.asarray(lf(load, temp_c)))
                   if (tia is not None and lf is not None and kt) else None)


def acam_sigma_rel(hw: HardwareModels, write_verify_tol_us: float | None) -> float:
    """ACAM threshold mismatch sigma over the programmable input window (V/V), trimmed
    by write-verify to +-tol through the window curves' mean slope dV/dG."""
    win = hw.need("acam-window")
    mm = hw.get("acam-mismatch")
    if mm is None:
        raise HardwareModelError("no 'acam-mismatch' model: RACE-IT needs the ACAM "
                                 "threshold mismatch (recipe acam-mc with --mc)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lo_min, _ = win.programmable_range("lo", corner=hw.corner)
        _, hi_max = win.programmable_range("hi", corner=hw.corner)
        g_mid = float(np.sqrt(np.prod(mm.valid_range.get("g_low_us", [1.0, 150.0]))))
        sig = np.mean([_scalar(mm.sigma(b, g_mid, corner=hw.corner)) for b in ("lo", "hi")
                       if "sigma_v_" + b + "_v" in mm.functions])
    span = hi_max - lo_min
    if write_verify_tol_us:
        slope = span / np.subtract(*win.valid_range["g_low_us"][::-1])
        sig = min(sig, slope * write_verify_tol_us / np.sqrt(3.0))
    return float(sig / span)


def _centered(model, output: str, **given) -> dict:
    """``given`` plus every other input of ``output`` at the centre of its valid range
    (settings a sweep varied for other outputs, e.g. a column voltage for charges)."""
    out = dict(given)
    for n in model.functions[output].inputs:
        if n not in out:
            out[n] = _pinned(model, n)
    return out


def _median_over(model, output: str, corner: str, **settings) -> float:
    """Median of ``output`` over the inner axes it still has after ``settings`` (e.g. the
    written voltage of a write energy, the initial voltage of a time constant)."""
    fn = model.functions[output]
    free = [n for n in fn.inputs if n not in settings and
            model.valid_range[n][0] < model.valid_range[n][1]]
    grids = np.meshgrid(*[np.linspace(*model.valid_range[n], 9) for n in free], indexing="ij")
    vals = model.evaluate(output, corner=corner, **settings,
                          **{n: g.ravel() for n, g in zip(free, grids)})
    return float(np.nanmedian(vals))


# --- gain cells -----------------------------------------------------------------------------
def gaincell_parts(hw: HardwareModels, cfg):
    """Gain-cell attention's characterized behaviour for the accuracy model: the cell
    current I(Vs) at the read word-line amplitude, the retention time constant of the
    chosen write device at the evaluation temperature, and the charge-to-pulse readout
    transfer (its saturation shapes the clipped-linear activation). Energies and
    latencies come from the architecture description (:mod:`.components`)."""
    from .gaincell_attention import V_MID_V, V_SPAN_V, GainCellParts
    mac = hw.need("gaincell-mac")
    ret = hw.need("gaincell-retention", write_device=cfg.write_device)
    ro = hw.need("gaincell-readout")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vs = np.linspace(V_MID_V - V_SPAN_V, V_MID_V + V_SPAN_V, 91)
        vwl = _clip_to(mac, "vwl_v", 0.9)  # REFERENCE.md: read pulse amplitude 0.9 V
        i = np.asarray(mac.evaluate("i_cell_a", corner=hw.corner,
                                    **_centered(mac, "i_cell_a", vs_v=vs, vwl_v=vwl)),
                       dtype=np.float64)
        kw = {"temp_c": _clip_to(ret, "temp_c", hw.temp_c)} if "temp_c" in ret.valid_range \
            else {}
        tau = _median_over(ret, "tau_s", hw.corner, **kw)
        v_inf = _median_over(ret, "v_inf_v", hw.corner, **kw)
        q_sat = _scalar(ro.evaluate("q_sat_c", corner=hw.corner))
        t_max = _scalar(ro.evaluate("t_out_max_s", corner=hw.corner))
        q = np.linspace(0.0, 1.5 * q_sat, 16)
        if "q_in_c" in ro.functions["t_out_s"].inputs:
            lo, hi = ro.valid_range["q_in_c"]
            t_out = np.asarray(ro.evaluate("t_out_s", corner=hw.corner,
                                           q_in_c=np.clip(q, lo, hi)), dtype=np.float64)
        else:
            t_out = np.minimum(q, q_sat) / q_sat * t_max
    return GainCellParts(vs_table_v=vs, i_table_a=i, tau_s=tau, v_inf_v=v_inf, act_x=q / q_sat,
                          act_y=np.clip(t_out / max(t_max, 1e-30), 0.0, 1.0))
