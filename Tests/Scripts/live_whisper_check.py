"""Live Whisper through a running `dalston up` (its default model, Whisper tiny.en): real human
speech streamed at real time through each realtime dialect with its real client (raw
`websockets` for the native protocol and OpenAI's events, the official `elevenlabs` SDK), a
five-minute stream, a file sent as fast as the socket allows, bad input, and the shared Whisper
runner killed mid-session.

usage: live_whisper_check.py HTTP_BASE API_KEY EVAL_AUDIO_DIR SERVER_PID
Prints one `ok:` line per check, `ALL CHECKS PASSED` at the end; exits non-zero with the reason.
"""
from __future__ import annotations

import asyncio
import audioop
import base64
import json
import os
import re
import signal
import statistics
import sys
import time
import wave

import websockets

from text_metrics import edit_distance

CHUNK_SECONDS = 0.1


def read_pcm(path: str, rate: int = 16000) -> bytes:
    with wave.open(path, "rb") as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1, f"{path}: a 16-bit mono WAV is expected"
        frames = wav.readframes(wav.getnframes())
        source = wav.getframerate()
    if source != rate:
        frames, _ = audioop.ratecv(frames, 2, 1, source, rate, None)
    return frames


def silence(seconds: float, rate: int = 16000) -> bytes:
    return b"\0\0" * int(seconds * rate)


def references(directory: str) -> dict[str, str]:
    with open(os.path.join(directory, "manifest.tsv"), encoding="utf-8") as manifest:
        rows = [line.rstrip("\n").split("\t") for line in manifest][1:]
    return {os.path.basename(row[0]): row[4] for row in rows}


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    said = words(reference)
    return edit_distance(said, words(hypothesis)), len(said)


def chunks(audio: bytes, rate: int):
    size = int(rate * CHUNK_SECONDS) * 2
    for offset in range(0, len(audio), size):
        yield audio[offset:offset + size]


async def paced(audio: bytes, rate: int, send) -> float:
    """Sends `audio` at real time (each chunk when the wall clock reaches it); returns the start."""
    started = time.monotonic()
    for index, chunk in enumerate(chunks(audio, rate)):
        await asyncio.sleep(max(0.0, started + index * CHUNK_SECONDS - time.monotonic()))
        await send(chunk)
    return started


def common_prefix(a: list[str], b: list[str]) -> list[str]:
    shared = []
    for x, y in zip(a, b):
        if x != y:
            break
        shared.append(x)
    return shared


class NativeSession:
    """One native session: what arrived and when (seconds from the stream's start)."""

    def __init__(self) -> None:
        self.events: list[tuple[float, dict]] = []
        self.close_code: int | None = None

    def of(self, kind: str) -> list[tuple[float, dict]]:
        return [(at, event) for at, event in self.events if event["type"] == kind]

    @property
    def finals(self) -> list[dict]:
        return [event for _, event in self.of("transcript.final")]

    @property
    def text(self) -> str:
        return " ".join(final["text"] for final in self.finals)


async def native_session(ws_base: str, key: str, audio: bytes, query: str = "word_timestamps=true", pace: bool = True) -> NativeSession:
    session = NativeSession()
    url = f"{ws_base}/v1/audio/transcriptions/stream?{query}"
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"}, max_size=None, ping_interval=None) as ws:
        started = time.monotonic()

        async def send() -> None:
            if pace:
                await paced(audio, 16000, ws.send)
            else:
                for chunk in chunks(audio, 16000):
                    await ws.send(chunk)
            await ws.send(json.dumps({"type": "end"}))

        sender = asyncio.create_task(send())
        # Until the server closes (it does after session.end).
        async for message in ws:
            session.events.append((time.monotonic() - started, json.loads(message)))
        await sender
        session.close_code = ws.close_code
    return session


