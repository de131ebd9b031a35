"""The one registration pattern (imcspice.registry): names, refusals, discovery, and the
registries every extensible set uses."""
import subprocess
import sys
import textwrap

import pytest

from imcspice.errors import UnknownNameError
from imcspice.registry import DuplicateNameError, Registry


def test_register_lookup_and_unknown_name_lists_the_known_ones():
    r = Registry("widget")

    @r.register("a", "b")
    def f():
        return 1

    r.add("c", 3)
    assert r["a"] is f and r["b"] is f and r["c"] == 3
    assert r.names() == ["a", "b", "c"] and len(r) == 3 and "a" in r and "z" not in r
    assert r.get("z") is None                      # Mapping.get: UnknownNameError is a KeyError
    with pytest.raises(UnknownNameError) as e:
        r["z"]
    assert str(e.value) == "unknown widget 'z'; known: a, b, c"


def test_a_name_is_taken_once():
    r = Registry("widget")
    r.add("a", 1)
    with pytest.raises(DuplicateNameError, match="widget 'a' is registered twice"):
        r.add("a", 2)
    with pytest.raises(ValueError):
        r.add("", 3)
    assert r["a"] == 1


def test_the_same_definition_may_register_again():
    # a module imported twice (importlib.reload, pytest's rootdir imports) re-runs its
    # decorators with new objects of the same definition
    r = Registry("kind")
    src = "class K:\n    pass\n"
    ns1, ns2 = {"__name__": "m"}, {"__name__": "m"}
    exec(src, ns1)
    exec(src, ns2)
    r.add("k", ns1["K"])
    r.add("k", ns2["K"])
    ns3 = {"__name__": "other"}
    exec(src, ns3)
    with pytest.raises(DuplicateNameError):
        r.add("k", ns3["K"])


def test_discovery_imports_every_module_of_the_package(tmp_path):
    pkg = tmp_path / "plugpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        from imcspice.registry import Registry
        THINGS = Registry("thing", discover=__name__)
    """))
    for name in ("alpha", "beta", "_private"):
        (pkg / f"{name}.py").write_text(f"from . import THINGS\nTHINGS.add({name!r}, 1)\n")
    code = ("import plugpkg, sys\n"
            "assert not plugpkg.THINGS._items   # nothing imported before the first lookup\n"
            "print(plugpkg.THINGS.names())")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "['alpha', 'beta']"      # _private modules are not walked


def test_every_extensible_set_is_a_registry():
    from imcspice.accelerators.machines import MACHINES
    from imcspice.characterize.fit import FITTERS, RECIPE_KIND
    from imcspice.characterize.plots import PLOTTERS
    from imcspice.characterize.recipe import RECIPES
    from imcspice.models import KINDS
    from imcspice.models.forms import FORMS
    for reg in (MACHINES, FITTERS, RECIPE_KIND, PLOTTERS, RECIPES, KINDS, FORMS):
        assert isinstance(reg, Registry)
    # every fitted kind has its model class, every default kind a fitter, every recipe
    # with a default kind exists
    assert set(FITTERS) <= set(KINDS)
    assert set(RECIPE_KIND.values()) <= set(FITTERS)
    assert set(RECIPE_KIND) <= set(RECIPES)
    assert set(PLOTTERS) <= set(RECIPES)
    assert {"race-it", "hetrax", "gaincell"} <= set(MACHINES)


def test_every_shipped_description_names_a_machine_of_its_mode():
    from imcspice.accelerators import arch
    from imcspice.accelerators.machines import machine_of
    for name in arch.names():
        a = arch.load(name)
        assert machine_of(a).mode == a.workload.get("mode", "prefill")


def test_a_description_with_an_unknown_machine_is_refused(tmp_path):
    from imcspice.accelerators import arch
    from imcspice.accelerators.machines import machine_of
    p = tmp_path / "v.toml"
    p.write_text('schema = "imcspice.arch/1"\nname = "v"\nextends = "race-it"\n'
                 '[workload]\nmachine = "nope"\n')
    with pytest.raises(UnknownNameError, match="unknown accelerator machine.*'nope'; known: "
                                               "gaincell, hetrax, race-it"):
        machine_of(arch.load(str(p)))
    p.write_text('schema = "imcspice.arch/1"\nname = "v"\nextends = "race-it"\n'
                 '[workload]\nmachine = "gaincell"\n')
    with pytest.raises(arch.ArchError, match="simulates decode"):
        machine_of(arch.load(str(p)))


def test_a_description_without_a_paper_entry_gets_its_report(tmp_path):
    """A variant (or a new accelerator) has no published figures to compare with: its
    report says so instead of failing after report.json (found adding a throwaway one)."""
    from imcspice.cli import main
    p = tmp_path / "v.toml"
    p.write_text('schema = "imcspice.arch/1"\nname = "race-it-v"\nextends = "race-it"\n')
    out = tmp_path / "o"
    assert main(["evaluate", "--arch", str(p), "--workload", "bert-base", "--quiet",
                 "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    assert "No published figures for race-it-v" in md and "Comparison with the paper" not in md
