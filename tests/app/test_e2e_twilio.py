"""End to end over the Twilio (and native) protocol with the real models.

Rendered speech (Kokoro, or espeak-ng where Kokoro is missing) is streamed as 20 ms mu-law
media messages into a real uvicorn server running the real whisper ASR, the real distress
classifier and the default playbook; the tests read the agent and supervisor sockets as the
agent console and wallboard do.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from app.main import create_app
from tests.app.service_helpers import Live, eventually, make_settings, serving, tok
from tests.app.twilio_client import collect, render_cached, stream_twilio

pytestmark = pytest.mark.slow

SPEED = float(os.environ.get("CARECUE_TEST_STREAM_SPEED", "1.0"))


def script(caller: str, agent: str, turns: list[tuple[str, str, float]], tail_s: float) -> str:
    """A call script as YAML (JSON is YAML) for ``render_call``."""
    return json.dumps(
        {
            "voices": {"caller": caller, "agent": agent},
            "turns": [{"speaker": w, "text": t, "pause_s": p} for w, t, p in turns],
            "trailing_silence_s": tail_s,
        }
    )


# A scared caller; the agent first rushes on, then (after the nudge) acknowledges.
SCARED = script(
    "af_heart",
    "bm_george",
    [
        (
            "caller",
            "Hello. I got a letter about my biopsy results and I'm terrified. "
            "Nobody has called me back.",
            0.5,
        ),
        ("agent", "Okay. Can I have your date of birth and your postcode, please?", 0.8),
        ("caller", "It's the third of March, nineteen sixty.", 0.8),
        ("agent", "Right. Let me pull up the file.", 9.0),
        (
            "agent",
            "I'm so sorry, that sounds really frightening. I'm here to help you with this.",
            4.0,
        ),
    ],
    2.0,
)

# A routine refill: nothing to be empathic about.
REFILL = script(
    "am_michael",
    "af_bella",
    [
        (
            "caller",
            "Hi there. I'd like to order a refill of my blood pressure tablets, please.",
            0.5,
        ),
        ("agent", "Of course. What's your date of birth?", 0.8),
        ("caller", "The fifth of June, nineteen seventy two.", 0.8),
        ("agent", "Thank you. Your refill will be ready to collect tomorrow morning.", 0.8),
        ("caller", "Great, thanks very much. Have a good day.", 0.8),
    ],
    8.0,
)

# A red-flag line: the crisis rule must fire at once, urgent, and escalate.
CRISIS = script(
    "bf_emma",
    "bm_george",
    [
        ("caller", "I need to talk to someone.", 0.5),
        ("agent", "Okay, I'm listening. What's going on?", 0.8),
        ("caller", "I don't want to live anymore. I took all my pills an hour ago.", 0.8),
        ("agent", "Thank you for telling me. Are you safe right now? Is anyone with you?", 2.5),
        ("caller", "No. I'm on my own.", 0.8),
    ],
    3.0,
)

EMPATHY_RULES = {
    "acknowledge_concern",
    "validate_feelings",
    "offer_counselling",
    "self_harm_protocol",
    "emergency_protocol",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = make_settings(tmp_path_factory.mktemp("e2e"), tick_interval_s=0.5, asr_workers=2)
    with serving(create_app(settings), ready_timeout=900) as live:
        yield live


def _metric(s: Live, name: str) -> float:
    import httpx

    page = httpx.get(f"{s.http}/metrics", params={"token": tok("supervisor")}, timeout=30)
    for line in page.text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"metric {name} not exported")


def _types(envs: list[dict[str, Any]], call_id: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in envs if e["call_id"] == call_id and e["type"] == kind]


def _caller_text(envs: list[dict[str, Any]], call_id: str) -> str:
    return " ".join(
        e["data"]["text"].lower()
        for e in _types(envs, call_id, "transcript.final")
        if e["data"]["speaker"] == "caller"
    )


async def _run_call(
    s: Live, call_id: str, agent_id: str, script: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    audio, _timings = await asyncio.to_thread(render_cached, script)
    reader = asyncio.create_task(
        collect(f"{s.ws_base}/v1/agents/{agent_id}/events", tok("agent", agent_id), call_id)
    )
    await asyncio.sleep(0.3)
    await stream_twilio(
        f"{s.ws_base}/v1/ingest/twilio", tok("ingest"), call_id, agent_id, audio, speed=SPEED
    )
    return await reader, []


async def test_two_simultaneous_calls_nudge_the_right_agent(server: Live) -> None:
    """Scared caller: acknowledge-concern nudge, resolved when the agent acknowledges.
    Routine refill at the same time on another agent: no empathy nudge, nothing mixed."""
    (scared, _), (refill, _) = await asyncio.gather(
        _run_call(server, "CA-scared", "A1", SCARED),
        _run_call(server, "CA-refill", "A2", REFILL),
    )
    # Nothing of one agent's call reaches the other agent.
    assert {e["call_id"] for e in scared} == {"CA-scared"}
    assert {e["call_id"] for e in refill} == {"CA-refill"}

    # Transcript: both speakers, recognisably the words spoken.
    text = _caller_text(scared, "CA-scared")
    assert "terrified" in text and "biopsy" in text
    speakers = {e["data"]["speaker"] for e in _types(scared, "CA-scared", "transcript.final")}
    assert speakers == {"caller", "agent"}
    assert "refill" in _caller_text(refill, "CA-refill")

    # Signals: the scared caller's distress is well above the refill caller's.
    scared_peak = max(e["data"]["distress"] for e in _types(scared, "CA-scared", "signals.updated"))
    refill_peak = max(e["data"]["distress"] for e in _types(refill, "CA-refill", "signals.updated"))
    assert scared_peak > refill_peak + 0.2

    nudges = _types(scared, "CA-scared", "nudge.created")
    ack = [n for n in nudges if n["data"]["rule_id"] == "acknowledge_concern"]
    assert ack, [n["data"]["rule_id"] for n in nudges]
    assert "terrified" in ack[0]["data"]["reason"].lower()
    assert ack[0]["data"]["suggestion"] and ack[0]["data"]["priority"] == "suggest"
    resolved = {
        e["data"]["nudge_id"]: e["data"]["how"]
        for e in _types(scared, "CA-scared", "nudge.resolved")
    }
    assert resolved.get(ack[0]["data"]["nudge_id"]) == "agent_said"

    refill_rules = {n["data"]["rule_id"] for n in _types(refill, "CA-refill", "nudge.created")}
    assert not refill_rules & EMPATHY_RULES

    for envs in (scared, refill):
        seqs = [e["seq"] for e in envs]
        assert seqs == sorted(set(seqs))
        assert envs[0]["type"] == "call.started" and envs[-1]["type"] == "call.ended"

    # The store has what the agent saw.
    detail = server.get("/v1/calls/CA-scared", tok("supervisor")).json()
    assert any("terrified" in seg["text"].lower() for seg in detail["transcript"])
    assert [n["rule_id"] for n in detail["nudges"]] == [n["data"]["rule_id"] for n in nudges]
    assert detail["signals"] and detail["ended_at"]
    # An agent token cannot read another agent's call.
    assert server.get("/v1/calls/CA-scared", tok("agent", "A2")).status_code == 403
    report = server.get("/v1/calls/CA-scared/report", tok("agent", "A1")).json()
    assert report["nudge_outcomes"].get("agent_said", 0) >= 1

    # A rating after the call is still stored and counted.
    from websockets.asyncio.client import connect

    async with connect(
        f"{server.ws_base}/v1/agents/A1/events?since=0",
        additional_headers={"Authorization": f"Bearer {tok('agent', 'A1')}"},
    ) as ws:
        nid = ack[0]["data"]["nudge_id"]
        await ws.send(json.dumps({"type": "nudge.feedback", "nudge_id": nid, "action": "helpful"}))
        detail = await asyncio.to_thread(  # the socket stays open until the rating is stored
            eventually,
            lambda: server.get("/v1/calls/CA-scared", tok("supervisor")).json(),
            lambda d: bool(d["feedback"]),
        )
    assert [f["action"] for f in detail["feedback"]] == ["helpful"]
    rules = server.get("/v1/analytics/nudges", tok("supervisor")).json()["rules"]
    ack_stats = next(r for r in rules if r["rule_id"] == "acknowledge_concern")
    assert ack_stats["helpful"] == 1 and ack_stats["agent_said"] >= 1

    # The service measured itself while doing it.
    assert _metric(server, "carecue_asr_rtf_count") >= 10  # one per utterance
    assert _metric(server, "carecue_classify_ms_count") >= 5  # one per caller final
    assert _metric(server, 'carecue_audio_seconds_total{track="caller"}') > 40
    assert _metric(server, "carecue_active_calls") == 0


async def test_crisis_escalates_and_reconnect_with_since_loses_nothing(server: Live) -> None:
    """A red-flag line fires the urgent crisis rule and escalates to the supervisor. The agent's
    socket drops mid-call; reconnecting with ``since`` yields exactly the missed events."""
    import json

    from websockets.asyncio.client import connect

    audio, _ = await asyncio.to_thread(render_cached, CRISIS)
    call_id, agent_id = "CA-crisis", "A3"
    sup_task = asyncio.create_task(
        collect(f"{server.ws_base}/v1/supervisor/events", tok("supervisor"), call_id)
    )
    url = f"{server.ws_base}/v1/agents/{agent_id}/events"
    first: list[dict[str, Any]] = []

    async def agent_first_part() -> None:
        async with connect(
            url, additional_headers={"Authorization": f"Bearer {tok('agent', agent_id)}"}
        ) as ws:
            async for raw in ws:
                env = json.loads(raw)
                first.append(env)
                if env["type"] == "transcript.final":
                    return  # the connection drops after the first final

    drop = asyncio.create_task(agent_first_part())
    await asyncio.sleep(0.3)
    stream = asyncio.create_task(
        stream_twilio(
            f"{server.ws_base}/v1/ingest/twilio",
            tok("ingest"),
            call_id,
            agent_id,
            audio,
            speed=SPEED,
        )
    )
    await drop
    await asyncio.sleep(3.0)  # events keep coming while the agent is away
    since = max(e["seq"] for e in first)
    rest = await collect(f"{url}?since={since}", tok("agent", agent_id), call_id)
    await stream
    sup = await sup_task

    agent_seen = [e for e in first + rest if e["type"] != "transcript.partial"]
    expected = [
        e
        for e in sup
        if e["call_id"] == call_id
        and e["type"] != "transcript.partial"
        and (e["type"] != "escalation" or e["data"]["severity"] == "urgent")
    ]
    assert [e["seq"] for e in agent_seen] == [e["seq"] for e in expected]
    assert [e["type"] for e in agent_seen] == [e["type"] for e in expected]

    crisis = [
        e
        for e in expected
        if e["type"] == "nudge.created" and e["data"]["rule_id"] == "self_harm_protocol"
    ]
    assert crisis and crisis[0]["data"]["priority"] == "urgent"
    escalations = [e for e in sup if e["type"] == "escalation" and e["call_id"] == call_id]
    assert escalations and escalations[0]["data"]["severity"] == "urgent"
    assert any(e["type"] == "escalation" for e in rest + first)
    # The crisis nudge follows the caller's words directly: its latency is measured.
    assert crisis[0]["data"]["latency_s"] is not None
    assert _metric(server, "carecue_speech_end_to_nudge_seconds_count") >= 1


async def test_native_stereo_stream_is_transcribed_per_channel(server: Live) -> None:
    """The native protocol: interleaved stereo PCM16, channel order as declared in tracks."""
    from websockets.asyncio.client import connect

    audio, _ = await asyncio.to_thread(render_cached, REFILL)
    call_id, agent_id = "N-refill", "A4"
    reader = asyncio.create_task(
        collect(f"{server.ws_base}/v1/agents/{agent_id}/events", tok("agent", agent_id), call_id)
    )
    await asyncio.sleep(0.3)
    # Declared agent first: the server must route channel 0 to the agent track.
    swapped = audio[:, ::-1].copy()
    headers = {"Authorization": f"Bearer {tok('ingest')}"}
    async with connect(f"{server.ws_base}/v1/ingest/stream", additional_headers=headers) as ws:
        start = {
            "type": "start", "call_id": call_id, "agent_id": agent_id, "encoding": "pcm_s16le",
            "sample_rate": 8000, "channels": 2, "tracks": ["agent", "caller"],
        }  # fmt: skip
        await ws.send(json.dumps(start))
        assert json.loads(await ws.recv()) == {"type": "started", "call_id": call_id}
        t0 = asyncio.get_running_loop().time()
        for i in range(len(swapped) // 160):
            await ws.send(swapped[i * 160 : (i + 1) * 160].tobytes())
            delay = t0 + (i + 1) * 0.02 / SPEED - asyncio.get_running_loop().time()
            if delay > 0:
                await asyncio.sleep(delay)
        await ws.send(json.dumps({"type": "stop"}))
        assert json.loads(await ws.recv()) == {"type": "stopped", "call_id": call_id}
    got = await reader
    finals = [e["data"] for e in got if e["type"] == "transcript.final"]
    caller = " ".join(f["text"].lower() for f in finals if f["speaker"] == "caller")
    agent = " ".join(f["text"].lower() for f in finals if f["speaker"] == "agent")
    assert "refill" in caller and "blood pressure" in caller
    assert "date of birth" in agent and "blood pressure" not in agent  # channels not mixed
    rules = {e["data"]["rule_id"] for e in got if e["type"] == "nudge.created"}
    assert not rules & EMPATHY_RULES
    assert got[-1]["type"] == "call.ended" and got[-1]["data"]["reason"] == "stop"
