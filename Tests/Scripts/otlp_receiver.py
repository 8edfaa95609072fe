#!/usr/bin/env python3
"""A small OTLP/HTTP trace receiver for end-to-end tests.

usage: otlp_receiver.py --port PORT --output FILE [--host 127.0.0.1] [--fail-status CODE] [--no-install]

Binds HOST:PORT (PORT 0 picks a free port), prints exactly one line `listening PORT` to stdout
(nothing else is ever printed there), then serves until SIGTERM or SIGINT and exits 0.

  POST /v1/traces   OTLP/HTTP export, body `application/x-protobuf` or `application/json` (OTLP/JSON,
                    ids as hex), optionally `Content-Encoding: gzip` (or deflate); chunked bodies are
                    accepted. Each span becomes one JSON line appended to FILE; a request's lines are
                    written together under a lock, so FILE only ever holds whole lines. Answers 200
                    with an empty ExportTraceServiceResponse (protobuf, or `{}` for JSON requests).
                    A malformed body, or a span whose trace id is not 16 bytes / span id not 8 bytes /
                    parent span id not 0 or 8 bytes, is answered 400 and nothing of that request is
                    written. Other content types get 415.
                    With --fail-status CODE every export is answered CODE and nothing is written; the
                    spans of well-formed exports are still counted in /stats.
  GET /health       200 "ok"
  GET /stats        {"requests": export requests received, "spans": spans in well-formed exports
                    (written, or only counted under --fail-status), "rejected": exports not answered 200}
  anything else     404 (405 for a known path with the wrong method)

Each line of FILE:
  {"trace_id": 32 hex, "span_id": 16 hex, "parent_span_id": 16 hex or "", "name", "kind": "SPAN_KIND_…",
   "service_name": resource's service.name or "", "resource": {attributes}, "scope": scope name,
   "attributes": {…}, "status_code": "STATUS_CODE_UNSET|OK|ERROR", "status_message",
   "start_time_unix_nano": int, "end_time_unix_nano": int,
   "events": [{"name", "attributes"}], "links": [{"trace_id", "span_id", "attributes"}]}
Attribute values: string, int, float, bool, list (array), dict (kvlist), base64 string (bytes), null (empty).

With OTLP_RECEIVER_COUNT_ONLY=1 in the environment (benchmarks) spans are decoded and counted in
/stats but not converted or written, so the receiver takes as little of the machine as it can.

Needs the PyPI package `opentelemetry-proto` (it brings `protobuf`). When it is missing the receiver
tries `python3 -m pip install -q opentelemetry-proto` once (unless --no-install or
OTLP_RECEIVER_NO_INSTALL=1); when it still cannot be imported it says so on stderr and exits 3.
"""
import argparse
import base64
import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 64 * 1024 * 1024
EXIT_MISSING_DEPENDENCY = 3


def log(message):
    print(f"otlp_receiver: {message}", file=sys.stderr, flush=True)


def import_proto(allow_install):
    """Imports the OTLP protobuf classes, installing opentelemetry-proto once if allowed."""
    def attempt():
        from google.protobuf import json_format
        from google.protobuf.message import DecodeError
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
        from opentelemetry.proto.trace.v1 import trace_pb2
        return json_format, DecodeError, trace_service_pb2, trace_pb2

    try:
        return attempt()
    except ImportError as first:
        error = first
    if allow_install:
        log(f"cannot import the OTLP protobuf classes ({error}); trying: python3 -m pip install -q opentelemetry-proto")
        try:
            # pip's output goes to stderr: stdout carries only the `listening PORT` line.
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            "opentelemetry-proto"], stdout=sys.stderr, stderr=sys.stderr, timeout=600, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            log(f"pip failed: {exc}")
        import importlib
        importlib.invalidate_caches()
        try:
            return attempt()
        except ImportError as second:
            error = second
    log(f"cannot import the OTLP protobuf classes: {error}\n"
        "  install them with: python3 -m pip install opentelemetry-proto")
    sys.exit(EXIT_MISSING_DEPENDENCY)


