"""A room's network for a benchmark or a test: a network namespace of its own whose loopback is held to a rate.

    python -m bench.load --rate 50mbit ...     python -m bench.browser --rate 330kbit ...
    (and tests/e2e/test_slow_link.py, which skips with the reason where no namespace can be made)

`run_inside(rate, module, argv)` makes the namespace (`ip netns add`), sets its loopback up with MTU 1500
(tbf drops every packet larger than its burst, and loopback's default MTU is 64 KB), holds it to `rate` with
`tc qdisc add dev lo root tbf rate RATE burst B latency 200ms` (B: 10 ms of the rate, 4 to 64 KB), runs the
benchmark again inside it (`ip netns exec`: the server and its clients both there, so every byte crosses the
limited loopback, both ways) and removes the namespace. Nothing leaves the machine. It needs root, `ip` and
`tc` (iproute2); without them it says so and the benchmark exits 2.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from typing import Any

ENV = "LSE_BENCH_RATE"  # set inside the namespace: the rate it is held to
UNITS = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9}
LATENCY = "200ms"  # tbf's queue: a packet waits at most this long, then is dropped (as a crowded access point does)


class RateError(ValueError):
    """A rate or a machine the benchmark cannot make a network from: str() says why."""


def parse_rate(text: str) -> float:
    """'50mbit', '330kbit', '1.5gbit' → bits per second."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit)\s*", text.lower())
    if not m or float(m.group(1)) <= 0:
        raise RateError(f"--rate: {text!r} is not a rate; write it as tc does, e.g. 50mbit or 330kbit")
    bits = float(m.group(1)) * UNITS[m.group(2)]
    if not 8_000 <= bits <= 10e9:
        raise RateError(f"--rate: {text} is outside 8kbit to 10gbit")
    return bits


def unavailable(try_it: bool = False) -> str | None:
    """Why no namespace can be made here, or None when it can (`try_it`: make one and remove it, to be sure: a
    container without CAP_SYS_ADMIN has root, ip and tc, and is still refused)."""
    if os.geteuid() != 0:
        return "it needs root (ip netns, tc)"
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    if missing:
        return f"it needs {' and '.join(missing)} (Debian's iproute2)"
    if try_it:
        name = f"lse-probe-{uuid.uuid4().hex[:8]}"
        made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, check=False)
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)
        if made.returncode != 0:
            return f"`ip netns add` is not allowed here: {made.stderr.strip()}"
    return None


def inside() -> dict[str, Any] | None:
    """In the benchmark's namespace: {"rate": text, "bits_per_s": n}; else None."""
    rate = os.environ.get(ENV)
    return {"rate": rate, "bits_per_s": parse_rate(rate)} if rate else None


def run_inside(rate: str, module: str, argv: list[str], capture: bool = False) -> Any:
    """Run `python -m module argv` in a fresh namespace held to `rate`: its exit status, or with `capture` the
    CompletedProcess (stdout and stderr as text)."""
    bits = parse_rate(rate)
    why = unavailable()
    if why:
        raise RateError(f"--rate makes a network namespace held to the rate with tc, and {why}")
    name = f"lse-bench-{uuid.uuid4().hex[:8]}"
    burst = int(min(64 * 1024, max(4 * 1024, bits / 8 * 0.010)))

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, text=True)

    try:
        ip("netns", "add", name)
        ip("netns", "exec", name, "ip", "link", "set", "lo", "up", "mtu", "1500")
        ip("netns", "exec", name, "tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", f"{int(bits)}bit",
           "burst", str(burst), "latency", LATENCY)
        env = {**os.environ, ENV: rate}
        cmd = ["ip", "netns", "exec", name, sys.executable, "-m", module, *argv]
        done = subprocess.run(cmd, env=env, check=False, capture_output=capture, text=capture)
        return done if capture else done.returncode
    except subprocess.CalledProcessError as err:
        raise RateError(f"could not make the namespace: {' '.join(err.cmd)}: {err.stderr.strip()}") from None
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True)


def without_rate(argv: list[str]) -> list[str]:
    """argv with --rate VALUE / --rate=VALUE taken out (what runs inside the namespace)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--rate":
            skip = True
        elif not arg.startswith("--rate="):
            out.append(arg)
    return out
