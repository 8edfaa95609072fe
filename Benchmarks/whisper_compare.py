"""Whisper through Dalston, side by side in one run with what it is measured against.

usage: .venv/bin/python Benchmarks/whisper_compare.py DALSTON_BINARY [--smoke] [--part wer|overhead|peer|all]

Parts (each prints a table, then one JSON line with its figures):

  wer       word error rate and real-time factor of PocketSphinx, Whisper tiny.en and Whisper base
            on Tests/Fixtures/eval-audio, through Dalston's OpenAI route (a `dalston up` per model,
            DALSTON_DEFAULT_MODEL naming it; one request at a time).
  overhead  the OpenAI route's latency for a 4 s clip (Samples/hello-world.wav) and a 63 s one (the
            13 eval clips joined) against faster-whisper called directly in this process on the
            same file with the same settings (tiny.en, int8, beam 5, one Dalston runner's threads,
            word timestamps, VAD on above 30 s as Dalston's `auto`); the two alternate, median of rounds.
  peer      against faster-whisper-server 0.0.3 (PyPI) serving the same model with the same
            decoding settings (it serves one request at a time, given every core; Dalston runs its
            defaults), one server at a time, on an 11 s clip: requests per second and p50/p95
            latency at 1 and 4 clients, and each one's WER on the eval set.

--smoke runs every part with tiny counts (the figures mean nothing; a part that no longer
starts, fails or hangs is caught). Children are stopped on every way out but SIGKILL.
"""

from __future__ import annotations

import argparse
import atexit
import concurrent.futures
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "Tests" / "Scripts"))
import wer_check  # noqa: E402  (the scorer the tests use)
from dalston_runners.models import models_directory  # noqa: E402  (where setup.sh installed the models)

EVAL = ROOT / "Tests" / "Fixtures" / "eval-audio"
JFK = EVAL / "clips" / "jfk.wav"
HELLO = ROOT / "Samples" / "hello-world.wav"
CORES = os.cpu_count() or 2
# Dalston's defaults (DALSTON_WHISPER_WORKERS, _THREADS): a runner per core up to 4, the cores
# shared among them. The direct call uses one runner's threads; the peer, which serves one request
# at a time, gets every core.
WORKERS = min(4, CORES)
RUNNER_THREADS = max(1, CORES // WORKERS)
CHILDREN: list[subprocess.Popen] = []


def stop_children() -> None:
    for child in CHILDREN:
        if child.poll() is None:
            child.terminate()
    for child in CHILDREN:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


atexit.register(stop_children)
for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(signum, lambda *_: sys.exit(130))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, child: subprocess.Popen, name: str, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"{name} exited with {child.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{name} did not answer {url} within 120 s: {log.read_text()[-2000:]}")


class Server:
    """A child serving the OpenAI route, stopped when done with."""

    def __init__(self, name: str, command: list[str], environment: dict[str, str], health: str, work: Path) -> None:
        self.port = free_port()
        self.name = name
        self.log = work / f"{name}.log"
        environment = {**environment, "DALSTON_PORT": str(self.port)}
        command = [part.replace("{port}", str(self.port)) for part in command]
        self.child = subprocess.Popen(command, env=environment, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        CHILDREN.append(self.child)
        self.base = f"http://127.0.0.1:{self.port}"
        wait_healthy(self.base + health, self.child, name, self.log)

    def stop(self) -> None:
        self.child.terminate()
        try:
            self.child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.child.kill()


def dalston(binary: str, work: Path, default_model: str) -> Server:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
        "DALSTON_DATA_DIR": str(work / f"data-{default_model}"), "DALSTON_DEFAULT_MODEL": default_model,
        "DALSTON_MODELS_DIR": str(models_directory()), "DALSTON_PYTHON": os.environ.get("DALSTON_PYTHON") or sys.executable,
        "LOG_FORMAT": "json", "LOG_LEVEL": "warning", "METRICS_ENABLED": "false",
    }
    return Server(f"dalston-{default_model}", [binary, "up"], environment, "/health", work)


