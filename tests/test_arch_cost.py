"""Architecture descriptions, mapping counts and pricing, re-derived by hand.

Every expected number below is worked out from the conventions in the docstring of
``accelerators/mapping.py`` (and of ``cost.py``) on a one-layer toy transformer, never
by calling the mapping or cost functions for it.

Toy workload (TINY, prefill, SEQ = 3 tokens, batch 1, 1 byte per activation):
encoder, d_model = d_ff = 4, 1 head (dh = 4), so every linear (attn.q/k/v/out,
ffn.in, ffn.out: six of them) is k = 4, n = 4, m = 3; on a 2x2 crossbar each takes
rt = ceil(4/2) = 2 row tiles x ct = 2 column tiles = 4 tiles (24 in all).
"""
from __future__ import annotations

import json
import math
import tomllib

import pytest

from imcspice.accelerators import arch, components, cost, floorplan, hardware, mapping
from imcspice.accelerators.workloads import TransformerShape, get_workload

PJ, NS, UM2 = 1e-12, 1e-9, 1e-6          # SI factors: J, s, mm2
CLOCK = 100e6                             # 1 cycle = 10 ns
SEQ = 3
TINY = TransformerShape("tiny", "encoder", layers=1, d_model=4, heads=1, d_ff=4, vocab=8,
                        max_positions=8)
LINEARS = 6


# --- helpers: a description as a dict, written as a TOML file -----------------------------
def A(value, unit, per, scaling="logic"):
    """An ``assumption`` figure."""
    return {"source": "assumption", "per": per, "value": value, "unit": unit,
            "scaling": scaling, "note": "test value"}


def describe(by_kind, comps, **top):
    raw = {"schema": arch.SCHEMA, "name": "tiny", "node_nm": 130, "vdd_v": 1.8,
           "clock_hz": CLOCK, "workload": {"default": "tiny", "batch": 1,
                                           "bytes_per_activation": 1},
           "mapping": {"by_kind": by_kind}, "components": comps}
    raw.update(top)
    return raw


def xbar_raw():
    """Linears on 2x2 crossbars; bit-serial 2-bit DAC; 2 ADCs per tile; digital sums."""
    return describe({"linear": "crossbar"}, {
        "crossbar": {"rows": 2, "cols": 2, "count": "mapped", "partial_sums": "digital",
                     "energy": A(1, "pJ", "column_read"), "latency": A(10, "ns", "read"),
                     "area": A(1, "um2", "cell")},
        "dac": {"mode": "bit-serial", "bits": 2, "energy": A(0.5, "pJ", "bit_drive"),
                "area": A(1, "um2", "instance")},
        "converter": {"kind": "adc", "per_tile": 2, "searches_per_conversion": 1,
                      "energy": {"source": "literature", "per": "conversion", "value": 2,
                                 "unit": "pJ", "scaling": "adc", "citation": "test paper"},
                      "latency": A(5, "ns", "conversion", "adc"),
                      "area": A(1, "um2", "instance")},
        "adder": {"per_tile": 1, "pool": 0, "energy": A(0.1, "pJ", "add"),
                  "latency": A(1, "cycle", "add"), "area": A(1, "um2", "instance")},
        "buffer": {"count": "mapped", "capacity_bytes": 64, "access_bits": 8,
                   "energy": A(1, "pJ", "access"), "area": A(1, "um2", "instance")},
    })


def _v(x):
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, str):
        return json.dumps(x)
    if isinstance(x, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_v(v)}" for k, v in x.items()) + " }"
    if isinstance(x, list):
        return "[" + ", ".join(_v(v) for v in x) + "]"
    return repr(x)


def to_toml(raw) -> str:
    lines = [f"{k} = {_v(v)}" for k, v in raw.items() if not isinstance(v, dict)]
    for k, v in raw.items():
        if isinstance(v, dict):
            for sect, body in (v.items() if k == "components" else [(None, v)]):
                lines.append(f"[{k}.{sect}]" if sect else f"[{k}]")
                lines += [f"{json.dumps(kk)} = {_v(vv)}" for kk, vv in body.items()]
    return "\n".join(lines) + "\n"


def load(tmp_path, raw, sets=()):
    p = tmp_path / "tiny.toml"
    p.write_text(to_toml(raw))
    return arch.load(str(p), list(sets))


def run(a, seq=SEQ):
    m = mapping.build(a, TINY, seq)
    sheet = cost.price(m, components.resolve(a, None))   # no spice figure: no models needed
    cost.check(a, m, sheet)
    return m, sheet


def total(entries, op=None, comp=None, attr="count"):
    return math.fsum(getattr(e, attr) for e in entries
                     if (op is None or e.op == op) and (comp is None or e.component == comp))


