"""End-to-end nudge latency and capacity: two-track calls over Twilio Media Streams, real time.

A ``carecue serve`` subprocess (real models, default settings) takes concurrent calls: a mix of
a short scripted call (four caller turns that each fire a nudge at once) and the 77 s demo call
(``carecue_sim/demo_call/sample_call.wav``). The number of concurrent calls steps up (1, 4, 8,
12, 16, 20, 24 by default; ``--levels``) until nudge p95 exceeds ``--limit`` (1.5 s), a nudge is
missed, or audio is dropped. Each level keeps its calls going (a finished call is replaced
at once) until it has at least ``--min-samples`` nudge latencies (30).

Latency of a nudge = (its arrival at the agent's websocket - the server's ``at`` stamp) + the
server's ``latency_s`` (end of the speech whose final caused it, as the server received the
audio, to publication): end of speech to the agent's screen. Nudges fired by a timer (no
``latency_s``) are not samples. A missed nudge: a rule the call's transcript fires offline (the
expected rules below) that never reached the agent.

Per level it prints and records: nudge p50/p95/max, missed, dropped audio (s, from
``/metrics``), the server's CPU % (of one core) and peak RSS, and the load average and other
processes' CPU use. It refuses to write results when other work uses the CPU (load average
above ``--max-load-before`` at the start, or other processes using more than
``--max-other-cores`` during a level), so a shared machine cannot make the figures pessimistic
by accident; ``--no-write`` only prints.

    python3 bench/e2e_bench.py                       # the full run (< 15 min), quiet machine
    python3 bench/e2e_bench.py --levels 1,2 --min-samples 2 --no-write   # a smoke run

The run stops starting levels when less than 90 s of ``--max-minutes`` (15) is left: the
1-call level alone takes about 5 minutes (30 samples from calls one after another), each
further level about as long as the demo call.

Writes bench/results/e2e.json and bench/results/e2e.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
REPO = ROOT.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# Caller turns that each fire a rule at once (a phrase or red flag in the caller's words, not a
# "not said" wait), so the time from the end of the utterance to the card is pipeline latency.
SHORT_SCRIPT = """
voices: {caller: af_heart, agent: bm_george}
trailing_silence_s: 3.0
turns:
  - {speaker: agent, text: "Nurse line, this is Sam speaking. What's going on today?", pause_s: 0.5}
  - speaker: caller
    text: "My lower back really hurts. The pain is unbearable since this morning."
    pause_s: 0.6
  - {speaker: agent, text: "Okay. Have you taken anything for it so far?", pause_s: 0.8}
  - speaker: caller
    text: "Not yet. My husband passed away last month and I live alone now."
    pause_s: 0.6
  - {speaker: agent, text: "I see. Can you tell me your date of birth, please?", pause_s: 0.8}
  - speaker: caller
    text: "Honestly I don't want to live like this anymore. I want to end it all."
    pause_s: 0.8
  - speaker: agent
    text: "Thank you for telling me. I'm staying on the line with you."
    pause_s: 1.0
