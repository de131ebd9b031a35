"""Inference form of a bit-serial crossbar read into Compute-ACAM converters.

The same machine as :meth:`.torch_analog.TorchCrossbarLinear._hardware` (each binary
input plane's column sums of each row tile converted separately, codes shift-added),
computed with less arithmetic; only the float32 summation order differs:

* the converter's fine-bin index ``(p / range - lo) * inv_bin`` comes out of the matrix
  product itself: the per-(tile, column) factor ``inv_bin / range`` is folded into the
  weights and the offset is the product's bias (``addmm``), so no pass over the
  (planes x rows x columns) partial sums is spent on scaling;
* sign extension: in an ``in_bits`` two's-complement code the high bit planes equal the
  sign plane wherever ``|code| < 2^b``. Activations are small against the matrix's
  DAC full scale (MiniLM: planes 4-6 differ from the sign plane in 0.1-10 % of the
  inputs), so such a plane's column sums are the sign plane's plus a sparse correction
  ``(B_b - B_sign) @ W`` (one ``embedding_bag`` over the differing rows), instead of a
  dense product. A plane whose difference is denser than ``SPARSE_MAX`` stays dense;
* the partial sums lie (column, plane, row): the gathers of the columns that share a
  converter read its 64 KiB fine-bin table while it is cached (in a (plane, row,
  column) layout each row swept a tile's 24-96 converter tables: a last-level-cache
  miss per gather on MiniLM's wide matrices).

Where the time goes (MiniLM, 64 sentences, 1 thread, torch profiler, 2026-12-01): the
dense plane products (``addmm``, K = 128 multiply-adds per converted value) ~30 %, the
level gathers ~18 %, the sparse planes' corrections and their adds ~20 %, the
remaining passes (clip, float -> int, converter offset, shift-add) ~15 %.

With :func:`use_compile` each tile's conversion (index, clip, lookup, shift-add) is one
``torch.compile``d pass instead of five eager ones (off by default: the compile takes
minutes on a loaded 2-core machine; measured on MiniLM it saved ~4 % there, the
attention's product lookups ~60 %).

Exact arithmetic gives the same codes as the reference path; float32 moves a fine-bin
index by at most ``gamma_(K+3) * (|offset| + 2 sum_i |w_i| s)`` (K rows of a tile, s the
column's inv_bin / range; the sparse form's two sums count a row at most twice), so
a code can differ from exact arithmetic only for an input within that distance of a
code edge, in this form and in the reference one alike (tests/test_torch_bitserial.py
checks both against float64).
"""
from __future__ import annotations

import os
import warnings

import torch
import torch.nn.functional as F

from .analog import tia_parts

#: a high plane is computed as sign plane + sparse correction while the fraction of its
#: inputs that differ from the sign plane stays below this (an ``embedding_bag`` row
#: costs about 4 multiply-adds of a dense product per element: measured 2026-11-30)
SPARSE_MAX = 0.15
#: partial sums converted per block of rows and columns, in floats (4 MiB: within a
#: core's share of the last-level cache)
BLOCK_FLOATS = 1 << 20
#: rows per block (the columns per block follow from BLOCK_FLOATS)
ROW_BLOCK = 512


