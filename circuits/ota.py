"""Two-stage Miller-compensated OTA on SKY130 1.8 V devices: netlist builders.

Topology (Allen & Holberg, "CMOS Analog Circuit Design", 3rd ed., section 7.2 (the
two-stage op amp), here with a PMOS input pair as in their Fig. 7.2-1's complement;
Razavi, "Design of Analog CMOS Integrated Circuits", 2nd ed., section 10.5):

* first stage: PMOS differential pair M1 (gate ``inn``) / M2 (gate ``inp``), bodies
  tied to their common source (own n-well: no body effect), PMOS tail source M5,
  NMOS current-mirror load M3 (diode) / M4; output node ``x`` (drain of M2/M4);
* second stage: NMOS common-source M6 (gate ``x``) with PMOS current-source load M7;
* Miller compensation: Cc in series with a nulling resistor Rz from ``x`` to ``out``;
* bias: an ideal reference current ``ibias`` into the diode-connected PMOS M8, mirrored
  1:1 into the tail (M5 = M8) and ``k2``:1 into the second stage (M7 = k2 x M5, as
  ``k2`` parallel devices' width).

A PMOS input pair because the gain-cell integrator holds its input at 0.45 V: an NMOS
pair's Vgs + tail saturation voltage (~0.7 + 0.2 V) does not fit under 0.45 V, while a
PMOS pair works from about 0 V to VDD - |Vgs| - Vdsat,5 (~0.9 V at 1.8 V).
Systematic offset is zero when (W/L)6/(W/L)4 = 2 (W/L)7/(W/L)5 (Allen & Holberg
eq. 7.2-12 rewritten for the mirrored currents); the default M6 width follows it.

Hand formulas the tests check against (Allen & Holberg eqs. 7.2-4..7.2-9, 7.2-20):
GBW = gm1/(2 pi Cc); DC gain = gm1/(gds2 + gds4) x gm6/(gds6 + gds7); slew rate =
min(I5/Cc, I7/(CL + Cc)); white input-referred noise density^2 = 16kT/(3 gm1) x
(1 + gm3/gm1) (long-channel thermal noise, gamma = 2/3).

Output stage sized for a load current (:func:`output_stage_scale`): the second stage
(M6 and M7, and so M7's current) is ``n2`` parallel copies of the design's, so that a class-A
stage whose NMOS M6 sinks a resistive load's current (a TIA's feedback resistor carrying
a bit line's current) keeps its current density, the node ``x`` level and its
non-dominant pole gm6/C wherever the load takes it: n2 = max(1, I_fs / (FS_PER_I7 x k2 x
ibias)), I_fs the largest current the output sinks. Junction areas on every transistor
(circuits/logic.py rule: ad = as = w x 0.29 um, pd = ps = 2 (w + 0.29) um).

Units: W/L in micrometres (SKY130 sets ``.option scale=1.0u``), capacitances in F,
resistances in Ohm, currents in A. Every field may be a number or a
:class:`~imcspice.circuits.netlist.ParamRef`.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from .logic import DIFF_EXT_UM, mos
from .netlist import ParameterError, Value, node, value

NFET, PFET = "sky130_fd_pr__nfet_01v8", "sky130_fd_pr__pfet_01v8"
SUBCKT = "imc_ota2"
#: the transistors of the subcircuit, by role (instance names inside it)
DEVICES = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8")
#: full-scale load current per ampere of the second stage's quiescent current I7 (the
#: output-stage rule, :func:`output_stage_scale`): at full scale M6 sinks I7 + I_fs =
#: (1 + FS_PER_I7) I7. 1: M6's current at most doubles over the column's range, so its
#: gate (node x, the first stage's output) moves by at most ~(sqrt(2) - 1) Vov6 and the
#: first stage stays in its high-gain region; the price is a quiescent supply current
#: ~ I_fs (class A). Design choice (assumption), checked in SPICE by crossbar-column.
FS_PER_I7 = 1.0


@dataclass(frozen=True)
class OtaParams:
    """Sizes and bias of the OTA (this project's design for 1.8 V; assumptions sized by
    hand with the square law and checked in SPICE by recipe ``ota``).

    * ``ibias_a`` reference current = tail current I5, A (20 uA: GBW ~100 MHz with the
      default Cc with the 20 um input pair near weak inversion)
    * ``k2`` second-stage current ratio I7/I5 (4: the output sources up to ~80 uA, above
      the ~30 uA a full-scale gain-cell column draws, with room for slewing the load)
    * ``cc_f`` Miller capacitor, F (250 fF), ``rz_ohm`` nulling resistor, Ohm (2 kOhm, ~1/gm6:
      moves the right-half-plane zero far out, Allen & Holberg eq. 7.2-35)
    * ``n2`` output-stage multiplier (1: the design above; M6 and M7 as n2 parallel
      copies, so I7 = n2 x k2 x ibias): :func:`output_stage_scale`
    * ``w1_um``/``l1_um`` input pair, ``w3_um``/``l3_um`` mirror load, ``w5_um``/
      ``l5_um`` tail and bias diode (M7 = k2 x M5), ``w6_um``/``l6_um`` second-stage
      driver; L >= 0.5 um for gain (SKY130 minimum 0.15 um)
    """

    ibias_a: Value = 20e-6
    k2: Value = 4
    cc_f: Value = 250e-15
    rz_ohm: Value = 2e3
    w1_um: Value = 20.0
    l1_um: Value = 0.5
    w3_um: Value = 2.0
    l3_um: Value = 1.0
    w5_um: Value = 16.0
    l5_um: Value = 1.0
    w6_um: Value = 16.0
    l6_um: Value = 1.0
    n2: Value = 1

    def args(self) -> str:
        return " ".join(f"{_short(f.name)}={value(getattr(self, f.name))}"
                        for f in fields(self))


def _short(field: str) -> str:
    """The subcircuit parameter of an OtaParams field: the name less its unit suffix."""
    return field if field == "n2" else field.rsplit("_", 1)[0]


def output_stage_scale(i_fs_a: float, p: OtaParams = OtaParams(),
                       n2_min: float = 1.0) -> float:
    """n2 of an output stage that sinks up to ``i_fs_a`` (A, >= 0): max(n2_min, i_fs /
    (FS_PER_I7 k2 ibias)) (module docstring); ``p``'s k2 and ibias must be numbers.
    ``n2_min``: the floor, in copies of the design's stage (1: never smaller than it)."""
    i7 = FS_PER_I7 * float(p.k2) * float(p.ibias_a)
    return max(float(n2_min), float(i_fs_a) / i7)


