"""HeTraX accuracy and thermal coupling (../shared/seeds/001_*.md, ``data/arch/hetrax.toml``).

Streaming-multiprocessor (SM) tiers run attention and every operator whose operands
change per input, in FP16; ReRAM processing-in-memory tiers run the feed-forward
products on crossbars read bit-serially by per-tile SAR ADCs (the description's
mapping, bits and converter sharing). The stack must stay thermally feasible: the
per-tier power of the priced workload feeds a steady-state thermal model
(:mod:`.thermal`) on the description's floorplan die, and the ReRAM tiers' accuracy
is evaluated at the temperature it predicts, from temperature-swept models: the
crossbar-column model's IR drop at that temperature and the memristor model's
state-dependent conductance drift and read noise (:mod:`.thermal_reram`). The chip is
programmed and calibrated at 27 C (the programming temperature; HeTraX does not
recalibrate hot) and read at the tier temperature (the ReRAM tiers' cost is priced at the
same temperature: :mod:`.thermal_coupled`): the TIA gain trims and the calibration reads
see the IR drop at 27 C, the inference reads the drop at the tier temperature
(:func:`.hardware.crossbar_device`); with ``crossbar.temp_reference = "tile"`` each
tile's output gain tracks a reference column pair read at that temperature.
"""
from __future__ import annotations

import numpy as np

from . import thermal
from .arch import ArchError
from .clock_tree import CLOCK
from .floorplan import fit_tiers, tier_count
from .analog import CrossbarLinear, Nonideal, seed_for, uniform_quantizer
from .mapping import input_encoding, input_planes
from .plane_schedule import plane_schedule
from .ops import FP32Ops
from .thermal_reram import REFERENCE_MODES, T_REF_C, ReramRead, ThermalCrossbarLinear