# --- 1. crossbar ----------------------------------------------------------------------------
# one linear, per token: P planes; reads 2*P*rt*n, drives P*k*ct, conversions P*rt*n
# (P*n analog), adds n*(P*rt-1) (n*(P-1) analog) on rt*ct*1 = 4 adders, conversion steps
# P*ceil(min(n, cols)/per_tile) = P*ceil(2/2) = P; x 3 tokens. Columns:
# (reads, drives, conversions, adds, crossbar steps, conversion steps, adder steps)
CASES = {
    ("bit-serial", "digital"):  (3 * 2 * 2 * 2 * 4, 3 * 2 * 4 * 2, 3 * 2 * 2 * 4, 3 * 4 * 3,
                                 3 * 2, 3 * 2 * 1, 3 * math.ceil(12 / 4)),   # 96 48 48 36 6 6 9
    ("bit-serial", "analog"):   (96, 48, 3 * 2 * 4, 3 * 4 * 1, 6, 6, 3 * 1),   # conv 24 adds 12
    ("multi-level", "digital"): (3 * 2 * 1 * 2 * 4, 3 * 1 * 4 * 2, 3 * 1 * 2 * 4, 3 * 4 * 1,
                                 3, 3 * 1, 3 * 1),                             # 48 24 24 12 3 3 3
    ("multi-level", "analog"):  (48, 24, 3 * 1 * 4, 0, 3, 3, 0),               # P - 1 = 0 adds
}


@pytest.mark.parametrize("mode,psum", list(CASES))
def test_crossbar_counts_energy_latency(tmp_path, mode, psum):
    sets = [f"crossbar.partial_sums={psum}"]
    if mode == "multi-level":   # one drive per input: the DAC is priced per level_drive
        sets += ["dac.mode=multi-level", "dac.energy.per=level_drive"]
    a = load(tmp_path, xbar_raw(), sets)
    m, sheet = run(a)
    reads, drives, convs, adds, xb_steps, conv_steps, add_steps = CASES[(mode, psum)]
    op = "layer0.attn.q"
    assert m.tiles[op] == (2, 2)
    want = {"crossbar": reads, "dac": drives, "converter": convs, "adder": adds,
            "buffer": (12 + 12) * 8 / 8}   # act in m*k + out m*n bytes, 8-bit accesses
    for comp, n in want.items():
        assert total(sheet.energy, op, comp) == pytest.approx(n, rel=1e-6, abs=0), comp
    assert total(sheet.latency, op, "crossbar") == xb_steps
    assert total(sheet.latency, op, "converter") == conv_steps
    assert total(sheet.latency, op, "adder") == add_steps
    # entries are count x figure (the figures as written: 1, 0.5, 2, 0.1, 1 pJ; 10, 5, 10 ns)
    e_fig = {"crossbar": 1, "dac": 0.5, "converter": 2, "adder": 0.1, "buffer": 1}
    t_fig = {"crossbar": 10, "converter": 5, "adder": 10}
    for e in sheet.energy:
        assert e.amount == pytest.approx(e.count * e_fig[e.component] * PJ, rel=1e-6, abs=0)
    for e in sheet.latency:
        assert e.amount == pytest.approx(e.count * t_fig[e.component] * NS, rel=1e-6, abs=0)
    e_op = reads * 1 + drives * 0.5 + convs * 2 + adds * 0.1 + 24 * 1
    t_op = xb_steps * 10 + conv_steps * 5 + add_steps * 10
    assert sheet.energy_j == pytest.approx(LINEARS * e_op * PJ, rel=1e-12, abs=0)
    assert sheet.latency_s == pytest.approx(LINEARS * t_op * NS, rel=1e-12, abs=0)


def test_temperature_reference_pair_is_priced(tmp_path):
    """crossbar.temp_reference = "tile" (the accuracy path's reference column pair per
    tile, thermal_reram.py): 2 more cell columns per tile, and once per pass each of the
    operator's 2 x 2 = 4 tiles reads its pair 3 times (temp_reference_reads), all rows
    driven: + 2 x 4 x 3 = 24 bit-line reads, 4 x 3 x 2 rows = 24 drives, 4 x 3 = 12
    conversions, 3 crossbar and 3 conversion steps, by hand from the bit-serial digital
    case (96 48 48 / 6 6)."""
    raw = xbar_raw()
    raw["components"]["crossbar"].update(temp_reference="tile", temp_reference_reads=3)
    m, sheet = run(load(tmp_path, raw))
    _, plain = run(load(tmp_path, xbar_raw()))
    op = "layer0.attn.q"
    for comp, n in {"crossbar": 96 + 24, "dac": 48 + 24, "converter": 48 + 12}.items():
        assert total(sheet.energy, op, comp) == pytest.approx(n, rel=1e-12, abs=0), comp
    assert total(sheet.latency, op, "crossbar") == 6 + 3
    assert total(sheet.latency, op, "converter") == 6 + 3
    # 2 x 2 rows x (2 + 1) columns = 12 cells per tile, against 8 without the pair
    assert m.cells["crossbar"] == 12
    assert total(sheet.area, comp="crossbar", attr="amount") == pytest.approx(
        1.5 * total(plain.area, comp="crossbar", attr="amount"), rel=1e-12)
    raw["components"]["crossbar"]["temp_reference"] = "column"
    with pytest.raises(arch.ArchError, match="temp_reference"):
        run(load(tmp_path, raw))


