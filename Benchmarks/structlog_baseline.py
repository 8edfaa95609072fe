"""The Python structlog baseline for dalston-benchmarks: the same three cases, same sink.

Prints {"json": ns, "console": ns, "below_level": ns} (median ns per call).
"""
import json
import logging
import statistics
import sys
import time

import structlog

ITERATIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
ROUNDS = 5


def configure(renderer):
    structlog.reset_defaults()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.WriteLoggerFactory(file=open("/dev/null", "w")),
        cache_logger_on_first_use=True,
    )
    return structlog.get_logger("dalston.bench")


def measure(call):
    for _ in range(ITERATIONS // 10):
        call()
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        for _ in range(ITERATIONS):
            call()
        samples.append((time.perf_counter_ns() - start) / ITERATIONS)
    return statistics.median(samples)


structlog.contextvars.bind_contextvars(request_id="req_3f2a9c", job_id="job_81b0", task_id="task_77aa")
results = {}
log = configure(structlog.processors.JSONRenderer())
results["json"] = measure(lambda: log.info("task_completed", engine="transcribe", duration_ms=42))
log = configure(structlog.dev.ConsoleRenderer(colors=False))
results["console"] = measure(lambda: log.info("task_completed", engine="transcribe", duration_ms=42))
log = configure(structlog.processors.JSONRenderer())
results["below_level"] = measure(lambda: log.debug("task_completed", engine="transcribe", duration_ms=42))
print(json.dumps(results))
