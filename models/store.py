"""The model file (``*.model.h5``, schema ``imcspice.model/1``): data only.

Layout::

    /   attrs: schema            "imcspice.model/1"
               kind              model kind, e.g. "mosfet-iv" (models.KINDS)
               form              text description of the fitted equation(s)
               source_raw_sha256 sha256 of the raw sweep file's bytes
               heldout_error     JSON: per output max/RMS error, absolute and % of full scale
               valid_range       JSON: input -> [lo, hi]; "corner" -> [names]
               meta              JSON: units, defaults, recipe, fit settings
               created, imcspice_version
               payload_sha256    sha256 over every attribute and dataset above/below
    /functions/<output>/         attrs: spec (JSON: unit, form, corners, inputs, ...)
        axis<i>                  float64 1-D grid axis i (one per grid input)
        values                   float64 (corners, *grid, params): table or parameter grid
        extra/<name>             float64 fixed arrays of the form (e.g. poly exponents)
    /extra/<name>                float64 kind-level constants (e.g. programming sigma)

Loading never unpickles or evaluates anything: attributes are read as text and
parsed with ``json.loads``; datasets must be plain float64 arrays; any other
object, link, dtype or attribute, a checksum mismatch, a truncated or a
foreign file raises :class:`ModelFileError` with the reason. Writes go to a
temporary file in the same directory, then ``os.replace`` (atomic).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from . import isolate
from .base import KINDS, SCHEMA, BehavioralModel, Function, ModelFileError

ROOT_ATTRS = ("schema", "kind", "form", "source_raw_sha256", "heldout_error", "valid_range",
              "meta", "created", "imcspice_version")
_JSON_ATTRS = ("heldout_error", "valid_range", "meta")
_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_.\-]{0,127}\Z")
_SPEC_KEYS = {"name", "unit", "doc", "form", "corners", "grid_inputs", "form_inputs",
              "param_names", "scales", "param_transform"}


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _version() -> str:
    try:
        from .. import __version__
        return __version__
    except Exception:  # pragma: no cover - models used outside the package
        return ""


def _payload_hash(attrs: dict[str, str], datasets: dict[str, np.ndarray],
                  group_attrs: dict[str, str]) -> str:
    h = hashlib.sha256()
    for k in sorted(attrs):
        h.update(f"A{k}={attrs[k]}\0".encode())
    for k in sorted(group_attrs):
        h.update(f"G{k}={group_attrs[k]}\0".encode())
    for k in sorted(datasets):
        a = np.ascontiguousarray(datasets[k], dtype="<f8")
        h.update(f"D{k}{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _flatten(model: BehavioralModel):
    """The model as (root attrs, datasets by path, group spec attrs by path)."""
    attrs = {
        "schema": SCHEMA,
        "kind": model.kind,
        "form": model.form,
        "source_raw_sha256": model.source_raw_sha256,
        "heldout_error": json.dumps(model.heldout_error, sort_keys=True),
        "valid_range": json.dumps(model.valid_range, sort_keys=True),
        "meta": json.dumps(model.meta, sort_keys=True),
        "created": model.created or _now(),
        "imcspice_version": model.imcspice_version or _version(),
    }
    datasets, gattrs = {}, {}
    for name, fn in model.functions.items():
        if not _NAME.match(name) or name != fn.name:
            raise ValueError(f"bad function name {name!r}")
        g = f"functions/{name}"
        gattrs[g] = json.dumps({
            "name": fn.name, "unit": fn.unit, "doc": fn.doc, "form": fn.form,
            "corners": fn.corners, "grid_inputs": fn.grid_inputs, "form_inputs": fn.form_inputs,
            "param_names": fn.param_names, "scales": fn.scales,
            "param_transform": fn.param_transform}, sort_keys=True)
        for i, a in enumerate(fn.grid_axes):
            datasets[f"{g}/axis{i}"] = a
        datasets[f"{g}/values"] = fn.values
        for k, v in fn.extra.items():
            if not _NAME.match(k):
                raise ValueError(f"bad extra name {k!r}")
            datasets[f"{g}/extra/{k}"] = v
    for k, v in model.extra.items():
        if not _NAME.match(k):
            raise ValueError(f"bad extra name {k!r}")
        datasets[f"extra/{k}"] = v
    return attrs, datasets, gattrs


def save(model: BehavioralModel, path: str | Path) -> Path:
    """Write ``model`` to ``path`` (``*.model.h5``) atomically."""
    path = Path(path)
    if not path.parent.exists():
        raise FileNotFoundError(f"output directory {path.parent} does not exist")
    attrs, datasets, gattrs = _flatten(model)
    attrs["payload_sha256"] = _payload_hash(attrs, datasets, gattrs)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with h5py.File(tmp, "w") as f:
            for k, v in attrs.items():
                f.attrs[k] = v
            f.create_group("functions")
            for g, spec in gattrs.items():
                f.require_group(g).attrs["spec"] = spec
            for k, v in datasets.items():
                f.create_dataset(k, data=np.asarray(v, dtype="<f8"))
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    model.created, model.imcspice_version = attrs["created"], attrs["imcspice_version"]
    return path


# --- loading -----------------------------------------------------------------------
def _text_attr(obj, key: str, where: str) -> str:
    if key not in obj.attrs:
        raise ModelFileError(f"{where}: missing attribute {key!r}")
    try:
        v = obj.attrs[key]
    except Exception as e:  # an attribute h5py cannot even decode
        raise ModelFileError(f"{where}: attribute {key!r} unreadable ({e})") from None
    if isinstance(v, bytes):
        try:
            v = v.decode("utf-8")
        except UnicodeDecodeError:
            raise ModelFileError(f"{where}: attribute {key!r} is not UTF-8 text") from None
    if not isinstance(v, str):
        raise ModelFileError(f"{where}: attribute {key!r} must be text, found "
                             f"{type(v).__name__} (model files hold text and float64 only)")
    try:
        v.encode("utf-8")       # h5py maps undecodable bytes to lone surrogates
    except UnicodeEncodeError:
        raise ModelFileError(f"{where}: attribute {key!r} is not UTF-8 text") from None
    return v


def _json(text: str, key: str, where: str):
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise ModelFileError(f"{where}: attribute {key!r} is not valid JSON ({e})") from None


def foreign_storage(ds: h5py.Dataset) -> str | None:
    """Why a dataset's data would come from outside its own file (external raw storage,
    a virtual dataset mapping other files), or None when it is stored in the file."""
    if ds.is_virtual:
        return "a virtual dataset (its data lives in other files)"
    if ds.external:
        return "stored in external raw files"
    return None


def _data_budget(path: Path) -> int:
    """Bytes the datasets of a model file may declare: what the file holds. ``save``
    writes every dataset uncompressed, so a model file's data cannot exceed its size;
    a file declaring more (compressed, or never-written storage read as fill values)
    was not written by imcspice, and is refused before anything is read. (The float64
    values of a 13 KB file are at most 13 KB: the loader, and every evaluation, then
    stay proportional to the file.)"""
    return path.stat().st_size


def _read_tree(f: h5py.File, where: str):
    """Every object in the file, checked: groups and float64 datasets stored in this
    file, hard links only, no attributes beyond the schema's, and no more data than
    the file's size justifies (checked before each read)."""
    datasets: dict[str, np.ndarray] = {}
    gattrs: dict[str, str] = {}
    budget = _data_budget(Path(f.filename))
    used = [0]

    def walk(group, prefix):
        for name in group:
            link = group.get(name, getlink=True)
            full = f"{prefix}{name}"
            if not isinstance(link, h5py.HardLink):
                raise ModelFileError(f"{where}: object {full!r} is a {type(link).__name__}; "
                                     "model files hold no links")
            obj = group[name]
            if isinstance(obj, h5py.Group):
                allowed = {"spec"} if re.fullmatch(r"functions/[^/]+", full) else set()
                extra = set(obj.attrs) - allowed
                if extra:
                    raise ModelFileError(f"{where}: group {full!r} has unexpected attributes "
                                         f"{sorted(extra)}")
                if "spec" in allowed:
                    gattrs[full] = _text_attr(obj, "spec", f"{where}: {full}")
                walk(obj, full + "/")
            elif isinstance(obj, h5py.Dataset):
                if obj.dtype != np.dtype("<f8") and obj.dtype != np.dtype(">f8"):
                    raise ModelFileError(f"{where}: dataset {full!r} has dtype {obj.dtype}; "
                                         "model files hold float64 datasets only (no pickled "
                                         "or opaque data)")
                if len(obj.attrs):
                    raise ModelFileError(f"{where}: dataset {full!r} has unexpected attributes")
                why = foreign_storage(obj)
                if why:
                    raise ModelFileError(f"{where}: dataset {full!r} is {why}; model files "
                                         "hold their own data only")
                used[0] += obj.size * 8
                if used[0] > budget:
                    raise ModelFileError(f"{where}: dataset {full!r} declares more data than "
                                         f"this {budget} byte file can hold (model files "
                                         "store their float64 data uncompressed)")
                datasets[full] = np.asarray(obj[()], dtype=np.float64)
            else:
                raise ModelFileError(f"{where}: object {full!r} is not a group or dataset")

    walk(f, "")
    return datasets, gattrs


