"""axe-core (npm, WCAG 2.1 A/AA and best practices) on every page, on a desktop, a phone and a projector.

The pages are checked once they have drawn (the explorer's first frame, the host page's first refresh), so
what axe sees includes what the scripts add. tests/support/axe.py says where axe-core comes from.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.pages import wait_for
from tests.support.axe import violations

pytestmark = pytest.mark.e2e
# every page on a desktop; the pages people open on a phone or a projector there too
# (/diagnose with a report and with an error: tests/e2e/test_diagnose_page.py)
CASES = [(path, "desktop") for path in ("/", "/?scenario=noisy", "/sweep", "/calculator", "/distill", "/host",
                                        "/diagnose")] + [
    ("/", "phone"), ("/sweep", "phone"), ("/calculator", "phone"), ("/distill", "phone"), ("/diagnose", "phone"),
    ("/?present=1", "projector"), ("/host?present=1", "projector")]
SCREENS = {
    "desktop": {"viewport": {"width": 1600, "height": 1000}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
              "has_touch": True},
    "projector": {"viewport": {"width": 1920, "height": 1080}},
}


@pytest.mark.parametrize(("path", "screen"), CASES)
def test_page_has_no_axe_violations(browser: Any, server_url: str, path: str, screen: str) -> None:
    context = browser.new_context(**SCREENS[screen])
    try:
        page = context.new_page()
        page.goto(server_url + path)
        page.wait_for_load_state("load")
        # the page's scripts have run: a frame drawn, a chart laid out or the room's first numbers shown
        wait_for(page, "() => document.readyState === 'complete' && !document.querySelector('[aria-busy=true]')")
        page.wait_for_timeout(1500)
        assert violations(page) == []
    finally:
        context.close()
