"""Crossbar recipes: bit-line current, IR drop, read energy and settling of a
1T1R / linear-resistor crossbar read through a transimpedance amplifier.

* ``crossbar-column``: one column of ``rows`` cells with a deterministic pattern of
  ON/OFF cells and active/idle inputs. A DC operating point gives the bit-line
  current, the TIA output and the extreme word-/bit-line voltages; a transient (inputs step from
  0 V at t = 0) gives the read energy over a read pulse of ``t_read_s`` and the
  TIA output's 1 % settling time.
* ``crossbar-array``: any conductance matrix and input vector, read from ``.npy``
  files (``--set conductances=G.npy --set inputs=V.npy``); DC operating point:
  every bit-line current and every word-/bit-line node voltage.

Parameters: :mod:`.crossbar_params`; the column's read transient (energies, settling):
:mod:`.crossbar_transient`. Topology and node names: :mod:`imcspice.circuits.crossbar`.
The sense amplifier is the behavioral ``imc_tia`` of netlists/crossbar.spice (a single-pole op-amp with
resistive/capacitive feedback and no output limit, not a transistor-level design;
|v_out_v| > 1.8 V means r_f_ohm is too large for the signal); the memory cell is
``imc_cell_lin`` (ideal resistor) or ``imc_cell_1t1r`` (imc_memristor + SKY130
nfet access transistor, gate on a select line at VDD).

"Ideal" outputs (``i_ideal_a``) are Σ_r I_cell(G, V_r) computed analytically with the
same device law (linear: G·V; 1t1r: the imc_memristor filament + gap law at the
simulated temperature, read back from the deck; without the access transistor) and no
wires; ``ir_drop_rel`` = (i_ideal − i_out)/i_ideal, so for 1T1R it includes
the access transistor's drop as well as the wires'.
"""
from __future__ import annotations

import math

import numpy as np

from ...circuits import crossbar as cb
from ...circuits import ota
from ..npy_param import NpyParam, file_digest, load_npy
from ..params import ParameterError
from .crossbar_params import OTA_SIZES, column_params, r_f_expr
from .crossbar_params import device_param as _device_param
from .crossbar_params import structural_device_params, tia_params as _tia_params
from .crossbar_params import wire_params as _wire_params
from ..recipe import Axis, Output, Recipe, register_recipe
from .crossbar_transient import check_virtual_ground, read_transient, tran_command

# Array size limits for file-driven arrays. Per dimension: 256, the top of the 64–256
# rows range of REFERENCE.md (crossbar column). Cost per point, measured here with
# ngspice 46 and KLU (`./dev install`; 2 shared cores at load average 6-10, so wall
# time is 2-8x the CPU time): 1T1R 64 x 64 ~2 s CPU, 128 x 128 ~11 s CPU, 25-85 s wall
# and 0.5 GB (benchmarks/array_scaling.py). This
# needs the access transistor's SKY130 model card hoisted to the top level (the PDK
# subcircuit otherwise expands 48 private cards per cell and bins each cell among
# them: 32 x 32 took 313 s with ngspice 39 and its Sparse solver, which also reorders
# the matrix in ~O(nodes^2) at every point; ngspice 39 ignores `.options klu`). With
# the distribution's ngspice 39 (the fallback of ./dev) arrays beyond ~32 x 32 1T1R
# or ~64 x 64 linear take minutes per point: give them a larger --timeout.
MAX_DIM = 256
#: seconds per cell allowed on top of the base timeout (1T1R 128 x 128 took up to 85 s
#: on a busy machine: ~5 ms per cell; 2x margin)
TIMEOUT_S_PER_CELL = 0.01
# Conductance range accepted from files, S: 1 pS (numerical "absent" cell) to 10 mS
# (100 ohm; far beyond RRAM Ron ~6–100 kOhm of REFERENCE.md).
G_MIN_S, G_MAX_S = 1e-12, 1e-2
# Input voltages accepted from files: |V| <= 1.8 V, the SKY130 core supply.
V_MAX_V = 1.8
# Input step rise time for the transient, s (assumption: an ideal driver edge, much
# faster than the TIA so that the settling time measures the column + amplifier).
T_RISE_S = 10e-12
# the derived .param holding the OTA output-stage multiplier n2 (tia=ota)
N2_PARAM = "tia_n2"
#: the TIA's feedback resistance (ohm): r_f_ohm, or set by the swing target (r_f_expr)
RF_PARAM = "tia_rf"
# Access transistor gate length, um: SKY130 1.8 V minimum (device rules, L >= 0.15 um).
L_ACCESS_UM = 0.15


