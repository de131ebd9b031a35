"""HeTraX evaluated end to end (`imcspice evaluate --arch hetrax`: cost and tier
temperature solved together, accuracy against temperature) on behavioral models fitted from
real (tiny) ngspice sweeps (conftest's tiny_models), and its exact ablation cases."""
import json
import tomllib

import numpy as np
import pytest

from evaluation_checks import PROTOCOLS, SMALL, consistent
from imcspice.accelerators import arch
from imcspice.accelerators.accuracy import Protocol
from imcspice.cli import main
from plotcheck import check_png, saved_figures


@pytest.mark.parametrize("protocol", PROTOCOLS, indirect=True)
def test_hetrax_thermal_coupling(tiny_models, tmp_path, protocol):
    d, _ = tiny_models
    # the ablation (ten more network runs) only at --quick size; in CI its exact cases
    # are test_hetrax_ablation_cancels_where_the_physics_says's
    ablation = protocol is not SMALL
    with saved_figures() as figs:
        rc = main(["evaluate", "--arch", "hetrax", "--models", str(d),
                   "--set", "crossbar.accuracy_temp_points=2",
                   "--quick", "--quiet", "--out", str(tmp_path)]
                  + ([] if ablation else ["--no-ablation"]))
    assert rc == 0
    rep = json.loads((tmp_path / "report.json").read_text())
    th = rep["thermal"]
    # accuracy against tier temperature: at the ends of 27-95 C, read with the cells
    # programmed and calibrated at 27 C. Each tile's reference column pair, read at the
    # tier temperature, cancels the conductance drift to first order (temp_reference
    # "tile"), so what is left is mostly the read noise's sqrt(T·G) growth; on these tiny
    # models the change is bounded at 1e-2, far from a gain collapse (without the
    # reference 0.34 at 95 C, docs/devices.md; the shipped models lose 0.016 at 95 C
    # over 4 chips). The sign is not asserted: on 2 texts x 2 chips the read-noise draws
    # decide it (the torch path measured 0.9759 at 27 C and 0.9789 at 95 C on one chip)
    curve = rep["accuracy"]["vs_temperature"]
    assert curve["temp_c"] == pytest.approx([27.0, 95.0], rel=1e-6, abs=0)
    assert abs(curve["cosine_mean"][1] - curve["cosine_mean"][0]) < 1e-2
    # on the main figure's chips (the protocol's seeds), the same chips at both ends:
    # per temperature the mean and std (ddof 1) over them, and per chip the paired
    # difference c(95 C) - c(27 C), resolved where its two-sided 95 % Student-t interval
    # excludes 0 (t quantiles from the published table)
    n = protocol.seeds
    assert curve["chip_seeds"] == list(range(n))
    per = np.array(curve["cosine_per_seed"])
    assert per.shape == (2, n)
    assert curve["cosine_mean"] == pytest.approx(per.mean(axis=1), abs=1e-12)
    assert curve["cosine_std"] == pytest.approx(per.std(axis=1, ddof=1), abs=1e-12)
    d = per[1] - per[0]
    assert curve["ref_temp_c"] == 27.0 and curve["diff_mean"][0] == 0.0
    assert curve["diff_per_seed"][1] == pytest.approx(d, abs=1e-12)
    assert curve["diff_mean"][1] == pytest.approx(d.mean(), abs=1e-12)
    assert curve["diff_std"][1] == pytest.approx(d.std(ddof=1), abs=1e-12)
    t95 = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776}[n]
    assert curve["diff_ci95"][1] == pytest.approx(t95 * d.std(ddof=1) / np.sqrt(n), rel=1e-4, abs=0)
    assert curve["resolved"][1] == bool(abs(d.mean()) > curve["diff_ci95"][1])
    drawn = {p.stem: f for f, p in figs}["accuracy_vs_temperature"]
    assert list(drawn.axes[0].containers[0].lines[0].get_ydata()) == pytest.approx(
        curve["cosine_mean"], rel=1e-12, abs=0)
    assert list(drawn.axes[1].containers[0].lines[0].get_ydata()) == pytest.approx(
        curve["diff_mean"], abs=1e-12)
    md = (tmp_path / "report.md").read_text()
    assert "Accuracy vs. ReRAM tier temperature" in md
    # a clock tree on every die, priced per tier group and heating its tiers
    clock = {e["figure"]: e for e in rep["energy_entries"] if e["component"] == "clock_tree"}
    assert set(clock) == {"sm_energy", "reram_energy"}
    assert "2 x H-tree" in clock["sm_energy"]["detail"] and \
        f"{rep['thermal']['tier_group_dies']['reram']} x H-tree" in clock["reram_energy"]["detail"]
    clock = {k: e["amount"] for k, e in clock.items()}
    assert min(clock.values()) > 0
    assert f"Clock distribution: {100 * sum(clock.values()) / rep['energy_j']:.1f} % of" in md
    # the same converters' feed as RACE-IT's: the undesigned sample-and-hold is stated
    assert "sample-and-hold" in rep["accuracy"]["omitted"][0] and "sample-and-hold" in md
    assert not any("OR of the tile" in o for o in rep["accuracy"]["omitted"])
    assert th["reram_peak_c"] > 45.0                   # above the 45 C ambient
    # the ReRAM group's dies fitted to its area (count = "fit"): the fewest that hold it
    n = th["tier_group_dies"]["reram"]
    assert th["tier_group_fitted"] == ["reram"] and th["tier_group_dies"]["sm"] == 2
    assert set(th["tier_peak_c"]) == {"sm0", "sm1"} | {f"reram{i}" for i in range(n)}
    # the floorplan holds the mapped area; the thermal die is the floorplan's
    die = tomllib.loads((arch.ARCH_DIR / "hetrax.toml").read_text())["floorplan"]["die_mm2"]
    assert th["die_mm2"] == die and th["tiers"] == 2 + n
    used = th["tier_group_area_mm2"]["reram"]
    assert die * (n - 1) < used <= die * n
    assert rep["area_mm2"] <= th["die_mm2"] * th["tiers"]
    # the map draws one image per tier, each peaking at the tier's reported peak
    fig = {p.stem: f for f, p in figs}["temperature_map"]
    peaks = [float(im.get_array().max()) for ax in fig.axes for im in ax.get_images()]
    assert sorted(peaks) == pytest.approx(sorted(th["tier_peak_c"].values()), rel=1e-12, abs=0)
    check_png(fig, tmp_path / "temperature_map.png")
    acc = rep["accuracy"]
    assert acc["simulated"]
    assert acc["cosine_mean"] == pytest.approx(np.mean(acc["seeds"]), abs=1e-12)
    assert len(acc["seeds"]) == protocol.seeds
    assert rep["accuracy"]["temp_c"] == pytest.approx(th["reram_peak_c"], rel=1e-6, abs=0)
    # ... and the ReRAM tiers are priced at the same temperature (thermal_coupled): the
    # crossbar's figures at the converged pricing temperature, within the tolerance of
    # the peak the accuracy is read at
    assert th["converged"] and th["iterations"][0]["priced_c"] == {"reram": 27.0}
    t_cost = th["component_temp_c"]["crossbar"]
    assert abs(t_cost - th["reram_peak_c"]) < th["tol_c"]
    xb = [e for e in rep["energy_entries"] if e["component"] == "crossbar"]
    assert xb and all(f"'temp_c': {float(f'{t_cost:.6g}')!r}" in e["detail"] for e in xb)
    assert "Cost and temperature solved together" in (tmp_path / "report.md").read_text()
    for k in ("median", "max", "min"):      # priced at the simulated chip's bit lines
        assert rep["crossbar_priced_loads"][k] == pytest.approx(acc["crossbar_loads"][k],
                                                                rel=1e-5, abs=0), k
    consistent(rep)
    if not ablation:
        assert acc["ablation_skipped"] and "ablation" not in acc
        return
    # ideal hardware (every non-ideality and the quantization off) computes FP32's
    # arithmetic: the embeddings are FP32's up to float rounding
    assert acc["all_off"] > 0.99999
    # IR drop alone: the ablation runs at the stack temperature, with the trims of the
    # 27 C drop (no exact cancellation hot; where it cancels, at t_program_c:
    # test_hetrax_ablation_cancels_where_the_physics_says; the hot residual by hand:
    # tests/test_hetrax_ir_trim.py)
    assert set(rep["accuracy"]["ablation"]) == {"quantization", "ir_drop", "programming_noise"}


