"""The image-size figure of `make docker-smoke` (deploy/image-size.sh): the whole image and its own layers
(the image minus the Dockerfile's base), in words and as JSON, and a failure above IMAGE_OWN_LIMIT_MB.
A stand-in `docker` answers `image inspect`, so this runs without a Docker engine; docker-smoke.sh itself
runs the script against the real image (docs/deploy.md, "Docker smoke test")."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.server import REPO

SCRIPT = REPO / "deploy" / "image-size.sh"


def fake_docker(folder: Path, sizes: dict[str, int]) -> dict[str, str]:
    """A `docker` on PATH that answers `docker image inspect -f '{{.Size}}' NAME` from `sizes`."""
    lines = "\n".join(f'  "{name}") echo {size} ;;' for name, size in sizes.items())
    docker = folder / "docker"
    docker.write_text(f'#!/usr/bin/env bash\n[ "$1 $2" = "image inspect" ] || exit 9\ncase "${{@: -1}}" in\n'
                      f'{lines}\n  *) echo "no such image" >&2; exit 1 ;;\nesac\n')
    docker.chmod(0o755)
    return {**os.environ, "PATH": f"{folder}:{os.environ['PATH']}"}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30)


def test_the_figure_names_the_image_and_its_own_layers(tmp_path: Path) -> None:
    env = fake_docker(tmp_path, {"lse:smoke": 1_400_000_000, "python:3.11-slim": 568_606_495})
    out = run(env, "lse:smoke")
    assert out.returncode == 0, out.stderr
    words, data = out.stdout.strip().split("\n")
    assert words == ("image lse:smoke: 1400000000 bytes (1400 MB); own layers 831393505 bytes (831 MB) "
                     "over the base python:3.11-slim (569 MB)")
    assert json.loads(data) == {"image": "lse:smoke", "image_bytes": 1_400_000_000, "base_image": "python:3.11-slim",
                                "base_bytes": 568_606_495, "own_layers_bytes": 831_393_505, "own_layers_limit_mb": 950}


def test_the_base_is_the_dockerfiles_from_line(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("# a comment\nFROM debian:bookworm-slim AS base\nRUN true\n")
    env = fake_docker(tmp_path, {"x": 300_000_000, "debian:bookworm-slim": 100_000_000})
    out = run(env, "x", str(dockerfile))
    assert json.loads(out.stdout.splitlines()[-1])["own_layers_bytes"] == 200_000_000
    assert (REPO / "Dockerfile").read_text().count("\nFROM python:3.11-slim\n") == 1  # what the real run subtracts


@pytest.mark.parametrize(("own_mb", "limit", "ok"), [(949, "950", True), (951, "950", False), (2000, "0", True)])
def test_own_layers_above_the_limit_fail_in_words(tmp_path: Path, own_mb: int, limit: str, ok: bool) -> None:
    env = fake_docker(tmp_path, {"img": 500_000_000 + own_mb * 1_000_000, "python:3.11-slim": 500_000_000})
    out = run({**env, "IMAGE_OWN_LIMIT_MB": limit}, "img")
    assert (out.returncode == 0) is ok, (out.stdout, out.stderr)
    if not ok:
        assert f"the own layers ({own_mb} MB) exceed IMAGE_OWN_LIMIT_MB=950" in out.stderr


def test_docker_smoke_reports_the_figure_and_checks_the_room(tmp_path: Path) -> None:
    smoke = (REPO / "deploy" / "docker-smoke.sh").read_text()
    assert "bash deploy/image-size.sh" in smoke and "own_layers" not in smoke.split("image-size.sh")[0]
    assert '--room "http://127.0.0.1:$port/api/room"' in smoke and "HOST_CODE=" in smoke
    assert (REPO / "Makefile").read_text().count("bash deploy/docker-smoke.sh") == 1
