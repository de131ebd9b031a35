"""The shipped default models (models/data): provenance, regeneration spec, error targets.

Issue targets: every output's held-out error <= 1 % of full scale; ACAM thresholds
within 5 mV. These read the committed files only (no SPICE), so a rebuild that misses a
target, or a model file no longer matching its shipped sweep, fails here.
"""
import json
from pathlib import Path

import pytest

from imcspice.characterize.defaults import FULL, spec_of
from imcspice.models import load
from imcspice.models.store import sha256_file

DATA = Path(__file__).resolve().parents[1] / "models" / "data"
TARGET_PCT_FS = 1.0
ACAM_TARGET_V = 5e-3


@pytest.fixture(scope="module")
def summary():
    return json.loads((DATA / "defaults.json").read_text())["models"]


@pytest.mark.parametrize("name", sorted(FULL))
def test_shipped_model_is_built_from_its_shipped_sweep(name, summary):
    m = load(DATA / f"{name}.model.h5")
    assert m.source_raw_sha256 == sha256_file(DATA / "raw" / f"{name}.raw.h5")
    # the sweep is exactly the one `imcspice models build-defaults` runs for this entry
    spec = json.loads(m.meta["source_spec"])
    want = spec_of(FULL[name])
    assert spec["recipe"] == want.recipe and spec["mc"] == want.mc
    assert spec["corners"] == want.corners and spec["temps_c"] == [float(t) for t in
                                                                   want.temps_c]
    # the same grid values; numpy releases differ in the last bit of geomspace (numpy
    # 2.4: 24.3288079822936 vs 24.328807982293597), so compare to 1e-12, not bitwise
    assert set(spec["axes"]) == set(want.axes)
    for k, v in want.axes.items():
        got = spec["axes"][k]
        if any(isinstance(x, str) for x in v):
            assert got == v
        else:
            assert [float(x) for x in got] == pytest.approx([float(x) for x in v], rel=1e-12, abs=0)
    assert summary[name]["ok"] and summary[name]["kind"] == m.kind


