"""Twilio Media Streams parser, fed the messages Twilio (or a JSON serializer) writes."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from app.ingest.settings import AdapterSettings, AgentMap
from app.ingest.skeleton import IngestContext
from app.ingest.twilio import TwilioParser

CTX = IngestContext(adapters=AdapterSettings(), agents=AgentMap(), max_frame_bytes=4096)


def _started() -> TwilioParser:
    parser = TwilioParser()
    start = {"event": "start", "streamSid": "MZ1", "start": {
        "streamSid": "MZ1", "callSid": "CA1", "tracks": ["inbound", "outbound"],
        "customParameters": {"agent_id": "A1"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}
    assert parser.start({"text": json.dumps(start)}, CTX) is not None
    return parser


def _media(**media: Any) -> dict[str, str]:
    body = {"payload": base64.b64encode(b"hello").decode(), **media}
    return {"text": json.dumps({"event": "media", "streamSid": "MZ1", "media": body})}


@pytest.mark.parametrize("given", [{}, {"track": None}], ids=["missing", "null"])
def test_a_null_track_is_inbound_like_a_missing_one(given: dict[str, Any]) -> None:
    """``"track": null`` closed the stream 1007 "unknown track 'None'"."""
    frames = _started().audio(_media(**given), CTX)
    assert isinstance(frames, list) and [f.track for f in frames] == ["caller"]


@pytest.mark.parametrize("ts, seconds", [("20", 0.02), (40, 0.04), (True, None), (False, None),
                                         ("soon", None), (None, None)])
def test_a_bool_timestamp_is_ignored_like_other_unusable_ones(ts: Any,
                                                              seconds: float | None) -> None:
    """``"timestamp": true`` was read as 1 ms (``int(True)``): a bool is no timestamp."""
    frames = _started().audio(_media(track="inbound", timestamp=ts), CTX)
    assert isinstance(frames, list) and [f.timestamp_s for f in frames] == [seconds]


@pytest.mark.parametrize("field", ["encoding", "sampleRate", "channels"])
def test_a_null_media_format_field_is_the_twilio_default(field: str) -> None:
    """``mediaFormat`` members set to null (a serializer's unset field) closed the stream
    1003 "media encoding 'none'" / "expected 8000 Hz mono mu-law"; absent, they take
    Twilio's only format, and null now means absent."""
    fmt: dict[str, Any] = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
    fmt[field] = None
    start = {"event": "start", "streamSid": "MZ1", "start": {
        "streamSid": "MZ1", "callSid": "CA1", "customParameters": {"agent_id": "A1"},
        "mediaFormat": fmt}}
    started = TwilioParser().start({"text": json.dumps(start)}, CTX)
    assert started is not None and started.meta.call_id == "CA1"
