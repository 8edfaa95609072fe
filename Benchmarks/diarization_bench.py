"""Speaker diarization: error rate, speaker counts, and what it costs, side by side in one run.

usage: .venv/bin/python3 Benchmarks/diarization_bench.py .build/release/dalston [--rounds N]

Against one `dalston up` (its defaults; Whisper tiny.en), on recordings whose turns are known:
- the diarization error rate (10 ms frames, 0.25 s collar, best speaker mapping) and the number
  of speakers found, on the original Dalston's two-speaker test file, a three-voice conversation
  assembled from real speakers, and every single-speaker recording of the evaluation set (where
  the right answer is one speaker);
- the diarizer's seconds of work per minute of audio (its runner's own inference time);
- a job's wall time with diarization against the same job without it, alternating, median of
  `--rounds` (the diarize stage runs beside transcription).
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
        print(f"  {name:28} {len({t[2] for t in turns})} speakers, found {len(job['speakers'])}   DER {error * 100:5.2f} %")
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
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
