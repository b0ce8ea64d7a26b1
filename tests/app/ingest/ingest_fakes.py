"""A recording call registry: what the adapters hand the pipeline, kept for assertions."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import FastAPI

from app.auth import TokenSigner
from app.ingest.base import CallMeta
from app.ingest.settings import AdapterSettings
from app.settings import Settings
from asr.types import AudioFrame

SECRET = "test-secret-" + "x" * 20


@dataclass
class RecordingCall:
    meta: CallMeta
    frames: list[AudioFrame] = field(default_factory=list)
    ended: str | None = None

    @property
    def call_id(self) -> str:
        return self.meta.call_id

    async def push(self, frame: AudioFrame) -> None:
        assert self.ended is None, "audio pushed after the call ended"
        self.frames.append(frame)

    async def end(self, reason: str = "stop") -> None:
        assert self.ended is None, "call ended twice"
        self.ended = reason

    def audio(self, track: str) -> bytes:
        return b"".join(f.data for f in self.frames if f.track == track)


@dataclass
class RecordingRegistry:
    calls: dict[str, RecordingCall] = field(default_factory=dict)
    opened: list[RecordingCall] = field(default_factory=list)

    async def open_call(self, meta: CallMeta) -> RecordingCall:
        call = RecordingCall(meta)
        self.calls[meta.call_id] = call
        self.opened.append(call)
        return call

    def get(self, call_id: str) -> RecordingCall | None:
        call = self.calls.get(call_id)
        return call if call is not None and call.ended is None else None


def make_app(settings: AdapterSettings | None = None) -> tuple[FastAPI, RecordingRegistry]:
    """A bare app with only the adapters' routers, a recording registry and a token signer."""
    from app.ingest.audiohook import router as audiohook_router
    from app.ingest.fork import router as fork_router

    app = FastAPI()
    app.include_router(audiohook_router)
    app.include_router(fork_router)
    registry = RecordingRegistry()
    app.state.calls = registry
    app.state.signer = TokenSigner(SECRET)
    app.state.settings = Settings(adapters=settings or AdapterSettings())
    return app, registry
