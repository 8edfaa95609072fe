"""The runner protocol: one JSON object per line in each direction (docs/runners.md).

stdout carries protocol messages only (a `ready` line once the model is loaded, then one `result`
or `error` per request); everything else a library might print goes to stderr, which is why
`serve` points sys.stdout at stderr before loading anything.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any, TextIO

from . import PROTOCOL_VERSION

# Correlation fields the engine hands over with each task; every log line about the task has them.
CONTEXT_FIELDS = ("request_id", "job_id", "task_id", "trace_id", "span_id", "session_id")


class RequestError(Exception):
    """A request the runner cannot serve. `permanent`: retrying cannot help (bad audio, a
    language the model does not know); otherwise the engine may retry."""

    def __init__(self, message: str, permanent: bool = True) -> None:
        super().__init__(message)
        self.permanent = permanent


# Live decoding: `partial` is a quick guess of a growing utterance (greedy, one temperature,
# logged at debug: a session makes several a second); `final` settles it (the configured beam,
# Whisper's fallback schedule).
LIVE_PASSES = ("partial", "final")


@dataclass
class TranscribeRequest:
    id: str
    audio: str
    # 16 kHz mono samples as base64 of little-endian int16, instead of a file (live sessions:
    # their audio is in the worker's memory, not in the artifact store).
    pcm16: bytes | None = None
    live: str | None = None
    task: str = "transcribe"
    language: str | None = None
    initial_prompt: str | None = None
    hotwords: str | None = None
    temperature: float | None = None
    beam_size: int | None = None
    vad: str = "auto"
    word_timestamps: bool = True
    context: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def parse(message: dict[str, Any]) -> "TranscribeRequest":
        request_id = str(message.get("id") or "")
        audio = message.get("audio")
        pcm16 = _pcm16(message.get("pcm16"))
        if pcm16 is None and (not isinstance(audio, str) or not audio):
            raise RequestError("the request names no audio file and carries no pcm16 samples")
        live = message.get("live")
        if live is not None and live not in LIVE_PASSES:
            raise RequestError(f"live must be partial or final, not {live!r}")
        task = message.get("task") or "transcribe"
        if task not in ("transcribe", "translate"):
            raise RequestError(f"task must be transcribe or translate, not {task!r}")
        vad = message.get("vad") or "auto"
        if vad not in ("auto", "on", "off"):
            raise RequestError(f"vad must be auto, on or off, not {vad!r}")
        temperature = message.get("temperature")
        beam_size = message.get("beam_size")
        context = message.get("context") or {}
        return TranscribeRequest(
            id=request_id,
            audio=audio if isinstance(audio, str) else "",
            pcm16=pcm16,
            live=live,
            task=task,
            language=(message.get("language") or None),
            initial_prompt=(message.get("initial_prompt") or None),
            hotwords=(message.get("hotwords") or None),
            temperature=float(temperature) if temperature is not None else None,
            beam_size=int(beam_size) if beam_size is not None else None,
            vad=vad,
            word_timestamps=bool(message.get("word_timestamps", True)),
            context={key: str(context[key]) for key in CONTEXT_FIELDS if context.get(key)},
        )


def _pcm16(value: Any) -> bytes | None:
    """The samples of a `pcm16` field (None when absent); bad base64 or an odd length is refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise RequestError("pcm16 must be a base64 string of 16-bit little-endian samples")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError("pcm16 is not valid base64") from None
    if len(data) % 2:
        raise RequestError(f"pcm16 holds {len(data)} bytes: 16-bit samples need an even number")
    return data


class Channel:
    """Reads requests from `incoming`, writes replies to `outgoing` (one line each, flushed)."""

    def __init__(self, incoming: TextIO, outgoing: TextIO) -> None:
        self._incoming = incoming
        self._outgoing = outgoing

    def send(self, message: dict[str, Any]) -> None:
        self._outgoing.write(json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._outgoing.flush()

    def ready(self, **fields: Any) -> None:
        self.send({"type": "ready", "protocol": PROTOCOL_VERSION, **fields})

    def requests(self):
        """Each request as a dict; a line that is not a JSON object is answered with an error."""
        for line in self._incoming:
            line = line.strip()
            if not line:
                continue
            try:
                message = json.loads(line)
            except json.JSONDecodeError as error:
                self.send({"type": "error", "id": "", "permanent": True, "message": f"not a JSON line: {error}"})
                continue
            if not isinstance(message, dict):
                self.send({"type": "error", "id": "", "permanent": True, "message": "a request is a JSON object"})
                continue
            yield message