def check_stability(session: NativeSession, where: str) -> int:
    """Within each utterance, words two consecutive partials agree on (what the policy confirms)
    begin the final: confirmed words are never taken back. Returns the utterances checked."""
    checked = 0
    partials: list[list[str]] = []
    for _, event in session.events:
        if event["type"] == "transcript.partial":
            partials.append(words(event["text"]))
        elif event["type"] == "transcript.final":
            final = words(event["text"])
            for earlier, later in zip(partials, partials[1:]):
                agreed = common_prefix(earlier, later)
                assert final[:len(agreed)] == agreed, f"{where}: {agreed} agreed by two partials, but the final says {final}"
            checked += len(partials) >= 2
            partials = []
    return checked


def latencies(session: NativeSession, sent_from: float = 0.0) -> tuple[list[float], list[float]]:
    """First partial after speech start, and each final after its end was sent (seconds)."""
    first_partials, finals = [], []
    started_at = None
    for at, event in session.events:
        if event["type"] == "vad.speech_start":
            started_at = event["timestamp"]
        elif event["type"] == "transcript.partial" and started_at is not None:
            first_partials.append(at - (started_at + sent_from))
            started_at = None
        elif event["type"] == "transcript.final":
            finals.append(at - (event["end"] + sent_from))
    return first_partials, finals


async def native_real_time(ws_base: str, key: str, clips: str, refs: dict[str, str]) -> None:
    for name in ("jfk.wav", "ps_sas_0870.wav"):
        await free_slot(ws_base.replace("ws://", "http://", 1), key)
        audio = silence(0.5) + read_pcm(os.path.join(clips, name)) + silence(1.0)
        session = await native_session(ws_base, key, audio)
        types = [event["type"] for _, event in session.events]
        assert types[0] == "session.begin" and types[-1] == "session.end", types
        begin = session.events[0][1]
        assert begin["config"]["model"] == "faster-whisper-tiny.en", begin
        assert "transcript.partial" in types and types.index("transcript.partial") < types.index("transcript.final"), "partials come before the final"
        assert all(final.get("language") == "en" for final in session.finals), session.finals
        assert all(final["words"] for final in session.finals), "word timestamps"
        errors, count = word_errors(refs[name], session.text)
        assert errors / count <= 0.2, f"{name}: {errors}/{count} words wrong in {session.text!r}"
        stable = check_stability(session, name)
        first, final = latencies(session, sent_from=0.0)
        assert session.events[-1][1]["transcript"] == session.text
        assert session.close_code == 1000, session.close_code
        print(f"ok: native real time {name}: WER {errors}/{count}, {len(session.of('transcript.partial'))} partials, "
              f"{stable} utterances stable, first partial after {min(first):.2f} s, finals after {', '.join(f'{x:.2f}' for x in final)} s: {session.text!r}")


