"""Speaker diarization through every API shape, on recordings whose turns are known.

usage: diarization_check.py BASE API_KEY FIXTURES
Recordings: the original Dalston's two-speaker test file (Tests/Fixtures/speakers), and a
three-speaker conversation assembled here from three different real speakers of
Tests/Fixtures/eval-audio (JFK, a LibriVox narrator, the TIMIT sample speaker), with the
reference turns known from the assembly. Diarization error rate is scored on 10 ms frames with a
0.25 s collar around reference boundaries and the best mapping of found to true speakers.
Per channel: the original's stereo file (one voice per channel), and a two-channel call assembled
here with JFK on the left and the LibriVox narrator on the right talking over him, scored per
channel against the evaluation set's references.
Prints `ok:` per check, `DER <name> <value>` and `WER <name> <value>` lines, and `ALL CHECKS PASSED`.
"""

from __future__ import annotations

import array
import base64
import io
import itertools
import json
import re
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import httpx

from checks import check, run  # Tests/Scripts/checks.py

from text_metrics import edit_distance

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


def stereo_wav(left: bytes, right: bytes, right_starts: float) -> bytes:
    """16 kHz stereo: `left` from the start, `right` from `right_starts` seconds (they may overlap)."""
    lead = int(right_starts * RATE)
    left_samples = array.array("h", left)
    right_samples = array.array("h", b"\0\0" * lead + right)
    frames = max(len(left_samples), len(right_samples))
    left_samples.extend([0] * (frames - len(left_samples)))
    right_samples.extend([0] * (frames - len(right_samples)))
    interleaved = array.array("h", [0] * (2 * frames))
    interleaved[0::2] = left_samples
    interleaved[1::2] = right_samples
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(interleaved.tobytes())
    return buffer.getvalue()


