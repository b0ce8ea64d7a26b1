"""The review API on scripted stored calls: what a call's review says, scorecards, the team
view, the CSV export, and who may read each (every endpoint with every role)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.app.review_calls import (
    crisis_call,
    frightened_call,
    kind_call,
    store_call,
)
from tests.app.service_helpers import service, tok

# exactly a week before the other calls (which start an hour ago), so always the ISO week before
WEEK_AGO = datetime.now(UTC) - timedelta(days=7, hours=1)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with service(tmp_path_factory.mktemp("review")) as c:
        repo = c.app.state.store.repo  # type: ignore[attr-defined]
        store_call(repo, frightened_call("R-fright", "A1"))
        store_call(repo, kind_call("R-kind", "A1"))
        store_call(repo, kind_call("R-kind-old", "A1", started_at=WEEK_AGO))
        store_call(repo, crisis_call("R-crisis", "A2", followed=False))
        store_call(repo, crisis_call("R-crisis-ok", "A2", followed=True))
        yield c


def _get(c: TestClient, path: str, token: str | None) -> Any:
    return c.get(path, headers={"Authorization": f"Bearer {token}"} if token else {})


def test_review_marks_missed_and_good_moments_and_shows_every_part(client: TestClient) -> None:
    r = _get(client, "/v1/calls/R-fright/review", tok("supervisor")).json()
    kinds = {(m["kind"], m["type"]) for m in r["moments"]}
    assert ("missed", "concern_unacknowledged") in kinds
    assert ("missed", "caller_cut_off") in kinds
    assert ("missed", "long_silence") in kinds
    assert ("good", "acknowledged_and_calmed") in kinds
    # the moments are marked on the transcript lines they are about
    unacked = next(m for m in r["moments"] if m["type"] == "concern_unacknowledged")
    first_concern = r["transcript"][unacked["lines"][0]]
    assert "terrified" in first_concern["text"]
    assert r["moments"].index(unacked) in first_concern["moments"]
    ack_line = next(ln for ln in r["transcript"] if ln["acknowledgement"])
    assert "sorry you're going through this" in ack_line["text"]

    parts = {p["key"]: p for p in r["score"]["parts"]}
    assert set(parts) == {"time_to_acknowledge", "concerns_acknowledged", "interruptions",
                          "talk_share", "distress_change", "crisis_handling"}
    assert parts["time_to_acknowledge"]["inputs"]["first_delay_s"] == 24.0
    assert parts["time_to_acknowledge"]["score"] == 24.0  # (30 - 24) / 25
    assert parts["interruptions"]["inputs"]["interruptions"] == 1
    assert parts["interruptions"]["score"] == 75.0
    assert parts["distress_change"]["inputs"]["start"] == 0.82
    assert parts["distress_change"]["inputs"]["end"] == 0.2
    assert parts["crisis_handling"]["applicable"] is False
    for p in parts.values():
        assert p["explanation"] and p["inputs"]
    assert 0 < r["score"]["overall"] < 100
    assert [d["distress"] for d in r["distress"]] == [0.82, 0.78, 0.41, 0.2]
    outcomes = {(n["rule_id"], n["outcome"], n["helpful"]) for n in r["nudges"]}
    assert ("acknowledge_concern", "expired", False) in outcomes
    assert ("acknowledge_concern", "agent_said", True) in outcomes
    assert ("let_them_finish", "dismissed", None) in outcomes
    assert "acknowledged 1 of 1 concern" in r["summary"]
    assert "interrupted the caller 1 time and" in r["summary"]


def test_crisis_handling_follows_the_protocol_or_is_a_missed_moment(client: TestClient) -> None:
    missed = _get(client, "/v1/calls/R-crisis/review", tok("supervisor")).json()
    ok = _get(client, "/v1/calls/R-crisis-ok/review", tok("supervisor")).json()
    crisis = {r["call_id"]: next(p for p in r["score"]["parts"] if p["key"] == "crisis_handling")
              for r in (missed, ok)}
    assert crisis["R-crisis"]["score"] == 0.0
    assert crisis["R-crisis-ok"]["score"] == 100.0
    assert crisis["R-crisis-ok"]["inputs"]["delay_s"] == 1.0
    assert any(m["type"] == "crisis_protocol_missed" for m in missed["moments"])
    assert not any(m["type"] == "crisis_protocol_missed" for m in ok["moments"])


def test_scorecard_trends_by_week(client: TestClient) -> None:
    card = _get(client, "/v1/agents/A1/scorecard", tok("agent", "A1")).json()
    assert [w["calls"] for w in card["weeks"]] == [1, 2]
    this_week = card["weeks"][-1]
    assert this_week["parts"]["interruptions"] == 87.5  # mean of 75 and 100
    assert this_week["nudges_shown"] == 4
    assert this_week["nudges_taken_up"] == 2
    assert this_week["nudges_rated_helpful"] == 2
    assert this_week["nudges_rated_not_helpful"] == 1
    assert this_week["calls_distress_reduced"] == 2
    assert {c["call_id"] for c in card["calls"]} == {"R-fright", "R-kind", "R-kind-old"}


def test_team_view_ranks_unhelpful_rules_and_recognises_calming_words(client: TestClient) -> None:
    team = _get(client, "/v1/team", tok("supervisor")).json()
    assert [a["agent_id"] for a in team["agents"]] == ["A1", "A2"]
    rules = {r["rule_id"]: r for r in team["unhelpful_rules"]}
    assert rules["acknowledge_concern"]["not_helpful"] == 1
    assert rules["let_them_finish"]["dismissed"] == 1
    said = [r["agent_said"] for r in team["recognitions"]]
    assert "I'm so sorry for your loss. Thank you for telling me." in said
    best = team["recognitions"][0]
    assert best["distress_after"] < best["distress_before"]
    assert sum(w["calls"] for w in team["weeks"]) == 5


def test_feedback_after_the_call_updates_the_stored_score(client: TestClient) -> None:
    from app.store import FeedbackOp

    repo = client.app.state.store.repo  # type: ignore[attr-defined]
    store_call(repo, kind_call("R-late", "A3"))
    before = _get(client, "/v1/agents/A3/scorecard", tok("supervisor")).json()
    assert before["weeks"][-1]["nudges_rated_not_helpful"] == 0
    repo.apply([FeedbackOp("R-late", "R-late:nacknowledge_concern4.5", "acknowledge_concern",
                           "A3", "not_helpful", datetime.now(UTC) + timedelta(seconds=5))])
    after = _get(client, "/v1/agents/A3/scorecard", tok("supervisor")).json()
    assert after["weeks"][-1]["nudges_rated_not_helpful"] == 1


def test_csv_export_has_a_line_per_scored_call(client: TestClient) -> None:
    resp = _get(client, "/v1/scorecards.csv", tok("supervisor"))
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    fright = next(r for r in rows if r["call_id"] == "R-fright")
    assert fright["agent_id"] == "A1" and fright["interruptions"] == "75.0"
    assert fright["time_to_acknowledge"] == "24.0"
    # an agent gets their own lines only, whatever they ask for
    own = _get(client, "/v1/scorecards.csv?agent_id=A2", tok("agent", "A1"))
    assert {r["agent_id"] for r in csv.DictReader(io.StringIO(own.text))} == {"A1"}


def test_practice_calls_get_a_review_but_stay_out_of_scorecards_and_the_team_view(
    client: TestClient,
) -> None:
    repo = client.app.state.store.repo  # type: ignore[attr-defined]
    store_call(repo, kind_call("R-practice", "A9", source="practice"))  # typed answers
    store_call(repo, kind_call("R-practice-mic", "A9", source="native",  # microphone
                               custom={"practice": "grief_widow"}))
    for call_id in ("R-practice", "R-practice-mic"):
        review = _get(client, f"/v1/calls/{call_id}/review", tok("agent", "A9"))
        assert review.status_code == 200 and review.json()["score"]["overall"] > 0
    card = _get(client, "/v1/agents/A9/scorecard", tok("agent", "A9")).json()
    assert card["calls"] == [] and card["weeks"] == []
    team = _get(client, "/v1/team", tok("supervisor")).json()
    assert "A9" not in [a["agent_id"] for a in team["agents"]]
    rows = csv.DictReader(io.StringIO(_get(client, "/v1/scorecards.csv", tok("supervisor")).text))
    assert not {"R-practice", "R-practice-mic"} & {r["call_id"] for r in rows}


ENDPOINTS = [
    "/v1/calls/R-fright/review",
    "/v1/agents/A1/scorecard",
    "/v1/team",
    "/v1/scorecards.csv?agent_id=A1",
]
# role -> expected status per endpoint above (the call and the scorecard are A1's)
ACCESS = {
    ("agent", "A1"): [200, 200, 403, 200],
    ("agent", "A2"): [403, 403, 403, 200],  # the CSV: A2's own lines only (checked below)
    ("supervisor", None): [200, 200, 200, 200],
    ("admin", None): [200, 200, 200, 200],
    ("ingest", None): [403, 403, 403, 403],
}


@pytest.mark.parametrize(("role", "agent_id"), list(ACCESS))
def test_who_may_read_each_endpoint(client: TestClient, role: str, agent_id: str | None) -> None:
    token = tok(role, agent_id)
    got = [_get(client, path, token).status_code for path in ENDPOINTS]
    assert got == ACCESS[(role, agent_id)]
    if (role, agent_id) == ("agent", "A2"):
        lines = _get(client, ENDPOINTS[3], token).text
        assert "R-fright" not in lines and "A1" not in lines


def test_every_endpoint_needs_a_token(client: TestClient) -> None:
    for path in ENDPOINTS:
        assert _get(client, path, None).status_code == 401


def test_unknown_call_is_404(client: TestClient) -> None:
    assert _get(client, "/v1/calls/nope/review", tok("supervisor")).status_code == 404


def test_retention_setting_reads_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    from app.settings import Settings

    monkeypatch.setenv("CARECUE_RETENTION_DAYS", "30")
    assert Settings(data_dir=tmp_path).retention_days == 30
    monkeypatch.setenv("CARECUE_RETENTION_DAYS", "")
    assert Settings(data_dir=tmp_path).retention_days is None
