#!/usr/bin/env bash
# The GPU measurements of one device session (an H200 lent through the workplace's device
# tool): the torch accuracy path on CUDA (RACE-IT and gain cell, the same code as on the
# CPU), the overhead of the converted model on the GPU, the byte-level GPT-2 trained on
# ~10 M tokens, and gain-cell fine-tuning with as many steps as the GPU affords.
# Needs: the repository, .gpu/minilm (benchmarks/minilm_pack.py pack .gpu/minilm), a
# python3 with torch (CUDA), transformers, safetensors, tokenizers, h5py, scipy.
# Results in $OUT (default ./gpu-out): results.tar (logs, finetune.json files) and the
# trained weights. Each job has its own time limit (T_JOB s), so one slow or failing
# job leaves the others' results; the fine-tuning after the base model ends by T_END s. SMOKE=1 DEV=cpu: a tiny run of every job (checks the
# script, not the figures).
set -u
OUT=${OUT:-$PWD/gpu-out}; DEV=${DEV:-cuda}; T=${T_JOB:-420}; T_END=${T_END:-520}; SMOKE=${SMOKE:-0}
ROOT=$PWD; SITE=/tmp/imcspice-site; L=$OUT/logs
mkdir -p "$L"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=2
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
job() { local name=$1; shift; ( timeout "$T" "$@" > "$L/$name.log" 2>&1; echo "exit $?" >> "$L/$name.log" ) & }
if [ "$SMOKE" = 1 ]; then
  A=(--sentences 2 --calib 2 --seeds 1); OV=(--repeat 1); G=(--chunks 1)
  S1=(--steps-linear 1 --steps-nonlinear 1 --eval-chunks 1 --no-control); B=(--steps 2 --batch 1); S3=(--steps-nonlinear 2)
else
  A=(--sentences 256 --calib 32 --seeds 5); OV=(--repeat 2); G=(--chunks 4)
  S1=(--steps-linear 100 --steps-nonlinear 800 --eval-chunks 16 --val-every 50); B=(--steps 600 --batch 16)
  S3=(--steps-linear 200 --steps-nonlinear 3000 --val-every 200)   # ft_c: 4x the steps
fi
FT=($PY -m imcspice.cli finetune --arch gaincell --device "$DEV" --threads 2 --batch 4 --warmup 20
    --distill 1.0 --lr 1e-5 --pair-lr 1e-5 "${S1[@]}")

# 0. the converted model's overhead over FP32, timed alone (other jobs would share the GPU)
( T=${T_OVERHEAD:-120}; job overhead $PY "$ROOT/benchmarks/transformer_overhead.py" --device "$DEV" "${OV[@]}" --threads 2; wait )
# 1. the accuracy path on the device (same code as the CPU): RACE-IT on the protocol's
#    small set (compare with the CPU) and on the full one; the shipped gain-cell model
job acc_raceit_quick $PY "$ROOT/benchmarks/device_accuracy.py" --device "$DEV" --arch race-it --threads 2
job acc_raceit_full $PY "$ROOT/benchmarks/device_accuracy.py" --device "$DEV" --arch race-it "${A[@]}" --threads 2
job acc_gaincell $PY "$ROOT/benchmarks/device_accuracy.py" --device "$DEV" --arch gaincell "${G[@]}" --threads 2
# 2. gain-cell fine-tuning on the shipped base with 10x the CPU run's steps
job ft_a "${FT[@]}" --out "$OUT/ft_a"
# 3. the base model on ~10 M tokens (600 x 16 x 1024), then fine-tuning from it: as ft_a
#    (ft_b), with 4x the steps (ft_c), at 3x the rate (ft_d). The run kept is the one with
#    the lowest calibration-batch loss (training text), never chosen on held-out text.
( timeout "$T" $PY "$ROOT/accelerators/train_causal_lm.py" --device "$DEV" --threads 2 "${B[@]}" \
      --warmup 30 --out "$OUT/causal_lm_gpt2.safetensors" > "$L/base.log" 2>&1
  echo "exit $?" >> "$L/base.log"
  T=$((T_END - SECONDS))
  job ft_b "${FT[@]}" --model "$OUT/causal_lm_gpt2.safetensors" --out "$OUT/ft_b"
  job ft_c "${FT[@]}" "${S3[@]}" --model "$OUT/causal_lm_gpt2.safetensors" --out "$OUT/ft_c"
  job ft_d "${FT[@]}" --lr 3e-5 --model "$OUT/causal_lm_gpt2.safetensors" --out "$OUT/ft_d"
  wait ) &
wait
for r in a b c d; do
  mv "$OUT/ft_$r/model.safetensors" "$OUT/gaincell_$r.safetensors" 2>/dev/null
  mv "$OUT/ft_$r/finetune.json" "$L/finetune_$r.json" 2>/dev/null; rm -rf "$OUT/ft_$r"
done
tail -n 4 "$L"/*.log
tar -C "$OUT" -cf "$OUT/results.tar" logs && rm -rf "$L"
ls -la "$OUT"
