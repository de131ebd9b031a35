"""Gain-cell array: ``rows`` x ``cols`` cells (up to 64 x 64, ../shared/REFERENCE.md
"Gain-cell attention": arrays 64x64) with a resistive-capacitive read word line.

What only an array adds to a column (``circuits/gaincell.py``): the read word line
(and its complement) is driven from ONE end and runs across all ``cols`` columns; each
column's cell on that row loads it with its access-device gate at the column's tap. The
line is an RC ladder: driver output resistance ``r_drv_ohm``, then per column a series
segment ``r_seg_ohm`` and a shunt wiring capacitance ``c_seg_f`` to ground, then the
cell. So the query pulse reaching column m is delayed and its edges are slowed, and
each column has its own integrator.

Simulating 64 x 64 SKY130 cells is far too slow; as in ``gaincell-mac``, identical cells
driven identically carry identical currents, so:

* every row stores the same voltage and gets the same pulse, hence every row's word line
  carries the same waveform: ONE word line is simulated, with ONE REAL cell per column
  (that row's cells: exactly the gate load the real line sees);
* the other rows of column m see the same waveform at the same tap, so column m's
  current is that real cell's current mirrored ``rows`` times into the column bit line
  (VCVS copies the bit-line voltage to the cell, CCCS draws ``rows`` x its current).

Default wire values (ASSUMPTIONS, not extracted): metal word line ~0.1 Ohm/um and
~0.2 fF/um, cell pitch ~2 um -> 0.2 Ohm and 0.4 fF per column segment (REFERENCE.md gives
~1-10 Ohm per cell segment for crossbar wires; a narrow poly word line would be
~100x more resistive); driver output resistance 100 Ohm (assumption: a sized
inverter driver). Units: Ohm, F, s, V.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import gaincell as gc
from . import ota
from .netlist import ParameterError, ParamRef, Value, format_number, node, value

MAX_COLS = 64
MAX_ROWS = gc.ARRAY_ROWS


@dataclass(frozen=True)
class WordLineParams:
    """Read word line RC ladder (numbers or :class:`~imcspice.circuits.netlist.ParamRef`).

    * ``r_drv_ohm`` driver output resistance, Ohm (100: assumption)
    * ``r_seg_ohm`` series resistance per column segment, Ohm (0.2: assumption,
      0.1 Ohm/um metal x 2 um cell pitch)
    * ``c_seg_f`` wiring capacitance per column segment, F (0.4 fF: assumption,
      0.2 fF/um x 2 um pitch); the cells' gate capacitance comes from the SKY130 models
    """

    r_drv_ohm: Value = 100.0
    r_seg_ohm: Value = 0.2
    c_seg_f: Value = 0.4e-15


def word_line(cols: int, drv: str, tap: str, name: str,
              p: WordLineParams = WordLineParams()) -> list[str]:
    """RC ladder from the driver node ``drv`` through ``cols`` segments; column m's tap
    is ``tap.replace("{m}", m)``. Zero resistances are written as 1 uOhm."""
    cols = _count("cols", cols, MAX_COLS)
    taps = [node(tap.replace("{m}", str(m))) for m in range(cols)]
    n = node(name)
    r = lambda x: value(x) if isinstance(x, ParamRef) else format_number(max(float(x), 1e-6))
    out = [f"R{n}_drv {node(drv)} {n}_in {r(p.r_drv_ohm)}"]
    prev = f"{n}_in"
    for m, t in enumerate(taps):
        out += [f"R{n}_{m} {prev} {t} {r(p.r_seg_ohm)}", f"C{n}_{m} {t} 0 {value(p.c_seg_f)}"]
        prev = t
    return out


def array_columns(cols: int, rows: int, write_device: str = "si",
                  cp: gc.GainCellParams = gc.GainCellParams(),
                  ip: gc.IntegratorParams = gc.IntegratorParams(),
                  cbl_row_f: Value = 0.2e-15, rwl: str = "rwl{m}", rwlb: str = "rwlb{m}",
                  vref: str = "vref", rst: str = "rst", integrator: str = "ota",
                  op: ota.OtaParams = ota.OtaParams(), vdd: str = "vddint") -> list[str]:
    """Per column m: one real cell on word-line taps ``rwl``/``rwlb`` (storage node
    ``sn{m}``), its current mirrored ``rows`` times into bit line ``bl{m}`` (wiring
    capacitance rows x ``cbl_row_f``), sense source ``Vsense{m}`` (blint{m} -> bl{m}:
    its current is the charge the column sinks) and integrator ``int{m}`` (output
    ``vout{m}``): :func:`imcspice.circuits.gaincell.column_integrator` of kind
    ``integrator`` (the OTA ones on the supply node ``vdd``). The cells' write lines idle
    on ``wbl_idle``/``wwl_hold``."""
    cols = _count("cols", cols, MAX_COLS)
    rows = _count("rows", rows, MAX_ROWS)
    out = []
    for m in range(cols):
        out += [
            gc.cell(f"a{m}", "wbl_idle", "wwl_hold", rwl.replace("{m}", str(m)),
                    rwlb.replace("{m}", str(m)), f"blc{m}", f"sn{m}", "vrn", "vrp",
                    write_device, cp),
            f"Ecopy{m} blk{m} 0 bl{m} 0 1",   # the cell's bit line follows the column's
            f"Vmir{m} blk{m} blc{m} 0",       # what one cell sinks
            f"Fmir{m} bl{m} 0 Vmir{m} {rows}",  # drawn `rows` times from the bit line
            f"Cbl{m} bl{m} 0 {_times(cbl_row_f, rows)}",
            f"Vsense{m} blint{m} bl{m} 0",
            *gc.column_integrator(f"int{m}", f"blint{m}", f"vout{m}", node(vref), node(rst),
                                  vdd, integrator, ip, op),
        ]
    return out


def _count(name: str, v, hi: int) -> int:
    if isinstance(v, bool) or int(v) != v or not 1 <= int(v) <= hi:
        raise ParameterError(f"{name} must be an integer 1..{hi}, got {v!r}")
    return int(v)


def _times(v: Value, n: int) -> str:
    """``v`` (a number or a scale-1 ParamRef) times the integer ``n`` as netlist text."""
    if isinstance(v, ParamRef):
        if v.scale != 1.0 or v.plus:
            raise ParameterError(f"{v!r}: only a plain .param reference can be multiplied")
        return ParamRef(v.name, n).spice()
    return format_number(float(v) * n)
