"""Service configuration: one ``Settings`` object, read from ``CARECUE_*`` variables and ``.env``.

Validated once at start-up; everything per call is derived from it and frozen.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

AsrEngineName = Literal["whisper", "vosk", "moonshine"]

# Agent and supervisor tokens minted by ``carecue token create`` or printed by ``serve`` expire
# after this long unless told otherwise; a shift, not forever.
DEFAULT_TOKEN_TTL_S = 12 * 3600


def default_data_dir() -> Path:
    """The per-user data folder: ``$XDG_DATA_HOME/carecue``, else ``~/.local/share/carecue``.

    Never the current directory, where a generated secret could be committed by accident.
    """
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "carecue"


class Settings(BaseSettings):
    """Everything the service can be told, from ``CARECUE_<FIELD>`` (e.g. ``CARECUE_PORT``)."""

    model_config = SettingsConfigDict(
        env_prefix="CARECUE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # HTTP server (``carecue serve``)
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = Field(
        default=None, description="Base URL printed in links (defaults to http://host:port)"
    )

    # Storage: SQLite file under data_dir unless a URL is given (PostgreSQL: postgresql+psycopg://)
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="SQLite database and generated auth secret (default: per-user XDG folder)",
    )
    database_url: str | None = None

    # ASR
    asr_engine: AsrEngineName = "whisper"
    whisper_model: str = Field(
        default="tiny.en", description="tiny.en (the benchmark's pick), base, or a CTranslate2 dir"
    )
    vosk_model_dir: Path | None = None
    moonshine_model_dir: Path | None = None
    asr_workers: int = Field(
        default=2, ge=1, le=64, description="Threads decoding audio for all calls"
    )
    asr_partial_interval_s: float = Field(
        default=1.0, gt=0, description="How often a partial is decoded (whisper re-decodes)"
    )
    asr_endpoint_silence_s: float = Field(
        default=0.5,
        ge=0.2,
        le=3.0,
        description="Silence that ends an utterance (latency vs cut-offs)",
    )
    asr_threads: int = Field(default=1, ge=1, le=16, description="Intra-op threads per ASR decode")
    asr_batch_size: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Whisper: decodes of all calls batched together, up to this many (1: off)",
    )
    asr_agent_partial_interval_s: float | None = Field(
        default=3.0,
        gt=0,
        description="Agent-track partials (finals carry the 'said it' checks); unset: none",
    )

    # Classifier and nudges
    classifier_enabled: bool = True
    model_workers: int = Field(
        default=1, ge=1, le=16, description="Threads for classifier/matcher calls"
    )
    window_s: float = Field(default=20.0, gt=0)
    playbook_path: Path | None = None
    tick_interval_s: float = Field(default=1.0, gt=0)

    # Auth: HMAC secret for tokens; when unset a random one is created in data_dir/auth_secret
    auth_secret: str | None = None
    dev_token: bool = Field(
        default=False, description="Print an admin token at start-up (local demo only)"
    )

    # Event bus: in-process unless a Redis URL is given (several service instances)
    redis_url: str | None = None
    redis_stream_maxlen: int = Field(default=100_000, ge=1000)

    # Limits and queue sizes (all bounded; see app/delivery.py and app/session.py for policies)
    max_calls: int = Field(default=64, ge=1)
    admit_max_asr_lag_s: float = Field(
        default=1.0,
        gt=0,
        description="New calls are refused (at_capacity, /readyz 503) while ASR lags this much",
    )
    degraded_lag_s: float = Field(
        default=2.0, gt=0, description="ASR lag above which a call is reported call.degraded"
    )
    max_frame_bytes: int = Field(default=64 * 1024, ge=160)
    track_queue_frames: int = Field(
        default=500, ge=10, description="Per track: 10 s of 20 ms frames"
    )
    client_queue_size: int = Field(default=1000, ge=10, description="Per websocket client")
    replay_limit: int = Field(default=50_000, ge=100, description="Max events replayed on since=")
    ring_size: int = Field(
        default=20_000, ge=100, description="Recent events kept in memory for replay"
    )
    ready_wait_s: float = Field(
        default=120.0, ge=0, description="How long a new call waits for models"
    )
    ws_idle_timeout_s: float = Field(default=120.0, gt=0, description="Ingest socket without data")

    log_level: str = "INFO"
    log_json: bool = True

    # Browser sockets (agent console, wallboard) from another origin are refused unless it
    # is listed here (comma-separated, e.g. "https://console.example.org").
    allowed_origins: str = Field(
        default="", description="Extra origins allowed to open the agent/supervisor sockets"
    )
    # /metrics needs a supervisor or admin token unless a scraper is let in here.
    metrics_public: bool = Field(default=False, description="Serve /metrics without a token")

    def origins(self) -> set[str]:
        return {o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()}

    @field_validator("database_url")
    @classmethod
    def _empty_is_none(cls, v: str | None) -> str | None:
        return v or None

    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: the configured one or a SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'carecue.db').resolve()}"

    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"
