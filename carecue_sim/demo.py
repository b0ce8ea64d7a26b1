"""What ``carecue demo`` runs: an embedded server, the sample call, nudges in the terminal."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn

from carecue_sim import SimulateError, StreamOptions, load_call, stream_call
from carecue_sim.events import EventRecorder, ReceivedEvent, agent_events_url

if TYPE_CHECKING:
    from app.settings import Settings

Echo = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class DemoOptions:
    call: Path
    port: int = 8080
    data_dir: Path | None = None
    speed: float = 1.0
    lead_in_s: float = 5.0
    keep_serving: bool = False
    agent_id: str = "A1"
    ready_timeout_s: float = 600.0
    show_transcript: bool = False


class EmbeddedServer:
    """uvicorn in a background thread with its own event loop, so the demo's client side
    (pacing audio, reading the agent socket) is not delayed by the server's work."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
        )
        from app.main import CareCueServer

        self.server = CareCueServer(config, app)
        self.thread = threading.Thread(target=self.server.run, name="carecue-server", daemon=True)

    def start(self, timeout_s: float = 60.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the server stopped while starting (is the port in use?)")
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start in time")
            time.sleep(0.05)

    def stop(self, timeout_s: float = 30.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout_s)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def embedded_settings(data_dir: Path, port: int, secret: str) -> Settings:
    """Settings for a server run inside this process (demo, tests, bench).

    The embedded defaults win over the environment for where data lives and how the server is
    reached; everything else (ASR engine, models) still follows ``CARECUE_*`` settings.
    """
    from app.settings import Settings

    overrides: dict[str, Any] = {
        "host": "127.0.0.1", "port": port, "data_dir": data_dir, "auth_secret": secret,
        "log_level": "WARNING", "public_url": None, "database_url": None, "redis_url": None,
    }
    return Settings(**overrides)


async def wait_ready(base_url: str, timeout_s: float, echo: Echo) -> bool:
    """Poll ``/readyz`` until the models are loaded; prints a line while waiting."""
    deadline = time.monotonic() + timeout_s
    told = False
    async with httpx.AsyncClient(timeout=5.0) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                resp = await client.get(f"{base_url}/readyz")
                if resp.status_code == 200:
                    return True
                error = resp.json().get("error")
                if error:  # the models failed to load: waiting longer cannot help
                    echo(f"error: {error}")
                    return False
            if not told:
                echo("Loading speech and language models (first start can take a minute) ...")
                told = True
            await asyncio.sleep(0.5)
    return False


_RESOLVED = {
    "agent_said": "done, the agent said it",
    "accepted": "accepted",
    "dismissed": "dismissed",
    "expired": "expired",
}


class NudgePrinter:
    """Prints what the agent's screen shows, one block per nudge, times on the call clock."""

    def __init__(self, echo: Echo, t0: Callable[[], float | None], show_transcript: bool) -> None:
        self.echo = echo
        self.t0 = t0
        self.show_transcript = show_transcript
        self.nudges = 0
        self.escalations = 0
        self.peak_distress = 0.0
        self.titles: dict[str, str] = {}
        self.ended = asyncio.Event()

    def stamp(self, event: ReceivedEvent) -> str:
        t0 = self.t0()
        if t0 is None:
            return "  --.-"
        s = max(0.0, event.at_monotonic - t0)
        return f"{int(s // 60):02d}:{s % 60:04.1f}"

    def __call__(self, event: ReceivedEvent) -> None:
        d = event.data
        at = self.stamp(event)
        if event.type == "call.started":
            self.echo(f"[{at}] call {event.call_id} started")
        elif event.type == "call.ended":
            self.echo(f"[{at}] call {event.call_id} ended")
            self.ended.set()
        elif event.type == "nudge.created":
            self.nudges += 1
            self.titles[str(d.get("nudge_id"))] = str(d.get("title", ""))
            prio = str(d.get("priority", "suggest")).upper()
            mark = "!!" if prio == "URGENT" else "->"
            self.echo(f"[{at}] {mark} {prio:<7} {d.get('title', '')}")
            if d.get("suggestion"):
                self.echo(f"             say: \"{d['suggestion']}\"")
            if d.get("reason"):
                self.echo(f"             why: {d['reason']}")
        elif event.type == "nudge.resolved":
            how = _RESOLVED.get(str(d.get("how")), str(d.get("how")))
            self.echo(f"[{at}]    {how}: {self.titles.get(str(d.get('nudge_id')), '')}")
        elif event.type == "escalation":
            self.escalations += 1
            severity, reason = d.get("severity", ""), d.get("reason", "")
            self.echo(f"[{at}] !! supervisor alerted ({severity}): {reason}")
        elif event.type == "signals.updated":
            self.peak_distress = max(self.peak_distress, float(d.get("distress") or 0.0))
        elif event.type == "transcript.final" and self.show_transcript:
            self.echo(f"[{at}]    {d.get('speaker', '?'):>6}: {d.get('text', '')}")


async def print_review(base: str, call_id: str, token: str, echo: Echo) -> None:
    """The call's empathy score, its parts and the written summary, in the terminal."""
    import httpx

    try:
        async with httpx.AsyncClient(timeout=30) as client:
            resp = await client.get(
                f"{base}/v1/calls/{call_id}/review", headers={"Authorization": f"Bearer {token}"}
            )
        resp.raise_for_status()
        review = resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        echo(f"(no review: {type(exc).__name__})")
        return
    score = review["score"]
    overall = "n/a" if score["overall"] is None else f"{score['overall']:.0f}"
    echo(f"Empathy score {overall} of 100:")
    for part in score["parts"]:
        value = "n/a" if part["score"] is None else f"{part['score']:.0f}"
        echo(f"  {part['label']:<24} {value:>4}  {part['explanation']}")
    echo(f"Summary: {review['summary']}")


async def run_demo(options: DemoOptions, echo: Echo) -> int:
    """Run the demo; returns the process exit code."""
    from app.auth import TokenSigner
    from app.main import create_app, port_in_use

    if options.port and port_in_use("127.0.0.1", options.port):
        echo(f"error: port {options.port} is in use; run `carecue demo --port 0` to pick a free "
             "port, or --port N for another one")
        return 2
    port = options.port or free_port()
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if options.data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="carecue-demo-")
        data_dir = Path(tmp.name)
    else:
        data_dir = options.data_dir
    secret = secrets.token_urlsafe(32)  # a dev secret for this run only
    settings = embedded_settings(data_dir, port, secret)
    base = settings.base_url()
    call = load_call(options.call)
    server = EmbeddedServer(create_app(settings), settings.host, port)
    echo(f"Starting CareCue on {base} (data in {data_dir}) ...")
    try:
        try:
            server.start()
        except RuntimeError as exc:
            echo(f"error: {exc}; try `carecue demo --port 0`")
            return 2
        if not await wait_ready(base, options.ready_timeout_s, echo):
            echo("error: the service did not become ready")
            return 1
        signer = TokenSigner(secret)
        agent_token = signer.create("agent", agent_id=options.agent_id, ttl_s=12 * 3600)
        ingest_token = signer.create("ingest", ttl_s=12 * 3600)
        supervisor_token = signer.create("supervisor", ttl_s=12 * 3600)
        echo("")
        echo(f"  Agent console:  {base}/agent?token={agent_token}")
        echo(f"  Supervisor:     {base}/supervisor?token={supervisor_token}")
        echo("")
        stream_opts = StreamOptions(
            url=base, token=ingest_token, agent_id=options.agent_id, speed=options.speed,
            call_id="CA-demo-" + secrets.token_hex(4),
        )
        started: list[float] = []
        printer = NudgePrinter(echo, lambda: started[0] if started else None,
                               options.show_transcript)
        url = agent_events_url(base, agent_token, options.agent_id)
        async with EventRecorder(url, on_event=printer):
            if options.lead_in_s > 0:
                echo(f"The call starts in {options.lead_in_s:g} s: open the agent console now.")
                await asyncio.sleep(options.lead_in_s)
            echo(f"Playing {options.call.name} ({call.duration_s:.0f} s) over Twilio Media "
                 f"Streams at {options.speed:g}x ...")
            started.append(time.monotonic())
            try:
                await stream_call(call, stream_opts)
            except SimulateError as exc:
                echo(f"error: {exc}")
                return 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(printer.ended.wait(), 60)
        echo("")
        echo(f"Done: {printer.nudges} nudges, {printer.escalations} escalations, "
             f"peak distress {printer.peak_distress:.0%}.")
        await print_review(base, stream_opts.call_id, supervisor_token, echo)
        review = f"{base}/calls/{stream_opts.call_id}?token={supervisor_token}"
        if options.keep_serving:
            echo(f"  Call review:    {review}")
            echo(f"  Team view:      {base}/team?token={supervisor_token}")
            echo(f"Still serving on {base}; Ctrl-C stops.")
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.Event().wait()
        else:
            gone = " and its temporary data go" if tmp is not None else " goes"
            echo(f"The server{gone} away now, so the review page with it; run "
                 "`carecue demo --keep-serving` to open this call's review page afterwards.")
        return 0
    finally:
        server.stop()
        if tmp is not None:
            tmp.cleanup()
