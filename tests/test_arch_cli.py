"""Architecture descriptions from the command line: show, variants, refusals."""
import pytest

from imcspice.accelerators import arch, mapping
from imcspice.accelerators.workloads import get_workload
from imcspice.cli import main

VARIANT = '''schema = "imcspice.arch/1"
name = "race-it-ml"
extends = "race-it"
title = "RACE-IT with multi-level DACs"

[components.dac]
mode = "multi-level"
energy = { source = "assumption", per = "level_drive", value = 0.09, unit = "pJ", scaling = "analog", note = "word line 256 fF charged to 0.2 V from 1.8 V" }
'''


def test_arch_show_lists_every_component_with_its_source(capsys):
    assert main(["arch", "show"]) == 0
    assert capsys.readouterr().out.split() == ["gaincell", "hetrax", "race-it"]
    assert main(["arch", "show", "hetrax"]) == 0
    out = capsys.readouterr().out
    for comp in ("sm_mac", "sm_sram", "dram", "crossbar", "dac", "converter", "buffer"):
        assert f"[{comp}]" in out
    assert "spice crossbar-column:e_read_j" in out and "literature adc_sar_8b" in out


def test_variant_file_extends_a_shipped_description(tmp_path):
    p = tmp_path / "ml.toml"
    p.write_text(VARIANT)
    a = arch.load(str(p))
    assert a.name == "race-it-ml" and a.component("dac")["mode"] == "multi-level"
    assert a.component("crossbar")["rows"] == 128           # inherited
    # multi-level: one drive per input and crossbar tile instead of one per plane read
    # (the 8-bit sign-magnitude code's 7 magnitude planes, the top two read 2 and 4
    # times: 11 reads)
    shape = get_workload("minilm")
    ml = mapping.build(a, shape, 16)
    bs = mapping.build(arch.load("race-it"), shape, 16)
    drives = {m: sum(c.actions for c in x.charges if c.component == "dac")
              for m, x in (("ml", ml), ("bs", bs))}
    assert drives["bs"] == 11 * drives["ml"]


def test_variant_may_only_extend_shipped_descriptions(tmp_path):
    p = tmp_path / "v.toml"
    p.write_text(VARIANT.replace('extends = "race-it"', 'extends = "/etc/passwd"'))
    with pytest.raises(arch.ArchError, match="shipped description"):
        arch.load(str(p))


def test_cli_refuses_a_description_without_source(tmp_path, capsys):
    text = (arch.ARCH_DIR / "race-it.toml").read_text().replace(
        'source = "spice", per = "column_read"', 'per = "column_read"', 1)
    p = tmp_path / "bad.toml"
    p.write_text(text)
    assert main(["evaluate", "--arch", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "source" in err and "crossbar" in err and err.count("\n") == 1


def test_cli_set_errors_are_one_line(tmp_path, capsys):
    assert main(["evaluate", "--arch", "race-it", "--set", "dac.bitz=6",
                 "--out", str(tmp_path)]) == 2
    assert "bitz" in capsys.readouterr().err
    assert main(["evaluate", "--arch", "nonexistent", "--out", str(tmp_path)]) == 2
    assert "race-it" in capsys.readouterr().err        # lists what exists
    # fewer tiles provisioned than the weights need: refused, not serialized
    assert main(["evaluate", "--arch", "race-it", "--set", "crossbar.count=10",
                 "--workload", "bert-base", "--out", str(tmp_path)]) == 2
    assert "provisioned" in capsys.readouterr().err


def test_evaluate_out_is_not_overwritten(tmp_path, capsys):
    (tmp_path / "report.json").write_text("{}")
    assert main(["evaluate", "--arch", "race-it", "--out", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "report.json").read_text() == "{}"


@pytest.mark.parametrize("argv, words", [
    (["sweep", "nfet-iv", "--timeout", "nan"], "finite number of seconds"),
    (["sweep", "nfet-iv", "--timeout", "inf"], "finite number of seconds"),
    (["sweep", "nfet-iv", "--timeout", "-5"], "finite number of seconds"),
    (["sweep", "nfet-iv", "--timeout", "0"], "finite number of seconds"),
    (["sweep", "nfet-iv", "--workers", "-1"], "must be >= 0"),
    (["evaluate", "--arch", "race-it", "--seq-len", "0"], "must be >= 1"),
    (["evaluate", "--arch", "race-it", "--batch", "-2"], "must be >= 1"),
])
def test_bad_numbers_are_refused_with_a_clear_message(tmp_path, capsys, argv, words):
    with pytest.raises(SystemExit) as e:
        main(argv + ["--out", str(tmp_path / "o")])
    assert e.value.code == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bit_widths_are_bounded(tmp_path, capsys):
    for bad in ("1000", "0", "6.5"):
        assert main(["evaluate", "--arch", "race-it", "--set", f"dac.bits={bad}",
                     "--out", str(tmp_path)]) == 2
        assert "dac" in capsys.readouterr().err
