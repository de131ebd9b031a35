"""A small crossbar layer on RACE-IT's shipped device, shared by the tests of the
bit-serial read's forms (test_torch_bitserial.py, test_plane_schedule.py)."""
from dataclasses import replace

import numpy as np

from imcspice.accelerators import arch as arch_mod
from imcspice.accelerators import hardware


def race_it_layer():
    """(device without the TIAs' noise, weights (24, 300): 3 row tiles of 128, 128, 44,
    inputs (64, 300)). Channels of unequal range against one DAC full scale (as in a
    transformer): most codes are small, so the high planes are mostly empty or equal to
    the sign plane. The TIAs' noise is left out so that codes can be compared with exact
    arithmetic; tests that need it set ``col_sigma`` themselves."""
    a = arch_mod.load("race-it")
    hw = hardware.HardwareModels.from_dir(None, corner=a.corner, temp_c=a.temp_c)
    dev = replace(hardware.crossbar_device(hw, a.component("crossbar")), tia_noise_a=None)
    rng = np.random.default_rng(7)
    w = rng.normal(0, 0.1, (24, 300)).astype(np.float32)
    x = (rng.normal(0, 1, (64, 300)) * rng.uniform(0.03, 1.0, 300)).astype(np.float32)
    return dev, w, x
