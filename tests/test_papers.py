"""Published figures (accelerators/data/papers.toml) and the report's comparison section."""
from __future__ import annotations

import math

import pytest

from imcspice.accelerators import papers as P



def _fig(papers, arch, metric, version=None, baseline=""):
    hits = [f for f in papers[arch]["figures"] if f["metric"] == metric
            and (version is None or f.get("version") == version) and baseline in f["baseline"]]
    assert len(hits) == 1, (arch, metric, version, hits)
    return hits[0]


# --- the shipped file ---------------------------------------------------------------------
def test_shipped_file_loads_and_every_figure_is_sourced():
    papers = P.load_papers()
    assert set(papers) == {"race-it", "hetrax", "gaincell"}
    for arch, entry in papers.items():
        assert entry["citation"].strip() and entry["version_note"].strip()
        for f in entry["figures"]:
            assert f["source"].strip() and f["quote_or_location"].strip(), (arch, f)
            assert f["difference"].strip() and "\n" not in f["difference"]
            assert math.isfinite(f["value"]) and f["value"] > 0


def test_gaincell_figures_match_reference_md():
    # shared/REFERENCE.md, "Gain-cell attention: published pipeline and figures":
    # arrays 1.12 + 0.70 nJ, digital & routing 4.0 nJ, DAC 0.33 nJ (6.15 nJ), 65 ns;
    # RTX 4090 per token per sample 22.4 us, 7.18 mJ; 64x64 arrays, window 1024.
    g = P.load_papers()["gaincell"]
    e = g["configuration"]["energy_breakdown_j"]
    assert e["qk_arrays"] == pytest.approx(1.12e-9, rel=1e-6, abs=0) and e["pv_arrays"] == pytest.approx(0.70e-9, rel=1e-6, abs=0)
    assert e["digital_and_routing"] == pytest.approx(4.0e-9, rel=1e-6, abs=0)
    assert e["dac"] == pytest.approx(0.33e-9, rel=1e-6, abs=0)
    per_head = _fig(P.load_papers(), "gaincell", "energy_per_token_per_head_j")["value"]
    assert per_head == pytest.approx(6.15e-9, rel=1e-6, abs=0) == pytest.approx(sum(e.values()), rel=1e-6, abs=0)
    papers = P.load_papers()
    assert _fig(papers, "gaincell", "latency_s")["value"] == pytest.approx(65e-9, rel=1e-6, abs=0)
    assert _fig(papers, "gaincell", "gpu_latency_s")["value"] == pytest.approx(22.4e-6, rel=1e-6, abs=0)
    assert _fig(papers, "gaincell", "gpu_energy_j")["value"] == pytest.approx(7.18e-3, rel=1e-6, abs=0)
    # the derived ratios are the stated arithmetic on those inputs
    assert _fig(papers, "gaincell", "energy_j")["value"] == pytest.approx(12 * 6.15e-9, rel=1e-3, abs=0)
    assert _fig(papers, "gaincell", "speedup_vs_gpu", "authors' repository", "RTX 4090")["value"] \
        == pytest.approx(22.4e-6 / 65e-9, rel=3e-3, abs=0)
    assert _fig(papers, "gaincell", "energy_ratio_vs_gpu", "authors' repository",
                "RTX 4090")["value"] == pytest.approx(7.18e-3 / (12 * 6.15e-9), rel=3e-3, abs=0)
    conf = g["configuration"]
    assert "64x64" in conf["arrays"] and "1024" in conf["arrays"]
    assert all(s in conf["bits"] for s in ("Q 4-bit", "K/V 3-bit", "5-bit"))


