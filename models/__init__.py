"""Compact behavioral models fitted from ngspice sweeps, evaluated with numpy alone.

    from imcspice.models import load
    m = load("nfet.model.h5")
    i = m.evaluate("id_a", vds_v=vds, vgs_v=vgs, corner="tt", temp_c=27)

This package never imports PySpice or ``imcspice.characterize``: a model file is
data (``store``), evaluation is numpy (``grid``, ``forms``). Fitting lives in
``imcspice.characterize.fit``.
"""
from . import acam, crossbar, gaincell, memristor, mosfet, ota  # noqa: F401  (register model kinds)
from .base import KINDS, BehavioralModel, Function, ModelFileError, OutOfRangeWarning
from .store import describe, load, save

__all__ = ["KINDS", "BehavioralModel", "Function", "ModelFileError", "OutOfRangeWarning",
           "describe", "load", "save"]
