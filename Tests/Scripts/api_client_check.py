"""Drives a running Dalston gateway (`dalston up`) with the official `openai` and `elevenlabs`
Python SDKs and plain HTTP, as the people switching to it would.

usage: api_client_check.py BASE_URL API_KEY WAV_FILE EXPECTED_WORD...

WAV_FILE is speech saying the expected words. The script encodes it with ffmpeg into MP3, M4A,
Ogg/Opus, FLAC and WebM, and checks every claim of docs/api.md it can: OpenAI response formats
and errors, the job lifecycle and exports (parsed by the `srt` and `webvtt-py` libraries), the
ElevenLabs SDK's calls, and formats. Prints one line per check; exits non-zero on the first
failure, with the reason.
"""
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import openai
import srt
import webvtt
from elevenlabs.client import ElevenLabs
from elevenlabs.core.api_error import ApiError

BASE, KEY, WAV, *WORDS = sys.argv[1:]
WORK = tempfile.mkdtemp(prefix="dalston-api-check-")


def check(name, condition, detail=""):
    if not condition:
        raise AssertionError(f"{name}: {detail}")
    print(f"ok: {name}")


def has_words(text):
    text = (text or "").lower()
    return all(word in text for word in WORDS)


def http(method, path, body=None, headers=None, key=KEY):
    request = urllib.request.Request(BASE + path, data=body, method=method, headers={"Authorization": f"Bearer {key}", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def upload(path, fields=None, filename=None):
    boundary = uuid.uuid4().hex
    body = b""
    for name, value in (fields or {}).items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    with open(path, "rb") as audio:
        content = audio.read()
    body += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename or os.path.basename(path)}"\r\n\r\n'.encode()
    body += content + f"\r\n--{boundary}--\r\n".encode()
    return http("POST", "/v1/audio/transcriptions", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def wait(job_id, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, _, body = http("GET", f"/v1/audio/transcriptions/{job_id}")
        job = json.loads(body)
        if job.get("status") in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def encode(extension, *arguments):
    path = os.path.join(WORK, f"speech.{extension}")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", WAV, *arguments, path], check=True)
    return path


def openai_checks():
    client = openai.OpenAI(api_key=KEY, base_url=BASE + "/v1")
    with open(WAV, "rb") as audio:
        result = client.audio.transcriptions.create(model="whisper-1", file=audio)
    check("openai json: Transcription.text has the words", has_words(result.text), result)
    with open(WAV, "rb") as audio:
        text = client.audio.transcriptions.create(model="whisper-1", file=audio, response_format="text")
    check("openai text: a str with the words", isinstance(text, str) and has_words(text), repr(text)[:200])
    with open(WAV, "rb") as audio:
        subtitles = list(srt.parse(client.audio.transcriptions.create(model="whisper-1", file=audio, response_format="srt")))
    check("openai srt: parsed by srt", subtitles and has_words(" ".join(s.content for s in subtitles)), subtitles)
    with open(WAV, "rb") as audio:
        vtt = client.audio.transcriptions.create(model="whisper-1", file=audio, response_format="vtt")
    captions = webvtt.from_buffer(io.StringIO(vtt)).captions
    check("openai vtt: parsed by webvtt-py", captions and has_words(" ".join(c.text for c in captions)), vtt[:200])
    with open(WAV, "rb") as audio:
        verbose = client.audio.transcriptions.create(
            model="whisper-1", file=audio, response_format="verbose_json", timestamp_granularities=["word", "segment"], language="en",
            prompt="A test recording.", temperature=0)
    check("openai verbose_json with words and segments",
          verbose.language == "english" and verbose.duration > 0 and verbose.words and verbose.segments
          and all(w.end >= w.start for w in verbose.words) and has_words(verbose.text), verbose)
    with open(WAV, "rb") as audio:
        default = client.audio.transcriptions.create(model="whisper-1", file=audio, response_format="verbose_json")
    check("openai verbose_json defaults to segments only", default.segments and not default.words, default)
    with open(WAV, "rb") as audio:
        gpt = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=audio)
    check("openai gpt-4o-transcribe json", has_words(gpt.text), gpt)
    expect_openai_error("gpt-4o-transcribe refuses srt", openai.BadRequestError, "not compatible",
                        lambda audio: client.audio.transcriptions.create(model="gpt-4o-transcribe", file=audio, response_format="srt"))
    expect_openai_error("an unknown model is a 400 naming it", openai.BadRequestError, "unknown model",
                        lambda audio: client.audio.transcriptions.create(model="whisper-9", file=audio))
    expect_openai_error("a language the model lacks is a 400", openai.BadRequestError, "language",
                        lambda audio: client.audio.transcriptions.create(model="whisper-1", file=audio, language="fr"))
    expect_openai_error("logprobs (include[]) is refused, not dropped", openai.BadRequestError, "include",
                        lambda audio: client.audio.transcriptions.create(model="gpt-4o-transcribe", file=audio, include=["logprobs"]))
    not_audio = os.path.join(WORK, "notes.mp3")
    with open(not_audio, "w") as handle:
        handle.write("these are meeting notes, not audio\n" * 20)
    expect_openai_error("a text file named .mp3 is a 400", openai.BadRequestError, "unsupported",
                        lambda _: client.audio.transcriptions.create(model="whisper-1", file=open(not_audio, "rb")))
    large = os.path.join(WORK, "large.wav")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "anoisesrc=d=900:r=16000:a=0.01", "-ac", "1", large], check=True)
    expect_openai_error("over OpenAI's 25 MB is a 413", openai.APIStatusError, "25 MB",
                        lambda _: client.audio.transcriptions.create(model="whisper-1", file=open(large, "rb")), status=413)
    try:
        with open(WAV, "rb") as audio:
            openai.OpenAI(api_key="wrong", base_url=BASE + "/v1").audio.transcriptions.create(model="whisper-1", file=audio)
        raise AssertionError("a wrong key was accepted")
    except openai.AuthenticationError:
        print("ok: openai wrong key raises AuthenticationError")
    expect_openai_error("translations say no model translates", openai.BadRequestError, "translat",
                        lambda audio: client.audio.translations.create(model="whisper-1", file=audio))
    models = [model.id for model in client.models.list()]
    check("openai models.list has whisper-1 and Dalston's model", "whisper-1" in models and "pocketsphinx-en-us" in models, models)
    check("openai models.retrieve", client.models.retrieve("whisper-1").id == "whisper-1")