def mono_mix(stereo: bytes) -> bytes:
    """The 16-bit PCM of a two-channel WAV mixed into one channel."""
    with wave.open(io.BytesIO(stereo), "rb") as clip:
        samples = array.array("h", clip.readframes(clip.getnframes()))
    return array.array("h", [(left + right) // 2 for left, right in zip(samples[0::2], samples[1::2])]).tobytes()


def flac(wav: bytes) -> bytes:
    """The same audio as FLAC (whose channels only FFmpeg reads), written to a file so that its
    header says how long it is."""
    with tempfile.TemporaryDirectory() as directory:
        target = Path(directory) / "audio.flac"
        subprocess.run(["ffmpeg", "-v", "error", "-f", "wav", "-i", "pipe:0", str(target)], input=wav, capture_output=True, check=True)
        return target.read_bytes()


def data_url(audio: bytes, mime: str = "audio/wav") -> str:
    return f"data:{mime};base64," + base64.b64encode(audio).decode()


def submit_openai_known(base: str, key: str, audio: bytes, clips: Path) -> bool:
    """A diarize request with known speakers, then its job through the native API: the known
    speaker's label is its name, and SRT's voices say it."""
    headers = {"Authorization": f"Bearer {key}"}
    reply = httpx.post(f"{base}/v1/audio/transcriptions", headers=headers, files={"file": ("c.wav", audio, "audio/wav")},
                       data={"model": "gpt-4o-transcribe-diarize", "response_format": "json", "known_speaker_names[]": "president",
                             "known_speaker_references[]": data_url(wav_bytes(read(clips / "jfk.wav", 5.3, 10.7)))}, timeout=120)
    assert reply.status_code == 200, reply.text
    jobs = httpx.get(f"{base}/v1/audio/transcriptions?limit=1", headers=headers, timeout=30).json()["jobs"]
    job = httpx.get(f"{base}/v1/audio/transcriptions/{jobs[0]['id']}", headers=headers, timeout=30).json()
    srt = httpx.get(f"{base}/v1/audio/transcriptions/{jobs[0]['id']}/export/srt", headers=headers, timeout=30).text
    labels = [speaker["label"] for speaker in job.get("speakers") or []]
    return labels[:1] == ["president"] and "Speaker 2" in labels and "<v president>" in srt


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("mr.", "mister")).split()


def wer(reference: str, hypothesis: str) -> float:
    said = words(reference)
    return edit_distance(said, words(hypothesis)) / max(1, len(said))


def reference_text(fixtures: Path, clip: str) -> str:
    for line in (fixtures / "eval-audio" / "manifest.tsv").read_text().splitlines()[1:]:
        fields = line.split("\t")
        if fields[0] == f"clips/{clip}":
            return fields[4]
    raise KeyError(clip)


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
    # Known speakers: a held-out clip of the narrator (as FLAC), one of JFK, and the nearest other
    # voice of the evaluation set, who is not in the conversation: the first two are named, the
    # TIMIT speaker (not named) gets the first letter, the stranger names nobody.
    known = openai_client.audio.transcriptions.create(
        model="gpt-4o-transcribe-diarize", file=("conversation.wav", wav_bytes(audio), "audio/wav"), response_format="diarized_json",
        chunking_strategy="auto", known_speaker_names=["narrator", "president", "stranger"],
        known_speaker_references=[data_url(flac(wav_bytes(read(clips / "ps_sas_0880.wav"))), "audio/flac"),
                                  data_url(wav_bytes(read(clips / "jfk.wav", 5.3, 10.7))),
                                  data_url(wav_bytes(read(clips / "sb_example1.wav")))])
    said = [segment.speaker for segment in known.segments]
    check("known_speaker_names[] with references: the known voices named, the other a letter, the stranger nobody",
          said and said[0] == "president" and set(said) == {"president", "narrator", "A"}, said)
    diarized_known = submit_openai_known(base, key, wav_bytes(audio), clips)
    check("the native job of such a request names them too (speakers' label, SRT voices)",
          diarized_known, diarized_known)
    clip = data_url(wav_bytes(read(clips / "jfk.wav", 0, 4)))
    for fields, field in [({"known_speaker_names[]": "x", "known_speaker_references[]": data_url(b"hello, not audio")}, "known_speaker_references[]"),
                          ({"known_speaker_names[]": "x", "known_speaker_references[]": "https://example.com/a.wav"}, "known_speaker_references[]"),
                          ({"known_speaker_names[]": "x", "known_speaker_references[]": data_url(wav_bytes(read(clips / "jfk.wav", 0, 1)))}, "known_speaker_references[]"),
                          ({"known_speaker_names[]": ["x", "y"], "known_speaker_references[]": clip}, "known_speaker_references[]"),
                          ({"known_speaker_names[]": ["a", "b", "c", "d", "e"], "known_speaker_references[]": [clip] * 5}, "known_speaker_names[]")]:
        reply = httpx.post(f"{base}/v1/audio/transcriptions", headers=headers, files={"file": ("a.wav", merged, "audio/wav")},
                           data={"model": "gpt-4o-transcribe-diarize", "response_format": "diarized_json", **fields}, timeout=30)
        check(f"known speakers: {field} refused with OpenAI's 400 naming it",
              reply.status_code == 400 and reply.json()["error"]["param"] == field, reply.text[:300])
    reply = httpx.post(f"{base}/v1/audio/transcriptions", headers=headers, files={"file": ("a.wav", merged, "audio/wav")},
                       data={"model": "whisper-1", "known_speaker_names[]": "x", "known_speaker_references[]": clip}, timeout=30)
    check("known_speaker_names[] with another model is a 400 naming it",
          reply.status_code == 400 and reply.json()["error"]["param"] == "known_speaker_names[]", reply.text[:300])
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

    per_channel(base, key, Path(fixtures), eleven)

    print("ALL CHECKS PASSED")
    return 0


def per_channel(base: str, key: str, fixtures: Path, eleven) -> None:
    """One speaker per channel: native, ElevenLabs' transcripts[] and combined, and bad input."""
    headers = {"Authorization": f"Bearer {key}"}
    clips = fixtures / "eval-audio" / "clips"

    # The original's stereo file: the left speaks first, the right after a pause.
    stereo = (fixtures / "speakers" / "test_stereo_speakers.wav").read_bytes()
    job = submit(base, key, "test_stereo_speakers.wav", stereo, speaker_detection="per_channel")
    speakers = {speaker["id"]: speaker for speaker in job["speakers"]}
    check("per_channel on the original's stereo file: a speaker per channel, in the original's shape",
          sorted(speakers) == ["SPEAKER_00", "SPEAKER_01"] and speakers["SPEAKER_00"]["channel"] == 0 and speakers["SPEAKER_01"]["channel"] == 1
          and all(speaker["total_duration"] > 1 for speaker in speakers.values()), job["speakers"])
    check("its segments are in time order, the left channel's first, each with its channel's speaker",
          job["segments"][0]["speaker"] == "SPEAKER_00" and job["segments"][-1]["speaker"] == "SPEAKER_01"
          and [s["start"] for s in job["segments"]] == sorted(s["start"] for s in job["segments"])
          and all(s["speaker"] == f"SPEAKER_0{s['channel']}" for s in job["segments"]), job["segments"])
    check("the right channel's words start after the left's pause (3.44 s)",
          min(w["start"] for w in job["words"] if w["channel"] == 1) > 3.0 and max(w["end"] for w in job["words"] if w["channel"] == 0) < 3.0,
          job["words"])

    # A call: JFK on the left; the narrator on the right from 3 s, talking over him.
    jfk, narrator = read(clips / "jfk.wav"), read(clips / "ps_sas_0920.wav")
    call = stereo_wav(jfk, narrator, 3.0)
    job = submit(base, key, "call.flac", flac(call), speaker_detection="per_channel")
    heard = {channel: " ".join(w["text"] for w in job["words"] if w["channel"] == channel) for channel in (0, 1)}
    left_wer = wer(reference_text(fixtures, "jfk.wav"), heard[0])
    right_wer = wer(reference_text(fixtures, "ps_sas_0920.wav"), heard[1])
    print(f"WER call-left {left_wer:.4f}")
    print(f"WER call-right {right_wer:.4f}")
    check("overlapping speech on two channels (FLAC): each channel heard on its own, word error under 15 % each",
          left_wer < 0.15 and right_wer < 0.15, heard)
    srt = httpx.get(f"{base}/v1/audio/transcriptions/{job['id']}/export/srt", headers=headers, timeout=30).text
    check("SRT names each channel's speaker", "<v Speaker 1>" in srt and "<v Speaker 2>" in srt, srt[:300])

    # ElevenLabs' SDK: use_multi_channel=True gives transcripts[], one per channel.
    converted = eleven.speech_to_text.convert(file=("call.wav", call, "audio/wav"), model_id="scribe_v1", use_multi_channel=True)
    transcripts = getattr(converted, "transcripts", None) or []
    check("ElevenLabs SDK use_multi_channel=True: transcripts[] with channel_index 0 and 1 and a transcription_id",
          [t.channel_index for t in transcripts] == [0, 1] and converted.transcription_id, converted)
    if len(transcripts) == 2:
        check("each channel's transcript has its own words, speaker_id and channel_index",
              all(w.channel_index == index and w.speaker_id == f"speaker_{index}" for index, t in enumerate(transcripts) for w in t.words)
              and wer(reference_text(fixtures, "jfk.wav"), transcripts[0].text) < 0.15
              and wer(reference_text(fixtures, "ps_sas_0920.wav"), transcripts[1].text) < 0.15,
              [t.text for t in transcripts])
        fetched = eleven.speech_to_text.transcripts.get(converted.transcription_id)
        check("GET of the transcript gives the same transcripts[]", [t.text for t in fetched.transcripts] == [t.text for t in transcripts], fetched)
    combined = eleven.speech_to_text.convert(
        file=("call.wav", call, "audio/wav"), model_id="scribe_v1", use_multi_channel=True, multichannel_output_style="combined")
    spoken = [w for w in combined.words if w.type == "word"]
    check("multichannel_output_style=combined: one transcript, words of both channels in time order with channel_index",
          {w.channel_index for w in spoken} == {0, 1} and [w.start for w in spoken] == sorted(w.start for w in spoken), combined.text)

    # Bad input: 400 naming the field.
    mono = read(clips / "jfk.wav")
    reply = httpx.post(f"{base}/v1/speech-to-text", headers=headers, files={"file": ("mono.wav", wav_bytes(mono), "audio/wav")},
                       data={"model_id": "scribe_v1", "use_multi_channel": "true"}, timeout=30)
    check("ElevenLabs use_multi_channel on mono audio is a 400 naming it", reply.status_code == 400 and "use_multi_channel" in reply.text, reply.text)
    six = subprocess.run(["ffmpeg", "-v", "error", "-f", "wav", "-i", "pipe:0", "-af", "pan=5.1|c0=c0|c1=c1|c2=c0|c3=c1|c4=c0|c5=c1", "-f", "wav", "pipe:1"],
                         input=call, capture_output=True, check=True).stdout
    reply = httpx.post(f"{base}/v1/speech-to-text", headers=headers, files={"file": ("six.wav", six, "audio/wav")},
                       data={"model_id": "scribe_v1", "use_multi_channel": "true"}, timeout=30)
    check("ElevenLabs use_multi_channel on six channels is a 400 naming it (ElevenLabs takes five)",
          reply.status_code == 400 and "use_multi_channel" in reply.text and "5" in reply.text, reply.text)
    for fields, field in [({"model_id": "scribe_v1", "use_multi_channel": "true", "diarize": "true"}, "diarize"),
                          ({"model_id": "scribe_v1", "multichannel_output_style": "combined"}, "multichannel_output_style"),
                          ({"model_id": "scribe_v1", "use_multi_channel": "maybe"}, "use_multi_channel")]:
        reply = httpx.post(f"{base}/v1/speech-to-text", headers=headers, files={"file": ("call.wav", call, "audio/wav")}, data=fields, timeout=30)
        check(f"ElevenLabs {fields} is a 400 naming {field}", reply.status_code == 400 and field in reply.text, reply.text)
    reply = httpx.post(f"{base}/v1/audio/transcriptions", headers=headers, files={"file": ("call.wav", call, "audio/wav")},
                       data={"speaker_detection": "per_channel", "num_speakers": "2"}, timeout=30)
    check("per_channel with num_speakers is a 400 naming it", reply.status_code == 400 and "num_speakers" in reply.text, reply.text)


if __name__ == "__main__":
    run(main)
