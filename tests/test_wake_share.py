"""A bias line shared by the amplifiers a tile or array wakes together
(circuits/gated_ota.py ``n_share``): the bench's multiplied instance against explicit
copies of the column (another netlist of the same circuit), both in ngspice, and what
the line does when a 128-column tile's 256 TIAs wake on one generator and 1 nF."""
import functools
import re

import numpy as np
import pytest

from imcspice.characterize import ngspice, ota_wake
from imcspice.circuits import gated_ota, ota

#: the column's own lines in the n_share = 1 TIA bench, and the nodes they own
_COLUMN = ("Xtia ", "Rf ", "Cf ", "Cbl ", "Icol ", "Vsense ")
_NODES = ("s", "out", "icol")


def _explicit(deck: str, copies: int) -> str:
    """``deck`` (one TIA on the line) with ``copies`` more of its column, each its own
    instance with its own nodes, written out line by line."""
    lines = deck.splitlines()
    column = [ln for ln in lines if ln.startswith(_COLUMN)]
    extra = []
    for c in range(copies):
        for ln in column:
            head, *rest = ln.split(" ")
            rest = [f"{t}_c{c}" if t in _NODES else t for t in rest]
            extra.append(" ".join([f"{head}_c{c}", *rest]))
    end = lines.index(".end")
    return "\n".join(lines[:end] + extra + lines[end:]) + "\n"


def _run(deck: str, c: ota_wake.WakeCase) -> ota_wake.Wake:
    return ota_wake.wake_of(ota_wake.transient(deck, gated_ota.T_END_S), c)


@pytest.mark.parametrize("name", ["tia-wake", "integrator-wake"])
def test_one_amplifier_on_the_line_is_the_bench_the_shipped_models_were_fitted_on(name):
    """The recipe's netlist at the shipped sweep's first point is the one that sweep
    stored (models/data/raw), but for the version in its header and where this machine
    keeps the PDK: ``n_share = 1`` adds nothing."""
    import json

    import h5py

    from imcspice.characterize.recipe import RECIPES
    from imcspice.circuits.technology import get_technology
    from imcspice.accelerators.hardware import DEFAULT_MODELS_DIR
    with h5py.File(DEFAULT_MODELS_DIR / "raw" / f"{name}.raw.h5", "r") as f:
        stored, params = str(f.attrs["netlist"]), json.loads(f.attrs["params"])
    r = RECIPES.get(name)
    now = r.netlist(get_technology(), r.resolve(params), "tt", 27.0)

    def body(text):
        return [ln for ln in text.splitlines()[1:] if not ln.startswith(".include")]
    assert body(now) == body(stored)
    with pytest.raises(ValueError, match="n_share"):
        gated_ota.tia_bench(ota.OtaParams(), 1e-4, 25.0, 2e-14, 1.28e-13, 1e-9, 0.45,
                            n_share=0)


def test_multiplied_others_draw_what_explicit_copies_draw():
    # 4 TIAs on 4 pF: the line moves (tens of mV), so the others' load on it matters
    c = ota_wake.WakeCase(i_col_a=336e-6, c_dec_f=4e-12, n_share=4)
    mult = _run(ota_wake.deck(c), c)
    one = ota_wake.deck(ota_wake.WakeCase(i_col_a=336e-6, c_dec_f=4e-12))
    explicit = _run(_explicit(one, 3), c)
    assert abs(explicit.dv_bias_max_v) > 0.02          # a case that tells them apart
    for key in ("dv_bias_v", "dv_bias_max_v"):
        assert getattr(mult, key) == pytest.approx(getattr(explicit, key), abs=1e-3)
    for key in ("e_wake_j", "p_on_w", "e_off_j"):
        assert getattr(mult, key) == pytest.approx(getattr(explicit, key), rel=0.01)
    assert mult.t_wake_s == pytest.approx(explicit.t_wake_s, abs=0.5e-9)


def test_a_tiles_tias_lift_its_shared_line_and_a_tight_run_agrees():
    """256 TIAs (a 128-column tile's G+ and G- bit lines) waking on one generator and
    the descriptions' 1 nF: each gate swings from VDD to the line, and the 40 uA
    reference sinks that charge slowly, so the line is still lifted at the read and
    the amplifiers are starved. One TIA alone on the line moves it ~1 mV."""
    alone = ota_wake.measure(ota_wake.WakeCase(i_col_a=672e-6))
    c = ota_wake.WakeCase(i_col_a=672e-6, n_share=256)
    w, ref = ota_wake.measure(c), ota_wake.measure(c, tight=True)
    assert abs(alone.dv_bias_v) < 3e-3
    # a lifted PMOS bias line: less |Vgs|, less current. Charge bound by hand: the line
    # cannot rise above VDD - |Vt| ~ 1.3 V, nor by more than the gates' charge allows
    assert 0.05 < w.dv_bias_v < 1.8 - 0.525
    assert w.p_on_w < 0.5 * alone.p_on_w
    assert w.dv_bias_v == pytest.approx(ref.dv_bias_v, abs=5e-3)
    assert w.p_on_w == pytest.approx(ref.p_on_w, rel=0.05)


def _recipe_point(recipe: str, point: dict) -> dict:
    return dict(_recipe_run(recipe, tuple(sorted(point.items()))))


