"""End-to-end nudge latency and capacity: scripted two-track calls over Twilio Media Streams.

Latency is measured from the end of a caller utterance (known from the rendered script's turn
timings and the exact real-time pacing of the sender) to the arrival of the nudge it should
trigger at that agent's websocket. The bench runs 1 call (several times, one after another),
then 2, 3, ... concurrent calls until p95 exceeds the limit or a nudge goes missing.

    python3 bench/e2e_bench.py                       # embedded server, real models
    python3 bench/e2e_bench.py --url http://host:8080 --secret S   # against a running server

Writes bench/results/e2e.json and bench/results/e2e.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"

# Caller turns that must each trigger one rule at once (not after a "not said" wait), so the
# time from the end of the utterance to the card is pure pipeline latency.
SCRIPT = """
voices: {caller: af_heart, agent: bm_george}
trailing_silence_s: 6.0
turns:
  - {speaker: agent, text: "Nurse line, this is Sam speaking. What's going on today?", pause_s: 0.5}
  - speaker: caller
    text: "My lower back really hurts. The pain is unbearable since this morning."
    pause_s: 0.6
  - {speaker: agent, text: "Okay. Have you taken anything for it so far?", pause_s: 3.0}
  - speaker: caller
    text: "Honestly I don't want to live like this anymore. I want to end it all."
    pause_s: 0.8
  - {speaker: agent, text: "Can you tell me your date of birth, please?", pause_s: 3.0}
