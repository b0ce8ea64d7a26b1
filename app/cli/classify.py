"""``carecue classify``: score texts for distress, concerns and crisis, one JSON line each.

    carecue classify "I'm scared the cancer is back" "Can I book a flu jab?"
    carecue classify --file utterances.jsonl     # objects with a "text" key
    echo "I can't breathe" | carecue classify -  # texts from stdin, one a line

Each output line: ``{"text", "distress", "concerns": {name: score}, "crisis", "evidence"}``
(plus ``"truncated": true`` when a very long text was cut before scoring). A ``--file``
line that is not a JSON object with a string ``text`` is reported on stderr with its line
number and skipped; the exit code is then 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import typer


def register(cli: typer.Typer) -> None:
    cli.command(name="classify")(classify)


def _file_texts(path: Path, errors: list[str]) -> Iterator[str]:
    with path.open(encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"{path.name}:{n}: not JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                errors.append(f'{path.name}:{n}: expected an object with a string "text"')
                continue
            yield obj["text"]


def classify(
    texts: list[str] = typer.Argument(
        None, help="Texts to score; '-' reads one text per line from stdin"
    ),
    file: Path | None = typer.Option(
        None, "--file", "-f", exists=True, dir_okay=False, help="JSONL with a 'text' key"
    ),
    digits: int = typer.Option(3, "--digits", min=1, max=8, help="Decimals in the scores"),
) -> None:
    """Score texts for distress (0..1), concerns (0..1 each) and crisis; one JSON line each."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from models.classifier import ClassifierLoadError, load_classifier

    errors: list[str] = []
    inputs: list[str] = []
    for t in texts or []:
        if t == "-":
            inputs.extend(line.rstrip("\n") for line in sys.stdin if line.strip())
        else:
            inputs.append(t)
    if file is not None:
        inputs.extend(_file_texts(file, errors))
    if not inputs and not errors:
        typer.echo("nothing to classify: give TEXT arguments, '-' or --file", err=True)
        raise typer.Exit(2)
    try:
        clf = load_classifier()
    except ClassifierLoadError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc

    # Batches keep memory flat for large files while still batching encoder calls.
    for start in range(0, len(inputs), 64):
        chunk = inputs[start : start + 64]
        for text, score in zip(chunk, clf.score_batch(chunk), strict=True):
            row: dict[str, object] = {
                "text": text,
                "distress": round(score.distress, digits),
                "concerns": {k: round(v, digits) for k, v in score.concerns.items()},
                "crisis": score.crisis,
                "red_flags": list(score.red_flags),
                "evidence": score.evidence,
            }
            if score.truncated:
                row["truncated"] = True
            typer.echo(json.dumps(row, ensure_ascii=False))
    for err in errors:
        typer.echo(err, err=True)
    if errors:
        raise typer.Exit(1)
