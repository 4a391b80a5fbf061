"""Scale-out for real: Debian's nginx (deploy/nginx-local.sh) in front of two uvicorn instances of the app.

Through nginx: the page, /healthz and a large static file; several live WebSocket sessions (play, frames,
an ε change confirmed) spread over both backends; the same-origin check seeing the port the browser used.
Also: deploy/nginx.conf (the compose `scale` profile's) passes `nginx -t` and has the same proxy rules as
the template tested here. Skipped only where nginx is missing and CI is not set (`make test` installs it).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from app.protocol.client import ExplorerClient
from tests.support.nginx import NGINX, NginxLocal
from tests.support.server import REPO, ServerProcess, free_port, get_json, wait_for

SESSIONS = 4
TIMEOUT = 30.0  # seconds for one server message; the machine may be busy

if NGINX is None:
    if os.environ.get("CI"):
        pytest.fail("nginx is not installed (make test installs nginx-light)", pytrace=False)
    pytest.skip("nginx is not installed (make test installs nginx-light)", allow_module_level=True)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxLocal]:
    base = tmp_path_factory.mktemp("scale-out")
    backends: list[ServerProcess] = []
    try:
        backends += [ServerProcess(base=base).start(), ServerProcess(base=base).start()]
        with NginxLocal(*backends) as p:
            yield p
    finally:
        for server in backends:
            server.stop()


def test_page_healthz_and_static_files_through_nginx(proxy: NginxLocal) -> None:
    with urllib.request.urlopen(proxy.http + "/", timeout=10) as resp:
        assert resp.status == 200
        assert "<title>Label Smoothing Explorer</title>" in resp.read().decode()
        assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    health = get_json(proxy.http + "/healthz")
    assert health["status"] == "ok" and health["max_sessions"] == 60 and health["sessions"] == 0
    # the largest file the page loads (1.5 MB) streams through nginx whole
    vendor = REPO / "static/vendor/plotly-cartesian-4.1.1.min.js"
    with urllib.request.urlopen(proxy.http + "/static/vendor/" + vendor.name, timeout=30) as resp:
        assert resp.status == 200 and resp.read() == vendor.read_bytes()


def test_sessions_through_nginx_are_served_by_both_backends(proxy: NginxLocal) -> None:
    a, b = proxy.backends
    origin = f"http://127.0.0.1:{proxy.port}"  # what a browser on http://127.0.0.1:PORT/ sends

    async def session(c: ExplorerClient, eps: float) -> tuple[int, int]:
        await c.play()
        first = await c.next_frame(TIMEOUT)
        await c.set(eps=eps)
        state = await c.next_text("state", TIMEOUT)
        while state["eps"] != pytest.approx(eps):  # the play's own state message may come first
            state = await c.next_text("state", TIMEOUT)
        assert state["playing"] is True
        for _ in range(500):
            frame = await c.next_frame(TIMEOUT)
            if frame["eps"] == pytest.approx(eps):
                break
        else:
            raise AssertionError(f"no frame confirmed ε = {eps}")
        assert frame["step"] > first["step"], "training did not advance"
        assert not c.errors
        return int(first["step"]), int(frame["step"])

    async def main() -> dict[int, int]:
        clients = []
        try:
            for i in range(SESSIONS):  # one after the other: least_conn then alternates the backends
                c = ExplorerClient(proxy.ws, origin=origin if i % 2 else None, open_timeout=TIMEOUT)
                clients.append(await c.__aenter__())
            # while the sessions are open, each backend counts its own
            counts = (a.healthz()["sessions"], b.healthz()["sessions"])
            assert sum(counts) == SESSIONS and min(counts) >= 1, f"sessions per backend: {counts}"
            results = await asyncio.gather(*(session(c, 0.1 + 0.05 * i) for i, c in enumerate(clients)))
            assert all(last > first for first, last in results)
            return {c.ws.local_address[1]: i for i, c in enumerate(clients)}
        finally:
            for c in clients:
                await c.__aexit__(None, None, None)

    by_port = asyncio.run(main())

    # nginx logs a WebSocket when it closes: map each session (by its client port) to its backend
    pattern = re.compile(r'^127\.0\.0\.1:(\d+) "GET /ws[ ?][^"]*" 101 upstream=127\.0\.0\.1:(\d+)$')

    def served() -> dict[int, int]:
        found: dict[int, int] = {}
        for line in proxy.access_log():
            m = pattern.match(line)
            if m and int(m.group(1)) in by_port:
                found[by_port[int(m.group(1))]] = int(m.group(2))
        return found if len(found) == SESSIONS else {}

    upstream = wait_for(served, 15, "an access-log line (status 101) for every session")
    assert set(upstream.values()) == {a.port, b.port}, f"session → backend port: {upstream}"
    wait_for(lambda: a.healthz()["sessions"] == b.healthz()["sessions"] == 0, 15, "both backends idle")


def test_origin_check_sees_the_port_through_nginx(proxy: NginxLocal) -> None:
    """nginx passes Host with the port ($http_host): the page's own origin is accepted, others refused."""

    async def close_code(origin: str) -> tuple[int, str]:
        with pytest.raises(websockets.ConnectionClosed) as info:
            async with ExplorerClient(proxy.ws, origin=origin, open_timeout=TIMEOUT):
                pass
        assert info.value.rcvd is not None, "the server did not send a close frame"
        return info.value.rcvd.code, info.value.rcvd.reason

    async def main() -> None:
        async with ExplorerClient(proxy.ws, origin=f"http://127.0.0.1:{proxy.port}", open_timeout=TIMEOUT) as c:
            assert c.hello["type"] == "hello"
            await c.step(5)
            for _ in range(100):  # the session's first frame (step 0) may come before the steps
                frame = await c.next_frame(TIMEOUT)
                if frame["step"] == 5:
                    break
            else:
                raise AssertionError("no frame showed the 5 steps")
        for foreign in ("http://evil.example", f"http://localhost:{proxy.port}", "http://127.0.0.1"):
            code, reason = await close_code(foreign)
            assert code == 1008 and "origin" in reason, (foreign, code, reason)

    asyncio.run(main())


