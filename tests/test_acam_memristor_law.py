"""The ACAM's memristors are the one device law: netlists/acam.spice defines no law of its
own and instantiates imc_memristor_vc (netlists/memristor.spice), which ngspice evaluates
as imc_memristor at the same state, voltage and temperature, both equal to the hand law
of the memristor header (metallic filament + Stanford-PKU gap term)."""
from __future__ import annotations

import math
import re
import subprocess

import pytest

from imcspice import netlists
from imcspice.circuits import acam as ac

KB = 8.617333262e-5                                   # eV/K, CODATA 2018
GQ = 2 * 1.602176634e-19 ** 2 / 6.62607015e-34       # 2e^2/h, S


def _hand(v, g, t_c, v0=0.5, alpha=1.0e-3, ea=0.10):
    fm = g * g / (g * g + GQ * GQ)
    act = math.exp(ea / KB * (1 / 300.15 - 1 / (t_c + 273.15)))
    return fm * g * v / (1 + alpha * (t_c - 27.0)) + (1 - fm) * g * v0 * math.sinh(v / v0) * act \
        + v / 1e12


def test_acam_deck_uses_the_shared_memristor_law():
    text = netlists.path("acam.spice").read_text()
    assert not re.search(r"^\s*B", text, re.M)          # no behavioural source of its own
    assert len(re.findall(r"^X\S+ .*imc_memristor_vc", text, re.M)) == 2   # M1, M2
    assert ac.includes()[0] == netlists.include("memristor.spice")


@pytest.mark.parametrize("temp_c", [27.0, 85.0])
def test_control_node_memristor_is_imc_memristor(tmp_path, temp_c):
    cases = [(5e-6, 0.2), (30e-6, -0.45), (120e-6, 0.55)]   # g [S], V
    lines = ["* imc_memristor_vc vs imc_memristor", ".param MC_MM_SWITCH=0",
             netlists.include("memristor.spice")]
    for k, (g, v) in enumerate(cases):
        lines += [f"Vc{k} c{k} 0 {g * 1e6}",
                  f"Xg{k} a{k} 0 c{k} imc_memristor_vc v0=0.5", f"Va{k} a{k} 0 {v}",
                  f"Xm{k} b{k} 0 imc_memristor g={g} v0=0.5", f"Vb{k} b{k} 0 {v}"]
    lines += [f".temp {temp_c}", ".control", "set numdgt=12", "op"]
    lines += [f"print va{k}#branch vb{k}#branch" for k in range(len(cases))]
    lines += [".endc", ".end"]
    f = tmp_path / "vc.cir"
    f.write_text("\n".join(lines) + "\n")
    out = subprocess.run(["ngspice", "-b", str(f)], capture_output=True, text=True,
                         timeout=60).stdout
    vals = {ln.split("=")[0].strip(): -float(ln.split("=")[1]) for ln in out.splitlines()
            if "#branch =" in ln}
    for k, (g, v) in enumerate(cases):
        want = _hand(v, g, temp_c)
        assert vals[f"va{k}#branch"] == pytest.approx(want, rel=1e-6, abs=0), out
        assert vals[f"vb{k}#branch"] == pytest.approx(want, rel=1e-6, abs=0), out
