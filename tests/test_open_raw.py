"""``imcspice.open_raw``: a raw sweep file as an xarray Dataset. Every expectation comes
from reading the same file with plain h5py (the format's own layout), not from the
reader under test."""
import shutil

import h5netcdf
import h5py
import numpy as np
import pytest
import xarray as xr

import imcspice
from imcspice.accelerators.hardware import DEFAULT_MODELS_DIR
from imcspice.characterize.rawfile import RawFileError

RAWS = sorted((DEFAULT_MODELS_DIR / "raw").glob("*.raw.h5"))
GOOD_RAW = DEFAULT_MODELS_DIR / "raw" / "memristor.raw.h5"


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


def test_every_shipped_sweep_is_there():
    assert len(RAWS) >= 12, RAWS


@pytest.mark.parametrize("path", RAWS, ids=[p.name.split(".")[0] for p in RAWS])
def test_open_raw_matches_plain_h5py(path):
    ds = imcspice.open_raw(path)
    rng = np.random.default_rng(7)
    with h5py.File(path, "r") as f:
        # dimension scales -> coordinates with units
        assert set(ds.coords) == set(f["axes"])
        for name, axis in f["axes"].items():
            want = [_text(v) for v in axis[()]]
            got = ds[name].values.tolist()
            assert got == want, name
            assert ds[name].attrs.get("units", "") == _text(axis.attrs["unit"])
        # quantities -> data variables over their labelled dims, with units and doc
        assert set(ds.data_vars) == set(f["data"]) | {"status", "message", "seconds"}
        for q, d in f["data"].items():
            var = ds[q]
            assert var.dims == tuple(dim.label for dim in d.dims)
            assert var.shape == d.shape
            assert var.attrs.get("units", "") == _text(d.attrs["unit"])
            assert var.attrs["doc"] == _text(d.attrs["doc"])
            # .sel at a random point's coordinate values = that h5py element
            for _ in range(5):
                idx = tuple(int(rng.integers(n)) for n in d.shape)
                where = {dim.label: _text(f["axes"][dim.label][i]) for dim, i in
                         zip(d.dims, idx)}
                got, want = float(var.sel(where)), float(d[idx])
                assert got == want or (np.isnan(got) and np.isnan(want)), (q, where)
        assert np.array_equal(ds.status.values, f["status"][()])
        assert ds.status.dims == tuple(dim.label for dim in f["status"].dims)
        assert np.array_equal(ds.seconds.values, f["seconds"][()])
        assert ds.seconds.attrs["units"] == "s"
        msgs = [_text(m) for m in f["message"][()].ravel()]
        assert ds.message.values.ravel().tolist() == msgs
        # provenance: every root attribute, same value
        assert set(ds.attrs) == set(f.attrs)
        for k, v in f.attrs.items():
            got = ds.attrs[k]
            assert np.array_equal(got, v) if isinstance(v, np.ndarray) else got == _text(v), k


def test_sel_of_a_named_point_and_status_flags():
    path = DEFAULT_MODELS_DIR / "raw" / "nfet.raw.h5"
    ds = imcspice.open_raw(path)
    with h5py.File(path, "r") as f:      # the element found by hand, by axis position
        ax = {n: [_text(v) for v in f["axes"][n][()]] for n in f["axes"]}
        i = (ax["corner"].index("ss"), ax["temp_c"].index(27.0), ax["w_um"].index(1.0),
             ax["vds_v"].index(1.8), int(np.argmin(np.abs(np.array(ax["vgs_v"]) - 1.2))))
        want = f["data"]["id_a"][i]
        assert ds.id_a.attrs["units"] == "A"
    # vgs_v comes from linspace (1.2000000000000002): typed decimals need method="nearest"
    point = ds.id_a.sel(corner="ss", temp_c=27, w_um=1.0, vds_v=1.8).sel(vgs_v=1.2,
                                                                         method="nearest")
    assert float(point) == want
    # CF flags name the status codes the file documents
    codes = dict(zip(ds.status.attrs["flag_meanings"].split(), ds.status.attrs["flag_values"]))
    assert codes["ok"] == 1 and codes["pending"] == 0
    ok = ds.id_a.where(ds.status == codes["ok"])
    assert int(ok.count()) == int(np.isfinite(ds.id_a.values).sum())


