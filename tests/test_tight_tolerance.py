"""Every transient recipe against a tight-tolerance run of the same deck (issue 11, item 4).

One small representative point per recipe runs at the recipe's own numerics and again
with a reference ``.options`` line appended and every ``tran`` step divided
(tests/tight_tolerance.py). The expected value is the reference run; the tolerance is
stated per output: energies 0.5 % (the issue's bound), times 1 %, voltages and charges
relative to their full scale. The decks that missed with ngspice's default numerics
(dac e_rail 0.59 %, dac-multilevel e_conv 0.81 %, logic e_dff 0.97 % / e_add 0.55 %,
gaincell-mac e_read 1.1 %) now run at tighter tolerances and steps, and energies come
from each supply's integrated charge with the window's ends interpolated (the
recipes' docstrings give the measured agreement).

References (measured which ones run; tighter absolute tolerances stop some decks with
"timestep too small" on behavioral sources):

* ``ABS``: Gear, reltol 1e-5, abstol 1e-14 A, vntol 0.1 uV, chgtol 1e-16 C, steps / 4;
* ``REL``: Gear, reltol 1e-5, ngspice's absolute tolerances, steps / 4 (sar-adc: ABS
  stops at 35.5 ns on a behavioral flip-flop's branch; acam-search: ABS's operating point
  needs source stepping); logic and acam-search also at the recipe's own steps;
* ``GC``: Gear, reltol 1e-6, abstol 1e-15 A, vntol 10 nV, chgtol 1e-17 C, steps / 4 for the
  gain-cell decks, which already run at reltol 1e-5 (gaincell-mac runs the gain-cell
  "standard" numerics, Gear / reltol 1e-5 / abstol 1e-16 A: their "reference", abstol
  1e-16 A at reltol 1e-6, stops the 4x finer-step run with "no convergence", measured).

gaincell-write and gaincell-readout have their own reference (``numerics=reference``,
tests/test_gaincell_numerics.py); crossbar-array and the DC recipes run no transient.
CPU seconds of both runs are printed by ``-s`` (``SLOW``: the points kept out of CI).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from tight_tolerance import STEP_DIV, TIGHT_OPTIONS, TIGHTER_OPTIONS, rel_diff, run_point

ABS = (TIGHT_OPTIONS, STEP_DIV)
REL = (".options method=gear reltol=1e-5", STEP_DIV)
REL_SAME_STEPS = (".options method=gear reltol=1e-5", 1.0)
GC = (TIGHTER_OPTIONS, STEP_DIV)

#: name -> (recipe, small point, reference)
POINTS = {
    "crossbar-column": ("crossbar-column", {"rows": 16}, ABS),
    "dac": ("dac", {"n_cells": 64}, ABS),
    "dac-multilevel": ("dac-multilevel", {"n_cells": 64}, ABS),
    "sram-periphery": ("sram-periphery", {"rows": 16, "cols": 64, "bus_mm": 0.25}, ABS),
    "ota": ("ota", {}, ABS),
    "comparator": ("comparator", {}, ABS),
    "sar-adc": ("sar-adc", {"n_codes": 2}, REL),
    "logic": ("logic", {"n_bits": 2, "n_vectors": 4}, REL_SAME_STEPS),
    "logic-fine": ("logic", {"n_bits": 2, "n_vectors": 4}, REL),
    "acam-search": ("acam-search", {"n_cells": 4}, REL_SAME_STEPS),
    "acam-search-fine": ("acam-search", {"n_cells": 4}, REL),
    "gaincell-mac": ("gaincell-mac", {"rows": 4}, GC),
    "gaincell-superposition": ("gaincell-superposition", {"rows": 4}, GC),
    "gaincell-array": ("gaincell-array", {"cols": 2, "rows": 4}, GC),
    # gmin 1e-22 deck: the absolute tolerances of GC stop it ("timestep too small")
    "gaincell-retention": ("gaincell-retention", {}, (".options method=gear reltol=1e-6",
                                                      STEP_DIV)),
}
#: full-size references, too slow for CI (CPU seconds measured here, both runs)
SLOW = {"logic-fine": 21.0, "acam-search": 40.2, "acam-search-fine": 44.0,
        "gaincell-retention": 15.5, "sar-adc": 19.2}


@functools.lru_cache(maxsize=None)
def both(name):
    recipe, values, (options, div) = POINTS[name]
    std, t_std, _ = run_point(recipe, values, False)
    ref, t_ref, trans = run_point(recipe, values, True, options=options, div=div)
    assert trans, f"{recipe}: the reference ran no tran analysis"
    print(f"\n{name}: {t_std:.1f} s + {t_ref:.1f} s CPU")
    return std, ref


E, T = 0.005, 0.01   # energy / time tolerances (relative)
#: (point, output, tolerance, floor: "fs" = relative to the reference's full scale)
CHECKS = [
    ("crossbar-column", "e_read_j", E, None),
    ("crossbar-column", "t_settle_s", T, None),
    ("crossbar-column", "v_out_v", 1e-4, None),
    ("dac", "e_drive_j", E, None),
    ("dac", "e_vdd_j", E, None),
    ("dac", "t_settle_s", T, None),
    ("dac", "e_rail_j", E, None),
    ("dac-multilevel", "t_settle_s", T, None),
    ("dac-multilevel", "e_conv_j", E, None),
    ("dac-multilevel", "inl_max_lsb", 1e-3, 1.0),   # LSB
    ("sram-periphery", "e_decode_j", E, None),
    ("sram-periphery", "e_wl_j", E, None),
    ("sram-periphery", "e_bus_cycle_j", E, None),
    ("sram-periphery", "t_decode_s", T, None),
    ("sram-periphery", "t_bus_s", T, None),
    ("ota", "sr_rise_v_per_s", T, None),
    ("ota", "sr_fall_v_per_s", T, None),
    ("ota", "v_out_min_v", 1e-3, 1.8),
    ("ota", "v_out_max_v", 1e-3, 1.8),
    ("ota", "p_supply_w", E, None),
    ("comparator", "e_decision_j", E, None),
    ("comparator", "t_decision_s", T, None),
    ("sar-adc", "e_conversion_j", E, None),
    ("logic", "t_carry_s", T, None),
    ("logic", "t_clk_q_s", T, None),
    ("logic", "t_setup_s", T, None),
    ("logic", "e_add_j", E, None),
    ("logic-fine", "e_add_j", E, None),
    ("logic-fine", "e_dff_j", E, None),
    ("logic-fine", "t_carry_s", T, None),
    ("logic-fine", "t_clk_q_s", T, None),
    ("logic-fine", "t_setup_s", T, None),
    ("acam-search", "e_search_j", E, None),
    ("acam-search", "e_search_match_j", E, None),
    ("acam-search", "t_discharge_s", T, None),
    ("acam-search-fine", "e_search_j", E, None),
    ("acam-search-fine", "e_search_match_j", E, None),
    ("acam-search-fine", "t_discharge_s", T, None),
    ("gaincell-mac", "q_col_c", 0.01, "fs"),
    ("gaincell-mac", "v_int_v", 1e-4, 1.8),
    # relative to its largest read: the no-pulse entry (0.4 aJ of rail leakage, ~3e-4 of
    # a read; the model returns 0 there) moved 12 % between the runs with the OTA
    # integrator (measured), the read-issued entries 0.1 %
    ("gaincell-mac", "e_read_j", E, "fs"),
    ("gaincell-mac", "e_int_j", E, None),
    ("gaincell-superposition", "q_col_c", 5e-4, None),
    ("gaincell-superposition", "v_int_v", 1e-4, 1.8),
    ("gaincell-array", "q_col_c", 5e-4, None),
    ("gaincell-array", "v_int_v", 1e-4, 1.8),
    # trajectories relative to the 0.9 V storage range (measured 0.19 %)
    ("gaincell-retention", "v_sn_v", 0.005, 0.9),
    ("gaincell-retention", "v_start_v", 0.005, 0.9),
]


#: (point, output) -> why the check is a strict expected failure. None now: with the OTA
#: integrator's input gates behind their poly resistance (circuits/ota.py integrator) the
#: superposition's q_col_c is 4.8e-4 off (was 6.0e-4) and the array's reference converges
#: (q_col_c 2.9e-4, v_int_v 1e-7 of 1.8 V), measured
XFAIL: dict[tuple[str, str], str] = {}


def _marks(point, output=None):
    marks = [pytest.mark.slow] if point in SLOW else []
    if (point, output) in XFAIL:
        marks.append(pytest.mark.xfail(strict=True, reason=XFAIL[point, output]))
    return marks


@pytest.mark.parametrize("point,output,tol,floor", [
    pytest.param(*c, marks=_marks(c[0], c[1]), id=f"{c[0]}-{c[1]}") for c in CHECKS])
def test_standard_deck_agrees_with_the_tight_reference(point, output, tol, floor):
    std, ref = both(point)
    if floor == "fs":
        floor = float(np.nanmax(np.abs(ref[output])))
    d = rel_diff(std[output], ref[output], floor or 0.0)
    assert d <= tol, (point, output, d, np.ravel(std[output])[:4], np.ravel(ref[output])[:4])


@pytest.mark.slow
def test_same_sar_codes():
    s, r = both("sar-adc")
    np.testing.assert_array_equal(s["code"], r["code"])


def test_same_discrete_results():
    """Decisions agree exactly: adder results, comparator offset within the trip-point
    search's resolution (its bisection stops at 2^-n of +-30 mV)."""
    s, r = both("logic")
    assert s["n_wrong"] == r["n_wrong"] == 0
    s, r = both("comparator")
    assert abs(float(s["v_offset_v"]) - float(r["v_offset_v"])) < 2e-5


def test_superposition_error_is_above_the_integration_noise():
    """err_c (q_col - sum of singles) is a small difference of large charges: the
    standard deck's run-to-run integration noise must stay well below the column charge
    (the recipe states ~1e-18 C; measured here 2e-18 C at 4 rows: 1e-4 of q_col)."""
    s, r = both("gaincell-superposition")
    assert abs(float(s["err_c"]) - float(r["err_c"])) < 1e-4 * abs(float(r["q_col_c"]))
