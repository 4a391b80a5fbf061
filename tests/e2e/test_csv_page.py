"""Browser tests of issue 22's page side: your own data. Pick the example, change the label column, train,
inspect a point (its row of the file shown), export; every bad file of tests/cases/csv answered on the page in
its sentence; a link names the file by its fingerprint and a different file is refused; the phone layout; the
ε sweep on a file; no axe-core violations in any of these states and no console errors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import PHONE, Watched
from tests.e2e.pages import wait_drawn, wait_for
from tests.e2e.test_inspector import LONELY_POINT
from tests.support.axe import violations
from tests.support.csvcases import BAD, BadCase, bad_cases
from tests.support.server import REPO

pytestmark = pytest.mark.e2e

PENGUINS = REPO / "app" / "engine" / "penguins.csv"
WINE = REPO / "app" / "engine" / "wine.csv"


def summary_text(page: Any) -> str:
    return str(page.get_by_test_id("csv-summary").inner_text())


def pick_example(page: Any, key: str = "penguins") -> None:
    page.get_by_test_id("dataset").select_option("csv")
    page.get_by_test_id("csv-box").wait_for(state="visible")
    page.get_by_test_id(f"example-{key}").click()
    page.get_by_test_id("csv-name").filter(has_text=f"{key}.csv").wait_for()


def class_names(page: Any) -> list[str]:
    names: list[str] = page.evaluate(
        "() => [0, 1, 2].map((k) => document.querySelector(`.legend [data-class-name='${k}']`).textContent)")
    return names


def test_example_label_train_inspect_export(watched: Watched, tmp_path: Path) -> None:
    page = watched.page
    page.goto(f"{watched.base}/?play=0")
    wait_drawn(page, plotly=True)
    pick_example(page)
    assert "342 used of 344" in page.get_by_test_id("csv-fact-rows").inner_text()
    assert page.get_by_test_id("csv-fact-ignored").inner_text() == "columns: island, sex"
    wait_for(page, "() => document.querySelector(\"[data-class-name='0']\").textContent === 'Adelie'")
    assert violations(page) == []  # the summary shown
    # another label column: the island the penguin lives on
    page.get_by_test_id("csv-label").select_option("island")
    page.get_by_test_id("csv-fact-label").filter(has_text="island").wait_for()
    wait_for(page, "() => document.querySelector(\"[data-class-name='2']\").textContent === 'Torgersen'")
    assert class_names(page) == ["Biscoe", "Dream", "Torgersen"]
    assert "label=island" in page.url and "data=example%3Apenguins" in page.url
    # it trains (the example plays), then a point is inspected: its row of the file
    wait_for(page, "() => Number(document.getElementById('status-step').textContent) >= 150", timeout=60)
    page.get_by_test_id("play-toggle").click()
    wait_for(page, "() => document.getElementById('play').getAttribute('aria-pressed') === 'false'")
    target = page.evaluate(LONELY_POINT, "panel-baseline")
    page.mouse.click(target["x"], target["y"])
    row = page.get_by_test_id("inspect-row")
    row.wait_for()
    cells = dict(page.evaluate("""() => [...document.querySelectorAll('[data-testid=inspect-row] tr')]
        .map((tr) => [tr.querySelector('th').textContent, tr.querySelector('td').textContent])"""))
    assert list(cells) == ["species", "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                           "body_mass_g", "sex", "year"]
    line = int(row.inner_text().split("line ")[1].split(" ")[0].replace(",", ""))
    assert PENGUINS.read_text().splitlines()[line - 1] == ",".join(cells.values())
    assert cells["island"] in page.get_by_test_id("inspector").inner_text().split("true class")[1]
    # exports: the metric history, and the file with its label and classes in the JSON
    with page.expect_download() as download:
        page.get_by_test_id("export-json").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert download.value.suggested_filename.startswith("label-smoothing-penguins-seed0")
    assert exported["settings"]["data"]["label"] == "island"
    assert [c["name"] for c in exported["settings"]["data"]["summary"]["classes"]] == ["Biscoe", "Dream", "Torgersen"]
    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0][0] == "step" and len(rows) > 2 and int(rows[-1][0]) >= 150
    assert not watched.errors, watched.errors


@pytest.fixture(scope="module")
def bad_page(browser: Any, server_url: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server_url}/?play=0")
    wait_drawn(page)
    pick_example(page, "wine")
    yield page
    assert not errors, errors
    context.close()


@pytest.mark.parametrize("case", [c for c in bad_cases() if not c.label and not c.classes], ids=lambda c: c.id)
def test_a_bad_file_is_answered_on_the_page(bad_page: Any, case: BadCase, tmp_path: Path) -> None:
    page = bad_page
    page.get_by_test_id("csv-file").set_input_files(str(case.write(tmp_path)))
    error = page.get_by_test_id("csv-error")
    error.filter(has_text=case.file).wait_for()
    assert error.inner_text() == f"{case.file}: {case.message}"
    assert page.get_by_test_id("csv-name").inner_text() == "wine.csv"  # the file before it is kept
    assert page.get_by_test_id("dataset").input_value() == "csv"


def test_an_error_shown_has_no_axe_violations(bad_page: Any, tmp_path: Path) -> None:
    case = next(c for c in bad_cases() if c.file == "ragged.csv")
    bad_page.get_by_test_id("csv-file").set_input_files(str(case.write(tmp_path)))
    bad_page.get_by_test_id("csv-error").filter(has_text="ragged.csv").wait_for()
    assert violations(bad_page) == []


def test_a_link_asks_for_its_file_and_refuses_another(watched: Watched) -> None:
    page = watched.page
    page.goto(f"{watched.base}/?play=0")
    wait_drawn(page)
    page.get_by_test_id("dataset").select_option("csv")
    page.get_by_test_id("csv-file").set_input_files(str(WINE))
    page.get_by_test_id("csv-name").filter(has_text="wine.csv").wait_for()
    wait_for(page, "() => location.search.includes('data=csv')")
    link = page.url
    sha = link.split("data=csv%3A")[1][:16]
    page.goto(link)
    ask = page.get_by_test_id("csv-ask")
    ask.wait_for()
    assert sha in ask.inner_text()
    page.get_by_test_id("csv-file").set_input_files(str(PENGUINS))
    error = page.get_by_test_id("csv-error")
    error.wait_for()
    assert error.inner_text().startswith("penguins.csv: this is not the file the link was made with")
    page.get_by_test_id("csv-file").set_input_files(str(WINE))
    page.get_by_test_id("csv-name").filter(has_text="wine.csv").wait_for()
    assert page.get_by_test_id("csv-ask").is_hidden() and page.get_by_test_id("csv-error").is_hidden()
    wait_for(page, "() => document.querySelector(\"[data-class-name='0']\").textContent === 'class_1'")
    assert f"data=csv%3A{sha}" in page.url
    assert not watched.errors, watched.errors


def test_the_phone_layout(browser: Any, server_url: str) -> None:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{server_url}/?play=0")
        wait_drawn(page)
        pick_example(page)
        box = page.get_by_test_id("csv-box").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert violations(page) == []
    finally:
        context.close()


def test_the_sweep_trains_on_a_file(watched: Watched) -> None:
    page = watched.page
    page.goto(f"{watched.base}/sweep")
    page.get_by_test_id("sweep-dataset").select_option("csv")
    page.get_by_test_id("example-penguins").click()
    page.get_by_test_id("csv-name").filter(has_text="penguins.csv").wait_for()
    page.get_by_test_id("sweep-eps").fill("0, 0.1, 0.2")
    page.get_by_test_id("sweep-steps").fill("60")
    page.get_by_test_id("sweep-start").click()
    wait_for(page, "() => Number(document.getElementById('status-step').textContent) >= 60", timeout=60)
    assert page.get_by_test_id("sweep-status-models").inner_text() == "3"
    assert page.get_by_test_id("sweep-error").is_hidden()
    assert violations(page) == []
    assert not watched.errors, watched.errors


def test_two_features_get_the_input_space_map(watched: Watched) -> None:
    page = watched.page
    page.goto(f"{watched.base}/?play=0")
    wait_drawn(page)
    page.get_by_test_id("dataset").select_option("csv")
    page.get_by_test_id("csv-file").set_input_files(str(BAD / "good_for_choices.csv"))
    page.get_by_test_id("csv-fact-features").filter(has_text="2: length, width").wait_for()
    page.get_by_test_id("input-panel").wait_for(state="visible")
    wait_for(page, "() => document.getElementById('input-baseline')._fullLayout", timeout=30)
    assert not watched.errors, watched.errors
