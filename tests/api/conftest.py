"""Fixtures of the API tests against real servers (tests/support): a live server in a thread, and the app
behind a TestClient that answers errors as a client would see them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from app.server.app import create_app
from app.server.settings import Settings
from tests.support.inprocess import ThreadServer, fresh_settings


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadServer]:
    """create_app under uvicorn in a thread (max 200 sessions); the app logged no warning by the end."""
    with ThreadServer(Settings(device="cpu", max_sessions=200)) as srv:
        yield srv
        assert not srv.log.records, srv.log.messages()


@pytest.fixture(scope="module")
def http() -> Iterator[TestClient]:
    """The app behind a TestClient that turns server exceptions into 500 answers, as a browser sees them."""
    with TestClient(create_app(fresh_settings()), raise_server_exceptions=False) as client:
        yield client

