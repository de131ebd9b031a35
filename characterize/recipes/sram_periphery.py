"""SRAM macro periphery on SKY130 (transient): the row decoder's energy per access and the
data-bus wire's energy per bit toggled, the two parts of a buffer access the ``sram``
column deck leaves out.

Circuit: ``circuits/sram_periphery.py`` (predecoded, enable-pulsed NAND decoder for
``rows`` word lines of ``cols`` columns, every row instantiated; one bus bit driven
through ``bus_mm`` of met3 with its neighbours' coupling, wire figures from the SKY130
technology LEF). Recipe ``sram-periphery``, one point = (rows, cols, bus_mm, sizes,
corner, temperature); one transient holds both circuits on separate supplies:

1. **Decoder access**: the address selects row 0 (static literals); the enable rises at
   ``_T0_S`` (50 ps edge) through a two-inverter driver, stays high ``t_en_s`` and falls.
   One predecode line per group and the selected word line pulse high and return.
2. **Bus cycle**: the bus input rises at ``_T0_S`` and falls ``t_bus_half_s`` later; the
   far end follows through the distributed line.

Outputs (energy = each supply's volts x the charge it delivered over [``_T0_S`` - 0.1 ns,
end], window ends interpolated):

* ``e_decode_j``: supply ``vdec`` (enable driver, predecoders, predecode lines, row
  NANDs, the first two word-line driver stages): the decoder's energy per access,
  without the word line itself (priced per column by the ``sram`` model);
* ``e_wl_j``: supply ``vwl``: the last driver stage charging the ``cols``-column word
  line (reported for the hand check, not priced: see above);
* ``e_bus_cycle_j``: supply ``vbus`` (pre-driver + driver) over one rise and one fall of
  the line: ~ (C_wire + C_far-end gate + driver junctions) x VDD^2. With random data a
  bus bit rises on a quarter of the accesses, so an access of B bits costs
  B/4 x e_bus_cycle_j (the pricing, accelerators/data/arch/*.toml);
* ``t_decode_s``: enable 50 % (rise) to the selected word line's 50 % (rise);
  ``t_bus_s``: bus input 50 % to the far end's 50 % (rise);
* ``decode_ok``: 1 when the selected word line rose above 0.9 VDD and fell back, and
  every other built row's NAND output stayed above 0.9 VDD (its word line low);
  ``bus_ok``: 1 when the far end reached 0.9 VDD before the fall and returned below
  0.1 VDD.

Numerics: reltol 1e-4, maximum step 5 ps (10 steps on a 50 ps edge). Against the
tight-tolerance reference (Gear, reltol 1e-5, steps / 4; tests/test_tight_tolerance.py)
at 16 rows, 64 columns, 0.25 mm: e_decode_j 0.029 %, e_bus_cycle_j 0.013 %, e_wl_j
0.0004 %, t_decode_s 0.042 %, t_bus_s 0.020 % (measured).
"""
from __future__ import annotations

import numpy as np

from ...circuits import comparator as cc
from ...circuits import sram_periphery as sp
from ..npy_param import IntParam
from ..params import Param, format_number
from ..recipe import Output, Recipe, register_recipe
from ..waveform import charge, crossings

f = format_number
_T0_S = 0.5e-9
_T_EDGE_S = 50e-12
# after the last edge: every node back at its rail. 3 ns (was 1.5): a 4 mm bus falls
# to 0.146 V at 27 C and 0.183 V at 95 C (> 0.1 VDD, bus_ok 0) 1.5 ns after its falling
# edge (tt, measured), so the window ended before the line was back at ground
_T_SETTLE_S = 3.0e-9
_STEP_S = 5e-12


def _size_params() -> tuple[Param, ...]:
    return tuple(Param(s["name"], float(s["default"]), s["unit"],
                       s["doc"] + f" [default: {s['source']}]", min=float(s["min"]),
                       max=float(s["max"]), structural=True)
                 for s in cc.field_specs(sp.DecoderSizes))


