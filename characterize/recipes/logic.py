"""Static CMOS logic on SKY130 (transient): a ripple-carry adder of 28T mirror full adders.

Circuit: ``circuits/logic.py`` (Weste & Harris's mirror adder, junction areas on every
device). Recipe ``logic``:

* ``n_bits`` mirror adders in a ripple chain. Every input (a_k, b_k, cin) is driven by a
  minimum inverter on its own supply ``vddi`` from an ideal PWL source, so the adder's
  inputs see real edges and the energy to charge the adder's input gates is metered
  (the drivers' own parasitics, a few % of it, come with it). Sum and carry-out each
  carry ``c_out_ff`` of wire and a master-slave D flip-flop (circuits/logic.py ``dff``)
  on its own supply ``vddr``, clocked once per operation through a clock buffer on
  ``vddr``: ``e_dff_j`` = energy from ``vddr`` per operation and flip-flop, and
  ``e_add_bit_j`` = ``e_fa_op_j + e_dff_j``, one bit of a registered add.
* ``n_vectors`` random operand vectors (seeded, uniform: every input toggles with
  probability 1/2 per operation), one per ``t_cycle_s``. ``e_add_j`` = energy from VDD
  (the adder cells and their output loads) plus from ``vddi`` (the input gates) over
  those operations, divided by their number; ``e_fa_op_j`` = ``e_add_j / n_bits``, the
  energy of one full-adder operation averaged over input transitions.
* ``n_wrong``: every operation's registered result (the flip-flop outputs before the
  next capture) checked against integer addition of its operands.
* Then the ripple's worst case: a = 1..1, b = 0..0 and cin 0 -> 1 (the carry
  propagates through every bit), cin's edge launched while the registers' masters are
  transparent, as they are while an add settles. ``t_carry_s``: cin's 50 % edge to
  cout's 50 % edge;
  ``t_carry_per_bit_s`` = that / n_bits.
* The register's timing, on a probe: one more flip-flop of the same cell on its own
  supply ``vddp`` (so ``e_dff_j`` is untouched), with its own clock buffer and data
  driver. Its D toggles at 0.5 of every cycle, while the master is transparent (the
  clock is low from 0.3 to 0.8 of the cycle). Its Q drives a minimum inverter (the
  deck's operand driver: the next add's input) and ``c_out_ff`` of wire.
  ``t_clk_q_s``: the clock pin's rising 50 % edge to Q's 50 % edge, the slower of rise
  and fall. ``t_setup_s``: D's 50 % edge to the master's feedback node (m3) at 50 %,
  the slower direction. The master holds a value once its loop agrees with D
  (m1 = D, m3 = m1), so D must reach m3 before the clock closes the input gate; the
  clock's own local inverters close it a little later, so this is the conservative
  static estimate. A registered add then fits a clock period T when
  ``t_clk_q_s + n_bits x t_carry_per_bit_s + t_setup_s <= T``.
* Leakage, what a clock-gated unit draws while idle (it depends on the held state; each
  figure is one state). ``p_leak_fa_w``: VDD's power at the DC operating point (the
  random operands of the first vector) / n_bits, one full adder (the mirror adder has no
  loop, so its operating point is unique; a transient rest had not settled: VDD's mean
  current read 42 nA over 2-6 ns into it and 33 nA over 5.5-6 ns, 27 C, measured).
  ``p_leak_dff_w``: after the operations the clock stops (low: masters transparent,
  slaves holding) and the inputs rest for ``_IDLE_CYCLES`` cycles; ``vddr``'s mean power
  over the last of them / (n_bits + 1), one flip-flop holding its data with its share
  of the clock buffer (settled: 5.362 and 5.362 nA over the last 4 and 0.5 ns at 27 C).

Numerics (issue 11, tests/test_tight_tolerance.py): reltol 1e-4 (ngspice's default 1e-3
left e_dff 0.98 % and e_add 0.32 % off a Gear / reltol 1e-5 / 4x-finer-step reference)
and a maximum step of ``t_cycle_s``/200 (was /100); measured at 2 bits x 4 vectors, 1.62
and 1.8 V: e_add 0.12 %, e_dff 0.27 %, t_carry 0.02 % off that reference, ~1.5x the CPU
time; with the timing probe (v4, 1.8 V): t_clk_q 0.34 %, t_setup 0.07 %, t_carry
0.02 %. Energies are each supply's charge over the operations' window times its voltage.
"""
from __future__ import annotations

import numpy as np

from ...circuits import logic as lg
from ...circuits.netlist import ParamRef
from ..npy_param import IntParam
from ..params import Param, format_number
from ..recipe import Output, Recipe, register_recipe
from ..waveform import charge, crossings

