"""Rolling-window scorer: the caller's recent words -> smoothed, explainable ``Signals``.

One ``WindowScorer`` per call. It keeps the caller's finals of the last ``window_s``
seconds (by the injected clock), scores each final once when it arrives, and turns the
window into ``Signals``:

* **Window score.** Each final is scored once by the classifier (the text of a final never
  changes, so re-embedding the whole window on every final would only cost latency). The
  window's raw score is, per signal, the maximum over the finals still in the window: one
  clearly distressed sentence in the last 20 s is what an agent needs to hear about, and a
  mean would dilute it with "yes", "okay" and dates of birth.
* **Smoothing.** An exponential moving average is stepped at *events*: each caller final
  and each moment a final leaves the window. Events are determined by the clock readings
  taken in ``add_final``, so the result does not depend on how often ``current()`` is
  polled. Once the window is empty the smoothed values decay exponentially with
  ``idle_decay_s`` (closed form, again independent of polling).
* **Crisis attacks instantly.** ``crisis`` is true while a crisis-flagged final is in the
  window, and the ``crisis`` concern is never smoothed *down* below the raw window value:
  smoothing must never delay a red flag. ``red_flags`` names every red flag raised by a
  final still in the window.
* **Hysteresis.** ``distressed`` switches on at ``distress_on`` and off only below
  ``distress_off``; each concern likewise (``concern_on`` / ``concern_off``), so a value
  hovering at the threshold doesn't flicker.
* **Trend.** The smoothed distress now against its value ``trend_span_s`` ago (or the
  oldest value seen, early in a call): rising / falling beyond ``trend_delta``, else steady.
* **The whole call.** Each final's red flags are read with the caller's earlier turns of the
  call (``models/call_context.py``): a farewell after hopelessness raises self-harm though
  neither sentence does alone, and a goodbye the call has explained (a move, a hospice)
  raises none. ``ScorerConfig.call_context`` turns this off.
* **Evidence.** The caller's words that drove the score: the crisis sentence if there is
  one, else the evidence clause of the final with the highest raw distress (or, when the
  caller is not distressed, of the strongest active concern), quoted verbatim with the
  start/end times of those words (word timings when the final has them, else the final's).

Agent speech is ignored (``add_final`` returns ``current()`` unchanged): the pipeline may
hand every final to the scorer, and the agent's words ("I'm sorry you're in pain") must
never be scored as the caller's. Empty finals are ignored too.

Not thread-safe: a call's scorer is used from one executor task at a time.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from asr.types import TranscriptFinal, Word
from models.call_context import CallContext
from models.clock import Clock
from models.signals import CONCERNS, Signals, TextScore, Trend


class TextClassifier(Protocol):
    """What the scorer needs from a classifier (``CareClassifier`` satisfies it)."""

    def score(self, text: str) -> TextScore: ...


@dataclass(frozen=True, slots=True)
class ScorerConfig:
    """Per-call knobs of the window scorer."""

    window_s: float = 20.0
    # Read the caller's turns of the whole call together for self-harm risk
    # (``models/call_context.py``); off, each final is judged alone.
    call_context: bool = True
    ema_alpha: float = 0.6
    idle_decay_s: float = 15.0
    distress_on: float = 0.6
    distress_off: float = 0.45
    concern_on: float = 0.55
    concern_off: float = 0.35
    trend_span_s: float = 10.0
    trend_delta: float = 0.08

    def __post_init__(self) -> None:
        if self.window_s <= 0:
            raise ValueError("window_s must be positive")
        if not 0 < self.ema_alpha <= 1:
            raise ValueError("ema_alpha must be in (0, 1]")
        if not self.distress_off <= self.distress_on:
            raise ValueError("distress_off must not exceed distress_on")
        if not self.concern_off <= self.concern_on:
            raise ValueError("concern_off must not exceed concern_on")


@dataclass(frozen=True, slots=True)
class _Scored:
    at: float
    final: TranscriptFinal
    score: TextScore


@dataclass(slots=True)
class _State:
    distress: float = 0.0
    concerns: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CONCERNS, 0.0))
    at: float = 0.0


class WindowScorer:
    """Keeps one caller's last ``window_s`` seconds of finals and emits smoothed ``Signals``."""

    def __init__(
        self,
        classifier: TextClassifier,
        clock: Clock,
        window_s: float = 20.0,
        config: ScorerConfig | None = None,
    ) -> None:
        if config is None:
            config = ScorerConfig(window_s=window_s)
        elif window_s != config.window_s and window_s != 20.0:
            raise ValueError("give window_s either directly or in config, not both")
        self._cfg = config
        self._classifier = classifier
        self._clock = clock
        self._window: deque[_Scored] = deque()
        self._context = CallContext() if config.call_context else None
        self._state = _State(at=clock.now())
        self._started = False
        self._distressed = False
        self._active: set[str] = set()
        # (time, smoothed distress) at each event, for the trend; bounded by time below.
        self._history: deque[tuple[float, float, bool]] = deque()

    @property
    def config(self) -> ScorerConfig:
        return self._cfg

    # -- public API -----------------------------------------------------------------

    def add_final(self, final: TranscriptFinal) -> Signals:
        """Score a caller final, step the window and return the new ``Signals``.

        Agent finals and empty finals are ignored (the current signals are returned).
        """
        if final.speaker != "caller" or not isinstance(final.text, str) or not final.text.strip():
            return self.current()
        now = self._clock.now()
        self._advance(now)
        score = self._classifier.score(final.text)
        if self._context is not None:
            score = self._context.judge(final.text, score, now)
        self._window.append(_Scored(now, final, score))
        self._started = True
        self._step(now)
        return self._signals(now)

    def current(self) -> Signals:
        """The signals as of the clock's now (expiring finals that left the window)."""
        now = self._clock.now()
        self._advance(now)
        return self._signals(now)

    def reset(self) -> None:
        """Forget everything (for a new call on a reused scorer)."""
        self._window.clear()
        self._history.clear()
        if self._context is not None:
            self._context.reset()
        self._state = _State(at=self._clock.now())
        self._started = False
        self._distressed = False
        self._active.clear()

    # -- internals -------------------------------------------------------------------

    def _advance(self, now: float) -> None:
        """Apply every expiry event up to ``now`` in time order."""
        while self._window and self._window[0].at + self._cfg.window_s <= now:
            t_exp = self._window[0].at + self._cfg.window_s
            self._window.popleft()
            self._step(t_exp)
        if not self._window and self._started:
            self._decay_to(now)

    def _decay_to(self, now: float) -> None:
        st = self._state
        dt = now - st.at
        if dt <= 0:
            return
        k = math.exp(-dt / self._cfg.idle_decay_s) if self._cfg.idle_decay_s > 0 else 0.0
        st.distress *= k
        for c in st.concerns:
            st.concerns[c] *= k
        st.at = now
        self._update_flags()

    def _raw(self) -> tuple[float, dict[str, float]]:
        if not self._window:
            return 0.0, dict.fromkeys(CONCERNS, 0.0)
        distress = max(s.score.distress for s in self._window)
        concerns = {c: max(s.score.concerns.get(c, 0.0) for s in self._window) for c in CONCERNS}
        return distress, concerns

    def _step(self, t: float) -> None:
        """One EMA step towards the current window's raw score, at time ``t``."""
        st = self._state
        a = self._cfg.ema_alpha
        raw_d, raw_c = self._raw()
        st.distress = a * raw_d + (1 - a) * st.distress
        for c in CONCERNS:
            st.concerns[c] = a * raw_c[c] + (1 - a) * st.concerns[c]
        # A red flag is never smoothed down: attack instantly.
        st.concerns["crisis"] = max(st.concerns["crisis"], raw_c["crisis"])
        if self._crisis_in_window():
            st.distress = max(st.distress, raw_d)
        st.at = t
        self._update_flags()
        self._remember(t)

    def _remember(self, t: float) -> None:
        # Only events are recorded; between events the value is constant, or decays in
        # closed form when the window is empty, so _value_at() is exact at any time.
        self._history.append((t, self._state.distress, not self._window))
        horizon = t - 2 * self._cfg.trend_span_s
        while len(self._history) > 1 and self._history[1][0] <= horizon:
            self._history.popleft()

    def _value_at(self, t: float) -> float:
        point = self._history[0]
        for h in self._history:
            if h[0] <= t:
                point = h
            else:
                break
        t0, v, empty = point
        if empty and t > t0 and self._cfg.idle_decay_s > 0:
            v *= math.exp(-(t - t0) / self._cfg.idle_decay_s)
        return v

    def _update_flags(self) -> None:
        cfg = self._cfg
        d = self._state.distress
        if self._distressed:
            self._distressed = d >= cfg.distress_off
        else:
            self._distressed = d >= cfg.distress_on
        for c, v in self._state.concerns.items():
            if c in self._active:
                if v < cfg.concern_off:
                    self._active.discard(c)
            elif v >= cfg.concern_on:
                self._active.add(c)

    def _crisis_in_window(self) -> bool:
        return any(s.score.crisis for s in self._window)

    def _trend(self, now: float) -> Trend:
        if not self._history:
            return "steady"
        past = self._value_at(max(now - self._cfg.trend_span_s, self._history[0][0]))
        delta = self._state.distress - past
        if delta >= self._cfg.trend_delta:
            return "rising"
        if delta <= -self._cfg.trend_delta:
            return "falling"
        return "steady"

    def _evidence(self) -> tuple[str, float | None, float | None]:
        if not self._window:
            return "", None, None
        crisis = [s for s in self._window if s.score.crisis]
        soft = [s for s in self._window if "safety_check" in s.score.red_flags]
        if crisis:
            best = crisis[-1]
        elif soft:
            best = soft[-1]
        elif self._distressed or not self._active:
            # max() keeps the first of equals; prefer the most recent on ties.
            best = max(reversed(self._window), key=lambda s: s.score.distress)
        else:
            top = max(self._active, key=lambda c: self._state.concerns[c])
            best = max(reversed(self._window), key=lambda s: s.score.concerns.get(top, 0.0))
        text = best.score.evidence or best.final.text.strip()
        start, end = evidence_times(best.final, text)
        return text, start, end

    def _signals(self, now: float) -> Signals:
        st = self._state
        crisis = self._crisis_in_window()
        active = set(self._active)
        if crisis:
            active.add("crisis")
        evidence, ev_start, ev_end = self._evidence()
        flags = {k for s in self._window for k in s.score.red_flags}
        return Signals(
            at_s=now,
            distress=_clip(st.distress),
            concerns=_frozen({c: _clip(v) for c, v in st.concerns.items()}),
            trend=self._trend(now),
            crisis=crisis,
            distressed=self._distressed or crisis,
            active=frozenset(active),
            evidence=evidence,
            evidence_start_s=ev_start,
            evidence_end_s=ev_end,
            red_flags=frozenset(flags),
            about_others=frozenset(
                k
                for k in flags
                if all(k in s.score.about_others for s in self._window if k in s.score.red_flags)
            ),
        )


