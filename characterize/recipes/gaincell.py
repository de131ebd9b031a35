"""Gain-cell dot-product family (Leroux et al.; ../shared/REFERENCE.md "Gain-cell attention").

Recipes:

* ``gaincell-mac``: (a) the signed cell read current I(Vs, Vwl) on a DC grid, with the
  storage node forced; (b) the charge a column of ``rows`` cells (all storing
  ``vs_col_v``) delivers into the column integrator vs the read word-line pulse width.
* ``gaincell-superposition``: a random 64-row pattern (stored voltages on the 3-bit K/V
  grid, pulse widths on the 4-bit Q grid, from ``pattern_seed``) read at once, compared
  with the sum of the charges each cell delivers when the same column reads it alone.
* ``gaincell-retention``: stored voltage vs hold time after a write, for the SKY130 Si
  write transistor or the behavioral OSFET (``write_device``), with the extracted
  relaxation level and time constant; plus the hold-state leakage current I(Vs).
* ``gaincell-write``: write settling time, charge injection at the word-line fall, write
  energy, vs written voltage.
* ``gaincell-readout``: column integrator and charge-to-pulse transfer and saturation.

Circuits and their design choices: ``netlists/gaincell.spice`` and
``circuits/gaincell.py``. Sign convention: currents/charges are positive when the cells
sink current from the bit line (stored voltage above the zero crossing).

The column reads (mac, superposition) live in this module; the others in
``gaincell_retention.py``, ``gaincell_write.py``, ``gaincell_readout.py`` (and
``gaincell_array.py``); their shared parameters and read stimulus in ``gaincell_common.py``.
"""
from __future__ import annotations

import numpy as np

from ...circuits import gaincell as gc
from ...circuits.netlist import ParamRef
from ..params import Param, format_number
from ..recipe import Axis, Output, Recipe, register_recipe, sweep_values
from ..waveform import charge, zero_crossing
from .gaincell_common import (INT_SUPPLY, NUMERICS_OPTIONS, P_A0, P_CBL, P_CINT, P_CS, P_GBW,
                              P_INTEGRATOR, P_LREAD, P_OTA_IBIAS, P_ROWS, P_VQ, P_VREF, P_VRP,
                              P_VWWLH, P_WRN, P_WRP, TRAN_READ, T_END_S, T_Q0_S, cell_params,
                              int_param, integrator_lines, rails, read_result, supply_energy)

MAX_ROWS = gc.ARRAY_ROWS
ROW_AXIS = tuple(float(r) for r in range(MAX_ROWS))

