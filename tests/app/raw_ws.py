"""A websocket client that can stop reading its socket entirely, like a frozen browser tab.

Built on the sans-I/O protocol of ``websockets`` over a plain socket with a small, fixed
receive buffer, so neither a library thread nor kernel autotuning absorbs the backlog.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri


class FrozenClient:
    def __init__(self, url: str, token: str, rcvbuf: int = 4096) -> None:
        uri = parse_uri(url)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(30)
        self.sock.connect((uri.host, uri.port))
        self.proto = ClientProtocol(uri)
        request = self.proto.connect()
        request.headers["Authorization"] = f"Bearer {token}"
        self.proto.send_request(request)
        self._flush()
        while True:
            self.proto.receive_data(self.sock.recv(65536))
            if any(isinstance(e, Response) for e in self.proto.events_received()):
                break
        self.close_code: int | None = None

    def _flush(self) -> None:
        for chunk in self.proto.data_to_send():
            if chunk:
                self.sock.sendall(chunk)

    def read_all(self) -> list[dict[str, Any]]:
        """Thaw: read until the server closes; returns the JSON messages received."""
        out: list[dict[str, Any]] = []
        while self.close_code is None:
            data = self.sock.recv(65536)
            if not data:
                self.proto.receive_eof()
            else:
                self.proto.receive_data(data)
            for ev in self.proto.events_received():
                if ev.opcode is Opcode.TEXT:
                    out.append(json.loads(ev.data))
                elif ev.opcode is Opcode.CLOSE:
                    self.close_code = self.proto.close_rcvd.code if self.proto.close_rcvd else 1006
            self._flush()
            if not data:
                self.close_code = self.close_code or 1006
        self.sock.close()
        return out
