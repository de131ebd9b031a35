"""The command line's error contract: an imcspice input error is one line and exit code 2;
anything else is a bug and keeps its traceback (issue 14, item 9)."""
import importlib
import re
from pathlib import Path

import pytest

from imcspice import cli
from imcspice.errors import ImcspiceError, UnknownNameError

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"circuits": "imcspice.circuits", "characterize": "imcspice.characterize",
            "models": "imcspice.models", "accelerators": "imcspice.accelerators",
            "imcspice": "imcspice"}
#: ngspice's own failures (non-convergence, timeout, a crash) are recorded per sweep point;
#: they are faults of the simulation, not of the user's input.
NOT_INPUT_ERRORS = {"NgspiceError", "NgspiceNonConvergence", "NgspiceFatal", "NgspiceTimeout",
                    "DuplicateNameError"}   # a registration bug, not an input: traceback


def _error_classes():
    """Every ``class SomethingError(...)`` defined in the package sources."""
    found = []
    for folder, pkg in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            for name in re.findall(r"^class (\w+Error)\b", path.read_text(), flags=re.M):
                mod = pkg + "." + ".".join(path.relative_to(ROOT / folder).with_suffix("").parts)
                found.append((mod.removesuffix(".__init__"), name))
    return found


def test_the_scan_finds_the_known_error_classes():
    names = {n for _, n in _error_classes()}
    assert {"ParameterError", "SweepError", "HardwareModelError", "TechnologyError",
            "ArchError", "ProvisionError", "ConsistencyError", "RawFileError",
            "ModelFileError", "FitError", "OutputExistsError"} <= names


@pytest.mark.parametrize("mod, name", _error_classes())
def test_every_project_error_is_an_imcspice_error(mod, name):
    cls = getattr(importlib.import_module(mod), name)
    if name in NOT_INPUT_ERRORS:
        assert not issubclass(cls, ImcspiceError)
    else:
        assert issubclass(cls, ImcspiceError), f"{mod}.{name}"


@pytest.mark.parametrize("mod, name, base", [
    ("imcspice.characterize.params", "ParameterError", ValueError),
    ("imcspice.accelerators.arch", "ArchError", ValueError),
    ("imcspice.characterize.runner", "SweepError", RuntimeError),
    ("imcspice.accelerators.hardware", "HardwareModelError", RuntimeError),
    ("imcspice.models.base", "ModelFileError", ValueError)])
def test_existing_except_clauses_still_catch_them(mod, name, base):
    assert issubclass(getattr(importlib.import_module(mod), name), base)


def test_unknown_name_prints_without_quotes():
    e = UnknownNameError("unknown recipe 'x'; known: a, b")
    assert str(e) == "unknown recipe 'x'; known: a, b" and isinstance(e, KeyError)


def _show_raising(monkeypatch, exc):
    def boom(args):
        raise exc
    monkeypatch.setattr(cli, "_cmd_show", boom)


@pytest.mark.parametrize("exc", [KeyError("internal"), ValueError("internal"),
                                 TypeError("internal"), OSError(28, "No space left")])
def test_internal_errors_keep_their_traceback(monkeypatch, exc):
    _show_raising(monkeypatch, exc)
    with pytest.raises(type(exc)):
        cli.main(["show", "x.h5"])


@pytest.mark.parametrize("exc", [
    ImcspiceError("bad input"), UnknownNameError("unknown thing 'q'"),
    FileNotFoundError(2, "No such file or directory", "x.h5"),
    PermissionError(13, "Permission denied", "x.h5")])
def test_input_errors_are_one_line_with_exit_code_2(monkeypatch, capsys, exc):
    _show_raising(monkeypatch, exc)
    assert cli.main(["show", "x.h5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("imcspice show: error: ") and err.count("\n") == 1
    assert "'unknown" not in err            # a KeyError's quotes are not printed


@pytest.mark.parametrize("argv, words", [
    (["sweep", "no-such-recipe"], "unknown recipe 'no-such-recipe'"),
    (["sweep", "nfet-iv", "--corner", "xx"], "corner 'xx' is not one of"),
    (["models", "build-defaults", "--only", "nope"], "unknown default model(s) ['nope']"),
    (["evaluate", "--arch", "race-it", "--workload", "nope"], "unknown workload 'nope'"),
    (["explore", "--arch", "race-it", "--set", "dac.bits=4", "--set", "dac.bits=6"],
     "given twice"),
    (["evaluate", "--arch", "race-it", "--set", "dac.encoding=offset"],
     "dac.encoding must be one of"),
    (["evaluate", "--arch", "race-it", "--set", "dac.mode=analog"], "dac.mode must be"),
    (["evaluate", "--arch", "race-it", "--set", "crossbar.read_model=yes"],
     "expected true or false"),
])
def test_real_input_errors_are_reported_not_raised(tmp_path, capsys, argv, words):
    """These raise sites were plain KeyError/ValueError, which the old catch-all hid."""
    assert cli.main(argv + ["--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()    # refused before anything is created
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_every_option_of_every_command_says_what_it_does():
    """`--help` explains: no argument of any sub-command is listed without a help text
    (`imcspice demo --help` had listed --out, --workers and --quiet bare)."""
    import argparse

    from imcspice.cli import build_parser
    bare = []

    def walk(p, path):
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sp in a.choices.items():
                    walk(sp, path + [name])
            elif not isinstance(a, argparse._HelpAction) and not a.help:
                bare.append(f"{' '.join(path)} {'/'.join(a.option_strings) or a.dest}")
    walk(build_parser(), ["imcspice"])
    assert not bare, bare


def test_skipping_planes_without_pricing_the_decision_is_refused(tmp_path, capsys):
    """A description that skips empty planes (dac.skip_empty) but has no skip_or
    component to price the decisions is refused in one line, before anything is made."""
    import re

    from imcspice.accelerators import arch
    text = open(arch.load("race-it").path).read()
    cut = re.sub(r"\n\[components\.skip_or\]\n.*?(?=\n\[)", "\n", text, flags=re.S)
    assert "[components.skip_or]" not in cut and "\nskip_empty = true" in cut
    (tmp_path / "no-or.toml").write_text(cut)
    assert cli.main(["evaluate", "--arch", str(tmp_path / "no-or.toml"), "--workload",
                     "bert-base", "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()
    err = capsys.readouterr().err
    assert "needs a 'skip_or' component" in err and err.count("\n") == 1


@pytest.mark.parametrize("arch_name,table,words", [
    ("race-it", "segment_mm = 0", "segment_mm (the repeater pitch, mm) must be a positive"),
    ("hetrax", "segment_mm = -1", "must be finite and >= 0"),
    ("gaincell", 'sinks = ["nowhere"]', "clock_tree.sinks must list"),
    ("hetrax", 'sinks = ["dram"]', "clock_tree.sinks ['dram'] sit on no floorplan tier"),
])
def test_a_malformed_clock_tree_is_refused_before_anything_is_made(tmp_path, capsys,
                                                                   arch_name, table, words):
    (tmp_path / "v.toml").write_text(f'schema = "imcspice.arch/1"\nname = "v"\nextends = '
                                     f'"{arch_name}"\n\n[components.clock_tree]\n{table}\n')
    assert cli.main(["evaluate", "--arch", str(tmp_path / "v.toml"), "--workload",
                     "bert-base" if arch_name != "gaincell" else "gpt2",
                     "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
