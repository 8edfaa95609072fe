#!/usr/bin/env python3
"""Two builds of dalston-benchmarks side by side: the observability spine's figures.

usage: Benchmarks/observability-compare.py BASELINE_BENCHMARKS CANDIDATE_BENCHMARKS [ROUNDS]

Runs the `logging`, `metrics`, `redis` and `tracing` parts of each build alternately (baseline,
candidate, baseline, ...) ROUNDS times (default 3; `redis` and `tracing` take the median of
their own runs inside each round), and prints each figure's median per build and the ratio
candidate/baseline. Each build's `dalston` must sit beside its `dalston-benchmarks` (tracing).
Put the project's .venv/bin first on PATH so that structlog and the OTLP receiver are found.
"""
import re
import statistics
import subprocess
import sys

baseline, candidate = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3

# (part, label, regex): the first group is the figure.
FIGURES = [
    ("logging", "JSON log call, 3 context + 2 call fields (ns)", r"^\(a\) JSON, 3 context \+ 2 call fields\s+([\d.]+)"),
    ("logging", "  same, one write(2) per line (ns)", r"^\(a'\) JSON, one write\(2\) per line\s+([\d.]+)"),
    ("logging", "call below the level (ns)", r"^\(c\) call below the level\s+([\d.]+)"),
    ("logging", "  swift-log's floor below the level (ns)", r"^\(c\) swift-log's own floor, a handler holding only a stored level: ([\d.]+)"),
    ("logging", "  structlog, JSON case (ns)", r"^\(a\) JSON, 3 context \+ 2 call fields\s+[\d.]+\s+[\d.]+\s+([\d.]+)"),
    ("logging", "  swift-log StreamLogHandler, JSON case (ns)", r"^\(a\) JSON, 3 context \+ 2 call fields\s+[\d.]+\s+([\d.]+)"),
    ("logging", "JSON line in a span, ids from the tracer (ns)", r"^\(d\) in a span, ids from the tracer\s+([\d.]+)"),
    ("logging", "  same, ids from a metadata provider (ns)", r"^\(d'\) in a span, ids from a provider\s+([\d.]+)"),
    ("metrics", "counter looked up by labels (ns)", r"counter increment, looked up by labels\s+([\d.]+)"),
    ("metrics", "  counter looked up, handle returned (ns)", r"counter looked up, handle returned\s+([\d.]+)"),
    ("metrics", "counter, handle kept (ns)", r"counter increment, handle kept\s+([\d.]+)"),
    ("redis", "pipelined GET, ours / redis-benchmark", r"^GET, pipeline 16\s+\d+\s+\d+\s+([\d.]+)"),
    ("redis", "pipelined SET, ours / redis-benchmark", r"^SET, pipeline 16\s+\d+\s+\d+\s+([\d.]+)"),
    ("redis", "  pipelined GET, ours (ops/s)", r"^GET, pipeline 16\s+(\d+)"),
    ("redis", "GET without pipelining, ours / redis-benchmark", r"^GET, no pipelining\s+\d+\s+\d+\s+([\d.]+)"),
    ("tracing", "GET /v1/status, tracing on / off", r"GET /v1/status, wrk.*on/off ([\d.]+)"),
    ("tracing", "  CPU per request, tracing on / off", r"CPU per request:.*on/off ([\d.]+)"),
    ("tracing", "pipeline jobs/s, tracing on / off", r"pipeline, \d+ jobs at once.*on/off ([\d.]+)"),
]

results = {build: {label: [] for _, label, _ in FIGURES} for build in ("baseline", "candidate")}
for round_number in range(rounds):
    for part in ("logging", "metrics", "redis", "tracing"):
        if part in ("redis", "tracing") and round_number >= max(1, rounds - 1):
            continue  # long parts with medians of their own: rounds - 1 times
        for build, binary in (("baseline", baseline), ("candidate", candidate)):
            output = subprocess.run([binary, part], capture_output=True, text=True, timeout=1800).stdout
            for figure_part, label, pattern in FIGURES:
                if figure_part != part:
                    continue
                match = re.search(pattern, output, re.MULTILINE)
                if match:
                    results[build][label].append(float(match.group(1)))
            print(f"round {round_number + 1}: {part} on {build} done", file=sys.stderr, flush=True)

print(f"{'figure':52} {'baseline':>12} {'candidate':>12} {'cand/base':>10}   (medians; runs)")
for _, label, _ in FIGURES:
    base, cand = results["baseline"][label], results["candidate"][label]
    if not base and not cand:
        continue
    b = statistics.median(base) if base else None
    c = statistics.median(cand) if cand else None
    ratio = f"{c / b:.2f}" if b and c else "-"
    print(f"{label:52} {b if b is not None else '-':>12} {c if c is not None else '-':>12} {ratio:>10}   ({len(base)}; {len(cand)})")
