"""Decks loaded without ngspice's HSPICE compatibility mode (engine.NATIVE_COMPAT_LINE):
the same currents as under ``ngbehavior=hsa``, in half the Newton iterations."""
import re

import numpy as np
import pytest

from imcspice.characterize import ngspice
from imcspice.characterize.engine import NATIVE_COMPAT_LINE
from imcspice.characterize.recipes import get_recipe
from imcspice.circuits.technology import Sky130


def _sweep(recipe, netlist):
    ng = ngspice.get()
    ng.load(netlist)
    r = get_recipe(recipe)
    p = r.resolve({"w_um": 0.42})
    out = r.measure(ng.run(r.commands(p)), p)
    msgs = ng.command("rusage totiter")
    iters = int(re.search(r"iterations\s*=\s*(\d+)", " ".join(msgs)).group(1))
    return out["id_a"], iters


@pytest.mark.parametrize("recipe,corner,temp_c", [("nfet-iv", "tt", 27.0),
                                                  ("nfet-iv", "ff", -40.0),
                                                  ("pfet-iv", "ss", 125.0)])
def test_device_iv_without_hspice_mode_gives_the_same_currents(recipe, corner, temp_c):
    r = get_recipe(recipe)
    net = r.netlist(Sky130(), r.resolve({"w_um": 0.42}), corner, temp_c)
    assert NATIVE_COMPAT_LINE in net
    i_native, it_native = _sweep(recipe, net)
    i_hsa, it_hsa = _sweep(recipe, net.replace(NATIVE_COMPAT_LINE + "\n", ""))
    # both are Newton solutions of the same equations to reltol 1e-3 (ngspice default);
    # measured: 1.8e-7 of full scale apart (nfet tt 27 C)
    fs = np.max(i_hsa)
    assert np.max(np.abs(i_native - i_hsa)) < 1e-5 * fs
    # hs mode restarts every sweep point from junction initialisation (dctrcurv.c):
    # measured 11,615 vs 5,548 iterations for 703 points
    assert it_native < 0.6 * it_hsa, (it_native, it_hsa)
