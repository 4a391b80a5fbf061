"""The compute loop over real WebSockets: sessions trained as one bank are the sessions alone.

Two sessions with the same seed and controls, driven at the same time (so the loop trains them as one
bank: /healthz says how many it has put in one group), give the frames one session alone gives; a
session that diverges next to a healthy one stops alone.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import numpy as np
import pytest

from app.protocol.client import ExplorerClient
from app.server.settings import Settings
from tests.support.inprocess import ThreadServer

TIMEOUT = 30.0
STEPS = (4, 9, 3, 12, 6)


@pytest.fixture(scope="module")
def server() -> Any:
    with ThreadServer(Settings(device="cpu", max_sessions=20)) as srv:
        yield srv
        assert not srv.log.records, srv.log.messages()


async def step_to(c: ExplorerClient, n: int, target: int) -> dict[str, Any]:
    """Ask for n more steps (paused) and return the frame that shows step `target`."""
    await c.step(n)
    while True:
        frame = await c.next_frame(TIMEOUT)
        if frame["step"] >= target:
            return frame


async def drive(url: str, seed: int) -> list[dict[str, Any]]:
    """One scripted session: a reset to `seed`, then steps, an ε change, more steps."""
    async with ExplorerClient(url, open_timeout=TIMEOUT) as c:
        await c.reset(seed=seed, label_noise=0.1)
        await c.next_text("state", TIMEOUT)
        await c.next_frame(TIMEOUT)
        frames, target = [], 0
        for i, n in enumerate(STEPS):
            if i == 2:
                await c.set(eps=0.4)
                await c.next_text("state", TIMEOUT)
            target += n
            frames.append(await step_to(c, n, target))
        return frames


def assert_same_frames(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert [f["step"] for f in a] == [f["step"] for f in b]
    for fa, fb in zip(a, b, strict=True):
        assert fa["runs"].keys() == fb["runs"].keys()
        for name, ra in fa["runs"].items():
            rb = fb["runs"][name]
            floats = {k for k, v in ra.items() if isinstance(v, float)}
            assert floats == {k for k, v in rb.items() if isinstance(v, float)}, name
            for key in ra.keys() & rb.keys():  # decision regions come every few frames: compared when both have them
                va, vb = ra[key], rb[key]
                if isinstance(va, np.ndarray):
                    np.testing.assert_allclose(vb, va, rtol=1e-5, atol=1e-5, err_msg=f"{name}.{key}")
                elif isinstance(va, float):
                    assert math.isclose(va, vb, rel_tol=1e-5, abs_tol=1e-6), f"step {fa['step']} {name}.{key}"


def test_two_sessions_together_give_the_frames_of_one_alone(server: ThreadServer) -> None:
    alone = asyncio.run(drive(server.ws, seed=11))
    assert server.healthz()["largest_group"] == 1

    async def together() -> list[list[dict[str, Any]]]:
        return list(await asyncio.gather(drive(server.ws, seed=11), drive(server.ws, seed=11),
                                         drive(server.ws, seed=12)))

    for _ in range(3):  # the clients' steps usually land in the same tick; retry if the machine split them
        first, second, other = asyncio.run(together())
        if server.healthz()["largest_group"] > 1:
            break
    assert server.healthz()["largest_group"] > 1, "the loop never trained two sessions as one bank"
    assert_same_frames(alone, first)
    assert_same_frames(alone, second)
    # and the third, another seed, was its own run: the comparison can tell runs apart
    assert other[-1]["runs"]["smoothed"]["train_loss"] != alone[-1]["runs"]["smoothed"]["train_loss"]


def test_a_diverging_session_stops_alone(server: ThreadServer) -> None:
    async def scenario() -> tuple[list[str], list[dict[str, Any]], list[str]]:
        async with ExplorerClient(server.ws, open_timeout=TIMEOUT) as bad, \
                ExplorerClient(server.ws, open_timeout=TIMEOUT) as good:
            await bad.reset(optimizer="sgd", lr=10.0, ordered=True, seed=2)
            await good.reset(optimizer="sgd", lr=0.05, seed=3)
            await asyncio.gather(bad.next_text("state", TIMEOUT), good.next_text("state", TIMEOUT))
            await asyncio.gather(bad.play(), good.play())
            diverged = await bad.next_text("error", TIMEOUT)
            assert diverged.get("code") == "diverged", diverged
            frames = []
            while len(frames) < 20:  # the healthy one keeps training after its neighbour stopped
                frames.append(await good.next_frame(TIMEOUT))
            return bad.errors, frames, good.errors

    bad_errors, frames, good_errors = asyncio.run(scenario())
    assert any("diverged" in e for e in bad_errors)
    assert not good_errors
    steps = [f["step"] for f in frames]
    assert steps == sorted(steps) and steps[-1] > steps[0]
    assert not frames[-1]["diverged"] and frames[-1]["playing"]
    assert all(math.isfinite(f["runs"]["smoothed"]["train_loss"]) for f in frames)
