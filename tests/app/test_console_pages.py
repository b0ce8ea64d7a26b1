"""The pages a newcomer opens first, in headless Chromium, against a server with scripted fake
models (``tests/app/fakes.py``): the landing page, the agent console's rough edges and the
wallboard after a reload. The real-model browser test is ``test_browser.py``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.service_helpers import live, recv_json, tok, twilio_media, twilio_start, twilio_stop

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
CONNECTED = re.compile(r"^(live|idle)$")  # the socket is open (idle: no call in progress)
WAIT = 20_000  # ms Playwright waits for a page to catch up; a limit, not a measurement


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with live(tmp_path_factory.mktemp("pages")) as s:
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


def _shot(page: Any, name: str) -> None:
    shots = os.environ.get("CARECUE_SCREENSHOT_DIR")
    if shots:
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=False)


def _errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def test_landing_page_links_the_pages_and_opens_a_pasted_token(server: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    errors = _errors(page)
    icons: list[int] = []
    page.on("response", lambda r: icons.append(r.status) if "favicon" in r.url else None)
    page.goto(f"{server.http}/")
    expect(page).to_have_title("CareCue")
    for name, href in (("Agent console", "/agent"), ("Supervisor wallboard", "/supervisor"),
                       ("API reference", "/docs")):
        expect(page.get_by_role("link", name=name)).to_have_attribute("href", href)
    expect(page.locator("pre")).to_contain_text("carecue token create --role agent")
    _shot(page, "home")
    page.wait_for_load_state("networkidle")
    assert icons and all(code == 200 for code in icons), icons

    page.get_by_label("Or paste a token").fill(tok("agent", "A-home"))
    page.get_by_role("button", name="Open console").click()
    expect(page).to_have_url(re.compile(r"/agent$"))
    expect(page.locator("#agent-id")).to_have_text("A-home")
    expect(page.locator("#status")).to_have_text(re.compile("waiting for a call"), timeout=WAIT)
    assert errors == []


def _open_console(server: Any, browser: Any, agent_id: str) -> tuple[Any, list[str]]:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors = _errors(page)
    page.goto(f"{server.http}/agent?token={tok('agent', agent_id)}")
    expect(page.locator("#status")).to_have_attribute("data-state", CONNECTED, timeout=WAIT)
    return page, errors


def test_distress_box_says_no_reading_before_the_first_score(server: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    agent_id, call_id = "A-dash", "CA-pages-dash"
    page, errors = _open_console(server, browser, agent_id)
    value = page.locator("#distress-value")
    expect(value).to_have_text("No reading yet")
    with server.ws("/v1/ingest/twilio", tok("ingest")) as tw:
        tw.send(twilio_start(call_id, agent_id))
        expect(page.locator("#call-id")).to_have_text(call_id, timeout=WAIT)
        expect(value).to_have_text("No reading yet")  # a call, but nothing scored yet
        tw.send(twilio_media(b"I'm terrified about my results", "inbound"))
        expect(value).to_have_text("90%", timeout=WAIT)
        tw.send(twilio_stop(call_id))
    assert errors == []


def test_accept_keeps_the_suggested_words_visible(server: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    agent_id, call_id = "A-accept", "CA-pages-accept"
    page, errors = _open_console(server, browser, agent_id)
    with server.ws("/v1/ingest/twilio", tok("ingest")) as tw:
        tw.send(twilio_start(call_id, agent_id))
        tw.send(twilio_media(b"I'm terrified about my results", "inbound"))
        card = page.locator('.card[data-rule-id="acknowledge-concern"]')
        expect(card).to_be_visible(timeout=WAIT)
        _shot(page, "agent_before_accept")
        card.get_by_role("button", name="Accept").click()
        expect(card).to_have_class(re.compile(r"\bresolved\b"), timeout=WAIT)
        expect(card.locator(".card-state")).to_have_text("Accepted ✓")
        expect(card.get_by_role("button", name="Accept")).to_be_hidden()
        # The words the agent is about to say stay in full view.
        expect(card.locator(".suggestion")).to_be_visible()
        expect(card.locator(".suggestion")).to_contain_text("That sounds frightening")
        expect(card.locator(".reason")).to_be_visible()
        expect(card).to_have_css("opacity", "1")
        _shot(page, "agent_after_accept")
        tw.send(twilio_stop(call_id))
    assert errors == []


def test_live_pill_goes_off_when_the_call_ends(server: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    agent_id, call_id = "A-pill", "CA-pages-pill"
    page, errors = _open_console(server, browser, agent_id)
    status = page.locator("#status")
    with server.ws("/v1/ingest/twilio", tok("ingest")) as tw:
        tw.send(twilio_start(call_id, agent_id))
        expect(page.locator("#call-id")).to_have_text(call_id, timeout=WAIT)
        expect(status).to_have_attribute("data-state", "live")
        expect(status).to_have_text("Live")
        tw.send(twilio_media(b"hello there", "inbound"))
        tw.send(twilio_stop(call_id))
    expect(page.locator("body")).to_have_class(re.compile(r"\bcall-ended\b"), timeout=WAIT)
    expect(status).to_have_attribute("data-state", "idle")
    expect(status).not_to_have_text("Live")
    expect(status).to_contain_text("Call ended")
    expect(page.locator("#call-time")).to_have_text(re.compile(r"^\d+:\d\d \(ended\)$"))
    _shot(page, "agent_after_call")
    assert errors == []


def test_long_transcript_keeps_its_heading_and_first_bubble(server: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    agent_id, call_id = "A-long", "CA-pages-long"
    page = browser.new_page(viewport={"width": 1280, "height": 700})
    page.goto(f"{server.http}/agent?token={tok('agent', agent_id)}")
    expect(page.locator("#status")).to_have_attribute("data-state", CONNECTED, timeout=WAIT)
    with server.ws("/v1/ingest/twilio", tok("ingest")) as tw:
        tw.send(twilio_start(call_id, agent_id))
        for i in range(40):
            track = "inbound" if i % 2 == 0 else "outbound"
            tw.send(twilio_media(f"line number {i} of a long call".encode(), track))
        expect(page.locator(".line:not(.partial)")).to_have_count(40, timeout=WAIT)
        tw.send(twilio_stop(call_id))

    heading = page.locator("#transcript-h")
    expect(heading).to_be_in_viewport()
    expect(page.locator(".line", has_text="line number 39")).to_be_in_viewport()
    geometry = page.evaluate("""() => {
        const panel = document.querySelector('.transcript-panel').getBoundingClientRect();
        const head = document.getElementById('transcript-h').getBoundingClientRect();
        const list = document.getElementById('transcript');
        list.scrollTop = 0;
        const box = list.getBoundingClientRect();
        const first = list.querySelector('.line').getBoundingClientRect();
        return {panelTop: panel.top, headTop: head.top, headBottom: head.bottom,
                listTop: box.top, firstTop: first.top,
                scrolls: list.scrollHeight > list.clientHeight};
    }""")
    _shot(page, "agent_long_transcript")
    assert geometry["scrolls"], geometry  # the list, not the page or the panel, scrolls
    assert geometry["headTop"] >= geometry["panelTop"], geometry
    assert geometry["firstTop"] >= geometry["listTop"] >= geometry["headBottom"], geometry


def test_wallboard_shows_todays_calls_after_a_reload(server: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    with server.ws("/v1/ingest/twilio", tok("ingest")) as tw:
        tw.send(twilio_start("CA-wall-ended", "A-w1", stream_sid="MZw1"))
        tw.send(twilio_media(b"I'm terrified", "inbound", stream_sid="MZw1"))
        tw.send(twilio_stop("CA-wall-ended", stream_sid="MZw1"))
    # a trainee's practice call today, with a scripted crisis: not a call on the floor
    practice = {"type": "start", "call_id": "practice-wall", "agent_id": "A-w3",
                "encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1,
                "tracks": ["caller"], "custom": {"practice": "caller_at_risk"}}
    with server.ws("/v1/ingest/stream", tok("ingest")) as mic:
        mic.send(json.dumps(practice))
        assert recv_json(mic)["type"] == "started"
        mic.send(b"I want to kill myself")
    with server.ws("/v1/ingest/twilio", tok("ingest")) as open_call:
        open_call.send(twilio_start("CA-wall-live", "A-w2", stream_sid="MZw2"))
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors = _errors(page)
        page.goto(f"{server.http}/supervisor?token={tok('supervisor')}")
        for _ in range(2):  # as first opened, then after a reload (the token is in the session)
            ended = page.locator('tr[data-call-id="CA-wall-ended"]')
            live_row = page.locator('tr[data-call-id="CA-wall-live"]')
            expect(ended).to_be_visible(timeout=WAIT)
            expect(live_row).to_be_visible(timeout=WAIT)
            expect(ended.locator(".state")).to_have_text("Ended")
            expect(live_row.locator(".state")).to_have_text("Live")
            expect(ended.locator(".agent")).to_have_text("A-w1")
            expect(ended.locator(".pct")).to_have_text("90%")
            expect(ended.locator(".dur")).to_have_text(re.compile(r"^\d+:\d\d$"))
            expect(page.locator('tr[data-call-id^="practice-"]')).to_have_count(0)
            link = ended.get_by_role("link", name="CA-wall-ended")
            assert link.get_attribute("href") == "/calls/CA-wall-ended"  # no token in URLs
            _shot(page, "wallboard")
            page.reload()
        assert errors == []
        # the row's link opens the call's review page in this tab, which holds the token
        page.get_by_role("link", name="CA-wall-ended").click()
        expect(page.locator(".line.caller", has_text="terrified")).to_be_visible(timeout=WAIT)
        expect(page.locator(".part")).to_have_count(6)
        assert "token" not in page.url


class _Records(logging.Handler):
    """Every log line the in-process server writes, as ``carecue serve`` formats it (JSON)."""

    def __init__(self) -> None:
        from app.logging_setup import JsonFormatter

        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture()
def server_logs() -> Iterator[_Records]:
    root = logging.getLogger()
    handler, level = _Records(), root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)  # the default level; uvicorn's request lines are INFO
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_the_console_keeps_its_token_out_of_urls_and_logs(
    server: Any, browser: Any, server_logs: _Records
) -> None:
    """The link's token goes to sessionStorage and leaves the address bar; the socket sends it
    in its first message, REST calls in a header; nudges still arrive; no log line holds it."""
    from playwright.sync_api import expect

    agent_id, call_id = "A-url", "CA-pages-url"
    token = tok("agent", agent_id)
    secret_part = token.split(".")[2]
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors = _errors(page)
    sockets: list[str] = []
    requests: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{server.http}/agent?agent_id={agent_id}&token={token}")
    expect(page.locator("#status")).to_have_attribute("data-state", CONNECTED, timeout=WAIT)
    assert "token" not in page.url and page.url.endswith(f"/agent?agent_id={agent_id}")
    assert page.evaluate("sessionStorage.getItem('carecue.agent.token')") == token
    with server.ws("/v1/ingest/twilio", tok("ingest")) as tw:
        tw.send(twilio_start(call_id, agent_id))
        tw.send(twilio_media(b"I'm terrified about my results", "inbound"))
        card = page.locator('.card[data-rule-id="acknowledge-concern"]')
        expect(card).to_be_visible(timeout=WAIT)
        card.get_by_role("button", name="Accept").click()
        expect(card).to_have_class(re.compile(r"\bresolved\b"), timeout=WAIT)
        # A reload keeps working from the tab's session, still without a token in the URL.
        page.reload()
        expect(page.locator("#call-id")).to_have_text(call_id, timeout=WAIT)
        tw.send(twilio_stop(call_id))
    expect(page.locator("body")).to_have_class(re.compile(r"\bcall-ended\b"), timeout=WAIT)
    assert "token" not in page.url

    board = browser.new_page()
    board.on("websocket", lambda ws: sockets.append(ws.url))
    board.on("request", lambda r: requests.append(r.url))
    supervisor = tok("supervisor")
    board.goto(f"{server.http}/supervisor?token={supervisor}")
    expect(board.locator(f'tr[data-call-id="{call_id}"]')).to_be_visible(timeout=WAIT)
    expect(board.locator("#status")).to_have_attribute("data-state", "live", timeout=WAIT)
    assert "token" not in board.url

    assert len(sockets) >= 3 and all("token" not in url for url in sockets), sockets
    made = [u for u in requests if "token=" not in u or not u.split("?")[0].endswith(
        ("/agent", "/supervisor"))]
    assert all("token" not in u for u in made), made  # only the links we opened held one
    assert any("/v1/calls" in u for u in made)  # the wallboard's REST call, with a header
    assert server_logs.lines, "the server logged nothing: the capture is broken"
    for secret in (token, secret_part, supervisor, supervisor.split(".")[2]):
        assert not [line for line in server_logs.lines if secret in line]
    assert errors == []
