"""Analog CAM (6T2M, SKY130) recipes: match window, search transient, mismatch, Compute-ACAM.

Circuit: ``circuits/acam.py`` and ``netlists/acam.spice`` (after Li et al., Nat. Commun.
2020; ../shared/REFERENCE.md "ACAM cell").

Match/mismatch criterion (all recipes): a pull-down branch is *on* when it sinks more
than ``100 nA * W/L`` of the pull-down transistor with the match line held at VDD
(the constant-current turn-on criterion, the same nfet-iv's ``vth_v`` uses). The
lower bound ``v_lo_v`` is the data-line voltage where the lower branch's (T2) current
falls through that level, the upper bound ``v_hi_v`` where the upper branch's (T6)
current rises through it; both are located on a 2.5 mV DC sweep by interpolation in
log(current). Each branch is metered separately (its pull-down source goes to its
own 0 V source), so each bound is found even when the window is empty
(``width_v`` < 0). The criterion is a DC one: below it a cell's pull-down would need
longer than any search to discharge a match line (0.67 uA takes ~25 ns to pull an
8-cell, ~20 fF line by VDD/2), and since the sub-threshold current changes a decade
per ~0.1 V of gate voltage, the bound moves only a few mV per factor two in the
criterion.

Recipes
* ``acam-window`` (DC): v_lo_v, v_hi_v, width_v of one cell vs. g_low_us/g_high_us,
  plus the two branch currents over the DL sweep.
* ``acam-mc``: the same measurement, meant for ``--mc N`` (per-device mismatch on).
* ``acam-search`` (transient): a row of ``n_cells`` on one match line with wire RC,
  precharge pfet, row footer and sense inverter; the last (far-end) cell's DL sits
  ``dv_v`` outside (``dv_v`` > 0) or inside (< 0) its window edge, all others at their
  window centre. Discharge time, search energy, sense margin.
* ``compute-acam`` (DC): programs a Compute-ACAM (RACE-IT) for a small function from
  threshold curves calibrated in the same deck, sweeps the input and decodes.
"""
from __future__ import annotations

import math

import numpy as np

from ...circuits import acam as ac
from ..params import Param, format_number
from ..recipe import Axis, Output, Recipe, sweep_values

# DL sweep for thresholds: 0..1.8 V (SKY130 1.8 V devices) in 2.5 mV steps.
_DL_STEP_V = 0.0025
_DL = sweep_values(0.0, 1.8, 721)
# Transient: clock edges (assumption, fast periphery drivers), non-overlap of
# precharge-off and footer-on.
_T_EDGE_S = 20e-12


def _params_from(cls, skip=(), structural=()) -> tuple[Param, ...]:
    out = []
    for s in ac.field_specs(cls):
        if s["name"] in skip:
            continue
        out.append(Param(s["name"], float(s["default"]), s["unit"], s["doc"] +
                         f" [default: {s['source']}]", min=float(s["min"]), max=float(s["max"]),
                         structural=s["name"] in structural))
    return tuple(out)


CELL_PARAMS = _params_from(ac.AcamCell)
ROW_PARAMS = _params_from(ac.AcamRow, structural=("n_cells",))


def crossing(x: np.ndarray, i: np.ndarray, level: float, falling: bool) -> float:
    """x where the positive current ``i`` crosses ``level`` (log-linear interpolation):
    the first crossing downward (``falling``) or upward. NaN if it never crosses or
    already starts on the far side."""
    i = np.maximum(np.asarray(i, dtype=float), 1e-30)
    above = i >= level
    if falling:
        if not above[0]:
            return float("nan")
        k = np.flatnonzero(~above)
    else:
        if above[0]:
            return float("nan")
        k = np.flatnonzero(above)
    if not len(k):
        return float("nan")
    k = int(k[0])
    y0, y1 = math.log(i[k - 1]), math.log(i[k])
    t = (math.log(level) - y0) / (y1 - y0) if y1 != y0 else 0.5
    return float(x[k - 1] + t * (x[k] - x[k - 1]))


def _cell_values(**over):
    return ac.cell_refs(**over)