def _ref(name, scale=1.0):
    return cb.ParamRef(name, scale)


# --- crossbar-column ----------------------------------------------------------------------


def spread_pattern(rows: int, frac: float) -> np.ndarray:
    """Evenly interleaved boolean pattern over ``rows`` cells (row 0 = far end): cell i
    is set where floor((i+1)·frac + 1/2) > floor(i·frac + 1/2), which sets exactly
    floor(frac·rows + 1/2) cells (the count column_pattern uses), spaced 1/frac apart."""
    i = np.arange(int(rows))
    return np.floor((i + 1) * frac + 0.5) > np.floor(i * frac + 0.5)


@register_recipe
class CrossbarColumn(Recipe):
    """One column of ``rows`` cells read at ``v_read_v`` through a TIA.

    TIA (``tia``): the SKY130 two-stage Miller OTA (``ota``, default; circuits/ota.py)
    with r_f || c_f feedback: bit line at the reference ``v_cm_v``, every input referred
    to it (word line at v_cm + v_read); the output falls from v_cm by I·r_f, inside its
    swing for r_f <= (v_cm - 0.15 V) / I_full-scale; ``p_tia_w``/``e_tia_j`` its supply
    power and energy. Its class-A output stage (M6 sinks the column current) is sized
    per column by circuits/ota.py ``output_stage_scale`` from the column's design current
    (:meth:`full_scale_expr`: ``i_design_frac`` of the conductance span, 0.25 by
    default, 1.6 x the largest mapped load measured, issue 12): I7 >= I_design; a column
    drawing more may lose the virtual ground (a recorded error; 2x held at 128 rows,
    0.2 V, r_f 25 ohm, measured). With a small r_f the second stage's gain gm6·r_f is
    low, but the virtual-ground error ~I/(A1·gm6) stays small (A1 the first stage's gain;
    gm6 grows with the current M6 sinks): < 1 mV measured at 128 rows. Option
    ``behavioral`` (labelled): the single-pole B-source op-amp, bit line
    at 0 V, no supply power, no output limit (v_out_v beyond the rails flags an r_f_ohm
    too large for the column).

    The readout's design (crossbar_params.readout_params, tia=ota): the OTA's device
    sizes; ``tia_swing_v`` > 0 trims the feedback to the column (r_f_value: the swing
    over its ON cells' current by the cell law, at most ``r_f_ohm``); ``c_hold_ff`` > 0 a
    sample-and-hold on the output (circuits.crossbar.sample_hold), whose held sample the
    settling time is measured on.

    Pattern: exactly round(frac_on·rows) cells ON (``g_on_us``, the rest ``g_off_us``)
    and round(frac_active·rows) inputs at ``v_read_v`` (the rest held at 0 V), chosen
    by ``pattern_seed`` (circuits.crossbar.column_pattern; deterministic), or with
    ``pattern=spread`` evenly interleaved along the column (spread_pattern). The pattern
    parameters, ``rows`` and ``device`` change the netlist (topology); all others are
    altered in place.

    Measurement: ``op`` (DC currents and voltages), then ``tran`` over one read pulse
    of ``t_read_s`` with the inputs stepping from 0 V at t = 0 (rise 10 ps):
    ``e_read_j`` = ∫ Σ_r V_r·I_r dt over the pulse, delivered by the input drivers
    (V_r to ground, so with the OTA the word lines' v_cm + v_read; the TIA and select
    line are not counted: the OTA's supply energy over the same pulse is ``e_tia_j``,
    its DC power ``p_tia_w``; the gate draws no DC current); ``t_settle_s`` = last time the TIA output is more than 1 % of its
    step (0 V to the DC value) away from the DC value, interpolated. When the output
    has not settled within the pulse the transient is extended (x4 at a time, up to
    64 pulses) to find it; NaN if it still has not, or the step is zero. A settling
    time beyond ``t_read_s`` means the read pulse is too short for this column. With
    ``read_window=settled`` both energies are integrated from 0 to ``t_settle_s``
    instead (the read lasts until the output has settled: cost and latency describe
    the same read; the default sweep uses it).
    """

    name = "crossbar-column"
    #: 1t1r: the access transistor's binned SKY130 card hoisted to the top level (same
    #: equations and junction areas; ~10x faster at 256 rows: 19 s -> see defaults.py)
    hoist_model_card = True
    summary = "1T1R/linear crossbar column: bit-line current, IR drop, read energy, settling"
    version = 6   # 2: pattern=spread; 3: junction areas, hoisted card, tia=ota option,
    #               ideal current by the memristor law at the simulated temperature;
    #               4: tia=ota default, output stage sized per column, e_tia_j;
    #               5: output stage sized for i_design_frac, read_window; 6: ota_cc_ff etc.
    params = column_params()
    outputs = (
        Output("i_out_a", "A", (), "bit-line current into the TIA virtual ground (DC)"),
        Output("v_out_v", "V", (), "TIA output (DC) relative to its reference v_cm, = "
                                   "-i_out·r_f (inverting)"),
        Output("v_tia_out_v", "V", (), "TIA output node voltage (DC, to ground): inside "
                                       "0..VDD for a real TIA"),
        Output("p_tia_w", "W", (), "TIA supply power (DC; NaN for the behavioral TIA, "
                                   "which has no supply)"),
        Output("e_tia_j", "J", (), "energy from the TIA supply over t_read_s (NaN for "
                                   "the behavioral TIA)"),
        Output("i_ideal_a", "A", (), "Σ I_cell(G, V) with no wires and no access device"),
        Output("ir_drop_rel", "", (), "(i_ideal - i_out) / i_ideal"),
        Output("e_read_j", "J", (), "energy from the input drivers over t_read_s"),
        Output("t_settle_s", "s", (), "TIA output 1 % settling time after the input step"),
        Output("v_bl_far_v", "V", (), "bit-line voltage at row 0, the cell farthest from "
                                      "the sense node (DC): the largest IR rise"),
        Output("v_wl_min_v", "V", (), "lowest word-line voltage at a cell of an active row "
                                      "(DC)"),
    )
    # Only scalar outputs: ``rows`` is sweepable, and the raw file's inner axes must not
    # change along a sweep. Per-node voltages come from crossbar-array.

    def inner_axes(self, p):
        return []

    def pattern(self, p):
        if p["pattern"] == "spread":
            rows = int(p["rows"])
            return spread_pattern(rows, p["frac_on"]), spread_pattern(rows, p["frac_active"])
        return cb.column_pattern(int(p["rows"]), p["frac_on"], p["frac_active"],
                                 int(p["pattern_seed"]))

    def v_cm(self, p) -> float:
        """The bit lines' DC reference, V: v_cm_v with the OTA, 0 (ground) otherwise."""
        return float(p["v_cm_v"]) if p["tia"] == "ota" else 0.0

    def body(self, tech, p):
        on, active = self.pattern(p)
        use_ota = p["tia"] == "ota"
        lines = []
        n2: object = 1
        if use_ota:
            # the output stage sized for this column's design load (circuits/ota.py rule),
            # as an expression: g_on and v_read are altered in place between points
            lines.append(f".param {N2_PARAM}=" + ota.output_stage_scale_expr(
                self.full_scale_expr(p), "ota_ibias_a", float(ota.OtaParams.k2),
                "ota_n2_min"))
            n2 = cb.ParamRef(N2_PARAM)
            n_on = int(np.count_nonzero(on))
            lines.append(f".param {RF_PARAM}=" + "{" + r_f_expr(
                p, f"({n_on}*g_on_us+{int(p['rows']) - n_on}*g_off_us)*1e-6") + "}")
        return lines + cb.column_netlist(
            int(p["rows"]), on, active, _ref("g_on_us", 1e-6), _ref("g_off_us", 1e-6),
            _ref("v_read_v"), p["device"],
            wires=cb.WireParams(_ref("r_wl_ohm"), _ref("r_bl_ohm"), _ref("c_wl_cell_ff"),
                                _ref("c_bl_cell_ff")),
            tia=cb.TiaParams(_ref(RF_PARAM if use_ota else "r_f_ohm"), _ref("c_f_ff"),
                             _ref("a0_v_per_v"), _ref("gbw_hz"), kind=p["tia"],
                             v_cm_v=_ref("v_cm_v") if use_ota else 0.0, vdd_v=tech.vdd_v,
                             ota=ota.OtaParams(ibias_a=_ref("ota_ibias_a"), n2=n2, cc_f=_ref(
                                 "ota_cc_ff", 1e-15), rz_ohm=_ref("ota_rz_ohm"),
                                 **{f: _ref(f"ota_{f}") for f in OTA_SIZES}),
                             c_hold_ff=float(p["c_hold_ff"]), w_hold_um=_ref("w_hold_um")),
            # hoisted model card: the width is a number here (w_access_um is structural)
            access=cb.AccessTransistor(p["w_access_um"], L_ACCESS_UM, tech.vdd_v,
                                       tech.devices["nfet"]),
            memristor=cb.MemristorParams(_ref("v0_v")),
            step_rise_s=T_RISE_S,
            hoist=tech if p["device"] == "1t1r" and self.hoist_model_card else None
        ) + cb.temperature_probe()

    @staticmethod
    def full_scale_expr(p) -> str:
        """The column's design current (A) the OTA's output stage is sized for, as a
        netlist expression: every input at v_read and the design load ``i_design_frac``
        of the conductance span (1: every cell ON), by the cell's
        large-signal law at the programmed g_on (1t1r: v0*sinh(V/v0), the gap law's
        shape at 27 C; linear: G*V), no wires. An estimate for sizing, not a result."""
        rows = int(p["rows"])
        law = ("v0_v*sinh(v_read_v/v0_v)" if p["device"] == "1t1r" else "v_read_v")
        g = "(g_off_us+i_design_frac*(g_on_us-g_off_us))"
        return f"{rows}*{g}*1e-6*{law}"

    def commands(self, p, t_stop_s: float | None = None):
        return ["op", tran_command(p["t_read_s"] if t_stop_s is None else t_stop_s)]

    def simulate(self, ng, p):
        op_cmd, tran_cmd = self.commands(p)
        vec = ng.run([op_cmd])
        cm = self.v_cm(p)
        i_out = float(vec[cb.sense_source(0) + "#branch"][0])
        v_node = float(vec[cb.out_node(0)][0])
        v_out = v_node - cm
        if p["tia"] == "ota":
            check_virtual_ground(float(vec["s0"][0]) - cm, v_node, i_out, p)
        # delivered by the supply: -V·I (the branch current flows into its + node)
        p_tia = (-float(vec["vdd_tia"][0] * vec[cb.TIA_SUPPLY + "#branch"][0])
                 if p["tia"] == "ota" else math.nan)
        on, active = self.pattern(p)
        v_wl = [vec[cb.wl_node(r, 0)][0] - cm for r in np.flatnonzero(active)]
        g = np.where(on, p["g_on_us"], p["g_off_us"]) * 1e-6
        v = np.where(active, p["v_read_v"], 0.0)
        # the ideal current by the memristor law at the simulated temperature (read back
        # from the deck: the point's parameters do not carry it)
        t_c = float(vec[cb.TEMP_NODE][0])
        i_ideal = float(cb.ideal_currents(g[:, None], v, p["device"], p["v0_v"], t_c)[0])

        tr = read_transient(ng, tran_cmd, p, np.flatnonzero(active), v_out, cm,
                            cb.sample_node(0, p["tia"] == "ota" and p["c_hold_ff"] > 0))
        return {
            "i_out_a": i_out, "v_out_v": v_out, "v_tia_out_v": v_node, "p_tia_w": p_tia,
            "i_ideal_a": i_ideal,
            "ir_drop_rel": (i_ideal - i_out) / i_ideal if i_ideal != 0 else math.nan,
            "e_read_j": tr["e_read_j"], "e_tia_j": tr["e_tia_j"],
            "t_settle_s": tr["t_settle_s"],
            "v_bl_far_v": float(vec[cb.bl_node(0, 0)][0]) - cm,
            "v_wl_min_v": float(min(v_wl)) if v_wl else math.nan,
        }



