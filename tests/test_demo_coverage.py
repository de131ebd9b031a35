"""The demo's own sweeps cover every operating point the three descriptions price.

``imcspice demo`` fits its models from small sweeps (``imcspice.demo.DEMO``), then prices
RACE-IT, HeTraX and the gain-cell design with them. A point outside a sweep is clipped to
it and the report says so: the figure is then not the circuit the description names.
These checks need no SPICE: a fitted model's valid box is the span of its sweep (every
numeric recipe parameter, at its default where not swept, and the temperatures), and the
descriptions' points are resolved by the pricing code itself
(:func:`imcspice.accelerators.components.operating_point`).
"""
from types import SimpleNamespace

import pytest

from imcspice.accelerators import arch as A
from imcspice.accelerators.components import MAPPED, operating_point
from imcspice.accelerators.thermal_coupled import _model_names
from imcspice.characterize.defaults import FULL
from imcspice.characterize.recipe import RECIPES
from imcspice.demo import DEMO


def _demo_entry(model_name: str):
    """The DEMO entry that writes the model a description names (the file is named for
    the entry)."""
    assert model_name in DEMO, f"the demo sweeps no {model_name!r} model, which a " \
        "description prices"
    return DEMO[model_name]


def _box(entry, quantity: str):
    """A stand-in for the model a DEMO entry fits: its valid box over the recipe's
    numeric parameters and temperature (the fitter's box: tests/test_models.py)."""
    rec = RECIPES[entry.recipe]
    rng = {"temp_c": [min(entry.temps_c), max(entry.temps_c)]}
    for p in rec.params:
        if p.kind != "number":
            continue
        vals = [float(v) for v in entry.axes.get(p.name, [p.default])]
        rng[p.name] = [min(vals), max(vals)]
    return SimpleNamespace(kind=entry.recipe, valid_range=rng,
                           functions={quantity: SimpleNamespace(inputs=list(rng))})


def _terms(arch):
    """(component, fields of one spice term) for every model term a description prices
    at a fixed point (terms at the mapped crossbar loads are priced over their own
    sweep axis, :mod:`imcspice.accelerators.xbar_loads`)."""
    for c in arch.components.values():
        for s in c.figures.values():
            if s.source != "spice":
                continue
            for t in [s.fields] + list(s.fields.get("plus", [])):
                at = t.get("at", {})
                if "model" in t and MAPPED not in at.values():
                    yield c, {"model": t["model"], "quantity": t["quantity"], "at": at}


@pytest.mark.parametrize("name", ["race-it", "hetrax", "gaincell"])
def test_demo_sweeps_cover_every_priced_point(name):
    arch = A.load(name)
    clipped = []
    for comp, t in _terms(arch):
        box = _box(_demo_entry(t["model"]), t["quantity"])
        _, notes = operating_point(arch, comp, t, box, t["quantity"])
        clipped += [f"{comp.name}: {t['model']} {n}" for n in notes]
    assert not clipped, clipped


def test_hetrax_tier_models_span_the_shipped_temperatures():
    """HeTraX prices each tier group at its solved temperature (27-95 C over the
    workloads): every model its tiers read spans the shipped model's temperatures in the
    demo too, or the demo report's periphery is the 27 C figure with a clipping note."""
    arch = A.load("hetrax")
    short = {}
    for tier in arch.floorplan["tiers"].values():
        for c in tier["components"]:
            for m in _model_names(arch.components[c]):
                if m == "crossbar-column":      # its own, coarser demo span (27, 85 C)
                    continue
                demo, full = DEMO[m].temps_c, FULL[m].temps_c
                if (min(demo), max(demo)) != (min(full), max(full)):
                    short[m] = (demo, full)
    assert not short, short