@register_recipe
class GainCellMac(Recipe):
    """(a) Signed cell read current on a DC grid; (b) column charge vs query pulse width.

    (a) One cell with its storage node forced to ``vs_v`` and its read word line at
    ``vwl_v`` (the complementary line at ``vrp_v - vwl_v``), bit line held at ``vref_v``:
    ``i_cell_a`` is the current the cell sinks from the bit line (one nested DC sweep).

    (b) A column of ``rows`` cells, all storing ``vs_col_v`` (set as the storage node's
    initial condition; the node then floats, so read-disturb coupling is included), all
    read with the same start-aligned pulse of width ``t_pulse_s`` and amplitude
    ``v_query_v``, into the column integrator through the bit-line wiring capacitance:
    by default (``integrator = "ota"``) the SKY130 two-stage Miller OTA of
    ``circuits/ota.py`` (tail bias ``ota_ibias_a``, ``cint_f`` in feedback, nfet reset
    switch, own metered 1.8 V supply), as in ``gaincell-readout``; the labelled option
    ``integrator = "behavioral"`` is the single-pole B-source op-amp (``a0``, ``gbw_hz``,
    output clamped to 0-1.8 V, no supply). Identical cells driven
    identically carry identical currents, so the column is simulated exactly as ONE
    SKY130 cell whose bit-line terminal follows the column bit line (VCVS) and whose
    current is mirrored ``rows`` times into it (CCCS); SKY130's device subcircuits accept
    no instance multiplier, and 64 real instances would cost ~0.5 s per transient.
    ``q_col_c`` is the charge sunk from the integrator input after its reset;
    ``v_int_v`` = vref + q/cint until the integrator clamps (1.8 V behavioral; the OTA's
    output stage leaves saturation ~0.3 V below its supply). Under Monte-Carlo
    mismatch the column of (b) is ``rows`` copies of one sampled cell; use
    ``gaincell-superposition`` for a column of independently sampled cells.

    ``e_read_j``: energy ONE cell's read costs its drivers and rails over the read
    window (0 .. 20 ns), from supply-current integration in (b)'s transient: the read
    word-line driver and its complement (each phase of a driver, from one edge to the
    next, is served by a rail at the phase's level V_k delivering the net charge Q_k:
    E = sum max(V_k Q_k, 0), so charging the access gates costs C V^2) plus the PMOS read
    rail ``vrp`` (vrp x the charge the cell's PMOS branch draws; the NMOS rail is at
    0 V). The real cell has its own metered ``vrp`` source. The charge the cell moves
    on the bit line is the integrator's: ``e_int_j`` is the energy the column
    integrator's OTA draws from its 1.8 V supply over the same read window (0 .. 20 ns),
    per column read, ∫ VDD·I_DD dt (class A: nearly its bias power times the window,
    1.8 V x 6 x 20 uA x 20 ns ~ 4.3 pJ); NaN for the behavioral op-amp (no supply).

    Numerics: the "standard" transient numerics of gaincell-write (Gear, reltol 1e-5,
    femtocoulomb-sized absolute tolerances; gaincell_common.NUMERICS_OPTIONS). With
    ngspice's defaults (trapezoidal, reltol 1e-3) e_read_j was 0.5-1.2 % off a Gear /
    reltol 1e-6 / 4x-finer-step reference; with these 0.06 % (q_col_c 0.015 % FS),
    measured at 4 and 64 rows, ~1.2x the CPU time.
    """

    name = "gaincell-mac"
    # v7: Gear / reltol 1e-5 numerics; v6: e_read_j (read drivers + vrp rail metered);
    # v5: t_pulse_s on the 4-bit Q grid (1 ns), vwl_v 50 mV, vs_v 25 mV
    # v8: SKY130 OTA integrator by default (integrator, ota_ibias_a), e_int_j
    # v9: the OTA integrator's reset switch with junction areas, its input gates
    # behind their poly resistance
    version = 9
    summary = ("gain cell signed read current I(Vs, Vwl) and column charge vs query pulse "
               "width (SKY130, push-pull read)")
    params = (P_ROWS,
              Param("vs_col_v", 0.6, "V", "stored voltage of every cell in the column read",
                    min=-0.2, max=1.1),  # assumption: a positive value, below saturation
              P_VQ, P_VRP, P_VREF, P_CS, P_WRN, P_WRP, P_LREAD, P_CINT, P_INTEGRATOR,
              P_OTA_IBIAS, P_A0, P_GBW, P_CBL, P_VWWLH)
    outputs = (
        Output("i_cell_a", "A", ("vwl_v", "vs_v"), "cell current sunk from the bit line "
               "(held at vref) vs word-line level and forced stored voltage; DC"),
        Output("i_vrp_a", "A", ("vwl_v", "vs_v"), "current the cell draws from the PMOS "
               "read rail vrp (its PMOS branch) vs word-line level and stored voltage; DC"),
        Output("vs_zero_v", "V", (), "stored voltage where the cell current crosses zero "
               "at Vwl = 0.9 V"),
        Output("q_col_c", "C", ("t_pulse_s",), "charge the column sinks from the integrator "
               "input vs read word-line pulse width (all rows pulsed, start-aligned)"),
        Output("v_int_v", "V", ("t_pulse_s",), "integrator output at the end of the read"),
        Output("e_read_j", "J", ("t_pulse_s",), "energy per cell read: read word-line "
               "drivers (phase charge x rail level) + PMOS read rail, one cell"),
        Output("e_int_j", "J", ("t_pulse_s",), "energy the column integrator's OTA draws "
               "from its supply over the read window (20 ns), per column read; NaN for the "
               "behavioral op-amp"),
    )
    # storage range 0–0.9 V (REFERENCE.md), 25 mV: the current rises steeply toward 0.9 V,
    # 50 mV steps left the held-out near-edge line (0.85 V) 1.06 % FS off (DC, cheap)
    VS = sweep_values(0.0, 0.9, 37)
    # word line 0–0.9 V (REFERENCE.md amplitude), 50 mV: the current turns on over ~0.2 V
    # of vwl, 100 mV steps left a held-out vwl line 1.4 % FS off (DC, costs nothing)
    VWL = sweep_values(0.0, 0.9, 19)
    # the 4-bit Q grid (0..15 ns, 1 ns; REFERENCE.md): the widths the accelerator uses, and
    # enough points on the knee where the integrator clamps
    T_PULSE = tuple(k * 1e-9 for k in range(16))

    def inner_axes(self, p):
        return [Axis("vwl_v", "V", self.VWL), Axis("vs_v", "V", self.VS),
                Axis("t_pulse_s", "s", self.T_PULSE)]

    def body(self, tech, p):
        rows = int_param("rows", p["rows"], 1, 64)
        cp = cell_params(self)
        lines = [gc.include_line(), NUMERICS_OPTIONS["standard"]] + rails()
        # (a) DC bench: stored voltage forced, word line forced, bit line held at vref
        lines += [
            gc.cell("dc", "wbl_idle", "wwl_hold", "rwl_dc", "rwlb_dc", "bl_dc", "sn_dc",
                    "vrn", "vrp", "si", cp),
            "Vsdc sn_dc 0 0.45", "Vwldc rwl_dc 0 0.9",
            "Bwlbdc rwlb_dc 0 V = V(vrp) - V(rwl_dc)",  # ideal complementary driver
            "Vbldc bl_dc 0 {vref_v}",
        ]
        # (b) column of `rows` identical cells = one cell mirrored `rows` times
        lines += [
            # the real cell's own PMOS rail (metered: the DC bench's cell also sits on vrp)
            "Vvrpq vrpq 0 {vrp_v}",
            gc.cell("col", "wbl_idle", "wwl_hold", "rwlq", "rwlbq", "bl_cell", "sn_col",
                    "vrn", "vrpq", "si", cp),
            "Ecopy bl_copy 0 bl 0 1",        # the cell's bit line follows the column's
            "Vmir bl_copy bl_cell 0",        # its current: what one cell sinks
            f"Fmir bl 0 Vmir {int(rows)}",   # drawn `rows` times from the column bit line
            f"Cbl bl 0 {{cbl_row_f*{int(rows)}}}",
            ".ic v(sn_col)={vs_col_v}",
            gc.pulse("q", "rwlq", 0.0, ParamRef("v_query_v"), T_Q0_S, 0.0, gc.T_READ_EDGE_S),
            # ideal complementary driver, metered by Vmqb (current into the line)
            "Bqb rwlbq_d 0 V = V(vrp) - V(rwlq)", "Vmqb rwlbq_d rwlbq 0",
        ]
        lines += integrator_lines("bl", p["integrator"])
        return lines

    def simulate(self, ng, p):
        vec = ng.run(["dc vsdc 0 0.9 0.025 vwldc 0 0.9 0.05"])
        i = -np.asarray(vec["vbldc#branch"]).reshape(len(self.VWL), len(self.VS))
        # Vvrp feeds only the DC bench's cell (the column cell has its own Vvrpq)
        i_vrp = -np.asarray(vec["vvrp#branch"]).reshape(len(self.VWL), len(self.VS))
        q_col, v_int, e_read, e_int = [], [], [], []
        for tw in self.T_PULSE:
            spec = gc.pulse_values(0.0, p["v_query_v"], T_Q0_S, tw, gc.T_READ_EDGE_S)
            ng.command("alter @vq[pulse] = [ " + " ".join(format_number(x) for x in spec)
                       + " ]")
            vec = ng.run([TRAN_READ])
            q, v = read_result(vec)
            q_col.append(q)
            v_int.append(v)
            e_read.append(read_energy(vec, p, spec))
            e_int.append(supply_energy(vec, INT_SUPPLY, 0.0, T_END_S)
                         if p["integrator"] == "ota" else float("nan"))
        return {"i_cell_a": i, "vs_zero_v": zero_crossing(np.asarray(self.VS), i[-1]),
                "q_col_c": q_col, "v_int_v": v_int, "e_read_j": e_read, "i_vrp_a": i_vrp,
                "e_int_j": e_int}


