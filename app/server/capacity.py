"""Open sessions across all worker processes of one server, for the session cap and /healthz.

Each open session is a file in a directory shared by the workers (one directory per `serve`), named
by the worker's pid; files of dead workers are ignored and pruned. A lock file serialises admission,
so the cap holds across workers without any shared server state beyond this directory.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


class SessionRegistry:
    def __init__(self, directory: str, limit: int) -> None:
        os.makedirs(directory, exist_ok=True)
        self.directory, self.limit = directory, limit

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(os.path.join(self.directory, ".lock"), "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _live(self) -> list[str]:
        names = []
        for name in os.listdir(self.directory):
            if not name.startswith("s-"):
                continue
            pid = int(name.split("-")[1])
            if _alive(pid):
                names.append(name)
            else:
                _remove(os.path.join(self.directory, name))
        return names

    def count(self) -> int:
        return len(self._live())

    def acquire(self) -> str | None:
        """A ticket for a new session, or None when the server is full."""
        with self._locked():
            if len(self._live()) >= self.limit:
                return None
            ticket = f"s-{os.getpid()}-{uuid.uuid4().hex}"
            open(os.path.join(self.directory, ticket), "w").close()
            return ticket

    def release(self, ticket: str) -> None:
        _remove(os.path.join(self.directory, ticket))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
