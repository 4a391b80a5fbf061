"""The /diagnose page in Chromium (issue 23): a file dropped on the page is drawn with the explorer's own plane and
reliability components (the numbers, points and templates those of the API's report), the three classes picked
and redrawn, the downloads equal to the API's, the bad files' sentences shown, the offline HTML report drawn from
file:// with nothing fetched, and no axe-core violation, desktop and phone, before, with a report and with an
error."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.diagnose.html import render_html
from tests.e2e.conftest import PHONE, Watched
from tests.e2e.pages import wait_for
from tests.support.axe import violations
from tests.support.diagnose import CASES_DIR, bad_files, network, npz_bytes

pytestmark = pytest.mark.e2e
NET = npz_bytes(network(k=6, d=9, names=True, scale=2.0))
SENTENCES = {c["file"]: c["error"] for c in bad_files()}


def api_report(base: str, data: bytes = NET, **params: Any) -> str:
    r = httpx.post(f"{base}/api/diagnose", params=params, content=data, timeout=60,
                   headers={"content-type": "application/octet-stream"})
    assert r.status_code == 200, r.text
    return r.text


def drop(page: Any, data: bytes, name: str) -> None:
    """Drop a file on the page as a person's drag and drop does: a drop event carrying a DataTransfer."""
    transfer = page.evaluate_handle("""([b64, name]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name));
        return dt; }""", [base64.b64encode(data).decode(), name])
    page.dispatch_event("[data-testid=diagnose-drop]", "drop", {"dataTransfer": transfer})


def wait_idle(page: Any) -> None:
    wait_for(page, "() => document.getElementById('diagnose-main').getAttribute('aria-busy') === 'false'")


def wait_report(page: Any, classes: list[int] | None = None) -> None:
    """The report shown, both planes painted exactly, the charts drawn (of these classes when given)."""
    wait_for(page, """async (classes) => {
        if (document.getElementById('report').hidden || !window.Plotly) return false;
        const charts = ['reliability-chart', 'gap-chart', 'spread-chart'].map((id) => document.getElementById(id));
        if (!charts.every((el) => el.data)) return false;
        for (const id of ['plane-train', 'plane-val']) {
          const el = document.getElementById(id);
          const s = await el.plane.snapshot();
          if (!s.draws || !s.settled || !el._fullLayout) return false;
        }
        const keys = document.getElementById('plane-keys').textContent;
        const name = (c) => `w${String(c).replace(/\\d/g, (d) => '₀₁₂₃₄₅₆₇₈₉'[d])}:`;
        return !classes || classes.every((c) => keys.includes(name(c)));
    }""", classes, timeout=30)


def summary(page: Any) -> dict[str, str]:
    rows = page.evaluate("() => [...document.querySelectorAll('#summary-table tbody tr')]"
                         ".map((tr) => [...tr.children].map((td) => td.textContent))")
    return {what: value for what, value, _ in rows}


def test_a_dropped_file_is_drawn_with_the_explorers_components(watched: Watched) -> None:
    page = watched.page
    page.goto(f"{watched.base}/diagnose")
    drop(page, NET, "mynet.npz")
    report = json.loads(api_report(watched.base))
    wait_report(page, report["classes"])
    rows = summary(page)
    assert float(rows["ECE (validation, 15 bins)"]) == pytest.approx(report["ece"], rel=5e-3)
    assert float(rows["temperature T"]) == pytest.approx(report["temperature"], rel=5e-3)
    assert float(rows["NLL (validation)"]) == pytest.approx(report["nll"], rel=5e-3)
    assert rows["accuracy (validation)"] == f"{100 * report['accuracy']:.1f} %"
    gap_mean, gap_std = (float(v) for v in rows["logit gap (training)"].split(" ± "))
    assert gap_mean == pytest.approx(report["gap"]["mean"], rel=5e-3)
    assert float(rows["wrong-template spread"]) == pytest.approx(report["spread"], rel=5e-3)
    proj = report["projection"]
    for key, element in (("train", "plane-train"), ("val", "plane-val")):
        shot = page.evaluate("async (id) => await document.getElementById(id).plane.snapshot()", element)
        assert shot["painter"] == "main" and shot["step"] == 0
        assert shot["target"]["x"] == pytest.approx([p[0] for p in proj[key]], abs=1e-5)
        assert shot["target"]["y"] == pytest.approx([p[1] for p in proj[key]], abs=1e-5)
        assert shot["target"]["tx"] == pytest.approx([t[0] for t in proj["templates"]], abs=1e-5)
        wrong = [int(p != t) for p, t in zip(proj[f"{key}_pred"], proj[f"{key}_labels"], strict=True)]
        assert shot["wrong"] == wrong and shot["drawn"] == shot["target"]
    traces = page.evaluate("() => document.getElementById('reliability-chart').data.map((t) => [t.name, t.x])")
    names = [name for name, _ in traces]
    assert names == ["perfectly calibrated", "your network", f"after temperature scaling, T = {rows['temperature T']}"]
    shown = [c for c, n in zip(report["reliability"]["confidence"], report["reliability"]["count"], strict=True) if n]
    assert traces[1][1] == pytest.approx(shown)
    bars = page.evaluate("() => document.getElementById('gap-chart').data[0].y")
    assert bars == pytest.approx(report["gap"]["per_class"])
    assert page.get_by_test_id("diagnose-file-status").text_content().startswith("mynet.npz: K = 6 classes")
    assert watched.errors == [] and watched.outside == []


