"""imcspice: SPICE simulations of analog in-memory-computing circuits turned into
compact behavioral models and composed into transformer accelerators.

The pipeline lives in the sibling sub-packages:
``circuits`` (netlist builders) -> ``characterize`` (ngspice sweeps, raw HDF5, fits)
-> ``models`` (behavioral models from HDF5, numpy only) -> ``accelerators``.
"""
__version__ = "0.1.0"
