"""The whisper decode batcher under load: decodes that pile up while one runs go together, and
every waiting decode gets its own result.

A fake engine stands in for CTranslate2 so the test controls when a decode finishes; the
batcher's queueing is what is under test. Before the fix, taking a batch compared requests by
value (their fields hold arrays), the batch thread died on the first batch of more than one,
and every decode of the service waited for ever.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

pytest.importorskip("ctranslate2")

from asr.engines.whisper import DecodeBatcher, _Request  # noqa: E402


class _GatedEngine:
    """``decode_batch`` returns each request's first feature value as its token; the first
    call waits for ``gate`` so that the requests sent meanwhile pile up."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.batch_sizes: list[int] = []

    def decode_batch(self, requests: list[_Request]) -> list[Any]:
        self.started.set()
        self.gate.wait(10)
        self.batch_sizes.append(len(requests))
        return [([int(r.features[0, 0])], 0.0, 0.0, None) for r in requests]


def _request(value: int, words: bool = False) -> _Request:
    features = np.full((80, 300), float(value), dtype=np.float32)
    return _Request(features=features, beam_size=1, words=words, max_length=50, frames=300)


def _run_all(batcher: DecodeBatcher, requests: list[_Request]) -> dict[int, Any]:
    results: dict[int, Any] = {}

    def one(i: int, r: _Request) -> None:
        try:
            results[i] = batcher.run(r)[0]
        except Exception as exc:  # reported below, not swallowed
            results[i] = exc

    threads = [
        threading.Thread(target=one, args=(i, r), daemon=True) for i, r in enumerate(requests)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    return results


def test_decodes_that_wait_are_batched_by_kind_and_each_gets_its_own_result() -> None:
    engine = _GatedEngine()
    batcher = DecodeBatcher(engine, max_batch=8)  # type: ignore[arg-type]
    first = threading.Thread(target=batcher.run, args=(_request(100),), daemon=True)
    first.start()
    assert engine.started.wait(5)
    # partials, then a final (word times: decoded first, in a batch of its own), then partials
    waiting = [_request(i, words=(i == 3)) for i in range(6)]
    results: dict[int, Any] = {}
    runner = threading.Thread(target=lambda: results.update(_run_all(batcher, waiting)))
    runner.start()
    while len(batcher._pending) < len(waiting):  # noqa: SLF001 - wait until all are queued
        threading.Event().wait(0.01)
    engine.gate.set()
    runner.join(20)
    first.join(5)
    assert results == {i: [i] for i in range(len(waiting))}
    assert engine.batch_sizes == [1, 1, 5]
    # and the thread still serves
    assert _run_all(batcher, [_request(7)]) == {0: [7]}


def test_a_failing_batch_fails_its_own_decodes_and_the_next_batch_still_runs() -> None:
    class Flaky(_GatedEngine):
        def decode_batch(self, requests: list[_Request]) -> list[Any]:
            if int(requests[0].features[0, 0]) == 13:
                raise RuntimeError("engine failure")
            return super().decode_batch(requests)

    engine = Flaky()
    engine.gate.set()
    batcher = DecodeBatcher(engine, max_batch=4)  # type: ignore[arg-type]
    failed = _run_all(batcher, [_request(13)])
    assert isinstance(failed[0], RuntimeError)
    assert _run_all(batcher, [_request(3)]) == {0: [3]}
