"""Drives a Dalston gateway with the original Dalston's own Python SDK (`dalston_sdk`, vendored at
a pinned commit in Tests/Vendor/dalston-original), as a user moving from the Python Dalston runs it.

usage: original_sdk_check.py BASE_URL API_KEY FIXTURES_DIR

Every call checks what the SDK parsed, not only that it did not raise. Prints each check; exits 1
on the first failure.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from dalston_sdk import Dalston, JobStatus
from dalston_sdk.exceptions import DalstonError, NotFoundError, ValidationError

from checks import check, run  # Tests/Scripts/checks.py


def main() -> int:
    base_url, api_key, fixtures = sys.argv[1:4]
    clips = Path(fixtures) / "eval-audio" / "clips"
    client = Dalston(base_url=base_url, api_key=api_key)

    check("health", client.health().status in ("healthy", "ok"), client.health())

    # transcribe() sends lite_profile=core, language=auto, model=auto and the SDK's defaults.
    job = client.transcribe(file=str(clips / "jfk.wav"))
    check("transcribe() is accepted", job.status in (JobStatus.PENDING, JobStatus.RUNNING), job)
    # The first job may wait for the engines' Whisper runners to load: on two cores shared with
    # the rest of the suite that has taken over two minutes (seen once in a full run).
    done = client.wait_for_completion(job.id, timeout=300)
    check("wait_for_completion() ends completed", done.status == JobStatus.COMPLETED, done)
    text = done.transcript.text if done.transcript else ""
    check("the transcript is Whisper's", "ask not what your country can do for you" in text, text)
    check("with words and segments", bool(done.transcript.words) and bool(done.transcript.segments), done.transcript)
    fetched = client.get_job(job.id)
    check("get_job()", fetched.id == job.id and fetched.status == JobStatus.COMPLETED, fetched)
    listed = client.list_jobs(limit=10)
    check("list_jobs()", any(summary.id == job.id for summary in listed.jobs), listed)

    segment_only = client.wait_for_completion(
        client.transcribe(file=str(clips / "sr_english.wav"), timestamps_granularity="segment", retention=-1).id, timeout=120)
    check("timestamps_granularity=segment leaves the words out",
          segment_only.status == JobStatus.COMPLETED and not segment_only.transcript.words and segment_only.transcript.segments, segment_only)
    text_only = client.wait_for_completion(client.transcribe(file=str(clips / "sr_english.wav"), timestamps_granularity="none").id, timeout=120)
    check("timestamps_granularity=none: the text alone",
          text_only.transcript.text and not text_only.transcript.words and not text_only.transcript.segments, text_only)

    try:
        client.transcribe(file=str(clips / "sr_english.wav"), lite_profile="compliance")
        raise AssertionError("lite_profile=compliance was accepted")
    except ValidationError as error:
        check("lite_profile=compliance is a 400 naming PII", "PII" in str(error), error)

    # Diarization, as the SDK asks for it and reads it back (its Speaker objects, speaker_id).
    two = Path(fixtures) / "speakers" / "test_merged_16k.wav"
    diarized = client.wait_for_completion(client.transcribe(file=str(two), speaker_detection="diarize", num_speakers=2).id, timeout=120)
    speakers = diarized.transcript.speakers or []
    check("speaker_detection=diarize: two Speaker objects, speaker_id on words and segments",
          [speaker.id for speaker in speakers] == ["SPEAKER_00", "SPEAKER_01"]
          and all(word.speaker_id for word in diarized.transcript.words) and all(s.speaker_id for s in diarized.transcript.segments), diarized)
    profiled = client.wait_for_completion(client.transcribe(file=str(two), lite_profile="speaker").id, timeout=120)
    check("lite_profile=speaker diarizes", len(profiled.transcript.speakers or []) == 2, profiled)
    stereo = Path(fixtures) / "speakers" / "test_stereo_speakers.wav"
    split = client.wait_for_completion(client.transcribe(file=str(stereo), speaker_detection="per_channel").id, timeout=120)
    check("speaker_detection=per_channel on the original's stereo file: a Speaker per channel, the left's words first",
          [speaker.id for speaker in split.transcript.speakers or []] == ["SPEAKER_00", "SPEAKER_01"]
          and split.transcript.segments[0].speaker_id == "SPEAKER_00" and split.transcript.segments[-1].speaker_id == "SPEAKER_01", split)

    # A long job, cancelled while it runs: 200 with `cancelling`, then it ends cancelled.
    long_job = client.transcribe(file=str(clips / "jfk.wav"), model="faster-whisper-base")
    cancelled = client.cancel(long_job.id)
    check("cancel() answers cancelling (or cancelled)", cancelled.status in (JobStatus.CANCELLING, JobStatus.CANCELLED), cancelled)
    deadline = time.monotonic() + 60
    while client.get_job(long_job.id).status not in (JobStatus.CANCELLED, JobStatus.COMPLETED, JobStatus.FAILED) and time.monotonic() < deadline:
        time.sleep(0.2)
    check("the cancelled job ends cancelled", client.get_job(long_job.id).status == JobStatus.CANCELLED, client.get_job(long_job.id))
    check("cancel() again says cancelled", client.cancel(long_job.id).status == JobStatus.CANCELLED)
    try:
        client.cancel(job.id)
        raise AssertionError("a completed job was cancelled")
    except DalstonError as error:
        check("cancel() of a completed job is a 409", error.status_code == 409, error)
    try:
        client.get_job("00000000-0000-0000-0000-000000000000")
        raise AssertionError("a job that does not exist was found")
    except NotFoundError:
        check("get_job() of no job raises NotFoundError", True)

    srt = client.export(job.id, format="srt")
    check("export(srt)", "-->" in str(srt), srt)
    exported = client.export(job.id, format="json")
    check("export(json)", "ask not" in (exported if isinstance(exported, str) else json.dumps(exported)), exported)

    engines = client.list_engines()
    whisper = next((engine for engine in engines.engines if engine.id == "faster-whisper"), None)
    check("list_engines() shows the Whisper engine running", whisper is not None and whisper.status == "running" and whisper.stage == "transcribe", engines)
    models = client.list_models()
    check("list_models() lists the installed models", {"faster-whisper-tiny.en", "faster-whisper-base"} <= {model.id for model in models.models}, models)
    base = client.get_model("faster-whisper-base")
    check("get_model()", base.capabilities.word_timestamps and "es" in (base.capabilities.languages or []), base)
    token = client.create_session_token(ttl=120)
    check("create_session_token() mints a realtime token", token.token.startswith("tk_") and token.scopes == ["realtime"], token)
    status = client.get_realtime_status()
    check("get_realtime_status()", status is not None, status)
    sessions = client.list_realtime_sessions()
    check("list_realtime_sessions()", sessions is not None, sessions)
    print("ALL CHECKS PASSED")
    return 0


if __name__ == "__main__":
    run(main)
