"""SPICE text shipped with imcspice: reusable subcircuits (``*.spice``).

:func:`path` gives a file's location for a netlist ``.include``.
"""
from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path


def path(name: str) -> Path:
    """Absolute path of a shipped SPICE file, e.g. ``path("memristor.spice")``."""
    p = Path(str(resources.files(__name__).joinpath(name)))
    if not p.is_file():
        raise FileNotFoundError(f"shipped netlist {name!r} not found in {p.parent}")
    return p


def include(name: str) -> str:
    """The ``.include`` line for a shipped SPICE file."""
    s = str(path(name))
    if any(c in s for c in '"\n\r'):
        raise ValueError(f"cannot quote path {s!r} in a netlist")
    return f'.include "{s}"'


def library_digest() -> str:
    """sha256 over every shipped SPICE file (name and bytes). Decks include these files by
    path, so the deck text alone does not change when a device law does: the point cache
    keys on this digest too."""
    h = hashlib.sha256()
    root = Path(str(resources.files(__name__)))
    for f in sorted(root.glob("*.spice")):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()
