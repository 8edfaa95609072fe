"""Drives a running Dalston gateway's realtime endpoints with real clients: raw `websockets`
for the native protocol and OpenAI's events, the official `elevenlabs` SDK's realtime client,
and the official `openai` SDK's realtime connection.

usage: realtime_client_check.py HTTP_BASE API_KEY WAV_FILE REQUEST_ID EXPECTED_WORD...
Streams the WAV (16-bit mono) at four times real time. Prints one `ok:` line per check and a
last line `SESSIONS {json}` with the session ids; exits non-zero with the reason on failure.
"""
import asyncio
import audioop
import base64
import json
import sys
import time
import wave

import websockets

SPEED = 4.0


def pcm(wav_path: str, rate: int) -> bytes:
    with wave.open(wav_path, "rb") as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1, "a 16-bit mono WAV is expected"
        frames = wav.readframes(wav.getnframes())
        source = wav.getframerate()
    if source != rate:
        frames, _ = audioop.ratecv(frames, 2, 1, source, rate, None)
    silence = b"\0\0" * (rate // 2)
    return silence + frames + silence * 2


def chunks(data: bytes, rate: int):
    size = rate // 10 * 2  # 100 ms
    for offset in range(0, len(data), size):
        yield data[offset:offset + size]


def check_words(text: str, expected, where: str):
    missing = [word for word in expected if word not in text.lower()]
    assert not missing, f"{where}: words {missing} missing from {text!r}"


async def native(ws_base, key, wav, request_id, expected):
    audio = pcm(wav, 16000)
    url = f"{ws_base}/v1/audio/transcriptions/stream?language=en&word_timestamps=true"
    headers = {"Authorization": f"Bearer {key}", "X-Request-ID": request_id}
    events = []
    async with websockets.connect(url, additional_headers=headers) as ws:
        echoed = ws.response.headers.get("X-Request-ID")
        assert echoed == request_id, f"handshake echoed X-Request-ID {echoed!r}"

        async def send():
            for chunk in chunks(audio, 16000):
                await ws.send(chunk)
                await asyncio.sleep(0.1 / SPEED)
            await ws.send(json.dumps({"type": "end"}))

        sender = asyncio.create_task(send())
        first_partial = None
        started = time.monotonic()
        async for message in ws:
            event = json.loads(message)
            events.append(event)
            if event["type"] == "transcript.partial" and first_partial is None:
                first_partial = time.monotonic() - started
        await sender
        close = ws.close_code
    types = [event["type"] for event in events]
    assert types[0] == "session.begin", types[:3]
    session_id = events[0]["session_id"]
    assert session_id.startswith("sess_") and len(session_id) == 21, session_id
    assert "vad.speech_start" in types and "vad.speech_end" in types, types
    assert "transcript.partial" in types, "no partials"
    finals = [event for event in events if event["type"] == "transcript.final"]
    assert finals, "no final"
    text = " ".join(final["text"] for final in finals)
    check_words(text, expected, "native")
    assert all(final["words"] and all(w["end"] >= w["start"] for w in final["words"]) for final in finals), "word times"
    assert types[-1] == "session.end", types[-3:]
    end = events[-1]
    assert end["transcript"] == text, (end["transcript"], text)
    assert abs(end["total_audio_seconds"] - len(audio) / 32000) < 0.05, end["total_audio_seconds"]
    assert close == 1000, f"close code {close}"
    print(f"ok: native session {session_id} finals={len(finals)} partials={types.count('transcript.partial')} "
          f"first_partial_after={first_partial:.2f}s text={text!r}")

    # Text where audio is expected, and an unknown control message: recoverable errors.
    async with websockets.connect(f"{ws_base}/v1/audio/transcriptions/stream", additional_headers=headers) as ws:
        await ws.recv()
        await ws.send("not json")
        error = json.loads(await ws.recv())
        assert error["type"] == "error" and error["code"] == "invalid_message" and error["recoverable"] is True, error
        await ws.send(json.dumps({"type": "end"}))
        rest = [json.loads(message) async for message in ws]
        assert rest[-1]["type"] == "session.end", rest
    print("ok: native bad frames are recoverable errors")

    # A wrong key is refused at the handshake.
    try:
        async with websockets.connect(url, additional_headers={"Authorization": "Bearer wrong"}):
            raise AssertionError("a wrong key was accepted")
    except websockets.exceptions.InvalidStatus as error:
        assert error.response.status_code == 401, error.response.status_code
    print("ok: native wrong key refused with 401")
    return session_id


async def elevenlabs_sdk(http_base, key, wav, expected):
    from elevenlabs.client import AsyncElevenLabs
    from elevenlabs.realtime import AudioFormat, CommitStrategy, RealtimeEvents

    client = AsyncElevenLabs(api_key=key, base_url=http_base)
    connection = await client.speech_to_text.realtime.connect({
        "model_id": "scribe_v2_realtime", "audio_format": AudioFormat.PCM_16000, "sample_rate": 16000,
        "commit_strategy": CommitStrategy.VAD, "language_code": "en", "include_timestamps": True,
    })
    received = {"started": None, "partials": [], "committed": [], "errors": []}
    closed = asyncio.Event()
    connection.on(RealtimeEvents.SESSION_STARTED, lambda data: received.__setitem__("started", data))
    connection.on(RealtimeEvents.PARTIAL_TRANSCRIPT, lambda data: received["partials"].append(data))
    connection.on(RealtimeEvents.COMMITTED_TRANSCRIPT, lambda data: received["committed"].append(data))
    connection.on(RealtimeEvents.COMMITTED_TRANSCRIPT_WITH_TIMESTAMPS, lambda data: received["committed"].append(data))
    connection.on(RealtimeEvents.ERROR, lambda data: received["errors"].append(data))
    connection.on(RealtimeEvents.CLOSE, lambda *args: closed.set())
    for chunk in chunks(pcm(wav, 16000), 16000):
        await connection.send({"audio_base_64": base64.b64encode(chunk).decode()})
        await asyncio.sleep(0.1 / SPEED)
    deadline = time.monotonic() + 15
    while not received["committed"] and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await connection.close()
    assert not received["errors"], received["errors"]
    assert received["started"] and received["started"]["session_id"].startswith("sess_"), received["started"]
    assert received["partials"], "no partial_transcript"
    assert received["committed"], "no committed transcript (commit_strategy vad)"
    text = " ".join(item["text"] for item in received["committed"])
    check_words(text, expected, "elevenlabs")
    words = [w for item in received["committed"] for w in item.get("words", [])]
    assert words and {w["type"] for w in words} <= {"word", "spacing"}, words[:4]
    print(f"ok: elevenlabs SDK realtime session {received['started']['session_id']} committed={len(received['committed'])} text={text!r}")

    # A commit (manual strategy) is the final of the audio so far, as the SDK documents.
    connection = await client.speech_to_text.realtime.connect({
        "model_id": "scribe_v1", "audio_format": AudioFormat.PCM_16000, "sample_rate": 16000, "commit_strategy": CommitStrategy.MANUAL,
    })
    committed, errors = [], []
    connection.on(RealtimeEvents.COMMITTED_TRANSCRIPT, lambda data: committed.append(data))
    connection.on(RealtimeEvents.ERROR, lambda data: errors.append(data))
    for chunk in chunks(pcm(wav, 16000), 16000):
        await connection.send({"audio_base_64": base64.b64encode(chunk).decode()})
    await connection.commit()
    deadline = time.monotonic() + 15
    while not committed and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await connection.close()
    assert not errors, errors
    assert committed, "commit gave no committed_transcript"
    check_words(committed[0]["text"], expected, "elevenlabs commit")
    print(f"ok: elevenlabs SDK manual commit text={committed[0]['text']!r}")
    return received["started"]["session_id"]


async def openai_raw(ws_base, key, wav, expected):
    url = f"{ws_base}/v1/realtime?intent=transcription"
    events = []
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}", "OpenAI-Beta": "realtime=v1"}) as ws:
        created = json.loads(await ws.recv())
        assert created["type"] == "transcription_session.created" and created["event_id"].startswith("evt_"), created
        await ws.send(json.dumps({"type": "transcription_session.update", "session": {
            "input_audio_format": "pcm16", "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en"},
            "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500}}}))
        updated = json.loads(await ws.recv())
        assert updated["type"] == "transcription_session.updated", updated
        for chunk in chunks(pcm(wav, 24000), 24000):
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(chunk).decode()}))
            await asyncio.sleep(0.1 / SPEED)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                event = json.loads(await asyncio.wait_for(ws.recv(), timeout=deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            events.append(event)
            if event["type"] == "conversation.item.input_audio_transcription.completed":
                break
    types = [event["type"] for event in events]
    assert "input_audio_buffer.speech_started" in types and "input_audio_buffer.committed" in types, types
    completed = [event for event in events if event["type"] == "conversation.item.input_audio_transcription.completed"]
    assert completed, f"no completed transcript: {types}"
    deltas = "".join(event["delta"] for event in events if event["type"] == "conversation.item.input_audio_transcription.delta")
    check_words(completed[0]["transcript"], expected, "openai")
    assert all("event_id" in event for event in events)
    print(f"ok: openai events over websockets completed={completed[0]['transcript']!r} deltas={deltas!r}")


async def openai_sdk(http_base, key, wav, expected):
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key=key, base_url=f"{http_base}/v1")
    transcript = None
    async with client.realtime.connect(model="gpt-4o-transcribe", extra_query={"intent": "transcription"}) as connection:
        for chunk in chunks(pcm(wav, 24000), 24000):
            await connection.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
        await connection.input_audio_buffer.commit()
        deadline = time.monotonic() + 20
        while transcript is None and time.monotonic() < deadline:
            event = await asyncio.wait_for(connection.recv(), timeout=deadline - time.monotonic())
            if event.type == "conversation.item.input_audio_transcription.completed":
                transcript = event.transcript
            assert event.type != "error", event
    assert transcript, "the SDK saw no completed transcription"
    check_words(transcript, expected, "openai sdk")
    print(f"ok: openai SDK realtime connection completed={transcript!r}")


async def main() -> int:
    http_base, key, wav, request_id, *expected = sys.argv[1:]
    ws_base = http_base.replace("http://", "ws://", 1)
    sessions = {}
    sessions["native"] = await native(ws_base, key, wav, request_id, expected)
    sessions["elevenlabs"] = await elevenlabs_sdk(http_base, key, wav, expected)
    await openai_raw(ws_base, key, wav, expected)
    await openai_sdk(http_base, key, wav, expected)
    print("SESSIONS " + json.dumps(sessions))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
