"""Phrase, pattern and semantic matching of utterances against playbook phrase specs.

The engine never loads a model: it is handed a ``PhraseMatcher``. Without an encoder the
matcher does phrases and patterns only (and word overlap for repeated questions); with
the MiniLM encoder it also matches semantically. Example embeddings are computed once per
distinct example text (so once per playbook, shared by every call), and an utterance's
sentence embeddings are computed once and cached (bounded LRU), so that every rule that
looks at an utterance reuses the same vectors.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Protocol

import numpy as np

from models.crisis import CrisisResult
from models.crisis import detect as _detect
from nudges.playbook import PhraseSet, PhraseSpec, Playbook, iter_phrase_specs


@lru_cache(maxsize=256)
def detect_red_flags(text: str) -> CrisisResult:
    """The reviewed red-flag detector, once per utterance: several rules ask of the same words
    (the caller's own protocol and the one for someone else at risk)."""
    return _detect(text)


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
_TOKEN = re.compile(r"[a-z0-9']+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CLAUSE_BREAK = re.compile(r"[.,;:!?]|\bbut\b|\bthough\b|\bhowever\b")
NEGATIONS = frozenset(
    {
        "not", "no", "never", "cannot", "without", "nor", "neither", "dont", "doesnt",
        "didnt", "isnt", "wasnt", "arent", "werent", "havent", "hasnt", "hadnt", "cant",
        "wont", "wouldnt", "shouldnt", "couldnt", "aint",
    }
)  # fmt: skip
# How many words before a phrase a negation still applies to ("not in any pain").
NEGATION_REACH = 4
MAX_SENTENCES = 8
QUESTION_OPENERS = frozenset(
    {
        "what", "how", "when", "why", "where", "which", "who", "whom", "whose", "can",
        "could", "do", "does", "did", "is", "are", "was", "will", "would", "should",
        "shall", "may", "am", "have", "has",
    }
)  # fmt: skip


class Encoder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


MatchKind = Literal["phrase", "pattern", "semantic"]


@dataclass(frozen=True, slots=True)
class Match:
    """Why a text matched: the kind, the sentence it was found in, and what matched."""

    kind: MatchKind
    sentence: str
    matched: str
    score: float = 1.0


@dataclass(frozen=True, slots=True)
class CompiledSpec:
    """A phrase spec with its phrase set merged in, regexes compiled, examples embedded."""

    phrases: re.Pattern[str] | None
    patterns: tuple[re.Pattern[str], ...]
    examples: tuple[str, ...]
    example_vectors: np.ndarray | None
    example_negated: tuple[bool, ...]
    threshold: float
    negation: bool
    semantic_min_words: int = 0
    red_flag: str | None = None
    about: str = "anyone"


def normalise(text: str) -> str:
    return text.translate(_APOSTROPHES).lower()


def _tokens(text: str) -> list[str]:
    return [t.replace("'", "") for t in _TOKEN.findall(text)]


def is_negated_text(text: str) -> bool:
    """True when the text contains a negation word."""
    return any(t in NEGATIONS for t in _tokens(normalise(text)))


def negated_before(lowered: str, start: int) -> bool:
    """A negation within ``NEGATION_REACH`` words before ``start``, in the same clause."""
    head = lowered[:start]
    breaks = list(_CLAUSE_BREAK.finditer(head))
    if breaks:
        head = head[breaks[-1].end() :]
    return any(t in NEGATIONS for t in _tokens(head)[-NEGATION_REACH:])


def split_sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE_END.split(text.strip()) if p.strip()]
    if len(parts) > MAX_SENTENCES:
        # keep the end of a long utterance: it is what the caller just said
        parts = parts[: MAX_SENTENCES - 1] + [" ".join(parts[MAX_SENTENCES - 1 :])]
    return parts or [text.strip()]


def looks_like_question(text: str) -> bool:
    """ASR often drops '?', so also accept an interrogative first word."""
    if "?" in text:
        return True
    toks = _tokens(normalise(text))
    return bool(toks) and toks[0] in QUESTION_OPENERS and len(toks) >= 3


def _sentence_of(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` that contains the span (verbatim)."""
    left = max(text.rfind(c, 0, start) for c in ".!?")
    rights = [i for i in (text.find(c, end) for c in ".!?") if i != -1]
    right = min(rights) + 1 if rights else len(text)
    return text[left + 1 : right].strip()


class PhraseMatcher:
    """Matches utterances against compiled specs; optionally semantic (with an encoder)."""

    def __init__(self, encoder: Encoder | None = None, cache_size: int = 512) -> None:
        self._encoder = encoder
        self._cache_size = cache_size
        self._sentences: OrderedDict[str, tuple[list[str], np.ndarray]] = OrderedDict()
        self._examples: dict[str, np.ndarray] = {}
        # one matcher is shared by the calls of a process; engines may run in executor threads
        self._lock = threading.Lock()

    @property
    def semantic(self) -> bool:
        return self._encoder is not None

    # ------------------------------------------------------------ compiling specs

    def compile(self, spec: PhraseSpec, phrase_sets: dict[str, PhraseSet]) -> CompiledSpec:
        """Merge ``use``, compile phrases/patterns and embed examples (cached by text)."""
        phrases, patterns, examples = list(spec.phrases), list(spec.patterns), list(spec.examples)
        min_words, red_flag, about = spec.semantic_min_words, spec.red_flag, spec.about
        if spec.use is not None:
            base = phrase_sets[spec.use]
            phrases += base.phrases
            patterns += base.patterns
            examples += base.examples
            min_words = max(min_words, base.semantic_min_words)
            red_flag = red_flag or base.red_flag
            about = about if about != "anyone" else base.about
        phrase_re = None
        if phrases:
            alts = sorted({normalise(p).strip() for p in phrases}, key=len, reverse=True)
            body = "|".join(r"\s+".join(re.escape(w) for w in a.split()) for a in alts)
            phrase_re = re.compile(rf"(?<![\w'])(?:{body})(?![\w'])")
        vectors = self._embed_examples(examples) if examples and self.semantic else None
        return CompiledSpec(
            phrases=phrase_re,
            patterns=tuple(re.compile(p, re.IGNORECASE) for p in patterns),
            examples=tuple(examples),
            example_vectors=vectors,
            example_negated=tuple(is_negated_text(e) for e in examples),
            threshold=spec.threshold,
            negation=spec.negation,
            semantic_min_words=min_words,
            red_flag=red_flag,
            about=about,
        )

    def prepare(self, playbook: Playbook) -> None:
        """Embed every semantic example of a playbook now (e.g. at start-up, or when an admin
        saves a playbook), so that creating a call's engine costs no model time."""
        if not self.semantic:
            return
        examples = [e for spec in iter_phrase_specs(playbook) for e in spec.examples]
        examples += [e for ps in playbook.phrase_sets.values() for e in ps.examples]
        if examples:
            self._embed_examples(examples)

    def _embed_examples(self, examples: list[str]) -> np.ndarray:
        assert self._encoder is not None
        with self._lock:
            missing = [e for e in dict.fromkeys(examples) if e not in self._examples]
            if missing:
                for e, v in zip(missing, self._encoder.embed(missing), strict=True):
                    self._examples[e] = v
            return np.stack([self._examples[e] for e in examples])

    # ------------------------------------------------------------ utterances

    def sentence_vectors(self, text: str) -> tuple[list[str], np.ndarray]:
        """The utterance's sentences and their unit embeddings (cached per text)."""
        assert self._encoder is not None
        with self._lock:
            hit = self._sentences.get(text)
            if hit is not None:
                self._sentences.move_to_end(text)
                return hit
        sentences = split_sentences(text)
        vectors = self._encoder.embed(sentences)
        with self._lock:
            self._sentences[text] = (sentences, vectors)
            while len(self._sentences) > self._cache_size:
                self._sentences.popitem(last=False)
        return sentences, vectors

    def warm(self, texts: list[str]) -> None:
        """Embed utterances ahead of time (one batch), e.g. for a replay or a benchmark."""
        if self._encoder is None:
            return
        for text in texts:
            self.sentence_vectors(text)

    def match(self, spec: CompiledSpec, text: str, semantic: bool = True) -> Match | None:
        """The first way ``text`` satisfies ``spec``: phrase, then pattern, then semantic.

        ``semantic=False`` skips the embedding (for cheap checks of partial transcripts).
        """
        if not text.strip():
            return None
        if spec.red_flag is not None:
            found = detect_red_flags(text)
            hit = found.first(spec.red_flag)  # type: ignore[arg-type]
            other = hit is not None and found.about_someone_else(spec.red_flag)  # type: ignore[arg-type]
            if hit is not None and spec.about in ("anyone", "someone_else" if other else "caller"):
                return Match("pattern", hit.clause, hit.phrase)
        lowered = normalise(text)
        if len(lowered) != len(text):
            text = lowered  # rare case-folding that changes length: quote the folded text
        if spec.phrases is not None:
            for m in spec.phrases.finditer(lowered):
                if spec.negation and negated_before(lowered, m.start()):
                    continue
                return Match(
                    "phrase", _sentence_of(text, m.start(), m.end()), text[m.start() : m.end()]
                )
        for pattern in spec.patterns:
            for m in pattern.finditer(lowered):
                if spec.negation and negated_before(lowered, m.start()):
                    continue
                return Match(
                    "pattern", _sentence_of(text, m.start(), m.end()), text[m.start() : m.end()]
                )
        if spec.example_vectors is None or not semantic:
            return None
        sentences, vectors = self.sentence_vectors(text)
        sims = vectors @ spec.example_vectors.T  # (sentences, examples)
        best: Match | None = None
        for i, sentence in enumerate(sentences):
            if len(_tokens(normalise(sentence))) < spec.semantic_min_words:
                continue
            neg = is_negated_text(sentence) if spec.negation else False
            for j in np.argsort(-sims[i]):
                score = float(sims[i, j])
                if score < spec.threshold:
                    break
                if spec.negation and neg != spec.example_negated[j]:
                    continue
                if best is None or score > best.score:
                    best = Match("semantic", sentence, spec.examples[j], score)
                break
        return best

    def similarity(self, a: str, b: str) -> float:
        """How alike two utterances are: cosine of embeddings, else word overlap.

        The lexical fallback is the overlap coefficient (shared words / smaller set), so a
        question re-asked with a few extra words ("sorry, so ...") still scores high.
        """
        if self._encoder is not None:
            _, va = self.sentence_vectors(a)
            _, vb = self.sentence_vectors(b)
            ma, mb = va.mean(axis=0), vb.mean(axis=0)
            denom = float(np.linalg.norm(ma) * np.linalg.norm(mb)) or 1.0
            return float(ma @ mb) / denom
        ta, tb = set(_tokens(normalise(a))), set(_tokens(normalise(b)))
        if not ta or not tb:
            return 0.0
        return len(ta & tb) / min(len(ta), len(tb))