def test_race_it_records_both_abstract_versions():
    papers = P.load_papers()
    figs = papers["race-it"]["figures"]
    v1 = {f["metric"]: f["value"] for f in figs if f["version"].startswith("v1")}
    v2 = {f["metric"]: f["value"] for f in figs if f["version"].startswith("v2")}
    assert v1 == {"speedup_vs_gpu": 10.7, "speedup_vs_imc": 5.9, "energy_ratio_vs_gpu": 1193,
                  "energy_ratio_vs_imc": 3.9}
    assert v2 == {"speedup_vs_gpu": 453, "speedup_vs_imc": 15, "energy_ratio_vs_gpu": 354,
                  "energy_ratio_vs_imc": 122}
    h = papers["hetrax"]
    assert _fig(papers, "hetrax", "edp_ratio")["value"] == 14.5
    assert _fig(papers, "hetrax", "speedup_vs_prior_accelerator")["value"] == 5.6
    assert "ISLPED 2024" in h["citation"]


# --- malformed files ------------------------------------------------------------------------
def _broken(tmp_path, old, new, count=1):
    text = P.PAPERS_PATH.read_text(encoding="utf-8")
    assert old in text
    p = tmp_path / "papers.toml"
    p.write_text(text.replace(old, new, count), encoding="utf-8")
    return p


def test_missing_source_is_refused_naming_the_entry(tmp_path):
    p = _broken(tmp_path,
                'source = "Zhao et al., arXiv:2312.06532v1 (29 Nov 2023), abstract"\n', "")
    with pytest.raises(ValueError, match=r"race-it\.figures\[0\] \(speedup_vs_gpu\)\.source"):
        P.load_papers(p)


def test_empty_location_is_refused(tmp_path):
    p = _broken(tmp_path, 'quote_or_location = "abstract, last sentence: EDP improved by 14.5x"',
                'quote_or_location = "  "')
    with pytest.raises(ValueError, match=r"hetrax\.figures\[1\] \(edp_ratio\)\.quote_or_location"):
        P.load_papers(p)


@pytest.mark.parametrize("bad", ["-10.7", "0", "nan", "inf", '"10.7"', "true"])
def test_non_positive_or_non_numeric_value_is_refused(tmp_path, bad):
    p = _broken(tmp_path, "value = 10.7\n", f"value = {bad}\n")
    with pytest.raises(ValueError,
                       match=r"race-it\.figures\[0\] .*value must be a finite number > 0"):
        P.load_papers(p)


