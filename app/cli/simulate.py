"""``carecue simulate``: speak a scripted call into a running server, as a phone platform would."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

import typer

# The names of ``carecue_sim.PROTOCOLS``, kept here so that ``--help`` stays import-light;
# tests/app/test_cli_firstrun.py checks that the two agree.
ProtocolName = Literal["twilio", "audiohook", "audiosocket", "fork", "native"]
PROTOCOL_NAMES: tuple[str, ...] = get_args(ProtocolName)


def register(cli: typer.Typer) -> None:
    cli.command()(simulate)


def simulate(
    script: Path = typer.Option(
        ..., "--script", exists=True, dir_okay=False, help="Call script YAML, or a stereo 8 kHz WAV"
    ),
    url: str = typer.Option(
        "http://127.0.0.1:8080", "--url", envvar="CARECUE_URL", help="Server base URL"
    ),
    token: str = typer.Option(
        ..., "--token", envvar="CARECUE_TOKEN", help="Token with the ingest (or admin) role"
    ),
    speed: float = typer.Option(1.0, "--speed", min=0.1, max=100.0, help="1 = real time"),
    protocol: ProtocolName = typer.Option("twilio", "--protocol", help="Ingest protocol to speak"),
    agent_id: str = typer.Option("A1", "--agent-id", help="Agent who takes the call"),
    call_id: str | None = typer.Option(None, "--call-id", help="Default: a new CA... id"),
) -> None:
    """Speak a scripted call (turns with speaker, text, pause_s) into a running CareCue server.

    Voices are Kokoro where installed, espeak-ng otherwise. The audio goes out at real-time
    pace times --speed over the chosen protocol (Twilio Media Streams by default).
    """
    import asyncio
    from dataclasses import replace

    from carecue_sim import SimulateError, StreamOptions, load_call, stream_call

    if script.suffix.lower() != ".wav":
        typer.echo(f"Rendering {script.name} ...", err=True)
    call = load_call(script)
    options = StreamOptions(url=url, token=token, agent_id=agent_id, speed=speed)
    if call_id:
        options = replace(options, call_id=call_id)
    typer.echo(
        f"Streaming call {options.call_id} ({call.duration_s:.1f} s of audio, "
        f"{len(call.turns)} turns) to {url} over {protocol} at {speed:g}x",
        err=True,
    )
    try:
        result = asyncio.run(stream_call(call, options, protocol))
    except SimulateError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"Done: {result.audio_s:.1f} s sent; server closed with "
        f"{result.close_code} {result.close_reason}".rstrip(),
        err=True,
    )
    typer.echo(options.call_id)