def expect_openai_error(name, kind, fragment, call, status=None):
    try:
        with open(WAV, "rb") as audio:
            call(audio)
    except kind as error:
        message = str(error)
        check(name, fragment.lower() in message.lower() and (status is None or error.status_code == status), message[:300])
        return
    raise AssertionError(f"{name}: no {kind.__name__}")


def lifecycle_checks():
    status, headers, body = upload(WAV, {"display_name": "First take", "language": "en"})
    created = json.loads(body)
    check("native create: 201 with a UUID id", status == 201 and str(uuid.UUID(created["id"])) == created["id"], body)
    job_id = created["id"]
    job = wait(job_id)
    check("native job completed with its model and name",
          job["status"] == "completed" and job["model"] == "pocketsphinx-en-us" and job["display_name"] == "First take" and has_words(job["text"]), job)
    status, _, body = http("PATCH", f"/v1/audio/transcriptions/{job_id}", json.dumps({"display_name": "Renamed"}).encode(), {"Content-Type": "application/json"})
    check("PATCH renames", status == 200 and json.loads(body)["display_name"] == "Renamed", body)
    status, _, body = http("PATCH", f"/v1/audio/transcriptions/{job_id}", json.dumps({"status": "failed"}).encode(), {"Content-Type": "application/json"})
    check("PATCH of another field is a 400 naming it", status == 400 and "status" in json.loads(body)["error"]["message"], body)
    status, _, body = http("GET", f"/v1/audio/transcriptions/{job_id}/export/srt?max_line_length=20&max_lines=1")
    cues = list(srt.parse(body.decode()))
    check("export srt: parsed, lines within max_line_length", cues and all(len(c.content.split("\n")) == 1 for c in cues)
          and all(len(c.content) <= 20 or " " not in c.content for c in cues) and has_words(" ".join(c.content for c in cues)), body[:300])
    status, _, body = http("GET", f"/v1/audio/transcriptions/{job_id}/export/vtt")
    check("export vtt: parsed by webvtt-py", status == 200 and webvtt.from_buffer(io.StringIO(body.decode())).captions, body[:200])
    status, _, body = http("GET", f"/v1/audio/transcriptions/{job_id}/export/txt")
    check("export txt", status == 200 and has_words(body.decode()), body[:200])
    status, _, body = http("GET", f"/v1/audio/transcriptions/{job_id}/export/json")
    check("export json", status == 200 and has_words(json.loads(body)["text"]), body[:200])
    status, _, body = upload(WAV, {"speaker_detection": "per_channel"})
    error = json.loads(body)["error"]
    check("per-channel transcription of mono audio is a 400 naming the field, in Dalston's error shape",
          status == 400 and error["code"] == "invalid_request" and "speaker_detection" in error["message"] and "one channel" in error["message"], body)
    status, _, body = upload(WAV, {"colour": "blue"})
    check("an unknown field is a 400 naming it", status == 400 and "colour" in json.loads(body)["error"]["message"], body)
    status, _, _ = http("DELETE", f"/v1/audio/transcriptions/{job_id}")
    check("DELETE of a finished job: 204", status == 204)
    status, _, _ = http("GET", f"/v1/audio/transcriptions/{job_id}")
    check("the deleted job is gone", status == 404)

    long_speech = os.path.join(WORK, "long.wav")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "8", "-i", WAV, long_speech], check=True)
    status, _, body = upload(long_speech)
    running = json.loads(body)["id"]
    status, _, body = http("DELETE", f"/v1/audio/transcriptions/{running}")
    check("DELETE of a running job: 409", status == 409 and json.loads(body)["error"]["code"] == "job_not_finished", body)
    status, _, body = http("POST", f"/v1/audio/transcriptions/{running}/cancel")
    check("POST .../cancel: 200 cancelling", status == 200 and json.loads(body)["status"] == "cancelling", body)
    check("the job ends cancelled", wait(running)["status"] == "cancelled")


