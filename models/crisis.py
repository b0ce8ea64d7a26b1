"""Reviewed crisis phrases and patterns: self-harm, suicidal talk and medical red flags.

Crisis detection never rests on the learned head alone. This list is the first line and is
deliberately biased to recall: a false alarm costs an agent a glance, a miss can cost a
life. The classifier flags crisis when a pattern matches *or* the learned head is confident.

How matching works
------------------
* Text is lower-cased, curly apostrophes straightened, and split into clauses at sentence
  ends, semicolons and contrastive joins (", but", " but ", " although ", " though ",
  " except "), so negation never reaches across "I'm not suicidal, but my chest hurts".
* Each pattern is a regular expression over one clause.
* **Negation.** A match is *negated* when a negation cue ("not", "n't", "never", "no",
  "without", "denies", "nobody said") occurs in the same clause within
  ``NEGATION_WINDOW`` words *before* the match: "I'm not suicidal", "I don't want to hurt
  myself", "I've never thought about killing myself", "no chest pain".
  Negated matches are reported separately and do not count as crisis by themselves.
* **Pseudo-negation** that does not deny anything is ignored as a cue: "can't stop
  (thinking about)", "don't know (if)", "not sure (if)", "no longer", "not anymore",
  "never been so", "never felt so", "not just", "not only". So "I can't stop thinking about
  killing myself" and "I'm not sure I want to live" still flag.
* Patterns whose meaning *contains* the negation ("I don't want to live", "can't
  breathe", "not responding", "can't keep myself safe") are marked ``inherent_negation``
  and skip the negation check; a second, separate negation in front of them is rare enough
  that recall wins.
* Bias to recall: hedges ("I guess I've thought about ending it"), third-party reports
  ("my husband's face is drooping") and past tense of acute events ("I took a whole bottle
  an hour ago") all flag. Only historical *noun* mentions are left out on purpose where they
  are common and not acute ("my son died of an overdose two years ago"; "I'm scared I'll
  have another seizure"), because the pattern needs an acute verb form.

The list was reviewed against ``models/data/concerns.jsonl`` (all crisis rows and all
negation rows) and the unit tests in ``tests/models/test_crisis.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NEGATION_WINDOW = 5

_NEG_CUE = re.compile(
    r"\b(?:not|never|no|without|denies|deny|nor|neither)\b|n't\b|\bcannot\b|\bnothing like\b"
)
# Phrases containing a cue word that do not negate what follows.
_PSEUDO_NEG = re.compile(
    r"\b(?:can't|cannot|couldn't|can not) stop\b|\bdon't know\b|\bdo not know\b|\bnot sure\b"
    r"|\bno longer\b|\bnot anymore\b|\bnever (?:been|felt) so\b|\bnot just\b|\bnot only\b"
    r"|\bno one\b|\bnobody\b|\bno reason\b|\bno point\b|\bno way out\b|\bnot worth\b"
    r"|\bdon't think i can\b|\bdon't see the point\b|\bno hope\b"
)
_CLAUSE_SPLIT = re.compile(
    r"(?<=[.!?;])\s+|\n+|,\s*but\b|\s+but\s+|\s+although\s+|\s+though\s+|\s+except\s+"
)


@dataclass(frozen=True, slots=True)
class CrisisPattern:
    """One reviewed pattern: an id, its category, and the regular expression."""

    pid: str
    category: str
    regex: re.Pattern[str]
    inherent_negation: bool = False


def _p(pid: str, category: str, pattern: str, inherent: bool = False) -> CrisisPattern:
    return CrisisPattern(pid, category, re.compile(pattern), inherent)


_SELF = r"(?:myself|my ?self)"
_PERSON = r"(?:he|she|they|he's|she's|they're|him|her|them|my \w+|mum|mom|dad|the baby)"

PATTERNS: tuple[CrisisPattern, ...] = (
    # --- suicidal talk -------------------------------------------------------------
    _p("suicide_word", "suicidal", r"\bsuicid(?:e|al)\b"),
    _p("kill_self", "suicidal", rf"\bkill(?:ing|ed)? {_SELF}\b"),
    _p("want_to_die", "suicidal", r"\b(?:want|wanna|wanting|going|wish|ready) (?:to )?die\b"),
    _p("want_to_die2", "suicidal", r"\bwant(?:ed)? to be dead\b|\bwish i (?:was|were) dead\b"),
    _p("better_dead", "suicidal", r"\b(?:better off|rather be) dead\b"),
    _p("better_without_me", "suicidal", r"\bbetter off without me\b"),
    _p(
        "end_life",
        "suicidal",
        r"\b(?:end|ending|ended|take|taking|took) (?:my (?:own )?life|it all|things|myself)\b",
    ),
    _p("end_it", "suicidal", r"\b(?:end|ending) it\b(?! (?:with|for) (?:the|my|our|your))"),
    _p(
        "not_want_live",
        "suicidal",
        r"\b(?:don't|do not|didn't) want to (?:live|be alive|be here|go on|wake up|exist)\b",
        inherent=True,
    ),
    _p(
        "no_point_living",
        "suicidal",
        r"\b(?:no|any|see the) (?:point|reason) (?:in |to |of )?(?:living|life|"
        r"live|go on|going on|being alive|be alive|for me to go on)\b",
        inherent=True,
    ),
    _p(
        "unsure_live",
        "suicidal",
        r"\b(?:not sure|don't know if|don't know whether|unsure if) "
        r"(?:i )?(?:want|wanna) to (?:live|be alive|be here|go on|keep going)\b",
        inherent=True,
    ),
    _p(
        "not_worth_living",
        "suicidal",
        r"\b(?:life|it)(?:'s| is)? not worth living\b|"
        r"\blife isn't worth living\b|\bnot worth living\b",
        inherent=True,
    ),
    _p(
        "cant_go_on",
        "suicidal",
        r"\b(?:can't|cannot|can not) (?:go on|do this anymore|take "
        r"(?:it|this) anymore|keep going)\b",
        inherent=True,
    ),
    _p(
        "not_wake_up",
        "suicidal",
        r"\b(?:go to sleep|sleep) and (?:not|never) wake up\b",
        inherent=True,
    ),
    _p(
        "not_be_here",
        "suicidal",
        r"\bnot (?:being |be )?here anymore\b|\bif i wasn't here\b|"
        r"\bif i weren't here\b|\bdisappear (?:forever|for good)\b",
        inherent=True,
    ),
    _p(
        "nobody_notice",
        "suicidal",
        r"\bnobody would (?:even )?(?:notice|care|miss me)\b|"
        r"\bno one would (?:even )?(?:notice|care|miss me)\b",
        inherent=True,
    ),
    _p(
        "goodbye_letters",
        "suicidal",
        r"\b(?:letters?|notes?) (?:to [\w ]{1,30})?saying "
        r"goodbye\b|\bsuicide note\b|\bgoodbye (?:letter|note)s?\b",
    ),
    _p(
        "method",
        "suicidal",
        r"\b(?:jump(?:ing)? (?:off|in front of)|hang(?:ing)? "
        rf"{_SELF}|a rope\b|ways to die|how to die|stockpil\w*)",
    ),
    _p(
        "unsafe",
        "suicidal",
        r"\b(?:can't|cannot|not able to|unable to|don't think i can|"
        rf"not sure i can) keep (?:{_SELF}|me) safe\b|\bnot safe (?:at home )?(?:right now|from "
        rf"{_SELF})|\bmight do something to {_SELF}\b",
        inherent=True,
    ),
    _p(
        "thoughts_of",
        "suicidal",
        r"\bthoughts? (?:of|about) (?:dying|death|ending|suicide|"
        r"killing)\b",
    ),
    # --- self-harm -----------------------------------------------------------------
    _p("self_harm", "self_harm", r"\bself[- ]?harm\w*\b"),
    _p("cut_self", "self_harm", rf"\bcut(?:ting|s)? {_SELF}\b|\bcut (?:my|his|her) wrists?\b"),
    _p("hurt_self", "self_harm", rf"\b(?:hurt|hurting|harm|harming|burn|burning) {_SELF}\b"),
    # --- overdose / poisoning --------------------------------------------------------
    _p(
        "overdose_verb",
        "overdose",
        r"\boverdos(?:ed|ing)\b|\b(?:took|taken|take|had|taking) "
        r"(?:an |a )?overdose\b|\boverdose on\b",
    ),
    _p(
        "too_many_pills",
        "overdose",
        r"\b(?:took|taken|take|taking|swallowed|swallow|had) "
        r"(?:a |an |the )?(?:whole|entire|full|all|too many|lots|a lot|loads|handful|bunch|"
        r"double|two|three|extra)[\w ]{0,30}?(?:pills|tablets|meds|medication|bottle|packet|"
        r"box|insulin|paracetamol|dose|doses)\b",
    ),
    _p(
        "pills_alcohol",
        "overdose",
        r"\b(?:pills|tablets|painkillers|medication|meds)\b"
        r"[\w ]{0,30}\b(?:with|and) (?:a lot of |loads of )?(?:alcohol|vodka|drink|booze)\b",
    ),
    _p("poison", "overdose", r"\b(?:drank|swallowed) (?:bleach|poison|antifreeze)\b"),
    # --- cardiac -------------------------------------------------------------------
    _p(
        "chest_pain",
        "cardiac",
        r"\bchest (?:pain|pains|pressure|tightness)\b|\b(?:pain|"
        r"pressure|tightness|heaviness) in (?:my|his|her|the) chest\b|\bchest (?:feels |is |"
        r"was |getting )?(?:so |really |very )?(?:tight|heavy|crushing)\b|\btight chest\b|"
        r"\bcrushing\b",
    ),
    _p("chest_hurts", "cardiac", r"\bchest (?:hurts|is hurting|really hurts)\b"),
    _p(
        "heart_attack",
        "cardiac",
        r"\b(?:having|had|it's|is|it is|be|like|maybe|might be) a "
        r"heart attack\b|\bcardiac arrest\b",
    ),
    _p(
        "pain_arm_jaw",
        "cardiac",
        r"\bpain[\w ]{0,30}(?:left arm|down (?:my|his|her) arm|"
        r"into (?:my|his|her) jaw)\b",
    ),
    # --- breathing -----------------------------------------------------------------
    _p(
        "cant_breathe",
        "breathing",
        r"\b(?:can't|cannot|can not|couldn't|could not|"
        r"can barely|barely) (?:breathe|breath|get (?:my )?breath|catch (?:my |his |her )?"
        r"breath|get (?:any )?air)\b",
        inherent=True,
    ),
    _p(
        "struggling_breathe",
        "breathing",
        r"\b(?:struggling|fighting|difficulty|trouble|"
        r"hard) (?:to |with |for )?breath(?:e|ing)\b|\bgasping\b|\bshort of breath\b|"
        r"\bbreathless\b",
    ),
    _p(
        "not_breathing",
        "breathing",
        r"\b(?:isn't|is not|not|wasn't|stopped|barely|"
        r"hardly) breathing\b|\bstopped breathing\b",
        inherent=True,
    ),
    _p(
        "blue_lips",
        "breathing",
        r"\b(?:lips|face|skin) (?:are |is |went |turning |going )?"
        r"(?:turning |going )?(?:blue|grey|gray)\b|\b(?:he's|she's|he is|she is) grey\b",
    ),
    _p("choking", "breathing", r"\bchoking\b"),
    _p(
        "throat_closing",
        "anaphylaxis",
        r"\bthroat (?:is )?(?:closing|swelling|tight)\b|"
        r"\banaphyla\w*|\b(?:face|tongue|lips) (?:is |are )?(?:swollen|swelling)\b[\w ,']{0,40}"
        r"breath",
    ),
    _p(
        "inhaler_not_helping",
        "breathing",
        r"\binhaler (?:isn't|is not|not) (?:helping|"
        r"working)\b",
        inherent=True,
    ),
    # --- stroke --------------------------------------------------------------------
    _p(
        "stroke_word",
        "stroke",
        r"\b(?:having|had|has had|is having) a stroke\b|\bstroke "
        r"(?:signs|symptoms)\b|\bthink (?:he|she|i|my \w+) (?:is |are |am |'s )?having a "
        r"stroke\b",
    ),
    _p(
        "face_droop",
        "stroke",
        r"\bface (?:is |has )?(?:drooping|droop|dropped|gone numb|"
        r"numb)\b|\bdrooping\b|\bside of (?:my|his|her) face\b[\w ]{0,20}(?:numb|droop)",
    ),
    _p(
        "slurred",
        "stroke",
        r"\bslurr(?:ed|ing)\b|\bspeech is (?:strange|weird|garbled|"
        r"slurred)\b|\bspeech (?:has gone|went) (?:strange|weird)\b",
    ),
    _p(
        "limb_weak",
        "stroke",
        r"\b(?:can't|cannot|can not|couldn't) (?:suddenly )?(?:move|"
        r"lift|feel) (?:my|his|her|their) (?:right |left )?(?:arm|arms|leg|legs|face|hand|"
        r"side)\b|\b(?:arm|leg|side) (?:is |has gone |went )?(?:weak|numb|limp|dead)\b",
        inherent=True,
    ),
    # --- unresponsive / collapse / seizure -----------------------------------------------
    _p(
        "unresponsive",
        "unresponsive",
        r"\bunconscious\b|\bunresponsive\b|\b(?:not|isn't|is not|wasn't|stopped) responding\b|"
        rf"\b(?:can't|cannot|can not) wake {_PERSON}\b|\bwon't wake up\b|\bnot waking up\b|"
        r"\bnot responding properly\b|\bfloppy\b",
        inherent=True,
    ),
    _p(
        "collapsed",
        "unresponsive",
        r"\bcollapsed\b|\bpassed out\b|\bpass(?:ing)? out\b|"
        r"\bblack(?:ed|ing) out\b|\bfainted\b|\bgoing to faint\b|\bfeel faint\b",
    ),
    _p(
        "seizure",
        "seizure",
        r"\b(?:having|had|is having|'s having) a (?:seizure|fit)\b|"
        r"\bseizure[\w ]{0,20}(?:won't|will not|doesn't|isn't) stop\b|\bconvuls\w+|"
        r"\bfitting\b",
    ),
    # --- bleeding / head injury / other red flags ------------------------------------------
    _p(
        "bleeding",
        "bleeding",
        r"\bbleeding (?:heavily|a lot|badly|everywhere|won't stop|"
        r"that won't stop|really bad)\b|\b(?:a lot|lots|loads) of blood\b|\bcoughing up blood\b|"
        r"\bvomiting blood\b|\bthrowing up blood\b|\bheavy bleeding\b",
    ),
    _p(
        "head_injury",
        "head_injury",
        r"\bhit (?:his|her|my|their) head\b[\w ,']{0,60}"
        r"(?:confused|vomit\w*|sick|drowsy|unconscious|not making sense)\b",
    ),
    _p(
        "thunderclap",
        "stroke",
        r"\bworst headache of (?:my|his|her) life\b|\bthunderclap\b|"
        r"\bsudden\w* (?:severe |agonising |agonizing |awful )?headache\b",
    ),
    _p(
        "sudden_numb",
        "stroke",
        r"\b(?:can't|cannot) feel (?:my|his|her) legs? suddenly\b|"
        r"\bsuddenly (?:can't|cannot) (?:feel|move|see|speak)\b",
        inherent=True,
    ),
)

MAX_SCAN_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class CrisisMatch:
    """One pattern hit: which pattern, the matched words, the clause, and negation."""

    pid: str
    category: str
    phrase: str
    clause: str
    negated: bool
    start: int
    end: int
    # Where the denial begins ("not" in "I'm not suicidal"), for negated matches.
    denial_start: int | None = None


@dataclass(frozen=True, slots=True)
class CrisisResult:
    """All pattern hits in a text; ``flagged`` when at least one is not negated."""

    matches: tuple[CrisisMatch, ...]

    @property
    def flagged(self) -> bool:
        return any(not m.negated for m in self.matches)

    @property
    def negated_only(self) -> bool:
        """Crisis words were present but every one was denied ("I'm not suicidal")."""
        return bool(self.matches) and not self.flagged

    @property
    def phrases(self) -> tuple[str, ...]:
        return tuple(m.phrase for m in self.matches if not m.negated)

    @property
    def categories(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for m in self.matches:
            if not m.negated:
                seen.setdefault(m.category, None)
        return tuple(seen)

    def first(self) -> CrisisMatch | None:
        for m in self.matches:
            if not m.negated:
                return m
        return None


def normalise(text: str) -> str:
    """Lower-case and straighten apostrophes; keeps character offsets unchanged."""
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def clause_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the clauses of ``text``, whitespace-trimmed."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _CLAUSE_SPLIT.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while s < e and text[s] in " \t\r\n,":
            s += 1
        while e > s and text[e - 1] in " \t\r\n,":
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def _negation_cue(clause_lower: str, match_start: int) -> int | None:
    """Start of the negation cue governing a match at ``match_start``, or None."""
    before = clause_lower[:match_start]
    # Blank out pseudo-negations so that their cue words don't count.
    before = _PSEUDO_NEG.sub(lambda m: " " * len(m.group(0)), before)
    words = list(re.finditer(r"[\w']+", before))
    window_start = words[-NEGATION_WINDOW].start() if len(words) >= NEGATION_WINDOW else 0
    cue = _NEG_CUE.search(before, window_start)
    if cue is None:
        return None
    # "n't" belongs to its word ("don't"): the denial starts at the word.
    word = re.search(r"[\w']+$", before[: cue.end()])
    return word.start() if word else cue.start()


def detect(text: str) -> CrisisResult:
    """Run every pattern over every clause of ``text``.

    Texts longer than ``MAX_SCAN_CHARS`` are scanned in their first and last halves of
    that budget, so the cost stays bounded and the newest words are always read.
    """
    if not isinstance(text, str) or not text.strip():
        return CrisisResult(())
    if len(text) <= MAX_SCAN_CHARS:
        return CrisisResult(tuple(_scan(text, 0)))
    # Very long text: scan the beginning and the end (the newest words of a transcript).
    half = MAX_SCAN_CHARS // 2
    tail_at = len(text) - half
    matches = _scan(text[:half], 0) + _scan(text[tail_at:], tail_at)
    return CrisisResult(tuple(matches))


def _scan(original: str, offset: int) -> list[CrisisMatch]:
    lower = normalise(original)
    matches: list[CrisisMatch] = []
    for cs, ce in clause_spans(lower):
        clause = lower[cs:ce]
        taken: list[tuple[int, int]] = []
        for pat in PATTERNS:
            for m in pat.regex.finditer(clause):
                if any(m.start() < e and s < m.end() for s, e in taken):
                    continue
                taken.append((m.start(), m.end()))
                cue = None if pat.inherent_negation else _negation_cue(clause, m.start())
                negated = cue is not None
                matches.append(
                    CrisisMatch(
                        pid=pat.pid,
                        category=pat.category,
                        phrase=original[cs + m.start() : cs + m.end()],
                        clause=original[cs:ce],
                        negated=negated,
                        start=offset + cs + m.start(),
                        end=offset + cs + m.end(),
                        denial_start=None if cue is None else offset + cs + cue,
                    )
                )
    matches.sort(key=lambda m: (m.start, m.end))
    return matches
