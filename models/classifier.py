"""Distress and concern classifier for the caller's words, with verbatim evidence.

``CareClassifier.score(text)`` returns a ``TextScore``:

* ``distress`` 0..1: MiniLM with its top layers fine-tuned on the human-rated sentences of
  the VADER corpus and a linear head (``models/distress.py``, trained by
  ``models/train_distress_tuned.py``, card ``models/cards/distress.md``). It shares the
  frozen encoder's bottom layers with the concern heads and runs its own copies of the
  layers above. Without its artifact the frozen-feature logistic head
  (``models/train_distress.py``) is used.
* ``concerns`` {name: 0..1}: one logistic head per concern, trained on the call-style
  utterances of ``models/data/concerns.jsonl`` (``models/train_concerns.py``, card
  ``models/cards/concerns.md``).
* ``crisis`` and ``red_flags``: the reviewed pattern list (``models/crisis.py``) and the
  learned red-flag model (``models/redflag.py``) in two tiers (``RedFlagPolicy``). Pattern
  hits are never overruled by the model. The concern set's ``crisis`` head only gives the
  crisis *score*: on its own it raised "I'm terrified" and grief as crisis.
* **Denials.** When crisis words were present but every one was explicitly denied ("I'm
  not suicidal, I just need my refill"), the denial ("not suicidal") is cut out and the
  *rest* of the text is what the distress and crisis heads judge (one more encoder call,
  only for these rare texts): the word "suicidal" inside a denial must neither raise a
  crisis nor carry the distress score. A text that is nothing but a denial ("I'm not
  suicidal.") is not a crisis and keeps its distress score: said alone, usually as the
  answer to "are you safe?", it is not calm either.
  The ``crisis`` concern score agrees with the flag: at least 0.95 on a pattern hit, and
  below 0.5 whenever ``crisis`` is false. A crisis also lifts ``distress`` to at least
  ``CRISIS_DISTRESS_FLOOR``.
* ``evidence``: the clause of the caller's text that contributed most to the score that
  matters (the crisis phrase's clause; else the distress head when distress is at least 0.5
  or no concern is; else the strongest concern's head), quoted verbatim. Because the
  features are mean-pooled token states and the heads are linear, each token's share of a
  head's logit is exact: ``w . h_t / (n * |mean|)``; a clause's share is the sum over its
  tokens. No extra model call is needed to explain a score.

Bad input never raises: ``None``, numbers and other non-text score as empty text (neutral),
bytes are decoded as UTF-8, control characters are dropped, and text longer than
``MAX_CHARS`` characters (or than the encoder's 256 tokens) is cut, with
``TextScore.truncated`` set. The crisis patterns still scan the full text (its first and
last 10,000 characters when longer), so a red flag at the end of a long text is not lost.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from models import crisis as crisis_patterns
from models.call_context import CUES
from models.crisis import RED_FLAGS, URGENT_FLAGS, RedFlag
from models.distress import TUNED_ARTIFACT, DistressLoadError, DistressModel
from models.encoder import EMBED_DIM, TextEncoder, TokenStates, get_encoder
from models.redflag import CLASSES as MODEL_CLASSES
from models.redflag import DEFAULT_ARTIFACT as RED_FLAG_ARTIFACT
from models.redflag import RedFlagModel
from models.signals import CONCERNS, CRISIS_DISTRESS_FLOOR, TextScore

log = logging.getLogger(__name__)

ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
DISTRESS_ARTIFACT = ARTIFACT_DIR / "distress_head.npz"
CONCERN_ARTIFACT = ARTIFACT_DIR / "concern_heads.npz"
CUE_ARTIFACT = ARTIFACT_DIR / "cue_head.npz"

MAX_CHARS = 2_000


@dataclass(frozen=True, slots=True)
class RedFlagPolicy:
    """How the learned red-flag model's probabilities become flags (two tiers).

    Escalation is expensive (a supervisor leaves the floor, the agent learns to ignore the
    screen), so the model alone raises an *urgent* flag only when it is very sure; when it
    is less sure that the caller is at risk it asks for the *gentle safety check*, which
    never escalates: asking directly about safety is the right move in either case, and the
    caller's answer brings the protocol when it is needed. Chosen on out-of-fold
    probabilities of family-grouped cross-validation on the training rows (never the test
    split): urgent false alarms about 2 %, soft checks on about 5 % of hard negatives.
    """

    urgent_self_harm: float = 0.97
    urgent_emergency: float = 0.95
    soft: float = 0.5
    risk_factor_self_harm: float = 0.5
    """Self-harm is urgent from this probability when the words also name a clinical risk
    factor (a means, a time, finality: ``crisis_patterns.RISK_FACTORS``). Issue 9, seventh
    round: out of fold it escalated no more hard negatives and no calm scripted line, and
    raised self-harm recall on the left-out risk rows from 0.716 to 0.791."""


DEFAULT_RED_FLAG_POLICY = RedFlagPolicy()
CRISIS_PATTERN_SCORE = 0.95
# Evidence for unpunctuated ASR text: clauses longer than this are cut into word runs.
EVIDENCE_MAX_WORDS = 20
EVIDENCE_RUN_WORDS = 12
_BATCH = 32

_SOFT_SPLIT = re.compile(r"\s+(?:and then|and|because|cause)\s+", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ClassifierLoadError(RuntimeError):
    """The trained heads are missing or unreadable; says how to rebuild them."""


@dataclass(frozen=True, slots=True)
class LinearHeads:
    """Logistic heads over concatenated, per-layer L2-normalised mean-pooled token states.

    ``weights`` (heads, layers*384) and ``bias`` (heads,) already include any feature
    standardisation used in training, so a head's logit is ``weights @ x + bias``.
    """

    names: tuple[str, ...]
    layers: tuple[int, ...]
    weights: np.ndarray
    bias: np.ndarray
    thresholds: np.ndarray

    @classmethod
    def load(cls, path: Path) -> LinearHeads:
        try:
            with np.load(path, allow_pickle=False) as z:
                heads = cls(
                    names=tuple(str(n) for n in z["names"]),
                    layers=tuple(int(v) for v in z["layers"]),
                    weights=z["weights"].astype(np.float32),
                    bias=z["bias"].astype(np.float32),
                    thresholds=z["thresholds"].astype(np.float32),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise ClassifierLoadError(
                f"cannot read classifier head {path.name}: {exc}; rebuild it with "
                "'python -m models.train_distress' / 'python -m models.train_concerns' / "
                "'python -m models.train_cues'"
            ) from exc
        heads.check()
        return heads

    def check(self) -> None:
        dim = len(self.layers) * EMBED_DIM
        n = len(self.names)
        if (
            self.weights.shape != (n, dim)
            or self.bias.shape != (n,)
            or self.thresholds.shape != (n,)
        ):
            raise ClassifierLoadError(
                f"head shapes {self.weights.shape}/{self.bias.shape}/{self.thresholds.shape} do "
                f"not match {n} heads over {dim} features"
            )

    def save(self, path: Path, **meta: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {
            "names": np.array(self.names),
            "layers": np.array(self.layers, dtype=np.int64),
            "weights": self.weights.astype(np.float32),
            "bias": self.bias.astype(np.float32),
            "thresholds": self.thresholds.astype(np.float32),
        }
        arrays.update({k: np.asarray(v) for k, v in meta.items()})
        np.savez_compressed(path, **arrays)

    def logits(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(features, dtype=np.float32) @ self.weights.T + self.bias


def pooled_features(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features of one text from its (layers, tokens, 384) states.

    Returns the feature vector (layers*384) and the per-layer norms of the mean, which
    token attribution needs.
    """
    means = states.mean(axis=1)
    norms = np.maximum(np.linalg.norm(means, axis=1), 1e-9)
    return (means / norms[:, None]).reshape(-1), norms


