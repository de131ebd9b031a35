"""``compute-acam``: a Compute-ACAM function lookup (RACE-IT) programmed into a row of
6T2M cells and evaluated over its input range; the cells, rows and window search are
those of :mod:`.acam`."""
from __future__ import annotations

import numpy as np

from ...circuits import acam as ac
from ...circuits import acam_program as ap
from ..params import Param, format_number
from ..recipe import Axis, Output, Recipe, register_recipe, sweep_values
from ..waveform import crossing_log
from .acam import _cell_values, _params_from


# --- compute-acam ------------------------------------------------------------------------
# calibration replicas: 12 conductances, log-spaced over the 1-150 uS programmable range
# (Li et al. 2020), located on a 5 mV DC sweep (log-current interpolation)
_N_CAL = 12
_CAL_STEP_V = 0.005
_G_CAL = tuple(float(g) for g in np.geomspace(1.0, 150.0, _N_CAL))


# Inputs: 65 points (64 steps) over the function's domain, as a fraction 0..1 of it, so
# the axis is the same for every function; rows: padded to the most any function needs
# at 4 bits, so sweeping func/bits keeps one output shape (unused rows are NaN).
_N_X = 65
_X_FRAC = sweep_values(0.0, 1.0, _N_X)
_MAX_BITS = 4


def _program_shape(func: str, bits: int) -> list[int]:
    """Rows per bit (independent of the threshold curves: only the x intervals count)."""
    f, a, b = ap.FUNCTIONS[func]
    ranges = ap.compute_acam_program(f, a, b, bits, ap.WindowModel.reference())
    return [len(r) for r in ranges]


_MAX_ROWS = max(sum(_program_shape(fn, b)) for fn in ap.FUNCTIONS
                for b in range(1, _MAX_BITS + 1))


