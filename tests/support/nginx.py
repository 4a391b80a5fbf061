"""Debian's nginx in front of two local servers, through deploy/nginx-local.sh (the compose `scale` profile's
proxy rules, deploy/nginx.conf, on this machine), for the scale-out tests and benchmarks.

    with NginxLocal(a, b) as proxy:        # a, b: anything with .port (ServerProcess)
        proxy.http; proxy.ws; proxy.upstreams()

The access log names the upstream(s) of every request: `upstreams()` maps each WebSocket's client port to the
backend ports nginx tried, in order (a refused handshake, then the replica that took it). Like server.py it
imports nothing from app/.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .server import REPO, Local, free_port, get_json, stop_process, wait_for

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
WS_LINE = re.compile(r'^127\.0\.0\.1:(\d+) "GET /ws[ ?][^"]*" (\d+) upstream=(.*)$')


class NginxLocal(Local):
    def __init__(self, a: Any, b: Any) -> None:
        if NGINX is None:
            raise RuntimeError("nginx is not installed (make test installs nginx-light)")
        self.backends = (a, b)
        self.port = free_port()
        # Outside pytest's 0700 temp tree: started as root, nginx's worker processes run as an unprivileged user.
        self.prefix = Path(tempfile.mkdtemp(prefix="lse-nginx-"))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> NginxLocal:
        a, b = self.backends
        with (self.prefix / "nginx-local.out").open("wb") as out:
            # nginx-local.sh writes nginx.conf from the template, checks it (nginx -t) and execs nginx in the
            # foreground (the template says `daemon off;`): this process is nginx's master.
            self.proc = subprocess.Popen(
                ["bash", str(REPO / "deploy/nginx-local.sh"), str(self.prefix), str(self.port),
                 f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"nginx exited with {self.proc.returncode}:\n{self.logs()}")
            return bool(get_json(self.http + "/healthz")["status"] == "ok")

        try:
            wait_for(up, 30, "nginx answering /healthz")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=15)  # SIGTERM: nginx's fast shutdown (open WebSockets are cut)
        shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self) -> NginxLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def access_log(self) -> list[str]:
        path = self.prefix / "access.log"
        return path.read_text().splitlines() if path.exists() else []

    def upstreams(self) -> dict[int, tuple[int, list[int]]]:
        """Each WebSocket nginx has logged (it logs one when it closes, or when its handshake was refused): client
        port → (status, the backend ports tried, in order)."""
        found = {}
        for line in self.access_log():
            m = WS_LINE.match(line)
            if m:
                tried = [int(u.rsplit(":", 1)[1]) for u in m.group(3).split(", ") if ":" in u]
                found[int(m.group(1))] = (int(m.group(2)), tried)
        return found

    def logs(self) -> str:
        files = sorted(self.prefix.glob("*.log")) + sorted(self.prefix.glob("*.out"))
        files += [b.log for b in self.backends if hasattr(b, "log")]
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in files if p.exists())
