"""Per-instance memristor variability in Monte-Carlo sweeps (real ngspice through the
engine): imc_memristor draws its own programming error and read noise under --mc; the
ACAM MC recipe draws M1/M2's conductances. Expected spreads are the hand formula
sigma_G = sqrt(G_defect G + rtn^2 G g_q) (G_defect = 0.27 uS, rtn = 0.5 %, g_q = 2e^2/h)."""
from __future__ import annotations

import math

import numpy as np

from imcspice.characterize.recipes import get_recipe
from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec
from imcspice.circuits.technology import get_technology

GQ_US = 2 * 1.602176634e-19 ** 2 / 6.62607015e-34 * 1e6


def test_memristor_iv_spreads_under_mc(pool, tmp_path):
    n, g = 24, 50.0
    raw = run_sweep(SweepSpec("memristor-iv", {"g_us": [g]}, mc=n, seed=5),
                    tmp_path / "mc.raw.h5", pool=pool, progress=False)
    assert raw.status_counts() == {"ok": n}
    v = np.asarray(raw.axis("v_v"))
    k = int(np.argmin(np.abs(v - 0.05)))            # near-ohmic read at 50 mV
    i = np.asarray(raw.data["i_a"]).reshape(n, -1)[:, k]
    g_read_us = i / v[k] * 1e6 / (1 + 0.0)          # 27 C: g is the low-field value
    # at 50 mV the sinh excess of the gap share is (sinh(0.1)/0.1 - 1) = 0.17 %
    g_read_us /= 1 + (1 - g ** 2 / (g ** 2 + GQ_US ** 2)) * (math.sinh(0.1) / 0.1 - 1)
    sigma = math.sqrt(0.27 * g + 0.005 ** 2 * g * GQ_US) * 0.9865
    assert abs(g_read_us.mean() - g) < 4 * sigma / math.sqrt(n)
    # a sample std of 24 normal draws has a standard error of 15 %
    assert 0.55 * sigma < g_read_us.std(ddof=1) < 1.45 * sigma
    nom = run_sweep(SweepSpec("memristor-iv", {"g_us": [g]}), tmp_path / "n.raw.h5",
                    pool=pool, progress=False)
    i0 = np.asarray(nom.data["i_a"]).ravel()[k]
    assert abs(i0 / v[k] * 1e6 / (1 + (1 - g ** 2 / (g ** 2 + GQ_US ** 2)) *
                                  (math.sinh(0.1) / 0.1 - 1)) - g) < 1e-6 * g


def test_acam_mc_deck_draws_both_memristors():
    """acam-mc programs M1/M2 through per-sample draws gated by SKY130's mismatch switch;
    acam-window (nominal recipe) does not."""
    tech = get_technology("sky130")
    r = get_recipe("acam-mc")
    p = {q.name: q.default for q in r.params}
    deck = r.netlist(tech, p, "tt", 27.0, mismatch=True)
    assert deck.count("agauss(0, 1, 1)") >= 4 and "MC_MM_SWITCH*mem_var*" in deck
    assert "g_low_us={g_low_mc}" in deck and "g_high_us={g_high_mc}" in deck
    w = get_recipe("acam-window").netlist(tech, p, "tt", 27.0, mismatch=True)
    assert "g_low_mc" not in w
