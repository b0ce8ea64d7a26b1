"""Prometheus metrics for one service instance (``GET /metrics``).

Each app gets its own ``CollectorRegistry`` so that several apps (tests) can live in one process.
Latency is measured from ``TranscriptFinal.speech_end_monotonic`` (the transcriber saw the end of
speech) to the moment a nudge is handed to the event bus.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    """The service's metric objects, registered on a private registry."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.active_calls = Gauge("carecue_active_calls", "Calls currently streaming", registry=r)
        self.calls_total = Counter("carecue_calls_total", "Calls opened", ["source"], registry=r)
        self.call_failures = Counter(
            "carecue_call_failures_total",
            "Calls that ended with a stage stopped by an internal error (counted once a call)",
            registry=r,
        )
        self.stage_failures = Counter(
            "carecue_stage_failures_total",
            "Failures of one stage of a call (asr, feed, brain), retried or not",
            ["stage"],
            registry=r,
        )
        self.audio_seconds = Counter(
            "carecue_audio_seconds_total",
            "Audio received, seconds per track",
            ["track"],
            registry=r,
        )
        self.frames_dropped = Counter(
            "carecue_audio_frames_dropped_total",
            "Audio frames dropped because a track's queue was full (ASR fell behind)",
            ["track"],
            registry=r,
        )
        self.audio_dropped_seconds = Counter(
            "carecue_audio_dropped_seconds_total",
            "Audio dropped because a track's queue was full (ASR fell behind), seconds per track",
            ["track"],
            registry=r,
        )
        self.asr_lag = Gauge(
            "carecue_asr_lag_seconds",
            "ASR lag now: the longest any track's audio or ASR job has waited (admission uses it)",
            registry=r,
        )
        self.calls_refused = Counter(
            "carecue_calls_refused_total",
            "New calls and streams refused with at_capacity (call limit or ASR lag)",
            registry=r,
        )
        self.calls_degraded = Counter(
            "carecue_calls_degraded_total",
            "call.degraded events published (audio dropped or ASR lag over the threshold)",
            ["reason"],
            registry=r,
        )
        self.asr_rtf = Histogram(
            "carecue_asr_rtf",
            "ASR real-time factor per utterance (decode seconds / audio seconds)",
            buckets=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0),
            registry=r,
        )
        self.asr_decode_seconds = Counter(
            "carecue_asr_decode_seconds_total", "CPU-side seconds spent in ASR decode", registry=r
        )
        self.classify_ms = Histogram(
            "carecue_classify_ms",
            "Classifier time per caller utterance, milliseconds",
            buckets=(2, 5, 10, 20, 35, 50, 75, 100, 150, 250, 500, 1000),
            registry=r,
        )
        self.nudge_latency = Histogram(
            "carecue_speech_end_to_nudge_seconds",
            "End of the caller's speech to nudge published",
            buckets=(0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0),
            registry=r,
        )
        self.events_published = Counter(
            "carecue_events_published_total", "Envelopes published", ["type"], registry=r
        )
        self.client_drops = Counter(
            "carecue_client_events_dropped_total",
            "Events dropped or coalesced for slow websocket clients",
            ["type"],
            registry=r,
        )
        self.clients_closed_slow = Counter(
            "carecue_clients_closed_slow_total", "Clients closed for falling behind", registry=r
        )
        self.ws_clients = Gauge(
            "carecue_ws_clients", "Connected agent/supervisor sockets", ["kind"], registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
