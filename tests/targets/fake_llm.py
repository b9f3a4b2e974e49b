#!/usr/bin/env python3
"""A misbehaving HTTP token server for the HTTP target tests, written apart
from the harness (Python's socketserver): it answers every POST in one wrong
way, chosen by its first argument, on 127.0.0.1:PORT (the second).

  malformed-sse    : a 200 SSE stream whose second event's data is not JSON
  malformed-ndjson : a 200 NDJSON stream whose second line is not JSON
  silent           : reads the request and never answers
"""
import socketserver
import sys
import time

MODE, PORT = sys.argv[1], int(sys.argv[2])


def token(seq: int) -> str:
    return f"t{seq}."  # the harness's tag alone: a token of size <= its tag


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        length = 0
        while True:  # the request header
            line = self.rfile.readline()
            if not line or line in (b"\r\n", b"\n"):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        self.rfile.read(length)
        if MODE == "silent":
            time.sleep(60)
            return
        sse = MODE == "malformed-sse"
        kind = b"text/event-stream" if sse else b"application/x-ndjson"
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + kind + b"\r\nConnection: close\r\n\r\n")
        if sse:
            good = '{"choices":[{"index":0,"delta":{"content":"%s"}}]}' % token(0)
            self.wfile.write(f"data: {good}\n\ndata: {{not json\n\n".encode())
        else:
            self.wfile.write(('{"response":"%s","done":false}\n{not json\n' % token(0)).encode())
        self.wfile.flush()
        time.sleep(0.2)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


with Server(("127.0.0.1", PORT), Handler) as server:
    server.serve_forever()
