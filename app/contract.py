"""The wire contract of the agent and supervisor event sockets, as pydantic models.

``docs/contract.md`` describes it for people; ``carecue contract --json-schema`` prints the JSON
Schema derived from these models, and ``tests/app/test_contract.py`` checks that the events of
a real call validate against that schema and that the document names the same events and fields.

The session publishes these models (``CallSession``), the store projection and the report read
them back, and the REST routes declare their response models here too, so ``/docs`` shows the
same shapes. Field order is the order on the wire.

The models state what a client may rely on. Required fields are the stable contract; fields
with a default are what the service adds today (``details``, ``latency_s``, ...) and may change
between versions. Servers may add further fields (``extra="allow"``): new data keys are
additive, so the schema allows them; a renamed or removed field fails the test. The value sets
(priorities, how a nudge was resolved, speakers, trends) come from the types the pipeline
itself uses, so the schema follows them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from asr.types import Speaker
from models.signals import Trend
from nudges.events import FeedbackAction, Priority, ResolvedHow

SCHEMA_ID = "https://carecue.invalid/schemas/events-v1.json"


class _Open(BaseModel):
    """Event data: the listed fields are guaranteed, further fields may be added."""

    model_config = ConfigDict(extra="allow")


class CallStartedData(_Open):
    call_id: str
    agent_id: str
    source: str = Field(description="Ingest protocol: twilio, audiohook, stream, fork, ...")
    started_at: str = Field(description="ISO 8601 UTC")
    tracks: list[Speaker]
    playbook_version: int | None = Field(
        default=None, description="Stored playbook version the call runs (null: the default)"
    )
    custom: dict[str, Any] = Field(
        default_factory=dict, description="The platform's custom parameters (no tokens)"
    )


class CallEndedData(_Open):
    call_id: str
    agent_id: str
    source: str
    started_at: str
    ended_at: str = Field(description="ISO 8601 UTC")
    duration_s: float
    reason: str = Field(description="Why it ended: stop, disconnect, error, shutdown, ...")
    max_distress: float = Field(ge=0, le=1)


class TranscriptData(_Open):
    speaker: Speaker
    text: str
    segment_id: str = Field(description="A partial and the final that replaces it share it")
    start_s: float = Field(description="Seconds on the call clock")
    end_s: float


class SignalsData(_Open):
    distress: float = Field(ge=0, le=1)
    concerns: dict[str, float] = Field(description="Concern name to 0..1")
    trend: Trend
    crisis: bool = Field(default=False, description="An urgent red flag is in the window")
    red_flags: list[str] = Field(
        default_factory=list, description="self_harm, emergency, safety_check"
    )
    red_flags_about_others: list[str] = Field(
        default_factory=list,
        description="Those of red_flags raised only about someone other than the caller",
    )
    distressed: bool = False
    active: list[str] = Field(default_factory=list, description="Concerns on (hysteresis)")
    evidence: str = Field(default="", description="The caller's words that drove the score")
    at_s: float = Field(default=0.0, description="Seconds on the call clock")


class NudgeCreatedData(_Open):
    nudge_id: str = Field(description="<call_id>:<engine id>")
    rule_id: str
    title: str
    suggestion: str | None = Field(description="Words the agent could say")
    reason: str = Field(description="Why, in plain language, quoting the caller")
    details: list[str] = Field(
        default_factory=list, description="What the engine measured, e.g. 'fear 0.72'"
    )
    priority: Priority
    expires_at: str = Field(description="ISO 8601 UTC")
    escalate: bool = False
    at_s: float = Field(default=0.0, description="Seconds on the call clock")
    latency_s: float | None = Field(
        default=None, description="End of the caller's speech to publish, when a final caused it"
    )


class NudgeResolvedData(_Open):
    nudge_id: str
    rule_id: str = ""
    how: ResolvedHow
    by: str | None = Field(default=None, description="agent_said: the agent's sentence")
    at_s: float = Field(default=0.0, description="Seconds on the call clock")


class EscalationData(_Open):
    nudge_id: str = ""
    rule_id: str = ""
    severity: Priority
    reason: str
    agent_id: str = ""
    at_s: float = Field(default=0.0, description="Seconds on the call clock")


class CallErrorData(_Open):
    stage: Literal["asr", "feed", "brain"] = Field(description="Which stage of the call failed")
    track: Speaker | None = Field(description="The track it served, if any")
    code: str = Field(description="Stable code: engine_error, garbage_audio, internal_error...")
    retryable: bool
    retrying: bool = Field(description="A fresh stage takes over; false: that part stops")
    message: str = Field(description="For people; never transcript words")


class TrackLoad(_Open):
    dropped_audio_s: float = Field(ge=0, description="Audio of this track dropped so far")
    asr_lag_s: float = Field(ge=0, description="How long its oldest unprocessed audio waited")


class CallDegradedData(_Open):
    reason: Literal["audio_dropped", "asr_lag"] = Field(
        description="audio_dropped: speech recognition fell so far behind that audio was "
        "dropped (words are missing); asr_lag: transcripts arrive late"
    )
    track: Speaker = Field(description="The track worst hit")
    dropped_audio_s: float = Field(ge=0, description="Audio dropped on this call so far, s")
    asr_lag_s: float = Field(ge=0, description="The call's ASR lag now, s")
    lag_threshold_s: float = Field(description="Lag above which a call is reported degraded")
    tracks: dict[Speaker, TrackLoad]


class CallRecoveredData(_Open):
    dropped_audio_s: float = Field(ge=0, description="Audio dropped on this call so far, s")
    degraded_for_s: float = Field(ge=0, description="How long the call was degraded")
    tracks: dict[Speaker, TrackLoad]


def _envelope(type_name: str, data_model: type[BaseModel], doc: str) -> type[BaseModel]:
    """One envelope model per event type: ``type`` fixed, ``data`` of the given shape."""
    from pydantic import create_model

    fields: dict[str, Any] = {
        "type": (Literal[type_name], ...),
        "seq": (int, Field(ge=1, description="Strictly increasing on every socket")),
        "call_id": (str, ...),
        "at": (str, Field(description="ISO 8601 UTC, when the server published it")),
        "data": (data_model, ...),
    }
    name = "".join(part.capitalize() for part in type_name.replace(".", "_").split("_"))
    model: type[BaseModel] = create_model(
        f"{name}Event", __doc__=doc, __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


# type -> (data model, one line for the docs); docs/contract.md has a row for each.
EVENT_TYPES: dict[str, tuple[type[BaseModel], str]] = {
    "call.started": (CallStartedData, "A call reached the service."),
    "call.ended": (CallEndedData, "The call is over; everything before it has been sent."),
    "transcript.partial": (TranscriptData, "Words still being spoken (live only, may change)."),
    "transcript.final": (TranscriptData, "An utterance, final."),
    "signals.updated": (SignalsData, "The classifier's reading of the caller's recent words."),
    "nudge.created": (NudgeCreatedData, "A prompt for the agent."),
    "nudge.resolved": (NudgeResolvedData, "A prompt is done with, and how."),
    "escalation": (EscalationData, "A supervisor should look at this call."),
    "call.error": (CallErrorData, "A stage of the call failed; words may be missing."),
    "call.degraded": (
        CallDegradedData,
        "The service is overloaded: transcripts are late, or audio was dropped.",
    ),
    "call.recovered": (CallRecoveredData, "Transcripts keep up again after call.degraded."),
}
EventData = (
    CallStartedData
    | CallEndedData
    | TranscriptData
    | SignalsData
    | NudgeCreatedData
    | NudgeResolvedData
    | EscalationData
    | CallErrorData
)


def event_data(kind: str, data: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """The wire ``data`` of an event: a model dumped, or a mapping validated through the model
    of ``kind`` (a ``ValidationError`` when it breaks the contract). Unknown kinds pass as is."""
    if isinstance(data, BaseModel):
        return data.model_dump()
    entry = EVENT_TYPES.get(kind)
    if entry is None:
        return dict(data)
    return entry[0].model_validate(data).model_dump()


EVENT_MODELS: dict[str, type[BaseModel]] = {
    name: _envelope(name, data, doc) for name, (data, doc) in EVENT_TYPES.items()
}


class ErrorMessage(BaseModel):
    """Sent before a socket is closed for a reason, or alone for a rejected client message."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["error"]
    code: str
    message: str


