"""The sweep coordinator: spec -> tasks -> pool -> raw HDF5 file.

The coordinator alone writes the output file, atomically, every few seconds and
at the end; points not yet simulated are stored with status ``pending``, so
``resume=True`` continues an interrupted sweep from what is on disk.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..circuits.technology import get_technology
from . import rawfile
from .engine import LocalPool, Result, Task, cache_key, cache_load
from .params import ParameterError
from .recipes import get_recipe
from .sweep import SweepSpec
from ..errors import ImcspiceError

# seconds between atomic rewrites of the output file while a sweep runs
CHECKPOINT_S = float(os.environ.get("IMCSPICE_CHECKPOINT_S", "5"))


#: memory a sweep's results may take (data, status, seconds, messages), checked before
#: anything is allocated or simulated
MAX_SWEEP_BYTES = int(os.environ.get("IMCSPICE_MAX_SWEEP_BYTES", 4 << 30))


class SweepError(ImcspiceError, RuntimeError):
    """The sweep could not start or its output could not be written."""


def recipe_ref(recipe) -> str:
    return f"{type(recipe).__module__}:{type(recipe).__qualname__}"


def build_tasks(spec: SweepSpec, indices) -> tuple[list[Task], dict[str, str]]:
    """Tasks for the given flat indices, plus the netlist text of every deck."""
    recipe = get_recipe(spec.recipe)
    tech = get_technology(spec.technology)
    ref = recipe_ref(recipe)
    decks: dict[str, str] = {}
    digests: dict[str, str] = {}
    tasks = []
    for i in indices:
        pt = spec.point(int(i))
        p = pt["params"]
        mismatch = pt["mc_seed"] is not None
        files = _file_digests(recipe, p)
        skey = json.dumps([ref, recipe.version, pt["corner"], pt["temp_c"], mismatch,
                           recipe.structural(p), files], sort_keys=True, default=str)
        deck_key = hashlib.sha256(skey.encode()).hexdigest()[:20]
        if deck_key not in decks:
            decks[deck_key] = recipe.netlist(tech, p, pt["corner"], pt["temp_c"], mismatch)
            digests[deck_key] = hashlib.sha256(decks[deck_key].encode()).hexdigest()
        net = decks[deck_key]
        alters = tuple(sorted(recipe.alterable(p).items()))
        tasks.append(Task(int(i), ref, deck_key, net, alters, p, pt["mc_seed"],
                          cache_key(digests[deck_key], p, pt["mc_seed"], ref),
                          tuple(sorted(files.items()))))
    tasks.sort(key=lambda t: t.deck_key)  # stable: keeps grid order within a deck
    return tasks, decks


def _file_digests(recipe, p: dict) -> dict:
    """Content hashes of file parameters: a file rewritten in place is a new deck."""
    out = {}
    for q in recipe.params:
        if q.kind == "file":
            out[q.name] = hashlib.sha256(Path(p[q.name]).read_bytes()).hexdigest()
    return out


def _empty(spec: SweepSpec) -> rawfile.RawSweep:
    recipe = get_recipe(spec.recipe)
    p0 = spec.point(0)["params"]
    inner = recipe.inner_axes(p0)
    outer = spec.outer_axes
    axes = {a.name: (a.unit, np.asarray(a.values)) for a in outer + inner}
    if len(axes) != len(outer) + len(inner):
        raise SweepError("a swept parameter has the same name as a recipe inner axis")
    shape = spec.shape
    sizes = {a.name: len(a.values) for a in inner}
    need = spec.n_points * (sum(int(np.prod([sizes[a] for a in o.axes])) for o in
                                recipe.outputs) * 8 + 8 + 4 + 1 + 64)
    if need > MAX_SWEEP_BYTES:
        raise SweepError(f"this sweep would hold {need / 2**30:.3g} GiB in memory ("
                         f"{spec.n_points} points x the recipe's inner axes); the limit is "
                         f"{MAX_SWEEP_BYTES / 2**30:.3g} GiB (IMCSPICE_MAX_SWEEP_BYTES): "
                         "split it into several sweeps")
    data, data_axes, units, docs = {}, {}, {}, {}
    for o in recipe.outputs:
        data[o.name] = np.full(shape + tuple(sizes[a] for a in o.axes), np.nan)
        data_axes[o.name] = [a.name for a in outer] + list(o.axes)
        units[o.name] = o.unit
        docs[o.name] = o.doc
    tech = get_technology(spec.technology)
    attrs = {
        "schema": rawfile.SCHEMA,
        "recipe": recipe.name,
        "recipe_version": recipe.version,
        "netlist": "",
        "technology": tech.name,
        "corner": ",".join(spec.corners),
        "temp_c": json.dumps(spec.temps_c),
        "ngspice_version": "",
        "imcspice_version": __version__,
        "created": rawfile.now_iso(),
        "spec": spec.to_json(),
        "spec_hash": spec.spec_hash,
        "params": json.dumps(p0, default=str),
        "units": json.dumps({p.name: p.unit for p in recipe.params}),
        "mc_samples": spec.mc,
        "mc_seed": spec.seed,
    }
    return rawfile.RawSweep(attrs, axes, [a.name for a in outer], data, data_axes, units, docs,
                            np.zeros(shape, np.int8), np.full(shape, "", dtype=object),
                            np.zeros(shape, np.float32))


def _store(raw: rawfile.RawSweep, spec: SweepSpec, res: Result) -> None:
    idx = np.unravel_index(res.index, spec.shape)
    raw.status[idx] = rawfile.STATUS[res.status]
    raw.message[idx] = res.message
    raw.seconds[idx] = res.seconds
    for q, arr in res.outputs.items():
        if q in raw.data:
            raw.data[q][idx] = arr
    if res.ngspice_version and not raw.attrs["ngspice_version"]:
        raw.attrs["ngspice_version"] = res.ngspice_version


def suggested_timeout(spec: SweepSpec) -> float:
    """The largest per-point timeout the recipe asks for over the sweep's settings."""
    recipe = get_recipe(spec.recipe)
    combos = {json.dumps(recipe.structural(spec.point(i)["params"]), sort_keys=True,
                         default=str): i for i in range(min(spec.n_points, 10_000))}
    return max(recipe.timeout_s(spec.point(i)["params"]) for i in combos.values())