def test_wrong_schema_missing_arch_and_unit_mismatch_are_refused(tmp_path):
    with pytest.raises(ValueError, match="schema"):
        P.load_papers(_broken(tmp_path, 'schema = "imcspice.papers/1"', 'schema = "x/2"'))
    with pytest.raises(ValueError, match=r"unknown architecture table\(s\) \['hetraz'\]"):
        P.load_papers(_broken(tmp_path, "[hetrax]", "[hetraz]"))
    text = P.PAPERS_PATH.read_text(encoding="utf-8")
    cut = text[:text.index("[hetrax]")] + text[text.index("[gaincell]"):]
    (tmp_path / "cut.toml").write_text(cut, encoding="utf-8")
    with pytest.raises(ValueError, match=r"missing table \[hetrax\]"):
        P.load_papers(tmp_path / "cut.toml")
    with pytest.raises(ValueError, match="report_key 'gpu.rtx4090.latency_s' is in 's'"):
        P.load_papers(_broken(tmp_path, 'value = 22.4e-6\nunit = "s"',
                              'value = 22.4e-6\nunit = "ms"'))
    (tmp_path / "bad.toml").write_text("schema = [", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot read"):
        P.load_papers(tmp_path / "bad.toml")


# --- the rendered section -----------------------------------------------------------------
def _row(lines, metric, contains=""):
    rows = [ln for ln in lines if ln.startswith(f"| {metric} |") and contains in ln]
    assert len(rows) == 1, (metric, contains, rows)
    return [c.strip() for c in rows[0].strip("|").split(" | ")]


def test_comparison_section_ratio_and_na():
    report = {
        "arch": "gaincell", "workload": "gpt2", "seq_len": 1024,
        "latency_s": 1.3e-6, "energy_j": 2.214e-7, "area_mm2": 5.0,
        "technology": "sky130 tt 27 C (as characterized)",
        "gpu": {"rtx4090": {"name": "NVIDIA GeForce RTX 4090", "latency_s": 4.0e-5,
                            "energy_j": 1.0e-3, "speedup": 86.0, "energy_ratio": 4516.0}},
        "projection": {"node_nm": 7, "latency_s": 1e-7, "energy_j": 1e-8, "gpu": {}},
    }
    lines = P.comparison_section("gaincell", report)
    assert lines[0] == "### Comparison with the paper"
    assert any("Nature Computational Science" in ln for ln in lines)
    assert any("five orders" in ln and "four" in ln for ln in lines)     # version note
    head = [ln for ln in lines if ln.startswith("| metric")][0]
    assert head == ("| metric | paper (config) | ours (config) | ratio ours/paper "
                    "| why they differ |")
    # by hand: 1.3e-6 s / 65e-9 s = 20.0; 2.214e-7 J / 7.38e-8 J = 3.00; 86 / 344 = 0.25
    r = _row(lines, "latency_s")
    assert r[1].startswith("65.0 ns") and r[2].startswith("1.30 µs") and r[3] == "20.0"
    assert _row(lines, "energy_j")[3] == "3.00"
    assert _row(lines, "speedup_vs_gpu", "344×")[3] == "0.250"
    # gpu latency: 4.0e-5 / 22.4e-6 = 1.79
    assert _row(lines, "gpu_latency_s")[3] == "1.79"
    # no jetson-orin entry in this report, no per-head key: n/a, no crash
    r = _row(lines, "speedup_vs_gpu", "Jetson Nano")
    assert r[2] == "n/a" and r[3] == "n/a"
    assert _row(lines, "energy_per_token_per_head_j")[2:4] == ["n/a", "n/a"]


def test_projection_and_edp_keys_and_empty_report():
    report = {"workload": "minilm", "seq_len": 128, "technology": "sky130",
              "projection": {"node_nm": 7, "gpu": {"a100": {"name": "NVIDIA A100 SXM4 80GB",
                                                            "speedup": 2.8, "energy_ratio": 10.0}}}}
    lines = P.comparison_section("hetrax", report)
    r = _row(lines, "speedup_vs_prior_accelerator")
    assert "7 nm projection" in r[2] and "NVIDIA A100" in r[2] and r[3] == "0.500"  # 2.8 / 5.6
    assert _row(lines, "edp_ratio")[3] == "1.93"                                     # 28 / 14.5
    lines = P.comparison_section("race-it", {})
    assert all(_row(lines, m, "v1")[2] == "n/a" for m in ("speedup_vs_gpu", "energy_ratio_vs_imc"))
    with pytest.raises(ValueError, match="no paper entry"):
        P.comparison_section("tpu", {})


def test_a_difference_names_the_reports_own_energy_sources(tmp_path):
    """RACE-IT's energy line said "periphery from the ISAAC/Horowitz tables" after every
    periphery figure had moved to SPICE: the sources now come from the report."""
    report = {"workload": "minilm", "seq_len": 18, "technology": "sky130",
              "provenance_share": {"energy": {"spice": 0.875, "literature": 0.125,
                                              "assumption": 0.0}},
              "projection": {"node_nm": 7, "gpu": {"a100": {"energy_ratio": 9.0}}}}
    lines = P.comparison_section("race-it", report)
    r = _row(lines, "energy_ratio_vs_gpu", "v1")
    # by hand: 87.5 % and 12.5 % print as 88 % and 12 % (round half to even), largest first
    assert "(88 % spice, 12 % literature, 0 % assumption)" in r[4]
    assert "ISAAC" not in r[4] and "{" not in r[4]
    # a report without the shares says so instead of inventing them
    r = _row(P.comparison_section("race-it", {}), "energy_ratio_vs_gpu", "v1")
    assert "energy sources not in this report" in r[4]
    with pytest.raises(ValueError, match=r"unknown placeholder\(s\) \['power_sources'\]"):
        P.load_papers(_broken(tmp_path, "({energy_sources}) projected to 7 nm, analog",
                              "({power_sources}) projected to 7 nm, analog"))


def test_hetrax_line_names_the_stack_the_report_solved():
    """It said "2 SM + 2 ReRAM tiers" after the ReRAM group became as many dies as its
    area needs (3 for MiniLM, 17 for bert-base)."""
    report = {"thermal": {"die_mm2": 110.0, "tier_group_dies": {"sm": 2, "reram": 17}},
              "provenance_share": {"energy": {"spice": 1.0}}}
    r = _row(P.comparison_section("hetrax", report), "speedup_vs_prior_accelerator")
    assert "a stack of 2 sm + 17 reram dies of 110 mm²" in r[4] and "2 ReRAM" not in r[4]
    r = _row(P.comparison_section("hetrax", {}), "speedup_vs_prior_accelerator")
    assert "stack not in this report" in r[4]


def test_number_format():
    assert P.fmt(6.5e-8, "s") == "65.0 ns"
    assert P.fmt(7.18e-3, "J") == "7.18 mJ"
    assert P.fmt(22.4e-6, "s") == "22.4 µs"
    assert P.fmt(1193, "x") == "1190×"
    assert P.fmt(0.2504) == "0.250"
    assert P.fmt(None, "s") == "n/a"
    assert P.fmt(2.5e7, "x") == "2.50e+07×"
    # areas: mm², and below 0.01 mm² µm² (1 µm² = 1e-6 mm²), never a prefix on mm²
    assert P.fmt(27.89, "mm²") == "27.9 mm²"
    assert P.fmt(0.924, "mm²") == "0.924 mm²"
    assert P.fmt(0.016, "mm²") == "0.0160 mm²"
    assert P.fmt(5.1e-7, "mm²") == "0.510 µm²"
    assert P.fmt(2.0e-3, "mm²") == "2000 µm²"


def test_a_small_spread_over_chips_is_printed_not_rounded_to_zero():
    """Mean ± std at 4 decimals, or at the first digit of a std below 5e-5 (the demo's
    HeTraX chips 0.98865 and 0.98862: 4 decimals printed '0.9886 ± 0.0000')."""
    from imcspice.accelerators import report as R
    assert R._pm(0.9862, 0.0010) == "0.9862 ± 0.0010"
    assert R._pm(0.98863, 2.03e-5) == "0.98863 ± 0.00002"
    assert R._pm(0.9, 3e-7) == "0.9000000 ± 0.0000003"
    assert R._pm(0.9886, 0.0) == "0.9886 ± 0.0000"          # no spread at all: 4 decimals
    assert R._over_chips({"cosine_mean": 0.98863, "cosine_std": 2.03e-5,
                          "seeds": [0.98865, 0.98862]}) == "0.98863 ± 0.00002"


def test_the_accuracy_sentence_names_the_calibration_batches():
    """FULL's 32 calibration texts are read in several batches whose ranges are averaged
    (range_recorder.RangeRecorder): the report says so; one batch (QUICK's 4 texts) needs no
    words, nor does an older report that did not record its batches."""
    from imcspice.accelerators import report as R
    from imcspice.accelerators.accuracy import FULL, QUICK
    assert R._calib_batches(FULL.as_dict() | {"calibration_batches": 7}) == \
        " in 7 batches of >= 128 tokens, ranges averaged over them"
    assert R._calib_batches(QUICK.as_dict() | {"calibration_batches": 1}) == ""
    assert R._calib_batches({"calibration_sentences": 32}) == ""


def test_the_energy_lines_name_the_tia_gating_bracket():
    """The crossbar machines' energy lines say that their column TIAs' per-read gating
    is a lower bound, with the report's own factor to the design that holds the line."""
    report = {"tia_gating": {"machine_j": 2.0e-3, "machine_biased_j": 12.4e-3}}
    r = _row(P.comparison_section("race-it", report), "energy_ratio_vs_gpu", "v1")
    assert "a lower bound" in r[4] and "the energy is 6.2x" in r[4]       # 12.4 / 2.0
    r = _row(P.comparison_section("hetrax", report), "edp_ratio")
    assert "the energy is 6.2x" in r[4]
    r = _row(P.comparison_section("race-it", {}), "energy_ratio_vs_gpu", "v1")
    assert "TIA gating not in this report" in r[4]
