"""The room, as the workshop host's page /host and GET /api/room show it, gathered from every worker.

Each worker counts what its own sessions get: frames received (acknowledged by the page; sent, for a
client that does not acknowledge), bytes sent and the acknowledgements' round trips (each connection's
flow control, flow.py), an error sent, a connection refused (hooks in connection.py, each one deque
append on the worker's event loop, where every hook runs, so no lock). Once a second `Room.sample` turns
those counts into rates over the last few seconds (per session: frames received, bytes sent and training
steps per second; per worker: CPU) and puts them, a few hundred bytes of JSON, in the room store (store.py,
beside the sessions it admitted). `Room.report` adds up the numbers of the live workers. docs/architecture.md,
"The room".
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import statistics
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from .settings import Settings
from .store import Store, StoreDown

SAMPLE_EVERY = 1.0  # seconds between samples (and stats files)
WINDOW = 3.0  # seconds of samples a rate is taken over
STALE_AFTER = 5.0  # a worker's numbers older than this are left out (the worker hangs, or has just gone)
MINUTE = 60.0
FALLING = 0.8  # frame rates are falling when the median session gets less than this share of the fps it asks
BUSY = 75.0  # ... and it is the machine's doing when its CPUs are this busy (%), or the busiest worker is
MAX_EVENTS = 10_000  # errors and refusals remembered per worker, at most (a minute of a storm)
REFUSALS = ("full", "code", "origin")
log = logging.getLogger(__name__)
Seen = tuple[int, int, bool, int, int]  # a connection in a sample: frames received, step, playing, fps asked, bytes


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


class Room:
    """One worker's counts and samples. `connections` is the app's set of open Connection objects."""

    def __init__(self, store: Store, connections: set[Any]) -> None:
        self.store, self.connections = store, connections
        self.errors: deque[float] = deque(maxlen=MAX_EVENTS)  # when an error message went to a client
        self.refusals: deque[tuple[float, str]] = deque(maxlen=MAX_EVENTS)
        # (time, CPU seconds of this process, the machine's (busy, all) CPU ticks,
        #  {connection: (frames received, steps, playing, fps asked, bytes sent)})
        self.samples: deque[tuple[float, float, tuple[int, int], dict[Any, Seen]]] = deque()
        self.latest: dict[str, Any] = {}

    # ---- hooks (connection.py): as cheap as they can be -------------------------------------------------
    def error_sent(self) -> None:
        self.errors.append(time.monotonic())

    def refused(self, reason: str) -> None:
        """A connection refused: "full" (the session cap), "code" (no access code) or "origin"."""
        self.refusals.append((time.monotonic(), reason))

    # ---- once a second ----------------------------------------------------------------------------------
    def sample(self) -> dict[str, Any]:
        """This worker's stats now (rates over the last WINDOW seconds), also kept as `latest`."""
        now = time.monotonic()
        cpu = sum(os.times()[:2])
        machine = machine_ticks()
        seen: dict[Any, Seen] = {}
        rtts = []
        for conn in list(self.connections):
            live: Any = getattr(conn, "live", None)
            flow: Any = getattr(conn, "flow", None)
            try:
                received = flow.acked_frames if flow.acked_frames else flow.sent_frames  # a script may not ack
                seen[conn] = (received, int(live.session.step_count), bool(live.playing), int(live.fps),
                              flow.sent_bytes)
            except (AttributeError, TypeError, ValueError):
                continue  # a session still being built (or of a kind without these): counted, no rates
            if flow is not None and flow.rtts:
                rtts.append(statistics.median(flow.rtts) * 1e3)
        if not self.samples or now - self.samples[-1][0] >= SAMPLE_EVERY / 2:
            self.samples.append((now, cpu, machine, seen))  # a /api/room request in between adds none
        while len(self.samples) > 1 and now - self.samples[0][0] > WINDOW + SAMPLE_EVERY / 2:
            self.samples.popleft()
        then, cpu_then, machine_then, before = self.samples[0]
        busy, ticks = machine[0] - machine_then[0], machine[1] - machine_then[1]
        span = now - then
        fps, asked, steps, sent = [], [], [], 0.0
        if span >= SAMPLE_EVERY / 2:
            for conn, (frames, step, playing, want, sent_bytes) in seen.items():
                old = before.get(conn)
                if old is None:
                    continue  # new within the window: no rate to speak of
                sent += sent_bytes - old[4]
                if not (playing and old[2]):
                    continue  # paused at either end
                fps.append(round((frames - old[0]) / span, 1))
                asked.append(want)
                steps.append(round(max(step - old[1], 0) / span, 1))  # a reset starts the count again
        while self.errors and now - self.errors[0] > MINUTE:
            self.errors.popleft()
        while self.refusals and now - self.refusals[0][0] > MINUTE:
            self.refusals.popleft()
        refused = {reason: 0 for reason in REFUSALS}
        for _, reason in self.refusals:
            refused[reason] = refused.get(reason, 0) + 1
        self.latest = {
            "worker": self.store.worker,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "time": time.time(),
            "sessions": len(self.connections),
            "cpu_percent": round(100 * (cpu - cpu_then) / span, 1) if span > 0 else None,
            "machine_busy_percent": round(100 * busy / ticks, 1) if ticks > 0 else None,
            "fps": fps, "fps_asked": asked, "steps_per_s": steps,
            "send_mbps": round(sent * 8 / span / 1e6, 3) if span >= SAMPLE_EVERY / 2 else 0.0,
            "rtt_ms": [round(r, 1) for r in rtts],
            "errors": len(self.errors), "refused": refused,
        }
        return self.latest

    async def publish(self) -> None:
        """This worker's numbers into the room store (a store that is away: tried again next second)."""
        await self.store.call("put_stats", self.store.worker, self.store.pid, self.sample())

    async def report(self, settings: Settings, device: str, attendee_urls: list[str], notes: list[str]
                     ) -> dict[str, Any]:
        """What /api/room answers and /host shows: this worker's numbers now, the others' from the room store
        (read on its thread: a slow disk or network must not hold up the sessions that share this event loop)."""
        own = self.sample()
        try:
            others = [w for w in await self.store.call("stats", STALE_AFTER) if w.get("worker") != self.store.worker]
            sessions = int(await self.store.call("count"))
        except StoreDown:
            others, sessions = [], len(self.connections)
        workers = sorted([own, *others], key=lambda w: (str(w.get("host", "")), int(w["pid"])))
        fps = [f for w in workers for f in w["fps"]]
        asked = [a for w in workers for a in w["fps_asked"]]
        refused = {reason: sum(int(w["refused"].get(reason, 0)) for w in workers) for reason in REFUSALS}
        loads = [float(w[key]) for w in workers for key in ("cpu_percent", "machine_busy_percent")
                 if w.get(key) is not None]
        rtt = sorted(r for w in workers for r in w.get("rtt_ms", []))
        send_mbps = round(sum(float(w.get("send_mbps", 0.0)) for w in workers), 2)
        return {
            "sessions": sessions,
            "max_sessions": settings.max_sessions,
            "workers": [{"pid": w["pid"], "host": w.get("host"), "replica": w.get("replica", self.store.replica),
                         "sessions": w["sessions"], "cpu_percent": w["cpu_percent"]} for w in workers],
            "cpus": len(os.sched_getaffinity(0)),
            "playing": len(fps),
            "fps_cap": settings.fps_cap,
            "fps_min": min(fps) if fps else None,
            "fps_median": _median(fps),
            "fps_asked_median": _median([float(a) for a in asked]),
            "steps_per_s_median": _median([s for w in workers for s in w["steps_per_s"]]),
            "send_mbps": send_mbps,  # what the server sends the room, all workers (Mbit/s)
            "room_mbps": settings.room_mbps or None,  # the room's budget (ROOM_MBPS), None: no cap
            "ack_rtt_ms_median": _median(rtt),  # frame handed to the socket → its acknowledgement, per attendee
            "ack_rtt_ms_max": rtt[-1] if rtt else None,
            "errors_last_minute": sum(int(w["errors"]) for w in workers),
            "refused_last_minute": sum(refused.values()),
            "refused_by_reason": refused,
            "device": device,
            "attendee_urls": attendee_urls,
            "notes": notes,
            "machine_busy_percent": workers[0].get("machine_busy_percent"),
            "warning": falling_warning(fps, asked, settings.fps_cap, max(loads, default=0.0),
                                       _median(rtt), send_mbps, settings.room_mbps),
        }