class NudgeFeedback(BaseModel):
    """What the agent console sends: a button press on a nudge card."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["nudge.feedback"]
    nudge_id: str
    action: FeedbackAction


def _server_union() -> Any:
    from typing import Union

    members = (*EVENT_MODELS.values(), ErrorMessage)
    return Annotated[Union[members], Field(discriminator="type")]  # noqa: UP007


SERVER_MESSAGE: TypeAdapter[Any] = TypeAdapter(_server_union())


def json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of every message on the event sockets, both directions."""
    server = SERVER_MESSAGE.json_schema(ref_template="#/$defs/{model}")
    defs = dict(server.pop("$defs", {}))
    client = NudgeFeedback.model_json_schema(ref_template="#/$defs/{model}")
    defs.update(client.pop("$defs", {}))
    defs["NudgeFeedback"] = client
    defs["ServerMessage"] = server
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "CareCue event socket messages, v1",
        "description": (
            "Server to client: one of ServerMessage (an event envelope or an error). "
            "Client to server: NudgeFeedback. See docs/contract.md."
        ),
        "oneOf": [{"$ref": "#/$defs/ServerMessage"}, {"$ref": "#/$defs/NudgeFeedback"}],
        "$defs": defs,
    }


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True)


# ---- REST responses ----------------------------------------------------------------------
# What the REST routes answer (their ``response_model``s, so ``/docs`` shows them). ``forbid``:
# a key the service sends that is not declared here fails loudly in the tests instead of being
# dropped from the answer.


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CallSummary(_Response):
    """One call in a list."""

    call_id: str
    agent_id: str
    source: str
    started_at: str | None = Field(description="ISO 8601 UTC")
    ended_at: str | None = Field(description="ISO 8601 UTC; null while the call is live")
    end_reason: str | None
    active: bool
    max_distress: float
    playbook_version: int | None
    nudge_count: int


