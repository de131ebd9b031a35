"""Map a workload's operator graph onto an architecture description, once.

The mapping says which engine runs each operator (``[mapping]`` of the description),
how many tiles a weight matrix takes, how many conversions, lookups, adds and memory
accesses each operator needs (:class:`.mapping_record.Charge`: actions of a
component's figure) and how many sequential steps it puts on the critical path
(``Step``). It sizes what the description leaves ``"mapped"`` (tiles, buffers) from
the actual tensors and checks what the description fixes (provisioned >= demanded),
serializing where a shared pool is smaller than an operator's parallel demand and
saying so in ``notes``. The cost model (:mod:`.cost`) prices exactly these counts, and the accuracy
operators read the same description (bits, DAC mode, partial-sum points), so
accuracy and cost describe one machine.

Conventions (the tests re-derive them by hand):

* crossbar (``linear``): ``rt = ceil(k/rows)`` row tiles x ``ct = ceil(n/cols)``
  column tiles; ``P = dac.bits`` input planes if ``dac.mode = "bit-serial"``, else 1;
  per token: ``P`` reads (one settle each, all tiles in parallel),
  ``2·P·rt·n`` column reads (G+ and G-), DAC drives ``P·k·ct``, conversions
  ``P·rt·n`` (``P·n`` if ``partial_sums = "analog"``; each priced as
  ``converter.searches_per_conversion`` actions: ACAM rows searched, 1 for an ADC),
  each tile's columns shared by
  ``converter.per_tile`` converters: ``P·ceil(min(n, cols)/per_tile)`` conversion
  steps; adds ``n·(P·rt - 1)`` (``n·(P - 1)`` analog) on ``ct·rt·adder.per_tile``
  adders. Tokens pass one after another. ``temp_reference = "tile"`` adds a
  reference column pair per tile, read once per pass (``_reference_reads``).
  ``dac.skip_empty``: a fraction ``f`` of the scheduled plane reads is made (the
  accuracy run's own reads, ``read_fraction``; 1, every read, without one): column
  reads, drives and conversions times ``f``, adds ``n·(f·P·rt - 1)``; the steps stay
  (every plane keeps its slot, every add its cycle); and each tile decides per plane
  and token whether to read it, one ``skip_or`` decision (``(bits - 1)·rt·ct`` per
  token).
* acam (function lookups): softmax ``2e + rows`` lookups (exp, output; 1/sum per
  row), gelu and elementwise ``e``, layernorm ``e + rows`` (output; 1/sqrt per row),
  matmul one lookup per scalar product plus ``k - 1`` adds per output on the adder
  pool; each lookup searches ``searches_per_lookup`` rows; ``count //
  searches_per_lookup`` lookups per step. A search's energy includes its match-line
  sensing (the acam-search deck senses each row with the SKY130 StrongARM comparator).
  ``[mapping.acam]`` (:class:`.acam_mapping.AcamMapping`): ``softmax = "deferred"`` drops the
  output lookup (softmax ``e + rows``) and scales each P·V output (``attn.context``,
  ``batch·heads·m·n``) once by its row's 1/sum: one multiply each on the ``scaler``
  pool (``ceil(outputs / count)`` steps); ``rsqrt_banks = B > 1`` adds ``B - 1``
  comparator decisions per layernorm row (``ceil(decisions / count)`` steps);
  ``norm_out_banks = B > 1`` adds ``B - 1`` decisions per layernorm output element (its
  output code's subranging bank; the banks' rows together are the one lookup's, still
  priced as ``searches_per_lookup`` searches). Row
  levels (trimmed, centroid) are calibration, written once per chip: not priced.
* adder (elementwise): one add per element on the pool.
* sm: ``flops/2`` MACs on ``sm_mac.count`` units, one cycle each; operands through
  SRAM (``sm_sram.access_bits`` per access), SM-mapped weights from DRAM once.
* memories: every crossbar/ACAM/adder operator's activations in and out pass the
  ``buffer`` once (``access_bits`` per access); ``count = "mapped"`` buffers hold the
  largest operator's activations (SRAM: its weights too). A memory with a
  ``write_energy`` figure is charged its ``energy`` figure for what the operator reads
  (activations in, SRAM weights) and ``write_energy`` for its activations out; one
  without is charged every access at its ``energy``.
* gaincell (decode attention, the published form the accuracy run simulates): K and
  V rows written (``H·dh`` cells each), every K and V cell read once in one (unsigned)
  query pulse phase per product; one readout per score column (``H·w``) and per
  context column of each of the ``nt = ceil(w/tile)`` V row tiles (``H·dh·nt``, all
  tiles in parallel, ``context_tiles = "parallel"``); the tile codes of each context
  column summed by a tree of ``nt - 1`` adders (``tile_adder``: ``H·dh·(nt-1)`` adds
  of ``bits`` full-adder bits each, ``ceil(log2 nt)`` levels on the critical path).
  Arrays, readouts and adders are provisioned per layer and sequence of the batch
  (``count = "mapped"``; all run in parallel).
  Other ``normalize`` / ``partial_sums`` / ``context_tiles`` values are refused.
"""
from __future__ import annotations