def output_stage_scale_expr(i_fs: str, ibias: str, k2: float = 4.0,
                            n2_min: str = "1") -> str:
    """:func:`output_stage_scale` as a netlist expression (brace form) of the expressions
    ``i_fs`` and ``ibias`` (A) and the floor ``n2_min`` (copies), for a deck whose load
    moves with altered parameters."""
    return f"{{max({n2_min},({i_fs})/({FS_PER_I7!r}*{float(k2)!r}*({ibias})))}}"


def _mos(name: str, d: str, g: str, s: str, b: str, model: str, w: str, l: str,
         m: str = "") -> str:
    """One transistor of the subcircuit with its junction areas (w, l: expressions of
    the subcircuit's parameters; ``m``: a multiplier expression, parallel copies of the
    w-wide device, so a scaled stage stays inside the PDK's 100 um width bins)."""
    return (f"X{name} {d} {g} {s} {b} {model} w={{{w}}} l={{{l}}} "
            f"ad={{({w})*{DIFF_EXT_UM!r}}} as={{({w})*{DIFF_EXT_UM!r}}} "
            f"pd={{2*(({w})+{DIFF_EXT_UM!r})}} ps={{2*(({w})+{DIFF_EXT_UM!r})}}"
            + (f" m={{{m}}}" if m else ""))


