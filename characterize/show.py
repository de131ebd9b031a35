"""``imcspice show``: a readable summary of a raw sweep or model file."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..models import isolate
from . import rawfile

_SKIP = {"netlist", "spec", "params", "units"}


def show(path: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise rawfile.RawFileError(f"{path}: no such file")
    # read in a child with a deadline: damaged bytes can make HDF5 loop on this attribute
    schema = isolate.file_schema(p, rawfile.RawFileError)
    if schema == rawfile.SCHEMA:
        return printable(_show_raw(p))
    if isinstance(schema, str) and schema.startswith("imcspice.model/"):
        from ..models.store import describe
        return printable(describe(p))
    raise rawfile.RawFileError(printable(f"{path}: schema {schema!r} is not an imcspice file"))


def printable(text: str) -> str:
    """``text`` with control and format characters (terminal escape sequences, carriage
    returns, bidi overrides) shown as escapes; line breaks kept. File contents are
    untrusted: printed raw, an escape sequence could rewrite the user's terminal."""
    import unicodedata
    return "".join(c if c == "\n" or unicodedata.category(c) not in ("Cc", "Cf")
                   else c.encode("unicode_escape").decode("ascii") for c in text)


def _show_raw(p: Path) -> str:
    raw = rawfile.read(p)
    a = raw.attrs
    lines = [f"{p}  ({a['schema']})",
             f"  recipe      {a['recipe']} v{a.get('recipe_version', '?')}",
             f"  technology  {a['technology']}  corners {a['corner']}  temps {a.get('temp_c')} C",
             f"  ngspice     {a['ngspice_version']}   imcspice {a['imcspice_version']}",
             f"  created     {a['created']}"]
    if a.get("mc_samples"):
        lines.append(f"  monte carlo {a['mc_samples']} samples, seed {a['mc_seed']}")
    lines.append(f"  fixed parameters {a['params']}")
    lines.append("  axes:")
    for name, (unit, vals) in raw.axes.items():
        v = list(vals)
        shown = ", ".join(str(x) if isinstance(x, str) else f"{x:g}" for x in v[:6])
        more = f", ... ({len(v)} values)" if len(v) > 6 else ""
        kind = "outer" if name in raw.outer else "inner"
        lines.append(f"    {name:<12} [{unit or '-'}] {kind}: {shown}{more}")
    lines.append("  quantities:")
    for q, arr in raw.data.items():
        finite = arr[np.isfinite(arr)]
        rng = f"{finite.min():.4g} .. {finite.max():.4g}" if finite.size else "no data"
        lines.append(f"    {q:<12} [{raw.units[q]}] dims ({', '.join(raw.data_axes[q])}) "
                     f"shape {arr.shape}  range {rng}")
    lines.append(f"  status: {json.dumps(raw.status_counts())}")
    bad = np.flatnonzero(raw.status.ravel() > rawfile.STATUS["ok"])
    for i in bad[:5]:
        idx = np.unravel_index(i, raw.status.shape)
        lines.append(f"    point {tuple(int(x) for x in idx)}: "
                     f"{rawfile.STATUS_NAMES[int(raw.status[idx])]}: {raw.message[idx][:160]}")
    lines.append(f"  netlist: {len(a['netlist'].splitlines())} lines (first deck of "
                 f"{a.get('decks', 1)}); read it with h5py: f.attrs['netlist']")
    return "\n".join(lines)
