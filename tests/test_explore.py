"""``imcspice explore``: grid parsing, the Pareto front, the exploration's files."""
import csv
import json
import math

import numpy as np
import pytest

from imcspice.accelerators import explore as ex
from imcspice.accelerators.arch import ArchError
from imcspice.cli import main


# --- Pareto front (expected indices worked out by hand) ---------------------------------
def test_pareto_front_minimize_both():
    pts = [(1.0, 5.0),          # 0: smallest x except #7, whose y is worse -> front
           (2.0, 3.0),          # 1: front
           (3.0, 3.0),          # 2: #1 has the same y at smaller x -> dominated
           (4.0, 1.0),          # 3: smallest y -> front
           (2.0, 3.0),          # 4: equal to #1: neither dominates the other -> front
           (5.0, 5.0),          # 5: dominated by everything on the front
           (None, 1.0),         # 6: no x: skipped
           (0.5, 9.0),          # 7: smallest x -> front
           (float("nan"), 0.0)]  # 8: not finite: skipped (and does not dominate #3)
    assert ex.pareto_front(pts, (True, True)) == [0, 1, 3, 4, 7]


def test_pareto_front_energy_vs_accuracy():
    # energy (lower is better) vs cosine (higher is better)
    pts = [(1.0, 0.90),   # 0: lowest energy -> front
           (2.0, 0.95),   # 1: nothing at <= 2 J reaches 0.95 -> front
           (3.0, 0.95),   # 2: #1 has the same accuracy for less energy -> dominated
           (1.5, 0.80),   # 3: #0 is cheaper and more accurate -> dominated
           (4.0, 0.99)]   # 4: most accurate -> front
    assert ex.pareto_front(pts, (True, False)) == [0, 1, 4]
    # both larger-is-better: #4 is largest on both axes and dominates all others
    assert ex.pareto_front(pts, (False, False)) == [4]
    # both smaller-is-better: #0 (1.0, 0.90) and #3 (1.5, 0.80) trade off; the rest lose
    assert ex.pareto_front(pts, (True, True)) == [0, 3]
    assert ex.pareto_front([], (True, True)) == []


# --- grid parsing -------------------------------------------------------------------------
def test_parse_grid_and_alias():
    g = ex.parse_grid(["tile_rows=64,128,256", "dac.bits=4, 6,8"])
    assert g == {"tile_rows": [64, 128, 256], "dac.bits": [4, 6, 8]}
    r = ex.resolve_grid("race-it", g)
    assert r == {"crossbar.rows": [64, 128, 256], "dac.bits": [4, 6, 8]}
    assert ex.resolve_grid("race-it", {"tile_cols": [64]}) == {"crossbar.cols": [64]}
    assert len(ex.point_sets(r)) == 9
    assert ex.point_sets(r)[1] == {"crossbar.rows": 64, "dac.bits": 6}  # last key fastest


@pytest.mark.parametrize("items, words", [
    (["crossbar.rowz=64"], ["rowz"]),
    (["foo=1,2"], ["unknown parameter 'foo'", "tile_rows", "crossbar.rows"]),
    (["dac=4"], ["component", "dac.bits"]),              # a component is not a parameter
    (["dac.bits=four,6"], ["expected a number"]),
    (["tile_rows=64", "crossbar.rows=128"], ["twice"]),
    (["dac.bits=6,6"], ["twice"]),
])
def test_resolve_grid_bad_keys(items, words):
    with pytest.raises(ValueError) as e:
        ex.resolve_grid("race-it", ex.parse_grid(items))
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_alias_on_an_arch_without_crossbars():
    with pytest.raises(ArchError, match=r"tile_rows \(alias of crossbar\.rows\)"):
        ex.resolve_grid("gaincell", {"tile_rows": [64]})


@pytest.mark.parametrize("items", [[], ["dac.bits"], ["dac.bits="], ["dac.bits=4,,6"],
                                   ["=4"], ["dac.bits=4", "dac.bits=6"]])
def test_parse_grid_syntax_errors(items):
    with pytest.raises(ValueError):
        ex.parse_grid(items)


# --- the exploration, on a stand-in evaluate (the mechanics, fast) ----------------------
def _fake_evaluate(arch, out_dir, *, workload=None, sets=None, models_dir=None, quick=False,
                   seq_len=None, batch=None, progress=True):
    from pathlib import Path
    s = dict(x.split("=", 1) for x in sets)
    rows, bits = int(s["crossbar.rows"]), int(s["dac.bits"])
    if (rows, bits) == (128, 4):
        raise ArchError("race-it: crossbar: provisioned 1 < demanded 2\nsecond line")
    rep = {"energy_j": bits * 1e-4 + rows * 1e-6, "latency_s": 1e-3 * bits / rows,
           "area_mm2": rows * 0.01,
           "accuracy": {"cosine_mean": 1 - 0.1 / bits, "cosine_min": 0.5},
           "energy_breakdown_j": {"dac": bits * 1e-4, "crossbar": rows * 1e-6},
           "provenance_share": {"energy": {"spice": 0.4, "literature": 0.6,
                                           "assumption": 0.0}}}
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "report.json").write_text(json.dumps(rep))
    return rep