"""
SHORT_EXPECTED = frozenset(
    {"pain_triage", "offer_counselling", "offer_support_group", "self_harm_protocol"}
)
DEMO_EXPECTED = frozenset({"acknowledge_concern"})
DEFAULT_LEVELS = "1,4,8,12,16,20,24"


# ---- machine accounting ------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _threads_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds per thread name of a process (digits dropped: ``asr_0`` and ``asr_1`` are
    ``asr_``), so a level can say which part of the server used the CPU."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            name = (task / "comm").read_text().strip().rstrip("0123456789")
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / _TICK
    return out


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _busy_s() -> float:
    """CPU seconds all processes on the machine have used (every core), from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return (sum(parts[:8]) - idle) / _TICK


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Meter:
    """Samples the server's RSS and everyone's CPU while a level runs."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid
        self.peak_rss = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.loads: list[list[float]] = []

    def __enter__(self) -> Meter:
        self.t0 = time.monotonic()
        self.server0, self.self0, self.busy0 = _proc_cpu_s(self.pid), _self_cpu(), _busy_s()
        self.threads0 = _threads_cpu_s(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        wall = time.monotonic() - self.t0
        server = _proc_cpu_s(self.pid) - self.server0
        mine = _self_cpu() - self.self0
        busy = _busy_s() - self.busy0
        self.wall_s = wall
        self.server_cpu_pct = round(100 * server / wall, 1)
        self.bench_cpu_pct = round(100 * mine / wall, 1)
        self.other_cores = round(max(0.0, busy - server - mine) / wall, 2)
        threads = _threads_cpu_s(self.pid)
        self.cpu_pct_by_thread = {
            name: round(100 * (cpu - self.threads0.get(name, 0.0)) / wall, 1)
            for name, cpu in sorted(threads.items(), key=lambda kv: -kv[1])
            if cpu - self.threads0.get(name, 0.0) >= 0.01 * wall
        }

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            with contextlib.suppress(OSError):
                self.peak_rss = max(self.peak_rss, _rss_mb(self.pid))
            if len(self.loads) * 0.5 < time.monotonic() - self.t0 - 10:
                self.loads.append(_load())


def _self_cpu() -> float:
    t = os.times()
    return t.user + t.system


# ---- calls ------------------------------------------------------------------------------


@dataclass
class CallOutcome:
    call_id: str
    kind: str
    latencies: list[float] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    degraded: int = 0
    degraded_tracks: list[str] = field(default_factory=list)  # the worst track of each event


def percentile(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _wall(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


async def one_call(
    base: str, signer: Any, audio: Any, kind: str, expected: frozenset[str], index: int
) -> CallOutcome:
    from carecue_sim import StreamOptions, stream_call
    from carecue_sim.events import EventRecorder, agent_events_url

    agent_id = f"BENCH-{index}-{secrets.token_hex(3)}"
    call_id = f"CA-bench-{secrets.token_hex(6)}"
    url = agent_events_url(base, signer.create("agent", agent_id=agent_id), agent_id)
    outcome = CallOutcome(call_id, kind)
    arrivals: list[tuple[float, dict[str, Any]]] = []

    def on_event(ev: Any) -> None:
        if ev.type == "nudge.created":
            arrivals.append((time.time(), ev.envelope))  # wall clock, as the server's ``at``

    async with EventRecorder(url, on_event=on_event) as rec:
        await stream_call(
            audio,
            StreamOptions(
                url=base,
                token=signer.create("ingest"),
                agent_id=agent_id,
                call_id=call_id,
                close_timeout_s=120,
            ),
        )
        await rec.wait_for(lambda e: e.type == "call.ended", 120)
        degraded = rec.of_type("call.degraded", call_id)
        outcome.degraded = len(degraded)
        datas = [e.envelope.get("data") or {} for e in degraded]
        outcome.degraded_tracks = [f"{d.get('reason')}:{d.get('track')}" for d in datas]
    fired = set()
    for arrived, env in arrivals:
        data = env.get("data") or {}
        fired.add(data.get("rule_id"))
        if data.get("latency_s") is not None:
            outcome.latencies.append(max(0.0, arrived - _wall(env["at"])) + data["latency_s"])
    outcome.missed = sorted(expected - fired)
    return outcome


async def run_level(
    base: str,
    signer: Any,
    calls: dict[str, Any],
    n: int,
    min_samples: int,
    budget_s: float,
    lockstep: bool = False,
) -> list[CallOutcome]:
    """``n`` call slots, each replaying calls back to back until the level has its samples.

    Slot ``k`` starts ``k / n`` of a short call's length after slot 0, so the calls' turns are
    spread over time as a floor's are; ``lockstep`` starts every slot at once (the same
    sentence ends on every call at the same instant: the worst burst, not a real floor)."""
    spacing = 0.0 if lockstep else calls["short"][0].duration_s / n
    outcomes: list[CallOutcome] = []
    t0 = time.monotonic()
    from carecue_sim.client import SimulateError

    counter = iter(range(10**6))

    def samples() -> int:
        return sum(len(o.latencies) for o in outcomes)

    async def slot(k: int) -> None:
        # one slot in four starts with the demo call; level 1 plays it first too
        first = "demo" if k % 4 == 3 or n == 1 else "short"
        kind = first
        await asyncio.sleep(k * spacing)
        while True:
            audio, expected = calls[kind]
            try:
                outcomes.append(await one_call(base, signer, audio, kind, expected, next(counter)))
            except SimulateError as exc:
                if "at_capacity" not in str(exc):
                    raise
                # admission refused the call: every nudge it should have had is missed
                outcomes.append(CallOutcome("refused", kind, missed=sorted(expected)))
                return
            if samples() >= min_samples or time.monotonic() - t0 > budget_s:
                return
            kind = "short"

    await asyncio.gather(*(slot(k) for k in range(n)))
    return outcomes


async def _metric_sum(base: str, token: str, name: str) -> float:
    import httpx

    async with httpx.AsyncClient(timeout=30) as client:
        text = (
            await client.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"})
        ).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def summarise(
    n: int, outcomes: list[CallOutcome], meter: Meter, dropped_s: float, rss_base: float
) -> dict[str, Any]:
    lat = [x for o in outcomes for x in o.latencies]

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    return {
        "concurrent_calls": n,
        "calls": len(outcomes),
        "demo_calls": sum(o.kind == "demo" for o in outcomes),
        "samples": len(lat),
        "missed": sum(len(o.missed) for o in outcomes),
        "missed_rules": sorted({m for o in outcomes for m in o.missed}),
        "p50": r(percentile(lat, 0.5)),
        "p95": r(percentile(lat, 0.95)),
        "max": r(max(lat)) if lat else None,
        "mean": r(statistics.fmean(lat)) if lat else None,
        "dropped_audio_s": round(dropped_s, 2),
        "calls_degraded": sum(o.degraded > 0 for o in outcomes),
        "degraded_events_by_reason_track": dict(
            sorted(Counter(t for o in outcomes for t in o.degraded_tracks).items())
        ),
        "server_cpu_pct": meter.server_cpu_pct,
        "server_cpu_pct_by_thread": meter.cpu_pct_by_thread,
        "bench_client_cpu_pct": meter.bench_cpu_pct,
        "other_cores": meter.other_cores,
        "server_rss_mb_peak": round(meter.peak_rss, 1),
        "rss_mb_per_call": round((meter.peak_rss - rss_base) / n, 1) if n else None,
        "load_during": meter.loads,
        "wall_s": round(meter.wall_s, 1),
    }


# ---- server -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, port: int, secret: str) -> subprocess.Popen[bytes]:
    """Start ``carecue serve``; its log goes to ``data_dir/server.log``, never to a pipe: a
    pipe nobody reads blocks the server once its log passes the pipe's 64 KB."""
    env = {
        **os.environ,
        "CARECUE_HOST": "127.0.0.1",
        "CARECUE_PORT": str(port),
        "CARECUE_DATA_DIR": str(data_dir),
        "CARECUE_AUTH_SECRET": secret,
        "CARECUE_LOG_LEVEL": "WARNING",
        "CARECUE_MAX_CALLS": "200",
        "PYTHONPATH": str(REPO),
    }
    for key in ("CARECUE_DATABASE_URL", "CARECUE_REDIS_URL", "CARECUE_PUBLIC_URL"):
        env.pop(key, None)
    return subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "server.log").open("ab"),
    )