@pytest.mark.parametrize("t_wake_ns,exposed_ns", [(50, 30), (15, 0)])
def test_tia_wake_lengthens_a_read_only_past_the_idle_steps(tmp_path, t_wake_ns, exposed_ns):
    """bit-serial, digital sums (CASES): per linear 6 reads of 10 ns, 6 conversions of
    5 ns and 9 adds of 10 ns, so the tile idles (30 + 90) / 6 = 20 ns per read. A 50 ns
    wake leaves 30 ns per read uncovered (6 x 30 ns per linear); a 15 ns one none."""
    raw = xbar_raw()
    raw["components"]["crossbar"]["tia_wake_latency"] = A(t_wake_ns, "ns", "column_read",
                                                          "analog")
    _, sheet = run(load(tmp_path, raw))
    wake = [e for e in sheet.latency if e.figure == "tia_wake_latency"]
    assert total(wake, attr="amount") == pytest.approx(LINEARS * 6 * exposed_ns * NS,
                                                       rel=1e-12, abs=0)
    assert all(e.count == 6 for e in wake)
    t_op = 6 * 10 + 6 * 5 + 9 * 10 + 6 * exposed_ns
    assert sheet.latency_s == pytest.approx(LINEARS * t_op * NS, rel=1e-12, abs=0)


def test_crossbar_hand_totals_area_and_provenance(tmp_path):
    # bit-serial digital: per linear 96*1 + 48*0.5 + 48*2 + 36*0.1 + 24*1 = 243.6 pJ;
    # latency 6*10 + 6*5 + 9*10 = 180 ns; six linears.
    a = load(tmp_path, xbar_raw())
    m, sheet = run(a)
    assert sheet.energy_j == pytest.approx(6 * 243.6 * PJ, rel=1e-6, abs=0)
    assert sheet.latency_s == pytest.approx(6 * 180 * NS, rel=1e-6, abs=0)
    # area: 24 tiles x 2*2*2 cells (G+ and G-) x 1 um2 = 192; DACs 24*2 rows = 48;
    # converters 24*2 = 48; adders 24*1 + pool 0 = 24; buffer ceil(24 B / 64 B) = 1
    area = cost.CostSheet.by(sheet.area, "component")
    want = {"crossbar": 192, "dac": 48, "converter": 48, "adder": 24, "buffer": 1}
    for comp, um2 in want.items():
        assert area[comp] == pytest.approx(um2 * UM2, rel=1e-6, abs=0), comp
    assert sheet.area_mm2 == pytest.approx(313 * UM2, rel=1e-6, abs=0)
    # the converter energy is the one literature figure: 6*48*2 = 576 of 1461.6 pJ
    share = sheet.provenance_share()
    assert share["energy"]["literature"] == pytest.approx(576 / 1461.6, rel=1e-6, abs=0)
    assert share["energy"]["assumption"] == pytest.approx(1 - 576 / 1461.6, rel=1e-6, abs=0)
    assert share["latency"]["assumption"] == 1.0 and share["area"]["assumption"] == 1.0


# --- 2. Compute-ACAM ------------------------------------------------------------------------
def acam_raw(count, per_lookup=2):
    return describe(
        {"matmul": "acam", "softmax": "acam", "gelu": "acam", "layernorm": "acam",
         "elementwise": "adder"},
        {"acam": {"count": count, "searches_per_lookup": per_lookup, "cells_per_row": 4,
                  "energy": A(0.3, "pJ", "row_search"), "latency": A(3, "ns", "lookup"),
                  "area": A(1, "um2", "cell")},
         "adder": {"per_tile": 0, "pool": 4, "energy": A(0.1, "pJ", "add"),
                   "latency": A(1, "cycle", "add"), "area": A(1, "um2", "instance")}})


# seq 3, 1 head, dh 4, context 3. scores: 3x3 outputs x k=4 -> 36 lookups, 9*3 = 27 adds;
# softmax: e = 9, rows = 9/3 -> 2*9 + 3 = 21; context: 3x4 outputs x k=3 -> 36 lookups,
# 12*2 = 24 adds; gelu: e = 3*4 = 12; layernorm: e = 12, rows = 12/4 -> 15 (x3: ln_emb,
# ln1, ln2). Elementwise (embed, res1, res2) on the adder pool: 12 adds each.
LOOKUPS = {"layer0.attn.scores": 36, "layer0.attn.softmax": 21, "layer0.attn.context": 36,
           "layer0.ffn.act": 12, "ln_emb": 15, "layer0.ln1": 15, "layer0.ln2": 15}
ADDS = {"layer0.attn.scores": 27, "layer0.attn.context": 24, "embed": 12,
        "layer0.res1": 12, "layer0.res2": 12}


