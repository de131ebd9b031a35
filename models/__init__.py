"""Compact behavioral models fitted from ngspice sweeps, evaluated with numpy alone.

    from imcspice.models import load
    m = load("nfet.model.h5")
    i = m.evaluate("id_a", vds_v=vds, vgs_v=vgs, corner="tt", temp_c=27)

This package never imports PySpice or ``imcspice.characterize``: a model file is
data (``store``), evaluation is numpy (``grid``, ``forms``). Fitting lives in
``imcspice.characterize.fit``.
"""
from ..registry import import_submodules
from .base import KINDS, BehavioralModel, Function, ModelFileError, OutOfRangeWarning
from .store import describe, load, save

# every module of models/ is imported here, so each registers its kinds and forms
# (``@register_kind``, ``FORMS.add``) without being listed anywhere
import_submodules(__name__)

__all__ = ["KINDS", "BehavioralModel", "Function", "ModelFileError", "OutOfRangeWarning",
           "describe", "load", "save"]
