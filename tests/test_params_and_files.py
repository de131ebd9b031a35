"""Parameter safety (nothing a user types reaches a netlist) and the raw HDF5 format."""
import json

import h5py
import numpy as np
import pytest

from imcspice.characterize import rawfile
from imcspice.characterize.params import ParameterError, format_number, parse_number
from imcspice.characterize.runner import _empty, spec_from_cli
from imcspice.characterize.sweep import SweepSpec, parse_values
from imcspice.cli import main


@pytest.mark.parametrize("text,value", [
    ("0.9", 0.9), ("1e-6", 1e-6), ("1.5u", 1.5e-6), ("10k", 1e4), ("2meg", 2e6),
    ("2MEG", 2e6), ("3m", 3e-3), ("-0.2", -0.2), (".5", 0.5), ("10uS", 1e-5), ("0.5V", 0.5),
    ("100f", 1e-13), (" 7 ", 7.0),
])
def test_numbers_with_spice_suffixes(text, value):
    assert parse_number("x", text) == pytest.approx(value, rel=1e-6, abs=0)


INJECTIONS = [
    "1\n.control\nshell rm -rf ~\n.endc",   # newline + control block
    "1\r.include /etc/passwd",               # carriage return
    ".control",                              # a dot card
    "shell touch /tmp/pwned",                # a control command
    "1 shell ls",                            # trailing command
    '"1"',                                   # quotes
    "'1'",
    "{1+1}",                                 # expression braces
    "1;echo",                                # separator
    ".include evil.spice",                   # include
    "１",                                    # fullwidth digit (unicode look-alike)
    "1٫5",                                   # arabic decimal separator
    "0x10",                                  # hex
    "nan", "inf", "1e999",                   # not finite
    "1.5u\x00",                              # NUL
    "",                                      # empty
]


@pytest.mark.parametrize("bad", INJECTIONS)
def test_injection_refused_naming_the_parameter(bad):
    with pytest.raises(ParameterError, match="w_um"):
        SweepSpec("nfet-iv", {"w_um": [bad]})


@pytest.mark.parametrize("bad", INJECTIONS[:11])
def test_injection_refused_through_cli(bad, capsys, tmp_path):
    rc = main(["sweep", "nfet-iv", "--set", f"w_um={bad}", "--quiet", "--out",
               str(tmp_path / "x.raw.h5")])
    assert rc == 2
    assert "w_um" in capsys.readouterr().err
    assert not (tmp_path / "x.raw.h5").exists()  # nothing written


def test_corner_and_names_from_fixed_sets():
    with pytest.raises(ValueError, match="corner"):
        SweepSpec("nfet-iv", corners=["tt\n.control"])
    with pytest.raises(ParameterError, match="not a valid parameter name"):
        SweepSpec("nfet-iv", {"w_um\n.control": [1.0]})
    with pytest.raises(ParameterError, match="no parameter"):
        SweepSpec("nfet-iv", {"vdd": [1.0]})
    with pytest.raises(ParameterError, match="outside"):
        SweepSpec("nfet-iv", {"w_um": [0.01]})
    with pytest.raises(ParameterError, match="temperature"):
        SweepSpec("nfet-iv", temps_c=[1e6])
    with pytest.raises(ParameterError, match="log range"):
        parse_values("g", "log:0:1:3")


def test_sweep_spec_json_refuses_unknown_keys():
    with pytest.raises(ParameterError, match="unknown"):
        SweepSpec.from_json('{"recipe": "nfet-iv", "shell": "ls"}')
    s = SweepSpec.from_json('{"recipe": "nfet-iv", "axes": {"w_um": [1, 2]}}')
    assert s.n_points == 2


def test_netlist_holds_only_formatted_numbers():
    spec = spec_from_cli("nfet-iv", ["w_um=1:2:3", "l_um=150m"], "tt", "27", 0, 1)
    assert spec.axes == {"w_um": [1.0, 1.5, 2.0], "l_um": [0.15]}
    from imcspice.characterize.runner import build_tasks
    with pytest.raises(ParameterError):
        spec_from_cli("nfet-iv", ["w_um=1:2:2"], "tt", "27\n.control", 0, 1)
    spec = spec_from_cli("nfet-iv", ["w_um=1:2:2"], "tt,ff", "27,85", 0, 1)
    tasks, decks = build_tasks(spec, range(spec.n_points))
    assert len(decks) == 4 and len(tasks) == 8
    for net in decks.values():
        assert ".control" not in net and "shell" not in net
    assert format_number(2.0) == "2.0"
    with pytest.raises(ParameterError):
        format_number(float("nan"))


