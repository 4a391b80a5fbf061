"""Fixtures of the deployment tests: `start_server(workers=1, **env)` → a running `python -m app serve`.

Servers come from the one harness, tests/support/server.py (settings from the environment as in a
container; every server a test started is stopped when the test ends); `redis_server`, a real Redis for the
room across replicas, from tests/support/redis_server.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests.support.redis_server import REDIS_SERVER, RedisServer
from tests.support.server import ServerProcess


@pytest.fixture
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ServerProcess]]:
    """A factory: start_server(workers=1, **env) → a running `python -m app serve` on a free port."""
    servers: list[ServerProcess] = []

    def start(workers: int = 1, **env: str) -> ServerProcess:
        server = ServerProcess(workers=workers, env=env, base=tmp_path_factory.mktemp("server"))
        servers.append(server)
        return server.start()

    yield start
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real Redis (Debian's redis-server) on a free port in a temporary folder, stopped when the test ends.
    Skipped only where redis-server is missing and CI is not set (`make test` installs it)."""
    if REDIS_SERVER is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (make test installs it)", pytrace=False)
        pytest.skip("redis-server is not installed (make test installs it)")
    with RedisServer(base=tmp_path_factory.mktemp("redis")) as server:
        yield server
