"""A raw sweep file as a labelled :class:`xarray.Dataset`, for exploring sweeps.

``open_raw(path)`` reads the file through :func:`imcspice.characterize.rawfile.read` (the
one reader of the format, with every untrusted-file check: schema, links, foreign
storage, dtypes, declared sizes, dimension labels) and labels what it read:

* each dimension scale ``/axes/<name>`` becomes a coordinate ``<name>`` with attribute
  ``units`` (absent when the file gives none; text axes such as ``corner`` become string
  coordinates);
* each quantity ``/data/<q>`` becomes a data variable over its labelled dimensions, with
  attributes ``units`` (absent when unitless) and ``doc``;
* ``status`` (int8 codes, with CF ``flag_values``/``flag_meanings`` and the file's
  ``codes`` JSON), ``message`` (text) and ``seconds`` (units ``s``) are data variables
  over the outer axes;
* the file's root attributes (recipe, netlist, spec, versions, ...) are the dataset's
  ``attrs``: the provenance travels with every selection.

Points that did not succeed hold NaN, as in the file; mask with ``ds.status == 1``
(``rawfile.STATUS["ok"]``). Example::

    ds = imcspice.open_raw("models/data/raw/nfet.raw.h5")
    ds.id_a.sel(corner="tt", temp_c=27, w_um=1.0, vds_v=1.8)
    ds.id_a.sel(vgs_v=1.2, method="nearest")   # linspace axes hold 1.2000000000000002

Why this does not simply call ``xarray.open_dataset(path, engine="h5netcdf")``: the file
is plain HDF5 with dimension scales, and h5netcdf opens it, reads its attributes and the
``/axes`` group (``group="axes"`` gives the coordinates), but not the quantities. The
netCDF-4 data model scopes a dimension to the group that defines it and that group's
sub-groups; the raw format defines its dimension scales in ``/axes`` and attaches them
to ``/data/*`` (a sibling group) and to ``/status``, ``/seconds`` (the parent), so
h5netcdf cannot resolve their dimensions (``KeyError: 'corner'``), and ``/message`` has
no scale attached at all. Reading through :mod:`rawfile` also keeps the untrusted-file
checks, which a generic reader does not make.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from . import rawfile

#: data variables of every raw dataset besides the recipe's quantities
OUTER_VARIABLES = ("status", "message", "seconds")


def _units(unit: str) -> dict:
    # no attribute for a unitless axis (corner, rows): xarray's plots would label it "[]"
    return {"units": unit} if unit else {}


def to_dataset(raw: rawfile.RawSweep, where: str = "raw sweep") -> xr.Dataset:
    """``raw`` (as read by :func:`rawfile.read`) as a labelled Dataset (no copy of the
    numeric arrays)."""
    clash = sorted((set(raw.data) & (set(raw.axes) | set(OUTER_VARIABLES)))
                   | (set(raw.axes) & set(OUTER_VARIABLES)))
    if clash:
        raise rawfile.RawFileError(f"{where}: names {clash} are used twice (axis, quantity "
                                   "or status/message/seconds); not an imcspice raw file")
    coords = {}
    for name, (unit, values) in raw.axes.items():
        if values.dtype.kind in "OSU":
            values = np.asarray([str(v) for v in values], dtype=str)
        coords[name] = xr.Variable((name,), values, _units(unit))
    variables = {}
    for q, arr in raw.data.items():
        variables[q] = xr.Variable(tuple(raw.data_axes[q]), arr,
                                   {**_units(raw.units.get(q, "")), "doc": raw.docs.get(q, "")})
    outer = tuple(raw.outer)
    codes = sorted(rawfile.STATUS.items(), key=lambda kv: kv[1])
    variables["status"] = xr.Variable(outer, raw.status, {
        "codes": json.dumps(rawfile.STATUS),
        "flag_values": np.asarray([c for _, c in codes], dtype=raw.status.dtype),
        "flag_meanings": " ".join(n for n, _ in codes)})
    variables["message"] = xr.Variable(outer, raw.message.astype(str),
                                       {"doc": "why the point failed (empty when ok)"})
    variables["seconds"] = xr.Variable(outer, raw.seconds,
                                       {"units": "s", "doc": "wall time of the point"})
    return xr.Dataset(variables, coords=coords, attrs=dict(raw.attrs))


def open_raw(path: str | Path) -> xr.Dataset:
    """The raw sweep file ``path`` (``*.raw.h5``, schema ``imcspice.raw/1``) as an
    :class:`xarray.Dataset` held in memory (the file is closed on return).

    Raises :class:`~imcspice.characterize.rawfile.RawFileError` (one line) for a
    missing, damaged, foreign or oversized file, exactly as ``imcspice show``/``fit``."""
    return to_dataset(rawfile.read(path), str(path))
