"""The caller's words across the whole call: risk that no single utterance states, and
goodbyes the call has already explained.

A clinician listening to a call does not judge each sentence alone. "I can't keep going round
in circles" early on, then "cancel the lot, I won't be needing any of them after this week"
is a farewell after hopelessness, though neither sentence says so; "I'm moving into a care
home next week", then "I've given the dog to the lady next door" is a move. The red-flag
patterns and model read one utterance (``models/crisis.py``, ``models/classifier.py``);
``CallContext`` reads the caller's turns of one call together (issue 9, thirteenth round):

* **Cues.** Each caller turn is read for four kinds of cue (``read_cues``): hopelessness
  (the gentle safety check was raised, or words such as "what's the point", "I've had
  enough"), a farewell or settling up (thanks for everything, cancelling it all, pets and
  belongings given away, a will, next of kin, bank cards), a burden or no future ("they'd
  manage without me", "nothing in front of me") and a plan (tablets put by, a bridge, "after
  tonight"). And for an ordinary reason for goodbyes: a move, emigrating, retiring, a care
  home, a hospice or the end of a treatment, a death in the family. The word lists find the
  words they were written for; the learned cue head (``models/train_cues.py``, issue 9,
  fourteenth round) reads the four cues from the turn's meaning (``TextScore.cues``) and adds
  a kind the words did not show, quoting the clause that carried it. An ordinary reason stays
  the word list's: a wrong one would silence a real farewell.
* **Risk across turns.** When the caller's own turns in the call hold two kinds of cue, one
  of them a farewell, a burden or a plan and one hopelessness, a burden or a plan, a turn
  that carries a cue raises the self-harm flag with both quoted. A farewell does not count
  once an ordinary reason for goodbyes was given.
* **Goodbyes explained.** A self-harm flag raised only by a farewell's words (``FAREWELL_PIDS``
  or the learned model alone) is dropped when the caller gave an ordinary reason for
  goodbyes in the call and said nothing of hopelessness, a burden or a plan.

Turns about someone else (``TextScore.about_others``) carry no cue. Nothing here raises an
emergency or drops one. Only the caller's words are read; no text is logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

from models import crisis as crisis_patterns
from models.signals import CRISIS_DISTRESS_FLOOR, TextScore

Cue = Literal["hopeless", "farewell", "burden", "plan"]
CUES: tuple[Cue, ...] = ("hopeless", "farewell", "burden", "plan")
# What the annotators marked on each caller turn (``models/data/crisis_call_cues.jsonl``): the
# cues, and an ordinary reason. The learned cue head reads the cues only: an ordinary reason
# discounts a farewell, so a wrong one could silence a real alarm; it stays the word list's.
CUE_LABELS: tuple[str, ...] = (*CUES, "reason")
# A call's turns are remembered this long (and at most ``_MAX_TURNS`` of them).
MEMORY_S = 900.0
_MAX_TURNS = 200
# Patterns that raise self-harm on a farewell's words alone (``models/crisis.py``).
FAREWELL_PIDS = frozenset(
    {
        "saying_goodbye",
        "affairs_in_order",
        "wont_be_around",
        "not_calling_again",
        "no_future_needed",
        "farewell_thanks",
    }
)

_HOPELESS = re.compile(
    r"\bwhat's the point\b|\bno point\b|\bcan't keep (?:going|doing|on)\b"
    r"|\btired of (?:it|all|everything|being)\b|\bhad enough\b"
    r"|\bdoesn't (?:really )?matter (?:now|anymore|any more)\b|\bdone with (?:it|all|everything)\b"
    r"|\bgive up\b|\bso done\b|\bcan't see the point\b|\bdon't see (?:it|this) ever ending\b"
    r"|\b(?:never going to|won't ever) (?:end|get better)\b"
    r"|\blet (?:everyone|everybody|them) down\b"
)
_FAREWELL = re.compile(
    # thanks for everything, from the caller ("not for all she did for him")
    r"\bthanks? (?:you )?(?:\w+ ){0,4}?(?:for everything|for trying"
    r"|for all (?:she|he|you|they)(?:'ve|'s| has| have) done(?! for (?:him|her|them|my)))\b"
    r"|\bthank(?:s| you) (?:from me )?(?:to )?(?:dr|doctor|the doctor|nurse|her|him|them"
    r"|everyone)\b[\w ,']{0,40}\b(?:for (?:everything|trying|all)|better than i deserved"
    r"|good to me|nice to me)"
    # the caller's own care no longer needed, all of it cancelled
    r"|\bwon't (?:be )?need(?:ing)? (?:them|it|any of (?:them|it)|the (?:appointments?|review"
    r"|repeat)|anything)\b(?! (?:here|there|out there|up there|over there)\b)"
    r"|\bcancel (?:the lot|all of (?:them|it|my)|all my|everything|it all)\b"
    r"|\btake me off (?:the|your) (?:list|books|system|register)\b|\bstop it all\b"
    r"|\bthis is (?:the last time|goodbye)\b|\blast time (?:you'll|you will|you) (?:hear|speak)\b"
    r"|\bthat's me done\b|\bi won't be (?:coming|ringing|calling|picking \w+ up) (?:back|again)\b"
    # a message left for someone
    r"|\btell (?:her|him|them|my \w+|mum|dad)\b[\w ,']{0,30}\b(?:i'm sorry|i love"
    r"|wasn't (?:her|his|their|anyone's) fault|thanks)\b|\bwasn't (?:her|his|their) fault\b"
    # settling up
    r"|\bnext of kin\b|\bbank cards\b|\bpin numbers?\b"
    r"|\b(?:done|sorted|made|written) (?:my|a) will\b|\bthe will\b|\borgan donor\b"
    r"|\bfuneral plan\b|\bnot to worry about (?:the|me|that)\b"
    r"|\b(?:gave|given|giving) (?:away|my \w+ (?:\w+ )?(?:away|to)|(?:her|him|them) (?:the|my) "
    r"(?:dog|cats?)|the (?:dog|cats?) to)\b|\brehom\w+\b|\btook the (?:cats?|dog) to\b"
    r"|\bsorting (?:everything|stuff|my bits|things|a lot)\b|\bgetting everything straight\b"
    r"|\bloose ends\b|\bsquared away\b|\bleave a mess\b|\bpaid [\w ]{0,20} back\b"
    r"|\bcleared my debts\b|\bsold (?:the car|my)\b"
)
_BURDEN = re.compile(
    r"\bwithout me\b|\b(?:weight|drain) (?:round|on)\b|\bin everyone's way\b|\bmiss me\b"
    r"|\bbetter off\b|\bnobody (?:would|will|needs?|has) (?:have to |need to |to )?(?:deal with"
    r"|bother|chas\w+|worry)\b|\bwon't be for long\b"
    r"|\bnothing (?:left|in front of me|to look forward)\b|\bno (?:way back|future|light)\b"
    r"|\bcan't picture anything\b|\b(?:won't|not) be (?:around|here)\b"
    r"|\beasier for (?:everybody|everyone)\b|\bno sense in me\b|\bi'm finished\b"
    r"|\bbe with (?:him|her) (?:again|soon)\b|\bjoin (?:him|her)\b"
    r"|\beasier for (?:her|him|them)\b|\bno use to (?:anybody|anyone)\b|\ba nuisance\b"
    r"|\bwaste of space\b|\b(?:having|have) to carry me\b|\bnothing (?:ahead of|for) me\b"
    r"|\bput it right for them\b|\b(?:with|from) the (?:life )?insurance\b"
)
_PLAN = re.compile(
    r"\b(?:put by|saved up|saving (?:them|up)|stash\w*|stockpil\w*|kept back)\b|\bbridge\b"
    r"|\blooking down\b|\bthe edge\b|\brailway\b|\btracks\b|\bcliffs?\b|\bafter tonight\b"
    r"|\bwhen the house is quiet\b|\bhow many (?:\w+ ){0,4}?(?:would|does|do) (?:it )?take\b"
    r"|\bto do (?:real |any )?(?:harm|damage)\b|\bwouldn't feel anything\b|\bdrift off\b"
    r"|\bmulti-?storey\b|\btop floor\b|\bcar park roof\b|\b(?:shot)?gun\b"
)
# An ordinary reason for goodbyes: a move, a new surgery, the end of a treatment chosen with the
# team, a hospice, a death in the family (a bereaved caller's thanks are for the one who died).
_REASON = re.compile(
    r"\bmoving\b|\bemigrat\w+\b|\bcare home\b|\bretir\w+\b|\brelocat\w+\b"
    r"|\bgoing (?:up |out |over )?to live\b|\bmoving in with\b|\bnew (?:job|house|surgery|gp)\b"
    r"|\bregister\w* with\b|\bhospice\b|\bpalliative\b|\bend of life\b|\bterminal\b"
    r"|\b(?:weeks|months) to live\b|\babroad\b|\boverseas\b"
    r"|\b(?:stop|stopping|come off|coming off|withdraw\w*) (?:my |the )?(?:dialysis|treatment"
    r"|chemo\w*)\b|\bat peace\b"
    r"|\b(?:passed away|died|widow\w*|bereave\w*|his death|her death)\b"
    r"|\b(?:his|her|their|the) funeral\b(?! plan)"
)
_PATTERNS: dict[Cue, re.Pattern[str]] = {
    "hopeless": _HOPELESS,
    "farewell": _FAREWELL,
    "burden": _BURDEN,
    "plan": _PLAN,
}
# The words quoted for a cue: this many characters either side of it, and at most
# ``_QUOTE_MAX`` in all (two quotes fit the 90 characters of a prompt's reason).
_QUOTE_SIDE = 12
_QUOTE_MAX = 42


@dataclass(frozen=True, slots=True)
class TurnCues:
    """The cues in one caller turn, each with the caller's words that carry it."""

    words: dict[Cue, str] = field(default_factory=dict)
    reason: bool = False

    @property
    def any(self) -> bool:
        return bool(self.words)


