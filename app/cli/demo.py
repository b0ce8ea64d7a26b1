"""``carecue demo``: the whole product on one machine in one command.

Starts the service in this process with embedded defaults (SQLite in a data directory, a dev
secret generated for this run), waits until the models are loaded, prints the agent console
link, plays the bundled sample call through the Twilio Media Streams protocol at real-time
pace and prints each nudge as it reaches the agent's socket.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import typer


def _sample_call() -> Path:
    """The bundled call, found without importing the client package (``--help`` stays fast).

    Without ``carecue_sim`` installed this names a missing file, which ``--call`` reports."""
    spec = find_spec("carecue_sim")
    package = Path("carecue_sim")
    if spec is not None and spec.submodule_search_locations:
        package = Path(next(iter(spec.submodule_search_locations)))
    return package / "demo_call" / "sample_call.wav"


SAMPLE_CALL = _sample_call()


def register(cli: typer.Typer) -> None:
    cli.command()(demo)


def demo(
    call: Path = typer.Option(
        SAMPLE_CALL, "--call", exists=True, dir_okay=False,
        help="Stereo 8 kHz WAV (ch0 caller, ch1 agent) or a call script YAML",
    ),
    port: int = typer.Option(8080, "--port", min=0, max=65535, help="0 picks a free port"),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Where the SQLite database lives (default: a temporary dir)"
    ),
    speed: float = typer.Option(1.0, "--speed", min=0.1, max=20.0, help="1 = real time"),
    lead_in: float = typer.Option(
        5.0, "--lead-in", min=0.0, help="Seconds to open the console before the call starts"
    ),
    keep_serving: bool = typer.Option(
        False, "--keep-serving", help="Keep the server running after the call (Ctrl-C stops)"
    ),
    agent_id: str = typer.Option(
        "A1", "--agent-id", help="Agent id the call is routed to and the console link opens as"
    ),
    ready_timeout: float = typer.Option(600.0, "--ready-timeout", help="Model loading limit, s"),
    transcript: bool = typer.Option(
        False, "--transcript", help="Also print what is said (finals) in the terminal"
    ),
) -> None:
    """Run CareCue locally and play a sample patient call; nudges print as they arrive."""
    import asyncio

    from carecue_sim.demo import DemoOptions, run_demo

    options = DemoOptions(
        call=call, port=port, data_dir=data_dir, speed=speed, lead_in_s=lead_in,
        keep_serving=keep_serving, agent_id=agent_id, ready_timeout_s=ready_timeout,
        show_transcript=transcript,
    )
    try:
        code = asyncio.run(run_demo(options, echo=typer.echo))
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)
