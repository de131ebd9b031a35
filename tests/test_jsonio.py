"""Strict JSON out (imcspice/jsonio.py): no bare NaN / Infinity tokens in any artifact.

RFC 8259 has no literal for a non-finite number; Python's json writes one anyway and
other readers (jq, JavaScript) refuse the file; ``strict_loads`` reads as they do."""
import math
from pathlib import Path

import numpy as np
import pytest

from evaluation_checks import strict_loads
from imcspice import jsonio
from imcspice.demo import _heldout_cell


def test_non_finite_values_become_null_everywhere():
    obj = {"a": float("nan"), "b": [1.5, float("inf"), {"c": -math.inf}],
           "d": np.float32("nan"), "e": np.array([1.0, np.nan]), "f": np.int64(3),
           "g": (np.float64(2.5), None, "NaN"), "h": np.bool_(True)}
    got = strict_loads(jsonio.dumps(obj))
    assert got == {"a": None, "b": [1.5, None, {"c": None}], "d": None, "e": [1.0, None],
                   "f": 3, "g": [2.5, None, "NaN"], "h": True}


def test_default_converts_unknown_objects_and_its_result_is_cleaned():
    class Odd:
        pass
    got = strict_loads(jsonio.dumps({"p": Path("/x/y"), "o": Odd()},
                                    default=lambda o: str(o) if isinstance(o, Path)
                                    else float("nan")))
    assert got == {"p": "/x/y", "o": None}
    with pytest.raises(TypeError):            # no default: unknown objects still refused
        jsonio.dumps({"o": Odd()})


def test_shipped_defaults_summary_is_strict_json():
    path = Path(__file__).resolve().parents[1] / "models" / "data" / "defaults.json"
    models = strict_loads(path.read_text())["models"]
    # a held-out figure that could not be computed is null, not a number
    vals = [e["max_pct_fs"] for m in models.values() if isinstance(m, dict)
            for e in (m.get("heldout") or {}).values()]
    assert None in vals and all(v is None or v >= 0 for v in vals)


def test_demo_table_says_why_a_fit_has_no_heldout_error():
    assert _heldout_cell({"ok": True, "points": 2, "heldout_max_pct_fs": float("nan")}) \
        == "none held out (2 points: no swept line to spare)"
    assert _heldout_cell({"ok": True, "points": 1, "heldout_max_pct_fs": None}).startswith(
        "none held out (1 point:")
    assert _heldout_cell({"ok": True, "points": 9, "heldout_max_pct_fs": 0.456}) == "0.46"
    assert _heldout_cell({"ok": False, "error": "FitError: bad"}) == "FitError: bad"