class HetraxOps(FP32Ops):
    """FFN products on ReRAM crossbars (ADC readout) at the ReRAM tier temperature;
    everything else in FP16 on the SM tiers."""

    def __init__(self, arch, xbar, ranges: dict, seed: int = 0, k=1.0, *, mem=None,
                 temp_c: float | None = None, temp_cal_c: float = T_REF_C):
        """``mem``: the fitted memristor model (None: cells read as ideal linear
        conductances, the behaviour before the ReRAM read model); ``temp_c``: the tier
        temperature the crossbars are read at (C; None: ``temp_cal_c``); ``temp_cal_c``:
        the temperature of programming and calibration. The device read model (drift
        and read noise) scales with the ``programming_noise`` non-ideality."""
        from .hardware import scale_crossbar
        self.arch, self.r, self.seed = arch, ranges, seed
        self.ni = k if isinstance(k, Nonideal) else Nonideal.scaled(float(k))
        self.dev = scale_crossbar(xbar, ir_drop=self.ni.ir_drop,
                                  programming_noise=self.ni.programming_noise,
                                  tia_noise=self.ni.tia_noise)
        self.temp_cal_c = float(temp_cal_c)
        self.temp_c = self.temp_cal_c if temp_c is None else float(temp_c)
        self.read = None if mem is None else ReramRead(mem, float(self.dev.v_read_v),
                                                       float(self.ni.programming_noise))
        input_planes(arch)
        # the input code's encoding, as the pricing counts its planes (mapping.py)
        self.sign_magnitude = input_encoding(arch) == "sign-magnitude"
        self.schedule = plane_schedule(arch)   # planes read, and their polarity
        self.bit_serial = arch.component("dac")["mode"] == "bit-serial"
        self.in_bits = int(arch.component("dac")["bits"])
        self.adc_bits = int(arch.component("converter")["bits"])
        xb = arch.component("crossbar")
        self.partial_sums, self.w_clip_pct = xb["partial_sums"], float(xb.get("w_clip_pct", 100))
        self.w_scale = str(xb.get("w_scale", "matrix"))
        # the factor the pricing reads too (evaluate.py, xbar_loads.py): one machine
        self.outlier_factor = float(xb.get("outlier_factor", 6.0))
        # temperature-tracking reference columns (thermal_reram.ThermalCrossbarLinear)
        self.temp_reference = str(xb.get("temp_reference", "none"))
        if self.temp_reference not in REFERENCE_MODES:
            raise ArchError(f"crossbar.temp_reference must be one of {REFERENCE_MODES}, "
                            f"not {self.temp_reference!r}")
        self.ref_reads = int(xb.get("temp_reference_reads", 1))
        self._xbars: dict[str, CrossbarLinear] = {}
        self._calibrating = False

    @property
    def calibrating(self) -> bool:
        return self._calibrating

    @calibrating.setter
    def calibrating(self, on: bool) -> None:
        """Calibration reads at the programming temperature, inference at the tier's."""
        self._calibrating = bool(on)
        for xb in self._xbars.values():
            if isinstance(xb, ThermalCrossbarLinear):
                xb.at(self.temp_cal_c if on else self.temp_c, calibrating=bool(on))

    def _on_crossbar(self, name: str) -> bool:
        op = name.split(".", 1)[1] if name.startswith("layer") else name
        return self.arch.engine_for(op, "linear") == "crossbar"

    def linear(self, x, w, b, name):
        if not self._on_crossbar(name):
            y = self._sm(x, w.T)
            return y if b is None else y + b
        xb = self.crossbar(w, name)
        if self.calibrating:
            xb.calibrate(x)
        y = xb(x)
        return y if b is None else y + b

    def crossbar(self, w, name: str) -> CrossbarLinear:
        """The programmed crossbar of linear ``name`` (weights ``w`` (out, in)), made on
        first use and read at the calibration or the tier temperature; :meth:`linear`
        reads it, the torch path builds its operator from it."""
        xb = self._xbars.get(name)
        if xb is None:
            q = self.ni.quantization
            kw = dict(bit_serial=self.bit_serial, out_bits=self.adc_bits if q else None,
                      sign_magnitude=self.sign_magnitude, schedule=self.schedule,
                      partial_sums=self.partial_sums, quantizer=uniform_quantizer,
                      w_scale=self.w_scale)
            args = (w, self.dev, self.in_bits if q else None, self.r[name]["in_ch"],
                    seed_for(name, self.seed), self.w_clip_pct, self.outlier_factor)
            # the thermal read also where only the IR drop moves with T (trims set at
            # programming, read hot): the tile reference then tracks the drop alone
            hot_drop = self.dev.ir_drop_cal_rel is not None and self.ni.ir_drop > 0
            if self.read is not None and (self.read.k > 0 or hot_drop):
                xb = ThermalCrossbarLinear(*args, read=self.read,
                                           reference=self.temp_reference,
                                           t_cal_c=self.temp_cal_c, ref_reads=self.ref_reads,
                                           **kw)
                xb.at(self.temp_cal_c if self.calibrating else self.temp_c,
                      calibrating=self.calibrating)
            else:
                xb = CrossbarLinear(*args, **kw)
            self._xbars[name] = xb
        return xb

    def _sm(self, a, b):
        """An SM-tier product: FP16 operands (quantization on) or exact."""
        if not self.ni.quantization:
            return (a @ b).astype(np.float32)
        return (a.astype(np.float16) @ b.astype(np.float16)).astype(np.float32)

    def matmul(self, a, b, name):
        return self._sm(a, b)

    def recalibrate(self, ranges: dict) -> None:
        """SM tiers have no range-dependent lookups; the crossbars keep their DAC ranges."""

    def digital_fraction(self) -> dict[str, float]:
        return {n: float(xb.digital.mean()) for n, xb in self._xbars.items()}


def tier_powers(arch, sheet) -> dict[str, float]:
    """Average power of ONE tier of each floorplan group (W) while the workload runs
    back to back: the group's energy entries over the latency, shared by its tiers (a
    ``count = "fit"`` group: as many as the sheet's area needs, :func:`.floorplan.fit_tiers`),
    with the clock trees on its dies (``clock:GROUP``, :mod:`.clock_tree`)."""
    fit_tiers(arch, sheet)
    t = max(sheet.latency_s, 1e-15)
    by = sheet.by(sheet.energy, "component")
    clock = sheet.by([e for e in sheet.energy if e.component == CLOCK], "op")
    return {g: (sum(by.get(c, 0.0) for c in tier["components"])
                + clock.get(f"clock:{g}", 0.0)) / t / tier_count(tier)
            for g, tier in arch.floorplan["tiers"].items()}


def stack_thermal(arch, powers: dict[str, float]):
    """Solve the stack on the floorplan's die: tier groups in order, the group marked
    ``near_sink`` next to the heat sink."""
    groups = arch.floorplan["tiers"]
    order = sorted(groups, key=lambda g: not groups[g].get("near_sink", False))
    tiers = [thermal.TierSpec(f"{g}{i}", g, power_w=powers[g])
             for g in order for i in range(tier_count(groups[g]))]
    res = thermal.solve(thermal.StackSpec(tiers=tiers, die_mm2=arch.floorplan["die_mm2"]))
    return res, thermal.feasible(res)
