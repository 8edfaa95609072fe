#!/usr/bin/env python3
"""Tests for otlp_receiver.py: runs it as a subprocess and sends it real OTLP/HTTP exports.

usage: python3 Tests/Scripts/test_otlp_receiver.py [-v]

Needs `opentelemetry-proto` (installed with pip when missing). The test that drives the real Python
SDK exporter also needs `opentelemetry-sdk` and `opentelemetry-exporter-otlp-proto-http`; they are
pip-installed when missing (unless OTLP_RECEIVER_NO_INSTALL=1) and the test is skipped if that fails.
"""
import base64
import gzip
import http.client
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
RECEIVER = os.path.join(HERE, "otlp_receiver.py")
ALLOW_INSTALL = os.environ.get("OTLP_RECEIVER_NO_INSTALL", "") in ("", "0")


def pip_install(*packages):
    if not ALLOW_INSTALL:
        return False
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                               *packages], stdout=sys.stderr, stderr=sys.stderr, timeout=600, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    importlib.invalidate_caches()
    return done.returncode == 0


try:
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
except ImportError:
    pip_install("opentelemetry-proto")
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from google.protobuf import json_format
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

TRACE_ID = bytes.fromhex("5b8efff798038103d269b633813fc60c")
PARENT_ID = bytes.fromhex("eee19b7ec3c1b174")
CHILD_ID = bytes.fromhex("eee19b7ec3c1b173")
LINKED_TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
LINKED_SPAN = bytes.fromhex("b7ad6b7169203331")


def kv(key, value):
    any_value = common_pb2.AnyValue()
    if isinstance(value, bool):
        any_value.bool_value = value
    elif isinstance(value, int):
        any_value.int_value = value
    elif isinstance(value, float):
        any_value.double_value = value
    elif isinstance(value, str):
        any_value.string_value = value
    elif isinstance(value, bytes):
        any_value.bytes_value = value
    elif isinstance(value, list):
        any_value.array_value.values.extend(kv("", v).value for v in value)
    elif isinstance(value, dict):
        any_value.kvlist_value.values.extend(kv(k, v) for k, v in value.items())
    return common_pb2.KeyValue(key=key, value=any_value)


def build_request():
    """Two spans of one trace (parent SERVER, child CLIENT with an ERROR status, an event and a link)."""
    request = trace_service_pb2.ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend([kv("service.name", "dalston-gateway"),
                                               kv("service.version", "1.2.3"),
                                               kv("host.cpus", 2)])
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "dalston.tracing"
    scope_spans.scope.version = "0.1"
    parent = scope_spans.spans.add(trace_id=TRACE_ID, span_id=PARENT_ID, name="POST /v1/speech-to-text",
                                   kind=trace_pb2.Span.SPAN_KIND_SERVER,
                                   start_time_unix_nano=1_700_000_000_000_000_000,
                                   end_time_unix_nano=1_700_000_000_500_000_000)
    parent.attributes.extend([kv("http.request.method", "POST"), kv("http.response.status_code", 200)])
    parent.status.code = trace_pb2.Status.STATUS_CODE_OK
    child = scope_spans.spans.add(trace_id=TRACE_ID, span_id=CHILD_ID, parent_span_id=PARENT_ID,
                                  name="redis XADD", kind=trace_pb2.Span.SPAN_KIND_CLIENT,
                                  start_time_unix_nano=1_700_000_000_100_000_000,
                                  end_time_unix_nano=1_700_000_000_200_000_000)
    child.attributes.extend([kv("str", "text"), kv("int", -42), kv("double", 0.25), kv("bool", True),
                             kv("strings", ["a", "b"]), kv("ints", [1, 2, 3]), kv("mixed", [1, "x", False]),
                             kv("map", {"k": "v", "n": 1}), kv("raw", b"\x00\x01\xff")])
    child.status.code = trace_pb2.Status.STATUS_CODE_ERROR
    child.status.message = "connection refused"
    event = child.events.add(name="exception", time_unix_nano=1_700_000_000_150_000_000)
    event.attributes.extend([kv("exception.type", "RedisError"), kv("exception.escaped", False)])
    link = child.links.add(trace_id=LINKED_TRACE, span_id=LINKED_SPAN)
    link.attributes.extend([kv("job.id", "job-7")])
    return request


