"""The workshop host's room page (/host) and its JSON (/api/room): who may see them (the host code, else this
machine's own browser), what they count (sessions, frames, steps, errors, refusals), and the attendee link's
QR code, read back with a QR reader (zxing-cpp)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
import zxingcpp
from starlette.testclient import TestClient

from app.protocol.client import ExplorerClient
from app.server.flow import FlowControl
from app.server.room import Room, falling_warning, machine_ticks
from app.server.settings import Settings
from app.server.sqlite_store import SqliteStore
from app.server.store import Store
from tests.support.inprocess import ThreadServer
from tests.support.server import await_for

HOST_CODE = "projector-42"
ROOM_KEYS = {"sessions", "max_sessions", "workers", "fps_min", "fps_median", "steps_per_s_median",
             "errors_last_minute", "refused_last_minute", "attendee_urls", "device", "warning", "send_mbps",
             "room_mbps", "ack_rtt_ms_median", "ack_rtt_ms_max"}
TIMEOUT = 30.0


@pytest.fixture
def room_client(make_client: Callable[..., TestClient]) -> Callable[..., TestClient]:
    """room_client(**settings) → make_client's started TestClient on a fresh app and registry, following
    no redirects (the tests look at the redirect that drops ?code= from the address)."""

    def make(**overrides: Any) -> TestClient:
        client = make_client(**overrides)
        client.follow_redirects = False
        return client

    return make


# ---- who may see it ---------------------------------------------------------------------------------------
def test_room_is_refused_without_the_host_code_and_with_a_wrong_one(room_client: Any) -> None:
    http = room_client(host_code=HOST_CODE)
    for params, cookies, words in [
        ({}, {}, "needs the host code"),
        ({"code": "projector-43"}, {}, "not right"),  # wrong, same length
        ({"code": ""}, {}, "needs the host code"),
        ({}, {"lse_host": "nope"}, "not right"),
        ({"code": "nope"}, {"lse_host": HOST_CODE}, "not right"),  # a wrong code in the link wins over the cookie
    ]:
        http.cookies.clear()
        for name, value in cookies.items():
            http.cookies.set(name, value)
        page = http.get("/host", params=params)
        assert page.status_code == 401, (params, cookies)
        assert words in page.text and 'action="/host"' in page.text
        assert "room-sessions" not in page.text and "attendee-qr" not in page.text  # nothing of the room shows
        api = http.get("/api/room", params=params)
        assert api.status_code == 401 and words in api.json()["error"], api.text
        assert "sessions" not in api.json()


def test_room_is_allowed_with_the_host_code(room_client: Any) -> None:
    http = room_client(host_code=HOST_CODE, access_code="poodle")
    link = http.get("/host", params={"code": HOST_CODE, "lang": "en"})
    assert link.status_code == 303
    assert link.headers["location"] == "/host?lang=en"  # the code leaves the address bar, the rest stays
    cookie = link.headers["set-cookie"]
    assert cookie.startswith(f"lse_host={HOST_CODE};")
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    page = http.get("/host")  # the client kept the cookie
    assert page.status_code == 200 and 'id="room-sessions"' in page.text
    api = http.get("/api/room")
    assert api.status_code == 200 and set(api.json()) >= ROOM_KEYS, api.json()
    assert api.headers["cache-control"] == "no-store"
    http.cookies.clear()
    assert http.get("/api/room", params={"code": HOST_CODE}).status_code == 200  # scripts: the code in the query
    assert http.get("/api/room").status_code == 401
    assert http.get("/host", params={"token": "poodle"}).status_code == 401  # the attendees' code is not the host's


def test_without_a_host_code_only_this_machines_browser_sees_the_room(room_client: Any) -> None:
    http = room_client()  # the TestClient's requests come from "testclient", not from a loopback address
    page = http.get("/host")
    assert page.status_code == 401 and "only to a browser on this machine" in page.text
    assert 'action="/host"' not in page.text  # no code would help: none is set
    assert http.get("/api/room").status_code == 401
    assert http.get("/host", params={"code": "anything"}).status_code == 401

    with ThreadServer(Settings(device="cpu")) as server, httpx.Client(base_url=server.http, timeout=10) as local:
        assert local.get("/host").status_code == 200
        room = local.get("/api/room")
        assert room.status_code == 200 and set(room.json()) >= ROOM_KEYS
        # through a proxy on this machine the client is not this machine: refused
        for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
            assert local.get("/api/room", headers={header: "192.0.2.7"}).status_code == 401, header


def test_a_host_code_equal_to_the_access_code_or_unfit_for_a_link_is_refused_in_words() -> None:
    with pytest.raises(ValueError, match="HOST_CODE must differ from ACCESS_CODE"):
        Settings(host_code="same", access_code="same")
    for bad in ("two words", "a;b", "é", "x\n"):
        with pytest.raises(ValueError, match=r"HOST_CODE may hold only letters, digits and - \. _ ~"):
            Settings(host_code=bad)
    assert Settings(host_code="A-b.c_d~9").host_code == "A-b.c_d~9"


# ---- what it counts ---------------------------------------------------------------------------------------
def test_room_counts_three_playing_clients_and_none_after_they_leave(monkeypatch: pytest.MonkeyPatch) -> None:
    stop = asyncio.Event()

    async def drain(c: ExplorerClient) -> None:
        """Read frames, as a page does, until told to stop. Not by cancellation alone: Python 3.11's
        wait_for (inside next_frame) can swallow a cancel that meets a frame arriving."""
        while not stop.is_set():
            await c.next_frame(TIMEOUT)

    async def main(server: ThreadServer, http: httpx.AsyncClient) -> None:
        async def room() -> dict[str, Any]:
            r = await http.get("/api/room")
            assert r.status_code == 200, r.text
            return dict(r.json())

        clients = [ExplorerClient(server.ws, open_timeout=TIMEOUT) for _ in range(3)]
        for c in clients:
            await c.__aenter__()
            await c.play()
        readers = [asyncio.create_task(drain(c)) for c in clients]
        try:
            async def all_playing() -> dict[str, Any] | None:
                r = await room()
                return r if r["playing"] == 3 and r["fps_min"] and r["steps_per_s_median"] and r["send_mbps"] else None

            seen = await await_for(all_playing, 30, "/api/room counting 3 playing sessions", 0.3)
            assert seen["sessions"] == 3 and sum(w["sessions"] for w in seen["workers"]) == 3, seen
            assert len(seen["workers"]) == 1 and seen["workers"][0]["cpu_percent"] > 0
            assert 0 < seen["fps_min"] <= seen["fps_median"] <= 31, seen
            assert seen["errors_last_minute"] == 0 and seen["refused_last_minute"] == 0
            assert seen["ack_rtt_ms_median"] is not None and 0 < seen["ack_rtt_ms_median"] <= seen["ack_rtt_ms_max"]
            assert seen["room_mbps"] is None  # no budget set
            print(f"\n3 sessions: {seen['fps_min']}–{seen['fps_median']} frames/s, "
                  f"{seen['steps_per_s_median']} steps/s, CPU {seen['workers'][0]['cpu_percent']} %")
        finally:
            stop.set()
            for task in readers:
                task.cancel()
            await asyncio.wait_for(asyncio.gather(*readers, return_exceptions=True), TIMEOUT)
            for c in clients:
                await asyncio.wait_for(c.__aexit__(None, None, None), TIMEOUT)

        async def empty() -> dict[str, Any] | None:
            r = await room()
            return r if r["sessions"] == 0 and r["workers"][0]["sessions"] == 0 and r["playing"] == 0 else None

        gone = await await_for(empty, 15, "/api/room back to 0 sessions", 0.3)
        assert gone["fps_median"] is None and gone["fps_min"] is None

    with ThreadServer(Settings(device="cpu")) as server:
        async def run() -> None:
            async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
                await main(server, http)

        asyncio.run(run())
        assert not server.log.records, server.log.messages()


def test_room_counts_errors_and_refused_connections_by_reason(room_client: Any, open_ws: Any) -> None:
    http = room_client(host_code=HOST_CODE, access_code="poodle", max_sessions=1)
    params = {"code": HOST_CODE}
    with open_ws(http, "/ws?token=poodle") as ws:
        ws.send("{not json")
        assert "valid JSON" in ws.error()
        ws.send({"type": "set", "eps": 7})
        assert "eps" in ws.error()
        with http.websocket_connect("/ws?token=poodle") as full:  # the one place is taken
            assert full.receive()["type"] == "websocket.close"
        with http.websocket_connect("/ws?token=wrong") as wrong:
            assert wrong.receive()["type"] == "websocket.close"
        with http.websocket_connect("/ws?token=poodle", headers={"origin": "https://evil.example"}) as evil:
            assert evil.receive()["type"] == "websocket.close"
        room = http.get("/api/room", params=params).json()
        assert room["errors_last_minute"] == 2, room
        assert room["refused_by_reason"] == {"full": 1, "code": 1, "origin": 1}
        assert room["refused_last_minute"] == 3 and room["sessions"] == 1


def _session(frames: int, step: int, playing: bool = True, fps: int = 30) -> Any:
    """A stand-in for a Connection: what Room.sample reads of it (its live session and its flow control)."""
    conn = type("Conn", (), {})()
    conn.live = type("Live", (), {})()
    conn.live.session = type("Session", (), {"step_count": step})()
    conn.live.playing, conn.live.fps = playing, fps
    conn.flow = FlowControl()
    _deliver(conn, frames)
    return conn


def _deliver(conn: Any, frames: int, size: int = 3_000, rtt: float = 0.01, ack: bool = True) -> None:
    """`frames` frames of `size` bytes sent to conn and, with `ack`, acknowledged `rtt` seconds later."""
    for _ in range(frames):
        number = conn.flow.last_sent + 1
        conn.flow.sent(number, 0.0, size)
        if ack:
            conn.flow.ack(number, rtt)


def test_room_rates_come_from_the_counts_over_the_window(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two samples 2 s apart: 40 frames received and 180 steps in between are 20 frames/s and 90 steps/s; a paused
    session and one that opened in between have no rate; a reset (fewer steps) counts from zero; a script that
    never acknowledges counts the frames sent. The bytes sent and the acknowledgements' round trips add up."""
    clock = [100.0]
    monkeypatch.setattr("app.server.room.time.monotonic", lambda: clock[0])
    a, b, paused, reset = _session(0, 0), _session(0, 500), _session(0, 10, playing=False), _session(0, 900)
    script = _session(0, 0)
    conns: set[Any] = {a, b, paused, reset, script}
    room = Room(Store(SqliteStore(tmp_path, 100)), conns)
    room.sample()
    clock[0] += 2.0
    _deliver(a, 40)
    _deliver(b, 30, rtt=0.03)
    _deliver(script, 2, ack=False)
    a.live.session.step_count, b.live.session.step_count, reset.live.session.step_count = 180, 560, 20
    late = _session(0, 0)
    conns.add(late)
    room.refused("full")
    room.error_sent()
    stats = room.sample()
    assert stats["sessions"] == 6
    assert sorted(stats["fps"]) == [0.0, 1.0, 15.0, 20.0]  # script, b, a and the reset one (which got nothing)
    assert sorted(stats["steps_per_s"]) == [0.0, 0.0, 30.0, 90.0]
    assert stats["send_mbps"] == pytest.approx(72 * 3_000 * 8 / 2 / 1e6)
    assert sorted(stats["rtt_ms"]) == [10.0, 30.0]
    assert stats["refused"] == {"full": 1, "code": 0, "origin": 0} and stats["errors"] == 1
    clock[0] += 61.0
    later = room.sample()
    assert later["errors"] == 0 and later["refused"]["full"] == 0  # a minute later they are out of the count
    conns.discard(a)
    clock[0] += 1.0
    room.sample()
    assert a not in room.samples[-1][3]  # a closed session is not sampled
    clock[0] += 5.0
    room.sample()
    assert all(a not in seen for *_, seen in room.samples)  # and forgotten once out of the window