class CallList(_Response):
    calls: list[CallSummary]


class TranscriptSegment(_Response):
    segment_id: str
    speaker: Speaker
    text: str
    start_s: float = Field(description="Seconds on the call clock")
    end_s: float


class SignalPoint(_Response):
    at: str | None = Field(description="ISO 8601 UTC")
    at_s: float = Field(description="Seconds on the call clock")
    distress: float
    concerns: dict[str, float]
    trend: Trend
    crisis: bool
    active: list[str]


class NudgeRecord(_Response):
    nudge_id: str
    rule_id: str
    title: str
    suggestion: str | None
    reason: str
    priority: Priority
    escalate: bool
    created_at: str | None
    at_s: float
    expires_at: str | None
    latency_s: float | None
    resolved_how: ResolvedHow | None = Field(description="null while it is open")
    resolved_at: str | None


class FeedbackRecord(_Response):
    nudge_id: str
    rule_id: str
    agent_id: str
    action: FeedbackAction
    at: str | None


class EscalationRecord(_Response):
    nudge_id: str
    rule_id: str
    severity: Priority
    reason: str
    at: str | None


class CallDetail(CallSummary):
    """One call with its transcript, signals timeline, nudges, feedback and escalations."""

    custom: dict[str, Any]
    transcript: list[TranscriptSegment]
    signals: list[SignalPoint]
    nudges: list[NudgeRecord]
    feedback: list[FeedbackRecord]
    escalations: list[EscalationRecord]


class DistressSummary(_Response):
    peak: float
    peak_at_s: float | None
    final: float
    final_trend: Trend | None
    samples: int


class ReportNudge(_Response):
    nudge_id: str
    rule_id: str
    title: str
    priority: Priority
    at_s: float
    reason: str
    outcome: str = Field(description="How it was resolved, or 'open'")
    feedback: list[str] = Field(description="The agent's feedback actions, in order")


class CallReport(_Response):
    """A summary for review: talk time, distress, concerns, nudges and their outcomes."""

    call_id: str
    agent_id: str
    source: str
    started_at: str | None
    ended_at: str | None
    end_reason: str | None
    talk_time_s: dict[str, float] = Field(description="Seconds of speech per speaker")
    talk_share: dict[str, float]
    turns: dict[str, int]
    distress: DistressSummary
    concerns_seen: dict[str, int] = Field(description="Concern name to signal updates it was on")
    crisis: bool
    nudges: list[ReportNudge]
    nudge_outcomes: dict[str, int]
    escalations: list[EscalationRecord]


class RuleStats(_Response):
    rule_id: str
    shown: int
    accepted: int
    dismissed: int
    agent_said: int
    expired: int
    helpful: int
    not_helpful: int
    accept_rate: float | None = Field(description="Of the nudges shown")
    dismiss_rate: float | None
    said_rate: float | None
    helpful_rate: float | None = Field(description="Of the nudges rated")


class NudgeAnalytics(_Response):
    rules: list[RuleStats]
    agent_id: str | None


class PlaybookSaved(_Response):
    version: int
    rules: int
    name: str


class StoreHealth(_Response):
    failing: bool
    late_writes: int
    write_errors: int


class Readiness(_Response):
    ready: bool
    error: str | None
    active_calls: int
    at_capacity: bool = Field(
        default=False,
        description="A new call would be refused: max_calls reached or ASR lagging too far",
    )
    asr_lag_s: float = Field(default=0.0, description="Measured ASR lag now, seconds")
    models: dict[str, Any] | None
    store: StoreHealth
