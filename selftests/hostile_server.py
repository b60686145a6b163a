"""A server that misbehaves in one chosen way, on a loopback port.

Raw sockets, because a well-behaved framework will not truncate a body or
reset a connection on request.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

MODES = ("html", "wrong-content-type", "truncated", "reset", "silent", "garbage-json")


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.request.settimeout(5)
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = self.request.recv(65536)
                if not chunk:
                    return
                data += chunk
        except OSError:
            return
        mode = self.server.mode
        if mode == "reset":
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        if mode == "silent":
            self.server.stop.wait(30)
            return
        body, kind, length = {
            "html": (b"<html><body>502 Bad Gateway</body></html>", b"text/html", None),
            "wrong-content-type": (b'{"id": "x", "status": "Active"}', b"text/plain", None),
            "truncated": (b'{"id": "3f6a', b"application/json", 400),
            "garbage-json": (b'{"id": ', b"application/json", None),
        }[mode]
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: " + kind + b"\r\nContent-Length: "
                + str(length or len(body)).encode() + b"\r\nConnection: close\r\n\r\n")
        try:
            self.request.sendall(head + body)
        except OSError:
            return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = mode
        self.stop = threading.Event()


@contextmanager
def hostile(mode: str) -> Iterator[str]:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; known: {MODES}")
    server = _Server(mode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