def test_the_warning_appears_when_the_median_session_gets_less_than_it_asks() -> None:
    busy, idle = 95.0, 20.0  # how busy the CPUs are (%)
    assert falling_warning([], [], 30, busy) is None
    assert falling_warning([29.5, 30, 28], [30, 30, 30], 30, busy) is None
    assert falling_warning([30, 30, 6], [30, 30, 30], 30, busy) is None  # one slow laptop is not the room
    assert falling_warning([20, 21, 22], [30, 30, 30], 30, busy) == \
        "the CPUs are the limit: frame rates are falling; set FPS_CAP=10 or add a machine"
    assert falling_warning([9.5, 9.8], [10, 10], 10, busy) is None
    assert falling_warning([5, 6], [10, 10], 10, busy) == \
        "the CPUs are the limit: frame rates are falling; lower MAX_SESSIONS or add a machine"
    assert falling_warning([5, 6], [5, 6], 30, busy) is None  # attendees who asked for fewer frames get them
    # frames lost while the CPUs have room: the network's doing (or the browsers'), and the line says so
    network = str(falling_warning([20, 21, 22], [30, 30, 30], 30, idle, rtt_ms=420.0))
    assert network.startswith("the network is the limit") and "420 ms" in network
    budget = str(falling_warning([8, 9], [30, 30], 30, idle, rtt_ms=40.0, send_mbps=19.5, room_mbps=20.0))
    assert budget.startswith("the room's budget is the limit") and "ROOM_MBPS=20" in budget