def _branch_bounds(dl, i_lo, i_hi, i_on):
    return crossing(dl, i_lo, i_on, falling=True), crossing(dl, i_hi, i_on, falling=False)


# --- acam-window -------------------------------------------------------------------------
class AcamWindow(Recipe):
    name = "acam-window"
    summary = "6T2M ACAM cell match window (lower/upper DL bounds) vs. memristor conductances"
    version = 1
    params = CELL_PARAMS
    outputs = (
        Output("v_lo_v", "V", (), "lower bound: DL where the lower pull-down's current falls "
                                  "below 100 nA*W/L (NaN: outside 0..1.8 V)"),
        Output("v_hi_v", "V", (), "upper bound: DL where the upper pull-down's current rises "
                                  "above 100 nA*W/L (NaN: outside 0..1.8 V)"),
        Output("width_v", "V", (), "v_hi_v - v_lo_v (negative: empty window, never matches)"),
        Output("i_leak_a", "A", (), "match-line current of the matched cell at the window "
                                    "centre (NaN if the window is empty)"),
        Output("i_ml_lo_a", "A", ("v_dl_v",), "lower-branch (T2) pull-down current, ML at VDD"),
        Output("i_ml_hi_a", "A", ("v_dl_v",), "upper-branch (T6) pull-down current, ML at VDD"),
    )

    def inner_axes(self, p):
        return [Axis("v_dl_v", "V", _DL)]

    def body(self, tech, p):
        ac.check_technology(tech)
        return ac.includes() + [
            "Vdd vdd 0 {vdd_v}",
            "Vsl sl 0 {vsl_v}",
            "Vdl dl 0 0",
            "Vml ml 0 {vdd_v}",
            "Vplo pdlo 0 0",
            "Vphi pdhi 0 0",
            ac.cell_line("cell", "dl", "ml", "pdlo", "pdhi", "sl", "vdd", "0", _cell_values()),
        ]

    def commands(self, p):
        return [f"dc vdl 0 1.8 {format_number(_DL_STEP_V)}"]

    def measure(self, vec, p):
        dl = np.asarray(_DL)
        i_lo = np.abs(vec["vplo#branch"])[: len(dl)]
        i_hi = np.abs(vec["vphi#branch"])[: len(dl)]
        i_on = ac.pulldown_on_current_a(p["w_pd_um"], p["l_pd_um"])
        lo, hi = _branch_bounds(dl, i_lo, i_hi, i_on)
        width = hi - lo
        leak = float("nan")
        if np.isfinite(width) and width > 0:
            c = 0.5 * (lo + hi)
            leak = float(np.exp(np.interp(c, dl, np.log(np.maximum(i_lo + i_hi, 1e-30)))))
        return {"v_lo_v": lo, "v_hi_v": hi, "width_v": width, "i_leak_a": leak,
                "i_ml_lo_a": i_lo, "i_ml_hi_a": i_hi}


class AcamMC(AcamWindow):
    """acam-window under per-device mismatch: run with ``--mc N`` (the engine switches
    SKY130's mismatch models on and draws a seed per sample); the spread of v_lo_v /
    v_hi_v over the ``mc`` axis is the threshold mismatch. Without ``--mc`` it equals
    acam-window."""

    name = "acam-mc"
    summary = "ACAM window thresholds under device mismatch (run with --mc N)"