def format_checks():
    encodings = {
        "mp3": ["-codec:a", "libmp3lame", "-b:a", "64k"], "m4a": ["-codec:a", "aac"], "ogg": ["-codec:a", "libopus"],
        "flac": [], "webm": ["-codec:a", "libopus"],
    }
    submitted = {}
    for extension, arguments in encodings.items():
        path = encode(extension, *arguments)
        status, _, body = upload(path, filename=f"speech.{extension}")
        check(f"{extension} accepted", status == 201, body)
        submitted[extension] = json.loads(body)["id"]
    for extension, job_id in submitted.items():
        job = wait(job_id)
        check(f"{extension} transcribed with the spoken words", job["status"] == "completed" and has_words(job["text"]), job)
    mp3 = encode("mp3", "-codec:a", "libmp3lame")
    truncated = os.path.join(WORK, "truncated.mp3")
    with open(mp3, "rb") as source, open(truncated, "wb") as target:
        target.write(source.read()[:600])
    status, _, body = upload(truncated)
    if status == 201:
        job = wait(json.loads(body)["id"])
        check("a truncated mp3 fails with the reason", job["status"] == "failed" and "truncated" in job["error"]["message"], job)
    else:
        check("a truncated mp3 is refused with a reason", status == 400 and json.loads(body)["error"]["message"], body)


def elevenlabs_checks():
    client = ElevenLabs(api_key=KEY, base_url=BASE)
    with open(WAV, "rb") as audio:
        result = client.speech_to_text.convert(file=audio, model_id="scribe_v1", additional_formats=[{"format": "srt"}])
    check("elevenlabs convert with an srt additional format",
          has_words(result.text) and result.additional_formats and list(srt.parse(result.additional_formats[0].content)), result)
    with open(WAV, "rb") as audio:
        ack = client.speech_to_text.convert(file=audio, model_id="scribe_v2", webhook=True)
    check("elevenlabs webhook=true is acknowledged at once", type(ack).__name__ == "SpeechToTextWebhookResponseModel" and ack.transcription_id, ack)
    deadline = time.time() + 60
    while True:
        try:
            fetched = client.speech_to_text.transcripts.get(transcription_id=ack.transcription_id)
            break
        except ApiError as error:
            if error.status_code != 404 or time.time() > deadline:
                raise
            time.sleep(0.5)
    check("elevenlabs transcripts.get after the webhook ack", has_words(fetched.text), fetched)
    client.speech_to_text.transcripts.delete(transcription_id=ack.transcription_id)
    try:
        client.speech_to_text.transcripts.get(transcription_id=ack.transcription_id)
        raise AssertionError("a deleted transcript was still there")
    except ApiError as error:
        check("elevenlabs transcripts.delete", error.status_code == 404)
    try:
        with open(WAV, "rb") as audio:
            client.speech_to_text.convert(file=audio, model_id="scribe_v9")
        raise AssertionError("an unknown model_id was accepted")
    except ApiError as error:
        check("elevenlabs unknown model_id is a 400", error.status_code == 400 and "model_id" in json.dumps(error.body), error.body)
    try:
        with open(WAV, "rb") as audio:
            client.speech_to_text.convert(file=audio, model_id="scribe_v1", use_multi_channel=True)
        raise AssertionError("use_multi_channel=true on mono audio was accepted")
    except ApiError as error:
        check("elevenlabs use_multi_channel=true on mono audio is a 400 naming it", error.status_code == 400 and "use_multi_channel" in json.dumps(error.body), error.body)


def main():
    status, _, body = http("GET", "/health")
    check("health says healthy", status == 200 and json.loads(body)["status"] == "healthy", body)
    openai_checks()
    lifecycle_checks()
    format_checks()
    elevenlabs_checks()
    print("ALL CHECKS PASSED")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
