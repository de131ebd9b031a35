"""imcspice: SPICE simulations of analog in-memory-computing circuits turned into
compact behavioral models and composed into transformer accelerators.

The pipeline lives in the sibling sub-packages:
``circuits`` (netlist builders) -> ``characterize`` (ngspice sweeps, raw HDF5, fits)
-> ``models`` (behavioral models from HDF5, numpy only) -> ``accelerators``.
"""
__version__ = "0.1.0"


def open_raw(path):
    """A raw sweep file (``*.raw.h5``) as a labelled :class:`xarray.Dataset`: axes as
    coordinates, units as ``units`` attributes, provenance as the dataset's attributes.
    See :mod:`imcspice.characterize.dataset`; raises ``RawFileError`` for a bad file."""
    # imported here: xarray (with pandas) costs ~1-2 s to import, and the CLI never needs it
    from .characterize.dataset import open_raw as _open_raw
    return _open_raw(path)