def test_pick_the_classes_redraw_and_download(watched: Watched, tmp_path: Path) -> None:
    page = watched.page
    page.goto(f"{watched.base}/diagnose")
    picked = {"name": "mynet.npz", "mimeType": "application/octet-stream", "buffer": NET}
    page.set_input_files("[data-testid=diagnose-file]", files=[picked])
    wait_report(page)
    for i, c in enumerate((0, 2, 5)):
        page.get_by_test_id(f"diagnose-class-{i}").select_option(str(c))
    page.get_by_test_id("diagnose-eps").fill("0.1")
    page.get_by_test_id("diagnose-points").fill("40")
    page.get_by_test_id("diagnose-apply").click()
    wait_report(page, [0, 2, 5])
    wait_idle(page)
    expected = api_report(watched.base, classes="0,2,5", eps="0.1", points_per_class="40")
    with page.expect_download() as done:
        page.get_by_test_id("diagnose-download-json").click()
    assert done.value.suggested_filename == "mynet.diagnose.json"
    assert Path(done.value.path()).read_text() == expected
    with page.expect_download() as done:
        page.get_by_test_id("diagnose-download-html").click()
    assert done.value.suggested_filename == "mynet.diagnose.html"
    html = Path(done.value.path()).read_bytes()
    assert html == render_html(json.loads(expected)).encode()  # the file `diagnose --html` writes
    rows = summary(page)
    assert rows["classes in the plane"] == "kind 0 (0), kind 2 (2), kind 5 (5)"
    assert float(rows["logit gap (training)"].split(" ± ")[0]) == pytest.approx(json.loads(expected)["gap"]["mean"],
                                                                                   rel=5e-3)
    assert watched.errors == [] and watched.outside == []


@pytest.mark.parametrize("name", ["misnamed.npz", "labels-float.npz", "notes.txt", "declares-300mb.npz",
                                  "object-array.npz", "bf16.safetensors"])
def test_a_bad_file_is_said_in_its_sentence(watched: Watched, name: str) -> None:
    page = watched.page
    page.goto(f"{watched.base}/diagnose")
    drop(page, (CASES_DIR / name).read_bytes(), name)
    alert = page.get_by_test_id("diagnose-error")
    alert.wait_for(state="visible")
    assert alert.text_content().strip().removesuffix("✕").strip() == SENTENCES[name]
    assert page.locator("#report").is_hidden()
    assert page.get_by_test_id("diagnose-download-json").is_disabled()
    assert page.get_by_test_id("diagnose-file-status").text_content() == f"{name}: not read."
    status = 413 if "cap" in SENTENCES[name] else 422
    # Chromium itself logs the answer's status (the page's script logs nothing): that one line, no other
    assert watched.errors == [f"console: Failed to load resource: the server responded with a status of {status} "
                              f"({'Request Entity Too Large' if status == 413 else 'Unprocessable Entity'})"]


def test_a_bad_setting_keeps_the_report(watched: Watched) -> None:
    page = watched.page
    page.goto(f"{watched.base}/diagnose")
    drop(page, NET, "mynet.npz")
    wait_report(page)
    page.get_by_test_id("diagnose-eps").fill("2")
    page.get_by_test_id("diagnose-apply").click()
    assert page.get_by_test_id("diagnose-error").text_content().strip().startswith(
        "ε must be a number between 0 and 1 (or empty).")
    page.get_by_test_id("diagnose-class-1").select_option(page.get_by_test_id("diagnose-class-0").input_value())
    page.get_by_test_id("diagnose-eps").fill("")
    page.get_by_test_id("diagnose-apply").click()
    error = page.get_by_test_id("diagnose-error").text_content()
    assert error.strip().startswith("The three classes must be different.")
    assert page.locator("#report").is_visible()
    assert watched.errors == []


def test_the_offline_report_draws_from_a_file_with_nothing_fetched(browser: Any, server_url: str,
                                                                    tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(render_html(json.loads(api_report(server_url, eps="0.1"))), encoding="utf-8")
    context = browser.new_context(offline=True)
    try:
        page = context.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        wait_report(page)
        assert re.match(r"K = 6 classes", page.get_by_test_id("diagnose-what").text_content())
        assert errors == [] and [r for r in requests if not r.startswith("data:")] == [path.as_uri()]
    finally:
        context.close()


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_no_axe_violations_before_with_a_report_and_with_an_error(browser: Any, server_url: str, screen: str) -> None:
    context = browser.new_context(**(PHONE if screen == "phone" else {"viewport": {"width": 1600, "height": 1000}}))
    try:
        page = context.new_page()
        page.goto(f"{server_url}/diagnose")
        wait_for(page, "() => document.readyState === 'complete' && window.Plotly")
        assert violations(page) == [], "before a file"
        drop(page, NET, "mynet.npz")
        wait_report(page)
        wait_idle(page)
        assert violations(page) == [], "with a report"
        if screen == "phone":  # usable on a phone: nothing wider than the screen
            widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert widths[0] <= widths[1] == 390, widths
        drop(page, (CASES_DIR / "labels-float.npz").read_bytes(), "labels-float.npz")
        page.get_by_test_id("diagnose-error").wait_for(state="visible")
        wait_idle(page)
        assert violations(page) == [], "with an error"
    finally:
        context.close()


def test_the_page_is_keyboard_reachable(watched: Watched) -> None:
    """Tab from the top reaches the file picker, then the settings and the downloads."""
    page = watched.page
    page.goto(f"{watched.base}/diagnose")
    drop(page, NET, "mynet.npz")
    wait_report(page)
    wait_idle(page)
    page.locator("body").focus()
    reached = []
    for _ in range(30):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("() => document.activeElement.id"))
    order = ["diagnose-file", "class-0", "class-1", "class-2", "diagnose-eps", "diagnose-points", "diagnose-apply",
             "download-html", "download-json"]
    assert [r for r in reached if r in order][: len(order)] == order
