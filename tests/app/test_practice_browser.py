"""Practice mode and coaching replay in a real browser: headless Debian Chromium and Playwright
against a real CareCue (real classifier, nudge engine and phrase matcher).

The trainee types replies: a transactional answer passes over the patient's fear, so the
patient repeats the worry and the live "Acknowledge their concern" nudge comes up; an
acknowledgement then calms her. The replay page then steps through that stored call, and a
trainer's note is stored with it.
"""

from __future__ import annotations

import os
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
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from carecue_live import live_server

    with live_server(tmp_path_factory.mktemp("carecue-practice")) as live:
        yield live


@pytest.fixture(scope="module")
def practised(server: Any) -> dict[str, Any]:
    """Filled in by the practice test, read by the replay test."""
    return {}


def _shot(page: Any, name: str) -> Any:
    shots = os.environ.get("CARECUE_SCREENSHOT_DIR")
    if shots:
        return page.screenshot(path=str(Path(shots) / name), full_page=True)
    return page.evaluate("0")


async def test_practice_branch_follows_the_trainees_typed_answers(
    server: Any, practised: dict[str, Any]
) -> None:
    from playwright.async_api import async_playwright, expect

    token = server.token("agent", "T-practice")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=os.environ["CARECUE_TEST_CHROMIUM"], args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(f"{server.base}/practice?token={token}")
            card = page.locator('.scenario[data-scenario="biopsy_wait"]')
            await expect(card).to_be_visible(timeout=30_000)
            await expect(page.locator(".scenario")).to_have_count(8)
            await _shot(page, "practice_picker.png")
            await card.get_by_role("button", name="Type replies").click()

            opening = page.locator(".line.caller", has_text="I had a biopsy eleven days ago")
            await expect(opening).to_have_count(1, timeout=60_000)
            reply = page.locator("#reply")
            await expect(reply).to_be_enabled(timeout=30_000)

            # 1. transactional: the worry is passed over
            await reply.fill("Can I have your date of birth and hospital number, please?")
            await reply.press("Enter")
            await expect(page.locator(".judged").first).to_have_attribute(
                "data-when", "none", timeout=60_000)
            await expect(page.locator(".line.caller", has_text="I'm really frightened")
                         ).to_have_count(1, timeout=60_000)
            # the live pipeline nudges the trainee, as it would an agent on a real call
            nudge = page.locator('.card[data-rule-id="acknowledge_concern"]')
            await expect(nudge).to_be_visible(timeout=60_000)
            await expect(nudge.locator("h3")).to_have_text("Acknowledge their concern")
            await _shot(page, "practice_call.png")

            # 2. a real acknowledgement: she calms and opens up
            await expect(reply).to_be_enabled(timeout=30_000)
            await reply.fill("That sounds really frightening, eleven days with no news. "
                             "I'm going to chase the lab for you right now.")
            await reply.press("Enter")
            await expect(page.locator('.judged[data-when="acknowledgement"]')).to_have_count(
                1, timeout=60_000)
            await expect(page.locator(".line.caller", has_text="It's just the waiting")
                         ).to_have_count(1, timeout=60_000)
            # the engine saw it said: the open nudge is resolved
            await expect(nudge).to_have_class(
                __import__("re").compile(r"\bresolved\b"), timeout=60_000)

            for text in ("You must be so worried, with your mum's history. I'll ring the lab "
                         "now and call you back by Thursday.",
                         "Yes, ask for me by name and I will pick it up."):
                await expect(reply).to_be_enabled(timeout=60_000)
                await reply.fill(text)
                await reply.press("Enter")

            await expect(page.locator("#debrief")).to_be_visible(timeout=60_000)
            await expect(page.locator("body")).to_have_attribute(
                "data-path", "opening worry_again opens_up calmer good_end")
            call_id = await page.locator("body").get_attribute("data-call-id")
            assert call_id
            href = await page.locator("#review-link").get_attribute("href")
            assert href and href.startswith(f"/calls/{call_id}?token=")
            await expect(page.locator("#score")).not_to_have_text("Score: loading…",
                                                                  timeout=30_000)
            await _shot(page, "practice_end.png")
            practised["call_id"] = call_id
        finally:
            await browser.close()

    from app.practice.voice import speaking_time

    detail = server.get(f"/v1/calls/{practised['call_id']}").json()
    assert detail["source"] == "practice" and detail["agent_id"] == "T-practice"
    # the patient took as long to speak as a person would, however fast the test typed
    first = detail["transcript"][0]
    assert first["speaker"] == "caller"
    assert first["end_s"] - first["start_s"] == pytest.approx(
        speaking_time(first["text"]), abs=0.05)
    assert any(n["rule_id"] == "acknowledge_concern" for n in detail["nudges"])


