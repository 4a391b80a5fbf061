"""The load benchmark's clients (bench.load): one asyncio process holds many explorer sessions, each a real
WebSocket that speaks the flow control (every frame acknowledged as it arrives, as the page does), presses play
and times how soon a control shows in a frame. They parse only each frame's number and JSON header, so they
stay cheap; bench.load runs them in child processes and gathers what they saw.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
from multiprocessing.connection import Connection
from typing import Any

PROBE_INTERVAL = 1.0  # seconds between control-latency probes of one client
PROBE_TIMEOUT = 5.0  # a probe not confirmed by then counts as a latency timeout
CONNECT_TIMEOUT = 30.0


class Client:
    """One session: records frame arrival times and header steps; probes control latency."""

    def __init__(self, index: int, url: str, speed: int | None, compression: bool) -> None:
        self.index, self.url, self.speed, self.compression = index, url, speed, compression
        self.ws: Any = None
        self.frames: list[tuple[float, int, int]] = []  # (monotonic time, header step, bytes)
        self.bytes = 0
        self.errors: list[str] = []
        self.latencies: list[float] = []
        self.latency_timeouts = 0
        self.probe: tuple[float, float] | None = None  # (eps, sent at)
        self.confirmed = asyncio.Event()
        self.connected_at: float | None = None
        self.first_frame_s: float | None = None
        self.extensions: str | None = None
        self.closed_early = False
        self.done = False

    async def connect(self) -> bool:
        from websockets.asyncio.client import connect

        t0 = time.monotonic()
        try:
            self.ws = await connect(self.url, open_timeout=CONNECT_TIMEOUT, max_size=16 * 2**20, proxy=None,
                                    compression="deflate" if self.compression else None, ping_interval=None)
            self.extensions = self.ws.response.headers.get("Sec-WebSocket-Extensions")
            hello = json.loads(await asyncio.wait_for(self.ws.recv(), CONNECT_TIMEOUT))
            if hello.get("type") != "hello":
                raise RuntimeError(f"expected hello, got {str(hello)[:100]}")
            await self.ws.send('{"type":"play"}')
            if self.speed:
                await self.ws.send(json.dumps({"type": "set", "speed": self.speed}))
        except Exception as err:  # noqa: BLE001 - every failure is a benchmark error, reported
            self.errors.append(f"connect: {type(err).__name__}: {err}"[:300])
            return False
        self.connected_at = time.monotonic()
        self.connect_s = self.connected_at - t0
        return True

    async def receive(self) -> None:
        unpack = struct.unpack_from
        loads = json.loads
        try:
            async for msg in self.ws:
                now = time.monotonic()
                if isinstance(msg, bytes):
                    h, number = unpack("<II", msg, 0)
                    await self.ws.send(f'{{"type":"ack","frame":{number}}}')  # read: the next frame may come
                    header = loads(msg[8 : 8 + h])
                    self.frames.append((now, header["step"], len(msg)))
                    self.bytes += len(msg)
                    if self.first_frame_s is None and self.connected_at is not None:
                        self.first_frame_s = now - self.connected_at
                    if self.probe is not None and abs(header["runs"][-1]["eps"] - self.probe[0]) < 1e-12:
                        self.latencies.append(now - self.probe[1])
                        self.probe = None
                        self.confirmed.set()
                else:
                    text = loads(msg)
                    if text.get("type") == "error":
                        self.errors.append(f"server error: {text.get('message')}"[:300])
        except Exception as err:  # noqa: BLE001
            if not self.done:
                self.errors.append(f"receive: {type(err).__name__}: {err}"[:300])
        if not self.done:
            self.closed_early = True
            code = getattr(self.ws, "close_code", None)
            reason = getattr(self.ws, "close_reason", "")
            self.errors.append(f"disconnected early (close code {code}, reason {reason!r})")

    async def probe_loop(self, start: float, end: float) -> None:
        """Every ~PROBE_INTERVAL, a fresh ε; time until a frame reports it."""
        k = 0
        phase = (self.index * 0.618033988749895) % 1.0 * PROBE_INTERVAL  # spread the probes over time
        next_at = start + phase
        while True:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if time.monotonic() > end - 0.2 or self.closed_early:
                return
            k += 1
            eps = round(0.02 + 0.46 * ((self.index * 0.137 + k * 0.618033988749895) % 1.0), 6)
            self.confirmed.clear()
            self.probe = (eps, time.monotonic())
            try:
                await self.ws.send(json.dumps({"type": "set", "eps": eps}))
                await asyncio.wait_for(self.confirmed.wait(), PROBE_TIMEOUT)
            except TimeoutError:
                self.latency_timeouts += 1
                self.probe = None
            except Exception as err:  # noqa: BLE001
                self.errors.append(f"send: {type(err).__name__}: {err}"[:300])
                return
            next_at = max(next_at + PROBE_INTERVAL, time.monotonic())

    def stats(self, start: float, end: float) -> dict[str, Any]:
        inside = [(t, s) for t, s, _ in self.frames if start <= t <= end]
        times = [t for t, _ in inside]
        gaps = [(b - a) * 1e3 for a, b in zip(times, times[1:], strict=False)]
        # the gap from the window start to the first frame counts too: a starving client shows it
        if times:
            gaps.insert(0, (times[0] - start) * 1e3)
        steps_per_s = None
        if len(inside) >= 2 and inside[-1][0] > inside[0][0]:
            steps_per_s = (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])
        return {
            "index": self.index,
            "fps": len(inside) / (end - start),
            "gaps_ms": gaps,
            "max_gap_ms": max(gaps) if gaps else None,
            "steps_per_s": steps_per_s,
            "latencies_ms": [x * 1e3 for x in self.latencies],
            "latency_timeouts": self.latency_timeouts,
            "errors": self.errors,
            "frames_total": len(self.frames),
            "bytes_total": self.bytes,
            "bytes_per_s": sum(n for t, _, n in self.frames if start <= t <= end) / (end - start),
            "first_frame_ms": None if self.first_frame_s is None else self.first_frame_s * 1e3,
            "extensions": self.extensions,
        }


async def child_main(conn: Connection, indices: list[int], url: str, speed: int | None, compression: bool) -> None:
    loop = asyncio.get_running_loop()
    clients = [Client(i, url, speed, compression) for i in indices]
    receivers: list[asyncio.Task[None]] = []

    async def start(c: Client) -> None:
        await asyncio.sleep(0.01 * (c.index % 50))  # a room connects over a moment, not in one instant
        if await c.connect():
            receivers.append(asyncio.create_task(c.receive()))

    await asyncio.gather(*(start(c) for c in clients))
    conn.send(("ready", sum(c.ws is not None and c.connected_at is not None for c in clients)))
    window_start, window_end = await loop.run_in_executor(None, conn.recv)
    await asyncio.sleep(max(0.0, window_start - time.monotonic()))
    cpu0, wall0 = time.process_time(), time.monotonic()
    probes = [asyncio.create_task(c.probe_loop(window_start, window_end)) for c in clients if c.connected_at]
    await asyncio.sleep(max(0.0, window_end - time.monotonic()))
    cpu1, wall1 = time.process_time(), time.monotonic()
    await asyncio.wait_for(asyncio.gather(*probes, return_exceptions=True), PROBE_TIMEOUT + 2)
    for c in clients:
        c.done = True
    await asyncio.gather(*(c.ws.close() for c in clients if c.ws is not None), return_exceptions=True)
    for t in receivers:
        t.cancel()
    await asyncio.gather(*receivers, return_exceptions=True)
    conn.send(("done", [c.stats(window_start, window_end) for c in clients],
               (cpu1 - cpu0) / max(wall1 - wall0, 1e-9) * 100))


def child(conn: Connection, indices: list[int], url: str, speed: int | None, compression: bool) -> None:
    try:
        asyncio.run(child_main(conn, indices, url, speed, compression))
    except Exception as err:  # noqa: BLE001
        conn.send(("failed", f"{type(err).__name__}: {err}"))
    finally:
        conn.close()
