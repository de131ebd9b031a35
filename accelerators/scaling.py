"""Technology projection between CMOS nodes (Stillmaker & Baas 2017).

Everything this module returns is a **projection, not a simulation**: a number
measured or simulated at one node (for example SKY130, 130 nm, in ngspice) is
carried to another node by published fitted scaling equations.

Source
------
A. Stillmaker and B. Baas, "Scaling equations for the accurate prediction of
CMOS device performance from 180 nm to 7 nm", *Integration, the VLSI Journal*
58 (2017) 74-81, doi:10.1016/j.vlsi.2017.02.002. The authors fitted, per node
and device flavour, polynomials in the supply voltage V (volts) to HSPICE
results (PTM / ITRS device models) of a benchmark circuit:

* delay  factor  d(V) = a3*V^3 + a2*V^2 + a1*V + a0
* energy factor  e(V) = b2*V^2 + b1*V + b0   (energy per operation)
* power  factor  p(V) = c2*V^2 + c1*V + c0

The factors are in the fit's own (arbitrary, common) units; only ratios
between nodes are meaningful: ``E_to = E_from * e_to(V_to) / e_from(V_from)``.
Area is a table of node-to-node factors (no voltage dependence).

Which values are used (state of verification, to be read before relying on it):

* Coefficients :data:`FITS` and the area table :data:`AREA_FACTOR` are the
  paper's fitted-coefficient and area tables as transcribed in the MIT-licensed
  ``nodeScale`` tool (UCLA NanoCAD Lab, W. Romaszkan, 2021). The 130-7 nm energy
  rows (bulk 130/90/65 and the HP/LP rows used there) and the 130-7 nm area rows
  agree with an independent transcription in the Accelergy/CiMLoop
  ``hwcomponents`` scaling module, and the HP32 and 65 nm energy coefficients
  agree with the authors' published erratum (worked example: 0.8367*0.9^2 -
  0.4341*0.9 + 0.1701 = 0.4571). The paper PDF itself was not re-read here.
* The 180 nm row has zero leading coefficients in that transcription (a
  quadratic delay fit and *linear* energy/power fits); it is kept as transcribed
  but is the least checked row. Projections from SKY130 start at 130 nm and do
  not use it.
* Nodes are those of the paper: 180, 130, 90, 65, 45, 32, 20, 16, 14, 10, 7 nm.
  There is **no 22 nm or 28 nm row** (the paper has 20 nm); other nodes raise
  ValueError rather than being interpolated.
* 45 nm and below come in ``"hp"`` (high-performance) and ``"lp"`` (low-power)
  flavours; this module defaults to HP (general-purpose high-performance
  devices). 180-65 nm have one (bulk) fit used for either flavour.
* Nominal supplies :data:`NOMINAL_VDD_V` (used when no voltage is given) are
  those of the device models the paper simulated: 1.8/1.3/1.2/1.1/1.0/0.9 V for
  180-32 nm (bulk/PTM) and 0.9/0.85/0.8/0.75/0.7 V for the 20/16/14/10/7 nm
  PTM-MG FinFET models. They are recalled, not re-read from the paper; pass the
  voltage explicitly when it matters.
* SKY130 core logic runs at 1.8 V (:data:`SKY130_VDD_V`), above the 1.3 V
  nominal of the paper's 130 nm fit, so projections from SKY130 evaluate the
  130 nm polynomial beyond its nominal point; :class:`Projection` notes this.

Observed property of the coefficients (not a bug here): at nominal supply the
delay factor is *not* monotone in node -- the 20 nm HP fit at 0.9 V (9.47) is
slower than 32 nm HP at 0.9 V (8.36). Energy and area factors are monotone.

Non-logic quantities (:data:`SCALING_KINDS`)
--------------------------------------------
Logic scaling describes transistor-dominated circuits. The parts of an
analog in-memory accelerator scale differently, so every energy/area to be
projected carries a *kind*:

* ``"logic"`` -- digital logic, routers, control: full Stillmaker-Baas energy
  and area factors.
* ``"sram"`` -- SRAM/eDRAM arrays and their periphery: treated as logic
  (assumption: bit-line/word-line and sense energy is CV^2 of transistor and
  local-wire capacitance; SRAM bit-cell area scaling slowed below ~10 nm, which
  this table does not capture).
* ``"adc"`` -- SAR ADCs / DACs: treated as logic (assumption: SAR energy at 4-8
  bits is dominated by comparator, SAR logic and capacitive-DAC switching; ADC
  surveys show energy per conversion improving more slowly than logic, so this
  is optimistic for the ADC).
* ``"wire"`` -- wire-capacitance-dominated transfers (buses, links): energy ~
  C_wire * V^2 with capacitance per unit length roughly constant across nodes
  (~0.2 fF/um) and length following the linear dimension of the layout, so the
  factor is ``sqrt(area_factor) * (V_to / V_from)^2``; area follows the logic
  area factor. A first-order assumption, not part of the paper.
* ``"memristor"`` -- the resistive crossbar itself (device conductances,
  read voltages, read pulse widths): **energy is not scaled** (factor 1). The
  array energy I*V*t = G*V^2*t is set by the device material and the chosen
  read bias, not by the CMOS node; keep conductances (uS) and read voltages from
  the device model. Area follows the logic area factor (assumption: a 1T1R
  cell's footprint is set by its access transistor).
* ``"offchip"`` -- off-chip DRAM and package I/O: factor 1 for energy and area
  (a separate process and interface; not a logic-node quantity).

Delay scaling (:func:`scale_delay`) applies to transistor-limited delays only;
memristor read pulse widths and RC settling of long array lines are not
projected by it.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "NODES_NM", "NOMINAL_VDD_V", "SKY130_VDD_V", "FITS", "AREA_FACTOR", "SCALING_KINDS",
    "SOURCE", "NodeFit", "Projection",
    "nominal_vdd", "delay_factor", "energy_factor", "power_factor", "area_factor",
    "scale_energy", "scale_delay", "scale_power", "scale_area",
    "energy_factor_kind", "area_factor_kind", "scale_energy_kind", "scale_area_kind",
    "project", "project_from_sky130",
]

SOURCE = ("Stillmaker & Baas, 'Scaling equations for the accurate prediction of CMOS "
          "device performance from 180 nm to 7 nm', Integration 58 (2017) 74-81; "
          "coefficients as transcribed in UCLA NanoCAD nodeScale")

NODES_NM: tuple[int, ...] = (180, 130, 90, 65, 45, 32, 20, 16, 14, 10, 7)
"""Nodes with published fits (nm)."""

NOMINAL_VDD_V: dict[int, float] = {
    180: 1.8, 130: 1.3, 90: 1.2, 65: 1.1, 45: 1.0, 32: 0.9,
    20: 0.9, 16: 0.85, 14: 0.8, 10: 0.75, 7: 0.7,
}
"""Nominal supply (V) per node of the device models behind the fits (recalled;
see module docstring)."""

SKY130_VDD_V = 1.8
"""SkyWater SKY130 core-device (1.8 V) logic supply."""

MAX_VDD_V = 2.0
"""Supplies above this are rejected (far outside every fit)."""

Flavor = Literal["hp", "lp"]
ScalingKind = Literal["logic", "sram", "adc", "wire", "memristor", "offchip"]
SCALING_KINDS: tuple[str, ...] = ("logic", "sram", "adc", "wire", "memristor", "offchip")


@dataclass(frozen=True)
class NodeFit:
    """Fitted polynomials of one node/flavour (Stillmaker & Baas 2017).

    Attributes:
        node_nm: technology node (nm).
        flavor: ``"bulk"`` (180-65 nm, single fit), ``"hp"`` or ``"lp"``.
        delay: (a3, a2, a1, a0) of ``a3 V^3 + a2 V^2 + a1 V + a0``.
        energy: (b2, b1, b0) of ``b2 V^2 + b1 V + b0``.
        power: (c2, c1, c0) of ``c2 V^2 + c1 V + c0``.
    """

    node_nm: int
    flavor: str
    delay: tuple[float, float, float, float]
    energy: tuple[float, float, float]
    power: tuple[float, float, float]


def _fit(node, flavor, d, e, p) -> NodeFit:
    return NodeFit(node, flavor, tuple(d), tuple(e), tuple(p))


# (node, flavour) -> fit. Values: see module docstring for provenance.
FITS: dict[tuple[int, str], NodeFit] = {(f.node_nm, f.flavor): f for f in (
    _fit(180, "bulk", (0.0, 97.09, -356.7, 406.5), (0.0, 24.64, -17.98), (0.0, 101000.0, -79720.0)),
    _fit(130, "bulk", (-76.65, 334.9, -493.4, 275.8), (7.171, -6.709, 2.904), (27020.0, -15450.0, 5630.0)),
    _fit(90, "bulk", (-60.34, 262.5, -384.2, 210.9), (4.762, -4.781, 2.092), (17320.0, -11230.0, 4328.0)),
    _fit(65, "bulk", (-53.3, 230.4, -333.9, 178.6), (3.755, -4.398, 1.975), (12890.0, -10510.0, 4362.0)),
    _fit(45, "hp", (-501.6, 1567.0, -1619.0, 566.1), (1.018, -0.3107, 0.1539), (5462.0, -1760.0, 522.4)),
    _fit(32, "hp", (-1047.0, 2982.0, -2797.0, 873.5), (0.8367, -0.4341, 0.1701), (4001.0, -1733.0, 533.6)),
    _fit(20, "hp", (0.0, 34.63, -66.37, 41.15), (0.373, -0.1582, 0.04104), (2922.0, -1286.0, 299.9)),
    _fit(16, "hp", (0.0, 24.8, -47.52, 28.87), (0.2958, -0.1241, 0.03024), (2133.0, -882.6, 197.7)),
    _fit(14, "hp", (-40.66, 109.2, -100.6, 35.92), (0.2363, -0.09675, 0.02239), (1675.0, -711.0, 159.0)),
    _fit(10, "hp", (-34.95, 93.65, -85.99, 30.4), (0.2068, -0.09311, 0.02375), (1456.0, -621.6, 143.8)),
    _fit(7, "hp", (-28.58, 76.6, -70.26, 24.69), (0.1776, -0.09097, 0.02447), (1179.0, -515.7, 123.4)),
    _fit(45, "lp", (-285.7, 1239.0, -1795.0, 898.8), (1.103, -0.362, 0.2767), (6297.0, -3009.0, 1124.0)),
    _fit(32, "lp", (-325.9, 1374.0, -1922.0, 913.2), (0.9559, -0.7823, 0.471), (4557.0, -3037.0, 1323.0)),
    _fit(20, "lp", (-160.5, 514.1, -558.6, 217.5), (0.2632, -0.14, 0.06841), (2096.0, -962.4, 287.1)),
    _fit(16, "lp", (-114.6, 366.7, -397.4, 153.6), (0.2139, -0.1187, 0.05639), (1609.0, -715.5, 205.7)),
    _fit(14, "lp", (-85.37, 271.6, -292.2, 111.4), (0.1556, -0.06472, 0.03066), (1259.0, -554.1, 152.3)),
    _fit(10, "lp", (-71.76, 228.6, -246.3, 93.91), (0.1261, -0.0518, 0.02769), (1046.0, -422.7, 118.9)),
    _fit(7, "lp", (-61.79, 196.1, -210.3, 79.55), (0.09365, -0.03409, 0.02043), (815.2, -307.3, 87.54)),
)}
"""Fitted coefficients keyed by ``(node_nm, flavour)``; 180-65 nm use ``"bulk"``."""

# AREA_FACTOR[from][to]: multiply an area at `from` by this to get it at `to`.
# Published 2-significant-digit table, so AREA_FACTOR[a][b] * AREA_FACTOR[b][a]
# is 1 only to within rounding.
_AREA_ROWS = {
    180: (1, 0.34, 0.15, 0.08, 0.053, 0.025, 0.011, 0.01, 0.0093, 0.0055, 0.0032),
    130: (2.9, 1, 0.44, 0.23, 0.16, 0.072, 0.033, 0.03, 0.027, 0.016, 0.0092),
    90: (6.6, 2.3, 1, 0.53, 0.35, 0.16, 0.075, 0.067, 0.061, 0.036, 0.021),
    65: (12, 4.3, 1.9, 1, 0.66, 0.31, 0.14, 0.13, 0.12, 0.068, 0.039),
    45: (19, 6.4, 2.8, 1.5, 1, 0.46, 0.21, 0.19, 0.17, 0.1, 0.059),
    32: (40, 14, 6.1, 3.3, 2.2, 1, 0.46, 0.41, 0.38, 0.22, 0.13),
    20: (88, 30, 13, 7.1, 4.7, 2.2, 1, 0.89, 0.82, 0.48, 0.28),
    16: (99, 34, 15, 7.9, 5.3, 2.4, 1.1, 1, 0.91, 0.54, 0.31),
    14: (110, 37, 16, 8.7, 5.8, 2.7, 1.2, 1.1, 1, 0.59, 0.34),
    10: (180, 63, 28, 15, 9.8, 4.5, 2.1, 1.9, 1.7, 1, 0.58),
    7: (320, 110, 48, 25, 17, 7.8, 3.6, 3.2, 2.9, 1.7, 1),
}
AREA_FACTOR: dict[int, dict[int, float]] = {
    src: {dst: float(v) for dst, v in zip(NODES_NM, row)} for src, row in _AREA_ROWS.items()
}
"""Area scaling table: ``AREA_FACTOR[from_nm][to_nm]`` (Stillmaker & Baas 2017)."""


# ----------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------
def _node(arg: str, node_nm) -> int:
    if isinstance(node_nm, bool) or not isinstance(node_nm, numbers.Real):
        raise ValueError(f"{arg} must be a node in nm, one of {NODES_NM}; got {node_nm!r}")
    if not math.isfinite(node_nm) or node_nm != int(node_nm) or int(node_nm) not in NOMINAL_VDD_V:
        raise ValueError(
            f"{arg}={node_nm!r} nm has no Stillmaker & Baas fit; valid nodes: {NODES_NM} "
            "(no interpolation between nodes; e.g. 22/28 nm are not tabulated)")
    return int(node_nm)


def _flavor(flavor) -> str:
    if flavor not in ("hp", "lp"):
        raise ValueError(f"flavor must be 'hp' or 'lp', got {flavor!r}")
    return flavor


def _vdd(arg: str, node: int, vdd_v) -> float:
    if vdd_v is None:
        return NOMINAL_VDD_V[node]
    if isinstance(vdd_v, bool) or not isinstance(vdd_v, numbers.Real) or not math.isfinite(vdd_v):
        raise ValueError(f"{arg} must be a finite voltage in V, got {vdd_v!r}")
    if not 0 < vdd_v <= MAX_VDD_V:
        raise ValueError(f"{arg} must be in (0, {MAX_VDD_V}] V, got {vdd_v!r}")
    return float(vdd_v)


def _value(arg: str, value, *, nonneg: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{arg} must be a finite number, got {value!r}")
    if nonneg and value < 0:
        raise ValueError(f"{arg} must be >= 0, got {value!r}")
    return float(value)


def _kind(kind) -> str:
    if kind not in SCALING_KINDS:
        raise ValueError(f"kind must be one of {SCALING_KINDS}, got {kind!r}")
    return kind


def _get_fit(node: int, flavor: str) -> NodeFit:
    return FITS[(node, "bulk")] if (node, "bulk") in FITS else FITS[(node, flavor)]


def _positive(what: str, node: int, vdd: float, v: float) -> float:
    if not v > 0:
        raise ValueError(f"{what} polynomial of {node} nm is {v:.4g} <= 0 at {vdd} V: "
                         "voltage outside the fitted range")
    return v


# ----------------------------------------------------------------------------
# raw factors
# ----------------------------------------------------------------------------
def nominal_vdd(node_nm: int) -> float:
    """Nominal supply (V) assumed for ``node_nm`` (:data:`NOMINAL_VDD_V`)."""
    return NOMINAL_VDD_V[_node("node_nm", node_nm)]


def delay_factor(node_nm: int, vdd_v: float | None = None, flavor: Flavor = "hp") -> float:
    """Delay polynomial d(V) of ``node_nm`` (fit units; only ratios matter)."""
    node = _node("node_nm", node_nm)
    v = _vdd("vdd_v", node, vdd_v)
    a3, a2, a1, a0 = _get_fit(node, _flavor(flavor)).delay
    return _positive("delay", node, v, ((a3 * v + a2) * v + a1) * v + a0)


def energy_factor(node_nm: int, vdd_v: float | None = None, flavor: Flavor = "hp") -> float:
    """Energy-per-operation polynomial e(V) of ``node_nm`` (fit units)."""
    node = _node("node_nm", node_nm)
    v = _vdd("vdd_v", node, vdd_v)
    b2, b1, b0 = _get_fit(node, _flavor(flavor)).energy
    return _positive("energy", node, v, (b2 * v + b1) * v + b0)


def power_factor(node_nm: int, vdd_v: float | None = None, flavor: Flavor = "hp") -> float:
    """Power polynomial p(V) of ``node_nm`` (fit units)."""
    node = _node("node_nm", node_nm)
    v = _vdd("vdd_v", node, vdd_v)
    c2, c1, c0 = _get_fit(node, _flavor(flavor)).power
    return _positive("power", node, v, (c2 * v + c1) * v + c0)


def area_factor(from_nm: int, to_nm: int) -> float:
    """Area multiplier from ``from_nm`` to ``to_nm`` (published table)."""
    return AREA_FACTOR[_node("from_nm", from_nm)][_node("to_nm", to_nm)]


# ----------------------------------------------------------------------------
# logic scaling of values
# ----------------------------------------------------------------------------
def _ratio(fn, from_nm, to_nm, from_vdd_v, to_vdd_v, flavor) -> float:
    f_node, t_node = _node("from_nm", from_nm), _node("to_nm", to_nm)
    f_v, t_v = _vdd("from_vdd_v", f_node, from_vdd_v), _vdd("to_vdd_v", t_node, to_vdd_v)
    if f_node == t_node and f_v == t_v:
        _flavor(flavor)
        return 1.0
    return fn(t_node, t_v, flavor) / fn(f_node, f_v, flavor)


def scale_energy(value: float, from_nm: int, to_nm: int, *, from_vdd_v: float | None = None,
                 to_vdd_v: float | None = None, flavor: Flavor = "hp") -> float:
    """Energy per operation of transistor-dominated logic projected to ``to_nm``.

    ``value * e_to(V_to) / e_from(V_from)``; voltages default to each node's
    nominal supply. Identity when node and voltage are unchanged.
    """
    v = _value("value", value, nonneg=False)
    return v * _ratio(energy_factor, from_nm, to_nm, from_vdd_v, to_vdd_v, flavor)


def scale_delay(value: float, from_nm: int, to_nm: int, *, from_vdd_v: float | None = None,
                to_vdd_v: float | None = None, flavor: Flavor = "hp") -> float:
    """Transistor-limited delay projected to ``to_nm`` (``value * d_to / d_from``)."""
    v = _value("value", value, nonneg=True)
    return v * _ratio(delay_factor, from_nm, to_nm, from_vdd_v, to_vdd_v, flavor)


def scale_power(value: float, from_nm: int, to_nm: int, *, from_vdd_v: float | None = None,
                to_vdd_v: float | None = None, flavor: Flavor = "hp") -> float:
    """Power of the benchmark circuit projected to ``to_nm`` (``value * p_to / p_from``)."""
    v = _value("value", value, nonneg=False)
    return v * _ratio(power_factor, from_nm, to_nm, from_vdd_v, to_vdd_v, flavor)


def scale_area(value: float, from_nm: int, to_nm: int) -> float:
    """Logic area projected to ``to_nm`` by the published area table."""
    return _value("value", value, nonneg=True) * area_factor(from_nm, to_nm)


# ----------------------------------------------------------------------------
# kind-aware scaling (module docstring, "Non-logic quantities")
# ----------------------------------------------------------------------------
def energy_factor_kind(kind: ScalingKind, from_nm: int, to_nm: int, *,
                       from_vdd_v: float | None = None, to_vdd_v: float | None = None,
                       flavor: Flavor = "hp") -> float:
    """Energy multiplier from ``from_nm`` to ``to_nm`` for a quantity of ``kind``."""
    kind = _kind(kind)
    f_node, t_node = _node("from_nm", from_nm), _node("to_nm", to_nm)
    f_v, t_v = _vdd("from_vdd_v", f_node, from_vdd_v), _vdd("to_vdd_v", t_node, to_vdd_v)
    _flavor(flavor)
    if kind in ("memristor", "offchip"):
        return 1.0
    if kind == "wire":
        return math.sqrt(AREA_FACTOR[f_node][t_node]) * (t_v / f_v) ** 2
    return _ratio(energy_factor, f_node, t_node, f_v, t_v, flavor)


def area_factor_kind(kind: ScalingKind, from_nm: int, to_nm: int) -> float:
    """Area multiplier for a quantity of ``kind`` (``offchip`` is not scaled)."""
    if _kind(kind) == "offchip":
        _node("from_nm", from_nm), _node("to_nm", to_nm)
        return 1.0
    return area_factor(from_nm, to_nm)


def scale_energy_kind(value: float, from_nm: int, to_nm: int, kind: ScalingKind, *,
                      from_vdd_v: float | None = None, to_vdd_v: float | None = None,
                      flavor: Flavor = "hp") -> float:
    """Energy of a quantity of ``kind`` projected to ``to_nm``."""
    v = _value("value", value, nonneg=False)
    return v * energy_factor_kind(kind, from_nm, to_nm, from_vdd_v=from_vdd_v,
                                  to_vdd_v=to_vdd_v, flavor=flavor)


def scale_area_kind(value: float, from_nm: int, to_nm: int, kind: ScalingKind) -> float:
    """Area of a quantity of ``kind`` projected to ``to_nm``."""
    return _value("value", value, nonneg=True) * area_factor_kind(kind, from_nm, to_nm)


# ----------------------------------------------------------------------------
# projection record
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Projection:
    """A labelled node-to-node projection (never a simulation result).

    Attributes:
        source_name: where the original numbers come from (e.g. ``"SKY130"``).
        from_nm / to_nm: source and target node (nm).
        from_vdd_v / to_vdd_v: supplies at which the polynomials are evaluated (V).
        flavor: device flavour used at 45 nm and below (``"hp"``/``"lp"``).
        energy_factor: logic energy-per-operation multiplier.
        delay_factor: logic delay multiplier.
        power_factor: benchmark-circuit power multiplier.
        area_factor: logic area multiplier.
        label: human-readable statement that the numbers are projected.
        notes: caveats (extrapolated supply, non-monotone delay, ...).
        source: citation of the scaling equations.
    """

    source_name: str
    from_nm: int
    to_nm: int
    from_vdd_v: float
    to_vdd_v: float
    flavor: str
    energy_factor: float
    delay_factor: float
    power_factor: float
    area_factor: float
    label: str
    notes: tuple[str, ...] = field(default=())
    source: str = SOURCE

    def energy(self, value: float, kind: ScalingKind = "logic") -> float:
        """Project an energy of ``kind`` (see :data:`SCALING_KINDS`)."""
        return scale_energy_kind(value, self.from_nm, self.to_nm, kind, from_vdd_v=self.from_vdd_v,
                                 to_vdd_v=self.to_vdd_v, flavor=self.flavor)

    def area(self, value: float, kind: ScalingKind = "logic") -> float:
        """Project an area of ``kind``."""
        return scale_area_kind(value, self.from_nm, self.to_nm, kind)

    def delay(self, value: float) -> float:
        """Project a transistor-limited delay."""
        return _value("value", value, nonneg=True) * self.delay_factor


def project(from_nm: int, to_nm: int, *, source_name: str | None = None,
            from_vdd_v: float | None = None, to_vdd_v: float | None = None,
            flavor: Flavor = "hp") -> Projection:
    """Build a :class:`Projection` from ``from_nm`` to ``to_nm``.

    ``source_name`` names the origin in the label (default ``"<from> nm"``).
    """
    f_node, t_node = _node("from_nm", from_nm), _node("to_nm", to_nm)
    f_v, t_v = _vdd("from_vdd_v", f_node, from_vdd_v), _vdd("to_vdd_v", t_node, to_vdd_v)
    flavor = _flavor(flavor)
    if source_name is not None and (not isinstance(source_name, str) or not source_name.strip()):
        raise ValueError(f"source_name must be a non-empty string, got {source_name!r}")
    notes = []
    for node, v, which in ((f_node, f_v, "source"), (t_node, t_v, "target")):
        if v > NOMINAL_VDD_V[node] + 1e-12:
            notes.append(f"{which} supply {v} V is above the {node} nm fit's nominal "
                         f"{NOMINAL_VDD_V[node]} V: polynomial extrapolated")
    if f_node == 180 or t_node == 180:
        notes.append("180 nm row has lower-order fits in the transcription used; least checked")
    d_f = _ratio(delay_factor, f_node, t_node, f_v, t_v, flavor)
    if t_node < f_node and d_f > 1:
        notes.append("delay factor > 1 although the target node is smaller (property of the fits)")
    name = source_name if source_name is not None else f"{f_node} nm"
    src = f"{name} ({f_node} nm)" if source_name is not None else name
    if f_node == t_node and f_v == t_v:
        label = f"{src}: same node and supply, no projection"
    else:
        label = (f"projected from {src} to {t_node} nm by Stillmaker & Baas 2017 scaling "
                 f"({flavor.upper() if t_node <= 45 or f_node <= 45 else 'bulk'} devices, "
                 f"{f_v:g} V -> {t_v:g} V) \u2014 not simulated")
    return Projection(
        source_name=name, from_nm=f_node, to_nm=t_node, from_vdd_v=f_v, to_vdd_v=t_v,
        flavor=flavor,
        energy_factor=_ratio(energy_factor, f_node, t_node, f_v, t_v, flavor),
        delay_factor=d_f,
        power_factor=_ratio(power_factor, f_node, t_node, f_v, t_v, flavor),
        area_factor=AREA_FACTOR[f_node][t_node],
        label=label, notes=tuple(notes))


def project_from_sky130(to_nm: int, *, to_vdd_v: float | None = None,
                        flavor: Flavor = "hp") -> Projection:
    """Projection from SKY130 (130 nm, 1.8 V core logic) to ``to_nm``."""
    return project(130, to_nm, source_name="SKY130", from_vdd_v=SKY130_VDD_V,
                   to_vdd_v=to_vdd_v, flavor=flavor)