async def test_replay_shows_lines_appearing_and_keeps_a_trainers_note(
    server: Any, practised: dict[str, Any]
) -> None:
    from playwright.async_api import async_playwright, expect

    call_id = practised.get("call_id")
    if not call_id:
        pytest.skip("the practice test did not leave a call")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=os.environ["CARECUE_TEST_CHROMIUM"], args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(f"{server.base}/calls/{call_id}/replay?token="
                            f"{server.token('supervisor')}")
            await expect(page.locator("body")).to_have_attribute("data-loaded", "true",
                                                                 timeout=30_000)
            lines = page.locator("#transcript .line")
            await expect(lines).to_have_count(0)  # nothing said yet at 0:00
            await page.select_option("#speed", "2")
            await page.get_by_role("button", name="▶ Play").click()
            await expect(lines.first).to_be_visible(timeout=30_000)
            await expect(page.locator('#nudges .card[data-rule-id="acknowledge_concern"]')
                         ).to_be_visible(timeout=60_000)
            # pause here (a scripted practice call is short: playback may have reached the end)
            if await page.locator("#play").get_attribute("aria-pressed") == "true":
                await page.locator("#play").click()
            await expect(page.locator("#play")).to_have_attribute("aria-pressed", "false")
            shown = await lines.count()
            assert shown >= 2
            await page.locator("#note-text").fill("Here: name the fear before the questions.")
            await page.get_by_role("button", name="Add note").click()
            await expect(page.locator("#notes .note")).to_have_count(1)
            # jump back to the start: lines disappear; to the end: every line is there
            await page.locator("#timeline").fill("0")
            await expect(lines).to_have_count(0)
            end = await page.locator("#timeline").get_attribute("max")
            await page.locator("#timeline").fill(str(end))
            total = len(server.get(f"/v1/calls/{call_id}").json()["transcript"])
            await expect(lines).to_have_count(total)
            await _shot(page, "replay.png")

            # the note is stored with the call: a fresh page shows it
            await page.reload()
            await expect(page.locator("#notes .note-text")).to_have_text(
                ["Here: name the fear before the questions."], timeout=30_000)

            # another agent may not replay this call
            other = await browser.new_page()
            await other.goto(f"{server.base}/calls/{call_id}/replay?token="
                             f"{server.token('agent', 'T-other')}")
            await expect(other.locator("#status")).to_have_text(
                "This call belongs to another agent.", timeout=30_000)
        finally:
            await browser.close()
    notes = server.get(f"/v1/calls/{call_id}/notes").json()["notes"]
    assert [n["text"] for n in notes] == ["Here: name the fear before the questions."]


# The page's own microphone code runs unchanged; only the device is replaced, by a WebAudio
# stream the test can speak into (headless Chromium has no microphone).
FAKE_MIC = """
(() => {
  let ctx = null, dest = null;
  navigator.mediaDevices.getUserMedia = async () => {
    ctx = new AudioContext();
    dest = ctx.createMediaStreamDestination();
    return dest.stream;
  };
  window.__speak = async (url) => {
    const data = await (await fetch(url)).arrayBuffer();
    const buffer = await ctx.decodeAudioData(data);
    const src = ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(dest);
    src.start();
    return buffer.duration;
  };
})();
"""


async def test_practice_by_microphone_runs_real_asr_and_follows_the_spoken_answer(
    server: Any, tmp_path: Path
) -> None:
    """Spoken (Kokoro) words go through the page's microphone code, the native ingest with
    the call-scoped token and real Whisper; the patient answers the acknowledgement."""
    import io
    import wave

    from playwright.async_api import async_playwright, expect

    from carecue_sim.speech_synth import synthesize

    pcm, rate = synthesize("I'm so sorry you're going through this. That sounds really "
                           "frightening, waiting all this time.", "bm_george")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    reply_wav = buf.getvalue()

    token = server.token("agent", "T-voice")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=os.environ["CARECUE_TEST_CHROMIUM"], args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.add_init_script(FAKE_MIC)

            async def serve_reply(route: Any) -> None:
                await route.fulfill(status=200, content_type="audio/wav", body=reply_wav)

            await page.route("**/test-mic/reply.wav", serve_reply)
            await page.goto(f"{server.base}/practice?token={token}")
            card = page.locator('.scenario[data-scenario="biopsy_wait"]')
            await expect(card).to_be_visible(timeout=30_000)
            await card.get_by_role("button", name="Use microphone").click()
            # the line counts as said once its audio has played
            await expect(page.locator(".line.caller", has_text="biopsy eleven days ago")
                         ).to_have_count(1, timeout=180_000)
            await expect(page.locator("#done-speaking")).to_be_enabled(timeout=30_000)
            await page.evaluate("window.__speak('/test-mic/reply.wav')")
            heard = page.locator(".line.agent:not(.partial)", has_text="sorry")
            await expect(heard.first).to_be_visible(timeout=90_000)
            await expect(page.locator('.judged[data-when="acknowledgement"]')).to_have_count(
                1, timeout=90_000)
            await expect(page.locator(".line.caller", has_text="It's just the waiting")
                         ).to_have_count(1, timeout=180_000)
            await _shot(page, "practice_voice.png")
            await page.get_by_role("button", name="End the call").click()
            await expect(page.locator("#debrief")).to_be_visible(timeout=60_000)
            call_id = await page.locator("body").get_attribute("data-call-id")
        finally:
            await browser.close()
    detail = server.get(f"/v1/calls/{call_id}").json()
    assert detail["source"] == "native" and detail["agent_id"] == "T-voice"
    assert any(s["speaker"] == "agent" and "sorry" in s["text"].lower()
               for s in detail["transcript"])