def test_raw_file_round_trip_of_every_attribute(tmp_path):
    spec = SweepSpec("nfet-iv", {"w_um": [1.0, 2.0]}, corners=["tt", "ff"], temps_c=[27, 85],
                     mc=2, seed=5)
    raw = _empty(spec)
    raw.attrs["netlist"] = "* title\n" + "X" * 100_000  # larger than a compact HDF5 attribute
    raw.attrs["ngspice_version"] = "39"
    raw.status[0, 1, 1, 0] = rawfile.STATUS["ok"]
    raw.status[1, 0, 0, 1] = rawfile.STATUS["nonconverged"]
    raw.message[1, 0, 0, 1] = "no convergence ∆"
    raw.data["idsat_a"][0, 1, 1, 0] = 1.25e-4
    raw.seconds[0, 1, 1, 0] = 0.5
    p = tmp_path / "r.raw.h5"
    rawfile.write(p, raw)
    back = rawfile.read(p)
    assert set(back.attrs) == set(raw.attrs)
    for k, v in raw.attrs.items():
        assert back.attrs[k] == v, k
    for k in ("schema", "recipe", "netlist", "technology", "corner", "ngspice_version",
              "imcspice_version", "created"):
        assert k in back.attrs
    assert back.attrs["schema"] == "imcspice.raw/1"
    assert back.outer == ["corner", "temp_c", "mc", "w_um"]
    np.testing.assert_array_equal(back.status, raw.status)
    assert back.message[1, 0, 0, 1] == "no convergence ∆"
    np.testing.assert_array_equal(back.data["id_a"], raw.data["id_a"])
    assert back.data_axes["id_a"] == ["corner", "temp_c", "mc", "w_um", "vds_v", "vgs_v"]
    assert back.units["id_a"] == "A"
    assert back.status_counts() == {"pending": 14, "ok": 1, "nonconverged": 1}
    with h5py.File(p) as f:  # real HDF5 dimension scales, named after the axes
        ds = f["data/id_a"]
        assert [d.label for d in ds.dims] == back.data_axes["id_a"]
        assert ds.dims[3][0].name == "/axes/w_um"
        assert f["axes/w_um"].attrs["unit"] == "um"
        assert json.loads(f["status"].attrs["codes"])["timeout"] == 3


def test_foreign_and_damaged_files_rejected(tmp_path):
    foreign = tmp_path / "f.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = 1
    with pytest.raises(rawfile.RawFileError, match="schema"):
        rawfile.read(foreign)
    junk = tmp_path / "junk.raw.h5"
    junk.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(rawfile.RawFileError, match="not a readable HDF5"):
        rawfile.read(junk)
    with pytest.raises(rawfile.RawFileError, match="no such file"):
        rawfile.read(tmp_path / "missing.raw.h5")


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    spec = SweepSpec("memristor-iv", {"g_us": [1.0]})
    raw = _empty(spec)
    p = tmp_path / "keep.raw.h5"
    rawfile.write(p, raw)
    before = p.read_bytes()
    raw.data["i_a"] = None  # makes h5py fail half-way through the write
    with pytest.raises(Exception):
        rawfile.write(p, raw)
    assert p.read_bytes() == before
    assert [x.name for x in tmp_path.iterdir()] == ["keep.raw.h5"]  # no temp file left


def test_show_and_recipes_cli(tmp_path, capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    assert "nfet-iv" in out and "w_um" in out and "um" in out
    spec = SweepSpec("memristor-iv", {"g_us": [1.0]})
    rawfile.write(tmp_path / "s.raw.h5", _empty(spec))
    assert main(["show", str(tmp_path / "s.raw.h5")]) == 0
    out = capsys.readouterr().out
    assert "memristor-iv" in out and "pending" in out and "g_us" in out
    assert main(["show", str(tmp_path / "nope.h5")]) == 2


def test_unwritable_output_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "notadir"
    blocker.write_text("a file where a directory is expected")
    spec = SweepSpec("memristor-iv", {"g_us": [1.0]})
    with pytest.raises(rawfile.RawFileError, match="cannot write"):
        rawfile.write(blocker / "x.raw.h5", _empty(spec))
    rc = main(["sweep", "memristor-iv", "--quiet", "--out", str(tmp_path / "no" / "x.raw.h5")])
    assert rc == 2 and "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("content,match", [
    ('{"recipe": "nfet-iv", "axes": {"w_um": ["1\\n.control\\nshell ls\\n.endc"]}}', "w_um"),
    ('{"recipe": "nfet-iv", "axes": {"w_um": ["１"]}}', "w_um"),
    ('{"recipe": "nfet-iv", "corners": ["tt\\n.include x"]}', "corner"),
    ('{"recipe": "nfet-iv", "mc": "5; shell"}', "mc"),
    ('{"recipe": "nfet-iv", "axes": {"w_um": 1}}', "w_um"),
    ('{"recipe": "nfet-iv", "unknown": 1}', "unknown"),
    ('[1, 2]', "JSON object"),
    ('{"recipe": "nfet-iv", ', "JSON"),
    ('\xff\xfe', "UTF-8|JSON"),
])
def test_hostile_spec_files_refused(tmp_path, capsys, content, match):
    f = tmp_path / "spec.json"
    f.write_bytes(content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content)
    rc = main(["sweep", "--spec", str(f), "--quiet", "--out", str(tmp_path / "o.raw.h5")])
    assert rc == 2
    import re
    assert re.search(match, capsys.readouterr().err)
    assert not (tmp_path / "o.raw.h5").exists()


def test_spec_file_runs_like_cli(tmp_path, capsys):
    f = tmp_path / "spec.json"
    f.write_text('{"recipe": "memristor-iv", "axes": {"g_us": [5, 50]}}')
    assert main(["sweep", "--spec", str(f), "--quiet", "--out", str(tmp_path / "s.raw.h5")]) == 0
    assert rawfile.read(tmp_path / "s.raw.h5").status_counts() == {"ok": 2}
