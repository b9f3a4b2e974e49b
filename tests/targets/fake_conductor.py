#!/usr/bin/env python3
"""A misbehaving conductor for the target tests, written apart from the
harness (Python's socket, struct and zlib): it speaks just enough of ai-way's
framing to be greeted, then does one wrong thing on purpose.

  garbage  : after the UserMessage, three frames with a bad CRC, one whose
             JSON does not parse, one with an unknown variant, then a header
             declaring 11 MiB (6 protocol errors; the last ends the stream)
  no-read  : asks the harness's upstream for an answer and never reads it
"""
import json
import os
import signal
import socket
import struct
import sys
import time
import zlib


def frame(payload: bytes, good_crc: bool = True) -> bytes:
    crc = zlib.crc32(payload) & 0xFFFFFFFF
    if not good_crc:
        crc ^= 0xFFFFFFFF
    return struct.pack(">II", len(payload), crc) + payload


def read_frame(conn: socket.socket) -> dict:
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    length, _crc = struct.unpack(">II", exactly(8))
    return json.loads(exactly(length))


def send(conn: socket.socket, message: dict) -> None:
    conn.sendall(frame(json.dumps(message, separators=(",", ":")).encode()))


def main() -> None:
    mode, path = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    while True:
        conn, _ = server.accept()
        try:
            event = read_frame(conn)
        except (EOFError, ConnectionError):
            conn.close()  # the harness's probe for the socket
            continue
        break
    variant, body = next(iter(event.items()))
    send(conn, {"HandshakeAck": {"accepted": True, "connection_id": "conn-fake", "rejection_reason": None, "protocol_version": 1}})
    send(conn, {"Ack": {"event_id": body["event_id"]}})
    message = read_frame(conn)
    send(conn, {"Ack": {"event_id": message["UserMessage"]["event_id"]}})
    send(conn, {"State": {"state": "Thinking"}})
    if mode == "garbage":
        token = json.dumps({"Token": {"message_id": "msg_1", "text": "t0.abcdef"}}, separators=(",", ":")).encode()
        for _ in range(3):
            conn.sendall(frame(token, good_crc=False))
        conn.sendall(frame(b"{not json"))
        conn.sendall(frame(b'{"NoSuchVariant":{}}'))
        conn.sendall(struct.pack(">II", 11 << 20, 0))
    elif mode == "no-read":
        upstream = socket.create_connection((os.environ["OLLAMA_HOST"], int(os.environ["OLLAMA_PORT"])))
        body = json.dumps({"model": "yollayah", "prompt": "x", "stream": True}).encode()
        upstream.sendall(b"POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    time.sleep(60)


if __name__ == "__main__":
    main()