_WORD = re.compile(r"[\w']+")


def _norm_word(w: str) -> str:
    return "".join(ch for ch in w.lower().replace("\u2019", "'") if ch.isalnum() or ch == "'")


def evidence_times(final: TranscriptFinal, evidence: str) -> tuple[float, float]:
    """Start/end seconds of ``evidence`` inside ``final``, from word timings when present.

    Finds the run of recognised words that spells the evidence clause; falls back to the
    whole final's times when the final has no words or they don't line up.
    """
    words: tuple[Word, ...] = final.words
    target = [_norm_word(w) for w in _WORD.findall(evidence)]
    target = [w for w in target if w]
    if words and target:
        normed = [_norm_word(w.text) for w in words]
        n = len(target)
        for i in range(0, len(normed) - n + 1):
            if normed[i : i + n] == target:
                return words[i].start_s, words[i + n - 1].end_s
        # ASR words may split differently ("don't" vs "don" "t"): match on the first and
        # last evidence word instead.
        first, last = target[0], target[-1]
        for i, w in enumerate(normed):
            if w == first:
                for j in range(i, len(normed)):
                    if normed[j] == last and j - i < 3 * n:
                        return words[i].start_s, words[j].end_s
    return final.start_s, final.end_s


def _clip(v: float) -> float:
    return float(min(1.0, max(0.0, v)))


def _frozen(d: dict[str, float]) -> Mapping[str, float]:
    from types import MappingProxyType

    return MappingProxyType(dict(d))
