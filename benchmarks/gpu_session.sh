#!/usr/bin/env bash
# The GPU measurements of one device call (an H200 lent through the workplace's device
# tool), sized to end by T_END s (default 520: one call of < 9 min). docs/gpu.md ("How
# to run") says what to prepare, what comes back and why these jobs.
#  1. alone first (latency and energy need an otherwise idle GPU): the GPU baseline of
#     our workloads (gpu_measure.py: latency + NVML energy; 71 s on 2026-11-30);
#  2. then together: the torch accuracy path on CUDA (device_accuracy.py: the shipped
#     gain-cell model on 4 held-out chunks, RACE-IT on the QUICK protocol, seeds 0-1) and
#     stage 1 of gain-cell fine-tuning alone (accelerators/finetune_ablation.py) from the
#     range-calibrated stage 0 at lr 3e-4, pair lr 1e-3, batch 2 x 1024: the hardware,
#     float and no-attention forms for STEPS_A steps (STEPS_B > 0: also the float form,
#     a 2x cheaper proxy, and no attention for STEPS_B), each scored (held-out
#     perplexity and attention zeroed) every EVAL steps into its JSON as it goes, so a
#     run cut at T_END still leaves its curve;
#  3. beside them, stage 3 continued from the shipped gain-cell weights (the route that
#     moved the shipped figure on the CPU: docs/gaincell_finetune.md), sized by the
#     clock (imcspice finetune --max-minutes: its cosine anneals by time and it ends
#     S3_TAIL s before T_END, leaving time for its 16-chunk evaluation): weights to ship
#     after a CPU re-evaluation.
# Needs: the repository, .gpu/minilm (benchmarks/minilm_pack.py pack .gpu/minilm) and
# .gpu/stage0.pt (the stage-0 cache, 10 kB; built here first if missing), a python3 with
# torch (CUDA), transformers, safetensors, tokenizers, h5py, scipy, nvidia-ml-py.
# Results: $OUT (default ./gpu-out)/results.tar (JSONs, logs, summary.txt, the hardware
# run's trained state); the summary is also printed last.
# SMOKE=1 DEV=cpu: tiny runs of every job, one after another (checks the script, not
# the figures).
set -u
OUT=${OUT:-$PWD/gpu-out}; DEV=${DEV:-cuda}; SMOKE=${SMOKE:-0}; SERIAL=${SERIAL:-$SMOKE}
T_END=${T_END:-520}; T_MEASURE=${T_MEASURE:-120}; S3_TAIL=${S3_TAIL:-60}
S3_SEED=${S3_SEED:-8}   # a seed no run of the shipped weights used (their record names them)
ROOT=$PWD; SITE=/tmp/imcspice-site; R=$OUT/results; L=$OUT/results/logs
STAGE0=${STAGE0:-$ROOT/.gpu/stage0.pt}
if [ "$SMOKE" = 1 ]; then
  STEPS_A=${STEPS_A:-4}; STEPS_B=${STEPS_B:-6}; EVAL=${EVAL:-2}; CHUNKS=1
  RACE=(--sentences 2 --calib 2 --seeds 1); S3_STEPS=4; S3_CHUNKS=1
else
  STEPS_A=${STEPS_A:-2000}; STEPS_B=${STEPS_B:-0}; EVAL=${EVAL:-250}; CHUNKS=4
  RACE=(--sentences 4 --calib 4 --seeds 2)   # the QUICK protocol of docs/gpu.md's table
  S3_STEPS=1000000; S3_CHUNKS=16             # stage 3: steps bounded by the clock alone
fi
mkdir -p "$L"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1
export IMCSPICE_CACHE=/tmp/imcspice-cache
# the import package imcspice is assembled from the top-level folders (pyproject.toml)
rm -rf "$SITE"; mkdir -p "$SITE/imcspice"
cp -r imcspice/. "$SITE/imcspice/"
for d in circuits netlists characterize models accelerators; do ln -s "$ROOT/$d" "$SITE/imcspice/$d"; done
PY=${PY:-python3}
$PY benchmarks/minilm_pack.py unpack .gpu/minilm "$SITE" > "$L/setup.log" 2>&1
export PYTHONPATH=$SITE
cd /tmp   # so that the checkout's own imcspice/ folder does not shadow the assembled package
{ nvidia-smi; $PY -c "import torch, transformers; print(torch.__version__, transformers.__version__, torch.cuda.is_available())"; } >> "$L/setup.log" 2>&1
# job NAME LIMIT_S CMD...: CMD with its output in logs/NAME.log, killed after LIMIT_S or
# at T_END, whichever is first; in the background unless SERIAL=1
job() {
  local name=$1 limit=$2; shift 2
  local left=$((T_END - SECONDS)); [ "$limit" -lt "$left" ] && left=$limit
  if [ "$left" -lt 5 ]; then echo "skipped: T_END reached" > "$L/$name.log"; return; fi
  if [ "$SERIAL" = 1 ]; then
    timeout "$left" "$@" > "$L/$name.log" 2>&1; echo "exit $?" >> "$L/$name.log"
  else
    ( timeout "$left" "$@" > "$L/$name.log" 2>&1; echo "exit $?" >> "$L/$name.log" ) &
  fi
}
echo "[gpu_session $SECONDS s] GPU baseline (alone)"
( export OUT=$R GPU_MEASURE_BUDGET_S=$((T_MEASURE - 20)); job gpu_measure "$T_MEASURE" \
    $PY "$ROOT/benchmarks/gpu_measure.py"; wait )
