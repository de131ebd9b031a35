"""Static CMOS logic netlists on SKY130: a MOSFET line with its junction areas, the
inverter, the 28-transistor mirror full adder chained into a ripple-carry adder, and
the master-slave D flip-flop that registers its result.

Mirror adder (Weste & Harris, "CMOS VLSI Design", 4th ed., 2011, Sec. 11.2.2.1 and
Fig. 11.4): the carry gate computes ``co_b = NOT MAJ(a, b, c)`` (10 T), the sum gate
``s_b = NOT((a + b + c)·co_b + a·b·c)`` (14 T), each followed by an output inverter
(2 T + 2 T): 28 transistors. Sizes here are Weste & Harris's mirror-adder sizing
simplified to two widths: every series-stack nfet ``w_n_um``, every pfet ``w_p_um``
(the book's 2x pfet for equal rise/fall in a 2-high stack is near SKY130's ~2.3x
mobility ratio with the defaults 0.42/1.0 um; an assumption, stated in the recipe).

Ripple-carry adder of ``n_bits``: bit k's carry-out drives bit k+1's carry-in; the
inverted carry ``co_b`` of bit k would let the next bit use the inverting property
(Weste & Harris's alternating polarity), but here every bit restores its carry with
the output inverter, so each bit is the same 28T cell (one op = one full-adder cell).

Junction areas: the SKY130 instances elsewhere in imcspice carry ad=as=pd=ps=0 (no
drain/source junction capacitance; issue 11, coverage). Logic energy is mostly
switched capacitance, so every MOSFET here gets its drain/source diffusion: a strip
of ``DIFF_EXT_UM`` beyond the gate (SKY130 rules: licon 0.17 um, poly-to-licon 0.055
um, diff enclosure of licon 0.06 um: 0.285 um, rounded to 0.29 um),
``ad = as = w * DIFF_EXT_UM``, ``pd = ps = 2 * (w + DIFF_EXT_UM)`` (um^2, um: the PDK
sets ``.option scale=1.0u``). Shared diffusion between series devices is not merged
(an overestimate of a few tenths of a fF per stack node).
"""
from __future__ import annotations

from .netlist import IDENT, Value, node, value

#: drain/source diffusion length beyond the gate, um (SKY130 rules, see module docstring)
DIFF_EXT_UM = 0.29
NFET = "sky130_fd_pr__nfet_01v8"
PFET = "sky130_fd_pr__pfet_01v8"
#: SKY130 minimum channel length of the 1.8 V devices, um
L_MIN_UM = 0.15


def mos(name: str, kind: str, d: str, g: str, s: str, b: str, w_um: Value,
        l_um: Value = L_MIN_UM, m: int = 1) -> str:
    """One SKY130 1.8 V MOSFET (``kind`` "n" or "p") with its junction areas; ``m`` > 1:
    that many in parallel."""
    if not IDENT.match(name):
        raise ValueError(f"{name!r} is not a valid instance name")
    dev = {"n": NFET, "p": PFET}[kind]
    w = value(w_um)
    if w.startswith("{"):
        ad = "{" + w[1:-1] + f"*{DIFF_EXT_UM!r}" + "}"
        pd = "{2*(" + w[1:-1] + f"+{DIFF_EXT_UM!r})" + "}"
    else:
        ad = repr(float(w) * DIFF_EXT_UM)
        pd = repr(2 * (float(w) + DIFF_EXT_UM))
    nodes = " ".join(node(x) for x in (d, g, s, b))
    return (f"X{name} {nodes} {dev} w={w} l={value(l_um)} ad={ad} as={ad} pd={pd} "
            f"ps={pd}" + (f" m={m}" if m != 1 else ""))


def inverter(name: str, a: str, y: str, vdd: str, vss: str, w_n_um: Value,
             w_p_um: Value) -> list[str]:
    """A static CMOS inverter ``y = NOT a``."""
    return [mos(f"{name}n", "n", y, a, vss, vss, w_n_um),
            mos(f"{name}p", "p", y, a, vdd, vdd, w_p_um)]