def falling_warning(fps: Iterable[float], asked: Iterable[int], fps_cap: int, load: float,
                    rtt_ms: float | None = None, send_mbps: float = 0.0, room_mbps: float = 0.0) -> str | None:
    """The warning line when the playing sessions' median gets less than FALLING of the fps they ask for, and
    which limit the room hits: the CPUs (`load`, the machine's or the busiest worker's %, at BUSY or more),
    the room's budget (the server sends ROOM_MBPS already), or else the network (or the browsers)."""
    got, want = list(fps), list(asked)
    if not got or statistics.median(got) >= FALLING * statistics.median(want):
        return None
    if load >= BUSY:
        if fps_cap > 10:
            return "the CPUs are the limit: frame rates are falling; set FPS_CAP=10 or add a machine"
        return "the CPUs are the limit: frame rates are falling; lower MAX_SESSIONS or add a machine"
    if room_mbps and send_mbps >= 0.9 * room_mbps:
        return (f"the room's budget is the limit: the server sends {send_mbps:g} of ROOM_MBPS={room_mbps:g} Mbit/s; "
                "raise it if the network has more")
    wait = f" (frames take {rtt_ms:.0f} ms to be acknowledged)" if rtt_ms is not None else ""
    return (f"the network is the limit: attendees receive fewer frames than they ask while the CPUs have room{wait}; "
            "set FPS_CAP=10, or ROOM_MBPS a little under the WiFi's rate")


def machine_ticks() -> tuple[int, int]:
    """The machine's CPU time so far, (busy, all), in clock ticks (/proc/stat; (0, 0) where there is none)."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


async def sample_every_second(room: Room) -> None:
    """The worker's sampler (started by the app's lifespan): sample on the event loop, put the numbers in the
    room store on its thread, sleep. A store that is away is tried again next second; the sessions never notice."""
    while True:
        try:
            await room.publish()
        except StoreDown:
            pass
        except Exception:  # a bug here must not take anything else down: say so, keep sampling
            log.exception("sampling the room's numbers failed")
        await asyncio.sleep(SAMPLE_EVERY)
