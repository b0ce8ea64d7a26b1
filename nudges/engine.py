"""The nudge engine: a pure, deterministic function of (playbook, events, clock).

``NudgeEngine.handle(event)`` takes one ``TranscriptFinal``, ``Signals``, ``Feedback`` or
``Tick`` and returns the nudge events it causes. It does no IO and loads no model (phrase
and semantic matching go through an injected ``PhraseMatcher``); time comes from the
events themselves, so a stored call replays identically through any playbook.

How a rule fires: its trigger is evaluated after every event. A rule fires when its
trigger holds (a) for a new occurrence: not the utterance, threshold episode, silence or
interruption it already fired for, nor anything that happened before that; (b) it has no
open nudge; (c) it is outside its cooldown (counted from its last firing); and (d) it has
fired fewer than ``max_per_call`` times. Rules are evaluated urgent first, then in
playbook order, so that one event gives a stable list.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from asr.types import TranscriptFinal, TranscriptPartial
from models.call_context import CallContext
from models.clock import Clock
from models.signals import Signals
from nudges.events import (
    Escalation,
    Feedback,
    NudgeCreated,
    NudgeEvent,
    NudgeResolved,
    ResolvedHow,
    Tick,
)
from nudges.matching import CompiledSpec, Match, PhraseMatcher, looks_like_question
from nudges.playbook import (
    AllTrigger,
    AnyTrigger,
    NotSaidTrigger,
    Playbook,
    Rule,
    SaidTrigger,
    SignalSpec,
    SignalTrigger,
    TalkSpec,
    TalkTrigger,
    iter_triggers,
)

EngineInput = TranscriptFinal | TranscriptPartial | Signals | Feedback | Tick
QUOTE_MAX = 160
# The quote in a reason is short: the agent glances at it mid-call.
REASON_QUOTE_MAX = 90
_PRIORITY_ORDER = {"urgent": 0, "suggest": 1, "info": 2}
# An agent utterance that starts this long after the caller's counts as cutting in.
_CUT_IN_AFTER_S = 0.3


@dataclass(frozen=True, slots=True)
class Hit:
    """A trigger holds: when the thing happened, the caller's words, and what was seen."""

    at_s: float
    quote: str | None
    details: tuple[str, ...]
    # Identifies the occurrence (this utterance, this episode above a threshold...): a rule
    # does not fire twice for the same occurrence, however often it is re-evaluated.
    key: tuple[Any, ...] = ()


@dataclass(slots=True)
class _Utt:
    speaker: str
    text: str
    start_s: float
    end_s: float
    words: int
    question: bool
    matches: dict[int, Match | None] = field(default_factory=dict)


@dataclass(slots=True)
class _Overlap:
    at_s: float
    overlap_s: float
    agent_words: int
    caller_text: str


@dataclass(slots=True)
class _NotSaidState:
    cue_latched: bool = False
    pending: Hit | None = None
    deadline: float = 0.0
    early: bool = False  # the deadline was brought forward by a reply that passed over it


@dataclass(slots=True)
class _RuleState:
    fired: int = 0
    last_fired_s: float | None = None
    latched: tuple[Any, ...] | None = None
    latched_at_s: float = float("-inf")
    open_id: str | None = None


@dataclass(slots=True)
class _Open:
    created: NudgeCreated
    rule: Rule


def explain(rule: Rule, words: str) -> str:
    """Why a prompt is on screen, as a colleague would say it: no scores, one short quote."""
    words = " ".join(words.split()).rstrip(".,;: ")
    if words and rule.because is not None:
        return rule.because.replace("{quote}", quote(words, REASON_QUOTE_MAX))
    lead = (rule.why or rule.title).rstrip(".")
    return f'{lead}. The caller said "{quote(words, REASON_QUOTE_MAX)}".' if words else lead + "."