def test_h5netcdf_reads_the_axes_and_attributes():
    """h5netcdf opens the format as is: root attributes and the /axes group (the
    coordinates). It cannot resolve the dimensions of /data, /status and /seconds,
    whose scales live in the sibling group /axes (netCDF-4 scopes dimensions to a group
    and its sub-groups): see imcspice.characterize.dataset."""
    ds = imcspice.open_raw(GOOD_RAW)
    axes = xr.open_dataset(GOOD_RAW, engine="h5netcdf", group="axes", phony_dims="sort")
    with axes:
        assert set(axes.coords) == set(ds.coords)
        for name in ds.coords:
            assert axes[name].values.tolist() == ds[name].values.tolist()
            assert axes[name].attrs["unit"] == ds[name].attrs.get("units", "")
    with h5netcdf.File(GOOD_RAW, "r") as f:
        assert f.attrs["schema"] == "imcspice.raw/1"
        assert f.attrs["recipe"] == ds.attrs["recipe"]
        assert f["data"]["i_a"].dimensions == ds.i_a.dims


def _copy(tmp_path):
    bad = tmp_path / "x.raw.h5"
    shutil.copy(GOOD_RAW, bad)
    return bad


def _one_line_error(path, match):
    with pytest.raises(RawFileError, match=match) as e:
        imcspice.open_raw(path)
    assert "\n" not in str(e.value)


def test_open_raw_refuses_foreign_data(tmp_path):
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f["x"] = np.full(8, 4242.0)
    bad = _copy(tmp_path)
    with h5py.File(bad, "a") as f:
        f["data"]["stolen"] = h5py.ExternalLink(str(secret), "x")
    _one_line_error(bad, "ExternalLink")


@pytest.mark.parametrize("how, match", [
    ("unknown_label", "not an axis"), ("wrong_length", "values along"),
    ("repeated_label", "twice"), ("inner_first", "outer axes"),
    ("quantity_named_status", "used twice"), ("seconds_shape", "seconds")])
def test_open_raw_refuses_inconsistent_labels(tmp_path, how, match):
    bad = _copy(tmp_path)
    with h5py.File(bad, "a") as f:
        d = f["data"]
        # lengths as the shipped file stores them (the memristor grid gained temperatures)
        n = {a: len(f["axes"][a]) for a in f["axes"]}
        if how == "unknown_label":
            d["i_a"].dims[3].label = "bogus"
        elif how == "wrong_length":          # v_v has 25 values, not 3
            x = d.create_dataset("x", data=np.zeros((n["corner"], n["temp_c"], n["g_us"], 3)))
            for i, n in enumerate(["corner", "temp_c", "g_us", "v_v"]):
                x.dims[i].label = n
        elif how == "repeated_label":
            d["i_a"].dims[2].label = "corner"
        elif how == "inner_first":
            x = d.create_dataset("x", data=np.zeros(
                (n["v_v"], n["corner"], n["temp_c"], n["g_us"])))
            for i, n in enumerate(["v_v", "corner", "temp_c", "g_us"]):
                x.dims[i].label = n
        elif how == "quantity_named_status":
            x = d.create_dataset("status", data=np.zeros((n["corner"], n["temp_c"], n["g_us"])))
            for i, n in enumerate(["corner", "temp_c", "g_us"]):
                x.dims[i].label = n
        else:
            del f["seconds"]
            f["seconds"] = np.zeros(3, dtype="f4")
    _one_line_error(bad, match)


def test_select_tells_apart_axis_values_in_farads_and_amperes():
    """``RawSweep.select`` finds a value by relative closeness: the OTA sweep's loads are
    50 fF, 200 fF and 1 pF and its bias currents 5-40 uA, all closer than numpy's default
    absolute tolerance (1e-8), which returned the first load for every one. Expected
    values read with plain h5py at the index of the value asked for."""
    from imcspice.characterize import rawfile
    path = DEFAULT_MODELS_DIR / "raw" / "ota.raw.h5"
    raw = rawfile.read(path)
    with h5py.File(path, "r") as f:
        loads, biases = f["axes/cl_f"][:], f["axes/ibias_a"][:]
        gbw = f["data/gbw_hz"][0, 0]                    # (ibias_a, cl_f) at tt, 27 C
    assert len(set(gbw[3])) == len(loads) == 3          # the loads give distinct GBWs
    for j, c in enumerate(loads):
        for i, b in enumerate(biases):
            got, rest = raw.select("gbw_hz", corner="tt", temp_c=27.0, ibias_a=b, cl_f=c)
            assert float(got) == gbw[i, j] and rest == []
    with pytest.raises(KeyError, match="not on axis"):
        raw.select("gbw_hz", cl_f=1e-13)               # between two loads: none of them