class BadRequest(Exception):
    """The export cannot be decoded; answered 400 (or `status`)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


# --- OTLP/JSON: ids are hex there, base64 in protobuf's canonical JSON ---------------------------

_ID_KEYS = {"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"}
_HEX = re.compile(r"\A(?:[0-9a-fA-F]{2})*\Z")


def hex_ids_to_base64(node, path="$"):
    """Rewrites every trace/span id (a hex string in OTLP/JSON) to base64 in place."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}"
            if key in _ID_KEYS and isinstance(value, str):
                if not _HEX.match(value):
                    raise BadRequest(f"{where}: {value!r} is not a hex id")
                node[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
            else:
                hex_ids_to_base64(value, where)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            hex_ids_to_base64(item, f"{path}[{index}]")


# --- span → JSON line -------------------------------------------------------------------------------

def any_value(value):
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return key_values(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return getattr(value, kind)  # string_value, bool_value, int_value, double_value


def key_values(pairs):
    return {pair.key: any_value(pair.value) for pair in pairs}


def check_id(raw, size, what, allow_empty=False):
    if len(raw) == size or (allow_empty and not raw):
        return raw.hex()
    raise BadRequest(f"{what} has {len(raw)} bytes, expected {size}" + (" or 0" if allow_empty else ""))


class Receiver:
    def __init__(self, output, fail_status, proto):
        self.json_format, self.DecodeError, self.trace_service_pb2, self.trace_pb2 = proto
        self.fail_status = fail_status
        self.output = open(output, "a", encoding="utf-8")
        self.lock = threading.Lock()  # guards the file and the counters
        self.requests = 0
        self.spans = 0
        self.rejected = 0
        self.empty_response = self.trace_service_pb2.ExportTraceServiceResponse().SerializeToString()

    def close(self):
        with self.lock:
            self.output.close()

    def stats(self):
        with self.lock:
            return {"requests": self.requests, "spans": self.spans, "rejected": self.rejected}

    def count(self, spans=0, rejected=False):
        with self.lock:
            self.requests += 1
            self.spans += spans
            self.rejected += int(rejected)

    def decode(self, body, content_type):
        request = self.trace_service_pb2.ExportTraceServiceRequest()
        if content_type == "application/x-protobuf":
            try:
                request.ParseFromString(body)
            except (self.DecodeError, ValueError, RuntimeError) as exc:
                raise BadRequest(f"not an ExportTraceServiceRequest: {exc}") from None
        else:
            try:
                document = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise BadRequest(f"not JSON: {exc}") from None
            if not isinstance(document, dict):
                raise BadRequest("OTLP/JSON body must be an object")
            hex_ids_to_base64(document)
            try:
                # OTLP/JSON receivers must ignore unknown fields.
                self.json_format.ParseDict(document, request, ignore_unknown_fields=True)
            except (self.json_format.ParseError, ValueError, TypeError, AttributeError) as exc:
                raise BadRequest(f"not an OTLP/JSON ExportTraceServiceRequest: {exc}") from None
        return request

    def lines(self, request):
        span_kind = self.trace_pb2.Span.SpanKind
        status_code = self.trace_pb2.Status.StatusCode
        out = []
        for r, resource_spans in enumerate(request.resource_spans):
            resource = key_values(resource_spans.resource.attributes)
            service = resource.get("service.name")
            for s, scope_spans in enumerate(resource_spans.scope_spans):
                for n, span in enumerate(scope_spans.spans):
                    where = f"resource_spans[{r}].scope_spans[{s}].spans[{n}]"
                    record = {
                        "trace_id": check_id(span.trace_id, 16, f"{where}.trace_id"),
                        "span_id": check_id(span.span_id, 8, f"{where}.span_id"),
                        "parent_span_id": check_id(span.parent_span_id, 8, f"{where}.parent_span_id", True),
                        "name": span.name,
                        "kind": span_kind.Name(span.kind) if span.kind in span_kind.values() else str(span.kind),
                        "service_name": service if isinstance(service, str) else "",
                        "resource": resource,
                        "scope": scope_spans.scope.name,
                        "attributes": key_values(span.attributes),
                        "status_code": (status_code.Name(span.status.code)
                                        if span.status.code in status_code.values() else str(span.status.code)),
                        "status_message": span.status.message,
                        "start_time_unix_nano": span.start_time_unix_nano,
                        "end_time_unix_nano": span.end_time_unix_nano,
                        "events": [{"name": e.name, "attributes": key_values(e.attributes)} for e in span.events],
                        "links": [{"trace_id": check_id(l.trace_id, 16, f"{where}.links[{i}].trace_id"),
                                   "span_id": check_id(l.span_id, 8, f"{where}.links[{i}].span_id"),
                                   "attributes": key_values(l.attributes)} for i, l in enumerate(span.links)],
                    }
                    # NaN/Infinity doubles are written as null so that every line stays strict JSON.
                    out.append(json.dumps(sanitize(record), ensure_ascii=False, separators=(",", ":")) + "\n")
        return out

    def export(self, body, content_type):
        """Returns (status, spans); raises BadRequest. Writes nothing unless the whole request is good."""
        request = self.decode(body, content_type)
        if COUNT_ONLY:
            # Benchmarks: decoded and counted, not converted or written (that work would compete
            # with the traced service for the same cores and be counted as tracing's cost).
            count = sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)
            return (self.fail_status or 200), count
        lines = self.lines(request)
        if self.fail_status is not None:
            return self.fail_status, len(lines)
        with self.lock:
            self.output.write("".join(lines))
            self.output.flush()
        return 200, len(lines)


# OTLP_RECEIVER_COUNT_ONLY=1: decode and count spans, write nothing (for benchmarks).
COUNT_ONLY = os.environ.get("OTLP_RECEIVER_COUNT_ONLY") == "1"


def sanitize(value):
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: sanitize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sanitize(v) for v in value]
    return value


