"""Fixtures of the deployment tests: `start_server(workers=1, **env)` → a running `python -m app serve`.

Servers come from the one harness, tests/support/server.py (settings from the environment as in a
container; every server a test started is stopped when the test ends).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

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