#: (model, output) -> held-out max % FS measured on the shipped file, for the outputs
#: that miss the 1 % target today. Each is a strict expected failure: the test fails if
#: the figure changes (a rebuild must update it here) or once the target is met.
#: - crossbar-column (880 points with the SKY130 OTA TIA, its output stage sized for the
#:   design load 0.25, Rz 2.5 kOhm, frac_on 0..0.625 in 1/16 steps (the mapped loads reach
#:   0.27 on RACE-IT, 0.51 on HeTraX at 95 C), rows every 16 to 128 plus 24 and 40 around
#:   the output stage's one-copy floor kink (30.3 rows at 0.2 V; their 80 points that are
#:   not whole cells left out: characterize/fitting/whole_cells.py), energies over
#:   0..t_settle_s; closed-form axes held out near the edge, fitters/crossbar.py
#:   FORM_AXIS_HOLDOUT; seed 0 holds out rows 40, 64, 112 and frac_on 1/16, 1/4, 3/8)
#:   meets the target on every output since frac_on is uniform in 1/16 steps: the
#:   settling time, form crossbar-settling-kink (models/crossbar_kink.py: per column line
#:   in ln(n2), the output stage's copies, joined to the one-copy floor's piece at the kink,
#:   its value from the floor's line at the same load per copy; chosen by the inner
#:   hold-out, 1.67 against the linear-rows table's 3.37 % FS), holds out 0.52 % FS (40
#:   rows, frac_on 0.625, 95 C, 0.55 V, r_bl 1 ohm). With 1/8 steps from 0.375 to 0.625
#:   (720 points) it held out 1.04 % at 16 rows, frac_on 0.5, 95 C, 0.2 V (24.2 ns, read
#:   23.6 across the 0.25 gap between the 3/8 and 5/8 lines at the floor's edge); that
#:   model read the lines since added, 7/16 and 9/16, within 0.60 and 0.99 % FS. With rows
#:   at half octaves (432 points, 32 and 96 rows held out) it was 3.12 % at 32 rows,
#:   frac_on 0.625, 95 C, 0.2 V: the kink's value read from the 16-row line, extrapolated
#:   1.9x in load per copy. The nulling resistor at 2.5 kOhm removes the frac_on-0
#:   overshoot that moved the 1 % crossing at 2 kOhm (characterize/recipes/crossbar_params.py).
#:   e_read_j meets it since the closed form crossbar-read-energy-settled on the model's
#:   own i_out_a and t_settle_s (models/crossbar_energy.py): 0.56 % FS held out (table
#:   1.32; 720-point sweep 0.51 against 0.95); the held-out frac_on 1/16 line at
#:   128 rows within 1.3 % of ngspice (tests/test_crossbar_read_energy.py; a log(rows)
#:   table with log values read it 17.5 % low). v_out_v meets it since the OTA drift form bends with the load
#:   (models/crossbar_vg.py h); i_out_a,
#:   ir_drop_rel (the OTA's sense-node drift in the form), p_tia_w (form
#:   crossbar-tia-supply) and e_tia_j (0.43 %, table; 0.14 on the 720-point sweep, 0.65 on
#:   the 432-point one) meet it
#: gaincell-mac (73 points, the SKY130 OTA integrator since v8) meets the target: q_col_c
#: and v_int_v with the closed form integrator-soft-rails (models/gaincell_ramp.py, the
#: OTA's soft output saturation: held out 0.54 and 0.86 % FS, were 1.52 and 3.10 % as
#: tables; with the behavioral op-amp (v7): 0.96, 0.40 %), e_int_j (the OTA's supply
#: energy over the read window) with integrator-supply-energy on v_int_v's trajectory
#: (models/gaincell_energy.py: the class-A bias plus the charge the output's excursion
#: moves on the supply): 0.67 % FS held out, was 2.54 % as a table (worst on the 1 ns
#: line: the table interpolated the OTA's first-nanosecond response between 0 and 2 ns)
#: acam-search meets the target since recipe version 3 (control-gate driver energy from
#: the net charge per pull-up phase; the rectified current counted trapezoidal ringing,
#: irregular in the cell count: e_search_j 4.15, e_search_match_j 4.82 % FS at the
#: held-out 8-cell line) and energy tables linear in the cell count
KNOWN_MISSES: dict[tuple[str, str], float] = {
    # dac t_settle_s: the held-out 362-cell line at ff, 95 C (seed 0 holds out 90 and
    # 362 cells). The row switch is n_cells/64 um wide (4, 5.66, 8 um at 256, 362, 512
    # cells) and crosses SKY130's nfet size bins at 5 and 7 um, whose temperature
    # coefficients differ: the 362-cell line sits 1.8 % FS above the curve through its
    # neighbours at 95 C, 0.36 % at 27 C (a Gear / reltol 1e-5 / 4x-step rerun of
    # 256, 362, 512 cells at ff, 27 and 95 C agrees with the deck to 0.01 %, so it is
    # the model card, not the integration). The architectures read 256 cells, a swept
    # line, where the table is the SPICE value.
    ("dac", "t_settle_s"): 1.82,
    # The wake-up models (tia-wake, integrator-wake; seed 0 holds out the 60 C line of
    # 27/45/60/95, and rows 40, 64, 112 / the 28.3 uA tail). The wake time is the last
    # crossing of a 1 % band, which moves with the ringing: it wiggles in T and has its
    # minimum at the TIA output stage's one-copy floor (n2 = 1 at 30.3 rows, 0.2 V).
    # tia-wake t_wake_s: 40 rows, 95 C, 16.0 ns for 16.2 (1.5 % of the value; log rows or
    # linear values held out 1.3-2.3 % FS); integrator-wake t_wake_s: 60 C, 10 uA, 1.6 %
    # of the value; its e_wake_j: 60 C, 28.3 uA, 2.62 pJ for 2.59 (1.3 % of the value,
    # 3.8 % of a 0.9 pJ full scale). The architectures price them on swept lines (128
    # rows, 0.2 V, 27 or HeTraX's ~45.6 C next to the 45 C line; the integrator at 20 uA,
    # 27 C). Their tia-wake energy holds out at 0.95 % FS. p_off_w (both): the gated-off
    # leakage at the held-out 60 C line, log-linear between 45 and 95 C, 9.6 % low
    # (1.76 nW for 1.95): priced as the tiles' and readouts' static power, <= 0.05 % of
    # any machine's energy. With v_read up to 0.55 V (swept first) a ~1 % undershoot at
    # 128 rows, 95 C crossed the band and put 3.3 % FS on t_wake_s and e_wake_j.
    ("tia-wake", "p_off_w"): 1.51,
    ("integrator-wake", "e_wake_j"): 3.8,
    ("integrator-wake", "t_wake_s"): 2.17,
    ("integrator-wake", "p_off_w"): 1.56,
    # The readout redesigned (2026-12-05, characterize/defaults.py READOUT): each column's
    # feedback is trimmed to its current, r_f = (800^-4 + (I_col / 0.2 V)^4)^-1/4, so where
    # it leaves its 800 ohm top moves along rows and frac_on (I_col ~ rows x load) between
    # the sweep's lines, and the lookup tables bridge that bend (a hard min() held out
    # 15-27 % FS). crossbar-column (seed 0 holds out rows 40, 64, 112, the 60 C line and
    # frac_on lines; the worst at the lightest loads of the held-out rows): v_out_v (-I r_f,
    # used by no machine), t_settle_s and e_tia_j (tables: the settling forms trained
    # 13-23 % off), ir_drop_rel, e_read_j (a table: its form cannot be fitted with a
    # temperature line held out); tia-noise: every quantity referred by the trimmed z_t.
    # The machines read 128 rows, 0.2 V, 2.5 ohm: swept lines, where the tables
    # interpolate in the load and temperature only; tests/test_tia_noise.py checks both
    # models there against ngspice between the lines (tia-noise at load 0.15 within 3 %;
    # crossbar-column at load 18/128 within 1.5 % at 27 C and 3 % at 52 C).
    ("crossbar-column", "v_out_v"): 14.15,
    ("crossbar-column", "t_settle_s"): 8.84,
    ("crossbar-column", "e_tia_j"): 3.94,
    ("crossbar-column", "ir_drop_rel"): 1.46,
    ("crossbar-column", "e_read_j"): 1.58,
    ("tia-noise", "i_noise_a"): 11.62,
    ("tia-noise", "i_noise_lf_a"): 10.83,
    ("tia-noise", "swing_v"): 1.8,
    ("tia-noise", "tau_hold_s"): 1.04,
    ("tia-noise", "v_noise_v"): 8.91,
    ("tia-noise", "vn_out_1khz_v_per_rthz"): 19.24,
    ("tia-noise", "z_t_ohm"): 13.28,
    ("tia-wake", "t_wake_s"): 1.9,
}


