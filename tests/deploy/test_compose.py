"""compose.yaml's `scale` profile: two replicas of one room, the room's state in the profile's own Redis, each
replica given the time to drain when stopped, Redis keeping its data on a volume and unpublished. (Running it needs
Docker and the images: docs/deploy.md, "What was tested".)"""

from __future__ import annotations

from typing import Any

import yaml

from app.server.settings import Settings
from tests.support.server import REPO


def services() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "compose.yaml").read_text())["services"])


def seconds(value: str) -> float:
    assert value.endswith("s"), value
    return float(value[:-1])


def default(value: str) -> str:
    """`${NAME:-default}` → default (what compose uses when the variable is unset)."""
    return value.split(":-", 1)[1].rstrip("}") if value.startswith("${") else value


def test_the_scale_profile_is_one_room_on_two_replicas_with_redis() -> None:
    s = services()
    assert {name for name, svc in s.items() if "scale" in svc.get("profiles", [])} == {
        "explorer-a", "explorer-b", "redis", "nginx"}
    for name in ("explorer-a", "explorer-b"):
        env = s[name]["environment"]
        settings = Settings(redis_url=default(env["REDIS_URL"]), drain_seconds=float(default(env["DRAIN_SECONDS"])))
        assert settings.redis_url == "redis://redis:6379/0"
        assert seconds(s[name]["stop_grace_period"]) >= settings.drain_seconds + 5  # docker stop waits that long
        assert s[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert env["HOST_CODE"] == s["explorer"]["environment"]["HOST_CODE"]  # the same settings otherwise
    assert "REDIS_URL" not in s["explorer"]["environment"]  # one machine: the embedded store, as before
    redis = s["redis"]
    assert "ports" not in redis and redis["volumes"] == ["redis-data:/data"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert default(redis["image"]) == "redis:7" and default(s["nginx"]["image"]) == "nginx:stable"