def quote(text: str, limit: int = QUOTE_MAX) -> str:
    """The caller's words, shortened from the front (the end is what they just said)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return "\u2026" + text[-(limit - 1) :].lstrip()


class NudgeEngine:
    """Turns a call's transcript finals, signals, feedback and ticks into nudge events.

    Model time: with a semantic matcher, the first ``handle`` of a final embeds its
    sentences (~10 ms each on CPU) and building an engine embeds any playbook examples the
    matcher has not seen. A live session should therefore call ``matcher.prepare(playbook)``
    once at start-up and ``matcher.warm([final.text])`` in its model executor before
    handing the final to ``handle``; everything else is sub-millisecond.

    ``clock`` is the call clock: ``poll()`` uses it to stamp a ``Tick`` (the service calls
    it periodically so that not-said timers, silences and expiries fire with nothing said).
    ``matcher`` does phrase and semantic matching; the default matches phrases and
    patterns only. ``id_prefix`` makes nudge ids unique across calls (``{prefix}{n}``).
    """

    def __init__(
        self,
        playbook: Playbook,
        clock: Clock,
        matcher: PhraseMatcher | None = None,
        id_prefix: str = "n",
    ) -> None:
        self.playbook = playbook
        self._clock = clock
        self._matcher = matcher or PhraseMatcher()
        self._id_prefix = id_prefix
        self._rules = sorted(
            (r for r in playbook.rules if r.enabled),
            key=lambda r: _PRIORITY_ORDER[r.priority],
        )
        self._now = float("-inf")
        self._seq = 0
        self._utts: deque[_Utt] = deque()
        self._call_context = CallContext()
        self._signals: Signals | None = None
        self._last_caller_end = float("-inf")
        self._sig_hist: deque[Signals] = deque()
        self._overlaps: deque[_Overlap] = deque()
        self._since: dict[int, float | None] = {}
        self._not_said: dict[int, _NotSaidState] = {}
        self._state: dict[str, _RuleState] = {r.id: _RuleState() for r in self._rules}
        self._open: dict[str, _Open] = {}
        self._question_memo: dict[tuple[int, int], Hit | None] = {}

        # Compile every phrase spec once per engine (example embeddings are cached in the
        # matcher, so this costs an embedding only the first time a playbook is seen).
        self._compiled: dict[int, CompiledSpec] = {}
        self._said_leaves: list[SaidTrigger] = []
        self._signal_leaves: list[SignalSpec] = []
        self._not_said_nodes: list[NotSaidTrigger] = []
        horizon = 120.0
        sig_horizon = 0.0
        for rule in self._rules:
            roots = [rule.trigger] + ([rule.unless] if rule.unless is not None else [])
            for root in roots:
                for node in iter_triggers(root):
                    if isinstance(node, SaidTrigger):
                        self._said_leaves.append(node)
                        self._compile(node.said)
                        horizon = max(horizon, node.said.within_s)
                    elif isinstance(node, SignalTrigger):
                        self._signal_leaves.append(node.signal)
                        self._since[id(node.signal)] = None
                        sig_horizon = max(sig_horizon, node.signal.within_s)
                    elif isinstance(node, NotSaidTrigger):
                        self._not_said_nodes.append(node)
                        self._not_said[id(node)] = _NotSaidState()
                        self._compile(node.not_said.said)
                        horizon = max(horizon, node.not_said.within_s)
                    elif isinstance(node, TalkTrigger):
                        horizon = max(horizon, node.talk.window_s)
            if rule.done_when.agent_said is not None:
                self._compile(rule.done_when.agent_said)
        self._horizon = horizon + 5.0
        self._sig_horizon = sig_horizon + 5.0

    def _compile(self, spec: Any) -> None:
        if id(spec) not in self._compiled:
            self._compiled[id(spec)] = self._matcher.compile(spec, self.playbook.phrase_sets)

    # ------------------------------------------------------------------ public API

    @property
    def now_s(self) -> float:
        """The latest time the engine has seen (from events)."""
        return self._now

    def open_nudges(self) -> list[NudgeCreated]:
        """Nudges shown and not yet resolved, oldest first."""
        return [o.created for o in self._open.values()]

    def poll(self) -> list[NudgeEvent]:
        """Advance to the clock's time: ``handle(Tick(clock.now()))``."""
        return self.handle(Tick(self._clock.now()))

    def handle(self, event: EngineInput) -> list[NudgeEvent]:
        """Feed one event; return the nudges created, resolved and escalated because of it.

        Partials only matter to pending not-said timers: an agent who is already saying
        the acknowledgement when the deadline passes is not nudged. Events with a
        non-finite time are treated as happening now.
        """
        at = _event_time(event)
        if math.isfinite(at):
            self._now = max(self._now, at)
        out: list[NudgeEvent] = []
        self._expire(out)
        if isinstance(event, TranscriptFinal):
            self._ingest_final(event, out)
        elif isinstance(event, TranscriptPartial):
            self._ingest_partial(event)
        elif isinstance(event, Signals):
            self._ingest_signals(event)
        elif isinstance(event, Feedback):
            self._ingest_feedback(event, out)
        self._prune()
        self._evaluate(out)
        return out

    # ------------------------------------------------------------------ ingest

    def _expire(self, out: list[NudgeEvent]) -> None:
        due = [o for o in self._open.values() if o.created.expires_at_s <= self._now]
        for o in sorted(due, key=lambda o: o.created.expires_at_s):
            self._resolve(o, "expired", o.created.expires_at_s, out)

    def _resolve(
        self,
        o: _Open,
        how: ResolvedHow,
        at_s: float,
        out: list[NudgeEvent],
        by: str | None = None,
    ) -> None:
        del self._open[o.created.nudge_id]
        self._state[o.rule.id].open_id = None
        out.append(NudgeResolved(o.created.nudge_id, o.rule.id, how, at_s, by))

    def end_call(self, at_s: float | None = None) -> list[NudgeEvent]:
        """The call ended: every nudge still open is resolved with ``call_ended``."""
        if at_s is not None and math.isfinite(at_s):
            self._now = max(self._now, at_s)
        out: list[NudgeEvent] = []
        self._expire(out)
        for o in sorted(self._open.values(), key=lambda o: o.created.at_s):
            self._resolve(o, "call_ended", self._now, out)
        return out

    def crisis_on(self) -> bool:
        """A self-harm or emergency protocol is on screen, or such a flag is in the window."""
        if any(o.rule.priority == "urgent" for o in self._open.values()):
            return True
        return self._signals is not None and self._signals.crisis

    def _ingest_final(self, f: TranscriptFinal, out: list[NudgeEvent]) -> None:
        if not f.text.strip():
            return
        utt = _Utt(
            speaker=f.speaker,
            text=f.text,
            start_s=f.start_s,
            end_s=f.end_s,
            words=len(f.text.split()),
            question=f.speaker == "caller" and looks_like_question(f.text),
        )
        # a goodbye the call has explained (a move, a hospice) raises no self-harm prompt on
        # the caller's words alone; the scorer, reading the same call, is the final word
        own_self_harm = (
            self._call_context.own_self_harm_stands(f.text, f.end_s)
            if f.speaker == "caller"
            else True
        )
        for leaf in self._said_leaves:
            if leaf.said.speaker == f.speaker:
                compiled = self._compiled[id(leaf.said)]
                m = self._matcher.match(compiled, f.text)
                if (
                    m is not None
                    and compiled.red_flag == "self_harm"
                    and compiled.about == "caller"
                    and not own_self_harm
                ):
                    m = None
                utt.matches[id(leaf)] = m
        self._detect_overlap(utt)
        self._utts.append(utt)
        if f.speaker == "caller":
            self._last_caller_end = max(self._last_caller_end, f.end_s)
        if f.speaker != "agent":
            return
        for o in list(self._open.values()):
            spec = o.rule.done_when.agent_said
            if spec is None or f.end_s <= o.created.at_s:
                continue
            m = self._matcher.match(self._compiled[id(spec)], f.text)
            if m is not None:
                self._resolve(o, "agent_said", self._now, out, by=m.sentence)
        for node in self._not_said_nodes:
            st = self._not_said[id(node)]
            if st.pending is None or node.not_said.speaker != f.speaker:
                continue
            if f.start_s > st.deadline:
                continue
            if self._said(node, utt):
                st.pending = None
            elif self._passes_over(node, utt):
                # the reply moved on without saying it: the moment is now, not at the timer
                st.deadline = min(st.deadline, max(f.end_s, st.pending.at_s))
                st.early = True

    def _ingest_partial(self, p: TranscriptPartial) -> None:
        for node in self._not_said_nodes:
            st = self._not_said[id(node)]
            if st.pending is None or node.not_said.speaker != p.speaker:
                continue
            # phrases and patterns only: partials change every few hundred ms, and an
            # embedding per partial would cost more than the whole engine
            spec = self._compiled[id(node.not_said.said)]
            if p.start_s <= st.deadline and self._matcher.match(spec, p.text, semantic=False):
                st.pending = None

    def _said(self, node: NotSaidTrigger, utt: _Utt) -> bool:
        return self._matcher.match(self._compiled[id(node.not_said.said)], utt.text) is not None

    def _passes_over(self, node: NotSaidTrigger, utt: _Utt) -> bool:
        """A reply long enough to be an answer (not a backchannel) that did not say it."""
        spec = node.not_said
        return spec.on_reply and utt.words >= spec.reply_min_words

    def _detect_overlap(self, new: _Utt) -> None:
        # Finals arrive when each utterance ends, so an interruption can show up in either
        # order: the agent's final first (caller still talking) or the caller's first.
        for old in reversed(self._utts):
            if old.end_s < new.start_s - 30.0:
                break
            if old.speaker == new.speaker:
                continue
            agent, caller = (new, old) if new.speaker == "agent" else (old, new)
            if agent.start_s < caller.start_s + _CUT_IN_AFTER_S:
                continue
            overlap = min(agent.end_s, caller.end_s) - agent.start_s
            if overlap > 0:
                self._overlaps.append(_Overlap(self._now, overlap, agent.words, caller.text))

    def _ingest_signals(self, s: Signals) -> None:
        self._signals = s
        self._sig_hist.append(s)
        for spec in self._signal_leaves:
            if _signal_condition(spec, s, self._sig_hist):
                if self._since[id(spec)] is None:
                    self._since[id(spec)] = s.at_s
            else:
                self._since[id(spec)] = None

    def _ingest_feedback(self, fb: Feedback, out: list[NudgeEvent]) -> None:
        o = self._open.get(fb.nudge_id)
        if o is None:
            return
        if fb.action == "accepted" or fb.action == "dismissed":
            self._resolve(o, fb.action, self._now, out)

    def _prune(self) -> None:
        cutoff = self._now - self._horizon
        while self._utts and self._utts[0].end_s < cutoff:
            self._utts.popleft()
        while self._overlaps and self._overlaps[0].at_s < cutoff:
            self._overlaps.popleft()
        sig_cutoff = self._now - self._sig_horizon
        # keep the latest signals even when old: it is the caller's current state
        while len(self._sig_hist) > 1 and self._sig_hist[0].at_s < sig_cutoff:
            self._sig_hist.popleft()
        if len(self._question_memo) > 256:
            self._question_memo.clear()

    # ------------------------------------------------------------------ rules

    def _evaluate(self, out: list[NudgeEvent]) -> None:
        self._step_not_said()
        for rule in self._rules:
            st = self._state[rule.id]
            hit = self._eval(rule.trigger)
            if hit is None:
                st.latched = None
                continue
            if st.latched is not None and (hit.key == st.latched or hit.at_s <= st.latched_at_s):
                continue  # the occurrence it already fired for (maybe seen another way)
            if st.open_id is not None or st.fired >= rule.max_per_call:
                continue
            if st.last_fired_s is not None and self._now < st.last_fired_s + rule.cooldown_s:
                continue
            if rule.unless is not None and self._eval(rule.unless) is not None:
                continue
            if self._held(rule):
                # Coaching that comes up during a crisis is dropped, not queued: it would be
                # stale by the time the protocol is done.
                st.latched, st.latched_at_s = hit.key, hit.at_s
                continue
            self._fire(rule, st, hit, out)

    def _held(self, rule: Rule) -> bool:
        return rule.priority != "urgent" and rule.hold_during_crisis and self.crisis_on()

    def _fire(self, rule: Rule, st: _RuleState, hit: Hit, out: list[NudgeEvent]) -> None:
        if rule.priority == "urgent":
            # the protocol takes the screen: open coaching cards make way
            for o in sorted(self._open.values(), key=lambda o: o.created.at_s):
                if o.rule.priority != "urgent" and o.rule.hold_during_crisis:
                    self._resolve(o, "superseded", self._now, out)
        self._seq += 1
        nudge_id = f"{self._id_prefix}{self._seq}"
        words = hit.quote if hit.quote is not None else self._last_caller_text()
        reason = explain(rule, words)
        created = NudgeCreated(
            nudge_id=nudge_id,
            rule_id=rule.id,
            title=rule.title,
            suggestion=rule.suggestions[st.fired % len(rule.suggestions)],
            reason=reason,
            priority=rule.priority,
            at_s=self._now,
            expires_at_s=self._now + rule.expires_after_s,
            escalate=rule.escalate,
            details=hit.details,
        )
        st.fired += 1
        st.last_fired_s = self._now
        st.latched = hit.key
        st.latched_at_s = hit.at_s
        st.open_id = nudge_id
        self._open[nudge_id] = _Open(created, rule)
        out.append(created)
        if rule.escalate:
            out.append(Escalation(nudge_id, rule.id, rule.priority, reason, self._now))

    def _last_caller_text(self) -> str:
        for u in reversed(self._utts):
            if u.speaker == "caller":
                return u.text
        return ""

    def _step_not_said(self) -> None:
        for node in self._not_said_nodes:
            st = self._not_said[id(node)]
            if st.pending is not None:
                continue
            cue = self._eval(node.not_said.after)
            if cue is None:
                st.cue_latched = False
                continue
            if st.cue_latched:
                continue
            st.cue_latched = True
            # The clock starts when the cue is seen (a smoothed signal can cross its
            # threshold well after the words that drove it); agent speech since the
            # caller's words still counts as the acknowledgement.
            deadline = self._now + node.not_said.within_s
            # the agent may already have answered before the signal caught up
            replies = [
                u
                for u in self._utts
                if u.speaker == node.not_said.speaker and cue.at_s <= u.start_s <= deadline
            ]
            if any(self._said(node, u) for u in replies):
                continue
            st.pending, st.deadline, st.early = cue, deadline, False
            passed = [u for u in replies if self._passes_over(node, u)]
            if passed:
                st.deadline, st.early = max(passed[0].end_s, cue.at_s), True

    def _eval(self, t: Any) -> Hit | None:
        if isinstance(t, AllTrigger):
            hits = []
            for child in t.all:
                h = self._eval(child)
                if h is None:
                    return None
                hits.append(h)
            return Hit(
                at_s=max(h.at_s for h in hits),
                quote=next((h.quote for h in hits if h.quote), None),
                details=tuple(d for h in hits for d in h.details),
                key=tuple(h.key for h in hits),
            )
        if isinstance(t, AnyTrigger):
            for child in t.any:
                h = self._eval(child)
                if h is not None:
                    return h
            return None
        if isinstance(t, SignalTrigger):
            return self._eval_signal(t.signal)
        if isinstance(t, SaidTrigger):
            return self._eval_said(t)
        if isinstance(t, NotSaidTrigger):
            return self._eval_not_said(t)
        if isinstance(t, TalkTrigger):
            return self._eval_talk(t.talk)
        raise TypeError(f"unknown trigger {type(t).__name__}")

    def _eval_signal(self, spec: SignalSpec) -> Hit | None:
        since = self._since[id(spec)]
        s = self._signals
        if since is None or s is None or self._now - since < spec.for_s:
            return None
        if spec.fresh and s.at_s < self._last_caller_end:
            return None
        at = s.evidence_end_s if s.evidence_end_s is not None else s.at_s
        detail = _describe_signal(spec, s, self._sig_hist, self._now - since)
        return Hit(at, s.evidence or None, (detail,), ("signal", id(spec), since))

    def _eval_said(self, leaf: SaidTrigger) -> Hit | None:
        spec = leaf.said
        cutoff = self._now - spec.within_s
        for u in reversed(self._utts):
            if u.end_s < cutoff:
                break
            m = u.matches.get(id(leaf))
            if m is None:
                continue
            key = ("said", id(leaf), u.start_s, u.end_s)
            if spec.speaker == "caller":
                # a match as long as the sentence (a catch-all pattern) needs no detail
                detail = () if len(m.matched) >= len(m.sentence) else (_describe_match(m),)
                return Hit(u.end_s, m.sentence, detail, key)
            return Hit(u.end_s, None, (f'agent said "{quote(m.sentence, 80)}"',), key)
        return None

    def _eval_not_said(self, node: NotSaidTrigger) -> Hit | None:
        st = self._not_said[id(node)]
        if st.pending is None or self._now < st.deadline:
            return None
        cue, st.pending = st.pending, None
        spec = node.not_said
        who = "the agent" if spec.speaker == "agent" else "the caller"
        if st.early:
            detail = f"{who} replied without acknowledging it"
        else:
            detail = f"{who} has not acknowledged it within {spec.within_s:g} s"
        return Hit(st.deadline, cue.quote, (*cue.details, detail), ("not_said", st.deadline))

    def _eval_talk(self, spec: TalkSpec) -> Hit | None:
        if spec.measure == "silence":
            if not self._utts:
                return None
            last_end = max(u.end_s for u in self._utts)
            gap = self._now - last_end
            assert spec.above is not None
            if gap < spec.above:
                return None
            detail = f"{gap:.0f} s of silence"
            return Hit(last_end + spec.above, None, (detail,), ("silence", last_end))
        if spec.measure == "agent_talk_ratio":
            start = self._now - spec.window_s
            talk = {"agent": 0.0, "caller": 0.0}
            for u in self._utts:
                talk[u.speaker] += max(0.0, min(u.end_s, self._now) - max(u.start_s, start))
            total = talk["agent"] + talk["caller"]
            assert spec.above is not None
            if total < spec.min_speech_s or talk["agent"] / total <= spec.above:
                return None
            share = talk["agent"] / total
            detail = f"agent spoke {share:.0%} of the last {spec.window_s:g} s"
            return Hit(self._now, None, (detail,), ("ratio", id(spec)))
        if spec.measure == "talk_over":
            start = self._now - spec.window_s
            found = [
                o
                for o in self._overlaps
                if o.at_s >= start
                and o.overlap_s >= spec.min_overlap_s
                and o.agent_words >= spec.min_words
            ]
            if len(found) < spec.count:
                return None
            n = len(found)
            detail = f"agent talked over the caller {n}\u00d7 in {spec.window_s:g} s"
            return Hit(found[-1].at_s, found[-1].caller_text, (detail,), ("over", found[-1].at_s))
        return self._eval_repeated_question(spec)

    def _eval_repeated_question(self, spec: TalkSpec) -> Hit | None:
        start = self._now - spec.window_s
        questions = [u for u in self._utts if u.question and u.end_s >= start]
        if len(questions) < 2:
            return None
        last = questions[-1]
        key = (id(spec), id(last))
        if key not in self._question_memo:
            same = 1 + sum(
                1
                for q in questions[:-1]
                if self._matcher.similarity(q.text, last.text) >= spec.similarity
            )
            needed = max(2, spec.count)
            self._question_memo[key] = (
                Hit(last.end_s, last.text, (f"caller asked this {same}\u00d7",), ("q", key))
                if same >= needed
                else None
            )
        return self._question_memo[key]


