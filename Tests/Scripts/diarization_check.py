"""Speaker diarization through every API shape, on recordings whose turns are known.

usage: diarization_check.py BASE API_KEY FIXTURES
Recordings: the original Dalston's two-speaker test file (Tests/Fixtures/speakers), and a
three-speaker conversation assembled here from three different real speakers of
Tests/Fixtures/eval-audio (JFK, a LibriVox narrator, the TIMIT sample speaker), with the
reference turns known from the assembly. Diarization error rate is scored on 10 ms frames with a
0.25 s collar around reference boundaries and the best mapping of found to true speakers.
Prints `ok:` per check, `DER <name> <value>` lines, and `ALL CHECKS PASSED`.
"""

from __future__ import annotations

import io
import itertools
import json
import sys
import time
import wave
from pathlib import Path

import httpx

from checks import check, run  # Tests/Scripts/checks.py

RATE = 16_000
FRAME = 0.01
COLLAR = 0.25


def read(path: Path, start: float = 0.0, end: float | None = None) -> bytes:
    with wave.open(str(path), "rb") as clip:
        assert clip.getframerate() == RATE and clip.getnchannels() == 1 and clip.getsampwidth() == 2, path
        frames = clip.readframes(clip.getnframes())
    first = int(start * RATE) * 2
    last = len(frames) if end is None else int(end * RATE) * 2
    return frames[first:last]


def conversation(clips: Path) -> tuple[bytes, list[tuple[float, float, str]]]:
    """Three voices taking turns, 0.6 s of silence between turns: JFK, the LibriVox narrator of
    the ps_sas clips (one reader throughout), the TIMIT speaker."""
    turns = [
        ("A", clips / "jfk.wav", 0.3, 4.4), ("B", clips / "ps_sas_0870.wav", 0.0, 3.6), ("C", clips / "ds_ldc93s1.wav", 0.0, 2.9),
        ("A", clips / "jfk.wav", 5.3, 10.7), ("B", clips / "ps_sas_0920.wav", 0.0, 6.0),
    ]
    gap = b"\0\0" * int(0.6 * RATE)
    audio = b""
    reference = []
    for speaker, path, start, end in turns:
        piece = read(path, start, end)
        begin = len(audio) / 2 / RATE
        audio += piece
        reference.append((begin, len(audio) / 2 / RATE, speaker))
        audio += gap
    return audio, reference


def wav_bytes(pcm: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm)
    return buffer.getvalue()


def der(reference: list[tuple[float, float, str]], hypothesis: list[tuple[float, float, str]], duration: float) -> float:
    frames = int(duration / FRAME) + 1
    truth = [None] * frames
    found = [None] * frames
    for start, end, speaker in reference:
        for index in range(int(start / FRAME), min(frames, int(end / FRAME))):
            truth[index] = speaker
    for start, end, speaker in hypothesis:
        for index in range(int(start / FRAME), min(frames, int(end / FRAME))):
            found[index] = speaker
    ignored = set()
    for start, end, _ in reference:
        for edge in (start, end):
            ignored.update(range(max(0, int((edge - COLLAR) / FRAME)), min(frames, int((edge + COLLAR) / FRAME))))
    scored = [index for index in range(frames) if index not in ignored]
    total = sum(1 for index in scored if truth[index] is not None)
    true_speakers = sorted({speaker for _, _, speaker in reference})
    found_speakers = sorted({speaker for _, _, speaker in hypothesis})
    best = None
    padded = found_speakers + [None] * max(0, len(true_speakers) - len(found_speakers))
    for order in itertools.permutations(padded, len(true_speakers)):
        mapping = {found: true for found, true in zip(order, true_speakers) if found is not None}
        errors = 0
        for index in scored:
            said, heard = truth[index], found[index]
            if said is None and heard is None:
                continue
            if said is None or heard is None or mapping.get(heard) != said:
                errors += 1
        best = errors if best is None else min(best, errors)
    return (best or 0) / max(1, total)


