#!/usr/bin/env bash
# Live transcription side by side in one run, on the same machine, clips and model: Dalston's
# Whisper tiny.en and PocketSphinx sessions at 1, 2 and 4 at once, and WhisperLive 0.10.0 with the
# same tiny.en weights (CTranslate2, CPU), each streaming the evaluation clips at real time
# (Benchmarks/realtime_bench.py: first-partial latency after speech onset, each final's latency
# after its audio was sent, p50/p95, WER).
#
#   Benchmarks/realtime-compare.sh DALSTON_BINARY [WHISPERLIVE_PYTHON] [LEVELS]
#
# WHISPERLIVE_PYTHON: a Python with `whisper-live==0.10.0` (installed --no-deps, plus torch and
# faster-whisper; see Benchmarks/README.md); omitted, only Dalston is measured. LEVELS: "1 2 4".
# Dalston runs as `dalston up` with its defaults and DALSTON_REALTIME_MAX_SESSIONS set to the
# largest level (the default, 2, refuses a third session rather than letting it lag).
# BENCH_CLIPS: clip paths relative to the manifest's folder (default: all 13).
set -euo pipefail
cd "$(dirname "$0")/.."
dalston=$1 wl_python=${2:-} levels=${3:-"1 2 4"}
python=${BENCH_PYTHON:-.venv/bin/python}
model_dir=${DALSTON_MODELS_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/dalston/models}/faster-whisper-tiny.en
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
clips=()
[[ -n ${BENCH_CLIPS:-} ]] && read -r -a clips <<<"--clips $BENCH_CLIPS"
max_level=$(tr ' ' '\n' <<<"$levels" | sort -n | tail -1)

port=$(free_port)
DALSTON_PORT=$port DALSTON_DATA_DIR=$work/data DALSTON_REALTIME_MAX_SESSIONS=$max_level DALSTON_PYTHON=${DALSTON_PYTHON:-$PWD/.venv/bin/python} \
  "$dalston" up >"$work/dalston.log" 2>&1 &
for _ in $(seq 120); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.5; done
for model in faster-whisper-tiny.en pocketsphinx-en-us; do
  for level in $levels; do
    echo "== dalston $model, $level at once"
    "$python" Benchmarks/realtime_bench.py --dalston "ws://127.0.0.1:$port" --model "$model" --concurrency "$level" "${clips[@]}" \
      --json "$work/dalston-$model-$level.json" | tail -12
  done
done
kill %1 && wait %1 2>/dev/null || true

if [[ -n $wl_python ]]; then
  wl_port=$(free_port)
  OMP_NUM_THREADS=1 "$wl_python" -c "from whisper_live.server import TranscriptionServer; TranscriptionServer().run('127.0.0.1', $wl_port, backend='faster_whisper', faster_whisper_custom_model_path='$model_dir', single_model=True, max_clients=$max_level, max_connection_time=600)" \
    >"$work/whisperlive.log" 2>&1 &
  for _ in $(seq 120); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $wl_port), 1)" 2>/dev/null && break; sleep 0.5; done
  for level in $levels; do
    echo "== whisperlive tiny.en, $level at once"
    "$wl_python" Benchmarks/realtime_bench.py --whisperlive "ws://127.0.0.1:$wl_port" --concurrency "$level" "${clips[@]}" \
      --json "$work/whisperlive-$level.json" | tail -12
  done
fi
mkdir -p "${BENCH_OUT:-/tmp/realtime-compare}" && cp "$work"/*.json "${BENCH_OUT:-/tmp/realtime-compare}/"
echo "JSON in ${BENCH_OUT:-/tmp/realtime-compare}"
