"""6T SRAM column on SKY130 with ngspice really running: the column writes and reads
back, its write energy per cell of bitline matches a hand C·V² estimate from the
SKY130 junction/overlap parameters, and the accelerator buffers are priced from it.

Hand estimate (independent of the recipe's code): one unaccessed cell loads its
bitline with its access nfet's drain (W = 0.42 um: ad = 0.42 x 0.29 um², pd = 2 (0.42
+ 0.29) um, as circuits/logic.py sizes every junction) and ``c_wire_cell_ff`` of wire.
SKY130 nfet_01v8 model card (tt; sky130_fd_pr combined models, the bin of W = 0.42 um,
L = 0.15 um): cj = 1.35e-3 F/m², mj = 0.44, pb = 0.729 V; cjsw = 3.674e-11 F/m,
mjsw = 9e-4, pbsw = 0.2 V (perimeter away from the gate, permod = 1: pd - W);
cjswg = 2.382e-10 F/m, mjswg = 0.8, pbswg = 0.956 V (the gate edge, W);
cgdo = 2.449e-10 F/m (gate at 0 V throughout: a linear capacitor). A junction
charged from 0 to V in reverse bias holds Q = C0·pb/(1-m)·((1 + V/pb)^(1-m) - 1).
A write pulls BL from VDD to 0 and the precharge restores it, so the precharge supply
delivers VDD·Q_BL per write: the difference between two column heights is VDD x
(rows difference) x Q_cell, the periphery (SA, precharge, driver) cancelling.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imcspice.accelerators import arch, hardware, mapping
from imcspice.accelerators.workloads import get_workload
from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec

VDD = 1.8
ROWS = (8, 24)


def _junction_q(c0, m, pb, v):
    """Charge (C) into a reverse-biased junction of zero-bias capacitance c0 (F) from 0
    to v (V): the integral of c0 / (1 + V/pb)^m."""
    return c0 * pb / (1 - m) * ((1 + v / pb) ** (1 - m) - 1)


def hand_cell_charge(v=VDD, w_um=0.42, ext_um=0.29, c_wire_ff=0.2) -> float:
    """Charge (C) one unaccessed cell adds to its bitline charged 0 -> v."""
    um, um2 = 1e-6, 1e-12
    ad, pd = w_um * ext_um * um2, 2 * (w_um + ext_um) * um
    q = _junction_q(1.35e-3 * ad, 0.44, 0.729, v)                  # bottom area
    q += _junction_q(3.674e-11 * (pd - w_um * um), 9e-4, 0.2, v)   # field sidewall
    q += _junction_q(2.382e-10 * w_um * um, 0.8, 0.956, v)         # gate-edge sidewall
    q += 2.449e-10 * w_um * um * v                                  # gate-drain overlap
    q += c_wire_ff * 1e-15 * v                                      # met1 wire
    return q


_DEVICE_DECK = """
import json, numpy as np
from imcspice.characterize import ngspice as ngm
from imcspice.circuits.technology import get_technology
from imcspice.circuits import sram as sc
tech = get_technology()
dev = tech.hoisted_device("nfet", 0.42, 0.15)
lines = tech.model_lines("tt") + [dev.include, ".temp 27", "Vd d 0 PWL(0 0 1n 1.8)"]
inst = sc.with_junctions(dev.instance, 0.42)
lines += [f"M{k} d 0 0 0 {dev.model} {inst}" for k in range(50)]
ng = ngm.get()
ng.load("* 50 off access nfets, drain ramped 0 -> 1.8 V\\n" + "\\n".join(lines) + "\\n.end\\n")
r = ng.run(["tran 2e-12 1e-9 0 2e-12"])
print(json.dumps(-float(np.trapezoid(r["vd#branch"], r["time"])) / 50))
"""


def test_off_access_device_charge_matches_the_hand_junction_count():
    # the unaccessed cells' devices exactly as the column builds them (hoisted card,
    # junction areas filled in), alone: ngspice's charge into one drain 0 -> VDD
    out = subprocess.run([sys.executable, "-c", _DEVICE_DECK], capture_output=True,
                         text=True, timeout=60, check=True)
    q_sim = json.loads(out.stdout.strip().splitlines()[-1])
    q_hand = hand_cell_charge(c_wire_ff=0.0)
    assert q_sim == pytest.approx(q_hand, rel=0.03, abs=0), (q_sim, q_hand)


@pytest.fixture(scope="module")
def column(pool, tmp_path_factory):
    out = tmp_path_factory.mktemp("sram") / "sram.raw.h5"
    raw = run_sweep(SweepSpec("sram", {"rows": list(ROWS)}), out, pool=pool,
                    progress=False)
    assert raw.status_counts() == {"ok": len(ROWS)}
    return raw


def _at(raw, q, rows):
    return float(np.asarray(raw.select(q, rows=rows)[0]).ravel()[0])


def test_column_writes_and_reads_back(column):
    for n in ROWS:
        assert _at(column, "write_ok", n) == 1.0
        assert _at(column, "read_ok", n) == 1.0
        # the sense amplifier resolves within its enable pulse and the bitline swing
        # that took is of the order the read was timed for
        assert 0 < _at(column, "t_sense_s", n) < 0.6e-9
        assert 0.05 < _at(column, "dv_at_sense_v", n) < 0.6


def test_write_energy_per_cell_matches_hand_cv2(column):
    d_rows = ROWS[1] - ROWS[0]
    per_cell = (_at(column, "e_write_bl_j", ROWS[1]) - _at(column, "e_write_bl_j", ROWS[0])
                ) / d_rows
    want = VDD * hand_cell_charge()
    # per device the hand count is exact (test above); in the column the bitline's
    # excursion exceeds 0..VDD (the control edges kick the floating bitline ~0.1-0.3 V
    # past the rails, more on a shorter column), so the simulated slope is ~1.2x the
    # 0 -> VDD count (measured; with the wire alone, 0.2 fF/cell, the slope is 2.08 V
    # x 0.2 fF). Without the junction areas it would be ~40 % below the count.
    assert want * 1.0 < per_cell < want * 1.3, (per_cell, want)


def test_read_energy_restores_the_developed_swing(column):
    # a read's precharge restores what the cell took off BL: at least the unaccessed
    # cells' share VDD x rows x C_cell(at VDD) x dv_bl (C at the top of the swing, the
    # smallest junction capacitance), and the rows dependence of the read's bitline
    # energy is that of the swing times the column capacitance
    for n in ROWS:
        c_cell_top = (hand_cell_charge(VDD) - hand_cell_charge(VDD - 0.05)) / 0.05
        floor = VDD * n * c_cell_top * _at(column, "dv_bl_v", n)
        e = _at(column, "e_read_bl_j", n)
        assert floor < e, (n, floor, e)
    # per bit, a read costs less than a write (swing dv vs VDD on one bitline)
    for n in ROWS:
        assert _at(column, "e_read_bl_j", n) < _at(column, "e_write_bl_j", n)


def test_cell_leakage_is_its_devices_current_at_the_held_rails(column):
    """A cell holding 0 (q = 0, qb = VDD, word line off, both bitlines at VDD): the
    recipe's p_leak_cell_w against Kirchhoff on ideal rails. The six devices, their
    terminals tied straight to 0 or VDD as the held state puts them, draw from VDD what
    the cell and its bitlines do (the q-side pull-up, the qb-side pull-down and the
    q-side access device have VDD across them; the qb-side access device's junctions
    and gate edge sit at VDD with its gate at 0); the cell's own nodes sit within
    millivolts of those rails."""
    from imcspice.characterize import ngspice
    from imcspice.circuits.logic import mos
    from imcspice.circuits.technology import Sky130
    w = {"pd": 0.84, "ax": 0.42, "pu": 0.42}          # circuits/sram.py Bitcell
    q, qb, bl, blb, wl = "0", "h", "h", "h", "0"      # the held 0; "h" is VDD
    net = ["* the held cell's devices on ideal rails"] + Sky130().model_lines("tt") + [
        ".temp 27", f"Vh h 0 {VDD}",
        mos("pd1", "n", q, qb, "0", "0", w["pd"]), mos("pu1", "p", q, qb, "h", "h", w["pu"]),
        mos("pd2", "n", qb, q, "0", "0", w["pd"]), mos("pu2", "p", qb, q, "h", "h", w["pu"]),
        mos("ax1", "n", bl, wl, q, "0", w["ax"]), mos("ax2", "n", blb, wl, qb, "0", w["ax"]),
        ".end"]
    ng = ngspice.get()
    ng.load("\n".join(net) + "\n")
    p_rails = -VDD * float(ng.run(["op"])["vh#branch"][0])
    for n in ROWS:       # one cell: the same at every column height
        assert _at(column, "p_leak_cell_w", n) == pytest.approx(p_rails, rel=0.03, abs=0)
    # measured 42.7 pW (tt, 27 C, 1.8 V): SKY130's minimum devices leak tens of pA
    assert 1e-12 < p_rails < 1e-9


def _shipped_leak(rows: int, temp_c: float) -> float:
    """p_leak_cell_w of the shipped sram sweep (tt) at a grid point, read with h5py."""
    import h5py
    path = Path(__file__).resolve().parents[1] / "models" / "data" / "raw" / "sram.raw.h5"
    with h5py.File(path) as f:
        k = int(np.flatnonzero(np.asarray(f["axes/temp_c"]) == temp_c)[0])
        r = int(np.flatnonzero(np.asarray(f["axes/rows"]) == rows)[0])
        return float(np.asarray(f["data/p_leak_cell_w"])[0, k, r])


def test_buffers_are_priced_from_the_sram_model(shipped_figures):
    # every access: its B columns + the row decoder + B/4 full cycles of one bus bit
    # (random data: a bit rises on a quarter of the accesses), each from its model file;
    # standby: every bit of the macro leaks one cell's p_leak_cell_w (64 KB = 524288
    # bits, 32 KB = 262144)
    hw = hardware.HardwareModels.from_dir(None)
    model, per = hw.get("sram"), hw.get("sram-periphery")
    assert model is not None and per is not None
    for name, comp, bits, cells in (("race-it", "buffer", 256, 524288),
                                    ("hetrax", "buffer", 256, 524288),
                                    ("hetrax", "sm_sram", 64, 262144)):
        a = arch.load(name)
        figs = shipped_figures(name)[comp]
        rows, bus = a.component(comp)["bitline_rows"], a.component(comp)["bus_mm"]
        t = a.temp_c                     # priced at the description's temperature
        e_dec = float(per.evaluate("e_decode_j", rows=rows, bus_mm=bus, temp_c=t))
        e_bus = float(per.evaluate("e_bus_cycle_j", rows=rows, bus_mm=bus, temp_c=t))
        for fig, q in (("energy", "e_read_bit_j"), ("write_energy", "e_write_bit_j")):
            f = figs[fig]
            assert f.source == "spice"
            assert f"{bits} x {q}" in f.detail and "sram.model.h5" in f.detail
            assert "sram-periphery.model.h5:e_decode_j" in f.detail
            assert f"{bits / 4:g} x sram-periphery.model.h5:e_bus_cycle_j" in f.detail
            want = (bits * float(model.evaluate(q, rows=rows, temp_c=t)) + e_dec
                    + bits / 4 * e_bus)
            assert f.value == pytest.approx(want, rel=1e-9, abs=0)
            assert "replaces" in f.detail      # the literature figure stays visible
        leak = figs["static"]
        assert leak.source == "spice" and leak.per == "instance"
        assert f"{cells} x p_leak_cell_w" in leak.detail
        # the shipped sweep's own SPICE value at this grid point (rows, temperature)
        assert leak.value == pytest.approx(cells * _shipped_leak(rows, t), rel=1e-9, abs=0)


def test_reads_and_writes_are_charged_apart():
    a = arch.load("race-it")
    m = mapping.build(a, get_workload("minilm"), 16, 1)
    reads = sum(c.actions for c in m.charges if c.component == "buffer"
                and c.figure == "energy")
    writes = sum(c.actions for c in m.charges if c.component == "buffer"
                 and c.figure == "write_energy")
    bits = a.component("buffer")["access_bits"]
    want_r = sum(op.act_in_bytes for op in m.ops if m.engine_of[op.qualified_name]) * 8 / bits
    want_w = sum(op.act_out_bytes for op in m.ops if m.engine_of[op.qualified_name]) * 8 / bits
    assert reads == pytest.approx(want_r, rel=1e-6, abs=0) and writes == pytest.approx(want_w, rel=1e-6, abs=0)