def bitserial_acam(weights: torch.Tensor, bits: torch.Tensor, w_eff: torch.Tensor,
                   ranges: torch.Tensor, rows: int, q, noise=None,
                   signed: bool = False, planes_m: torch.Tensor | None = None
                   ) -> torch.Tensor:
    """Converted, shift-added output (N, out) of a bit-serial read.

    ``weights`` (P,) plane weights (MSB last, negative); ``bits`` (P, N, in) binary
    drives as integers (0 / 1); ``w_eff`` (out, in) effective weights (float); ``ranges``
    (tiles, out) converter ranges; ``rows`` rows per tile; ``q`` the converters
    (range [-1, 1]): one :class:`.torch_quant.AcamLookup` for all columns, or a
    :class:`.torch_quant.BankLookup` (each tile's own); ``noise``: None, or (``var``
    (in, out) per-read variance of each cell in weight units squared or None, a CPU
    ``torch.Generator``, optionally ``col_sigma`` (tiles, out): the rms the bit-line TIAs
    add to every read, in the column sums' units, and ``col_sigma_lf`` (tiles, out) or
    None: its part below 1 MHz, and optionally ``lf_mix`` (P, K) numpy, default a column of
    ones): each plane's read of each tile adds
    N(0, sum_i b_i var_i + col_sigma^2 - col_sigma_lf^2) to its column sums before
    conversion, and plane b of a row's read col_sigma_lf sum_k lf_mix[b, k] z_k (K draws
    per row and column; one draw shared by every plane by default), as the reference
    form does (other draws, the same distribution). ``signed``: sign-magnitude
    planes (``bits`` -1 / 0 / +1, no sign plane; a sparse plane is its nonzero rows' sum,
    its variance sum_i |b_i| var_i). ``planes_m`` (P, N, tiles) or None: the plane
    schedule's multipliers (:mod:`.plane_schedule`; ``bits`` already carry the
    polarities): each plane's code of a tile times its multiplier, 0 for a skipped read.
    No gradient (the caller adds the straight-through term)."""
    P, N, n_in = bits.shape
    dt, dev = w_eff.dtype, w_eff.device
    T = ranges.shape[0]
    tile_of = torch.arange(n_in, device=dev) // rows
    # (out, in): each weight times its row's tile's inv_bin / range for its column
    w_sT = (w_eff * (q.inv_bin / ranges.to(dt)).T[:, tile_of]).contiguous()
    offset = torch.full((1,), -q.lo * q.inv_bin, dtype=dt, device=dev)
    # a sparse plane is its base plane (two's complement: the sign plane; sign-magnitude:
    # zero) plus the rows where it differs from it
    sign = None if signed else bits[P - 1]
    sparse = []                 # (plane, its inputs that differ from its base)
    for b in range(P - 1 if signed else P - 2, -1, -1):   # high planes first: sparsest
        diff = bits[b] != 0 if signed else bits[b] != sign
        if int(torch.count_nonzero(diff)) > SPARSE_MAX * diff.numel():
            break
        sparse.append((b, diff))
    dense = list(range(P - len(sparse))) if signed else \
        [b for b in range(P - len(sparse) - 1)] + [P - 1]
    order = dense + [b for b, _ in sparse]
    wts = weights.to(dt)[order]
    nd = len(dense)
    xd = bits[dense].to(dt)                                  # (nd, N, in)
    corr = None
    if sparse:   # (B_b - base) @ w_sT.T per (plane, row, tile): the differing rows' sum
        nz = torch.stack([d for _, d in sparse]).nonzero()   # row-major: bags in order
        bag = (nz[:, 0] * N + nz[:, 1]) * T + nz[:, 2] // rows
        counts = torch.bincount(bag, minlength=len(sparse) * N * T)
        offsets = torch.cumsum(counts, 0) - counts
        if signed:                  # the drive itself, -1 or +1
            planes = torch.tensor([b for b, _ in sparse], device=bits.device)
            sgn = bits[planes[nz[:, 0]], nz[:, 1], nz[:, 2]].to(dt)
        else:                       # B_b - B_sign = 1 - 2 B_sign where they differ
            sgn = 1.0 - 2.0 * sign[nz[:, 1], nz[:, 2]].to(dt)
        corr = F.embedding_bag(nz[:, 2], w_sT.T.contiguous(), offsets, mode="sum",
                               per_sample_weights=sgn)
        corr = corr.view(len(sparse), N, T, -1)
    v_sT = vcorr = c_s = c_lf = None
    if noise is not None:   # each cell's read variance in fine bins squared, (out, in);
        # a plane's variance is sum_i b_i^2 var_i: binary drives' sparse planes the sign
        # plane's plus the differing rows' (B_b - B_sign) var_i, signed ones |b_i| var_i
        var, gen = noise[0], noise[1]
        col_sigma = noise[2] if len(noise) > 2 else None
        col_lf = noise[3] if len(noise) > 3 and col_sigma is not None else None
        mix = torch.ones((P, 1), dtype=dt, device=dev) if len(noise) < 5 else \
            torch.as_tensor(noise[4], dtype=dt, device=dev)[order]     # plane order
        if var is not None:
            v_sT = (var.T.to(dt) * ((q.inv_bin / ranges.to(dt)).T[:, tile_of]) ** 2
                    ).contiguous()
            vcorr = None if not sparse else F.embedding_bag(
                nz[:, 2], v_sT.T.contiguous(), offsets, mode="sum",
                per_sample_weights=sgn.abs() if signed else sgn).view(len(sparse), N, T, -1)
        if col_sigma is not None:       # the TIAs' noise in fine bins squared, (tiles, out)
            hf, lf = tia_parts(col_sigma.to(dt), None if col_lf is None else col_lf.to(dt))
            c_s = (hf * q.inv_bin / ranges.to(dt)) ** 2
            c_lf = None if lf is None else lf * q.inv_bin / ranges.to(dt)   # fine bins
    n_bins = q.n_bins
    bank = not hasattr(q, "_table")      # per-tile converters (.torch_quant.BankLookup)
    table = q.level_table(dt)            # stored level per (converter,) fine bin
    out = w_sT.shape[0]
    # (the compiled pass has no plane multipliers: a schedule runs eagerly)
    fused = None if (bank or planes_m is not None) else compiled(_convert)
    pm = None if planes_m is None else planes_m.to(dt)[order]
    # Layout (column, plane, row): a column's P x rows indices lie together, so the
    # gathers of the columns that share a converter (contiguous columns, time-
    # multiplexed) read that converter's 64 KiB table while it is in cache. In the
    # (plane, row, column) layout every row swept all of a tile's converters (96 x
    # 64 KiB for a 1536-column matrix): a last-level-cache miss per gather. Blocks of
    # up to ROW_BLOCK rows x a chunk of columns whose partial sums (P x cols x rows)
    # stay in cache through the passes (clip, index, gather, shift-add: memory-bound);
    # many rows per block, so that each converter's table, once fetched, serves many
    # gathers (measured on MiniLM's 1536-column matrix: 85 rows per block, 3.4 ns a
    # gather; 512 rows, ~1 ns).
    nb = min(N, ROW_BLOCK)
    cw = max(16, BLOCK_FLOATS // (P * nb))
    buf_f = torch.empty(P * min(cw, out) * nb, dtype=dt, device=dev)
    buf_i = torch.empty_like(buf_f, dtype=torch.int32)
    buf_l = torch.empty_like(buf_f)
    buf_v = torch.empty_like(buf_f) if noise is not None else None
    yT = torch.empty(out, N, dtype=dt, device=dev)
    for n0 in range(0, N, nb):
        m = min(N, n0 + nb) - n0
        # (in, nd x m): the inputs of each row, plane-major, as the product's operand
        xb = xd[:, n0:n0 + m].permute(2, 0, 1).reshape(n_in, nd * m)
        xv = xb.abs() if (signed and noise is not None) else xb     # b_i^2
        for c0 in range(0, out, cw):
            c1 = min(out, c0 + cw)
            nc = c1 - c0
            buf = buf_f[:P * nc * m].view(nc, P, m)
            yb = yT[c0:c1, n0:n0 + m]
            for t in range(T):
                sl = slice(t * rows, (t + 1) * rows)
                r = ranges[t, c0:c1].to(dt)
                # fine-bin index of the dense planes: (cols, K) @ (K, nd x m)
                torch.addmm(offset, w_sT[c0:c1, sl], xb[sl],
                            out=buf[:, :nd].view(nc, nd * m))
                for j in range(len(sparse)):      # base plane + its sparse correction
                    torch.add(offset if signed else buf[:, nd - 1],
                              corr[j, n0:n0 + m, t, c0:c1].T, out=buf[:, nd + j])
                if noise is not None:               # this tile's read noise, per plane
                    vb = buf_v[:P * nc * m].view(nc, P, m)
                    if v_sT is None:
                        vb.zero_()
                    else:
                        torch.mm(v_sT[c0:c1, sl], xv[sl], out=vb[:, :nd].view(nc, nd * m))
                    for j in range(len(sparse) if v_sT is not None else 0):
                        if signed:
                            vb[:, nd + j] = vcorr[j, n0:n0 + m, t, c0:c1].T
                        else:
                            torch.add(vb[:, nd - 1], vcorr[j, n0:n0 + m, t, c0:c1].T,
                                      out=vb[:, nd + j])
                    if c_s is not None:
                        vb.add_(c_s[t, c0:c1].view(nc, 1, 1))
                    z = torch.randn(buf.shape, generator=gen, dtype=dt).to(dev)
                    buf.addcmul_(vb.clamp_(min=0.0).sqrt_(), z)
                    if c_lf is not None:    # below 1 MHz: K draws mixed over the planes
                        z1 = torch.randn((nc, mix.shape[1], m), generator=gen,
                                         dtype=dt).to(dev)
                        buf.addcmul_(c_lf[t, c0:c1].view(nc, 1, 1), torch.matmul(mix, z1))
                if fused is not None:       # one fused pass: index, clip, lookup, shift-add
                    yt = fused(buf, table, wts, r, n_bins)
                else:
                    idx = buf_i[:P * nc * m].view(nc, P, m)
                    idx.copy_(buf.clamp_(0, n_bins - 1))   # fine bin (converter's clip)
                    if bank:                   # each column's converter in the tile's group
                        idx.add_(q.conv_bins[t, c0:c1].view(nc, 1, 1))
                    lev = buf_l[:P * nc * m].view(nc, P, m)
                    torch.index_select(table, 0, idx.view(-1), out=lev.view(-1))
                    if pm is not None:     # polarity undone; a skipped read's code 0
                        lev.mul_(pm[:, n0:n0 + m, t][None])
                    yt = torch.matmul(wts, lev).mul_(r[:, None])   # shift-add of the planes
                if t == 0:
                    yb.copy_(yt)
                else:
                    yb.add_(yt)
    return yT.T.contiguous()


def _convert(idx, table, wts, r, n_bins: int):
    """Converted, shift-added planes of one tile, (out, N): ``idx`` (out, P, N) fine-bin
    indices in the order of the plane weights ``wts``; one converter's ``table``."""
    lev = table[idx.clamp(0, n_bins - 1).to(torch.int64)]
    return (lev * wts[None, :, None]).sum(1) * r[:, None]


_COMPILE: dict = {"on": os.environ.get("IMCSPICE_TORCH_COMPILE", "0") == "1"}


def use_compile(on: bool = True) -> None:
    """Run the converter and lookup passes (each tile's conversion here, the attention's
    product lookups of :mod:`.torch_chip`) as ``torch.compile``d kernels (inductor: a
    C++ compiler is needed; the first call compiles, tens of seconds to minutes). Off by
    default (tests and one-off runs would pay the compile); the environment variable
    ``IMCSPICE_TORCH_COMPILE=1`` switches it on too. Same numbers as the eager form up
    to float32 summation order."""
    _COMPILE["on"] = bool(on)


def compiled(fn):
    """``fn`` compiled (dynamic shapes) while :func:`use_compile` is on, else None; a
    compiler failure warns once and falls back to ``fn`` for the rest of the run."""
    if not _COMPILE["on"]:
        return None
    got = _COMPILE.get(fn)
    if got is None:
        cfn = torch.compile(fn, dynamic=True)

        def got(*a):
            try:
                return cfn(*a)
            except Exception as e:       # no compiler, unsupported backend: eager
                warnings.warn(f"torch.compile unavailable ({type(e).__name__}: {e}); "
                              "the analog conversions run eagerly")
                _COMPILE["on"] = False
                return fn(*a)
        _COMPILE[fn] = got
    return got
