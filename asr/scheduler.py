"""The shared ASR executor: a fixed set of threads that runs every track's jobs by priority.

All transcription work of a service instance (every track of every call) runs on these
threads, which bound the CPU that ASR takes. Jobs are taken by priority, then in the order
they came: the caller lane (priority 0) before the agent lane (priority 1). When the machine
cannot keep up, caller jobs therefore wait for at most one running job, while agent jobs wait
behind every queued caller job; that is step 4 of the degradation order in
``docs/service.md`` ("agent finals are delayed"), and the reason agent audio is dropped
before caller audio.

``StreamingTranscriber`` takes any ``concurrent.futures.Executor``; ``scheduler.lane(p)``
is one that submits at priority ``p``.
"""

from __future__ import annotations

import concurrent.futures
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from asr.types import Speaker

CALLER_LANE: Final = 0
AGENT_LANE: Final = 1


_running = threading.local()


def current_priority() -> int:
    """The priority of the scheduler job running on this thread (the agent lane elsewhere),
    so that work a job hands on (a batched decode) keeps its place in the order."""
    return int(getattr(_running, "priority", AGENT_LANE))


def lane_of(speaker: Speaker) -> int:
    """The scheduling priority of a track's jobs (lower runs first)."""
    return CALLER_LANE if speaker == "caller" else AGENT_LANE


class _Job:
    __slots__ = ("args", "fn", "future", "kwargs", "submitted")

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        future: concurrent.futures.Future[Any],
    ) -> None:
        self.fn, self.args, self.kwargs, self.future = fn, args, kwargs, future
        self.submitted = time.monotonic()


class AsrScheduler:
    """``workers`` threads taking jobs from one priority queue (see the module docstring).

    ``pressure_s()`` is how long the oldest waiting job has been queued: 0 while the
    threads keep up. The service's admission uses it (``app/calls.py``).
    """

    def __init__(self, workers: int, thread_name_prefix: str = "asr") -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self._cv = threading.Condition()
        self._heap: list[tuple[int, int, _Job]] = []
        self._seq = itertools.count()
        self._shutdown = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{thread_name_prefix}_{i}", daemon=True)
            for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    def submit(
        self, priority: int, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        """Queue ``fn(*args, **kwargs)`` at ``priority`` (lower runs first)."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._cv:
            if self._shutdown:
                raise RuntimeError("cannot schedule new jobs after shutdown")
            heapq.heappush(self._heap, (priority, next(self._seq), _Job(fn, args, kwargs, future)))
            self._cv.notify()
        return future

    def lane(self, priority: int) -> concurrent.futures.Executor:
        """An executor whose jobs run at ``priority`` on these threads."""
        return _Lane(self, priority)

    def pressure_s(self) -> float:
        """Seconds the oldest queued (not yet running) job has waited; 0 when none waits."""
        with self._cv:
            if not self._heap:
                return 0.0
            oldest = min(job.submitted for _, _, job in self._heap)
        return max(0.0, time.monotonic() - oldest)

    def queued(self) -> int:
        """Jobs waiting for a thread."""
        with self._cv:
            return len(self._heap)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking jobs; queued ones still run unless ``cancel_futures``."""
        with self._cv:
            self._shutdown = True
            if cancel_futures:
                for _, _, job in self._heap:
                    job.future.cancel()
                self._heap.clear()
            self._cv.notify_all()
        if wait:
            for t in self._threads:
                if t is not threading.current_thread():
                    t.join()

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._heap and not self._shutdown:
                    self._cv.wait()
                if not self._heap:
                    return  # shut down and drained
                priority, _, job = heapq.heappop(self._heap)
            if not job.future.set_running_or_notify_cancel():
                continue
            _running.priority = priority
            try:
                result = job.fn(*job.args, **job.kwargs)
            except BaseException as exc:  # handed to whoever awaits the future
                job.future.set_exception(exc)
            else:
                job.future.set_result(result)
            del job  # drop references to the job's arguments before waiting again


class _Lane(concurrent.futures.Executor):
    """One priority of an :class:`AsrScheduler`, as a plain executor."""

    def __init__(self, scheduler: AsrScheduler, priority: int) -> None:
        self._scheduler = scheduler
        self._priority = priority

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        return self._scheduler.submit(self._priority, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """A lane does not own the threads; shut the scheduler down instead."""