@pytest.mark.parametrize("count", [1024, 10])
def test_acam_lookups_adds_and_serialization(tmp_path, count):
    a = load(tmp_path, acam_raw(count))
    m, sheet = run(a)
    per_step = count // 2       # 512 (every operator in one step) or 5
    for op, n in LOOKUPS.items():
        assert total(sheet.energy, op, "acam") == 2 * n, op          # 2 row searches each
        assert total(sheet.latency, op, "acam") == math.ceil(n / per_step), op
    if count == 10:   # 36 -> 8, 21 -> 5, 12 -> 3, 15 -> 3 steps; said in the notes
        assert [total(sheet.latency, op, "acam") for op in LOOKUPS] == [8, 5, 8, 3, 3, 3, 3]
        assert any("layer0.attn.softmax: 21 lookups serialized in 5 steps" in s
                   for s in m.notes)
    for op, n in ADDS.items():
        assert total(sheet.energy, op, "adder") == n, op
        assert total(sheet.latency, op, "adder") == math.ceil(n / 4), op   # pool of 4
    n_look, n_add = 36 + 21 + 36 + 12 + 3 * 15, 27 + 24 + 3 * 12     # 150 lookups, 87 adds
    assert sheet.energy_j == pytest.approx((n_look * 2 * 0.3 + n_add * 0.1) * PJ, rel=1e-6, abs=0)
    # area: count rows x 4 cells x 1 um2 + 4 pool adders
    assert sheet.area_mm2 == pytest.approx((count * 4 + 4) * UM2, rel=1e-6, abs=0)


def test_deferred_softmax_and_rsqrt_banks_priced(tmp_path):
    """[mapping.acam] softmax = "deferred", rsqrt_banks = 3: the softmax has no output
    lookup (e + rows = 9 + 3 = 12); each P·V output (3 x 4 = 12) is scaled once by its
    row's 1/sum on the scaler pool (5: ceil(12/5) = 3 steps); each layernorm row (12/4 = 3)
    takes 3 - 1 = 2 comparator decisions (6 per layernorm on 4 comparators: 2 steps)."""
    raw = acam_raw(1024)
    raw["mapping"]["acam"] = {"softmax": "deferred", "rsqrt_banks": 3}
    raw["components"]["scaler"] = {"count": 5, "energy": A(2.0, "pJ", "multiply"),
                                   "latency": A(1, "cycle", "multiply"),
                                   "area": A(1, "um2", "instance")}
    raw["components"]["comparator"] = {"count": 4, "energy": A(0.05, "pJ", "decision"),
                                       "latency": A(1, "ns", "decision"),
                                       "area": A(1, "um2", "instance")}
    a = load(tmp_path, raw)
    m, sheet = run(a)
    assert total(sheet.energy, "layer0.attn.softmax", "acam") == 2 * 12
    assert total(sheet.energy, "layer0.attn.context", "scaler") == 12
    assert total(sheet.latency, "layer0.attn.context", "scaler") == 3
    assert total(sheet.energy, comp="scaler") == 12                   # only P·V is scaled
    for ln in ("ln_emb", "layer0.ln1", "layer0.ln2"):
        assert total(sheet.energy, ln, "comparator") == 6
        assert total(sheet.latency, ln, "comparator") == 2
    n_look, n_add = 36 + 12 + 36 + 12 + 3 * 15, 27 + 24 + 3 * 12     # 141 lookups, 87 adds
    assert sheet.energy_j == pytest.approx((n_look * 2 * 0.3 + n_add * 0.1 + 12 * 2.0
                                            + 18 * 0.05) * PJ, rel=1e-6, abs=0)
    # area: + 5 scalers and 4 comparators (1 um2 each)
    assert sheet.area_mm2 == pytest.approx((1024 * 4 + 4 + 5 + 4) * UM2, rel=1e-6, abs=0)
    # norm_out_banks = 2: + 2 - 1 = 1 decision per layernorm output element (3 x 4 = 12):
    # 18 per layernorm on 4 comparators, ceil(6/4) + ceil(12/4) = 2 + 3 = 5 steps
    raw["mapping"]["acam"]["norm_out_banks"] = 2
    m2, sheet2 = run(load(tmp_path, raw))
    for ln in ("ln_emb", "layer0.ln1", "layer0.ln2"):
        assert total(sheet2.energy, ln, "comparator") == 18
        assert total(sheet2.latency, ln, "comparator") == 5
    assert sheet2.energy_j - sheet.energy_j == pytest.approx(3 * 12 * 0.05 * PJ, rel=1e-6, abs=0)
    del raw["mapping"]["acam"]["norm_out_banks"]
    # the choices need their components, and only known values
    del raw["components"]["scaler"]
    with pytest.raises(arch.ArchError, match="needs a component 'scaler'"):
        load(tmp_path, raw)
    raw = acam_raw(1024)
    raw["mapping"]["acam"] = {"softmax": "later"}
    with pytest.raises(arch.ArchError, match="softmax must be one of"):
        load(tmp_path, raw)


