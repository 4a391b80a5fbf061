"""Run every benchmark, write bench/results/latest.json and regenerate the tables in docs/performance.md.

    python -m bench.all [--only step,frame,load,browser,network,lesson] [--no-docs] [--render-only FILE]

step, frame, load (a sweep over 1, 10, 20, 40, 60, 80 sessions, BENCH_SECONDS each, default 10;
BENCH_SESSIONS overrides the sweep; each count batched, then with BATCH_SESSIONS=0: --compare),
browser, lesson (the host's "next" to 150 attendees, issue 20) and network (the room's network, issue
19: 60 and 150 attendees sharing 100 and 50 Mbit/s, 150 without a limit, one page on 330 kbit/s;
bench.load and bench.browser with --rate, which need root and iproute2) each run in their own process
with --json; a benchmark that fails is recorded with its error and the others still run. The tables
between <!-- bench:begin --> and <!-- bench:end --> in docs/performance.md are rewritten; the prose
around them is kept. Prints the combined JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .common import ROOT, load_note, loadavg, machine
from .render import BEGIN, END, render

RESULTS = ROOT / "bench" / "results" / "latest.json"
ANCHOR = ROOT.parent / "shared" / "anchors" / "tf-playground"  # TF Playground, for bench.browser's comparison
DOC = ROOT / "docs" / "performance.md"


def _cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


def plan() -> dict[str, list[str]]:
    seconds = os.environ.get("BENCH_SECONDS", "10")
    sweep = os.environ.get("BENCH_SESSIONS", "1,10,20,40,60,80")
    cmds = {
        "step": ["-m", "bench.step", "--json"],
        "frame": ["-m", "bench.frame", "--json"],
        "load": ["-m", "bench.load", "--sweep", sweep, "--seconds", seconds, "--compare", "--json"],
        "browser": ["-m", "bench.browser", "--json",
                    *(["--anchor", str(ANCHOR)] if (ANCHOR / "index.html").is_file() else [])],
    }
    room = ["--seconds", seconds, "--client-procs", "2", "--json"]
    cmds.update({
        "network_100mbit": ["-m", "bench.load", "--rate", "100mbit", "--sweep", "60,150", *room],
        "network_50mbit": ["-m", "bench.load", "--rate", "50mbit", "--sweep", "60,150", *room],
        "network_cpu": ["-m", "bench.load", "--sweep", "150", *room],
        "network_page": ["-m", "bench.browser", "--rate", "330kbit", "--seconds", seconds, "--json"],
        "lesson": ["-m", "bench.lesson", "--attendees", "150", "--json"],
    })
    if _cuda():
        cmds["step_cuda"] = ["-m", "bench.step", "--device", "cuda", "--json"]
    return cmds


def run_one(name: str, args: list[str], timeout: float) -> dict[str, Any]:
    t0 = time.monotonic()
    print(f"bench.all: {name}: python {' '.join(args)}", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.stderr.strip():
        sys.stderr.write(proc.stderr[-3000:])
    if proc.returncode != 0:
        return {"error": f"exit status {proc.returncode}: {proc.stderr.strip()[-800:]}"}
    try:
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"no JSON on stdout: {proc.stdout[-300:]!r}"}
    result["elapsed_s"] = round(time.monotonic() - t0, 1)
    return result


def update_doc(res: dict[str, Any]) -> None:
    text = DOC.read_text() if DOC.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    block = render(res)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.all", description=__doc__.split("\n")[0])
    p.add_argument("--only", help="comma list of benchmarks to run (step, frame, load, browser, network, lesson)")
    p.add_argument("--no-docs", action="store_true", help="do not rewrite docs/performance.md")
    p.add_argument("--render-only", metavar="FILE", help="regenerate the docs from a results file, run nothing")
    p.add_argument("--note", help="a sentence to put under the machine line in the docs")
    args = p.parse_args(argv)
    if args.render_only:
        rendered: dict[str, Any] = json.loads(Path(args.render_only).read_text())
        if args.note:
            rendered["note"] = args.note
        update_doc(rendered)
        return 0
    cmds = plan()
    only = [x.strip() for x in args.only.split(",")] if args.only else None
    timeouts = {"step": 300, "step_cuda": 300, "frame": 600, "load": 2400, "browser": 300, "network_100mbit": 900,
                "network_50mbit": 900, "network_cpu": 600, "network_page": 600, "lesson": 600}
    command = "python -m bench.all" + (f" --only {args.only}" if args.only else "")
    env_bits = [f"{k}={os.environ[k]}" for k in ("BENCH_SECONDS", "BENCH_SESSIONS") if k in os.environ]
    res: dict[str, Any] = {"machine": machine(), "command": " ".join([*env_bits, command])}
    previous = json.loads(RESULTS.read_text()) if only and RESULTS.exists() else {}
    for name, cmd in cmds.items():
        if only and name.split("_")[0] not in only:
            if name in previous:
                res[name] = previous[name]  # keep the earlier figures of what was not rerun
            continue
        res[name] = run_one(name, cmd, timeouts[name])
    res["loadavg_end"] = loadavg()
    load = res["machine"]["loadavg"]
    res["loaded"] = bool(load) and max(load[0], res["loadavg_end"][0]) > 0.5 * (os.cpu_count() or 1)
    if args.note:
        res["note"] = args.note
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(res, indent=1, allow_nan=False, default=str) + "\n")
    tmp.replace(RESULTS)
    if not args.no_docs:
        update_doc(res)
    print(json.dumps(res, allow_nan=False, default=str))
    print(f"bench.all: wrote {RESULTS.relative_to(ROOT)}" + ("" if args.no_docs else f" and {DOC.relative_to(ROOT)}")
          + f"; {load_note(res['loadavg_end'])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
