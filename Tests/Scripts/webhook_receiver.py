"""A webhook receiver for Dalston's tests.

Verifies every request with the Standard Webhooks reference library (`standardwebhooks`),
answers 500 to the first --fail-first requests (to exercise retries) and 200 afterwards, and
prints one JSON line per request: whether its signature verified, its webhook-id, the event,
the job and the X-Request-ID header. Prints {"listening": port} once ready.
"""
import argparse
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    arguments = parser.parse_args()
    verifier = Webhook(arguments.secret)
    state = {"requests": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            state["requests"] += 1
            record = {"index": state["requests"], "webhook_id": self.headers.get("webhook-id"),
                      "request_id": self.headers.get("X-Request-ID"), "path": self.path}
            try:
                payload = verifier.verify(body, dict(self.headers.items()))
                record.update(verified=True, type=payload.get("type"), event_id=payload.get("id"),
                              transcription_id=payload.get("data", {}).get("transcription_id"),
                              status=payload.get("data", {}).get("status"),
                              metadata=payload.get("data", {}).get("webhook_metadata"),
                              payload_request_id=payload.get("data", {}).get("request_id"))
            except Exception as error:  # the record says why
                record.update(verified=False, error=str(error))
            failing = state["requests"] <= arguments.fail_first
            record["answered"] = 500 if failing else 200
            print(json.dumps(record), flush=True)
            self.send_response(record["answered"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    # The test runner may hand its children SIGTERM ignored or blocked: stop on it regardless.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    server = ThreadingHTTPServer(("127.0.0.1", arguments.port), Handler)
    print(json.dumps({"listening": arguments.port}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
