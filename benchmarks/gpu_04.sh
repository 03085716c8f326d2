#!/usr/bin/env bash
# 04_translation on a GPU machine that has JAX (TensorFlow is not needed): the device, the grader's training item
# on the reference Transformer, the gpu profile's BLEU curve on more seeds, the broken variants, and the step time
# of the from-scratch Transformer against keras.layers.MultiHeadAttention. Each part has its own time limit and
# writes its log under $OUT (default /tmp/gpu_04), so one that fails or runs out of time does not lose the others.
#
#     OUT=folder bash benchmarks/gpu_04.sh [python]          # TINY=1: a minutes-long smoke run of the same path
set -u -o pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
OUT=${OUT:-/tmp/gpu_04}
mkdir -p "$OUT"
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3
# the same layers compile to the same programs on every seed: later runs reuse the first run's compilations
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-/tmp/gpu_04_jax_cache}
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0
SET=() STEPS=60
if [ "${TINY:-0}" = 1 ]; then SET=(--set epochs=1 --set max_words=5 --set eval_n=20 --set eval_max_words=6); STEPS=10; fi

part() {  # part NAME SECONDS ARGS...: one logged, time-limited run
  local name=$1 limit=$2; shift 2
  echo "== $name (limit ${limit} s)"
  local start=$SECONDS
  timeout "$limit" "$PY" "$@" 2>&1 | grep -v -e '^I0000' -e '^WARNING: All log messages' | tee "$OUT/$name.txt"
  echo "== $name: exit ${PIPESTATUS[0]} after $((SECONDS - start)) s"
}

{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  "$PY" -c "import jax, keras, numpy; print('jax', jax.__version__, 'keras', keras.__version__, 'numpy', numpy.__version__, jax.devices())"
} 2>&1 | tee "$OUT/device.txt"
[ "${TINY:-0}" = 1 ] || part item "${ITEM_S:-150}" benchmarks/translation_item.py --variants ref
part curve "${CURVE_S:-150}" benchmarks/translation_training.py --profile gpu --variants ref --seeds 1,2 --curve "${SET[@]}"
part speed "${SPEED_S:-90}" benchmarks/translation_speed.py --profile gpu --steps "$STEPS"
part variants "${VARIANTS_S:-150}" benchmarks/translation_training.py --profile gpu "${SET[@]}" \
  --variants causal_leak,no_cross_attention,no_scaling,pre_norm --seeds 1