import math

from .acam_mapping import acam_lookups
from .arch import Architecture, ArchError
from .mapping_record import Mapping, ProvisionError, _ceil, _int
from .plane_schedule import plane_schedule
from .workloads import Operator, TransformerShape, operator_graph


def build(arch: Architecture, shape: TransformerShape, seq_len: int, batch: int = 1,
          mode: str = "prefill", context_len: int | None = None,
          digital_rows: dict[str, float] | None = None,
          read_fraction: dict[str, float] | None = None) -> Mapping:
    """Map one forward pass (``prefill``) or one generation step (``decode``).
    ``digital_rows``: per crossbar operator (``layer0.ffn.in``), the fraction of its
    input rows the accuracy model computes digitally (outlier channels), priced as
    MACs of the ``outlier_mac`` component, in parallel with the crossbar read.
    ``read_fraction``: per crossbar operator, the fraction of its scheduled plane reads
    the accuracy model made (``dac.skip_empty`` skips the rest); absent: every read."""
    bpe = float(arch.workload.get("bytes_per_activation", 1))
    ops = operator_graph(shape, seq_len, batch=batch, mode=mode, context_len=context_len,
                         bytes_per_el=bpe)
    m = Mapping(arch, shape.name, seq_len, batch, mode, ops)
    m.digital_rows = dict(digital_rows or {})
    m.read_fraction = dict(read_fraction or {})
    for op in ops:
        m.engine_of[op.qualified_name] = arch.engine_for(op.name, op.kind)
    _crossbar_tiles(m)
    for op in ops:
        eng = m.engine_of[op.qualified_name]
        if eng is not None:
            ENGINES[eng](m, op)
    _memories(m)
    _check(m)
    return m


# --- crossbar ---------------------------------------------------------------------------
def _crossbar_tiles(m: Mapping) -> None:
    xb_ops = [op for op in m.ops if m.engine_of[op.qualified_name] == "crossbar"]
    if not xb_ops:
        return
    xb = m.arch.component("crossbar")
    rows, cols = _int(xb, "rows"), _int(xb, "cols")
    total = 0
    for op in xb_ops:
        if op.kind != "linear":
            raise ArchError(f"{m.arch.name}: crossbars hold static weights; operator "
                            f"{op.qualified_name} ({op.kind}) cannot run on them")
        t = (_ceil(op.k, rows), _ceil(op.n, cols))
        m.tiles[op.qualified_name] = t
        m.busy[op.qualified_name] = {"crossbar": t[0] * t[1]}
        total += t[0] * t[1]
    m.demanded["crossbar"] = total
    m.provisioned["crossbar"] = total if xb.get("count") == "mapped" else _int(xb, "count")
    # G+ and G- arrays, with HeTraX's reference column pair (_reference_reads)
    m.cells["crossbar"] = 2 * rows * (cols + _reference_pairs(xb))
    m.provisioned["dac"] = m.provisioned["crossbar"] * rows
    conv = m.arch.component("converter")
    m.provisioned["converter"] = m.provisioned["crossbar"] * _int(conv, "per_tile")
    if conv.get("kind") == "acam":
        m.cells["converter"] = _int(conv, "searches_per_conversion") * _int(conv, "cells_per_row")