def run_sweep(spec: SweepSpec, out: str | Path, *, workers: int = 0, resume: bool = False,
              timeout_s: float | None = None, use_cache: bool = True, progress: bool = True,
              pool=None, retry_failed: bool = False) -> rawfile.RawSweep:
    """Run ``spec`` and write ``out`` (``*.raw.h5``). Returns the sweep in memory.

    ``resume``: continue the sweep already in ``out`` (same spec), running only its
    pending points (and failed ones with ``retry_failed``). ``pool``: an already-open
    pool (LocalPool or DaskPool); by default a LocalPool of ``workers`` processes.
    """
    out = Path(out)
    if not out.parent.exists():
        raise SweepError(f"output directory {out.parent} does not exist")
    from .artifacts import output_lock
    with output_lock(out, SweepError):
        return _run_locked(spec, out, workers, resume, timeout_s, use_cache, progress, pool,
                           retry_failed)


def _check_resumable(out: Path, spec: SweepSpec, raw: rawfile.RawSweep) -> None:
    """A file to resume must be whole: every output of the recipe with the grid's shape,
    a status per grid point, only known status codes (else a quantity would be dropped
    for good, or unknown points never rerun)."""
    want = _empty(spec)
    missing = sorted(set(want.data) - set(raw.data))
    if missing:
        raise SweepError(f"{out} lacks quantities {missing}; it cannot be resumed (drop "
                         "--resume to rerun it)")
    bad = [q for q in want.data if raw.data[q].shape != want.data[q].shape]
    if raw.status.shape != want.status.shape or bad:
        raise SweepError(f"{out}: status or {bad or 'data'} shaped unlike the spec's grid; it "
                         "cannot be resumed")
    codes = set(np.unique(raw.status).tolist()) - set(rawfile.STATUS.values())
    if codes:
        raise SweepError(f"{out} holds unknown status codes {sorted(codes)}; it cannot be "
                         "resumed")


