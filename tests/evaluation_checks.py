"""What every accelerator evaluation test checks of a report, and the accuracy protocols
those tests run (tests/test_accelerators.py, test_race_it_evaluation.py,
test_hetrax_evaluation.py)."""
import json

import pytest

from imcspice.accelerators.accuracy import Protocol

#: the accuracy protocol of the CI evaluations: 2 texts, 2 chips, 2 calibration texts
#: instead of --quick's 4/2/4 (the network runs dominate these tests); what the tests
#: check (seed statistics, ablation exactness, curve direction, plots) holds for any
#: size, and the --quick size runs with the slow tests
SMALL = Protocol(sentences=2, seeds=2, calibration=2)
PROTOCOLS = [SMALL, pytest.param(None, marks=pytest.mark.slow, id="quick")]


def _refuse(token):
    raise ValueError(f"non-JSON token {token}")


def strict_loads(text: str):
    """json.loads that refuses NaN / Infinity / -Infinity, as RFC 8259 readers (jq,
    JavaScript) do; Python's own json.loads accepts them."""
    return json.loads(text, parse_constant=_refuse)


def consistent(rep):
    """Totals are the sums of their entries; every set of provenance shares sums to 1."""
    for k, unit in (("energy", "energy_j"), ("latency", "latency_s"), ("area", "area_mm2")):
        total = sum(e["amount"] for e in rep[f"{k}_entries"])
        assert total == pytest.approx(rep[unit], rel=1e-9, abs=0)
        assert sum(rep["provenance_share"][k].values()) == pytest.approx(1.0, abs=1e-12)
        assert {e["source"] for e in rep[f"{k}_entries"]} <= {"spice", "literature",
                                                               "assumption"}
