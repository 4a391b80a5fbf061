"""Static files answer conditional requests as Starlette does (lists of tags, weak tags, *)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

VENDOR = "/static/vendor/plotly-cartesian-4.1.1.min.js"


@pytest.mark.parametrize(("sent", "status"), [
    ("{tag}", 304), ("W/{tag}", 304), ('"other", {tag}', 304), ("*", 304), ('"other"', 200), ("", 200),
])
def test_if_none_match(client: TestClient, sent: str, status: int) -> None:
    tag = client.get(VENDOR).headers["etag"]
    answer = client.get(VENDOR, headers={"if-none-match": sent.format(tag=tag)} if sent else {})
    assert answer.status_code == status
    assert answer.headers["etag"] == tag
    if status == 304:
        assert answer.content == b""
