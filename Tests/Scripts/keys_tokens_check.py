"""Keys, tokens, tenants and limits over HTTP and WebSocket, as clients see them, against one or
two running gateways (two: they share Redis, and every limit must hold across them).

usage: keys_tokens_check.py OPERATOR_KEY FIXTURES BASE [BASE2]
OPERATOR_KEY is one of the gateways' DALSTON_API_KEYS. Prints one `ok:` line per check and
`ALL CHECKS PASSED`; exits 1 with the reason at the first failure.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import wave
from pathlib import Path

import httpx
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from checks import check, run  # Tests/Scripts/checks.py

# The original's default tenant id, which Dalston keeps (the original's clients read UUIDs).
DEFAULT_TENANT = "00000000-0000-0000-0000-000000000000"


class Gateways:
    """The gateways under test, used in turn, so that every sequence of calls crosses them."""

    def __init__(self, bases: list[str]):
        self.bases = bases
        self.turn = 0

    def next(self) -> str:
        base = self.bases[self.turn % len(self.bases)]
        self.turn += 1
        return base

    def call(self, method: str, path: str, key: str | None, **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return httpx.request(method, self.next() + path, headers=headers, timeout=60, **kwargs)


def pcm16(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1, "a 16-bit mono WAV is expected"
        return wav.readframes(wav.getnframes()), wav.getframerate()


def ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://").replace("https://", "wss://") + path


async def refused_handshake(url: str, headers: dict | None = None) -> int | None:
    """The HTTP status of a refused WebSocket handshake (None: it was accepted)."""
    try:
        async with websockets.connect(url, additional_headers=headers or {}, open_timeout=20):
            return None
    except InvalidStatus as refusal:
        return refusal.response.status_code


async def native_session_begins(url: str, headers: dict | None = None) -> dict:
    """Opens a native session, reads `session.begin`, ends it."""
    async with websockets.connect(url, additional_headers=headers or {}, open_timeout=20) as ws:
        begin = json.loads(await asyncio.wait_for(ws.recv(), 20))
        await ws.send(json.dumps({"type": "end"}))
        return begin


async def revoked_mid_session(url: str, audio: bytes, rate: int, revoke) -> tuple[float, dict | None, int | None]:
    """Streams audio in real time, revokes the key after two seconds, and returns how long the
    session ran on after the revocation, the error it got, and its close code."""
    error = None
    async with websockets.connect(url, open_timeout=20) as ws:
        begin = json.loads(await asyncio.wait_for(ws.recv(), 20))
        assert begin["type"] == "session.begin", begin
        step = rate // 10 * 2
        revoked_at = None

        async def send():
            nonlocal revoked_at
            started = time.monotonic()
            offset = 0
            while True:
                await ws.send(audio[offset:offset + step] or b"\0" * step)
                offset = (offset + step) % len(audio)
                await asyncio.sleep(0.1)
                if revoked_at is None and time.monotonic() - started > 2:
                    await asyncio.to_thread(revoke)
                    revoked_at = time.monotonic()

        sender = asyncio.create_task(send())
        try:
            async for message in ws:
                if isinstance(message, str):
                    event = json.loads(message)
                    if event.get("type") == "error":
                        error = event
        except ConnectionClosed:
            pass
        finally:
            sender.cancel()
        ended = time.monotonic()
        code = ws.close_code
    return (ended - revoked_at) if revoked_at else -1, error, code


def main() -> int:
    operator, fixtures, *bases = sys.argv[1:]
    gateways = Gateways(bases)
    clips = Path(fixtures) / "eval-audio" / "clips"
    jfk = (clips / "jfk.wav").read_bytes()

    # --- Keys over HTTP (the operator's key is an admin of the default tenant) ---
    me = gateways.call("GET", "/auth/me", operator).json()
    check("/auth/me answers the original's fields", all(name in me for name in
          ["id", "prefix", "name", "tenant_id", "scopes", "rate_limit", "created_at", "last_used_at", "expires_at"]), me)

    def create(key: str, **fields) -> dict:
        reply = gateways.call("POST", "/auth/keys", key, json=fields)
        assert reply.status_code == 201, f"POST /auth/keys {fields}: {reply.status_code} {reply.text}"
        return reply.json()

    worker = create(operator, name="worker", scopes=["jobs:read", "jobs:write", "realtime"])
    check("POST /auth/keys shows the secret once, with its tenant and scopes",
          worker["key"].startswith("dk_") and worker["tenant_id"] == DEFAULT_TENANT and worker["scopes"] == ["jobs:read", "jobs:write", "realtime"], worker)
    listed = gateways.call("GET", "/auth/keys", operator).json()
    check("GET /auth/keys lists it without its secret",
          any(entry["id"] == worker["id"] for entry in listed["keys"]) and all("key" not in entry for entry in listed["keys"]), listed)
    fetched = gateways.call("GET", f"/auth/keys/{worker['id']}", operator).json()
    check("GET /auth/keys/{id}", fetched["id"] == worker["id"] and fetched["is_revoked"] is False, fetched)
    refused = gateways.call("GET", "/auth/keys", worker["key"])
    check("a key without admin cannot list keys (403)", refused.status_code == 403, refused.text)
    bad = gateways.call("POST", "/auth/keys", operator, json={"name": "x", "scopes": ["everything"]})
    check("an unknown scope is a 400 that names it", bad.status_code == 400 and "everything" in bad.text, bad.text)
    me = gateways.call("GET", "/auth/me", worker["key"]).json()
    check("/auth/me names the key in use", me["id"] == worker["id"] and me["prefix"] == worker["prefix"] and me["tenant_id"] == DEFAULT_TENANT, me)

    # --- Tenants: a key never sees another tenant's jobs ---
    acme = create(operator, name="acme-admin", scopes=["admin"], tenant_id="acme")
    check("the operator makes a key for another tenant", acme["tenant_id"] == "acme", acme)
    escalate = gateways.call("POST", "/auth/keys", acme["key"], json={"name": "x", "tenant_id": DEFAULT_TENANT})
    check("a tenant's admin cannot make keys for another tenant (403)", escalate.status_code == 403, escalate.text)
    job = gateways.call("POST", "/v1/audio/transcriptions", acme["key"], files={"file": ("jfk.wav", jfk, "audio/wav")}).json()
    check("acme submits a job", "id" in job, job)
    for key, expected in [(acme["key"], 200), (worker["key"], 404), (operator, 404)]:
        status = gateways.call("GET", f"/v1/audio/transcriptions/{job['id']}", key).status_code
        check(f"GET of acme's job answers {expected} to {'acme' if key == acme['key'] else 'default'}", status == expected, status)
    listing = gateways.call("GET", "/v1/audio/transcriptions?limit=100", worker["key"]).json()
    check("another tenant's listing leaves acme's job out", all(entry["id"] != job["id"] for entry in listing["jobs"]), listing)
    for method, path in [("DELETE", f"/v1/audio/transcriptions/{job['id']}"), ("POST", f"/v1/audio/transcriptions/{job['id']}/cancel"),
                         ("GET", f"/v1/audio/transcriptions/{job['id']}/tasks"), ("GET", f"/v1/speech-to-text/transcripts/{job['id']}")]:
        status = gateways.call(method, path, worker["key"]).status_code
        check(f"{method} {path.replace(job['id'], '{id}')} of another tenant's job is 404", status == 404, status)
    acme_keys = gateways.call("GET", "/auth/keys", acme["key"]).json()
    check("a tenant's admin lists only its tenant's keys", {entry["tenant_id"] for entry in acme_keys["keys"]} == {"acme"}, acme_keys)
    check("nor fetches another tenant's key", gateways.call("GET", f"/auth/keys/{worker['id']}", acme["key"]).status_code == 404)

    # --- Request rate: the 11th request of a 10/min key gets 429, from whichever gateway ---
    limited = create(operator, name="limited", scopes=["jobs:read"], rate_limit=10)
    remaining = []
    for _ in range(10):
        reply = gateways.call("GET", "/v1/audio/transcriptions?limit=1", limited["key"])
        assert reply.status_code == 200, reply.text
        remaining.append(int(reply.headers["x-ratelimit-remaining-requests"]))
    check("x-ratelimit-remaining-requests counts down across the gateways", remaining == list(range(9, -1, -1)), remaining)
    over = gateways.call("GET", "/v1/audio/transcriptions?limit=1", limited["key"])
    check("the 11th request is refused with 429 and Retry-After",
          over.status_code == 429 and 1 <= int(over.headers.get("retry-after", "0")) <= 60 and over.headers.get("x-ratelimit-limit-requests") == "10",
          (over.status_code, dict(over.headers), over.text))
    openai_over = gateways.call("GET", "/v1/models", limited["key"])
    check("OpenAI's routes answer 429 in OpenAI's error shape", openai_over.status_code == 429 and
          openai_over.json().get("error", {}).get("code") == "rate_limit_exceeded", openai_over.text)
    check("another key is not held to it", gateways.call("GET", "/v1/audio/transcriptions?limit=1", worker["key"]).status_code == 200)

    # --- Concurrent jobs ---
    single = create(operator, name="single", scopes=["jobs:read", "jobs:write"], max_concurrent_jobs=1)
    long_clip = (clips / "jfk.wav").read_bytes()
    first = gateways.call("POST", "/v1/audio/transcriptions", single["key"], files={"file": ("jfk.wav", long_clip, "audio/wav")})
    second = gateways.call("POST", "/v1/audio/transcriptions", single["key"], files={"file": ("jfk.wav", long_clip, "audio/wav")})
    check("a second job while the first runs is refused with 429 (max_concurrent_jobs=1)",
          first.status_code == 201 and second.status_code == 429 and second.json()["error"]["code"] == "concurrent_job_limit"
          and second.headers.get("retry-after"), (first.status_code, second.status_code, second.text))
    deadline = time.monotonic() + 120
    while gateways.call("GET", f"/v1/audio/transcriptions/{first.json()['id']}", single["key"]).json()["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline, "the first job did not finish"
        time.sleep(0.5)
    third = gateways.call("POST", "/v1/audio/transcriptions", single["key"], files={"file": ("jfk.wav", long_clip, "audio/wav")})
    check("once it has finished the next job is accepted", third.status_code == 201, third.text)

    # --- Session tokens (/auth/tokens): realtime only, never a batch job ---
    token = gateways.call("POST", "/auth/tokens", worker["key"], json={"ttl": 120}).json()
    check("POST /auth/tokens mints a realtime token", token["token"].startswith("tk_") and token["scopes"] == ["realtime"], token)
    batch = gateways.call("POST", "/v1/audio/transcriptions", token["token"], files={"file": ("jfk.wav", jfk, "audio/wav")})
    check("a realtime token cannot create a batch job (403)", batch.status_code == 403, batch.text)
    wide = gateways.call("POST", "/auth/tokens", single["key"], json={"scopes": ["realtime"]})
    check("a key without realtime cannot mint one (403)", wide.status_code == 403, wide.text)
    beyond = gateways.call("POST", "/auth/tokens", worker["key"], json={"scopes": ["realtime", "admin"]})
    check("nor a token with a scope its key lacks (403)", beyond.status_code == 403 and "admin" in beyond.text, beyond.text)
    ttl = gateways.call("POST", "/auth/tokens", worker["key"], json={"ttl": 5})
    check("ttl outside 60..3600 is a 400 naming it", ttl.status_code == 400 and "ttl" in ttl.text, ttl.text)
    native = "/v1/audio/transcriptions/stream?language=en&sample_rate=16000"
    for attempt in (1, 2):
        begin = asyncio.run(native_session_begins(ws_url(gateways.next(), native + f"&token={token['token']}")))
        check(f"the session token opens a native session ({attempt})", begin.get("type") == "session.begin", begin)

    # --- ElevenLabs single-use token ---
    from elevenlabs import ElevenLabs

    eleven = ElevenLabs(api_key=worker["key"], base_url=gateways.next())
    single_use = eleven.tokens.single_use.create("realtime_scribe")
    check("ElevenLabs' SDK mints a single-use token", single_use.token.startswith("tk_"), single_use)
    eleven_path = "/v1/speech-to-text/realtime?model_id=scribe_v2_realtime&audio_format=pcm_16000&token="

    async def eleven_session(base: str) -> dict:
        async with websockets.connect(ws_url(base, eleven_path + single_use.token), open_timeout=20) as ws:
            started = json.loads(await asyncio.wait_for(ws.recv(), 20))
            await ws.send(json.dumps({"message_type": "close_stream"}))
            return started

    started = asyncio.run(eleven_session(gateways.next()))
    check("the single-use token opens ElevenLabs' realtime session", started.get("message_type") == "session_started", started)
    again = asyncio.run(refused_handshake(ws_url(gateways.next(), eleven_path + single_use.token)))
    check("a used single-use token is refused (401) on any gateway", again == 401, again)
    on_http = gateways.call("GET", "/v1/realtime/status", single_use.token)
    check("a single-use token is no API key for HTTP (401)", on_http.status_code == 401, on_http.text)

    # --- OpenAI's client_secret ---
    from openai import OpenAI

    openai_client = OpenAI(api_key=worker["key"], base_url=gateways.next() + "/v1")
    session = openai_client.beta.realtime.transcription_sessions.create(
        input_audio_format="pcm16", input_audio_transcription={"model": "gpt-4o-transcribe", "language": "en"})
    secret = session.client_secret.value
    check("OpenAI's SDK creates a transcription session with a client_secret",
          secret.startswith("tk_") and session.client_secret.expires_at > time.time(), session)
    openai_path = "/v1/realtime?intent=transcription"

    async def openai_session(base: str) -> dict:
        headers = {"Authorization": f"Bearer {secret}", "OpenAI-Beta": "realtime=v1"}
        async with websockets.connect(ws_url(base, openai_path), additional_headers=headers, open_timeout=20) as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), 20))

    created = asyncio.run(openai_session(gateways.next()))
    check("the client_secret opens OpenAI's realtime transcription", created.get("type") == "transcription_session.created", created)
    again = asyncio.run(refused_handshake(ws_url(gateways.next(), openai_path), {"Authorization": f"Bearer {secret}"}))
    check("the client_secret is refused the second time (401)", again == 401, again)

    # --- Expiry and revocation, on HTTP and on a live session ---
    short = create(operator, name="short", scopes=["jobs:read"], expires_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3)))
    check("a key works until it expires", gateways.call("GET", "/v1/audio/transcriptions?limit=1", short["key"]).status_code == 200)
    time.sleep(4)
    expired = gateways.call("GET", "/v1/audio/transcriptions?limit=1", short["key"])
    check("and is refused at once after (401 key_expired)", expired.status_code == 401 and "key_expired" in expired.text, expired.text)

    live = create(operator, name="live", scopes=["realtime", "jobs:read"])
    audio, rate = pcm16(clips / "jfk.wav")
    revoke = lambda: gateways.call("DELETE", f"/auth/keys/{live['id']}", operator)  # noqa: E731
    after, error, code = asyncio.run(revoked_mid_session(
        ws_url(gateways.next(), f"/v1/audio/transcriptions/stream?language=en&sample_rate={rate}&api_key={live['key']}"), audio, rate, revoke))
    check(f"revoking a key ends its live session within 5 s (it ended {after:.2f} s after)", 0 <= after < 5, after)
    check("with the dialect's auth error and close 4401", error is not None and error.get("code") == "key_revoked" and code == 4401, (error, code))
    refused = gateways.call("GET", "/v1/audio/transcriptions?limit=1", live["key"])
    check("the revoked key is refused on HTTP (401 key_revoked)", refused.status_code == 401 and "key_revoked" in refused.text, refused.text)
    status = asyncio.run(refused_handshake(ws_url(gateways.next(), native + f"&api_key={live['key']}")))
    check("and on a WebSocket handshake (401)", status == 401, status)
    self_revoke = gateways.call("DELETE", f"/auth/keys/{acme['id']}", acme["key"])
    check("a key cannot revoke itself (400)", self_revoke.status_code == 400, self_revoke.text)

    # --- Job introspection: task artifacts, stats, the audit log ---
    deadline = time.monotonic() + 120
    while (done := gateways.call("GET", f"/v1/audio/transcriptions/{job['id']}", acme["key"]).json())["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline, "acme's job did not finish"
        time.sleep(0.5)
    tasks = gateways.call("GET", f"/v1/audio/transcriptions/{job['id']}/tasks", acme["key"]).json()["tasks"]
    # Intermediate files go once the job has ended; the merge task's transcript stays.
    transcribe = next(task for task in tasks if task["stage"] == "merge")
    artifacts = gateways.call("GET", f"/v1/audio/transcriptions/{job['id']}/tasks/{transcribe['task_id']}/artifacts", acme["key"]).json()
    check("a task's artifacts show what it read and what it wrote", artifacts["task_id"] == transcribe["task_id"] and artifacts["request"]
          and artifacts["response"] and any(entry["role"] == "output" and entry["available"] for entry in artifacts["artifacts"]), artifacts)
    output = next(entry for entry in artifacts["artifacts"] if entry["role"] == "output" and entry["available"])
    download = gateways.call("GET", output["url"], acme["key"])
    check("and each stored one downloads", download.status_code == 200 and len(download.content) == output["size_bytes"], (download.status_code, output))
    sneaky = gateways.call("GET", output["url"].rsplit("/", 1)[0] + "/..%2F..%2Fdalston.sqlite", acme["key"])
    check("a name that is not the task's artifact is 404", sneaky.status_code == 404, sneaky.status_code)
    other = gateways.call("GET", f"/v1/audio/transcriptions/{job['id']}/tasks/{transcribe['task_id']}/artifacts", worker["key"])
    check("nor are another tenant's task artifacts visible (404)", other.status_code == 404, other.status_code)
    stats = gateways.call("GET", "/v1/jobs/stats", acme["key"]).json()
    check("GET /v1/jobs/stats counts the tenant's jobs", stats["completed_today"] + stats["failed_today"] >= 1
          and all(name in stats for name in ["running", "queued", "completed_today", "failed_today"]), stats)
    trail = gateways.call("GET", f"/v1/audit/resources/api_key/{live['id']}", operator).json()
    check("the audit trail of a key shows its creation and revocation",
          [event["action"] for event in trail["events"]][:2] == ["api_key.revoked", "api_key.created"], trail)
    page = gateways.call("GET", "/v1/audit?limit=2&action=api_key.created", operator).json()
    check("GET /v1/audit filters and pages", len(page["events"]) == 2 and page["has_more"] and page["cursor"], page)
    following = gateways.call("GET", f"/v1/audit?limit=2&action=api_key.created&cursor={page['cursor']}", operator).json()
    check("the next page continues after the cursor", following["events"] and following["events"][0]["id"] < page["events"][-1]["id"], following)
    sessions = gateways.call("GET", "/v1/realtime/sessions?limit=100", acme["key"]).json()
    check("a tenant lists none of another tenant's realtime sessions", sessions["sessions"] == [], sessions)
    theirs = gateways.call("GET", "/v1/realtime/sessions?limit=100", worker["key"]).json()["sessions"]
    check("the default tenant lists its own", len(theirs) >= 1, theirs)
    peek = gateways.call("GET", f"/v1/realtime/sessions/{theirs[0]['id']}", acme["key"])
    check("and another tenant's session is 404", peek.status_code == 404, peek.status_code)
    acme_audit = gateways.call("GET", "/v1/audit?limit=100", acme["key"]).json()
    check("a tenant's admin reads only its tenant's audit entries", all(event["tenant_id"] == "acme" for event in acme_audit["events"]), acme_audit)
    check("a key without admin cannot read the audit log (403)", gateways.call("GET", "/v1/audit", worker["key"]).status_code == 403)

    print("ALL CHECKS PASSED")
    return 0


if __name__ == "__main__":
    run(main)
