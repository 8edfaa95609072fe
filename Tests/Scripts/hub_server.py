"""A local stand-in for the Hugging Face hub, in the hub's own URL layout, for `dalston models pull`.

usage: hub_server.py PORT REPO_ID=DIRECTORY...

Serves each DIRECTORY's files as the repository REPO_ID at revision `main`: the model info API
(`GET /api/models/<repo>/revision/<rev>`, with the file list and the commit sha), the file tree
(`GET /api/models/<repo>/tree/<rev>`, large files marked as LFS with their sha256) and the file
downloads (`HEAD`/`GET /<repo>/resolve/<rev>/<file>`, with the ETag, X-Repo-Commit and length
headers huggingface_hub checks). Unknown repositories and files answer 404 with the hub's
`X-Error-Code` header. Prints `listening PORT`, then one line per request.
"""

from __future__ import annotations

import hashlib
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

REPOSITORIES: dict[str, Path] = {}


def commit_of(repo: str) -> str:
    return hashlib.sha1(repo.encode()).hexdigest()


def etag_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Hub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    etags: dict[Path, str] = {}

    def log_message(self, format: str, *args) -> None:  # one line per request, on stdout
        print(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}", flush=True)

    def not_found(self, code: str) -> None:
        body = json.dumps({"error": code}).encode()
        self.send_response(404)
        self.send_header("X-Error-Code", code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def json(self, value: object) -> None:
        body = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self) -> None:
        path = unquote(urlparse(self.path).path)
        if path.startswith("/api/models/") and "/tree/" in path:
            repo = path[len("/api/models/"):].partition("/tree/")[0]
            if repo not in REPOSITORIES:
                return self.not_found("RepoNotFound")
            entries = []
            for file in sorted(p for p in REPOSITORIES[repo].iterdir() if p.is_file()):
                size = file.stat().st_size
                entry = {"type": "file", "path": file.name, "size": size, "oid": hashlib.sha1(file.name.encode()).hexdigest()}
                if size > 10_000_000:  # large files live in LFS on the hub
                    entry["lfs"] = {"oid": Hub.etags.setdefault(file, etag_of(file)), "size": size, "pointerSize": 134}
                entries.append(entry)
            return self.json(entries)
        if path.startswith("/api/models/"):
            rest = path[len("/api/models/"):]
            repo, _, revision = rest.partition("/revision/")
            repo = repo.rstrip("/")
            if repo not in REPOSITORIES:
                return self.not_found("RepoNotFound")
            files = sorted(p.name for p in REPOSITORIES[repo].iterdir() if p.is_file())
            return self.json({
                "id": repo, "modelId": repo, "sha": commit_of(repo), "private": False, "disabled": False, "gated": False,
                "siblings": [{"rfilename": name} for name in files], "tags": ["ctranslate2", "automatic-speech-recognition"],
            })
        repo, marker, rest = path.lstrip("/").partition("/resolve/")
        if not marker or repo not in REPOSITORIES:
            return self.not_found("RepoNotFound")
        _, _, filename = rest.partition("/")
        file = REPOSITORIES[repo] / filename
        if "/" in filename or not file.is_file():
            return self.not_found("EntryNotFound")
        etag = Hub.etags.setdefault(file, etag_of(file))
        size = file.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("ETag", f'"{etag}"')
        self.send_header("X-Repo-Commit", commit_of(repo))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if self.command == "GET":
            with open(file, "rb") as source:
                while chunk := source.read(1 << 20):
                    self.wfile.write(chunk)

    do_GET = route
    do_HEAD = route


def main() -> int:
    # A parent may start us with signals blocked (Foundation's Process passes its mask on):
    # SIGTERM must end the server.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    port = int(sys.argv[1])
    for argument in sys.argv[2:]:
        repo, _, directory = argument.partition("=")
        REPOSITORIES[repo] = Path(directory)
    server = ThreadingHTTPServer(("127.0.0.1", port), Hub)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
