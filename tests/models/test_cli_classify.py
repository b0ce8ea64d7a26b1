"""``carecue classify``: one JSON line per text, ``--file`` input, bad lines reported."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from app.cli import classify as classify_cmd
from models.signals import CONCERNS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    cli = typer.Typer()
    classify_cmd.register(cli)

    @cli.command()
    def _other() -> None:  # a second command keeps typer in sub-command mode
        pass

    return cli


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_texts_as_arguments(app) -> None:
    res = CliRunner().invoke(app, ["classify", "I can't breathe", "Can I book a flu jab?"])
    assert res.exit_code == 0, res.output
    rows = _lines(res.stdout)
    assert [r["text"] for r in rows] == ["I can't breathe", "Can I book a flu jab?"]
    for r in rows:
        assert set(r) >= {"text", "distress", "concerns", "crisis", "evidence"}
        assert set(r["concerns"]) == set(CONCERNS)
    assert rows[0]["crisis"] is True and rows[0]["evidence"] == "I can't breathe"
    assert rows[1]["crisis"] is False


def test_file_input_and_bad_lines(app, tmp_path) -> None:
    f = tmp_path / "in.jsonl"
    f.write_text(
        json.dumps({"text": "Thank you so much, that's a relief."})
        + "\nnot json\n"
        + json.dumps({"nope": 1})
        + "\n\n"
        + json.dumps({"text": "I'm scared about the biopsy.", "id": "x"})
        + "\n"
    )
    res = CliRunner().invoke(app, ["classify", "--file", str(f)])
    assert res.exit_code == 1
    rows = _lines(res.stdout)
    assert [r["text"] for r in rows] == [
        "Thank you so much, that's a relief.",
        "I'm scared about the biopsy.",
    ]
    assert "in.jsonl:2" in res.stderr and "in.jsonl:3" in res.stderr


def test_long_text_is_marked_truncated(app) -> None:
    res = CliRunner().invoke(app, ["classify", "hello there " * 1000])
    assert res.exit_code == 0
    assert _lines(res.stdout)[0]["truncated"] is True


def test_nothing_to_do_is_a_usage_error(app) -> None:
    res = CliRunner().invoke(app, ["classify"])
    assert res.exit_code == 2
