"""The shipped default behavioral models: small default sweeps of every family, fitted.

    imcspice models build-defaults --out models/data            # all families
    imcspice models build-defaults --out models/data --only nfet --only acam-window
    python -m imcspice.characterize.defaults --out models/data  # the same

Each entry runs one real ngspice sweep (tt, plus ff/ss and several temperatures where
the device physics matter), writes ``OUT/raw/NAME.raw.h5`` (shipped in ``models/data/raw``:
the notebooks explore them, ``imcspice validate --against`` checks models on them) and fits
it into ``OUT/NAME.model.h5``; a summary (held-out errors, points, seconds) goes to
``OUT/defaults.json``. Entries whose recipe is not installed are skipped. Rough cost on
2 cores: ~20 minutes in all, cold point cache (the crossbar transients over five read
voltages and the ACAM grids dominate).

``SMALL`` holds much smaller sweeps of the same families for the benchmark
(``benchmarks/model_vs_spice.py``) and quick checks.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import jsonio
from .engine import LocalPool
from .fit import FitError, fit_file
from .recipes import all_recipes
from .runner import run_sweep
from .sweep import SweepSpec
from ..errors import UnknownNameError


@dataclass(frozen=True)
class DefaultSweep:
    """One default sweep: ``recipe`` over the swept ``axes`` (name -> values), at
    ``corners`` and temperatures ``temps_c`` (C), with ``mc`` Monte-Carlo samples (0:
    nominal), fitted into model ``kind`` (None: the recipe's default kind)."""

    recipe: str
    axes: dict
    corners: list
    temps_c: list
    mc: int = 0
    kind: str | None = None


def _geom(a, b, n, integer=False):
    v = np.geomspace(a, b, n)
    return [float(round(x)) if integer else float(x) for x in v]


def _dv(n):
    # input distance outside the window edge: one matching point (dv < 0) and a
    # geometric ladder from just outside the edge (where discharge slows sharply) to 0.4 V;
    # from 2.5 mV as FULL's: RACE-IT prices its searches at 3.05 mV (one 8-bit LSB of the
    # window), which a ladder from 5 mV left to a clip at its edge (the demo's report said
    # "dv_v=0.00305 clipped to the characterized [0.005, 0.4]")
    return [-0.05] + _geom(0.0025, 0.4, n)


_MOS_W = [0.42, 0.48, 0.54, 0.55, 0.65, 0.75, 0.85, 0.92, 0.99, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0]
_MOS_T = [-40, -5, 27, 60, 95, 125]
# The periphery HeTraX's ReRAM tiers price at their solved temperature (DAC, SAR ADC,
# adder/flip-flop logic, buffer SRAM and its decoder and bus; the SM tiers' SRAM too):
# 27, 60 and 95 C, the tier temperatures HeTraX is evaluated over (hetrax.toml
# accuracy_temp_points, 27-95 C, as the crossbar-column and memristor sweeps). At 27 C
# alone every hot-tier figure was the 27 C value with a "temp_c clipped" note. The tables
# interpolate log(value) linearly in T between the lines, which need the middle one: with
# 27 and 95 only, SPICE at 60 C (tt) read the adders' leakage power 18 % off. Three
# lines leave no held-out line along T (< 4 values): a separate sweep at 45 C, near
# HeTraX's operating point, checks the interpolation (characterize/temperature_check.py,
# docs/devices.md).
PERIPHERY_TEMPS_C = [27, 60, 95]

# The wake-up models (tia-wake, integrator-wake): the periphery's lines and 45 C, where
# HeTraX's tiers run (45-46 C). The wake time is the last crossing of a 1 % band, which
# moves with the ringing and wiggles in T (integrator at 20 uA: 13.04 / 12.26 / 12.78 ns at
# 27 / 60 / 95 C): on 27 / 60 / 95 alone the tables read SPICE at 45 C up to 3.1 % (TIA)
# and 2.6 % (integrator) off in wake energy; a fourth line also lets one be held out.
WAKE_TEMPS_C = sorted(PERIPHERY_TEMPS_C + [45])

#: the crossbar columns' readout (2026-12-05; docs/devices.md "The readout redesigned"),
#: pinned alike in the crossbar-column, tia-wake and tia-noise sweeps (the accuracy path
#: refuses another's noise): each column's feedback trimmed to a 0.2 V swing (0.22-0.25 V
#: lost the virtual ground at the sweep's corners), at most 800 ohm, and a 1 pF hold on
#: each output (400 ohm / 500 fF until the readout's area was priced: RACE-IT QUICK 0.960
#: -> 0.977, every point of the three sweeps keeps its virtual ground)
READOUT = {"r_f_ohm": [800.0], "tia_swing_v": [0.2], "c_hold_ff": [1000.0]}
#: the readout's pins a bench without the hold takes (tia-wake: the TIA alone)
READOUT_TIA = {k: v for k, v in READOUT.items() if k != "c_hold_ff"}
#: the crossbar column's load grid (crossbar-column, tia-noise): 1/32 steps to 0.5625. At
#: 1/16 steps the 800 ohm trim's bend (load ~0.09 at 128 rows, 0.2 V) lay between lines:
#: the light-load read energy missed SPICE by 16-23 % on the held-out 1/16 line
XB_FRAC_ON = [round(k / 32, 5) for k in range(19)]

#: name -> the sweep of a shipped default model
FULL = {
    # Id is linear in W only within a SKY130 size bin (edges 0.55, 1, 3 um at L = 0.15):
    # a width on each side of every edge (0.54|0.55, 0.99|1.0) so no table cell spans a
    # kink (pfet ff also jumps ~4 % in Id/W at 1 um: a held-out 0.99 or 1.0 line costs up
    # to ~1.2 % FS, seed-dependent); W stops at 3 um because the ff 3-5 um bin has a bump in W and T that would
    # need ~20 more widths (wider devices: parallel fingers, Id = nf * Id(W))
    "nfet": DefaultSweep("nfet-iv", {"w_um": _MOS_W}, ["tt", "ff", "ss"], _MOS_T),
    "pfet": DefaultSweep("pfet-iv", {"w_um": _MOS_W}, ["tt", "ff", "ss"], _MOS_T),
    # states x temperatures: the filament + gap law (netlists/memristor.spice) changes shape
    # with G and conductance with T; 0-110 C brackets the HeTraX ReRAM tiers (27-95 C),
    # the form's hold-out takes whole G, V and T lines (edges extrapolated)
    "memristor": DefaultSweep("memristor-iv", {"g_us": _geom(1, 150, 12)}, ["tt"],
                              [0, 27, 40, 55, 70, 85, 95, 110]),
    # ACAM sizes, from seconds per point measured on ngspice 46 (KLU) on the shared 2-core
    # machine under load 14-22 (other sweeps running): acam-window / acam-mc 1.1-6 s of
    # wall time per point, acam-search 2-7 s per point (4-16 cells) once a row's DC window
    # search is done (10-25 s, shared by the points that differ only in dv_v), ~7 s per
    # point on average in a tt pilot. Thinned to fit ~35 min in all (see each entry).
    # Window and mismatch: g_high_from=g_low programs M2 like M1, so one 1-D conductance
    # sweep measures both bounds (each depends only on its own memristor): 24 values
    # instead of a 24 x 24 grid (16 values: v_hi_v held out at 5.0 % FS over the five
    # corners and 85 C with the filament + gap memristor law, 58 mV near the top where the
    # upper bound steepens toward the supply; a tt pilot: 0.11 % with 24, 4.8 % with 12).
    # g stops at 120 uS: above ~130 uS the upper
    # threshold of the ff/85 C cell passes the 1.8 V supply (no upper bound exists), which
    # no threshold curve can hold; so the lower bound's range is 1-120 uS too (was 1-150).
    "acam-window": DefaultSweep("acam-window", {"g_low_us": _geom(1, 120, 24),
                                                "g_high_from": ["g_low"]},
                                ["tt", "ff", "ss", "sf", "fs"], [27, 85]),
    # thinned from 16 x 16 conductances x 20 samples (tt only) to 16 x 8 at tt, sf, fs
    # (sigma's own sampling error 27 %; 12 conductances held mean_v_hi out at 1.8 % FS)
    "acam-mismatch": DefaultSweep("acam-mc", {"g_low_us": _geom(1, 120, 16),
                                              "g_high_from": ["g_low"]},
                                  ["tt", "sf", "fs"], [27], mc=8),
    # thinned from n_cells 4-32 x 21 dv at 27 C: n_cells at half-octave steps to 12 (a
    # 32-cell point costs ~14 s here), dv_v at ratio 1.26 from 5 mV to 0.2 V (was to
    # 0.4 V; discharge time flattens above ~0.1 V; at ratio 1.7 the energies held out at
    # 4-5 % FS) and no matching point (the matched-row
    # energy e_search_match_j is measured at every point), 27 and 85 C (linear in T).
    # dv_v from 2.5 mV (was 5 mV): RACE-IT prices its searches at one 8-bit LSB of the
    # window, 3.05 mV (accelerators/data/arch/race-it.toml), which the 5 mV grid left to
    # extrapolation; same ratio 1.26, 20 values
    "acam-search": DefaultSweep(
        "acam-search", {"n_cells": [4, 6, 8, 12], "dv_v": _geom(0.0025, 0.2, 20)},
        ["tt", "ff", "ss"], [27, 85]),
    # g_on 100 uS = Ron 10 kOhm (REFERENCE.md: Ron ~6-100 kOhm); the ON fraction sets the
    # column's conductance load, from 0 (every cell at g_off) up: the transformers' real
    # column loads are a median 0.020 of the span, at most 0.154 (issue 12), so the grid
    # is dense there (0, 1/16, 1/8, 3/16, 1/4: up to the OTA's design load, below; 1/16
    # then 1/8 steps above it, see below; the architectures price the read at every
    # mapped bit line's own load: accelerators/xbar_loads.py);
    # read voltage
    # 0.1, 0.2 (the tiles')
    # and 0.55 V (REFERENCE.md 0.2-0.55 V); temperatures 27 and 95 C, the span of the
    # HeTraX ReRAM tiers (the filament + gap memristor law is temperature-dependent).
    # Sized from the time per point measured with ngspice 46 + KLU, the hoisted access
    # card and the filament+gap law, 1T1R with junction areas, on the shared 2-core
    # machine at load 18-20: ~0.043 s per row (16 rows 0.77 s, 64 rows 2.8 s; 256 rows
    # ~11 s); with 256 rows the 540-point sweep ran at ~4 s per point of wall time (2
    # workers, load 20): ~36 min, over the 35 min budget, and 256 rows alone are half the
    # cost, so rows stop at 128 (the RACE-IT/HeTraX tiles' rows; larger tiles extrapolate
    # along the ladder form, with the model's out-of-range warning): 432 points, ~20 min.
    # Thinned from the ngspice-39 sweep (9 rows x 7 r_bl x 3 loads x 5 V x 3 T): rows at
    # octaves (the ladder form is in u = r_bl*g*rows^2: rows alone spans the wire load),
    # r_bl 1 / 2.5 (the tiles') / 10 ohm, V without 0.3/0.4 and T without 60 C
    # (parameters interpolated linearly between lines; neither axis is held out with < 4
    # values).
    # TIA: the recipe's default SKY130 OTA (issue 11), its output stage sized per column
    # for the design load; r_f 25 ohm keeps the heaviest column's output
    # (128 rows x 1/4 ON x 100 uS at 0.55 V and 95 C: ~2.7 mA before the wire drop) far
    # above the OTA's ~0.15 V low limit from v_cm = 0.45 V: r_f <= 0.3 V / 2.7 mA.
    # Read voltages 0.2 and 0.55 V and r_bl 1 and 2.5 ohm only (0.1 V and 10 ohm dropped
    # for time with the OTA TIA, issue 11): the OTA settles in 40-64 ns at 128 rows, past
    # the 20 ns pulse, so the transient is extended; the 432-point sweep ran at 7.8 s per
    # point of wall time (2 workers, load 15): ~56 min, over a shared regeneration's budget.
    # Output stage sized for the design load i_design_frac = 0.25 of the span (the
    # recipe default: 1.6 x the largest mapped load, 0.154, issue 12). The accelerators
    # now map heavier columns (evaluate --quick, every bit line's load: RACE-IT up to
    # 0.274, HeTraX 0.32 at its 46 C tier and 0.51 in its 95 C point), so frac_on runs
    # to 0.625 (1.2 x 0.51): the OTA holds the virtual ground there (128 rows, 0.55 V,
    # 95 C: 2.5x the design current, every point ok), and the accelerators read the
    # model inside its fitted range. 432 points at 8.4 s of CPU each (~30 min cold on
    # 2 workers; the 336 to 0.375 ran in 1724 s at load ~10); the 880 of the axes below
    # (rows every 16 plus 24 and 40, frac_on in 1/16 steps) at 2.25 s each: 1015 s cold on
    # 2 workers at load ~6-8. read_window "settled": the energies cover 0..t_settle_s,
    # the read time the architectures price. WAKE_TEMPS_C: on 27/95 C alone the settling
    # missed SPICE +7.5 % at HeTraX's 45 C (800 ohm readout; +4.4 % at 400 ohm).
    "crossbar-column": DefaultSweep(
                        "crossbar-column", {
                                            # every multiple of 16 up to the architectures'
                                            # 128-row tile (the rows where each swept
                                            # frac_on is whole cells: the spread pattern
                                            # sets round(frac_on*rows) cells), which stays
                                            # a training edge (fitters/crossbar.py
                                            # FORM_AXIS_HOLDOUT), plus 24 and 40 around
                                            # where the OTA output stage leaves its one-copy
                                            # floor: n2 = 1 at 30.3 rows at 0.2 V (the
                                            # recipe's full_scale_expr over 4 x 40 uA; 9.3
                                            # rows at 0.55 V, below the sweep), where the
                                            # settling time steps (95 C, 0.2 V, frac_on
                                            # 0.625: 27.2 ns at 16 rows, 40.9 at 32, 40.3
                                            # at 48). With 16..128 at half octaves the kink
                                            # form read it from the 16-row floor line
                                            # extrapolated 1.9x in load per copy: 3.12 % FS
                                            # held out (seed 0, 32 and 96 rows held out);
                                            # 1.04 (40, 64, 112 held out) with frac_on in
                                            # 1/8 steps above 3/8; 0.52 on the uniform
                                            # 1/16 grid below. Loads that are not whole
                                            # cells are left out of the fit
                                            # (fitting/whole_cells.py; at their labels
                                            # they missed the ladder forms by 1.6 % FS)
                                            "rows": [16, 24, 32, 40, 48, 64, 80, 96, 112,
                                                     128],
                                            "r_bl_ohm": [1.0, 2.5],
                                            # XB_FRAC_ON (not whole cells at small rows:
                                            # left out there); the forms interpolate
                                            # their per-line parameters across frac_on, so
                                            # the grid is uniform where it is read (the
                                            # accuracy path reads loads to 0.52); at 0.625
                                            # the trimmed readout lost its virtual ground
                                            # (16-48 rows, 1 ohm, 95 C)
                                            "frac_on": XB_FRAC_ON,
                                            "g_on_us": [100.0],
                                            "v_read_v": [0.2, 0.55],
                                            "read_window": ["settled"],
                                            # 40 uA tail: the output stage follows the
                                            # design load, so at 128 rows the supply is
                                            # ~unchanged (1.30 mW at 0.2 V) while the 1 %
                                            # settling halves (load 0.154: 24.1 -> 14.1 ns
                                            # at 27 C; 0.25 load, 95 C: 38 -> 23 ns; 60 uA:
                                            # 21 ns), measured (ota2)
                                            "ota_ibias_a": [40e-6],
                                            # the TIA's nulling resistor Rz 2.5 kOhm (recipe
                                            # default 2 kOhm; Cc 250 fF): it removes the
                                            # frac_on-0 overshoot (held out 4.77 -> 0.43 %
                                            # FS on those lines) and with the floor-kink
                                            # form t_settle_s held out 3.12 % FS against
                                            # 4.01 at 2 kOhm (432-point sweeps, the 25 ohm
                                            # TIA; crossbar_params.py)
                                            "ota_rz_ohm": [2500.0],
                                            # ON cells evenly spread: a uniform load, so the
                                            # drop is smooth in rows (random placement: +-3 %)
                                            "pattern": ["spread"], **READOUT},
                        ["tt"], WAKE_TEMPS_C, 0, None),
    # 12.5 mV steps: the column's charge rate follows the cell current, exponential /
    # quadratic in the stored voltage, so the model interpolates between close lines
    "gaincell-mac": DefaultSweep(
        "gaincell-mac", {"vs_col_v": [round(0.0125 * k, 4) for k in range(73)]}, ["tt"], [27]),
    # one model per write device (a choice parameter); Si leakage below -40..0 C is under
    # the SKY130 model's numerical floor, so the temperatures start at 27 C
    # 7 temperatures: a held-out temperature line is predicted by the Arrhenius law of
    # its neighbours (with 3 the temperature axis could not be checked at all)
    "gaincell-retention-si": DefaultSweep("gaincell-retention", {"write_device": ["si"]},
                                          ["tt", "ff", "ss"], [27, 37, 46, 55, 65, 75, 85]),
    "gaincell-retention-osfet": DefaultSweep("gaincell-retention", {"write_device": ["osfet"]},
                                             ["tt", "ff", "ss"], [27, 37, 46, 55, 65, 75, 85]),
    # temperatures (issue 11, coverage) over the retention sweep's 27-85 C span: the
    # write transistor's threshold falls ~74 mV from 27 to 85 C (SKY130 kt1 of the
    # 0.42/0.15 um bin) and its mobility ~30 %, which move the gate charge the word line
    # supplies and the settling of a high level
    "gaincell-write": DefaultSweep("gaincell-write", {}, ["tt"], [27, 60, 85]),
    "gaincell-readout": DefaultSweep("gaincell-readout", {}, ["tt"], [27]),
    # row length over the tiles' range (RACE-IT/HeTraX: 128 columns x G+/G- = 256 cells;
    # 128 for single-ended tiles), at half-octave steps, x the crossbar read voltages
    # (REFERENCE.md 0.2-0.55 V, and 0.1 V); the driver is re-sized for every length
    # (tt/ff/ss: the chain and switch are logic, their energy and delay move with the
    # corner)
    "dac": DefaultSweep("dac", {"n_cells": [32, 45, 64, 90, 128, 181, 256, 362, 512],
                                "v_wl_v": [0.1, 0.2, 0.3, 0.4, 0.55]}, ["tt", "ff", "ss"],
                        PERIPHERY_TEMPS_C),
    # the 4-bit string (its default) over the same rows x full-scale voltages
    "dac-multilevel": DefaultSweep("dac-multilevel",
                                   {"n_cells": [32, 45, 64, 90, 128, 181, 256, 362, 512],
                                    "v_ref_v": [0.1, 0.2, 0.3, 0.4, 0.55]}, ["tt"], [27]),
    # supply over SKY130's 1.8 V +-10 %; a 4-bit ripple (the energy per bit does not
    # depend on the length: tests/test_logic.py checks 2 vs 4 bits)
    "logic": DefaultSweep("logic", {"vdd_v": [1.62, 1.71, 1.8, 1.89, 1.98]}, ["tt"],
                          PERIPHERY_TEMPS_C),
    # StrongARM comparator: input common mode over the nfet pair's working range (the
    # overdrive ladder 0.1-100 mV is the recipe's inner axis); 10 MC samples per point for
    # the offset sigma (sampling error ~24 %); ~1 s of CPU per point, 150 points
    "comparator": DefaultSweep("comparator", {"v_cm_v": [0.8, 0.9, 1.0, 1.1, 1.2]},
                               ["tt", "ff", "ss"], [27], mc=10),
    # 8-bit SAR ADC: unit capacitor over an octave each side of the 2 fF default at
    # half-octave steps (5 values, so a held-out line exists: with 3 none is held out);
    # 6 conversions per point (codes 2..253), ~1.5 s of CPU each; 15 points
    "sar-adc": DefaultSweep("sar-adc", {"c_unit_ff": [1.0, 1.41, 2.0, 2.83, 4.0],
                                        "n_codes": [6]}, ["tt", "ff", "ss"],
                            PERIPHERY_TEMPS_C),
    # two-stage Miller OTA: bias current 5..40 uA around the 20 uA design point in 8 log
    # steps (x1.35; GBW ~ gm1 ~ I in weak inversion, so log steps). With 4 octave steps a
    # held-out bias line was interpolated across a x4 gap: gain, noise floor (which turns
    # over where flicker meets the GBW roll-off) and swing missed by 13-18 % FS. Load from
    # a comparator input (50 fF) to 1 pF (where the second pole meets the GBW). tt only:
    # the 4-point sweep (tt/ff/ss, 36 points) measured ff and ss within 2.8 % of tt for
    # every quantity but gds2 (7.6 %; within 1.4 % for GBW, slew, power, noise), less than
    # the 13-18 % the sparse bias grid cost; 3 corners x 8 would take ~40 min of SPICE
    "ota": DefaultSweep("ota", {"ibias_a": [float(f"{5e-6 * 2 ** (k * 3 / 7):.4g}")
                                            for k in range(8)],
                                "cl_f": [50e-15, 200e-15, 1e-12]}, ["tt"], [27]),
    # the crossbar TIA's wake-up when gated between reads (recipe tia-wake): the
    # crossbar-column sweep's TIA (40 uA tail, READOUT's feedback, Rz 2.5 kOhm, g_on 100 uS) over
    # its rows (16..128 with 24 and 40 around the output stage's one-copy floor) and read
    # voltages, over WAKE_TEMPS_C (HeTraX prices its tiers at 27-95 C); 80 points, ~2 s
    # each (87 s on 2 cores, cold cache)
    "tia-wake": DefaultSweep("tia-wake", {"rows": [16, 24, 32, 40, 48, 64, 80, 96, 112, 128],
                                          "v_read_v": [0.2, 0.3], "g_on_us": [100.0],
                                          "ota_ibias_a": [4e-5], "ota_rz_ohm": [2500.0],
                                          **READOUT_TIA}, ["tt"], WAKE_TEMPS_C),
    # the crossbar TIA's own noise at its column's load (recipe tia-noise): the
    # crossbar-column sweep's TIA and hold (40 uA tail, READOUT, Rz 2.5 kOhm, 100 uS) over
    # its rows, ON fractions (the conductance loading the bit line: crossbar-column's
    # XB_FRAC_ON), read voltages and WAKE_TEMPS_C; one op and noise analysis per point
    "tia-noise": DefaultSweep("tia-noise", {"rows": [16, 24, 32, 40, 48, 64, 80, 96, 112,
                                                     128],
                                            "frac_on": XB_FRAC_ON,
                                            # 0.3 V as tia-wake (0.4-0.55 V lost the
                                            # virtual ground at load 0.5625, 95 C)
                                            "v_read_v": [0.2, 0.3], "g_on_us": [100.0],
                                            "ota_ibias_a": [4e-5], "ota_rz_ohm": [2500.0],
                                            **READOUT}, ["tt"], WAKE_TEMPS_C),
    # the gain-cell column integrator's wake-up when gated between conversions (recipe
    # integrator-wake): gaincell-readout's OTA (one output-stage copy) over its tail
    # current in half-octave steps around the 20 uA design point (5 lines, one held out)
    "integrator-wake": DefaultSweep("integrator-wake",
                                    {"ota_ibias_a": [10e-6, 14.1e-6, 20e-6, 28.3e-6, 40e-6]},
                                    ["tt"], WAKE_TEMPS_C),
    # 6T SRAM column (the accelerators' buffers use 256-row subarrays): rows per bitline
    # 128..256 in 5 log steps (x1.19). Below ~100 rows (tt) the shortest word-line pulse
    # overshoots the sense swing and the read energy has a kink where self-timing takes
    # over: a 16..256 sweep (13 log steps) missed held-out lines by 10 % FS (2 fJ of
    # 125 fJ), so the model covers the self-timed range only. tt only: 3 transients of
    # 5-30 s per point
    "sram": DefaultSweep("sram", {"rows": _geom(128, 256, 5, integer=True)}, ["tt"],
                         PERIPHERY_TEMPS_C),
    # SRAM row decoder + data-bus bit at the buffers' 256-row subarrays, bus length in
    # octaves around the macro sides (1.6-2.3 mm: sqrt of the OpenRAM-macro areas); tt only, ~18 s of CPU per point (109 row
    # NANDs built). Rows stay at 256: the decoder's energy is a staircase in the address
    # width (16..256 rows measured 0.41, 0.49, 0.58, 1.03, 1.49 pJ: a third predecoder
    # group from 128 rows on), which a table over rows cannot interpolate (a 16..256
    # sweep missed a held-out rows line by 21 % FS); another row count needs its own point
    "sram-periphery": DefaultSweep("sram-periphery",
                                   {"rows": [256],
                                    "bus_mm": [0.25, 0.5, 1.0, 2.0, 4.0]}, ["tt"],
                                   PERIPHERY_TEMPS_C),
}

#: benchmark-size sweeps (a minute or two in all)
SMALL = {
    "nfet": DefaultSweep("nfet-iv", {"w_um": [1.0]}, ["tt"], [27]),
    "pfet": DefaultSweep("pfet-iv", {"w_um": [1.0]}, ["tt"], [27]),
    "memristor": DefaultSweep("memristor-iv", {"g_us": [1.0, 20.0, 50.0, 100.0, 150.0]},
                              ["tt"], [27, 60, 95]),
    "acam-window": DefaultSweep("acam-window",
                                {"g_low_us": _geom(1, 150, 24), "g_high_us": [20.0]},
                                ["tt"], [27]),
    "acam-mismatch": DefaultSweep("acam-mc",
                                  {"g_low_us": _geom(1, 120, 16), "g_high_us": [20.0]},
                                  ["tt"], [27], mc=10),
    "acam-search": DefaultSweep("acam-search", {"n_cells": [4, 6, 8, 12], "dv_v": _dv(20)},
                                ["tt"], [27]),
    # FULL's axes, coarser (the settling form needs the column load to span the TIA's
    # noise-gain range, as in FULL; a rows-only sweep leaves it to extrapolate)
    "crossbar-column": DefaultSweep(
                        "crossbar-column", {"rows": [16, 32, 64, 128, 256],
                                            "r_bl_ohm": [1.0, 2.5, 5.0, 10.0],
                                            "frac_on": [0.0, 0.0625, 0.125, 0.1875, 0.25],
                                            "g_on_us": [100.0],
                                            "pattern": ["spread"]}, ["tt"], [27], 0, None),
    "gaincell-mac": DefaultSweep("gaincell-mac", {"rows": [4]}, ["tt"], [27]),
    "gaincell-retention": DefaultSweep("gaincell-retention", {"write_device": ["si"]}, ["tt"],
                                       [27, 85]),
    "gaincell-write": DefaultSweep("gaincell-write", {}, ["tt"], [27]),
    "gaincell-readout": DefaultSweep("gaincell-readout", {}, ["tt"], [27]),
    "dac": DefaultSweep("dac", {"n_cells": [64, 128, 256, 512]}, ["tt"], [27]),
    "dac-multilevel": DefaultSweep("dac-multilevel", {"n_cells": [64, 128, 256, 512]},
                                   ["tt"], [27]),
    "logic": DefaultSweep("logic", {"n_bits": [2]}, ["tt"], [27]),
    "comparator": DefaultSweep("comparator", {"v_cm_v": [0.8, 1.0, 1.2]}, ["tt"], [27], mc=4),
    "sar-adc": DefaultSweep("sar-adc", {"c_unit_ff": [1.0, 2.0, 4.0], "n_codes": [2]}, ["tt"],
                            [27]),
    "ota": DefaultSweep("ota", {"ibias_a": [10e-6, 20e-6]}, ["tt"], [27]),
    "sram": DefaultSweep("sram", {"rows": [16, 32, 64]}, ["tt"], [27]),
    "tia-wake": DefaultSweep("tia-wake", {"rows": [32, 64, 128]}, ["tt"], [27]),
    "integrator-wake": DefaultSweep("integrator-wake", {"ota_ibias_a": [20e-6]}, ["tt"], [27]),
    "tia-noise": DefaultSweep("tia-noise", {"rows": [32, 64, 128], "frac_on": [0.0, 0.25, 0.5]},
                              ["tt"], [27]),
    "sram-periphery": DefaultSweep("sram-periphery", {"rows": [16],
                                                      "bus_mm": [0.25, 0.5, 1.0, 2.0]},
                                   ["tt"], [27]),
}


def available(table: dict) -> dict:
    """The entries of ``table`` whose recipe exists (all :class:`DefaultSweep`)."""
    bad = [k for k, v in table.items() if not isinstance(v, DefaultSweep)]
    if bad:
        raise TypeError(f"default-sweep table entries must be DefaultSweep, not: {bad}")
    have = {r.name for r in all_recipes()}
    return {k: v for k, v in table.items() if v.recipe in have}


def spec_of(e: DefaultSweep) -> SweepSpec:
    return SweepSpec(e.recipe, dict(e.axes), corners=list(e.corners), temps_c=list(e.temps_c),
                     mc=e.mc)


def build(table: dict, out_dir, *, workers: int = 0, only=None, progress: bool = True,
          use_cache: bool = True, pool=None, models: bool = True) -> dict:
    """Run and fit the entries of ``table`` into ``out_dir``. Returns a summary dict."""
    out = Path(out_dir)
    entries = available(table)
    if only:   # refused before anything is created
        unknown = set(only) - set(table)
        if unknown:
            raise UnknownNameError(f"unknown default model(s) {sorted(unknown)}; known: "
                                   f"{', '.join(table)}")
        entries = {k: v for k, v in entries.items() if k in only}
    (out / "raw").mkdir(parents=True, exist_ok=True)
    summary = {"out": str(out), "models": {},
               "skipped": sorted(set(table) - set(available(table)))}
    own = pool is None
    if own:
        pool = LocalPool(workers, timeout_s=600).__enter__()
    try:
        for name, entry in entries.items():
            spec = spec_of(entry)
            raw_path = out / "raw" / f"{name}.raw.h5"
            t0 = time.monotonic()
            rec = {"recipe": entry.recipe, "points": spec.n_points}
            try:
                raw = run_sweep(spec, raw_path, pool=pool, progress=progress,
                                use_cache=use_cache)
                rec["status"] = raw.status_counts()
                ok = raw.status == 1
                rec["spice_s_per_point"] = float(np.mean(raw.seconds[ok])) if ok.any() \
                    else float("nan")
                rec["raw"] = str(raw_path)
                if models:
                    model = fit_file(raw_path, out / f"{name}.model.h5", entry.kind)
                    rec.update(ok=True, kind=model.kind, model=str(out / f"{name}.model.h5"),
                               heldout_max_pct_fs=model.heldout_error.get("max_pct_fs"),
                               heldout={k: {"max_abs": e["max_abs"],
                                            "max_pct_fs": e["max_pct_fs"],
                                            "rms_pct_fs": e["rms_pct_fs"], "unit": e["unit"]}
                                        for k, e in model.heldout_error["outputs"].items()})
                else:
                    rec["ok"] = True
            except (FitError, ValueError, KeyError, RuntimeError) as e:
                rec.update(ok=False, error=f"{type(e).__name__}: {e}")
            rec["seconds"] = round(time.monotonic() - t0, 1)
            summary["models"][name] = rec
            print(jsonio.dumps({name: {k: v for k, v in rec.items() if k != "heldout"}},
                               default=str), file=sys.stderr)
    finally:
        if own:
            pool.__exit__(None, None, None)
    _write_summary(out / "defaults.json", summary, table, rebuilt=set(entries))
    return summary


def _write_summary(path: Path, summary: dict, table: dict, rebuilt: set[str]) -> None:
    """Write ``summary`` atomically, keeping the previous file's entries of the table's
    models that were not rebuilt this time (``--only``), so the file always describes
    every model in the directory."""
    try:
        old = json.loads(path.read_text()).get("models", {})
    except (OSError, ValueError, AttributeError):
        old = {}
    kept = {k: v for k, v in old.items() if k in table and k not in rebuilt}
    summary["models"] = {k: summary["models"].get(k, kept.get(k)) for k in table
                         if k in summary["models"] or k in kept}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(jsonio.dumps(summary, indent=1, default=str) + "\n")
    os.replace(tmp, path)


def build_defaults(out_dir="models/data", *, workers: int = 0, only=None,
                   progress: bool = True) -> dict:
    """The shipped default models (``imcspice models build-defaults``)."""
    return build(FULL, out_dir, workers=workers, only=only, progress=progress)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m imcspice.characterize.defaults",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="models/data")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--only", action="append", default=None)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    res = build_defaults(a.out, workers=a.workers, only=a.only, progress=not a.quiet)
    print(jsonio.dumps(res, default=str))
    return 0 if all(v.get("ok") for v in res["models"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
