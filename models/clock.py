"""Injected clocks, so that time-based logic is deterministic in tests."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Seconds on a monotonic scale; only differences matter."""

    def now(self) -> float: ...


class MonotonicClock:
    """The real clock: ``time.monotonic()``."""

    def now(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that moves only when told to; for tests and replays."""

    def __init__(self, start: float = 0.0) -> None:
        self._t = start

    def now(self) -> float:
        return self._t

    def set(self, t: float) -> None:
        if t < self._t:
            raise ValueError(f"FakeClock cannot go backwards ({t} < {self._t})")
        self._t = t

    def advance(self, dt: float) -> None:
        self.set(self._t + dt)
