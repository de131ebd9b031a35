#!/usr/bin/env python3
"""The torch accuracy path on any device (``--device cuda`` on a GPU), unchanged code.

* ``minilm``: the unconverted all-MiniLM-L6-v2 (FP32 reference) and, per chip seed, the
  model converted to ``--arch`` (:func:`imcspice.accelerators.convert`, calibrated on
  ``--calib`` texts of ``minilm_calib.txt``), over ``--sentences`` texts of
  ``minilm_eval.txt`` (the evaluation protocol's subsets): cosine per text vs FP32,
  mean ± std over seeds, and the wall time of one converted pass against the FP32 pass.
* ``gaincell``: held-out perplexity of the unconverted byte-level GPT-2 and of the
  shipped fine-tuned gain-cell model (``--chunks`` chunks of 1024 bytes).

Run the same command with ``--device cpu`` and ``--device cuda`` to check that the
figures agree (they differ by float32 summation order only). Last line JSON.
Run: ``python benchmarks/device_accuracy.py --device cuda --arch race-it --seeds 5``
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from imcspice import jsonio


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def minilm(args) -> dict:
    from imcspice.accelerators import torch_minilm as tm
    from imcspice.accelerators.accuracy import _subset, load_texts
    from imcspice.accelerators.minilm import MiniLMTokenizer
    tok = MiniLMTokenizer.load()
    texts = _subset(load_texts("eval"), args.sentences)
    calib = _subset(load_texts("calib"), args.calib)
    model = tm.load_hf_minilm(args.device)
    inputs = tm.batches(tok, texts, device=args.device)
    _sync(args.device)
    t = time.perf_counter()
    ref = tm.embed(model, inputs)
    _sync(args.device)
    t_fp32 = time.perf_counter() - t
    ref = ref.cpu().numpy()
    per_seed, t_hw = [], []
    for seed in range(args.seed_start, args.seed_start + args.seeds):
        t = time.perf_counter()
        emb = tm.converted_embeddings(model, args.arch, texts, calib, tok, seed=seed,
                                      device=args.device)
        _sync(args.device)
        t_hw.append(time.perf_counter() - t)
        cos = np.sum(ref * emb, 1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(emb, axis=1))
        per_seed.append(float(cos.mean()))
        print(f"[device_accuracy] {args.arch} seed {seed}: cosine {per_seed[-1]:.4f} "
              f"({t_hw[-1]:.1f} s incl. programming + calibration)", flush=True)
    return {"arch": args.arch, "sentences": args.sentences, "calibration": args.calib,
            "cosine_seeds": per_seed, "cosine_mean": float(np.mean(per_seed)),
            "cosine_std": float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0,
            "fp32_pass_s": t_fp32, "converted_chip_s": t_hw}


def gaincell(args) -> dict:
    from imcspice.accelerators import causal_lm as clm
    from imcspice.accelerators.finetune import FinetuneSettings, load_finetuned, perplexity
    s = FinetuneSettings(eval_tokens=args.chunks * 1024 + 1, device=args.device)
    held = clm.corpus_tokens("heldout").to(args.device)
    base, _ = clm.load_gpt2()
    hw_model, summ = load_finetuned()
    out = {}
    for name, m in (("fp32", base), ("fine_tuned", hw_model)):
        m.to(args.device)
        t = time.perf_counter()
        out[name] = perplexity(m, held, s)
        _sync(args.device)
        out[f"{name}_s"] = time.perf_counter() - t
    out["recorded_fine_tuned_4_chunks"] = summ["perplexity"]["fine_tuned"]
    return {"arch": "gaincell", "chunks": args.chunks, "perplexity": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--arch", default="race-it", help="race-it | hetrax | gaincell")
    ap.add_argument("--sentences", type=int, default=4)
    ap.add_argument("--calib", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--seed-start", type=int, default=0, help="first chip seed")
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    res = gaincell(args) if args.arch == "gaincell" else minilm(args)
    res.update(device=args.device, torch=torch.__version__,
               gpu=torch.cuda.get_device_name() if args.device.startswith("cuda") else None)
    print(jsonio.dumps(res))


if __name__ == "__main__":
    main()
