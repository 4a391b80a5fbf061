"""Security of the live explorer: the WebSocket's same-origin check, no CORS, a strict CSP with no inline
script, security headers on every answer, errors as plain JSON without stack traces, huge bodies refused
before they are read, and a container that does not run as root.
"""

from __future__ import annotations

import asyncio
import logging
from html.parser import HTMLParser
from typing import Any

import pytest
import websockets
from starlette.testclient import TestClient

from app.server.app import create_app
from tests.support import wire
from tests.support.inprocess import ThreadServer, fresh_settings
from tests.support.server import REPO


# ---- 5. security ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("origin", "allowed"), [
    (None, True),  # scripts and the CLI send no Origin
    ("same", True),
    ("https://evil.example", False),
    ("http://127.0.0.1:1", False),  # same host, another port: another origin
    ("null", False),  # sandboxed frames and file:// pages
    ("http://127.0.0.1.evil.example", False),
])
def test_websocket_checks_origin_against_the_served_host(server: ThreadServer, origin: str | None,
                                                          allowed: bool) -> None:
    if origin == "same":
        origin = server.http

    async def go() -> None:
        headers = {"Origin": origin} if origin else None
        async with websockets.connect(server.ws, additional_headers=headers) as ws:
            if allowed:
                hello = await wire.receive(ws, 20)
                assert isinstance(hello, dict) and hello["type"] == "hello"
                return
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await wire.receive(ws, 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
            assert "origin" in closed.value.rcvd.reason

    asyncio.run(go())


def test_no_cors_anywhere(http: TestClient) -> None:
    evil = {"Origin": "https://evil.example"}
    preflight = http.options("/api/calculate", headers={**evil, "Access-Control-Request-Method": "POST",
                                                          "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code in (404, 405), preflight.status_code
    for r in [preflight, http.get("/healthz", headers=evil), http.get("/api/config", headers=evil),
              http.post("/api/calculate", json={"probs": [0.5, 0.5], "label": 0, "eps": 0.1}, headers=evil)]:
        assert not any(k.lower().startswith("access-control-") for k in r.headers), dict(r.headers)
    assert not any("cors" in m.cls.__name__.lower() for m in http.app.user_middleware)  # type: ignore[attr-defined]


JS_TYPES = {"", "module", "text/javascript", "application/javascript", "text/ecmascript", "application/ecmascript"}


class ScriptAudit(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts, on* handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> inline event handler")
            if value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        if tag == "script":
            kind = (a.get("type") or "").strip().lower()
            # a data block (type="application/json") is never executed, so CSP has nothing to say about it
            self._in_script = kind in JS_TYPES
            if a.get("src"):
                self.scripts.append(str(a["src"]))
            elif kind in JS_TYPES:
                self.problems.append("<script> without src (inline script)")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline script body: {data.strip()[:60]!r}")


def test_page_has_a_strict_csp_and_no_inline_script(http: TestClient) -> None:
    r = http.get("/")
    assert r.status_code == 200
    csp = {d.split()[0]: d.split()[1:] for d in r.headers["content-security-policy"].split(";") if d.strip()}
    assert csp["script-src"] == ["'self'"], csp
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert r.headers["x-content-type-options"] == "nosniff"
    audit = ScriptAudit()
    audit.feed(r.text)
    assert not audit.problems, audit.problems
    assert audit.scripts, "the page loads no script at all?"
    for src in audit.scripts:  # every script comes from this server
        assert src.startswith("/static/"), src
        assert http.get(src).status_code == 200, src


@pytest.mark.parametrize("path", ["/", "/healthz", "/static/js/lib/socket.js", "/nope", "/api/config"])
def test_security_headers_on_every_response(http: TestClient, path: str) -> None:
    r = http.get(path)
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_errors_are_friendly_json_without_stack_traces(http: TestClient) -> None:
    r = http.get("/no/such/page")
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    wire.no_trace(r.text)
    r = http.delete("/healthz")
    assert r.status_code == 405
    wire.no_trace(r.text)
    r = http.post("/api/calculate", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()
    wire.no_trace(r.text)
    r = http.post("/api/calculate", json={"probs": [1e308, 1e308], "label": 0, "eps": 0.1})
    assert r.status_code == 422 and "error" in r.json()
    wire.no_trace(r.text)
    r = http.post("/api/calculate", content=b'{"eps": NaN, "label": Infinity}',
                  headers={"content-type": "application/json"})
    assert r.status_code == 422  # not echoed back: NaN is not JSON
    assert [d["loc"] for d in r.json()["detail"]] == [["body", "probs"], ["body", "label"], ["body", "eps"]]


def test_huge_bodies_are_refused_before_they_are_read(http: TestClient) -> None:
    r = http.post("/api/calculate", content=b"[" * 10_000_000, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json() == {"error": "request body too large: at most 64 KB"}
    assert "frame-ancestors" in r.headers["content-security-policy"]

    def chunks() -> Any:  # no Content-Length: counted as it streams
        for _ in range(200):
            yield b"0" * 4096

    r = http.post("/api/calculate", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    wire.no_trace(r.text)


def test_an_unexpected_error_is_logged_and_answered_plainly(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(fresh_settings())

    @app.get("/boom")
    async def boom() -> None:
        raise ZeroDivisionError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        r = client.get("/boom")
    assert r.status_code == 500
    assert r.json() == {"error": "internal server error; the server log has the details"}
    assert "secret" not in r.text
    wire.no_trace(r.text)
    assert any(rec.exc_info and rec.exc_info[0] is ZeroDivisionError for rec in caplog.records)


def test_the_container_runs_as_a_non_root_user() -> None:
    dockerfile = REPO / "Dockerfile"
    if not dockerfile.exists():
        pytest.skip("no Dockerfile in this checkout")
    lines = [line.strip() for line in dockerfile.read_text().splitlines()]
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    assert users, "the Dockerfile has no USER line: the container would run as root"
    assert users[-1].split(":")[0] not in ("root", "0"), users[-1]
