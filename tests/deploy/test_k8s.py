"""deploy/k8s/: every manifest valid against the Kubernetes schemas (kubernetes-validate, offline, strict: no field
the API does not know), and what the room needs of them: liveness on /livez and readiness on /readyz, a preStop
and a grace period that fit DRAIN_SECONDS, REDIS_URL naming the Redis Service, the Ingress's WebSocket timeouts
and its retry on a refused handshake, and Redis reachable from the explorer's pods only."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from app.server.settings import Settings
from tests.support.server import REPO

K8S = REPO / "deploy" / "k8s"
VERSION = "1.30.0"  # the oldest Kubernetes these manifests are written for (native sidecars, stable APIs)


def manifests() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [(f"{path.name}: {d['kind']} {d['metadata']['name']}", d) for d in yaml.safe_load_all(path.read_text())
                 if d]
    return docs


def one(kind: str, name: str) -> dict[str, Any]:
    found = [d for _, d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name)
    return found[0]


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container["env"]}


@pytest.mark.parametrize("version", [VERSION, kubernetes_validate.latest_version()])
@pytest.mark.parametrize("name", [name for name, _ in manifests()])
def test_every_manifest_is_valid_for_kubernetes(name: str, version: str) -> None:
    doc = dict(manifests())[name]
    kubernetes_validate.validate(doc, version, strict=True)  # raises ValidationError naming the field


def test_the_manifests_are_the_expected_set() -> None:
    assert sorted(name.split(": ", 1)[1] for name, _ in manifests()) == [
        "Deployment explorer", "Deployment explorer-redis", "Ingress explorer", "NetworkPolicy explorer-redis",
        "PersistentVolumeClaim explorer-redis-data", "Service explorer", "Service explorer-redis"]
    broken = one("Deployment", "explorer")
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/livez"
    with pytest.raises(kubernetes_validate.ValidationError):  # the check is real: a misspelt field fails
        kubernetes_validate.validate(broken, VERSION, strict=True)


def test_the_explorer_probes_drains_and_finds_its_redis() -> None:
    deployment = one("Deployment", "explorer")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"  # never the readiness: a full replica starts
    values = env(container)
    settings = Settings(redis_url=values["REDIS_URL"], drain_seconds=float(values["DRAIN_SECONDS"]),
                        max_sessions=int(values["MAX_SESSIONS"]), workers=int(values["WORKERS"]))
    assert settings.redis_url == "redis://explorer-redis:6379/0"
    redis_service = one("Service", "explorer-redis")
    assert redis_service["spec"]["ports"][0]["port"] == 6379
    assert redis_service["spec"]["selector"] == one("Deployment", "explorer-redis")["spec"]["selector"]["matchLabels"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    # the grace period covers the preStop, the drain, closing the sessions (uvicorn: 3 s) and a margin
    assert pod["terminationGracePeriodSeconds"] >= int(pre_stop[1]) + settings.drain_seconds + 3 + 5
    assert int(values["WORKERS"]) == int(container["resources"]["requests"]["cpu"])
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_the_ingress_keeps_websockets_open_and_retries_a_refused_handshake() -> None:
    ingress = one("Ingress", "explorer")
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "3600"
    assert notes["nginx.ingress.kubernetes.io/proxy-send-timeout"] == "3600"
    assert "http_503" in notes["nginx.ingress.kubernetes.io/proxy-next-upstream"].split()
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    service = one("Service", "explorer")
    assert backend["name"] == "explorer" and backend["port"]["name"] == service["spec"]["ports"][0]["name"]


def test_redis_keeps_its_data_and_only_the_explorer_reaches_it() -> None:
    redis_pod = one("Deployment", "explorer-redis")["spec"]["template"]["spec"]
    args = redis_pod["containers"][0]["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert redis_pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "explorer-redis-data"
    policy = one("NetworkPolicy", "explorer-redis")["spec"]
    explorer_labels = one("Deployment", "explorer")["spec"]["template"]["metadata"]["labels"]
    assert policy["ingress"][0]["from"][0]["podSelector"]["matchLabels"] == explorer_labels
    assert policy["podSelector"]["matchLabels"] == one("Deployment", "explorer-redis")["spec"]["template"][
        "metadata"]["labels"]
