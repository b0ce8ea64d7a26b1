"""The after-call pages in headless Chromium: the call review, the agent scorecard and the team
view, on calls scripted straight into the store (``review_calls.py``), and who may open them.

With ``CARECUE_SCREENSHOT_DIR`` set, each page is saved there (the README's screenshots come
from ``CARECUE_SCREENSHOT_DIR=docs/screenshots``).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.app.review_calls import crisis_call, frightened_call, kind_call, store_call
from tests.app.service_helpers import live, tok, twilio_media, twilio_start, twilio_stop

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.environ.get("CARECUE_TEST_CHROMIUM"),
        reason="CARECUE_TEST_CHROMIUM (path to a chromium binary) is not set",
    ),
]

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
WAIT = 20_000  # ms Playwright waits for a page to catch up; a limit, not a measurement
DENIED = re.compile(r"Access denied")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with live(tmp_path_factory.mktemp("review-pages")) as s:
        repo = s.app.state.store.repo
        # the calls below start an hour ago by default; earlier weeks are counted from there,
        # so each lands in its own ISO week even in the first hour of a Monday
        now = datetime.now(UTC) - timedelta(hours=1)
        store_call(repo, frightened_call("P-fright", "A1"))
        for weeks in (1, 2, 3):  # earlier weeks, so the trends have more than one point
            store_call(repo, frightened_call(f"P-fright-{weeks}", "A1",
                                             started_at=now - timedelta(weeks=weeks)))
            store_call(repo, kind_call(f"P-kind-{weeks}", "A2",
                                       started_at=now - timedelta(weeks=weeks)))
        store_call(repo, kind_call("P-kind", "A1"))
        store_call(repo, crisis_call("P-crisis", "A2", followed=False))
        yield s


@pytest.fixture()
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=os.environ["CARECUE_TEST_CHROMIUM"],
                               args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _page(browser: Any) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page, errors


def _shot(page: Any, name: str) -> None:
    shots = os.environ.get("CARECUE_SCREENSHOT_DIR")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def _points(page: Any, expr: str) -> list[int]:
    """Points Chart.js drew per dataset of the chart ``expr`` evaluates to."""
    return page.evaluate(
        f"() => {{ const c = {expr}; return c.data.datasets.map((_, i) => "
        "c.getDatasetMeta(i).data.filter((el) => !el.skip && Number.isFinite(el.y)).length); }"
    )


def test_call_review_shows_the_curve_nudges_moments_and_score_parts(
    server: Any, browser: Any
) -> None:
    from playwright.sync_api import expect

    page, errors = _page(browser)
    page.goto(f"{server.http}/calls/P-fright?token={tok('supervisor')}")
    expect(page.locator("#main")).to_be_visible(timeout=WAIT)
    assert "token=" not in page.url
    # the distress curve has its four readings, the nudges and moments sit on the same axis
    distress, nudges, good, missed = _points(page, "window.carecueReview.chart")
    assert (distress, nudges, good, missed) == (4, 3, 1, 3)
    # the missed moment is marked on the caller's line it is about
    line = page.locator(".line.caller", has_text="terrified")
    expect(line).to_have_class(re.compile(r"\bhas-missed\b"))
    expect(line.locator(".mark.missed")).to_contain_text("Concern unacknowledged")
    expect(page.locator(".line.agent.ack", has_text="sorry you're going through")).to_have_count(1)
    expect(page.locator(".moment.good")).to_contain_text("Acknowledged, and the caller calmed")
    # every score part, with its number, how it was computed and its inputs
    expect(page.locator(".part")).to_have_count(6)
    part = page.locator('.part[data-key="interruptions"]')
    expect(part.locator(".part-score")).to_have_text("75")
    expect(part.locator(".part-how")).to_contain_text("1 time;")
    expect(part.locator(".inputs")).to_contain_text("interruptions")
    expect(page.locator('.part[data-key="crisis_handling"] .part-score')).to_have_text("n/a")
    expect(page.locator("#summary")).to_contain_text("acknowledged 1 of 1 concern")
    # each nudge with its outcome and rating
    rows = page.locator(".nudge-row")
    expect(rows).to_have_count(3)
    expect(page.locator('.nudge-row[data-outcome="expired"]')).to_contain_text("Not helpful")
    expect(page.locator('.nudge-row[data-outcome="agent_said"]')).to_contain_text("Helpful")
    expect(page.locator('.nudge-row[data-outcome="dismissed"]')).to_contain_text("Dismissed")
    _shot(page, "call_review")
    assert errors == []


def test_crisis_not_followed_is_a_missed_moment_on_the_page(server: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    page, errors = _page(browser)
    page.goto(f"{server.http}/calls/P-crisis?token={tok('agent', 'A2')}")
    moment = page.locator('.moment.missed[data-type="crisis_protocol_missed"]')
    expect(moment).to_be_visible(timeout=WAIT)
    expect(page.locator('.part[data-key="crisis_handling"] .part-score')).to_have_text("0")
    assert errors == []


@pytest.mark.parametrize(
    ("role", "agent_id", "allowed"),
    [("agent", "A1", True), ("supervisor", None, True), ("admin", None, True),
     ("agent", "A2", False), ("ingest", None, False)],
)
def test_call_review_page_is_for_the_calls_agent_and_supervisors(
    server: Any, browser: Any, role: str, agent_id: str | None, allowed: bool
) -> None:
    from playwright.sync_api import expect

    page, _ = _page(browser)
    page.goto(f"{server.http}/calls/P-fright?token={tok(role, agent_id)}")
    if allowed:
        expect(page.locator(".line.caller", has_text="terrified")).to_be_visible(timeout=WAIT)
    else:
        expect(page.locator("#status")).to_have_text(DENIED, timeout=WAIT)
        expect(page.locator("#main")).to_be_hidden()
        assert "terrified" not in page.content()


def test_scorecard_charts_weekly_trends_for_the_agent(server: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    page, errors = _page(browser)
    page.goto(f"{server.http}/agents/A1?token={tok('agent', 'A1')}")
    expect(page.locator("#main")).to_be_visible(timeout=WAIT)
    weeks = page.evaluate("window.carecueScorecard.card.weeks.length")
    assert weeks == 4
    overall, *parts = _points(page, "window.carecueScorecard.charts.parts")
    assert overall == 4 and parts[2] == 4  # the overall score and interruptions, every week
    assert _points(page, "window.carecueScorecard.charts.nudges") == [4, 4]
    assert _points(page, "window.carecueScorecard.charts.reduced") == [4, 4]
    link = page.get_by_role("link", name="P-fright", exact=True)
    expect(link).to_have_attribute("href", "/calls/P-fright")
    expect(page.locator("#calls tr")).to_have_count(5)
    _shot(page, "agent_scorecard")
    # the CSV export holds the agent's own lines
    with page.expect_download() as dl:
        page.locator("#csv").click()
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    assert len(rows) == 5 and {r["agent_id"] for r in rows} == {"A1"}
    # the review opens from the scorecard in the same tab, with the same token
    link.click()
    expect(page.locator(".line.caller", has_text="terrified")).to_be_visible(timeout=WAIT)
    assert errors == []


@pytest.mark.parametrize(("role", "agent_id", "allowed"),
                         [("supervisor", None, True), ("agent", "A2", False)])
def test_scorecard_page_is_for_the_agent_and_supervisors(
    server: Any, browser: Any, role: str, agent_id: str | None, allowed: bool
) -> None:
    from playwright.sync_api import expect

    page, _ = _page(browser)
    page.goto(f"{server.http}/agents/A1?token={tok(role, agent_id)}")
    if allowed:
        expect(page.locator("#main")).to_be_visible(timeout=WAIT)
    else:
        expect(page.locator("#status")).to_have_text(DENIED, timeout=WAIT)
        expect(page.locator("#main")).to_be_hidden()


def test_team_view_compares_agents_and_recognises_calming_words(
    server: Any, browser: Any
) -> None:
    from playwright.sync_api import expect

    page, errors = _page(browser)
    page.goto(f"{server.http}/team?token={tok('supervisor')}")
    expect(page.locator("#main")).to_be_visible(timeout=WAIT)
    expect(page.locator("#agents tr")).to_have_count(2)
    expect(page.locator('#agents tr[data-agent-id="A1"] th')).to_have_text("A1")
    floor, *_ = _points(page, "window.carecueTeam.charts.floor")
    assert floor == 4
    assert _points(page, "window.carecueTeam.charts.agents") == [2]
    rule = page.locator('#rules tr[data-rule-id="acknowledge_concern"]')
    expect(rule).to_contain_text("of rated")
    recog = page.locator(".recognition", has_text="sorry for your loss")
    expect(recog.first).to_be_visible()
    expect(recog.first.locator(".drop")).to_have_text("distress 70% → 35%")
    _shot(page, "team")
    assert errors == []


@pytest.mark.parametrize(("role", "agent_id"), [("agent", "A1"), ("ingest", None)])
def test_team_view_is_for_supervisors_only(
    server: Any, browser: Any, role: str, agent_id: str | None
) -> None:
    from playwright.sync_api import expect

    page, _ = _page(browser)
    page.goto(f"{server.http}/team?token={tok(role, agent_id)}")
    expect(page.locator("#status")).to_have_text(DENIED, timeout=WAIT)
    expect(page.locator("#main")).to_be_hidden()
    assert "sorry for your loss" not in page.content()


def test_console_links_to_the_review_after_the_call(server: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    page, errors = _page(browser)
    page.goto(f"{server.http}/agent?token={tok('agent', 'A-rev')}")
    expect(page.locator("#status")).to_have_attribute("data-state", "idle", timeout=WAIT)
    expect(page.locator("#review-link")).to_be_hidden()
    with server.ws("/v1/ingest/twilio", tok("ingest")) as tw:
        tw.send(twilio_start("CA-rev-1", "A-rev", stream_sid="MZr1"))
        tw.send(twilio_media(b"I'm terrified", "inbound", stream_sid="MZr1"))
        expect(page.locator(".line.caller:not(.partial)")).to_have_count(1, timeout=WAIT)
        expect(page.locator("#review-link")).to_be_hidden()
        tw.send(twilio_stop("CA-rev-1", stream_sid="MZr1"))
    link = page.locator("#review-link")
    expect(link).to_be_visible(timeout=WAIT)
    href = link.get_attribute("href") or ""
    assert href.startswith("/calls/CA-rev-1?token=")
    review, _ = _page(browser)
    review.goto(f"{server.http}{href}")
    expect(review.locator(".line.caller", has_text="terrified")).to_be_visible(timeout=WAIT)
    _shot(page, "agent_console_after_call")
    assert errors == []
