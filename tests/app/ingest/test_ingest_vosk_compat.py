"""vosk-server compatible ``/v1/asr``: vosk's own client loop, real streaming ASR (whisper)."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
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
    from asr.codecs import mulaw_decode
    from carecue_sim import load_wav_call

    call = load_wav_call(ROOT / "carecue_sim" / "demo_call" / "sample_call.wav")
    pcm = mulaw_decode(call.caller[: int(seconds * call.sample_rate)]).astype("<i2")
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(call.sample_rate)
        wf.writeframes(pcm.tobytes())


class _Calls:
    """``app.state.calls`` as /v1/asr uses it: models ready, one slot per stream."""

    def __init__(self, make_transcriber: Any, max_streams: int = 8) -> None:
        self.components = SimpleNamespace(make_transcriber=make_transcriber)
        self.max_streams = max_streams
        self.streams = 0

    @asynccontextmanager
    async def stream_slot(self) -> AsyncIterator[Any]:
        from app.ingest.base import IngestError

        if self.streams >= self.max_streams:
            raise IngestError("at_capacity", "this instance is at its call limit", 1013)
        self.streams += 1
        try:
            yield self.components
        finally:
            self.streams -= 1


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

    app.state.signer = TokenSigner(SECRET)
    app.state.settings = SimpleNamespace(max_frame_bytes=65536)
    app.state.calls = _Calls(lambda speaker: StreamingTranscriber(speaker, engine, executor))
    try:
        with serving(app) as server:
            yield server
    finally:
        executor.shutdown()


@pytest.mark.slow
def test_vosk_test_client_transcribes_a_wav(asr_server: Any, tmp_path: Path) -> None:
    wav = tmp_path / "caller.wav"
    _caller_wav(wav, 34.0)  # the caller's first three turns; the agent talks in between
    token = TokenSigner(SECRET).create("ingest")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "vosk_client.py"), str(wav),
         f"{asr_server.ws_base}/v1/asr"],
        env={"CARECUE_TOKEN": token, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=600, check=True,
    )
    replies = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(replies) == 34 * 5 + 1  # one reply per 0.2 s chunk, plus the eof reply
    # vosk-server answers each chunk once it is recognised: this client sends as fast as it
    # reads replies, and the caller's sentences still come back as finals along the way.
    during = [r for r in replies[:-1] if r.get("text")]
    assert len(during) >= 3, [r["text"] for r in replies if r.get("text")]
    assert len(replies[-1].get("text", "").split()) < 10  # nothing left over for eof
    for reply in replies[:-1]:
        assert set(reply) in ({"partial"}, {"result", "text"}, {"text"})
    text = " ".join(r.get("text", "") for r in replies).lower()
    assert "biopsy" in text and "terrified" in text
    words = [w for r in replies for w in r.get("result", [])]
    assert words and all(set(w) == {"conf", "end", "start", "word"} for w in words)
    starts = [w["start"] for w in words]
    assert starts == sorted(starts) and 6.0 < starts[0] < 9.0  # the caller starts at 7.5 s


async def _client(server: Any, config: dict[str, Any] | None = None) -> Any:
    from websockets.asyncio.client import connect

    token = TokenSigner(SECRET).create("ingest")
    ws = await connect(f"{server.ws_base}/v1/asr?token={token}")
    if config is not None:
        await ws.send(json.dumps({"config": config}))
    return ws


def _caller_pcm(seconds: float, start_s: float = 0.0) -> bytes:
    from asr.codecs import mulaw_decode
    from carecue_sim import load_wav_call

    call = load_wav_call(ROOT / "carecue_sim" / "demo_call" / "sample_call.wav")
    a, b = int(start_s * call.sample_rate), int((start_s + seconds) * call.sample_rate)
    return mulaw_decode(call.caller[a:b]).astype("<i2").tobytes()


async def _send_chunks(ws: Any, pcm: bytes, chunk: int = 3200) -> list[dict[str, Any]]:
    replies = []
    for i in range(0, len(pcm), chunk):
        await ws.send(pcm[i : i + chunk])
        replies.append(json.loads(await ws.recv()))
    return replies


@pytest.mark.slow
async def test_reset_returns_the_final_result_and_goes_on(asr_server: Any) -> None:
    ws = await _client(asr_server, {"sample_rate": 8000})
    async with ws:
        await _send_chunks(ws, _caller_pcm(6.0, 7.0))  # mid-sentence: no endpoint yet
        await ws.send('{"reset" : 1}')
        reset = json.loads(await ws.recv())
        assert reset["text"] and set(reset) == {"result", "text"}
        later = await _send_chunks(ws, _caller_pcm(4.0, 13.0))
        assert all(set(r) in ({"partial"}, {"result", "text"}, {"text"}) for r in later)
        await ws.send('{"eof" : 1}')
        last = json.loads(await ws.recv())
    words = reset["result"] + [w for r in later for w in r.get("result", [])] + \
        last.get("result", [])
    starts = [w["start"] for w in words]
    assert starts == sorted(starts) and starts[-1] > 6.0  # times go on after the reset


@pytest.mark.slow
async def test_max_alternatives_gives_vosk_alternatives(asr_server: Any) -> None:
    ws = await _client(asr_server, {"sample_rate": 8000, "max_alternatives": 3})
    async with ws:
        replies = await _send_chunks(ws, _caller_pcm(8.0, 7.0))
        await ws.send('{"eof" : 1}')
        replies.append(json.loads(await ws.recv()))
    results = [r for r in replies if "partial" not in r]
    assert results and all(set(r) == {"alternatives"} for r in results)
    best = [r["alternatives"][0] for r in results if r["alternatives"][0]["text"]]
    assert best and all(set(a) == {"confidence", "result", "text"} for a in best)
    assert all(set(w) == {"end", "start", "word"} for a in best for w in a["result"])


@pytest.mark.slow
async def test_vosk_style_words_are_lowercase_without_punctuation(asr_server: Any) -> None:
    ws = await _client(asr_server, {"sample_rate": 8000, "vosk_style": True})
    async with ws:
        replies = await _send_chunks(ws, _caller_pcm(10.0, 7.0))
        await ws.send('{"eof" : 1}')
        replies.append(json.loads(await ws.recv()))
    text = " ".join(r.get("text", "") + " " + r.get("partial", "") for r in replies)
    words = [w["word"] for r in replies for w in r.get("result", [])]
    assert "terrified" in text or "biopsy" in text
    assert text == text.lower() and not any(c in text for c in ".,?!0123456789")
    assert words and all(w.replace("'", "").isalpha() for w in words)


@pytest.mark.slow
async def test_bad_sample_rate_closes_1007(asr_server: Any) -> None:
    from websockets.exceptions import ConnectionClosed

    ws = await _client(asr_server)
    async with ws:
        await ws.send('{ "config" : { "sample_rate" : 1000 } }')
        error = json.loads(await ws.recv())
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert error["type"] == "error" and error["code"] == "unsupported_sample_rate"
    assert info.value.rcvd is not None and info.value.rcvd.code == 1007


@pytest.mark.slow
async def test_odd_byte_count_closes_1007(asr_server: Any) -> None:
    from websockets.exceptions import ConnectionClosed

    ws = await _client(asr_server)
    async with ws:
        await ws.send(bytes(401))
        assert json.loads(await ws.recv())["code"] == "bad_audio"
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1007


# -- the service's own limits and auth (fake models, fast) -------------------------------------


def test_bad_token_gets_the_contract_error(tmp_path: Path) -> None:
    from starlette.websockets import WebSocketDisconnect

    from tests.app.service_helpers import service

    with service(tmp_path) as client, client.websocket_connect("/v1/asr?token=nope") as ws:
        error = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as done:
            ws.receive_text()
    assert error["type"] == "error" and error["code"] and error["message"]
    assert done.value.code == 1008


def _wait_until_full(client: Any) -> None:
    """The first stream claims its slot on the server's own task: wait until /readyz says the
    instance is full, so the second stream meets the limit on a slow machine too."""
    import time

    deadline = time.monotonic() + 30
    while not client.get("/readyz").json()["at_capacity"]:
        assert time.monotonic() < deadline, "the first stream never held its call slot"
        time.sleep(0.02)


def test_asr_stream_counts_against_the_call_limit(tmp_path: Path) -> None:
    from starlette.websockets import WebSocketDisconnect

    from tests.app.service_helpers import service, tok, twilio_start

    with service(tmp_path, max_calls=1) as client:
        with client.websocket_connect(f"/v1/asr?token={tok('ingest')}") as asr:
            asr.send_text(json.dumps({"config": {"sample_rate": 8000}}))
            _wait_until_full(client)
            with client.websocket_connect(f"/v1/ingest/twilio?token={tok('ingest')}") as tw:
                tw.send_text(twilio_start("CA-limit", "A1"))
                error = tw.receive_json()
                with pytest.raises(WebSocketDisconnect) as done:
                    tw.receive_text()
            assert error["code"] == "at_capacity" and done.value.code == 1013
        with client.websocket_connect(f"/v1/ingest/twilio?token={tok('ingest')}") as tw:
            tw.send_text(twilio_start("CA-live", "A1"))
            _wait_until_full(client)
            with client.websocket_connect(f"/v1/asr?token={tok('ingest')}") as asr:
                asr.send_text(json.dumps({"config": {"sample_rate": 8000}}))
                error = asr.receive_json()
                with pytest.raises(WebSocketDisconnect) as done:
                    asr.receive_text()
            assert error["code"] == "at_capacity" and done.value.code == 1013


def test_deeply_nested_json_is_not_a_control_message(tmp_path: Path) -> None:
    """``json.loads`` raises RecursionError, not ValueError, on deep nesting: the stream closed
    1011 asr_failed; it is text that is no config, reset or eof (1003)."""
    from starlette.websockets import WebSocketDisconnect

    from tests.app.service_helpers import service, tok

    with service(tmp_path) as client, \
            client.websocket_connect(f"/v1/asr?token={tok('ingest')}") as asr:
        asr.send_text("[" * 5000)
        error = asr.receive_json()
        with pytest.raises(WebSocketDisconnect) as done:
            asr.receive_text()
    assert error["code"] == "bad_message" and done.value.code == 1003


def test_message_size_is_the_shared_frame_limit(tmp_path: Path) -> None:
    from starlette.websockets import WebSocketDisconnect

    from tests.app.service_helpers import service, tok

    with service(tmp_path, max_frame_bytes=4096) as client, \
            client.websocket_connect(f"/v1/asr?token={tok('ingest')}") as asr:
        asr.send_bytes(bytes(4098))
        error = asr.receive_json()
        with pytest.raises(WebSocketDisconnect) as done:
            asr.receive_text()
    assert error["code"] == "frame_too_big" and done.value.code == 1009


def test_vosk_style_words() -> None:
    from app.ingest.vosk_text import vosk_words

    assert vosk_words("Call 911 at 3:30, 2nd floor!") == \
        "call nine one one at three thirty second floor".split()
    assert vosk_words("It's 2.5 mg, 100% sure; 1,250 on the 21st.") == (
        "it's two point five mg one hundred percent sure one thousand two hundred fifty on "
        "the twenty first").split()
    assert vosk_words("Born in 1972, at 10:05") == \
        "born in one thousand nine hundred seventy two at ten oh five".split()


def test_alternatives_and_vosk_style_result_shapes() -> None:
    finals = [TranscriptFinal("caller", "Room 12, please.", 1.0, 2.0,
                              words=(Word("Room", 1.0, 1.3, 0.8), Word("12,", 1.3, 1.7, 0.6),
                                     Word("please.", 1.7, 2.0, 1.0)))]
    styled = result_json(finals, vosk_style=True)
    assert styled["text"] == "room twelve please"
    assert [w["word"] for w in styled["result"]] == ["room", "twelve", "please"]
    alt = result_json(finals, max_alternatives=2)
    assert alt == {"alternatives": [{
        "confidence": 0.8,
        "result": [{"end": 1.3, "start": 1.0, "word": "Room"},
                   {"end": 1.7, "start": 1.3, "word": "12,"},
                   {"end": 2.0, "start": 1.7, "word": "please."}],
        "text": "Room 12, please."}]}
    assert result_json([], max_alternatives=1) == {"alternatives": [{"confidence": 0.0,
                                                                    "text": ""}]}
