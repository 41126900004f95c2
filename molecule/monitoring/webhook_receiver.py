#!/usr/bin/env python3
"""Test webhook receiver: POST bodies are appended (one JSON document per line) to a file; GET returns them as a
JSON list. Usage: sluice-webhook-receiver PORT FILE"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, FILE = int(sys.argv[1]), sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(FILE, "a", encoding="utf-8") as out:
            out.write(json.dumps(json.loads(body or b"null")) + "\n")
        self.send_response(200)
        self.end_headers()

    def do_GET(self):  # noqa: N802
        try:
            with open(FILE, encoding="utf-8") as src:
                received = [json.loads(line) for line in src if line.strip()]
        except FileNotFoundError:
            received = []
        body = json.dumps(received).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
