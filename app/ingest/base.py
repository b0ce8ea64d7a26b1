"""What every telephony adapter hands the call pipeline, whatever the platform.

An adapter parses its platform's protocol, resolves the call metadata, opens the call on
the ``CallRegistry`` and pushes per-track ``AudioFrame``s into the returned ``CallHandle``.
The pipeline never knows which platform the audio came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from asr.types import AudioFrame, Speaker


@dataclass(frozen=True, slots=True)
class CallMeta:
    """Who and what a call is. ``source`` names the adapter (twilio, audiohook, native, ...)."""

    call_id: str
    agent_id: str
    source: str
    tracks: tuple[Speaker, ...] = ("caller", "agent")
    custom: Mapping[str, str] = field(default_factory=dict)


class IngestError(Exception):
    """A problem with what a platform sent; carries the websocket close code and a stable code."""

    def __init__(self, code: str, message: str, close_code: int = 1007) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close_code = close_code


class CallHandle(Protocol):
    """One live call, as an adapter sees it."""

    call_id: str

    async def push(self, frame: AudioFrame) -> None:
        """Hand audio to the call. Returns quickly; the session's queue is bounded."""
        ...

    async def end(self, reason: str = "stop") -> None:
        """The platform ended the stream: flush the last utterances and close the call."""
        ...


class CallRegistry(Protocol):
    """Opens calls and finds live ones (``app.state.calls`` in the running service)."""

    async def open_call(self, meta: CallMeta) -> CallHandle: ...

    def get(self, call_id: str) -> CallHandle | None: ...