def server_log_tail(data_dir: Path, chars: int = 2000) -> str:
    path = data_dir / "server.log"
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


async def wait_ready(
    base: str, proc: subprocess.Popen[bytes], data_dir: Path, timeout_s: float
) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"server exited ({proc.returncode}): {server_log_tail(data_dir)}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.5)
    raise SystemExit("server did not become ready")


# ---- main -------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> tuple[dict[str, Any], list[str]]:
    # Read first: rendering the calls and loading the server's models lift the 1-minute average.
    load_before = _load()
    from app.auth import TokenSigner
    from carecue_sim.audio import load_wav_call
    from carecue_sim.script import render_script
    from carecue_sim.speech_synth import CallScript

    short = render_script(CallScript.from_yaml(SHORT_SCRIPT))
    demo = load_wav_call(
        REPO / "carecue_sim" / "demo_call" / "sample_call.wav",
        REPO / "carecue_sim" / "demo_call" / "sample_call.turns.json",
    )
    calls = {"short": (short, SHORT_EXPECTED), "demo": (demo, DEMO_EXPECTED)}
    print(f"calls: short {short.duration_s:.1f} s, demo {demo.duration_s:.1f} s", flush=True)

    refusals: list[str] = []
    tmp = tempfile.TemporaryDirectory(prefix="carecue-bench-")
    port, secret = _free_port(), secrets.token_urlsafe(32)
    base = f"http://127.0.0.1:{port}"
    proc = start_server(Path(tmp.name), port, secret)
    signer = TokenSigner(secret)
    sup = signer.create("supervisor")
    levels: list[dict[str, Any]] = []
    t_start = time.monotonic()
    try:
        await wait_ready(base, proc, Path(tmp.name), 900)
        await asyncio.sleep(3)  # let start-up work settle
        rss_idle = _rss_mb(proc.pid)
        print(f"server ready: RSS {rss_idle:.0f} MB; load average before {load_before}", flush=True)
        if load_before[0] > args.max_load_before:
            refusals.append(
                f"load average {load_before[0]} > {args.max_load_before} before "
                "the run: other work is using the CPU"
            )
        # a warm-up call so that first-call costs (lazy imports, caches) are not level 1's
        await one_call(base, signer, short, "short", SHORT_EXPECTED, -1)
        rss_base = _rss_mb(proc.pid)
        max_ok = 0
        for n in [int(x) for x in args.levels.split(",")]:
            elapsed = time.monotonic() - t_start
            if elapsed > args.max_minutes * 60 - 90:
                print(f"stopping: {elapsed / 60:.1f} min used of {args.max_minutes}", flush=True)
                break
            dropped0 = await _metric_sum(base, sup, "carecue_audio_dropped_seconds_total")
            with Meter(proc.pid) as meter:
                outcomes = await run_level(
                    base, signer, calls, n, args.min_samples, args.level_budget_s, args.lockstep
                )
            dropped = await _metric_sum(base, sup, "carecue_audio_dropped_seconds_total")
            level = summarise(n, outcomes, meter, dropped - dropped0, rss_base)
            levels.append(level)
            print(json.dumps({k: v for k, v in level.items() if k != "load_during"}), flush=True)
            if meter.other_cores > args.max_other_cores:
                refusals.append(f"level {n}: other processes used {meter.other_cores} cores")
            ok = (
                level["p95"] is not None
                and level["p95"] <= args.limit
                and level["missed"] == 0
                and level["dropped_audio_s"] == 0
            )
            if not ok:
                break
            max_ok = n
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        if args.server_log is not None:
            args.server_log.write_text(server_log_tail(Path(tmp.name), 10**9))
        tmp.cleanup()
    first = levels[0] if levels else {}
    biggest = max(
        (lv for lv in levels if lv["concurrent_calls"] > 1),
        key=lambda lv: lv["concurrent_calls"],
        default=None,
    )
    per_call = None
    if biggest is not None and first:
        per_call = round(
            (biggest["server_rss_mb_peak"] - first["server_rss_mb_peak"])
            / (biggest["concurrent_calls"] - 1),
            1,
        )
    result = {
        "max_realtime_calls": max_ok,
        "nudge_latency_s": {
            "p50": first.get("p50"),
            "p95": first.get("p95"),
            "samples": first.get("samples"),
        },
        "rss_mb_per_call": per_call,
        "p95_limit_s": args.limit,
        "stop_rule": "p95 > limit, a missed nudge, or dropped audio",
        "arrivals": "lockstep: every call of a level starts at once"
        if args.lockstep
        else "staggered: call slot k of n starts k/n of a short call's length after slot 0",
        "settings": {  # knobs only: never a secret or a URL with credentials
            k: v
            for k, v in os.environ.items()
            if k.startswith(("CARECUE_ASR_", "CARECUE_WHISPER_", "CARECUE_ADMIT_", "CARECUE_MAX_"))
        },
        "levels": levels,
        "load_average_before": load_before if levels else None,
        "calls": {
            "short_s": round(short.duration_s, 1),
            "demo_s": round(demo.duration_s, 1),
            "short_expected": sorted(SHORT_EXPECTED),
            "demo_expected": sorted(DEMO_EXPECTED),
        },
        "measured_from": "end of the caller's speech as the server received it (latency_s) "
        "plus delivery to the agent websocket; Twilio two-track calls at real "
        "time; server: carecue serve subprocess, default settings",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "asr_engine": os.environ.get("CARECUE_ASR_ENGINE", "whisper (default)"),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_min": round((time.monotonic() - t_start) / 60, 1),
    }
    return result, refusals