def submit(base: str, key: str, name: str, audio: bytes, **fields) -> dict:
    headers = {"Authorization": f"Bearer {key}"}
    reply = httpx.post(f"{base}/v1/audio/transcriptions", headers=headers, files={"file": (name, audio, "audio/wav")},
                       data={key: str(value) for key, value in fields.items()}, timeout=60)
    assert reply.status_code == 201, f"{name}: {reply.status_code} {reply.text}"
    job_id = reply.json()["id"]
    deadline = time.monotonic() + 240
    while True:
        job = httpx.get(f"{base}/v1/audio/transcriptions/{job_id}", headers=headers, timeout=30).json()
        if job["status"] in ("completed", "failed", "cancelled"):
            assert job["status"] == "completed", job
            return job
        assert time.monotonic() < deadline, f"{name} did not finish: {job}"
        time.sleep(0.5)


def main() -> int:
    base, key, fixtures = sys.argv[1:4]
    headers = {"Authorization": f"Bearer {key}"}
    clips = Path(fixtures) / "eval-audio" / "clips"
    merged = (Path(fixtures) / "speakers" / "test_merged_16k.wav").read_bytes()
    merged_reference = json.loads((Path(fixtures) / "speakers" / "test_merged.turns.json").read_text())

    # Two speakers: the original Dalston's own test file.
    job = submit(base, key, "test_merged.wav", merged, speaker_detection="diarize")
    hypothesis = [(segment["start"], segment["end"], segment["speaker"]) for segment in job["segments"]]
    score = der([(turn["start"], turn["end"], turn["speaker"]) for turn in merged_reference], hypothesis, job["duration"])
    print(f"DER two-speakers {score:.4f}")
    check("two speakers found in the original's two-speaker file, in the original's shape",
          [speaker["id"] for speaker in job["speakers"]] == ["SPEAKER_00", "SPEAKER_01"]
          and all(speaker["label"] and speaker["total_duration"] > 1 for speaker in job["speakers"]), job.get("speakers"))
    check("every word and segment has its speaker", all(word.get("speaker") for word in job["words"]) and all(s.get("speaker") for s in job["segments"]), job["words"][:3])
    check("diarization error rate under 15 % on two speakers", score < 0.15, score)
    tasks = httpx.get(f"{base}/v1/audio/transcriptions/{job['id']}/tasks", headers=headers, timeout=30).json()["tasks"]
    stages = {task["stage"]: task for task in tasks}
    check("the job ran a diarize stage beside transcribe, read by merge",
          stages.get("diarize", {}).get("status") == "completed" and f"{job['id']}_diarize" in stages["merge"]["dependencies"]
          and stages["diarize"]["dependencies"] == [f"{job['id']}_prepare"], tasks)

    # One speaker stays one.
    alone = submit(base, key, "jfk.wav", (clips / "jfk.wav").read_bytes(), speaker_detection="diarize")
    check("one voice is one speaker", [speaker["id"] for speaker in alone["speakers"]] == ["SPEAKER_00"], alone["speakers"])

    # Three speakers, count found, then given.
    audio, reference = conversation(clips)
    three = submit(base, key, "conversation.wav", wav_bytes(audio), speaker_detection="diarize")
    score = der(reference, [(s["start"], s["end"], s["speaker"]) for s in three["segments"]], three["duration"])
    print(f"DER three-speakers {score:.4f}")
    check("three speakers found in the three-voice conversation", len(three["speakers"]) == 3, three["speakers"])
    check("diarization error rate under 25 % on three speakers", score < 0.25, score)
    forced = submit(base, key, "conversation.wav", wav_bytes(audio), speaker_detection="diarize", num_speakers=2)
    check("num_speakers=2 gives two", len(forced["speakers"]) == 2, forced["speakers"])
    bounded = submit(base, key, "conversation.wav", wav_bytes(audio), speaker_detection="diarize", min_speakers=4, max_speakers=5)
    check("min_speakers=4 gives at least four", len(bounded["speakers"]) >= 4, bounded["speakers"])

    # Exports name the speakers.
    srt = httpx.get(f"{base}/v1/audio/transcriptions/{three['id']}/export/srt", headers=headers, timeout=30).text
    vtt = httpx.get(f"{base}/v1/audio/transcriptions/{three['id']}/export/vtt", headers=headers, timeout=30).text
    txt = httpx.get(f"{base}/v1/audio/transcriptions/{three['id']}/export/txt", headers=headers, timeout=30).text
    plain = httpx.get(f"{base}/v1/audio/transcriptions/{three['id']}/export/vtt?include_speakers=false", headers=headers, timeout=30).text
    check("SRT and VTT cues carry <v Speaker N>", "<v Speaker 1>" in srt and "<v Speaker 3>" in vtt, vtt[:400])
    check("txt has a paragraph per turn, named", txt.startswith("Speaker 1: ") and "\n\nSpeaker 2: " in txt, txt[:300])
    check("include_speakers=false leaves them out", "<v " not in plain, plain[:200])

    # ElevenLabs' SDK: diarize=True, speaker_id on words.
    from elevenlabs import ElevenLabs

    eleven = ElevenLabs(api_key=key, base_url=base)
    converted = eleven.speech_to_text.convert(file=("conversation.wav", wav_bytes(audio), "audio/wav"), model_id="scribe_v1", diarize=True)
    ids = {word.speaker_id for word in converted.words if word.type == "word"}
    check("ElevenLabs SDK diarize=True gives speaker_id on every word", None not in ids and len(ids) == 3, ids)

    # OpenAI's SDK: gpt-4o-transcribe-diarize with diarized_json.
    from openai import OpenAI

    openai_client = OpenAI(api_key=key, base_url=base + "/v1")
    diarized = openai_client.audio.transcriptions.create(
        model="gpt-4o-transcribe-diarize", file=("conversation.wav", wav_bytes(audio), "audio/wav"), response_format="diarized_json",
        chunking_strategy="auto")
    letters = [segment.speaker for segment in diarized.segments]
    check("OpenAI SDK diarized_json: segments with speakers A, B, C in order of appearance",
          letters and letters[0] == "A" and set(letters) == {"A", "B", "C"} and all(s.type == "transcript.text.segment" for s in diarized.segments),
          letters)
    refused = httpx.post(f"{base}/v1/audio/transcriptions", headers=headers, files={"file": ("a.wav", merged, "audio/wav")},
                         data={"model": "whisper-1", "response_format": "diarized_json"}, timeout=30)
    check("diarized_json with another model is OpenAI's 400 naming response_format",
          refused.status_code == 400 and refused.json()["error"]["param"] == "response_format", refused.text)

    # Bad input: 400 naming the field.
    for fields, field in [({"speaker_detection": "diarize", "num_speakers": "0"}, "num_speakers"),
                          ({"speaker_detection": "diarize", "min_speakers": "3", "max_speakers": "2"}, "min_speakers"),
                          ({"speaker_detection": "per_channel"}, "speaker_detection"),
                          ({"num_speakers": "2"}, "num_speakers")]:
        reply = httpx.post(f"{base}/v1/audio/transcriptions", headers=headers, files={"file": ("a.wav", merged, "audio/wav")}, data=fields, timeout=30)
        check(f"{fields} is a 400 naming {field}", reply.status_code == 400 and field in reply.text, reply.text)
    reply = httpx.post(f"{base}/v1/speech-to-text", headers=headers, files={"file": ("a.wav", merged, "audio/wav")},
                       data={"model_id": "scribe_v1", "num_speakers": "2"}, timeout=30)
    check("ElevenLabs num_speakers without diarize is a 400 naming it", reply.status_code == 400 and "num_speakers" in reply.text, reply.text)

    print("ALL CHECKS PASSED")
    return 0


if __name__ == "__main__":
    run(main)
