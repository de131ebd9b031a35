"""The simulator itself: which ngspice and solver run, that the point cache tells
builds apart, that hoisted SKY130 model cards and the reset-free fresh load change no
result (each compared with the slower original path on real ngspice)."""
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from imcspice.characterize import engine
from imcspice.characterize.engine import LocalPool
from imcspice.characterize.recipes import register
from imcspice.characterize.runner import build_tasks, run_sweep
from imcspice.characterize.sweep import SweepSpec
from imcspice.circuits.technology import hoist_model_cards, sky130_root

from sim_recipes import SparseCrossbarArray, UnhoistedCrossbarArray

register(UnhoistedCrossbarArray())
register(SparseCrossbarArray())


def test_ngspice_reports_the_klu_solver_where_it_has_one():
    """Every deck asks for KLU; ngspice's own "Using ... as Direct Linear Solver" line
    says what ran. ./dev installs ngspice 46 (bookworm-backports), built with KLU;
    bookworm's ngspice 39 has no KLU and reports Sparse."""
    with LocalPool(1, timeout_s=60, use_cache=False) as pool:
        tasks, _ = build_tasks(SweepSpec("memristor-iv", {"g_us": [5.0]}), [0])
        (res,) = list(pool.run(tasks))
    assert res.status == "ok", res.message
    m = re.fullmatch(r"(\d+)\S*(?: \((.+)\))?", res.ngspice_version)
    assert m, res.ngspice_version
    if int(m.group(1)) >= 46:
        assert m.group(2) == "KLU", res.ngspice_version
    else:  # ngspice 39 in shared mode does not always print its solver line
        assert m.group(2) in (None, "SPARSE 1.3"), res.ngspice_version


def test_cache_key_tells_ngspice_builds_apart(tmp_path, monkeypatch):
    """A cached result of one ngspice build is never served as another's: the key
    holds the library's content."""
    lib = engine._ngspice_library()
    assert lib is not None and lib.is_file(), "libngspice not found"
    real = engine.simulator_id()          # the real library's id, before the env is patched
    copy = tmp_path / "libngspice.so"
    shutil.copyfile(lib, copy)
    monkeypatch.setenv("NGSPICE_LIBRARY_PATH", str(copy))
    same = engine.simulator_id.__wrapped__()
    copy.write_bytes(copy.read_bytes() + b"\0")       # another build
    other = engine.simulator_id.__wrapped__()
    assert same == real and other != same
    keys = set()
    for sid in (same, other):
        monkeypatch.setattr(engine, "simulator_id", lambda sid=sid: sid)
        keys.add(engine.cache_key("ab" * 32, {"g_us": 5.0}, None, "m:R"))
    assert len(keys) == 2


def test_cache_key_tells_device_laws_apart(tmp_path, monkeypatch):
    """Decks include the shipped SPICE files by path: editing one (a new memristor law)
    changes every point's key, so old-law results are never served."""
    from imcspice import netlists
    lib = tmp_path / "netlists"
    lib.mkdir()
    for f in Path(netlists.__file__).parent.glob("*.spice"):
        shutil.copyfile(f, lib / f.name)
    monkeypatch.setattr(netlists.resources, "files", lambda _name: lib)
    before = netlists.library_digest()
    assert before == netlists.library_digest()                   # deterministic
    law = lib / "memristor.spice"
    law.write_text(law.read_text().replace("alpha=1.0e-3", "alpha=2.0e-3"))
    after = netlists.library_digest()
    assert after != before
    keys = set()
    for digest in (before, after):
        monkeypatch.setattr(engine, "_netlist_library", lambda d=digest: d)
        keys.add(engine.cache_key("ab" * 32, {"g_us": 5.0}, None, "m:R"))
    assert len(keys) == 2


def test_hoisting_picks_the_bin_ngspice_picks():
    """The hoisted card is the one bin holding the geometry (BSIM binning: lmin <= L <
    lmax, wmin <= W < wmax, metres); a geometry outside every bin is refused."""
    fet = (sky130_root() / "combined_models" / "continuous" / "models_fet.spice").read_text()
    text = hoist_model_cards(fet, "sky130_fd_pr__nfet_01v8", 1.0, 0.15)
    assert "nshort_model.32" in text          # 1.5e-7 <= L < 1.8e-7, 1e-6 <= W < 3e-6
    assert text.count(".model ") == 1
    assert "AGAUSS" in text                   # per-instance mismatch kept on the instance
    with pytest.raises(Exception, match="bins"):
        hoist_model_cards(fet, "sky130_fd_pr__nfet_01v8", 1.0, 0.01)


def _array(tmp_path, recipe, g, v, pool, name, **kw):
    gp, vp = tmp_path / f"g_{name}.npy", tmp_path / f"v_{name}.npy"
    np.save(gp, g)
    np.save(vp, v)
    spec = SweepSpec(recipe, {"conductances": [str(gp)], "inputs": [str(vp)],
                              "device": ["1t1r"], **{k: [x] for k, x in kw.pop("axes", {}).items()}},
                     **kw)
    raw = run_sweep(spec, tmp_path / f"{name}.raw.h5", pool=pool, progress=False,
                    use_cache=False)
    assert set(raw.status_counts()) == {"ok"}, raw.status_counts()
    return raw