_CLAUSE_END = re.compile(r"[.,;:?!]")


def _around(text: str, m: re.Match[str]) -> str:
    """The clause of a match when it is short, else the match and a few words either side."""
    a = max((c.end() for c in _CLAUSE_END.finditer(text, 0, m.start())), default=0)
    end = _CLAUSE_END.search(text, m.end())
    b = end.start() if end is not None else len(text)
    clause = text[a:b].strip()
    if len(clause) <= _QUOTE_MAX:
        return clause
    a, b = max(0, m.start() - _QUOTE_SIDE), min(len(text), m.end() + _QUOTE_SIDE)
    while 0 < a < m.start() and text[a - 1].isalnum():
        a += 1
    while m.end() < b < len(text) and text[b].isalnum():
        b -= 1
    return _short(text[a:b].strip(" ,.;:?!"), _QUOTE_MAX)


def read_cues(text: str, score: TextScore) -> TurnCues:
    """The cues of one caller turn (none when its red flags are about someone else)."""
    if score.about_others:
        return TurnCues()
    lower = text.lower()
    words: dict[Cue, str] = {}
    for cue, pattern in _PATTERNS.items():
        m = pattern.search(lower)
        if m is not None:
            words[cue] = _around(text, m)
    if "hopeless" not in words and "safety_check" in score.red_flags:
        words["hopeless"] = _short(score.evidence or text, _QUOTE_MAX)
    # The cue head reads the turn's meaning where the word lists found nothing of a kind; its
    # words are the clause that carried the most weight for it (else the turn's evidence).
    for cue in CUES:
        if cue in score.cues and cue not in words:
            words[cue] = _short(score.cue_evidence or score.evidence or text, _QUOTE_MAX)
    return TurnCues(words, reason=_REASON.search(lower) is not None)


