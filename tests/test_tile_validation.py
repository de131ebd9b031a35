"""Full-size validation (crossbar issue, item 6): a RACE-IT tile of real MiniLM weights
simulated in SPICE (crossbar-array, 1T1R, SKY130 access transistors, ngspice) against
the behavioral crossbar model the accelerators use (tests/tile_validation.py says how
both are computed). Requirement: the largest column error is at most 1 % of full
scale. The full 128 x 128 tile is slow (~25 s per bit plane here); CI runs all 128 rows
with 16 columns (8 differential outputs), the same column physics."""
import numpy as np
import pytest

from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec

from tile_validation import behavioral_currents, full_scale_a, race_it_tile

#: the requirement (issue: "maximum column error at most 1 % of full scale")
MAX_COL_ERR_FS = 0.01


def _spice(tmp_path, case, pool):
    gp = tmp_path / "g.npy"
    np.save(gp, case.g_s)
    currents = []
    for k, plane in enumerate(case.planes):
        vp = tmp_path / f"v{k}.npy"
        np.save(vp, plane * case.v_read_v)
        spec = SweepSpec("crossbar-array", {
            "conductances": [str(gp)], "inputs": [str(vp)], "device": ["1t1r"],
            "r_bl_ohm": [case.r_bl_ohm], "r_wl_ohm": [case.r_wl_ohm], "v0_v": [case.v0_v]})
        raw = run_sweep(spec, tmp_path / f"t{k}.raw.h5", pool=pool, progress=False)
        assert raw.status_counts() == {"ok": 1}, raw.status_counts()
        currents.append(raw.data["i_out_a"].reshape(-1))
    return np.array(currents)


def _errors(tmp_path, rows, cols, pool):
    case = race_it_tile(rows, cols)
    i_spice = _spice(tmp_path, case, pool)
    i_model = np.array([behavioral_currents(case, p) for p in case.planes])
    fs = full_scale_a(case)
    col = np.abs(i_spice - i_model) / fs
    diff = np.abs((i_spice[:, 0::2] - i_spice[:, 1::2])
                  - (i_model[:, 0::2] - i_model[:, 1::2])) / fs
    return case, i_spice, i_model, col, diff


def _check(case, i_spice, i_model, col, diff):
    # the SPICE side is physical: every column current is positive and below its
    # wire-free ideal (IR drop and the access transistor only take current away)
    d = case.v0_v * np.sinh(case.v_read_v / case.v0_v)
    ideal = np.array([(case.g_s * (p[:, None] * d)).sum(axis=0) for p in case.planes])
    assert np.all(i_spice > 0) and np.all(i_spice < ideal)
    assert col.max() <= MAX_COL_ERR_FS, (
        f"max column error {col.max():.2%} of full scale (differential {diff.max():.2%})")


def test_race_it_tile_rows_in_spice_match_the_behavioral_model(tmp_path, pool):
    _check(*_errors(tmp_path, 128, 16, pool))


@pytest.mark.slow
def test_full_race_it_tile_in_spice_matches_the_behavioral_model(tmp_path, pool):
    _check(*_errors(tmp_path, 128, 128, pool))
