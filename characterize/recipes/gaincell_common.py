"""Parts shared by the gain-cell recipes: their parameters, the cell/integrator
parameter references, the rails, and the column-read stimulus (reset, query pulses,
integrator) with its result.

Parameter defaults come from the dataclasses in circuits/gaincell.py (one source of
truth); the comment after each says where the value comes from. "design choice" /
"assumption" marks this project's own values (reasoning in netlists/gaincell.spice).
"""
from __future__ import annotations

import numpy as np

from ...circuits import gaincell as gc
from ...circuits import ota
from ...circuits.netlist import ParamRef
from ..params import Param, ParameterError, format_number
from ..recipe import Recipe
from ..waveform import charge

_CELL, _BIAS, _INT = gc.GainCellParams, gc.BiasParams, gc.IntegratorParams
P_CS = Param("cs_f", _CELL.cs_f, "F", "explicit storage capacitor (read-transistor gates "
             "add ~1 fF)", min=1e-16, max=1e-13)  # assumption: MIM-class 5 fF
P_WRN = Param("w_rn_um", _CELL.w_rn_um, "um", "NMOS read transistor width",
              min=0.42, max=10.0)  # design choice; SKY130 minimum width 0.42 um
P_WRP = Param("w_rp_um", _CELL.w_rp_um, "um", "PMOS read transistor width",
              min=0.42, max=10.0)  # design choice (balances the NMOS branch)
P_LREAD = Param("l_read_um", _CELL.l_rn_um, "um", "NMOS and PMOS read transistor length",
                min=0.15, max=4.0)  # design choice; SKY130 minimum L 0.15 um
P_VRP = Param("vrp_v", _BIAS.vrp_v, "V", "PMOS read rail (sets the zero-current stored "
              "voltage)", min=0.9, max=1.8)  # design choice: zero crossing ~0.45 V (tt, 27 C)
P_VREF = Param("vref_v", _BIAS.vref_v, "V", "bit-line virtual ground = write-bit-line idle "
               "level", min=0.2, max=0.7)  # REFERENCE.md: storage range centered at 0.45 V
P_VQ = Param("v_query_v", _BIAS.vwl_v, "V", "read word-line pulse amplitude",
             min=0.3, max=1.8)  # REFERENCE.md: query pulse amplitude 0.9 V
P_CINT = Param("cint_f", _INT.cint_f, "F", "column integration capacitor",
               min=1e-14, max=1e-11)  # assumption: 450 fC full scale with a 0.9 V ramp
P_A0 = Param("a0", _INT.a0, "V/V", "integrator op-amp DC gain (behavioral)",
             min=10.0, max=1e6)  # assumption: 60 dB
P_GBW = Param("gbw_hz", _INT.gbw_hz, "Hz", "integrator op-amp gain-bandwidth (behavioral)",
              min=1e7, max=1e11)  # assumption
#: column integrator (issue 11: the SKY130 OTA by default, the behavioral op-amp labelled)
P_INTEGRATOR = Param("integrator", gc.INTEGRATORS[0], "", "column integrator amplifier: the "
                     "SKY130 two-stage OTA ('ota', circuits/ota.py, own 1.8 V supply) or the "
                     "behavioral single-pole op-amp ('behavioral': a0, gbw_hz, output clamped "
                     "to 0-1.8 V, no supply)", kind="choice", choices=gc.INTEGRATORS,
                     structural=True)
P_OTA_IBIAS = Param("ota_ibias_a", ota.OtaParams.ibias_a, "A", "integrator OTA bias (tail) "
                    "current [integrator=ota]",
                    min=1e-6, max=100e-6)  # circuits/ota.py design point
P_CBL = Param("cbl_row_f", 0.2e-15, "F", "bit-line wiring capacitance per row",
              min=0.0, max=1e-13)  # assumption: ~1 um of metal per cell pitch
P_ROWS = Param("rows", 64, "", "cells on the column (integer)", min=1, max=64,
               structural=True)  # REFERENCE.md: 64 x 64 arrays
