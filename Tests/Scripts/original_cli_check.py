"""The original Dalston's CLI (`dalston_cli`, vendored at a pinned commit) against a running
Dalston, command by command, with real speech.

usage: original_cli_check.py BASE API_KEY FIXTURES
The CLI runs from its vendored source (its console script is also called `dalston`, so it is not
installed), with DALSTON_BOOTSTRAP=false: its bootstrap starts the original's own Python server
for a local URL, and here the server is already running. Prints `ok:` per check and
`ALL CHECKS PASSED`; exits 1 with the reason at the first failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

from checks import check, run  # Tests/Scripts/checks.py

CLI_SOURCE = Path(__file__).resolve().parents[1] / "Vendor" / "dalston-original" / "cli"


def cli(base: str, key: str, *arguments: str, timeout: float = 180) -> subprocess.CompletedProcess:
    environment = dict(os.environ, DALSTON_SERVER=base, DALSTON_API_KEY=key, DALSTON_BOOTSTRAP="false", PYTHONPATH=str(CLI_SOURCE),
                       COLUMNS="200", NO_COLOR="1")
    return subprocess.run([sys.executable, "-c", "from dalston_cli.main import app; app()", *arguments],
                          capture_output=True, text=True, timeout=timeout, env=environment)


def long_clip(source: Path, repeats: int) -> Path:
    """The clip several times over: a job long enough to cancel while it runs."""
    with wave.open(str(source), "rb") as clip:
        parameters = clip.getparams()
        frames = clip.readframes(clip.getnframes())
    path = Path(tempfile.mkdtemp()) / "long.wav"
    with wave.open(str(path), "wb") as out:
        out.setparams(parameters)
        out.writeframes(frames * repeats)
    return path


def main() -> int:
    base, key, fixtures = sys.argv[1:4]
    clips = Path(fixtures) / "eval-audio" / "clips"
    jfk = str(clips / "jfk.wav")

    status = cli(base, key, "status")
    check("dalston status sees the server and realtime", status.returncode == 0 and "✓" in status.stdout and "Real-time" in status.stdout, status)

    text = cli(base, key, "transcribe", jfk)
    check("dalston transcribe prints the transcript", text.returncode == 0 and "fellow americans" in text.stdout.lower(), text)
    as_json = cli(base, key, "transcribe", jfk, "-f", "json")
    document = json.loads(as_json.stdout)
    check("dalston transcribe -f json", as_json.returncode == 0 and "ask not" in document["text"].lower() and document["words"], as_json.stdout[:300])
    written = Path(tempfile.mkdtemp()) / "out.txt"
    to_file = cli(base, key, "transcribe", jfk, "-o", str(written))
    check("dalston transcribe -o writes the file", to_file.returncode == 0 and "your country" in written.read_text().lower(), to_file)

    submitted = cli(base, key, "transcribe", jfk, "--no-wait", "--json")
    job_id = json.loads(submitted.stdout)["id"]
    check("dalston transcribe --no-wait --json answers the job id", submitted.returncode == 0 and job_id, submitted)
    waited = cli(base, key, "jobs", "wait", job_id)
    check("dalston jobs wait prints the transcript once done", waited.returncode == 0 and "your country" in waited.stdout.lower(), waited)
    got = cli(base, key, "jobs", "get", job_id, "--json")
    check("dalston jobs get --json", got.returncode == 0 and json.loads(got.stdout)["status"] == "completed", got.stdout[:300])
    listed = cli(base, key, "jobs", "list", "--json")
    check("dalston jobs list --json holds it", listed.returncode == 0 and job_id in listed.stdout, listed.stdout[:300])
    for fmt, marker in [("srt", "-->"), ("vtt", "WEBVTT"), ("txt", "country"), ("json", '"text"')]:
        exported = cli(base, key, "export", job_id, "-f", fmt)
        check(f"dalston export -f {fmt}", exported.returncode == 0 and marker in exported.stdout, exported)

    long_job = json.loads(cli(base, key, "transcribe", str(long_clip(clips / "jfk.wav", 12)), "--no-wait", "--json").stdout)["id"]
    cancelled = cli(base, key, "jobs", "cancel", long_job)
    check("dalston jobs cancel on a running job", cancelled.returncode == 0 and ("cancelling" in cancelled.stdout or "cancelled" in cancelled.stdout), cancelled)

    models = cli(base, key, "models", "list")
    check("dalston models list shows the installed models", models.returncode == 0 and "faster-whisper-tiny.en" in models.stdout, models)
    engines = cli(base, key, "engines")
    check("dalston engines", engines.returncode == 0 and "faster-whisper" in engines.stdout, engines)

    live = cli(base, key, "listen", "--file", jfk, "-f", "jsonl", "--no-interim")
    events = [json.loads(line) for line in live.stdout.splitlines() if line.startswith("{")]
    check("dalston listen --file streams realtime and gets finals and the session's end",
          live.returncode == 0 and any(event["type"] == "final" and event["text"] for event in events)
          and any(event["type"] == "session_end" for event in events), live)
    sessions = cli(base, key, "sessions", "list")
    check("dalston sessions list shows it", sessions.returncode == 0 and "sess_" in sessions.stdout, sessions)

    print("ALL CHECKS PASSED")
    return 0


if __name__ == "__main__":
    run(main)