def load(path: str | Path) -> BehavioralModel:
    """Read a model file. Raises :class:`ModelFileError` for anything but a valid one.

    The file is loaded first in a forked child with a deadline and a memory cap
    (:mod:`.isolate`): HDF5 crashing, looping or allocating on damaged bytes is a
    one-line ModelFileError, not a dead or hung process."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file")
    return isolate.read_guarded(_load, path, ModelFileError, _memory_cap(path))


def _memory_cap(path: Path) -> int:
    """Memory an isolated load may allocate: the file's data (_data_budget) four times
    (read, copies made while checking and building) and 256 MiB for HDF5, h5py, numpy
    and the tables a model kind precomputes (e.g. ACAM inverse lookups)."""
    return 4 * _data_budget(path) + (256 << 20)


def _load(path: Path) -> BehavioralModel:
    where = str(path)
    try:
        f = h5py.File(path, "r")
    except Exception as e:
        raise ModelFileError(f"{where}: not a readable HDF5 file (truncated or corrupted?): "
                             f"{e}") from None
    try:
        with f:
            schema = f.attrs.get("schema") if "schema" in f.attrs else None
            if isinstance(schema, bytes):
                schema = schema.decode("utf-8", "replace")
            if schema != SCHEMA:
                raise ModelFileError(f"{where}: schema is {schema!r}, expected {SCHEMA!r} "
                                     "(not an imcspice model file)")
            extra_attrs = set(f.attrs) - set(ROOT_ATTRS) - {"payload_sha256"}
            if extra_attrs:
                raise ModelFileError(f"{where}: unexpected root attributes {sorted(extra_attrs)}")
            attrs = {k: _text_attr(f, k, where) for k in ROOT_ATTRS}
            stored_hash = _text_attr(f, "payload_sha256", where)
            datasets, gattrs = _read_tree(f, where)
    except ModelFileError:
        raise
    except Exception as e:  # h5py/HDF5 errors on damaged internals
        raise ModelFileError(f"{where}: damaged model file ({type(e).__name__}: {e})") from None
    if _payload_hash(attrs, datasets, gattrs) != stored_hash:
        raise ModelFileError(f"{where}: checksum mismatch: the file's contents were changed or "
                             "corrupted after it was written")
    return _build(attrs, datasets, gattrs, where)


_NUM = (int, float)
#: types of the JSON fields the code reads (checksummed files can still carry wrong
#: types: a writer other than imcspice, or a bug): {field: allowed types}
_HELDOUT_TYPES = {"max_pct_fs": _NUM + (type(None),), "rms_pct_fs": _NUM + (type(None),),
                  "max_abs": _NUM + (type(None),), "n_heldout": (int,), "n_train": (int,),
                  "unit": (str,)}
_META_TYPES = {"recipe": (str,), "source_name": (str,), "source_spec": (str,),
               "polarity": (str,), "device": (str,), "v0_v": _NUM, "average_mc": (bool,),
               "choices": (dict,), "input_units": (dict,), "defaults": (dict,),
               "outputs_form": (dict,)}


def _check_json_types(parsed: dict, where: str) -> None:
    def check(obj, types, what):
        for k, t in types.items():
            if k in obj and (not isinstance(obj[k], t) or
                             (isinstance(obj[k], bool) and bool not in t)):
                raise ModelFileError(f"{where}: {what}.{k} has the wrong type "
                                     f"({type(obj[k]).__name__})")
    he = parsed["heldout_error"]
    check(he, _HELDOUT_TYPES, "heldout_error")
    outs = he.get("outputs", {})
    if not isinstance(outs, dict) or not all(isinstance(v, dict) for v in outs.values()):
        raise ModelFileError(f"{where}: heldout_error.outputs must map outputs to objects")
    for name, e in outs.items():
        check(e, _HELDOUT_TYPES, f"heldout_error.outputs.{name}")
    check(parsed["meta"], _META_TYPES, "meta")
    for k in ("choices", "input_units", "defaults"):
        v = parsed["meta"].get(k, {})
        if any(isinstance(x, (dict, list)) for x in v.values()):
            raise ModelFileError(f"{where}: meta.{k} must hold plain values")


def _build(attrs, datasets, gattrs, where) -> BehavioralModel:
    kind = attrs["kind"]
    if kind not in KINDS:
        raise ModelFileError(f"{where}: unknown model kind {kind!r}; known: "
                             f"{', '.join(sorted(KINDS))}")
    parsed = {k: _json(attrs[k], k, where) for k in _JSON_ATTRS}
    for k in _JSON_ATTRS:
        if not isinstance(parsed[k], dict):
            raise ModelFileError(f"{where}: attribute {k!r} must be a JSON object")
    _check_json_types(parsed, where)
    functions = {}
    used = set()
    try:
        for g, spec_text in gattrs.items():
            spec = _json(spec_text, "spec", f"{where}: {g}")
            if not isinstance(spec, dict) or set(spec) != _SPEC_KEYS:
                raise ModelFileError(f"{where}: {g}: spec must have keys {sorted(_SPEC_KEYS)}")
            name = g.split("/", 1)[1]
            if spec["name"] != name:
                raise ModelFileError(f"{where}: {g}: spec names {spec['name']!r}")
            n_axes = len(spec["grid_inputs"])
            axes = []
            for i in range(n_axes):
                key = f"{g}/axis{i}"
                if key not in datasets:
                    raise ModelFileError(f"{where}: missing dataset {key}")
                axes.append(datasets[key])
                used.add(key)
            if f"{g}/values" not in datasets:
                raise ModelFileError(f"{where}: missing dataset {g}/values")
            used.add(f"{g}/values")
            extra = {}
            for key in datasets:
                if key.startswith(f"{g}/extra/"):
                    extra[key.rsplit("/", 1)[1]] = datasets[key]
                    used.add(key)
            if str(spec["form"]) == "poly":
                _check_poly(g, extra, len(spec["param_names"]), len(spec["form_inputs"]),
                            where)
            functions[name] = Function(
                name=name, unit=str(spec["unit"]), doc=str(spec["doc"]), form=str(spec["form"]),
                corners=[str(c) for c in spec["corners"]],
                grid_inputs=[str(x) for x in spec["grid_inputs"]], grid_axes=axes,
                values=datasets[f"{g}/values"],
                form_inputs=[str(x) for x in spec["form_inputs"]],
                param_names=[str(x) for x in spec["param_names"]],
                scales=[str(x) for x in spec["scales"]],
                param_transform=[str(x) for x in spec["param_transform"]], extra=extra)
        kextra = {}
        for key in datasets:
            if key.startswith("extra/") and key.count("/") == 1:
                kextra[key.split("/", 1)[1]] = datasets[key]
                used.add(key)
        stray = set(datasets) - used
        if stray:
            raise ModelFileError(f"{where}: unexpected datasets {sorted(stray)}")
        return KINDS[kind](functions, valid_range=parsed["valid_range"],
                           heldout_error=parsed["heldout_error"], form=attrs["form"],
                           source_raw_sha256=attrs["source_raw_sha256"], meta=parsed["meta"],
                           extra=kextra, created=attrs["created"],
                           imcspice_version=attrs["imcspice_version"])
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise ModelFileError(f"{where}: inconsistent model file ({e})") from None


def _check_poly(g: str, extra: dict, n_terms: int, n_inputs: int, where: str) -> None:
    """A ``poly`` function's fixed arrays as ``fit.poly_function`` writes them. Its
    evaluation keeps every power of each input up to that input's largest exponent, so
    the exponents are bounded by what the file stores: non-negative integers whose
    per-input maxima sum to less than the number of terms. (The writer's exponent sets,
    full grids 0..d_i or their total-degree cut, hold the terms x_i**k for every k up
    to each maximum, and the constant: 1 + sum of maxima <= n_terms. The powers kept
    are then at most as many as the coefficients interpolated per point.) A declared
    exponent of 1e9 in a 15 KB file made `validate --against` build powers without end
    (3 GB after 14 s, 6.5 GB after 33 s)."""
    exps = extra.get("exponents")
    if exps is None or exps.shape != (n_terms, n_inputs):
        raise ModelFileError(f"{where}: {g}: a poly function needs extra/exponents of "
                             f"shape ({n_terms}, {n_inputs})")
    if not (np.all(exps >= 0) and np.all(exps == np.round(exps)) and
            (exps.size == 0 or exps.max(axis=0).sum() < n_terms)):
        raise ModelFileError(f"{where}: {g}: poly exponents must be integers >= 0 whose "
                             f"largest per input sum to less than its {n_terms} terms")
    for k in ("center", "half"):
        if k not in extra or extra[k].shape != (n_inputs,):
            raise ModelFileError(f"{where}: {g}: a poly function needs extra/{k} with one "
                                 "value per input")
    if np.any(extra["half"] == 0):
        raise ModelFileError(f"{where}: {g}: poly half-widths must be non-zero")
    lg = extra.get("log_input")
    if lg is not None and (lg.shape != (n_inputs,) or not np.all((lg == 0) | (lg == 1))):
        raise ModelFileError(f"{where}: {g}: poly log_input must be 0 or 1 per input")


# --- describe ----------------------------------------------------------------------
def _fmt_range(r) -> str:
    if isinstance(r, list) and len(r) == 2 and all(isinstance(x, (int, float)) for x in r):
        return f"[{r[0]:.6g}, {r[1]:.6g}]"
    return json.dumps(r)


def describe(path: str | Path) -> str:
    """A readable summary of a model file (used by ``imcspice show``)."""
    m = load(path)
    lines = [f"{path}  ({SCHEMA})",
             f"  kind        {m.kind}",
             f"  created     {m.created}   imcspice {m.imcspice_version}",
             f"  source raw  sha256 {m.source_raw_sha256}"]
    if m.meta.get("recipe"):
        lines.append(f"  recipe      {m.meta['recipe']}  ({m.meta.get('source_name', '')})")
    lines.append("  form:")
    for ln in m.form.splitlines():
        lines.append(f"    {ln}")
    fixed = {k: r for k, r in m.valid_range.items()
             if k != "corner" and isinstance(r, list) and len(r) == 2 and r[0] == r[1]}
    lines.append("  valid range (inputs):")
    for k, r in m.valid_range.items():
        if k not in fixed:
            lines.append(f"    {k:<14} {_fmt_range(r)} {m.unit(k)}")
    if fixed:
        lines.append("  fixed settings (the sweep did not vary them; other values warn):")
        items = [f"{k}={r[0]:.6g}{(' ' + m.unit(k)) if m.unit(k) else ''}"
                 for k, r in fixed.items()]
        for i in range(0, len(items), 5):
            lines.append("    " + ", ".join(items[i:i + 5]))
    lines.append("  functions:")
    for name, fn in m.functions.items():
        live = [(n, a) for n, a in zip(fn.grid_inputs, fn.grid_axes) if len(a) > 1]
        grid = " x ".join(f"{n}[{len(a)}]" for n, a in live)
        ins = [n for n in fn.inputs if n not in fixed]
        lines.append(f"    {name} [{fn.unit}] = {fn.form}({', '.join(ins)})  "
                     f"grid {grid or '-'} over corners {','.join(fn.corners)}")
    he = m.heldout_error
    lines.append(f"  held-out error (max {he.get('max_pct_fs', float('nan')):.4g}% of full "
                 f"scale; {json.dumps(he.get('holdout', {}))}):")
    for name, e in he.get("outputs", {}).items():
        lines.append(f"    {name:<14} max {e['max_abs']:.4g} {e.get('unit', '')} "
                     f"({e['max_pct_fs']:.3g}% FS)  rms {e['rms_abs']:.4g} "
                     f"({e['rms_pct_fs']:.3g}% FS)  FS {e['full_scale']:.4g}  "
                     f"n={e['n_heldout']}/{e['n_heldout'] + e['n_train']}")
    for k, v in m.extra.items():
        lines.append(f"  constant {k} = {np.array2string(v, precision=4, threshold=8)}")
    return "\n".join(lines)