def mirror_adder(name: str, a: str, b: str, c: str, s: str, co: str, vdd: str, vss: str,
                 w_n_um: Value, w_p_um: Value) -> list[str]:
    """The 28T mirror full adder (module docstring): ``s = a XOR b XOR c``,
    ``co = MAJ(a, b, c)``. Internal nodes are ``{name}_<x>``."""
    if not IDENT.match(name):
        raise ValueError(f"{name!r} is not a valid instance name")
    i = lambda x: f"{name}_{x}"  # noqa: E731  (internal node names)
    cob, sb = i("cob"), i("sb")
    n, p = w_n_um, w_p_um
    L = [f"* 28T mirror full adder {name} (Weste & Harris Fig. 11.4)"]
    # carry gate: co_b = NOT(a·b + c·(a + b))
    L += [mos(f"{name}_p1", "p", i("x"), a, vdd, vdd, p),
          mos(f"{name}_p2", "p", i("x"), b, vdd, vdd, p),
          mos(f"{name}_p3", "p", cob, c, i("x"), vdd, p),
          mos(f"{name}_p4", "p", i("pab"), a, vdd, vdd, p),
          mos(f"{name}_p5", "p", cob, b, i("pab"), vdd, p),
          mos(f"{name}_n1", "n", i("y"), a, vss, vss, n),
          mos(f"{name}_n2", "n", i("y"), b, vss, vss, n),
          mos(f"{name}_n3", "n", cob, c, i("y"), vss, n),
          mos(f"{name}_n4", "n", i("nab"), a, vss, vss, n),
          mos(f"{name}_n5", "n", cob, b, i("nab"), vss, n)]
    # sum gate: s_b = NOT((a + b + c)·co_b + a·b·c)
    L += [mos(f"{name}_p6", "p", i("z"), a, vdd, vdd, p),
          mos(f"{name}_p7", "p", i("z"), b, vdd, vdd, p),
          mos(f"{name}_p8", "p", i("z"), c, vdd, vdd, p),
          mos(f"{name}_p9", "p", sb, cob, i("z"), vdd, p),
          mos(f"{name}_p10", "p", i("pa"), a, vdd, vdd, p),
          mos(f"{name}_p11", "p", i("pb"), b, i("pa"), vdd, p),
          mos(f"{name}_p12", "p", sb, c, i("pb"), vdd, p),
          mos(f"{name}_n6", "n", i("w"), a, vss, vss, n),
          mos(f"{name}_n7", "n", i("w"), b, vss, vss, n),
          mos(f"{name}_n8", "n", i("w"), c, vss, vss, n),
          mos(f"{name}_n9", "n", sb, cob, i("w"), vss, n),
          mos(f"{name}_n10", "n", i("na"), a, vss, vss, n),
          mos(f"{name}_n11", "n", i("nb"), b, i("na"), vss, n),
          mos(f"{name}_n12", "n", sb, c, i("nb"), vss, n)]
    L += inverter(f"{name}_ic", cob, co, vdd, vss, n, p)
    L += inverter(f"{name}_is", sb, s, vdd, vss, n, p)
    return L


#: transistors per mirror full adder (the 28T cell)
FA_TRANSISTORS = 28


def tgate(name: str, a: str, b: str, on: str, on_b: str, vdd: str, vss: str,
          w_n_um: Value, w_p_um: Value) -> list[str]:
    """A transmission gate between ``a`` and ``b``, conducting when ``on`` is high."""
    return [mos(f"{name}n", "n", b, on, a, vss, w_n_um),
            mos(f"{name}p", "p", b, on_b, a, vdd, w_p_um)]


def dff(name: str, d: str, clk: str, q: str, vdd: str, vss: str, w_n_um: Value,
        w_p_um: Value) -> list[str]:
    """Positive-edge master-slave D flip-flop of transmission gates and inverters with
    its local clock inverters (Weste & Harris, 4th ed., Sec. 10.3.3 and Fig. 10.19:
    the conventional static CMOS flip-flop): master transparent while ``clk`` is low,
    slave while it is high; 20 transistors."""
    i = lambda x: f"{name}_{x}"  # noqa: E731
    ck, ckb = i("ck"), i("ckb")
    n, p = w_n_um, w_p_um
    L = [f"* master-slave DFF {name} (Weste & Harris Fig. 10.19)"]
    L += inverter(f"{name}_ic1", clk, ckb, vdd, vss, n, p)
    L += inverter(f"{name}_ic2", ckb, ck, vdd, vss, n, p)
    L += tgate(f"{name}_tm", d, i("m1"), ckb, ck, vdd, vss, n, p)      # master input
    L += inverter(f"{name}_im", i("m1"), i("m2"), vdd, vss, n, p)
    L += inverter(f"{name}_imf", i("m2"), i("m3"), vdd, vss, n, p)
    L += tgate(f"{name}_tmf", i("m3"), i("m1"), ck, ckb, vdd, vss, n, p)  # master hold
    L += tgate(f"{name}_ts", i("m2"), i("s1"), ck, ckb, vdd, vss, n, p)   # slave input
    L += inverter(f"{name}_is", i("s1"), q, vdd, vss, n, p)
    L += inverter(f"{name}_isf", q, i("s3"), vdd, vss, n, p)
    L += tgate(f"{name}_tsf", i("s3"), i("s1"), ckb, ck, vdd, vss, n, p)  # slave hold
    return L


#: transistors per flip-flop (dff)
DFF_TRANSISTORS = 20


def ripple_adder(n_bits: int, a: list[str], b: list[str], cin: str, s: list[str],
                 cout: str, vdd: str, vss: str, w_n_um: Value, w_p_um: Value,
                 prefix: str = "fa") -> list[str]:
    """An ``n_bits`` ripple-carry adder of mirror full adders; bit 0 is the LSB.
    Carry nodes between bits are ``{prefix}c1 .. {prefix}c<n-1>``."""
    n = int(n_bits)
    if n != n_bits or not 1 <= n <= 64:
        raise ValueError(f"n_bits must be an integer 1..64, got {n_bits!r}")
    if not (len(a) == len(b) == len(s) == n):
        raise ValueError("need one a, b and s node per bit")
    carries = [cin] + [f"{prefix}c{k}" for k in range(1, n)] + [cout]
    L = [f"* {n}-bit ripple-carry adder of 28T mirror full adders"]
    for k in range(n):
        L += mirror_adder(f"{prefix}{k}", a[k], b[k], carries[k], s[k], carries[k + 1],
                          vdd, vss, w_n_um, w_p_um)
    return L
