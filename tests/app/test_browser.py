"""The agent console in a real browser: headless Debian Chromium driven by Playwright.

A call is streamed over Twilio Media Streams into a real CareCue; the page must show the
transcript and a nudge card, and the agent's click on Accept must reach the store.
"""

from __future__ import annotations

import asyncio
import os
import re
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("CARECUE_TEST_CHROMIUM"),
        reason="CARECUE_TEST_CHROMIUM (path to a chromium binary) is not set",
    ),
]

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# The agent never acknowledges the fear, so "Acknowledge their concern" must come up while
# the line is still open (long trailing silence), in time for the agent to accept it.
SCRIPT = textwrap.dedent(
    """\
    voices: {caller: af_heart, agent: bm_george}
    turns:
      - {speaker: agent, text: "Patient support, this is Sam. How can I help?", pause_s: 0.4}
      - {speaker: caller, text: "I'm terrified. My scan results came back and I'm so scared.",
         pause_s: 0.6}
      - {speaker: agent, text: "Can I have your date of birth, please?", pause_s: 0.6}
    trailing_silence_s: 30.0
    """
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from carecue_live import live_server

    with live_server(tmp_path_factory.mktemp("carecue-browser")) as live:
        yield live


@pytest.fixture(scope="module")
def call_audio(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from carecue_sim.script import render_script_file

    path = tmp_path_factory.mktemp("script") / "call.yaml"
    path.write_text(SCRIPT)
    return render_script_file(path)


async def _feedback_stored(server: Any, call_id: str, nudge_id: str, action: str) -> bool:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        resp = await asyncio.to_thread(server.get, f"/v1/calls/{call_id}")
        if resp.status_code == 200 and any(
            f["nudge_id"] == nudge_id and f["action"] == action for f in resp.json()["feedback"]
        ):
            return True
        await asyncio.sleep(0.3)
    return False


async def test_agent_sees_a_nudge_card_and_accepting_it_is_stored(
    server: Any, call_audio: Any, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    from carecue_sim import StreamOptions, stream_call

    agent_id, call_id = "A-web", "CA-browser-1"
    token = server.token("agent", agent_id)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=os.environ["CARECUE_TEST_CHROMIUM"], args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            sockets: list[str] = []
            page.on("websocket", lambda ws: sockets.append(ws.url))
            await page.goto(f"{server.base}/agent?token={token}")
            status = page.locator("#status")
            await expect(status).to_have_attribute("data-state", "idle", timeout=15_000)
            # The token leaves the address bar once the page has it, and the socket carries
            # it in its first message, not in its URL.
            assert "token=" not in page.url
            assert sockets and all("token" not in url for url in sockets), sockets

            streaming = asyncio.create_task(stream_call(
                call_audio,
                StreamOptions(url=server.base, token=server.token("ingest"),
                              agent_id=agent_id, call_id=call_id),
            ))
            await expect(page.locator("#call-id")).to_have_text(call_id, timeout=30_000)
            caller_line = page.locator(".line.caller:not(.partial)", has_text="terrified")
            await expect(caller_line).to_have_count(1, timeout=60_000)

            card = page.locator('.card[data-rule-id="acknowledge_concern"]')
            await expect(card).to_be_visible(timeout=60_000)
            await expect(card.locator("h3")).to_have_text("Acknowledge their concern")
            await expect(card.locator(".reason")).not_to_be_empty()
            await expect(page.locator("#meter")).not_to_have_attribute("aria-valuenow", "0")
            shots = os.environ.get("CARECUE_SCREENSHOT_DIR")
            if shots:
                await page.screenshot(path=str(Path(shots) / "agent_console.png"), full_page=True)

            nudge_id = await card.get_attribute("data-nudge-id")
            assert nudge_id
            await card.get_by_role("button", name="Accept").click()
            await expect(card).to_have_class(re.compile(r"\bresolved\b"))
            await expect(card.locator(".card-state")).to_have_text("Accepted ✓")
            await expect(card.get_by_role("button", name="Accept")).to_be_hidden()
            assert await _feedback_stored(server, call_id, nudge_id, "accepted")

            # Rating stays possible on a resolved card and is stored too.
            helpful = card.get_by_role("button", name="Helpful", exact=True)
            await helpful.click()
            await expect(helpful).to_have_attribute("aria-pressed", "true")
            assert await _feedback_stored(server, call_id, nudge_id, "helpful")

            await streaming
            await expect(page.locator("body")).to_have_class("agent call-ended", timeout=60_000)
            if shots:
                await page.screenshot(path=str(Path(shots) / "agent_console_end.png"),
                                      full_page=True)
        finally:
            await browser.close()


async def test_console_reconnects_and_resumes_without_duplicates(
    server: Any, call_audio: Any
) -> None:
    from playwright.async_api import async_playwright, expect

    from carecue_sim import StreamOptions, stream_call

    agent_id, call_id = "A-web2", "CA-browser-2"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=os.environ["CARECUE_TEST_CHROMIUM"], args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{server.base}/agent?token={server.token('agent', agent_id)}")
            await expect(page.locator("#status")).to_have_attribute("data-state", "idle",
                                                                    timeout=15_000)
            streaming = asyncio.create_task(stream_call(
                call_audio,
                StreamOptions(url=server.base, token=server.token("ingest"),
                              agent_id=agent_id, call_id=call_id),
            ))
            await expect(page.locator(".line.agent:not(.partial)")).to_have_count(1,
                                                                                 timeout=60_000)
            # Drop the socket as a flaky network would; the page must come back by itself.
            await page.evaluate("window.carecueAgent.stream.ws.close()")
            await expect(page.locator("#status")).not_to_have_attribute("data-state", "live",
                                                                        timeout=5_000)
            await expect(page.locator("#status")).to_have_attribute("data-state", "live",
                                                                    timeout=20_000)
            await streaming
            await expect(page.locator("body")).to_have_class("agent call-ended", timeout=60_000)
            finals = await page.locator(".line:not(.partial) .said").all_inner_texts()
        finally:
            await browser.close()

    detail = server.get(f"/v1/calls/{call_id}").json()
    stored = [seg["text"] for seg in detail["transcript"]]
    assert finals == stored  # every final once, in order, none lost across the reconnect
