"""`python -m app.server.smoke --url ws://HOST:PORT/ws`: one session end to end (frames arrive, ε change confirmed)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from ..protocol.client import ExplorerClient


async def smoke(url: str, token: str | None, timeout: float) -> str:
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
        return f"ok: step {first['step']} → {frame['step']}, ε confirmed {frame['eps']}, device {c.hello.get('device')}"


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m app.server.smoke")
    p.add_argument("--url", default="ws://127.0.0.1:8000/ws")
    p.add_argument("--token")
    p.add_argument("--timeout", type=float, default=20.0)
    args = p.parse_args()
    try:
        print(asyncio.run(smoke(args.url, args.token, args.timeout)))
        return 0
    except Exception as err:  # noqa: BLE001 - a smoke test reports any failure in one line
        print(f"smoke test failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