@pytest.mark.parametrize("key, lookups, adds", [
    # every element-wise lookup on 3 banks, averaged. By hand: softmax exp + 1/sum = 9 +
    # 3 = 12, x 3 = 36, plus the 9 probability output lookups (not copied) = 45, and 2 x
    # 12 = 24 adds; GELU 3 x 12 = 36 lookups, 24 adds; each layernorm 3 x 15 = 45
    # lookups, 30 adds. The products (scores, context) are unchanged.
    ("lookup_copies", {"layer0.attn.softmax": 45, "layer0.ffn.act": 36, "ln_emb": 45,
                       "layer0.ln1": 45, "layer0.ln2": 45},
     {"layer0.attn.softmax": 24, "layer0.ffn.act": 24, "ln_emb": 30, "layer0.ln1": 30,
      "layer0.ln2": 30}),
    # every term of a product sum on 3 banks, the sum adding every copy's code. By hand:
    # scores 9 outputs x 4 terms x 3 = 108 lookups, 9 x (12 - 1) = 99 adds; context 12
    # outputs x 3 terms x 3 = 108 lookups, 12 x (9 - 1) = 96 adds. The element-wise
    # lookups are unchanged.
    ("product_copies", {"layer0.attn.scores": 108, "layer0.attn.context": 108},
     {"layer0.attn.scores": 99, "layer0.attn.context": 96})])
def test_copies_priced_as_lookups_and_adds(tmp_path, key, lookups, adds):
    """[mapping.acam] lookup_copies / product_copies = 3, against hand counts."""
    raw = acam_raw(1024)
    raw["mapping"]["acam"] = {key: 3}
    m, sheet = run(load(tmp_path, raw))
    for op, n in {**LOOKUPS, **lookups}.items():
        assert total(sheet.energy, op, "acam") == 2 * n, op          # 2 row searches each
    for op, n in {**ADDS, **adds}.items():
        assert total(sheet.energy, op, "adder") == n, op
    for bad in (0, 17, 1.5, 2.0, True, False):
        raw["mapping"]["acam"] = {key: bad}
        with pytest.raises(arch.ArchError, match=f"{key} must be an integer"):
            load(tmp_path, raw)


def test_acam_too_small_for_one_lookup(tmp_path):
    a = load(tmp_path, acam_raw(count=1, per_lookup=2))   # 1 // 2 = 0 lookups per step
    with pytest.raises(mapping.ProvisionError, match="cannot hold one lookup"):
        run(a)


def test_acam_too_small_for_its_product_banks(tmp_path):
    raw = acam_raw(count=64, per_lookup=8)          # 8 lookups at once
    raw["mapping"]["acam"] = {"product_banks": 9}
    with pytest.raises(mapping.ProvisionError, match="product_banks = 9 lookups"):
        run(load(tmp_path, raw))
    raw["mapping"]["acam"] = {"product_banks": 8}
    run(load(tmp_path, raw))


# --- 3. SM tiers and static power -----------------------------------------------------------
def test_sm_macs_steps_sram_and_static(tmp_path):
    raw = describe({"linear": "sm"}, {
        "sm_mac": {"count": 10, "energy": A(1, "pJ", "mac"), "latency": A(1, "cycle", "mac"),
                   "area": A(100, "um2", "instance"), "static": A(0.01, "W", "mm2")},
        "sm_sram": {"count": "mapped", "capacity_bytes": 64, "access_bits": 64,
                    "energy": A(2, "pJ", "access"), "area": A(1, "um2", "instance")}})
    a = load(tmp_path, raw)
    m, sheet = run(a)
    # each linear: flops 2*3*4*4 = 96 -> 48 MACs -> ceil(48/10) = 5 cycles = 50 ns;
    # SRAM: weights (16 + 4 bias) + in 12 + out 12 = 44 B -> 44*8/64 = 5.5 accesses
    for op in ("layer0.attn.q", "layer0.ffn.out"):
        assert total(sheet.energy, op, "sm_mac") == 48
        assert total(sheet.latency, op, "sm_mac") == 5
        assert total(sheet.energy, op, "sm_sram") == 5.5
    assert sheet.latency_s == pytest.approx(6 * 50 * NS, rel=1e-6, abs=0)
    # static: 0.01 W/mm2 x (10 x 100 um2 = 1e-3 mm2) x 300 ns = 3 pJ
    static = [e for e in sheet.energy if e.figure == "static"]
    assert len(static) == 1 and static[0].component == "sm_mac"
    assert static[0].amount == pytest.approx(0.01 * 1e-3 * 300e-9, rel=1e-6, abs=0)
    assert sheet.energy_j == pytest.approx((6 * (48 * 1 + 5.5 * 2) + 3) * PJ, rel=1e-6, abs=0)
    assert sheet.area_mm2 == pytest.approx((1000 + 1) * UM2, rel=1e-6, abs=0)   # one 64 B SRAM


# --- 4. provenance shares -------------------------------------------------------------------
def test_provenance_share_hand_ratios():
    def E(amount, src):
        return cost.Entry(0, "op", "c", "energy", 1.0, amount, src, "", "logic")
    sheet = cost.CostSheet(
        energy=[E(1.0, "spice"), E(3.0, "literature"), E(2.0, "assumption"),
                E(2.0, "assumption")],
        latency=[E(5.0, "assumption")],
        area=[E(2.0, "spice"), E(6.0, "literature")])
    s = sheet.provenance_share()
    assert s["energy"] == pytest.approx({"spice": 1 / 8, "literature": 3 / 8,
                                         "assumption": 4 / 8}, rel=1e-6, abs=0)
    assert s["latency"] == {"spice": 0.0, "literature": 0.0, "assumption": 1.0}
    assert s["area"] == pytest.approx({"spice": 0.25, "literature": 0.75, "assumption": 0}, rel=1e-6, abs=0)
    for part in s.values():
        assert math.fsum(part.values()) == pytest.approx(1.0, rel=1e-6, abs=0)