#: input edges (10-90 % ~ 80 % of this): assumption, a fast register output
_T_EDGE_S = 50e-12
#: the deck's tolerance and steps per cycle (module docstring: measured against the
#: tight reference)
_OPTIONS = ".options reltol=1e-4"
_STEPS_PER_CYCLE = 200
#: the ripple's cin edge, as a fraction into its cycle: after the registers' masters open
#: (0.3), so cout's load is the transparent master throughout. Launched at the cycle's
#: start, the master's input gate opened mid-ripple: t_carry_per_bit_s had a kink
#: against vdd_v where the ripple's end crossed that moment (steps of -18 then -10 ps per
#: 90 mV at 1.8 V), and a table over vdd_v missed a held-out line by 5.6 % FS (measured)
_RIPPLE_AT = 0.35
#: the timing probe's flip-flop (its internal nodes are named after it)
_PROBE = "rp"
#: cycles of rest after the operations (the clock stopped, every input held): the
#: flip-flops' leakage is vddr's mean power over the last of them, where every node has
#: settled (the two halves of that cycle must agree within ``_SETTLED``, else NaN). Not a
#: DC operating point: the flip-flops' hold loops have a metastable solution, and
#: ngspice's op found it (one Q at 0.81 V, 10 uA through vddr; measured at 1.62 V)
_IDLE_CYCLES = 3
_SETTLED = 0.02


def vectors(n_bits: int, n_vectors: int, seed: int) -> np.ndarray:
    """(n_vectors + 3, 2·n_bits + 1) 0/1 inputs per cycle: [a_0..a_{n-1}, b_0.., cin];
    rows 0 .. n_vectors are random (row 0 is the start state), then the carry-ripple
    pattern a = 1..1, b = 0, cin = 0 and then cin = 1."""
    rng = np.random.default_rng(seed)
    rand = rng.integers(0, 2, size=(n_vectors + 1, 2 * n_bits + 1))
    prop0 = np.array([1] * n_bits + [0] * n_bits + [0])
    prop1 = prop0.copy()
    prop1[-1] = 1
    return np.vstack([rand, prop0, prop1])


