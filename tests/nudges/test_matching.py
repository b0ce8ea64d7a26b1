"""Phrase, pattern, negation and (with the real MiniLM encoder) semantic matching."""

from __future__ import annotations

import pytest

from nudges.matching import PhraseMatcher, looks_like_question, split_sentences
from nudges.playbook import PhraseSpec, load_playbook


def compiled(matcher: PhraseMatcher, **kw: object) -> object:
    return matcher.compile(PhraseSpec.model_validate(kw), {})


def test_phrases_match_whole_words_case_and_apostrophe_insensitive() -> None:
    m = PhraseMatcher()
    spec = compiled(m, phrases=["i'm scared", "pain"])
    hit = m.match(spec, "Honestly. I\u2019M SCARED of the results!")  # type: ignore[arg-type]
    assert hit is not None and hit.kind == "phrase"
    assert hit.sentence == "I\u2019M SCARED of the results!"
    assert m.match(spec, "the painting is nice") is None  # type: ignore[arg-type]


def test_negation_in_the_same_clause_blocks_a_phrase() -> None:
    m = PhraseMatcher()
    spec = compiled(m, phrases=["in pain"])
    for text in ["I'm not in pain", "I am never in pain at night", "I don't think I'm in pain"]:
        assert m.match(spec, text) is None, text  # type: ignore[arg-type]
    # a negation in an earlier clause does not reach
    for text in ["No, I'm in pain", "It's not broken but I'm in pain", "Not today. I'm in pain"]:
        assert m.match(spec, text) is not None, text  # type: ignore[arg-type]
    # with negation off, negated phrases still count (crisis language)
    off = compiled(m, phrases=["want to live"], negation=False)
    assert m.match(off, "I don't want to live anymore") is not None  # type: ignore[arg-type]


def test_patterns_are_case_insensitive_and_respect_negation() -> None:
    m = PhraseMatcher()
    spec = compiled(m, patterns=[r"\bthat (?:sounds|must be) (?:really )?(?:hard|scary)\b"])
    assert m.match(spec, "Oh, That must be really scary.") is not None  # type: ignore[arg-type]
    assert m.match(spec, "that sounds really easy") is None  # type: ignore[arg-type]


def test_questions_and_sentences() -> None:
    assert looks_like_question("how many do I take")
    assert looks_like_question("I take how many?")
    assert not looks_like_question("Okay.")
    assert not looks_like_question("I take two a day")
    assert split_sentences("One. Two? Three!") == ["One.", "Two?", "Three!"]


def test_lexical_similarity_for_repeated_questions() -> None:
    m = PhraseMatcher()
    a = "How many of the tablets should I take each day?"
    assert m.similarity(a, "Sorry, so how many tablets should I take each day?") >= 0.75
    assert m.similarity(a, "When is the pharmacy open?") < 0.3


@pytest.fixture(scope="module")
def semantic() -> PhraseMatcher:
    from models.encoder import get_encoder

    return PhraseMatcher(get_encoder())


@pytest.mark.slow
def test_semantic_match_finds_paraphrases_without_keywords(semantic: PhraseMatcher) -> None:
    pb = load_playbook()
    ack = semantic.compile(pb.phrase_sets["acknowledgement"], pb.phrase_sets)
    hit = semantic.match(ack, "Oh no. That's really frightening for you.")
    assert hit is not None and hit.kind == "semantic" and hit.score >= 0.6
    assert semantic.match(ack, "Can you spell your surname for me?") is None


@pytest.mark.slow
def test_semantic_match_respects_negation_polarity(semantic: PhraseMatcher) -> None:
    spec = semantic.compile(
        PhraseSpec(examples=["I was just diagnosed with diabetes."], threshold=0.5), {}
    )
    assert semantic.match(spec, "They found out last week that I've got diabetes.") is not None
    assert semantic.match(spec, "I was not diagnosed with diabetes.") is None


@pytest.mark.slow
def test_semantic_similarity_for_repeated_questions(semantic: PhraseMatcher) -> None:
    a = "How many of the tablets should I take each day?"
    assert semantic.similarity(a, "Sorry, how many pills am I supposed to take daily?") >= 0.75
    assert semantic.similarity(a, "Is the pharmacy open on Sunday?") < 0.5