@pytest.mark.parametrize("w_access_um", [1.0, 0.42])
def test_hoisted_deck_equals_the_pdk_subcircuit(tmp_path, pool, w_access_um):
    """Same bit-line currents and node voltages (to 1e-12 relative: same equations,
    same matrix) from the hoisted deck as from the PDK subcircuit expanded per cell."""
    rng = np.random.default_rng(3)
    g = rng.uniform(2e-6, 1e-4, (5, 4))
    v = rng.uniform(0.05, 0.3, 5)
    axes = {"w_access_um": w_access_um}
    a = _array(tmp_path, "crossbar-array", g, v, pool, f"h{w_access_um}", axes=axes)
    b = _array(tmp_path, "test-crossbar-array-unhoisted", g, v, pool, f"o{w_access_um}",
               axes=axes)
    for out in ("i_out_a", "v_wl_v", "v_bl_v"):
        np.testing.assert_allclose(a.data[out], b.data[out], rtol=1e-12, atol=0)
    # the access transistor matters here: it is not an ideal switch
    assert np.all(a.data["ir_drop_rel"] > 0)


def test_klu_and_sparse_agree(tmp_path, pool):
    """Results do not depend on the solver (so not on which ngspice ./dev could
    install): KLU and Sparse 1.3 agree to 1e-12 relative on a 1T1R array."""
    rng = np.random.default_rng(5)
    g = rng.uniform(2e-6, 1e-4, (6, 5))
    v = rng.uniform(0.05, 0.3, 6)
    a = _array(tmp_path, "crossbar-array", g, v, pool, "klu")
    b = _array(tmp_path, "test-crossbar-array-sparse", g, v, pool, "sparse")
    assert "SPARSE" in b.attrs["ngspice_version"], b.attrs["ngspice_version"]
    if int(re.match(r"\d+", a.attrs["ngspice_version"]).group(0)) >= 46:
        assert "KLU" in a.attrs["ngspice_version"], a.attrs["ngspice_version"]
    for out in ("i_out_a", "v_wl_v", "v_bl_v"):
        np.testing.assert_allclose(a.data[out], b.data[out], rtol=1e-12, atol=0)


def test_hoisted_deck_keeps_per_instance_mismatch(tmp_path, pool):
    """Monte Carlo: every hoisted transistor draws its own Vth offset (identical cells
    in different columns differ), with the spread of the PDK subcircuit. ngspice draws
    in another order for the two decks, so samples are compared by their spread: for
    16 columns each, the ratio of two sample deviations of one population lies within
    [0.5, 2] with ~95 % probability (F distribution, 15 and 15 degrees of freedom)."""
    g = np.full((6, 8), 1e-4)      # 10 kOhm: the access transistor's Vth shows
    v = np.full(6, 0.3)
    a = _array(tmp_path, "crossbar-array", g, v, pool, "hm", mc=2, seed=11)
    b = _array(tmp_path, "test-crossbar-array-unhoisted", g, v, pool, "om", mc=2, seed=11)
    sa, sb = np.std(a.data["i_out_a"], ddof=1), np.std(b.data["i_out_a"], ddof=1)
    mean = np.mean(b.data["i_out_a"])
    assert sb > 1e-4 * mean and sa > 1e-4 * mean   # mismatch is on in both decks
    assert 0.5 < sa / sb < 2.0, (sa, sb)
    nominal = _array(tmp_path, "crossbar-array", g, v, pool, "hn").data["i_out_a"]
    assert abs(np.mean(a.data["i_out_a"]) - np.mean(nominal)) < 4 * sa / 4  # 4 sigma of a 16-mean


@pytest.mark.parametrize("recipe,axes", [
    ("nfet-iv", {"w_um": [1.0, 3.0], "l_um": [0.15, 0.5]}),     # re-binned by alterparam
    ("gaincell-write", {"v_wwl_v": [1.8, 1.5]}),                # a transient
])
def test_fresh_load_without_reset_equals_alterparam_and_reset(recipe, axes):
    """A freshly loaded deck given the point's values (no reset) returns exactly what
    loading the deck's first point and then alterparam + reset returns."""
    tasks, _ = build_tasks(SweepSpec(recipe, axes), range(len(axes[next(iter(axes))])
                                                          * (2 if len(axes) > 1 else 1)))
    last = tasks[-1]
    assert engine.with_values(last.netlist, last.alters)[1], "values not placed in the deck"
    with LocalPool(1, timeout_s=120, use_cache=False) as p:
        (direct,) = list(p.run([last]))
    with LocalPool(1, timeout_s=120, use_cache=False) as p:
        via_reset = list(p.run(tasks))[-1]
    assert direct.status == via_reset.status == "ok", (direct.message, via_reset.message)
    assert direct.index == via_reset.index
    for k in direct.outputs:
        np.testing.assert_array_equal(direct.outputs[k], via_reset.outputs[k], err_msg=k)


def test_decks_with_a_nodeset_use_sparse():
    # ngspice 46's KLU cannot create the matrix element a nodeset on a gate-only node
    # needs (gain-cell reset line): such decks are loaded with Sparse, the rest with KLU
    from imcspice.characterize.ngspice import solver_option
    assert solver_option("R1 a 0 1k\n.end\n") == ".options klu"
    assert solver_option("R1 a 0 1k\n  .NODESET v(rst)=1.8\n.end\n") == ".options sparse"
    assert solver_option("* .nodeset in a comment\n.end\n") == ".options klu"