async def elevenlabs_sdk(http_base: str, key: str, clips: str, refs: dict[str, str]) -> None:
    from elevenlabs.client import AsyncElevenLabs
    from elevenlabs.realtime import AudioFormat, CommitStrategy, RealtimeEvents

    client = AsyncElevenLabs(api_key=key, base_url=http_base)
    name = "jfk.wav"
    audio = silence(0.5) + read_pcm(os.path.join(clips, name)) + silence(1.0)
    for strategy in (CommitStrategy.VAD, CommitStrategy.MANUAL):
        await free_slot(http_base, key)
        connection = await client.speech_to_text.realtime.connect({
            "model_id": "scribe_v2_realtime", "audio_format": AudioFormat.PCM_16000, "sample_rate": 16000,
            "commit_strategy": strategy, "include_timestamps": True,
        })
        received: dict[str, list] = {"partials": [], "committed": [], "errors": []}
        connection.on(RealtimeEvents.PARTIAL_TRANSCRIPT, lambda data: received["partials"].append((time.monotonic(), data)))
        connection.on(RealtimeEvents.COMMITTED_TRANSCRIPT_WITH_TIMESTAMPS, lambda data: received["committed"].append((time.monotonic(), data)))
        connection.on(RealtimeEvents.ERROR, lambda data: received["errors"].append(data))

        async def send(chunk: bytes) -> None:
            await connection.send({"audio_base_64": base64.b64encode(chunk).decode()})

        await paced(audio, 16000, send)
        if strategy == CommitStrategy.MANUAL:
            await connection.commit()
        # Manual: the commit's transcript; VAD: every commit, until none has come for three
        # seconds (and at least five after the audio, for the last utterance's).
        sent = time.monotonic()
        deadline = sent + 20
        while time.monotonic() < deadline:
            last = received["committed"][-1][0] if received["committed"] else None
            if last is not None and strategy == CommitStrategy.MANUAL:
                break
            if last is not None and time.monotonic() - sent > 5 and time.monotonic() - last > 3:
                break
            await asyncio.sleep(0.05)
        await connection.close()
        assert not received["errors"], received["errors"]
        assert received["partials"], f"{strategy}: no partial_transcript"
        assert received["committed"], f"{strategy}: no committed transcript"
        assert received["partials"][0][0] < received["committed"][0][0], "a partial before the first commit"
        text = " ".join(data["text"] for _, data in received["committed"])
        assert all(data.get("language_code") == "en" for _, data in received["committed"])
        errors, count = word_errors(refs[name], text)
        assert errors / count <= 0.2, f"elevenlabs {strategy}: {errors}/{count} words wrong in {text!r}"
        print(f"ok: elevenlabs SDK {strategy.value if hasattr(strategy, 'value') else strategy} commit at real time: WER {errors}/{count}, "
              f"{len(received['partials'])} partials, {len(received['committed'])} committed: {text!r}")


async def openai_events(ws_base: str, key: str, clips: str, refs: dict[str, str]) -> None:
    name = "ps_sas_0870.wav"
    audio = silence(0.5, 24000) + read_pcm(os.path.join(clips, name), 24000) + silence(1.0, 24000)
    url = f"{ws_base}/v1/realtime?intent=transcription"
    events: list[tuple[float, dict]] = []
    await free_slot(ws_base.replace("ws://", "http://", 1), key)
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"}, ping_interval=None) as ws:
        assert json.loads(await ws.recv())["type"] == "transcription_session.created"
        await ws.send(json.dumps({"type": "transcription_session.update", "session": {
            "input_audio_format": "pcm16", "input_audio_transcription": {"model": "gpt-4o-transcribe"},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 500}}}))

        async def send(chunk: bytes) -> None:
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(chunk).decode()}))

        async def receive() -> None:
            async for message in ws:
                events.append((time.monotonic(), json.loads(message)))

        receiver = asyncio.create_task(receive())
        await paced(audio, 24000, send)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(e["type"].endswith("transcription.completed") for _, e in events):
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        receiver.cancel()
    types = [event["type"] for _, event in events]
    assert "error" not in types, [event for _, event in events if event["type"] == "error"]
    deltas = [(at, e) for at, e in events if e["type"] == "conversation.item.input_audio_transcription.delta"]
    completed = [(at, e) for at, e in events if e["type"] == "conversation.item.input_audio_transcription.completed"]
    assert deltas and completed and deltas[0][0] < completed[0][0], f"deltas before the completed transcript: {types}"
    text = " ".join(e["transcript"] for _, e in completed)
    errors, count = word_errors(refs[name], text)
    assert errors / count <= 0.25, f"openai: {errors}/{count} words wrong in {text!r}"
    print(f"ok: openai realtime events at real time: WER {errors}/{count}, {len(deltas)} deltas: {text!r}")


