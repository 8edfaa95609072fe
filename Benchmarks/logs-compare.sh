#!/usr/bin/env bash
# `dalston logs --request-id` against jq on the same synthetic log, in one run: lines per second
# for each, their ratio, and dalston's peak memory.
#
#   Benchmarks/logs-compare.sh DALSTON [MEGABYTES]      (default 1024: a 1 GB log)
#
# The log is many services' lines for many requests, interleaved as they are in a real run;
# one request in the middle is searched for. Needs jq and python3.
set -euo pipefail
dalston=$1 megabytes=${2:-1024}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v jq >/dev/null || { echo "jq is not installed (apt-get install jq)" >&2; exit 1; }

python3 - "$work/big.log" "$megabytes" <<'PY'
import json, sys, random
path, megabytes = sys.argv[1], int(sys.argv[2])
random.seed(7)
target = megabytes * 1024 * 1024
events = [("dalston.gateway.http", "http_request"), ("dalston.gateway", "job_created"), ("dalston.orchestrator", "task_scheduled"),
          ("dalston.engine.audio-prepare", "task_started"), ("dalston.engine.audio-prepare", "task_completed"),
          ("dalston.engine.transcribe", "task_started"), ("dalston.engine.transcribe", "speech_recognised"),
          ("dalston.engine.transcribe", "task_completed"), ("dalston.engine.merge", "task_completed"), ("dalston.orchestrator", "job_completed")]
written, request = 0, 0
with open(path, "w") as out:
    while written < target:
        request += 1
        rid, jid = f"req_{request:012x}", f"{request:08x}-4f1e-4b1c-9a55-0c9f{request:08x}"
        for second, (logger, event) in enumerate(events):
            line = {"timestamp": f"2026-12-01T10:{(request // 600) % 60:02d}:{(request // 10) % 60:02d}.{second:06d}Z", "level": "info",
                    "service": logger.split(".")[1], "logger": logger, "event": event, "request_id": rid, "job_id": jid,
                    "task_id": f"{jid}_{event[:4]}", "trace_id": f"{request:032x}", "span_id": f"{second:016x}", "duration_seconds": 0.125}
            text = json.dumps(line, separators=(",", ":")) + "\n"
            out.write(text)
            written += len(text)
print(request // 2, file=open(path + ".target", "w"))
PY
needle=$(printf 'req_%012x' "$(cat "$work/big.log.target")")
lines=$(wc -l < "$work/big.log")
echo "log: $(du -m "$work/big.log" | cut -f1) MB, $lines lines; searching for $needle"

measure() { # COMMAND... → "seconds max_rss_kb" (output discarded)
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
start = time.monotonic()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
elapsed = time.monotonic() - start
print(f"{elapsed:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
PY
}
cat "$work/big.log" > /dev/null  # both start from the page cache
read -r dalston_seconds dalston_kb <<<"$(measure "$dalston" logs --request-id "$needle" --format json "$work/big.log")"
read -r jq_seconds jq_kb <<<"$(measure jq -c "select(.request_id == \"$needle\")" "$work/big.log")"
python3 - "$lines" "$dalston_seconds" "$jq_seconds" "$dalston_kb" "$jq_kb" <<'PY'
import sys
lines, d, j, dk, jk = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"jq -c 'select(.request_id == …)'   {lines / j:12,.0f} lines/s   {j:7.2f} s   peak {jk / 1024:6.1f} MB   ratio 1.00")
print(f"dalston logs --request-id … --format json  {lines / d:12,.0f} lines/s   {d:7.2f} s   peak {dk / 1024:6.1f} MB   ratio {j / d:.2f}")
PY