@pytest.mark.parametrize("name", sorted(FULL))
def test_shipped_model_meets_heldout_target(name, summary):
    m = load(DATA / f"{name}.model.h5")
    he = m.heldout_error
    assert set(he["outputs"]) == set(m.functions)      # every output has its record
    missed = {}
    for out, e in he["outputs"].items():
        if e["n_heldout"] == 0:
            # one value per setting (e.g. a readout's gain): nothing to hold out, and
            # the file must say so
            assert out in he["holdout"].get("notes", ""), (name, out)
            continue
        if (name, out) in KNOWN_MISSES:
            assert round(e["max_pct_fs"], 2) == KNOWN_MISSES[name, out], (name, out)
            missed[out] = e["max_pct_fs"]
            continue
        assert e["max_pct_fs"] <= TARGET_PCT_FS, (name, out, e["max_pct_fs"])
        if m.kind == "acam-window":
            assert e["max_abs"] <= ACAM_TARGET_V, (name, out, e["max_abs"])
    assert summary[name]["heldout_max_pct_fs"] == pytest.approx(he["max_pct_fs"], rel=1e-6, abs=0)
    assert set(missed) == {o for n, o in KNOWN_MISSES if n == name}
    if missed:
        pytest.xfail(f"{name}: held-out {missed} % FS over the {TARGET_PCT_FS} % target "
                     "(measured; see KNOWN_MISSES)")


#: Refitting gaincell-mac from its shipped sweep takes ~3-20 min on 2 cores (a dense
#: 5-D table with spline refinement; measured 1152 s while 4 other jobs ran, 154 s with
#: the integrator-soft-rails fit at a load of ~5, 239 s with integrator-supply-energy
#: for e_int_j at a load of ~14), far past the
#: CI budget; every other shipped model refits in under 10 s.
SLOW_REFIT = {"gaincell-mac"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_REFIT
                                  else n for n in sorted(FULL)])
