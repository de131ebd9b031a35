"""imc_memristor (netlists/memristor.spice): filament + gap read law with temperature.

Expected values are hand calculations of the published forms (Stanford-PKU gap term
I0 exp(-gap/g0) sinh(V/V0); metallic filament G/(1 + alpha dT); Arrhenius gap
activation), written out here independently of imcspice.models.memristor."""
from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest

from imcspice import netlists
from imcspice.circuits import crossbar as cb
from imcspice.models import memristor as mm

KB = 8.617333262e-5          # eV/K, CODATA 2018
GQ = 2 * 1.602176634e-19 ** 2 / 6.62607015e-34   # 2e^2/h = 77.48 uS (SI exact constants)


def _hand(v, g, t_c, v0=0.5, alpha=1.0e-3, ea=0.10):
    fm = g * g / (g * g + GQ * GQ)
    metal = fm * g * v / (1 + alpha * (t_c - 27.0))
    gap = (1 - fm) * g * v0 * math.sinh(v / v0) * math.exp(ea / KB * (1 / 300.15 - 1 / (t_c + 273.15)))
    return metal + gap + v / 1e12


def test_constants_are_the_physical_ones():
    assert mm.G_Q_S == pytest.approx(GQ, rel=1e-9, abs=0)
    assert mm.K_B_EV == pytest.approx(1.380649e-23 / 1.602176634e-19, rel=1e-9, abs=0)


@pytest.mark.parametrize("v, g, t", [(0.2, 1e-6, 27.0), (0.2, 30e-6, 85.0),
                                     (-0.55, 150e-6, 95.0), (0.4, 77.48e-6, 60.0)])
def test_numpy_law_matches_hand_calculation(v, g, t):
    # 1e-9: the model's G_Q is the CODATA value to 1.1e-10 (the currents agree to 5e-11);
    # abs=0, or pytest's default 1e-12 A would swamp a micro-amp current's tolerance
    want = _hand(v, g, t)
    assert mm.read_current(v, g, 0.5, t) == pytest.approx(want, rel=1e-9, abs=0)
    assert cb.cell_current(v, g, "1t1r", 0.5, t) == pytest.approx(want, rel=1e-9, abs=0)


def test_g_keeps_its_meaning_at_the_reference_temperature():
    """g is the low-field conductance at 27 C for every state (the decks rely on it)."""
    g = np.array([1e-6, 10e-6, 77.48e-6, 150e-6])
    np.testing.assert_allclose(mm.conductance_tc(g, 27.0), g, rtol=1e-9)


def test_temperature_coefficient_sign_and_magnitude():
    """HRS (gap-dominated): d ln G/dT = Ea/(kB T0^2) = 1.288 %/K for Ea = 0.10 eV;
    strong metallic filament (g >> G_Q): -alpha = -0.1 %/K; the sign changes with state
    (LRS metallic, HRS semiconducting: Walczyk et al. TED 2011, Fang et al. EDL 2010)."""
    def tcr(g):
        return (math.log(mm.conductance_tc(g, 28.0)) - math.log(mm.conductance_tc(g, 26.0))) / 2
    assert tcr(0.1e-6) == pytest.approx(0.10 / (KB * 300.15 ** 2), rel=2e-3, abs=0)
    assert tcr(100e-3) == pytest.approx(-1.0e-3, rel=5e-3, abs=0)
    assert tcr(1e-6) > tcr(30e-6) > tcr(150e-6) > 0 > tcr(3e-3)


def test_state_changes_the_shape():
    """The I-V non-linearity I(0.4)/(2 I(0.2)) - 1 falls as the filament turns metallic."""
    def nl(g):
        return mm.read_current(0.4, g, 0.5, leak=False) / (2 * mm.read_current(0.2, g, 0.5,
                                                                                leak=False)) - 1
    hrs_gap_only = math.sinh(0.8) / (2 * math.sinh(0.4)) - 1
    assert nl(1e-6) == pytest.approx(hrs_gap_only, rel=1e-3, abs=0)
    assert nl(150e-6) < 0.3 * nl(1e-6)


