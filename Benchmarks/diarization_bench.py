"""Speaker diarization: error rate, speaker counts, and what it costs, side by side in one run.

usage: .venv/bin/python3 Benchmarks/diarization_bench.py .build/release/dalston [--rounds N]

Against one `dalston up` (its defaults; Whisper tiny.en), on recordings whose turns are known:
- the diarization error rate (10 ms frames, 0.25 s collar, best speaker mapping) and the number
  of speakers found, on the original Dalston's two-speaker test file, a three-voice conversation
  assembled from real speakers, and every single-speaker recording of the evaluation set (where
  the right answer is one speaker);
- the diarizer's seconds of work per minute of audio (its runner's own inference time);
- a job's wall time with diarization against the same job without it, alternating, median of
  `--rounds` (the diarize stage runs beside transcription);
- known speakers: how much of the conversation's speech is named right when the narrator (by a
  clip the conversation does not contain) and JFK are named in advance;
- per channel: a two-channel call's job time against the same audio mixed into one channel.

When `pyannote.metrics` is importable (it is not a Dalston dependency: run this script with a
Python that has it, plus httpx), every DER is cross-checked with its `DiarizationErrorRate` (the
same 0.25 s collar each side, i.e. `collar=0.5`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Benchmarks"))
sys.path.insert(0, str(ROOT / "Tests" / "Scripts"))

import diarization_check as check  # noqa: E402  (Tests/Scripts: the DER and the conversation)
import whisper_compare as harness  # noqa: E402  (Benchmarks: starting dalston up, stopping it)

FIXTURES = ROOT / "Tests" / "Fixtures"
KEY = "bench"


def pyannote_der(reference: list[tuple[float, float, str]], hypothesis: list[tuple[float, float, str]]) -> float | None:
    """pyannote.metrics' DER of the same turns, or None when it is not installed."""
    try:
        from pyannote.core import Annotation, Segment
        from pyannote.metrics.diarization import DiarizationErrorRate
    except ImportError:
        return None
    truth, found = Annotation(), Annotation()
    for start, end, speaker in reference:
        truth[Segment(start, end)] = speaker
    for start, end, speaker in hypothesis:
        found[Segment(start, end)] = speaker
    return float(DiarizationErrorRate(collar=2 * check.COLLAR)(truth, found))


