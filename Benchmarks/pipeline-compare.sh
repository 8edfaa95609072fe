#!/usr/bin/env bash
# Two builds of `dalston` side by side, on the same machine and in the same run: jobs/s for a
# short WAV in one process (`dalston up`, embedded broker) and as five processes on Redis, and
# the Redis commands each completed job costs (executed by Redis, and sent by the services).
#
#   Benchmarks/pipeline-compare.sh BASELINE_DALSTON CANDIDATE_DALSTON [JOBS] [ROUNDS]
#
# Build both in release first (e.g. a `git worktree` of the baseline commit, `swift build -c
# release --product dalston` in each). Rounds alternate baseline and candidate; the medians are
# reported with candidate/baseline ratios. Needs redis-server, redis-cli, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=$1 candidate=$2 jobs=${3:-20} rounds=${4:-3}
audio=Samples/hello-world.wav
work=$(mktemp -d)
redis_port=""
trap 'redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { python3 -c 'import time; print(time.monotonic())'; }

submit_all() { # PORT → job ids on stdout, one per line (each upload answers into its own file)
  rm -f "$work"/created.*
  for index in $(seq "$jobs"); do
    curl -sf -o "$work/created.$index" -F "file=@$audio" "http://127.0.0.1:$1/v1/audio/transcriptions" &
  done
  wait
  for index in $(seq "$jobs"); do
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/created.$index"
  done
}

wait_all() { # PORT IDS... ; fails unless every job completed
  local port=$1; shift
  for id in "$@"; do
    for _ in $(seq 3000); do
      status=$(curl -sf "http://127.0.0.1:$port/v1/audio/transcriptions/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' || echo unknown)
      case $status in completed) continue 2 ;; failed|cancelled) echo "job $id $status" >&2; return 1 ;; esac
      sleep 0.1
    done
    echo "job $id did not complete in 300 s (last status: $status)" >&2
    return 1
  done
}

wait_health() { for _ in $(seq 200); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.1; done; return 1; }

one_process() { # BINARY → jobs/s
  local port; port=$(free_port)
  DALSTON_PORT=$port DALSTON_DATA_DIR=$work/data-$RANDOM LOG_LEVEL=warning LOG_FORMAT=json METRICS_ENABLED=false \
    "$1" up >"$work/up.log" 2>&1 &
  local pid=$!
  wait_health "$port"
  local start; start=$(now)
  mapfile -t ids < <(submit_all "$port")
  wait_all "$port" "${ids[@]}"
  local end; end=$(now)
  kill -TERM $pid; wait $pid 2>/dev/null || true
  python3 -c "print($jobs / ($end - $start))"
}

separate_processes() { # BINARY → "jobs/s total_per_job sent_per_job"
  redis_port=$(free_port)
  redis-server --port "$redis_port" --save '' --appendonly no --daemonize yes --logfile "$work/redis.log"
  sleep 0.3
  local port; port=$(free_port)
  export REDIS_URL=redis://127.0.0.1:$redis_port/0 DALSTON_PORT=$port DALSTON_DATA_DIR=$work/data-$RANDOM LOG_LEVEL=warning LOG_FORMAT=json METRICS_ENABLED=false
  local pids=()
  "$1" gateway >"$work/gateway.log" 2>&1 & pids+=($!)
  "$1" orchestrator >"$work/orchestrator.log" 2>&1 & pids+=($!)
  for engine in audio-prepare transcribe merge; do "$1" engine $engine >"$work/$engine.log" 2>&1 & pids+=($!); done
  wait_health "$port"
  sleep 2
  redis-cli -p "$redis_port" config resetstat >/dev/null
  redis-cli -p "$redis_port" monitor >"$work/monitor.txt" & local monitor=$!
  local start; start=$(now)
  mapfile -t ids < <(submit_all "$port")
  # Done when no job is active (ZCARD, left out of the counts below, as are INFO and the
  # status polls of this script, which go through the gateway as HGETALL: counted separately).
  for _ in $(seq 6000); do
    active=$(redis-cli -p "$redis_port" zcard dalston:index:active_jobs)
    [ "$active" = 0 ] && break; sleep 0.05
  done
  local end; end=$(now)
  kill $monitor; wait $monitor 2>/dev/null || true
  local total; total=$(redis-cli -p "$redis_port" info commandstats | python3 -c '
import sys
calls = 0
for line in sys.stdin:
    if line.startswith("cmdstat_") and not line.split(":")[0][8:] in ("info", "zcard", "config", "monitor"):
        calls += int(line.split("calls=")[1].split(",")[0])
print(calls)')
  local sent; sent=$(grep -v ' lua\]' "$work/monitor.txt" | grep -vic '"zcard"\|"monitor"' || true)
  wait_all "$port" "${ids[@]}"
  kill -TERM "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  unset REDIS_URL
  python3 -c "print($jobs / ($end - $start), $total / $jobs, $sent / $jobs)"
}

declare -A up sep total sent
for round in $(seq "$rounds"); do
  for side in baseline candidate; do
    binary=${!side}
    up_rate=$(one_process "$binary")
    up[$side]+="$up_rate "
    read -r rate per_job sent_per_job < <(separate_processes "$binary")
    sep[$side]+="$rate "; total[$side]+="$per_job "; sent[$side]+="$sent_per_job "
    printf 'round %s %-9s: up %.2f jobs/s; separate %.2f jobs/s, %.1f commands/job (%.1f sent)\n' "$round" "$side" "$up_rate" "$rate" "$per_job" "$sent_per_job" >&2
  done
done

median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' $1; }
echo "Pipeline, $jobs jobs of $audio submitted at once, median of $rounds alternating rounds"
printf '%-44s %12s %12s %8s\n' "" baseline candidate ratio
for row in "one process (dalston up), jobs/s:up" "separate processes on Redis, jobs/s:sep" "Redis commands per job (executed):total" "Redis commands per job (sent, round trips):sent"; do
  label=${row%%:*}; name=${row##*:}
  declare -n values=$name
  b=$(median "${values[baseline]}"); c=$(median "${values[candidate]}")
  printf '%-44s %12.2f %12.2f %8.2f\n' "$label" "$b" "$c" "$(python3 -c "print($c / $b)")"
done