@dataclass(slots=True)
class _Turn:
    at_s: float
    cues: TurnCues


class CallContext:
    """One call's caller turns, read together (see the module docstring)."""

    def __init__(self, memory_s: float = MEMORY_S) -> None:
        self._memory_s = memory_s
        self._turns: list[_Turn] = []

    def reset(self) -> None:
        self._turns.clear()

    def judge(self, text: str, score: TextScore, at_s: float) -> TextScore:
        """``score`` of the caller turn ``text`` at ``at_s``, with the call's context applied;
        the turn is remembered for the turns after it."""
        cues = read_cues(text, score)
        self._turns = [t for t in self._turns if at_s - t.at_s <= self._memory_s]
        self._turns.append(_Turn(at_s, cues))
        del self._turns[:-_MAX_TURNS]
        reason = any(t.cues.reason for t in self._turns)
        seen = {c for t in self._turns for c in t.cues.words}
        own_self_harm = "self_harm" in score.red_flags and "self_harm" not in score.about_others
        if own_self_harm:
            if reason and seen <= {"farewell"} and self._farewell_only(score):
                return _without_self_harm(score)
            return score
        if not cues.any:
            return score
        kinds = seen - {"farewell"} if reason else seen
        if len(kinds) < 2 or not kinds & {"farewell", "burden", "plan"}:
            return score
        if not kinds & {"hopeless", "burden", "plan"}:
            return score
        return _with_self_harm(score, self._earlier_words(cues, kinds), _now_words(cues))

    def own_self_harm_stands(self, text: str, at_s: float) -> bool:
        """For a reader of the words alone (the nudge engine's fast path, before any score):
        remember the caller turn ``text`` and say whether the caller's own self-harm flag the
        reviewed patterns raise on it stands in the call's context. A goodbye the call has
        explained does not; nothing is raised here that the patterns did not raise."""
        found = crisis_patterns.detect(text)
        others = ("self_harm",) if found.about_someone_else("self_harm") else ()
        score = TextScore(
            0.0,
            MappingProxyType({}),
            found.flagged,
            "",
            red_flags=found.kinds,
            about_others=others,
            self_harm_patterns=tuple(
                m.pid for m in found.matches if not m.negated and m.kind == "self_harm"
            ),
        )
        judged = self.judge(text, score, at_s)
        return "self_harm" in score.red_flags and "self_harm" in judged.red_flags

    @staticmethod
    def _farewell_only(score: TextScore) -> bool:
        """The turn's self-harm flag rests on a farewell's words alone (or on the model)."""
        return all(p in FAREWELL_PIDS for p in score.self_harm_patterns)

    def _earlier_words(self, now: TurnCues, kinds: set[Cue]) -> str:
        """The first earlier words of a counted cue of another kind than this turn's, else of
        this turn's other kind."""
        for t in self._turns[:-1]:
            for cue in CUES:
                if cue in kinds and cue in t.cues.words and cue not in now.words:
                    return t.cues.words[cue]
        for t in self._turns[:-1]:
            for cue in CUES:
                if cue in kinds and cue in t.cues.words:
                    return t.cues.words[cue]
        return ""