def _run_locked(spec, out: Path, workers, resume, timeout_s, use_cache, progress, pool,
                retry_failed) -> rawfile.RawSweep:
    timeout_s = timeout_s or suggested_timeout(spec)
    if resume and out.exists():
        raw = rawfile.read(out)
        if raw.attrs.get("spec_hash") != spec.spec_hash:
            raise SweepError(f"{out} holds a different sweep (spec differs); use another --out "
                             "or drop --resume to overwrite it")
        _check_resumable(out, spec, raw)
    else:
        raw = _empty(spec)
    todo_codes = [rawfile.STATUS["pending"]]
    if retry_failed:
        todo_codes += [rawfile.STATUS[s] for s in ("nonconverged", "timeout", "crashed", "error")]
    todo = np.flatnonzero(np.isin(raw.status.ravel(), todo_codes))
    tasks, decks = build_tasks(spec, todo)
    if not raw.attrs["netlist"] and decks:
        raw.attrs["netlist"] = next(iter(decks.values()))
        raw.attrs["decks"] = len(decks)

    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=raw.status.size, initial=raw.status.size - len(todo),
                   desc=f"{spec.recipe}", unit="pt", dynamic_ncols=True)
    run = []
    names = [o.name for o in get_recipe(spec.recipe).outputs]
    for t in tasks:
        hit = cache_load(t.cache_key, names) if use_cache else None
        if hit is not None:
            hit.index = t.index
            _store(raw, spec, hit)
            if bar:
                bar.update(1)
        else:
            run.append(t)
    if not raw.attrs["ngspice_version"] and not run and len(tasks):
        raw.attrs["ngspice_version"] = "cached"
    last = time.monotonic()
    rawfile.write(out, raw)
    own_pool = pool is None
    if run:
        if own_pool:
            pool = LocalPool(workers, timeout_s=timeout_s, use_cache=use_cache).__enter__()
        try:
            for res in pool.run(run):
                _store(raw, spec, res)
                if bar:
                    bar.update(1)
                    if res.status != "ok":
                        bar.set_postfix(raw.status_counts(), refresh=False)
                if time.monotonic() - last > CHECKPOINT_S:
                    rawfile.write(out, raw)
                    last = time.monotonic()
        finally:
            if own_pool:
                pool.__exit__(None, None, None)
            rawfile.write(out, raw)  # what finished is never lost, even on Ctrl-C
            if bar:
                bar.close()
    elif bar:
        bar.close()
    return raw


def spec_from_cli(recipe: str, sets: list[str], corners: str, temps: str, mc: int,
                  seed: int) -> SweepSpec:
    """Build a SweepSpec from ``--set NAME=VALUES`` strings and comma lists."""
    from .sweep import parse_values
    r = get_recipe(recipe)
    axes = {}
    for s in sets or []:
        if "=" not in s:
            raise ParameterError(f"--set {s!r}: expected NAME=VALUE")
        name, _, val = s.partition("=")
        name = name.strip()
        r.param(name)
        if name in axes:
            raise ParameterError(f"--set {name} given twice")
        p = r.param(name)
        axes[name] = [val.strip()] if p.kind == "file" else parse_values(name, val)
    return SweepSpec(recipe=recipe, axes=axes,
                     corners=[c.strip() for c in corners.split(",")],
                     temps_c=[t.strip() for t in temps.split(",")], mc=mc, seed=seed)