# --- crossbar-array -----------------------------------------------------------------------
@register_recipe
class CrossbarArray(Recipe):
    """An R x C crossbar with any conductance matrix and input vector (``.npy`` files).

    ``conductances``: float array of shape (rows, cols), siemens, each in
    [1e-12, 1e-2] S (for 1t1r: the memristor's low-field conductance).
    ``inputs``: float array of shape (rows,), volts, each |V| <= 1.8 V.
    Both at most 256 per dimension (see the cost notes at MAX_DIM: 128 x 128 1T1R
    takes ~11 s of CPU per point with ngspice 46 + KLU). Read
    with ``allow_pickle=False`` (header checked before any data); the netlist is
    built from their contents in the coordinator (every number formatted by the
    builder), so they are structural: the deck changes when a file's contents change.
    One DC operating point per point; every bit line ends in its own behavioral TIA.
    The files must be readable where the workers run (``inner_axes`` reads the shape).
    """

    name = "crossbar-array"
    #: 1t1r: the access transistor's one binned SKY130 model card at the top level of the
    #: deck (False: the PDK subcircuit per cell, 48 cards each; the reference in tests)
    hoist_model_card = True
    summary = "R x C crossbar from .npy conductances/inputs: bit-line currents, node voltages"
    version = 2   # 2: ideal current by the memristor law at the simulated temperature
    params = (
        NpyParam("conductances", "", "S", "cell conductance matrix, .npy of shape "
                 "(rows, cols) in siemens", ndim=2, max_len=MAX_DIM, lo=G_MIN_S, hi=G_MAX_S),
        NpyParam("inputs", "", "V", "word-line input voltages, .npy of shape (rows,) in "
                 "volts", ndim=1, max_len=MAX_DIM, lo=-V_MAX_V, hi=V_MAX_V),
        _device_param(),
        *_wire_params(),
        # the access width is structural here (the hoisted model card)
        *structural_device_params(),
        *_tia_params(),
    )
    outputs = (
        Output("i_out_a", "A", ("col",), "bit-line current into each TIA virtual ground"),
        Output("v_out_v", "V", ("col",), "TIA outputs, = -i_out·r_f (inverting)"),
        Output("i_ideal_a", "A", ("col",), "Σ_r I_cell(G, V) with no wires, no access device"),
        Output("ir_drop_rel", "", ("col",), "(i_ideal - i_out) / i_ideal (NaN where 0)"),
        Output("v_wl_v", "V", ("row", "col"), "word-line voltage at each cell"),
        Output("v_bl_v", "V", ("row", "col"), "bit-line voltage at each cell"),
    )

    def arrays(self, p) -> tuple[np.ndarray, np.ndarray]:
        """The validated (conductances, inputs) of a point; shapes checked together."""
        g = load_npy(self.param("conductances"), p["conductances"])
        v = load_npy(self.param("inputs"), p["inputs"])
        if v.shape[0] != g.shape[0]:
            raise ParameterError(f"parameter 'inputs': {v.shape[0]} values for a conductance "
                                 f"matrix of {g.shape[0]} rows (shape {g.shape}); 'inputs' "
                                 "needs one voltage per row")
        return g, v

    def timeout_s(self, p):
        g, _ = self.arrays(p)
        return 60.0 + TIMEOUT_S_PER_CELL * g.size

    def structural(self, p):
        # The deck depends on the files' contents, not only on their paths.
        s = super().structural(p)
        for name in ("conductances", "inputs"):
            s[name] = f"{p[name]}#{file_digest(name, p[name])}"
        return s

    def inner_axes(self, p):
        g, _ = self.arrays(p)
        return [Axis("row", "", tuple(float(r) for r in range(g.shape[0]))),
                Axis("col", "", tuple(float(c) for c in range(g.shape[1])))]

    def body(self, tech, p):
        g, v = self.arrays(p)
        return cb.crossbar_netlist(
            g, [float(x) for x in v], p["device"],
            wires=cb.WireParams(_ref("r_wl_ohm"), _ref("r_bl_ohm"), 0.0, 0.0),
            # DC only: c_f and gbw do not enter the operating point.
            tia=cb.TiaParams(_ref("r_f_ohm"), 0.0, _ref("a0_v_per_v"), 5e8),
            # hoisted model card: the width is a number here (w_access_um is structural)
            access=cb.AccessTransistor(p["w_access_um"], L_ACCESS_UM, tech.vdd_v,
                                       tech.devices["nfet"]),
            memristor=cb.MemristorParams(_ref("v0_v")),
            hoist=tech if p["device"] == "1t1r" and self.hoist_model_card else None
        ) + cb.temperature_probe()

    def commands(self, p):
        return ["op"]

    def measure(self, vec, p):
        g, v = self.arrays(p)
        rows, cols = g.shape
        i_out = np.array([vec[cb.sense_source(c) + "#branch"][0] for c in range(cols)])
        v_out = np.array([vec[cb.out_node(c)][0] for c in range(cols)])
        v_wl = np.array([[vec[cb.wl_node(r, c)][0] for c in range(cols)] for r in range(rows)])
        v_bl = np.array([[vec[cb.bl_node(r, c)][0] for c in range(cols)] for r in range(rows)])
        i_ideal = cb.ideal_currents(g, v, p["device"], p["v0_v"], float(vec[cb.TEMP_NODE][0]))
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(i_ideal != 0, (i_ideal - i_out) / i_ideal, np.nan)
        return {"i_out_a": i_out, "v_out_v": v_out, "i_ideal_a": i_ideal, "ir_drop_rel": rel,
                "v_wl_v": v_wl, "v_bl_v": v_bl}