@register_recipe
class LogicAdder(Recipe):
    name = "logic"
    summary = "ripple-carry adder of 28T mirror full adders: energy per op, carry delay"
    # 5: p_leak_fa_w (the adder's DC operating point per full adder; was p_leak_w, all
    # n_bits) and p_leak_dff_w (a rest after the operations); 4: the register's timing probe
    # (t_clk_q_s, t_setup_s); 3: reltol 1e-4, max step
    # t_cycle/200; 2: result register (flip-flops) instead of a capacitive load
    version = 5
    params = (
        IntParam("n_bits", 4, "", "full adders in the ripple chain [default: assumption; "
                 "the energy per bit is independent of it]", min=1, max=32, structural=True),
        IntParam("n_vectors", 24, "", "random operations averaged [default: assumption]",
                 min=4, max=512, structural=True),
        IntParam("vector_seed", 0, "", "seed of the random operands", min=0, max=2**31 - 1,
                 structural=True),
        Param("t_cycle_s", 2e-9, "s", "time per operation [default: assumption, 500 MHz; "
              "must exceed the carry delay]", min=0.2e-9, max=1e-6, structural=True),
        Param("w_n_um", 0.42, "um", "nfet width of every adder transistor [default: SKY130 "
              "minimum]", min=0.42, max=10.0),
        Param("w_p_um", 1.0, "um", "pfet width [default: assumption, ~2.4x the nfet for "
              "SKY130's mobility ratio, Weste & Harris's 2x sizing of the stacks]",
              min=0.42, max=20.0),
        Param("c_out_ff", 1.0, "fF", "wire load on each sum and carry-out before its "
              "register [default: assumption, ~5 um of met1 at ~0.2 fF/um]",
              min=0.0, max=100.0),
        Param("vdd_v", 1.8, "V", "supply [default: SKY130 1.8 V core]", min=1.2, max=1.98),
    )
    outputs = (
        Output("e_add_j", "J", (), "energy of one n_bits add, averaged over random inputs"),
        Output("e_fa_op_j", "J", (), "e_add_j / n_bits: one full-adder operation"),
        Output("e_core_j", "J", (), "the VDD part of e_add_j (cells + output loads)"),
        Output("t_carry_s", "s", (), "worst-case carry ripple, cin -> cout (50 %)"),
        Output("t_carry_per_bit_s", "s", (), "t_carry_s / n_bits"),
        Output("p_leak_fa_w", "W", (), "one full adder's leakage: VDD's power at the DC "
                                       "operating point / n_bits"),
        Output("p_leak_dff_w", "W", (), "one result flip-flop's leakage with the clock "
                                        "stopped low (vddr power / flip-flops, its share "
                                        "of the clock buffer)"),
        Output("e_dff_j", "J", (), "energy of one result flip-flop per operation (clock "
                                   "and data, random inputs; its share of the clock buffer)"),
        Output("e_add_bit_j", "J", (), "e_fa_op_j + e_dff_j: one bit of a registered add"),
        Output("n_wrong", "", (), "operations whose registered sum/carry-out differ from "
                                  "integer addition (0: correct)"),
        Output("t_clk_q_s", "s", (), "flip-flop clock (50 %) to Q (50 %), slower of rise "
                                     "and fall, Q loaded by an operand driver"),
        Output("t_setup_s", "s", (), "flip-flop setup: D (50 %) to the master's feedback "
                                     "node (50 %), slower direction"),
    )

    def timeout_s(self, p):
        return 60.0 + 2.0 * p["n_bits"] * p["n_vectors"] / 24

    @staticmethod
    def _vectors(p):
        return vectors(int(p["n_bits"]), int(p["n_vectors"]), int(p["vector_seed"]))

    def body(self, tech, p):
        n = int(p["n_bits"])
        vec = self._vectors(p)
        tc, te = p["t_cycle_s"], _T_EDGE_S
        names = [f"a{k}" for k in range(n)] + [f"b{k}" for k in range(n)] + ["cin"]
        L = [_OPTIONS, "Vdd vdd 0 {vdd_v}", "Vddi vddi 0 {vdd_v}", "Vddr vddr 0 {vdd_v}"]
        for j, nm in enumerate(names):
            # the PWL drives the inverted level: the buffer inverter restores it
            pts = [f"0 {{vdd_v*{1 - int(vec[0, j])}}}"]
            for k in range(1, len(vec)):
                t0 = k * tc + (_RIPPLE_AT * tc if k == len(vec) - 1 else 0.0)
                prev, cur = 1 - int(vec[k - 1, j]), 1 - int(vec[k, j])
                pts.append(f"{format_number(t0)} {{vdd_v*{prev}}}")
                pts.append(f"{format_number(t0 + te)} {{vdd_v*{cur}}}")
            L.append(f"Vs{nm} {nm}_s 0 PWL(" + " ".join(pts) + ")")
            L += lg.inverter(f"ib{nm}", f"{nm}_s", nm, "vddi", "0", 0.42, 1.0)
        L += lg.ripple_adder(n, [f"a{k}" for k in range(n)], [f"b{k}" for k in range(n)],
                             "cin", [f"s{k}" for k in range(n)], "cout", "vdd", "0",
                             ParamRef("w_n_um"), ParamRef("w_p_um"))
        # result register: one flip-flop per sum bit and carry-out on its own supply
        # vddr, clocked (rising edge at 0.8 of each cycle) through a clock buffer on vddr
        outs = [f"s{k}" for k in range(n)] + ["cout"]
        tr = format_number(0.8 * tc)
        # one clock pulse per cycle of the operations, then the clock stops (clk low)
        L.append(f"Vclk clk_s 0 PULSE({{vdd_v}} 0 {tr} {format_number(te)} "
                 f"{format_number(te)} {format_number(tc / 2 - te)} {format_number(tc)} "
                 f"{len(vec) + 1})")
        L += lg.inverter("iclk", "clk_s", "clk", "vddr", "0", 1.68, 4.0)
        for k, o in enumerate(outs):
            L.append(f"Cw{k} {o} 0 {{c_out_ff*1e-15}}")
            L += lg.dff(f"r{k}", o, "clk", f"q{k}", "vddr", "0", 0.42, 1.0)
        # timing probe on its own supply (module docstring): D toggles at 0.5 tc
        pts, level = ["0 {vdd_v}"], 1
        for k in range(1, len(vec) + 1):
            t0 = (k + 0.5) * tc
            pts += [f"{format_number(t0)} {{vdd_v*{level}}}",
                    f"{format_number(t0 + te)} {{vdd_v*{1 - level}}}"]
            level = 1 - level
        L += ["Vddp vddp 0 {vdd_v}", "Vsp pd_s 0 PWL(" + " ".join(pts) + ")"]
        L += lg.inverter("ipd", "pd_s", "pd", "vddp", "0", 0.42, 1.0)
        L += lg.inverter("ipclk", "clk_s", "pclk", "vddp", "0", 0.42, 1.0)
        L += lg.dff(_PROBE, "pd", "pclk", "pq", "vddp", "0", 0.42, 1.0)
        L += ["Cwp pq 0 {c_out_ff*1e-15}"]
        L += lg.inverter("ipq", "pq", "pqb", "vddp", "0", 0.42, 1.0)
        return L

    def simulate(self, ng, p):
        n, nv = int(p["n_bits"]), int(p["n_vectors"])
        tc = p["t_cycle_s"]
        vec = self._vectors(p)
        op = ng.run(["op"])
        p_leak_fa = -p["vdd_v"] * float(op["vdd#branch"][0]) / n
        t_ops = (len(vec) + 1) * tc   # one more cycle: the last result is registered
        tstop = t_ops + _IDLE_CYCLES * tc
        step = tc / _STEPS_PER_CYCLE
        r = ng.run([f"tran {format_number(step)} {format_number(tstop)} 0 "
                    f"{format_number(step)}"])
        t = r["time"]
        t1 = (nv + 1) * tc            # operations 1..nv: [tc, (nv + 1)·tc]

        def supply(name):             # J per operation: V x the charge it delivers
            return -p["vdd_v"] * charge(t, np.asarray(r[f"{name}#branch"]), tc, t1) / nv

        def leak(name):               # W: mean power over the rest's last cycle, or NaN
            i = np.asarray(r[f"{name}#branch"])
            half = [-p["vdd_v"] * charge(t, i, a, a + tc / 2) / (tc / 2)
                    for a in (tstop - tc, tstop - tc / 2)]
            return (float(np.mean(half)) if abs(half[0] - half[1]) <= _SETTLED * abs(half[1])
                    else float("nan"))

        e_core, e_in = supply("vdd"), supply("vddi")
        e_add = e_core + e_in
        e_dff = supply("vddr") / (n + 1)
        t_cin = (len(vec) - 1 + _RIPPLE_AT) * tc + _T_EDGE_S / 2
        half = 0.5 * p["vdd_v"]
        cout = [tcx for tcx, d in crossings(t, r["cout"], half) if d > 0 and tcx > t_cin]
        # the cin buffer inverts: cin's own 50 % edge is at the buffer output
        cin = [tcx for tcx, d in crossings(t, r["cin"], half) if d > 0 and tcx >= t_cin - tc / 2]
        t_carry = (cout[0] - cin[0]) if cout and cin else float("nan")
        wrong = 0
        for k in range(1, len(vec)):
            # operation k is captured at k·tc + 0.8·tc; read q before the next capture
            when = (k + 1.7) * tc
            bits = [float(np.interp(when, t, r[f"q{j}"])) > half for j in range(n + 1)]
            a = sum(int(vec[k, j]) << j for j in range(n))
            b = sum(int(vec[k, n + j]) << j for j in range(n))
            want = a + b + int(vec[k, 2 * n])
            wrong += int(sum(int(x) << j for j, x in enumerate(bits)) != want)
        t_clk_q, t_setup = _probe_timing(t, r, half, tc)
        return {"n_wrong": float(wrong), "e_add_j": e_add, "e_fa_op_j": e_add / n,
                "e_dff_j": e_dff, "e_add_bit_j": e_add / n + e_dff, "e_core_j": e_core,
                "t_carry_s": t_carry, "t_carry_per_bit_s": t_carry / n,
                "p_leak_fa_w": p_leak_fa, "p_leak_dff_w": leak("vddr") / (n + 1),
                "t_clk_q_s": t_clk_q, "t_setup_s": t_setup}