def peer(work: Path, model: str) -> Server:
    config = work / "faster-whisper-server.yaml"
    config.write_text(json.dumps({  # YAML is a superset of JSON
        "models": [{
            "name": "whisper-1", "path": str(models_directory() / model),
            "model_options": {"device": "cpu", "compute_type": "int8", "cpu_threads": CORES, "num_workers": 1},
            "transcribe_options": {"beam_size": 5, "word_timestamps": True, "vad_filter": False},
        }],
    }))
    executable = shutil.which("faster-whisper-server", path=str(Path(sys.executable).parent)) or "faster-whisper-server"
    return Server("faster-whisper-server", [executable, "--config", str(config), "--host", "127.0.0.1", "--port", "{port}"],
                  dict(os.environ), "/health", work)


def post(base: str, path: Path, model: str = "whisper-1", field: str = "model") -> tuple[float, str]:
    """One OpenAI transcription request; (seconds, text)."""
    boundary = "bench-boundary-7d1f"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{model}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\nContent-Type: audio/wav\r\n\r\n").encode()
    body += path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(base + "/v1/audio/transcriptions", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=600) as response:
        text = json.loads(response.read())["text"]
    return time.monotonic() - started, text


def joined_eval_clips(work: Path) -> Path:
    target = work / "eval-joined.wav"
    frames = b""
    for clip in sorted((EVAL / "clips").glob("*.wav")):
        with wave.open(str(clip)) as reader:
            frames += reader.readframes(reader.getnframes())
    with wave.open(str(target), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16000)
        writer.writeframes(frames)
    return target


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def score_wer(base: str, smoke: bool, field: str = "model") -> dict:
    import csv

    with open(EVAL / "manifest.tsv", newline="") as manifest:
        rows = list(csv.DictReader(manifest, delimiter="\t"))[: 2 if smoke else None]
    errors = words = 0
    audio = wall = 0.0
    for row in rows:
        seconds, text = post(base, EVAL / row["file"], field=field)
        reference = wer_check.normalise(row["reference"])
        errors += wer_check.edit_distance(reference, wer_check.normalise(text))
        words += len(reference)
        audio += float(row["duration_s"])
        wall += seconds
    return {"wer": round(errors / words, 4), "errors": errors, "words": words, "audio_seconds": round(audio, 2),
            "wall_seconds": round(wall, 2), "rtf": round(wall / audio, 4)}


def part_wer(binary: str, work: Path, smoke: bool) -> dict:
    results = {}
    for model in ["pocketsphinx-en-us", "faster-whisper-tiny.en", "faster-whisper-base"]:
        server = dalston(binary, work, model)
        try:
            post(server.base, HELLO)  # loads the model: not part of the figures
            results[model] = score_wer(server.base, smoke)
        finally:
            server.stop()
    print("\nWER and real-time factor through Dalston's OpenAI route (13 clips, 62.6 s; one request at a time)")
    print(f"{'model':28} {'WER':>7} {'errors':>7} {'wall s':>8} {'RTF':>7}")
    for model, figures in results.items():
        print(f"{model:28} {figures['wer'] * 100:6.2f}% {figures['errors']:7d} {figures['wall_seconds']:8.2f} {figures['rtf']:7.3f}")
    return results