def subckt() -> list[str]:
    """``.subckt imc_ota2 inp inn out vdd vss`` (needs the SKY130 models included).
    Parameters: see :class:`OtaParams` (names without the unit suffix)."""
    d = OtaParams()
    head = f".subckt {SUBCKT} inp inn out vdd vss " + d.args()
    return [
        head,
        "Ib vbp vss {ibias}",
        _mos("m8", "vbp", "vbp", "vdd", "vdd", PFET, "w5", "l5"),
        _mos("m5", "tail", "vbp", "vdd", "vdd", PFET, "w5", "l5"),
        _mos("m1", "d1", "inn", "tail", "tail", PFET, "w1", "l1"),
        _mos("m2", "x", "inp", "tail", "tail", PFET, "w1", "l1"),
        _mos("m3", "d1", "d1", "vss", "vss", NFET, "w3", "l3"),
        _mos("m4", "x", "d1", "vss", "vss", NFET, "w3", "l3"),
        _mos("m6", "out", "x", "vss", "vss", NFET, "w6", "l6", "n2"),
        _mos("m7", "out", "vbp", "vdd", "vdd", PFET, "w5*k2", "l5", "n2"),
        "Rz x cz {rz}",
        "Cc cz out {cc}",
        f".ends {SUBCKT}",
    ]


def instance(name: str, inp: str, inn: str, out: str, vdd: str, vss: str = "0",
             p: OtaParams = OtaParams()) -> str:
    """One OTA instance ``X<name>``."""
    nodes = " ".join(node(n) for n in (inp, inn, out, vdd, vss))
    return f"X{node(name)} {nodes} {SUBCKT} {p.args()}"


def device_vector(inst: str, dev: str, what: str) -> str:
    """ngspice vector name of an operating-point quantity (``gm``, ``gds``, ``id``) of
    transistor ``dev`` (one of DEVICES) of OTA instance ``inst`` (``X<inst>``)."""
    if dev not in DEVICES:
        raise ParameterError(f"OTA device must be one of {DEVICES}, got {dev!r}")
    model = PFET if dev in ("m1", "m2", "m5", "m7", "m8") else NFET
    return f"@m.x{node(inst)}.x{dev}.m{model}[{node(what)}]"


#: SKY130 poly sheet resistance, ohm/sq (typical corner: ``rp1 = 48.2`` in the PDK's
#: models/r+c/res_typical__cap_typical.spice; the ``sky130_fd_pr__res_generic_po`` card)
POLY_RSH_OHM_SQ = 48.2


def gate_resistance_ohm(w_um: Value, l_um: Value) -> str:
    """Distributed poly gate resistance of a single-finger gate contacted at one end,
    R_sheet x W / (3 L) (the 1/3: the channel draws its gate current all along the
    finger; Razavi, "Design of Analog CMOS Integrated Circuits", 2nd ed., sec. 7.5 (thermal
    noise of the gate resistance)), as a netlist value. The SKY130 cards set rgatemod = 0,
    so the devices themselves carry none."""
    w, l = value(w_um), value(l_um)
    if w.startswith("{") or l.startswith("{"):
        return "{" + f"{POLY_RSH_OHM_SQ!r}*({w.strip('{}')})/(3*({l.strip('{}')}))" + "}"
    return repr(POLY_RSH_OHM_SQ * float(w) / (3.0 * float(l)))