def _event_time(event: EngineInput) -> float:
    if isinstance(event, TranscriptFinal | TranscriptPartial):
        return event.end_s
    return event.at_s


def _value(name: str, s: Signals) -> float:
    if name == "distress":
        return s.distress
    return float(s.concerns.get(name, 0.0))


def _signal_condition(spec: SignalSpec, s: Signals, hist: deque[Signals]) -> bool:
    numeric = any(v is not None for v in (spec.above, spec.below, spec.trend, spec.fell_by))
    if not numeric:
        if spec.name == "crisis":
            return s.crisis
        if spec.name == "distressed":
            return s.distressed
        if spec.name == "someone_else_at_risk":
            return "self_harm" in s.red_flags and "self_harm" in s.about_others
        if spec.name == "caller_at_risk":
            return "self_harm" in s.red_flags and "self_harm" not in s.about_others
        return spec.name in s.red_flags
    v = _value(spec.name, s)
    if spec.above is not None and v < spec.above:
        return False
    if spec.below is not None and v >= spec.below:
        return False
    if spec.trend is not None and s.trend != spec.trend:
        return False
    if spec.fell_by is not None:
        recent = [_value(spec.name, h) for h in hist if h.at_s >= s.at_s - spec.within_s]
        if not recent or max(recent) - v < spec.fell_by:
            return False
    return True


def _describe_signal(spec: SignalSpec, s: Signals, hist: deque[Signals], held: float) -> str:
    if not any(v is not None for v in (spec.above, spec.below, spec.trend, spec.fell_by)):
        text = {
            "crisis": "crisis flagged",
            "distressed": "caller distressed",
        }.get(spec.name, f"{spec.name} flagged")
    else:
        v = _value(spec.name, s)
        if spec.fell_by is not None:
            peak = max(_value(spec.name, h) for h in hist if h.at_s >= s.at_s - spec.within_s)
            text = f"{spec.name} fell from {peak:.2f} to {v:.2f}"
        else:
            text = f"{spec.name} {v:.2f}"
            if spec.trend is not None:
                text += f", {s.trend}"
    if spec.for_s > 0:
        text += f" for {max(held, spec.for_s):.0f} s"
    return text


def _describe_match(m: Match) -> str:
    if m.kind == "semantic":
        return f'sounds like "{m.matched}" ({m.score:.2f})'
    return f'said "{m.matched}"'