class CountingEncoder:
    """Wraps the real encoder and counts how many texts it embeds."""

    def __init__(self) -> None:
        from models.encoder import get_encoder

        self.inner = get_encoder()
        self.texts = 0

    def embed(self, texts: list[str]) -> object:
        self.texts += len(texts)
        return self.inner.embed(texts)


@pytest.mark.slow
def test_prepared_matcher_embeds_each_utterance_once() -> None:
    from asr.types import TranscriptFinal
    from models.clock import FakeClock
    from nudges.engine import NudgeEngine

    enc = CountingEncoder()
    matcher = PhraseMatcher(enc)  # type: ignore[arg-type]
    pb = load_playbook()
    matcher.prepare(pb)
    prepared = enc.texts
    assert prepared > 10
    NudgeEngine(pb, FakeClock(), matcher)
    engine = NudgeEngine(pb, FakeClock(), matcher)
    assert enc.texts == prepared  # building engines costs no model time once prepared
    engine.handle(TranscriptFinal("caller", "I feel so alone. Nobody ever visits.", 0, 3))
    assert enc.texts == prepared + 2  # two sentences, embedded once for all rules
    engine.handle(TranscriptFinal("agent", "That must be hard.", 3.5, 5))
    engine.handle(TranscriptFinal("caller", "I feel so alone. Nobody ever visits.", 6, 9))
    assert enc.texts == prepared + 3  # the repeated caller text came from the cache


@pytest.mark.slow
def test_support_group_rule_fires_on_meaning_alone(semantic: PhraseMatcher) -> None:
    """No keyword of the rule is in the sentence; the MiniLM similarity carries it."""
    from asr.types import TranscriptFinal
    from models.clock import FakeClock
    from nudges.engine import NudgeEngine
    from nudges.events import NudgeCreated

    engine = NudgeEngine(load_playbook(), FakeClock(), semantic)
    text = "The specialist says this is something I'll be living with for the rest of my life."
    out = engine.handle(TranscriptFinal("caller", text, 0.0, 5.0))
    created = [e for e in out if isinstance(e, NudgeCreated)]
    assert [e.rule_id for e in created] == ["offer_support_group"]
    assert f'The caller said "{text.rstrip(".")}"' in created[0].reason
    assert 'sounds like "I\'ve been living with this illness for years."' in created[0].details[0]
    # the same engine, lexical only, would not have seen it
    lexical = NudgeEngine(load_playbook(), FakeClock(), PhraseMatcher())
    assert lexical.handle(TranscriptFinal("caller", text, 0.0, 5.0)) == []


# ---- what counts as an acknowledgement (default playbook) ---------------------------------

HOLLOW = [
    "I understand. The next available appointment is on Thursday at ten.",
    "Okay. Can I get your date of birth, please?",
    "I see. And what's your postcode?",
    "Right, I understand. Let me just check the system.",
    "Makes sense. Which pharmacy do you use?",
]
REAL = [
    "I can hear how worried you are.",
    "That sounds frightening.",
    "I'm so sorry about your husband.",
    "I understand how hard this must be for you.",
    "Of course you're worried, anyone would be.",
    "That's a lot to deal with on your own.",
    "It's completely normal to feel scared about results.",
]


def _ack_spec(matcher: PhraseMatcher):  # type: ignore[no-untyped-def]
    pb = load_playbook()
    return matcher.compile(pb.phrase_sets["acknowledgement"], pb.phrase_sets)


@pytest.mark.parametrize("text", HOLLOW)
def test_a_bare_i_understand_before_a_transactional_question_is_not_an_acknowledgement(
    text: str,
) -> None:
    matcher = PhraseMatcher()
    assert matcher.match(_ack_spec(matcher), text) is None


@pytest.mark.parametrize("text", REAL)
def test_words_that_address_the_feeling_are_an_acknowledgement(text: str) -> None:
    matcher = PhraseMatcher()
    assert matcher.match(_ack_spec(matcher), text) is not None


@pytest.mark.slow
@pytest.mark.parametrize("text", HOLLOW)
def test_hollow_replies_do_not_match_semantically_either(text: str) -> None:
    from models.encoder import get_encoder

    matcher = PhraseMatcher(get_encoder())
    assert matcher.match(_ack_spec(matcher), text) is None
