"""Which branch a trainee's answer takes: CareCue's own judgement, not a keyword list.

A branch's ``when`` names a phrase set of the playbook (``acknowledgement``, ``safety_check``,
...). The answer is matched with the same ``PhraseMatcher`` and the same compiled phrase set
that the nudge engine uses to resolve "Acknowledge their concern" as said (its
``done_when.agent_said``): phrases, patterns with negation, and, when the service runs with the
MiniLM encoder, semantic similarity to the set's examples. So an answer that would clear the
nudge on a real call is the answer the simulated patient hears as an acknowledgement.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.practice.scenario import Step
from nudges.matching import CompiledSpec, PhraseMatcher
from nudges.playbook import PhraseSet, PhraseSpec, Playbook


@dataclass(frozen=True, slots=True)
class Judgement:
    """The branch taken and why: the phrase set that matched and the words that did it."""

    goto: str
    when: str | None
    kind: str | None = None  # phrase | pattern | semantic
    sentence: str | None = None
    matched: str | None = None
    score: float | None = None


class ReplyJudge:
    """Chooses branches with a playbook's phrase sets. Blocking with a semantic matcher
    (an embedding per new sentence): run ``choose`` in the model executor."""

    def __init__(self, playbook: Playbook, matcher: PhraseMatcher | None = None,
                 fallback: Playbook | None = None) -> None:
        self._matcher = matcher or PhraseMatcher()
        # The live playbook's sets win; a set an admin removed still works from the default.
        sets: dict[str, PhraseSet] = dict(fallback.phrase_sets) if fallback is not None else {}
        sets.update(playbook.phrase_sets)
        self._sets = sets
        self._compiled: dict[str, CompiledSpec] = {}

    @property
    def phrase_sets(self) -> list[str]:
        return sorted(self._sets)

    def _spec(self, name: str) -> CompiledSpec | None:
        if name not in self._sets:
            return None
        if name not in self._compiled:
            self._compiled[name] = self._matcher.compile(PhraseSpec(use=name), self._sets)
        return self._compiled[name]

    def said(self, phrase_set: str, text: str) -> Judgement | None:
        """A match of ``text`` against one phrase set, or None."""
        spec = self._spec(phrase_set)
        m = self._matcher.match(spec, text) if spec is not None else None
        if m is None:
            return None
        return Judgement("", phrase_set, m.kind, m.sentence, m.matched, round(m.score, 3))

    def choose(self, step: Step, text: str) -> Judgement:
        """The first branch of ``step`` whose ``when`` the answer satisfies, else the last."""
        for branch in step.branches:
            if branch.when is None:
                return Judgement(branch.goto, None)
            hit = self.said(branch.when, text)
            if hit is not None:
                return Judgement(branch.goto, branch.when, hit.kind, hit.sentence, hit.matched,
                                 hit.score)
        raise ValueError("a step without branches has no next step")