def markdown(result: dict[str, Any]) -> str:
    lat = result["nudge_latency_s"]
    lines = [
        "# End-to-end nudge latency and capacity (Twilio, two tracks, real time)",
        "",
        f"1 call: nudge p50 {lat['p50']} s, p95 {lat['p95']} s ({lat['samples']} samples). "
        f"Concurrent two-track calls with p95 <= {result['p95_limit_s']} s, no missed nudge and "
        f"no dropped audio: **{result['max_realtime_calls']}**. RSS per added call: "
        f"{result['rss_mb_per_call']} MB.",
        "",
        "| calls | samples | missed | p50 s | p95 s | max s | dropped audio s | degraded calls "
        "| server CPU % | server RSS MB | other cores |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lv in result["levels"]:
        lines.append(
            f"| {lv['concurrent_calls']} | {lv['samples']} | {lv['missed']} | {lv['p50']} | "
            f"{lv['p95']} | {lv['max']} | {lv['dropped_audio_s']} | {lv['calls_degraded']} | "
            f"{lv['server_cpu_pct']} | {lv['server_rss_mb_peak']} | {lv['other_cores']} |"
        )
    lines += [
        "",
        f"Load average before: {result['load_average_before']}. Machine: "
        f"{result['machine']['cpus']} CPUs, {result['machine']['platform']}; "
        f"{result['date']}; {result['duration_min']} min.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default=DEFAULT_LEVELS, help="concurrent calls per step")
    parser.add_argument("--limit", type=float, default=1.5, help="p95 limit, s")
    parser.add_argument("--min-samples", type=int, default=30, help="nudge samples per level")
    parser.add_argument(
        "--level-budget-s",
        type=float,
        default=300,
        help="stop starting new calls in a level after this long",
    )
    parser.add_argument("--max-minutes", type=float, default=15)
    parser.add_argument(
        "--max-load-before",
        type=float,
        default=0.5,
        help="refuse to write results above this 1-min load average at start",
    )
    parser.add_argument(
        "--max-other-cores",
        type=float,
        default=0.25,
        help="refuse to write results when other processes use more cores",
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--lockstep", action="store_true", help="start every call of a level at once (worst burst)"
    )
    parser.add_argument(
        "--server-log", type=Path, default=None, help="keep a copy of the server's log here"
    )
    args = parser.parse_args()
    result, refusals = asyncio.run(main_async(args))
    print(markdown(result))
    if refusals:
        print("NOT writing results: " + "; ".join(refusals), file=sys.stderr)
        raise SystemExit(2)
    if args.no_write:
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "e2e.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "e2e.md").write_text(markdown(result))


if __name__ == "__main__":
    main()
