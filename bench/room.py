"""What the room page costs the sessions: bench.load's clients against one server, runs with and without a
/host page polling /api/room (every 1.5 s, as static/js/host/main.js does), alternated on the same server.

    python -m bench.room --sessions 20 --seconds 10 [--order off,on,off,on] [--json]

The server is started as bench.load starts it (`python -m app serve`, workers = CPU count, 127.0.0.1, no
HOST_CODE: the poller is a loopback client). Each run opens its sessions afresh. Per run: bench.load's
summary (frames/s per session, gaps, steps/s, control latency, server CPU) and, while polling, what
/api/room took and what it reported. Counting itself is always on; docs/performance.md compares with a
server from before the room page too (run this module's `--order off` there).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
import urllib.request
from typing import Any

from .common import emit, median, percentile, rnd
from .load import run_clients, summarize
from .server import Server

POLL_EVERY = 1.5  # seconds, the page's ROOM_REFRESH_MS


def poll(base: str, stop: Any, out: Any) -> None:
    """A /host page's requests, in a process of its own: the page once, then /api/room every POLL_EVERY s."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    ms: list[float] = []
    failures: list[str] = []
    last: dict[str, Any] = {}

    def get(path: str) -> bytes:
        t0 = time.perf_counter()
        with opener.open(base + path, timeout=10) as resp:
            body: bytes = resp.read()
        if path == "/api/room":
            ms.append((time.perf_counter() - t0) * 1000)
        return body

    try:
        get("/host")
    except OSError as err:
        failures.append(f"/host: {err}")
    while not stop.wait(POLL_EVERY):
        try:
            last = json.loads(get("/api/room"))
        except (OSError, ValueError) as err:
            failures.append(f"/api/room: {err}"[:200])
    out.send((ms, failures, last))


class Poller:
    """poll() in a spawned process (the clients are forked: no thread of ours runs in the parent then)."""

    def __init__(self, base: str) -> None:
        ctx = mp.get_context("spawn")
        self.stop = ctx.Event()
        self.inbox, outbox = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=poll, args=(base, self.stop, outbox), daemon=True)
        self.ms: list[float] = []
        self.failures: list[str] = []
        self.last: dict[str, Any] = {}

    def __enter__(self) -> Poller:
        self.proc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.inbox.poll(30):
            self.ms, self.failures, self.last = self.inbox.recv()
        else:
            self.failures.append("the poller did not report")
        self.proc.join(10)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.room", description=__doc__.split("\n")[0])
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--order", default="off,on,off,on", help="runs without (off) and with (on) the poller")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    order = [o.strip() for o in args.order.split(",") if o.strip()]
    if not order or set(order) - {"on", "off"}:
        p.error("--order is a comma list of on and off")
    runs: list[dict[str, Any]] = []
    with Server(max_sessions=max(2 * args.sessions, 100)) as server:
        for mode in order:
            poller = Poller(server.http) if mode == "on" else None
            if poller:
                poller.__enter__()
            try:
                raw = run_clients(server.ws, args.sessions, args.seconds, args.warmup, None, 1, True, server)
            finally:
                if poller:
                    poller.__exit__()
            run = {"room_page": mode, **summarize(args.sessions, args.seconds, raw)}
            if poller:
                run.update(api_room_requests=len(poller.ms), api_room_ms_p50=rnd(percentile(poller.ms, 50), 2),
                           api_room_ms_max=rnd(max(poller.ms) if poller.ms else None, 2),
                           api_room_failures=poller.failures[:5],
                           api_room_saw={k: poller.last.get(k) for k in ("sessions", "playing", "fps_min",
                                                                         "fps_median", "steps_per_s_median",
                                                                         "errors_last_minute", "warning")})
            runs.append(run)

    def mean_of(mode: str, key: str) -> float | None:
        values = [r[key] for r in runs if r["room_page"] == mode and r.get(key) is not None]
        return rnd(median(values), 2) if values else None

    keys = ("fps_median", "fps_min", "gap_p95_ms", "steps_per_s_median", "latency_p95_ms", "server_cpu_percent")
    result = {"benchmark": "room", "sessions": args.sessions, "seconds": args.seconds, "runs": runs,
              "median_by_mode": {mode: {k: mean_of(mode, k) for k in keys} for mode in ("off", "on")}}
    emit(result, args.json, lambda r: json.dumps(r["median_by_mode"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