P_DEV = Param("write_device", "si", "", "write transistor: SKY130 nfet_01v8 ('si') or the "
              "behavioral IGZO-like card ('osfet')", kind="choice", choices=("si", "osfet"))
P_WW = Param("w_write_um", _CELL.w_write_um, "um", "write transistor width",
             min=0.42, max=10.0)  # design choice: SKY130 minimum width
P_LW = Param("l_write_um", _CELL.l_write_um, "um", "write transistor length",
             min=0.15, max=4.0)  # design choice: minimum L, least injection (gaincell.spice)
P_VWWL = Param("v_wwl_v", _BIAS.v_wwl_v, "V", "write word-line high level",
               min=0.9, max=1.8)  # SKY130 1.8 V core-device limit; passes 0.9 V
P_VWWLH = Param("v_wwl_hold_v", _BIAS.v_wwl_hold_v, "V", "write word-line hold level",
                min=-0.5, max=0.5)  # assumption: no word-line underdrive
P_IOFF = Param("ioff_a_per_um", _CELL.ioff_a_per_um, "A/um", "OSFET off-current per width "
               "at 27 C (write_device=osfet)",
               min=1e-22, max=1e-15)  # published IGZO TFTs: 1e-18..1e-19 A/um
P_EA = Param("ea_ev", _CELL.ea_ev, "eV", "OSFET off-current activation energy "
             "(write_device=osfet)", min=0.1, max=1.5)  # assumption

_CELL_FIELDS = {"cs_f": "cs_f", "w_rn_um": "w_rn_um", "w_rp_um": "w_rp_um",
                "l_rn_um": "l_read_um", "l_rp_um": "l_read_um", "w_write_um": "w_write_um",
                "l_write_um": "l_write_um", "ioff_a_per_um": "ioff_a_per_um",
                "ea_ev": "ea_ev"}

#: transient numerics (gaincell-write, gaincell-readout). "standard": Gear (BDF-2)
#: integration, which does not ring on the steep source edges as the trapezoidal rule
#: does, at reltol 1e-5 with absolute tolerances sized for femtocoulomb storage nodes
#: (abstol 1e-16 A, vntol 10 nV, chgtol 1e-17 C; ngspice's defaults, 1 pA / 1 uV /
#: 1e-14 C, are coarse next to a 5 fF cell's charge). Issue 11 found the default
#: trapezoidal deck up to 50 % off a tight reference in the write energy. "reference":
#: reltol 1e-6 and 4x finer steps, the convergence check of "standard"
#: (tests/test_gaincell_numerics.py). 10x finer steps at abstol 1e-16 stopped the OTA
#: readout deck at t = 1.25 fs with "timestep too small" on the OTA's bias node
#: (measured); 4x finer steps, or 10x at abstol 1e-15, run and agree with each other
#: within 0.003 % in t_out_s.
P_NUMERICS = Param("numerics", "standard", "", "transient numerics: 'standard' (Gear, "
                   "reltol 1e-5) or 'reference' (Gear, reltol 1e-6, 4x finer steps)",
                   kind="choice", choices=("standard", "reference"), structural=True)
_TOL = "abstol=1e-16 vntol=1e-8 chgtol=1e-17"
NUMERICS_OPTIONS = {"standard": f".options method=gear reltol=1e-5 {_TOL}",
                    "reference": f".options method=gear reltol=1e-6 {_TOL}"}


def tran_line(numerics: str, step_s: float, stop_s: float, maxstep_s: float) -> str:
    """``tran`` command; the reference numerics divide both steps by 4."""
    k = 4.0 if numerics == "reference" else 1.0
    return (f"tran {format_number(step_s / k)} {format_number(stop_s)} 0 "
            f"{format_number(maxstep_s / k)}")


#: write word-line edge (assumption), gaincell-retention and gaincell-write
T_WWL_EDGE_S = 100e-12


def cell_params(recipe: Recipe) -> gc.GainCellParams:
    names = {q.name for q in recipe.params}
    return gc.GainCellParams(**{f: ParamRef(n) for f, n in _CELL_FIELDS.items() if n in names})


