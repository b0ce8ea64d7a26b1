"""CARECUE_RETENTION_DAYS: old calls lose their transcript and every text about them, their
de-identified score parts stay. On SQLite and on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.review import Reviewer
from app.store import Store
from app.store.models import (
    CallRow,
    CoachingNoteRow,
    EscalationRow,
    EventRow,
    FeedbackRow,
    NudgeRow,
    SegmentRow,
    SignalRow,
)
from tests.app.review_calls import frightened_call, kind_call, store_call
from tests.app.service_helpers import service, tok
from tests.app.store_backends import database_url

OLD = datetime.now(UTC) - timedelta(days=40)
TABLES = (CallRow, SegmentRow, SignalRow, NudgeRow, FeedbackRow, EscalationRow, EventRow,
          CoachingNoteRow)


def _rows_of(store: Store, call_id: str) -> dict[str, int]:
    with Session(store.engine) as s:
        return {
            t.__tablename__: int(s.scalar(select(func.count()).where(t.call_id == call_id)) or 0)
            for t in TABLES
        }


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sweep_deletes_old_text_and_keeps_deidentified_scores(backend: str,
                                                              tmp_path: Path) -> None:
    with database_url(backend, tmp_path) as url:
        store = Store(url)
        try:
            store.migrate()
            store_call(store.repo, frightened_call("RET-old", "A1", started_at=OLD))
            store_call(store.repo, kind_call("RET-new", "A1"))
            store.repo.add_note("RET-old", 12.0, "she said she was terrified; good pause", "T1",
                                "supervisor")
            before = _rows_of(store, "RET-old")
            assert before["transcript_segments"] and before["events"] and before["feedback"]
            assert before["coaching_notes"] == 1

            purged = Reviewer(store.repo).sweep_retention(30)

            assert purged == 1
            assert store.repo.get_call("RET-old") is None
            assert set(_rows_of(store, "RET-old").values()) == {0}
            assert store.repo.get_call("RET-new") is not None  # a recent call is untouched
            rows = store.repo.score_rows(agent_id="A1")
            old = next(r for r in rows if r["call_date"] == OLD.date())
            assert old["call_id"] is None and old["purged"] is True
            assert old["parts"]["interruptions"]["score"] == 75.0
            assert old["distress_start"] == 0.82
            # nothing in the kept row is text from the call
            with Session(store.engine) as s:
                kept = s.execute(text("SELECT * FROM call_scores")).mappings().all()
            blob = repr([dict(r) for r in kept])
            for words in ("terrified", "frightening", "date of birth", "RET-old"):
                assert words not in blob
            # a second sweep has nothing left to do
            assert Reviewer(store.repo).sweep_retention(30) == 0
        finally:
            store.engine.dispose()


def test_service_sweeps_at_start_up_and_scorecards_still_count_the_call(tmp_path: Path) -> None:
    from tests.app.service_helpers import make_settings

    store = Store(make_settings(tmp_path).resolved_database_url())
    store.migrate()
    store_call(store.repo, frightened_call("RET-svc", "A9", started_at=OLD))
    store.engine.dispose()
    with service(tmp_path, retention_days=30) as c:
        sup = {"Authorization": f"Bearer {tok('supervisor')}"}
        import time

        deadline = time.monotonic() + 30
        while c.get("/v1/calls/RET-svc", headers=sup).status_code != 404:
            assert time.monotonic() < deadline, "the start-up sweep did not run"
            time.sleep(0.1)
        card = c.get("/v1/agents/A9/scorecard?weeks=12", headers=sup).json()
        assert [x["call_id"] for x in card["calls"]] == [None]
        assert card["totals"]["calls"] == 1
        assert card["totals"]["parts"]["interruptions"] == 75.0
