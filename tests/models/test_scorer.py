"""WindowScorer: smoothing, hysteresis, window expiry, trend and evidence, in fake time.

A scripted classifier stands in for the model so that every number here is exact; one
slow test at the end runs the real classifier through the scorer.
"""

from __future__ import annotations

import math
from types import MappingProxyType

import pytest

from asr.types import TranscriptFinal, Word
from models.clock import FakeClock
from models.scorer import ScorerConfig, WindowScorer, evidence_times
from models.signals import CONCERNS, TextScore


class ScriptedClassifier:
    """Returns the score registered for each text; records what it was asked."""

    def __init__(self, table: dict[str, TextScore]) -> None:
        self.table = table
        self.calls: list[str] = []

    def score(self, text: str) -> TextScore:
        self.calls.append(text)
        return self.table[text]


def ts(distress: float, crisis: bool = False, evidence: str = "", **concerns: float) -> TextScore:
    values = dict.fromkeys(CONCERNS, 0.0)
    values.update(concerns)
    if crisis:
        values["crisis"] = max(values["crisis"], 0.95)
    return TextScore(distress, MappingProxyType(values), crisis, evidence)


def final(text: str, start: float = 0.0, end: float = 1.0, speaker: str = "caller"):
    return TranscriptFinal(speaker, text, start, end)  # type: ignore[arg-type]


TABLE = {
    "calm": ts(0.1, evidence="calm"),
    "upset": ts(0.9, evidence="upset", fear=0.9),
    "mid": ts(0.5, evidence="mid"),
    "sad": ts(0.3, evidence="sad", sadness=0.8),
    "help": ts(0.95, crisis=True, evidence="help"),
}


def make(**cfg: float) -> tuple[WindowScorer, FakeClock, ScriptedClassifier]:
    clock = FakeClock()
    clf = ScriptedClassifier(TABLE)
    return WindowScorer(clf, clock, config=ScorerConfig(**cfg)), clock, clf


def test_ema_smooths_a_single_spike():
    scorer, clock, _ = make(ema_alpha=0.5, window_s=5.0)
    s1 = scorer.add_final(final("calm"))
    assert s1.distress == pytest.approx(0.05)
    clock.advance(6)  # "calm" leaves the window: one step towards 0, then idle decay
    s2 = scorer.add_final(final("upset"))
    # the window holds only "upset": raw 0.9, EMA from the decayed previous value
    prev = 0.05 * 0.5 * math.exp(-1 / 15.0)
    assert s2.distress == pytest.approx(0.5 * 0.9 + 0.5 * prev)
    assert s2.distress < 0.9


def test_window_score_is_the_max_of_finals_in_window():
    scorer, clock, _ = make(ema_alpha=1.0)
    scorer.add_final(final("upset"))
    clock.advance(2)
    s = scorer.add_final(final("calm"))
    # "upset" is still inside 20 s, so the calm reply doesn't wash it out
    assert s.distress == pytest.approx(0.9)
    assert s.concerns["fear"] == pytest.approx(0.9)


def test_window_expiry_uses_the_injected_clock_and_is_poll_independent():
    a, clock_a, _ = make(ema_alpha=1.0, window_s=20.0)
    b, clock_b, _ = make(ema_alpha=1.0, window_s=20.0)
    a.add_final(final("upset"))
    b.add_final(final("upset"))
    clock_a.advance(19.9)
    assert a.current().distress == pytest.approx(0.9)
    # b is polled every 0.5 s, a only at the end: same result at the same time
    for _ in range(80):
        clock_b.advance(0.5)
        b.current()
    clock_a.advance(40 - 19.9)
    sa, sb = a.current(), b.current()
    assert sa.distress == pytest.approx(sb.distress)
    assert sa.trend == sb.trend and sa.distressed == sb.distressed
    # expired at t=20 (raw 0 -> alpha 1 gives 0), nothing left to quote
    assert sa.distress == pytest.approx(0.0)
    assert sa.evidence == "" and sa.evidence_start_s is None