@pytest.fixture
def fake_evaluate(monkeypatch):
    import imcspice.accelerators.evaluate as ev
    monkeypatch.setattr(ev, "evaluate", _fake_evaluate)


def test_explore_files_and_failed_point(tmp_path, fake_evaluate):
    rows = ex.explore("race-it", {"tile_rows": [64, 128], "dac.bits": [4, 8]}, tmp_path,
                      progress=False)
    assert [r["status"] for r in rows].count("ok") == 3
    bad = rows[2]
    assert (bad["crossbar.rows"], bad["dac.bits"]) == (128, 4)
    assert bad["status"] == "race-it: crossbar: provisioned 1 < demanded 2"  # one line
    assert (tmp_path / "points" / "0" / "report.json").is_file()
    with (tmp_path / "explore.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 4
    assert table[0]["crossbar.rows"] == "64" and table[0]["accuracy_metric"] == "cosine_mean"
    assert float(table[0]["spice_energy_share"]) == 0.4
    assert float(table[1]["energy_dac_j"]) == pytest.approx(8e-4, rel=1e-6, abs=0)
    assert table[2]["energy_j"] == ""
    doc = json.loads((tmp_path / "explore.json").read_text())
    assert doc["arch"] == "race-it" and doc["grid"] == {"crossbar.rows": [64, 128],
                                                        "dac.bits": [4, 8]}
    assert doc["ok"] == 3 and doc["failed"] == 1 and doc["complete"]
    # rows=64 costs less at the same accuracy: the front is rows=64, both bit widths;
    # #0 has #1's area at lower latency and #3's latency at lower area
    assert doc["pareto"]["energy_accuracy"] == [0, 1]
    assert doc["pareto"]["latency_area"] == [0]


def test_pareto_plots_draw_the_front(tmp_path, fake_evaluate):
    """The plotted points, by hand from the stand-in: energy = bits*1e-4 + rows*1e-6 J,
    cosine = 1 - 0.1/bits, latency = 1e-3*bits/rows s, area = 0.01*rows mm^2;
    #0 (64, 4): 4.64e-4 J, 0.975, 6.25e-5 s, 0.64 mm^2; #1 (64, 8): 8.64e-4 J, 0.9875,
    1.25e-4 s, 0.64; #3 (128, 8): 9.28e-4 J, 0.9875, 6.25e-5 s, 1.28; #2 failed, not drawn.
    Energy/accuracy front: #0 and #1 (#3 costs more at the same cosine); latency/area: #0."""
    from plotcheck import check_png, line_data, saved_figures
    with saved_figures() as figs:
        ex.explore("race-it", {"tile_rows": [64, 128], "dac.bits": [4, 8]}, tmp_path,
                   progress=False)
    by_name = {p.name: f for f, p in figs}
    assert set(by_name) == {"pareto_energy_accuracy.png", "pareto_latency_area.png"}
    want = {"pareto_energy_accuracy.png": ([4.64e-4, 8.64e-4, 9.28e-4], [0.975, 0.9875, 0.9875],
                                           [4.64e-4, 8.64e-4], [0.975, 0.9875]),
            "pareto_latency_area.png": ([6.25e-5, 1.25e-4, 6.25e-5], [0.64, 0.64, 1.28],
                                        [6.25e-5], [0.64])}
    for name, (xs, ys, fx, fy) in want.items():
        fig = by_name[name]
        check_png(fig, tmp_path / name)
        ax, = fig.axes
        scatter, = ax.collections
        np.testing.assert_allclose(scatter.get_offsets(), np.c_[xs, ys], rtol=1e-12)
        (x, y), = line_data(ax)
        np.testing.assert_allclose(x, fx, rtol=1e-12)
        np.testing.assert_allclose(y, fy, rtol=1e-12)


def test_cli_explore_summary_and_refusal(tmp_path, fake_evaluate, capsys):
    out = tmp_path / "x"
    argv = ["explore", "--arch", "race-it", "--set", "tile_rows=64", "--set", "dac.bits=4,8",
            "--out", str(out), "--quiet"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["points"] == 2 and summary["ok"] == 2 and summary["failed"] == 0
    assert summary["csv"] == str(out / "explore.csv")
    assert main(argv) == 2                       # explore.csv exists: refused
    err = capsys.readouterr().err.strip()
    assert "--force" in err and "\n" not in err
    assert main(argv + ["--force"]) == 0


def test_cli_explore_bad_key_is_one_line(tmp_path, capsys):
    rc = main(["explore", "--arch", "race-it", "--set", "crossbar.rowz=64", "--out",
               str(tmp_path / "y")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "rowz" in err and "\n" not in err
    assert not (tmp_path / "y").exists()


# --- the direction the grid must show, on the real description and cost model -------------
def test_dac_bits_direction_real_cost():
    """Bit-serial DAC: one drive, and one crossbar column read, per plane read; RACE-IT
    drives sign-magnitude (bits - 1 magnitude planes) and reads its top two planes 4 and
    2 times (dac.plane_reads), so going from 8 to 6 bits scales both energies by
    (5 + 4) / (7 + 4) = 9/11 (everything else held)."""
    from imcspice.accelerators import arch, components, cost, hardware, mapping
    from imcspice.accelerators.workloads import get_workload
    hw = hardware.HardwareModels.from_dir(None)
    e = {}
    for bits in (6, 8):
        a = arch.load("race-it", [f"dac.bits={bits}"])
        m = mapping.build(a, get_workload("minilm"), 128)
        sheet = cost.price(m, components.resolve(a, hw))
        # per action (the leakage, drawn over the latency, is not per plane)
        e[bits] = sheet.by([x for x in sheet.energy if x.figure != "static"], "component")
    assert e[6]["dac"] == pytest.approx(9 / 11 * e[8]["dac"], rel=1e-9, abs=0)
    assert e[6]["crossbar"] == pytest.approx(9 / 11 * e[8]["crossbar"], rel=1e-9, abs=0)


# --- the real thing: two --quick evaluations ----------------------------------------------
# two --quick MiniLM evaluations without the accuracy ablation (the explored metric,
# cosine_mean, does not need it; test_race_it_ablation covers it). Still slow: each point
# is 2 seeds + the quantization-only run on the shipped 128-row models (one point took
# 623 s on the loaded shared machine); test_explore_race_it_priced_only is the CI
# stand-in, test_race_it_evaluation covers the accuracy path
@pytest.mark.slow
def test_explore_race_it_quick_dac_bits(tmp_path, capsys):
    out = tmp_path / "e"
    assert main(["explore", "--arch", "race-it", "--set", "dac.bits=6,8", "--quick",
                 "--no-ablation", "--out", str(out), "--quiet"]) == 0
    with (out / "explore.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 and all(r["status"] == "ok" for r in rows), rows
    for r in rows:
        assert 0 < float(r["energy_j"]) < math.inf
        assert 0 < float(r["latency_s"]) < math.inf and float(r["area_mm2"]) > 0
        assert r["accuracy_metric"] == "cosine_mean" and 0 < float(r["accuracy"]) <= 1
    lo, hi = sorted(rows, key=lambda r: int(r["dac.bits"]))
    # bit-serial: DAC drives and crossbar column reads per token are proportional to the
    # planes (sign-magnitude: bits - 1)
    assert float(lo["energy_dac_j"]) == pytest.approx(5 / 7 * float(hi["energy_dac_j"]),
                                                      rel=1e-6, abs=0)
    assert float(lo["energy_crossbar_j"]) < float(hi["energy_crossbar_j"])
    assert float(lo["energy_j"]) < float(hi["energy_j"])
    assert (out / "pareto_energy_accuracy.png").is_file()


def test_explore_race_it_priced_only(tmp_path):
    """The real evaluate, pricing only (no network simulation): a few seconds. The cheap
    stand-in for the slow test above."""
    rows = ex.explore("race-it", {"dac.bits": [6, 8]}, tmp_path, progress=False,
                      accuracy=False)
    assert [r["status"] for r in rows] == ["ok", "ok"], rows
    lo, hi = rows
    for r in rows:
        assert 0 < r["energy_j"] < math.inf and 0 < r["latency_s"] < math.inf
        # every RACE-IT energy figure in race-it.toml is source = "spice" (the DAC,
        # buffer, adder and outlier MAC from SKY130 ngspice models): a share of 1
        assert r["accuracy_metric"] is None
        assert r["spice_energy_share"] == pytest.approx(1.0, abs=1e-12)
    # 5 or 7 magnitude planes, the top two read 4 and 2 times: 9 / 11 plane reads
    assert lo["energy_breakdown_j"]["dac"] == pytest.approx(
        9 / 11 * hi["energy_breakdown_j"]["dac"], rel=1e-9, abs=0)
    assert lo["energy_breakdown_j"]["crossbar"] < hi["energy_breakdown_j"]["crossbar"]
    assert (tmp_path / "pareto_energy_accuracy.png").is_file()  # says: not simulated
