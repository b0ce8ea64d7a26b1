"""Revoked tokens: the ids ``carecue token revoke`` wrote to the shared database, cached.

Every instance keeps the set of revoked ids in memory and reloads it every
``CARECUE_REVOCATION_REFRESH_S`` seconds (one small query per instance, never one per request
or message), so a revocation reaches every instance within that interval. Checking a token is
a set lookup (``TokenSigner.verify``).

Open agent and supervisor sockets register their token id (``watch``); when a reload finds
their token newly revoked, the socket's event is set and the handler closes it with 1008
``token_revoked``. Ingest streams are checked when they connect; one already streaming a call
runs to the call's end.

If the database cannot be read, the last loaded set stays in force (nothing revoked is let
back in) and the failure is counted; the next reload tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger("carecue.auth")


class Revocations:
    """The revoked token ids of this deployment; ``id in revocations`` is the check."""

    def __init__(self, load: Callable[[], set[str]], refresh_s: float) -> None:
        self._load = load
        self.refresh_s = refresh_s
        self._ids: frozenset[str] = frozenset()
        self._watchers: dict[str, set[asyncio.Event]] = {}
        self.loaded = False
        self.load_failures = 0

    def __contains__(self, token_id: object) -> bool:
        return token_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    async def refresh(self) -> set[str]:
        """Reload from the database; returns the ids revoked since the last load."""
        try:
            ids = frozenset(await asyncio.to_thread(self._load))
        except Exception as exc:  # the database is away: keep what we know, try again later
            self.load_failures += 1
            log.warning("could not reload revoked tokens", extra={"error": type(exc).__name__})
            return set()
        new = set(ids - self._ids)
        # Rows are never deleted while their token is valid, so ids only leave the set when
        # their token has expired anyway.
        self._ids = ids
        self.loaded = True
        for token_id in new:
            for event in self._watchers.get(token_id, ()):
                event.set()
        if new:
            log.info("tokens revoked", extra={"count": len(new), "total": len(ids)})
        return new

    @contextmanager
    def watch(self, token_id: str | None) -> Iterator[asyncio.Event]:
        """An event set when ``token_id`` is revoked, while the block runs (an open socket)."""
        event = asyncio.Event()
        if token_id is None:
            yield event
            return
        if token_id in self._ids:
            event.set()
        self._watchers.setdefault(token_id, set()).add(event)
        try:
            yield event
        finally:
            watchers = self._watchers.get(token_id)
            if watchers is not None:
                watchers.discard(event)
                if not watchers:
                    del self._watchers[token_id]

    async def run(self) -> None:
        """Reload every ``refresh_s`` until cancelled."""
        while True:
            await asyncio.sleep(self.refresh_s)
            await self.refresh()
