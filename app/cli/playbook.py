"""``carecue playbook validate|explain``: check a playbook, and see what it does on a call.

``validate FILE`` prints each problem as ``FILE:LINE: path: message`` and exits 1 when the
playbook is invalid. ``explain --transcript T.jsonl`` replays a transcript (one
``{"speaker", "text", "start_s", "end_s"}`` object per line; a test script's
``{"signals": ...}`` lines are replaced by the real classifier, its feedback and tick lines
replayed) through the real classifier (a ``WindowScorer`` on a fake clock driven by the
transcript times) and the nudge engine, and prints one JSON line per nudge created or
resolved (with the agent's words that resolved it) and a last ``call_ended`` line for each
nudge still open.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

playbook_cli = typer.Typer(
    name="playbook",
    help="Validate a nudge playbook, or replay a transcript through it.",
    no_args_is_help=True,
)


@playbook_cli.command()
def validate(
    file: Path = typer.Argument(..., help="Playbook YAML file to check."),
) -> None:
    """Check a playbook file; print each problem with its line number (exit 1 if invalid)."""
    from nudges.playbook import PlaybookError, load_playbook

    try:
        pb = load_playbook(file)
    except PlaybookError as exc:
        for problem in exc.problems:
            typer.echo(problem.render(str(file)), err=True)
        typer.echo(f"{file}: invalid ({len(exc.problems)} problem(s))", err=True)
        raise typer.Exit(1) from None
    enabled = sum(1 for r in pb.rules if r.enabled)
    typer.echo(f"{file}: ok ({pb.name}, {enabled} rules enabled of {len(pb.rules)})")


@playbook_cli.command()
def explain(
    transcript: Path = typer.Option(..., "--transcript", help="Transcript JSON lines."),
    playbook: Path | None = typer.Option(
        None, "--playbook", help="Playbook YAML (default: the packaged medical_support)."
    ),
    tail_s: float = typer.Option(
        0.0, "--tail-s", help="Keep the clock running this long after the last line."
    ),
    semantic: bool = typer.Option(
        True, "--semantic/--no-semantic", help="Semantic phrase matching with MiniLM."
    ),
) -> None:
    """Replay a transcript through the classifier and the engine; one JSON line per event."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from asr.types import TranscriptFinal
    from models.signals import Signals
    from nudges.playbook import PlaybookError, load_playbook
    from nudges.replay import TranscriptError, event_json, load_script, replay_events

    try:
        pb = load_playbook(playbook)
    except PlaybookError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    try:
        items = load_script(transcript)
    except (OSError, TranscriptError) as exc:
        typer.echo(f"cannot read transcript: {exc}", err=True)
        raise typer.Exit(2) from None
    # Scripts (the test transcripts) may carry scripted classifier signals: the real
    # classifier replaces them here. Their feedback and tick lines are replayed as given.
    scripted = [i for i in items if isinstance(i, Signals)]
    if scripted:
        typer.echo(
            f"note: {len(scripted)} scripted signals line(s) replaced by the real classifier",
            err=True,
        )
    items = [i for i in items if not isinstance(i, Signals)]
    if not any(isinstance(i, TranscriptFinal) for i in items):
        typer.echo(f"{transcript}: no utterances to replay", err=True)
        raise typer.Exit(2)

    # the models load only once the inputs are known to be good
    from models.classifier import load_classifier
    from models.clock import FakeClock
    from models.scorer import WindowScorer
    from nudges.engine import NudgeEngine
    from nudges.matching import PhraseMatcher

    clock = FakeClock()
    try:
        if semantic:
            from models.encoder import get_encoder

            matcher = PhraseMatcher(get_encoder())
        else:
            matcher = PhraseMatcher()
        scorer = WindowScorer(load_classifier(), clock, window_s=20.0)
    except RuntimeError as exc:  # ClassifierLoadError / EncoderLoadError say what to install
        typer.echo(f"cannot load the models: {exc}", err=True)
        raise typer.Exit(3) from None
    engine = NudgeEngine(pb, clock, matcher)
    events = []
    for event in replay_events(items, scorer=scorer, clock=clock, tail_s=tail_s):
        events.extend(engine.handle(event))
    events.extend(engine.end_call())
    for nudge_event in events:
        line = event_json(nudge_event)
        if line is not None:
            sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def register(cli: typer.Typer) -> None:
    """Add ``carecue playbook ...`` to the root CLI."""
    cli.add_typer(playbook_cli, name="playbook")
