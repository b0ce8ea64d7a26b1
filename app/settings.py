"""Service configuration: one ``Settings`` object, read from ``CARECUE_*`` variables and ``.env``.

Validated once at start-up; everything per call is derived from it and frozen. The telephony
adapters' settings are nested as ``settings.adapters`` but keep flat variable names
(``CARECUE_AUDIOSOCKET_PORT``), read from the environment and ``.env`` like the rest.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, create_model, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from app.ingest.settings import AdapterSettings

AsrEngineName = Literal["whisper", "vosk", "moonshine"]

# Tokens minted by ``carecue token create`` or printed by ``serve`` expire after this long unless
# told otherwise. People's tokens (agent, supervisor, admin) last a shift and at most a month;
# an ingest token is configured into a telephony platform, so it lasts a quarter by default and
# may be made not to expire (``--ttl 0``): it can be revoked (``carecue token revoke``).
DEFAULT_TOKEN_TTL_S = 12 * 3600
TOKEN_TTL_DEFAULTS_S: dict[str, int] = {
    "agent": DEFAULT_TOKEN_TTL_S,
    "supervisor": DEFAULT_TOKEN_TTL_S,
    "admin": DEFAULT_TOKEN_TTL_S,
    "ingest": 90 * 24 * 3600,
}
MAX_PERSON_TOKEN_TTL_S = 31 * 24 * 3600


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
        default=4,
        ge=1,
        le=64,
        description="Threads decoding audio for all calls (each decode holds one while it runs)",
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
    gil_switch_interval_ms: float = Field(
        default=0.5,
        ge=0.1,
        le=50.0,
        description="How soon a thread back from a native decode gets the GIL (app/runtime.py)",
    )
    asr_batch_size: int = Field(
        default=1,
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

    # Practice mode (/practice): the simulated patient speaks with Kokoro when the tts extra is
    # installed; off gives text-only practice calls.
    practice_voice: bool = Field(default=True, description="Speak patient lines with Kokoro")
    practice_pace: float = Field(
        default=1.0, ge=0.0, le=2.0,
        description="Typed practice: a patient line takes its speaking time times this (0: "
        "instant, for tests)",
    )
    practice_turn_gap_s: float = Field(
        default=2.0, ge=0.5, le=10.0,
        description="Practice by microphone: silence after the trainee's words that ends a turn",
    )

    # Auth: HMAC secret for tokens; when unset a random one is created in data_dir/auth_secret
    auth_secret: str | None = None
    dev_token: bool = Field(
        default=False, description="Print an admin token at start-up (local demo only)"
    )
    revocation_refresh_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="How often each instance reloads revoked token ids from the database "
        "(a revocation takes effect everywhere within this)",
    )
    ws_auth_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="An event socket without a token must send its auth message within this",
    )

    # Event bus: in-process unless a Redis URL is given (several service instances)
    redis_url: str | None = None
    redis_stream_maxlen: int = Field(default=100_000, ge=1000)

    # Limits and queue sizes (all bounded; see app/delivery.py and app/session.py for policies)
    max_calls: int = Field(default=64, ge=1)
    admit_max_asr_lag_s: float = Field(
        # 1 s refused the next call at 4 concurrent calls on a quiet 2-core machine (batch
        # waits of a second come and go under normal load); sustained overload grows past 5 s.
        default=5.0,
        gt=0,
        description="New calls are refused (at_capacity, /readyz 503) while ASR lags this much",
    )
    degraded_lag_s: float = Field(
        default=2.0, gt=0, description="ASR lag above which a call is reported call.degraded"
    )
    max_frame_bytes: int = Field(default=64 * 1024, ge=160)
    track_queue_frames: int = Field(
        default=500,
        ge=10,
        description="Caller track: 10 s of 20 ms frames; the agent track queues half",
    )
    client_queue_size: int = Field(default=1000, ge=10, description="Per websocket client")
    client_send_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description=(
            "An agent/supervisor socket whose send waits this long (it stopped reading) is "
            "closed 1013 too_slow; keep it below the websocket keepalive (20 s + 20 s)"
        ),
    )
    replay_limit: int = Field(default=50_000, ge=100, description="Max events replayed on since=")
    ring_size: int = Field(
        default=20_000, ge=100, description="Recent events kept in memory for replay"
    )
    ready_wait_s: float = Field(
        default=120.0, ge=0, description="How long a new call waits for models"
    )
    # Ingest handshake and idle deadlines: CARECUE_INGEST_*_TIMEOUT_S (app/ingest/settings.py).

    # Retention: calls that ended more than this many days ago lose their transcript and
    # every text about them; their de-identified score parts stay (app.review). Unset: kept.
    retention_days: int | None = Field(
        default=None, ge=1, description="Delete transcripts and text after N days"
    )

    log_level: str = "INFO"
    log_json: bool = True

    # Telephony adapters (AudioHook, AudioSocket, mod_audio_fork, agent map): flat names,
    # e.g. CARECUE_AUDIOSOCKET_PORT, nested here by ``_FlatAdapterSource``.
    adapters: AdapterSettings = Field(default_factory=AdapterSettings)

    # Browser sockets (agent console, wallboard) from another origin are refused unless it
    # is listed here (comma-separated, e.g. "https://console.example.org").
    allowed_origins: str = Field(
        default="", description="Extra origins allowed to open the agent/supervisor sockets"
    )
    # /metrics needs a supervisor or admin token unless a scraper is let in here.
    metrics_public: bool = Field(default=False, description="Serve /metrics without a token")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win; nested values are merged key by key, so an adapter setting in
        # the environment beats the same one in .env, and ``adapters=`` beats both.
        return (
            init_settings,
            env_settings,
            _FlatAdapterSource(settings_cls, env_settings),
            dotenv_settings,
            _FlatAdapterSource(settings_cls, dotenv_settings),
            file_secret_settings,
        )

    def origins(self) -> set[str]:
        return {o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()}

    @field_validator("database_url", "retention_days", mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return v if v not in ("", None) else None

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


class _AdapterVariablesBase(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARECUE_", extra="ignore")


# The adapter fields under their flat ``CARECUE_`` names, only for the sources to read raw
# values (their types say which are JSON maps); the nested ``AdapterSettings`` validates them
# once, in ``Settings``.
_ADAPTER_FIELDS: dict[str, Any] = {
    name: (f.annotation, None) for name, f in AdapterSettings.model_fields.items()
}
_AdapterVariables = create_model(
    "_AdapterVariables", __base__=_AdapterVariablesBase, **_ADAPTER_FIELDS
)


class _FlatAdapterSource(PydanticBaseSettingsSource):
    """Reads ``CARECUE_<adapter field>`` from one environment or ``.env`` source of ``Settings``
    and hands the values over as ``{"adapters": {...}}``."""

    def __init__(self, settings_cls: type[BaseSettings], like: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._inner: EnvSettingsSource | None = None
        if isinstance(like, DotEnvSettingsSource):
            self._inner = DotEnvSettingsSource(
                _AdapterVariables,
                env_file=like.env_file,
                env_file_encoding=like.env_file_encoding,
                case_sensitive=like.case_sensitive,
                env_prefix=like.env_prefix,
            )
        elif isinstance(like, EnvSettingsSource):
            self._inner = EnvSettingsSource(
                _AdapterVariables, case_sensitive=like.case_sensitive, env_prefix=like.env_prefix
            )

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything happens in __call__

    def __call__(self) -> dict[str, Any]:
        if self._inner is None:
            return {}
        values = {k: v for k, v in self._inner().items() if k in AdapterSettings.model_fields}
        return {"adapters": values} if values else {}