"""
EXPECTED = {1: "pain_triage", 3: "self_harm_protocol"}  # turn index -> rule it must fire


@dataclass
class CallOutcome:
    call_id: str
    latencies: list[float] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    end_lag_s: float | None = None  # call.ended arrival after the last audio left


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def one_call(base: str, signer: Any, audio: Any, index: int, speed: float) -> CallOutcome:
    from carecue_sim import StreamOptions, stream_call
    from carecue_sim.events import EventRecorder, agent_events_url

    agent_id = f"BENCH-{index}-{secrets.token_hex(2)}"
    call_id = f"CA-bench-{secrets.token_hex(6)}"
    url = agent_events_url(base, signer.create("agent", agent_id=agent_id), agent_id)
    outcome = CallOutcome(call_id)
    async with EventRecorder(url) as rec:
        result = await stream_call(
            audio,
            StreamOptions(url=base, token=signer.create("ingest"), agent_id=agent_id,
                          call_id=call_id, speed=speed),
        )
        audio_end = result.wall_time_of(audio.duration_s, speed)
        ended = await rec.wait_for(lambda e: e.type == "call.ended", 120)
        if ended is not None:
            outcome.end_lag_s = ended.at_monotonic - audio_end
    for turn_index, rule_id in EXPECTED.items():
        spoken_end = result.wall_time_of(audio.turns[turn_index].end_s, speed)
        hits = [
            e for e in rec.of_type("nudge.created", call_id) if e.data.get("rule_id") == rule_id
        ]
        if hits:
            outcome.latencies.append(hits[0].at_monotonic - spoken_end)
        else:
            outcome.missed.append(rule_id)
    return outcome


async def run_level(base: str, signer: Any, audio: Any, n: int, speed: float) -> list[CallOutcome]:
    return list(await asyncio.gather(*(one_call(base, signer, audio, i, speed) for i in range(n))))


def summarise(n: int, outcomes: list[CallOutcome]) -> dict[str, Any]:
    lat = [x for o in outcomes for x in o.latencies]
    lags = [o.end_lag_s for o in outcomes if o.end_lag_s is not None]
    return {
        "concurrent_calls": n,
        "samples": len(lat),
        "missed": sum(len(o.missed) for o in outcomes),
        "p50": round(percentile(lat, 0.5), 3) if lat else None,
        "p95": round(percentile(lat, 0.95), 3) if lat else None,
        "max": round(max(lat), 3) if lat else None,
        "mean": round(statistics.fmean(lat), 3) if lat else None,
        "call_end_lag_s_max": round(max(lags), 3) if lags else None,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    from app.auth import TokenSigner
    from carecue_sim.script import render_script
    from carecue_sim.speech_synth import CallScript

    audio = render_script(CallScript.from_yaml(SCRIPT))
    print(f"bench call: {audio.duration_s:.1f} s, {len(audio.turns)} turns", flush=True)

    server = None
    tmp = None
    if args.url:
        base, secret = args.url.rstrip("/"), args.secret
    else:
        from app.main import create_app
        from carecue_sim.demo import EmbeddedServer, embedded_settings, free_port, wait_ready

        tmp = tempfile.TemporaryDirectory(prefix="carecue-bench-")
        port = free_port()
        secret = secrets.token_urlsafe(32)
        settings = embedded_settings(Path(tmp.name), port, secret)
        server = EmbeddedServer(create_app(settings), "127.0.0.1", port)
        server.start()
        base = settings.base_url()
        if not await wait_ready(base, 900, lambda m: print(m, flush=True)):
            raise SystemExit("server did not become ready")
    signer = TokenSigner(secret)
    try:
        single: list[CallOutcome] = []
        for i in range(args.repeat):
            single.extend(await run_level(base, signer, audio, 1, args.speed))
            print(f"1 call, run {i + 1}: {single[-1].latencies} missed={single[-1].missed}",
                  flush=True)
        levels = [summarise(1, single)]
        max_ok = 1 if (levels[0]["p95"] or 99) <= args.limit and not levels[0]["missed"] else 0
        n = 2
        while max_ok == n - 1 and n <= args.max_calls:
            outcomes = await run_level(base, signer, audio, n, args.speed)
            level = summarise(n, outcomes)
            levels.append(level)
            print(json.dumps(level), flush=True)
            if level["missed"] == 0 and level["p95"] is not None and level["p95"] <= args.limit:
                max_ok = n
            n += 1
    finally:
        if server is not None:
            server.stop()
        if tmp is not None:
            tmp.cleanup()
    return {
        "nudge_latency_s": {"p50": levels[0]["p50"], "p95": levels[0]["p95"]},
        "max_realtime_calls": max_ok,
        "p95_limit_s": args.limit,
        "levels": levels,
        "measured_from": "end of the caller utterance (script timing) to nudge.created at the "
                         "agent websocket; two-track Twilio calls at real-time pace",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "asr_engine": os.environ.get("CARECUE_ASR_ENGINE", "default"),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def markdown(result: dict[str, Any]) -> str:
    lat = result["nudge_latency_s"]
    lines = [
        "# End-to-end nudge latency (Twilio, two tracks, real time)",
        "",
        f"1 call: p50 {lat['p50']} s, p95 {lat['p95']} s."
        f" Concurrent two-track calls holding real time with p95 <= {result['p95_limit_s']} s:"
        f" **{result['max_realtime_calls']}**.",
        "",
        "| concurrent calls | samples | missed | p50 s | p95 s | max s | call end lag s |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lv in result["levels"]:
        lines.append(
            f"| {lv['concurrent_calls']} | {lv['samples']} | {lv['missed']} | {lv['p50']} | "
            f"{lv['p95']} | {lv['max']} | {lv['call_end_lag_s_max']} |"
        )
    lines += ["", f"Machine: {result['machine']['cpus']} CPUs, {result['machine']['platform']}; "
              f"{result['date']}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="running server; default: start one in-process")
    parser.add_argument("--secret", help="its auth secret (to mint ingest and agent tokens)")
    parser.add_argument("--repeat", type=int, default=3, help="single-call runs")
    parser.add_argument("--max-calls", type=int, default=6)
    parser.add_argument("--limit", type=float, default=2.0, help="p95 limit for capacity, s")
    parser.add_argument("--speed", type=float, default=1.0)
    args = parser.parse_args()
    if args.url and not args.secret:
        parser.error("--url needs --secret")
    result = asyncio.run(main_async(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "e2e.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "e2e.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT.parent))
    main()
