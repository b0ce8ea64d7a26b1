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
* **Someone else's self-harm told as background.** The words naming self-harm or suicidal
  thoughts do not escalate when they are a relative's, told with their care ("my daughter's
  under CAMHS for self-harm", "his psychiatrist is treating his suicidal thoughts") and the
  text has no sign of an act now, a threat or plan, or the caller's own risk (see
  ``_told_of_someone_in_care``). An act, a state ("he's suicidal") or anything happening now
  still flags, and the caller's own words in the same call raise their own patterns.
* **Call business told with its reason.** Farewell, finality and plan words escalate unless
  the same clause gives an ordinary, bounded reason right beside them: a span or a return
  ("I won't be around for three weeks", "till Easter"), a named event ("I'm away at my son's
  wedding", "in hospital for three nights"), a day's regimen ("all my morning tablets"), a
  product not swallowed ("the whole box of eye drops"), a practical use for rope ("to tie the
  ladder off"). Any word of finality in the clause keeps the flag, and without the reason
  the same words still escalate ("I won't be around for my next appointment").

The list was reviewed against ``models/data/concerns.jsonl`` (all crisis rows and all
negation rows) and the unit tests in ``tests/models/test_crisis.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

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
    # "don't worry, that won't be a problem for them for much longer" reassures, denies nothing
    r"|\b(?:don't|do not|dont) (?:you )?worry(?=\s*(?:,|\.|that\b|it\b|about (?:that|it)\b|$))"
    r"|\bcan't promise (?:that )?i won't\b|\bnot sure i won't\b|\bdon't know if i won't\b"
    # not needing something denies nothing said after it ("I won't need any more appointments,
    # I'm saying goodbye to everyone today")
    r"|\b(?:won't|will not|shan't) need\b(?! to\b)|\b(?:don't|do not) need\b(?! to\b)"
)
_NEGATION_STOP = re.compile(
    r"[,;:]|\s[-\u2013\u2014]\s"
    # a new statement of the caller's or someone's own after a conjunction ("i cant sleep and
    # i want to die": the "can't" denies only the sleeping)
    r"|\b(?:and|so|because|cos|cause|then|but)\s+(?=(?:i|i'm|i've|i'll|i'd|he|she|they|we)\b)"
)
_CLAUSE_SPLIT = re.compile(
    r"(?<=[.!?;])\s+|\n+|,\s*but\b|\s+but\s+|\s+although\s+|\s+though\s+|\s+except\s+"
)


RedFlag = Literal["self_harm", "emergency", "safety_check"]
# The urgent kinds: each has its own protocol nudge and escalates to the supervisor.
URGENT_FLAGS: tuple[RedFlag, ...] = ("self_harm", "emergency")
RED_FLAGS: tuple[RedFlag, ...] = ("self_harm", "emergency", "safety_check")

# Which red flag each pattern category raises.
KIND_OF_CATEGORY: dict[str, RedFlag] = {
    "suicidal": "self_harm",
    "self_harm": "self_harm",
    "hopelessness": "safety_check",
    "overdose": "emergency",
    "cardiac": "emergency",
    "breathing": "emergency",
    "anaphylaxis": "emergency",
    "stroke": "emergency",
    "unresponsive": "emergency",
    "seizure": "emergency",
    "bleeding": "emergency",
    "head_injury": "emergency",
    "sepsis": "emergency",
}


@dataclass(frozen=True, slots=True)
class CrisisPattern:
    """One reviewed pattern: an id, its category, and the regular expression."""

    pid: str
    category: str
    regex: re.Pattern[str]
    inherent_negation: bool = False

    @property
    def kind(self) -> RedFlag:
        return KIND_OF_CATEGORY[self.category]


def _p(pid: str, category: str, pattern: str, inherent: bool = False) -> CrisisPattern:
    return CrisisPattern(pid, category, re.compile(pattern), inherent)


_SELF = r"(?:myself|my ?self)"
_MEDICINES = (
    r"(?:pills|tablets|meds|medication|medicines|painkillers|morphine|oramorph|insulin"
    r"|sleeping (?:pills|tablets)|antidepressants|paracetamol|co-?codamol|codeine|diazepam"
    r"|opioids)"
)
# Medicines by name that callers take too many of (the self-poisoning patterns).
_NAMED_DRUGS = (
    r"(?:sertraline|citalopram|escitalopram|lexapro|fluoxetine|prozac|paroxetine|venlafaxine"
    r"|mirtazapine|amitriptyline|nortriptyline|dosulepin|trazodone|duloxetine|quetiapine"
    r"|olanzapine|lithium|lamotrigine|pregabalin|gabapentin|zopiclone|zolpidem|diazepam"
    r"|lorazepam|temazepam|propranolol|tramadol|dihydrocodeine|codeine|co-?codamol|paracetamol"
    r"|tylenol|acetaminophen|ibuprofen|aspirin|naproxen|morphine|oramorph|oxycodone|fentanyl"
    r"|methadone|insulin|metformin|warfarin|digoxin|amlodipine|iron tablets)"
)
# Trailing words that make "not wake up" a night's sleep ("not wake up at 4am", "in pain").
_WAKE_CONTEXT = (
    r"(?:in|at|when|with|during|before|until|till|early|so|because|from|every|for)"
)
# What a caller is put up with for, that is no burden ("put up with me ringing every day").
_NAGGING = r"(?:ringing|calling|phoning|moaning|complaining|asking|chasing|nagging)"
# A count of tablets large enough to be an overdose said as a number (twelve or more).
_AMOUNT = (
    r"(?:twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty"
    r"|thirty|forty|fifty|sixty|seventy|eighty|ninety|a hundred|1[2-9]|[2-9]\d|\d{3})"
    r"(?:[ -](?:one|two|three|four|five|six|seven|eight|nine))?"
)
# What makes keeping medicines a stockpile: time, hiding or amount.
_HOARD_CUE = (
    r"(?:for (?:weeks|months|a while|ages)|since (?:january|february|march|april|may|june|july"
    r"|august|september|october|november|december|christmas|the funeral|\w+ died)"
    r"|(?:weeks|months)' worth|in (?:a|the|my) (?:drawer|wardrobe|cupboard|box|tin)"
    r"|nobody knows|no one knows|enough|picked|chosen"
    r"|(?:when|once) (?:he|she|they) (?:goes|go|dies|die|passes|pass))"
)
# The caller telling of someone else's intent ("he says", "she keeps saying", "texted"), or the
# intent itself ("going to", "threatening to", "tried to"), in front of their words.
_TELLS_OR_MEANS = (
    r"(?:says?|said|saying|told (?:me|us|her|him)|tells (?:me|us)|keeps? (?:saying|talking)"
    r"|threaten\w* to|wants? to|wanted to|going to|gonna|about to|tried to|trying to"
    r"|attempted to|planning to|plans to|talk(?:s|ed|ing)? about|texted|messaged)"
)
# A word between them that is not a denial ("she says she's not thinking of hurting herself").
_UNDENIED = r"(?:(?!\b(?:not|never|no)\b|n't)[\w ,'])"
_PERSON = r"(?:he|she|they|he's|she's|they're|him|her|them|my \w+|mum|mom|dad|the baby)"

# The caller as the one who took it ("I took", "i um i had", "I've had", "I got into").
_I_DID = (
    r"(?:\b(?:i|i've|i have|i'd|i had|id|ive)\b (?:[\w']+ ){0,2}?"
    r"(?:(?:drank|had|downed) [\w ,']{0,40}? (?:and|then) )?"
    # or the clause starts with the taking, as speech often does ("took all of my venlafaxine")
    r"|^(?:(?:um|uh|so|and|yeah|well|like|just|then) )*)"
)
# A job, a game, a repair or a rescue that explains a broken rope, a hose at a window, a
# blade or a dip in the water (``attempt_by_means``).
_MEANS_ORDINARY = (
    r"\b(?:to pull|swing|hammock|tow\w*|washing|branch|ladder|pulley|climb\w*|tarp|tent|boat"
    r"|(?:get|fetch|after|save|saving|getting) (?:the|my|our) dog|lead|kids?|children"
    r"|blind|curtain|shelf|aerial|mechanic|garage man|test\w*|leak\w*"
    r"|mot|repair\w*|fix(?:ing)? (?:it|the)|cool (?:off|down)|dip|swim\w*|paddl\w*|rip|riptide"
    r"|currents?|cramp|caught|kayak\w*|canoe\w*|fishing|fetch|rescu\w*|fell|slipped|at work"
    r"|lifting|accident\w*|stanley|chopping|cooking|kitchen|diy|shaving)\b"
)

_MEANS_ORDINARY_RE = re.compile(_MEANS_ORDINARY)
# Household poisons drunk ("some of the bleach", "a few mouthfuls of antifreeze"): the
# emergency (``poison``) and, said by the caller, self-harm (``attempt_by_means``).
_CORROSIVES = r"(?:bleach|antifreeze|weedkiller|rat poison|drain cleaner|white spirit)"
_SIP_OF = (
    r"(?:some |a bit of |a few (?:mouthfuls|sips|gulps) of |a (?:cup|glass|mouthful|bottle) of )?"
    r"(?:some of )?(?:the )?"
)
# A month's or weeks' supply ("two months of my sertraline", "a month's worth of my lithium").
_MONTHS_OF = (
    r"(?:like |about |nearly )?(?:two|three|four|six|\d+|a whole|several|a) (?:months?|weeks?)"
    rf"(?:'s|')?(?: worth)? of (?:my|the|his|her) (?:[\w']+ )?(?:{_MEDICINES}|{_NAMED_DRUGS})\b"
)

PATTERNS: tuple[CrisisPattern, ...] = (
    # --- suicidal talk -------------------------------------------------------------
    _p("suicide_word", "suicidal", r"\bsuicid(?:e|al)\b"),
    # "I've been killing myself at the gym", "killing myself getting the house ready", "with
    # this diet" are effort, not intent
    _p(
        "kill_self",
        "suicidal",
        rf"\bkill(?:ed)? {_SELF}\b(?! at (?:the )?(?:gym|work|office)\b)"
        rf"|\bkilling {_SELF}\b(?! (?:at (?:the )?(?:gym|work|office)|getting(?! it over)|cleaning"
        r"|revising|training|with (?:this|the|that|my) (?:diet|job|work|training|revision"
        r"|exercise|overtime))\b)",
    ),
    # "going to die" is left out on purpose: "I'm scared I'm going to die from this" is fear
    # of an illness, not intent. Idioms ("want to die of embarrassment") are excluded.
    _p(
        "want_to_die",
        "suicidal",
        r"\b(?:want|wanna|wanting|wanted|wish|ready|deserve) (?:to )?die\b"
        r"(?! (?:of|from) (?:embarrassment|shame|boredom|laughing|laughter))",
    ),
    _p("want_to_die2", "suicidal", r"\bwant(?:ed)? to be dead\b|\bwish i (?:was|were) dead\b"),
    _p(
        "better_dead",
        "suicidal",
        r"\bbetter off dead\b|\b(?:i'd|i would) rather be dead\b(?! than)",
    ),
    _p(
        "better_without_me",
        "suicidal",
        r"\b(?:better off|happier|be fine|be free|be easier|manage fine) without me\b"
        r"|\bbetter off (?:if|once|when) i(?:'m| am)? (?:was |were |am )?(?:gone|not here|"
        r"not around)\b|\b(?:free|rid) of me (?:soon|for good|forever|after)\b"
        r"|\bwon't (?:have to )?(?:worry|deal) (?:about|with) me (?:anymore|much longer|soon|"
        r"after)\b|\bstop being a (?:burden|weight|problem)\b.{0,30}\b(?:soon|for good|tonight)",
    ),
    _p(
        "end_life",
        "suicidal",
        r"\b(?:end|ending|ended) (?:my (?:own )?life|it all|myself)\b"
        r"|\b(?:end|ending) things\b(?! (?:with|between))"
        r"|\b(?:take|taking|took) my (?:own )?life\b",
    ),
    _p("end_it", "suicidal", r"\b(?:end|ending) it\b(?! (?:with|for|between|early|there))"),
    # Someone else's threat or attempt, told by the caller ("my husband says he's going to
    # kill himself tonight", "she tried to end her life last night"): a life at risk now, so it
    # escalates like the caller's own words. It needs the telling or the intent in front
    # ("says", "threatening to", "going to", "tried to"), because bare "killed himself" is a
    # bereavement, and effort, accidents and hyperbole ("he'll kill himself on that ladder",
    # "killing herself at work", "kill himself laughing", "if he keeps this up") are left out.
    _p(
        "other_kill_self",
        "suicidal",
        rf"\b{_TELLS_OR_MEANS}\b{_UNDENIED}{{0,30}}?"
        r"\b(?:kill|hang|hurt|harm|shoot)(?:ing)? (?:(?:me|us|the kids|the children|the baby)"
        r" (?:and|then) (?:then )?)?(?:him|her|them)sel(?:f|ves)\b"
        r"(?! (?:laughing|at (?:the )?(?:gym|work|office)|working|with work|doing|driving"
        r"|lifting|carrying|running|on (?:that|the|those|his|her|their) (?:ladder|roof|bike"
        r"|motorbike|scooter|horse|trampoline|stairs|skateboard)|if (?:he|she|they) (?:keeps?"
        r"|carr\w+ on))\b)"
        rf"|\b{_TELLS_OR_MEANS}\b{_UNDENIED}{{0,20}}?\bend(?:ing)? (?:his|her|their)"
        r" (?:own )?li(?:fe|ves)\b",
    ),
    # Someone else's wish to die or self-harm told as it is ("my brother wants to die", "my
    # mum has been cutting herself again"). Where and how one wishes to die at the end of an
    # illness ("she wants to die at home"), shaving, cooking and accidents are not it; their
    # care and their history are explained away like "self-harm" said of them
    # (``_THIRD_PARTY_SENSITIVE``).
    _p(
        "other_self_harm",
        "self_harm",
        r"\bwants to (?:die|be dead)\b(?! (?:at home|in (?:the |a )?(?:hospice|hospital|bed"
        r"|peace|(?:his|her|their) (?:sleep|own bed))|peacefully|comfortably|naturally|with dignity"
        r"|surrounded|of (?:old age|natural causes))\b)"
        r"|\b(?:cutting|harming) (?:him|her|them)sel(?:f|ves)\b(?! (?:off|out|in|some"
        r"|a (?:slice|piece|bit)|shaving|by accident|accidentally|chopping|in the kitchen"
        r"|cooking|on (?:a|the) (?:tin|can|glass|paper|lid))\b)",
    ),
    _p(
        "not_want_live",
        "suicidal",
        r"\b(?:don't|do not|didn't) want to (?:live|be alive|be here|exist|wake up)\b"
        r"(?! (?:in|with|like|at|on|near|where|for|on my own|alone|(?:no |any )?(?:more|longer)"
        r" than))",
        inherent=True,
    ),
    _p(
        "no_point_living",
        "suicidal",
        r"\b(?:no|any|see the) (?:point|reason) (?:in |to |of )?(?:me )?(?:living|life|"
        r"live|being alive|be alive|for me to go on|staying alive|carrying on living)\b",
        inherent=True,
    ),
    _p(
        "unsure_live",
        "suicidal",
        r"\b(?:not sure|don't know if|don't know whether|unsure if) "
        r"(?:i )?(?:want|wanna) to (?:live|be alive|be here)\b",
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
        "not_wake_up",
        "suicidal",
        r"\b(?:go to sleep|sleep|fall asleep) and (?:not|never) wake up\b"
        r"|\bhope i (?:don't|do not|never) wake up\b",
        inherent=True,
    ),
    _p(
        "not_be_here",
        "suicidal",
        r"\bnot (?:being |be )?(?:here|around) (?:anymore|much longer|tomorrow|after tonight)\b"
        r"|\bif i wasn't here\b|\bif i weren't here\b|\bdisappear (?:forever|for good)\b"
        r"|\bwon't be (?:here|around) (?:tomorrow|much longer|after tonight|by (?:the )?morning"
        r"|for (?:much|very) longer|to see)\b",
        inherent=True,
    ),
    _p(
        "nobody_miss",
        "suicidal",
        r"\b(?:nobody|no one|no-one) would (?:even )?(?:notice|miss me|care if i (?:was|were)"
        r" (?:gone|dead))\b",
        inherent=True,
    ),
    _p(
        "goodbye_letters",
        "suicidal",
        r"\b(?:letters?|notes?|messages?) (?:to [\w ]{1,30})?saying goodbye\b|\bsuicide note\b"
        r"|\bgoodbye (?:letter|note|message)s?\b|\bsaid (?:my )?goodbyes?\b"
        r"|\b(?:written|wrote|left) (?:a |my )?(?:letters?|notes?) (?:for|to) (?:each of )?"
        r"(?:my|the|everyone)"
        r"|\bgiv(?:en|e|ing) (?:away )?(?:all )?(?:my|the) (?:things|stuff|belongings|dog|cat|"
        r"jewellery|jewelry) away\b|\bgiven away\b[\w ]{0,20}\b(?:things|stuff|belongings)\b"
        r"|\bwon't be calling (?:again|back)\b"
        # "the last time you'll hear from me about the hearing clinic": a topic closed
        r"|\b(?:last|final) time you'll hear from me\b(?! about the\b)"
        r"|\bwon't hear from me again\b|\b(?:me|i'm|i am) signing off for good\b(?! (?:from|on)\b)",
    ),
    # Intent said obliquely (issue 9, eleventh round, from the blind probe's misses): being
    # worth more dead, not being here for another winter, going before an illness takes one,
    # not staying on alone in this world.
    _p(
        "oblique_intent",
        "suicidal",
        r"\b(?:i'm|i am|i'd be|i would be|i'll be|i will be) worth more (?:to (?:them|him|her"
        r"|everyone|everybody|them all|my \w+|the \w+) )?(?:dead|gone) (?:than (?:alive|here"
        r"|living)|to (?:them|him|her|everyone|my \w+))\b"
        r"|\b(?:i'll|i will) not (?:be )?(?:here|around) for another (?:winter|christmas|year"
        r"|birthday|summer|spring|one\b(?! of))"
        r"|(?:^|\bi )(?:won't|will not) (?:be (?:here|around) for|see) another (?:winter|christmas"
        r"|birthday)\b"
        r"|\b(?:i'll|i will|i'm going to|i intend to|i'd rather|i would rather|i want to) (?:go|die"
        r"|check out) before (?:it|this|the (?:cancer|dementia|disease|illness|mnd|tumour|pain"
        r"|parkinson's|alzheimer's|condition)) (?:gets|takes) me\b"
        r"|\b(?:die|check out|end it) on my own terms\b"
        r"|\b(?:i'm|i am) not (?:sticking|hanging) (?:around|about) (?:for what(?:'s| is)? (?:comes"
        r"|coming)|to see what comes|(?:any|much) longer(?! (?:in|at|for|with|on) (?:this|that|the"
        r"|my|a|these|those)\b)|in this world|down here|on (?:me|my) own)\b",
    ),
    _p(
        "method",
        "suicidal",
        rf"\b(?:jump(?:ing)? (?:off|in front of)|hang(?:ing)? {_SELF}|ways to die|how to die"
        r"|stockpil\w* (?:my |the |all )?(?:pills|tablets|meds|medication|painkillers|"
        r"insulin|sleeping)|(?:saved|saving|collected|collecting|hoarded|hoarding|kept|keeping) "
        r"(?:up )?(?:all )?(?:my |the |these )?(?:pills|tablets|meds|painkillers|sleeping pills"
        r"|sleeping tablets)\b[\w ,']{0,40}\b(?:tonight|enough|all at once|for when|for the end)"
        r"|(?:bought|got|have|found) (?:a |the |some |another )?(?:rope(?! burns?\b)|gun|shotgun"
        r"|rifle|noose)\b"
        r"|(?:standing|sitting|stood|up) on (?:the |a )?(?:edge|ledge|bridge|roof|railing)s?\b"
        r"|(?:hose|hosepipe|pipe) (?:to|on|from) the (?:exhaust|car)|engine running in the"
        r" garage)",
    ),
    # Stockpiling: medicines saved up, kept back or hidden over time, or enough of them. The
    # time, the hiding or the amount must be said ("for weeks", "since March", "a month of my
    # morphine", "in the drawer", "nobody knows", "enough"); medicines kept to return or for a
    # named ordinary reason are explained away in ``_scan`` (``_STOCK_REASON``).
    _p(
        "stockpile",
        "self_harm",
        r"\b(?:sav(?:ed|ing)|hoard(?:ed|ing)|collect(?:ed|ing)|stash(?:ed|ing)|hid(?:den|ing)?"
        r"|kept back|keeping back|been keeping)(?: up)? (?:(?P<span>(?:a|one|two|three|four"
        r"|six|several|a few|a couple of) (?:weeks?|months?)(?:'s?|')? (?:worth )?(?:of )?)"
        r"|[\w']+ ){0,4}?"
        r"(?:my|his|her|the|all)? ?(?:liquid |old |spare )?"
        rf"{_MEDICINES}\b(?(span)|(?: up)?[\w ,']{{0,40}}?\b{_HOARD_CUE}\b)",
    ),
    # Asking what would be lethal: how many, how much, which ("how many of my amitriptyline
    # would it take so I didn't wake up", "would forty paracetamol definitely do it", "what
    # amount of insulin would stop someone's heart", "the dose that would do it"). A question
    # about a safe dose ("how much is too much with paracetamol") is not one.
    _p(
        "lethality",
        "self_harm",
        r"\b(?:how (?:many|much)|what (?:amount|dose|number)|which (?:tablets|pills|ones|meds))\b"
        r"[\w ,']{0,60}?\b(?:would|will|it'd|it would|does it|it)\b[\w ,']{0,12}?"
        r"\b(?:take (?:so|for) (?:i|me|you|someone|a person) (?:didn't|don't|won't|wouldn't"
        r"|never) wake|take to (?:die\b(?! (?:my|your|her|his|the|it)\b)|not wake|end it"
        r"|kill (?:me|myself|someone|a person"
        r"|you))"
        r"|kill (?:me|myself|someone|a person|you|an adult)"
        r"|stop (?:my|someone's|your|a|the) heart"
        r"|do it (?:quick|quickest|quickly|painlessly|properly)"
        r"|be (?:fatal|lethal|enough to (?:die|not wake|stop my heart|end it"
        r"|kill (?:me|myself))))\b"
        r"|\b(?:would|will)(?: \w+){0,3} (?:definitely |actually |really )?do it\b"
        r"(?=[\w ,']{0,40}(?:end up in hospital|quick|painless|properly))"
        r"|\b(?:dose|amount) that would do it\b"
        # the same asked of someone, or of "you": "if someone took all their diazepam with
        # whisky, would that be enough", "how long would it take after swallowing the lot"
        r"|\bif (?:someone|somebody|you|i|a person) (?:took|take|swallowed|had) (?:all|the lot"
        r"|a whole|every)\b[\w ,']{0,60}?\b(?:would (?:that|it|they|you) (?:be quick|be fatal"
        r"|be lethal|die)|would it be quick)\b"
        # "would that be enough" only of a medicine, and not enough to last
        r"|\bif (?:someone|somebody|you|i|a person) (?:took|take|swallowed|had) (?:all|the lot"
        rf"|a whole|every)\b[\w ,']{{0,40}}?\b(?:{_MEDICINES}|\w+(?:pine|pam|lam|line|ol|one|ide))"
        r"\b[\w ,']{0,40}?\bwould (?:that|it) be enough\b(?! to (?:last|cover|get|see|keep|help))"
        r"|\bhow long would it take (?:after|once|if) (?:i |you |someone )?(?:swallow\w* (?:the lot"
        r"|them all|all (?:of )?(?:them|my|your|their))|tak\w+ the lot)",
    ),
    _p(
        "when_found",
        "self_harm",
        r"\b(?:when|before|after|so|once|until) (?:they|someone|somebody|anyone|he|she|the \w+"
        r"|my \w+) (?:finds?|found|find) me\b"
        r"|\b(?:no one|nobody|no-one) (?:will|would|can|could) (?:ever )?find me\b"
        r"|\bneeds? to find me\b"
        r"|\b(?:don't|do not|dont) want (?:her|him|them|anyone|the kids|my \w+) (?:to )?"
        r"(?:walk(?:ing)? in on it|find(?:ing)? me)\b",
    ),
    # Stopping what keeps one alive on purpose, to die ("I've stopped my insulin on purpose so
    # it'll be over sooner", "skipping my dialysis on purpose so it'll all stop").
    _p(
        "stopped_on_purpose",
        "self_harm",
        r"\b(?:stopped|stopping|skipping|skipped|refusing|refused|not taking|quit)\b"
        r"[\w ,']{0,40}\b(?:on purpose|deliberately|intentionally)\b[\w ,']{0,12}\bso (?:that )?"
        r"(?:it(?:'ll| will) (?:all )?(?:be over|stop|end)(?! (?:the|my|this|that|these|those)\b)"
        r"|something happens"
        r"|i can (?:just )?(?:fade|slip|go)|i (?:die|don't wake|won't wake|can go))",
    ),
    _p(
        "take_them_all",
        "suicidal",
        r"\b(?:going to|gonna|about to|will|i'll|plan to|planning to) (?:take|swallow) "
        r"(?:them all|all of them|the (?:whole|lot|entire)|all (?:of )?(?:my|the|these) "
        r"(?:pills|tablets|meds))"
        # said as what is arranged ("after that I'm taking them all", "I'm swallowing the
        # whole lot", "I'll have it all that night"); not carried, handed back or sorted
        r"|\b(?:i'm|i am|i'll be|i will be) (?:swallowing|necking|downing) (?:them all|all"
        r" of them|the (?:whole )?lot|every (?:last )?one)\b(?! back\b)"
        r"|\b(?:i'm|i am|i'll be|i will be) taking (?:them all|all of them|the (?:whole )?lot"
        r"|every (?:last )?one(?: of them)?)(?= ?(?:$|[,.!?]|tonight|tomorrow|later|today|this"
        r" (?:evening|afternoon|weekend)|on \w+day|when|once|after|then|at once|in one go|together"
        r" (?:tonight|later|with (?:a|some|the) (?:drink|bottle|vodka|wine|whisky))|with (?:a |some"
        r" |the )?(?:drink|bottle|vodka|wine|whisky|alcohol|booze|cans)))"
        r"|\b(?:i'll|i will|i'm going to|i am going to|gonna) (?:have|down|neck) (?:it all|them all"
        r"|the (?:whole )?lot) (?:that night|tonight|at once|in one go|together)\b",
    ),
    # Stopping what keeps one alive, with an end in view ("I've stopped my insulin, I'm type
    # one, I know exactly where that goes", "I've missed my last two dialysis sessions and I'm
    # not going back, that's the way out"). Without such words it is treatment business (a
    # pump instead of pens, transport that never came): ``_lifeline_stopped_for_good``.
    _p(
        "lifeline_stopped",
        "self_harm",
        r"(?:^|\bi(?:'ve| have|'m| am)? (?:just |now |already |\w+ly )?)(?:stopped|stopping|binned"
        r"|thrown away|threw away|not been taking|haven't been taking|not taking|skipped|skipping"
        r"|missed|given up|not injected|haven't injected|stopped attending|not gone to|quit"
        r"|refusing|refused|not doing)(?: (?:going to|having|taking|doing|attending|with|on))?"
        r" (?:(?:my|all my|the|all the|any more|any) )?(?:(?!\w+'s\b)\w+ ){0,4}(?:insulin|dialysis"
        r"|haemodialysis|hemodialysis|pens|injections)\b",
    ),
    # --- issue 9, twelfth round: risk the shipped system missed in a blind probe ----------
    # (``crisis_train_blind12.jsonl``, scored once before these were written; a review's
    # defects fixed: ``ROUND_12`` in tests/models/test_crisis.py)
    # A supply swallowed by the caller, told with the medicine first and the amount after it
    # ("took all my zopiclone, the whole packet", "swallowed all the sleepers the doctor gave
    # me, twenty-eight", "had all the painkillers in the drawer", "two months of my
    # antidepressants in one go", patches put on all at once, far more insulin than told):
    # self-poisoning, explained away as ``self_poisoning`` is (an accident, a regimen, tablets
    # taken as told, counted over days).
    _p(
        "supply_swallowed",
        "self_harm",
        rf"{_I_DID}(?:took|taken|swallowed|necked|downed|got into)\b"
        rf"[\w ,'-]{{0,40}}?\b(?:{_MEDICINES}|{_NAMED_DRUGS}|sleepers|heart pills)\b"
        r"[\w ,'-]{0,40}?(?:\bthe whole (?:packet|box|bottle|strip|tub|supply)\b"
        r"|\ball of (?:them|it)\b|\bevery (?:last )?one\b|\b(?:took|taken) the lot\b"
        rf"|\b(?:about |around |like |maybe |nearly |over |at least )?{_AMOUNT}"
        rf"(?: (?:to|or) {_AMOUNT})?\b"
        r"(?! (?:mg|milligrams?|ml|mls|mcg|micrograms?|units?|minutes?|mins?|hours?|days?"
        r"|weeks?|months?|years?|percent|puffs?)\b))"
        rf"|{_I_DID}(?:took|taken|swallowed|had|necked|downed)\b[\w ,'-]{{0,40}}?\b(?:all"
        r"|everything|the rest) (?:of )?(?:the|my|his|her) (?:[\w']+ ){0,3}?"
        rf"(?:{_MEDICINES}|{_NAMED_DRUGS}|sleepers|heart pills)\b[\w ']{{0,20}}?"
        r"\b(?:(?:that |which )?(?:i|i'd) (?:had|got|saved|kept)(?: left| saved)?"
        r"|(?:that|which) (?:was|were) left|in the (?:drawer|cupboard|house|bathroom|cabinet)"
        r"|the doctor gave me)\b"
        rf"|{_I_DID}(?:took|taken|swallowed|necked|downed)\b (?:[\w']+ ){{0,3}}?(?:two|three"
        r"|four|five|six|several|a couple of|\d+) (?:packets|boxes|strips|packs|tubs) of\b"
        rf"|{_I_DID}(?:took|taken|swallowed|necked|downed)\b {_MONTHS_OF}"
        rf"|{_I_DID}had\b {_MONTHS_OF}(?=[\w ,']{{0,30}}\b(?:in one go|at once"
        r"|all at once|at the same time)\b)"
        rf"|{_I_DID}(?:swallowed|took|taken) everything (?:i|i'd) (?:had|got|saved)(?: left)?"
        rf"(?=[\w ,']{{0,40}}\b(?:{_AMOUNT}|all) of (?:them|it)\b)"
        rf"|{_I_DID}(?:put|stuck|had|used)\b (?:on )?(?:all|three|four|five|six|seven|eight"
        r"|nine|ten|[3-9]|\d\d) (?:of )?(?:my |the )?(?:[\w']+ )?patches\b"
        r"(?: on\b(?! (?:the|a|my) (?:chart|fridge|calendar|list))| (?:on )?at (?:once"
        r"|the same time)\b)"
        rf"|{_I_DID}(?:injected|put in|did|gave myself)\b (?:(?:far|way|loads|a lot|much) more"
        r" (?:of )?(?:my |the )?(?:insulin|novorapid|humalog|fiasp|lantus|levemir|tresiba"
        r"|toujeo)\b|(?:all of|the rest of|the whole) (?:my |the )?(?:insulin|pen|cartridge)\b"
        r"(?=[\w ,']{0,20}\b(?:in one go|at once|all at once|deliberately|on purpose)\b))",
        inherent=True,
    ),
    # An attempt told by its means, with no word of why: a ligature that broke, a hose from
    # the exhaust, walking into the sea until pulled out, a blade to the arm, bleach drunk.
    # Not a job, a game or a rescue (``_MEANS_ORDINARY``, read over the clause).
    _p(
        "attempt_by_means",
        "self_harm",
        rf"(?!.*{_MEANS_ORDINARY})"
        r"(?:\b(?:tried|tied|put|hung|fixed|strung)\b[\w ,']{0,40}?\b(?:belt|rope|cord|scarf"
        r"|ligature|noose)\b[\w ,']{0,30}?\b(?:loft|hatch|banisters?|bannisters?|beam|hook|door"
        r"|garage|tree|rail|stairs)\b[\w ,']{0,30}?\b(?:broke|snapped|gave way|came down"
        r"|didn't hold|came off|came loose)\b"
        r"|\bi (?:[\w']+ ){0,3}?(?:sat|put|ran|had|fed|stuck)\b[\w ,']{0,30}?\b(?:hose|hosepipe"
        r"|pipe|tube|exhaust)\b[\w ,']{0,30}?\b(?:through|into|in) the (?:car )?window\b"
        r"|\bi (?:[\w']+ ){0,3}?(?:walked|waded|went|got) (?:out )?(?:in|into) the (?:sea|water"
        r"|river|lake|canal|loch)\b[\w ,']{0,60}?\b(?:on purpose|deliberately|kept (?:on )?walking"
        r"|(?:pulled|dragged|fished|got) me (?:out|back))\b"
        r"|\b(?:did|done) something to my (?:arms?|wrists?|legs?|thighs?|neck)\b"
        r"[\w ,']{0,40}?\b(?:blade|razor)\b"
        r"|\bi (?:[\w']+ )?cut my (?:arms?|wrists?|legs?|thighs?) with (?:a |the |my )?(?:blade"
        r"|razor)\b"
        rf"|\bi(?:'ve| have)? (?:just )?(?:drank|drunk|swallowed) {_SIP_OF}{_CORROSIVES}\b)",
        inherent=True,
    ),
    # Intent said as a question of how much it would take, a step in front of a train, or a
    # decision with help turned away ("how many of my co-codamol would it take for someone not
    # to wake up", "the decision's made, I know what I'm doing and when, don't send anyone").
    _p(
        "intent_oblique_means",
        "suicidal",
        r"\bhow (?:many|much)\b[\w ,'-]{0,40}?\bwould it take\b[\w ,'-]{0,30}?\b(?:(?:to |for "
        r"(?:me|someone|somebody|a person) to )?(?:not (?:to )?wake(?: up)?\b(?! (?:so|as|in|at"
        r"|with|feeling|early|every|until|till|before)\b)|never wake|die\b(?! (?:my|your|her"
        r"|his|the|it)\b)|kill (?:me|myself|someone|a person)|not come round)|be (?:fatal"
        r"|lethal)|for good|stop (?:your|my|the) (?:liver|heart|breathing))"
        r"|\bif i (?:took|take|injected|had|swallowed) (?:all|the whole|the lot|every)\b"
        r"(?![\w ,'-]{0,60}\binstead\b)[\w ,'-]{0,60}?\b(?:would|will|could) i (?:[\w']+ ){0,4}?"
        r"(?:not wake(?: up)?\b(?! (?:so|as|in|at|with|feeling|early|groggy|tired)\b)|never wake"
        r"|not come round|die\b|not be here)"
        r"|\bnearly (?:did it|went through with it)\b(?! (?:wrong|again|right|by mistake))"
        r"[\w ,']{0,80}?\b(?:i (?:think i )?will (?:do it )?tonight|i'll do it|do it tonight)\b"
        r"|\b(?:express|train|freight|tracks)\b[\w ,']{0,60}?\b(?:keep thinking|thinking|think"
        r"|tempted|want|wanting)\b[\w ,']{0,20}?\b(?:just )?one step\b"
        r"|(?!.*\b(?:private|appointment|assessment|nurse|physio|referral|operation|surgery"
        r"|round)\b)\b(?:decision'?s made|decision is made|made my decision|made up my mind)\b"
        r"[\w ,']{0,80}?\b(?:don't|do not|dont) (?:send|call|ring) (?:anyone|anybody"
        r"|an ambulance|the police|someone)\b",
        inherent=True,
    ),
    # Freeing someone of blame, in a message left for them ("tell her that her mum loved her
    # and none of this was her fault", "make sure she knows that whatever happens, it isn't
    # down to her"); only with words of a parting in the text (``_PARTING_CUE``): an apology
    # for staff ("tell the nurse it wasn't her fault the appointment was missed") is not.
    _p(
        "farewell_blame",
        "suicidal",
        r"\b(?:tell|let|make sure|pass (?:it )?on)\b[\w ,']{0,80}?\b(?:(?:wasn't|was not"
        r"|isn't|is not|it's not|its not|not) (?:her|his|their|your) fault"
        r"|(?:wasn't|was not|isn't|is not|it's not|its not|not) anything (?:she|he|they|you) did"
        r"|none of (?:this|it|that) (?:was|is) (?:her|his|their|your) fault"
        r"|not to blame (?:her|him|them|your)sel\w+|nobody'?s fault|(?:isn't|wasn't|is not"
        r"|not) down to (?:her|him|them|you))",
    ),
    _p(
        "decided_tonight",
        "suicidal",
        r"\b(?:i've|i have|i'd|i had) (?:decided|made up my mind|made my decision|made my peace)"
        r"\b[\w ,']{0,40}\b(?:tonight|tomorrow|this weekend|when|after|it's time|enough)\b",
    ),
    _p(
        "tried_last_night",
        "suicidal",
        r"\btried to (?:do it|end it|go through with it|take (?:them|my pills|all)|hang|drown|"
        r"overdose|jump)\b",
    ),
    _p(
        "unsafe",
        "suicidal",
        r"\b(?:can't|cannot|not able to|unable to|don't think i can|"
        rf"not sure i can) keep (?:{_SELF}|me) safe\b|\bnot safe (?:at home )?(?:right now|from "
        rf"{_SELF})|\bmight do something to {_SELF}\b|\bdo something stupid\b",
        inherent=True,
    ),
    _p(
        "thoughts_of",
        "suicidal",
        r"\bthoughts? (?:of|about) (?:dying|death|ending|suicide|killing|not being here)\b",
    ),
    # --- hopelessness: ambiguous, a gentle safety question, no escalation --------------
    _p(
        "cant_go_on",
        "hopelessness",
        r"\b(?:can't|cannot|can not) (?:go on|do this anymore|take (?:it|this) anymore|"
        r"keep going|carry on)\b",
        inherent=True,
    ),
    _p(
        "whats_the_point",
        "hopelessness",
        r"\bwhat(?:'s| is) the point(?:$|[.?!]| (?:anymore|any more|of anything|of it all|of "
        r"(?:going on|carrying on|trying|getting up|living|me|my life|life|bothering)|in "
        r"(?:anything|trying|going on|carrying on))\b)"
        r"|\bno point (?:anymore|any more|in anything|to anything)\b"
        # "there's no point going on", "no point in me being here anymore"
        r"|\bno point (?:in )?(?:going on|carrying on|me (?:being here|going on|carrying on))\b"
        r"(?! (?:with|at|to|for|in|till|until)\b)"
        r"|\bwhy (?:do|should) i (?:even )?bother\b(?! (?:calling|ringing|phoning|asking))",
        inherent=True,
    ),
    _p(
        "tired_of_everything",
        "hopelessness",
        r"\b(?:so |just |really )?tired of (?:it all|everything|all of (?:it|this)|living|life"
        r"|fighting|being alive)\b|\bwant (?:it all|everything) to (?:just )?stop\b"
        r"|\b(?:no|lost all) hope\b|\bhopeless\b|\bgive up on (?:everything|life)\b"
        r"|\bnobody would (?:even )?care\b|\bno one would (?:even )?care\b"
        r"|\b(?:i'm|i am) (?:such |just )?a (?:burden|weight) (?:on|to)\b",
        inherent=True,
    ),
    _p(
        "worn_out_by_life",
        "hopelessness",
        r"\b(?:worn out|exhausted|done) (?:by|with) (?:all of (?:it|this)|it all|everything|life)"
        r"\b|\bexhausted with life\b|\bdon't have anything left\b|\bnothing left (?:in me|to "
        r"give)\b|\bwant it (?:all )?to (?:just )?stop\b|\bwish (?:it|everything) would (?:all )?"
        r"(?:just )?go away\b|\bwhy (?:do )?i (?:even |keep )?(?:bother|bothering)\b"
        r"(?! (?:calling|ringing|phoning|asking|with (?:this|you|the)))"
        r"|\bwhy i (?:even |keep )?(?:bother|bothering)\b(?! (?:calling|ringing|phoning|asking))",
        inherent=True,
    ),
    _p(
        "no_future",
        "hopelessness",
        r"\bno light at the end of (?:the|this) tunnel\b"
        r"|\bgiven up (?:hop(?:e|ing)|on (?:everything"
        r"|life|myself|getting better))\b|\bnothing (?:left )?to look forward to\b"
        r"|\b(?:can't|cannot) see (?:any |a )?(?:way forward|future|way out|point)\b"
        r"|\b(?:don't|do not|can't|cannot) see the point (?:of|in) (?:anything|it all|life|"
        r"living|going on|carrying on|trying|getting up)\b"
        r"|\bno way out\b|\b(?:feel|i'm|i am) (?:so )?trapped\b|\bcan't climb out\b"
        r"|\bstuck in a (?:hole|pit|dark place)\b",
        inherent=True,
    ),
    _p(
        "not_live_like_this",
        "hopelessness",
        r"\b(?:don't|do not) want to (?:live|go on|carry on|keep living) (?:like this|this way)\b",
        inherent=True,
    ),
    # "I've lost the will to live" is hopelessness; said of hold music or paperwork it is a
    # British idiom of boredom (``_TEDIUM``, which explains it away).
    _p(
        "will_to_live",
        "hopelessness",
        r"\b(?:lost|losing|lose) (?:the |my |all |any )?will to live\b",
    ),
    _p(
        "no_will_to_live",
        "hopelessness",
        r"\b(?:no|not got (?:the|any)|haven't got (?:the|any)|(?:don't|do not) have (?:the|any)"
        r"|without (?:the|any)|nothing left of (?:my|the)) will to live\b",
        inherent=True,
    ),
    _p(
        "rather_be_dead",
        "hopelessness",
        r"\b(?:i'd|i would|i'd much) rather be dead than\b",
    ),
    _p(
        "cant_cope",
        "hopelessness",
        r"\b(?:can't|cannot|can not|don't think i can) cope (?:anymore|any more|any longer"
        r"|with (?:one more|it all|anything|any of it|life))\b|\bnot coping\b"
        r"|\bcan't manage any of it\b"
        r"|\b(?:can't|cannot|don't think i can) take (?:any|much) more\b(?! of (?:this|the|your) "
        r"(?:runaround|waiting|hold|phone|system|service|queue|music|nonsense))"
        r"|\bhow much more am i (?:supposed|meant|expected) to take\b",
        inherent=True,
    ),
    _p(
        "empty_numb",
        "hopelessness",
        r"\b(?:so |really |completely )?empty inside\b|\bjust existing\b|\bfeel (?:so )?numb\b"
        r"|\b(?:i'm|i am|i feel) so low\b|\blower than i've ever been\b"
        r"|\bso alone with (?:all )?(?:this|it)\b|\bnothing(?:'s| is| feels) real anymore\b",
        inherent=True,
    ),
    _p(
        "hopeless_more",
        "hopelessness",
        r"\b(?:can't|cannot) see (?:things|it|anything) (?:ever )?(?:getting better|changing|"
        r"improving)\b|\bnothing's ever going to change\b|\bdon't see a way forward\b"
        r"|\bnever going to get any easier\b|\bno light at the end\b|\bstopped believing\b"
        r"|\bcan't picture (?:any )?(?:kind of )?(?:a )?future\b|\bsame grey nothing\b"
        r"|\bcan't keep doing this\b|\bnothing left in the tank\b|\bweary of everything\b"
        r"|\bhow much more i can take\b|\bdrowning\b|\bcan't keep my head above water\b"
        r"|\b(?:don't think i can|can't) carry on like this\b|\bat breaking point\b"
        r"|\bfeel like giving up\b|\bstopped trying\b|\bthrow in the towel\b"
        r"|\bso over everything\b|\bburnt out on life\b|\bchecked out from everything\b"
        r"|\bdon't care what happens to me\b|\bnothing matters (?:anymore|any more|to me)\b"
        r"|\bstopped caring\b|\bwhy bother\b|\bnone of it matters\b|\bshell of who i\b"
        r"|\bnothing brings me (?:any )?joy\b|\bfelt pointless\b|\beverything(?:'s| is) pointless\b"
        r"|\bwhat i'm even here for\b|\bwhy i'm still bothering\b|\bgo on living like this\b"
        r"|\bdon't know how to keep going\b|\blosing hope\b|\blost the fight in me\b"
        r"|\bcan't be bothered with any of it\b|\bsee the point of trying\b"
        r"|\bwhat's the point of any of it\b|\bwhat's the point, nothing\b",
        inherent=True,
    ),
    # --- self-harm -----------------------------------------------------------------
    _p("self_harm", "self_harm", r"\bself[- ]?harm\w*\b"),
    _p(
        "cut_self",
        "self_harm",
        rf"\bcut(?:ting|s)? {_SELF}\b|\bcut (?:my|his|her) wrists?\b"
        # "I've cut it again, it's not too deep this time"
        r"|\b(?:i've|i have|i) cut (?:it|my (?:arms?|wrists?|legs?|thighs?)) again\b"
        r"(?! (?:on|chopping|shaving|cooking|in the|at work|with the|while|gardening)\b)",
    ),
    _p(
        "hurt_self",
        "self_harm",
        rf"\b(?:hurt|hurting|harm|harmed|harming|burn|burning) {_SELF}\b",
    ),
    # --- self-harm said indirectly: intent, plan, means, time, farewell, burden ----------
    _p(
        "on_purpose",
        "self_harm",
        r"\b(?:took|taken|swallowed|had|injected|overdosed|(?:double|triple)[- ]?dosed|cut"
        r"|done it)\b[\w ,']{0,60}"
        r"\b(?:on purpose|deliberately|intentionally|i meant to|meant it)\b"
        r"|\b(?:on purpose|deliberately)\b[\w ,']{0,30}\b(?:took|taken|swallowed|overdos\w+"
        r"|(?:double|triple)[- ]?dosed)\b"
        r"|\b(?:took|taken|swallowed)\b[\w ,']{0,60}\b(?:because|cause|so) i (?:wanted|want) "
        r"(?:it (?:all )?to stop|to (?:not be here|go to sleep for good|sleep for good"
        # not "wanted to not wake up at 4am" (a sleeping tablet)
        r"|not wake(?! up (?:at|in|during|with|when|early|before|every|for|until|till)\b) up"
        r"|be gone))"
        r"|\bwanted (?:it (?:all )?to stop|to not be here|to go to sleep for good)\b",
    ),
    _p(
        "own_overdose",
        "self_harm",
        r"\bi(?:'ve| have)? (?:took|taken|take|had) (?:a |an )?(?:big |massive |huge )?overdose\b"
        r"|\b(?:going to|gonna|thinking about|thought about|want to|keep thinking about) "
        r"overdos\w*|\boverdos\w* on purpose\b"
        r"|\bi(?:'ve| have)? (?:took|taken|swallowed) (?:all|the whole|a whole|the entire)\b"
        r"[\w ']{0,30}\b(?:pills|tablets)\b",
    ),
    _p(
        "use_on_self",
        "self_harm",
        rf"\buse (?:it|them|that|the \w+) on {_SELF}\b|\bturn (?:it|the \w+) on {_SELF}\b",
    ),
    _p(
        "method_future",
        "self_harm",
        r"\b(?:going to|gonna|about to|plan to|planning to|i'll|i will|want to) (?:walk into "
        r"the (?:sea|river|water|lake)|step (?:out )?in front of|throw myself|drive (?:into|off)"
        r"|jump (?:off|from|in)|drown myself|gas myself|do it tonight|go through with it)"
        r"|\b(?:that's|that is) when i(?:'ll| will| am going to|'m going to) do it\b"
        r"|\b(?:how|when) (?:and (?:how|when) )?i(?:'m| am) going to do it\b"
        r"|\b(?:all|it's all|it is all|everything's|everything is) (?:planned|sorted|ready) for "
        r"(?:tonight|after|when|tomorrow)\b"
        # not a date picked to stop smoking or for an operation
        r"|\bpicked (?:the|a) (?:date|day|time|place)\b(?! (?:to (?:stop|quit|give up) (?:smoking"
        r"|drinking|vaping)|for (?:my|the|our|his|her) (?:op|operation|surgery|wedding|move"
        r"|induction|party|holiday|scan))\b)"
        r"|\bfilled my pockets with stones\b|\btied (?:the|a) (?:cord|rope|belt|scarf|noose)\b",
    ),
    _p(
        "at_height",
        "self_harm",
        r"\bi(?:'m| am) (?:sort of |kind of |like |just |um |uh |now )?(?:up |stood |standing "
        r"|sitting |right )?(?:on|at) (?:the |a |my )?"
        r"(?:top of (?:the|a) (?:car park|multi-?storey|building|cliff|tower)|roof|cliffs?|"
        r"ledge|edge|railway bridge|bridge|railway line|tracks|level crossing)\b"
        r"|\bclimbed over (?:the|a) (?:fence|railing|barrier|wall)\b"
        r"|\bnext train is in\b|\blooking down at the (?:water|traffic|tracks|river)\b",
    ),
    # An attempt that failed before, to be made sure of now ("I'm building up enough to make
    # sure it works this time"). Issue 9, ninth round, from the left-out training rows.
    _p(
        "this_time",
        "suicidal",
        # "make sure it works this time" alone is also a complaint about a form or an app
        r"\b(?:building up|stocking up|collecting|kept back|keeping back|saved up) enough"
        r"(?: [\w']+){0,4} to make sure (?:it works|it's enough|i don't wake up) this time\b"
        rf"|\benough (?:of )?(?:them|these|(?:[\w']+ ){{0,2}}{_MEDICINES}) to make"
        r" sure (?:it works|i don't wake up) this time\b",
    ),
    # Burns made on purpose ("burns on my wrist... I did them with a lighter").
    _p(
        "burning_self",
        "self_harm",
        r"\b(?:burn(?:ed|t|ing)?|did|do|done|made) (?:myself|them|it|these|my (?:arms?|wrists?"
        r"|legs?|thighs?|skin|hands?))(?: [\w']+){0,2} with (?:a |my )?(?:lighter|cigarettes?"
        r"|matches|match)\b|\bburning myself\b(?! (?:on|cooking|with (?:the|a) (?:iron|kettle"
        r"|oven|pan|steam)))",
    ),
    # Not calling again, said as thanks and goodbye ("Thank you for being kind to me today... I
    # won't be ringing again. Take care of yourself."); without thanks or a goodbye it is call
    # business ("the results came, so I won't be ringing again"): ``_FAREWELL_THANKS``.
    _p(
        "not_calling_again",
        "suicidal",
        r"\b(?:won't|will not|shan't) be (?:ringing|calling|phoning|bothering) (?:you )?again\b"
        r"|\b(?:won't|will not|shan't) be in touch again\b"
        # "you won't see me again" is also said to a nurse whose visits end
        r"|\byou won't (?:get|hear from) me again\b"
        r"|\bthe (?:last|final) time (?:i'll|i will|ill) (?:be )?(?:calling|ringing|phoning|call"
        r"|ring)\b",
    ),
    # --- issue 9, tenth round: risk the shipped system missed in blind rows --------------
    # (``crisis_train_blind10.jsonl``, scored once before these were written; a review's
    # defects fixed: ``BLIND_10`` and ``REVIEWED_11`` in tests/models/test_crisis.py)
    # A large amount swallowed by the caller is self-poisoning, whatever is said of why ("I
    # took a load of paracetamol yesterday, about thirty", "I swallowed most of my Lexapro",
    # "I took about forty of them at teatime"). The overdose patterns raise the emergency;
    # this raises the self-harm protocol beside it. No denial is part of it ("no, I took
    # thirty of them" is not denied). An accident (``_INTENT_PATTERNS``), a day's regimen
    # (``_REGIMEN_SENSITIVE``), tablets counted over days (``_OVER_A_PERIOD``) and tablets
    # carried, sorted or handed back (``_NOT_SWALLOWED``) explain it away.
    _p(
        "self_poisoning",
        "self_harm",
        r"\b(?:i(?:'ve| have| had|'d)?|id) (?:just |then |also |must have |might have )?"
        r"(?:took|taken|swallowed|necked|downed|popped) "
        r"(?:about |around |like |over |nearly |maybe |at least |probably |roughly |almost "
        r"|more than |well over |all |)"
        rf"(?:{_AMOUNT}(?: (?:to|or) {_AMOUNT})?|a load|loads|a whole lot|a handful|handfuls"
        r"|a bunch|the whole lot|the lot|two whole (?:packets|boxes|bottles|strips)"
        rf"|most of (?:my|his|her) (?={_NAMED_DRUGS})"
        r"|(?:a|my|the) whole (?:month|week|box|packet|bottle|tub|prescription|supply|strip)"
        r"(?:'s)?(?: worth)?)\b"
        r"(?! (?:mg|milligrams?|ml|mls|mcg|micrograms?|units?|minutes?|mins?|hours?|days?"
        r"|weeks?|months?|years?|percent|puffs?|back|into|with|round|over|down|off|out"
        r"|along|photos?|pictures?|calls?|steps?)\b)"
        rf"[\w ,'-]{{0,30}}?\b(?:{_MEDICINES}|{_NAMED_DRUGS}|of (?:them|it|those|these))\b",
        inherent=True,
    ),
    # Why it was taken, said after the taking ("I injected two whole pens, I wanted it all
    # over with"), or the wish said on its own ("I wanted to not wake up"; not "not to wake up
    # in the night").
    _p(
        "wanted_not_to_wake",
        "self_harm",
        r"\b(?:took|taken|swallowed|injected|mixed|drank)\b[\w ,']{0,50}?\b(?:"
        rf"{_MEDICINES}|{_NAMED_DRUGS}|pens|them|the lot|bottle)\b[\w ,']{{0,60}}\bi"
        r" (?:just |was )?(?:wanted|hoped|was hoping)"
        r" (?:it (?:all )?(?:over with|to be over|to end)"
        r"|(?:to not|not to|to never|never to|i wouldn't|i'd never|i would never) wake up"
        rf"\b(?! {_WAKE_CONTEXT}\b))"
        r"|\bi (?:just )?(?:wanted|want) (?:to not|not to|to never|never to) wake up\b"
        rf"(?! (?:{_WAKE_CONTEXT}|and go|to)\b)",
    ),
    # An attempt told obliquely: "after what I took" where it needed a hospital, "I tried
    # something really stupid on Saturday night"; self-cutting and burns told as the caller's
    # acts ("I did some cutting on my thighs", "I held a lighter to my arm").
    _p(
        "oblique_attempt",
        "self_harm",
        r"\bafter what i did to myself\b|\bafter what i done to myself\b"
        r"|\bafter what i (?:took|swallowed|had taken|'d taken)\b(?! for\b)"
        r"(?=[\w ,']{0,80}\b(?:still here|shouldn't be|hospital|charcoal|a drip|a&e|a and e"
        r"|stomach pumped|discharged)\b)"
        r"|(?:hospital|charcoal|a drip|a&e|a and e|stomach pumped|still here|shouldn't be)\b"
        r"[\w ,']{0,80}\bafter what i (?:took|swallowed|had taken|'d taken)\b(?! for\b)"
        r"|\bi(?:'ve| have)? tried (?:to do )?something (?:really |so |very |pretty )?"
        r"(?:stupid|daft|silly)\b(?! (?:with\b|on (?:the|a|my|his|her|our)\b(?! weekend)"
        r"|in (?:the|my|a)\b|at (?:the (?!weekend)|work|school)\b))"
        r"|\bi(?:'ve| have| had)?(?: been)? (?:did|done|doing) (?:some |a bit of |more |a lot of )?"
        r"cutting (?:on |of )?(?:my )?(?:arms?|legs?|thighs?|wrists?|stomach|skin)\b"
        r"|\bi(?:'ve| have)? been cutting (?:my )?(?:arms?|legs?|thighs?|wrists?|stomach|skin)\b"
        r"|\bi(?:'ve| have)? cut my (?:arms|thighs|wrists|legs)\b(?! (?:on|chopping|shaving"
        r"|cooking|in the|at work|with the|while|gardening)\b)"
        r"|\bheld (?:a |my |the )?(?:lighter|lit cigarette|cigarette|hot knife)\b"
        r"[\w ,']{0,20}\b(?:to|against|on) my (?:arms?|wrists?|legs?|thighs?|skin|stomach)\b",
    ),
    # Asking what would be lethal, in other words than ``lethality``'s ("how many would you
    # have to take before it stops your heart", "enough that a person wouldn't wake up"), and
    # heights asked about for a fall that would kill ("high enough that a fall would be
    # certain", "standing up there thinking about the drop").
    _p(
        "lethal_amount",
        "self_harm",
        r"\bhow (?:many|much)\b[\w ,']{0,80}\b(?:before|till|until) (?:(?:it|they|that)"
        r" (?:stops?|would stop) (?:your|my|someone's|a person's) heart|(?:your|my|someone's"
        r"|a person's) heart (?:stops|would stop))\b"
        r"|\benough (?:that|so) (?:a person|someone|somebody|you|i) (?:wouldn't|won't|would not"
        rf"|will not|didn't|don't|never) wake(?! up {_WAKE_CONTEXT}\b)(?: up)?\b"
        rf"(?! {_WAKE_CONTEXT}\b)"
        r"|\bhow many\b[\w ,']{0,60}\bwould it take to be too much for (?:someone|somebody"
        r"|a person|a man|a woman) (?:my|of my) (?:size|weight|build)\b"
        r"|\b(?:high|tall) enough (?:that|so|for) (?:a |the )?(?:fall|drop|jump)\b[\w ,']{0,30}"
        r"\b(?:kill|be (?:certain|fatal|final|the end|enough)|do it|finish)"
        r"|\bthinking about the (?:drop|jump)\b(?! (?:in|of|on|off|to|at)\b|-off"
        r"|from (?!the (?:bridge|top|roof|cliffs?|edge|balcony|window|car park)))",
    ),
    # Life insurance asked about for a death that is no accident ("does the policy still pay
    # out if it wasn't an accident", "if you did it yourself on purpose"); not the paperwork
    # of someone's death (``_SOMEONES_DEATH``).
    _p(
        "insurance_if_deliberate",
        "self_harm",
        r"\blife (?:insurance|cover|policy|assurance)\b[\w ,']{0,80}\b(?:pays?|paid|cover"
        r"|covers|pay out|pays out)\b[\w ,']{0,40}\b(?:if|when) (?:it (?:wasn't|was not|isn't"
        r"|is not|'s not) an accident|its not an accident|(?:you|i|a person|someone|somebody"
        r"|they|he|she) (?:did|does|do) it (?:to )?(?:yourself|myself|themselves|themself"
        r"|himself|herself)|(?:you|i|a person|someone) (?:did|does|do) it on purpose)\b"
        r"|\bpay\w* (?:out )?on (?:my|the) life (?:insurance|cover|policy)\b[\w ,']{0,40}\bif"
        r" (?:it (?:wasn't|was not|isn't|is not|'s not)|its not) an accident\b"
        # "does it still pay if you did it yourself on purpose" (the insurance named before)
        r"|\binsurance\b[\w ,']{0,80}\bpay\w*\b[\w ,']{0,40}\b(?:if|when) (?:you|i|a person"
        r"|someone|somebody) (?:did|does|do) it (?:to )?(?:yourself|myself|themselves"
        r"|themself) on purpose\b",
    ),
    # Who will find them ("I don't want it to be my son who finds me", "I'd rather it was a
    # professional who found me", "so it's not my wife who comes home to it", "so my mum
    # isn't the one who finds me"); not who found the caller after a fall.
    _p(
        "who_finds_me",
        "self_harm",
        r"\b(?:want|wanted|rather|prefer) it(?: to be| was| were|'s not| isn't| is not"
        r"| wasn't| won't be| will not be) (?:my \w+|a \w+|someone|somebody|the \w+) (?:who"
        r"|that) (?:finds|found|find|has to find|comes home to|walks in on) (?:me|my body"
        r"|it|this)\b"
        r"|\bso (?:it's|its|it is) not (?:my \w+|a \w+|someone|somebody|the \w+) (?:who|that)"
        r" (?:finds|find|has to find|comes home to|walks in on) (?:me|my body|it|this)\b"
        r"|\b(?:it's|its|it is) not (?:my \w+|someone|somebody) (?:who|that) (?:comes home to"
        r"|walks in on) (?:it|this)\b"
        r"|\b(?:my \w+|the kids|anyone|the \w+) (?:to be|is|isn't|is not|being|aren't|are not)"
        r" the (?:one|ones|person) (?:who|that|to) (?:finds? (?:me|my body)|has to find (?:me"
        r"|my body)|have to find (?:me|my body)|walks? in on (?:it|me))\b",
        inherent=True,  # "I don't want it to be my son who finds me" denies nothing
    ),
    # A goodbye left with a message ("tell her I'm sorry and none of it was her fault", "tell
    # my son I just couldn't keep doing it anymore").
    _p(
        "message_to_family",
        "self_harm",
        r"\btell (?:him|her|them|my \w+)\b[\w ,']{0,40}\b(?:sorry|goodbye|love (?:him|her|them"
        r"|you)|thank)\b[\w ,']{0,40}\b(?:none of (?:it|this) (?:was|is)|it (?:wasn't|was not"
        r"|isn't|is not|'s not)|its not) (?:his|her|their|your) fault\b"
        r"|\btell (?:him|her|them|my \w+)\b[\w ,']{0,60}\bi (?:just )?(?:couldn't|could not)"
        r" (?:keep doing it|keep going|carry on|go on|cope|do it)(?: anymore| any more)?"
        r"\s*(?:[.!?,;]|$)",
    ),
    # The how and the where decided ("I've got it all worked out now, the how and the where");
    # not "how and when to take the new inhalers".
    _p(
        "how_and_where",
        "self_harm",
        r"\b(?:worked out|figured out|decided|planned|sorted|picked|know)\b[\w ,']{0,30}\b"
        r"(?:the )?(?:how and (?:the )?(?:where|when)|when and (?:the )?(?:how|where)"
        r"|where and (?:the )?(?:how|when))\b(?! (?:of|to|for|i'll|i will|we'll|we will)\b)",
    ),
    _p(
        "affairs_in_order",
        "self_harm",
        r"\b(?:sorted|put|got|getting|sorting) (?:out )?(?:all )?my affairs\b"
        r"|\baffairs (?:are )?in order\b|\beverything(?:'s| is) in order now\b"
        r"|\bfor whoever finds (?:it|me|them)\b|\b(?:after|when|once) i(?:'ve| have)? gone\b"
        r"|\bwhen i'm gone\b|\b(?:after|once) i'm gone\b(?! (?:on|to (?!a better place)"
        r"|for (?!good)|till|until|in|away|abroad|home|back|upstairs|downstairs|out|from)\b)"
        r"|\bbefore i go\b(?! (?:on|to|in|out|into|away|back|home|abroad|for))"
        r"|\bnew home for (?:the|my) (?:cat|dog|pets?)\b"
        r"|\bgiven (?:the|my) (?:dog|cat|pets?) (?:to|away)\b|\bfor good\b[\w ,']{0,40}"
        r"\b(?:better than me|look after (?:him|her|them))\b"
        r"|\bwhere the (?:house )?deeds are\b|\bwritten down all my passwords\b"
        r"|\bcancelled (?:all )?the direct debits\b",
    ),
    _p(
        "saying_goodbye",
        "self_harm",
        r"\b(?:this is|i'm saying|saying|say|said|to say) goodbye\b(?! to (?:the|my|our|your) "
        r"(?:(?:district|community|practice|ward|macmillan) )?(?:old|last|previous|doctor|gp"
        r"|surgery|nurse|consultant))"
        r"|\bgoodbye (?:texts?|messages?|letters?|notes?|videos?|posts?)\b"
        r"|\bposted (?:a|my) goodbye\b|\b(?:this is )?my last (?:call|phone call)\b"
        r"|\b(?:music|hymns|songs?) (?:i want )?(?:at|for) my funeral\b"
        r"|\bpaid for (?:the|my) funeral\b|\brecorded a (?:video|message) for [\w ]{1,30}after\b"
        r"|\b(?:feeds?|look after|walks?) my (?:cat|dog|pets?) after (?:tonight|today|i'm gone)\b"
        r"|\binstructions (?:about|for) [\w ,']{0,40}\bfor when\b",
    ),
    _p(
        "wont_be_around",
        "self_harm",
        r"\bwon't be (?:around|here|needing (?:it|them|that)|a problem|bothering|bother(?:ing)?"
        r" anyone)\b|\bwon't need (?:it|them|that|the)\b[\w ,']{0,40}"
        r"\b(?:anymore|any more|any longer|much longer|after|next|by then"
        r"|where i'm (?:going|headed)|when i'm gone|(?:it'll|it will) (?:all )?be over"
        r"|made (?:my|up my) (?:decision|mind))\b"
        r"|\bi won't need it\b"
        r"|\bwon't need (?:it|them|that)\b(?=[\s.!?]*$)"
        r"|\b(?:not going to|don't plan on|not planning on|won't) (?:be )?(?:being )?(?:here|"
        r"around) (?:by|for|much|after|when|to|at)\b"
        r"|\bno(?:body| one|one)(?:'s| is)? (?:will|going to|gonna) (?:have to|need to)"
        r" (?:worry|bother) about me\b"
        r"|\bno(?:body| one|one)(?:'s| is)? (?:will|going to|gonna) (?:have to|need to) put up"
        rf" with me\b(?! {_NAGGING})"
        r"|\bno(?:body| one) will have to (?:put up with|deal with|worry about) me\b"
        rf"|\b(?:won't|wont) (?:have|need) to put up with me\b(?! {_NAGGING})"
        r"|\bput up with me much longer\b"
        # "they won't have to keep running round after me much longer", "my daughter won't
        # have to give up her weekends for me much longer"
        r"|\bwon't (?:have|need) to\b[\w ,']{0,40}\b(?:after|for|with|about) me"
        r" (?:for )?(?:much|very) longer\b"
        # "I just need to know he'll be okay, because I won't be"
        r"|\b(?:okay|ok|alright|all right|fine|safe|looked after|cared for|happy)\b[\w ,']{0,20}"
        r"\b(?:because|cos|cause) i won't be\s*(?:[.!?]|$)"
        r"|\b(?:not|won't) (?:going to |gonna )?be (?:a problem|a burden|a bother|around|here)"
        r" (?:(?:for|to) (?:anyone|you|anybody|them) )?for (?:much|very) longer\b"
        r"|\blast time (?:anyone|anybody|you)(?:'ll| will)? (?:have to|hear)\b"
        r"(?! from me about the\b)"
        r"|\bwon't be bothering (?:you|anyone)\b",
    ),
    _p(
        "burden",
        "self_harm",
        r"\b(?:world|place|family|everyone|they|kids|children) (?:would|'d) be (?:a )?better "
        r"(?:place |off )?without me\b|\bbetter place without me\b"
        r"|\b(?:relief|better|kinder|easier|best|glad|happier)\b[\w ,']{0,30}\bif i (?:just )?"
        r"(?:wasn't|weren't|was not|were not|was gone|wasn't here|didn't exist|disappeared)"
        r"|\bwaste of space\b|\b(?:ruining|wrecking|wrecked|ruined)\b[\w ,']{0,30}\blives?\b"
        r"[\w ,']{0,20}\bby (?:just )?(?:being here|being alive|staying|existing)\b"
        r"|\bsuffer by (?:staying|being here)\b|\bkindest thing would be for me to\b"
        r"|\bfor me to not be here\b|\binsurance money\b[\w ,']{0,60}\bbest thing\b"
        r"|\bget the house and (?:finally )?be comfortable\b"
        r"|\bdeserve (?:that |it |this )?more than me\b"
        r"|\bdeserves? better than (?:a \w+ like )?me\b",
    ),
    _p(
        "urge_to",
        "self_harm",
        rf"\b(?:urge|urges|temptation) to (?:cut|hurt {_SELF}|harm {_SELF}|burn|overdose)\b"
        rf"|\boff {_SELF}\b|\btake {_SELF} out of the picture\b|\bunalive\b",
    ),
    _p(
        "no_future_needed",
        "self_harm",
        r"\bwon't (?:be )?(?:need|needing) (?:any more|any of it|anything|him|her|them|it|that)"
        r"\b[\w ,']{0,30}\b(?:after|ever|again|anymore|any more|tonight|this week)\b"
        r"|\b(?:not|never) (?:gonna|going to) (?:be )?(?:need|needing) (?:any of it|it|them)\b"
        r"[\w ,']{0,20}\b(?:after|again|tonight)\b"
        r"|\bwon't matter after\b|\bno future to plan for\b|\bno point where i'm going\b"
        r"|\bwon't be making it to (?:that|this|the|any)\b[\w ,']{0,30}\bor any other\b"
        r"|\bwon't be seeing (?:them|you|anyone) again\b|\bwon't get the chance to tell\b"
        r"|\bnothing (?:keeping me|left for me) (?:here|now)\b|\bnothing left to sort\b"
        r"|\bone last thing i need to do\b|\bat peace with what i'm (?:doing|about to do)\b"
        r"|\bmade (?:my|the) (?:final )?arrangements\b|\bhear a (?:voice|friendly voice) before\b"
        r"|\bafter tonight it won't be me\b|\byou won't hear from me\b"
        r"|\blast (?:time i'll be|call you'll (?:ever )?get)\b",
    ),
    _p(
        "plan_pills",
        "self_harm",
        r"\b(?:piled|lined up|saved up|collected|ready|got|stashed|counted out)\b[\w ,']{0,50}\b"
        r"(?:pills|tablets|paracetamol|morphine|insulin|amitriptyline|pens|sleeping tablets)\b"
        r"[\w ,']{0,50}\b(?:tonight|when (?:you|everyone|the kids|he|she)|once|so i won't|"
        r"won't wake up|taking them|using (?:both|them|it)|by the bed)\b"
        # not "stop taking everything from tonight" (before an operation)
        r"|\b(?<!stop )(?<!stopped )(?<!stopping )(?<!quit )(?<!pause )(?<!not )(?<!avoid )"
        r"(?<!hold off )(?<!come off )(?<!coming off )"
        r"(?:taking|swallowing|using|injecting) (?:them|the lot|both|all of (?:them|it)|"
        r"everything)\b[\w ,']{0,40}\b(?:tonight|when|once|after)\b"
        r"|\b(?:going to|gonna|i'll) inject (?:all|the whole|every)\b"
        r"|\btake all my insulin\b|\bmake sure i (?:don't|do not|never) wake up\b"
        r"|\bmake it all stop\b|\bgoing through with it\b|\bgo through with it\b"
        r"|\b(?:going to|gonna) join (?:her|him|them)\b|\bchosen the (?:spot|place|day)\b"
        r"|\bit's happening (?:tonight|tomorrow|today|soon)\b|\bgot it all planned\b",
    ),
    _p(
        "plan_place",
        "self_harm",
        r"\b(?:garage|car) with the (?:car|engine) running\b|\bin the garage\b[\w ,']{0,30}"
        r"\b(?:running|engine)\b"
        r"|\bstep (?:off|onto|in front of) the (?:platform|tracks|line|train)\b"
        r"|\b(?:cord|rope|belt)(?:'s| is)? (?:already )?tied\b|\bwalking off the edge\b"
        r"|\b(?:going to|gonna) jump\b|\bhose for the (?:car )?exhaust\b|\bknife ready\b"
        r"|\brun a bath\b[\w ,']{0,40}\b(?:tablets|pills|razor|blade)\b",
    ),
    _p(
        "did_something_silly",
        "self_harm",
        r"\b(?:did|done) something (?:really )?(?:stupid|silly|daft|i shouldn't have)\b",
    ),
    _p(
        "did_something",
        "self_harm",
        r"\btook (?:every|each) (?:pill|tablet)\b|\btaken my whole supply\b"
        r"|\b(?:taken|took) them all\b|\btook the (?:pills|tablets) before i (?:rang|called)\b"
        r"|\b(?:slashed|slit|cut) (?:my|both) wrists?\b|\bod'd\b|\bod'?ed\b"
        r"|\bswallowed a (?:bottle|packet|box)\b"
        r"|\bbecause i wanted (?:out|it to be over|it over)\b|\bwanted it to be over\b"
        r"|\btook like \w+ of my\b|\btaken them all\b"
        # "used up the whole box of eye drops": a product that is not swallowed
        r"|\bthe whole box\b(?! of (?:(?:eye|ear|nose|nasal) ?)?(?:drops|creams?|ointments?|gels?"
        r"|plasters|dressings|bandages|gloves|wipes|tissues|(?:test )?strips|lancets|pads"
        r"|nappies|catheters)\b)",
    ),
    _p(
        "farewell_thanks",
        "self_harm",
        r"\b(?:for the last time|one last time)\b(?! before (?:i|we) (?:move|change|switch|leave)"
        r" (?:practices?|surger(?:y|ies)|gps?|doctors?|house)\b)"
        r"|\bthe last thing i wanted to say\b"
        r"|\bgave (?:my|all my) (?:jewellery|jewelry|wedding ring|rings?|stuff|things|watch"
        r"|savings)"
        r" to\b|\bgiving (?:my|all my) (?:stuff|things|belongings) (?:to|away)\b"
        r"|\bremember me by\b|\b(?:will(?:'s| is)|wills are) (?:done|signed|sorted)\b"
        r"|\b(?:written|updated|finished|done) my will\b[\w ,']{0,60}\b(?:ready|no point|nothing"
        r" left|tired of being here|any way out|take any more)\b"
        r"|\bletters? (?:are|is) written\b|\b(?:for|to) (?:my \w+|him|her|them) to find in the "
        r"morning\b|\bthey'll find (?:them|it|me) in the morning\b|\bfarewell (?:message|note|"
        r"letter|post)\b|\bpass a message to [\w ]{1,20}that i love\b"
        r"|\bthanks for putting up with me\b[\w ,']{0,30}\bthat's it\b"
        r"|\bsorry for being such a (?:nuisance|burden|pain)\b",
    ),
    _p(
        "burden_more",
        "self_harm",
        r"\b(?:manage|cope|do|be) (?:so much |much |far )?(?:better|fine|okay|ok)"
        r"(?: off)? without me\b|\b(?:shot|rid|free) of me\b"
        r"|\brelieved if i (?:just )?(?:wasn't|weren't) here\b"
        r"|\bi only make things worse for everyone\b|\blives would be (?:lighter|easier|better)"
        r" without me\b|\bdrain on everyone\b|\bweight round their necks\b"
        r"|\bput a stop to that\b|\bsave everyone the bother\b|\bout of the way for good\b"
        r"|\bif i (?:just )?(?:went|disappeared)(?: for good)?\b|\bone less problem\b"
        r"|\bshouldn't have to anymore\b|\bstopped being a cost\b|\bthe day i'm not in it\b"
        r"|\bwithout me around\b|\bsort that out myself\b|\bbetter if i (?:wasn't|weren't|"
        r"stopped)\b|\b(?:soon )?they'll find out\b",
    ),
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
        # "had loads of the same tablets", "had lots of spare ones" is having them
        r"\b(?!had (?:lots|loads|a lot) of (?:the same|spare|unused|old|leftover|sealed"
        r"|unopened)\b)(?:took|taken|take|taking|swallowed|swallow|had) "
        r"(?:a |an |the )?(?:whole|entire|full|all|too many|lots|a lot|loads|handful|bunch|"
        r"double|two|three|extra)[\w ]{0,30}?(?:pills|tablets|meds|medication|bottle|packet|"
        r"box|insulin|paracetamol|dose|doses)\b",
    ),
    _p(
        "pills_alcohol",
        "overdose",
        r"\b(?:pills|tablets|painkillers|medication|meds)\b"
        r"[\w ]{0,30}\b(?:with|and|on top of) (?:a lot of |loads of |a (?:whole |full )?bottle of "
        r"|half a bottle of )?(?:alcohol|vodka|drink|booze|wine|whisky|whiskey|gin|rum|cider)\b",
    ),
    _p(
        "poison",
        "overdose",
        rf"\b(?:drank|drunk|swallowed) {_SIP_OF}(?:poison|{_CORROSIVES})\b"
        r"|\bhad (?:a few (?:mouthfuls|sips|gulps) of|some of|a (?:cup|glass|mouthful) of) "
        rf"(?:the )?{_CORROSIVES}\b"
        # a child who got into medicines or swallowed a battery or a magnet (issue 9, round 12)
        r"|\b(?:toddler|baby|little (?:girl|boy|one)|son|daughter|child|kids?|\w+ year old)\b"
        r"[\w ,']{0,20}?\b(?:(?:has |have |must have )?(?:swallowed|got into|eaten|ate|taken"
        r"|had|drank|drunk))\b[\w ,']{0,30}?\b(?:(?:button )?batter(?:y|ies)|magnets?"
        r"|liquitabs?|washing (?:pods?|tablets)|(?:some|all|a few|loads|about \w+|maybe \w+"
        r"|most) of (?:my|his|her|the|mum's|dad's|nan's|gran's)\b[\w ']{0,20}?\b(?:tablets"
        r"|pills|medicine|calpol|iron|sertraline|amitriptyline|paracetamol|ibuprofen)"
        r"|the (?:whole )?bottle of calpol|(?:my|mum's|dad's|nan's|gran's) (?:iron )?(?:tablets"
        r"|pills))\b",
    ),
    # --- cardiac -------------------------------------------------------------------
    _p(
        "chest_pain",
        "cardiac",
        r"\bchest (?:pain|pains|pressure|tightness)\b|\b(?:pain|"
        r"pressure|tightness|heaviness) in (?:my|his|her|the) chest\b|\bchest (?:feels |is |"
        r"was |getting )?(?:so |really |very )?(?:tight|heavy|crushing)\b|\btight chest\b|"
        # not "crushing on him" (a crush) nor "a crushing disappointment"
        r"\bcrushing\b(?! on\b| (?:disappointment|blow|defeat|ennui|news)\b)",
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
        # not a blocked nose ("I can't breathe through my nose")
        r"breath|get (?:any )?air)\b(?! (?:through|out of|in through) (?:my|his|her|the|one) nose)",
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
        rf"\b(?:can't|cannot|can not) wake {_PERSON}\b|\b(?:he|she|they|baby|mum|mom|dad|"
        r"husband|wife|son|daughter|partner)(?:'s| is| are)? (?:won't|will not|not) wak(?:e|ing) "
        r"up\b|"
        r"\bnot responding properly\b|\bfloppy\b(?! (?:disks?|discs?|hair|ears?|hat)\b)",
        inherent=True,
    ),
    _p(
        "collapsed",
        "unresponsive",
        r"\bcollapsed\b|\bpassed out\b|\bpass(?:ing)? out\b"
        r"(?! (?:the )?(?:leaflets?|fliers?|flyers?|forms?|papers?|sweets|drinks|programmes?)\b)|"
        r"\bblack(?:ed|ing) out\b|\bfainted\b|\bgoing to faint\b|\bfeel faint\b",
    ),
    _p(
        "seizure",
        "seizure",
        r"\b(?:having|had|is having|'s having) a (?:seizure|fit)\b|"
        r"\bseizure[\w ]{0,20}(?:won't|will not|doesn't|isn't) stop\b|\bconvuls\w+|"
        # "he's fitting" is a seizure; a hearing-aid fitting, "ill-fitting" and "a fitting
        # tribute" are not
        r"(?<!\ba )(?<!ill )(?<!ill-)(?<!well )(?<!well-)(?<!badly )(?<!loose )(?<!tight )"
        r"\bfitting\b(?! (?:appointment|session|clinic|room|tribute|memorial)\b)",
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
    # --- emergencies in lay words ----------------------------------------------------
    _p(
        "chest_lay",
        "cardiac",
        r"\b(?:band|vice|belt) (?:squeezing|tight|tightening) (?:round|around|across) "
        r"(?:my|his|her) chest\b|\b(?:someone|something|an elephant)(?:'s| is)? (?:standing|"
        r"sitting) on (?:my|his|her) chest\b|\bpressure in the middle of (?:my|his|her) chest\b"
        r"|\b(?:heavy|heaviness|squeezing|tight|pressing) [\w ]{0,20}\b(?:in|on|across) "
        r"(?:my|his|her|the) chest\b",
    ),
    _p(
        "breath_lay",
        "breathing",
        r"\bcan't (?:finish|get) (?:a |his |her |my )?sentences?\b|\bcan't get the air in\b"
        r"|\bone or two words at a time\b|\blips (?:look |are |have gone |gone )?(?:dusky|blue"
        r"|grey|gray)\b|\bwheez\w+[\w ,']{0,40}\b(?:can't|cannot|gone quiet|struggling)\b"
        r"|\b(?:inhaler|nebuli[sz]er)\b[\w ,']{0,40}\b(?:isn't|not|no) (?:easing|helping|"
        r"working)\b|\bisn't easing with\b|\bsqueaky noise when (?:she|he|i|they) breathes?\b"
        r"|\bcan't (?:speak|talk) (?:and|because)\b",
        inherent=True,
    ),
    _p(
        "stroke_lay",
        "stroke",
        r"\bside of (?:his|her|my|their) (?:mouth|face) (?:has )?(?:dropped|drooped|gone|is "
        r"drooping)\b|\bhalf (?:his|her|my|their) face\b|\bcan't smile properly\b"
        r"|\bslumped to one side\b|\bcan't see out of one eye\b|\bwords are coming out "
        r"(?:all )?wrong\b|\bcan't say what (?:he|she|they) wants?\b"
        r"|\b(?:arm|leg|hand) (?:won't work|feels heavy|has gone heavy|won't move)\b"
        r"|\bgone all lopsided\b",
        inherent=True,
    ),
    _p(
        "unresponsive_lay",
        "unresponsive",
        r"\b(?:not|isn't|is not|stopped) (?:answering|talking to) (?:me|us)\b"
        r"|\bcan't (?:feel|find) a (?:pulse|heartbeat)\b|\bno pulse\b"
        r"|\b(?:just )?(?:went|gone|fell) down\b[\w ,']{0,30}\b(?:not|isn't|won't)\b"
        r"|\bfound (?:him|her|them|my \w+) on the floor\b",
        inherent=True,
    ),
    _p(
        "overdose_lay",
        "overdose",
        r"\b(?!had (?:lots|loads|a lot) of (?:the same|spare|unused|old|leftover|sealed"
        r"|unopened)\b)(?:took|taken|swallowed|had|eaten|ate|injected|drunk|drank)\b[\w ,']{0,30}\b"
        r"(?:all|whole|entire|load|loads|lots|lot|handful|bunch|packet|box|bottle|tub|"
        r"thirty|twenty|forty|fifty|\d{2,}|more than i should|way more|double|too much|some)"
        r"\b[\w ,']{0,30}\b(?:pills|tablets|meds|medication|medicine|paracetamol|insulin|"
        r"morphine|oxycodone|zopiclone|painkillers|dosette box|cabinet|heart pills|sleeping"
        r" (?:pills|tablets))\b"
        r"|\b(?:double|triple)[- ]dosed\b|\btaken something\b[\w ,']{0,40}\b(?:breathing|"
        r"drowsy|unconscious|burning up|shaking|not making sense)"
        r"|\btook (?:some )?(?:pills|something) at a (?:party|festival|club)\b"
        r"|\btaken everything in\b|\btook everything in\b",
    ),
    _p(
        "anaphylaxis_lay",
        "anaphylaxis",
        r"\bthroat(?:'s| is)? (?:closing|swelling|feels tight|tight)\b|\b(?:lips|tongue|face)"
        r"[\w ]{0,15}(?:are |is )?(?:swelling|puffing|swelled|swollen|puffed) up\b"
        r"|\bepi-?pen\b[\w ,']{0,40}\b(?:not|isn't|no) (?:getting better|working|helping)\b"
        # not "can't swallow his tablets whole" (pills too big: a routine question)
        r"|\bcan't swallow\b(?! (?:(?:his|her|my|their|the|these|those|big|large) )?"
        r"(?:tablets?|pills?|capsules?|medicines?|medication)\b)"
        r"|\bstung\b[\w ,']{0,40}\b(?:faint|blotches|swell\w*|breath\w*)\b",
        inherent=True,
    ),
    _p(
        "seizure_lay",
        "seizure",
        r"\bseizure after another\b|\bone (?:fit|seizure) after another\b"
        r"|\bshaking all over\b[\w ,']{0,40}\b(?:not stopping|won't stop|floor)\b"
        r"|\bgone (?:all )?stiff\b[\w ,']{0,30}\bjerk\w*|\beyes (?:have )?rolled back\b"
        r"|\btwitching all over\b|\bhasn't woken up in between\b",
        inherent=True,
    ),
    _p(
        "bleeding_lay",
        "bleeding",
        r"\bspurting blood\b|\bblood (?:is )?spurting\b|\bblood everywhere\b"
        r"|\bbleeding (?:really |very |so )?(?:heavily|badly|a lot)\b"
        r"|\b(?:nose ?bleed|bleed|bleeding)\b[\w ,']{0,20}\bwon't stop\b"
        r"|(?<!gums )(?<!gum )\b(?:won't|will not|wont|can't|cannot|can not) stop"
        r" (?:the )?bleeding\b"
        r"|\b(?:hasn't|has not|haven't|have not) stopped bleeding\b"
        r"|\bsoaking through (?:a |the )?(?:pads?|towels?|bandages?|dressings?)\b"
        r"|\bblood(?:'s| is) coming through\b|\bgashed open\b",
        inherent=True,
    ),
    _p(
        "cardiac_more",
        "cardiac",
        r"\bchest\b[\w ,']{0,40}\b(?:left arm|down (?:my|his|her) arm|jaw|(?:to|through to) "
        r"(?:my|his|her) back)\b|\bclutching (?:his|her|my) chest\b|\bchest (?:feels )?squeezed\b"
        r"|\b(?:pale|grey|gray|clammy) and (?:sweaty|sweating|clammy)\b[\w ,']{0,60}\b(?:arm|chest|"
        r"jaw|indigestion)\b|\bpain between (?:his|her|my) shoulder blades\b[\w ,']{0,30}\bsweat",
    ),
    _p(
        "breathing_more",
        "breathing",
        r"\b(?:can't|cannot) catch (?:my|his|her) breath at all\b|\bpuffs and it's not helping\b"
        r"|\bribs (?:are )?sucking in\b|\bpulling in under (?:his|her) ribs\b|\bgrunting\b"
        r"|\bblue (?:round|around) the (?:mouth|lips)\b|\bwhistling noise\b[\w ,']{0,30}\bribs\b",
        inherent=True,
    ),
    _p(
        "stroke_more",
        "stroke",
        r"\b(?:all of a )?sudden(?:ly)?\b[\w ,']{0,40}\b(?:talking nonsense|confused"
        r"|can't understand"
        r"|lost the sight|double|can't walk straight|weak|numb)\b|\blike a curtain came down\b"
        r"|\bside(?:'s| has)? gone (?:weak|numb|dead)\b|\bvision went double\b"
        r"|\bout of nowhere\b[\w ,']{0,30}\b(?:can't walk|can't see|can't speak|double)\b",
        inherent=True,
    ),
    _p(
        "unrousable",
        "unresponsive",
        r"\bcan't (?:rouse|wake) (?:him|her|them)\b|\bwon't respond\b|\bnot responding\b",
        inherent=True,
    ),
    _p(
        "overdose_more",
        "overdose",
        r"\b(?:double|triple) dose of (?:her|his|my) (?:morphine|insulin|methotrexate|fentanyl|"
        r"oxycodone|digoxin|warfarin)\b|\bbottle (?:open|opened)\b[\w ,']{0,40}\b(?:half empty|"
        r"empty|missing)\b|\bchewing (?:my|a|the) (?:nicotine|fentanyl) patch\b|\btwo fentanyl "
        r"patches\b|\bmethotrexate every day\b|\btaken (?:his|her) \w+ twice\b[\w ,']{0,30}"
        r"\b(?:sick|drowsy|confused|seeing)\b",
    ),
    _p(
        "anaphylaxis_more",
        "anaphylaxis",
        r"\bthroat feels like it's closing\b|\bhives\b[\w ,']{0,40}\b(?:voice|breath|swallow|"
        r"swelling|hoarse)\b|\bstruggling to swallow\b|\btongue feels (?:massive|huge|swollen)\b"
        r"|\beyes (?:are )?swelling shut\b|\blips (?:look|are|feel) (?:huge|massive|swollen)\b",
        inherent=True,
    ),
    _p(
        "seizure_more",
        "seizure",
        r"\bjerking all over\b|\bfoaming at the mouth\b|\bstill seizing\b|\bseizing\b"
        r"|\bjust had (?:one|a fit|a seizure) on the floor\b|\banother seizure straight after\b"
        r"|\btwitching down one side\b|\bshaking and (?:her|his) eyes are rolled back\b",
        inherent=True,
    ),
    _p(
        "bleeding_more",
        "bleeding",
        r"\bpumping blood\b|\bpouring blood\b|\bbleeding through (?:\w+ )?(?:towels?|pads?|"
        r"bandages?)\b|\bsoaking a pad every\b|\bbleeding with (?:big )?clots\b",
        inherent=True,
    ),
    _p(
        "sepsis_meningitis",
        "sepsis",
        r"\brash that (?:doesn't|does not|won't) fade\b|\bglass (?:test|on it)\b[\w ,']{0,30}"
        r"\brash\b|\bpurple spots\b|\b(?:skin|knees|legs)(?:'s| is| are)? (?:all )?(?:blue and )?"
        r"mottled\b|\bmottled\b|\bstiff neck\b[\w ,']{0,40}\b(?:light|rash)\b"
        r"|\bhigh-pitched cry\b|\bsoft spot\b[\w ,']{0,30}\bbulging\b"
        r"|\bhasn't had a wee all day\b|\b(?:had|on) chemo\b[\w ,']{0,60}\b(?:shaking|shivering|"
        r"temperature|fever|clammy|blotchy|going to die)\b|\b(?:shaking|shivering|temperature|"
        r"fever|clammy|blotchy)\b[\w ,']{0,60}\b(?:had|on) chemo\b",
        inherent=True,
    ),
    _p(
        "head_injury_more",
        "head_injury",
        r"\b(?:banged|hit|knocked|bumped) (?:his|her|my|their) head\b[\w ,']{0,60}\b(?:sick|"
        r"vomit\w*|throwing up|weird|headache|can't see|pupil|fluid|sleepy|drowsy|not (?:him|her)"
        r"self|confused)\b|\bknocked out\b[\w ,']{0,40}\b(?:throwing up|sick|vomit\w*|confused)\b"
        r"|\bone pupil(?:'s| is) bigger\b|\bfell (?:off|down)\b[\w ,']{0,40}\bhead\b[\w ,']{0,40}"
        r"\b(?:sleepy|drowsy|not (?:him|her)self|sick|confused)\b|\bfluid(?:'s| is)? coming out "
        r"of (?:his|her|my) (?:nose|ear)\b[\w ,']{0,30}\bhead\b",
        inherent=True,
    ),
)

MAX_SCAN_CHARS = 20_000

# A dark time told in the past tense ("I went through a really bad patch", "I was in a very
# dark place"): with nothing of now beside it, what it dates is history.
_DARK_TIME_PAST = (
    r"\b(?:i|he|she) (?:went through|was in|had|hit) (?:a |an )?(?:really |very |pretty |"
    r"quite )?(?:bad|dark|rough|tough|difficult|low|awful|terrible|horrible) (?:patch|place"
    r"|time|spell|period|phase|few (?:months|years))\b"
)
_UNITS = r"one|two|three|four|five|six|seven|eight|nine"
# A year as speech recognition writes it ("in twenty nineteen", "in nineteen ninety eight",
# "in two thousand and five"; issue 9, fifteenth round: train14's "after my husband died here in
# twenty nineteen" was not read as a date). Not "in twenty five minutes": no unit may follow.
# Only years at least four years before this round (2026): "in twenty twenty four" may be the
# time of a loss that is with the caller now. Dates only what sits right beside it
# (``_PAST_NEAR``), never a whole clause (a review found "...since I lost my job in twenty
# twenty four" silenced when it was in ``_HISTORY``).
_SPOKEN_YEAR = (
    r"\bin (?:twenty (?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen"
    r"|nineteen|twenty(?: (?:one|two))?)|nineteen (?:(?:fifty|sixty|seventy|eighty|ninety)"
    rf"(?: (?:{_UNITS}))?|(?:oh|o) (?:{_UNITS}))|two thousand(?: and)? (?:{_UNITS}|ten))\b"
    rf"(?! (?:minutes?|mins?|hours?|seconds?|days?|weeks?|months?|years?|tablets|pills|of"
    rf"|{_UNITS})\b)"
)
# A medical event told as history ("I had chest pain last year, it was reflux") is not an
# emergency happening now, unless the same clause says it is happening now as well.
_HISTORY = re.compile(
    r"\b(?:\d+|a|one|two|three|four|five|six|ten|a couple of|a few|several) (?:years?|months?|"
    r"weeks?) ago\b|\blast (?:year|month|winter|summer|spring|autumn|fall|christmas)\b"
    r"|\bin (?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december|(?:19|20)\d\d)\b|\bwhen (?:i|he|she|they) (?:was|were) (?:young|little|a "
    r"(?:kid|child|baby|teenager)|younger)\b|\bback in\b|\bturned out\b|\bin the end\b"
    r"|\bhistory of\b|\bbeen like that since\b|\bnormal for (?:me|him|her)\b"
    r"|\bused to\b|\bas a (?:teenager|kid|child|student)\b|\bfrom (?:19|20)\d\d\b"
    r"|\bin my (?:teens|twenties|thirties|twenties)\b"
)
# Being well now makes an event history too, except an overdose: the harm of some (paracetamol)
# shows days later, whatever the caller says of now.
_FINE_NOW = re.compile(
    r"\b(?:he's|she's|i'm|he is|she is) (?:fine|home|better|okay|ok|well|stable) now\b"
    r"|\ball fine\b"
)
# A medical event told as past or long-standing, with no sign that anything is happening now,
# is not an emergency. Unlike ``_HISTORY`` these cues must qualify the very event the pattern
# matched: they follow its words closely ("had chest pains last week", "breathless walking up
# the stairs, it's been like that for a year") or say the person is already in intensive care
# because of it ("in ICU after a cardiac arrest"), since a clause such as "suddenly can't
# breathe, I had surgery last week" dates another event. They explain away emergency
# patterns only (a self-harm attempt last week is still risk), and "yesterday" is not among
# them (an overdose taken yesterday is an emergency).
_PAST_EVENT_AFTER = re.compile(
    r"\blast week\b|\bthe other week\b|\ba fortnight ago\b"
    r"|\bbeen like (?:that|this) for (?:a|an|\d+|two|three|four|five|six|several|a few|a "
    r"couple of) (?:years?|months?)\b"
)
_PAST_EVENT_WINDOW = 40  # characters after the matched words (or before, for _IN_CARE_BEFORE)
_IN_CARE_BEFORE = re.compile(
    r"\b(?:in|on) (?:icu|itu|hdu|intensive care|high dependency) after (?:a |an |his |her |"
    r"their )?$"
)


# An act dated to years ago or to one's youth, close to its words ("years ago I took an
# overdose", "I took an overdose when I was nineteen"), is history for self-harm and
# emergency patterns alike. Unlike ``_HISTORY``, the date must sit next to the words it
# dates: "years ago I tried to hang myself and I want to kill myself" still raises the flag.
_PAST_NEAR = re.compile(
    r"\b(?:\w+ )?years (?:ago|back)\b|\bwhen (?:i|he|she) was (?:\d+|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|a teenager|at school|at uni|at "
    r"college|in my teens)\b"
    # issue 9, fourteenth round: a year ("in 2015"), years since, "back when I was"
    r"|\bin (?:19|20)\d\d\b|\bback when (?:i|he|she) was\b"
    r"|\b(?:\w+ )?years since (?:i|he|she) (?:last )?(?:tried|attempted|took|did|cut|hurt"
    r"|harmed|overdosed)\b"
    # issue 9, fifteenth round: a year said as words
    rf"|{_SPOKEN_YEAR}"
)
_DARK_TIME = re.compile(_DARK_TIME_PAST)
_DAYS = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
# A recent time in a clause told as history keeps its flag ("i self harmed in nineteen ninety
# eight and i self harmed on tuesday"; the fifteenth round's review).
_RECENT_TIMES = (
    r"last (?:night|week|weekend)|yesterday|today|tonight|this (?:week|month|morning|weekend"
    r"|year)|(?:over|at) the weekend|(?:\w+|a|a few|a couple of) (?:days?|nights?|hours?"
    rf"|minutes?) ago|(?:on |last |this )?{_DAYS}"
)
_RECENT_TIME = re.compile(rf"\b(?:{_RECENT_TIMES})\b")
# Wider, for a dark time or a told recovery: these times and any word of now or of since ("i
# went through a bad patch last month", "...and took an overdose last night").
_RECENT = re.compile(
    rf"\b(?:{_RECENT_TIMES}|last month|the other (?:day|night)|earlier|just|lately|recently"
    r"|at the moment|right now|since|again|anymore|any more)\b"
)
# Recovery told beside the history ("...two years since I tried, and I'm in a really good place
# now") is no statement that the act is with the caller now: its "now" does not keep the flag.
_WELL_NOW = re.compile(
    r"\b(?:now )?(?:i'm|im|i am|i've been|ive been) (?!not\b)(?:in a (?:really |much |very )?"
    r"(?:good|better|great|safe) place|(?:doing |feeling )?(?:really |much |so |a lot |very )?"
    r"(?:well|better|great|fine|good))(?: now| these days)?\b"
    # not "I'm well aware", "I'm better off", "I'm good and ready to go"
    r"(?! off| aware| at| with| and ready| to go)"
)
_PAST_NEAR_WINDOW = 30  # characters either side of the matched words
# A statement about now after a date ("...years ago and I want to kill myself", "...and now
# I..."); "ten years back and hurt myself" is one past statement.
_NEW_STATEMENT = re.compile(
    r"\bnow\b|\b(?:and|but|so|because|cause) (?:i'm|i am|i (?:just |really |still )?(?:want|wanna"
    r"|feel|keep|can't|cannot|will|think|need|have)|i've (?:still )?got|i have got|i've (?:bought"
    r"|kept|saved))\b"
)
# Any sign in the clause that it is with the caller now keeps the flag ("the urge to cut is
# back", "I still think about it", "I feel like that now").
_NOT_OVER = re.compile(
    r"\b(?:is|are|'s|'re|came|comes|coming) back\b|\bstill\b|\bnow\b|\blately\b|\brecently\b"
    r"|\bthese days\b|\bthe same (?:thoughts|feelings|urges)\b"
    # a means at hand now ("I tried to end it years ago and I've got the rope in the shed")
    r"|\b(?:i've|i have) (?:still )?got\b[\w ']{0,20}\b(?:rope|pills|tablets|knife|blade|razor"
    r"|gun|insulin|morphine)\b"
    # a statement about now after the act ("...years ago and I feel exactly the same way",
    # "...and I'm scared I'll do it", "...and the urges are really strong")
    rf"|{_NEW_STATEMENT.pattern}|\b(?:and|but|so) (?:the )?urges?\b"
    # a statement of now or of what comes, joined or not ("...years since I tried, I want to
    # die", "...now i'm going to finish it"; issue 9, fourteenth round's review)
    r"|\bi (?:just |really |still )?(?:want|wanna)\b|\bi need to\b"
    r"|\bi(?:'m| am) (?:just |really )?(?:going|gonna|planning)\b"
    r"|\bi(?:'ve| have) (?:just )?(?:taken|swallowed|decided|written|made)\b"
    r"|\bi(?:'ll| will)\b|\b(?:he|she)(?:'s| is) (?:collapsed|unconscious|not breathing)\b"
)


# Told as history, but with the caller now: "lately", "the same thoughts" (narrower than
# ``_NOT_OVER``: "my notes still mention it", "stable now" are history).
_WITH_IT_NOW = re.compile(
    r"\b(?:lately|recently|these days|the same (?:thoughts|feelings|urges)"
    r"|(?:thoughts|urges|feelings) (?:are|have|'ve|'re) (?:come |coming )?back)\b"
)


def _dated_dark_time(clause: str, start: int, end: int, before: str) -> bool:
    """The words at ``clause[start:end]`` belong to a dark time dated to years ago (issue 9,
    fifteenth round): the date beside a dark time told in the past, and the dark time beside
    the words ("in twenty nineteen i went through a really bad patch i wanted to die"), or a
    sentence of its own just before the clause ("Four years ago I was in a really dark place.
    I took an overdose and ended up in A&E"). A recent time keeps the flag."""
    if _RECENT.search(clause):
        return False
    for d in _DARK_TIME.finditer(clause):
        if not (start - d.end() <= _PAST_NEAR_WINDOW and d.start() - end <= _PAST_NEAR_WINDOW):
            continue
        if any(
            d.start() - m.end() <= _PAST_NEAR_WINDOW and m.start() - d.end() <= _PAST_NEAR_WINDOW
            for m in _PAST_NEAR.finditer(clause)
        ):
            return True
    # the sentence before, when the clause begins a sentence right after it
    if not before or not re.search(r"[.!?]\s*$", before):
        return False
    sentence = re.split(r"(?<=[.!?])\s+", before.rstrip())[-1]
    return (
        start <= _PAST_NEAR_WINDOW
        and _DARK_TIME.search(sentence) is not None
        and _PAST_NEAR.search(sentence) is not None
        and _RECENT.search(sentence) is None
        and _NOT_OVER.search(_PAST_NEAR.sub(" ", sentence)) is None
    )


def _dated_long_ago(clause: str, start: int, end: int, after: str = "", before: str = "") -> bool:
    """The red-flag words at ``clause[start:end]`` are dated to years ago, right beside them.
    ``after`` is the text after the clause: recovery words at the clause's end do not
    make it history when the next words speak of now ("...and I'm fine but I'm going to
    try it again")."""
    # The date's span may take in the last word of the red-flag words ("harming himself
    # years ago": "himself years ago"), so they may touch or overlap.
    near = any(
        start - m.end() <= _PAST_NEAR_WINDOW and m.start() - end <= _PAST_NEAR_WINDOW
        for m in _PAST_NEAR.finditer(clause)
    )
    if not near and not _dated_dark_time(clause, start, end, before):
        return False
    unwell = _PAST_NEAR.sub(" ", clause)
    rest = _WELL_NOW.sub(" ", unwell)
    if rest != unwell and _NOT_OVER.search(after[:_AFTER_RECOVERY_WINDOW]):
        return False
    return (
        _ACUTE.search(rest) is None
        and _NOT_OVER.search(rest) is None
        and _RECENT_TIME.search(rest) is None
    )


_AFTER_RECOVERY_WINDOW = 80  # characters after a clause that ends in recovery words


# Taking up an activity again ("can she start swimming again", "when can he drive again") is
# no sign that the event a history clause tells of is happening again.
# An activity must be named: "it's starting again" is the event coming back.
_ACTIVITY_AGAIN = re.compile(
    r"\b(?:start|starting|go back to|get back to|begin|resume|can (?:i|he|she|we|they)"
    r"|when (?:can|will) (?:i|he|she|we|they))\s+(?:\w+ing|drive|swim|work|walk|run|fly"
    r"|travel|exercise|play|cycle|dance|garden|lift|bath|shower)\b[\w ]{0,20}\bagain\b"
)


_TURN_TO_NOW = re.compile(
    r"\b(?:and|but) now (?:my|our|his|her|he|she|they|i|the)\b"
    r"(?! (?:\w+ )?(?:is|are|'s|'re|am|'m) (?:fine|ok|okay|alright|all right|better|well|stable"
    r"|home|recovering|doing)\b)"
)


def _told_as_history(clause: str, fine_now_counts: bool = True) -> bool:
    """The clause dates its events to the past (``_HISTORY``, and ``_FINE_NOW`` unless told
    otherwise) and says nothing of now."""
    dated = _HISTORY.search(clause) is not None or (
        fine_now_counts and _FINE_NOW.search(clause) is not None
    )
    if not dated:
        return False
    rest = _ACTIVITY_AGAIN.sub(" ", _FINE_NOW.sub(" ", _HISTORY.sub(" ", clause)))
    return _ACUTE.search(rest) is None


# Breathlessness that comes with effort and is told as a habit ("gets breathless walking up the
# stairs", "short of breath when he climbs hills") is a long-standing symptom for the GP, not
# an emergency, unless something in the clause says it is happening now.
_EXERTION = re.compile(
    r"\b(?:gets?|always|usually|often) (?:a bit |quite |very |really |so |a little )?"
    r"(?:breathless|short of breath|out of breath) (?:walking|climbing|going up|on (?:the )?stairs"
    r"|on exertion|when (?:i|he|she|they) (?:walk|climb|go up|exercise|run))\b"
)
_EXERTION_SENSITIVE = frozenset({"struggling_breathe"})

# A seizure or a choking episode on an earlier day that has stopped, with the person fine now
# ("had a seizure at school yesterday. It stopped after a minute and he's fine today", "a
# choking episode at lunch yesterday. We cleared it quickly and she's fine"), is not happening
# now. Only these two: an overdose or chest pain yesterday is still urgent whatever the caller
# says of now. Anything happening now elsewhere in the text keeps the flag ("again", "still").
_EARLIER_DAY = re.compile(
    r"\b(?:yesterday|last night|at the weekend|over the weekend|(?:on|last) (?:mon|tues|wednes"
    r"|thurs|fri|satur|sun)day|last week)\b"
)
_RESOLVED = re.compile(
    r"\b(?:(?:he|she|they)(?:'s| is| are|'re|'s been| has been) (?:fine|okay|ok|alright"
    r"|all right|back to (?:normal|himself|herself|themselves))"
    r"|it stopped|(?:we |they )?cleared it|came round)(?: (?:now|today|this morning|since))?\b"
)
# Anything that is not well, or a denial anywhere, keeps the flag: "she's not back to
# normal", "it hasn't stopped", "he's fine but his breathing sounds awful".
_ALARM = re.compile(
    r"\b(?:breath\w*|wake|woken|waking|drowsy|sleepy|pale|blue|grey|gray|pain\w*|hurt\w*"
    r"|bleed\w*|sick|vomit\w*|confused|awful|worse|again|still|another|not|never|no)\b|n't\b"
)
_RESOLVED_SENSITIVE = frozenset({"seizure", "choking"})
# An episode already seen to in hospital and sent home ("I was brought in on Thursday with
# chest pains and they sent me home the same night", "fainted at church on sunday and came
# round in a and e, they let me go yesterday"): follow-up business, unless anything is said
# to be happening now, again or worse.
_SEEN_AND_SENT_HOME = re.compile(
    r"\b(?:sent (?:me|him|her|them|us) home|let (?:me|him|her|them) (?:go|home)|discharge letter"
    r"|(?:i was|i've been|i got|he was|she was|he's been|she's been) discharged"
    r"|came round in (?:a and e|a&e|hospital|the ambulance)"
    r"|(?:he's|she's|i'm|they're|he is|she is|i am) (?:back )?home (?:now )?(?:and|,) (?:doing )?"
    r"(?:fine|well|better|ok|okay|recovering)"
    r"|the hospital (?:said|told|want\w*) (?:me |us |him |her )?to (?:ring|call|book|see|get))\b"
)
_EPISODE_NOT_OVER = re.compile(
    r"\b(?:again|worse|still|back|another|now|keeps?|kept|started|starting|i have|i've got"
    r"|(?:he|she|they|it) (?:has|have)|(?:he|she|it)'s got|(?:is|are|am|'s|'re|'m) having"
    r"|can't|cannot|won't)\b"
)


def _seen_and_sent_home(clause: str, text: str) -> bool:
    """The emergency words in ``clause`` are of an episode dated to an earlier day and seen to
    in hospital, and nothing in ``text`` says it is happening now, again or worse."""
    return (
        _SEEN_AND_SENT_HOME.search(text) is not None
        and (
            _EARLIER_DAY.search(clause) is not None
            or _SEEN_AND_SENT_HOME.search(clause) is not None
        )
        and _EARLIER_DAY.search(text) is not None
        and _ACUTE.search(text) is None
        and _EPISODE_NOT_OVER.search(text) is None
    )




def _resolved_earlier(clause: str, text: str) -> bool:
    """The event in ``clause`` is dated to an earlier day, the text says it is over and the
    person is fine, and nothing in the text says it is happening now or is not well."""
    if _EARLIER_DAY.search(clause) is None or _RESOLVED.search(text) is None:
        return False
    rest = _RESOLVED.sub(" ", text)
    return _ACUTE.search(rest) is None and _ALARM.search(rest) is None


# "They told me to watch his temperature" on chemo is advice, not a fever: with no fever named
# anywhere (a high or raised temperature, shivering, a reading of 37.5 or more), it raises
# nothing.
_TEMPERATURE_ADVICE = re.compile(
    r"\b(?:watch|check|checking|monitor|monitoring|keep an eye on|take|taking|measure)"
    r" (?:his |her |my |their |the )?temperature\b"
)
_FEVER = re.compile(
    r"\b(?:high|raised|spiking|fever\w*|burning up|shaking|shivering|rigors|clammy|blotchy"
    r"|hot|boiling|warm|gone up|going up|thirty[- ]eight|thirty[- ]nine|forty"
    r"|3[89](?:\.\d)?|37\.[5-9]|40(?:\.\d)?|10[0-5](?:\.\d)?)(?: ?(?:c|f|degrees))?\b"
)


def _past_event(clause: str, start: int, end: int) -> bool:
    """The emergency words at ``clause[start:end]`` are dated to the past or to long ago."""
    after = _PAST_EVENT_AFTER.search(clause, end, min(len(clause), end + _PAST_EVENT_WINDOW))
    before = _IN_CARE_BEFORE.search(clause[max(0, start - _PAST_EVENT_WINDOW) : start])
    if after is None and before is None:
        return False
    return _ACUTE.search(_PAST_EVENT_AFTER.sub(" ", clause)) is None


# Everyday plans share words with farewells ("putting my affairs in order because I'm moving").
_EVERYDAY = re.compile(
    r"\b(?:moving|move (?:in|to|into)|holiday|solicitor|abroad|overseas|sheltered housing|care "
    r"home|retir\w+|transfer|stop(?:ping)? smoking|quit smoking|give up smoking|new job"
    r"|capacity letter|power of attorney|on my way|travel\w*)\b"
    r"|\b(?:she|he)(?:'s| is) leaving\b|\bbefore (?:she|he) leaves\b"
)
# Words that no everyday reason explains: being gone for ever ("we're moving to Spain and I
# won't be around much longer"), or the caller's own end. ``_FINAL_WORDS`` is too wide here:
# "goodbye", "tonight", "for good" and "anymore" are how people talk of moving and stopping
# smoking ("I'm moving to Leeds so I won't be around here anymore").
_NO_RETURN = re.compile(
    r"\b(?:much longer|forever|for ever|end it|end my life|without me|better off)\b"
)
# Words that keep a goodbye a farewell whatever else is said.
_FAREWELL_RISK = re.compile(
    r"\b(?:myself|end it|end my life|die|dead|kill|suicid\w*|better off|burden|not be here"
    r"|won't be here|can't go on|no point|for good|forever|tablets|pills|rope|bridge"
    r"|nothing stopping me|better place|at peace|where i'm going|see (?:him|her|them) again"
    r"|join (?:him|her|them)|the end|last goodbye|find (?:me|it|them|the letters?)|to find"
    r"|be with (?:my \w+|him|her|them))\b"
)
# The everyday reasons that are call business for the learned model too (``_explained_away``):
# not "on my way" or travel, which a farewell can be said with ("on my way to the woods").
_EVERYDAY_BUSINESS = re.compile(
    r"\b(?:moving|move (?:in|to|into)|holiday|solicitor|abroad|overseas|sheltered housing|care "
    r"home|retir\w+|transfer|stop(?:ping)? smoking|quit smoking|give up smoking|new job"
    r"|capacity letter|power of attorney)\b"
)
# Indirect patterns that an everyday reason explains away.
_EVERYDAY_SENSITIVE = frozenset(
    {
        "affairs_in_order",
        "wont_be_around",
        "saying_goodbye",
        "decided_tonight",
        "no_future_needed",
        "not_calling_again",
    }
)
# Absence words said with an ordinary, bounded reason right after them are call business, not
# a farewell: a bounded span or a return ("I won't be around for three weeks", "when I'm gone
# on Saturday - I'm in hospital for three nights", "won't be around, I'm in Cornwall till
# Easter", "back on the 5th") or a named ordinary event ("I won't be here to hear it - I'm away
# at my son's wedding", "working offshore", "on holiday", "if the baby comes this weekend").
# The reason must follow within ``_ORDINARY_AFTER_WINDOW`` characters in the same clause, and a
# word of finality anywhere in the clause keeps the flag. Still flagged: "I won't be
# around for my next appointment", "I won't be around for much longer", "I won't be here by
# Easter", "when I'm gone on Saturday" (a day alone is no reason), "away for good".
_BOUNDED_ABSENCE = re.compile(
    r"\bfor (?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|a couple of|\d+)"
    r" (?:days?|nights?|weeks?|months?|fortnight)\b"
    r"|\b(?:till|until|til) (?:easter|christmas|the new year|half[- ]term|(?:mon|tues|wednes"
    r"|thurs|fri|satur|sun)day|next (?:week|month)|the (?:\d+|\w+)(?:st|nd|rd|th)|the end of"
    r" (?:the|next) (?:week|month)|(?:i|we)(?:'m| am| are|'re) back|(?:i|we) (?:get|come) back)\b"
    r"|\bback (?:on|by) (?:the \d+|\w+day)\b|\bback next (?:week|month|\w+day)\b"
    r"|\bon (?:holiday|a cruise|my honeymoon|a course)\b|\bworking (?:offshore|away)\b"
    r"|\baway at\b|\bat (?:my|our|a|the) (?:\w+'s )?(?:wedding|christening|graduation)\b"
    r"|\bin hospital for\b|\bif the baby (?:comes|arrives|is born|'s born)\b"
)
_ORDINARY_AFTER_WINDOW = 60  # characters after the matched words
_ABSENCE_SENSITIVE = frozenset({"wont_be_around"})
# A return the caller plans ("I'll book in when I'm back in April", "once we get back"): an
# absence with a return is no farewell (issue 9, fifteenth round; ``_ordinary_absence``).
_RETURN_PLANNED = re.compile(
    r"\b(?:when|once|after|as soon as) (?:i|we)(?:'m| am|'re| are| get| come| got) back"
    r"\b(?! for good)"
)
_RETURN_SENSITIVE = frozenset({"wont_be_around", "affairs_in_order"})
# An ordinary reason for being away (issue 9, fifteenth round: train15a/b's callers were away
# visiting family, relocating, emigrating, going home to Cork, having a gallbladder out), read
# near the absence words of ``_RETURN_SENSITIVE`` by ``_ordinary_absence``.
_AWAY_REASON = re.compile(
    r"\b(?:relocat\w*|emigrat\w*|visit(?:ing|in\b)|deferring|moving|move (?:to|house|away)"
    r"|(?:going|heading|flying|travelling|traveling) (?:home|back) to \w+"
    r"|(?:flying|travelling|traveling) (?:out )?to \w+|going away for"
    r"|(?:having|getting|booked in for) (?:my |an? |the )?[\w ]{0,20}(?:out|done|removed"
    r"|operation|surgery|op|replacement)|(?:started|starting) (?:a new job|nights|night shifts?"
    r"|shifts|work|uni|college))\b"
)
_REASON_NEAR = 100  # characters either side of the absence words
# What no ordinary absence says: a place or a way of dying, a cover story, a letter or a note,
# not expecting to come back, a return denied ("not that I'll be back").
_ABSENCE_RISK = re.compile(
    r"\b(?:grave|cemetery|crematorium|dignitas|zurich|switzerland|beachy head|cliffs?|bridge"
    r"|do it|letters?|note|(?:my|a) will|whoever finds|expect to (?:come|be) (?:out|back)"
    r"|nobody asks"
    r"|cover|not that|won't be back|wont be back|never|chemist|pharmacy|paracetamol|tablets"
    r"|pills|rope|car|garage|woods|forest|lead|coming round|wake up|made sure|on my own"
    r"|by myself|alone|love|sorry|forgive|it'll be done|be over|that's it|for the last)\b"
)
# Absence words that no reason bounds: "won't be around after Friday", "...after that",
# "much after", "by Christmas", "anymore".
_OPEN_ENDED = re.compile(r"\s*(?:much )?(?:after|by|past|beyond|anymore|any more|again|longer)\b")


def _ordinary_absence(lower: str, start: int, end: int, after_words: str) -> bool:
    """An ordinary reason for being away (``_AWAY_REASON``) or a planned return
    (``_RETURN_PLANNED``) said within ``_REASON_NEAR`` characters of the absence words at
    ``lower[start:end]``, which no open end follows, in a text that speaks of no finality,
    risk, or a place or way of dying (issue 9, fifteenth round, narrowed by its review)."""
    if _OPEN_ENDED.match(after_words):
        return False
    near = lower[max(0, start - _REASON_NEAR) : end + _REASON_NEAR]
    if _AWAY_REASON.search(near) is None and _RETURN_PLANNED.search(near) is None:
        return False
    return not (
        _FINAL_WORDS.search(lower)
        or _FAREWELL_RISK.search(lower)
        or _NO_RETURN.search(lower)
        or _ABSENCE_RISK.search(lower)
    )


# "I just wanted it to be over" said of a procedure or a wait ("I had the colonoscopy without
# sedation because I just wanted it to be over") is no wish to die.
_PROCEDURE = re.compile(
    r"\b(?:colonoscopy|endoscopy|scans?|smear|tests?|operation|op|surgery|procedure|appointment"
    r"|biopsy|injection|jab|wisdom teeth|tooth|filling|treatment|chemo|labour|exam|interview"
    r"|waiting|the wait|sedation)\b"
)
# Help that will not be needed much longer because the caller is getting better ("the carers
# won't have to come in for me much longer, my leg's healing", "once I can drive").
_RECOVERY = re.compile(
    r"\b(?:nurses?|carers?|physio\w*|dressings?|visits|district nurse|the clinic)\b"
    r"|\b(?:heal\w*|recover\w*|on the mend|getting (?:better|stronger)|back on my feet"
    r"|once i (?:can|am|'m|get|have)|when i (?:can|get)|as soon as i)\b"
)
# Words of finality or of a plan that keep any flag a reason would otherwise explain away.
_FINAL_WORDS = re.compile(
    r"\b(?:for good|forever|for ever|anymore|any more|much longer|again|never|funeral|goodbyes?"
    r"|miss me|without me|better off|burden|tonight|end it|last time|myself|hang\w*|neck"
    r"|noose|ever|maybe|ready|waiting for|taken|beam|tree|loft|hook|staring)\b"
)


def _explained_after(reason: re.Pattern[str], clause: str, start: int, end: int) -> bool:
    """An ordinary ``reason`` follows the words at ``clause[start:end]`` closely (or ends them:
    "won't need the next one if the baby comes"), and nothing in the clause speaks of
    finality."""
    if reason.search(clause, start, min(len(clause), end + _ORDINARY_AFTER_WINDOW)) is None:
        return False
    return _FINAL_WORDS.search(clause) is None


# The same ordinary absence told the other way round: being away for a bounded time said just
# before the words ("I'm flying out for work for a month and I won't be around for my bloods",
# "we're away for a fortnight from Saturday, I won't be here for the nurse visit"). Both a going
# away (``_AWAY_BEFORE``) and a bounded span or event (``_BOUNDED_ABSENCE``) must come within
# ``_ORDINARY_BEFORE_WINDOW`` characters before the words, in the same clause, and a word of
# finality anywhere in the clause keeps the flag ("going away for good"). "For a month I've
# planned it and I won't be around" names no going away, and stays flagged.
_AWAY_BEFORE = re.compile(
    r"\b(?:flying (?:out|off|to|back)|fly(?:ing)? out|going (?:away|abroad|on (?:holiday|a trip"
    r"|a cruise))|away|abroad|offshore|working away|in hospital|staying with (?:my|our)"
    r"|visiting (?:my|our)|on (?:holiday|a cruise|a course))\b"
)
_ORDINARY_BEFORE_WINDOW = 80  # characters before the matched words
_SPAN_NEAR = 30  # characters after the going away where its bounded span must begin
# A stay told in the past is no reason for an absence to come ("I was in hospital for two
# weeks after my overdose and I won't be here by Christmas"), and absence words ending in
# "by", "after" or "anymore" are not bounded by the stay.
_PAST_STAY = re.compile(r"\b(?:was|were|had been|been)\b")
_UNBOUNDED_AFTER = re.compile(r"\s*(?:by|after|anymore|any more|again|much longer)\b")


def _away_before(clause: str, start: int, end: int) -> bool:
    """A bounded time away is told just before ``clause[start:end]`` (the span right after the
    going away), and nothing in the clause speaks of finality."""
    before = clause[max(0, start - _ORDINARY_BEFORE_WINDOW) : start]
    if _PAST_STAY.search(before) or _UNBOUNDED_AFTER.match(clause, end):
        return False
    if _FINAL_WORDS.search(clause):
        return False
    return any(
        _BOUNDED_ABSENCE.search(before, m.end(), min(len(before), m.end() + _SPAN_NEAR))
        for m in _AWAY_BEFORE.finditer(before)
    )


# Rope bought for a practical purpose named right after it ("bought rope at the garden centre
# to tie the ladder off", "got some rope for the washing line"). "I've bought a rope" and
# "bought rope to tie round the beam" still flag, as does any word of finality in the clause.
_ROPE_PURPOSE = re.compile(
    r"\bto tie (?:down |up |off )?(?:the |a |my |our )?(?:ladder|tarp\w*|boat|trailer|load"
    r"|roof rack|tent|shed|fence|gate|bins?|logs|boxes|sofa|mattress|trampoline"
    r"|garden furniture|tree house|climbing frame)\b"
    r"|\bfor (?:the |a |my |our )?(?:washing|clothes) ?line\b"
    r"|\bfor (?:the |my |our )?(?:runner beans|beans|sweet peas|tomatoes|climbers|garden"
    r"|allotment|greenhouse)\b"
    r"|\bfor (?:the |a |my |our )?(?:boat|tent|swing|trailer|tarp|climbing|dog|tug of war)\b"
)
# "take all my morning tablets" is a day's regimen, not every tablet in the house: "all my"
# bounded by a time of day or by usual, regular or daily. "I took all my tablets", "all my
# morning tablets, the whole box" and "too many of my usual tablets" still flag.
_REGIMEN_DOSE = re.compile(
    r"\ball (?:of )?my (?:usual |normal |regular |daily )?(?:morning|evening|night-?time"
    r"|bedtime|lunchtime|teatime|usual|normal|regular|daily) (?:tablets|pills|meds|medication"
    r"|medicines)$"
)
_EXCESS = re.compile(
    r"\b(?:whole|entire|every|month's|week's|supply|box|packet|bottle|the lot|double|twice"
    r"|too many|too much|extra|more than|handful|overdos\w*|on purpose|deliberately"
    r"|in one go|at once|all at the same time|and all|as well|the rest|for the (?:next|week)"
    r"|days' worth|weeks' worth|(?:husband|wife|partner|mum|mom|dad|son|daughter)'s)\b"
)
# Medicines kept to hand back or for an ordinary reason ("collecting the old tablets to take
# back to the pharmacy", "hiding my tablets because of the side effects"), with no word of
# finality in the clause (``_FINAL_WORDS``), are not a stockpile.
_STOCK_REASON = re.compile(
    r"\b(?:take (?:them |it )?back|taking (?:them |it )?back|hand (?:them |it )?(?:back|in)"
    r"|return(?:ing)?|pharmacy|chemist|disposal|dispose|side effects?|holiday|trip|travel\w*"
    r"|abroad|shortage|run out|running out)\b"
)
# Medicines handed back or disposed of ("So I can just take them all back to the chemist in a
# bag", "can I bring Dad's morphine to the pharmacy", "how do I dispose of the patches"). The
# words are a plan's ("take them all"), and the learned red-flag model escalated the grief
# call's line out of fold in rounds 7 and 8. Where a text says this, no pattern raised anything
# and nothing in it keeps the risk open (``_FINAL_WORDS``, ``_KEEPING``, a denied return), the
# learned model is not consulted: the patterns decide, as for a text whose crisis words were all
# denied (``CrisisResult.learned_model_applies``). Issue 9, ninth round.
_RETURNING = re.compile(
    r"\b(?:take|takes|taking|took|bring|brings|bringing|brought|drop|dropping|dropped|hand"
    r"|handing|handed|return|returning|returned|put|putting)\b[\w ,']{0,40}?"
    r"\b(?:to|in at|in to|off at|into|for) (?:the |a |any |your |my |our )?(?:local )?"
    r"(?:chemist'?s?|pharmacy|pharmacist|dispensary)\b"
    r"|\bback to (?:the |a |any |your )?(?:chemist'?s?|pharmacy|pharmacist|dispensary)\b"
    r"|\bdispos(?:e|al|ing) of\b|\b(?:take-?back|returns?|disposal) (?:scheme|service|program\w*"
    r"|bin|bag)\b|\bget rid of (?:them|it|these|those|the \w+|(?:\w+ )?\w+'s \w+) safely\b"
    # to a pharmacy on the line: "do you want them all brought in", "can I bring the lot back"
    r"|\b(?:bring|brought|hand|handed|drop|dropped) (?:them|it|these|those|the lot|everything)"
    r"(?: all)? (?:in|back)\b|\b(?:them|these|those|the lot|everything)(?: all)?"
    r" (?:brought|handed|dropped) (?:in|back)\b"
)
# Words that keep a return from explaining anything: keeping or hiding the medicines, an amount
# or a way of taking them.
_KEEPING = re.compile(
    r"\b(?:instead|keep|keeping|kept|hold(?:ing)? on|hid|hidden|hide|hiding|enough|all at once"
    r"|in one go|swallow\w*|overdos\w*|stockpil\w*|saved|saving|stash\w*)\b"
    r"|\btake (?:them|it|the lot|these|those) all\b(?! back)"
    # some taken already, someone unwell now, wanting to follow the dead, despair
    r"|\b(?:took|taken|swallowed|had|used) (?:most|some|loads|half|a few|a lot|lots|a couple)\b"
    r"|\b(?:drowsy|sleepy|breathing|unconscious|wake (?:him|her|them) up|won't wake)\b"
    r"|\b(?:be with|join) (?:him|her|them)\b|\b(?:what's|what is|no) (?:the )?point\b"
    r"|\b(?:can't|cannot) (?:cope|go on|take (?:it|this|any more))\b"
    r"|\b(?:want|wanna|wanted) to (?:die|end|go)\b|\bkill myself\b"
)
# What is handed back must be medicines: named anywhere in the words, or "them" / "it" taken to
# the pharmacy ("take them all back to the chemist"). "Took the bus to the pharmacy" and
# "dispose of his clothes" are no return of medicines.
_MEDICINE_WORD = re.compile(
    rf"\b(?:{_MEDICINES[3:-1]}|medicine|patch(?:es)?|inhalers?|pens|syringes?|syringe driver"
    r"|oxycodone|fentanyl|tramadol|liquid|prescriptions?|drugs|injections|antibiotics|sharps"
    r"|dressings|supplies|blister packs?|strips?)\b"
)
_TO_PHARMACY_OBJECT = re.compile(r"\b(?:them|it|these|those|the lot|everything)\b")
_RETURN_MAX_WORDS = 40  # longer words say more than a return, and the model reads them all


# Words that only accept an offer or thank (issue 9, sixteenth round). The learned model read
# "that would be amazing" at p(self-harm) 0.994 and "that would be wonderful" as urgent too
# (its training risk rows say "it would be easier if..."): an ordinary call's "Shall I book
# you in?" - "Oh that would be amazing, thank you" escalated to a supervisor (train14). Such
# words say nothing of the caller's state, so the model is not consulted on them. Only these
# words, in any order: anything else ("a relief", "better", "easier", "for everything", "not
# to wake up") and the model reads the text as before.
_ACCEPTANCE_WORD = (
    r"(?:oh|ah|aw|ooh|yes|yeah|yep|yup|ok|okay|right|alright|all right|well|um|uh|erm|er|mm"
    r"|please|that|that'd|thatd|that's|thats|this|it|it'd|itd|it's|would|will|be|sounds"
    r"|sound|so|really|very|just|absolutely|definitely|honestly|thank|thanks|you|much|ta"
    r"|cheers|lovely|amazing|great|brilliant|perfect|wonderful|fantastic|ideal|grand|fab"
    r"|fabulous|super|smashing|excellent|good|fine|helpful|kind|marvellous|champion|nice"
    r"|love|indeed|sure|of course|no problem)"
)
_ACCEPTANCE = re.compile(rf"[\s,.!?'-]*(?:{_ACCEPTANCE_WORD}\b[\s,.!?'-]*)+")


def _keeps_risk_open(text: str) -> bool:
    """A word of finality (``_FINAL_WORDS``) or of keeping, taking or despair (``_KEEPING``)."""
    return _FINAL_WORDS.search(text) is not None or _KEEPING.search(text) is not None


def _returns_medicines(lower: str) -> bool:
    """The words (at most ``_RETURN_MAX_WORDS``) hand medicines back or dispose of them
    (``_RETURNING``, not denied), and nothing in them keeps the risk open."""
    if len(lower.split()) > _RETURN_MAX_WORDS:
        return False
    if _keeps_risk_open(lower):
        return False
    named = _MEDICINE_WORD.search(lower) is not None
    for cs, ce in clause_spans(lower):
        clause = lower[cs:ce]
        for m in _RETURNING.finditer(clause):
            if _negation_cue(clause, m.start()) is not None:
                continue
            words = m.group(0)
            if named or (
                _TO_PHARMACY_OBJECT.search(words) and re.search(r"chemist|pharmac", words)
            ):
                return True
    return False


# Everyday tedium that "losing the will to live" is said of ("this hold music", "three forms for
# one blood test", "the queue at the chemist", "on the phone all morning"), or a laugh after it.
_TEDIUM = re.compile(
    r"\b(?:this|the|these|that|your) (?:\w+ )?(?:hold|music|queue|paperwork|forms?|meeting"
    r"|waiting room|traffic|automated \w+|options|menu|admin|website|app)\b"
    r"|\bon (?:the )?phone all (?:morning|afternoon|day)\b|\bon hold\b|\b(?:ha|haha|lol|bored"
    r"|boring)\b"
)
_TEDIUM_EXPLAINS = frozenset({"will_to_live", "no_will_to_live"})
# A method said as what a chore would drive one to ("if I have to fill in this form one more
# time I'll throw myself off a bridge", "if i have to do the medical section again im gonna
# jump out the window"): exasperation, when the condition before it is call business.
_ADMIN_CONDITION = re.compile(
    r"\bif (?:i|they|you) (?:have|had|'ve got|need|put|keep|make) (?:to )?(?:[\w']+ ){0,8}?"
    r"(?:form|forms|section|paperwork|hold|queue|phone|ring|call|press|menu|explain|repeat"
    r"|website|app|password|questions?)\b"
)
_ADMIN_CONDITION_EXPLAINS = frozenset({"method", "method_future", "plan_place", "at_height"})
# A journey past a level crossing or a bridge ("I'm at the level crossing, the barriers are
# down, I'll ring you back"), with nothing of an end said (``at_height``).
_JOURNEY = re.compile(
    r"\b(?:on (?:my|the) way|late for|barriers?|to pass|i'll be there|ring you back|call you back"
    r"|running late|appointment|traffic|bus|driving|stuck|surgery|walking the dog)\b"
)
_JOURNEY_NOT = re.compile(
    r"\b(?:jump\w*|edge|over the|goodbye|no point|can't do this|end|want to|going to|gonna"
    r"|waiting for the (?:next|fast|express|freight)|looking down)\b"
)
# A day's tablets taken as told ("I took all my tablets this morning like I'm supposed to"):
# adherence, when nothing in the clause says more was taken (``_EXCESS``) or an end is in view.
_AS_TOLD = re.compile(
    r"\b(?:as|like) (?:i'm|i am|i was|we're|you're) (?:supposed|meant|told)(?: to)?\b"
    r"|\b(?:as|like) it says\b"
    r"|\b(?:as|like) (?:the )?(?:doctor|gp|nurse|pharmacist|consultant|chemist) (?:said|told me)\b"
    r"|\bas (?:prescribed|directed|usual|normal|always)\b|\blike (?:normal|always|usual)\b"
)
# Words of a parting beside a message freeing someone of blame (``farewell_blame``).
_PARTING_CUE = re.compile(
    r"\b(?:(?:her|his|their) (?:mum|mam|mom|mother|dad|father|nan|gran|grandad) loved"
    r"|i (?:always )?(?:loved|love) (?:her|him|them)|said (?:thanks and |thank you and )?goodbye"
    r"|say goodbye|whatever happens(?! (?:we|they|you)\b)|fault what happens"
    r"|(?:when|once) (?:she|he|they) finds? out(?! about)|looking for me|when i'm gone"
    r"|after i'm gone|made up my mind(?! to)|my mind's made up(?! to)"
    r"|if (?:she|he|they) (?:ever )?(?:calls?|rings?|phones?) (?:you|looking|here))\b"
)
# Breathlessness told as a course over weeks or months ("getting more and more short of breath
# for a month", "breathless all the time now with her COPD"): a review, unless anything is
# acute (``_ACUTE``) or severe (``_BREATH_SEVERE``).
_CHRONIC_COURSE = re.compile(
    r"\b(?:over|for|in) (?:the )?(?:last|past) (?:few |couple of |two |three |four |six "
    r"|several )?(?:weeks|months|years)\b|\bfor (?:like |about |over |nearly )?(?:a|two|three"
    r"|four|six|several|a few|a couple of) (?:weeks|months|years)\b|\bsince the (?:summer"
    r"|spring|autumn|winter|new year|christmas)\b|\b(?:worse and worse|more and more)\b"
)
_BREATH_SEVERE = re.compile(
    r"\b(?:can't|cannot|can not|couldn't) (?:breathe|speak|talk|get (?:a|his|her|my) breath"
    r"|finish)|\b(?:blue|grey|gray|lips|gasping|struggling to (?:speak|talk)|worse (?:today"
    r"|tonight|this morning)|ambulance|999|911|collaps\w*|chest pain)\b"
)
_FAREWELL_THANKS = re.compile(
    r"\b(?:thank you|thanks|cheers|ta ra|take care|goodbye|bye|kind to me|listening)\b"
)
# A complaint or a move says why someone will not call again.
_NOT_CALLING_REASON = re.compile(
    r"\b(?:useless|rubbish|complain\w*|disgrace\w*|waste of time|ridiculous|pathetic"
    r"|incompetent|switching|moving|changing|new (?:gp|practice|surgery|pharmacy|doctor)"
    r"|passed|died|emigrat\w*|relocat\w*|take over|taking over|until|till|review|sorted"
    r"|results? (?:came|are|is)|discharged|about (?:this|that|it|the|my|his|her))\b"
)
# Arrangements for after a death that an illness will bring ("Can you make sure my wife gets
# the repeat prescription after I'm gone" from a hospice patient, "once I'm gone, who do they
# ring to certify the death") are end-of-life care, not a plan, when the words name that care
# and nothing of a means, a time or finality.
_END_OF_LIFE = re.compile(
    r"\b(?:hospice|palliative|terminal\w*|end of life|(?:weeks|months) to live|macmillan"
    r"|certify the death|death certificate|funeral plan|my cancer|the cancer|motor neurone"
    r"|district nurses?|syringe driver|dnr|dnacpr|respect form)\b"
)
_END_OF_LIFE_SENSITIVE = frozenset({"affairs_in_order"})


def _end_of_life_arrangement(text: str) -> bool:
    """The words name end-of-life care and nothing of a means, a time or finality."""
    return (
        _END_OF_LIFE.search(text) is not None
        and RISK_FACTORS.search(text) is None
        and _KEEPING.search(text) is None
        and re.search(r"\b(?:for good|better place|end it|on my own terms|before the pain)\b", text)
        is None
    )


# Idioms that use the words of a crisis ("I could murder a cup of tea", "my back is killing
# me", "I nearly died laughing"): the issue names them as raising nothing. The learned model
# read some as self-harm out of fold, so where one is said, no pattern stands and nothing
# else in the words names a risk (``_URGENT_VETO_BLOCKERS``), it raises no urgent self-harm
# flag (``learned_model_urgent``; the gentle check stays open). Fears ("scared I'm going to
# die") and people ("he is killing me") are not among them: those can be an emergency.
# Issue 9, ninth round, narrowed after a review.
_IDIOM = re.compile(
    r"\b(?:(?:die|died|dying) (?:of|from) (?:embarrassment|shame|boredom|laughing|laughter)"
    r"|(?:could|would|i'd) (?:murder|kill) (?:a|for a)"
    r"|(?:my|this|these|the) (?:\w+ )?(?:back|head|feet|knees?|legs?|hips?|neck|teeth|tooth"
    r"|stomach|shoulders?|arthritis|period|cramps?|pain|cough|heat|wait|queue|job|diet|commute"
    r"|shoes|kids) (?:is|are|'s|'re) (?:\w+ )?killing me"
    r"|scream into a pillow|dying for a (?:cup|brew|wee|cigarette|drink|coffee|tea)"
    r"|to die for|over my dead body|(?:bored|tickled) to death|dead on my feet|dead tired"
    r"|dead chuffed|nearly died (?:laughing|of embarrassment)|kill (?:two birds|time)"
    r"|dressed to kill)\b"
)
# Being found, as a fear or after a fall ("I'm scared nobody will find me if I fall", "when
# my husband finds me asleep on the sofa"), not as a plan.
_FOUND_ORDINARY = re.compile(
    r"\b(?:scared|afraid|fear|frightened|terrified|worried|worry|worries|if i (?:fall|fell"
    r"|collapse|have a fall)|fall|fell|fallen|asleep|sleeping|napping|crying|on the floor)\b"
)
_REGIMEN_SENSITIVE = frozenset(
    {"too_many_pills", "overdose_lay", "own_overdose", "self_poisoning", "supply_swallowed"}
)
# A day's tablets asked about beforehand ("Is it safe to take all my morning tablets at once?")
# are no overdose, when taking them together is the only excess named.
_DOSE_QUESTION = re.compile(
    r"\b(?:is it (?:safe|ok|okay|alright|all right|fine) (?:to|if i|for me to)|can i|could i"
    r"|should i|do i|am i (?:ok|okay|allowed) to)\s*$"
)
_DOSE_QUESTION_AFTER = re.compile(
    r"\bis (?:that|it|this) (?:ok|okay|alright|all right|safe|fine)\b"
)
_TOGETHER = re.compile(r"\b(?:at once|in one go|all at the same time|together)\b")


def _regimen_question(clause: str, start: int, phrase: str) -> bool:
    """``phrase`` (at ``clause[start:]``) is a day's usual tablets asked about beforehand, and
    nothing in the clause but taking them together says more than that."""
    return (
        _REGIMEN_DOSE.search(phrase) is not None
        and (
            _DOSE_QUESTION.search(clause, 0, start) is not None
            or _DOSE_QUESTION_AFTER.search(clause, start) is not None
        )
        and _EXCESS.search(_TOGETHER.sub(" ", clause)) is None
    )


# A day's tablets taken together as a habit ("I take all of my tablets together with
# breakfast", "I usually take all my pills at once with coffee in the morning"): the present
# tense of the caller's routine, at a meal or a time of day, with no excess named.
_HABIT_TAKE = re.compile(
    r"\bi (?:usually |always |normally |just |tend to |generally )?take all (?:of )?my"
    r" (?:tablets|pills|meds|medication|medicines)\b"
)
_HABIT_TIME = re.compile(
    r"\b(?:with|at|before|after|over) (?:my )?(?:breakfast|lunch|dinner|tea|supper|bedtime"
    r"|night|coffee|food|a meal|meals)\b|\bin the (?:morning|evening)\b"
    r"|\bevery (?:morning|evening|night|day)\b"
)

_HABIT_DESPAIR = re.compile(r"\b(?:wake|care|hope)\b")


def _habitual_regimen(clause: str, start: int) -> bool:
    """The match at ``clause[start:]`` is the caller's daily routine of taking their tablets
    together at a meal or a time of day, with nothing more than that said."""
    m = _HABIT_TAKE.search(clause, max(0, start - 30))
    return (
        m is not None
        and m.start() <= start < m.end()
        and _HABIT_TIME.search(clause) is not None
        and _EXCESS.search(_TOGETHER.sub(" ", clause)) is None
        and _FINAL_WORDS.search(clause) is None
        and _HABIT_DESPAIR.search(clause) is None
    )


# One dose too many of a usual medicine, by mistake or asked about ("I think I double dosed my
# thyroid pill this morning, do I need to worry", "I took two of my cholesterol tablets
# instead of one", "is it okay to take two ibuprofen and two paracetamol together"): a
# question for the pharmacist, not an overdose. Not for the medicines where one extra dose can
# harm (insulin, opioids, methotrexate, lithium, digoxin, warfarin), nor with symptoms, more
# than that taken, or intent.
_ONE_EXTRA = re.compile(r"\b(?:double[- ]?dos\w*|two|twice|an extra|one extra|another)\b")
_MISTAKE_OR_QUESTION = re.compile(
    r"\b(?:instead of|by mistake|by accident|accidentally|forgot|can't remember|cannot remember"
    r"|not sure if|might have|think i|silly me|should i worry|do i need to worry"
    r"|is (?:that|it|this) (?:ok|okay|alright|all right|safe|fine|a problem)"
    r"|is it (?:ok|okay|safe|alright|all right|fine) to|can i|should i)\b"
)
# The caller took it ("I think I...", "I might have..."), or asks before taking it.
_CALLER_TOOK_BEFORE = re.compile(
    r"(?:\bi(?:'ve| have| had| might have| may have| must have| think i| think i've)?"
    r"|\bis it (?:ok|okay|safe|alright|all right|fine) to|\b(?:can|could|should) i) $"
)
# More than one extra dose: containers, days' or weeks' worth, a count above two.
_MORE_THAN_ONE_EXTRA = re.compile(
    r"\b(?:whole|entire|all|lot|lots|loads?|handful|bunch|box|boxes|packets?|bottles?|strips?"
    r"|tubs?|days?|weeks?|months?|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen"
    r"|twenty|thirty|forty|fifty|sixty|hundred|dozen|\d+)\b"
)
_HARMFUL_IF_DOUBLED = re.compile(
    r"\b(?:insulin|morphine|oramorph|oxycodone|oxynorm|oxycontin|fentanyl|codeine|co-?codamol"
    r"|dihydrocodeine|tramadol|methadone|buprenorphine|methotrexate|lithium|digoxin|warfarin"
    r"|gliclazide|glipizide|amlodipine|nifedipine|verapamil|diltiazem|amitriptyline"
    r"|nortriptyline|dosulepin|quetiapine|olanzapine|clozapine|propranolol|colchicine"
    r"|sleeping (?:pills|tablets)|zopiclone|diazepam)\b"
)
# Anyone but the caller taking them, a child above all, is a poisoning to ask about.
_SOMEONE_ELSE_TOOK = re.compile(
    r"\b(?:son|daughter|baby|toddler|child|children|kid|kids|little|boy|girl|lad|lass|nephew"
    r"|niece|teen\w*|grand\w+|year old|dog|cat|puppy|next door|neighbour\w*|he|she|they"
    r"|husband|wife|partner|mum|dad|mother|father)\b"
)
_DELIBERATE = re.compile(
    r"\b(?:on purpose|deliberately|intentionally|meant to|end it|kill|die|dead|suicid\w*"
    r"|(?:it|it all|everything) to (?:stop|end)|not (?:to )?wake|(?:don't|do not|didn't) want to"
    r" (?:wake|be here|go on|live)|(?:can't|cannot|couldn't) cope|had enough)\b"
)
_SYMPTOMS_NOW = re.compile(
    r"\b(?:drowsy|sleepy|can't wake|unconscious|shak\w+|sweat\w*|vomit\w*|being sick|confused"
    r"|not making sense|breath\w*|chest|collaps\w+|fitting|seizure|dizzy|racing|pounding"
    r"|palpitations|unwell|ill|poorly)\b"
)


# Medicines kept in store ("My husband has had all the medicines locked in a box since the
# grandkids came") or handed back ("the pharmacy took all my old tablets back when the doctor
# changed everything"): "locked" or "back" straight after the medicines, had by someone over
# a time (has had, have had) or taken back, and no one at risk.
_STORED_AFTER = re.compile(r"\s*locked (?:in|up|away)\b")
_STORED_IN_WORDS = re.compile(
    r"\b(?:medicines|tablets|pills|meds|medication|medicine) locked (?:in|up|away)\b"
)
_BACK_AFTER = re.compile(r"\s*back\b(?! (?:up|again|down)\b)")
_HAD_OVER_TIME = re.compile(r"\b(?:has|have|'s|'ve) $")


def _kept_or_returned(clause: str, start: int, end: int, lower: str) -> bool:
    words = clause[start:end]
    kept = (
        words.startswith("had ")
        and _HAD_OVER_TIME.search(clause, max(0, start - 6), start) is not None
        and (
            _STORED_AFTER.match(clause, end) is not None
            or _STORED_IN_WORDS.search(words) is not None
        )
    )
    returned = words.startswith("took ") and _BACK_AFTER.match(clause, end) is not None
    return (kept or returned) and _DELIBERATE.search(lower) is None and (
        _FINAL_WORDS.search(lower) is None
    )


def _one_extra_dose(clause: str, lower: str, start: int, words: str) -> bool:
    """The match ``words`` (at ``clause[start:]``) is one extra dose of a usual medicine that
    the caller took by mistake or asks about, with nothing worse said anywhere in ``lower``."""
    return (
        _ONE_EXTRA.search(words) is not None
        and _MORE_THAN_ONE_EXTRA.search(words) is None
        and _CALLER_TOOK_BEFORE.search(clause, max(0, start - 30), start) is not None
        and _MISTAKE_OR_QUESTION.search(clause) is not None
        and _SOMEONE_ELSE_TOOK.search(lower) is None
        and _HARMFUL_IF_DOUBLED.search(lower) is None
        and _SYMPTOMS_NOW.search(lower) is None
        and _DELIBERATE.search(lower) is None
        and _FINAL_WORDS.search(lower) is None
    )


def _regimen_dose(clause: str, phrase: str) -> bool:
    """The matched ``phrase`` ends in a day's usual tablets, and nothing in the clause says
    more than that was taken."""
    return _REGIMEN_DOSE.search(phrase) is not None and _EXCESS.search(clause) is None


# A screening question about self-harm told with the caller's "no" ("the GP asked about self
# harm and I said no", "question nine, the one about being better off dead, I've put never",
# "the nurse asked if I felt like hurting myself and I told her honestly I don't"): the
# question is asked in front of the words (or they sit on a form) and the answer after them
# denies it. A "yes", "sometimes" or "most days" keeps the flag, and so does a denial in
# another sentence.
_SCREEN_FRAME = re.compile(
    r"\b(?:asked|asks|ask|asking)(?: me| her| him| us)? (?:if|whether|about|the)\b"
    r"|\b(?:questions?|questionnaire|form|screening|phq|survey)\b"
)
_SCREEN_FRAME_WINDOW = 40  # characters before the matched words
_SCREEN_NO = re.compile(
    r"\b(?:said no|say no|no to (?:all|every)|answer(?:ed|'s| is| was)? no"
    r"|(?:put|ticked|circled|wrote|answered|marked) (?:never|nought|zero|0|no|not at all|none)"
    r"|said i(?: don't| didn't| haven't| wasn't|'m not| am not| never)"
    r"|told (?:her|him|them|the \w+)(?: honestly| truthfully)? (?:that )?(?:i don't|i'm not"
    r"|i'm fine|no|never)|never have|i've put never)\b"
)
# An answer other than no, or the "no" taken back ("I said no but I have", "that was a lie"),
# anywhere after the question.
_SCREEN_YES = re.compile(
    r"\b(?:yes|sometimes|some days|most days|several days|more than half|nearly every|a bit"
    r"|a little|i do|i have|i have been|not sure|lie|lied|lying|not true|wasn't true|actually"
    r"|truth is|but|don't know|not really|not the case|ready|plan|planned|tonight)\b"
)


def _screened_and_denied(clause: str, start: int, end: int, text: str, after: int) -> bool:
    """The self-harm words at ``clause[start:end]`` are a screening question answered no in
    their clause; ``text[after:]`` is everything said after them."""
    asked = _SCREEN_FRAME.search(clause, max(0, start - _SCREEN_FRAME_WINDOW), start)
    if asked is None:
        return False
    return _SCREEN_NO.search(clause, end) is not None and _SCREEN_YES.search(text, after) is None


_ACUTE = re.compile(
    r"\b(?:right now|just now|at the moment|this (?:morning|afternoon|evening)|today|"
    r"tonight|(?:minutes?|an hour|hours?) ago|again|suddenly|all of a sudden)\b(?! for)"
    r"|\bnow (?:he|she|i|it|they)(?:'s| is| am|'m| can't| has| have| are|'re)\b"
)
_ACCIDENT = re.compile(
    # "it was not by accident" is no accident
    r"(?<!not )(?<!wasn't )(?<!isn't )(?<!never )(?<!no )"
    r"\b(?:by accident|accidental\w*|by mistake|mixed up|mix[- ]up)\b"
)
# Tablets counted over days or weeks ("thirty paracetamol over the last week for my tooth",
# "thirty tablets over the month as prescribed") are no self-poisoning by those words.
_OVER_A_PERIOD = re.compile(
    r"\bover (?:the |a )?(?:last |past |whole )?(?:\d+ |\w+ )?(?:weeks?|months?|fortnight|days"
    r"|years?|weekend)\b|\b(?:a|per|each|every) day\b(?! ago)|\bas prescribed\b"
    r"|\bsince the (?:start|beginning) of\b"
    r"|\bthis (?:week|month)\b|\bin (?:a|the last|the past) (?:\d+ |\w+ )?(?:weeks?|months?"
    r"|fortnight|days)\b|\bsince (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|last week|the weekend|then|christmas|january|february|march|april|may|june|july|august"
    r"|september|october|november|december)\b"
)
# Tablets counted over a week or longer, or as prescribed ("a whole box of Lemsip over the
# week"): no overdose by the amount's words (``too_many_pills``, ``overdose_lay``). Not over a
# weekend or a few days, where a staggered overdose of paracetamol is an emergency.
_OVER_WEEKS = re.compile(
    r"\bover (?:the |a )?(?:last |past |whole )?(?:\w+ )?(?:weeks?|months?|fortnight|years?)\b"
    r"|\bas prescribed\b|\bin (?:a|the last|the past) (?:\w+ )?(?:weeks?|months?|fortnight)\b"
)
_AMOUNT_OVER_WEEKS = frozenset({"too_many_pills", "overdose_lay"})
# A course of antibiotics or steroids finished or taken as told ("I took the whole packet of
# antibiotics as prescribed"): adherence, whatever its amount, when no excess beyond the course
# and no end is named.
_COURSE = re.compile(
    r"\b(?:course|antibiotics?|amoxicillin|amoxycillin|penicillin|flucloxacillin|doxycycline"
    r"|clarithromycin|erythromycin|nitrofurantoin|trimethoprim|cefalexin|metronidazole"
    r"|co-?amoxiclav|steroids?|prednisolone)\b"
)
_COURSE_KEPT = re.compile(r"\b(?:finished|completed|done|as prescribed)\b")
_COURSE_EXCESS = re.compile(
    r"\b(?:double|twice|too many|too much|more than|extra|in one go|at once|all at the same"
    r" time|overdos\w*|on purpose|deliberately)\b"
)
# A day's tablets named as the day's ("all my tablets for today", "all of this morning's
# meds"), with nothing more taken (``_EXCESS``; "as well" in a question about the next dose
# is no excess: "do I take the evening ones as well?").
_DAYS_DOSE = re.compile(
    r"\ball (?:of )?my (?:\w+ )?(?:tablets|pills|meds|medication|medicines) for (?:today"
    r"|the day|this morning|the morning|tonight|the evening)\b"
    r"|\ball (?:of )?(?:today's|this morning's|tonight's) (?:tablets|pills|meds|medication"
    r"|medicines)\b"
)
_NEXT_DOSE_QUESTION = re.compile(
    r"\b(?:do|should|can|could|shall) i (?:still |also )?(?:take|have)\b[\w ']{0,40}\bas well\b"
)
# Tablets hard to swallow ("swallowed all my tablets fine, it's just the big one sticks in my
# throat"): the act of swallowing is the question.
_SWALLOW_TROUBLE = re.compile(
    r"\b(?:sticks? in my throat|stuck in my throat|(?:hard|difficult) to swallow"
    r"|(?:trouble|difficulty|problems?) swallowing|struggle to swallow|too big to swallow"
    r"|get them down)\b"
)


# An end named beside a dose (``_course_or_days_dose``): narrower than ``_FINAL_WORDS``, whose
# "taken" and "again" are every dose's words.
_DOSE_END = re.compile(
    r"\b(?:for good|forever|for ever|anymore|any more|never|goodbyes?|without me|better off"
    r"|burden|end it|myself|wake up|on purpose|deliberately|(?:it|everything) (?:all )?to stop"
    r"|make it (?:all )?stop|do it|do the job|enough to|be gone)\b"
)


# Two or three of a tablet is an ordinary dose ("I took two paracetamol an hour ago"), when
# the caller took them, nothing was mixed up, no symptom follows and the medicine is not one
# that harms when doubled (``too_many_pills``). Two boxes or doses of it are not.
_ORDINARY_COUNT = re.compile(
    r"\b(?:took|taken|take|taking|swallowed|had) (?:two|three) (?:\w+ )?(?:pills|tablets"
    r"|paracetamol|ibuprofen|painkillers|capsules|puffs)$"
)


def _ordinary_count(clause: str, words: str) -> bool:
    return (
        _ORDINARY_COUNT.search(words) is not None
        and _MISTAKE_OR_QUESTION.search(clause) is None
        and _SYMPTOMS_NOW.search(clause) is None
        and _SOMEONE_ELSE_TOOK.search(clause) is None
        and _HARMFUL_IF_DOUBLED.search(clause) is None
        and _DOSE_END.search(clause) is None
    )


def _course_or_days_dose(clause: str) -> bool:
    """The tablets are a course taken as told or finished, or the day's own dose, or tablets
    hard to swallow, with no excess or end named in ``clause`` (``_REGIMEN_SENSITIVE``)."""
    if _DOSE_END.search(clause) is not None:
        return False
    if (
        _COURSE.search(clause) is not None
        and (_COURSE_KEPT.search(clause) is not None or _AS_TOLD.search(clause) is not None)
        and _COURSE_EXCESS.search(clause) is None
    ):
        return True
    rest = _NEXT_DOSE_QUESTION.sub(" ", clause)
    return (
        _DAYS_DOSE.search(clause) is not None or _SWALLOW_TROUBLE.search(clause) is not None
    ) and _EXCESS.search(rest) is None


# A question about medicine with a drink, asked before taking it ("Can I take my tablets with
# alcohol?", "is it ok to have wine with my pills"): advice, not an overdose (``pills_alcohol``).
_INTERACTION_QUESTION = re.compile(
    r"\b(?:can|could|should|may) i\b|\bis it (?:ok|okay|safe|alright|all right|fine|bad)\b"
    r"|\bam i (?:allowed|ok|okay)\b|\b(?:will|would|does|do) (?:it|they|these|those|that)\b"
)
_TAKEN_PAST = re.compile(r"\b(?:took|taken|swallowed|had|drank|drunk|necked|downed)\b")


# Tablets carried, sorted or handed back, not swallowed ("took my whole month's supply with me
# to Spain", "taken 30 tablets out of the packs to fill her dosette box").
_NOT_SWALLOWED = re.compile(
    r"\b(?:with (?:me|us|him|her)|out of|back (?:to|into)|to the (?:pharmacy|chemist|hospital"
    r"|surgery)|for disposal|(?:in|into) (?:the|her|his|my|a) (?:dosette|pill organi[sz]er))\b"
)
# Someone's death named ("my husband died", "his funeral"): life insurance asked about is
# the paperwork of that death.
_SOMEONES_DEATH = re.compile(
    r"\b(?:he|she) (?:had|has|'s had|was diagnosed|died|passed)\b"
    r"|\b(?:died|passed away|passed on|death of|his death|her death|their death|funeral"
    r"|bereave\w*|widow\w*|late (?:husband|wife|partner|mum|dad|mother|father|son|daughter))\b"
)
# Patterns that mean self-harm only when the act was not an accident.
_INTENT_PATTERNS = frozenset(
    {"own_overdose", "self_poisoning", "supply_swallowed", "attempt_by_means"}
)
# "I've done something silly" is a common way to tell of an attempt, and as common a way to
# tell of a mix-up ("I might have taken both this morning, I've done something silly"):
# a mix-up said in the same clause explains the euphemism away (the model still reads it).
_MIXUP = re.compile(
    r"\b(?:might|may|could) have (?:taken|had) both\b(?! (?:boxes|packets|packs|bottles|pens))"
    r"|\bdouble[- ]?dos\w*|\binstead of\b"
    r"|\bwrong (?:tablets?|pills?|ones?|dose|medicines?|box|inhaler|drops)\b"
)
_MIXUP_EXPLAINS = frozenset({"did_something_silly"})


# Someone else's self-harm told as background (a diagnosis, treatment or care: "my daughter's
# under CAMHS for self-harm", "he sees his psychiatrist for his suicidal thoughts") says
# nothing of the caller's own risk, and nothing of an act happening now. Only the words that
# name self-harm are explained away, and only when the person nearest before them is someone
# else ("my son's", "she's", "his"), the clause tells of their care, and nowhere in the text is
# there a sign that it is happening now, a threat or a plan, or the caller saying it of
# themselves as well. Everything else still flags: "my son is self-harming", "she's suicidal",
# "my daughter's under CAMHS for self-harm and she did it again last night".
# An act ("she cut her wrists") is not background: only the words naming the problem are.
_THIRD_PARTY_SENSITIVE = frozenset({"self_harm", "suicide_word", "thoughts_of", "other_self_harm"})
_RELATIVE = (
    r"(?:daughter|son|girl|boy|lad|child|kid|teenager|husband|wife|partner|boyfriend|girlfriend"
    r"|fianc\w*|mum|mom|mother|dad|father|brother|sister|friend|flatmate|niece|nephew"
    r"|grandson|granddaughter|grandchild|cousin|stepson|stepdaughter|patient|client|resident"
    r"|pupil|student)s?"
)
# A farewell's "won't be needing it" is the caller's own. Said of someone else, or of "we",
# it is call business, often a bereavement ("she died on Tuesday, so she won't be needing
# any of it anymore", "we won't be needing it, can you cancel it").
_FAREWELL_OWN = frozenset({"wont_be_around", "no_future_needed"})
_SOMEONE_ELSES_NEED = re.compile(
    rf"\b(?:she|he|they|we|(?:my|our|his|her) (?:\w+ )?{_RELATIVE}) (?:(?:really|just|probably"
    r"|certainly|obviously) )?$"
)
# Who a stretch of words is about. At one position the longer third-party reading wins, so "my
# son's" is someone else and "my self-harm" is the caller.
_PERSON_REF = re.compile(
    rf"\b(?P<other>(?:my|our|his|her|their) (?:\w+ )?{_RELATIVE}(?:'s)?|he|she|they|him|her"
    r"|them|his|their|(?:him|her|them)sel(?:f|ves))\b"
    r"|\b(?P<self>i|me|my|mine|myself|we|us|our)\b"
)
_PERSON_WINDOW = 60  # characters before the matched words where their subject is looked for
_CARE = re.compile(
    r"\b(?:camhs|counsell?(?:or|ors|ing)|counselor|therap(?:y|ist|ists|ies)|psychiatr\w+"
    r"|psycholog\w+|mental health (?:team|nurse|services?|worker)|treatment|recovery"
    r"|recovering|support group|key ?worker|care (?:plan|coordinator)|safety plan|diagnos\w+"
    r"|waiting list|referred|referral)\b"
)
# "now" that dates the care, not the act ("she's in treatment now", "he's now seeing a
# counsellor"), is blanked before the signs of now are looked for.
_CARE_NOW = re.compile(
    r"\b(?:camhs|counselling|therapy|treatment|recovery|rehab|better|well|fine|okay|ok|stable"
    r"|settled|safe|home) now\b|\bnow (?:in|under|with|seeing|having|getting|on)\b"
)
_THIRD_PARTY_NOW = re.compile(
    r"\bjust (?:now|taken|took|done|did|cut|tried|swallowed|overdosed|found|rang|rung|called"
    r"|phoned|texted|sent|messaged)\b"
    r"|\b(?:now|still|last night|yesterday|this week|worse|worsening|deeper|stitches|bleeding"
    r"|blood|won't stop|a&e|ambulance|999|hospital|every day|every night|daily|bad|badly"
    r"|getting|got worse|come back|doesn't know|won't see|isn't helping"
    r"|not helping)\b"
    r"|\b(?:is|are|'s|'re|came|comes|coming) back\b"
    r"|\bwants? to (?:die|be dead)\b|\bkeeps? (?:cutting|harming|hurting|trying)\b"
    # an act, a threat or a plan, and where or with what
    r"|\b(?:taken|took|swallowed|overdos\w*|cut (?:him|her|them)sel\w*|cutting|threaten\w*"
    r"|going to|gonna|plans?|planning|tried|trying|attempt\w*|missing|can't find"
    r"|hasn't come home|locked|unconscious|not (?:answering|responding)|note|letter|goodbye"
    r"|bridge|roof|ledge|edge|cliffs?|railway|tracks|river|car park|multi-?storey)\b"
    r"|\b(?:got|has|holding|with) (?:a |the )?(?:knife|blade|razor|rope|pills|tablets)\b"
    r"|\b(?:he|she|they|my \w+)(?:'s| is| has| keeps| kept| was)?(?: been)? (?:says?|said|saying"
    r"|told|tells|talk(?:s|ed|ing)? about|text\w*|messag\w*|wants? to|wanted to)\b"
)
# Said of the person as a state ("he's suicidal", "she's been feeling suicidal", "he has
# thoughts of suicide"), suicidal is now, whatever their care; "his suicidal thoughts" names
# what the care is for.
_STATE_SENSITIVE = frozenset({"suicide_word", "thoughts_of"})
_STATE_BEFORE = re.compile(
    r"\b(?:is|'s|are|'re|am|was|were|been|be|feels?|feeling|felt|gets?|getting|got|seems?"
    r"|sounds?|looks?|has|have|having|had|with)(?: (?:so|very|really|quite|actively|more|a bit"
    r"|increasingly|feeling|some|any|these|those|the))? $"
)
# The caller saying it of themselves as well ("I do it too", "so do I", "like me").
# The caller taking the words as their own as well ("My husband says he wants to die. Me
# too.", "...and I've started doing it too"); read over the whole text.
_JOINING = re.compile(
    r"\b(?:me too|me as well|so (?:do|did|have|am) i|same here|i (?:do|am|have) too"
    r"|i feel the same|i(?:'ve| have)? (?:started|been) doing it too)\b"
)
_SELF_TOO = re.compile(
    r"\b(?:me too|me as well|so (?:do|did|have|am) i|like me|same as me)\b"
    r"|\b(?:i|i've|i'm|i'd)\b[\w ']{0,20}\b(?:too|as well|also|the same)\b"
    r"(?! (?:much|many|late|early|young|old|long|bad)\b)"
)


def _told_of_someone_in_care(clause: str, start: int, end: int, pid: str) -> bool:
    """The self-harm words at ``clause[start:end]`` are someone else's, told with their care.

    Only the name of the problem qualifies ("for self-harm", "his suicidal thoughts"): an act
    going on ("my son is self-harming", "she self harms") and "the self-harm" with nobody's
    name on it still flag."""
    words = clause[start:end]
    if pid == "self_harm" and not re.fullmatch(r"self[- ]?harm", words):
        return False
    if clause[max(0, start - 4) : start] == "the ":
        return False
    if any(m.group("self") for m in _PERSON_REF.finditer(clause, start, end)):
        return False
    if pid in _STATE_SENSITIVE and _STATE_BEFORE.search(
        clause, max(0, start - _PERSON_WINDOW), start
    ):
        return False
    before = [m for m in _PERSON_REF.finditer(clause, max(0, start - _PERSON_WINDOW), start)]
    if not before or before[-1].group("other") is None:
        return False
    return _someone_elses_care(clause)


@lru_cache(maxsize=256)
def _someone_elses_care(clause: str) -> bool:
    """A care word in ``clause`` whose person, the last one named before it, is not the
    caller: "I'm in therapy" is not the son's care. One pass over the clause (cached: a
    clause with many matches asks once)."""
    refs = list(_PERSON_REF.finditer(clause))
    i, last = 0, None
    for care in _CARE.finditer(clause):
        while i < len(refs) and refs[i].start() < care.start():
            last = refs[i]
            i += 1
        if last is None or last.group("other") is not None:
            return True
    return False


# Who self-harm words are about. Someone else only on clear evidence; otherwise the caller,
# whose own risk must never be routed to the prompt about someone else:
# - the words name that person as the one at risk ("kill himself", "end her life", "cutting
#   herself"), or are said of them with a third-person verb ("my brother wants to die");
# - a state said of them right before it ("my daughter is suicidal", "she's been feeling
#   suicidal", "his self-harm").
# A relative's belongings ("saving up my mum's morphine"), a reporter ("my GP says he thinks
# the suicidal thoughts..."), a subject left out ("my boyfriend left, want to die") and the
# caller joining in ("...and honestly so do I") all leave it with the caller.
_OTHER_IN_WORDS = re.compile(
    r"\b(?:him|her|them)sel(?:f|ves)\b|\b(?:his|her|their) (?:own )?li(?:fe|ves)\b"
    r"|^wants to\b"
)
_OTHER_STATE_BEFORE = re.compile(
    rf"(?:\b(?:he|she|(?:my|our) (?:\w+ )?{_RELATIVE})(?:'s| is| was| has| keeps| feels| seems)"
    r"(?: been)?(?: (?:feeling|getting|acting|talking|so|very|really|quite|actively|more|a bit))*"
    rf" |\b(?:his|her|(?:my|our) (?:\w+ )?{_RELATIVE}'s) (?:\w+ )?)$"
)
_SELF_IN_WORDS = re.compile(r"\b(?:i|me|my|myself|mine)\b")
_ANYONE_IN_WORDS = re.compile(
    rf"(?P<other>{_OTHER_IN_WORDS.pattern})|(?P<self>{_SELF_IN_WORDS.pattern})"
)


def _about_other(clause: str, start: int, end: int) -> bool:
    """Are the self-harm words at ``clause[start:end]`` about someone other than the caller?
    Only on clear evidence (see the notes above ``_OTHER_IN_WORDS``); otherwise the caller."""
    # a threat to the caller as well ("he says he'll kill me and then himself") is theirs too
    if re.search(r"\b(?:kill|hurt|harm)(?:ing)? (?:me|us)\b", clause[start:end]):
        return False
    # the last person the words name decides ("told me he's going to kill himself")
    named = list(_ANYONE_IN_WORDS.finditer(clause[start:end]))
    if named:
        return named[-1].group("other") is not None
    return _OTHER_STATE_BEFORE.search(clause[max(0, start - _PERSON_WINDOW) : start]) is not None


def _nothing_happening_now(text: str) -> bool:
    """No sign anywhere in ``text`` of an act now, a threat or plan, or the caller's own."""
    rest = _CARE_NOW.sub(" ", text)
    return (
        _ACUTE.search(rest) is None
        and _THIRD_PARTY_NOW.search(rest) is None
        and _SELF_TOO.search(rest) is None
    )


# Clinical risk factors for suicide named in words: a means, a time or preparations, finality
# or being a burden. Alone they raise nothing (tablets, tonight and "gave away" are ordinary call
# business); beside a self-harm probability from the red-flag model at its gentle-check level
# they make the flag urgent (``RedFlagPolicy.risk_factor_self_harm`` in models/classifier.py).
# Words of every call's business ("goodbye", "letter", "planned") are not among them: with them
# a calm caller's "Goodbye." escalated out of fold. Issue 9, seventh round (the red-flag card).
RISK_FACTORS = re.compile(
    # means
    r"\b(?:tablets|pills|paracetamol|co-?codamol|insulin|morphine|oramorph|sleeping pills|rope"
    r"|ligature|knife|knives|blade|razor|gun|shotgun|cliff|car park roof|railway|train line"
    r"|noose|(?:off|from|on|over) (?:a |the )?bridge|on the (?:railway |train )?tracks"
    r"|jump (?:off|from|in front))\b"
    # a time, preparations
    r"|\b(?:tonight|later today|this weekend|when (?:everyone|they|the kids)|saved up|saving up"
    r"|stockpil\w*|been collecting|kept back|lined up|worked it (?:all )?out)\b"
    # finality, a burden
    r"|\b(?:said my goodbyes|won't be (?:here|around)|no reason to stay|better off without me"
    r"|burden|affairs in order|given away|gave away|end it"
    r"|be with (?:him|her) (?:again|soon|before long)"
    r"|(?:i'll|i will|i'm going to|i am going to) (?:soon )?be with you (?:again|soon|before long)"
    r"|not be here)\b"
)


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
    # The words are about someone other than the caller ("my husband says he's going to kill
    # himself", "my daughter is suicidal"), by the people named in and just before them.
    about_other: bool = False

    @property
    def kind(self) -> RedFlag:
        return KIND_OF_CATEGORY[self.category]


@dataclass(frozen=True, slots=True)
class CrisisResult:
    """All pattern hits in a text; ``flagged`` when at least one is not negated."""

    matches: tuple[CrisisMatch, ...]
    risk_factor: str | None = None
    """The first words naming a risk factor (``RISK_FACTORS``), if any; they raise no flag."""
    caller_joins: bool = False
    """The caller takes someone else's words as their own too ("...and honestly so do I")."""
    returns_medicines: bool = False
    """The words hand medicines back or dispose of them, and nothing keeps the risk open."""
    idiom: bool = False
    """An idiom in crisis words was said ("my back is killing me", ``_IDIOM``)."""
    explained: tuple[RedFlag, ...] = ()
    """Urgent kinds whose words were said, undenied, as ordinary call business and explained
    away ("I won't be around for three weeks, I'm on holiday"; "this hold music, I'm losing
    the will to live" explains self-harm words). History, a past event or a relative's care
    are not call business (``_explained_away``)."""
    model_urgent_out: tuple[RedFlag, ...] = ()
    """Urgent kinds the learned model may not raise here (``learned_model_urgent``)."""
    acceptance_only: bool = False
    """The words only accept or thank ("that would be amazing, thank you": ``_ACCEPTANCE``)."""

    @property
    def flagged(self) -> bool:
        """An urgent red flag (self-harm or emergency) was said and not denied."""
        return any(not m.negated and m.kind in URGENT_FLAGS for m in self.matches)

    @property
    def kinds(self) -> tuple[RedFlag, ...]:
        """The red flags raised, in ``RED_FLAGS`` order (denied matches raise none)."""
        raised = {m.kind for m in self.matches if not m.negated}
        return tuple(k for k in RED_FLAGS if k in raised)

    @property
    def negated_only(self) -> bool:
        """Crisis words were present but every one was denied ("I'm not suicidal")."""
        return bool(self.matches) and all(m.negated for m in self.matches)

    @property
    def learned_model_applies(self) -> bool:
        """Whether the learned red-flag model is consulted on these words. Not when every
        crisis phrase was denied (the patterns' call), nor when the words hand medicines back
        and no pattern matched ("take them all back to the chemist" is no plan), nor when the
        words only accept an offer or thank ("that would be amazing, thank you")."""
        if self.negated_only or self.acceptance_only:
            return False
        return bool(self.matches) or not self.returns_medicines

    def learned_model_urgent(self, kind: RedFlag) -> bool:
        """Whether the learned model may raise the urgent flag ``kind`` here. Not when words of
        that kind were said, each was explained away as ordinary call business, no pattern
        stands and nothing else names a risk ("I won't be around for three weeks, I'm on
        holiday"); nor, for self-harm, when an idiom was said on the same terms ("I could
        murder a cup of tea"); nor emergency in someone's expected decline at the end of life
        with nothing happening now ("Dad's in the hospice and his kidneys are shutting down").
        The explanation is the reviewed patterns' call; the model may still ask for the gentle
        check."""
        return kind not in self.model_urgent_out

    @property
    def phrases(self) -> tuple[str, ...]:
        return tuple(m.phrase for m in self.matches if not m.negated)

    def phrases_of(self, kind: RedFlag) -> tuple[str, ...]:
        return tuple(m.phrase for m in self.matches if not m.negated and m.kind == kind)

    @property
    def categories(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for m in self.matches:
            if not m.negated:
                seen.setdefault(m.category, None)
        return tuple(seen)

    def about_someone_else(self, kind: RedFlag) -> bool:
        """Is the ``kind`` red flag about someone other than the caller? Yes when every
        undenied match of that kind is, and the caller does not join in ("...and so do I").
        When the patterns raised no such match (the learned model did), the caller: their
        own risk is the one never to miss."""
        own = [m for m in self.matches if not m.negated and m.kind == kind]
        return bool(own) and all(m.about_other for m in own) and not self.caller_joins

    def first(self, kind: RedFlag | None = None) -> CrisisMatch | None:
        """The first undenied match (of ``kind``, or of the most urgent kind raised)."""
        wanted = kind or next(iter(self.kinds), None)
        for m in self.matches:
            if not m.negated and m.kind == wanted:
                return m
        return None


def normalise(text: str) -> str:
    """Lower-case and straighten apostrophes; keeps character offsets unchanged."""
    lower = text.lower()
    if len(lower) != len(text):  # "İ" lower-cases to two characters: keep such ones as they are
        lower = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return lower.replace("\u2019", "'").replace("\u2018", "'")


# Spoken forms, as speech recognisers, captioning and typed chat give them, turned into the
# written forms the patterns and negation cues are written in:
# - contractions without their apostrophe ("i cant breathe", "i dont want to kill myself").
#   Only words that are not English words of their own are listed: "ill", "id", "its",
#   "were", "well", "hell", "shell", "shed" and "wed" stay as they are;
# - "wanna", "gonna", "gotta", "em" and "'em" ("take em all"), "an OD";
# - "no more" for "anymore" after being or doing ("i dont want to be here no more"); "no more
#   pain" and "no more appointments" stay as they are.
_SPOKEN_FORM = re.compile(
    r"(?<![\w'])'em\b"
    r"|\b(?:(?P<nt>do|does|did|is|are|was|were|has|have|had|could|would|should|must|need|ca|wo"
    r"|ai)nt|(?P<m>i)m|(?P<ve>i|you|we|they|could|would|should|might|must)ve|(?P<re>you|they)re"
    r"|(?P<s>he|she|that|what|there|where|who|how)s|(?P<d>they|you|he)d"
    r"|(?P<ll>you|they|it|that)ll"
    r"|(?P<wanna>wanna)|(?P<gonna>gonna)|(?P<gotta>gotta)|(?P<em>em)|(?P<od>an od)"
    r"|(?P<head>here|alive|around|living|going on|on|this|it|that|anything|anyone|anybody|me)"
    r" no more)\b(?! than\b)"
)
_SPOKEN_WORDS = {
    "wanna": "want to",
    "gonna": "going to",
    "gotta": "got to",
    "em": "them",
    "'em": "them",
    "an od": "an overdose",
}


def _written(m: re.Match[str]) -> str:
    word = m.group(0)
    if word in _SPOKEN_WORDS:
        return _SPOKEN_WORDS[word]
    if m.group("head"):
        return m.group("head") + " anymore"
    # "don't", "i'm", "she's", "they'd"; "i've", "you're", "you'll"
    cut = len(word) - (2 if m.group("ve") or m.group("re") or m.group("ll") else 1)
    return word[:cut] + "'" + word[cut:]


def written_form(lower: str) -> tuple[str, list[int] | None, list[int] | None]:
    """``lower`` with spoken forms written out ("dont" -> "don't", "wanna" -> "want to"),
    and, for each position of the result, where it starts and ends in ``lower`` (a position
    inside a rewritten word maps outwards, to the whole word). ``None`` maps when nothing
    changed, so the positions are the same."""
    if _SPOKEN_FORM.search(lower) is None:
        return lower, None, None
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in _SPOKEN_FORM.finditer(lower):
        out.append(lower[pos : m.start()])
        starts.extend(range(pos, m.start()))
        ends.extend(range(pos + 1, m.start() + 1))
        text = _written(m)
        out.append(text)
        starts.extend([m.start()] * len(text))
        ends.extend([m.end()] * len(text))
        pos = m.end()
    out.append(lower[pos:])
    starts.extend(range(pos, len(lower)))
    ends.extend(range(pos + 1, len(lower) + 1))
    return "".join(out), starts, ends


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
    # A denial reaches no further than its own phrase: "I wasn't joking, I'm going to kill
    # myself" and "I can't cope, I want to die" deny nothing after the comma.
    stop = max((m.end() for m in _NEGATION_STOP.finditer(before)), default=0)
    before = " " * stop + before[stop:]
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
        return _scan(text, 0)
    # Very long text: scan the beginning and the end (the newest words of a transcript).
    half = MAX_SCAN_CHARS // 2
    tail_at = len(text) - half
    head, tail = _scan(text[:half], 0), _scan(text[tail_at:], tail_at)
    return CrisisResult(
        head.matches + tail.matches,
        head.risk_factor or tail.risk_factor,
        head.caller_joins or tail.caller_joins,
        head.returns_medicines and tail.returns_medicines,
        head.idiom or tail.idiom,
        tuple(k for k in URGENT_FLAGS if k in head.explained or k in tail.explained),
        tuple(k for k in URGENT_FLAGS if k in head.model_urgent_out and k in tail.model_urgent_out),
    )


class _CareReading:
    """Whether nothing in a text happens now (``_nothing_happening_now``), read over the whole
    text ("she's under CAMHS for it. She did it again last night") and only once a relative's
    care could explain a match away."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._quiet: bool | None = None

    @property
    def quiet(self) -> bool:
        if self._quiet is None:
            self._quiet = _nothing_happening_now(self.text)
        return self._quiet


# Why a match was explained away. Only ordinary call business (a bounded absence, rope for a
# job, a day's tablets, tedium, a fear of being found, medicines kept for a reason, a
# temperature to watch, breathlessness with effort) stops the learned model's urgent tier
# (``CrisisResult.explained``); history, a past event, a relative's care, a screening answer,
# a mix-up or an everyday plan only explain the pattern's own words: a past attempt is the
# strongest risk factor there is, and the model still reads the rest.
CALL_BUSINESS = "call business"
OTHER_REASON = "other"


def _explained_away(
    pat: CrisisPattern, m: re.Match[str], clause: str, cs: int, lower: str, care: _CareReading
) -> str | None:
    """Why the match ``m`` of ``pat`` in ``clause`` (at ``cs`` in ``lower``) is not a red flag
    by the words around it (``CALL_BUSINESS`` or ``OTHER_REASON``), or None when it stands."""
    start, end, words = m.start(), m.end(), m.group(0)
    pid = pat.pid
    business = (
        (pid in _EXERTION_SENSITIVE and _EXERTION.search(clause) and not _ACUTE.search(clause))
        or (
            pid == "sepsis_meningitis"
            and words.endswith("temperature")
            and _TEMPERATURE_ADVICE.search(clause)
            and _FEVER.search(lower) is None
        )
        or (
            pid in _RETURN_SENSITIVE
            and (pid == "wont_be_around" or words.lower().startswith("before"))
            and _ordinary_absence(lower, cs + start, cs + end, clause[end:])
        )
        or (
            pid in _ABSENCE_SENSITIVE
            and (
                _explained_after(_BOUNDED_ABSENCE, clause, start, end)
                or _away_before(clause, start, end)
            )
        )
        or (
            pid == "method"
            and words.endswith("rope")
            and _explained_after(_ROPE_PURPOSE, clause, start, end)
        )
        or (
            pid in _REGIMEN_SENSITIVE
            and (
                _regimen_dose(clause, words)
                or _regimen_question(clause, start, words)
                or _habitual_regimen(clause, start)
                or (
                    _AS_TOLD.search(clause) is not None
                    and _EXCESS.search(clause) is None
                    and _FINAL_WORDS.search(clause) is None
                )
            )
        )
        or (
            pid == "pills_alcohol"
            and _INTERACTION_QUESTION.search(clause, 0, start) is not None
            and _TAKEN_PAST.search(clause) is None
        )
        or (pid == "when_found" and _FOUND_ORDINARY.search(clause))
        or (pid == "did_something" and "wanted" in words and _PROCEDURE.search(clause))
        or (pid == "wont_be_around" and "longer" in words and _RECOVERY.search(clause))
        or (
            pid == "wont_be_around"
            and "need" in words
            and _RECOVERY.search(clause)
            and _FINAL_WORDS.search(clause) is None
        )
        or (pid in _TEDIUM_EXPLAINS and _TEDIUM.search(clause))
        or (pid in _ADMIN_CONDITION_EXPLAINS and _ADMIN_CONDITION.search(clause, 0, start))
        or (
            pid in ("method", "method_future")
            and words.lower().startswith("tied")
            and _MEANS_ORDINARY_RE.search(clause) is not None
        )
        or (
            pid == "at_height"
            and _JOURNEY.search(clause) is not None
            and _JOURNEY_NOT.search(lower) is None
        )
        or (
            pid == "stockpile" and _STOCK_REASON.search(clause) and not _FINAL_WORDS.search(clause)
        )
    )
    if business:
        return CALL_BUSINESS
    other = (
        (pat.kind == "emergency" and _past_event(clause, start, end))
        or (pid in _RESOLVED_SENSITIVE and _resolved_earlier(clause, lower))
        or (pat.kind == "self_harm" and _screened_and_denied(clause, start, end, lower, cs + end))
        or (
            pid == "not_calling_again"
            and (_FAREWELL_THANKS.search(lower) is None or _NOT_CALLING_REASON.search(lower))
        )
        or (
            pid == "no_future_needed"
            and words.lower().startswith("last time")
            and _NOT_CALLING_REASON.search(lower) is not None
        )
        or (
            pid in _FAREWELL_OWN
            and _SOMEONE_ELSES_NEED.search(clause, max(0, start - 30), start)
            and _SELF_IN_WORDS.search(words) is None
        )
        or (pid in _END_OF_LIFE_SENSITIVE and _end_of_life_arrangement(lower))
        or (
            pat.kind in ("emergency", "self_harm")
            and _dated_long_ago(clause, start, end, lower[cs + len(clause) :], lower[:cs])
        )
        or (
            pid in ("self_poisoning", "supply_swallowed")
            and _OVER_A_PERIOD.search(clause, end, end + 60) is not None
        )
        or (
            pid in _AMOUNT_OVER_WEEKS
            and _OVER_WEEKS.search(clause, end, end + 60) is not None
            and _FINAL_WORDS.search(clause) is None
        )
        or (pid in _REGIMEN_SENSITIVE and _course_or_days_dose(clause))
        or (pid == "too_many_pills" and _ordinary_count(clause, words))
        or (
            # "I've got my insulin for tonight and no way of knowing what dose to take"
            pid == "plan_pills"
            and words.lower().startswith(("got ", "ready "))
            and _DOSE_TALK.search(lower) is not None
            and _DOSE_END.search(lower) is None
            and _DELIBERATE.search(lower) is None
            and re.search(r"\ball\b|\bthe lot\b", words.lower()) is None
        )
        or (pid == "farewell_blame" and _PARTING_CUE.search(lower) is None)
        or (
            pid == "struggling_breathe"
            and _CHRONIC_COURSE.search(lower) is not None
            and _ACUTE.search(lower) is None
            and _BREATH_SEVERE.search(lower) is None
        )
        or (
            pid in _REGIMEN_SENSITIVE
            and _NOT_SWALLOWED.search(clause, end) is not None
            and _FINAL_WORDS.search(clause) is None
        )
        or (pid == "insurance_if_deliberate" and _SOMEONES_DEATH.search(lower) is not None)
        or (
            pid == "collapsed"
            and any(f.start() <= start < f.end() for f in _NARRATED_FAINT.finditer(clause))
            and _ACUTE.search(lower) is None
            and _FAINT_NOT_OVER.search(lower) is None
        )
        or (pid == "collapsed" and _collapse_in_a_death_told(lower))
        or (pid == "farewell_thanks" and _thanks_at_discharge(words, lower))
        or (
            pid == "unresponsive"
            and "won't wake" in words
            and _AFTER_A_PROCEDURE.search(clause, end, end + 40) is not None
            and _FEARED_BEFORE.search(clause, max(0, start - 40), start) is not None
            and _ACUTE.search(lower) is None
            and _NOT_WAKING_NOW.search(lower) is None
        )
        or (pid == "hurt_self" and _mistake_feared(clause, lower, start))
        or (pid == "lifeline_stopped" and not _lifeline_stopped_for_good(lower))
        or (
            pid == "oblique_intent"
            and _OBLIQUE_ORDINARY.search(clause) is not None
            and _NO_RETURN.search(clause) is None
        )
        or (
            pid == "take_them_all"
            and _HAVE_IT_ALL_ORDINARY.search(lower) is not None
            and _DELIBERATE.search(lower) is None
            and _NO_RETURN.search(lower) is None
        )
        or (pat.kind == "emergency" and _seen_and_sent_home(clause, lower))
        or (pid in _REGIMEN_SENSITIVE and _one_extra_dose(clause, lower, start, words))
        or (pid in _REGIMEN_SENSITIVE and _kept_or_returned(clause, start, end, lower))
        or (
            pid in _THIRD_PARTY_SENSITIVE
            and care.quiet
            and _told_of_someone_in_care(clause, start, end, pid)
        )
    )
    return OTHER_REASON if other else None


# A faint told as the setting of a story ("I nearly died of embarrassment when I fainted at the
# chemist") is an episode that is over; with words of now ("when she fainted just now") it
# stands, and whatever else was said (a head injury, not breathing) raises its own flag.
_NARRATED_FAINT = re.compile(
    r"\bwhen (?:i|he|she|they|we|my \w+|mum|mam|mom|dad|nan|gran) (?:fainted|passed out"
    r"|blacked out|collapsed)\b"
)
# Anything in a faint's story that is not over or not well: the person still down, a symptom,
# an injury, a sting, a fit.
_FAINT_NOT_OVER = re.compile(
    r"\b(?:still|now|is|isn't|isnt|are|aren't|hasn't|hasnt|won't|wont|can't|cant|couldn't"
    r"|couldnt|keeps?|breath\w*|wak\w*|pale|blue|grey|gray|clammy|sweat\w*|pain\w*|hurt\w*"
    r"|bleed\w*|blood|sick|vomit\w*|confused|sense|awful|worse|again|dizzy|racing|pounding"
    r"|shak\w*|puffy|swell\w*|stung|sting|lying|floor|head|jerk\w*|fit\w*|seizure|crash\w*"
    r"|clutch\w*|chest|arm|come round|came round|wet)\b"
)
# A collapse told as how someone died ("when he collapsed in the garden last spring, he never
# came round, and the funeral..."): grief, not an emergency now. Words of now, or of a death
# that may be happening ("I think he's died", "she's not breathing"), keep the flag.
_DEATH_TOLD = re.compile(
    r"\b(?:died|passed away|passed on|funeral|didn't make it|did not make it|never (?:woke|came"
    r" round|came to)|bereave\w*|widow\w*|since (?:he|she|they) (?:died|passed|went)"
    r"|lost (?:him|her|my \w+) (?:in|last|that|when|after)|(?:his|her) death)\b"
)
_DEATH_MAYBE_NOW = re.compile(
    r"\b(?:think|thought|if) (?:he|she|they)(?:'s| is| has|'ve| have)? (?:died|dead|gone)"
    r"|\b(?:he|she|they)(?:'s| is| are|'re) (?:dead|not breathing|not moving|blue|grey|cold)"
    r"|\bpulse\b|\bcpr\b|\bambulance\b|\b999\b|\bnow\b|\bjust\b"
    r"|\b(?:has|have|'s|'ve) (?:collapsed|fainted|passed out|blacked out)\b"
)


def _collapse_in_a_death_told(text: str) -> bool:
    return (
        _DEATH_TOLD.search(text) is not None
        and _ACUTE.search(text) is None
        and _DEATH_MAYBE_NOW.search(text) is None
    )


# Thanks "for the last time" at the end of a physical treatment ("my treatment's finished and
# I've been discharged") is a goodbye to the service, not to life. Only those words, and
# never with mental-health care, an overdose, bad news, being alone or any word of finality:
# leaving a crisis team or a psychiatric ward is a time of high risk.
_DISCHARGE = re.compile(
    r"\b(?:(?:treatment|chemo|radiotherapy|physio)(?:'s| is| has| has been| was)? (?:finished"
    r"|over|done|completed)|finished (?:my|the) (?:treatment|chemo|radiotherapy|physio)"
    r"|(?:i've been|i have been|i was|i got|i'm being|i am being) discharged)\b"
)
_DISCHARGE_AT_RISK = re.compile(
    r"\b(?:crisis|psych\w*|mental|cmht|counsell?\w*|therap\w*|overdos\w*|depress\w*|rehab"
    r"|detox|section\w*|worked|nothing more|no more|palliative|hospice|own|alone|no one|nobody"
    r"|that's it|that's all|tonight|ready|decided|decision|again|never|anymore|any more"
    r"|goodbye|sorry|message|love)\b"
)


def _thanks_at_discharge(words: str, lower: str) -> bool:
    return (
        "last time" in words
        and _DISCHARGE.search(lower) is not None
        and _DISCHARGE_AT_RISK.search(lower) is None
        and _FAREWELL_RISK.search(lower) is None
        and _NO_RETURN.search(lower) is None
    )


# Fear that someone will not come round from an operation ("I'm afraid he won't wake up after
# the operation") is worry about what is to come, not an unresponsive person now.
_AFTER_A_PROCEDURE = re.compile(
    r"\b(?:after|from) (?:the|his|her|their|my|an?|this) (?:operation|op|anaesthetic|anesthetic"
    r"|general|surgery|procedure|sedation|sedative)\b"
)
# Oblique intent's words said of a move, a job, a queue or a ward ("I'm not hanging about
# much longer, we're moving up north", "I'll check out on my own terms, can I self-discharge").
_OBLIQUE_ORDINARY = re.compile(
    r"\b(?:moving|move (?:in|to|into|back)|holiday|abroad|overseas|retir\w+|new job|emigrat\w*"
    r"|relocat\w*|contract|queue|waiting room|a&e|a and e|self-discharge|discharge|ward|job"
    r"|practice|surgery|register)\b"
)
# "I'll have it all that night" of bowel prep, jabs or tablets as prescribed, or asked about.
_HAVE_IT_ALL_ORDINARY = re.compile(
    r"\b(?:prep|moviprep|picolax|plenvu|klean|colonoscopy|jabs?|vaccines?|booster|as prescribed"
    r"|like the (?:doctor|gp|pharmacist|nurse) said|is (?:that|it) (?:ok|okay|alright|all right"
    r"|right|safe|fine)|if that's (?:ok|okay|alright|all right|fine)|is that ok)\b"
)
# Harm by a medicines mistake ("I'm nervous that I'm taking the wrong dose and hurting
# myself") is an accident feared, not self-harm (``_mistake_feared``).
_MEDICINES_MISTAKE = re.compile(
    r"\b(?:wrong (?:dose|doses|tablets?|pills?|medication|medicine|ones)|double dos\w+"
    r"|(?:mixing|mixed|mix) up (?:my|the|his|her) (?:tablets|pills|medication|medicines|doses))\b"
)
# An end in view beside a stopped lifeline: said outright, or in weaker words ("that's that",
# "I'm done with it") that a treatment reason (a pump, a new regime, a doctor's decision)
# explains.
_LIFELINE_END = re.compile(
    r"\b(?:on purpose|deliberately|intentionally|way out|resolve itself|let (?:it|nature) (?:do"
    r"|take|happen)|letting (?:it|nature)|be the end|end (?:it|of (?:it|me))|end my life"
    r"|(?:want|wanted|going|ready|happy|prepared) to (?:die|go(?! (?:on|onto|to|back|home|out|in"
    r"|for|with|over|up|down|private)\b))|let me die|i'll die|i will die"
    r"|be dead|not be here|won't be here|tired of (?:it all|living|life|everything|being alive)"
    r"|had enough(?! of (?:waiting|the|that|all the|these|those|carrying|trying))"
    r"|(?:can't|cannot) face (?:it|life|living|going on|another day|any more|anymore)\b(?! \w)"
    r"|(?:can't|cannot) face (?:it all|life|living|going on|another day))\b"
)
# A fear of dying ("scared I'll die in my sleep with the hypos") is no end in view.
_LIFELINE_FEAR = re.compile(r"\b(?:scared|afraid|worried|frightened|terrified|fear)\b")
_LIFELINE_END_WEAK = re.compile(
    r"\b(?:not going back|done with (?:it|this|all)|that's that|(?:be|is) (?:over|finished)"
    r"|(?:know|knows) (?:exactly )?(?:where|what) (?:that|it|this) (?:goes|leads|happens|means)"
    r"|no more|i'm done|let go|peace|that's it|that is it)\b"
)
_LIFELINE_REASON = re.compile(
    r"\b(?:pump|omnipod|switched|changed (?:me )?(?:to|onto)|moved (?:me )?(?:on)?to|new (?:insulin"
    r"|regime|pens)|back on (?:the |my )?(?:tablets|metformin|gliclazide|pills|diet)"
    r"|out of date|expired|transport|ambulance|taxi|car|snow|parking|flu|bug|poorly"
    r"|vomiting|sick|norovirus|chest infection|hypos?|low|drip|ward|holiday|by mistake|stolen"
    r"|nicked|battery|doctor|consultant|renal team|nurse|transplant|kidney (?:is )?working"
    r"|palliative|hospice)\b(?! (?:doesn't|does not|don't|do not) know| keeps| failed)"
    r"(?<!transplant failed)"
)
# A withdrawal agreed with the care team ("Mum stopped dialysis after a long talk with the renal
# team, she knows she'll die") is end-of-life care, unless intent is said outright.
_LIFELINE_CARE_DECISION = re.compile(
    r"\b(?:renal team|palliative|hospice|district nurses?|syringe driver|end of life"
    r"|with (?:the|his|her|my) (?:consultant|renal team|palliative team))\b"
)
_LIFELINE_INTENT = re.compile(
    r"\b(?:on purpose|deliberately|intentionally|way out|end my life|kill|suicid\w*"
    r"|(?:doesn't|does not|don't) know)\b"
)


_LIFELINE_CONTEXT = re.compile(
    r"\b(?:insulin|dialysis|haemodialysis|hemodialysis|type (?:1|one)|diabet\w*)\b"
)


def _unfeared_ends(text: str) -> list[re.Match[str]]:
    """The ends in view (``_LIFELINE_END``) not said as a fear ("scared I'll die in my sleep")."""
    return [
        m
        for m in _LIFELINE_END.finditer(text)
        if _LIFELINE_FEAR.search(text, max(0, m.start() - 25), m.start()) is None
    ]


def _lifeline_stopped_for_good(text: str) -> bool:
    ends = _unfeared_ends(text)
    if _LIFELINE_CONTEXT.search(text) is None:
        # pens or injections with nothing to say they are insulin: only an end said outright
        return _LIFELINE_INTENT.search(text) is not None or bool(ends)
    if _LIFELINE_INTENT.search(text) is not None:
        return True
    if _LIFELINE_CARE_DECISION.search(text) is not None:
        return False
    if ends:
        return _LIFELINE_REASON.search(text) is None or not ends[0].group(0).startswith(
            ("tired", "had enough", "can't", "cannot")
        )
    return _LIFELINE_END_WEAK.search(text) is not None and _LIFELINE_REASON.search(text) is None


# Only a fear of what is to come ("I'm afraid he won't wake up after the operation"): never
# someone not waking now ("she won't wake up after the anaesthetic and the nurses have gone").
_FEARED_BEFORE = re.compile(
    r"\b(?:scared|afraid|worried|worry|frightened|terrified|nervous|what if|fear)\b(?: that)? $"
)
_NOT_WAKING_NOW = re.compile(
    r"\b(?:now|still|can't|cannot|isn't|not waking|hasn't|been home|hours?|minutes?|since"
    r"|breath\w*|colou?r|blue|grey|gray|pale|cold|floppy|nurses? (?:have|has) gone)\b"
)
# Harm feared from a medicines mistake ("I'm nervous that I'm taking the wrong dose and
# hurting myself"): a fear said before the words, a mistake named, nothing habitual, and no
# accident claimed (which is how self-harm is hidden: "making it look accidental").
_FEAR_FRAME = re.compile(r"\b(?:nervous|worried|scared|afraid|frightened|terrified)\b")
_HIDDEN = re.compile(
    r"\b(?:accident\w*|look|looks|say|saying|said|told|tell|pretend\w*|again|always|every)\b"
)
_HABIT_BEFORE = re.compile(r"\b(?:keep|keeps|kept|been|always|still)\b[\w ]{0,12}$")


def _mistake_feared(clause: str, lower: str, start: int) -> bool:
    return (
        _FEAR_FRAME.search(clause, 0, start) is not None
        and _MEDICINES_MISTAKE.search(clause) is not None
        and _HIDDEN.search(lower) is None
        and _HABIT_BEFORE.search(clause, 0, start) is None
        and _INTENT_SAID.search(lower) is None
    )


_INTENT_SAID = re.compile(
    r"\b(?:on purpose|deliberately|intentionally|meant to|want(?:ed)? to|going to|end it|kill"
    r"|die|dead)\b"
)


# A decline that is expected, in someone's end-of-life care ("Dad's on the end of life pathway
# and he's not eating", "they've said it's days now, his kidneys are shutting down"), is for
# their palliative team, not 999. The learned model read such calls as emergencies (the held-
# out third-party illness rows it escalated, issue 9, eleventh round); no training emergency
# is said in these words. An emergency the patterns know ("he's stopped breathing", "she's
# fitting") still raises its flag, and so does the model where anything is said to be
# happening now.
_EXPECTED_DECLINE = re.compile(
    r"\b(?:hospices?|palliative|end of life|end-of-life|terminally ill|days (?:left|to live)"
    r"|weeks (?:left|to live)|nothing more (?:they|we|the \w+) can do|prepare (?:ourselves"
    r"|yourselves|the family)|end[- ]stage|borrowed time|dnr|do not resuscitate|comfort care"
    r"|syringe driver|just in case (?:meds|medicines|medication)|anticipatory"
    r"|dying (?:of|from) (?:cancer|dementia|motor neurone|mnd|heart failure))\b"
)
# A new event on top of the decline (a fall, a fever, a sugar, bleeding, legs gone weak or
# numb, not passing water, fast breathing, a fit, pain, missed dialysis) may be an emergency
# of its own: the model's flag stands.
_NEW_EVENT = re.compile(
    r"\b(?:fall|fell|fallen|fever\w*|temperature|shiver\w*|rigors?|sugars?|hypo\w*|glucose|bleed\w*"
    r"|blood|numb\w*|weak|weakness|legs|pee|wee|urine|passing water|breathing (?:fast|quick)"
    r"|clammy|racing|fit|fits|fitting|seizure\w*|chest|pain\w*|dialysis|vomit\w*|sick|swollen"
    r"|swelling|rash|neutropeni\w*|chemo|choking|choked|new|sudden\w*"
    r"|hot|yellow|jaundic\w*)\b"
)


def _expected_decline(text: str, matches: list[CrisisMatch]) -> bool:
    return (
        _EXPECTED_DECLINE.search(text) is not None
        and _ACUTE.search(text) is None
        and _NEW_EVENT.search(text) is None
        and not any(m.kind == "emergency" and not m.negated for m in matches)
    )


def _recovered(lower: str, history_spans: list[tuple[int, int]]) -> set[RedFlag]:
    """Self-harm when its words were all told as history and the caller says they are well
    now ("it's been two years since I tried to end my life and honestly I'm in a really good
    place now"): the reviewed reading stands against the learned model's urgent flag, which
    the fourteenth round's model raised on train14's calls of this kind (issue 9, fifteenth
    round). The gentle check stays open; anything else of now or of risk keeps the model in
    (``_model_urgent_out`` reads the rest of the words)."""
    well = list(_WELL_NOW.finditer(lower))
    if not history_spans or not well or _TURN_AFTER.search(lower, well[-1].end()):
        return set()
    rest = list(_WELL_NOW.sub(lambda m: " " * len(m.group(0)), lower))
    for a, b in history_spans:
        rest[a:b] = " " * (b - a)
    others = _PAST_NEAR.sub(" ", "".join(rest))
    if _NOT_OVER.search(others) or _RECENT.search(others) or _STILL_AT_RISK.search(others):
        return set()
    return {"self_harm"}


# Words beside a told recovery that keep the learned model in (the fifteenth round's review:
# "...I'm doing really well now, my mind's made up though", "...the plan is for Friday", "my
# dad's guns are in the cabinet", "I know exactly how I'd do it next time").
_STILL_AT_RISK = re.compile(
    r"\b(?:plan\w*|mind'?s? (?:is )?made up|made (?:up )?my mind|decided|date|next time|how i'd"
    r"|guns?|bleach|hose|rope|exhaust|garage|bridge|tablets|pills|paracetamol|knife|knives|blades?"
    r"|razors?|letters?|note|goodbye|tonight|tomorrow|weekend|ready|chosen|anniversary|sold"
    rf"|given (?:away|notice)|car|affairs|insurance|will|{_DAYS})\b"
)
# A turn after the told recovery ("I'm in a good place now, but...", "...though") keeps it too.
_TURN_AFTER = re.compile(r"\b(?:but|though|however|except|only)\b")


def _model_urgent_out(
    matches: list[CrisisMatch],
    explained: set[RedFlag],
    idiom: bool,
    text: str,
    spans: list[tuple[int, int]],
) -> tuple[RedFlag, ...]:
    """The urgent kinds the learned model may not raise: those whose words were all explained
    away as call business (and self-harm where an idiom was said), when no pattern stands and
    the rest of the words (``text`` without the explained ``spans``) name no risk factor,
    finality, keeping or taking; and emergency in someone's expected decline at the end of
    life, with nothing happening now (``_EXPECTED_DECLINE``)."""
    decline: set[RedFlag] = {"emergency"} if _expected_decline(text, matches) else set()
    if any(not m.negated for m in matches):
        return tuple(k for k in URGENT_FLAGS if k in decline)
    rest = list(text)
    for a, b in spans:
        rest[a:b] = " " * (b - a)
    others = "".join(rest)
    if RISK_FACTORS.search(others) or _keeps_risk_open(others):
        return tuple(k for k in URGENT_FLAGS if k in decline)
    out = set(explained) | ({"self_harm"} if idiom else set()) | decline
    return tuple(k for k in URGENT_FLAGS if k in out)


# A means or a time named in ordinary medicine talk ("I took all of my insulin as normal", "I
# knocked my dosette box over and don't know which tablets I've taken", "my insulin for tonight
# and no way of knowing what dose to take") is no risk factor: the clause is adherence, a
# mix-up or a question about a dose, and names no end. Finality and a burden always count.
_MEANS_OR_TIME = re.compile(
    r"\b(?:tablets|pills|paracetamol|co-?codamol|insulin|morphine|oramorph|sleeping pills"
    r"|tonight|later today|this weekend)\b"
)
_DOSE_TALK = re.compile(
    r"\b(?:what|which|how much|the right|my usual) (?:dose|doses|one|ones|tablets?|units?)\b"
    r"|\bdon't know (?:which|what|how many|if)\b|\bknocked\b|\bdosette\b|\bpill organi[sz]er\b"
)


def _risk_factor(lower: str) -> re.Match[str] | None:
    """The first words naming a risk factor (``RISK_FACTORS``) outside ordinary medicine
    talk (``_MEANS_OR_TIME`` in a clause of adherence, a mix-up or a dose question)."""
    for cs, ce in clause_spans(lower):
        clause = lower[cs:ce]
        ordinary = (
            (
                (_AS_TOLD.search(clause) is not None and _EXCESS.search(clause) is None)
                or _ACCIDENT.search(clause) is not None
                or _MIXUP.search(clause) is not None
                or _DOSE_TALK.search(clause) is not None
            )
            and _DOSE_END.search(clause) is None
            and _DELIBERATE.search(clause) is None
        )
        for m in RISK_FACTORS.finditer(lower, cs, ce):
            if ordinary and _MEANS_OR_TIME.fullmatch(m.group(0)):
                continue
            return m
    return None


def _scan(original: str, offset: int) -> CrisisResult:
    """Every pattern over every clause of ``original`` (at ``offset`` in the whole text), and
    the risk factor and the caller's joining in, all read from one written form."""
    lower, starts, ends = written_form(normalise(original))
    risk = _risk_factor(lower)
    # positions in ``lower`` back to positions in ``original`` (the same when nothing changed)
    n = len(lower)

    def start_at(i: int) -> int:
        return i if starts is None else (starts[i] if i < n else len(original))

    def end_at(i: int) -> int:
        return i if ends is None else (ends[i - 1] if i > 0 else 0)

    matches: list[CrisisMatch] = []
    explained: set[RedFlag] = set()
    explained_spans: list[tuple[int, int]] = []
    history_spans: list[tuple[int, int]] = []  # self-harm words told as history
    care = _CareReading(lower)
    for cs, ce in clause_spans(lower):
        clause = lower[cs:ce]
        taken: list[tuple[int, int, str]] = []
        history = _told_as_history(clause)
        history_but_not_fine_now = _told_as_history(clause, fine_now_counts=False)
        # self-harm told as history but with it now ("...two years ago and lately I'm getting
        # the same thoughts") is not history
        with_it_now = _WITH_IT_NOW.search(clause) is not None
        accident = _ACCIDENT.search(clause) is not None
        mixup = accident or _MIXUP.search(clause) is not None
        everyday = _EVERYDAY.search(clause) is not None and _NO_RETURN.search(clause) is None
        everyday_reason = (
            CALL_BUSINESS if _EVERYDAY_BUSINESS.search(clause) is not None else OTHER_REASON
        )
        # where the clause turns from the past to now ("we lost her last year and now my son
        # has collapsed too"): emergency words after it are not history
        turn = _TURN_TO_NOW.search(clause)
        for pat in PATTERNS:
            # whole-clause explanations, read before any match
            told_as_past = pat.kind in ("emergency", "self_harm") and (
                history_but_not_fine_now if pat.category == "overdose" else history
            )
            if told_as_past and pat.kind == "self_harm" and with_it_now:
                told_as_past = False
            clause_reason = (
                OTHER_REASON
                if told_as_past
                or (accident and pat.pid in _INTENT_PATTERNS)
                or (mixup and pat.pid in _MIXUP_EXPLAINS)
                else everyday_reason
                if everyday and pat.pid in _EVERYDAY_SENSITIVE
                else None
            )
            if clause_reason is not None and pat.kind not in URGENT_FLAGS:
                continue
            for m in pat.regex.finditer(clause):
                # one match per span and kind: "I took all my pills" is an overdose (an
                # emergency) and, said of oneself, self-harm as well
                if any(m.start() < e and s < m.end() and k == pat.kind for s, e, k in taken):
                    continue
                reason = clause_reason
                if (
                    told_as_past
                    and pat.kind == "emergency"
                    and turn is not None
                    and m.start() >= turn.end()
                ):
                    reason = None
                reason = reason or _explained_away(pat, m, clause, cs, lower, care)
                if (
                    reason is not None
                    and pat.kind == "self_harm"
                    and (
                        told_as_past
                        or _dated_long_ago(
                            clause, m.start(), m.end(), lower[cs + len(clause) :], lower[:cs]
                        )
                    )
                ):
                    history_spans.append((cs + m.start(), cs + m.end()))
                if reason is not None:
                    # crisis words said, undenied, as ordinary call business: the learned model
                    # does not second-guess the explanation (``learned_model_urgent``)
                    if reason == CALL_BUSINESS and (
                        pat.inherent_negation or _negation_cue(clause, m.start()) is None
                    ):
                        # "losing the will to live" over hold music explains self-harm words
                        explained.add("self_harm" if pat.kind == "safety_check" else pat.kind)
                        explained_spans.append((cs + m.start(), cs + m.end()))
                    continue
                taken.append((m.start(), m.end(), pat.kind))
                cue = None if pat.inherent_negation else _negation_cue(clause, m.start())
                negated = cue is not None
                start, end = start_at(cs + m.start()), end_at(cs + m.end())
                matches.append(
                    CrisisMatch(
                        pid=pat.pid,
                        category=pat.category,
                        phrase=original[start:end],
                        clause=original[start_at(cs) : end_at(ce)],
                        negated=negated,
                        start=offset + start,
                        end=offset + end,
                        denial_start=None if cue is None else offset + start_at(cs + cue),
                        about_other=_about_other(clause, m.start(), m.end()),
                    )
                )
    matches.sort(key=lambda m: (m.start, m.end))
    idiom = _IDIOM.search(lower) is not None
    return CrisisResult(
        tuple(matches),
        None if risk is None else risk.group(0),
        _JOINING.search(lower) is not None,
        _returns_medicines(lower),
        idiom,
        tuple(k for k in URGENT_FLAGS if k in explained),
        _model_urgent_out(
            matches, explained | _recovered(lower, history_spans), idiom, lower,
            explained_spans + history_spans,
        ),
        not matches and _ACCEPTANCE.fullmatch(lower) is not None,
    )
