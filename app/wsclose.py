"""Closing a websocket the contract's way: a JSON ``error`` message first, then the close code."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from starlette.websockets import WebSocket, WebSocketState


async def close_with_error(ws: WebSocket, code: str, message: str, close_code: int,
                           extra: Mapping[str, Any] | None = None) -> None:
    """Send ``{"type":"error","code","message"}`` (accepting first if needed) and close.

    ``extra`` adds members a platform's own client looks for (Twilio tools expect ``event``
    on every message, mod_audio_fork reads ``data``)."""
    with contextlib.suppress(Exception):
        if ws.client_state == WebSocketState.CONNECTING:
            await ws.accept()
        if ws.client_state == WebSocketState.CONNECTED:
            await ws.send_json({**(extra or {}), "type": "error", "code": code,
                                "message": message})
            # Close reasons are limited to 123 bytes by the websocket protocol.
            await ws.close(close_code, reason=code[:120])