def test_hetrax_ablation_cancels_where_the_physics_says(tiny_models):
    """HeTraX's exact ablation cases on a 2-text, 1-seed protocol: ideal hardware
    computes FP32's embeddings, also with the ReRAM tiers read hot (85 C, programmed at
    27 C); read at the programming temperature, the IR drop alone cancels (each bit line
    trimmed at its own mapped load with the same drop law) and changes nothing on top of
    quantization. Read hot, the trims of the 27 C drop leave the drop's change with T
    (what the tile reference does not track): tests/test_hetrax_ir_trim.py, by hand."""
    from imcspice.accelerators import arch, hardware
    from imcspice.accelerators.accuracy import MiniLMRun
    from imcspice.accelerators.analog import Nonideal
    from imcspice.accelerators.machines.hetrax import _make
    d, _ = tiny_models
    # the exact cancellation is the "column" profile's: every cell takes its bit line's
    # loss (the shipped "compensated" mapping is checked against it below)
    a = arch.load("hetrax", ["crossbar.ir_profile=column"])
    hw = hardware.HardwareModels.from_dir(d, corner=a.corner, temp_c=a.temp_c)
    run = MiniLMRun(True, Protocol(sentences=2, seeds=1, calibration=2))
    t_program = float(a.component("crossbar")["t_program_c"])
    hot, cold = _make(a, hw, 85.0), _make(a, hw, t_program)
    names = ("ir_drop", "programming_noise")

    def cosine(*on, make=cold):
        return run.compare(make, Nonideal.only(on), 0, False, "+".join(on), names)[
            "cosine_mean"]
    assert cosine(make=hot) > 0.99999
    assert cosine("ir_drop") > 0.99999
    q = cosine("quantization")
    assert 0.0 < q < 1.0
    assert cosine("ir_drop", "quantization") == pytest.approx(q, abs=1e-4)
    # by position along the bit line, the IR drop alone no longer cancels; the mapping
    # that sets each target against its position takes back most of it (what is left:
    # the cells clipped at the conductance range)
    ladder, comp = (MiniLMRun(True, Protocol(sentences=2, seeds=1, calibration=2)).compare(
        _make(arch.load("hetrax", [f"crossbar.ir_profile={p}"]), hw, t_program),
        Nonideal.only(["ir_drop"]), 0, False, p, names)["cosine_mean"]
        for p in ("ladder", "compensated"))
    assert ladder < comp < 1.0
    assert 1.0 - comp < 0.1 * (1.0 - ladder)