# --- acam-search ---------------------------------------------------------------------------
class AcamSearch(Recipe):
    name = "acam-search"
    summary = "ACAM row search transient: ML discharge time, search energy, sense margin"
    version = 1
    params = CELL_PARAMS + ROW_PARAMS + (
        Param("dv_v", 0.1, "V", "test cell's DL distance OUTSIDE its window edge (negative: "
              "inside, the row should stay matched) [default: assumption]",
              min=-0.6, max=0.6),
        Param("edge", "hi", "", "which window edge the test cell's input is placed at "
              "[default: hi, the full-swing branch]", choices=("hi", "lo"), kind="choice"),
        Param("t_pre_s", 1e-9, "s", "precharge time (before and after evaluation) "
              "[default: assumption]", min=0.1e-9, max=100e-9),
        Param("t_eval_s", 5e-9, "s", "evaluation window; the ML is sensed at its end "
              "[default: assumption]", min=0.2e-9, max=1e-6),
    )
    outputs = (
        Output("t_discharge_s", "s", (), "from evaluation start (footer on) to the sense-end "
                                         "ML crossing v_sense_v; NaN if it stays above it "
                                         "through the evaluation window (matched)"),
        Output("e_search_j", "J", (), "energy from VDD and SL over one search cycle "
                                      "(evaluation + recharge), mismatching test cell"),
        Output("e_search_match_j", "J", (), "the same with every cell matching"),
        Output("v_margin_v", "V", (), "sense-end ML voltage at the sense time, all-matched "
                                      "minus with the test cell at dv_v"),
        Output("v_ml_match_v", "V", (), "ML at the sense time, all cells matching"),
        Output("v_ml_test_v", "V", (), "ML at the sense time, test cell at dv_v"),
        Output("v_lo_v", "V", (), "lower bound of the cells (replica, DC criterion)"),
        Output("v_hi_v", "V", (), "upper bound of the cells (replica, DC criterion)"),
        Output("v_dl_test_v", "V", (), "DL applied to the test cell"),
    )

    def body(self, tech, p):
        ac.check_technology(tech)
        n = int(p["n_cells"])
        dl = ["dlm"] * (n - 1) + ["dlt"]
        vals = [_cell_values()] * n
        row = {k: ac.ParamRef(k) for k in ("c_ml_ff", "r_wire_ohm", "c_wire_ff", "w_pre_um",
                                           "w_foot_um")}
        te = format_number(_T_EDGE_S)
        lines = ac.includes() + [
            "Vdd vdd 0 {vdd_v}",
            "Vsl sl 0 {vsl_v}",
            # precharge (pre_b low) for t_pre, evaluate for t_eval, precharge again
            f"Vpre pre_b 0 PULSE(0 {{vdd_v}} {{t_pre_s}} {te} {te} {{t_eval_s}} 1)",
            f"Veval eval 0 PULSE(0 {{vdd_v}} {{t_pre_s+{te}}} {te} {te} "
            f"{{max(t_eval_s-{format_number(3 * _T_EDGE_S)},{te})}} 1)",
            "Vdlm dlm 0 0.9",
            "Vdlt dlt 0 0.9",
        ]
        lines += ac.row_lines(n, dl, vals, row)
        # replica cell (own supplies, ML held at VDD) to locate the window edges
        lines += ["Vddr vddr 0 {vdd_v}", "Vslr slr 0 {vsl_v}", "Vdlr dlr 0 0",
                  "Vmlr mlr 0 {vdd_v}", "Vrlo rlo 0 0", "Vrhi rhi 0 0",
                  ac.cell_line("rep", "dlr", "mlr", "rlo", "rhi", "slr", "vddr", "0",
                               _cell_values())]
        return lines

    @staticmethod
    def _tran(p):
        tstop = 2 * p["t_pre_s"] + p["t_eval_s"]
        tmax = min(p["t_pre_s"], p["t_eval_s"]) / 100
        return (f"tran {format_number(tmax / 4)} {format_number(tstop)} 0 "
                f"{format_number(tmax)}")

    def simulate(self, ng, p):
        v = ng.run([f"dc vdlr 0 1.8 {format_number(_DL_STEP_V)}"])
        dl = v["v-sweep"]
        i_on = ac.pulldown_on_current_a(p["w_pd_um"], p["l_pd_um"])
        lo, hi = _branch_bounds(dl, np.abs(v["vrlo#branch"]), np.abs(v["vrhi#branch"]), i_on)
        nan = float("nan")
        out = {k.name: nan for k in self.outputs}
        out.update(v_lo_v=lo, v_hi_v=hi)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return out
        centre = 0.5 * (lo + hi)
        test = hi + p["dv_v"] if p["edge"] == "hi" else lo - p["dv_v"]
        test = float(np.clip(test, 0.0, 1.8))
        out["v_dl_test_v"] = test
        t_ev0 = p["t_pre_s"] + 1.5 * _T_EDGE_S  # footer gate at half swing
        t_sense = p["t_pre_s"] + p["t_eval_s"] - _T_EDGE_S  # footer starts to turn off
        res = {}
        for case, vt in (("match", centre), ("test", test)):
            ng.command(f"alter vdlm dc = {format_number(centre)}")
            ng.command(f"alter vdlt dc = {format_number(vt)}")
            r = ng.run([self._tran(p)])
            t = r["time"]
            vml = r["ml0"]
            e = _energy(t, p["t_pre_s"], t[-1],
                        -(p["vdd_v"] * r["vdd#branch"] + p["vsl_v"] * r["vsl#branch"]))
            res[case] = (float(np.interp(t_sense, t, vml)), e,
                         _fall_time(t, vml, p["v_sense_v"], t_ev0, t_sense))
        out["v_ml_match_v"], out["e_search_match_j"], _ = res["match"]
        out["v_ml_test_v"], out["e_search_j"], out["t_discharge_s"] = res["test"]
        out["v_margin_v"] = out["v_ml_match_v"] - out["v_ml_test_v"]
        return out