@register_recipe
class ComputeAcam(Recipe):
    name = "compute-acam"
    summary = "Compute-ACAM (RACE-IT): a small function as Gray-coded ACAM rows, decoded"
    version = 1
    params = _params_from(ac.AcamCell, skip=("g_low_us", "g_high_us")) + (
        Param("func", "exp", "", "target function: exp on [-3, 0] or gelu on [-3, 3]",
              choices=tuple(ap.FUNCTIONS), kind="choice"),
        Param("bits", 3, "", "output bits (Gray-coded; one row per output interval, "
              "~2**(bits-1) rows)", min=1, max=_MAX_BITS, structural=True),
        Param("v_in_min_v", 0.72, "V", "DL voltage of the smallest input [default: "
              "assumption, inside every corner's programmable range of the default cell]",
              min=0.0, max=1.8),
        Param("v_in_max_v", 1.15, "V", "DL voltage of the largest input [default: "
              "assumption, as v_in_min_v]", min=0.0, max=1.8),
    )
    outputs = (
        Output("x", "", ("x_frac",), "input value (x_frac of the function's domain)"),
        Output("v_dl_v", "V", ("x_frac",), "data-line voltage of the input"),
        Output("code", "", ("x_frac",), "decoded output code (binary, from the Gray bits)"),
        Output("code_ideal", "", ("x_frac",), "ideal quantized function"),
        Output("err_lsb", "", ("x_frac",), "code - code_ideal"),
        Output("max_abs_err_lsb", "", (), "largest |err_lsb|"),
        Output("mean_abs_err_lsb", "", (), "mean |err_lsb|"),
        Output("n_rows", "", (), "ACAM rows the program uses"),
        Output("g_low_us", "uS", ("row",), "programmed M1 conductance per row (NaN: unused)"),
        Output("g_high_us", "uS", ("row",), "programmed M2 conductance per row"),
        Output("v_lo_prog_v", "V", ("row",), "target lower bound per row (-inf: open)"),
        Output("v_hi_prog_v", "V", ("row",), "target upper bound per row (+inf: open)"),
        Output("bit_of_row", "", ("row",), "output bit (0 = LSB) each row drives"),
        Output("cal_v_lo_v", "V", ("g_cal_us",), "calibrated lower bound vs. conductance"),
        Output("cal_v_hi_v", "V", ("g_cal_us",), "calibrated upper bound vs. conductance"),
    )

    def inner_axes(self, p):
        return [Axis("x_frac", "", _X_FRAC),
                Axis("row", "", tuple(float(r) for r in range(_MAX_ROWS))),
                Axis("g_cal_us", "uS", _G_CAL)]

    def body(self, tech, p):
        ac.check_technology(tech)
        rows = sum(_program_shape(p["func"], int(p["bits"])))
        lines = ac.includes() + ["Vdd vdd 0 {vdd_v}", "Vsl sl 0 {vsl_v}", "Vdl dl 0 0"]
        # calibration replicas: g_low = g_high = g_cal[k]; each branch metered separately
        for k, g in enumerate(_G_CAL):
            lines += [f"Vgc{k} gc{k} 0 {format_number(g)}",
                      f"Vclo{k} clo{k} 0 0", f"Vchi{k} chi{k} 0 0",
                      ac.cell_gc_line(f"cal{k}", "dl", "vdd", f"clo{k}", f"chi{k}", "sl",
                                      "vdd", "0", f"gc{k}", f"gc{k}", _cell_values())]
        # programmed rows: conductances on control sources, set by `alter` in simulate()
        for r in range(rows):
            lines += [f"Vgl{r} gl{r} 0 10", f"Vgh{r} gh{r} 0 50", f"Vrow{r} pr{r} 0 0",
                      ac.cell_gc_line(f"row{r}", "dl", "vdd", f"pr{r}", f"pr{r}", "sl", "vdd",
                                      "0", f"gl{r}", f"gh{r}", _cell_values())]
        return lines

    def simulate(self, ng, p):
        bits, func = int(p["bits"]), p["func"]
        f, xa, xb = ap.FUNCTIONS[func]
        i_on = ac.pulldown_on_current_a(p["w_pd_um"], p["l_pd_um"])
        # 1. calibration: threshold curves of replica cells at this corner/temperature
        v = ng.run([f"dc vdl 0 1.8 {format_number(_CAL_STEP_V)}"])
        dl = v["v-sweep"]
        cal_lo = np.array([crossing_log(dl, np.abs(v[f"vclo{k}#branch"]), i_on, True)
                           for k in range(_N_CAL)])
        cal_hi = np.array([crossing_log(dl, np.abs(v[f"vchi{k}#branch"]), i_on, False)
                           for k in range(_N_CAL)])
        vmin, vmax = p["v_in_min_v"], p["v_in_max_v"]
        if not vmax > vmin:
            raise ValueError("v_in_max_v must exceed v_in_min_v")
        wm = ap.WindowModel(np.asarray(_G_CAL), cal_lo, cal_hi, v_in_v=(vmin, vmax))
        # 2. program: ranges -> conductances
        ranges = ap.compute_acam_program(f, xa, xb, bits, wm)
        conds = ap.program_conductances(ranges, wm)
        flat_r = [r for bit in ranges for r in bit]
        flat_g = [g for bit in conds for g in bit]
        for r, (gl, gh) in enumerate(flat_g):
            ng.command(f"alter vgl{r} dc = {format_number(gl)}")
            ng.command(f"alter vgh{r} dc = {format_number(gh)}")
        # 3. search: sweep the input, decode
        x = xa + np.asarray(_X_FRAC) * (xb - xa)
        vx = wm.x_to_v(x, xa, xb)
        step = (vmax - vmin) / max(len(x) - 1, 1) / 4
        v = ng.run([f"dc vdl {format_number(vmin - step)} {format_number(vmax + step)} "
                    f"{format_number(step)}"])
        dl = v["v-sweep"]
        match = np.stack([
            np.exp(np.interp(vx, dl, np.log(np.maximum(np.abs(v[f"vrow{r}#branch"]), 1e-30))))
            < i_on for r in range(len(flat_g))], axis=-1)
        code = ap.decode_matches(match, [len(b) for b in ranges])
        ideal = ap.quantized_code(f, x, xa, xb, bits)
        err = code - ideal

        def pad(vals):
            out = np.full(_MAX_ROWS, np.nan)
            out[:len(vals)] = vals
            return out

        bit_of_row = [b for b, rr in enumerate(ranges) for _ in rr]
        return {"x": x, "v_dl_v": vx, "code": code.astype(float),
                "code_ideal": ideal.astype(float), "err_lsb": err.astype(float),
                "max_abs_err_lsb": float(np.max(np.abs(err))),
                "mean_abs_err_lsb": float(np.mean(np.abs(err))), "n_rows": float(len(flat_g)),
                "g_low_us": pad([g[0] for g in flat_g]), "g_high_us": pad([g[1] for g in flat_g]),
                "v_lo_prog_v": pad([r[0] for r in flat_r]),
                "v_hi_prog_v": pad([r[1] for r in flat_r]), "bit_of_row": pad(bit_of_row),
                "cal_v_lo_v": cal_lo, "cal_v_hi_v": cal_hi}
