"""A webhook receiver for the tests, verifying with the official Standard Webhooks library.

Every request is appended to --log as one JSON line: the webhook-id, the event type, whether
the signature verified (standardwebhooks.Webhook.verify with the secret read from
--secret-file, written by the test once the endpoint exists), and the status answered.
--fail-first N answers 500 to the first N requests; --status S answers S to every request;
--delay-ms D waits before answering. The chosen port is written to --port-file.
"""

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

parser = argparse.ArgumentParser()
parser.add_argument("--port-file", required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--secret-file", required=True)
parser.add_argument("--fail-first", type=int, default=0)
parser.add_argument("--status", type=int, default=200)
parser.add_argument("--delay-ms", type=int, default=0)
args = parser.parse_args()

lock = threading.Lock()
seen = {"requests": 0}


class Receiver(BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with lock:
            seen["requests"] += 1
            n = seen["requests"]
        verified = False
        error = None
        try:
            with open(args.secret_file) as f:
                secret = f.read().strip()
            Webhook(secret).verify(body, dict(self.headers.items()))
            verified = True
        except (OSError, WebhookVerificationError, ValueError) as e:
            error = str(e)
        status = 500 if n <= args.fail_first else args.status
        if args.delay_ms:
            time.sleep(args.delay_ms / 1000)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        line = {
            "id": self.headers.get("webhook-id"),
            "timestamp": self.headers.get("webhook-timestamp"),
            "verified": verified,
            "error": error,
            "status": status,
            "payload": payload,
            "received_ns": time.time_ns(),
        }
        with lock, open(args.log, "a") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.send_response(status)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


server = HTTPServer(("127.0.0.1", 0), Receiver)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(args.port_file + ".tmp", args.port_file)
server.serve_forever()
