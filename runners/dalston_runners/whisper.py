"""The faster-whisper runner: one Whisper model, loaded once, transcribing or translating one
prepared WAV file per request."""

from __future__ import annotations

import time
from typing import Any

from faster_whisper import WhisperModel

from .audio import SAMPLE_RATE, pcm16_samples, read_prepared_wav
from .log import RunnerLog
from .protocol import RequestError, TranscribeRequest

# Whisper's own fallback schedule: a decode that fails the compression-ratio or log-probability
# checks is tried again hotter. A client's temperature above 0 fixes it instead (as OpenAI does).
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
# A live final is waited for: a shorter schedule bounds its worst case (three decodings).
LIVE_FALLBACK_TEMPERATURES = (0.0, 0.4, 0.8)
# A live pass may say at most this many tokens per second of its audio (fast speech is about
# five): Whisper on a short stretch of noise can loop until its 448-token limit at every
# fallback temperature, which took 24 s for one second of audio and stalled the session.
LIVE_TOKENS_PER_SECOND = 10
LIVE_TOKENS_MARGIN = 20
# With `vad: auto`, files longer than this are filtered by Silero VAD first, so long silences
# produce no invented text; short clips are decoded whole (VAD could clip their first word).
VAD_AUTO_SECONDS = 30.0


class WhisperRunner:
    def __init__(self, model: str, *, device: str, compute_type: str, threads: int, beam_size: int, log: RunnerLog) -> None:
        self.model_name = model
        self.beam_size = beam_size
        self._log = log
        started = time.monotonic()
        self._model = WhisperModel(model, device=device, compute_type=compute_type, cpu_threads=threads, num_workers=1)
        self.load_seconds = time.monotonic() - started
        self.multilingual = bool(self._model.model.is_multilingual)

    def describe(self) -> dict[str, Any]:
        return {"runner": "faster-whisper", "model": self.model_name, "multilingual": self.multilingual, "load_seconds": round(self.load_seconds, 4)}

    def transcribe(self, request: TranscribeRequest) -> dict[str, Any]:
        log = self._log.bind(**request.context)
        audio = pcm16_samples(request.pcm16) if request.pcm16 is not None else read_prepared_wav(request.audio)
        audio_seconds = len(audio) / SAMPLE_RATE
        # A live session's passes come several a second: their lines are debug, and a partial is
        # a greedy guess at one temperature (the final settles it with the full search).
        note = log.debug if request.live else log.info
        partial = request.live == "partial"
        language = request.language
        if not self.multilingual:
            if request.task == "translate":
                raise RequestError(f"{self.model_name} is an English-only model and cannot translate; use a multilingual model")
            if language not in (None, "en"):
                raise RequestError(f"{self.model_name} is an English-only model; language {language} needs a multilingual model")
            language = "en"
        vad = request.vad == "on" or (request.vad == "auto" and audio_seconds > VAD_AUTO_SECONDS)
        temperature: Any = FALLBACK_TEMPERATURES if not request.temperature else request.temperature
        if partial:
            temperature = request.temperature or 0.0
        elif request.live and not request.temperature:
            temperature = LIVE_FALLBACK_TEMPERATURES
        note("inference_started", audio_seconds=round(audio_seconds, 3), task=request.task, language=language or "auto", vad_filter=vad)
        started = time.monotonic()
        segments, info = self._model.transcribe(
            audio,
            language=language,
            task=request.task,
            beam_size=1 if partial else (request.beam_size or self.beam_size),
            temperature=temperature,
            initial_prompt=request.initial_prompt,
            hotwords=request.hotwords,
            word_timestamps=request.word_timestamps,
            vad_filter=vad,
            max_new_tokens=min(224, int(audio_seconds * LIVE_TOKENS_PER_SECOND) + LIVE_TOKENS_MARGIN) if request.live else None,
        )
        # `segments` is a generator: decoding happens while it is read.
        decoded = [self._segment(segment) for segment in segments]
        inference_seconds = time.monotonic() - started
        note(
            "inference_finished",
            inference_seconds=round(inference_seconds, 4),
            audio_seconds=round(audio_seconds, 3),
            language=info.language,
            language_probability=round(float(info.language_probability), 4),
            segment_count=len(decoded),
        )
        return {
            "language": info.language,
            "language_probability": float(info.language_probability),
            "duration": audio_seconds,
            "speech_seconds": float(info.duration_after_vad) if vad else audio_seconds,
            "segments": decoded,
            "timings": {"inference_seconds": inference_seconds, "audio_seconds": audio_seconds},
        }

    @staticmethod
    def _segment(segment: Any) -> dict[str, Any]:
        words = [
            {"word": word.word.strip(), "start": round(word.start, 3), "end": round(word.end, 3), "probability": round(word.probability, 4)}
            for word in (segment.words or [])
            if word.word.strip()
        ]
        return {
            "id": segment.id,
            "start": round(segment.start, 3),
            "end": round(segment.end, 3),
            "text": segment.text.strip(),
            "avg_logprob": segment.avg_logprob,
            "compression_ratio": segment.compression_ratio,
            "no_speech_prob": segment.no_speech_prob,
            "temperature": segment.temperature,
            "words": words,
        }
