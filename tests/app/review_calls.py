"""Scripted stored calls for the review tests: envelopes written straight into the store.

No audio, no models: each call is the event log a live call would have left (call.started,
transcript finals, a distress reading after each caller line, nudges and their outcomes,
feedback, call.ended), applied through ``Repository.apply`` as the store writer would.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.store import EnvelopeOp, FeedbackOp, Repository
from app.store.repository import iso

# Far above any seq a test server's bus issues, so scripted events never collide with live ones.
_seq = itertools.count(10**12)


@dataclass(frozen=True)
class Line:
    speaker: str
    text: str
    start_s: float
    end_s: float
    distress: float | None = None  # caller lines: the reading that follows the line
    concerns: tuple[str, ...] = ()
    crisis: bool = False


@dataclass(frozen=True)
class ScriptedNudge:
    rule_id: str
    at_s: float
    how: str | None = None  # agent_said / accepted / dismissed / expired
    feedback: tuple[str, ...] = ()
    priority: str = "suggest"
    title: str = "Acknowledge their concern"


@dataclass
class ScriptedCall:
    call_id: str
    agent_id: str
    lines: list[Line]
    nudges: list[ScriptedNudge] = field(default_factory=list)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(hours=1))
    ended: bool = True
    source: str = "twilio"
    custom: dict[str, Any] = field(default_factory=dict)


def _env(call_id: str, kind: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "seq": next(_seq), "call_id": call_id, "at": iso(at), "data": data}


def store_call(repo: Repository, call: ScriptedCall) -> None:
    """Write ``call`` into the store as a finished (or, with ``ended=False``, live) call."""
    t0 = call.started_at
    ops: list[Any] = []

    def add(kind: str, at_s: float, data: dict[str, Any], to_agent: bool = True) -> None:
        env = _env(call.call_id, kind, t0 + timedelta(seconds=at_s), data)
        ops.append(EnvelopeOp(env, call.agent_id, to_agent))

    add("call.started", 0.0, {"call_id": call.call_id, "agent_id": call.agent_id,
                              "source": call.source, "started_at": iso(t0),
                              "tracks": ["caller", "agent"], "custom": call.custom})
    pending = sorted(call.nudges, key=lambda n: n.at_s)
    peak = 0.0
    for i, line in enumerate(sorted(call.lines, key=lambda x: x.end_s)):
        while pending and pending[0].at_s <= line.end_s:
            _nudge(add, call, pending.pop(0))
        seg = f"{line.speaker}-{i}"
        add("transcript.final", line.end_s, {"speaker": line.speaker, "text": line.text,
                                             "segment_id": seg, "start_s": line.start_s,
                                             "end_s": line.end_s})
        if line.speaker == "caller" and line.distress is not None:
            peak = max(peak, line.distress)
            add("signals.updated", line.end_s + 0.1, {
                "distress": line.distress,
                "concerns": {c: line.distress for c in line.concerns},
                "trend": "steady", "crisis": line.crisis,
                "red_flags": ["self_harm"] if line.crisis else [],
                "active": sorted(line.concerns), "at_s": line.end_s + 0.1,
            })
    for n in pending:
        _nudge(add, call, n)
    end_s = max((x.end_s for x in call.lines), default=0.0) + 2.0
    if call.ended:
        add("call.ended", end_s, {"call_id": call.call_id, "agent_id": call.agent_id,
                                  "source": call.source, "started_at": iso(t0),
                                  "ended_at": iso(t0 + timedelta(seconds=end_s)),
                                  "duration_s": end_s, "reason": "stop",
                                  "max_distress": peak})
    repo.apply(ops)
    fbs = [
        FeedbackOp(call.call_id, f"{call.call_id}:n{n.rule_id}{n.at_s}", n.rule_id,
                   call.agent_id, action, t0 + timedelta(seconds=n.at_s + 1))
        for n in call.nudges for action in n.feedback
    ]
    if fbs:
        repo.apply(fbs)


def _nudge(add: Any, call: ScriptedCall, n: ScriptedNudge) -> None:
    nid = f"{call.call_id}:n{n.rule_id}{n.at_s}"
    add("nudge.created", n.at_s, {
        "nudge_id": nid, "rule_id": n.rule_id, "title": n.title,
        "suggestion": "That sounds frightening.", "reason": "The caller sounded afraid.",
        "priority": n.priority, "escalate": n.priority == "urgent", "at_s": n.at_s,
        "expires_at": iso(call.started_at + timedelta(seconds=n.at_s + 60.0)),
    })
    if n.how:
        add("nudge.resolved", n.at_s + 3, {"nudge_id": nid, "rule_id": n.rule_id,
                                           "how": n.how, "at_s": n.at_s + 3})


def frightened_call(call_id: str, agent_id: str, **kw: Any) -> ScriptedCall:
    """A caller afraid about scan results; the agent first passes over it (a missed moment),
    cuts the caller off once, then acknowledges, and the caller calms (a good moment)."""
    return ScriptedCall(call_id, agent_id, [
        Line("agent", "Patient support, this is Sam. How can I help?", 0.0, 2.5),
        Line("caller", "I'm terrified. My scan results came back and nobody has called me.",
             3.0, 8.0, 0.82, ("fear",)),
        Line("agent", "Can I have your date of birth, please?", 9.0, 11.0),
        Line("caller", "It's the fourth of May. I just keep thinking the worst and I can't "
             "sleep at all.", 11.5, 18.0, 0.78, ("fear",)),
        Line("agent", "Okay.", 16.0, 16.6),
        Line("agent", "I'm so sorry you're going through this. That sounds really "
             "frightening.", 32.0, 36.0),
        Line("caller", "Thank you. It helps to hear that.", 36.5, 39.0, 0.41, ()),
        Line("agent", "Let me find your results and get a nurse to call you today.", 39.5, 43.0),
        Line("caller", "Okay, thank you so much.", 43.5, 45.0, 0.2, ()),
    ], [
        ScriptedNudge("acknowledge_concern", 10.0, "expired", ("not_helpful",)),
        ScriptedNudge("acknowledge_concern", 20.0, "agent_said", ("helpful",)),
        ScriptedNudge("let_them_finish", 16.7, "dismissed"),
    ], **kw)


def kind_call(call_id: str, agent_id: str, **kw: Any) -> ScriptedCall:
    """The agent acknowledges straight away; the caller calms."""
    return ScriptedCall(call_id, agent_id, [
        Line("caller", "My mother died last week and I have to cancel her appointments.",
             0.0, 4.0, 0.7, ("sadness",)),
        Line("agent", "I'm so sorry for your loss. Thank you for telling me.", 5.0, 8.0),
        Line("caller", "Thank you, that's kind.", 8.5, 10.0, 0.35, ()),
        Line("agent", "I'll cancel them all for you now.", 10.5, 12.5),
    ], [ScriptedNudge("acknowledge_concern", 4.5, "agent_said", ("helpful",))], **kw)


def crisis_call(call_id: str, agent_id: str, followed: bool, **kw: Any) -> ScriptedCall:
    reply = ("Thank you for telling me. Are you safe right now? Are you thinking about "
             "ending your life?" if followed else "Let me check your prescription details.")
    return ScriptedCall(call_id, agent_id, [
        Line("caller", "I can't do this anymore, I want to kill myself.", 0.0, 4.0, 0.95,
             ("sadness",), crisis=True),
        Line("agent", reply, 5.0, 9.0),
        Line("caller", "I don't know.", 9.5, 10.5, 0.9, ("sadness",), crisis=True),
    ], [ScriptedNudge("self_harm_protocol", 4.2, "agent_said" if followed else "expired",
                      priority="urgent", title="Self-harm risk")], **kw)
