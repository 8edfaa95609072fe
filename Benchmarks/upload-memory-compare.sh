#!/usr/bin/env bash
# Two builds of `dalston` side by side: the gateway's resident memory while N uploads of one
# large WAV arrive at once, and the time to answer a POST while Redis is down.
#
#   Benchmarks/upload-memory-compare.sh BASELINE_DALSTON CANDIDATE_DALSTON [MEGABYTES] [COUNTS]
#
# Each (build, N) runs on a fresh `dalston gateway` against a fresh redis-server (no engines, so
# only the gateway's memory is measured). Memory is the kernel's peak resident size (VmHWM)
# after the uploads, less the resident size before them; per upload = growth / N. The Redis-down
# figure is the median of 20 POSTs of a small WAV to a gateway whose REDIS_URL points at a port
# nothing listens on. Needs redis-server, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=$1 candidate=$2 megabytes=${3:-50} counts=${4:-"1 4 16"}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

python3 Benchmarks/synthetic_wav.py "$work/large.wav" "$megabytes"
python3 -c '
import struct,sys
d=32000
open(sys.argv[1],"wb").write(b"RIFF"+struct.pack("<I",36+d)+b"WAVE"+b"fmt "+struct.pack("<IHHIIHH",16,1,1,16000,32000,2,16)+b"data"+struct.pack("<I",d)+bytes(d))' "$work/small.wav"

start_gateway() { # BINARY REDIS_URL → sets gateway_pid, gateway_port
  gateway_port=$(free_port)
  REDIS_URL=$2 DALSTON_PORT=$gateway_port DALSTON_DATA_DIR="$work/data" LOG_LEVEL=error METRICS_ENABLED=false \
    DALSTON_MAX_CONCURRENT_UPLOADS=64 "$1" gateway >"$work/gateway.log" 2>&1 &
  gateway_pid=$!
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$gateway_port/health" >/dev/null 2>&1 && return; sleep 0.05; done
  echo "the gateway did not start: $(tail -3 "$work/gateway.log")" >&2; exit 1
}

now() { python3 -c 'import time; print(time.monotonic())'; }

kib() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }

measure_memory() { # BINARY N → "growth_mib per_upload_mib seconds"
  local redis_port; redis_port=$(free_port)
  redis-server --port "$redis_port" --save "" --appendonly no --daemonize no >/dev/null 2>&1 &
  local redis_pid=$!
  sleep 0.3
  start_gateway "$1" "redis://127.0.0.1:$redis_port"
  curl -sf -o /dev/null -F "file=@$work/small.wav" "http://127.0.0.1:$gateway_port/v1/audio/transcriptions"  # warm-up
  local before; before=$(kib "$gateway_pid" VmRSS)
  local started; started=$(now)
  local uploads=()
  for _ in $(seq "$2"); do
    curl -s -o /dev/null -F "file=@$work/large.wav" "http://127.0.0.1:$gateway_port/v1/audio/transcriptions" &
    uploads+=($!)
  done
  wait "${uploads[@]}"
  local elapsed; elapsed=$(python3 -c "import time; print(time.monotonic() - $started)")
  local peak; peak=$(kib "$gateway_pid" VmHWM)
  kill "$gateway_pid" "$redis_pid"; wait "$gateway_pid" "$redis_pid" 2>/dev/null || true
  rm -rf "$work/data"
  python3 -c "import sys; g=($peak-$before)/1024; print(f'{g:.1f} {g/$2:.1f} {float(sys.argv[1]):.2f}')" "$elapsed"
}

redis_down_median() { # BINARY → median milliseconds
  start_gateway "$1" "redis://127.0.0.1:$(free_port)"
  local times=()
  for _ in $(seq 20); do
    times+=("$(curl -s -o /dev/null -w '%{time_total}' -F "file=@$work/small.wav" "http://127.0.0.1:$gateway_port/v1/audio/transcriptions")")
  done
  kill "$gateway_pid"; wait "$gateway_pid" 2>/dev/null || true
  printf '%s\n' "${times[@]}" | python3 -c 'import sys,statistics; print(f"{statistics.median(float(l) for l in sys.stdin)*1000:.0f}")'
}

echo "Gateway memory while N uploads of $megabytes MB arrive at once (peak RSS growth, MiB)"
printf '%-4s %24s %24s %8s\n' N "baseline total/per-upload" "candidate total/per-upload" ratio
for n in $counts; do
  read -r b_total b_each b_time <<<"$(measure_memory "$baseline" "$n")"
  read -r c_total c_each c_time <<<"$(measure_memory "$candidate" "$n")"
  ratio=$(python3 -c "print(f'{$c_total/max($b_total,0.1):.3f}')")
  printf '%-4s %16s / %-7s %16s / %-7s %8s   (%ss vs %ss)\n' "$n" "$b_total" "$b_each" "$c_total" "$c_each" "$ratio" "$b_time" "$c_time"
done

echo
echo "POST while Redis is down (median of 20, ms)"
b=$(redis_down_median "$baseline"); c=$(redis_down_median "$candidate")
echo "baseline ${b} ms, candidate ${c} ms, ratio $(python3 -c "print(f'{$c/max($b,1):.4f}')")"
