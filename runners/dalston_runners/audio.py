"""Reads the prepare stage's output (16 kHz mono 16-bit PCM WAV) into float32 samples, without
decoding through FFmpeg again: Dalston's audio-prepare engine already normalised it."""

from __future__ import annotations

import wave

import numpy as np

from .protocol import RequestError

SAMPLE_RATE = 16_000


def read_prepared_wav(path: str) -> np.ndarray:
    try:
        with wave.open(path, "rb") as reader:
            if reader.getframerate() != SAMPLE_RATE or reader.getnchannels() != 1 or reader.getsampwidth() != 2:
                raise RequestError(
                    f"{path} is not 16 kHz mono 16-bit PCM ({reader.getframerate()} Hz, "
                    f"{reader.getnchannels()} channels, {8 * reader.getsampwidth()} bits); the audio-prepare stage writes that"
                )
            frames = reader.readframes(reader.getnframes())
    except FileNotFoundError:
        raise RequestError(f"audio file {path} does not exist", permanent=False) from None
    except (wave.Error, EOFError) as error:
        raise RequestError(f"audio file {path} is not a readable WAV file: {error}") from None
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0


def pcm16_samples(data: bytes) -> np.ndarray:
    """16-bit little-endian samples (a live session's audio) as float32 in [-1, 1)."""
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