#: bit-serial input codes: two's complement (binary drives, the MSB plane counts
#: negative) or sign-magnitude (a ternary +-v_read drive per magnitude bit: one plane
#: fewer, and a small input drives only its set bits)
ENCODINGS = ("twos-complement", "sign-magnitude")


def input_encoding(arch: Architecture) -> str:
    """``dac.encoding`` of a bit-serial DAC (default two's complement)."""
    enc = arch.component("dac").get("encoding", ENCODINGS[0])
    if enc not in ENCODINGS:
        raise ArchError(f"dac.encoding must be one of {ENCODINGS}, got {enc!r}")
    return enc


def input_planes(arch: Architecture) -> int:
    """Crossbar plane reads per token: ``dac.bits`` if bit-serial (``dac.bits - 1``
    magnitude planes in sign-magnitude; ``dac.plane_reads`` adds each repeat of a plane:
    a read, its conversions and an add), else 1. Refuses ``dac.skip_empty`` without a
    ``skip_or`` component (its decisions are priced)."""
    dac = arch.component("dac")
    mode = dac.get("mode")
    if mode not in ("bit-serial", "multi-level"):
        raise ArchError(f"dac.mode must be 'bit-serial' or 'multi-level', got {mode!r}")
    want = "bit_drive" if mode == "bit-serial" else "level_drive"
    if dac.figures["energy"].per != want:
        raise ArchError(f"dac.mode={mode!r} needs an energy figure per {want!r}; this "
                        f"description prices a {dac.figures['energy'].per!r}: write a "
                        "variant file with that figure")
    input_encoding(arch)        # the encoding, then the read schedule that needs it
    sched = plane_schedule(arch)
    if sched is not None and sched.skip_empty and "skip_or" not in arch.components:
        raise ArchError("dac.skip_empty decides per tile and plane whether to read it: "
                        "the description needs a 'skip_or' component to price that")
    if mode != "bit-serial":
        return 1
    planes = _int(dac, "bits") - (input_encoding(arch) == "sign-magnitude")
    return planes if sched is None else sched.n_reads(planes)


def _crossbar(m: Mapping, op: Operator) -> None:
    xb, conv, add = (m.arch.component(c) for c in ("crossbar", "converter", "adder"))
    cols = _int(xb, "cols")
    rt, ct = m.tiles[op.qualified_name]
    P = input_planes(m.arch)
    analog = xb.get("partial_sums") == "analog"
    if xb.get("partial_sums") not in ("digital", "analog"):
        raise ArchError("crossbar.partial_sums must be 'digital' or 'analog'")
    tokens = op.m * op.batch
    f = _read_fraction(m, op, rt, ct)
    conv_per_token = f * P * op.n * (1 if analog else rt)
    # adds made (skipped codes are not added), and the adds' slots (the schedule's)
    adds_per_token = op.n * max(f * P * (1 if analog else rt) - 1, 0.0)
    add_slots = op.n * (P * (1 if analog else rt) - 1)
    _bit_line_reads(m, op, tokens * 2 * f * P * rt * op.n)
    m.step(op, "crossbar", tokens * P)
    m.charge(op, "dac", tokens * f * P * op.k * ct)
    frac = m.digital_rows.get(op.qualified_name, 0.0)
    if frac:
        if "outlier_mac" not in m.arch.components:
            raise ArchError(f"{op.qualified_name}: {frac:.1%} of its input rows run "
                            "digitally but the description has no 'outlier_mac' component")
        m.charge(op, "outlier_mac", frac * op.flops / 2)
        m.provisioned["outlier_mac"] = _int(m.arch.component("outlier_mac"), "count")
    m.charge(op, "converter", tokens * conv_per_token * _int(conv, "searches_per_conversion"))
    m.step(op, "converter", tokens * P * _ceil(min(op.n, cols), _int(conv, "per_tile")))
    m.need("converter", rt * ct * _int(conv, "per_tile"))
    m.need("dac", rt * ct * _int(xb, "rows"))
    if add_slots:
        adders = rt * ct * _int(add, "per_tile")
        m.charge(op, "adder", tokens * adds_per_token)
        m.step(op, "adder", tokens * _ceil(add_slots, adders))
        m.need("adder_tiles", adders)
    if _reference_pairs(xb):
        _reference_reads(m, op, rt * ct)
    _activations(m, op, "buffer")


