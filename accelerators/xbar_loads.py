"""The crossbar bit-line loads of a mapped network: the operating point of the column read.

A bit line's load is the mean of its cells' mapped conductance above g_min as a
fraction of the span (the crossbar-column model's ``frac_on``). It is a deterministic
function of the pretrained weights and the mapping (the description's ``w_scale``,
``w_clip_pct``, tile ``rows``, differential G+/G- pairs, and the input rows kept
digital as outliers): no chip seed enters it, and the conductance range cancels. The
accuracy path (:class:`.analog.CrossbarLinear`) and this module compute it with the
same two functions (:func:`.weight_scale.normalized_weights`,
:func:`.ir_profile.bitline_loads`), so the cost (:mod:`.components`, ``at = { frac_on =
"mapped" }``) is priced at the loads the evaluated machine's columns really have.

Outlier rows (``crossbar.outlier_factor``) are known only from calibration ranges
(an accuracy run records them): with ``in_ranges`` they are removed exactly as the
accuracy path removes them; without (a cost-only run, a direct ``resolve``) every
input row stays on the crossbar, and the source says so.

Networks without shipped weights (shape-only workloads such as ``bert-base``) have no
mapped loads: the description's default network's loads stand in for them, labelled
as an assumption in the source.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .analog import outlier_channels
from .arch import ArchError
from .ir_profile import bitline_loads, mapped_conductances
from .weight_scale import normalized_weights


@dataclass(frozen=True)
class MappedLoads:
    """``loads``: every mapped bit line's load (G+ and G- of every row tile of every
    crossbar operator, flattened; fraction of the conductance span, 0..1), one entry
    per column read the mapping charges per input plane and token; ``source``: which
    weights and mapping they come from."""

    loads: np.ndarray
    source: str

    def summary(self) -> dict:
        x = self.loads
        return {"median": float(np.median(x)), "mean": float(x.mean()),
                "max": float(x.max()), "min": float(x.min()), "bit_lines": int(x.size),
                "source": self.source}


def network_weights(workload: str) -> dict[str, np.ndarray] | None:
    """Operator name (``layer0.ffn.in``) -> pretrained weight (out, in), float32, of a
    network whose weights ship with the project; None for a shape-only workload."""
    return _minilm_weights() if workload == "minilm" else None


@functools.lru_cache(maxsize=1)
def _minilm_weights() -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    from .convert import op_name      # the accuracy path's operator names
    from .minilm import find_weights_dir
    w = load_file(str(find_weights_dir() / "model.safetensors"))
    return {op_name(k[:-len(".weight")]): v for k, v in w.items()
            if k.endswith(".weight") and v.ndim == 2}


def mapped_loads(arch, workload: str | None = None,
                 in_ranges: dict | None = None, hw=None) -> MappedLoads:
    """The bit-line loads of ``workload`` (default: the description's) mapped onto
    ``arch``'s crossbars. ``in_ranges``: calibration ranges per operator (``{name:
    {"in_ch": per-input-channel maxima}}``, :meth:`.accuracy.MiniLMRun.fp32_ranges`):
    the outlier rows they mark run digitally and carry no load, as in the accuracy
    path; None: every row on the crossbar. ``hw`` (:class:`.hardware.HardwareModels`):
    needed where ``crossbar.ir_profile = "compensated"``, whose programmed conductances,
    and so their loads, depend on the device (:func:`.ir_profile.mapped_conductances`)."""
    from .workloads import get_workload, operator_graph
    wl = workload or arch.workload["default"]
    net = wl if network_weights(wl) is not None else arch.workload["default"]
    weights = network_weights(net)
    if weights is None:
        raise ArchError(f"{arch.name}: crossbar figures at the mapped loads (at.frac_on = "
                        f"\"mapped\") need pretrained weights, and neither {wl!r} nor the "
                        f"default network {net!r} ships them; give a number instead")
    xb = arch.component("crossbar")
    rows = int(xb["rows"])
    dev = None
    if xb.get("ir_profile", "column") == "compensated":
        if hw is None:
            raise ArchError(f"{arch.name}: crossbar.ir_profile = \"compensated\" programs "
                            "device-dependent conductances: their loads need the models")
        from .hardware import crossbar_device
        dev = crossbar_device(hw, xb)
    w_scale = str(xb.get("w_scale", "matrix"))
    w_clip = float(xb.get("w_clip_pct", 100.0))
    factor = float(xb.get("outlier_factor", 6.0))     # as CrossbarLinear's default
    ops = [op.qualified_name for op in operator_graph(get_workload(net), 1)
           if arch.engine_for(op.name, op.kind) == "crossbar"]
    missing = [n for n in ops if n not in weights]
    if not ops or missing:
        raise ArchError(f"{arch.name}: no pretrained weight for crossbar operators "
                        f"{missing or '(none mapped)'} of {net}")
    out, n_digital = [], 0
    for name in ops:
        w = np.asarray(weights[name], dtype=np.float32)
        if in_ranges is not None:
            x_max = np.broadcast_to(np.asarray(in_ranges[name]["in_ch"], np.float64),
                                    (w.shape[1],))
            digital = outlier_channels(x_max, factor)
            w = w[:, ~digital] * float(x_max[~digital].max())   # as CrossbarLinear
            n_digital += int(digital.sum())
        wn, _ = normalized_weights(w, w_scale, w_clip, rows)
        out.append((bitline_loads(wn, rows) if dev is None else
                    mapped_conductances(wn, dev)[2]).ravel())
    rows_txt = (f"{n_digital} outlier input rows digital (calibration ranges, factor "
                f"{factor:g})" if in_ranges is not None else
                "every input row on the crossbar (no calibration ranges: outlier rows "
                "not removed)")
    src = (f"mapped pretrained weights of {net}: {len(ops)} crossbar operators, {rows}-row "
           f"tiles, w_scale {w_scale}, clip {w_clip:g} %, {rows_txt}"
           + ("; conductances compensated for their positions along the bit lines"
              if dev is not None else ""))
    if net != wl:
        src += f"; {wl} ships no weights, so {net}'s loads stand in for it (assumption)"
    return MappedLoads(np.concatenate(out), src)