def _now_words(cues: TurnCues) -> str:
    for cue in ("plan", "burden", "farewell", "hopeless"):
        if cue in cues.words:
            return cues.words[cue]
    return ""


def _short(words: str, limit: int) -> str:
    words = " ".join(words.split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "\u2026"


def _with_self_harm(score: TextScore, earlier: str, now: str) -> TextScore:
    flags = set(score.red_flags) | {"self_harm"}
    flags.discard("safety_check")
    evidence = f"{earlier} \u2026 {now}" if earlier else now
    concerns = dict(score.concerns)
    concerns["crisis"] = max(concerns.get("crisis", 0.0), 0.5)
    return replace(
        score,
        distress=max(score.distress, CRISIS_DISTRESS_FLOOR),
        concerns=MappingProxyType(concerns),
        crisis=True,
        red_flags=tuple(k for k in ("self_harm", "emergency", "safety_check") if k in flags),
        evidence=evidence,
        across_call=True,
    )


def _without_self_harm(score: TextScore) -> TextScore:
    flags = tuple(k for k in score.red_flags if k != "self_harm")
    concerns = dict(score.concerns)
    if "emergency" not in flags:
        concerns["crisis"] = min(concerns.get("crisis", 0.0), 0.49)
    return replace(
        score,
        concerns=MappingProxyType(concerns),
        crisis="emergency" in flags,
        red_flags=flags,
        about_others=tuple(k for k in score.about_others if k != "self_harm"),
    )