def _read_fraction(m: Mapping, op: Operator, rt: int, ct: int) -> float:
    """The fraction of ``op``'s scheduled plane reads made (1 unless ``dac.skip_empty``),
    and, where empty planes are skipped, the decisions that skip them: per token, each
    of the ``rt·ct`` tiles ORs its rows' enables once per plane (a plane's repeats
    follow its one decision), on its ``skip_or`` (one per tile)."""
    sched = plane_schedule(m.arch)
    if sched is None or not sched.skip_empty:
        return 1.0
    planes = _int(m.arch.component("dac"), "bits") - 1        # sign-magnitude (checked)
    m.charge(op, "skip_or", op.m * op.batch * planes * rt * ct)
    m.need("skip_or", rt * ct)
    m.provisioned["skip_or"] = m.provisioned["crossbar"]
    f = float(m.read_fraction.get(op.qualified_name, 1.0))
    if not 0.0 <= f <= 1.0:
        raise ArchError(f"{op.qualified_name}: read fraction {f!r} is not in [0, 1]")
    return f


def _bit_line_reads(m: Mapping, op: Operator, n: float) -> None:
    """``n`` bit-line reads: the cells, and where the description prices them each
    read's sense amplifier (its supply) and, gated between reads, its wake."""
    m.charge(op, "crossbar", n)
    for fig in ("tia_energy", "tia_wake_energy"):
        if fig in m.arch.component("crossbar").figures:
            m.charge(op, "crossbar", n, fig)


def _reference_pairs(xb) -> int:
    """Reference column pairs per tile: 1 with ``temp_reference = "tile"`` (.thermal_reram)."""
    mode = xb.get("temp_reference", "none")
    if mode not in ("none", "tile"):
        raise ArchError(f"crossbar.temp_reference must be 'none' or 'tile', got {mode!r}")
    return int(mode == "tile")


