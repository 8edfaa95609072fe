"""CLI commands for Dalston."""

from . import (
    engines,
    export,
    jobs,
    listen,
    models,
    server,
    sessions,
    status,
    transcribe,
)

__all__ = [
    "transcribe",
    "listen",
    "jobs",
    "sessions",
    "export",
    "status",
    "server",
    "models",
    "engines",
]
