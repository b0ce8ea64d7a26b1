"""What an adapter takes from the running app: settings, agent map, registry, auth.

Adapters read ``settings.adapters`` of the service ``Settings`` on ``app.state`` (the defaults
for a bare test app without one); the agent map is loaded once and cached beside it.
"""

from __future__ import annotations

from typing import Any

from app.ingest.base import CallRegistry, IngestError
from app.ingest.settings import AdapterSettings, AgentMap, load_agent_map


def adapter_settings(app: Any) -> AdapterSettings:
    """The adapter settings of ``app`` (a FastAPI/Starlette app): ``settings.adapters``."""
    adapters = getattr(getattr(app.state, "settings", None), "adapters", None)
    return adapters if isinstance(adapters, AdapterSettings) else AdapterSettings()


def agent_map(app: Any) -> AgentMap:
    """The agent map of ``app``, loaded from the settings on first use."""
    cached = getattr(app.state, "agent_map", None)
    if cached is None:
        cached = load_agent_map(adapter_settings(app))
        app.state.agent_map = cached
    return cached


def call_registry(app: Any) -> CallRegistry:
    """``app.state.calls``; a server error (1011) when the service has none."""
    calls = getattr(app.state, "calls", None)
    if calls is None:
        raise IngestError("no_registry", "the service has no call registry", close_code=1011)
    return calls


def free_call_id(registry: CallRegistry, wanted: str, suffix: str) -> str:
    """``wanted`` unless a live call already has it (a second stream of one conversation)."""
    if registry.get(wanted) is None:
        return wanted
    return f"{wanted}:{suffix}"
