"""Regenerate the README's screenshots: `.venv/bin/python docs/screenshots.py` (needs Debian's chromium);
`docs/screenshots.py distill` makes only the distillation lab's, `docs/screenshots.py inspector` only the point
inspector's, `docs/screenshots.py diagnose` only the /diagnose page's (a digits CNN trained with ε = 0.1 for it),
`docs/screenshots.py csv` only your own data's, `docs/screenshots.py lesson` only the projector view of a lesson's
room sweep.

Starts a server on a free port, drives the pages in headless Chromium and writes docs/img/*.png.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", "1"], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            if sys.argv[1:] == ["inspector"]:
                inspector(page, base)
                return
            if sys.argv[1:] == ["diagnose"]:
                diagnose(page, base)
                return
            if sys.argv[1:] == ["lesson"]:
                lesson(browser, base)
                return
            own_data(page, base)
            if sys.argv[1:] == ["csv"]:
                return
            distill(page, base)
            if sys.argv[1:] == ["distill"]:
                return
            page.goto(f"{base}/?scenario=distinct")
            page.wait_for_function("() => Number(document.querySelector('[data-testid=status-step]').textContent) > 600",
                                   timeout=60_000)
            page.screenshot(path=str(OUT / "explorer.png"))
            page.goto(f"{base}/?scenario=similar")
            page.wait_for_function("() => Number(document.querySelector('[data-testid=status-step]').textContent) > 900",
                                   timeout=60_000)
            page.get_by_test_id("calibration-panel").screenshot(path=str(OUT / "calibration.png"))
            page.goto(f"{base}/sweep")
            page.wait_for_function("() => window.Plotly", timeout=30_000)
            page.get_by_test_id("sweep-steps").fill("1500")
            page.get_by_test_id("sweep-speed").fill("60")
            page.get_by_test_id("sweep-start").click()
            page.wait_for_function("() => Number(document.querySelector('[data-testid=sweep-status-step]').textContent)"
                                   " >= 1500", timeout=120_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(OUT / "sweep.png"), full_page=True)
            inspector(page, base)
            diagnose(page, base)
            lesson(browser, base)
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    print("wrote", ", ".join(str(f.relative_to(ROOT)) for f in sorted(OUT.glob("*.png"))))


POINT = """async (flipped) => {
  const el = document.getElementById('panel-smoothed');
  const s = await el.plane.snapshot();
  const v = s.view, box = el.getBoundingClientRect();
  const i = flipped ? s.flips.find((k) => s.wrong[k] === 0) ?? s.flips[0] ?? 0 : Math.floor(s.drawn.x.length / 2);
  return {x: box.left + v.l + (s.drawn.x[i] - v.x0) * v.w / (v.x1 - v.x0),
          y: box.top + v.t + (v.y1 - s.drawn.y[i]) * v.h / (v.y1 - v.y0)}; }"""


def click_point(page: Any, flipped: bool, shown: str) -> None:
    """Click a point of the smoothed panel (a flipped one, else one in the middle of the list), wait for `shown`."""
    spot = page.evaluate(POINT, flipped)
    page.mouse.click(spot["x"], spot["y"])
    page.wait_for_selector(shown, timeout=15_000)
    page.mouse.move(5, 5)
    page.wait_for_timeout(600)


def inspector(page: Any, base: str) -> None:
    """The point inspector on a link to a moment (noisy labels at step 600): a flipped point of the smoothed run
    clicked, the card with both runs' numbers under the panels."""
    page.goto(f"{base}/?scenario=noisy&at=600")
    page.wait_for_function("() => document.getElementById('panel-smoothed').dataset.step === '600' && window.Plotly"
                           " && document.getElementById('panel-smoothed')._fullLayout", timeout=60_000)
    page.wait_for_timeout(800)
    click_point(page, flipped=True, shown="[data-testid=inspect-smoothed-identity]")
    top = page.evaluate("() => document.querySelector('.panel-pair').getBoundingClientRect().top + scrollY")
    bottom = page.evaluate("() => document.getElementById('inspector').getBoundingClientRect().bottom + scrollY")
    page.screenshot(path=str(OUT / "inspector.png"), full_page=True,
                    clip={"x": 0, "y": top - 8, "width": 1600, "height": bottom - top + 16})