def test_idle_decay_after_window_empties():
    scorer, clock, _ = make(ema_alpha=0.5, window_s=10.0, idle_decay_s=15.0)
    scorer.add_final(final("upset"))  # 0.45
    clock.advance(10)  # expiry: 0.225
    assert scorer.current().distress == pytest.approx(0.225)
    clock.advance(15)
    assert scorer.current().distress == pytest.approx(0.225 * math.exp(-1))


def _with(scorer: WindowScorer, **values: TextScore) -> None:
    scorer._classifier.table.update(values)  # type: ignore[attr-defined]


def test_distressed_hysteresis_holds_in_the_band_and_releases_below_off():
    # Same smoothed value 0.55 (between off 0.45 and on 0.6), different history.
    held, clock, _ = make(ema_alpha=1.0, window_s=10.0, distress_on=0.6, distress_off=0.45)
    _with(held, d70=ts(0.7), d55=ts(0.55), d40=ts(0.4))
    assert held.add_final(final("d70")).distressed
    clock.advance(1)
    held.add_final(final("d55"))
    clock.advance(1)
    held.add_final(final("d40"))
    clock.set(10.5)  # "d70" left the window: raw max is now 0.55
    s = held.current()
    assert s.distress == pytest.approx(0.55)
    assert s.distressed, "in the band, a scorer that was on stays on"
    clock.set(11.5)  # "d55" left: raw 0.4 is below off
    s = held.current()
    assert s.distress == pytest.approx(0.4)
    assert not s.distressed

    fresh, _, _ = make(ema_alpha=1.0, window_s=10.0, distress_on=0.6, distress_off=0.45)
    _with(fresh, d55=ts(0.55))
    s = fresh.add_final(final("d55"))
    assert s.distress == pytest.approx(0.55)
    assert not s.distressed, "in the band, a scorer that was off stays off"


def test_concern_hysteresis_on_and_off():
    scorer, clock, _ = make(ema_alpha=1.0, window_s=10.0, concern_on=0.55, concern_off=0.35)
    _with(scorer, f60=ts(0.2, fear=0.6), f40=ts(0.2, fear=0.4), f30=ts(0.2, fear=0.3))
    assert "fear" in scorer.add_final(final("f60")).active
    clock.advance(1)
    scorer.add_final(final("f40"))
    clock.advance(1)
    scorer.add_final(final("f30"))
    clock.set(10.5)  # window max 0.4: held on
    assert "fear" in scorer.current().active
    clock.set(11.5)  # window max 0.3: off
    assert "fear" not in scorer.current().active

    fresh, _, _ = make(ema_alpha=1.0, concern_on=0.55, concern_off=0.35)
    _with(fresh, f40=ts(0.2, fear=0.4))
    assert "fear" not in fresh.add_final(final("f40")).active


def test_crisis_is_never_delayed_by_smoothing():
    scorer, clock, _ = make(ema_alpha=0.2)
    for _ in range(3):
        scorer.add_final(final("calm"))
        clock.advance(1)
    s = scorer.add_final(final("help"))
    assert s.crisis and s.distressed
    assert "crisis" in s.active
    assert s.concerns["crisis"] >= 0.95
    assert s.distress >= 0.95
    assert s.evidence == "help"


def test_trend_rising_then_steady_then_falling():
    scorer, clock, _ = make(ema_alpha=0.6, window_s=6.0, trend_span_s=10.0)
    assert scorer.add_final(final("calm")).trend == "steady"
    clock.advance(3)
    assert scorer.add_final(final("upset")).trend == "rising"
    for _ in range(6):
        clock.advance(3)
        s = scorer.add_final(final("upset"))
    assert s.trend == "steady"
    for _ in range(5):
        clock.advance(3)
        s = scorer.add_final(final("calm"))
    assert s.trend == "falling"


def test_evidence_quotes_the_distressed_final_with_its_times():
    scorer, clock, _ = make()
    scorer.add_final(final("calm", 0.0, 1.0))
    clock.advance(2)
    scorer.add_final(final("upset", 2.0, 3.5))
    clock.advance(2)
    s = scorer.add_final(final("calm", 4.0, 5.0))
    assert s.evidence == "upset"
    assert (s.evidence_start_s, s.evidence_end_s) == (2.0, 3.5)