def _reference_reads(m: Mapping, op: Operator, tiles: int) -> None:
    """Once per pass (assumption: the tier's temperature moves over the stack's thermal
    time constants), each tile reads its pair ``temp_reference_reads`` times, all rows
    driven, one conversion a read, all tiles at once; priced at the columns' figures."""
    xb, conv = m.arch.component("crossbar"), m.arch.component("converter")
    n = tiles * _int(xb, "temp_reference_reads")
    _bit_line_reads(m, op, 2 * n)                    # its G+ and G- bit lines
    m.charge(op, "dac", n * _int(xb, "rows"))
    m.charge(op, "converter", n * _int(conv, "searches_per_conversion"))
    for comp in ("crossbar", "converter"):
        m.step(op, comp, n // tiles)


# --- ACAM lookups and digital adds ------------------------------------------------------
def _context(m: Mapping, op: Operator) -> int:
    """Key length of a layer's attention (the scores product's n)."""
    for o in m.ops:
        if o.layer == op.layer and o.name == "attn.scores":
            return o.n
    return 1


def _acam(m: Mapping, op: Operator) -> None:
    acam = m.arch.component("acam")
    per = _int(acam, "searches_per_lookup")
    rows = _int(acam, "count")
    m.provisioned["acam"] = rows
    m.cells["acam"] = _int(acam, "cells_per_row")
    am = m.arch.acam_mapping()
    lookups, adds = acam_lookups(op, _d_model(m), _context(m, op), am.deferred_softmax,
                                 am.lookup_copies, am.product_copies)
    per_step = rows // per
    banks = am.product_banks if op.kind == "matmul" else 1
    if per_step < banks:
        raise ProvisionError(f"acam.count={rows} rows cannot hold " + (
            f"one lookup of {per} rows" if banks == 1 else
            f"mapping.acam.product_banks = {banks} lookups of {per} rows at once"))
    steps = _ceil(lookups, per_step)
    m.charge(op, "acam", lookups * per)
    m.step(op, "acam", steps)
    m.need("acam", min(lookups, per_step) * per)
    if steps > 1:
        m.notes.append(f"{op.qualified_name}: {lookups} lookups serialized in {steps} steps "
                       f"of {per_step}")
    if adds:
        _pool_adds(m, op, adds)
    if am.deferred_softmax and op.kind == "matmul" and op.name == "attn.context":
        _pool(m, op, "scaler", op.batch * op.heads * op.m * op.n)     # x 1/sum per output
    if am.rsqrt_banks > 1 and op.kind == "layernorm":
        _pool(m, op, "comparator", (am.rsqrt_banks - 1) * (op.elements // _d_model(m)))
    if am.norm_out_banks > 1 and op.kind == "layernorm":    # the output code's bank
        _pool(m, op, "comparator", (am.norm_out_banks - 1) * op.elements)
    _activations(m, op, "buffer")


def _pool(m: Mapping, op: Operator, comp: str, actions: int) -> None:
    """``actions`` of a shared pool of ``count`` units: ``ceil(actions / count)`` steps."""
    n = _int(m.arch.component(comp), "count")
    m.provisioned[comp] = n
    m.charge(op, comp, actions)
    m.step(op, comp, _ceil(actions, n))
    m.need(comp, min(actions, n))


def _pool_adds(m: Mapping, op: Operator, adds: float) -> None:
    pool = _int(m.arch.component("adder"), "pool", lo=0)
    if pool == 0:
        raise ProvisionError(f"{op.qualified_name} needs digital adds but adder.pool = 0")
    m.charge(op, "adder", adds)
    m.step(op, "adder", _ceil(adds, pool))
    m.need("adder_pool", min(adds, pool))


def _adder(m: Mapping, op: Operator) -> None:
    _pool_adds(m, op, op.elements)
    _activations(m, op, "buffer")


def _d_model(m: Mapping) -> int:
    lin = [op for op in m.ops if op.kind == "linear"]
    return lin[0].k if lin else 1


# --- SM tiers ---------------------------------------------------------------------------
def _sm(m: Mapping, op: Operator) -> None:
    mac = m.arch.component("sm_mac")
    n = _int(mac, "count")
    m.provisioned["sm_mac"] = n
    macs = op.flops / 2
    m.charge(op, "sm_mac", macs)
    m.step(op, "sm_mac", _ceil(macs, n))
    m.need("sm_mac", min(macs, n))
    m.busy[op.qualified_name] = {"sm_mac": math.ceil(min(macs, n))}
    _accesses(m, op, "sm_sram", op.weight_bytes + op.act_in_bytes, op.act_out_bytes)
    m.need("sm_sram_bytes", op.weight_bytes + op.act_in_bytes + op.act_out_bytes)
    if op.weight_bytes and "dram" in m.arch.components:
        m.charge(op, "dram", op.weight_bytes * 8 / _int(m.arch.component("dram"), "access_bits"))


# --- gain cells -------------------------------------------------------------------------
#: the gain-cell settings the accuracy run (:mod:`.gaincell_torch`, the published form)
#: simulates; the mapping prices nothing else
GAINCELL_FORM = (("normalize", "none"), ("partial_sums", "digital"),
                 ("context_tiles", "parallel"))


def gaincell_unsimulated(gc) -> list[str]:
    """One line per setting of the ``gaincell`` component that the accuracy run does not
    simulate (empty: accuracy and cost describe one machine)."""
    return [f"gaincell.{key} = {gc.get(key)!r}: only {want!r} is simulated by the "
            "accuracy run (gaincell_torch.py) and priced"
            for key, want in GAINCELL_FORM if gc.get(key) != want]


def gaincell_tiles(gc, w: int, dh: int) -> int:
    """Row tiles of one head's V array (``ceil(w / tile)``) for a window of ``w`` keys
    and head dimension ``dh``; refuses, in one line, what the accuracy run cannot
    simulate."""
    bad = gaincell_unsimulated(gc)
    if bad:
        raise ArchError(bad[0])
    tile = _int(gc, "tile")
    if dh > tile:
        raise ArchError(f"gaincell: head dimension {dh} > tile rows {tile}: a score would "
                        "span two tiles (not simulated)")
    return _ceil(w, tile)


def _gaincell(m: Mapping, op: Operator) -> None:
    gc = m.arch.component("gaincell")
    if op.name == "attn.softmax":
        return  # the charge-to-pulse readout of the scores is the activation
    if m.mode != "decode":
        raise ArchError("gain-cell attention is priced per generation step: mode decode")
    b, H = op.batch, op.heads
    if op.name == "attn.scores":
        w, dh = op.n, op.k
    else:
        w, dh = op.k, op.n
    nt = gaincell_tiles(gc, w, dh)
    # the K arrays (1 x nt a head) or V arrays (nt x dh/tile) this operator reads
    m.busy[op.qualified_name] = {"gaincell": b * H * nt * (1 if op.name == "attn.scores"
                                                           else _ceil(dh, _int(gc, "tile")))}
    m.charge(op, "gaincell", b * H * dh)                       # write the new K / V row
    m.charge(op, "gaincell", b * H * w * dh, "read_energy")    # every cell read once
    m.step(op, "gaincell", 1, "read_latency")                  # one (unsigned) query phase
    if op.name == "attn.scores":
        m.step(op, "gaincell", 1)                              # K and V rows written together
        conversions = b * H * w                                # one per score column
    else:
        conversions = b * H * dh * nt                          # per row tile, per column
        _tile_sums(m, op, b * H * dh, nt)
    # every conversion: the integrator ramp and one comparator decision
    m.charge(op, "readout", conversions)
    for fig in ("decision_energy", "wake_energy"):   # its comparator; its gated OTA's wake
        if fig in m.arch.component("readout").figures:
            m.charge(op, "readout", conversions, fig)
    m.step(op, "readout", 1)                                   # all columns in parallel


def _tile_sums(m: Mapping, op: Operator, columns: int, nt: int) -> None:
    """The digital sum of ``nt`` tile codes per context column: an adder tree of
    ``nt - 1`` adds, ``ceil(log2 nt)`` levels, each add ``bits`` full-adder bits."""
    if nt < 2:
        return
    add = m.arch.component("tile_adder")
    bits = _int(add, "bits")
    need = _int(m.arch.component("readout"), "out_bits") + math.ceil(math.log2(nt))
    if bits < need:
        raise ProvisionError(f"tile_adder.bits = {bits} < {need}: the sum of {nt} "
                             "tile codes overflows the accumulator")
    m.charge(op, "tile_adder", columns * (nt - 1) * bits)
    m.step(op, "tile_adder", math.ceil(math.log2(nt)))


def _gaincell_arrays(m: Mapping) -> None:
    ops = [op for op in m.ops if op.name == "attn.scores"
           and m.engine_of[op.qualified_name] == "gaincell"]
    if not ops:
        return
    gc = m.arch.component("gaincell")
    tile = _int(gc, "tile")
    tiles = readouts = adders = 0
    for op in ops:  # per layer: a K array (dh rows x w columns) and a V array (w x dh)
        w, dh, H = op.n, op.k, op.heads
        nt = gaincell_tiles(gc, w, dh)
        tiles += op.batch * H * (nt + nt * _ceil(dh, tile))   # every sequence's K/V
        readouts += op.batch * H * (w + nt * dh)    # score columns + tile context columns
        adders += op.batch * H * dh * (nt - 1)      # one tree per context column
    m.cells["gaincell"] = tile * tile
    for comp, n in (("gaincell", tiles), ("readout", readouts), ("tile_adder", adders)):
        if not n:
            continue
        m.demanded[comp] = n
        want = m.arch.component(comp).get("count", "mapped")
        m.provisioned[comp] = n if want == "mapped" else _int(m.arch.component(comp), "count")


# --- memories ---------------------------------------------------------------------------
def _activations(m: Mapping, op: Operator, comp: str) -> None:
    if comp not in m.arch.components:
        return
    _accesses(m, op, comp, op.act_in_bytes, op.act_out_bytes)
    m.need(comp + "_bytes", op.act_in_bytes + op.act_out_bytes)


def _accesses(m: Mapping, op: Operator, comp: str, read_bytes: float,
              write_bytes: float) -> None:
    """Charge memory ``comp`` for ``read_bytes`` read and ``write_bytes`` written, in
    ``access_bits`` accesses: reads at ``energy`` and writes at ``write_energy`` where
    it prices them apart (the SRAM macro from SPICE), else all at ``energy``."""
    c = m.arch.component(comp)
    bits = _int(c, "access_bits")
    if "write_energy" in c.figures:
        m.charge(op, comp, read_bytes * 8 / bits)
        m.charge(op, comp, write_bytes * 8 / bits, "write_energy")
    else:
        m.charge(op, comp, (read_bytes + write_bytes) * 8 / bits)


def _memories(m: Mapping) -> None:
    for comp in ("buffer", "sm_sram"):
        need = m.demanded.pop(comp + "_bytes", 0)
        if comp not in m.arch.components or not need:
            continue
        c = m.arch.component(comp)
        n = _ceil(need, _int(c, "capacity_bytes"))
        m.demanded[comp] = n
        m.provisioned[comp] = n if c.get("count") == "mapped" else _int(c, "count")
    add = m.arch.components.get("adder")
    if add is not None and (m.provisioned.get("crossbar") or "adder_pool" in m.demanded):
        # the adders exist wherever the tiles do, used or not (their area counts)
        tiles = m.provisioned.get("crossbar", 0)
        m.provisioned["adder"] = tiles * _int(add, "per_tile", 0) + _int(add, "pool", 0)
        m.demanded["adder"] = m.demanded.pop("adder_tiles", 0) + m.demanded.pop("adder_pool", 0)
    _gaincell_arrays(m)


def _check(m: Mapping) -> None:
    """Every used component is provisioned at least as much as its peak demand."""
    short = [f"{c}: {m.provisioned.get(c, 0)} provisioned < {n} demanded"
             for c, n in m.demanded.items() if m.provisioned.get(c, 0) < n]
    if short:
        raise ProvisionError(f"{m.arch.name} on {m.workload}: " + "; ".join(short) +
                             " (weights and working sets cannot be serialized: raise the "
                             "count or set it to \"mapped\")")


ENGINES = {"crossbar": _crossbar, "acam": _acam, "adder": _adder, "sm": _sm,
           "gaincell": _gaincell}
