"""Settings of the telephony adapters beyond Twilio and native ingest.

A plain model, nested in the service ``Settings`` as ``settings.adapters`` and validated with
it at start-up; its fields keep their flat names (``CARECUE_AUDIOSOCKET_PORT``, also as a line
in ``.env``). Tests build one directly. Maps are JSON, e.g.
``CARECUE_AUDIOHOOK_API_KEYS='{"key1": "c2VjcmV0"}'``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

# The format Genesys Cloud accepts for an AudioHook integration's API key.
GENESYS_API_KEY = re.compile(r"^[a-zA-Z0-9+/_-]+={0,2}$")


class AdapterSettings(BaseModel):
    """Adapter knobs, validated at start as part of ``Settings``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    audiohook_api_keys: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Genesys AudioHook API keys mapped to their client secret (base64, as Genesys shows "
            "it). An empty secret accepts unsigned connections for that key; a non-empty one "
            "requires a valid RFC 9421 HMAC-SHA256 signature."
        ),
    )
    audiohook_max_signature_age_s: int = 10
    audiohook_reconnect_grace_s: float = Field(
        default=30.0,
        description="How long a call stays open after the client closes with 'reconnect'.",
    )
    ingest_drain_s: float = Field(
        default=5.0,
        ge=0,
        description=(
            "At shutdown, how long to wait for ingest connections to close after AudioHook "
            "sessions were asked to reconnect and other streams were stopped."
        ),
    )
    ingest_handshake_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description=(
            "How long an ingest connection may take, from connecting, to start its call "
            "(native/Twilio start, fork metadata, AudioHook open, AudioSocket UUID, the first "
            "/v1/asr audio). Keep-alives and partial frames do not extend it."
        ),
    )
    ingest_idle_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description=(
            "After the start, how long an ingest connection may go without audio (a paused "
            "AudioHook session: without any message) before it is closed and its call ended."
        ),
    )
    # AudioSocket has no authentication: listen on loopback unless told otherwise (Asterisk
    # on another host needs CARECUE_AUDIOSOCKET_HOST set, behind a firewall).
    audiosocket_host: str = Field(
        default="127.0.0.1", description="Address of the AudioSocket listener (no auth)"
    )
    audiosocket_port: int | None = Field(
        default=None, description="TCP port of the Asterisk AudioSocket listener; off unless set."
    )
    audiosocket_agent_port: int | None = Field(
        default=None,
        description=(
            "Optional second port: connections on it are the agent leg. Unset, the first "
            "connection for a UUID is the caller leg and the second the agent leg."
        ),
    )
    audiosocket_leg_grace_s: float = Field(
        default=1.0,
        ge=0,
        description=(
            "How long an AudioSocket call whose only leg so far has gone stays open for its "
            "other leg (a call shorter than the legs' set-up); 0 ends it at once."
        ),
    )
    fork_sample_rate: Literal[8000, 16000] = Field(
        default=8000,
        description=(
            "mod_audio_fork streams whose metadata and URL do not give sample_rate: the rate "
            "of the start command (8k or 16k)."
        ),
    )
    fork_mix_type: Literal["mono", "stereo"] = Field(
        default="mono",
        description=(
            "mod_audio_fork streams whose metadata and URL give neither channels nor mix_type: "
            "the start command's mix type."
        ),
    )
    audiosocket_legacy_kinds: bool = Field(
        default=False,
        description=(
            "Read AudioSocket kind 0x11 as 16 kHz, as the first Asterisk release with 16 kHz "
            "did; current Asterisk uses 0x11 for 12 kHz and 0x12 for 16 kHz."
        ),
    )
    agent_map_file: Path | None = Field(
        default=None, description="YAML or JSON file that maps platform fields to agent ids."
    )
    agent_map: dict[str, Any] = Field(
        default_factory=dict, description="The same mapping inline (JSON), merged over the file."
    )

    @field_validator("audiohook_api_keys")
    @classmethod
    def _secrets_are_base64(cls, value: dict[str, str]) -> dict[str, str]:
        import base64
        import binascii

        for key, secret in value.items():
            if not GENESYS_API_KEY.match(key):
                raise ValueError(
                    f"AudioHook API key {key!r} is not one Genesys can send (letters, digits, "
                    "+ / _ - and up to two trailing '=')"
                )
            try:
                base64.b64decode(secret, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValueError(f"client secret of AudioHook key {key!r} is not base64") from exc
        return value


@dataclass(frozen=True, slots=True)
class AgentMap:
    """Resolves which agent takes a call when the platform does not say so itself.

    Shape (YAML)::

        default: A1                 # optional: agent for calls nothing else matches
        audiohook:                  # adapter name
          dnis: {"+18005550100": A7}
          organization_id: {"<uuid>": A2}
        audiosocket:
          uuid: {"40325ec2-5efd-4bd3-805f-53576e581d13": A3}
        fork:
          caller: {"+15551234567": A4}
    """

    default: str | None = None
    by_source: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)

    @classmethod
    def from_obj(cls, raw: Mapping[str, Any]) -> AgentMap:
        default = raw.get("default")
        by_source: dict[str, dict[str, dict[str, str]]] = {}
        for source, fields in raw.items():
            if source == "default":
                continue
            if not isinstance(fields, Mapping):
                raise ValueError(f"agent map: {source!r} must map field names to tables")
            by_source[source] = {}
            for field_name, table in fields.items():
                if not isinstance(table, Mapping):
                    raise ValueError(f"agent map: {source}.{field_name} must be a table")
                by_source[source][str(field_name)] = {str(k): str(v) for k, v in table.items()}
        return cls(default=str(default) if default is not None else None, by_source=by_source)

    def resolve(
        self, source: str, explicit: str | None, fields: Mapping[str, str | None]
    ) -> str | None:
        """The agent: the platform's own ``agent_id`` wins, then the map, then the default."""
        if explicit:
            return explicit
        tables = self.by_source.get(source, {})
        for field_name, value in fields.items():
            if value is None:
                continue
            agent = tables.get(field_name, {}).get(str(value))
            if agent:
                return agent
        return self.default


def load_agent_map(settings: AdapterSettings) -> AgentMap:
    """Read the agent map file (YAML or JSON) and merge the inline map over it."""
    raw: dict[str, Any] = {}
    if settings.agent_map_file is not None:
        text = settings.agent_map_file.read_text(encoding="utf-8")
        loaded = (
            json.loads(text)
            if settings.agent_map_file.suffix == ".json"
            else yaml.safe_load(text)
        )
        if loaded is not None and not isinstance(loaded, Mapping):
            raise ValueError(f"{settings.agent_map_file}: the agent map must be a mapping")
        raw.update(loaded or {})
    for key, value in settings.agent_map.items():
        if isinstance(value, Mapping) and isinstance(raw.get(key), Mapping):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return AgentMap.from_obj(raw)