def _energy(t, t0, t1, power):
    m = (t >= t0) & (t <= t1)
    return float(np.trapezoid(power[m], t[m]))


def _fall_time(t, v, level, t0, t1):
    """Time after ``t0`` at which ``v`` first falls below ``level`` (before ``t1``)."""
    m = np.flatnonzero((t >= t0) & (t <= t1) & (v < level))
    if not len(m):
        return float("nan")
    k = int(m[0])
    if k == 0:
        return 0.0
    ta, tb, va, vb = t[k - 1], t[k], v[k - 1], v[k]
    tc = ta + (level - va) * (tb - ta) / (vb - va) if vb != va else tb
    return float(max(tc, t0) - t0)


# --- compute-acam ------------------------------------------------------------------------
_N_CAL = 16
_G_CAL = tuple(float(g) for g in np.geomspace(1.0, 150.0, _N_CAL))


def _x_axis(func: str, n: int) -> tuple[float, ...]:
    _, a, b = ac.FUNCTIONS[func]
    return sweep_values(a, b, n)


def _program_shape(func: str, bits: int) -> list[int]:
    """Rows per bit (independent of the threshold curves: only the x intervals count)."""
    f, a, b = ac.FUNCTIONS[func]
    ranges = ac.compute_acam_program(f, a, b, bits, ac.WindowModel.reference())
    return [len(r) for r in ranges]