def read_energy(vec, p, spec) -> float:
    """Energy of one cell read in gaincell-mac (b), J: word line (source Vq, levels 0 /
    v_query), its complement (Bqb, metered by Vmqb, levels vrp / vrp - v_query), each
    phase charge times its rail level and never negative; plus vrp x the charge drawn
    from the real cell's PMOS rail Vvrpq. ``spec``: the PULSE numbers of Vq."""
    t = np.asarray(vec["time"])
    v_idle, v_on, t0, tr, tf, pw = spec[:6]
    t_fall = t0 + tr + pw
    vrp = p["vrp_v"]
    e = 0.0
    for i_line, levels in ((-np.asarray(vec["vq#branch"]), (v_idle, v_on, v_idle)),
                           (np.asarray(vec["vmqb#branch"]),
                            (vrp - v_idle, vrp - v_on, vrp - v_idle))):
        for (a, b), lvl in zip(((0.0, t0), (t0, t_fall), (t_fall, T_END_S)), levels):
            if b > a:
                e += max(lvl * charge(t, i_line, a, b), 0.0)
    e += vrp * charge(t, -np.asarray(vec["vvrpq#branch"]), 0.0, T_END_S)
    return float(e)


def superposition_pattern(seed: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Stored voltages (V; 3-bit K/V grid over 0–0.9 V) and query pulse widths (s; 4-bit
    Q grid, 0..15 ns in 1 ns steps) of a random pattern from ``seed`` (REFERENCE.md). The
    pattern of ``rows`` rows is the first ``rows`` rows of the 64-row pattern."""
    rng = np.random.default_rng(int(seed))
    levels = np.linspace(gc.V_STORE_MIN_V, gc.V_STORE_MAX_V, 2 ** gc.KV_BITS)
    vs = levels[rng.integers(0, len(levels), MAX_ROWS)]
    steps = 2 ** gc.Q_BITS - 1
    tw = rng.integers(0, steps + 1, MAX_ROWS) * (gc.T_QUERY_MAX_S / steps)
    return vs[:rows], tw[:rows]


@register_recipe
class GainCellSuperposition(Recipe):
    """Superposition error of a random pattern on a column of ``rows`` distinct cells.

    The pattern (from ``pattern_seed``) gives each row a stored voltage on the 3-bit K/V
    grid and a start-aligned query pulse on the 4-bit Q grid (REFERENCE.md). Reads of the
    same column (same devices, so Monte-Carlo mismatch is consistent), each a transient
    from the same initial state (stored voltages set as initial conditions, so neither
    leakage nor read disturb between reads enters the comparison), over the same
    integration window:

    * all rows pulsed at once: ``q_col_c`` (and the integrator output ``v_int_v``);
    * no row pulsed: ``q_idle_c``, the idle column's background (off-state leakage);
    * each pulsed row alone: ``q_single_c`` (rows with no pulse are idle: q_idle).

    Linear superposition predicts ``q_sum_c = q_idle + Σ (q_single - q_idle)``;
    ``err_c = q_col - q_sum`` is the non-linearity of the column's charge summation
    (finite op-amp gain and bandwidth moving the virtual ground, bit-line capacitance,
    integrator clamping). The integrator is ``gaincell-mac``'s: the SKY130 OTA by default
    (``integrator = "ota"``, ``ota_ibias_a``), the behavioral op-amp (``a0``, ``gbw_hz``)
    as the labelled option ``integrator = "behavioral"``. ``err_rel`` normalizes it by
    Σ |q_single - q_idle|. The deck
    runs at reltol = 1e-5 so the integration noise (~1e-18 C) stays below the error.

    Cost: 2 + (pulsed rows) transients of the whole column; ngspice expands every SKY130
    device subcircuit at each load/reset (~20 ms per device): ~1 s per point at 8 rows,
    ~40 s at 64 rows (behavioral op-amp; the OTA adds 9 SKY130 devices).
    """

    name = "gaincell-superposition"
    # v3: the OTA integrator's reset switch with junction areas, its input gates
    # behind their poly resistance
    version = 3   # v2: SKY130 OTA integrator by default (integrator, ota_ibias_a)
    summary = "gain-cell column: charge of a random pattern vs the sum of single-cell charges"
    params = (P_ROWS,
              Param("pattern_seed", 0, "", "seed of the random pattern (integer)", min=0,
                    max=2**31 - 1, structural=True),
              P_VQ, P_VRP, P_VREF, P_CS, P_WRN, P_WRP, P_LREAD, P_CINT, P_INTEGRATOR,
              P_OTA_IBIAS, P_A0, P_GBW, P_CBL, P_VWWLH)
    outputs = (
        Output("q_col_c", "C", (), "charge the column sinks from the integrator input, "
               "all rows read at once"),
        Output("q_idle_c", "C", (), "same with no row pulsed (background)"),
        Output("q_sum_c", "C", (), "q_idle + sum over rows of (q_single - q_idle)"),
        Output("err_c", "C", (), "q_col - q_sum"),
        Output("err_rel", "", (), "err / sum over rows of |q_single - q_idle|"),
        Output("v_int_v", "V", (), "integrator output at the end of the all-rows read"),
        Output("q_single_c", "C", ("row",), "charge with only this row pulsed (NaN past "
               "rows)"),
        Output("vs_row_v", "V", ("row",), "stored voltage of each row (NaN past rows)"),
        Output("t_row_s", "s", ("row",), "query pulse width of each row (NaN past rows)"),
    )

    def inner_axes(self, p):
        return [Axis("row", "", ROW_AXIS)]

    def _pattern(self, p):
        rows = int_param("rows", p["rows"], 1, MAX_ROWS)
        seed = int_param("pattern_seed", p["pattern_seed"], 0, 2**31 - 1)
        vs, tw = superposition_pattern(seed, rows)
        return rows, vs, tw

    def body(self, tech, p):
        rows, vs, tw = self._pattern(p)
        # the error is ~1e-4 of the charge: tighter than the default reltol = 1e-3, which
        # leaves ~1e-17 C of run-to-run integration noise (measured: ~1e-18 C at 1e-5)
        lines = [gc.include_line(), ".options reltol=1e-5 abstol=1e-15"] + rails()
        lines += gc.column(rows, bl="bl", write_device="si", p=cell_params(self),
                           cbl_f=ParamRef("cbl_row_f", rows))
        lines += integrator_lines("bl", p["integrator"])
        for r in range(rows):
            lines += [gc.pulse(f"q{r}", f"rwl{r}", 0.0, ParamRef("v_query_v"), T_Q0_S,
                               float(tw[r]), gc.T_READ_EDGE_S),
                      f"Bqb{r} rwlb{r} 0 V = V(vrp) - V(rwl{r})",  # complementary driver
                      f".ic v(sn{r})={format_number(float(vs[r]))}"]
        return lines

    def simulate(self, ng, p):
        rows, vs, tw = self._pattern(p)
        tran = "tran 20p {} 0 250p".format(format_number(T_END_S))

        def set_row(r: int, on: bool) -> None:
            spec = gc.pulse_values(0.0, p["v_query_v"], T_Q0_S, float(tw[r]) if on else 0.0,
                                   gc.T_READ_EDGE_S)
            ng.command(f"alter @vq{r}[pulse] = [ "
                       + " ".join(format_number(x) for x in spec) + " ]")

        for r in range(rows):
            set_row(r, True)
        q_col, v_int = read_result(ng.run([tran]))
        for r in range(rows):
            set_row(r, False)
        q_idle, _ = read_result(ng.run([tran]))
        q1 = np.full(MAX_ROWS, np.nan)
        for r in range(rows):
            if tw[r] > 0:
                set_row(r, True)
                q1[r], _ = read_result(ng.run([tran]))
                set_row(r, False)
            else:
                q1[r] = q_idle
        delta = q1[:rows] - q_idle
        q_sum = q_idle + float(np.sum(delta))
        scale = float(np.sum(np.abs(delta)))
        pad = np.full(MAX_ROWS - rows, np.nan)
        return {"q_col_c": q_col, "q_idle_c": q_idle, "q_sum_c": q_sum,
                "err_c": q_col - q_sum,
                "err_rel": (q_col - q_sum) / scale if scale > 0 else float("nan"),
                "v_int_v": v_int, "q_single_c": q1,
                "vs_row_v": np.concatenate([vs, pad]), "t_row_s": np.concatenate([tw, pad])}
