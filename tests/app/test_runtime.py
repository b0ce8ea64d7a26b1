"""The serving process's thread settings (app/runtime.py): applied by ``carecue serve``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.runtime import tune_process
from tests.app.service_helpers import make_settings


@pytest.fixture
def restore_process() -> Iterator[None]:
    from threadpoolctl import threadpool_limits

    before = sys.getswitchinterval()
    with threadpool_limits(limits=None):  # put the BLAS pool back as it was
        yield
    sys.setswitchinterval(before)


def test_serving_process_hands_the_gil_back_quickly_and_keeps_blas_to_one_thread(
    tmp_path: Path, restore_process: None
) -> None:
    from threadpoolctl import threadpool_info

    settings = make_settings(tmp_path, gil_switch_interval_ms=0.5)
    applied = tune_process(settings)
    assert sys.getswitchinterval() == pytest.approx(0.0005)
    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    assert blas, "numpy's BLAS is loaded"
    assert all(p["num_threads"] == 1 for p in blas)
    assert applied == {"gil_switch_interval_ms": 0.5, "blas_threads": 1}


def test_switch_interval_is_a_validated_setting(tmp_path: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        make_settings(tmp_path, gil_switch_interval_ms=0.0)