def integrator_params() -> gc.IntegratorParams:
    return gc.IntegratorParams(cint_f=ParamRef("cint_f"), a0=ParamRef("a0"),
                               gbw_hz=ParamRef("gbw_hz"))


def ota_params() -> ota.OtaParams:
    return ota.OtaParams(ibias_a=ParamRef("ota_ibias_a"))


#: the 1.8 V supply of the column reads' OTA integrators: node ``vddint``, source ``Vddint``
#: (ngspice's vector of its current: ``vddint#branch``)
INT_SUPPLY = "vddint"


def integrator_supply_lines(kind: str) -> list[str]:
    """The OTA subcircuit and the integrators' metered supply (nothing for the behavioral
    op-amp, which has none): once per deck, before :func:`integrator_lines`."""
    return ota.subckt() + [f"V{INT_SUPPLY[1:]} {INT_SUPPLY} 0 1.8"] if kind == "ota" else []


def supply_energy(vec, source: str, t0_s: float, t1_s: float, vdd_v: float = 1.8) -> float:
    """Energy a ``vdd_v`` source ``source`` (lower case, as ngspice names its branch)
    delivers over ``t0_s .. t1_s``, J: vdd x its integrated current."""
    t = np.asarray(vec["time"])
    return float(vdd_v * charge(t, -np.asarray(vec[f"{source}#branch"]), t0_s, t1_s))


def rails(write_lines: bool = True) -> list[str]:
    lines = ["Vvrn vrn 0 0", "Vvrp vrp 0 {vrp_v}", "Vvref vref 0 {vref_v}"]
    if write_lines:
        lines += ["Vwblidle wbl_idle 0 {vref_v}", "Vwwlhold wwl_hold 0 {v_wwl_hold_v}"]
    return lines


def int_param(name: str, v: float, lo: int, hi: int) -> int:
    if abs(v - round(v)) > 1e-9 or not lo <= round(v) <= hi:
        raise ParameterError(f"parameter {name!r}: {v:g} is not an integer in {lo}..{hi}")
    return int(round(v))


# --- column reads (gaincell-mac, gaincell-superposition, gaincell-array) ---------------
T_RST_S = 1e-9        # integrator reset released (assumption: 1 ns reset phase)
T_Q0_S = 2e-9         # read word-line pulses start (start-aligned query pulses)
T_END_S = T_Q0_S + gc.T_QUERY_MAX_S + 3e-9  # 3 ns after the longest (15 ns) pulse ends
TRAN_READ = f"tran 20p {format_number(T_END_S)} 0 100p"


def integrator_lines(bl: str = "bl", kind: str = "ota") -> list[str]:
    """Sense source + column integrator ``kind`` (:data:`imcspice.circuits.gaincell.
    INTEGRATORS`; reset released at T_RST_S) on bit line ``bl``, with the OTA's
    subcircuit and supply (:func:`integrator_supply_lines`)."""
    return integrator_supply_lines(kind) + [
        # Vsense: its current (blint -> bl) is the charge the column sinks from the
        # integrator input
        f"Vsense blint {gc.node(bl)} 0",
        *gc.column_integrator("int", "blint", "vout", "vref", "rst", INT_SUPPLY, kind,
                              integrator_params(), ota_params()),
        gc.pwl("rst", "rst", [(0.0, 1.8), (T_RST_S - 100e-12, 1.8), (T_RST_S, 0.0)]),
        # start Newton with the reset switch closed: otherwise the first iterations see an
        # open-loop, clamped op-amp and the operating point needs gmin stepping
        ".nodeset v(rst)=1.8",
    ]


def read_result(vec) -> tuple[float, float]:
    """(charge sunk through Vsense after the reset, integrator output at the end)."""
    t = np.asarray(vec["time"])
    return charge(t, np.asarray(vec["vsense#branch"]), T_RST_S, T_END_S), \
        float(vec["vout"][-1])
