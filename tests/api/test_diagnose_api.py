"""/diagnose over HTTP (issue 23): the page; POST /api/diagnose answers what `diagnose --json` prints, every bad
file and setting in one sentence (400, 413, 422, 503), the upload bounded while it streams, parsed off the event
loop, never written to disk, the server serving on; POST /api/diagnose/html gives the file `diagnose --html`
writes; the access code and the same-origin rule hold."""

from __future__ import annotations

import asyncio
import builtins
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

import app.server.diagnose as route
from app.__main__ import main
from tests.api.test_security import ScriptAudit
from tests.support import wire
from tests.support.diagnose import CASES_DIR, bad_files, network, npz_bytes

OCTETS = {"content-type": "application/octet-stream"}


def post(client: TestClient, data: Any, headers: dict[str, str] | None = None, **params: Any) -> httpx.Response:
    return client.post("/api/diagnose", params=params, content=data, headers={**OCTETS, **(headers or {})})


@pytest.fixture(scope="module")
def net_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("net") / "net.npz"
    path.write_bytes(npz_bytes(network(k=6, names=True)))
    return path


def cli_out(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["diagnose", *args]) == 0
    out: str = capsys.readouterr().out
    return out


def test_the_page_is_served_with_its_limits_and_a_strict_csp(client: TestClient) -> None:
    r = client.get("/diagnose")
    assert r.status_code == 200
    assert '<a href="/diagnose" aria-current="page">your network</a>' in r.text
    boot = json.loads(r.text.split('<script type="application/json" id="page-data">')[1].split("</script>")[0])
    assert boot["diagnose"] == {"max_mb": 200, "points_per_class": 100, "max_points": 2000}
    audit = ScriptAudit()
    audit.feed(r.text)
    assert not audit.problems, audit.problems
    assert "/static/js/diagnose/main.js" in audit.scripts
    for src in audit.scripts:
        assert client.get(src).status_code == 200, src
    assert "script-src 'self';" in r.headers["content-security-policy"]