def rpc_status(code, message):
    """google.rpc.Status{code, message} encoded by hand (its class is not in opentelemetry-proto)."""
    def varint(n):
        out = bytearray()
        while True:
            byte, n = n & 0x7F, n >> 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)
    text = message.encode("utf-8")
    return b"\x08" + varint(code) + b"\x12" + varint(len(text)) + text


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "otlp-receiver/1"
    receiver: Receiver = None  # set on the subclass made in main()

    # Quiet: no access log; errors still go to stderr.
    def log_request(self, code="-", size="-"):
        pass

    def log_message(self, format, *args):
        log(f"{self.address_string()} {format % args}")

    def respond(self, status, body=b"", content_type="text/plain; charset=utf-8", close=False):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def path_only(self):
        return self.path.split("?", 1)[0]

    def do_GET(self):
        path = self.path_only()
        if path == "/health":
            self.respond(200, b"ok")
        elif path == "/stats":
            self.respond(200, json.dumps(self.receiver.stats()).encode(), "application/json")
        elif path == "/v1/traces":
            self.respond(405, b"use POST\n")
        else:
            self.respond(404, b"not found\n")

    do_HEAD = do_GET

    def read_body(self):
        """Reads the whole body (Content-Length or chunked); raises BadRequest."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise BadRequest("bad chunk size line") from None
                if size == 0:
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise BadRequest(f"body over {MAX_BODY} bytes", 413)
                chunk = self.rfile.read(size)
                if len(chunk) != size:
                    raise BadRequest("truncated chunk")
                chunks.append(chunk)
                self.rfile.readline(8)  # CRLF after the chunk
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise BadRequest("bad Content-Length") from None
        if length < 0:
            raise BadRequest("bad Content-Length")
        if length > MAX_BODY:
            raise BadRequest(f"body over {MAX_BODY} bytes", 413)
        body = self.rfile.read(length)
        if len(body) != length:
            raise BadRequest("truncated body")
        return body

    def do_POST(self):
        path = self.path_only()
        if path in ("/health", "/stats"):
            self.respond(405, b"use GET\n", close=True)
            return
        if path != "/v1/traces":
            self.respond(404, b"not found\n", close=True)
            return
        content_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        is_json = content_type == "application/json"
        error_type = "application/json" if is_json else "application/x-protobuf"
        try:
            body = self.read_body()
        except BadRequest as exc:
            self.receiver.count(rejected=True)
            log(f"rejected export: {exc}")
            self.reply_error(exc.status, str(exc), is_json, close=True)
            return
        try:
            if content_type not in ("application/x-protobuf", "application/json"):
                raise BadRequest(f"unsupported Content-Type {content_type or '(none)'!r}", 415)
            encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
            if encoding == "gzip":
                try:
                    body = gzip.decompress(body)
                except (OSError, EOFError, zlib.error) as exc:
                    raise BadRequest(f"bad gzip body: {exc}") from None
            elif encoding == "deflate":
                try:
                    body = zlib.decompress(body)
                except zlib.error as exc:
                    raise BadRequest(f"bad deflate body: {exc}") from None
            elif encoding not in ("", "identity"):
                raise BadRequest(f"unsupported Content-Encoding {encoding!r}")
            status, spans = self.receiver.export(body, content_type)
        except BadRequest as exc:
            if self.receiver.fail_status is not None:
                status, spans = self.receiver.fail_status, 0
            else:
                self.receiver.count(rejected=True)
                log(f"rejected export: {exc}")
                self.reply_error(exc.status, str(exc), is_json)
                return
        except Exception as exc:  # never crash the server on a request
            self.receiver.count(rejected=True)
            log(f"internal error on export: {exc!r}")
            self.reply_error(500, f"internal error: {exc}", is_json)
            return
        self.receiver.count(spans=spans, rejected=status != 200)
        if status != 200:
            self.reply_error(status, f"simulated failure ({status})", is_json)
        elif is_json:
            self.respond(200, b"{}", "application/json")
        else:
            self.respond(200, self.receiver.empty_response, "application/x-protobuf")

    def reply_error(self, status, message, is_json, close=False):
        # OTLP/HTTP: error bodies are a google.rpc.Status (code 3 = INVALID_ARGUMENT, 14 = UNAVAILABLE).
        code = 3 if 400 <= status < 500 else 14
        if is_json:
            self.respond(status, json.dumps({"code": code, "message": message}).encode(), "application/json", close)
        else:
            self.respond(status, rpc_status(code, message), "application/x-protobuf", close)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Exporters keep connections alive: joining their handler threads on shutdown would wait
    # for clients to hang up, so a SIGTERM could never end the receiver.
    block_on_close = False


def main(argv=None):
    parser = argparse.ArgumentParser(description="OTLP/HTTP trace receiver for end-to-end tests.")
    parser.add_argument("--port", type=int, required=True, help="port to bind; 0 picks a free one")
    parser.add_argument("--output", required=True, help="file to append one JSON line per span to")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--fail-status", type=int, default=None, metavar="CODE",
                        help="answer every export with CODE and record nothing (spans are still counted)")
    parser.add_argument("--no-install", action="store_true",
                        help="do not try to pip install opentelemetry-proto when it is missing")
    args = parser.parse_args(argv)
    if args.fail_status is not None and not 100 <= args.fail_status <= 599:
        parser.error("--fail-status must be an HTTP status code (100-599)")

    allow_install = not args.no_install and os.environ.get("OTLP_RECEIVER_NO_INSTALL", "") in ("", "0")
    receiver = Receiver(args.output, args.fail_status, import_proto(allow_install))
    handler = type("BoundHandler", (Handler,), {"receiver": receiver})
    Server.address_family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    try:
        server = Server((args.host, args.port), handler)
    except OSError as exc:
        log(f"cannot bind {args.host}:{args.port}: {exc}")
        return 1

    def stop(signum, frame):
        # shutdown() waits for serve_forever() to return, so it must run on another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # A parent may start us with these blocked (threads of Swift's concurrency pool block most
    # signals, and a spawned child inherits the mask): then no SIGTERM would ever arrive.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    print(f"listening {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        receiver.close()  # takes the lock: an export being written finishes its lines first
    return 0


if __name__ == "__main__":
    sys.exit(main())
