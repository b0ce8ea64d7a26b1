"""vosk-server compatible ``/v1/asr``: vosk's own client loop, real streaming ASR (whisper)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI

from app.auth import TokenSigner
from app.ingest.vosk_compat import is_eof, result_json
from asr.types import TranscriptFinal, Word

ROOT = Path(__file__).resolve().parents[3]
SECRET = "vosk-compat-test-secret-0123456789"


def test_result_shape_matches_vosk() -> None:
    finals = [TranscriptFinal("caller", "hello there", 0.5, 1.2,
                              words=(Word("hello", 0.5, 0.8, 0.9), Word("there", 0.85, 1.2)))]
    assert result_json(finals) == {
        "result": [{"conf": 0.9, "end": 0.8, "start": 0.5, "word": "hello"},
                   {"conf": 1.0, "end": 1.2, "start": 0.85, "word": "there"}],
        "text": "hello there",
    }
    assert result_json([]) == {"text": ""}
    assert result_json(finals, words=False) == {"text": "hello there"}


def test_eof_is_recognised_however_spaced() -> None:
    assert is_eof('{"eof" : 1}') and is_eof('{"eof":1}')
    assert not is_eof('{"config": {"sample_rate": 8000}}') and not is_eof("eof")


def _caller_wav(path: Path, seconds: float = 17.0) -> None:
    from app.simulate import load_wav_call
    from asr.codecs import mulaw_decode

    call = load_wav_call(ROOT / "app" / "demo" / "sample_call.wav")
    pcm = mulaw_decode(call.caller[: int(seconds * call.sample_rate)]).astype("<i2")
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(call.sample_rate)
        wf.writeframes(pcm.tobytes())


@pytest.fixture(scope="module")
def asr_server() -> Iterator[Any]:
    from asr.engines.registry import get_engine
    from asr.transcriber import StreamingTranscriber
    from tests.app.service_helpers import serving

    engine = get_engine("whisper", whisper_model="tiny.en")
    executor = ThreadPoolExecutor(1)
    from app.ingest.vosk_compat import router

    app = FastAPI()
    app.include_router(router)

    @app.get("/readyz")
    def readyz() -> dict[str, bool]:
        return {"ready": True}

    ready = asyncio.Event()
    ready.set()
    app.state.signer = TokenSigner(SECRET)
    app.state.calls = SimpleNamespace(ready=ready, components=SimpleNamespace(
        make_transcriber=lambda speaker: StreamingTranscriber(speaker, engine, executor)))
    try:
        with serving(app) as server:
            yield server
    finally:
        executor.shutdown()


@pytest.mark.slow
def test_vosk_test_client_transcribes_a_wav(asr_server: Any, tmp_path: Path) -> None:
    wav = tmp_path / "caller.wav"
    _caller_wav(wav)
    token = TokenSigner(SECRET).create("ingest")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "vosk_client.py"), str(wav),
         f"{asr_server.ws_base}/v1/asr"],
        env={"CARECUE_TOKEN": token, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=600, check=True,
    )
    replies = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(replies) == 17 * 5 + 1  # one reply per 0.2 s chunk, plus the eof reply
    for reply in replies[:-1]:
        assert set(reply) in ({"partial"}, {"result", "text"}, {"text"})
    text = " ".join(r.get("text", "") for r in replies).lower()
    assert "biopsy" in text and "terrified" in text
    words = [w for r in replies for w in r.get("result", [])]
    assert words and all(set(w) == {"conf", "end", "start", "word"} for w in words)
    starts = [w["start"] for w in words]
    assert starts == sorted(starts) and 6.0 < starts[0] < 9.0  # the caller starts at 7.5 s


@pytest.mark.slow
async def test_bad_sample_rate_closes_1007(asr_server: Any) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    token = TokenSigner(SECRET).create("ingest")
    async with connect(f"{asr_server.ws_base}/v1/asr?token={token}") as ws:
        await ws.send('{ "config" : { "sample_rate" : 1000 } }')
        await ws.send(bytes(400))
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1007


@pytest.mark.slow
async def test_odd_byte_count_closes_1007(asr_server: Any) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    token = TokenSigner(SECRET).create("ingest")
    async with connect(f"{asr_server.ws_base}/v1/asr?token={token}") as ws:
        await ws.send(bytes(401))
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1007
