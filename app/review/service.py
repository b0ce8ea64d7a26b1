"""Reviews and scores against the store: blocking (SQLAlchemy), run from worker threads.

``Reviewer`` reviews a stored call, scores the finished calls that have no current score
(``call_scores``), collects "moments worth recognising" and runs the retention sweep.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from app.review.schema import CallReview, Recognition
from app.review.scoring import EXCERPT_CHARS, SCORE_VERSION, Phrases, review_call, score_row
from app.store.repository import Repository, parse_iso

log = logging.getLogger("carecue.review")

# The team view re-reads at most this many recent calls (with a good moment) for moments
# worth recognising; their excerpts are never stored, so they go with the transcript.
RECOGNITION_CALLS = 60
RECOGNITIONS = 8
PER_AGENT = 2


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rstrip() + "…"


class Reviewer:
    """Reviews calls with one playbook's phrase sets."""

    def __init__(self, repo: Repository, playbook: Any | None = None) -> None:
        self.repo = repo
        self.phrases = Phrases(playbook)

    def review(self, call: dict[str, Any]) -> CallReview:
        events = [e.envelope() for e in self.repo.events_for_calls([call["call_id"]])]
        return review_call(call, events, self.phrases)

    def score_pending(self, now: datetime | None = None, limit: int = 500) -> int:
        """Score finished calls that have no score of this version or newer feedback."""
        now = now or datetime.now(UTC)
        done = 0
        for call_id in self.repo.calls_to_score(SCORE_VERSION, limit):
            if self.score_call(call_id, now):
                done += 1
        return done

    def score_call(self, call_id: str, now: datetime) -> bool:
        call = self.repo.get_call(call_id)
        if call is None:
            return False
        started = parse_iso(call["started_at"]) or now
        self.repo.save_score(score_row(self.review(call), started, now))
        return True

    def recognitions(self, scores: list[dict[str, Any]]) -> list[Recognition]:
        """The clearest good moments among scored calls (``Repository.score_rows``): the
        biggest fall in distress. Only calls whose score counted a good moment are re-read,
        newest first, at most ``RECOGNITION_CALLS``."""
        found: list[Recognition] = []
        candidates = [r for r in scores if r["good_moments"] and r["call_id"] is not None]
        candidates.sort(key=lambda r: r["call_date"], reverse=True)
        for row in candidates[:RECOGNITION_CALLS]:
            call = self.repo.get_call(row["call_id"])
            if call is None:
                continue
            review = self.review(call)
            for m in review.moments:
                if m.kind != "good" or len(m.lines) < 2:
                    continue
                lines = [review.transcript[i] for i in m.lines]
                agent = next((ln for ln in lines if ln.speaker == "agent"), None)
                callers = [ln for ln in lines if ln.speaker == "caller"]
                if agent is None or not callers:
                    continue
                after = [ln for ln in callers if ln.index > agent.index]
                found.append(Recognition(
                    call_id=review.call_id, agent_id=review.agent_id, at_s=m.at_s,
                    caller_before=_excerpt(callers[0].text), agent_said=_excerpt(agent.text),
                    caller_after=_excerpt(after[0].text) if after else None,
                    distress_before=m.distress_before or 0.0,
                    distress_after=m.distress_after or 0.0,
                ))
        found.sort(key=lambda r: r.distress_after - r.distress_before)
        # the clearest moments, at most PER_AGENT each, so that more of the team is recognised
        picked: list[Recognition] = []
        per_agent: dict[str, int] = {}
        for r in found:
            if per_agent.get(r.agent_id, 0) < PER_AGENT:
                per_agent[r.agent_id] = per_agent.get(r.agent_id, 0) + 1
                picked.append(r)
        return picked[:RECOGNITIONS]

    def sweep_retention(self, days: int, now: datetime | None = None) -> int:
        """Score, then delete, every call that ended more than ``days`` ago; returns how many.

        The transcript, signals, nudges (their reasons quote the caller), feedback,
        escalations, event log and the call row go; the score row stays without a call id.
        """
        now = now or datetime.now(UTC)
        cutoff = now - timedelta(days=days)
        purged = 0
        while True:
            ids = self.repo.calls_ended_before(cutoff)
            if not ids:
                break
            for call_id in ids:
                try:
                    self.score_call(call_id, now)
                except Exception:  # a call that cannot be scored is still deleted on time
                    log.exception("scoring before retention failed", extra={"call_id": call_id})
            purged += self.repo.purge_calls(ids, now)
        if purged:
            log.info("retention sweep", extra={"calls_purged": purged, "days": days})
        return purged


def reviewer_for(app_state: Any) -> Reviewer:
    """The app's reviewer for the current playbook (rebuilt when the playbook changes)."""
    pb_state = getattr(app_state.calls, "playbook", None)
    text = pb_state.text if pb_state is not None else ""
    key = hashlib.sha256(text.encode()).hexdigest()
    cached = getattr(app_state, "reviewer", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    reviewer = Reviewer(app_state.store.repo, pb_state.playbook if pb_state else None)
    app_state.reviewer = (key, reviewer)
    return reviewer