class ComputeAcam(Recipe):
    name = "compute-acam"
    summary = "Compute-ACAM (RACE-IT): a small function as Gray-coded ACAM rows, decoded"
    version = 1
    params = _params_from(ac.AcamCell, skip=("g_low_us", "g_high_us")) + (
        Param("func", "exp", "", "target function: exp on [-3, 0] or gelu on [-3, 3]",
              choices=tuple(ac.FUNCTIONS), kind="choice"),
        Param("bits", 3, "", "output bits (Gray-coded; rows grow ~2**bits)", min=1, max=4,
              structural=True),
        Param("n_x", 49, "", "input points over the function's domain", min=3, max=1001,
              structural=True),
        Param("v_in_min_v", 0.72, "V", "DL voltage of the smallest input [default: "
              "assumption, inside every corner's programmable range of the default cell]",
              min=0.0, max=1.8),
        Param("v_in_max_v", 1.15, "V", "DL voltage of the largest input [default: "
              "assumption, as v_in_min_v]", min=0.0, max=1.8),
    )
    outputs = (
        Output("code", "", ("x_in",), "decoded output code (binary, from the Gray bits)"),
        Output("code_ideal", "", ("x_in",), "ideal quantized function"),
        Output("err_lsb", "", ("x_in",), "code - code_ideal"),
        Output("max_abs_err_lsb", "", (), "largest |err_lsb|"),
        Output("mean_abs_err_lsb", "", (), "mean |err_lsb|"),
        Output("g_low_us", "uS", ("row",), "programmed M1 conductance per row"),
        Output("g_high_us", "uS", ("row",), "programmed M2 conductance per row"),
        Output("v_lo_prog_v", "V", ("row",), "target lower bound per row (-inf: open)"),
        Output("v_hi_prog_v", "V", ("row",), "target upper bound per row (+inf: open)"),
        Output("cal_v_lo_v", "V", ("g_cal_us",), "calibrated lower bound vs. conductance"),
        Output("cal_v_hi_v", "V", ("g_cal_us",), "calibrated upper bound vs. conductance"),
    )

    def inner_axes(self, p):
        rows = sum(_program_shape(p["func"], int(p["bits"])))
        return [Axis("x_in", "", _x_axis(p["func"], int(p["n_x"]))),
                Axis("row", "", tuple(float(r) for r in range(rows))),
                Axis("g_cal_us", "uS", _G_CAL)]

    def body(self, tech, p):
        ac.check_technology(tech)
        rows = sum(_program_shape(p["func"], int(p["bits"])))
        lines = ac.includes() + ["Vdd vdd 0 {vdd_v}", "Vsl sl 0 {vsl_v}", "Vdl dl 0 0"]
        for k, g in enumerate(_G_CAL):
            lines += [f"Vclo{k} clo{k} 0 0", f"Vchi{k} chi{k} 0 0",
                      ac.cell_line(f"cal{k}", "dl", "vdd", f"clo{k}", f"chi{k}", "sl", "vdd",
                                   "0", _cell_values(g_low_us=g, g_high_us=g))]
        for r in range(rows):
            lines += [f".param gl_r{r}=10 gh_r{r}=50", f"Vrow{r} pr{r} 0 0",
                      ac.cell_line(f"row{r}", "dl", "vdd", f"pr{r}", f"pr{r}", "sl", "vdd",
                                   "0", _cell_values(g_low_us=ac.ParamRef(f"gl_r{r}"),
                                                     g_high_us=ac.ParamRef(f"gh_r{r}")))]
        return lines

    def simulate(self, ng, p):
        bits, func = int(p["bits"]), p["func"]
        f, xa, xb = ac.FUNCTIONS[func]
        i_on = ac.pulldown_on_current_a(p["w_pd_um"], p["l_pd_um"])
        # 1. calibration: threshold curves of replica cells at this corner/temperature
        v = ng.run([f"dc vdl 0 1.8 {format_number(_DL_STEP_V)}"])
        dl = v["v-sweep"]
        cal_lo = np.array([crossing(dl, np.abs(v[f"vclo{k}#branch"]), i_on, True)
                           for k in range(_N_CAL)])
        cal_hi = np.array([crossing(dl, np.abs(v[f"vchi{k}#branch"]), i_on, False)
                           for k in range(_N_CAL)])
        vmin, vmax = p["v_in_min_v"], p["v_in_max_v"]
        if not vmax > vmin:
            raise ValueError("v_in_max_v must exceed v_in_min_v")
        wm = ac.WindowModel(np.asarray(_G_CAL), cal_lo, cal_hi, v_in_v=(vmin, vmax))
        # 2. program: ranges -> conductances
        ranges = ac.compute_acam_program(f, xa, xb, bits, wm)
        conds = ac.program_conductances(ranges, wm)
        flat_r = [r for bit in ranges for r in bit]
        flat_g = [g for bit in conds for g in bit]
        for r, (gl, gh) in enumerate(flat_g):
            ng.command(f"alterparam gl_r{r}={format_number(gl)}")
            ng.command(f"alterparam gh_r{r}={format_number(gh)}")
        ng.command("reset")
        # 3. search: sweep the input, decode
        x = np.asarray(_x_axis(func, int(p["n_x"])))
        vx = wm.x_to_v(x, xa, xb)
        step = (vmax - vmin) / max(len(x) - 1, 1) / 4
        v = ng.run([f"dc vdl {format_number(vmin - step)} {format_number(vmax + step)} "
                    f"{format_number(step)}"])
        dl = v["v-sweep"]
        match = np.stack([
            np.exp(np.interp(vx, dl, np.log(np.maximum(np.abs(v[f"vrow{r}#branch"]), 1e-30))))
            < i_on for r in range(len(flat_g))], axis=-1)
        code = ac.decode_matches(match, [len(b) for b in ranges])
        ideal = ac.quantized_code(f, x, xa, xb, bits)
        err = code - ideal
        return {"code": code.astype(float), "code_ideal": ideal.astype(float),
                "err_lsb": err.astype(float), "max_abs_err_lsb": float(np.max(np.abs(err))),
                "mean_abs_err_lsb": float(np.mean(np.abs(err))),
                "g_low_us": [g[0] for g in flat_g], "g_high_us": [g[1] for g in flat_g],
                "v_lo_prog_v": [r[0] for r in flat_r], "v_hi_prog_v": [r[1] for r in flat_r],
                "cal_v_lo_v": cal_lo, "cal_v_hi_v": cal_hi}


