"""Fixtures of the deployment tests: `start_server(workers=1, **env)` → a running `python -m app serve`.

Every server a test started is stopped when the test ends. Helpers live in deploy_servers.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from deploy_servers import Server, launch_server


@pytest.fixture
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """A factory: start_server(workers=1, **env) → a running `python -m app serve` on a free port."""
    servers: list[Server] = []

    def start(workers: int = 1, **env: str) -> Server:
        server = launch_server(tmp_path_factory.mktemp("server"), workers, **env)
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        server.stop()