# --- 5. refusals ----------------------------------------------------------------------------
def _broken(edit):
    raw = xbar_raw()
    edit(raw["components"])
    return raw


@pytest.mark.parametrize("edit,words", [
    (lambda c: c["crossbar"]["energy"].pop("source"), ["'crossbar'", "energy", "source"]),
    (lambda c: c["adder"]["latency"].pop("note"), ["'adder'", "latency", "'note'"]),
    (lambda c: c["adder"]["latency"].update(note="  "), ["assumption needs a 'note'"]),
    (lambda c: c["converter"]["energy"].pop("citation"), ["'converter'", "'citation'"]),
    (lambda c: c["crossbar"]["latency"].update(unit="pJ"), ["'pJ'", "not a time unit"]),
    (lambda c: c["dac"]["energy"].update(unit="um2"), ["'um2'", "not a energy unit"]),
    (lambda c: c["buffer"].pop("area"), ["'buffer'", "'area'"]),
])
def test_description_refusals(tmp_path, edit, words):
    with pytest.raises(arch.ArchError) as e:
        arch.from_dict(_broken(edit), "tiny.toml")
    for w in words:
        assert w in str(e.value), (w, str(e.value))
    with pytest.raises(arch.ArchError):   # the same through a TOML file
        load(tmp_path, _broken(edit))


def test_schema_and_override_refusals(tmp_path):
    raw = xbar_raw()
    raw["schema"] = "imcspice.arch/2"
    with pytest.raises(arch.ArchError, match=r"'schema' must be 'imcspice.arch/1'"):
        arch.from_dict(raw)
    with pytest.raises(arch.ArchError, match="no parameter 'rowz'"):
        arch.apply_overrides(xbar_raw(), ["crossbar.rowz=4"])
    with pytest.raises(arch.ArchError, match="no 'xbar'|no parameter 'xbar'"):
        arch.apply_overrides(xbar_raw(), ["xbar.rows=4"])
    with pytest.raises(arch.ArchError, match="expected a number"):
        arch.apply_overrides(xbar_raw(), ["crossbar.rows=many"])
    with pytest.raises(arch.ArchError, match="rowz"):
        load(tmp_path, xbar_raw(), ["crossbar.rowz=4"])
    ok = arch.apply_overrides(xbar_raw(), ["crossbar.rows=4", "clock_hz=2e8"])
    assert ok["components"]["crossbar"]["rows"] == 4 and ok["clock_hz"] == 2e8


def test_multi_level_needs_level_drive_figure(tmp_path):
    a = load(tmp_path, xbar_raw(), ["dac.mode=multi-level"])   # still priced per bit_drive
    with pytest.raises(arch.ArchError, match="level_drive"):
        run(a)


def test_fixed_crossbar_count_too_small(tmp_path):
    raw = xbar_raw()
    raw["components"]["crossbar"]["count"] = 1          # the workload needs 6 x 4 = 24 tiles
    with pytest.raises(mapping.ProvisionError, match="provisioned") as e:
        run(load(tmp_path, raw))
    assert "crossbar: 1 provisioned < 24 demanded" in str(e.value)


@pytest.mark.parametrize("die_mm2,fits", [(1.5e-4, False), (2e-4, True)])
def test_floorplan_die_too_small(tmp_path, die_mm2, fits):
    # mapped area 313 um2 = 3.13e-4 mm2 on 2 tiers: 2 x 1.5e-4 is too small, 2 x 2e-4 fits
    raw = xbar_raw()
    raw["floorplan"] = {"die_mm2": die_mm2, "tiers": {"all": {
        "count": 2, "components": ["crossbar", "dac", "converter", "adder", "buffer"]}}}
    a = load(tmp_path, raw)
    m = mapping.build(a, TINY, SEQ)
    sheet = cost.price(m, components.resolve(a, None))
    if fits:
        cost.check(a, m, sheet)
    else:
        with pytest.raises(cost.ConsistencyError, match=r"die_mm2 x tiers"):
            cost.check(a, m, sheet)


# --- 6. shipped descriptions on the shipped models ------------------------------------------
@pytest.fixture(scope="module")
def hw():
    return hardware.HardwareModels.from_dir()


def _latency_from_steps(m, figs) -> float:
    """Steps x figures, operator by operator in the mapping's order, plus what a gated
    amplifier's wake leaves uncovered (cost.py): a crossbar tile's per read beyond the
    operator's other steps per read; a readout's beyond the previous operator."""
    per_op: dict = {}
    for s in m.steps:
        per_op.setdefault(s.op, []).append((s.component, s.steps,
                                            s.steps * figs[s.component][s.figure].value))
    total, before = 0.0, 0.0
    for op, steps in per_op.items():
        t_op = math.fsum(t for _, _, t in steps)
        reads = sum(n for c, n, _ in steps if c == "crossbar")
        if reads and "tia_wake_latency" in figs.get("crossbar", {}):
            t_xb = math.fsum(t for c, _, t in steps if c == "crossbar")
            t_op += reads * max(0.0, figs["crossbar"]["tia_wake_latency"].value
                                - (t_op - t_xb) / reads)
        if any(c == "readout" for c, _, _ in steps) and "wake_latency" in figs.get("readout", {}):
            t_op += max(0.0, figs["readout"]["wake_latency"].value - before)
        total += t_op
        before = math.fsum(t for _, _, t in steps)
    return total


