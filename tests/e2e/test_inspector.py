"""Browser tests of issue 13's page side: the point inspector (click a point → its numbers in a card, the
same point ringed in both panels), the timeline (scrub to an earlier step → the panels show that step's
frame), links to a moment (`at=N` → step N, paused) and the shortcuts list.

The card's numbers are checked against the frames' own `inspect` headers as they arrived on the
WebSocket (decoded here as docs/protocol.md says), and the identity z_k = ½(‖w̃_k‖² + ‖x̃‖² − ‖x̃ − w̃_k‖²)
is checked on the numbers the card shows. No wall-clock asserts: waits poll for states.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Watched
from tests.e2e.pages import FrameLog, wait_drawn, wait_for

pytestmark = pytest.mark.e2e

RUNS = ("baseline", "smoothed")


def open_page(w: Watched, query: str) -> Any:
    page = w.page
    page.goto(f"{w.base}/{query}")
    wait_drawn(page, plotly=True)
    return page


def take_steps(page: Any, tens: int, step0: int = 0) -> int:
    """Click +10 `tens` times, each once the previous frame is drawn (so each step has its own frame)."""
    step = step0
    for _ in range(tens):
        page.get_by_test_id("step-ten").click()
        step += 10
        wait_drawn(page, step)
    return step


def snapshot(page: Any, run: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("async id => await document.getElementById(id).plane.snapshot()",
                                           f"panel-{run}")
    return result


LONELY_POINT = """async id => {
  // the drawn point farthest from every other (a click on it can only mean it), in page pixels
  const el = document.getElementById(id);
  const s = await el.plane.snapshot();
  const v = s.view;
  const box = el.getBoundingClientRect();
  const px = s.drawn.x.map((x) => box.left + v.l + (x - v.x0) * v.w / (v.x1 - v.x0));
  const py = s.drawn.y.map((y) => box.top + v.t + (v.y1 - y) * v.h / (v.y1 - v.y0));
  let best = -1, bestGap = -1;
  for (let i = 0; i < px.length; i++) {
    if (px[i] < box.left + v.l + 10 || px[i] > box.left + v.l + v.w - 10) continue;
    if (py[i] < box.top + v.t + 10 || py[i] > box.top + v.t + v.h - 10) continue;
    let gap = Infinity;
    for (let j = 0; j < px.length; j++) if (j !== i) gap = Math.min(gap, Math.hypot(px[i] - px[j], py[i] - py[j]));
    if (gap > bestGap) { bestGap = gap; best = i; }
  }
  return {index: best, x: px[best], y: py[best], gap: bestGap}; }"""


def card_numbers(page: Any, run: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        """run => {
          const num = (id) => Number(document.querySelector(`[data-testid="inspect-${run}-${id}"]`).textContent);
          const rows = [0, 1, 2].map((k) => ({z: num(`z-${k}`), p: num(`p-${k}`), q: num(`q-${k}`), d: num(`d-${k}`),
                                              wsq: num(`wsq-${k}`)}));
          const card = document.getElementById('inspector');
          return {rows, xsq: num('xsq'), loss: num('loss'), step: Number(card.dataset.step),
                  index: Number(card.dataset.index)}; }""",
        run,
    )
    return result


def test_click_a_point_shows_its_numbers_and_rings_it_in_both_panels(watched: Watched) -> None:
    """Clicking a point in the one-hot panel opens the card with that point's logits, probabilities, targets,
    distances and norms as the frame's inspect header has them; z_k = ½(‖w̃_k‖² + ‖x̃‖² − ‖x̃ − w̃_k‖²) holds in
    the numbers shown; the smoothed panel rings the same point; it follows the point as training goes on;
    Escape closes it."""
    frames = FrameLog(watched.page)
    page = open_page(watched, "?seed=3&play=0")
    take_steps(page, 3)
    target = page.evaluate(LONELY_POINT, "panel-baseline")
    assert target["index"] >= 0 and target["gap"] > 4, target
    page.mouse.move(target["x"], target["y"])
    tip = page.get_by_test_id("point-tip")
    tip.wait_for(state="visible")
    assert "predicted" in tip.text_content() and "confidence" in tip.text_content()
    page.mouse.click(target["x"], target["y"])
    card = page.get_by_test_id("inspector")
    card.wait_for(state="visible")
    wait_for(page, "() => document.querySelector('[data-testid=inspect-baseline-z-0]')")
    shown = card_numbers(page, "baseline")
    assert shown["index"] == target["index"]
    info = frames.at(shown["step"])["inspect"]
    assert info["index"] == target["index"]
    for run in RUNS:
        nums = card_numbers(page, run)
        sent = info["runs"][run]
        assert nums["xsq"] == pytest.approx(sent["activation_sq_norm"], abs=6e-4)
        assert nums["loss"] == pytest.approx(sent["loss"], abs=6e-5)
        for k, row in enumerate(nums["rows"]):
            assert row["z"] == pytest.approx(sent["logits"][k], abs=6e-4)
            assert row["p"] == pytest.approx(sent["probs"][k], abs=6e-4)
            assert row["q"] == pytest.approx(sent["target"][k], abs=6e-4)
            assert row["d"] == pytest.approx(sent["distances"][k], abs=6e-4)
            assert row["wsq"] == pytest.approx(sent["template_sq_norms"][k], abs=6e-4)
            # the identity, on the numbers as displayed (3 decimals each: rounding bounds the difference)
            half = 0.5 * (row["wsq"] + nums["xsq"] - row["d"] ** 2)
            assert half == pytest.approx(row["z"], abs=2e-3 + 1e-3 * row["d"]), (run, k, row, nums["xsq"])
        assert sum(r["p"] for r in nums["rows"]) == pytest.approx(1, abs=2e-3)
    identity = page.get_by_test_id("inspect-smoothed-identity").text_content()
    assert "½(‖w̃" in identity and "‖x̃‖²" in identity
    for run in RUNS:
        wait_for(page, "async ([id, i]) => (await document.getElementById(id).plane.snapshot()).highlight === i",
                 [f"panel-{run}", target["index"]])
    # it follows the point: ten more steps, the card shows the new step's numbers
    page.get_by_test_id("step-ten").click()
    wait_for(page, "() => document.getElementById('inspector').dataset.step === '40'")
    later = card_numbers(page, "smoothed")
    assert later["rows"][0]["z"] == pytest.approx(frames.at(40)["inspect"]["runs"]["smoothed"]["logits"][0],
                                                  abs=6e-4)
    page.keyboard.press("Escape")
    card.wait_for(state="hidden")
    for run in RUNS:
        wait_for(page, "async id => (await document.getElementById(id).plane.snapshot()).highlight === -1",
                 f"panel-{run}")
    assert watched.errors == []


def test_scrub_to_an_early_step_shows_that_frame(watched: Watched) -> None:
    """The timeline shows an earlier frame in the panels (its step, its drawn positions) while the run stays
    at its newest step; ← goes further back while paused; live returns to the newest frame."""
    frames = FrameLog(watched.page)
    page = open_page(watched, "?seed=4&play=0")
    take_steps(page, 4)
    timeline = page.get_by_test_id("timeline")
    assert timeline.get_attribute("type") == "range"
    assert page.get_by_test_id("timeline-step").text_content() == "40"
    page.evaluate("""() => { const s = document.querySelector('[data-testid=timeline]');
                             s.value = '10'; s.dispatchEvent(new Event('input', {bubbles: true})); }""")
    wait_drawn(page, 10)
    assert page.get_by_test_id("timeline-step").text_content() == "10"
    assert page.get_by_test_id("status-step").text_content() == "40", "the run itself stays where it is"
    for run in RUNS:
        drawn = snapshot(page, run)["drawn"]
        sent = frames.at(10)["runs"][run]["points"].ravel().tolist()
        assert drawn["x"] == pytest.approx(list(sent[0::2]), abs=1e-5)
        assert drawn["y"] == pytest.approx(list(sent[1::2]), abs=1e-5)
        assert drawn["x"] != pytest.approx(frames.at(40)["runs"][run]["points"][:, 0].tolist(), abs=1e-5)
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("ArrowLeft")
    wait_drawn(page, 0)
    assert page.get_by_test_id("timeline-step").text_content() == "0"
    page.keyboard.press("ArrowRight")
    wait_drawn(page, 10)
    page.get_by_test_id("timeline-live").click()
    wait_drawn(page, 40)
    assert page.get_by_test_id("timeline-step").text_content() == "40"
    assert page.get_by_test_id("timeline-live").get_attribute("aria-pressed") == "true"
    assert watched.errors == []


def test_a_link_to_a_moment_opens_paused_at_that_step(watched: Watched) -> None:
    """`/?scenario=noisy&at=600` fast-forwards to step 600 and pauses there; copy link adds at=<step>."""
    page = watched.page
    page.goto(f"{watched.base}/?scenario=noisy&at=600")
    wait_drawn(page, 600, plotly=True, timeout=60)
    assert page.get_by_test_id("status-step").text_content() == "600"
    assert page.get_by_test_id("play-toggle").get_attribute("aria-pressed") == "false"
    page.get_by_test_id("goto-note").wait_for(state="hidden")
    page.wait_for_timeout(300)
    assert page.get_by_test_id("status-step").text_content() == "600", "paused there"
    link = page.evaluate("""async () => {
        let text = null;
        navigator.clipboard.writeText = async (t) => { text = t; };
        document.querySelector('[data-testid=copy-link]').click();
        await new Promise((r) => setTimeout(r, 50));
        return text || document.querySelector('.toast')?.textContent; }""")
    assert "at=600" in link and "scenario=noisy" in link
    assert watched.errors == []


def test_a_bad_at_says_so_and_the_run_starts_normally(watched: Watched) -> None:
    page = open_page(watched, "?seed=1&at=-5")
    message = page.get_by_test_id("error-message")
    message.wait_for()
    assert "at=-5" in message.text_content() and "not a step" in message.text_content()
    assert page.get_by_test_id("status-step").text_content() == "0"
    assert watched.errors == []


def test_the_shortcuts_list(watched: Watched) -> None:
    page = open_page(watched, "?seed=1")
    page.get_by_test_id("shortcuts").click()
    box = page.get_by_test_id("shortcuts-box")
    box.wait_for(state="visible")
    text = box.text_content()
    for words in ("space", "→", "←", "Esc", "timeline"):
        assert words in text
    page.keyboard.press("Escape")
    box.wait_for(state="hidden")


def test_phone_tap_a_point_and_the_card_fits(phone: Watched) -> None:
    """On a 390 × 844 phone a tap opens the card, and neither it nor the timeline scrolls the page sideways."""
    page = open_page(phone, "?dataset=digits&play=0&seed=2")
    take_steps(page, 2)
    target = page.evaluate(LONELY_POINT, "panel-smoothed")
    page.get_by_test_id("panel-smoothed").scroll_into_view_if_needed()
    target = page.evaluate(LONELY_POINT, "panel-smoothed")
    page.touchscreen.tap(target["x"], target["y"])
    page.get_by_test_id("inspector").wait_for(state="visible")
    page.get_by_test_id("inspect-digit").wait_for()
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth"), "no sideways scrolling"
    assert phone.errors == []


@pytest.fixture
def projector(browser: Any, server_url: str) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield Watched(page, server_url)
    context.close()


def test_present_view_inspector_and_timeline_fit(projector: Watched) -> None:
    """In ?present=1 the timeline sits under the planes and the card opens over the page, on screen, with no
    sideways scrolling."""
    page = open_page(projector, "?present=1&play=0&seed=5")
    take_steps(page, 2)
    assert page.get_by_test_id("timeline").is_visible()
    target = page.evaluate(LONELY_POINT, "panel-baseline")
    page.mouse.click(target["x"], target["y"])
    card = page.get_by_test_id("inspector")
    card.wait_for(state="visible")
    page.get_by_test_id("inspect-baseline-identity").wait_for()
    r = page.evaluate("() => { const b = document.getElementById('inspector').getBoundingClientRect();"
                      " return [b.left, b.top, b.right, b.bottom, innerWidth, innerHeight]; }")
    assert r[0] >= 0 and r[1] >= 0 and r[2] <= r[4] and r[3] <= r[5], r
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
    page.get_by_test_id("inspector-close").click()
    card.wait_for(state="hidden")
    assert projector.errors == []
