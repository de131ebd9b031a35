"""The column readout's sample-and-hold as it opens (recipe hold-injection, ngspice
transient): its pedestal against the charge-injection law by hand and its scaling with
the switch and the capacitor, its tight-tolerance run, and what survives the
converter's calibration (docs/devices.md, "The hold's pedestal")."""
import numpy as np
import pytest

from imcspice.characterize.defaults import READOUT
from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec

#: the shipped readout at the machines' point: crossbar-column's TIA, 128 rows, a
#: column an eighth ON (the machines' median mapped load is ~0.12), 0.2 V reads
POINT = {"ota_ibias_a": [40e-6], "ota_rz_ohm": [2500.0], "rows": [128], "g_on_us": [100.0],
         "frac_on": [0.125], **READOUT}
VDD, C_HOLD_F, W_M, L_M = 1.8, 1e-12, 1e-6, 0.15e-6
#: SKY130 tt model cards (sky130_fd_pr, parameters of nfet_01v8 / pfet_01v8): oxide
#: thickness toxe (m) and gate-drain/source overlap cgdo = cgso (F/m), as
#: tests/test_sram_periphery.py reads them
COX_N = 3.9 * 8.854e-12 / 4.148e-9
CGDO_N, CGDO_P = 2.449e-10, 5.249e-11


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """The read's level 0 and 1 (no input driven / every input at v_read), the shipped
    switch (1 um) and hold (1 pF), the switch twice as wide, the hold twice as large, and
    the reference numerics at level 1; 27 C, 10 ns held."""
    out = tmp_path_factory.mktemp("hi") / "hold-injection.raw.h5"
    return run_sweep(SweepSpec("hold-injection", {
        **POINT, "level": [0.0, 1.0], "c_hold_ff": [1000.0, 2000.0], "w_hold_um": [1.0, 2.0],
        "t_hold_s": [10e-9]}, ["tt"], [27]), out, progress=False)


def _at(raw, q, **sel):
    v, _ = raw.select(q, **{"tight": "no", "c_hold_ff": 1000.0, "w_hold_um": 1.0} | sel)
    return float(np.ravel(v)[0])


#: the n switch's threshold at these held levels (0.26-0.45 V on its source): SKY130
#: nfet_01v8 at L 0.15 um with its body effect, ~0.5 V (assumption; +-0.1 V moves the
#: hand figure +-8 %)
VT_N = 0.5


def _hand_pedestal_v(v_track: float) -> float:
    """Charge injection by hand as the n device opens (the p device is off throughout:
    its source-gate voltage, the held level, is below |Vtp| ~0.5 V): half its channel
    charge Cox W L (VDD - v - Vt) onto the hold, its gate overlap coupling the part of
    the edge below v + Vt (above it the channel conducts and the TIA's output takes the
    charge), and the off p device's overlap the whole opposite edge."""
    q_ch = COX_N * W_M * L_M * (VDD - v_track - VT_N) / 2
    q_ov = CGDO_N * W_M * (v_track + VT_N) - CGDO_P * W_M * VDD
    return -(q_ch + q_ov) / C_HOLD_F


@pytest.mark.parametrize("level", [0.0, 1.0])
def test_pedestal_is_the_n_switchs_charge_injection_by_hand(raw, level):
    """At the held level (0.45 V with no input driven, 0.26 V at the full read): by hand
    -0.67 / -0.74 mV; within 15 % (the split of the channel charge between the hold and
    the TIA's output is the rough part)."""
    v = _at(raw, "v_track_v", level=level)
    got = _at(raw, "pedestal_v", level=level)
    assert got < 0
    assert got == pytest.approx(_hand_pedestal_v(v), rel=0.15)


def test_pedestal_scales_with_the_switch_and_falls_with_the_capacitor(raw):
    """Injected charge onto a capacitor: twice the hold halves the step, and twice the
    switch's width twice the channel and overlap charge doubles it (each within 10 %:
    the split between the two sides moves a little with either)."""
    for level in (0.0, 1.0):
        base = _at(raw, "pedestal_v", level=level)
        assert _at(raw, "pedestal_v", level=level, c_hold_ff=2000.0) == \
            pytest.approx(base / 2, rel=0.10)
        assert _at(raw, "pedestal_v", level=level, w_hold_um=2.0) == \
            pytest.approx(2 * base, rel=0.10)


def test_the_pedestal_is_an_offset_and_a_gain_the_calibration_takes_out(raw):
    """The pedestal grows as the held level falls (more channel charge: the gate
    overdrive grows), bounded by the whole channel charge's dependence Cox W L / C =
    1.25 mV/V; across the read's swing it is an offset (the per-column offset the
    converter's window takes out at calibration) plus a gain under 0.1 % of the swing
    (0.15 of an 8-bit LSB over the full swing; the range calibration takes it out)."""
    v0, v1 = _at(raw, "v_track_v", level=0.0), _at(raw, "v_track_v", level=1.0)
    p0, p1 = _at(raw, "pedestal_v", level=0.0), _at(raw, "pedestal_v", level=1.0)
    assert 0.0 < (p1 - p0) / (v1 - v0) < COX_N * W_M * L_M / C_HOLD_F
    swing = _at(raw, "swing_v", level=1.0)
    assert 0.15 < swing < 0.25                       # the trim's 0.2 V target
    assert abs(p1 - p0) / swing < 1e-3


def test_droop_is_the_off_switchs_leakage_into_the_hold(raw):
    """Held for 10 ns the capacitor moves by what the off switch's junctions and
    subthreshold current leak (pA: SKY130 1 um devices at 27 C): under 1 uV, so under
    1/1000 of the converter's LSB (0.2 V / 256 = 0.78 mV)."""
    for level in (0.0, 1.0):
        assert abs(_at(raw, "droop_v", level=level)) < 1e-6


def test_tight_tolerance_run_agrees(tmp_path):
    """Gear at reltol 1e-6 with steps of a tenth of the edge: the pedestal within 2 %."""
    spec = SweepSpec("hold-injection", {**POINT, "level": [1.0], "tight": ["no", "yes"],
                                        "t_hold_s": [5e-9]}, ["tt"], [27])
    r = run_sweep(spec, tmp_path / "t.raw.h5", progress=False)
    loose, _ = r.select("pedestal_v", tight="no")
    tight, _ = r.select("pedestal_v", tight="yes")
    assert float(np.ravel(loose)[0]) == pytest.approx(float(np.ravel(tight)[0]), rel=0.02)


def test_no_hold_is_refused_in_one_line(tmp_path):
    """c_hold_ff = 0 (no hold) is refused where every parameter is checked, before any
    netlist or file: the shipped readout's 1 pF is the default."""
    from imcspice.characterize.params import ParameterError
    from imcspice.characterize.recipes import get_recipe
    rec = get_recipe("hold-injection")
    assert rec.resolve({})["c_hold_ff"] == READOUT["c_hold_ff"][0]
    with pytest.raises(ParameterError, match="c_hold_ff"):
        rec.resolve({"c_hold_ff": 0.0})
    with pytest.raises(ParameterError, match="c_hold_ff"):
        run_sweep(SweepSpec("hold-injection", {"c_hold_ff": [0.0]}, ["tt"], [27]),
                  tmp_path / "x.raw.h5", progress=False)
    assert not (tmp_path / "x.raw.h5").exists()