LOCATION = re.compile(r"location (\S+) \{(.*?)\}", re.S)


def proxy_rules(text: str) -> dict[str, list[str]]:
    """Each location's directives, comments and indentation removed."""
    rules = {}
    for path, body in LOCATION.findall(text):
        lines = (re.sub(r"\s+", " ", line.split("#")[0]).strip() for line in body.splitlines())
        rules[path] = [line for line in lines if line]
    return rules


def test_compose_nginx_conf_matches_the_tested_template_and_is_valid(tmp_path: Path) -> None:
    conf = (REPO / "deploy/nginx.conf").read_text()
    template = (REPO / "deploy/nginx-local.conf.template").read_text()
    assert proxy_rules(conf) == proxy_rules(template) != {}
    assert set(proxy_rules(conf)) == {"/ws", "/"}
    for text in (conf, template):
        assert re.search(r"^\s*(least_conn|ip_hash);", text, re.M)
        assert "proxy_set_header Host              $http_host;" in text and "$host;" not in text

    # deploy/nginx.conf is a conf.d file of the stock nginx image: check it inside a minimal main config,
    # with the compose service names pointed at this machine and an unprivileged listen port.
    snippet = conf.replace("explorer-a:8000", "127.0.0.1:1").replace("explorer-b:8000", "127.0.0.1:2")
    snippet = re.sub(r"listen 80;", f"listen 127.0.0.1:{free_port()};", snippet)
    (tmp_path / "default.conf").write_text(snippet)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path}/body;\n  proxy_temp_path {tmp_path}/proxy;\n"
        f"  include {tmp_path}/default.conf;\n}}\n"
    )
    assert NGINX is not None
    check = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
                            "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
