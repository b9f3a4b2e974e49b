#!/usr/bin/env python3
"""Surfaces that misuse a conductor, for the target tests, written apart from
the harness (Python's socket, struct and zlib) from ai-way's framing: a
big-endian length, a CRC-32 of the payload, then the JSON payload.

  flood SOCKET SECONDS : sends Handshake frames for SECONDS without reading
                         a byte of what comes back, then disconnects
  badcrc SOCKET BURSTS : sends BURSTS bursts of 1,000 frames with a bad CRC,
                         reading nothing, disconnecting after each burst
  probe SOCKET         : a well-behaved surface: one Handshake; exits 0 when a
                         HandshakeAck comes within 5 s, 1 otherwise
"""
import json
import socket
import struct
import sys
import time
import zlib

CAPABILITIES = {"color": False, "avatar": False, "avatar_animations": False, "tasks": False, "streaming": True,
                "images": False, "audio": False, "rich_text": False, "pointer_input": False, "keyboard_input": True,
                "clipboard": False, "max_width": 80, "max_height": 24}


def frame(payload: bytes, good_crc: bool = True) -> bytes:
    crc = zlib.crc32(payload) & 0xFFFFFFFF
    if not good_crc:
        crc ^= 0xFFFFFFFF
    return struct.pack(">II", len(payload), crc) + payload


def handshake(n: int) -> bytes:
    event = {"Handshake": {"event_id": f"evt-{n}", "protocol_version": 1, "surface_type": "Headless",
                           "capabilities": CAPABILITIES, "auth_token": None}}
    return frame(json.dumps(event, separators=(",", ":")).encode())


def connect(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def flood(path: str, seconds: float) -> None:
    s = connect(path)
    s.setblocking(False)
    end = time.monotonic() + seconds
    n = 0
    data = b""
    while time.monotonic() < end:
        if not data:
            data = handshake(n)
            n += 1
        try:
            sent = s.send(data)
            data = data[sent:]
        except BlockingIOError:
            time.sleep(0.001)  # the conductor stopped reading us: keep trying until the time is up
        except OSError:
            break
    s.close()


def badcrc(path: str, bursts: int) -> None:
    for _ in range(bursts):
        s = connect(path)
        try:
            s.sendall(b"".join(frame(b'{"Heartbeat":{}}', good_crc=False) for _ in range(1000)))
        except OSError:
            pass
        s.close()


def probe(path: str) -> int:
    s = connect(path)
    s.settimeout(5)
    s.sendall(handshake(0))
    buffer = b""
    deadline = time.monotonic() + 5
    try:
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                return 1
            buffer += chunk
            while len(buffer) >= 8:
                length, _ = struct.unpack(">II", buffer[:8])
                if len(buffer) < 8 + length:
                    break
                message = json.loads(buffer[8:8 + length])
                buffer = buffer[8 + length:]
                if "HandshakeAck" in message:
                    return 0
    except (socket.timeout, OSError):
        return 1
    return 1


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "flood":
        flood(path, float(sys.argv[3]))
    elif mode == "badcrc":
        badcrc(path, int(sys.argv[3]))
    else:
        sys.exit(probe(path))
