"""Process-wide tuning for a serving process, applied once before the app starts.

Measured on the 2-core machine with 16 concurrent two-track calls (``bench/e2e_bench.py``,
``docs/deploy.md``): the server could not use more than about one core while calls fell
behind. Two process-wide defaults were the cause:

- **The GIL hand-over.** Every call's audio passes through Python on the event loop and the
  ASR threads (websocket frames, codecs, VAD windows) between native decodes that release the
  GIL. With CPython's default 5 ms switch interval, a decode thread that finished its native
  part waited for the GIL behind the event loop, so decodes could not keep both cores busy.
  A 0.5 ms interval lets them take it back at once (``CARECUE_GIL_SWITCH_INTERVAL_MS``).
- **numpy's BLAS thread pool.** OpenBLAS starts a worker per core for the small matrix
  products of whisper's feature extraction, and its workers spin while they wait: a third of
  a core burnt beside the decodes. One BLAS thread per calling thread is enough here.
"""

from __future__ import annotations

import logging
import sys

from app.settings import Settings

log = logging.getLogger("carecue.runtime")

BLAS_THREADS = 1


def tune_process(settings: Settings) -> dict[str, float]:
    """Apply the serving process's thread settings; logs and returns what was set."""
    sys.setswitchinterval(settings.gil_switch_interval_ms / 1000)
    applied: dict[str, float] = {"gil_switch_interval_ms": settings.gil_switch_interval_ms}
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a scikit-learn dependency; without it the BLAS default stays
        log.warning("threadpoolctl is not installed: numpy's BLAS keeps its thread pool")
    else:
        threadpool_limits(limits=BLAS_THREADS, user_api="blas")
        applied["blas_threads"] = BLAS_THREADS
    log.info("process tuned", extra=applied)
    return applied