def test_a_file_gives_the_report_the_cli_prints(client: TestClient, net_file: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    r = post(client, net_file.read_bytes(), classes="kind 0,kind 3,4", eps="0.1", points_per_class="25")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    out = cli_out(capsys, str(net_file), "--json", "--classes", "kind 0,kind 3,4", "--eps", "0.1",
                  "--points-per-class", "25")
    assert r.text == out.rstrip("\n")


def test_the_html_route_gives_the_file_the_cli_writes(client: TestClient, net_file: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    report = post(client, net_file.read_bytes(), eps="0.05").text
    r = client.post("/api/diagnose/html", content=report, headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["content-disposition"] == 'attachment; filename="diagnose.html"'
    cli_out(capsys, str(net_file), "--eps", "0.05", "--html", str(tmp_path / "cli.html"))
    assert r.content == (tmp_path / "cli.html").read_bytes()


@pytest.mark.parametrize("body", [b"", b"{not json", b"[1, 2]", b'{"k": 3}', "ü".encode("latin-1")])
def test_the_html_route_refuses_what_is_not_a_report(client: TestClient, body: bytes) -> None:
    r = client.post("/api/diagnose/html", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json() == {"error": "That is not a diagnose report: send the JSON /api/diagnose answered."}


CASES = [c for c in bad_files() if "max_mb" not in c]  # the server's cap is whole MB: the small-cap case below


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_every_bad_file_gets_its_sentence(client: TestClient, case: dict[str, Any]) -> None:
    r = post(client, (CASES_DIR / case["file"]).read_bytes())
    assert r.json() == {"error": case["error"]}
    assert r.status_code == (413 if "cap" in case["error"] else 422)
    wire.no_trace(r.text)


def test_the_server_serves_on_after_every_bad_file(client: TestClient, net_file: Path) -> None:
    for case in CASES:
        assert post(client, (CASES_DIR / case["file"]).read_bytes()).status_code in (413, 422)
    assert client.get("/healthz").json()["status"] == "ok"
    assert post(client, net_file.read_bytes()).status_code == 200
    assert client.app.state.diagnose_slots.free == route.SLOTS  # type: ignore[attr-defined]


@pytest.mark.parametrize(("params", "sentence"), [
    ({"eps": "abc"}, "eps must be a number, got 'abc'."),
    ({"eps": "1.5"}, "ε must be between 0 and 1, got 1.5."),
    ({"points_per_class": "2.5"}, "points_per_class must be a number, got '2.5'."),
    ({"points_per_class": "99999"}, "Points per class must be between 1 and 2000, got 99999."),
    ({"seed": "-1"}, "The seed must be between 0 and 4294967295, got -1."),
    ({"classes": "kind 1,kind 1,2"}, "The three classes must be different."),
    ({"classes": "0,1"}, "Give three classes, separated by commas (e.g. 3,5,8); got 2."),
])
def test_bad_settings_are_400_with_a_sentence(client: TestClient, net_file: Path, params: dict[str, str],
                                              sentence: str) -> None:
    r = post(client, net_file.read_bytes(), **params)
    assert (r.status_code, r.json()) == (400, {"error": sentence})


def test_uploads_over_the_cap_are_refused_declared_or_streamed(make_client: Callable[..., TestClient],
                                                               net_file: Path) -> None:
    small = make_client(diagnose_max_mb=1)
    big = b"\0" * 1_500_000
    r = post(small, big)
    assert (r.status_code, r.json()) == (413, {"error": "The file is over the 1 MB cap."})

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(40):
            yield b"\0" * 65_536

    r = post(small, chunks())
    assert (r.status_code, r.json()) == (413, {"error": "The file is over the 1 MB cap."})
    assert small.app.state.diagnose_slots.free == route.SLOTS  # type: ignore[attr-defined]
    assert post(small, net_file.read_bytes()).status_code == 200  # under the cap: read
    too_big_report = small.post("/api/diagnose/html", content=b" " * (route.MAX_REPORT_BYTES + 1))
    assert (too_big_report.status_code, too_big_report.json()) == (
        413, {"error": "That is too large to be a diagnose report."})
    assert small.post("/api/calculate", content=b"[" * 100_000).status_code == 413  # the others keep 64 KB


def test_a_busy_worker_says_so(client: TestClient, net_file: Path) -> None:
    slots = client.app.state.diagnose_slots  # type: ignore[attr-defined]
    taken = [slots.take() for _ in range(route.SLOTS)]
    try:
        assert all(taken)
        r = post(client, net_file.read_bytes())
        assert (r.status_code, r.json()) == (503, {"error": route.BUSY})
    finally:
        for _ in taken:
            slots.give()
    assert post(client, net_file.read_bytes()).status_code == 200


def test_parsed_off_the_event_loop_and_never_written_to_disk(client: TestClient, net_file: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {"writes": []}
    real_read, real_open, real_os_open = route.read_dump, builtins.open, os.open

    def read_dump(data: bytes, max_mb: float) -> Any:
        try:
            asyncio.get_running_loop()
            seen["on_loop"] = True
        except RuntimeError:
            seen["on_loop"] = False
        return real_read(data, max_mb)

    def watched_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+"):
            seen["writes"].append(file)
        return real_open(file, mode, *args, **kwargs)

    def watched_os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> Any:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            seen["writes"].append(path)
        return real_os_open(path, flags, *args, **kwargs)

    data = net_file.read_bytes()
    monkeypatch.setattr(route, "read_dump", read_dump)
    monkeypatch.setattr(builtins, "open", watched_open)
    monkeypatch.setattr(os, "open", watched_os_open)
    r = post(client, data)
    monkeypatch.undo()
    assert r.status_code == 200
    assert seen == {"on_loop": False, "writes": []}


def test_the_access_code_and_the_origin(make_client: Callable[..., TestClient], net_file: Path) -> None:
    locked = make_client(access_code="poodle")
    data = net_file.read_bytes()
    assert locked.get("/diagnose").status_code == 401
    r = post(locked, data)
    assert r.status_code == 401
    assert r.json() == {"error": "This server needs its access code: open the page with ?token=…"}
    assert locked.post("/api/diagnose/html", content=b"{}").status_code == 401
    assert post(locked, data, token="poodle").status_code == 200
    locked.cookies.set("lse_token", "poodle")
    assert locked.get("/diagnose").status_code == 200
    assert post(locked, data).status_code == 200
    evil = post(locked, data, headers={"origin": "https://evil.example"})
    assert (evil.status_code, evil.json()) == (403, {"error": "Files are taken from this server's own pages only."})
    assert post(locked, data, headers={"origin": "http://testserver"}).status_code == 200