def own_data(page: Any, base: str) -> None:
    """Your own data: the penguins example picked from "your own CSV…", what was read beside the planes at step
    600, and a point inspected, its row of the file in the card."""
    page.goto(f"{base}/?play=0")
    page.wait_for_function("() => window.Plotly && document.getElementById('panel-baseline')._fullLayout",
                           timeout=60_000)
    page.get_by_test_id("dataset").select_option("csv")
    page.get_by_test_id("example-penguins").click()
    page.wait_for_function("() => Number(document.querySelector('[data-testid=status-step]').textContent) >= 600",
                           timeout=60_000)
    page.get_by_test_id("play-toggle").click()
    page.wait_for_timeout(800)
    click_point(page, flipped=False, shown="[data-testid=inspect-row]")
    bottom = page.evaluate("() => document.getElementById('inspector').getBoundingClientRect().bottom + scrollY")
    page.screenshot(path=str(OUT / "csv.png"), full_page=True,
                    clip={"x": 0, "y": 0, "width": 1600, "height": bottom + 8})


def distill(page: Any, base: str) -> None:
    """The distillation lab (/distill) played to its end: 3,000 teacher steps, then 3,000 student steps."""
    page.goto(f"{base}/distill")
    page.wait_for_function("() => !document.querySelector('[data-testid=distill-play]').disabled", timeout=30_000)
    page.wait_for_function("() => window.Plotly", timeout=30_000)
    speed = page.get_by_test_id("distill-speed")
    speed.fill("60")
    speed.dispatch_event("change")
    page.get_by_test_id("distill-play").click()
    page.wait_for_function("() => document.querySelector('[data-testid=distill-status-phase]').textContent === 'done'",
                           timeout=180_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(OUT / "distill.png"), full_page=True)


def host(base: str, action: str, **body: Any) -> None:
    """A host command (POST /api/lesson): no HOST_CODE here, and this script is on the server's machine."""
    request = urllib.request.Request(f"{base}/api/lesson", data=json.dumps({"action": action, **body}).encode(),
                                     headers={"content-type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=30).read()


def lesson(browser: Any, base: str) -> None:
    """The projector view (/host?present=1) at the built-in lesson's step 9, the room's ε sweep: five attendees
    follow, answer, press play, get their ε spread over [0, 0.5]; the host reveals the answers."""
    host(base, "start", lesson="label-smoothing-20", step=9)
    contexts = [browser.new_context(viewport={"width": 900, "height": 700}) for _ in range(5)]
    try:
        for i, context in enumerate(contexts):
            room = context.new_page()
            room.goto(f"{base}/")
            room.wait_for_selector("[data-testid=lesson-choice-1]", timeout=30_000)
            room.get_by_test_id("lesson-choice-2" if i == 4 else "lesson-choice-1").click()
            room.get_by_test_id("play-toggle").click()
        host(base, "spread_eps")
        time.sleep(25)  # the runs settle: each smoothed gap reaches its theory
        host(base, "reveal")
        projector = browser.new_page(viewport={"width": 1920, "height": 1080}, device_scale_factor=0.6)
        projector.goto(f"{base}/host?present=1")
        projector.wait_for_function("() => (document.getElementById('proj-gap').data || [])[0]?.x.length >= 5",
                                    timeout=60_000)
        projector.wait_for_timeout(1000)
        projector.screenshot(path=str(OUT / "lesson-projector.png"))
        projector.close()
    finally:
        for context in contexts:
            context.close()
        host(base, "end")


def diagnose(page: Any, base: str) -> None:
    """/diagnose with the digits CNN of tests/unit/test_diagnose_digits.py trained with ε = 0.1 and dumped by the
    code of docs/diagnose.md, the plane through 3, 5 and 8."""
    import tempfile

    sys.path.insert(0, str(ROOT))
    from tests.unit.test_diagnose_digits import digits_data, documented_code, dump, trained

    digits = digits_data()
    with tempfile.TemporaryDirectory() as folder:
        dump(documented_code(), trained(0.1, digits), digits, Path(folder))
        page.goto(f"{base}/diagnose")
        page.wait_for_function("() => window.Plotly", timeout=30_000)
        page.get_by_test_id("diagnose-eps").fill("0.1")
        page.set_input_files("[data-testid=diagnose-file]", str(Path(folder) / "mynet.npz"))
        page.wait_for_function("() => !document.getElementById('report').hidden", timeout=60_000)
        for i, c in enumerate(("3", "5", "8")):
            page.get_by_test_id(f"diagnose-class-{i}").select_option(c)
        page.get_by_test_id("diagnose-apply").click()
        page.wait_for_function("() => document.getElementById('plane-keys').textContent.includes('w₃')",
                               timeout=60_000)
        page.wait_for_timeout(1500)
    page.screenshot(path=str(OUT / "diagnose.png"), full_page=True)


if __name__ == "__main__":
    main()
