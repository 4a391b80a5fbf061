"""`python -m app.server.smoke --url ws://HOST:PORT/ws [--room http://HOST:PORT/api/room --host-code CODE]`:
one session end to end (frames arrive, an ε change is confirmed, a reset to the digits table trains, so
the tables ship with the package), and, with --room, the room page's JSON counting that session."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import urllib.parse
import urllib.request
from typing import Any

from ..protocol.client import ExplorerClient


def room(url: str, code: str | None) -> dict[str, Any]:
    if code:
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"code": code})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as resp:
        data: dict[str, Any] = json.loads(resp.read())
    return data


async def smoke(url: str, token: str | None, timeout: float, room_url: str | None = None,
                host_code: str | None = None) -> str:
    async with ExplorerClient(url, token=token) as c:
        await c.play()
        first = await c.next_frame(timeout)
        await c.set(eps=0.3)
        for _ in range(200):
            frame = await c.next_frame(timeout)
            if abs(frame["eps"] - 0.3) < 1e-9:
                break
        else:
            raise RuntimeError("no frame confirmed ε = 0.3")
        if frame["step"] <= first["step"]:
            raise RuntimeError("training did not advance")
        said = f"ok: step {first['step']} → {frame['step']}, ε confirmed {frame['eps']}, device {c.hello.get('device')}"
        seen = None
        if room_url:  # keep reading frames (a playing session) until the room counts it
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                await c.next_frame(timeout)
                seen = await asyncio.to_thread(room, room_url, host_code)
                if seen["sessions"] >= 1 and seen["playing"] >= 1 and seen["fps_median"]:
                    break
            else:
                raise RuntimeError(f"/api/room did not count the playing session: {seen}")
            said += (f"; /api/room: {seen['sessions']} session, {seen['fps_median']} frames/s, "
                     f"{len(seen['workers'])} worker(s)")
        await c.reset(dataset="digits")
        state = await c.next_text("state", timeout)
        while state["config"]["dataset"] != "digits":
            state = await c.next_text("state", timeout)
        await c.play()
        digits = await c.next_frame(timeout)
        while digits["step"] < 3:
            digits = await c.next_frame(timeout)
        return said + f"; digits trained to step {digits['step']}"


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m app.server.smoke")
    p.add_argument("--url", default="ws://127.0.0.1:8000/ws")
    p.add_argument("--token")
    p.add_argument("--room", help="the room page's JSON, e.g. http://127.0.0.1:8000/api/room")
    p.add_argument("--host-code")
    p.add_argument("--timeout", type=float, default=20.0)
    args = p.parse_args()
    try:
        print(asyncio.run(smoke(args.url, args.token, args.timeout, args.room, args.host_code)))
        return 0
    except Exception as err:  # noqa: BLE001 - a smoke test reports any failure in one line
        print(f"smoke test failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
