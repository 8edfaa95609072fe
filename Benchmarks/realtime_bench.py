"""Realtime streaming latency of Dalston's native protocol, or of WhisperLive, on the eval clips.

usage: python Benchmarks/realtime_bench.py (--dalston ws://HOST:PORT | --whisperlive ws://HOST:PORT)
           [--clips GLOB_OR_FILE ...] [--manifest TSV] [--concurrency N] [--model NAME]
           [--api-key KEY] [--json PATH] [--tail-silence S] [--onset-db DBFS] [--wl-settle S]

Needs Python 3.10+ and `websockets` (13 or later); `jiwer` is used for WER when installed.
Clips: by default every clip of Tests/Fixtures/eval-audio/manifest.tsv (the same 13 recordings
as shared/eval-audio); --clips takes globs or files, also relative to the manifest's folder.
With --concurrency N, N sessions stream the clip list at once, each started 0.5 s after the last.
Exit status 1 when a session failed.

Each session streams one WAV clip (16 kHz, mono, 16-bit) at real time: 100 ms chunks, chunk k
sent when stream-start + (k+1) x 100 ms is reached on the monotonic clock (as a microphone would
deliver it; the schedule is against the start, so a late send does not delay the next ones), then
--tail-silence seconds of zeros (the speaker stays quiet), then the protocol's end of stream.
The stream starts once the server said it is ready (`session.begin`, `SERVER_READY`), so neither
connecting nor model loading is counted.

Measured per session (all on the same monotonic clock; "sent at t" is the moment the chunk
holding the audio just before stream second t left the client):
  first partial    the first non-empty partial (or final, if one comes first) minus the moment
                   the speech onset was sent. Speech onset: the first 30 ms frame whose RMS,
                   in dBFS, exceeds the clip's threshold: max(noise floor + 12 dB, peak - 35 dB),
                   the noise floor being the 10th percentile of the frames' levels and the peak
                   the loudest frame (or --onset-db). Speech end: the end of the last such frame.
                   (Energy is blind to noise: jfk.wav's closing applause counts as speech.)
  final latency    for every final: its arrival minus "sent at" its `end`.
  last final       the arrival of the last final minus the moment the speech end was sent.
  changes          finals changed after being given. Dalston: finals whose text differs from
                   the `segments` of `session.end` (none, by construction). WhisperLive: a
                   segment seen with completed=true later seen with other text or end. Also,
                   for both, how often the pending partial's text changed before its final
                   ("partial changes"), and how many of those rewrote rather than extended it.
  WER              the joined finals against the manifest's reference, both lower-cased, with
                   punctuation stripped (no number or abbreviation spelling: "10" is not "ten").

WhisperLive (protocol of whisper-live 0.10.0): the client sends a JSON options message
({uid, language, task, model, use_vad, ...}), waits for {"message": "SERVER_READY"}, then sends
float32 PCM frames; the server answers {"uid", "segments": [{start, end, text, completed}]}, the
last N completed segments and at most one pending one (times are strings). A segment completes
when Whisper starts a new one after it, or when the pending text has come back unchanged more
than `same_output_threshold` (10) times. END_OF_AUDIO (a binary frame) closes the connection at
once, without completing the pending segment, so (as its own client does) this waits after the
audio until nothing is pending and the server has been quiet for 3 s, or the text has not changed
for --wl-settle seconds, and only then sends it. A segment still pending then is reported as
`pending` (its own client writes it to the SRT file; `wer_with_pending` counts it).

Server side (CPU, tiny.en CTranslate2 model) started as:
  OMP_NUM_THREADS=1 /tmp/wl/bin/python -c "from whisper_live.server import TranscriptionServer; \
    TranscriptionServer().run('127.0.0.1', 9090, backend='faster_whisper', \
    faster_whisper_custom_model_path='$HOME/.local/share/dalston/models/faster-whisper-tiny.en', \
    single_model=True, max_clients=4, max_connection_time=600)"
(the wheel has no run_server.py; OMP_NUM_THREADS=1 and single_model=True are what upstream's
run_server.py sets by default: one model, its passes taken in turn, on one core).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import glob
import json
import math
import re
import sys
import time
import uuid
import wave
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Tests" / "Scripts"))
from text_metrics import edit_distance  # noqa: E402 (the tests' scorer, one copy)
from websockets.exceptions import ConnectionClosed, WebSocketException

try:
    import jiwer
except ImportError:  # the word-level Levenshtein below is used instead
    jiwer = None

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MANIFEST = ROOT / "Tests" / "Fixtures" / "eval-audio" / "manifest.tsv"
SAMPLE_RATE = 16000
CHUNK_SAMPLES = 1600  # 100 ms
FRAME_SAMPLES = 480  # 30 ms, for the speech onset and end
STAGGER_S = 0.5
READY_TIMEOUT_S = 60.0
CLOSE_TIMEOUT_S = 30.0
WL_QUIET_S = 3.0
WL_MAX_WAIT_S = 60.0


class SessionError(Exception):
    """The server refused or broke off a session."""


# --- clips -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Clip:
    name: str
    path: Path
    reference: str | None
    pcm: bytes  # s16le mono 16 kHz
    onset_sample: int  # first sample of the first loud frame
    speech_end_sample: int  # one past the last sample of the last loud frame
    threshold_db: float

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / 2 / SAMPLE_RATE


def read_manifest(path: Path) -> dict[str, str]:
    """Clip file name -> reference text."""
    with path.open(newline="", encoding="utf-8") as handle:
        return {Path(row["file"]).name: row["reference"] for row in csv.DictReader(handle, delimiter="\t")}


def clip_paths(patterns: list[str], manifest: Path) -> list[Path]:
    """The clips named (globs or files, also tried relative to the manifest), or the manifest's."""
    if not patterns:
        with manifest.open(newline="", encoding="utf-8") as handle:
            return [manifest.parent / row["file"] for row in csv.DictReader(handle, delimiter="\t")]
    paths: list[Path] = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern)) or sorted(glob.glob(str(manifest.parent / pattern)))
        if not found:
            raise SystemExit(f"no clip matches {pattern}")
        paths += [Path(name) for name in found]
    return paths


