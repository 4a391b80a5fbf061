"""N real WebSocket clients playing at once against the explorer: fps, frame gaps, steps/s, control latency.

    python -m bench.load --sessions 40 --seconds 10 [--url ws://HOST:PORT/ws] [--sweep 1,10,20,40,60]
                         [--compare] [--speed K] [--client-procs P] [--rate 50mbit] [--json]

Without --url it starts the server itself as in production (`python -m app serve --workers <CPU count>`,
MAX_SESSIONS raised), waits for /healthz and stops it afterwards; with --sweep every N gets a fresh one.
With --rate RATE the whole run (server and clients) happens inside a network namespace whose loopback
is held to RATE (bench/netns.py: tc tbf, MTU 1500; root, ip and tc needed, else exit 2): a room's WiFi.
The clients run in child processes (asyncio, one process unless --client-procs says more), never in the
server's (bench/clients.py); they acknowledge every frame as the page does, parse only each frame's
number and JSON header, offer permessage-deflate as browsers do, and press play. After a warm-up, over
the measurement window, per client: delivered frames/s, gaps between frames, training steps/s (header
step deltas over time), and control latency: every ~1 s each client sends {"type": "set", "eps": X}
with a fresh X and times the first frame whose header reports runs[-1].eps == X. Server CPU is read
from /proc for the server and its uvicorn workers.
Per attendee the bytes of frames received per second (mean, max; `room_mbps` in all) and `fairness` =
fps_min ÷ fps_median.
--compare runs the same load twice, back to back: the batched server (the default: the compute loop
trains sessions of one shape as one bank), then BATCH_SESSIONS=0 (every session alone, through the same
code); the batched run's keys stay at the top level, the other's go under "unbatched", and
"batching_gain" = unbatched server_cpu_ms_per_frame ÷ batched.
Targets (issue 6, 2-core box): 40 sessions each ≥ 20 fps, p95 gap ≤ 150 ms, ≥ 30 steps/s per session,
control latency p95 ≤ 250 ms, 0 errors; one session: latency p95 ≤ 50 ms; beyond capacity, even fps.
Targets (issue 19, a network): 150 sessions sharing 50 Mbit/s each ≥ 10 fps, fairness ≥ 0.8, latency p95
≤ 250 ms, ≥ 60 steps/s each, 0 errors.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from typing import Any

from tests.support import netns

from .clients import CONNECT_TIMEOUT, PROBE_TIMEOUT, child
from .common import emit, load_note, loadavg, median, percentile, ratio, rnd
from .server import CpuMeter, Server


def run_clients(url: str, sessions: int, seconds: float, warmup: float, speed: int | None, procs: int,
                compression: bool, server: Server | None) -> dict[str, Any]:
    """Spawn the client processes, time the window, collect per-client statistics."""
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
    procs = max(1, min(procs, sessions))
    shares = [list(range(p, sessions, procs)) for p in range(procs)]
    pipes, children = [], []
    for share in shares:
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=child, args=(child_end, share, url, speed, compression), daemon=True)
        proc.start()
        child_end.close()
        pipes.append(parent_end)
        children.append(proc)
    connected, failures = 0, []
    t_connect = time.monotonic()
    for pipe in pipes:
        if not pipe.poll(CONNECT_TIMEOUT * 2 + 10):
            failures.append("a client process did not report its connections in time")
            continue
        kind, payload = pipe.recv()
        if kind == "ready":
            connected += payload
        else:
            failures.append(str(payload))
    connect_s = time.monotonic() - t_connect
    window_start = time.monotonic() + warmup
    window_end = window_start + seconds
    for pipe in pipes:
        pipe.send((window_start, window_end))
    meter = CpuMeter(server.proc.pid) if server and server.proc else None
    time.sleep(max(0.0, window_start - time.monotonic()))
    load_start = loadavg()
    if meter:
        meter.start()
    by_worker = server.sessions_by_worker() if server else []
    time.sleep(max(0.0, window_end - time.monotonic()))
    cpu = meter.stop() if meter else {}
    if server:
        later = server.sessions_by_worker()
        cpu["sessions_by_worker"] = later if sum(later) >= sum(by_worker) else by_worker
    stats: list[dict[str, Any]] = []
    client_cpu: list[float] = []
    for pipe in pipes:
        if not pipe.poll(PROBE_TIMEOUT + 30):
            failures.append("a client process did not report its results in time")
            continue
        kind, *payload = pipe.recv()
        if kind == "done":
            stats += payload[0]
            client_cpu.append(payload[1])
        else:
            failures.append(str(payload[0]))
    for proc in children:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
    return {"stats": stats, "client_cpu": client_cpu, "failures": failures, "connected": connected,
            "connect_s": connect_s, "cpu": cpu, "load_start": load_start}


def summarize(sessions: int, seconds: float, raw: dict[str, Any]) -> dict[str, Any]:
    stats = raw["stats"]
    fps = sorted(s["fps"] for s in stats)
    gaps = [g for s in stats for g in s["gaps_ms"]]
    steps = [s["steps_per_s"] for s in stats if s["steps_per_s"] is not None]
    lat = [x for s in stats for x in s["latencies_ms"]]
    errors = raw["failures"] + [e for s in stats for e in s["errors"]]
    missing = sessions - len(stats)
    fps_median = median(fps)
    client_cpu = raw["client_cpu"]
    exts = {s["extensions"] for s in stats}
    total_fps = sum(fps)
    out: dict[str, Any] = {
        "sessions": sessions,
        "connected": raw["connected"],
        "seconds": seconds,
        "fps_min": rnd(fps[0] if fps else 0.0, 2),
        "fps_median": rnd(fps_median, 2),
        "fps_max": rnd(fps[-1] if fps else 0.0, 2),
        "fairness": ratio(fps[0] if fps else 0.0, fps_median, 3),  # fps_min / fps_median: 1 is perfectly even
        "fps_min_over_max": ratio(fps[0] if fps else 0.0, fps[-1] if fps else None, 3),
        "gap_p50_ms": rnd(percentile(gaps, 50), 1),
        "gap_p95_ms": rnd(percentile(gaps, 95), 1),
        "gap_max_ms": rnd(max(gaps) if gaps else None, 1),
        "steps_per_s_min": rnd(min(steps) if steps else 0.0, 1),
        "steps_per_s_median": rnd(median(steps), 1),
        "latency_p50_ms": rnd(percentile(lat, 50), 1),
        "latency_p95_ms": rnd(percentile(lat, 95), 1),
        "latency_max_ms": rnd(max(lat) if lat else None, 1),
        "latency_samples": len(lat),
        "latency_timeouts": sum(s["latency_timeouts"] for s in stats),
        "errors": len(errors) + missing,
        "error_messages": sorted(set(errors))[:10],
        "first_frame_ms_median": rnd(median([s["first_frame_ms"] for s in stats if s["first_frame_ms"]]), 1),
        "frame_kb_mean": rnd(sum(s["bytes_total"] for s in stats) / max(sum(s["frames_total"] for s in stats), 1)
                             / 1024, 2),
        # what each attendee's link carries: frames' bytes received per second over the window
        "bytes_per_s_mean": rnd(sum(s["bytes_per_s"] for s in stats) / max(len(stats), 1), 0),
        "bytes_per_s_max": rnd(max((s["bytes_per_s"] for s in stats), default=None), 0),
        "room_mbps": rnd(sum(s["bytes_per_s"] for s in stats) * 8 / 1e6, 2),
        "connect_s": rnd(raw["connect_s"], 2),
        **raw["cpu"],
        "frames_per_s_total": rnd(total_fps, 1),
        # server CPU per delivered frame (tick + socket + deflate + event loop), to compare with bench.step's tick
        "server_cpu_ms_per_frame": rnd(raw["cpu"]["server_cpu_percent"] * 10 / total_fps, 2)
        if raw["cpu"].get("server_cpu_percent") is not None and total_fps else None,
        "client_processes": len(client_cpu),
        "client_cpu_percent": rnd(sum(client_cpu), 1),
        "client_cpu_percent_max_process": rnd(max(client_cpu) if client_cpu else None, 1),
        "client_saturated": bool(client_cpu) and max(client_cpu) > 85.0,
        "compression": sorted(e or "none" for e in exts),
        "loadavg_start": raw["load_start"],
        "loadavg": loadavg(),
    }
    return out


def run_one(sessions: int, seconds: float, *, url: str | None, warmup: float, speed: int | None, procs: int,
            compression: bool, workers: int | None, env: dict[str, str] | None = None) -> dict[str, Any]:
    if url:
        raw = run_clients(url, sessions, seconds, warmup, speed, procs, compression, None)
        result = summarize(sessions, seconds, raw)
        result.update(url=url, server="external")
        return result
    with Server(workers=workers, max_sessions=max(2 * sessions, 100), env=env) as server:
        raw = run_clients(server.ws, sessions, seconds, warmup, speed, procs, compression, server)
        result = summarize(sessions, seconds, raw)
        result.update(server="started", workers=server.workers,
                      batch_sessions=(env or {}).get("BATCH_SESSIONS", os.environ.get("BATCH_SESSIONS", "1")))
        if result["errors"]:
            result["server_log_tail"] = server.log_tail(1000)
    return result


def _targets(r: dict[str, Any]) -> dict[str, bool]:
    t = {
        "errors_0": r["errors"] == 0,
        "latency_p95_le_250ms": r["latency_p95_ms"] is not None and r["latency_p95_ms"] <= 250,
    }
    if r.get("rate"):
        t.update(fps_min_ge_10=r["fps_min"] >= 10, fairness_ge_0_8=(r["fairness"] or 0) >= 0.8,
                 steps_per_s_min_ge_60=r["steps_per_s_min"] >= 60)
        return t
    if r["sessions"] == 1:
        t["latency_p95_le_50ms"] = r["latency_p95_ms"] is not None and r["latency_p95_ms"] <= 50
    if r["sessions"] > 40:
        t["even_fps_min_over_max_ge_0.5"] = (r["fps_min_over_max"] or 0) >= 0.5
    if r["sessions"] <= 40:
        t.update(fps_min_ge_20=r["fps_min"] >= 20, gap_p95_le_150ms=(r["gap_p95_ms"] or 1e9) <= 150,
                 steps_per_s_min_ge_30=r["steps_per_s_min"] >= 30)
    return t


def summary_line(r: dict[str, Any]) -> str:
    link = f" on {r['rate']}" if r.get("rate") else ""
    return (f"{r['sessions']:>3} sessions{link}: fps min/med/max {r['fps_min']:5.1f}/{r['fps_median'] or 0:5.1f}/"
            f"{r['fps_max']:5.1f} (fair {r['fairness']}), gap p95 {r['gap_p95_ms']} ms, steps/s min "
            f"{r['steps_per_s_min']}, latency p50/p95 {r['latency_p50_ms']}/{r['latency_p95_ms']} ms "
            f"({r['latency_timeouts']} timeouts), errors {r['errors']}, server CPU {r.get('server_cpu_percent')}% "
            f"by process {r.get('server_cpu_by_process', [])[:2]}, sessions by worker "
            f"{r.get('sessions_by_worker')}; box {r.get('machine_cpu_busy_percent')}% of all CPUs), "
            f"client CPU {r['client_cpu_percent']}%, {r['frame_kb_mean']} KB a frame, "
            f"{r['bytes_per_s_mean']} B/s per attendee (max {r['bytes_per_s_max']}), "
            f"loadavg {r['loadavg_start'][0] if r['loadavg_start'] else '?'}")


def summary(r: dict[str, Any]) -> str:
    if "sweep" in r:
        return "\n".join([f"bench.load sweep, {r['seconds']} s each; {load_note(r['loadavg'])}",
                          *(summary_line(x) for x in r["sweep"])])
    lines = [f"bench.load; {load_note(r['loadavg'])}", summary_line(r)]
    lines += [f"  error: {e}" for e in r["error_messages"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    p.add_argument("--sessions", type=int, default=40, help="concurrent sessions (default 40)")
    p.add_argument("--seconds", type=float, default=10.0, help="measurement window per run (default 10)")
    p.add_argument("--warmup", type=float, default=None, help="seconds after connecting before measuring "
                   "(default 3, or 1 for windows under 5 s)")
    p.add_argument("--url", help="an already running server's WebSocket URL (default: start one)")
    p.add_argument("--sweep", help="comma list of session counts, e.g. 1,10,20,40,60 (fresh server each)")
    p.add_argument("--speed", type=int, help="steps per frame (default: the server's default)")
    p.add_argument("--client-procs", type=int, default=1, help="client processes (default 1)")
    p.add_argument("--workers", type=int, help="server workers (default: CPU count)")
    p.add_argument("--no-compression", action="store_true", help="do not offer permessage-deflate")
    p.add_argument("--compare", action="store_true",
                   help="also run with BATCH_SESSIONS=0 (every session alone) and report batching_gain")
    p.add_argument("--rate", help="run server and clients on a loopback held to this rate, e.g. 50mbit (root, tc)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if args.rate and args.url:
        p.exit(2, "python -m bench.load: error: --rate starts its own server in a namespace; leave out --url\n")
    if args.rate and not netns.inside():
        try:
            return netns.run_inside(args.rate, "bench.load", netns.without_rate(sys.argv[1:] if argv is None else argv))
        except netns.RateError as err:
            p.exit(2, f"python -m bench.load: error: {err}\n")
    if args.compare and args.url:
        p.exit(2, "python -m bench.load: error: --compare starts its own servers; leave out --url\n")
    if args.url and not args.url.startswith(("ws://127.0.0.1", "ws://localhost", "ws://[::1]")):
        p.exit(2, "python -m bench.load: error: --url must point at 127.0.0.1 (benchmarks stay on this machine)\n")
    counts = [int(x) for x in args.sweep.split(",") if x.strip()] if args.sweep else [args.sessions]
    if any(n < 1 for n in counts):
        p.exit(2, "python -m bench.load: error: session counts must be at least 1\n")
    warmup = args.warmup if args.warmup is not None else (3.0 if args.seconds >= 5 else 1.0)
    results = []
    for n in counts:
        def one(env: dict[str, str] | None = None, n: int = n) -> dict[str, Any]:
            r = run_one(n, args.seconds, url=args.url, warmup=warmup, speed=args.speed, procs=args.client_procs,
                        compression=not args.no_compression, workers=args.workers, env=env)
            r["rate"] = (netns.inside() or {}).get("rate")
            r["targets"] = _targets(r)
            return r

        r = one({"BATCH_SESSIONS": "1"} if args.compare else None)
        if args.compare:
            r["unbatched"] = one({"BATCH_SESSIONS": "0"})
            r["batching_gain"] = ratio(r["unbatched"].get("server_cpu_ms_per_frame"),
                                       r.get("server_cpu_ms_per_frame"), 2)
        results.append(r)
        if args.sweep:
            print(summary_line(r), file=sys.stderr, flush=True)
    link = netns.inside()
    meta = {"benchmark": "load", "nproc": os.cpu_count(), "seconds": args.seconds, "warmup": warmup,
            "speed": args.speed, "rate": link["rate"] if link else None, "loadavg": loadavg()}
    out = {**meta, "sweep": results} if args.sweep else {**meta, **results[0]}
    emit(out, args.json, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
