"""Sweep specs from the command line and JSON files: every malformed input is a one-line
error before anything runs (duplicates, booleans for counts, repeated JSON keys, huge
numbers, deep nesting, empty lists)."""
import pytest

from imcspice.cli import main

BIG = "1" + "0" * 400


@pytest.mark.parametrize("spec, words", [
    ('{"recipe": "memristor-iv", "mc": true}', "--mc must be an integer"),
    ('{"recipe": "memristor-iv", "seed": false}', "--seed must be an integer"),
    ('{"recipe": "memristor-iv", "recipe": "nfet-iv"}', "appears twice"),
    ('{"recipe": "memristor-iv", "axes": {"g_us": [%s]}}' % BIG, "out of range"),
    ('{"recipe": "memristor-iv", "axes": ' + "[" * 50000 + "]" * 50000 + "}",
     "nested too deeply"),
    ('{"recipe": "memristor-iv", "temps_c": [27, 27]}', "given twice"),
    ('{"recipe": "memristor-iv", "axes": {"g_us": [5, 5.0]}}', "given twice"),
    ('{"recipe": "memristor-iv", "corners": []}', "at least one corner"),
])
def test_bad_spec_files(tmp_path, capsys, spec, words):
    f = tmp_path / "spec.json"
    f.write_text(spec)
    out = tmp_path / "o.raw.h5"
    assert main(["sweep", "--spec", str(f), "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and not out.exists()


@pytest.mark.parametrize("argv, words", [
    (["--set", "w_um=1,1"], "given twice"),
    (["--set", "w_um=1", "--set", "w_um=2"], "given twice"),
    (["--corner", "tt,tt"], "given twice"),
    (["--temp", "27,27.0"], "given twice"),
    (["--corner", ""], "corner"),
])
def test_bad_cli_lists(tmp_path, capsys, argv, words):
    out = tmp_path / "o.raw.h5"
    assert main(["sweep", "nfet-iv", *argv, "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and not out.exists()


def test_planning_builds_the_outer_grid_once(monkeypatch):
    # point() runs once per grid point: rebuilding the mc axis there made planning
    # O(points x mc); the outer grid must be built once per spec
    from imcspice.characterize import sweep
    from imcspice.characterize.runner import build_tasks
    built = []
    real = sweep.Axis
    monkeypatch.setattr(sweep, "Axis", lambda *a, **k: built.append(a[0]) or real(*a, **k))
    spec = sweep.SweepSpec("nfet-iv", {"w_um": [1.0, 2.0]}, mc=300)
    built.clear()
    tasks, _ = build_tasks(spec, range(spec.n_points))
    assert len(tasks) == 600
    assert built.count("mc") <= 1


def test_sweep_too_large_for_memory_is_refused_before_allocating(tmp_path, capsys):
    import resource
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = tmp_path / "big.raw.h5"
    # 1e6 points x 1591 I-V values x 8 B = 11.9 GiB of results, far past the 4 GiB limit
    assert main(["sweep", "nfet-iv", "--set", "w_um=0.5:3:2000", "--set", "l_um=0.15:1:500",
                 "--quiet", "--out", str(out)]) == 2
    assert "GiB in memory" in capsys.readouterr().err and not out.exists()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500 * 1024
