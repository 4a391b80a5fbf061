"""One room on several replicas, its state in Redis (issue 21): the host's "next" through nginx, what Redis costs,
and Redis away and back.

    python -m bench.replicas [--only next,cost,outage] [--attendees 150] [--rounds 20] [--cost-attendees 60]
                             [--seconds 10] [--json]

next    Redis (tests/support/redis_server.py) and two servers with REDIS_URL (one worker each on a 2-core machine:
        the machine's CPUs, as one server would have them) behind nginx-local (deploy/nginx-local.sh); the
        attendees connect through nginx and play; the host's commands alternate between the two replicas;
        bench.lesson's rounds measure the time from "next" to the last attendee (p50, p95) and /api/room's count
        of sessions on each poll (counts exact: always the attendees connected). What Redis did meanwhile, per
        second: commands (those its scripts run included), script calls and other top-level commands (a round
        trip each), KB in and out, and its CPU.
cost    bench.load's 60 attendees against one server (workers = CPU count), without REDIS_URL (the embedded store)
        and with it, twice each, alternating: the server's CPU per frame delivered (the CPUs are busy, so the
        frame rate absorbs any difference in CPU %) and frames/s; then the same 60 connected and paused: the
        server's CPU for the room alone. Redis's traffic and CPU as above.
outage  two replicas, 10 attendees on each, playing: frames/s per attendee over a window with Redis up, then over
        one with Redis killed (SIGKILL); then Redis restarted on its data, the time until a "next" sent as soon
        as the room store answers reaches every attendee, and frames/s over a last window (the run's spread).
Targets (issue 21): next reaches all 150 p95 ≤ 1 s, counts exact; with Redis down frames/s unchanged (within the
run's spread), back within 10 s of Redis returning; REDIS_URL costs ≤ 5 % server CPU at 60 attendees.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import time
import urllib.error
from collections.abc import Iterator
from typing import Any

from tests.support.attendees import Attendee, eventually, everyone, post
from tests.support.nginx import NginxLocal
from tests.support.redis_server import RedisServer
from tests.support.server import cpu_seconds, get_json

from .common import emit, load_note, loadavg, median, ratio, rnd
from .lesson import CODE, LESSONS, child, measure_room
from .load import run_one
from .server import CpuMeter, Server


@contextlib.contextmanager
def replicas(redis: RedisServer, max_sessions: int) -> Iterator[tuple[Server, Server]]:
    """Two servers of one room: REDIS_URL, the host code and the tests' lesson; each with half the CPUs."""
    env = {"REDIS_URL": redis.url, "HOST_CODE": CODE, "LESSONS_DIR": LESSONS, "DRAIN_SECONDS": "1"}
    each = max(1, (os.cpu_count() or 2) // 2)
    with Server(workers=each, max_sessions=max_sessions, env=env) as a, \
            Server(workers=each, max_sessions=max_sessions, env=env) as b:
        yield a, b


def traffic(redis: RedisServer) -> dict[str, float]:
    """Redis's counters so far: commands (those its scripts run included), script calls (a round trip each,
    as are the other top-level commands), bytes in and out, and its CPU seconds."""
    stats, calls = redis.info("stats"), redis.info("commandstats")
    return {"commands": float(stats["total_commands_processed"]),
            "scripts": float(calls.get("cmdstat_evalsha", {}).get("calls", 0)),
            "kb_in": float(stats["total_net_input_bytes"]) / 1e3,
            "kb_out": float(stats["total_net_output_bytes"]) / 1e3,
            "cpu_s": (cpu_seconds(redis.proc.pid) or 0.0) if redis.proc else 0.0, "t": time.monotonic()}


def rates(before: dict[str, float], after: dict[str, float]) -> dict[str, float | None]:
    """Per second between two `traffic` readings (CPU as % of one core)."""
    wall = max(after["t"] - before["t"], 1e-9)
    per = {k: (after[k] - before[k]) / wall for k in ("commands", "scripts", "kb_in", "kb_out", "cpu_s")}
    return {"redis_commands_per_s": rnd(per["commands"], 1), "redis_script_calls_per_s": rnd(per["scripts"], 1),
            "redis_kb_in_per_s": rnd(per["kb_in"], 1), "redis_kb_out_per_s": rnd(per["kb_out"], 1),
            "redis_cpu_percent": rnd(100 * per["cpu_s"], 2)}


def measure_next(attendees: int, rounds: int) -> dict[str, Any]:
    with RedisServer() as redis, replicas(redis, attendees) as (a, b), NginxLocal(a, b) as proxy:
        before = traffic(redis)
        out = measure_room(proxy.ws, [a.http, b.http], attendees, rounds, 2, True)
        out.update(rates(before, traffic(redis)))
        out["replica_workers"] = [a.workers, b.workers]
    out["counts_exact"] = out["room_sessions_seen"] == [out["connected"]]
    out["targets"]["counts_exact"] = out["counts_exact"]
    return out


def idle_room(server: Server, attendees: int, seconds: float) -> float | None:
    """The server's CPU (% of one core) with `attendees` connected and paused: what the room itself costs."""
    ctx = mp.get_context("fork")
    pipes, children = [], []
    for p in range(2):
        parent, end = ctx.Pipe()
        proc = ctx.Process(target=child, args=(end, server.ws, list(range(p, attendees, 2)), False), daemon=True)
        proc.start()
        pipes.append(parent)
        children.append(proc)
    for pipe in pipes:
        pipe.recv()
    time.sleep(2.0)
    meter = CpuMeter(server.proc.pid) if server.proc else None
    if meter:
        meter.start()
    time.sleep(seconds)
    cpu = meter.stop()["server_cpu_percent"] if meter else None
    for pipe in pipes:
        pipe.send("stop")
        pipe.recv()
    for proc in children:
        proc.join(timeout=10)
    return cpu


def measure_cost(attendees: int, seconds: float) -> dict[str, Any]:
    """The same load without and with REDIS_URL, alternating, twice: playing (server CPU per frame delivered, as
    the CPUs are busy and the frame rate absorbs any difference) and paused (the room's own CPU)."""
    runs: dict[str, list[dict[str, Any]]] = {"embedded": [], "redis": []}
    for _ in range(2):
        for kind in ("embedded", "redis"):
            with RedisServer() as redis:
                env = {"REDIS_URL": redis.url} if kind == "redis" else {}
                before = traffic(redis)
                r = run_one(attendees, seconds, url=None, warmup=3.0, speed=None, procs=2, compression=True,
                            workers=None, env=env)
                row = {"server_cpu_percent": r.get("server_cpu_percent"), "fps_median": r["fps_median"],
                       "frames_per_s_total": r["frames_per_s_total"], "errors": r["errors"],
                       "server_cpu_ms_per_frame": r["server_cpu_ms_per_frame"], **rates(before, traffic(redis))}
                with Server(max_sessions=attendees + 10, env=env) as server:
                    row["idle_server_cpu_percent"] = idle_room(server, attendees, seconds)
                runs[kind].append(row)

    def mid(kind: str, key: str) -> float | None:
        return median([float(x[key]) for x in runs[kind] if x.get(key) is not None])

    per_frame = {k: mid(k, "server_cpu_ms_per_frame") for k in runs}
    idle = {k: mid(k, "idle_server_cpu_percent") for k in runs}
    share = None
    if per_frame["embedded"] and per_frame["redis"] is not None:
        share = ratio(per_frame["redis"] - per_frame["embedded"], per_frame["embedded"], 3)
    return {"attendees": attendees, "seconds": seconds, "runs": runs,
            "server_cpu_ms_per_frame_median": {k: rnd(v, 3) for k, v in per_frame.items()},
            "fps_median": {k: rnd(mid(k, "fps_median"), 2) for k in runs},
            "idle_server_cpu_percent_median": {k: rnd(v, 1) for k, v in idle.items()},
            "redis_cost_share_per_frame": share,
            "targets": {"redis_costs_le_5pct_cpu": share is not None and share <= 0.05}}


async def _outage(redis: RedisServer, a: Server, b: Server, window: float) -> dict[str, Any]:
    room = [await Attendee((a, b)[i % 2].ws, f"outage-{i:04d}").open() for i in range(20)]
    try:
        post(a.http, CODE, "start", lesson="three-steps")
        await everyone(room, "at step 1", lambda m: m.get("step") == 1)
        for att in room:
            await att.send({"type": "play"})
        await asyncio.sleep(3.0)

        async def rate() -> list[float]:
            before = [att.frames for att in room]
            await asyncio.sleep(window)
            return [(att.frames - n) / window for att, n in zip(room, before, strict=True)]

        up = await rate()
        redis.kill()
        await asyncio.sleep(1.0)
        down = await rate()
        stores = [get_json(f"{s.http}/api/room?code={CODE}")["store"] for s in (a, b)]
        back_at = time.monotonic()
        redis.start()

        def next_taken() -> bool:
            try:
                post(a.http, CODE, "next")
                return True
            except urllib.error.HTTPError:
                return False

        await eventually(next_taken, "the host's next taken again", 60, blocking=True)
        taken = time.monotonic() - back_at
        await everyone(room, "at step 2", lambda m: m.get("step") == 2)
        reached = time.monotonic() - back_at
        again = await rate()  # Redis back: the same window again, for the machine's drift
    finally:
        for att in room:
            await att.close()
    return {"attendees": len(room), "window_s": window, "fps_up_median": rnd(median(up), 2),
            "fps_up_min": rnd(min(up), 2), "fps_down_median": rnd(median(down), 2), "fps_down_min": rnd(min(down), 2),
            "fps_up_again_median": rnd(median(again), 2),
            "store_while_down": stores, "next_taken_after_redis_back_s": rnd(taken, 2),
            "next_reached_all_after_redis_back_s": rnd(reached, 2)}


def measure_outage(window: float) -> dict[str, Any]:
    with RedisServer() as redis, replicas(redis, 40) as (a, b):
        out = asyncio.run(_outage(redis, a, b, window))
    ups = [out["fps_up_median"] or 0.0, out["fps_up_again_median"] or 0.0]  # before and after: the run's spread
    down = out["fps_down_median"] or 0.0
    out["targets"] = {"fps_unchanged_within_the_runs_spread": min(ups) * 0.95 <= down <= max(ups) * 1.05,
                      "back_within_10s": out["next_reached_all_after_redis_back_s"] <= 10}
    return out


def summary(r: dict[str, Any]) -> str:
    lines = [f"bench.replicas; {load_note(r['loadavg'])}"]
    if "next" in r:
        n = r["next"]
        lines.append(f"next through nginx to {n['connected']} attendees on 2 replicas: last one after "
                     f"{n['next_to_last_attendee_ms_p50']} ms (p50), {n['next_to_last_attendee_ms_p95']} ms (p95); "
                     f"missed {n['missed']}; /api/room counted {n['room_sessions_seen']}; Redis "
                     f"{n['redis_commands_per_s']} commands/s ({n['redis_script_calls_per_s']} script calls), "
                     f"{n['redis_cpu_percent']} % CPU")
    if "cost" in r:
        c = r["cost"]
        lines.append(f"cost at {c['attendees']} attendees: server CPU per frame {c['server_cpu_ms_per_frame_median']} "
                     f"ms, fps {c['fps_median']}, paused room {c['idle_server_cpu_percent_median']} % CPU; "
                     f"REDIS_URL costs {c['redis_cost_share_per_frame']} of the server's CPU per frame")
    if "outage" in r:
        o = r["outage"]
        lines.append(f"Redis away: fps {o['fps_up_median']} → {o['fps_down_median']} → {o['fps_up_again_median']} "
                     "(median per attendee: up, away, back); back: "
                     f"next taken {o['next_taken_after_redis_back_s']} s, reached all "
                     f"{o['next_reached_all_after_redis_back_s']} s after Redis restarted")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__.split("\n")[0])
    p.add_argument("--only", default="next,cost,outage", help="which measures, comma list (default all three)")
    p.add_argument("--attendees", type=int, default=150, help="attendees for next (default 150)")
    p.add_argument("--rounds", type=int, default=20, help="host commands timed (default 20)")
    p.add_argument("--cost-attendees", type=int, default=60, help="attendees for cost (default 60)")
    p.add_argument("--seconds", type=float, default=10.0, help="measurement window of cost and outage (default 10)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    if not only <= {"next", "cost", "outage"} or min(args.attendees, args.rounds, args.cost_attendees) < 1:
        p.exit(2, "python -m bench.replicas: error: --only takes next, cost, outage; counts must be at least 1\n")
    out: dict[str, Any] = {"benchmark": "replicas", "nproc": os.cpu_count(), "loadavg_start": loadavg()}
    if "next" in only:
        out["next"] = measure_next(args.attendees, args.rounds)
    if "cost" in only:
        out["cost"] = measure_cost(args.cost_attendees, args.seconds)
    if "outage" in only:
        out["outage"] = measure_outage(args.seconds)
    out["loadavg"] = loadavg()
    emit(out, args.json, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