def test_the_machines_cpu_is_read_from_proc_stat() -> None:
    busy, ticks = machine_ticks()
    assert 0 < busy < ticks
    sum(i * i for i in range(300_000))  # some work, so busy ticks can only grow
    later = machine_ticks()
    assert later[0] >= busy and later[1] > ticks


# ---- the attendee link and its QR code --------------------------------------------------------------------
def svg_to_matrix(svg: str) -> np.ndarray:
    """segno's SVG (one path of horizontal 1-unit strokes: M/m moves, h/H lines) back into modules (1 = dark)."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))  # type: ignore[union-attr]
    path = re.search(r'<path[^>]* d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    dark = np.zeros((size, size), dtype=np.uint8)
    x = y = 0.0
    for op, args in re.findall(r"([MmHh])([^MmHh]+)", path):
        nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", args)]
        if op in "Mm":
            x, y = (nums[0], nums[1]) if op == "M" else (x + nums[0], y + nums[1])
        else:
            end = nums[0] if op == "H" else x + nums[0]
            dark[int(y), int(x):int(end)] = 1
            x = end
    return dark


def read_qr(svg: str) -> list[str]:
    image = np.kron(1 - svg_to_matrix(svg), np.ones((8, 8), dtype=np.uint8)) * 255  # white 255, dark 0
    return [r.text for r in zxingcpp.read_barcodes(image.astype(np.uint8))]


def test_the_qr_code_decodes_to_the_attendee_link(room_client: Any) -> None:
    http = room_client(host_code=HOST_CODE, access_code="poo dle&x")
    assert http.get("/host", params={"code": HOST_CODE}).status_code == 303  # sets the host cookie
    page = http.get("/host", headers={"host": "192.168.1.10:8000"})  # opened by the machine's LAN address
    assert page.status_code == 200
    link = "http://192.168.1.10:8000/?token=poo%20dle%26x"
    assert re.findall(r'data-testid="attendee-url">([^<]+)<', page.text)[0] == link
    assert http.get("/api/room", headers={"host": "192.168.1.10:8000"}).json()["attendee_urls"][0] == link
    svgs = re.findall(r'data-testid="attendee-qr"[^>]*>(<svg.*?</svg>)', page.text, re.S)
    assert svgs, "no QR code on the page"
    assert read_qr(svgs[0]) == [link]
    # the link opens the explorer: its token is the access code (a wrong one would get the 401 page)
    http.cookies.clear()
    assert http.get(link.removeprefix("http://192.168.1.10:8000")).status_code == 303
    assert http.get("/?token=poo%20dle").status_code == 401


def test_the_qr_reader_in_this_test_can_fail() -> None:
    """The reader sees a different link as different, and a damaged code as none (so the test above means it)."""
    from app.server.join import qr_svg

    svg = qr_svg("http://10.0.0.1:8000/")
    assert read_qr(svg) == ["http://10.0.0.1:8000/"]
    assert read_qr(svg) != ["http://10.0.0.2:8000/"]
    blank = re.sub(r' d="[^"]+"', ' d="M4 4.5h1"', svg)
    assert read_qr(blank) == []


def test_a_session_without_a_live_training_yet_is_counted_without_rates(tmp_path: Any) -> None:
    """A connection whose session is still being built (no `live` yet) is a session, with no rate."""
    starting = type("Conn", (), {"live": None})()
    room = Room(Store(SqliteStore(tmp_path, 100)), {starting, _session(0, 0)})
    stats = room.sample()
    assert stats["sessions"] == 2 and stats["fps"] == []
