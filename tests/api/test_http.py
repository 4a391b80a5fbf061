"""HTTP: the page, /healthz, static files, security headers, access code, scenarios, the loss calculator."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from app import __version__
from app.protocol.messages import RunConfig, merge_config

ROOT = Path(__file__).resolve().parents[2]
PAGE_JS = "js/explorer/main.js"
SCENARIO_KEYS = {"distinct", "similar", "noisy", "unshuffled", "digits", "digits-similar"}


def readable(response: Any) -> str:
    """The human-readable message of an error response: {"error": ...} or FastAPI's {"detail": [...]}."""
    body = response.json()
    if isinstance(body.get("error"), str):
        return str(body["error"])
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail
    return "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d['msg']}" for d in detail)


# ---- the page and health ----------------------------------------------------------------------------------
def test_page_loads_plotly_from_this_server(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', r.text)
    # the explorer preloads Plotly.js and runs it after its first frame is drawn (static/js/explorer/main.js)
    scripts += re.findall(r'<link[^>]*\brel="preload"[^>]*\bas="script"[^>]*\bhref="([^"]+)"', r.text)
    plotly = [s for s in scripts if s.startswith("/static/vendor/") and "plotly" in s]
    assert plotly, f"no Plotly script under /static/vendor/ in {scripts}"
    for src in scripts:  # every script the page loads comes from this server, and is there
        assert src.startswith("/static/"), src
        assert client.get(src).status_code == 200, src
    # nothing the page loads lives outside the server (links to read elsewhere are fine): it works offline
    loaded = re.findall(r'<(?:script|img|iframe)[^>]*\bsrc="([^"]+)"', r.text)
    loaded += re.findall(r'<link[^>]*\bhref="([^"]+)"', r.text)
    assert loaded and not [u for u in loaded if re.match(r"(https?:)?//", u)]


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["device"] == "cpu"
    assert isinstance(body["sessions"], int) and body["sessions"] == 0
    assert body["version"] == __version__


def test_healthz_counts_open_sessions(client: TestClient, connect: Callable[..., Any]) -> None:
    with connect():
        assert client.get("/healthz").json()["sessions"] == 1
        with connect():
            assert client.get("/healthz").json()["sessions"] == 2
    assert client.get("/healthz").json()["sessions"] == 0


# ---- static files ----------------------------------------------------------------------------------------
def test_page_modules_are_gzipped_and_revalidate_with_an_etag(client: TestClient) -> None:
    on_disk = (ROOT / "static" / PAGE_JS).read_bytes()
    r = client.get(f"/static/{PAGE_JS}", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["content-encoding"] == "gzip"
    assert r.content == on_disk  # httpx undid the gzip: the bytes are the file's
    assert "no-cache" in r.headers["cache-control"]
    etag = r.headers["etag"]
    assert etag
    again = client.get(f"/static/{PAGE_JS}", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    plain = client.get(f"/static/{PAGE_JS}", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == on_disk
    stale = client.get(f"/static/{PAGE_JS}", headers={"if-none-match": '"not-the-etag"'})
    assert stale.status_code == 200 and stale.content == on_disk


def test_vendored_plotly_is_cached_for_a_year_and_compressed(client: TestClient) -> None:
    page = client.get("/").text
    src = re.findall(r'(?:src|href)="(/static/vendor/[^"]*plotly[^"]*)"', page)[0]
    r = client.get(src, headers={"accept-encoding": "gzip"})
    assert r.status_code == 200
    assert "max-age=31536000" in r.headers["cache-control"] and "immutable" in r.headers["cache-control"]
    assert r.headers["content-encoding"] == "gzip"
    assert int(r.headers["content-length"]) < len(r.content) / 2  # compressed on the wire
    assert r.content == (ROOT / "static" / src.removeprefix("/static/")).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/static/%2e%2e/app/server/app.py",
        "/static/js/%2e%2e/%2e%2e/app/server/settings.py",
        "/static/..%2f..%2fapp%2fmain.py",
        "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/",
        "/static/js",
        "/static/no-such-file.js",
    ],
)
def test_static_paths_outside_the_folder_or_missing_are_404(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert b"create_app" not in r.content and b"root:" not in r.content


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/scenarios", f"/static/{PAGE_JS}", "/static/nope.js"])
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    r = client.get(path)
    csp = r.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert r.headers["x-content-type-options"] == "nosniff"


# ---- access code -----------------------------------------------------------------------------------------
def test_access_code_guards_the_page(make_client: Callable[..., TestClient]) -> None:
    client = make_client(access_code="s3cret")
    denied = client.get("/")
    assert denied.status_code == 401 and "access code" in denied.text
    assert client.get("/?token=wrong").status_code == 401
    r = client.get("/?token=s3cret&scenario=noisy", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/?scenario=noisy"  # the code leaves the address bar
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("lse_token=s3cret") and "httponly" in cookie.lower()
    ok = client.get("/")  # the cookie now travels with every request
    assert ok.status_code == 200 and "/static/vendor/" in ok.text
    assert client.get("/healthz").status_code == 200  # health checks need no code


# ---- scenarios and the calculator --------------------------------------------------------------------------
def test_scenarios_are_the_six_of_the_blog_and_each_config_is_valid(client: TestClient) -> None:
    r = client.get("/api/scenarios")
    assert r.status_code == 200
    scenarios = r.json()
    assert {s["key"] for s in scenarios} == SCENARIO_KEYS and len(scenarios) == 6
    by_key = {s["key"]: s for s in scenarios}
    for s in scenarios:
        config = merge_config(RunConfig(), s["config"])  # each one a valid run
        assert s["title"] and len(s["look_for"]) > 40
        assert config.eps > 0
    assert merge_config(RunConfig(), by_key["noisy"]["config"]).label_noise == pytest.approx(0.2)
    assert merge_config(RunConfig(), by_key["unshuffled"]["config"]).ordered is True
    assert merge_config(RunConfig(), by_key["similar"]["config"]).similarity >= 0.5
    assert merge_config(RunConfig(), by_key["digits-similar"]["config"]).dataset == "digits-similar"
    assert merge_config(RunConfig(), by_key["digits"]["config"]).dataset == "digits"


def test_calculator_gives_the_corrected_blog_value(client: TestClient) -> None:
    r = client.post("/api/calculate", json={"probs": [0.01, 0.79, 0.15, 0.05], "label": 1, "eps": 0.2})
    assert r.status_code == 200
    body = r.json()
    assert body["smoothed_loss"] == pytest.approx(0.675, abs=5e-4)  # the blog prints 0.29
    assert body["targets"] == pytest.approx([0.05, 0.85, 0.05, 0.05])
    assert body["onehot_loss"] == pytest.approx(0.2357, abs=5e-4)  # −ln 0.79
    assert body["gradient"] == pytest.approx([-0.04, -0.06, 0.10, 0.0], abs=1e-9)  # p − q'


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"probs": [0.5, 0.6], "label": 0, "eps": 0.1}, "add up to 1"),
        ({"probs": [0.0, 1.0], "label": 0, "eps": 0.1}, "positive"),
        ({"probs": [0.2, 0.7, 0.1], "label": 3, "eps": 0.1}, "label"),
        ({"probs": [0.2, 0.7, 0.1], "label": -1, "eps": 0.1}, "label"),
        ({"probs": [0.2, 0.7, 0.1], "label": 1, "eps": 2}, "eps"),
        ({"probs": [0.2, 0.7, 0.1], "label": 1, "eps": "lots"}, "eps"),
        ({"probs": [0.5], "label": 0, "eps": 0.1}, "probs"),
        ({"probs": ["a", "b"], "label": 0, "eps": 0.1}, "probs"),
        ({"probs": [0.001] * 1000, "label": 0, "eps": 0.1}, "probs"),
        ({"probs": [1e308, 1e308], "label": 0, "eps": 0.1}, "1"),
        ({"label": 0, "eps": 0.1}, "probs"),
        ([0.2, 0.7, 0.1], ""),
        ("not json", ""),
    ],
)
def test_calculator_rejects_bad_bodies_readably(client: TestClient, body: Any, needle: str) -> None:
    if isinstance(body, str):
        r = client.post("/api/calculate", content=body, headers={"content-type": "application/json"})
    else:
        r = client.post("/api/calculate", json=body)
    assert 400 <= r.status_code < 500, r.text
    message = readable(r)
    assert message and needle in message
    assert "Traceback" not in r.text