# --- plots -----------------------------------------------------------------------------------
def window_model_from_raw(raw, corner: str = "tt", temp_c: float | None = None,
                          **kw) -> ac.WindowModel:
    """A :class:`~imcspice.circuits.acam.WindowModel` from an acam-window sweep that swept
    g_low_us and g_high_us over the same values (v_lo read at the first g_high, v_hi at
    the first g_low: each bound depends on its own conductance only)."""
    where = {"corner": corner}
    if temp_c is not None:
        where["temp_c"] = temp_c
    else:
        where["temp_c"] = float(raw.axis("temp_c")[0])
    lo, axes = raw.select("v_lo_v", **where)
    hi, _ = raw.select("v_hi_v", **where)
    gl, gh = raw.axis("g_low_us"), raw.axis("g_high_us")
    if not np.allclose(gl, gh):
        raise ValueError("window_model_from_raw needs g_low_us and g_high_us swept over the "
                         "same values")
    lo = np.asarray(lo)
    hi = np.asarray(hi)
    il, ih = axes.index("g_low_us"), axes.index("g_high_us")
    lo_curve = np.take(np.take(lo, 0, axis=ih), np.arange(len(gl)), axis=il if il < ih else il - 1)
    hi_curve = np.take(np.take(hi, 0, axis=il), np.arange(len(gh)), axis=ih if ih < il else ih - 1)
    return ac.WindowModel(gl, lo_curve.ravel(), hi_curve.ravel(), **kw)


def plot_acam_window(raw, out_png) -> None:
    """Threshold vs. conductance curves of an acam-window (or acam-mc) sweep, one colour
    per corner: v_lo_v vs. g_low_us (solid) and v_hi_v vs. g_high_us (dashed), at the
    first temperature and the first value of the other conductance; with ``--mc`` the
    mean and a +/-1 sigma band."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    corners = [str(c) for c in raw.axis("corner")]
    temp = float(raw.axis("temp_c")[0])
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    drew = False
    for ci, corner in enumerate(corners):
        for q, gname, other, style, label in (
                ("v_lo_v", "g_low_us", "g_high_us", "-", "lower bound"),
                ("v_hi_v", "g_high_us", "g_low_us", "--", "upper bound")):
            if gname not in raw.axes or gname not in raw.data_axes[q]:
                continue
            where = {"corner": corner, "temp_c": temp}
            if other in raw.data_axes[q]:
                where[other] = float(raw.axis(other)[0])
            arr, axes = raw.select(q, **where)
            arr = np.asarray(arr, dtype=float)
            g = raw.axis(gname)
            arr = np.moveaxis(arr, axes.index(gname), -1).reshape(-1, len(g))
            mean = np.nanmean(arr, axis=0) if np.isfinite(arr).any() else arr[0]
            c = colors[ci % len(colors)]
            ax.plot(g, mean, style, color=c, marker="o", ms=3, label=f"{corner} {label}")
            if arr.shape[0] > 1:
                sd = np.nanstd(arr, axis=0)
                ax.fill_between(g, mean - sd, mean + sd, color=c, alpha=0.2)
            drew = True
    if not drew:
        plt.close(fig)
        raise ValueError("plot_acam_window needs an acam-window sweep over g_low_us and/or "
                         "g_high_us")
    ax.set_xlabel("memristor conductance (uS)")
    ax.set_ylabel("window bound, data-line voltage (V)")
    ax.set_title(f"6T2M ACAM match window vs. conductance ({temp:g} C)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=120)
    plt.close(fig)


def plots(raw, out_png) -> None:
    """Plot entry for the CLI: acam-window / acam-mc raw files."""
    plot_acam_window(raw, out_png)