@pytest.mark.parametrize("name,workload,seq,mode", [
    ("race-it", "minilm", 16, "prefill"), ("hetrax", "bert-base", 128, "prefill"),
    ("gaincell", "byte-lm", 128, "decode")])
def test_shipped_architecture_consistent(hw, name, workload, seq, mode):
    a = arch.load(name)
    figs = components.resolve(a, hw)
    m = mapping.build(a, get_workload(workload), seq, 1, mode,
                      seq if mode == "decode" else None)
    sheet = cost.price(m, figs)
    cost.check(a, m, sheet)
    # totals along an independent path: charges x figures (+ static + the clock tree's
    # running pieces, every period of each operator's time), steps x figures
    static = math.fsum(e.amount for e in sheet.energy if e.figure == "static")
    dynamic = math.fsum(c.actions * figs[c.component][c.figure].value for c in m.charges)
    raw = tomllib.loads((arch.ARCH_DIR / f"{name}.toml").read_text())
    clock = 0.0
    ct = raw["components"]["clock_tree"]
    # the trees: one over the clocked area, or on a stack one on each die of a group
    # holding sinks (its sinks shared by its dies) over the die's footprint
    if a.floorplan:
        trees = []
        for g, tier in a.floorplan["tiers"].items():
            mine = [s for s in ct["sinks"] if s in tier["components"]]
            dies = floorplan.tier_count(tier)
            trees.append((mine, dies, math.ceil(sum(m.provisioned[s] for s in mine) / dies),
                          math.sqrt(a.floorplan["die_mm2"])))
    else:
        trees = [(ct["sinks"], 1, sum(m.provisioned[s] for s in ct["sinks"]), math.sqrt(
            math.fsum(e.amount for e in sheet.area if e.component != "clock_tree")))]

    def running_mm(n, per_die, side_mm):
        # level j: 3 arms of D / 2^(j+1) per running H, ceil(n / 4^(k-j)) of them; n
        # None: all 4^k leaves
        k = math.ceil(math.log(per_die, 4))
        n = 4 ** k if n is None else n
        return sum(3 * math.ceil(n / 4 ** (k - j)) * side_mm / 2 ** (j + 1) for j in range(k))
    t_op = {}
    for e in sheet.latency:
        t_op[e.op] = t_op.get(e.op, 0.0) + e.amount
    for op, t in t_op.items():
        busy = [sum(m.busy.get(op, {}).get(s, 0) for s in mine) for mine, *_ in trees]
        for b, (_, dies, per_die, side_mm) in zip(busy, trees):
            if not any(busy):       # an operator on no sink: every die's whole tree
                mm = dies * running_mm(None, per_die, side_mm)
            else:                   # busy leaves fill one die after another
                full, rest = divmod(b, per_die)
                mm = full * running_mm(per_die, per_die, side_mm) + (
                    running_mm(rest, per_die, side_mm) if rest else 0.0)
            clock += mm / ct["segment_mm"] * t * a.clock_hz * figs["clock_tree"]["energy"].value
    assert clock > 0
    assert sheet.energy_j == pytest.approx(dynamic + static + clock, rel=1e-9, abs=0)
    assert sheet.energy_j == pytest.approx(math.fsum(e.amount for e in sheet.energy), rel=1e-6, abs=0)
    assert sheet.latency_s == pytest.approx(_latency_from_steps(m, figs), rel=1e-9, abs=0)
    assert sheet.energy_j > 0 and sheet.latency_s > 0 and sheet.area_mm2 > 0
    for part, shares in sheet.provenance_share().items():
        assert math.fsum(shares.values()) == pytest.approx(1.0, rel=1e-6, abs=0), part
    if name == "hetrax":   # tiers sm x2 and reram "fit" on the file's die_mm2
        fp = raw["floorplan"]
        area = cost.CostSheet.by(sheet.area, "component")
        placed, dies = set(), 0
        for g, t in fp["tiers"].items():
            used = sum(area.get(c, 0.0) for c in t["components"])
            n = floorplan.tier_count(a.floorplan["tiers"][g])
            if t["count"] == "fit":   # the fewest dies that hold the group
                assert fp["die_mm2"] * (n - 1) < used <= fp["die_mm2"] * n, (g, used, n)
            else:
                assert n == t["count"] and used <= fp["die_mm2"] * n
            placed |= set(t["components"])
            dies += n
        assert sheet.area_mm2 <= fp["die_mm2"] * dies
        # every component on a tier, but the clock trees', whose repeaters sit on every die
        assert set(area) - placed == {"clock_tree"}
    # static: every leaking component's W per provisioned instance x its instances x the
    # total latency (the shipped descriptions price leakage per instance)
    leaking = [c for c, f in figs.items() if "static" in f]
    assert leaking and all(figs[c]["static"].per == "instance" for c in leaking)
    t = _latency_from_steps(m, figs)
    assert static == pytest.approx(math.fsum(
        figs[c]["static"].value * m.provisioned.get(c, 0) * t for c in leaking), rel=1e-9,
        abs=0)
    assert static > 0
    if name == "gaincell":  # scope: the attention of one decode step, nothing else priced
        assert {c.op.split(".", 1)[1] for c in m.charges} <= {"attn.scores", "attn.context"}