def test_ngspice_runs_the_subcircuit_with_temper_and_dg(tmp_path):
    """ngspice 46 evaluates `temper` inside the B-source: the deck at 27 and 85 C matches
    the hand law, including a per-instance dg."""
    deck = [".param MC_MM_SWITCH=0", netlists.include("memristor.spice"),
            "Xa a 0 imc_memristor g=30u v0=0.5", "Va a 0 0.2",
            "Xb b 0 imc_memristor g=30u v0=0.5 dg=5u", "Vb b 0 -0.4",
            ".control", "op", "print va#branch", "print vb#branch", ".endc", ".end"]
    for t in (27.0, 85.0):
        f = tmp_path / f"m{int(t)}.cir"
        f.write_text("* memristor temper\n" + "\n".join(deck[:6]) + f"\n.temp {t}\n" +
                     "\n".join(deck[6:]) + "\n")
        out = subprocess.run(["ngspice", "-b", str(f)], capture_output=True, text=True,
                             timeout=30).stdout
        vals = {ln.split("=")[0].strip(): -float(ln.split("=")[1]) for ln in out.splitlines()
                if "#branch =" in ln}
        assert vals["va#branch"] == pytest.approx(_hand(0.2, 30e-6, t), rel=1e-5, abs=0), out
        assert vals["vb#branch"] == pytest.approx(_hand(-0.4, 35e-6, t), rel=1e-5, abs=0), out


def _run(tmp_path, name, lines):
    f = tmp_path / f"{name}.cir"
    f.write_text(f"* {name}\n" + "\n".join(lines) + "\n.end\n")
    out = subprocess.run(["ngspice", "-b", str(f)], capture_output=True, text=True,
                         timeout=60).stdout
    return {ln.split("=")[0].strip(): -float(ln.split("=")[1]) for ln in out.splitlines()
            if "#branch =" in ln}, out


def test_control_node_variant_is_the_same_law(tmp_path):
    """imc_memristor_vc (conductance in uS on a node, for re-programmable cells) at 85 C."""
    vals, out = _run(tmp_path, "vc", [
        ".param MC_MM_SWITCH=0", netlists.include("memristor.spice"), "Vg gc 0 30",
        "X1 c 0 gc imc_memristor_vc", "Vc c 0 -0.45", ".temp 85",
        ".control", "op", "print vc#branch", ".endc"])
    assert vals["vc#branch"] == pytest.approx(_hand(-0.45, 30e-6, 85.0), rel=1e-5, abs=0), out


@pytest.mark.parametrize("switch", [0, 1])
def test_monte_carlo_draws_per_instance(tmp_path, switch):
    """Under MC_MM_SWITCH=1 every instance draws its own programming error and read-noise
    sample: sigma_G = sqrt(sgd g + rtn^2 g g_q) (bounded 3-sigma normal: std x 0.9865),
    sgd = 0.27 uS, rtn = 0.5 %; 300 instances give the std within ~4 % (1 sigma).
    With the switch 0 (nominal decks) every instance is exactly nominal."""
    n, g, v = 300, 50e-6, 1e-3
    lines = [f".param MC_MM_SWITCH={switch}", netlists.include("memristor.spice")]
    for k in range(n):
        lines += [f"X{k} n{k} 0 imc_memristor g={g}", f"V{k} n{k} 0 {v}"]
    lines += [".control", "setseed 11", "reset", "op", "set numdgt=9"] + \
        [f"print v{k}#branch" for k in range(n)] + [".endc"]
    vals, out = _run(tmp_path, "mc", lines)
    gs = np.array([vals[f"v{k}#branch"] for k in range(n)]) / v - 1e-12
    if not switch:
        np.testing.assert_allclose(gs, g, rtol=1e-6)
        return
    sigma = math.sqrt(0.27e-6 * g + 0.005 ** 2 * g * GQ) * 0.9865
    assert abs(gs.mean() - g) < 4 * sigma / math.sqrt(n)
    assert gs.std(ddof=1) == pytest.approx(sigma, rel=0.15, abs=0)
    assert len(np.unique(np.round(gs, 12))) == n           # one draw per instance


def test_python_sampler_matches_the_spice_statistics():
    """sample_dg_s (the behavioral MC path) draws the same distribution at 27 C (its read
    part also carries the Johnson term: +(4 kB T g / 2t)/V^2, at 50 uS 0.1 % of it)."""
    g = np.full(40_000, 50e-6)
    dg = mm.sample_dg_s(g, 3, temp_c=27.0)
    johnson2 = 4 * 1.380649e-23 * 300.15 * 50e-6 / (2 * 20e-9) / 0.2 ** 2
    sigma = math.sqrt((0.27e-6 * 50e-6) * 0.9865 ** 2 + 0.005 ** 2 * 50e-6 * GQ + johnson2)
    assert dg.std() == pytest.approx(sigma, rel=0.03, abs=0)
    assert abs(dg.mean()) < 4 * sigma / math.sqrt(g.size)