@register_recipe
class SramPeriphery(Recipe):
    name = "sram-periphery"
    summary = "SRAM row decoder energy per access and data-bus wire energy per bit toggle"
    # v2: 3 ns settling window after the last edge (was 1.5 ns)
    version = 2
    params = (
        IntParam("rows", 256, "", "word lines decoded (a power of two) [default: the "
                 "buffers' 256-row subarrays, assumption]", min=4, max=1024,
                 structural=True),
        IntParam("cols", 256, "", "columns on a word line (sizes the word-line driver) "
                 "[default: assumption]", min=16, max=1024, structural=True),
        Param("bus_mm", 1.0, "mm", "data-bus wire length [default: assumption; the "
              "architectures derive theirs from the macro area]", min=0.05, max=10.0,
              structural=True),
        Param("w_bus_n_um", 4.0, "um", "bus driver nfet width [default: assumption: a "
              "4 mm line (~0.9 pF) settles in ~2 ns]", min=0.42, max=50.0,
              structural=True),
        Param("w_bus_p_um", 9.6, "um", "bus driver pfet width [default: 2.4x the nfet]",
              min=0.42, max=120.0, structural=True),
        Param("t_en_s", 2e-9, "s", "decoder enable pulse [default: assumption, the "
              "word-line pulse of a ~250 MHz access]", min=0.5e-9, max=20e-9,
              structural=True),
        Param("t_bus_half_s", 4e-9, "s", "bus high time [default: assumption, long "
              "enough for a 4 mm line to settle]", min=0.5e-9, max=50e-9, structural=True),
        Param("vdd_v", 1.8, "V", "every supply [default: SKY130 1.8 V core]", min=1.4,
              max=1.98),
    ) + _size_params()
    outputs = (
        Output("e_decode_j", "J", (), "decoder energy per access (vdec; no word line)"),
        Output("e_wl_j", "J", (), "last word-line driver stage + word line (vwl)"),
        Output("e_bus_cycle_j", "J", (), "bus driver energy of one rise + one fall"),
        Output("t_decode_s", "s", (), "enable 50 % to selected word line 50 %"),
        Output("t_bus_s", "s", (), "bus input 50 % to far end 50 % (rise)"),
        Output("decode_ok", "", (), "1: only the selected word line pulsed"),
        Output("bus_ok", "", (), "1: the far end swung rail to rail"),
    )

    def timeout_s(self, p):
        return 60.0 + 0.3 * p["rows"]

    @staticmethod
    def _t_end(p) -> float:
        return _T0_S + max(p["t_en_s"], p["t_bus_half_s"]) + 2 * _T_EDGE_S + _T_SETTLE_S

    def body(self, tech, p):
        sp.check_technology(tech)
        sz = sp.DecoderSizes(**{s["name"]: p[s["name"]]
                                for s in cc.field_specs(sp.DecoderSizes)})
        te = _T_EDGE_S
        en_f = _T0_S + te + p["t_en_s"]
        bus_f = _T0_S + te + p["t_bus_half_s"]
        L = [*(f"V{s} {s} 0 {{vdd_v}}" for s in ("vdec", "vwl", "vbus", "vrx")),
             f"Ven_s en_s 0 PWL(0 0 {f(_T0_S)} 0 {f(_T0_S + te)} {{vdd_v}} {f(en_f)} "
             f"{{vdd_v}} {f(en_f + te)} 0)",
             f"Vdin din 0 PWL(0 0 {f(_T0_S)} 0 {f(_T0_S + te)} {{vdd_v}} {f(bus_f)} "
             f"{{vdd_v}} {f(bus_f + te)} 0)"]
        dv = sp.Devices(tech)
        # the enable driver (on vdec): en_s -> en_b -> en (every predecoder's enable)
        dv.inverter("ena", "en_s", "en_b", "vdec", 0.42, 1.0)
        dv.inverter("enb", "en_b", "en", "vdec", 1.0, 2.4)
        L += dv.text()
        L += sp.decoder_lines(tech, int(p["rows"]), int(p["cols"]), sz, en="en")
        L += sp.bus_lines(tech, p["bus_mm"], p["w_bus_n_um"], p["w_bus_p_um"], d="din")
        L.append(".options reltol=1e-4")
        return L

    def simulate(self, ng, p):
        vdd = p["vdd_v"]
        t_end = self._t_end(p)
        r = ng.run([f"tran {f(_STEP_S)} {f(t_end)} 0 {f(_STEP_S)}"])
        t = np.asarray(r["time"])
        t0 = _T0_S - 0.1e-9
        e = {s: -vdd * charge(t, np.asarray(r[f"v{s}#branch"]), t0, t_end)
             for s in ("vdec", "vwl", "vbus")}
        nan = float("nan")

        def first(v, direction, after=0.0):
            c = [x for x, d in crossings(t, np.asarray(v), vdd / 2) if d == direction
                 and x > after]
            return c[0] if c else nan

        wl0 = np.asarray(r["wl0"])
        held = [np.min(np.asarray(r[f"rb{k}"]))
                for k in sp.rows_instantiated(int(p["rows"]))[1:]]
        dec_ok = float(np.max(wl0) > 0.9 * vdd and wl0[-1] < 0.1 * vdd
                       and min(held) > 0.9 * vdd)
        far = np.asarray(r[f"bus{sp.N_SEGMENTS}"])
        bus_f = _T0_S + _T_EDGE_S + p["t_bus_half_s"]
        bus_ok = float(np.interp(bus_f, t, far) > 0.9 * vdd and far[-1] < 0.1 * vdd)
        return {"e_decode_j": e["vdec"], "e_wl_j": e["vwl"], "e_bus_cycle_j": e["vbus"],
                "t_decode_s": first(r["wl0"], 1) - first(r["en"], 1),
                "t_bus_s": first(far, 1) - first(r["din"], 1),
                "decode_ok": dec_ok, "bus_ok": bus_ok}