def test_evidence_follows_top_concern_when_not_distressed():
    scorer, clock, _ = make(ema_alpha=1.0)
    scorer.add_final(final("calm", 0, 1))
    clock.advance(1)
    s = scorer.add_final(final("sad", 1, 2))
    assert not s.distressed and "sadness" in s.active
    assert s.evidence == "sad"


def test_agent_speech_and_empty_finals_are_ignored():
    scorer, clock, clf = make()
    before = scorer.add_final(final("calm"))
    clock.advance(1)
    after = scorer.add_final(final("upset", speaker="agent"))
    assert after.distress == pytest.approx(before.distress)
    scorer.add_final(final("   "))
    assert clf.calls == ["calm"]


def test_deterministic_replay():
    def run() -> list[tuple]:
        scorer, clock, _ = make()
        out = []
        for i, name in enumerate(["calm", "upset", "mid", "sad", "calm", "help", "calm"]):
            clock.set(i * 4.0)
            s = scorer.add_final(final(name, i * 4.0, i * 4.0 + 2))
            out.append((s.distress, s.trend, s.distressed, tuple(sorted(s.active)), s.evidence))
        clock.advance(60)
        s = scorer.current()
        out.append((s.distress, s.trend, s.distressed, tuple(sorted(s.active)), s.evidence))
        return out

    assert run() == run()


def test_evidence_times_from_word_timings():
    words = tuple(
        Word(w, 10 + i * 0.5, 10 + i * 0.5 + 0.4)
        for i, w in enumerate("okay so I'm really scared about the scan".split())
    )
    f = TranscriptFinal("caller", "Okay, so I'm really scared about the scan.", 10, 14, words)
    assert evidence_times(f, "I'm really scared about the scan.") == (11.0, 13.9)
    assert evidence_times(f, "not in the words") == (10, 14)


def test_config_validation():
    with pytest.raises(ValueError):
        ScorerConfig(distress_on=0.4, distress_off=0.5)
    with pytest.raises(ValueError):
        ScorerConfig(window_s=0)


@pytest.mark.slow
def test_real_classifier_through_the_scorer():
    from models.classifier import load_classifier

    clock = FakeClock()
    scorer = WindowScorer(load_classifier(), clock)
    s = scorer.add_final(final("Hi, I'm calling about my appointment on Tuesday.", 0, 3))
    assert not s.distressed and not s.crisis
    for i, text in enumerate(
        [
            "The doctor said the scan showed a shadow on my lung.",
            "I'm so scared, I haven't slept in days and I keep crying.",
        ]
    ):
        clock.advance(4)
        s = scorer.add_final(final(text, 4 + 4 * i, 7 + 4 * i))
    assert s.distressed
    assert s.trend == "rising"
    assert "fear" in s.active
    assert "scared" in s.evidence
    assert s.evidence_start_s == 8 and s.evidence_end_s == 11


def test_a_red_flag_is_about_someone_else_only_while_every_final_raising_it_is():
    base = ts(0.95, crisis=True, evidence="x")
    table = {
        "his": TextScore(
            base.distress,
            base.concerns,
            True,
            "his",
            red_flags=("self_harm",),
            about_others=("self_harm",),
        ),
        "mine": TextScore(base.distress, base.concerns, True, "mine", red_flags=("self_harm",)),
        "calm": ts(0.1, evidence="calm"),
    }
    clock = FakeClock()
    scorer = WindowScorer(ScriptedClassifier(table), clock, config=ScorerConfig(window_s=10.0))
    s = scorer.add_final(final("his"))
    assert s.red_flags == {"self_harm"} and s.about_others == {"self_harm"}
    clock.advance(2)
    s = scorer.add_final(final("calm"))
    assert s.about_others == {"self_harm"}
    clock.advance(2)
    # the caller's own words join the husband's in the window: no longer only someone else's
    s = scorer.add_final(final("mine"))
    assert s.red_flags == {"self_harm"} and s.about_others == frozenset()
