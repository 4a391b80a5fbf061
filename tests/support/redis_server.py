"""A real Redis for the tests and benchmarks: Debian's `redis-server` on a free port, in a folder of its own.

    with RedisServer() as redis:            # or RedisServer(password="s3cret"), RedisServer(tls=True)
        redis.url                           # redis://127.0.0.1:PORT/0 (with :PASSWORD@ when given; rediss://
                                            # and the self-signed certificate openssl made, with tls)
        redis.kill(); redis.start()         # SIGKILL mid-lesson, then the same port and data again
        redis.command("DBSIZE"); redis.info("stats")

It keeps its data in an append-only file fsynced on every write (`appendfsync always`), so a Redis killed
outright comes back with everything it had acknowledged, as a production Redis with persistence does. Like
tests/support/server.py it imports nothing from app/ (the benchmarks use it too); it talks to Redis with
redis-py. `make test` installs redis-server (apt-get) where it is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import redis

from .server import free_port, wait_for

REDIS_SERVER = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK)
                                                else None)


class RedisServer:
    def __init__(self, password: str = "", base: Path | None = None, tls: bool = False) -> None:
        if REDIS_SERVER is None:
            raise RuntimeError("redis-server is not installed (make test installs it: apt-get install redis-server)")
        self.port = free_port()
        self.password = password
        self.tls = tls  # TLS only (rediss://), with a self-signed certificate for 127.0.0.1 made by openssl
        self._owned = base is None
        self.dir = Path(tempfile.mkdtemp(prefix="lse-redis-", dir=base))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.tls:
            return f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={self.dir / 'cert.pem'}"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        assert REDIS_SERVER is not None
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
                "--logfile", str(self.dir / "redis.log"), "--protected-mode", "yes"]
        if self.password:
            args += ["--requirepass", self.password]
        if self.tls:
            self._certificate()
            args[1:3] = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(self.dir / "cert.pem"),
                         "--tls-key-file", str(self.dir / "key.pem"), "--tls-ca-cert-file", str(self.dir / "cert.pem"),
                         "--tls-auth-clients", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     start_new_session=True)

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited with {self.proc.returncode}: {self.log()[-2000:]}")
            try:
                return bool(self.command("PING"))
            except redis.ConnectionError:
                return False

        try:
            wait_for(up, 30, f"redis-server on port {self.port} answering PING")
        except BaseException:
            self.stop()
            raise
        return self

    def client(self) -> redis.Redis:
        """A redis-py client of this server (one connection, text replies, no retries)."""
        tls: dict[str, Any] = {"ssl": True, "ssl_ca_certs": str(self.dir / "cert.pem")} if self.tls else {}
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password or None, decode_responses=True,
                           socket_timeout=5, socket_connect_timeout=5, single_connection_client=True, **tls)

    def _certificate(self) -> None:
        if not (self.dir / "cert.pem").exists():
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                            "-keyout", str(self.dir / "key.pem"), "-out", str(self.dir / "cert.pem"),
                            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                           check=True, capture_output=True, timeout=60)

    def command(self, *args: str) -> Any:
        """One command, its reply (OSError-like errors while the server is away: redis.ConnectionError)."""
        with self.client() as client:
            return client.execute_command(*args)

    def info(self, section: str = "stats") -> dict[str, Any]:
        with self.client() as client:
            return dict(client.info(section))

    def kill(self) -> None:
        """SIGKILL: Redis gone at once, as a crashed machine (its acknowledged writes are on disk)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._owned:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log(self) -> str:
        path = self.dir / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