@functools.lru_cache(maxsize=None)
def _recipe_run(recipe: str, items: tuple) -> tuple:
    """ngspice at one recipe point, once per session (RACE-IT's and HeTraX's tiles are
    the same circuit)."""
    from imcspice.characterize.recipe import RECIPES
    from imcspice.circuits.technology import get_technology
    r = RECIPES.get(recipe)
    p = r.resolve(dict(items))
    ng = ngspice.get()
    ng.load(r.netlist(get_technology(), p, "tt", 27.0))
    return tuple((k, float(np.asarray(v).ravel()[0])) for k, v in r.simulate(ng, p).items())


def _note(name: str, figure: str) -> str:
    from imcspice.accelerators import arch
    comp = arch.load(name).component("crossbar" if name != "gaincell" else "readout")
    return comp.figures[figure].fields["note"]


def _stated(note: str, pattern: str) -> float:
    m = re.search(pattern, note)
    assert m, f"the note no longer states {pattern!r}"
    return float(m.group(1))


@pytest.mark.parametrize("name", ["race-it", "hetrax"])
def test_the_tiles_shared_line_is_what_the_descriptions_state(name):
    """The figures the descriptions' wake notes state for a tile's 256 TIAs on one 1 nF
    line, against ngspice at the shipped readout (128 rows, 0.2 V, 27 C)."""
    from imcspice.accelerators import arch
    from imcspice.characterize.defaults import READOUT_TIA
    a = arch.load(name).component("crossbar")
    point = {"rows": a["rows"], "v_read_v": a["v_read_v"], "c_dec_f": 1e-9,
             **{k: v[0] for k, v in READOUT_TIA.items()}}
    alone = _recipe_point("tia-wake", point)
    shared = _recipe_point("tia-wake", {**point, "n_share": 2 * a["cols"]})
    note = _note(name, "tia_wake_energy")
    assert _stated(note, r"(\d+) TIAs at once") == 2 * a["cols"]
    assert shared["dv_bias_v"] * 1e3 == pytest.approx(
        _stated(note, r"line is then (\d+) mV high"), abs=1.0)
    assert shared["p_on_w"] / alone["p_on_w"] == pytest.approx(0.1, abs=0.015)  # "a tenth"
    swing = float(READOUT_TIA["tia_swing_v"][0])
    off = abs(shared["v_out_v"] - alone["v_out_v"]) / swing * 100
    assert off == pytest.approx(_stated(note, r"output is (\d+) % of its swing off"), abs=0.6)


def test_the_arrays_shared_line_is_what_the_gain_cell_states():
    point = {"ota_ibias_a": 20e-6, "c_dec_f": 1e-9}
    alone = _recipe_point("integrator-wake", point)
    shared = _recipe_point("integrator-wake", {**point, "n_share": 64})
    note = _note("gaincell", "wake_energy")
    assert shared["dv_bias_v"] * 1e3 == pytest.approx(
        _stated(note, r"lift the line (\d+) mV"), abs=0.6)
    assert (1 - shared["p_on_w"] / alone["p_on_w"]) * 100 == pytest.approx(
        _stated(note, r"draw (\d+) % less"), abs=0.6)
    assert abs(shared["v_out_v"] - alone["v_out_v"]) < 1e-4             # "to 0.1 mV"
    e = lambda w: w["e_wake_j"] + w["e_off_j"]                            # noqa: E731
    assert (e(alone) / e(shared) - 1) * 100 == pytest.approx(
        _stated(note, r"energy is (\d+) % above"), abs=0.6)


def test_a_train_of_reads_climbs_by_charge_conservation():
    """Each wake swings the same gates from VDD to the line and leaves their charge on
    it; between wakes only the generator sinks it, at most its 40 uA reference (the
    bias diode turns off as the line rises). On 100 nF, 200 ns apart, that is at most
    40 uA x 200 ns / 100 nF = 0.08 mV a read, so the line climbs by about the first
    wake's step every read: no decoupling holds a tile's line over an operator's reads.
    The output still reads right while the step is small."""
    c = ota_wake.WakeCase(i_col_a=672e-6, c_dec_f=100e-9, n_share=256)
    dv, out = ota_wake.train(c, 3, 200e-9)
    first = dv[0]
    sink_v = c.ibias_a * 200e-9 / c.c_dec_f
    assert 1e-3 < first < 10e-3
    for a, b in zip(dv, dv[1:]):
        assert first - sink_v - 0.1 * first <= b - a <= first + 1e-4
    assert max(out) - min(out) < 1e-4
    with pytest.raises(ValueError, match="period"):
        ota_wake.train(c, 2, 100e-9)


def test_a_tiles_line_recovers_within_the_lead_the_bracket_assumes():
    """accelerators/tia_gating.py keeps the TIAs biased through each operator, woken
    once LEAD_S ahead: one wake of a tile's 256 TIAs on 1 nF, which stay enabled, is back
    within 1 mV by then (the 40 uA reference slews ~0.2 nC off the line and the enabled
    gates, then the bias diode's time constant)."""
    from imcspice.accelerators.tia_gating import LEAD_S
    c = ota_wake.WakeCase(i_col_a=672e-6, n_share=256)
    r = ota_wake.transient(ota_wake.deck(c, hold=True), 1.5 * LEAD_S, 1e-9)
    t, v = r["time"], r["vbp"]
    rest = np.interp(gated_ota.T_ON_S - 1e-9, t, v)
    assert np.max(np.abs(v - rest)) > 0.1                       # it was lifted
    assert np.max(np.abs(v[t >= LEAD_S] - rest)) < 1e-3         # and is back
