"""The demo's own sweeps cover every operating point the three descriptions price.

``imcspice demo`` fits its models from small sweeps (``imcspice.demo.DEMO``), then prices
RACE-IT, HeTraX and the gain-cell design with them. A point outside a sweep is clipped to
it and the report says so: the figure is then not the circuit the description names.
These checks need no SPICE: a fitted model's valid box is the span of its sweep (every
numeric recipe parameter, at its default where not swept, and the temperatures), and the
descriptions' points are resolved by the pricing code itself
(:func:`imcspice.accelerators.components.operating_point`).
"""
from functools import lru_cache
from types import SimpleNamespace

import pytest

from imcspice.accelerators import arch as A
from imcspice.accelerators.components import MAPPED, operating_point
from imcspice.accelerators.hardware import DEFAULT_MODELS_DIR
from imcspice.accelerators.thermal_coupled import _model_names
from imcspice.characterize.defaults import FULL
from imcspice.characterize.recipe import RECIPES
from imcspice.demo import DEMO
from imcspice.models.store import load


def _demo_entry(model_name: str):
    """The DEMO entry that writes the model a description names (the file is named for
    the entry)."""
    assert model_name in DEMO, f"the demo sweeps no {model_name!r} model, which a " \
        "description prices"
    return DEMO[model_name]


@lru_cache(maxsize=None)
def _shipped(model: str):
    """The shipped model file of that name, read once per test session."""
    return load(DEFAULT_MODELS_DIR / f"{model}.model.h5")


def _box(entry, model: str, quantity: str):
    """A stand-in for the model a sweep entry fits: ``quantity``'s inputs as the shipped
    model file of that name has them, each spanning what the entry sweeps (the recipe's
    default where not swept; the entry's temperatures). Checked against the shipped
    models' own boxes below."""
    inputs = _shipped(model).functions[quantity].inputs
    params = {p.name: p for p in RECIPES[entry.recipe].params}
    rng = {}
    for n in inputs:
        if n == "temp_c":
            vals = entry.temps_c
        elif n in params:
            vals = entry.axes.get(n, [params[n].default])
        else:       # a recipe's inner axis (a pulse width): no description sets one
            continue
        rng[n] = [float(min(vals)), float(max(vals))]
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


def _priced():
    return sorted({(t["model"], t["quantity"]) for n in ("race-it", "hetrax", "gaincell")
                   for _, t in _terms(A.load(n))})


@pytest.mark.parametrize("model,quantity", _priced())
def test_the_stand_in_box_is_the_fitted_models_box(model, quantity):
    """The stand-in spans what the fitter writes: built from the shipped sweep (FULL), it
    equals the shipped model file's valid_range on every input it names, and it names
    every input but the recipe's inner axes."""
    fitted = _shipped(model).valid_range
    box = _box(FULL[model], model, quantity).valid_range
    assert {k: [float(x) for x in fitted[k]] for k in box} == box
    assert len(box) >= 1 + len(FULL[model].axes)            # temp_c + the swept axes


@pytest.mark.parametrize("name", ["race-it", "hetrax", "gaincell"])
def test_demo_sweeps_cover_every_priced_point(name):
    arch = A.load(name)
    clipped = []
    for comp, t in _terms(arch):
        box = _box(_demo_entry(t["model"]), t["model"], t["quantity"])
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
                # the fitter holds out a line of an axis with >= 4 values: without one
                # the demo's fit is unchecked between its points
                if max(len(v) for v in [demo, *DEMO[m].axes.values()]) < 4:
                    short[m] = "no axis of >= 4 lines to hold one out"
    assert not short, short


def test_demo_report_states_the_temperatures_it_swept():
    """The demo report's header names each sweep that ran beyond 27 C, with its
    temperatures (the HeTraX tier periphery: 27, 45, 60 and 95 C, as set in DEMO)."""
    from imcspice.demo import _swept_temps
    assert _swept_temps({"models": {"memristor": {}}}) == "only"
    text = _swept_temps({"models": {"memristor": {}, "logic": {}, "crossbar-column": {}}})
    assert text == "also over temperature: logic 27/45/60/95, crossbar-column 27/85 °C"