def test_shipped_model_refits_from_its_shipped_raw_file(name):
    """The file's self-reported held-out error is not trusted: refit the shipped raw sweep
    (no SPICE) with the fitter and kind `build-defaults` uses, then compare the held-out
    error per output and the fitted values. The split is seeded (seed 0), so the same
    points are held out; only floating-point arithmetic may differ. Fitted values are
    compared to 1e-5 relative or 1e-5 of the function's full scale (max |value|), the
    unit the models' errors are stated in: on one machine (AMD EPYC with AVX-512, numpy
    2.4.6, scipy 1.17.1; measured 2026-12-01) the crossbar-column refit moved i_out_a by
    up to 2.7e-6 of its full scale (2.4e-4 relative at a value near 0) where earlier
    machines agreed to 3e-8, with every held-out error still equal to 1e-5 relative. The
    shipped commit 16c227c refits the same there: the arithmetic, not the code. Held-out
    errors are compared to 1e-5 relative or, as the values, 1e-5 of full scale (an error
    is a difference of values, so it cannot move further than they may; on the
    2026-12-05 AMD EPYC machine crossbar-column's i_out_a max_abs moved 1.6e-5 relative,
    2e-10 A against a full scale of 3.2 mA, where earlier machines agreed to 1e-5
    relative)."""
    import numpy as np

    from imcspice.characterize.fit import fit
    shipped = load(DATA / f"{name}.model.h5")
    refit = fit(DATA / "raw" / f"{name}.raw.h5")      # kind inferred, as build-defaults does
    assert refit.kind == shipped.kind
    assert set(refit.heldout_error["outputs"]) == set(shipped.heldout_error["outputs"])
    for out, e in shipped.heldout_error["outputs"].items():
        r = refit.heldout_error["outputs"][out]
        assert r["n_heldout"] == e["n_heldout"], (name, out)
        for key in ("max_abs", "max_pct_fs", "rms_pct_fs"):
            fs = 1e-3 if key.endswith("pct_fs") else 1e-5 * e["full_scale"]  # the values'
            assert r[key] == pytest.approx(e[key], rel=1e-5, abs=fs, nan_ok=True), \
                (name, out, key)
    for fn_name, fn in shipped.functions.items():
        np.testing.assert_allclose(refit.functions[fn_name].values, fn.values, rtol=1e-5,
                                   atol=1e-5 * np.nanmax(np.abs(fn.values)),
                                   err_msg=f"{name}:{fn_name}")


def test_regeneration_command_reproduces_a_shipped_model(tmp_path):
    """`imcspice models build-defaults --only memristor` (96 real ngspice points) rebuilds
    the shipped memristor model: same held-out error, same parameters; and a partial
    rebuild keeps the other entries of defaults.json."""
    import numpy as np

    from imcspice.cli import main
    (tmp_path / "defaults.json").write_text(json.dumps(
        {"models": {"nfet": {"ok": True, "kind": "mosfet-iv"}, "gone": {"ok": True}}}))
    assert main(["models", "build-defaults", "--out", str(tmp_path), "--only", "memristor",
                 "--workers", "1", "--quiet"]) == 0
    new, old = load(tmp_path / "memristor.model.h5"), load(DATA / "memristor.model.h5")
    assert new.heldout_error["max_pct_fs"] == pytest.approx(old.heldout_error["max_pct_fs"],
                                                            rel=1e-6, abs=1e-12)
    for name, fn in old.functions.items():
        np.testing.assert_allclose(new.functions[name].values, fn.values, rtol=1e-6)
    kept = json.loads((tmp_path / "defaults.json").read_text())["models"]
    assert set(kept) == {"nfet", "memristor"}        # old entry kept, unknown one dropped
    assert kept["memristor"]["status"] == {"ok": 96}


def test_time_scaled_curve_fast_path_matches_the_form():
    """Function evaluates time-scaled-curve in two lookups; the result must be the form's
    own definition (every node interpolated, then linear in scaled log-time)."""
    import numpy as np

    from imcspice.models.forms import get_form
    m = load(DATA / "gaincell-retention-si.model.h5")
    fn = m.functions["v_sn_v"]
    assert fn.form == "time-scaled-curve"
    rng = np.random.default_rng(3)
    inp = {}
    for n in fn.inputs:
        lo, hi = m.valid_range[n]
        inp[n] = np.exp(rng.uniform(np.log(lo), np.log(hi), 3000)) if n == "t_s" else \
            rng.uniform(lo, hi, 3000)
    for corner in fn.corners:
        slow = get_form(fn.form).func([inp["t_s"]], fn.params_at(corner, inp), fn.extra)
        np.testing.assert_allclose(fn(corner, inp), slow, rtol=0, atol=1e-12)


def _readme_model_rows() -> dict[str, list[str]]:
    """README's held-out table, one row per shipped model: name -> cells."""
    text = (DATA.parents[1] / "README.md").read_text()
    table = text[text.index("| model | recipe | SPICE runs |"):].split("\n\n", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")]
            for line in table.splitlines()[2:]]
    return {r[0]: r for r in rows}


def test_readme_table_states_the_shipped_files(summary):
    """The README's table is what a reader compares with the papers: every shipped model
    has its row, with the sweep's run count and the worst held-out output as the files
    record them (a table that went stale once misquoted 9 of 20 rows)."""
    rows = _readme_model_rows()
    assert set(rows) == set(summary)
    for name, rec in summary.items():
        recipe, runs, _, heldout = rows[name][1:]
        assert recipe == rec["recipe"] and int(runs) == rec["points"], name
        he = load(DATA / f"{name}.model.h5").heldout_error["outputs"]
        live = {o: e["max_pct_fs"] for o, e in he.items() if e["n_heldout"]}
        worst = max(live, key=live.get)
        assert heldout == f"{rec['heldout_max_pct_fs']:.2f} ({worst})", (name, heldout)
