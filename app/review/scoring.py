"""The empathy review of one call, computed from its stored events only.

Input: the stored call (``Repository.get_call``: transcript, signals, nudges, feedback) and
its event log (``Repository.events_for_calls``), which says which caller line each distress
reading followed. Output: a ``CallReview`` with the moments, the score parts (each with its
inputs) and a written summary. No model runs here: acknowledgements and the crisis protocol
are recognised with the playbook's phrase sets (phrases and patterns, not the semantic
examples), so the same stored call always gets the same review. ``docs/scoring.md`` is the
definition users read; keep the two in step (and bump ``SCORE_VERSION`` when a rule changes,
so stored scores are recomputed).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from app.review.schema import (
    CallReview,
    DistressPoint,
    EmpathyScore,
    Moment,
    NudgeOutcome,
    PartKey,
    ReviewNudge,
    ScorePart,
    TranscriptLine,
)

SCORE_VERSION = 1

# Time to acknowledge: full marks within ACK_GOOD_S of the caller's concern, none at ACK_CAP_S.
ACK_GOOD_S = 5.0
ACK_CAP_S = 30.0
# A concern still unacknowledged this long after the caller said it is a missed moment.
UNACK_S = 20.0
# After an acknowledgement the same concern needs no new one for this long (the classifier's
# rolling window keeps a concern active for a while after the caller named it).
ACK_COVER_S = 60.0
# The agent starts talking at least this long into a caller's line, while the caller is still
# talking for at least CUT_OVERLAP_S more: the caller was cut off (the nudge engine's rule).
CUT_IN_AFTER_S = 0.3
CUT_OVERLAP_S = 0.3
INTERRUPTION_COST = 25.0
# The caller finished and nobody spoke for this long.
SILENCE_S = 10.0
# The crisis protocol (a direct safety question, or emergency help) within this long.
CRISIS_WINDOW_S = 60.0
# Distress falling at least this much from before an acknowledgement to after it.
GOOD_DROP = 0.05
# Without a named concern, a caller line whose reading is at least this distressed is one.
CONCERN_DISTRESS = 0.5
CALM = 0.3
TALK_SHARE_FULL = 0.5
TALK_SHARE_ZERO = 0.8
START_READINGS = 3
EXCERPT_CHARS = 160

WEIGHTS: dict[PartKey, float] = {
    "time_to_acknowledge": 20.0,
    "concerns_acknowledged": 25.0,
    "interruptions": 15.0,
    "talk_share": 10.0,
    "distress_change": 15.0,
    "crisis_handling": 15.0,
}
LABELS: dict[PartKey, str] = {
    "time_to_acknowledge": "Time to acknowledge",
    "concerns_acknowledged": "Concerns acknowledged",
    "interruptions": "Interruptions",
    "talk_share": "Talk share",
    "distress_change": "Distress start vs end",
    "crisis_handling": "Crisis handling",
}
URGENT_FLAGS = frozenset({"self_harm", "emergency"})
NOT_A_CONCERN = frozenset({"gratitude"})
_OUTCOMES = frozenset({"agent_said", "accepted", "dismissed", "expired", "call_ended"})


class Phrases:
    """Recognises acknowledgements and the crisis protocol with the playbook's phrase sets.

    Uses the sets ``acknowledgement``, ``safety_check``, ``other_safety_check`` (asking after
    someone else at risk: "is he safe?") and ``emergency_action`` of the given playbook, and
    the packaged playbook's for any it lacks. Phrases and patterns only.
    """

    SETS = ("acknowledgement", "safety_check", "other_safety_check", "emergency_action")

    def __init__(self, playbook: Any | None = None) -> None:
        from nudges.matching import PhraseMatcher
        from nudges.playbook import PhraseSpec, load_playbook

        sets = dict(load_playbook().phrase_sets)
        if playbook is not None:
            sets.update(
                {k: v for k, v in playbook.phrase_sets.items() if k in self.SETS}
            )
        self._matcher = PhraseMatcher(encoder=None)
        self._specs = {
            name: self._matcher.compile(PhraseSpec(use=name), sets) for name in self.SETS
        }

    def acknowledges(self, text: str) -> bool:
        return self._matcher.match(self._specs["acknowledgement"], text, semantic=False) is not None

    def follows_crisis_protocol(self, text: str, someone_else: bool = False) -> bool:
        """A safety question or emergency help; asking after the person at risk ("is he
        safe?") counts only when the risk was someone else's, not the caller's own."""
        names: tuple[str, ...] = ("safety_check", "emergency_action")
        if someone_else:
            names += ("other_safety_check",)
        return any(
            self._matcher.match(self._specs[name], text, semantic=False) is not None
            for name in names
        )


@dataclass(frozen=True, slots=True)
class _Turn:
    index: int
    segment_id: str
    speaker: str
    text: str
    start_s: float
    end_s: float


@dataclass(slots=True)
class _Reading:
    at_s: float
    distress: float
    trend: str
    crisis: bool
    active: frozenset[str]
    red_flags: frozenset[str]
    turn: int | None = None  # index of the caller line it followed
    about_others: frozenset[str] = frozenset()

    @property
    def concerns(self) -> frozenset[str]:
        named = self.active - NOT_A_CONCERN - {"crisis"}
        if named:
            return named
        return frozenset({"distress"}) if self.distress >= CONCERN_DISTRESS else frozenset()


@dataclass(slots=True)
class _Episode:
    turn: _Turn
    names: set[str]
    ack: _Turn | None = None

    @property
    def delay_s(self) -> float | None:
        if self.ack is None:
            return None
        return max(0.0, self.ack.start_s - self.turn.end_s)


@dataclass(slots=True)
class _Facts:
    """What the rules below observed; the score parts and the summary read it."""

    turns: list[_Turn]
    readings: list[_Reading]
    acks: set[int] = field(default_factory=set)
    episodes: list[_Episode] = field(default_factory=list)
    cut_offs: list[tuple[_Turn, _Turn]] = field(default_factory=list)  # (caller, agent)
    silences: list[tuple[_Turn, float]] = field(default_factory=list)  # (caller line, gap)
    crisis_at: float | None = None
    crisis_turn: _Turn | None = None
    protocol_turn: _Turn | None = None
    good: list[tuple[_Reading, _Turn, _Reading]] = field(default_factory=list)


def _turns(call: Mapping[str, Any]) -> list[_Turn]:
    segs = [s for s in call["transcript"] if str(s.get("text") or "").strip()]
    # Finals arrive when each utterance ends; the review reads them in speaking order.
    segs.sort(key=lambda s: (float(s["start_s"]), float(s["end_s"])))
    return [
        _Turn(i, str(s.get("segment_id") or ""), str(s["speaker"]), str(s["text"]),
              float(s["start_s"]), float(s["end_s"]))
        for i, s in enumerate(segs)
    ]


def _readings(
    call: Mapping[str, Any], events: Iterable[Mapping[str, Any]], turns: Sequence[_Turn]
) -> list[_Reading]:
    """Distress readings, each tied to the caller line it followed in the event log."""
    by_segment = {t.segment_id: t.index for t in turns if t.speaker == "caller" and t.segment_id}
    readings: list[_Reading] = []
    last_caller: int | None = None
    for ev in events:
        data = ev.get("data") or {}
        if ev.get("type") == "transcript.final" and data.get("speaker") == "caller":
            last_caller = by_segment.get(str(data.get("segment_id") or ""), last_caller)
        elif ev.get("type") == "signals.updated":
            readings.append(_reading(data, last_caller))
    if readings or not call["signals"]:
        return readings
    # No event log (an older store): the caller line that ended last before the reading.
    callers = [t for t in turns if t.speaker == "caller"]
    for sig in call["signals"]:
        before = [t for t in callers if t.end_s <= float(sig["at_s"]) + 0.5]
        readings.append(_reading(sig, before[-1].index if before else None))
    return readings


def _reading(data: Mapping[str, Any], turn: int | None) -> _Reading:
    return _Reading(
        at_s=float(data.get("at_s") or 0.0),
        distress=float(data.get("distress") or 0.0),
        trend=str(data.get("trend") or "steady"),
        crisis=bool(data.get("crisis")),
        active=frozenset(data.get("active") or ()),
        red_flags=frozenset(data.get("red_flags") or ()),
        turn=turn,
        about_others=frozenset(data.get("red_flags_about_others") or ()),
    )


def _time_of(r: _Reading, turns: Sequence[_Turn]) -> float:
    """A reading sits on the transcript's timeline at the end of the caller line it followed."""
    return turns[r.turn].end_s if r.turn is not None else r.at_s


def _observe(call: Mapping[str, Any], events: Sequence[Mapping[str, Any]], ph: Phrases) -> _Facts:
    turns = _turns(call)
    readings = _readings(call, events, turns)
    facts = _Facts(turns=turns, readings=readings)
    reading_of = {r.turn: r for r in readings if r.turn is not None}  # the last one per line

    # Concerns and acknowledgements, in speaking order.
    covered: dict[str, float] = {}
    open_ep: _Episode | None = None
    for t in turns:
        if t.speaker == "caller":
            r = reading_of.get(t.index)
            names = r.concerns if r is not None else frozenset()
            new = {n for n in names if covered.get(n, float("-inf")) < t.start_s}
            if new and open_ep is None:
                open_ep = _Episode(t, set(new))
            elif new and open_ep is not None:
                open_ep.names |= new
        elif t.speaker == "agent" and ph.acknowledges(t.text):
            facts.acks.add(t.index)
            if open_ep is not None and t.start_s >= open_ep.turn.start_s:
                open_ep.ack = t
                # the acknowledged caller's distress needs no new acknowledgement either,
                # unless a new named concern comes up
                for n in open_ep.names | {"distress"}:
                    covered[n] = t.end_s + ACK_COVER_S
                facts.episodes.append(open_ep)
                open_ep = None
    if open_ep is not None:
        facts.episodes.append(open_ep)

    # Interruptions: the agent starts inside a caller line that goes on.
    callers = [t for t in turns if t.speaker == "caller"]
    for a in (t for t in turns if t.speaker == "agent"):
        for c in callers:
            if c.start_s + CUT_IN_AFTER_S <= a.start_s and c.end_s - a.start_s >= CUT_OVERLAP_S:
                facts.cut_offs.append((c, a))
                break

    # Long silences after the caller finished.
    last_end = float("-inf")
    last: _Turn | None = None
    for t in turns:
        if last is not None and last.speaker == "caller" and t.start_s - last_end >= SILENCE_S:
            facts.silences.append((last, t.start_s - last_end))
        if t.end_s >= last_end:
            last_end, last = t.end_s, t

    # Crisis: the first caller line read as a crisis, or the first urgent nudge.
    someone_else = False
    for r in readings:
        if (r.crisis or r.red_flags & URGENT_FLAGS) and r.turn is not None:
            facts.crisis_turn = turns[r.turn]
            facts.crisis_at = turns[r.turn].end_s
            someone_else = "self_harm" in r.red_flags and "self_harm" in r.about_others
            break
    urgent = [n for n in call["nudges"] if n.get("priority") == "urgent"]
    if urgent and facts.crisis_at is None:
        facts.crisis_at = float(urgent[0]["at_s"])
        someone_else = urgent[0].get("rule_id") == "someone_else_at_risk"
    if facts.crisis_at is not None:
        since = facts.crisis_turn.start_s if facts.crisis_turn else facts.crisis_at - 1.0
        for t in turns:
            if (
                t.speaker == "agent"
                and t.start_s >= since
                and ph.follows_crisis_protocol(t.text, someone_else)
            ):
                facts.protocol_turn = t
                break

    # Good moments: an acknowledgement, then the caller's next reading lower than before it.
    for i in sorted(facts.acks):
        a = turns[i]
        before = [r for r in readings if r.turn is not None and turns[r.turn].end_s <= a.start_s]
        after = [r for r in readings if r.turn is not None and turns[r.turn].start_s >= a.start_s]
        if before and after and before[-1].distress - after[0].distress >= GOOD_DROP:
            facts.good.append((before[-1], a, after[0]))
    return facts


def _clamp(x: float, lo: float = 0.0, hi: float = 100.0) -> float:
    return max(lo, min(hi, x))


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{round(x * 100)}%"


def _n(count: int, word: str, plural: str | None = None) -> str:
    """``1 time``, ``2 times``."""
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def _secs(x: float) -> str:
    return f"{x:.1f} s" if x < 60 else f"{int(x // 60)} min {int(round(x % 60))} s"


def _part(key: PartKey, score: float | None, inputs: dict[str, float | int | None],
          explanation: str) -> ScorePart:
    return ScorePart(
        key=key, label=LABELS[key], score=None if score is None else round(score, 1),
        applicable=score is not None, weight=WEIGHTS[key], inputs=inputs,
        explanation=explanation,
    )


def _score(f: _Facts, talk: Mapping[str, float]) -> EmpathyScore:
    parts: list[ScorePart] = []
    n = len(f.episodes)
    acked = [e for e in f.episodes if e.ack is not None]
    # time to acknowledge
    if n:
        delays = [min(e.delay_s, ACK_CAP_S) if e.delay_s is not None else ACK_CAP_S
                  for e in f.episodes]
        mean = sum(delays) / n
        first = f.episodes[0].delay_s
        s = 100.0 * _clamp((ACK_CAP_S - mean) / (ACK_CAP_S - ACK_GOOD_S), 0.0, 1.0)
        parts.append(_part(
            "time_to_acknowledge", s,
            {"concerns": n, "acknowledged": len(acked), "mean_delay_s": round(mean, 2),
             "first_delay_s": None if first is None else round(first, 2),
             "full_marks_within_s": ACK_GOOD_S, "zero_at_s": ACK_CAP_S},
            f"Mean time from the caller's concern to the agent's acknowledgement: "
            f"{mean:.1f} s over {_n(n, 'concern')}, an unacknowledged one counted as "
            f"{ACK_CAP_S:g} s. Full marks within {ACK_GOOD_S:g} s, none at {ACK_CAP_S:g} s.",
        ))
    else:
        parts.append(_part("time_to_acknowledge", None, {"concerns": 0},
                           "The caller raised no concern the classifier picked up."))
    # share of concerns acknowledged
    if n:
        parts.append(_part(
            "concerns_acknowledged", 100.0 * len(acked) / n,
            {"concerns": n, "acknowledged": len(acked),
             "within_20_s": sum(1 for e in acked if (e.delay_s or 0.0) <= UNACK_S)},
            f"The agent acknowledged {len(acked)} of {_n(n, 'concern')} the caller raised.",
        ))
    else:
        parts.append(_part("concerns_acknowledged", None, {"concerns": 0},
                           "The caller raised no concern the classifier picked up."))
    # interruptions
    caller_turns = sum(1 for t in f.turns if t.speaker == "caller")
    agent_turns = sum(1 for t in f.turns if t.speaker == "agent")
    cuts = len(f.cut_offs)
    if caller_turns and agent_turns:
        parts.append(_part(
            "interruptions", _clamp(100.0 - INTERRUPTION_COST * cuts),
            {"interruptions": cuts, "caller_lines": caller_turns,
             "points_per_interruption": INTERRUPTION_COST},
            f"The agent started talking while the caller was still speaking {_n(cuts, 'time')}; "
            f"each costs {INTERRUPTION_COST:g} points.",
        ))
    else:
        parts.append(_part("interruptions", None, {"interruptions": cuts, "caller_lines":
                                                   caller_turns},
                           "Both sides must speak for interruptions to be judged."))
    # talk share
    agent_s, caller_s = talk.get("agent", 0.0), talk.get("caller", 0.0)
    total = agent_s + caller_s
    if total > 0:
        share = agent_s / total
        s = 100.0 * _clamp((TALK_SHARE_ZERO - share) / (TALK_SHARE_ZERO - TALK_SHARE_FULL), 0, 1)
        parts.append(_part(
            "talk_share", s,
            {"agent_s": round(agent_s, 2), "caller_s": round(caller_s, 2),
             "agent_share": round(share, 3), "full_marks_up_to": TALK_SHARE_FULL,
             "zero_at": TALK_SHARE_ZERO},
            f"The agent spoke {_pct(share)} of the talk time ({agent_s:.0f} s of {total:.0f} s). "
            f"Full marks up to {_pct(TALK_SHARE_FULL)}, none at {_pct(TALK_SHARE_ZERO)}.",
        ))
    else:
        parts.append(_part("talk_share", None, {"agent_s": 0.0, "caller_s": 0.0},
                           "Nobody spoke."))
    # distress at the start against the end
    if len(f.readings) >= 2:
        # the start never includes the last reading, which is the end
        start = max(r.distress for r in f.readings[: min(START_READINGS, len(f.readings) - 1)])
        end = f.readings[-1].distress
        if start < CALM and end < CALM:
            s, how = 100.0, f"The caller stayed calm (below {_pct(CALM)}) from start to end."
        else:
            s = _clamp(50.0 + 100.0 * (start - end))
            how = (f"Distress went from {_pct(start)} at the start (highest of the first "
                   f"{START_READINGS} readings but the last) to {_pct(end)} at the end: "
                   f"50 points plus one per point it fell.")
        parts.append(_part(
            "distress_change", s,
            {"start": round(start, 3), "end": round(end, 3), "change": round(end - start, 3),
             "readings": len(f.readings)},
            how,
        ))
    else:
        parts.append(_part("distress_change", None, {"readings": len(f.readings)},
                           "Fewer than two distress readings."))
    # crisis handling
    if f.crisis_at is not None:
        p = f.protocol_turn
        delay = None if p is None else max(0.0, p.start_s - f.crisis_at)
        if delay is None:
            s, how = 0.0, "A crisis came up and the protocol question was never asked."
        elif delay <= CRISIS_WINDOW_S:
            s, how = 100.0, (f"A crisis came up and the agent followed the protocol "
                             f"{delay:.0f} s later (within {CRISIS_WINDOW_S:g} s).")
        else:
            s, how = 50.0, (f"The agent followed the crisis protocol {delay:.0f} s after the "
                            f"crisis, later than {CRISIS_WINDOW_S:g} s.")
        parts.append(_part(
            "crisis_handling", s,
            {"crisis_at_s": round(f.crisis_at, 2),
             "protocol_at_s": None if p is None else round(p.start_s, 2),
             "delay_s": None if delay is None else round(delay, 2),
             "window_s": CRISIS_WINDOW_S},
            how,
        ))
    else:
        parts.append(_part("crisis_handling", None, {"crisis_at_s": None},
                           "No crisis came up on this call."))
    applicable = [p for p in parts if p.score is not None]
    weight = sum(p.weight for p in applicable)
    overall = (
        round(sum(p.weight * (p.score or 0.0) for p in applicable) / weight, 1)
        if weight else None
    )
    return EmpathyScore(overall=overall, parts=parts, version=SCORE_VERSION)


def _moments(f: _Facts, ended: bool) -> list[Moment]:
    out: list[Moment] = []
    for before, a, after in f.good:
        lines = [x for x in (before.turn, a.index, after.turn) if x is not None]
        out.append(Moment(
            kind="good", type="acknowledged_and_calmed", at_s=a.start_s,
            title="Acknowledged, and the caller calmed",
            detail=(f"Distress fell from {_pct(before.distress)} to {_pct(after.distress)} "
                    f"after the agent's acknowledgement."),
            lines=lines, distress_before=before.distress, distress_after=after.distress,
        ))
    for e in f.episodes:
        if e.ack is not None and (e.delay_s or 0.0) <= UNACK_S:
            continue
        if e.ack is None and not ended and not any(t.start_s >= e.turn.end_s + UNACK_S
                                                   for t in f.turns):
            continue  # still in progress: not missed yet
        names = ", ".join(sorted(e.names))
        if e.ack is None:
            detail = f"The caller's concern ({names}) was never acknowledged."
            lines = [e.turn.index]
        else:
            detail = (f"The caller's concern ({names}) was acknowledged only after "
                      f"{e.delay_s:.0f} s.")
            lines = [e.turn.index, e.ack.index]
        out.append(Moment(
            kind="missed", type="concern_unacknowledged", at_s=e.turn.end_s,
            title=f"Concern unacknowledged for {UNACK_S:g} s", detail=detail, lines=lines,
        ))
    for c, a in f.cut_offs:
        out.append(Moment(
            kind="missed", type="caller_cut_off", at_s=a.start_s, title="Caller cut off",
            detail=(f"The agent started {a.start_s - c.start_s:.1f} s into the caller's line, "
                    f"{c.end_s - a.start_s:.1f} s before the caller finished."),
            lines=[c.index, a.index],
        ))
    for c, gap in f.silences:
        out.append(Moment(
            kind="missed", type="long_silence", at_s=c.end_s, title="Long silence",
            detail=f"Nobody spoke for {gap:.0f} s after the caller finished.", lines=[c.index],
        ))
    if f.crisis_at is not None:
        p = f.protocol_turn
        late = p is not None and p.start_s - f.crisis_at > CRISIS_WINDOW_S
        if p is None or late:
            lines = [f.crisis_turn.index] if f.crisis_turn else []
            if p is not None:
                lines.append(p.index)
            out.append(Moment(
                kind="missed", type="crisis_protocol_missed", at_s=f.crisis_at,
                title="Crisis protocol not followed",
                detail=("The caller's words read as a crisis and the agent did not ask about "
                        "their safety or get emergency help"
                        + (f" within {CRISIS_WINDOW_S:g} s." if late else ".")),
                lines=lines,
            ))
    out.sort(key=lambda m: m.at_s)
    return out


def _nudges(call: Mapping[str, Any]) -> list[ReviewNudge]:
    feedback: dict[str, list[str]] = {}
    for fb in call["feedback"]:
        feedback.setdefault(fb["nudge_id"], []).append(fb["action"])
    out = []
    for n in call["nudges"]:
        actions = feedback.get(n["nudge_id"], [])
        ratings = [a for a in actions if a in ("helpful", "not_helpful")]
        outcome: NudgeOutcome = "open"
        if n.get("resolved_how") in _OUTCOMES:
            outcome = n["resolved_how"]
        out.append(ReviewNudge(
            nudge_id=n["nudge_id"], rule_id=n["rule_id"], title=n.get("title") or "",
            suggestion=n.get("suggestion") or "", reason=n.get("reason") or "",
            priority=n.get("priority") or "suggest", at_s=float(n.get("at_s") or 0.0),
            outcome=outcome,
            helpful=(ratings[-1] == "helpful") if ratings else None,
            feedback=actions,
        ))
    return out


def _duration(call: Mapping[str, Any], turns: Sequence[_Turn]) -> float:
    from app.store.repository import parse_iso

    start, end = parse_iso(call.get("started_at")), parse_iso(call.get("ended_at"))
    if start is not None and end is not None:
        return max(0.0, (end - start).total_seconds())
    return max((t.end_s for t in turns), default=0.0)


def _summary(call: Mapping[str, Any], f: _Facts, score: EmpathyScore,
             nudges: Sequence[ReviewNudge], duration: float) -> str:
    parts = {p.key: p for p in score.parts}
    out = [f"A {_secs(duration)} call on agent {call['agent_id']}'s line"
           + (" (still in progress)." if call.get("active") else ".")]
    if f.readings:
        peak = max(f.readings, key=lambda r: r.distress)
        concerns = Counter(n for r in f.readings for n in r.concerns if n != "distress")
        named = ", ".join(n for n, _ in concerns.most_common(3))
        out.append(
            (f"The caller spoke of {named}; " if named else "The caller's ")
            + f"distress peaked at {_pct(peak.distress)} at {_secs(_time_of(peak, f.turns))} "
            f"and ended at {_pct(f.readings[-1].distress)}."
        )
    n = len(f.episodes)
    if n:
        acked = sum(1 for e in f.episodes if e.ack is not None)
        first = f.episodes[0].delay_s
        out.append(
            f"The agent acknowledged {acked} of {_n(n, 'concern')}"
            + (f", the first after {first:.0f} s." if first is not None else
               "; the first was never acknowledged.")
        )
    elif f.acks:
        out.append(f"The agent acknowledged the caller {_n(len(f.acks), 'time')}.")
    if f.good:
        out.append(f"{_n(len(f.good), 'acknowledgement')} visibly calmed the caller.")
    cuts = len(f.cut_offs)
    talk = parts["talk_share"].inputs.get("agent_share")
    bits = []
    if cuts:
        bits.append(f"interrupted the caller {_n(cuts, 'time')}")
    if talk is not None:
        bits.append(f"spoke {_pct(float(talk))} of the time")
    if bits:
        out.append("The agent " + " and ".join(bits) + ".")
    if f.silences:
        out.append(f"{_n(len(f.silences), 'long silence')} after the caller spoke.")
    if f.crisis_at is not None:
        out.append(parts["crisis_handling"].explanation)
    if nudges:
        how = Counter(n.outcome for n in nudges)
        words = {"agent_said": "said", "accepted": "accepted", "dismissed": "dismissed",
                 "expired": "expired", "call_ended": "open at the end", "open": "open"}
        listed = ", ".join(f"{c} {words[k]}" for k, c in how.most_common())
        rated = [n.helpful for n in nudges if n.helpful is not None]
        rating = (f"; rated helpful {sum(1 for r in rated if r)}, not helpful "
                  f"{sum(1 for r in rated if not r)}") if rated else ""
        out.append(f"{_n(len(nudges), 'nudge')}: {listed}{rating}.")
    if score.overall is not None:
        out.append(f"Empathy score {score.overall:.0f} of 100.")
    return " ".join(out)


def review_call(
    call: Mapping[str, Any], events: Sequence[Mapping[str, Any]], phrases: Phrases
) -> CallReview:
    """The review of one stored call. ``events`` are its logged envelopes in ``seq`` order."""
    f = _observe(call, events, phrases)
    talk: dict[str, float] = {}
    for t in f.turns:
        talk[t.speaker] = talk.get(t.speaker, 0.0) + max(0.0, t.end_s - t.start_s)
    score = _score(f, talk)
    ended = not call.get("active", False)
    moments = _moments(f, ended)
    reading_of = {r.turn: r for r in f.readings if r.turn is not None}
    lines = [
        TranscriptLine(
            index=t.index, segment_id=t.segment_id, speaker=t.speaker, text=t.text,
            start_s=t.start_s, end_s=t.end_s, acknowledgement=t.index in f.acks,
            distress_after=reading_of[t.index].distress if t.index in reading_of else None,
        )
        for t in f.turns
    ]
    for mi, m in enumerate(moments):
        for li in m.lines:
            lines[li].moments.append(mi)
    nudges = _nudges(call)
    duration = _duration(call, f.turns)
    return CallReview(
        call_id=call["call_id"], agent_id=call["agent_id"], source=call.get("source") or "",
        started_at=call.get("started_at"), ended_at=call.get("ended_at"),
        active=bool(call.get("active")), duration_s=round(duration, 2), transcript=lines,
        distress=[
            DistressPoint(at_s=round(_time_of(r, f.turns), 3), distress=r.distress,
                          trend=r.trend, crisis=r.crisis, concerns=sorted(r.concerns))
            for r in f.readings
        ],
        nudges=nudges, moments=moments, score=score,
        summary=_summary(call, f, score, nudges, duration),
    )


def iso_week(d: date) -> str:
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def score_row(review: CallReview, started_at: datetime, scored_at: datetime) -> dict[str, Any]:
    """The de-identified numbers of a review, for ``call_scores``: no text, no quotes."""
    nudges = Counter[str]()
    rules: dict[str, dict[str, int]] = {}
    for n in review.nudges:
        taken = n.outcome in ("agent_said", "accepted") or "accepted" in n.feedback
        dismissed = not taken and (n.outcome == "dismissed" or "dismissed" in n.feedback)
        r = rules.setdefault(n.rule_id, Counter())
        for key, on in (("shown", True), ("taken_up", taken), ("dismissed", dismissed),
                        ("expired", n.outcome == "expired"), ("helpful", n.helpful is True),
                        ("not_helpful", n.helpful is False)):
            if on:
                nudges[key] += 1
                r[key] += 1
    d = review.distress
    start: float | None = max(
        (p.distress for p in d[: min(START_READINGS, len(d) - 1)]), default=None
    )
    day = started_at.date()
    return {
        "call_id": review.call_id,
        "agent_id": review.agent_id,
        "call_date": day,
        "week": iso_week(day),
        "duration_s": review.duration_s,
        "overall": review.score.overall,
        "parts": {p.key: {"score": p.score, "inputs": dict(p.inputs)} for p in review.score.parts},
        "distress_start": start,
        "distress_end": d[-1].distress if d else None,
        "crisis": any(p.crisis for p in d)
        or any(p.key == "crisis_handling" and p.applicable for p in review.score.parts),
        "good_moments": sum(1 for m in review.moments if m.kind == "good"),
        "missed_moments": sum(1 for m in review.moments if m.kind == "missed"),
        "nudges": dict(nudges),
        "rules": {k: dict(v) for k, v in rules.items()},
        "version": SCORE_VERSION,
        "scored_at": scored_at,
    }
