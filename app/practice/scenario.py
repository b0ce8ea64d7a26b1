"""Practice scenarios: branching patient calls written in YAML, validated with pydantic.

A scenario is a small graph of **steps**. Each step is one thing the patient says; after the
trainee answers, the first **branch** whose ``when`` the answer satisfies is taken (``when``
names a phrase set of the playbook, e.g. ``acknowledgement`` or ``safety_check``, so the same
matching that resolves "Acknowledge their concern" as said decides here); the last branch has
no ``when`` and is taken otherwise. A step with ``end: true`` closes the call.

```yaml
id: biopsy_wait
title: Waiting for biopsy results
summary: ...
voice: af_heart
start: opening
steps:
  opening:
    patient: "I had a biopsy eleven days ago and nobody has called me."
    mood: anxious
    branches:
      - {when: acknowledgement, goto: opens_up}
      - {goto: worry_again}
  opens_up: ...
```

``load_scenario`` reports every problem as ``file:line: path: message``; the graph must start
at ``start``, reach every step, have no cycles (so every call ends) and end on ``end`` steps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

SCENARIOS_DIR = Path(__file__).parent / "scenarios"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

Mood = Literal["calm", "anxious", "upset", "angry", "tearful", "confused", "low", "in_pain",
               "distressed", "relieved", "reassured"]


def _nonblank(v: str) -> str:
    if not v.strip():
        raise ValueError("must not be blank")
    return v


def _ident(v: str) -> str:
    if not _ID.match(v):
        raise ValueError("must be lower_snake_case: a letter, then letters, digits or _")
    return v


Text = Annotated[str, AfterValidator(_nonblank)]
Ident = Annotated[str, AfterValidator(_ident)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Branch(_Model):
    """Go to ``goto`` when the trainee's answer says what the ``when`` phrase set describes;
    without ``when``, always (the fallback, last in its list)."""

    when: Ident | None = None
    goto: Ident
    note: str | None = Field(None, description="for the trainer: why this branch")


class Step(_Model):
    """One patient turn."""

    patient: Text = Field(description="what the patient says (spoken in the scenario's voice)")
    mood: Mood = "anxious"
    branches: list[Branch] = Field(default_factory=list)
    end: bool = False

    @model_validator(mode="after")
    def _shape(self) -> Step:
        if self.end and self.branches:
            raise ValueError("an end step has no branches")
        if not self.end and not self.branches:
            raise ValueError("a step needs branches, or end: true")
        if self.branches:
            *conditional, last = self.branches
            if last.when is not None:
                raise ValueError("the last branch must have no 'when' (what happens otherwise)")
            if any(b.when is None for b in conditional):
                raise ValueError("only the last branch may have no 'when'")
        if len(self.patient) > 600:
            raise ValueError("a patient line is at most 600 characters; split it into steps")
        return self


class Scenario(_Model):
    """A simulated patient call."""

    id: Ident
    title: Text
    summary: Text = Field(description="what the trainee is told before the call")
    caller: Text = Field(description="who calls, e.g. 'Maria, 52'")
    voice: Text = Field(description="a Kokoro voice (carecue_sim/voices: af_heart, bm_george...)")
    skills: list[Text] = Field(default_factory=list, description="what the trainer looks for")
    protocol: bool = Field(False, description="a safety protocol applies (crisis scenarios)")
    start: Ident
    steps: dict[Ident, Step]

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a scenario file, at its YAML line."""

    line: int | None
    path: str
    message: str

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line is not None else source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(ValueError):
    """A scenario file is invalid; ``problems`` lists each one with its line."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(
            f"invalid scenario {source} ({len(problems)} problem(s)):\n"
            + "\n".join(p.render(source) for p in problems)
        )


def _line_of(root: yaml.Node | None, loc: Iterable[int | str]) -> int | None:
    if root is None:
        return None
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next(
                (v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part),
                node,
            )
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                node = node.value[part]
    return node.start_mark.line + 1


def _render(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def graph_problems(
    sc: Scenario, phrase_sets: Iterable[str] | None, voices: Iterable[str] | None
) -> list[tuple[tuple[int | str, ...], str]]:
    """What is wrong with the branches as a whole: unknown targets, phrase sets or voice,
    unreachable steps, cycles, and paths that never end."""
    out: list[tuple[tuple[int | str, ...], str]] = []
    known_sets = set(phrase_sets) if phrase_sets is not None else None
    if voices is not None and sc.voice not in set(voices):
        out.append((("voice",), f"unknown voice {sc.voice!r}; one of {', '.join(sorted(voices))}"))
    if sc.start not in sc.steps:
        out.append((("start",), f"no step {sc.start!r}"))
    for sid, step in sc.steps.items():
        for i, b in enumerate(step.branches):
            if b.goto not in sc.steps:
                out.append((("steps", sid, "branches", i, "goto"), f"no step {b.goto!r}"))
            if known_sets is not None and b.when is not None and b.when not in known_sets:
                out.append((
                    ("steps", sid, "branches", i, "when"),
                    f"the playbook has no phrase set {b.when!r}; one of "
                    f"{', '.join(sorted(known_sets))}",
                ))
    if out:
        return out
    # reachability and cycles, depth first from the start
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(sid: str, path: tuple[str, ...]) -> None:
        state[sid] = 1
        for i, b in enumerate(sc.steps[sid].branches):
            if state.get(b.goto) == 1:
                out.append((
                    ("steps", sid, "branches", i, "goto"),
                    f"a cycle: {' -> '.join((*path, sid, b.goto))}; every call must end",
                ))
            elif b.goto not in state:
                visit(b.goto, (*path, sid))
        state[sid] = 2

    visit(sc.start, ())
    for sid in sc.steps:
        if sid not in state:
            out.append((("steps", sid), f"step {sid!r} cannot be reached from {sc.start!r}"))
    return out


def parse_scenario(
    text: str,
    source: str = "<string>",
    *,
    phrase_sets: Iterable[str] | None = None,
    voices: Iterable[str] | None = None,
) -> Scenario:
    """Parse and validate one scenario; ``ScenarioError`` lists located problems.

    ``phrase_sets`` (the playbook's) and ``voices`` are checked when given.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ScenarioError(source, [Problem(line, "", f"YAML syntax: {exc.problem}")]) from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [Problem(None, "", f"YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        raise ScenarioError(source, [Problem(1, "", "a scenario is a mapping with id and steps")])
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.append(Problem(_line_of(root, loc), _render(loc), msg))
        problems.sort(key=lambda p: p.line or 0)
        raise ScenarioError(source, problems) from None
    found = graph_problems(sc, phrase_sets, voices)
    if found:
        located = [Problem(_line_of(root, loc), _render(loc), m) for loc, m in found]
        located.sort(key=lambda p: p.line or 0)
        raise ScenarioError(source, located)
    return sc


def load_scenarios(
    directory: Path | None = None,
    *,
    phrase_sets: Iterable[str] | None = None,
    voices: Iterable[str] | None = None,
) -> dict[str, Scenario]:
    """Every ``*.yaml`` scenario of a folder (the shipped ones by default), by id.

    Raises ``ScenarioError`` for the first bad file; ids must be unique and match the file name.
    """
    folder = directory or SCENARIOS_DIR
    out: dict[str, Scenario] = {}
    sets = list(phrase_sets) if phrase_sets is not None else None
    voice_list = list(voices) if voices is not None else None
    for path in sorted(folder.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        sc = parse_scenario(text, str(path), phrase_sets=sets, voices=voice_list)
        if sc.id != path.stem:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            raise ScenarioError(str(path), [
                Problem(_line_of(root, ("id",)), "id", f"must match the file name {path.stem!r}")
            ])
        out[sc.id] = sc
    return out


def scenario_summary(sc: Scenario) -> dict[str, Any]:
    """What the picker shows (no patient lines)."""
    return {
        "id": sc.id,
        "title": sc.title,
        "summary": sc.summary,
        "caller": sc.caller,
        "skills": list(sc.skills),
        "protocol": sc.protocol,
        "steps": len(sc.steps),
    }