def integrator(name: str, inp_ref: str, inn: str, out: str, vdd: str, rst: str,
               cint: Value, p: OtaParams = OtaParams(), w_rst_um: float = 1.0) -> list[str]:
    """Column integrator: OTA with ``cint`` from ``out`` to ``inn`` (non-inverting input at
    the reference ``inp_ref``), reset by a SKY130 nfet switch across ``cint`` (gate
    ``rst``: 1.8 V closes it; W = ``w_rst_um``, L = 0.15 um). A charge Q drawn out of
    ``inn`` gives V(out) = V(inp_ref) + Q/cint within the output swing. The switch carries
    its junction areas (circuits/logic.py ``mos``).

    Each input gate of the OTA is reached through its poly gate resistance
    (:func:`gate_resistance_ohm`, 643 Ohm for the default 20/0.5 um pair), which the
    SKY130 cards leave out (rgatemod = 0). It is physically there, and it matters
    numerically: without it the reference source drives the 20 um input gate directly,
    and that source's branch current is a pure displacement current whose round-off,
    ~eps x Q_gate / h (~1e-16 A at the first 0.1 ps steps: Q_gate ~ 80 fF x 1 V), sits
    at the gain-cell decks' absolute tolerance (1e-16 A) and grows as the step shrinks,
    so Newton rejects every step: "timestep too small" near t = 0 on the 19-copy
    readout deck once the reset switch got its junction areas (measured; the reported
    node, an output device's internal source, was a bystander: the run passed or failed
    with node order, copy count or the switch's orientation; R_g on the reference side
    alone makes it run, on the inverting side alone it still stops). Through R_g the
    displacement current charges the gate node first (time constant R_g C_gate ~ 50 ps
    >> h), so the source's branch current is the smooth resistor current. The pole
    1 / (2 pi R_g C_gate) ~ 3 GHz is far above the OTA's ~100 MHz GBW."""
    n = node(name)
    rg = gate_resistance_ohm(p.w1_um, p.l1_um)
    gp, gn = f"{n}_gp", f"{n}_gn"
    return [f"R{n}_gp {node(inp_ref)} {gp} {rg}",
            f"R{n}_gn {node(inn)} {gn} {rg}",
            instance(f"{n}_ota", gp, gn, out, vdd, "0", p),
            f"C{n}_int {node(out)} {node(inn)} {value(cint)}",
            mos(f"{n}_rst", "n", out, rst, inn, "0", w_rst_um, 0.15)]


GATED_SUBCKT = "imc_ota2g"


def gated_subckt() -> list[str]:
    """``.subckt imc_ota2g inp inn out vdd vss vbp en enb``: the OTA of :func:`subckt`
    power-gated between uses. Its reference current and bias diode M8 are outside (one
    always-on generator, :func:`bias_generator`, drives the array's bias line ``vbp``);
    inside, the tail M5 and the output stage M7 take their gate from a local node ``vbl``,
    passed from ``vbp`` by a transmission gate while ``en`` is high (``enb`` its
    complement) and pulled to ``vdd`` by a PMOS while ``en`` is low, which turns both
    stages off. Switches: 4/0.15 um pass devices, 2/0.15 um pull-up (assumption: sized by
    hand to pass the bias in well under a nanosecond, minimum length)."""
    out = []
    for line in subckt():
        if line.startswith(".subckt"):
            line = line.replace(f".subckt {SUBCKT} inp inn out vdd vss",
                                f".subckt {GATED_SUBCKT} inp inn out vdd vss vbp en enb")
        elif line.startswith(("Ib ", "Xm8 ")):
            continue                                   # the shared bias generator's
        elif line.startswith(("Xm5 ", "Xm7 ")):
            line = line.replace(" vbp ", " vbl ", 1)
        elif line.startswith(".ends"):
            out += [_mos("sn", "vbp", "en", "vbl", "vss", NFET, "4", "0.15"),
                    _mos("sp", "vbp", "enb", "vbl", "vdd", PFET, "4", "0.15"),
                    _mos("pu", "vdd", "en", "vbl", "vdd", PFET, "2", "0.15"),
                    f".ends {GATED_SUBCKT}"]
            continue
        out.append(line)
    return out


def bias_generator(vbp: str, vdd: str, p: OtaParams = OtaParams()) -> list[str]:
    """The reference current and bias diode (M8) of :func:`subckt`, outside the OTA: the
    always-on bias line ``vbp`` that :func:`gated_subckt` instances share."""
    n, d = node(vbp), node(vdd)
    return [f"Ibg {n} 0 {value(p.ibias_a)}",
            _mos("m8bg", n, n, d, d, PFET, value(p.w5_um), value(p.l5_um))]


def gated_instance(name: str, inp: str, inn: str, out: str, vdd: str, vbp: str, en: str,
                   enb: str, vss: str = "0", p: OtaParams = OtaParams(), m: int = 1) -> str:
    """One power-gated OTA instance ``X<name>`` (:func:`gated_subckt`); ``m`` > 1: that
    many in parallel (ngspice's instance multiplier, passed to every device inside)."""
    nodes = " ".join(node(n) for n in (inp, inn, out, vdd, vss, vbp, en, enb))
    return f"X{node(name)} {nodes} {GATED_SUBCKT} {p.args()}" + (f" m={m}" if m != 1 else "")
