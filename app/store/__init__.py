"""Persistence: calls, transcript segments, signals timeline, nudges, feedback, event log.

``Store`` owns the engine, runs migrations and a single writer thread. Writes are queued
(bounded; ``enqueue`` waits when full, so a stalled database slows calls rather than losing
finals or nudges) and applied in batches. When the database is away (refused connections, a
restart, a failover) the writer keeps the batch and retries with backoff (0.2 s doubling to
5 s) for as long as the process lives; meanwhile ``healthy`` is false, so ``/readyz`` turns
a load balancer away, and what is written after the outage is counted in ``late_writes``. A
batch the database rejects for its *data* is retried op by op, so one bad op loses only
itself. Reads go through ``Store.repo`` from worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import time
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
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 5.0
# At shutdown a database that stays away this long loses the queued writes (logged, counted).
CLOSE_GIVE_UP_S = 30.0


def _is_outage(exc: BaseException) -> bool:
    """The database is unreachable or refusing connections, not rejecting this data."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError)


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
        # True while the database refuses writes (readiness reports it); ops written after
        # an outage are counted in late_writes, never dropped while the process lives.
        self.failing = False
        self.late_writes = 0
        self.outage_retries = 0
        self._closing = False
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
        """The writer task is running (it only stops at ``close``) and the database takes
        writes."""
        return self._task is not None and not self._task.done() and not self.failing

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
        delay = RETRY_FIRST_S
        failed_at: float | None = None
        while True:
            try:
                self.repo.apply(batch)
                break
            except Exception as exc:
                if not _is_outage(exc):
                    log.exception(
                        "store batch failed; retrying one by one", extra={"ops": len(batch)}
                    )
                    self._write_one_by_one(batch)
                    break
                # The database is away (restart, failover, refused connections): keep the
                # batch and retry with backoff. The bounded queue fills meanwhile, so calls
                # slow down instead of losing what the agent has already seen.
                if failed_at is None:
                    failed_at = time.monotonic()
                self.failing = True
                self.outage_retries += 1
                if self._closing and time.monotonic() - failed_at > CLOSE_GIVE_UP_S:
                    self.write_errors += len(batch)
                    log.error(
                        "database unavailable at shutdown; batch lost",
                        extra={"ops": len(batch), "error": type(exc).__name__},
                    )
                    return
                log.warning(
                    "database unavailable; retrying",
                    extra={"ops": len(batch), "retry_in_s": delay, "error": type(exc).__name__},
                )
                time.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
        if failed_at is not None:
            self.late_writes += len(batch)
            log.info(
                "database back; batch written late",
                extra={"ops": len(batch), "late_s": round(time.monotonic() - failed_at, 2)},
            )
        self.failing = False

    def _write_one_by_one(self, batch: list[StoreOp]) -> None:
        # Isolate the bad op so that one call's odd data never loses another call's events.
        for op in batch:
            try:
                self.repo.apply([op])
            except Exception:
                self.write_errors += 1
                log.exception("store op dropped", extra={"op": type(op).__name__})

    async def close(self) -> None:
        self._closing = True
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