def _counts_are(sheet, case, op="layer0.attn.q"):
    """The first linear's energy counts and steps are those of ``case`` (a CASES row)."""
    reads, drives, convs, adds, xb_steps, conv_steps, add_steps = case
    for comp, n in {"crossbar": reads, "dac": drives, "converter": convs,
                    "adder": adds}.items():
        assert total(sheet.energy, op, comp) == pytest.approx(n, rel=1e-6, abs=0), comp
    assert (total(sheet.latency, op, "crossbar"), total(sheet.latency, op, "converter"),
            total(sheet.latency, op, "adder")) == (xb_steps, conv_steps, add_steps)


def test_sign_magnitude_reads_one_plane_fewer(tmp_path):
    """dac.encoding = "sign-magnitude": the 2-bit DAC drives bits - 1 = 1 magnitude plane
    (+-v_read), so every count is the P = 1 case by hand (the multi-level row of CASES),
    the DAC still priced per bit drive; an unknown encoding is refused."""
    raw = xbar_raw()
    raw["components"]["dac"]["encoding"] = "sign-magnitude"
    _, sheet = run(load(tmp_path, raw, ["crossbar.partial_sums=digital"]))
    _counts_are(sheet, CASES[("multi-level", "digital")])
    raw["components"]["dac"]["encoding"] = "offset-binary"
    with pytest.raises(arch.ArchError, match="dac.encoding"):
        run(load(tmp_path, raw, []))


def test_repeated_plane_reads_are_priced_as_reads(tmp_path):
    """dac.plane_reads = [2]: the one magnitude plane of the sign-magnitude 2-bit DAC is
    read twice and its codes averaged, so every count is the two-read case by hand (the
    bit-serial row of CASES: each repeat a drive, its bit-line reads, its conversions and
    an add). A count that is not a power of two, more counts than planes, or none, are
    refused."""
    raw = xbar_raw()
    raw["components"]["dac"].update(encoding="sign-magnitude", plane_reads=[2])
    _, sheet = run(load(tmp_path, raw, []))
    _counts_are(sheet, CASES[("bit-serial", "digital")])
    for bad in ([3], [1, 1], [True], "2", []):
        raw["components"]["dac"]["plane_reads"] = bad
        with pytest.raises(arch.ArchError, match="dac.plane_reads"):
            run(load(tmp_path, raw, []))


def test_skipped_plane_reads_are_not_priced_but_their_decisions_are(tmp_path):
    """dac.skip_empty with plane_reads = [2] on the sign-magnitude 2-bit DAC (P = 2 reads
    of its one plane) and read_fraction 0.5 for attn.q (the accuracy run's reads made):
    per token, reads 2*f*P*rt*n = 8, drives f*P*k*ct = 4, conversions f*P*rt*n = 8,
    adds n*(f*P*rt - 1) = 4, all x 3 tokens, by hand; the steps keep every slot (the
    bit-serial row of CASES). Each tile decides once per plane and token: 1 plane x
    rt*ct = 4 tiles x 3 tokens = 12 skip_or decisions for every linear, made or not, on
    one skip_or per tile (24)."""
    raw = xbar_raw()
    raw["components"]["dac"].update(encoding="sign-magnitude", plane_reads=[2],
                                    skip_empty=True)
    raw["components"]["skip_or"] = {"energy": A(0.3, "pJ", "decision"),
                                    "area": A(2, "um2", "instance")}
    a = load(tmp_path, raw, [])
    m = mapping.build(a, TINY, SEQ, read_fraction={"layer0.attn.q": 0.5})
    sheet = cost.price(m, components.resolve(a, None))
    cost.check(a, m, sheet)
    _counts_are(sheet, (48, 24, 24, 12, 6, 6, 9))
    _counts_are(sheet, CASES[("bit-serial", "digital")], op="layer0.attn.k")   # f = 1
    for op in ("layer0.attn.q", "layer0.ffn.out"):
        assert total(sheet.energy, op, "skip_or") == 12
    assert total(sheet.area, comp="skip_or") == 24
    assert total(sheet.area, comp="skip_or", attr="amount") == pytest.approx(48 * UM2)
    with pytest.raises(arch.ArchError, match="not in"):
        mapping.build(a, TINY, SEQ, read_fraction={"layer0.attn.q": 1.5})
    del raw["components"]["skip_or"]
    with pytest.raises(arch.ArchError, match="'skip_or' component"):
        run(load(tmp_path, raw, []))