async def five_minutes(ws_base: str, key: str, clips: str, refs: dict[str, str]) -> None:
    """Five minutes of real speech at real time: the last minute's finals come as soon after
    their speech as the first minute's (decoding does not grow with the session)."""
    names = sorted(refs)
    audio = b""
    while len(audio) < 300 * 32000:
        for name in names:
            audio += read_pcm(os.path.join(clips, name)) + silence(0.8)
    session = await native_session(ws_base, key, audio[:300 * 32000] + silence(1.0))
    assert session.events[-1][1]["type"] == "session.end", session.events[-1]
    _, final_latency = latencies(session)
    ends = [final["end"] for final in session.finals]
    early = [lag for lag, end in zip(final_latency, ends) if end < 60]
    late = [lag for lag, end in zip(final_latency, ends) if end > 240]
    assert len(early) >= 8 and len(late) >= 8, (len(early), len(late))
    first, last = statistics.median(early), statistics.median(late)
    assert last <= first * 1.5 + 0.5, f"finals in the last minute come {last:.2f} s after their speech, {first:.2f} s in the first"
    check_stability(session, "five minutes")
    print(f"ok: five minutes at real time: {len(session.finals)} finals, median final {first:.2f} s after its speech in the first "
          f"minute, {last:.2f} s in the last; {session.events[-1][1]['total_audio_seconds']} s recorded")


