"""Log lines in Dalston's JSON format, on stderr.

The supervising engine reads them and re-emits each through its own logger, so a runner's lines
land wherever the engine's go (JSON or console, stdout or file) with the engine's service name,
and `dalston logs` finds them by `request_id`. Fields are written with json.dumps, so no value can
break a line or forge another.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

LEVELS = ("trace", "debug", "info", "notice", "warning", "error", "critical")


class RunnerLog:
    """Writes one JSON object per line; `bind` returns a copy with more context fields."""

    def __init__(self, stream: TextIO | None = None, context: dict[str, Any] | None = None) -> None:
        self._stream = stream or sys.stderr
        self._context = dict(context or {})

    def bind(self, **fields: Any) -> "RunnerLog":
        merged = dict(self._context)
        merged.update({key: value for key, value in fields.items() if value is not None})
        return RunnerLog(self._stream, merged)

    def log(self, level: str, event: str, **fields: Any) -> None:
        record: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
            "level": level if level in LEVELS else "info",
            "event": event,
        }
        record.update(self._context)
        record.update({key: value for key, value in fields.items() if value is not None})
        self._stream.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        self._stream.flush()

    def debug(self, event: str, **fields: Any) -> None:
        self.log("debug", event, **fields)

    def info(self, event: str, **fields: Any) -> None:
        self.log("info", event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self.log("warning", event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self.log("error", event, **fields)