def part_overhead(binary: str, work: Path, smoke: bool) -> dict:
    from faster_whisper import WhisperModel, decode_audio

    model = WhisperModel(str(models_directory() / "faster-whisper-tiny.en"), device="cpu", compute_type="int8", cpu_threads=RUNNER_THREADS, num_workers=1)
    server = dalston(binary, work, "faster-whisper-tiny.en")
    rounds = 1 if smoke else 7
    results = {}
    try:
        post(server.base, HELLO)
        for label, clip in [("4 s", HELLO), ("63 s", joined_eval_clips(work))]:
            direct, through = [], []
            for _ in range(rounds):
                started = time.monotonic()
                audio = decode_audio(str(clip))
                segments, _ = model.transcribe(audio, beam_size=5, word_timestamps=True, vad_filter=len(audio) / 16000 > 30)
                list(segments)
                direct.append(time.monotonic() - started)
                through.append(post(server.base, clip)[0])
            d, t = statistics.median(direct), statistics.median(through)
            results[label] = {"direct_seconds": round(d, 4), "dalston_seconds": round(t, 4), "overhead_ms": round((t - d) * 1000, 1),
                              "overhead_ratio": round(t / d, 3), "rounds": rounds}
    finally:
        server.stop()
    print(f"\nDalston's overhead: OpenAI route vs faster-whisper called directly (tiny.en, int8, beam 5, {RUNNER_THREADS} thread(s) as one Dalston runner; median of {rounds}, alternating)")
    print(f"{'clip':6} {'direct s':>9} {'Dalston s':>10} {'overhead':>10} {'ratio':>7}")
    for label, figures in results.items():
        print(f"{label:6} {figures['direct_seconds']:9.3f} {figures['dalston_seconds']:10.3f} {figures['overhead_ms']:8.1f}ms {figures['overhead_ratio']:7.3f}")
    return results


def load(base: str, clients: int, requests: int, field: str) -> dict:
    latencies: list[float] = []
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        for seconds, _ in pool.map(lambda _: post(base, JFK, field=field), range(requests)):
            latencies.append(seconds)
    elapsed = time.monotonic() - started
    return {"requests": requests, "requests_per_second": round(requests / elapsed, 3), "p50_seconds": round(percentile(latencies, 0.5), 3),
            "p95_seconds": round(percentile(latencies, 0.95), 3)}


def part_peer(binary: str, work: Path, smoke: bool) -> dict:
    per_client = 1 if smoke else 10
    results: dict = {}
    # faster-whisper-server reads the form field `model_name`; Dalston `model`.
    order = [("faster-whisper-server", lambda: peer(work, "faster-whisper-tiny.en"), "model_name"),
             ("dalston", lambda: dalston(binary, work, "faster-whisper-tiny.en"), "model")]
    for name, start, field in order:
        server = start()
        try:
            post(server.base, JFK, field=field)
            results[name] = {f"{clients} clients": load(server.base, clients, clients * per_client, field) for clients in (1, 4)}
            results[name]["wer"] = score_wer(server.base, smoke, field=field)["wer"]
        finally:
            server.stop()
    print(f"\nAgainst faster-whisper-server 0.0.3, same model and decoding (tiny.en, int8, beam 5, word timestamps); it: one request at a time on {CORES} threads, "
          f"Dalston: {WORKERS} runners of {RUNNER_THREADS} thread(s) (its defaults); jfk.wav (11 s)")
    print(f"{'server':24} {'clients':>7} {'req/s':>7} {'p50 s':>7} {'p95 s':>7} {'WER':>7}")
    for name, figures in results.items():
        for clients in (1, 4):
            row = figures[f"{clients} clients"]
            print(f"{name:24} {clients:7d} {row['requests_per_second']:7.3f} {row['p50_seconds']:7.3f} {row['p95_seconds']:7.3f} {figures['wer'] * 100:6.2f}%")
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("dalston")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--part", default="all", choices=["wer", "overhead", "peer", "all"])
    arguments = parser.parse_args()
    smoke = arguments.smoke or os.environ.get("BENCH_SMOKE") == "1"
    work = Path(tempfile.mkdtemp(prefix="dalston-whisper-bench-"))
    atexit.register(shutil.rmtree, work, True)
    parts = {"wer": part_wer, "overhead": part_overhead, "peer": part_peer}
    for name in (parts if arguments.part == "all" else [arguments.part]):
        figures = parts[name](arguments.dalston, work, smoke)
        print(json.dumps({"part": name, "smoke": smoke, "cores": CORES, "workers": WORKERS, "runner_threads": RUNNER_THREADS, "figures": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
