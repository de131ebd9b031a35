"""The bracket around the column TIAs' gating (accelerators/tia_gating.py): gated per
read as priced, or biased through each operator's steps, from the priced entries and
by hand."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from imcspice.accelerators import arch, components, cost, hardware, mapping, tia_gating
from imcspice.accelerators.workloads import get_workload


@pytest.fixture(scope="module")
def hw():
    return hardware.HardwareModels.from_dir()


@pytest.fixture(scope="module")
def race_it(hw):
    a = arch.load("race-it")
    m = mapping.build(a, get_workload("minilm"), 16, 1)
    sheet = cost.price(m, components.resolve(a, hw))
    return a, m, sheet, tia_gating.bracket(m, sheet)


def test_a_query_projection_by_hand(race_it, hw):
    """MiniLM's 384 x 384 query projection on 128 x 128 tiles: 3 x 3 tiles, each with a
    G+ and a G- TIA per column, 2304 TIAs. Gated, each draws its read-window energy per
    read plus a wake; biased, its read power over the whole operator plus one wake."""
    a, m, sheet, b = race_it
    op = "layer0.attn.q"
    v = b["per_op"][op]
    assert v["tias"] == 3 * 3 * 2 * 128
    ent = {x.figure: x for x in sheet.energy if x.op == op and x.component == "crossbar"}
    steps = [x for x in sheet.latency if x.op == op]
    (read,) = [x for x in steps if x.component == "crossbar"]
    window = read.amount / read.count
    # every TIA of the operator reads on every read step (the skip decision aside: a
    # cost-only run prices every scheduled read)
    assert ent["tia_energy"].count == pytest.approx(read.count * v["tias"], rel=1e-12)
    e_read = ent["tia_energy"].amount / ent["tia_energy"].count
    e_wake = ent["tia_wake_energy"].amount / ent["tia_wake_energy"].count
    t_op = math.fsum(x.amount for x in steps)
    assert v["gated_j"] == pytest.approx(read.count * v["tias"] * (e_read + e_wake), rel=1e-9)
    # biased from its wake, 30 us ahead, through its last step
    assert v["biased_j"] == pytest.approx(
        v["tias"] * (e_read / window * (t_op + 30e-6) + e_wake), rel=1e-9)
    # the tile idles through its conversions and adds: biased costs its duty cycle's
    # inverse on the read energy
    assert t_op > 3 * read.amount and v["biased_j"] > 3 * v["gated_j"]
    # the TIA's power from the read deck (crossbar-column, at the mapped loads) against the
    # wake deck's supply power at the end of a read at the design load (another bench)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p_on = float(np.asarray(hw.get("tia-wake").evaluate(
            "p_on_w", corner="tt", rows=128, v_read_v=0.2, temp_c=27.0)).ravel()[0])
    assert v["p_tia_w"] == pytest.approx(p_on, rel=0.15)


def test_the_machine_totals_add_up(race_it):
    a, m, sheet, b = race_it
    tia = math.fsum(x.amount for x in sheet.energy if x.component == "crossbar"
                    and x.figure in ("tia_energy", "tia_wake_energy"))
    assert b["gated_j"] == pytest.approx(tia, rel=1e-12)
    assert set(b["per_op"]) == set(m.tiles)               # every crossbar operator
    assert b["machine_biased_j"] == pytest.approx(sheet.energy_j - tia + b["biased_j"],
                                                  rel=1e-12)
    assert b["tias_per_tile"] == 256 and not b["stack"]


def test_a_machine_without_column_tias_has_no_bracket(hw):
    a = arch.load("gaincell")
    m = mapping.build(a, get_workload("byte-lm"), 1024, 1, mode="decode", context_len=1024)
    assert tia_gating.bracket(m, cost.price(m, components.resolve(a, hw))) is None


def test_the_report_states_the_bracket(tmp_path):
    from imcspice.accelerators.evaluate import evaluate
    rep = evaluate("race-it", tmp_path / "r", accuracy=False, progress=False)
    md = (tmp_path / "r" / "report.md").read_text()
    b = rep["tia_gating"]
    assert b["biased_j"] > b["gated_j"] > 0
    assert "Column TIAs gated per read" in md and "The shared bias line" in md
    assert f"({b['machine_biased_j'] / b['machine_j']:.2g}x" in md
