"""The host's "next" with a full room: how soon the last attendee has the step, and the projector's refresh.

    python -m bench.lesson [--attendees 150] [--rounds 20] [--client-procs 2] [--idle] [--json]

Starts the server as in production (workers = CPU count, HOST_CODE set, the test lesson of
tests/cases/lessons_good), connects the attendees from child processes (each socket acknowledges its frames as
the page does and, unless --idle, plays), starts the lesson, then `rounds` times: POST /api/lesson next (or
prev, alternating), and every attendee records when the `lesson` message with the new version reached it. The
latency of a round is the last attendee's arrival minus the moment the host's request was sent (p50, p95 over
rounds; also every attendee's arrival, p50/p95). Between rounds the projector's poll, GET /api/room, is timed.
Times share the machine's monotonic clock across processes. Targets (issue 20): the last of 150 attendees has
the step within 1 s (p95); answers counted exactly (the API tests hold that).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import time
import urllib.request
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .common import emit, load_note, loadavg, percentile, rnd
from .server import Server

CODE = "bench-lesson"
LESSONS = str(Path(__file__).resolve().parents[1] / "tests" / "cases" / "lessons_good")
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def host(http: str, action: str, **body: Any) -> dict[str, Any]:
    request = urllib.request.Request(f"{http}/api/lesson?code={CODE}", method="POST",
                                     data=json.dumps({"action": action, **body}).encode(),
                                     headers={"content-type": "application/json"})
    with OPENER.open(request, timeout=60) as resp:
        return dict(json.loads(resp.read()))


async def attendees(conn: Connection, url: str, indices: list[int], play: bool) -> None:
    """This process's attendees: connect, play, acknowledge frames, log each lesson version's arrival."""
    from websockets.asyncio.client import connect

    arrivals: dict[int, list[float]] = {}

    async def one(i: int) -> Any:
        ws = await connect(f"{url}?browser=bench-{i:04d}", open_timeout=60, max_size=16 * 2**20, proxy=None,
                           ping_interval=None)
        if play:
            await ws.send('{"type": "play"}')

        async def read() -> None:
            async for msg in ws:
                if isinstance(msg, bytes):
                    await ws.send(f'{{"type":"ack","frame":{int.from_bytes(msg[4:8], "little")}}}')
                elif '"lesson"' in msg[:30]:
                    version = json.loads(msg).get("version", 0)
                    arrivals.setdefault(version, []).append(time.monotonic())

        return ws, asyncio.create_task(read())

    sockets = []
    for i in indices:
        sockets.append(await one(i))
        await asyncio.sleep(0.005)
    conn.send(("ready", len(sockets)))
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told the rounds are over
    conn.send(("done", arrivals))
    for ws, task in sockets:
        task.cancel()
        await ws.close()


def child(conn: Connection, url: str, indices: list[int], play: bool) -> None:
    try:
        asyncio.run(attendees(conn, url, indices, play))
    finally:
        conn.close()


def measure(count: int, rounds: int, procs: int, play: bool) -> dict[str, Any]:
    load_start = loadavg()
    with Server(max_sessions=count + 10, env={"HOST_CODE": CODE, "LESSONS_DIR": LESSONS}) as server:
        out = measure_room(server.ws, [server.http], count, rounds, procs, play)
    out["loadavg_start"] = load_start
    return out


def measure_room(ws: str, hosts: list[str], count: int, rounds: int, procs: int, play: bool) -> dict[str, Any]:
    """The rounds against a room already serving: attendees connect at `ws`; the host's commands go to `hosts` in
    turn (one server, or each replica of a room in Redis: bench.replicas)."""
    load_start = loadavg()
    ctx = mp.get_context("fork")
    pipes, children = [], []
    for p in range(procs):
        parent, end = ctx.Pipe()
        proc = ctx.Process(target=child, args=(end, ws, list(range(p, count, procs)), play), daemon=True)
        proc.start()
        pipes.append(parent)
        children.append(proc)
    connected = sum(pipe.recv()[1] for pipe in pipes)
    time.sleep(2.0)  # every session built and playing
    sent: dict[int, float] = {}
    sent_at = time.monotonic()
    sent[host(hosts[0], "start", lesson="three-steps")["lesson"]["version"]] = sent_at
    polls, seen = [], set()  # the projector's poll time, and the sessions /api/room counted
    for r in range(rounds):
        time.sleep(1.0)
        http = hosts[r % len(hosts)]
        t0 = time.monotonic()
        seen.add(json.loads(OPENER.open(f"{http}/api/room?code={CODE}", timeout=60).read())["sessions"])
        polls.append((time.monotonic() - t0) * 1e3)
        t0 = time.monotonic()
        answer = host(http, "next" if r % 2 == 0 else "prev")
        sent[answer["lesson"]["version"]] = t0
    time.sleep(2.0)
    arrivals: dict[int, list[float]] = {}
    for pipe in pipes:
        pipe.send("stop")
        for version, times in pipe.recv()[1].items():
            arrivals.setdefault(version, []).extend(times)
    for proc in children:
        proc.join(timeout=10)
    last, each, missing = [], [], 0
    for version, t0 in sent.items():
        got = arrivals.get(version, [])
        missing += connected - len(got)
        each += [(t - t0) * 1e3 for t in got]
        if got:
            last.append((max(got) - t0) * 1e3)
    out = {"benchmark": "lesson", "attendees": count, "connected": connected, "rounds": len(sent),
           "playing": play, "next_to_last_attendee_ms_p50": rnd(percentile(last, 50), 1),
           "next_to_last_attendee_ms_p95": rnd(percentile(last, 95), 1),
           "next_to_last_attendee_ms_max": rnd(max(last) if last else None, 1),
           "next_to_attendee_ms_p50": rnd(percentile(each, 50), 1),
           "next_to_attendee_ms_p95": rnd(percentile(each, 95), 1),
           "missed": missing, "room_sessions_seen": sorted(seen),
           "projector_poll_ms_p50": rnd(percentile(polls, 50), 1),
           "projector_poll_ms_p95": rnd(percentile(polls, 95), 1), "loadavg_start": load_start, "loadavg": loadavg()}
    p95 = out["next_to_last_attendee_ms_p95"]
    out["targets"] = {"next_reaches_all_p95_le_1s": p95 is not None and p95 <= 1000 and missing == 0}
    return out


def summary(r: dict[str, Any]) -> str:
    return (f"bench.lesson: {r['connected']} attendees ({'playing' if r['playing'] else 'idle'}), {r['rounds']} host "
            f"commands; {load_note(r['loadavg'])}\nthe last attendee has the step after "
            f"{r['next_to_last_attendee_ms_p50']} ms (p50), {r['next_to_last_attendee_ms_p95']} ms (p95), "
            f"{r['next_to_last_attendee_ms_max']} ms at most; "
            f"an attendee's p50/p95 {r['next_to_attendee_ms_p50']}/{r['next_to_attendee_ms_p95']} ms; missed "
            f"{r['missed']}\nthe projector's GET /api/room: {r['projector_poll_ms_p50']} ms (p50), "
            f"{r['projector_poll_ms_p95']} ms (p95)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lesson", description=__doc__.split("\n")[0])
    p.add_argument("--attendees", type=int, default=150, help="attendees connected (default 150)")
    p.add_argument("--rounds", type=int, default=20, help="host commands timed (default 20)")
    p.add_argument("--client-procs", type=int, default=2, help="client processes (default 2)")
    p.add_argument("--idle", action="store_true", help="attendees connected but not playing")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if args.attendees < 1 or args.rounds < 1 or args.client_procs < 1:
        p.exit(2, "python -m bench.lesson: error: attendees, rounds and client processes must be at least 1\n")
    emit(measure(args.attendees, args.rounds, args.client_procs, not args.idle), args.json, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
