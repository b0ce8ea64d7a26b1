"""Persistence: calls, transcript segments, signals timeline, nudges, feedback, event log.

``Store`` owns the engine, runs migrations and a single writer thread. Writes are queued
(bounded; ``enqueue`` waits when full, so a stalled database slows calls rather than losing
finals or nudges) and applied in batches. Reads go through ``Store.repo`` from worker threads.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from app.store.db import make_engine, run_migrations
from app.store.repository import (
    DURABLE_TYPES,
    EnvelopeOp,
    FeedbackOp,
    Repository,
    StoredEvent,
    StoreOp,
)

__all__ = [
    "DURABLE_TYPES",
    "EnvelopeOp",
    "FeedbackOp",
    "Repository",
    "Store",
    "StoreOp",
    "StoredEvent",
]

log = logging.getLogger("carecue.store")

_BATCH = 200


class Store:
    """The database plus its writer task."""

    def __init__(self, url: str, queue_size: int = 10_000) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.repo = Repository(self.engine)
        self._queue: asyncio.Queue[StoreOp] | None = None
        self._queue_size = queue_size
        self._task: asyncio.Task[None] | None = None
        # One writer thread: batches stay in order and SQLite sees a single writer.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self.write_errors = 0
        self._enqueued = 0
        self._written = 0
        self._progress: asyncio.Condition | None = None

    def migrate(self) -> None:
        """Blocking: bring the schema to head."""
        run_migrations(self.engine)

    async def start(self) -> None:
        self._queue = asyncio.Queue(self._queue_size)
        self._progress = asyncio.Condition()
        self._task = asyncio.create_task(self._run(), name="store-writer")

    @property
    def healthy(self) -> bool:
        """The writer task is running (it only stops at ``close``)."""
        return self._task is not None and not self._task.done()

    async def enqueue(self, op: StoreOp) -> None:
        if self._queue is None:
            raise RuntimeError("store writer not started")
        await self._queue.put(op)
        self._enqueued += 1

    async def flush(self) -> None:
        """Wait until everything queued before this call is written (read-your-writes).

        Later writes do not hold it up, so it returns under continuous load too.
        """
        if self._progress is None or self._task is None or self._task.done():
            return
        target = self._enqueued
        async with self._progress:
            await self._progress.wait_for(lambda: self._written >= target)

    async def _run(self) -> None:
        assert self._queue is not None
        q = self._queue
        loop = asyncio.get_running_loop()
        while True:
            first = await q.get()
            batch = [first]
            while len(batch) < _BATCH and not q.empty():
                batch.append(q.get_nowait())
            try:
                await loop.run_in_executor(self._executor, self._write, batch)
            finally:
                for _ in batch:
                    q.task_done()
                assert self._progress is not None
                async with self._progress:
                    self._written += len(batch)
                    self._progress.notify_all()

    def _write(self, batch: list[StoreOp]) -> None:
        try:
            self.repo.apply(batch)
            return
        except Exception:
            log.exception("store batch failed; retrying one by one", extra={"ops": len(batch)})
        # Isolate the bad op so that one call's odd data never loses another call's events.
        for op in batch:
            try:
                self.repo.apply([op])
            except Exception:
                self.write_errors += 1
                log.exception("store op dropped", extra={"op": type(op).__name__})

    async def close(self) -> None:
        if self._task is not None:
            if self._queue is not None:
                await self._queue.join()
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._executor.shutdown(wait=True)
        self.engine.dispose()