FA=($PY -m imcspice.accelerators.finetune_ablation --device "$DEV" --chunks "$CHUNKS"
    --eval-every "$EVAL" --lr 3e-4 --pair-lr 1e-3 --warmup 20 --distill 1.0 --seed 0)
if [ ! -f "$STAGE0" ]; then   # not carried: built here (the same code as on the CPU)
  echo "[gpu_session $SECONDS s] stage 0 (no cache carried)"
  STAGE0=/tmp/imcspice-stage0.pt
  ( job stage0 "$T_END" "${FA[@]}" --variant hardware --steps 0 --stage0 "$STAGE0" \
      --out "$R/stage0.json"; wait )
fi
echo "[gpu_session $SECONDS s] accuracy path, stage-1 runs and stage 3 continued (together)"
S3_MIN=$(awk -v l=$((T_END - SECONDS - S3_TAIL)) 'BEGIN { m = l / 60; if (m < 0.1) m = 0.1; printf "%.2f", m }')
job stage3 "$T_END" $PY -m imcspice.cli finetune --arch gaincell --device "$DEV" \
    --resume "$ROOT/accelerators/data/causal_lm_gaincell.safetensors" --threads 1 \
    --batch 2 --warmup 200 --distill 1.0 --lr 1e-4 --pair-lr 3e-4 --val-every 50 \
    --average-decay 0.998 \
    --steps-nonlinear "$S3_STEPS" --max-minutes "$S3_MIN" --eval-chunks "$S3_CHUNKS" \
    --seed "$S3_SEED" --out "$R/stage3"
job acc_gaincell "$T_END" $PY "$ROOT/benchmarks/device_accuracy.py" --device "$DEV" \
    --arch gaincell --chunks "$CHUNKS"
job acc_raceit_quick "$T_END" $PY "$ROOT/benchmarks/device_accuracy.py" --device "$DEV" \
    --arch race-it "${RACE[@]}"
job hardware_$STEPS_A "$T_END" "${FA[@]}" --variant hardware --steps "$STEPS_A" \
    --stage0 "$STAGE0" --out "$R/hardware_$STEPS_A.json" --save-state "$R/hardware_$STEPS_A.pt"
for v in float none; do
  job ${v}_$STEPS_A "$T_END" "${FA[@]}" --variant $v --steps "$STEPS_A" --stage0 "$STAGE0" \
      --out "$R/${v}_$STEPS_A.json"
done
for v in float none; do
  [ "$STEPS_B" -gt 0 ] || break
  job ${v}_$STEPS_B "$T_END" "${FA[@]}" --variant $v --steps "$STEPS_B" --stage0 "$STAGE0" \
      --out "$R/${v}_$STEPS_B.json"
done
wait
echo "[gpu_session $SECONDS s] done"
# the curves side by side: gain = ln(ppl without attention) - ln(ppl), nats, same steps
$PY - "$R" "$STEPS_A" "$STEPS_B" > "$R/summary.txt" 2>&1 <<'EOF'
import json, math, sys
from pathlib import Path
r = Path(sys.argv[1])
for n in sys.argv[2:]:
    runs = {v: json.loads(f.read_text()) for v in ("hardware", "float", "none")
            if (f := r / f"{v}_{n}.json").exists()}
    if not runs:
        continue
    print(f"{n}-step runs (" + ", ".join(f"{v}: {'complete' if d['complete'] else 'CUT'}"
                                         for v, d in runs.items()) + ")")
    by = {v: {row["steps"]: row for row in d["rows"]} for v, d in runs.items()}
    forms = [v for v in ("hardware", "float") if v in by]
    print("steps " + " ".join(f"{v:>8} {'zeroed':>7} {'gain':>6}" for v in forms)
          + f" {'none':>7} {'wall_s':>7}")
    for k in sorted(set().union(*by.values())):
        line, none = f"{k:5d} ", by.get("none", {}).get(k)
        for v in forms:
            row = by[v].get(k)
            gain = (math.log(none["perplexity"] / row["perplexity"]) if row and none else None)
            line += (f"{row['perplexity']:8.3f} {row['attention_zeroed']:7.3f} " if row
                     else f"{'-':>8} {'-':>7} ")
            line += f"{gain:6.3f} " if gain is not None else f"{'-':>6} "
        line += f"{none['perplexity']:7.3f} " if none else f"{'-':>7} "
        walls = [by[v][k]["wall_s"] for v in by if k in by[v]]
        print(line + f"{max(walls):7.0f}")
s3 = r / "stage3" / "finetune.json"
if s3.exists():
    d = json.loads(s3.read_text())
    p, val = d["perplexity"], d.get("validation_stage3") or []
    best = min(val, key=lambda kv: kv[1]) if val else None
    print(f"stage 3 continued: {d['steps_done']['stage3']} steps in "
          f"{d['seconds']['stage3_s']:.0f} s ({d['tokens_per_s']['stage3']:.0f} tokens/s); "
          f"held-out {p['resumed_from']:.3f} -> {p['fine_tuned']:.3f} "
          f"({p['fine_tuned'] / p['fp32']:.3f}x FP32 {p['fp32']:.3f}), attention zeroed "
          f"{p['attention_zeroed']:.3f}; best calibration-batch loss {best}")
else:
    print("stage 3 continued: no record (see logs/stage3.log)")
EOF
tail -n 3 "$L"/*.log
cat "$R/summary.txt"
tar -C "$OUT" -cf "$OUT/results.tar" results && rm -rf "$R"
ls -la "$OUT"