EXPECTED_RESOURCE = {"service.name": "dalston-gateway", "service.version": "1.2.3", "host.cpus": 2}
EXPECTED_PARENT = {
    "trace_id": TRACE_ID.hex(), "span_id": PARENT_ID.hex(), "parent_span_id": "",
    "name": "POST /v1/speech-to-text", "kind": "SPAN_KIND_SERVER", "service_name": "dalston-gateway",
    "resource": EXPECTED_RESOURCE, "scope": "dalston.tracing",
    "attributes": {"http.request.method": "POST", "http.response.status_code": 200},
    "status_code": "STATUS_CODE_OK", "status_message": "",
    "start_time_unix_nano": 1_700_000_000_000_000_000, "end_time_unix_nano": 1_700_000_000_500_000_000,
    "events": [], "links": [],
}
EXPECTED_CHILD = {
    "trace_id": TRACE_ID.hex(), "span_id": CHILD_ID.hex(), "parent_span_id": PARENT_ID.hex(),
    "name": "redis XADD", "kind": "SPAN_KIND_CLIENT", "service_name": "dalston-gateway",
    "resource": EXPECTED_RESOURCE, "scope": "dalston.tracing",
    "attributes": {"str": "text", "int": -42, "double": 0.25, "bool": True, "strings": ["a", "b"],
                   "ints": [1, 2, 3], "mixed": [1, "x", False], "map": {"k": "v", "n": 1},
                   "raw": base64.b64encode(b"\x00\x01\xff").decode()},
    "status_code": "STATUS_CODE_ERROR", "status_message": "connection refused",
    "start_time_unix_nano": 1_700_000_000_100_000_000, "end_time_unix_nano": 1_700_000_000_200_000_000,
    "events": [{"name": "exception", "attributes": {"exception.type": "RedisError", "exception.escaped": False}}],
    "links": [{"trace_id": LINKED_TRACE.hex(), "span_id": LINKED_SPAN.hex(), "attributes": {"job.id": "job-7"}}],
}