def read_pcm16(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        shape = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth())
        if shape != (SAMPLE_RATE, 1, 2):
            raise SystemExit(f"{path}: {shape} (rate, channels, bytes per sample); need 16 kHz mono 16-bit")
        return wav.readframes(wav.getnframes())


def samples_of(pcm: bytes) -> array:
    samples = array("h", pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def frame_levels_db(pcm: bytes) -> list[float]:
    """RMS level of each whole 30 ms frame, in dBFS."""
    samples = samples_of(pcm)
    levels = []
    for start in range(0, len(samples) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        mean_square = sum(s * s for s in samples[start:start + FRAME_SAMPLES]) / FRAME_SAMPLES
        levels.append(10 * math.log10(mean_square / 32768.0 ** 2 + 1e-12))
    return levels


def speech_threshold_db(levels: list[float]) -> float:
    """max(noise floor + 12 dB, peak - 35 dB): clear of the floor, and relative to loud clips."""
    floor = sorted(levels)[len(levels) // 10]
    return max(floor + 12.0, max(levels) - 35.0)


def speech_span(levels: list[float], threshold_db: float) -> tuple[int, int]:
    """First sample of the first loud frame, one past the last sample of the last one."""
    loud = [i for i, level in enumerate(levels) if level > threshold_db]
    if not loud:
        return 0, len(levels) * FRAME_SAMPLES
    return loud[0] * FRAME_SAMPLES, (loud[-1] + 1) * FRAME_SAMPLES


def load_clip(path: Path, references: dict[str, str], onset_db: float | None) -> Clip:
    pcm = read_pcm16(path)
    levels = frame_levels_db(pcm)
    threshold = onset_db if onset_db is not None else speech_threshold_db(levels)
    onset, end = speech_span(levels, threshold)
    return Clip(path.name, path, references.get(path.name), pcm, onset, end, threshold)


def chunks_of(pcm: bytes, tail_silence_s: float) -> list[bytes]:
    """The clip then the tail of silence, in 100 ms chunks (the last one may be shorter)."""
    stream = pcm + bytes(2 * round(tail_silence_s * SAMPLE_RATE))
    size = 2 * CHUNK_SAMPLES
    return [stream[i:i + size] for i in range(0, len(stream), size)]


# --- a session's record ----------------------------------------------------------------------

@dataclass
class Final:
    wall: float
    text: str
    start: float
    end: float


@dataclass
class SessionTrace:
    clip: Clip
    worker: int
    send_walls: list[float] = field(default_factory=list)  # when chunk k had been sent
    max_send_lag_s: float = 0.0  # how late the client itself was against the schedule
    first_partial_wall: float | None = None
    finals: list[Final] = field(default_factory=list)
    pending: str | None = None  # the partial not yet followed by its final
    partial_changes: int = 0
    partial_rewrites: int = 0
    confirmed_changes: int = 0
    overlapping_finals: int = 0  # WhisperLive: completed segments starting inside an earlier one
    last_message_wall: float = 0.0
    last_change_wall: float = 0.0
    pending_at_end: str | None = None
    errors: list[str] = field(default_factory=list)  # the session failed
    warnings: list[str] = field(default_factory=list)  # recoverable errors; the session went on

    def on_partial(self, wall: float, text: str) -> None:
        """A partial; counts changes of the pending text (a new final starts a fresh one), and
        rewrites: changes that do not keep the earlier words (normalised) as they were."""
        text = text.strip()
        if not text:
            return
        if self.first_partial_wall is None:
            self.first_partial_wall = wall
        if self.pending is not None and text != self.pending:
            self.partial_changes += 1
            old, new = normalise(self.pending), normalise(text)
            if new[:len(old)] != old:
                self.partial_rewrites += 1
        if text != self.pending:
            self.last_change_wall = wall
        self.pending = text

    def on_final(self, final: Final) -> None:
        if self.first_partial_wall is None and final.text.strip():
            self.first_partial_wall = final.wall
        self.finals.append(final)
        self.pending = None
        self.last_change_wall = final.wall


def sent_at(trace: SessionTrace, sample: int) -> float:
    """When the chunk holding `sample` of the stream had been sent (clamped to the stream)."""
    index = min(max(sample, 0) // CHUNK_SAMPLES, len(trace.send_walls) - 1)
    return trace.send_walls[index]


def sample_before(seconds: float) -> int:
    """The last sample before stream time `seconds`."""
    return round(seconds * SAMPLE_RATE) - 1


# --- servers ---------------------------------------------------------------------------------

class Server(Protocol):
    def url(self) -> str: ...
    def headers(self) -> dict[str, str]: ...
    async def handshake(self, ws: ClientConnection, trace: SessionTrace) -> None: ...
    def encode(self, chunk: bytes) -> bytes: ...
    def on_message(self, message: dict[str, Any], trace: SessionTrace, wall: float) -> bool: ...
    async def finish(self, ws: ClientConnection, trace: SessionTrace, receiver: asyncio.Task) -> None: ...


def bearer(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


async def next_json(ws: ClientConnection) -> dict[str, Any]:
    """The next text message as JSON (binary messages are skipped)."""
    while True:
        raw = await ws.recv()
        if isinstance(raw, str):
            return json.loads(raw)


class Dalston:
    """Dalston's native protocol: s16le frames, JSON events, `end` then `session.end`."""

    def __init__(self, base: str, model: str, api_key: str | None) -> None:
        self.base, self.model, self.api_key = base.rstrip("/"), model, api_key

    def url(self) -> str:
        query = {"language": "en", "encoding": "pcm_s16le", "sample_rate": SAMPLE_RATE, "word_timestamps": "true"}
        if self.model:
            query["model"] = self.model
        return f"{self.base}/v1/audio/transcriptions/stream?{urlencode(query)}"

    def headers(self) -> dict[str, str]:
        return bearer(self.api_key)

    async def handshake(self, ws: ClientConnection, trace: SessionTrace) -> None:
        while True:
            message = await next_json(ws)
            if message.get("type") == "session.begin":
                return
            if message.get("type") == "error":
                raise SessionError(f"{message.get('code')}: {message.get('message')}")

    def encode(self, chunk: bytes) -> bytes:
        return chunk

    def on_message(self, message: dict[str, Any], trace: SessionTrace, wall: float) -> bool:
        """Records one event; True when the session is over."""
        kind = message.get("type")
        if kind == "transcript.partial":
            trace.on_partial(wall, message.get("text", ""))
        elif kind == "transcript.final":
            trace.on_final(Final(wall, message.get("text", ""), float(message["start"]), float(message["end"])))
        elif kind == "error":
            recoverable = bool(message.get("recoverable", False))
            (trace.warnings if recoverable else trace.errors).append(f"{message.get('code')}: {message.get('message')}")
            return not recoverable
        elif kind == "session.end":
            trace.confirmed_changes = count_changed_finals(trace.finals, message.get("segments") or [])
            return True
        return False

    async def finish(self, ws: ClientConnection, trace: SessionTrace, receiver: asyncio.Task) -> None:
        await ws.send(json.dumps({"type": "end"}))
        await asyncio.wait_for(receiver, CLOSE_TIMEOUT_S)


def count_changed_finals(finals: list[Final], segments: list[dict[str, Any]]) -> int:
    """Finals whose text the closing summary gives otherwise (or that it adds or drops)."""
    changed = sum(final.text.strip() != str(segment.get("text", "")).strip() for final, segment in zip(finals, segments))
    return changed + abs(len(finals) - len(segments))


class WhisperLive:
    """WhisperLive 0.10.0: JSON options, float32 frames, `segments` with `completed`."""

    def __init__(self, base: str, model: str, api_key: str | None, settle_s: float) -> None:
        self.base, self.model, self.api_key, self.settle_s = base, model or "tiny.en", api_key, settle_s
        self.completed: dict[str, tuple[str, str]] = {}  # start -> (text, end), per session

    def url(self) -> str:
        return self.base

    def headers(self) -> dict[str, str]:
        return bearer(self.api_key)

    def options(self) -> dict[str, Any]:
        """What WhisperLive's own client sends first, with its defaults."""
        return {
            "uid": str(uuid.uuid4()), "language": "en", "task": "transcribe", "model": self.model,
            "use_vad": True, "send_last_n_segments": 10, "no_speech_thresh": 0.45, "clip_audio": False,
            "same_output_threshold": 10, "enable_translation": False, "word_timestamps": False,
        }

    async def handshake(self, ws: ClientConnection, trace: SessionTrace) -> None:
        await ws.send(json.dumps(self.options()))
        while True:
            message = await next_json(ws)
            if message.get("message") == "SERVER_READY":
                return
            if message.get("status") in ("WAIT", "ERROR"):
                raise SessionError(f"{message['status']}: {message.get('message')}")

    def encode(self, chunk: bytes) -> bytes:
        floats = array("f", (sample / 32768.0 for sample in samples_of(chunk)))
        if sys.byteorder == "big":
            floats.byteswap()
        return floats.tobytes()

    def on_message(self, message: dict[str, Any], trace: SessionTrace, wall: float) -> bool:
        if "segments" in message:
            self.on_segments(message["segments"], trace, wall)
        elif message.get("status") == "ERROR":
            trace.errors.append(f"ERROR: {message.get('message')}")
        elif message.get("status") == "WARNING":
            trace.warnings.append(f"WARNING: {message.get('message')}")
        elif message.get("message") == "DISCONNECT":
            trace.errors.append("DISCONNECT (max_connection_time)")
        return False  # the server closes the socket when it is done

    def on_segments(self, segments: list[dict[str, Any]], trace: SessionTrace, wall: float) -> None:
        for segment in segments:
            if segment.get("completed"):
                self.on_completed(segment, trace, wall)
        if segments and not segments[-1].get("completed"):
            trace.on_partial(wall, segments[-1].get("text", ""))

    def on_completed(self, segment: dict[str, Any], trace: SessionTrace, wall: float) -> None:
        """A completed segment: new (a final), repeated, or changed (counted)."""
        key, seen = segment["start"], (segment.get("text", ""), segment["end"])
        if key in self.completed:
            if self.completed[key] != seen:
                trace.confirmed_changes += 1
                self.completed[key] = seen
            return
        self.completed[key] = seen
        start, end = float(segment["start"]), float(segment["end"])
        if trace.finals and start < trace.finals[-1].end - 0.01:
            trace.overlapping_finals += 1  # its own client drops these too
            return
        trace.on_final(Final(wall, seen[0], start, end))

    async def finish(self, ws: ClientConnection, trace: SessionTrace, receiver: asyncio.Task) -> None:
        """Waits until nothing is pending (or the text settled), then END_OF_AUDIO, then the close."""
        deadline = time.monotonic() + max(WL_MAX_WAIT_S, 2 * self.settle_s)
        while time.monotonic() < deadline and not receiver.done():
            now = time.monotonic()
            if trace.pending is None and now - max(trace.last_message_wall, trace.send_walls[-1]) > WL_QUIET_S:
                break
            if now - max(trace.last_change_wall, trace.send_walls[-1]) > self.settle_s:
                break
            await asyncio.sleep(0.05)
        trace.pending_at_end = trace.pending
        if not receiver.done():
            await ws.send(b"END_OF_AUDIO")
            await asyncio.wait_for(receiver, CLOSE_TIMEOUT_S)


# --- running sessions ------------------------------------------------------------------------

async def receive(ws: ClientConnection, server: Server, trace: SessionTrace) -> None:
    """Records the server's messages until it ends the session or closes."""
    try:
        async for raw in ws:
            if not isinstance(raw, str):
                continue
            wall = time.monotonic()
            trace.last_message_wall = wall
            if server.on_message(json.loads(raw), trace, wall):
                return
    except ConnectionClosed:
        pass


async def stream(ws: ClientConnection, server: Server, chunks: list[bytes], trace: SessionTrace) -> None:
    """Sends chunk k at start + (k+1) x 100 ms, noting when each had gone."""
    start = time.monotonic()
    for index, chunk in enumerate(chunks):
        due = start + (index + 1) * CHUNK_SAMPLES / SAMPLE_RATE
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await ws.send(server.encode(chunk))
        sent = time.monotonic()
        trace.send_walls.append(sent)
        trace.max_send_lag_s = max(trace.max_send_lag_s, sent - due)


async def run_session(server: Server, clip: Clip, worker: int, tail_silence_s: float) -> SessionTrace:
    trace = SessionTrace(clip, worker)
    try:
        async with connect(server.url(), additional_headers=server.headers(), compression=None,
                           proxy=None, max_size=None) as ws:
            await asyncio.wait_for(server.handshake(ws, trace), READY_TIMEOUT_S)
            receiver = asyncio.create_task(receive(ws, server, trace))
            await stream(ws, server, chunks_of(clip.pcm, tail_silence_s), trace)
            await server.finish(ws, trace, receiver)
    except (OSError, WebSocketException, SessionError, asyncio.TimeoutError, json.JSONDecodeError) as error:
        trace.errors.append(f"{type(error).__name__}: {error}")
    return trace


async def run_worker(make_server: Callable[[], Server], clips: list[Clip], worker: int, tail_silence_s: float) -> list[SessionTrace]:
    await asyncio.sleep(worker * STAGGER_S)
    return [await run_session(make_server(), clip, worker, tail_silence_s) for clip in clips]


async def run_all(make_server: Callable[[], Server], clips: list[Clip], concurrency: int, tail_silence_s: float) -> list[SessionTrace]:
    runs = await asyncio.gather(*(run_worker(make_server, clips, w, tail_silence_s) for w in range(concurrency)))
    return [trace for run in runs for trace in run]


# --- figures ---------------------------------------------------------------------------------

def normalise(text: str) -> list[str]:
    """Lower case, apostrophes dropped, other punctuation as spaces."""
    text = text.lower().replace("\u2019", "'").replace("'", "")
    return re.sub(r"[^\w\s]|_", " ", text).split()


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Substitutions + deletions + insertions (jiwer when installed)."""
    if not reference or not hypothesis:
        return len(reference) + len(hypothesis)
    if jiwer is not None:
        out = jiwer.process_words(" ".join(reference), " ".join(hypothesis))
        return out.substitutions + out.deletions + out.insertions
    return edit_distance(reference, hypothesis)


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def session_figures(trace: SessionTrace) -> dict[str, Any]:
    clip = trace.clip
    figures: dict[str, Any] = {
        "clip": clip.name, "worker": trace.worker, "duration_s": round(clip.duration_s, 3),
        "onset_s": clip.onset_sample / SAMPLE_RATE, "speech_end_s": clip.speech_end_sample / SAMPLE_RATE,
        "threshold_dbfs": round(clip.threshold_db, 1), "errors": trace.errors, "warnings": trace.warnings,
        "max_send_lag_ms": round(trace.max_send_lag_s * 1000, 1),
        "finals": [{"text": f.text, "start": f.start, "end": f.end} for f in trace.finals],
        "pending": trace.pending_at_end, "confirmed_changes": trace.confirmed_changes,
        "partial_changes": trace.partial_changes, "partial_rewrites": trace.partial_rewrites,
        "overlapping_finals": trace.overlapping_finals,
        "first_partial_s": None, "final_latencies_s": [], "last_final_after_speech_end_s": None,
    }
    if trace.send_walls:
        if trace.first_partial_wall is not None:
            figures["first_partial_s"] = trace.first_partial_wall - sent_at(trace, clip.onset_sample)
        figures["final_latencies_s"] = [f.wall - sent_at(trace, sample_before(f.end)) for f in trace.finals]
        if trace.finals:
            figures["last_final_after_speech_end_s"] = trace.finals[-1].wall - sent_at(trace, clip.speech_end_sample - 1)
    figures.update(wer_figures(clip.reference, [f.text for f in trace.finals], trace.pending_at_end))
    return figures


def wer_figures(reference: str | None, finals: list[str], pending: str | None) -> dict[str, Any]:
    if reference is None:
        return {"words": 0, "errors_words": None, "wer": None, "wer_with_pending": None}
    words = normalise(reference)
    hypothesis = normalise(" ".join(finals))
    errors = word_errors(words, hypothesis)
    with_pending = word_errors(words, hypothesis + normalise(pending or ""))
    return {"words": len(words), "errors_words": errors, "wer": errors / len(words),
            "errors_words_with_pending": with_pending, "wer_with_pending": with_pending / len(words)}


def summary(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    first = [s["first_partial_s"] for s in sessions if s["first_partial_s"] is not None]
    finals = [latency for s in sessions for latency in s["final_latencies_s"]]
    last = [s["last_final_after_speech_end_s"] for s in sessions if s["last_final_after_speech_end_s"] is not None]
    scored = [s for s in sessions if s.get("errors_words") is not None and not s["errors"]]  # failed: not scored
    words = sum(s["words"] for s in scored)
    return {
        "sessions": len(sessions), "failed_sessions": sum(bool(s["errors"]) for s in sessions),
        "sessions_with_warnings": sum(bool(s["warnings"]) for s in sessions),
        "finals": len(finals),
        "first_partial_p50_s": percentile(first, 0.5), "first_partial_p95_s": percentile(first, 0.95),
        "final_latency_p50_s": percentile(finals, 0.5), "final_latency_p95_s": percentile(finals, 0.95),
        "last_final_p50_s": percentile(last, 0.5), "last_final_p95_s": percentile(last, 0.95),
        "wer": sum(s["errors_words"] for s in scored) / words if words else None,
        "wer_with_pending": sum(s["errors_words_with_pending"] for s in scored) / words if words else None,
        "confirmed_changes": sum(s["confirmed_changes"] for s in sessions),
        "partial_changes": sum(s["partial_changes"] for s in sessions),
        "partial_rewrites": sum(s["partial_rewrites"] for s in sessions),
        "pending_at_end": sum(bool(s["pending"]) for s in sessions),
        "max_send_lag_ms": max((s["max_send_lag_ms"] for s in sessions), default=0.0),
    }


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def print_table(sessions: list[dict[str, Any]]) -> None:
    print(f"{'clip':<22}{'w':>2}{'dur s':>7}{'onset':>7}{'1st ms':>8}{'finals':>7}{'fin p50':>8}"
          f"{'last ms':>8}{'WER':>6}{'chg':>4}{'pchg':>5}{'pend':>5}  errors, warnings")
    for s in sessions:
        wer = "-" if s["wer"] is None else f"{s['wer']:.2f}"
        print(f"{s['clip']:<22}{s['worker']:>2}{s['duration_s']:>7.2f}{s['onset_s']:>7.2f}"
              f"{ms(s['first_partial_s']):>8}{len(s['finals']):>7}{ms(percentile(s['final_latencies_s'], 0.5)):>8}"
              f"{ms(s['last_final_after_speech_end_s']):>8}{wer:>6}{s['confirmed_changes']:>4}"
              f"{s['partial_changes']:>5}{'yes' if s['pending'] else '':>5}  {'; '.join(s['errors'] + s['warnings'])}")


def print_summary(total: dict[str, Any]) -> None:
    def pair(name: str) -> str:
        return f"p50 {ms(total[name + '_p50_s'])} ms, p95 {ms(total[name + '_p95_s'])} ms"

    wer = "-" if total["wer"] is None else f"{total['wer']:.3f}"
    with_pending = "-" if total["wer_with_pending"] is None else f"{total['wer_with_pending']:.3f}"
    print(f"\nsessions {total['sessions']} ({total['failed_sessions']} failed, {total['sessions_with_warnings']} with "
          f"warnings), finals {total['finals']}")
    print(f"first partial after speech onset: {pair('first_partial')}")
    print(f"final after its end was sent:     {pair('final_latency')}")
    print(f"last final after speech end:      {pair('last_final')}")
    print(f"WER {wer} (with pending text {with_pending}); finals changed {total['confirmed_changes']}, "
          f"partial changes {total['partial_changes']} ({total['partial_rewrites']} rewrites), "
          f"sessions left pending {total['pending_at_end']}; client send lag max {total['max_send_lag_ms']} ms")


# --- command line ----------------------------------------------------------------------------

def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--dalston", metavar="ws://HOST:PORT", help="a Dalston gateway (native protocol)")
    target.add_argument("--whisperlive", metavar="ws://HOST:PORT", help="a WhisperLive server")
    parser.add_argument("--clips", nargs="*", default=[], help="globs or files (default: the manifest's clips)")
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST, help="TSV with file and reference columns")
    parser.add_argument("--concurrency", type=int, default=1, help="sessions at once, staggered by 0.5 s")
    parser.add_argument("--model", default="", help="Dalston: `model` query (default: the server's); WhisperLive: "
                        "the `model` option (default tiny.en; a server run with a custom model path ignores it)")
    parser.add_argument("--api-key", help="sent as Authorization: Bearer")
    parser.add_argument("--tail-silence", type=float, default=1.0, help="seconds of silence streamed after each clip")
    parser.add_argument("--onset-db", type=float, help="speech threshold in dBFS (default: from each clip)")
    parser.add_argument("--wl-settle", type=float, default=30.0,
                        help="WhisperLive: after the audio, give up waiting for the pending segment to complete "
                             "once its text has not changed for this long (its own client waits 15 s)")
    parser.add_argument("--json", type=Path, help="write the sessions and the summary here")
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.tail_silence < 0 or args.wl_settle <= 0:
        parser.error("--concurrency must be >= 1, --tail-silence >= 0, --wl-settle > 0")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    references = read_manifest(args.manifest) if args.manifest.exists() else {}
    clips = [load_clip(path, references, args.onset_db) for path in clip_paths(args.clips, args.manifest)]
    if args.dalston:
        def make_server() -> Server:
            return Dalston(args.dalston, args.model, args.api_key)
    else:
        def make_server() -> Server:
            return WhisperLive(args.whisperlive, args.model, args.api_key, args.wl_settle)
    traces = asyncio.run(run_all(make_server, clips, args.concurrency, args.tail_silence))
    sessions = [session_figures(trace) for trace in traces]
    total = summary(sessions)
    print_table(sessions)
    print_summary(total)
    if args.json:
        config = {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()}
        args.json.write_text(json.dumps({"config": config, "sessions": sessions, "summary": total}, indent=2))
    return 1 if total["failed_sessions"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