def token_contributions(states: np.ndarray, norms: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Each token's exact share of ``w . features`` (the bias is not attributed)."""
    n_layers, n_tok, dim = states.shape
    w_layers = w.reshape(n_layers, dim)
    per_layer = np.einsum("ltd,ld->lt", states, w_layers) / (n_tok * norms[:, None])
    return per_layer.sum(axis=0)


def features_for_texts(
    texts: Sequence[str], layers: tuple[int, ...], encoder: TextEncoder | None = None
) -> np.ndarray:
    """Feature matrix for many texts (sorted by length internally to save padding)."""
    enc = encoder or get_encoder()
    out = np.zeros((len(texts), len(layers) * EMBED_DIM), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(order), 64):
        idx = order[start : start + 64]
        for i, ts in zip(idx, enc.token_states([texts[i] for i in idx], layers), strict=True):
            out[i] = pooled_features(ts.states)[0]
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


def clean_text(text: object) -> tuple[str, bool]:
    """Coerce anything to text for scoring; returns (text, truncated)."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        if text is not None:
            log.warning("classifier got non-text input of type %s", type(text).__name__)
        return "", False
    text = _CONTROL.sub(" ", text)
    if len(text) > MAX_CHARS:
        return text[:MAX_CHARS], True
    return text, False


def evidence_spans(text: str) -> list[tuple[int, int]]:
    """Candidate evidence spans of ``text``: its clauses, with long ones cut down.

    ASR output often has no punctuation, so a clause longer than ``EVIDENCE_MAX_WORDS``
    words is split at "and", "and then", "because", and a part still too long becomes
    overlapping runs of ``EVIDENCE_RUN_WORDS`` words. Spans may overlap; each is verbatim.
    """
    spans: list[tuple[int, int]] = []
    for cs, ce in crisis_patterns.clause_spans(text):
        if len(text[cs:ce].split()) <= EVIDENCE_MAX_WORDS:
            spans.append((cs, ce))
            continue
        pos = cs
        parts: list[tuple[int, int]] = []
        for m in _SOFT_SPLIT.finditer(text, cs, ce):
            parts.append((pos, m.start()))
            pos = m.end()
        parts.append((pos, ce))
        for ps, pe in parts:
            words = list(re.finditer(r"\S+", text[ps:pe]))
            if not words:
                continue
            if len(words) <= EVIDENCE_MAX_WORDS:
                spans.append((ps + words[0].start(), ps + words[-1].end()))
                continue
            step = max(1, EVIDENCE_RUN_WORDS // 3)
            last = max(0, len(words) - EVIDENCE_RUN_WORDS)
            starts = sorted({*range(0, last + 1, step), last})
            for k in starts:
                run = words[k : k + EVIDENCE_RUN_WORDS]
                spans.append((ps + run[0].start(), ps + run[-1].end()))
    return spans


class CareClassifier:
    """Scores caller text for distress, concerns and crisis; explains with the caller's words.

    Thread-safe: the encoder serialises model calls, everything else is read-only.
    Call it from an executor, never on the event loop (a text costs ~10 ms of CPU).
    """

    def __init__(
        self,
        distress: LinearHeads,
        concerns: LinearHeads,
        encoder: TextEncoder | None = None,
        red_flag_model: RedFlagModel | None = None,
        red_flag_policy: RedFlagPolicy = DEFAULT_RED_FLAG_POLICY,
        distress_model: DistressModel | None = None,
        cue_head: LinearHeads | None = None,
    ) -> None:
        if distress.layers != concerns.layers:
            raise ClassifierLoadError("distress and concern heads use different features")
        if tuple(concerns.names) != CONCERNS:
            raise ClassifierLoadError(f"concern heads {concerns.names} != {CONCERNS}")
        self._distress = distress
        self._concerns = concerns
        self._layers = distress.layers
        self._encoder = encoder
        self.red_flag_model = red_flag_model
        self.red_flag_policy = red_flag_policy
        if red_flag_model is not None and red_flag_model.input_layer not in self._layers:
            raise ClassifierLoadError(
                f"the red-flag model reads hidden state {red_flag_model.input_layer}, which the"
                f" classifier does not compute (layers {self._layers})"
            )
        if cue_head is not None and cue_head.layers != self._layers:
            raise ClassifierLoadError("the cue head and the concern heads use different layers")
        if cue_head is not None and not set(cue_head.names) <= set(CUES):
            raise ClassifierLoadError(f"cue head names {cue_head.names} are not call cues {CUES}")
        # The call-cue head (``models/train_cues.py``): what the call context reads by meaning.
        self.cue_head = cue_head
        # One matrix for all heads: row 0 distress, rows 1.. concerns.
        self._w = np.vstack([distress.weights[:1], concerns.weights])
        self._b = np.concatenate([distress.bias[:1], concerns.bias])
        self.distress_threshold = float(distress.thresholds[0])
        # The fine-tuned distress model replaces row 0 when present (see ``text_features``).
        self.distress_model = distress_model
        if distress_model is not None:
            if distress_model.layers != self._layers:
                raise ClassifierLoadError("distress model and concern heads use different layers")
            self.distress_threshold = distress_model.threshold

    @property
    def encoder(self) -> TextEncoder:
        if self._encoder is None:
            self._encoder = get_encoder()
        return self._encoder

    @property
    def layers(self) -> tuple[int, ...]:
        return self._layers

    def score(self, text: str) -> TextScore:
        """Score one text (see the module docstring for what each field means)."""
        return self.score_batch([text])[0]

    def score_batch(self, texts: Sequence[object]) -> list[TextScore]:
        """Score many texts with batched encoder calls; same results as ``score`` each."""
        cleaned = [clean_text(t) for t in texts]
        results: list[TextScore | None] = [None] * len(cleaned)
        todo = [i for i, (t, _) in enumerate(cleaned) if t.strip()]
        for i, (t, trunc) in enumerate(cleaned):
            if not t.strip():
                results[i] = _empty_score(trunc)
        todo.sort(key=lambda i: len(cleaned[i][0]))
        for start in range(0, len(todo), _BATCH):
            idx = todo[start : start + _BATCH]
            states = self.encoder.token_states([cleaned[i][0] for i in idx], self._layers)
            red = self._red_flag_probs(states)
            for k, (i, st) in enumerate(zip(idx, states, strict=True)):
                full = texts[i] if isinstance(texts[i], str) else cleaned[i][0]
                results[i] = self._score_one(
                    cleaned[i][0], str(full), st, cleaned[i][1], None if red is None else red[k]
                )
        return [r if r is not None else _empty_score(False) for r in results]

    # -- internals -------------------------------------------------------------------------

    def _red_flag_probs(self, states: Sequence[TokenStates]) -> np.ndarray | None:
        """The learned red-flag model's (n, 4) probabilities for a batch, or None."""
        if self.red_flag_model is None or not states:
            return None
        li = self._layers.index(self.red_flag_model.input_layer)
        # One text at a time: the int8 model quantizes activations per call, so a batch's
        # padding would move a text's probabilities (a replay must score as the live call did).
        return np.vstack([self.red_flag_model.predict([st.states[li]]) for st in states])

    def text_features(self, states: np.ndarray) -> np.ndarray:
        """Features of one text for ``decide``, from its frozen (layers, tokens, 384) states.

        The frozen features; with a fine-tuned distress model, its features follow them
        (twice as long). Frozen features alone still work: distress then comes from the
        frozen head.
        """
        feats = pooled_features(states)[0]
        if self.distress_model is None:
            return feats
        return np.concatenate([feats, pooled_features(self.distress_model.states(states))[0]])

    def head_probabilities(self, features: np.ndarray) -> np.ndarray:
        """Raw head outputs: [distress, *concerns] before the crisis rule."""
        f = np.asarray(features, dtype=np.float32)
        n = self._w.shape[1]
        probs = _sigmoid(self._w @ f[:n] + self._b)
        if self.distress_model is not None and f.shape[0] > n:
            probs[0] = self.distress_model.probability(f[n:])
        return probs

    def decide(
        self,
        features: np.ndarray,
        found: crisis_patterns.CrisisResult,
        rest_features: np.ndarray | None = None,
        red_probs: np.ndarray | None = None,
    ) -> tuple[float, dict[str, float], tuple[RedFlag, ...]]:
        """Distress, concern scores and the red flags raised, from one text's features.

        This is the whole scoring rule apart from the evidence; the benchmark and the tests
        use it on cached features to evaluate thousands of sentences as shipped.
        ``rest_features`` are the features of the text with its crisis denials cut out
        (only used when every crisis phrase was denied; None when nothing else was said).

        Red flags: the reviewed patterns raise ``self_harm``, ``emergency`` and
        ``safety_check``; the red-flag model adds to them in two tiers (``red_probs``, see
        ``RedFlagPolicy``). The concern ``crisis`` head only feeds the crisis score.
        """
        probs = self.head_probabilities(features)
        distress = float(probs[0])
        concern_p = {c: float(p) for c, p in zip(CONCERNS, probs[1:], strict=True)}
        head_crisis = concern_p["crisis"]
        if found.negated_only:
            if rest_features is None:
                head_crisis = 0.0
            else:
                rest = self.head_probabilities(rest_features)
                distress = float(rest[0])
                head_crisis = float(rest[1 + CONCERNS.index("crisis")])
        raised = set(found.kinds)
        # The learned model reads the words as said; an explicit denial ("I'm not suicidal")
        # and medicines handed back ("take them all back to the chemist") are the reviewed
        # patterns' call, so they are not second-guessed; nor, for an urgent flag, are urgent
        # words the patterns explained away as call business ("won't be around for three
        # weeks, on holiday") or idioms ("my back is killing me").
        if red_probs is not None and found.learned_model_applies:
            self._apply_red_flag_model(
                red_probs, raised, found.risk_factor is not None, found.model_urgent_out
            )
            model_urgent = [
                float(red_probs[MODEL_CLASSES.index(k)])
                for k in URGENT_FLAGS
                if found.learned_model_urgent(k)
            ]
            head_crisis = max([head_crisis, *model_urgent])
        flags = tuple(k for k in RED_FLAGS if k in raised)
        urgent = any(k in URGENT_FLAGS for k in flags)
        concern_p["crisis"] = _crisis_score(head_crisis, found.flagged, urgent)
        if urgent:
            distress = max(distress, CRISIS_DISTRESS_FLOOR)
        return distress, concern_p, flags

    def _apply_red_flag_model(
        self,
        probs: np.ndarray,
        raised: set[RedFlag],
        risk_factor: bool = False,
        urgent_out: tuple[RedFlag, ...] = (),
    ) -> None:
        """Add the model's flags to ``raised``: urgent in two tiers, except the kinds in
        ``urgent_out`` (words the patterns explained away: ``CrisisResult.model_urgent_out``),
        else the gentle check."""
        pol = self.red_flag_policy
        p = {c: float(v) for c, v in zip(MODEL_CLASSES, probs, strict=True)}
        if "self_harm" not in urgent_out and (
            p["self_harm"] >= pol.urgent_self_harm
            or (risk_factor and p["self_harm"] >= pol.risk_factor_self_harm)
        ):
            raised.add("self_harm")
        if "emergency" not in urgent_out and p["emergency"] >= pol.urgent_emergency:
            raised.add("emergency")
        if raised & set(URGENT_FLAGS):
            return
        # Emergency words the patterns explained away, or someone's expected decline at the
        # end of life, ask no safety question by their emergency probability: the gentle check
        # is about the caller's hopelessness.
        em_soft = p["emergency"] if "emergency" not in urgent_out else 0.0
        if max(p["self_harm"], em_soft, p["safety_check"]) >= pol.soft:
            raised.add("safety_check")

    def rest_after_denials(self, text: str, found: crisis_patterns.CrisisResult) -> str | None:
        """``text`` without its denied crisis phrases, or None when nothing else is said."""
        if not found.negated_only:
            return None
        keep = np.ones(len(text), dtype=bool)
        for m in found.matches:
            if m.denial_start is not None:
                keep[max(0, m.denial_start) : min(len(text), m.end)] = False
        rest = "".join(ch for ch, k in zip(text, keep, strict=True) if k)
        return rest if re.search(r"[^\W\d_]{2,}", rest) else None

    def _score_one(
        self,
        text: str,
        full_text: str,
        st: TokenStates,
        cut: bool,
        red_probs: np.ndarray | None = None,
    ) -> TextScore:
        feats, norms = pooled_features(st.states)
        dist: tuple[np.ndarray, np.ndarray] | None = None
        if self.distress_model is not None:
            d_states = self.distress_model.states(st.states)
            d_feats, d_norms = pooled_features(d_states)
            dist = (d_states, d_norms)
            feats = np.concatenate([feats, d_feats])
        found = crisis_patterns.detect(full_text)
        rest_feats = None
        rest = self.rest_after_denials(text, found)
        if rest is not None:
            rest_feats = self.text_features(
                self.encoder.token_states([rest], self._layers)[0].states
            )
        distress, concern_p, flags = self.decide(feats, found, rest_feats, red_probs)
        evidence = self._evidence(text, st, norms, distress, concern_p, found, dist)
        cue_p = self._cue_probabilities(feats)
        cues = self._cues_read(cue_p)
        cue_evidence = self._cue_evidence(text, st, norms, cue_p) if cues else ""
        return TextScore(
            distress=distress,
            concerns=MappingProxyType(concern_p),
            crisis=any(k in URGENT_FLAGS for k in flags),
            evidence=evidence,
            crisis_phrases=found.phrases,
            red_flags=flags,
            about_others=tuple(
                k for k in flags if k == "self_harm" and found.about_someone_else(k)
            ),
            self_harm_patterns=tuple(
                m.pid for m in found.matches if not m.negated and m.kind == "self_harm"
            ),
            truncated=cut or st.truncated,
            cues=cues,
            cue_evidence=cue_evidence,
        )

    def cue_kinds(self, features: np.ndarray) -> tuple[str, ...]:
        """The call cues the cue head reads in one text's features (none without a head)."""
        return self._cues_read(self._cue_probabilities(features))

    def _cue_probabilities(self, features: np.ndarray) -> np.ndarray | None:
        """The cue head's probabilities from a text's features (frozen part first), or None."""
        head = self.cue_head
        if head is None:
            return None
        n = head.weights.shape[1]
        return _sigmoid(head.logits(np.asarray(features, dtype=np.float32)[:n]))

    def _cues_read(self, p: np.ndarray | None) -> tuple[str, ...]:
        head = self.cue_head
        if head is None or p is None:
            return ()
        return tuple(name for name, v, t in zip(head.names, p, head.thresholds, strict=True)
                     if v >= t)

    def _evidence(
        self,
        text: str,
        st: TokenStates,
        norms: np.ndarray,
        distress: float,
        concern_p: dict[str, float],
        found: crisis_patterns.CrisisResult,
        dist: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> str:
        hit = found.first()
        if hit is not None:
            return hit.clause.strip()
        spans = evidence_spans(text)
        if not spans:
            return ""
        if len(spans) == 1:
            s, e = spans[0]
            return text[s:e]
        top_concern = max(
            (c for c in CONCERNS if c != "crisis"), key=lambda c: concern_p[c], default=None
        )
        if distress >= 0.5 or top_concern is None or concern_p[top_concern] < 0.5:
            row = 0
        else:
            row = 1 + CONCERNS.index(top_concern)
        if row == 0 and dist is not None and self.distress_model is not None:
            # the distress row reads the fine-tuned branch's states: attribute on those
            contrib = token_contributions(dist[0], dist[1], self.distress_model.weights)
        else:
            contrib = token_contributions(st.states, norms, self._w[row])
        return _best_span(text, spans, st, contrib)

    def _cue_evidence(
        self, text: str, st: TokenStates, norms: np.ndarray, p: np.ndarray | None
    ) -> str:
        """The clause of ``text`` that carried the most weight for the cue the head read most
        surely (its token shares of the head's logit), or "" when it read none."""
        head = self.cue_head
        if head is None or p is None:
            return ""
        margin = p - head.thresholds
        row = int(np.argmax(margin))
        if margin[row] < 0:
            return ""
        spans = evidence_spans(text)
        if len(spans) <= 1:
            return text[spans[0][0] : spans[0][1]] if spans else ""
        return _best_span(text, spans, st, token_contributions(st.states, norms, head.weights[row]))


def _best_span(
    text: str, spans: list[tuple[int, int]], st: TokenStates, contrib: np.ndarray
) -> str:
    """The span of ``spans`` whose tokens' contributions sum highest."""
    offs = np.array(st.offsets, dtype=np.int64).reshape(-1, 2)
    real = offs[:, 0] != offs[:, 1]  # [CLS]/[SEP] belong to no clause
    totals = [
        float(contrib[real & (offs[:, 0] < e) & (offs[:, 1] > s)].sum()) for s, e in spans
    ]
    best = max(range(len(spans)), key=lambda k: totals[k])
    s, e = spans[best]
    return text[s:e]


def _crisis_score(head: float, pattern: bool, crisis: bool) -> float:
    if pattern:
        return max(head, CRISIS_PATTERN_SCORE)
    if crisis:
        return max(head, 0.5)
    # Keep the score consistent with the flag: below 0.5 whenever crisis is false.
    return min(head, 0.49)


def _empty_score(truncated: bool) -> TextScore:
    return TextScore(
        distress=0.0,
        concerns=MappingProxyType(dict.fromkeys(CONCERNS, 0.0)),
        crisis=False,
        evidence="",
        truncated=truncated,
    )


@lru_cache(maxsize=1)
def load_classifier() -> CareClassifier:
    """The process-wide classifier with the committed heads (loaded once, then shared)."""
    for path in (DISTRESS_ARTIFACT, CONCERN_ARTIFACT):
        if not path.exists():
            raise ClassifierLoadError(
                f"missing {path}; the trained heads ship with the package "
                "(rebuild: python -m models.train_distress && python -m models.train_concerns)"
            )
    distress = LinearHeads.load(DISTRESS_ARTIFACT)
    concerns = LinearHeads.load(CONCERN_ARTIFACT)
    distress_model = None
    if TUNED_ARTIFACT.exists():
        try:
            distress_model = DistressModel.load(TUNED_ARTIFACT)
        except DistressLoadError as exc:
            raise ClassifierLoadError(str(exc)) from exc
    else:
        log.warning("no %s: distress falls back to the frozen head", TUNED_ARTIFACT.name)
    # The concern set's crisis head learned topics (pills, death, fear) as much as intent:
    # on the hard set it raised "I'm terrified" and grief. It raises no flag on its own.
    # torch int8, the runtime its tiers and test numbers were measured on. (The three-net
    # ensemble of issue 9's third round ran on onnxruntime instead; it was not kept: see
    # models/cards/red_flags.md.)
    red = RedFlagModel.load(RED_FLAG_ARTIFACT).quantized() if RED_FLAG_ARTIFACT.exists() else None
    if red is None:
        log.warning(
            "no red-flag model at %s: red flags come from the patterns alone",
            RED_FLAG_ARTIFACT.name,
        )
    cue_head = LinearHeads.load(CUE_ARTIFACT) if CUE_ARTIFACT.exists() else None
    if cue_head is None:
        log.warning("no %s: the call context reads cues from words alone", CUE_ARTIFACT.name)
    clf = CareClassifier(
        distress,
        concerns,
        red_flag_model=red,
        distress_model=distress_model,
        cue_head=cue_head,
    )
    log.info(
        "classifier loaded: layers=%s heads=%d distress=%s",
        clf.layers,
        1 + len(concerns.names),
        "fine-tuned" if distress_model is not None else "frozen head",
    )
    return clf