async def free_slot(http_base: str, key: str) -> None:
    """Waits until a worker has a free slot: a session a client just closed holds its slot until
    the worker has finished it (its last final), a moment after the client's close."""
    import urllib.request

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        request = urllib.request.Request(f"{http_base}/v1/realtime/status", headers={"Authorization": f"Bearer {key}"})
        status = await asyncio.to_thread(lambda: json.load(urllib.request.urlopen(request, timeout=5)))
        if status["available_capacity"] > 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("no realtime slot came free within 30 s")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def as_fast_as_possible(ws_base: str, key: str, clips: str, refs: dict[str, str], server_pid: int) -> None:
    """Ten minutes of speech sent as fast as the socket takes it: back-pressure, not loss; the
    session ends with every final and the server's memory stays flat."""
    piece = b"".join(read_pcm(os.path.join(clips, name)) + silence(0.8) for name in sorted(refs))
    audio = (piece * (600 * 32000 // len(piece) + 1))[:600 * 32000]
    expected_finals = None
    before = rss_kib(server_pid)
    peak = before
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib(server_pid))
            await asyncio.sleep(0.25)

    watcher = asyncio.create_task(watch())
    started = time.monotonic()
    session = await native_session(ws_base, key, audio, query="", pace=False)
    done.set()
    await watcher
    elapsed = time.monotonic() - started
    end = session.events[-1][1]
    assert end["type"] == "session.end", end
    assert abs(end["total_audio_seconds"] - 600) < 0.5, end["total_audio_seconds"]
    assert not [e for _, e in session.of("error") if not e.get("recoverable")], session.of("error")
    # Each copy of the clips gives the same utterances: the last minutes are not lost.
    assert session.finals and session.finals[-1]["end"] > 590, session.finals[-1:]
    expected_finals = len([f for f in session.finals if f["end"] < 60])
    assert len(session.finals) >= expected_finals * 9, (len(session.finals), expected_finals)
    growth = (peak - before) / 1024
    assert growth < 64, f"the server grew by {growth:.0f} MB while taking a 19 MB stream"
    print(f"ok: ten minutes sent as fast as possible: session.end after {elapsed:.1f} s with {len(session.finals)} finals "
          f"(last ends at {session.finals[-1]['end']:.1f} s); server memory +{growth:.1f} MB")


async def refused(ws_base: str, key: str, clips: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}

    async def first_and_close(url: str) -> tuple[list[dict], int | None]:
        async with websockets.connect(url, additional_headers=headers, ping_interval=None) as ws:
            messages = []
            try:
                async for message in ws:
                    messages.append(json.loads(message))
            except websockets.ConnectionClosedError:
                pass  # a refusal closes with a 44xx code
            return messages, ws.close_code

    messages, code = await first_and_close(f"{ws_base}/v1/audio/transcriptions/stream?model=faster-whisper-large-v3")
    assert code == 4400 and messages[-1]["type"] == "error" and messages[-1]["code"] == "model_not_available", (code, messages)
    assert "dalston models pull" in messages[-1]["message"], messages[-1]
    messages, code = await first_and_close(f"{ws_base}/v1/audio/transcriptions/stream?model=faster-whisper-tiny.en&language=fr")
    assert code == 4400 and messages[-1]["code"] == "language_not_supported", (code, messages)
    messages, code = await first_and_close(f"{ws_base}/v1/speech-to-text/realtime?model_id=faster-whisper-large-v3")
    assert code == 4400 and messages[-1]["message_type"] == "input_error" and messages[-1]["code"] == "model_not_available", (code, messages)
    messages, code = await first_and_close(f"{ws_base}/v1/realtime?intent=transcription&model=faster-whisper-large-v3")
    assert code == 4400 and messages[-1]["type"] == "error" and messages[-1]["error"]["code"] == "model_not_available", (code, messages)
    # PocketSphinx stays selectable.
    session = await native_session(ws_base, key, silence(0.3) + read_pcm(os.path.join(clips, "ps_goforward.wav")) + silence(1.0),
                                   query="model=pocketsphinx-en-us", pace=False)
    assert session.events[0][1]["config"]["model"] == "pocketsphinx-en-us" and "forward" in session.text, session.text
    print("ok: a model that is not installed and a language the model lacks are refused in each dialect's shape; PocketSphinx is selectable")


async def runner_killed(ws_base: str, key: str, clips: str, runner_pid: int) -> None:
    """The shared Whisper runner killed mid-session: the session is told (a recoverable error),
    goes on with a new runner, and ends cleanly."""
    audio = b"".join(silence(0.6) + read_pcm(os.path.join(clips, name)) for name in ("jfk.wav", "ps_sas_0870.wav", "ps_sas_0890.wav")) + silence(1.0)

    async def kill_later() -> None:
        await asyncio.sleep(4.0)
        os.kill(runner_pid, signal.SIGKILL)

    killer = asyncio.create_task(kill_later())
    session = await native_session(ws_base, key, audio)
    await killer
    # A decoding in flight when the runner died is lost (a recoverable error); one asked for
    # after it starts a new runner. Either way the session goes on.
    errors = [e for _, e in session.of("error")]
    assert all(e["recoverable"] and e["code"] == "internal_error" for e in errors), errors
    assert session.events[-1][1]["type"] == "session.end" and session.close_code == 1000, session.events[-1]
    after = [f for f in session.finals if f["start"] > 12]
    assert after and "dashwood" in " ".join(f["text"].lower() for f in after), session.text
    print(f"ok: the runner killed mid-session: resumed with a new runner ({len(errors)} recoverable error(s)), "
          f"{len(after)} finals after it: {session.text!r}")


async def main() -> int:
    http_base, key, eval_dir, server_pid, runner_pid = sys.argv[1:6]
    ws_base = http_base.replace("http://", "ws://", 1)
    clips = os.path.join(eval_dir, "clips")
    refs = references(eval_dir)
    await refused(ws_base, key, clips)

    async def dialects() -> None:
        await native_real_time(ws_base, key, clips, refs)
        await elevenlabs_sdk(http_base, key, clips, refs)
        await openai_events(ws_base, key, clips, refs)

    # The dialects at real time one after another beside the five-minute stream: two sessions
    # at once, the default capacity of a worker.
    await asyncio.gather(five_minutes(ws_base, key, clips, refs), dialects())
    await free_slot(http_base, key)
    await as_fast_as_possible(ws_base, key, clips, refs, int(server_pid))
    await free_slot(http_base, key)
    await runner_killed(ws_base, key, clips, int(runner_pid))
    print("ALL CHECKS PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