def _delays(t, start, stop, half: float, window_s: float, rising_start: bool) -> list[float]:
    """For every 50 % edge of ``start`` (rising only if ``rising_start``), the delay to
    the next 50 % edge of ``stop`` within ``window_s`` (s); an edge with none is NaN."""
    ends = [x for x, _ in crossings(t, stop, half)]
    out = []
    for x, d in crossings(t, start, half):
        if rising_start and d < 0:
            continue
        nxt = [e - x for e in ends if 0 < e - x < window_s]
        out.append(nxt[0] if nxt else float("nan"))
    return out


def _probe_timing(t, r, half: float, tc: float) -> tuple[float, float]:
    """(t_clk_q_s, t_setup_s) of the probe flip-flop: the worst edge after the first
    cycle (the start-up state is excluded); NaN unless every edge was followed."""
    keep = t >= tc
    tk = t[keep]
    cq = _delays(tk, np.asarray(r["pclk"])[keep], np.asarray(r["pq"])[keep], half,
                 0.5 * tc, True)
    su = _delays(tk, np.asarray(r["pd"])[keep], np.asarray(r[f"{_PROBE}_m3"])[keep], half,
                 0.25 * tc, False)
    worst = lambda v: float(max(v)) if v and np.all(np.isfinite(v)) else float("nan")  # noqa: E731
    return worst(cq), worst(su)
