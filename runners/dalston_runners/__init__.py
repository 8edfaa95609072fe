"""Dalston's model runners.

A runner is a long-lived process that loads one model once and then serves tasks, one at a time,
over JSON lines on stdin/stdout (see docs/runners.md). Queues, leases, retries, cancellation and
correlation stay in Dalston's Swift engine that supervises the runner; a runner only infers.
"""

PROTOCOL_VERSION = 1