def named_right(reference: list[tuple[float, float, str]], hypothesis: list[tuple[float, float, str]], names: dict[str, str]) -> float:
    """The share of the reference speakers' speech whose segments carry their expected name."""
    total = right = 0.0
    for start, end, speaker in reference:
        expected = names.get(speaker)
        if expected is None:
            continue
        total += end - start
        for seg_start, seg_end, label in hypothesis:
            if label == expected:
                right += max(0.0, min(end, seg_end) - max(start, seg_start))
    return right / max(total, 1e-9)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dalston-diarize-bench-"))
    server = harness.dalston(arguments.binary, work, "faster-whisper-tiny.en")
    clips = FIXTURES / "eval-audio" / "clips"
    recordings = [
        ("original two-speaker file", (FIXTURES / "speakers" / "test_merged_16k.wav").read_bytes(),
         [(t["start"], t["end"], t["speaker"]) for t in __import__("json").loads((FIXTURES / "speakers" / "test_merged.turns.json").read_text())]),
    ]
    audio, reference = check.conversation(clips)
    recordings.append(("three-voice conversation", check.wav_bytes(audio), reference))
    print("Diarization error rate and speakers found (dalston up, its defaults):")
    for name, wav, turns in recordings:
        job = check.submit(server.base, KEY, "a.wav", wav, speaker_detection="diarize")
        found = [(s["start"], s["end"], s["speaker"]) for s in job["segments"]]
        error = check.der(turns, found, job["duration"])
        cross = pyannote_der(turns, found)
        crossed = f"   pyannote.metrics DER {cross * 100:5.2f} %" if cross is not None else "   (pyannote.metrics not installed)"
        print(f"  {name:28} {len({t[2] for t in turns})} speakers, found {len(job['speakers'])}   DER {error * 100:5.2f} %{crossed}")
    singles = []
    for clip in sorted(clips.glob("*.wav")):
        job = check.submit(server.base, KEY, clip.name, clip.read_bytes(), speaker_detection="diarize")
        singles.append(len(job["speakers"]))
    print(f"  single-speaker recordings    {sum(1 for count in singles if count == 1)} of {len(singles)} found as one speaker "
          f"(counts: {singles})")

    conversation = check.wav_bytes(audio)
    seconds = len(audio) / 2 / check.RATE
    times = {"transcription": [], "transcription + diarization": []}
    inference = []
    for _ in range(arguments.rounds):
        for label, fields in (("transcription", {}), ("transcription + diarization", {"speaker_detection": "diarize"})):
            started = time.monotonic()
            job = check.submit(server.base, KEY, "c.wav", conversation, **fields)
            times[label].append(time.monotonic() - started)
            if fields:
                tasks = check.httpx.get(f"{server.base}/v1/audio/transcriptions/{job['id']}/tasks", timeout=30).json()["tasks"]
                inference += [task["duration_ms"] / 1000 for task in tasks if task["stage"] == "diarize" and task["duration_ms"]]
    print(f"\nCost on the {seconds:.1f} s conversation, median of {arguments.rounds}, alternating:")
    baseline = statistics.median(times["transcription"])
    for label, values in times.items():
        print(f"  {label:30} {statistics.median(values):6.2f} s   ratio {statistics.median(values) / baseline:.3f}")
    if inference:
        per_minute = statistics.median(inference) / seconds * 60
        print(f"  the diarize task's own time: {statistics.median(inference):.2f} s, {per_minute:.2f} s per minute of audio")

    # Known speakers, through OpenAI's fields: the narrator by a clip the conversation does not
    # contain (ps_sas_0880), JFK by the second half of his clip.
    reply = check.httpx.post(
        f"{server.base}/v1/audio/transcriptions", headers={"Authorization": f"Bearer {KEY}"},
        files={"file": ("c.wav", conversation, "audio/wav")},
        data={"model": "gpt-4o-transcribe-diarize", "response_format": "diarized_json",
              "known_speaker_names[]": ["narrator", "president"],
              "known_speaker_references[]": [check.data_url(check.wav_bytes(check.read(clips / "ps_sas_0880.wav"))),
                                             check.data_url(check.wav_bytes(check.read(clips / "jfk.wav", 5.3, 10.7)))]}, timeout=300)
    segments = [(s["start"], s["end"], s["speaker"]) for s in reply.json()["segments"]]
    share = named_right(reference, segments, {"A": "president", "B": "narrator"})
    print(f"\nKnown speakers (narrator by a held-out clip, JFK): {share * 100:.1f} % of their speech named right; "
          f"the third voice called {sorted({label for _, _, label in segments} - {'president', 'narrator'})}")

    # Per channel: JFK left, the narrator right from 3 s (talking over him), against the mix.
    jfk, narrator = check.read(clips / "jfk.wav"), check.read(clips / "ps_sas_0920.wav")
    stereo = check.stereo_wav(jfk, narrator, 3.0)
    mixed = check.mono_mix(stereo)
    call_seconds = len(mixed) / 2 / check.RATE
    times = {"mixed, one channel": [], "per channel (2 tasks)": []}
    for _ in range(arguments.rounds):
        for label, wav, fields in (("mixed, one channel", check.wav_bytes(mixed), {}),
                                   ("per channel (2 tasks)", stereo, {"speaker_detection": "per_channel"})):
            started = time.monotonic()
            check.submit(server.base, KEY, "call.wav", wav, **fields)
            times[label].append(time.monotonic() - started)
    print(f"\nPer-channel cost on the {call_seconds:.1f} s two-channel call, median of {arguments.rounds}, alternating:")
    baseline = statistics.median(times["mixed, one channel"])
    for label, values in times.items():
        print(f"  {label:30} {statistics.median(values):6.2f} s   ratio {statistics.median(values) / baseline:.3f}")
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