def to_otlp_json(request):
    """OTLP/JSON as an SDK sends it: camelCase, enums as integers, trace/span ids as hex."""
    document = json_format.MessageToDict(request, use_integers_for_enums=True)

    def hexify(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId"):
                    node[key] = base64.b64decode(value).hex()
                else:
                    hexify(value)
        elif isinstance(node, list):
            for item in node:
                hexify(item)
    hexify(document)
    return document


class Receiver:
    """otlp_receiver.py running as a subprocess."""

    def __init__(self, *extra):
        self.dir = tempfile.TemporaryDirectory(prefix="otlp-receiver-test-")
        self.output = os.path.join(self.dir.name, "spans.jsonl")
        env = dict(os.environ, OTLP_RECEIVER_NO_INSTALL="1")  # the test process installed what is needed
        self.proc = subprocess.Popen([sys.executable, RECEIVER, "--port", "0", "--output", self.output, *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("listening "):
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            raise AssertionError(f"receiver did not start: stdout={line!r} stderr={err.decode()!r}")
        self.port = int(line.split()[1])

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.getheader("Content-Type"), response.read()
        finally:
            conn.close()

    def post(self, body, content_type="application/x-protobuf", encoding=None):
        headers = {"Content-Type": content_type}
        if encoding:
            headers["Content-Encoding"] = encoding
        return self.request("POST", "/v1/traces", body, headers)

    def records(self):
        with open(self.output, encoding="utf-8") as f:
            text = f.read()
        assert text == "" or text.endswith("\n"), f"partial last line in {text!r}"
        return [json.loads(line) for line in text.splitlines()]

    def stats(self):
        status, _, body = self.request("GET", "/stats")
        assert status == 200, status
        return json.loads(body)

    def stop(self, sig=signal.SIGTERM):
        """Signals the receiver; returns (exit code, stdout, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return self.proc.returncode, out.decode(), err.decode()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        self.dir.cleanup()


class ReceiverTest(unittest.TestCase):
    extra_args = ()

    def setUp(self):
        self.receiver = Receiver(*self.extra_args)
        self.addCleanup(self.receiver.close)

    def assert_ok_protobuf(self, status, content_type, body):
        self.assertEqual(status, 200, body)
        self.assertEqual(content_type, "application/x-protobuf")
        response = trace_service_pb2.ExportTraceServiceResponse()
        response.ParseFromString(body)
        self.assertFalse(response.HasField("partial_success"))


class ExportTests(ReceiverTest):
    def test_protobuf_export_writes_one_line_per_span(self):
        self.assert_ok_protobuf(*self.receiver.post(build_request().SerializeToString()))
        self.assertEqual(self.receiver.records(), [EXPECTED_PARENT, EXPECTED_CHILD])
        self.assertEqual(self.receiver.stats(), {"requests": 1, "spans": 2, "rejected": 0})

    def test_gzip_protobuf_export(self):
        body = gzip.compress(build_request().SerializeToString())
        self.assert_ok_protobuf(*self.receiver.post(body, encoding="gzip"))
        self.assertEqual(self.receiver.records(), [EXPECTED_PARENT, EXPECTED_CHILD])

    def test_otlp_json_export_with_hex_ids(self):
        document = to_otlp_json(build_request())
        span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
        self.assertEqual(span["traceId"], TRACE_ID.hex())  # really hex on the wire
        self.assertEqual(span["links"][0]["spanId"], LINKED_SPAN.hex())
        status, content_type, body = self.receiver.post(json.dumps(document).encode(), "application/json")
        self.assertEqual((status, content_type, json.loads(body)), (200, "application/json", {}))
        self.assertEqual(self.receiver.records(), [EXPECTED_PARENT, EXPECTED_CHILD])

    def test_hand_written_otlp_json_gzip(self):
        # Upper-case hex, string and number int64s, enum integers, an unknown field: all as OTLP/JSON allows.
        document = {"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "worker"}}]},
            "scopeSpans": [{"scope": {"name": "w"}, "spans": [{
                "traceId": TRACE_ID.hex().upper(), "spanId": CHILD_ID.hex(), "parentSpanId": "",
                "name": "transcribe", "kind": 1, "startTimeUnixNano": "10", "endTimeUnixNano": 20,
                "attributes": [{"key": "n", "value": {"intValue": "7"}},
                               {"key": "d", "value": {"doubleValue": 1.5}}],
                "status": {}, "someFutureField": True}]}]}]}
        status, _, _ = self.receiver.post(gzip.compress(json.dumps(document).encode()),
                                          "application/json; charset=utf-8", "gzip")
        self.assertEqual(status, 200)
        [record] = self.receiver.records()
        self.assertEqual((record["trace_id"], record["span_id"], record["parent_span_id"]),
                         (TRACE_ID.hex(), CHILD_ID.hex(), ""))
        self.assertEqual((record["kind"], record["status_code"], record["service_name"]),
                         ("SPAN_KIND_INTERNAL", "STATUS_CODE_UNSET", "worker"))
        self.assertEqual(record["attributes"], {"n": 7, "d": 1.5})
        self.assertEqual((record["start_time_unix_nano"], record["end_time_unix_nano"]), (10, 20))

    def test_exports_append(self):
        for _ in range(3):
            self.assert_ok_protobuf(*self.receiver.post(build_request().SerializeToString()))
        self.assertEqual(len(self.receiver.records()), 6)
        self.assertEqual(self.receiver.stats(), {"requests": 3, "spans": 6, "rejected": 0})

    def test_concurrent_exports_write_whole_lines(self):
        errors = []

        def send():
            for _ in range(5):
                status, _, body = self.receiver.post(build_request().SerializeToString())
                if status != 200:
                    errors.append((status, body))
        threads = [threading.Thread(target=send) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(errors, [])
        records = self.receiver.records()  # every line parses
        self.assertEqual(len(records), 8 * 5 * 2)
        self.assertEqual(sum(r == EXPECTED_CHILD for r in records), 40)

    def test_chunked_body(self):
        payload = build_request().SerializeToString()
        conn = http.client.HTTPConnection("127.0.0.1", self.receiver.port, timeout=10)
        try:
            conn.request("POST", "/v1/traces", body=iter([payload[:50], payload[50:]]), encode_chunked=True,
                         headers={"Content-Type": "application/x-protobuf"})
            response = conn.getresponse()
            self.assert_ok_protobuf(response.status, response.getheader("Content-Type"), response.read())
        finally:
            conn.close()
        self.assertEqual(self.receiver.records(), [EXPECTED_PARENT, EXPECTED_CHILD])

    def test_keep_alive_connection_serves_several_exports(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.receiver.port, timeout=10)
        try:
            for body in (build_request().SerializeToString(), b"garbage", build_request().SerializeToString()):
                conn.request("POST", "/v1/traces", body=body, headers={"Content-Type": "application/x-protobuf"})
                response = conn.getresponse()
                response.read()
            self.assertEqual(response.status, 200)
        finally:
            conn.close()
        self.assertEqual(len(self.receiver.records()), 4)

    def test_empty_request_is_accepted(self):
        self.assert_ok_protobuf(*self.receiver.post(b""))
        self.assertEqual(self.receiver.records(), [])


class RejectionTests(ReceiverTest):
    def assert_rejected(self, body, content_type="application/x-protobuf", encoding=None, status=400):
        got, _, _ = self.receiver.post(body, content_type, encoding)
        self.assertEqual(got, status)
        self.assertEqual(self.receiver.records(), [])

    def test_malformed_protobuf(self):
        self.assert_rejected(b"this is not a protobuf message")
        self.assert_rejected(build_request().SerializeToString()[:-7])  # truncated

    def test_malformed_gzip(self):
        self.assert_rejected(b"\x1f\x8b\x08\x00garbage", encoding="gzip")
        self.assert_rejected(gzip.compress(build_request().SerializeToString())[:-10], encoding="gzip")

    def test_malformed_json(self):
        self.assert_rejected(b'{"resourceSpans": [', "application/json")
        self.assert_rejected(b"[1, 2]", "application/json")
        self.assert_rejected(b'{"resourceSpans": [{"scopeSpans": [{"spans": "nope"}]}]}', "application/json")
        bad_hex = to_otlp_json(build_request())
        bad_hex["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["spanId"] = "not-hex!"
        self.assert_rejected(json.dumps(bad_hex).encode(), "application/json")

    def test_bad_id_length_rejects_the_whole_request(self):
        request = build_request()
        request.resource_spans[0].scope_spans[0].spans[1].trace_id = b"\x01\x02\x03"
        self.assert_rejected(request.SerializeToString())  # the first, valid span is not written either

    def test_unsupported_content_type_and_encoding(self):
        self.assert_rejected(b"x", "text/plain", status=415)
        self.assert_rejected(build_request().SerializeToString(), encoding="br")

    def test_rejections_are_counted_and_the_receiver_keeps_serving(self):
        self.receiver.post(b"\xff\xff\xff\xff")
        self.receiver.post(b"{", "application/json")
        self.assert_ok_protobuf(*self.receiver.post(build_request().SerializeToString()))
        self.assertEqual(self.receiver.stats(), {"requests": 3, "spans": 2, "rejected": 2})
        code, out, err = self.receiver.stop()
        self.assertEqual(code, 0, err)
        self.assertIn("rejected export", err)
        self.assertNotIn("Traceback", err)


class FailStatusTests(ReceiverTest):
    extra_args = ("--fail-status", "503")

    def test_every_export_gets_the_failure_status_and_nothing_is_written(self):
        status, _, _ = self.receiver.post(build_request().SerializeToString())
        self.assertEqual(status, 503)
        status, _, _ = self.receiver.post(json.dumps(to_otlp_json(build_request())).encode(), "application/json")
        self.assertEqual(status, 503)
        status, _, _ = self.receiver.post(b"garbage")
        self.assertEqual(status, 503)
        self.assertEqual(self.receiver.records(), [])
        self.assertEqual(self.receiver.stats(), {"requests": 3, "spans": 4, "rejected": 3})
        self.assertEqual(self.receiver.request("GET", "/health")[0], 200)


class ServerTests(ReceiverTest):
    def test_health_stats_and_unknown_paths(self):
        self.assertEqual(self.receiver.request("GET", "/health")[::2], (200, b"ok"))
        self.assertEqual(self.receiver.stats(), {"requests": 0, "spans": 0, "rejected": 0})
        self.assertEqual(self.receiver.request("GET", "/nope")[0], 404)
        self.assertEqual(self.receiver.request("POST", "/v1/metrics", b"x",
                                               {"Content-Type": "application/x-protobuf"})[0], 404)
        self.assertEqual(self.receiver.request("GET", "/v1/traces")[0], 405)

    def test_output_file_exists_before_any_export(self):
        self.assertTrue(os.path.exists(self.receiver.output))

    def test_sigterm_exits_0_quietly(self):
        self.receiver.post(build_request().SerializeToString())
        code, out, err = self.receiver.stop(signal.SIGTERM)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "")  # nothing after the `listening` line
        self.assertEqual(err, "")  # no access log
        self.assertEqual(len(self.receiver.records()), 2)

    def test_sigint_exits_0(self):
        code, _, err = self.receiver.stop(signal.SIGINT)
        self.assertEqual(code, 0, err)


class MissingDependencyTest(unittest.TestCase):
    def test_exits_3_with_a_message_when_opentelemetry_proto_cannot_be_imported(self):
        with tempfile.TemporaryDirectory() as tmp:
            # -S: no site-packages, so neither protobuf nor opentelemetry-proto can be imported.
            done = subprocess.run([sys.executable, "-S", RECEIVER, "--port", "0", "--no-install",
                                   "--output", os.path.join(tmp, "spans.jsonl")],
                                  capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 3, done.stderr)
        self.assertEqual(done.stdout, "")
        self.assertIn("pip install opentelemetry-proto", done.stderr)


def load_sdk():
    modules = ("opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.http.trace_exporter")
    try:
        return [importlib.import_module(m) for m in modules]
    except ImportError:
        pass
    if not pip_install("opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http"):
        return None
    try:
        return [importlib.import_module(m) for m in modules]
    except ImportError:
        return None


class PythonSdkExporterTest(ReceiverTest):
    def setUp(self):
        if load_sdk() is None:
            self.skipTest("opentelemetry-sdk / opentelemetry-exporter-otlp-proto-http not installable")
        super().setUp()

    def export_with_sdk(self, **exporter_args):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from opentelemetry.trace import Status, StatusCode

        memory = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource.create({"service.name": "sdk-check"}))
        provider.add_span_processor(SimpleSpanProcessor(memory))
        tracer = provider.get_tracer("sdk.scope")
        with tracer.start_as_current_span("outer", attributes={"a.int": 5, "a.list": ["x", "y"]}) as outer:
            with tracer.start_as_current_span("inner") as inner:
                inner.add_event("step", {"n": 1})
                inner.set_status(Status(StatusCode.ERROR, "boom"))
        provider.shutdown()
        spans = memory.get_finished_spans()
        exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{self.receiver.port}/v1/traces", timeout=10,
                                    **exporter_args)
        try:
            self.assertEqual(exporter.export(spans), SpanExportResult.SUCCESS)
        finally:
            exporter.shutdown()
        return outer.get_span_context(), inner.get_span_context()

    def check(self, outer, inner):
        records = {r["name"]: r for r in self.receiver.records()}
        self.assertEqual(set(records), {"outer", "inner"})
        self.assertEqual(records["outer"]["trace_id"], format(outer.trace_id, "032x"))
        self.assertEqual(records["outer"]["span_id"], format(outer.span_id, "016x"))
        self.assertEqual(records["outer"]["parent_span_id"], "")
        self.assertEqual(records["inner"]["parent_span_id"], format(outer.span_id, "016x"))
        self.assertEqual(records["inner"]["span_id"], format(inner.span_id, "016x"))
        self.assertEqual(records["outer"]["service_name"], "sdk-check")
        self.assertEqual(records["outer"]["scope"], "sdk.scope")
        self.assertEqual(records["outer"]["kind"], "SPAN_KIND_INTERNAL")
        self.assertEqual(records["outer"]["attributes"], {"a.int": 5, "a.list": ["x", "y"]})
        self.assertEqual((records["inner"]["status_code"], records["inner"]["status_message"]),
                         ("STATUS_CODE_ERROR", "boom"))
        self.assertEqual(records["inner"]["events"], [{"name": "step", "attributes": {"n": 1}}])
        self.assertLess(records["inner"]["start_time_unix_nano"], records["inner"]["end_time_unix_nano"])

    def test_sdk_exporter(self):
        self.check(*self.export_with_sdk())

    def test_sdk_exporter_gzip(self):
        from opentelemetry.exporter.otlp.proto.http import Compression
        self.check(*self.export_with_sdk(compression=Compression.Gzip))


if __name__ == "__main__":
    unittest.main()
