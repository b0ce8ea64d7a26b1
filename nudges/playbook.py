"""Playbook schema: the rules a call-centre admin edits in YAML, validated with pydantic.

A playbook is a list of rules. Each rule says *when* to nudge (a trigger, composed of
signal thresholds, things said or not said, and talk dynamics), *what* to show (title and
suggested words), how loud (priority, supervisor escalation), how often (cooldown, max per
call), for how long (expiry) and when the nudge counts as done (the agent said it).

``parse_playbook`` reports every problem with the YAML line it comes from, so an admin
can fix a file without reading a stack trace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from models.signals import CONCERNS

DEFAULT_PLAYBOOK_PATH = Path(__file__).parent / "playbooks" / "medical_support.yaml"

Priority = Literal["info", "suggest", "urgent"]
Speaker = Literal["caller", "agent"]

NUMERIC_SIGNALS: tuple[str, ...] = ("distress", *CONCERNS)
# Red flags (see models/crisis.py): self_harm and emergency are urgent ("crisis" is either),
# safety_check is ambiguous hopelessness that deserves a gentle question.
RED_FLAG_NAMES: tuple[str, ...] = ("self_harm", "emergency", "safety_check")
# The self-harm flag split by who is at risk: ``someone_else_at_risk`` when it was raised only
# about someone other than the caller ("my husband says he's going to kill himself tonight"),
# ``caller_at_risk`` otherwise (the caller's own words, or nobody named). ``self_harm`` is
# either.
FLAG_SIGNALS: tuple[str, ...] = (
    "crisis",
    "distressed",
    *RED_FLAG_NAMES,
    "caller_at_risk",
    "someone_else_at_risk",
)
SIGNAL_NAMES: tuple[str, ...] = tuple(dict.fromkeys(NUMERIC_SIGNALS + FLAG_SIGNALS))


def _check_regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc
    return pattern


def _check_nonblank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text


def _check_because(text: str) -> str:
    if text.count("{quote}") != 1:
        raise ValueError("'because' needs {quote} exactly once, where the caller's words go")
    if text.replace("{quote}", "").count("{") or text.replace("{quote}", "").count("}"):
        raise ValueError("'because' may only use the {quote} placeholder")
    return text


Regex = Annotated[str, AfterValidator(_check_regex)]
Text = Annotated[str, AfterValidator(_check_nonblank)]
Seconds = Annotated[float, Field(ge=0)]
Unit = Annotated[float, Field(ge=0, le=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PhraseSpec(_Model):
    """Words to look for: exact phrases, regular expressions, and semantic examples.

    ``use`` pulls in a named set from the playbook's ``phrase_sets`` (its phrases,
    patterns and examples are added to these). Phrases match whole words, case-insensitive.
    ``examples`` match by MiniLM cosine similarity >= ``threshold`` per sentence. With
    ``negation`` on (the default) a phrase preceded by a negation in its clause ("I'm
    *not* in pain") does not count, nor a semantic match whose polarity differs from
    its example.
    """

    use: str | None = None
    phrases: list[Text] = Field(default_factory=list)
    patterns: list[Regex] = Field(default_factory=list)
    examples: list[Text] = Field(default_factory=list)
    threshold: Unit = 0.6
    negation: bool = True
    # A sentence shorter than this never matches semantically: "I understand." or "Okay."
    # sit close to any acknowledgement in embedding space but acknowledge nothing.
    semantic_min_words: Annotated[int, Field(ge=0, le=50)] = 0
    # The reviewed red-flag detector (models/crisis.py) found this kind in the utterance;
    # ``about`` narrows it to the caller's own or to someone else's ("my husband says he's
    # going to kill himself"). When unsure who it is about, the detector says the caller.
    red_flag: Literal["self_harm", "emergency", "safety_check"] | None = None
    about: Literal["anyone", "caller", "someone_else"] = "anyone"

    @model_validator(mode="after")
    def _about_needs_red_flag(self) -> PhraseSpec:
        if self.about != "anyone" and self.red_flag is None and self.use is None:
            raise ValueError("'about' applies to a red_flag: give red_flag too")
        return self


class PhraseSet(PhraseSpec):
    """A named, reusable phrase set (cannot itself ``use`` another)."""

    @model_validator(mode="after")
    def _no_nesting(self) -> PhraseSet:
        if self.use is not None:
            raise ValueError("a phrase set cannot 'use' another phrase set")
        if not (self.phrases or self.patterns or self.examples or self.red_flag):
            raise ValueError("a phrase set needs phrases, patterns, examples or red_flag")
        return self


class SaidSpec(PhraseSpec):
    """Someone said it: the speaker's utterances that ended in the last ``within_s``."""

    speaker: Speaker = "caller"
    within_s: Seconds = 20.0


class SignalSpec(_Model):
    """A condition on the smoothed classifier output, held for at least ``for_s``.

    Numeric names (``distress`` or a concern) need at least one of ``above``, ``below``,
    ``trend`` or ``fell_by`` (the value dropped by this much from its peak in the last
    ``within_s``). Flags (``distressed``, and ``crisis`` given without a condition) are
    simply on; ``crisis`` with a condition is the crisis concern score. With ``fresh`` the
    condition only counts once the signals include the caller's latest words (between a
    caller's final and its scores, the signals still describe what came before).
    """

    name: str
    above: Unit | None = None
    below: Unit | None = None
    trend: Literal["rising", "steady", "falling"] | None = None
    fell_by: Annotated[float, Field(gt=0, le=1)] | None = None
    within_s: Seconds = 60.0
    for_s: Seconds = 0.0
    fresh: bool = False

    @model_validator(mode="after")
    def _check(self) -> SignalSpec:
        if self.name not in SIGNAL_NAMES:
            raise ValueError(
                f"unknown signal {self.name!r}; expected one of {', '.join(SIGNAL_NAMES)}"
            )
        has_condition = any(
            v is not None for v in (self.above, self.below, self.trend, self.fell_by)
        )
        if self.name not in NUMERIC_SIGNALS and has_condition:
            raise ValueError(f"{self.name!r} is a flag: give no above/below/trend/fell_by")
        if self.name not in FLAG_SIGNALS and not has_condition:
            raise ValueError(f"signal {self.name!r} needs above, below, trend or fell_by")
        if self.above is not None and self.below is not None and self.above >= self.below:
            raise ValueError("above must be less than below")
        return self


class TalkSpec(_Model):
    """Talk dynamics from transcript timing.

    - ``agent_talk_ratio``: agent speech / all speech in the last ``window_s`` is
      ``above`` (only once at least ``min_speech_s`` was spoken in the window);
    - ``talk_over``: the agent started speaking (``min_words`` or more) while the caller
      was still talking, overlapping by ``min_overlap_s``; ``count`` times in ``window_s``;
    - ``silence``: nobody has spoken for ``above`` seconds;
    - ``repeated_question``: the caller asked the same question ``count`` times in
      ``window_s`` (similarity >= ``similarity``).
    """

    measure: Literal["agent_talk_ratio", "talk_over", "silence", "repeated_question"]
    window_s: Annotated[float, Field(gt=0)] = 60.0
    above: Annotated[float, Field(ge=0)] | None = None
    min_speech_s: Seconds = 20.0
    min_overlap_s: Seconds = 0.8
    min_words: Annotated[int, Field(ge=1)] = 3
    count: Annotated[int, Field(ge=1)] = 1
    similarity: Unit = 0.75

    @model_validator(mode="after")
    def _check(self) -> TalkSpec:
        if self.measure in ("agent_talk_ratio", "silence") and self.above is None:
            raise ValueError(f"measure {self.measure!r} needs 'above'")
        if self.measure == "agent_talk_ratio" and self.above is not None and self.above > 1:
            raise ValueError("agent_talk_ratio 'above' is a fraction between 0 and 1")
        return self


class NotSaidSpec(_Model):
    """``after`` happened and ``speaker`` did not say ``said`` within ``within_s``.

    With ``on_reply`` the wait also ends, early, when ``speaker`` replies with something
    else: an utterance of at least ``reply_min_words`` words that does not say ``said``
    (the agent answered "I'm so frightened" with "Can you confirm your date of birth?").
    Shorter replies ("Oh no.", "Okay.") are backchannels and keep the timer running.
    """

    after: Trigger
    said: PhraseSpec
    speaker: Speaker = "agent"
    within_s: Annotated[float, Field(gt=0)] = 10.0
    on_reply: bool = False
    reply_min_words: Annotated[int, Field(ge=1)] = 4


class AllTrigger(_Model):
    all: Annotated[list[Trigger], Field(min_length=1)]


class AnyTrigger(_Model):
    any: Annotated[list[Trigger], Field(min_length=1)]


class SignalTrigger(_Model):
    signal: SignalSpec


class SaidTrigger(_Model):
    said: SaidSpec


class NotSaidTrigger(_Model):
    not_said: NotSaidSpec


class TalkTrigger(_Model):
    talk: TalkSpec


TRIGGER_KINDS: tuple[str, ...] = ("all", "any", "signal", "said", "not_said", "talk")


def _trigger_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        keys = [k for k in value if k in TRIGGER_KINDS]
        return keys[0] if len(keys) == 1 else None
    for kind, cls in _TRIGGER_CLASSES.items():
        if isinstance(value, cls):
            return kind
    return None


Trigger = Annotated[
    Annotated[AllTrigger, Tag("all")]
    | Annotated[AnyTrigger, Tag("any")]
    | Annotated[SignalTrigger, Tag("signal")]
    | Annotated[SaidTrigger, Tag("said")]
    | Annotated[NotSaidTrigger, Tag("not_said")]
    | Annotated[TalkTrigger, Tag("talk")],
    Discriminator(
        _trigger_kind,
        custom_error_type="trigger_kind",
        custom_error_message="a trigger needs exactly one of: " + ", ".join(TRIGGER_KINDS),
    ),
]

_TRIGGER_CLASSES: dict[str, type[BaseModel]] = {
    "all": AllTrigger,
    "any": AnyTrigger,
    "signal": SignalTrigger,
    "said": SaidTrigger,
    "not_said": NotSaidTrigger,
    "talk": TalkTrigger,
}


class DoneWhen(_Model):
    """When a nudge counts as done besides accept/dismiss/expiry: the agent said it."""

    agent_said: PhraseSpec | None = None


class Rule(_Model):
    """One nudge: when to show it, what it says, and how it goes away."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
    title: Text
    suggestions: Annotated[list[Text], Field(min_length=1)]
    # The agent reads why a prompt is on screen: ``because`` is a plain sentence with
    # ``{quote}`` for the caller's words; ``why`` is said when there is nothing to quote.
    why: str = ""
    because: Annotated[str, AfterValidator(_check_because)] | None = None
    # Coaching waits while a self-harm or emergency protocol is on screen (urgent rules
    # are never held).
    hold_during_crisis: bool = True
    trigger: Trigger
    unless: Trigger | None = None
    priority: Priority = "suggest"
    cooldown_s: Seconds = 60.0
    max_per_call: Annotated[int, Field(ge=1)] = 3
    expires_after_s: Annotated[float, Field(gt=0)] = 60.0
    escalate: bool = False
    done_when: DoneWhen = Field(default_factory=DoneWhen)
    enabled: bool = True


class Playbook(_Model):
    """A named set of rules plus shared phrase sets."""

    name: Text
    version: int = 1
    description: str = ""
    phrase_sets: dict[str, PhraseSet] = Field(default_factory=dict)
    rules: Annotated[list[Rule], Field(min_length=1)]

    @model_validator(mode="after")
    def _check_refs(self, info: ValidationInfo) -> Playbook:
        if info.context and info.context.get("defer_refs"):
            return self  # parse_playbook reports these with their locations
        problems = reference_problems(self)
        if problems:
            raise ValueError(problems[0][1])
        return self

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


AllTrigger.model_rebuild()
AnyTrigger.model_rebuild()
NotSaidSpec.model_rebuild()
NotSaidTrigger.model_rebuild()
Rule.model_rebuild()
Playbook.model_rebuild()


def iter_triggers(trigger: Any) -> list[Any]:
    """Every trigger node below (and including) ``trigger``, depth first."""
    out = [trigger]
    if isinstance(trigger, AllTrigger):
        for t in trigger.all:
            out.extend(iter_triggers(t))
    elif isinstance(trigger, AnyTrigger):
        for t in trigger.any:
            out.extend(iter_triggers(t))
    elif isinstance(trigger, NotSaidTrigger):
        out.extend(iter_triggers(trigger.not_said.after))
    return out


Loc = tuple[int | str, ...]


def _walk_trigger(trigger: Any, loc: Loc) -> list[tuple[Loc, Any]]:
    out: list[tuple[Loc, Any]] = [(loc, trigger)]
    if isinstance(trigger, AllTrigger):
        for i, t in enumerate(trigger.all):
            out.extend(_walk_trigger(t, (*loc, "all", i)))
    elif isinstance(trigger, AnyTrigger):
        for i, t in enumerate(trigger.any):
            out.extend(_walk_trigger(t, (*loc, "any", i)))
    elif isinstance(trigger, NotSaidTrigger):
        out.extend(_walk_trigger(trigger.not_said.after, (*loc, "not_said", "after")))
    return out


def _walk_specs(pb: Playbook) -> list[tuple[Loc, PhraseSpec]]:
    specs: list[tuple[Loc, PhraseSpec]] = []
    for i, rule in enumerate(pb.rules):
        roots: list[tuple[Loc, Any]] = [(("rules", i, "trigger"), rule.trigger)]
        if rule.unless is not None:
            roots.append((("rules", i, "unless"), rule.unless))
        for root_loc, root in roots:
            for loc, node in _walk_trigger(root, root_loc):
                if isinstance(node, SaidTrigger):
                    specs.append(((*loc, "said"), node.said))
                elif isinstance(node, NotSaidTrigger):
                    specs.append(((*loc, "not_said", "said"), node.not_said.said))
        if rule.done_when.agent_said is not None:
            specs.append((("rules", i, "done_when", "agent_said"), rule.done_when.agent_said))
    return specs


def reference_problems(pb: Playbook) -> list[tuple[Loc, str]]:
    """Cross-field problems: duplicate rule ids, unknown phrase sets, empty phrase specs."""
    problems: list[tuple[Loc, str]] = []
    seen: set[str] = set()
    for i, rule in enumerate(pb.rules):
        if rule.id in seen:
            problems.append((("rules", i, "id"), f"duplicate rule id {rule.id!r}"))
        seen.add(rule.id)
    known = ", ".join(sorted(pb.phrase_sets)) or "none defined"
    for loc, spec in _walk_specs(pb):
        if spec.use is not None and spec.use not in pb.phrase_sets:
            problems.append(((*loc, "use"), f"unknown phrase set {spec.use!r} (known: {known})"))
        elif spec.use is None and not (
            spec.phrases or spec.patterns or spec.examples or spec.red_flag
        ):
            problems.append((loc, "needs 'use', phrases, patterns, examples or red_flag"))
    return problems


def iter_phrase_specs(pb: Playbook) -> list[PhraseSpec]:
    """Every phrase spec the playbook's rules use (not the shared sets themselves)."""
    return [spec for _, spec in _walk_specs(pb)]


# ---------------------------------------------------------------- loading and errors


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a playbook file."""

    line: int | None
    path: str
    message: str

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line is not None else source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class PlaybookError(ValueError):
    """The playbook is invalid; ``problems`` lists each one with its YAML line."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(p.render(source) for p in problems)
        super().__init__(f"invalid playbook {source} ({len(problems)} problem(s)):\n{lines}")


def _line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the deepest YAML node that ``loc`` reaches.

    Pydantic locations can contain union tags that are not YAML keys; those are skipped.
    """
    if root is None:
        return None
    node: yaml.Node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    node = value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                node = node.value[part]
    return node.start_mark.line + 1


def _render_loc(loc: tuple[int | str, ...], root: yaml.Node | None) -> str:
    """``rules[2].trigger.any[0].signal.above``, dropping union tags."""
    out = ""
    node = root
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            if isinstance(node, yaml.SequenceNode) and 0 <= part < len(node.value):
                node = node.value[part]
            continue
        if isinstance(node, yaml.MappingNode):
            child = next(
                (v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part),
                None,
            )
            if child is None and part in TRIGGER_KINDS and out:
                # a union tag that the YAML spells as the next key: skip it
                continue
            node = child
        out += f".{part}" if out else part
    return out


def _dedupe_tags(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # Tagged unions repeat the tag: (..., "signal", "signal", "above") -> one "signal".
    out: list[int | str] = []
    for i, part in enumerate(loc):
        if (
            isinstance(part, str)
            and part in TRIGGER_KINDS
            and i + 1 < len(loc)
            and loc[i + 1] == part
        ):
            continue
        out.append(part)
    return tuple(out)


def parse_playbook(text: str, source: str = "<string>") -> Playbook:
    """Parse and validate playbook YAML; raise ``PlaybookError`` listing located problems."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise PlaybookError(source, [Problem(line, "", f"YAML syntax: {exc.problem}")]) from exc
    except yaml.YAMLError as exc:
        raise PlaybookError(source, [Problem(None, "", f"YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        problem = Problem(1, "", "a playbook is a mapping with 'name' and 'rules'")
        raise PlaybookError(source, [problem])
    try:
        pb = Playbook.model_validate(data, context={"defer_refs": True})
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = _dedupe_tags(tuple(err["loc"]))
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            problems.append(Problem(_line_of(root, loc), _render_loc(loc, root), msg))
        problems.sort(key=lambda p: p.line or 0)
        raise PlaybookError(source, problems) from None
    refs = reference_problems(pb)
    if refs:
        located = [Problem(_line_of(root, loc), _render_loc(loc, root), m) for loc, m in refs]
        located.sort(key=lambda p: p.line or 0)
        raise PlaybookError(source, located)
    return pb


def load_playbook(path: Path | None = None) -> Playbook:
    """Load a playbook file; ``None`` loads the packaged default (medical support)."""
    p = Path(path) if path is not None else DEFAULT_PLAYBOOK_PATH
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlaybookError(str(p), [Problem(None, "", f"cannot read file: {exc}")]) from exc
    return parse_playbook(text, source=str(p))


def dump_playbook(pb: Playbook) -> str:
    """The playbook as YAML that ``parse_playbook`` reads back to an equal playbook."""
    data = pb.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    # name and rules are required; keep version visible for admins
    data["version"] = pb.version
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
