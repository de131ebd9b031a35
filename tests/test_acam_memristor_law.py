"""The ACAM's control-node memristor (netlists/acam.spice, imc_memristor_gc) is the same
device as imc_memristor (netlists/memristor.spice): ngspice gives both the same current
at the same state, voltage, temperature and programming error, and both equal the hand
law of the memristor header (metallic filament + Stanford-PKU gap term)."""
from __future__ import annotations

import math
import subprocess

import pytest

from imcspice import netlists

KB = 8.617333262e-5                                   # eV/K, CODATA 2018
GQ = 2 * 1.602176634e-19 ** 2 / 6.62607015e-34       # 2e^2/h, S
#: the netlists write 2e^2/h to four digits (gq=77.48u): the hand law uses their value
GQ_NETLIST = round(GQ * 1e6, 2) * 1e-6


def _hand(v, g, t_c, v0=0.5, alpha=1.0e-3, ea=0.10):
    fm = g * g / (g * g + GQ_NETLIST ** 2)
    act = math.exp(ea / KB * (1 / 300.15 - 1 / (t_c + 273.15)))
    return fm * g * v / (1 + alpha * (t_c - 27.0)) + (1 - fm) * g * v0 * math.sinh(v / v0) * act \
        + v / 1e12


CASES = [(5e-6, 0.0, 0.2), (30e-6, 4e-6, -0.45), (120e-6, -7e-6, 0.55)]   # g, dg [S], V


@pytest.mark.parametrize("temp_c", [27.0, 85.0])
def test_control_node_memristor_is_imc_memristor(tmp_path, temp_c):
    lines = ["* imc_memristor_gc vs imc_memristor", netlists.include("memristor.spice"),
             netlists.include("acam.spice")]
    for k, (g, dg, v) in enumerate(CASES):
        lines += [f"Vc{k} c{k} 0 {g * 1e6}",
                  f"Xg{k} a{k} 0 c{k} imc_memristor_gc v0=0.5 dg={dg}", f"Va{k} a{k} 0 {v}",
                  f"Xm{k} b{k} 0 imc_memristor g={g} v0=0.5 dg={dg}", f"Vb{k} b{k} 0 {v}"]
    lines += [f".temp {temp_c}", ".control", "set numdgt=12", "op"]
    lines += [f"print va{k}#branch vb{k}#branch" for k in range(len(CASES))]
    lines += [".endc", ".end"]
    f = tmp_path / "gc.cir"
    f.write_text("\n".join(lines) + "\n")
    out = subprocess.run(["ngspice", "-b", str(f)], capture_output=True, text=True,
                         timeout=60).stdout
    vals = {ln.split("=")[0].strip(): -float(ln.split("=")[1]) for ln in out.splitlines()
            if "#branch =" in ln}
    for k, (g, dg, v) in enumerate(CASES):
        want = _hand(v, g + dg, temp_c)
        assert vals[f"va{k}#branch"] == pytest.approx(want, rel=1e-6), out
        assert vals[f"vb{k}#branch"] == pytest.approx(want, rel=1e-6), out
