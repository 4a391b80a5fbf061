"""The worker's compute loop (app/server/loop.py) with stand-in connections: who is ticked, and when."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from app.engine.config import RunConfig
from app.protocol.frames import PREFIX, FrameDecoder
from app.protocol.messages import parse_control
from app.server.flow import FLOOR_PERIOD, WINDOW, FlowControl
from app.server.live import LiveSession
from app.server.loop import BEHIND_BUSY, CATCH_UP, Busy, ComputeLoop, Member, catch_up


class FakeConnection:
    """What the loop uses of a connection: its live session, pending controls, its flow control and the two ways to
    send. With `acks` its page acknowledges every frame as soon as it is sent (a fast link)."""

    def __init__(self, acks: bool = True, **config: Any) -> None:
        self.live = LiveSession(RunConfig(**{"device": "cpu", "points": 300, **config}))
        self.pending: list[Any] = []
        self.frame_task: asyncio.Task[None] | None = None
        self.flow = FlowControl()
        self.acks = acks
        self.frames: list[bytes] = []
        self.said: list[tuple[list[tuple[str, str | None]], dict[str, Any]]] = []

    def frame_out(self, frame: bytes, now: float) -> None:
        self.flow.sent(PREFIX.unpack_from(frame)[1], now, len(frame))
        self.frames.append(frame)
        if self.acks:
            self.flow.ack(self.flow.last_sent, now)

    async def say(self, errors: list[tuple[str, str | None]], state: dict[str, Any]) -> None:
        self.said.append((errors, state))


def make_loop(batch: bool = True) -> tuple[ComputeLoop, list[int]]:
    """A loop whose training calls run inline; the list counts those calls."""
    loop = ComputeLoop(ThreadPoolExecutor(1), Busy(), fps_cap=30, batch=batch)
    calls: list[int] = []

    async def compute(fn: Any, *args: Any) -> Any:
        calls.append(1)
        return fn(*args)

    loop.compute = compute  # type: ignore[method-assign]
    return loop, calls


def join(loop: ComputeLoop, conn: FakeConnection) -> None:
    """As ComputeLoop.join, without starting its clock: the tests call pass_once themselves."""
    loop.members[conn] = Member(conn)  # type: ignore[arg-type]


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def test_playing_sessions_train_in_one_group_and_get_frames() -> None:
    async def scenario() -> None:
        loop, calls = make_loop()
        conns = [FakeConnection(seed=i) for i in range(3)]
        for c in conns:
            join(loop, c)
            c.live.playing = True
        assert await loop.pass_once(at_tick=True) == "tick"
        await settle()
        assert len(calls) == 1 and loop.largest_group == 3  # one call on the training thread, one bank
        assert all(len(c.frames) == 1 and c.live.session.step_count == 3 for c in conns)

    asyncio.run(scenario())


def test_without_batching_every_session_is_its_own_group() -> None:
    async def scenario() -> None:
        loop, _ = make_loop(batch=False)
        conns = [FakeConnection(seed=i) for i in range(3)]
        for c in conns:
            join(loop, c)
            c.live.playing = True
        await loop.pass_once(at_tick=True)
        await settle()
        assert loop.largest_group == 1 and all(len(c.frames) == 1 for c in conns)

    asyncio.run(scenario())


def test_a_session_that_leaves_mid_tick_gets_nothing_and_the_others_go_on() -> None:
    async def scenario() -> None:
        loop, _ = make_loop()
        conns = [FakeConnection(seed=i) for i in range(3)]
        for c in conns:
            join(loop, c)
            c.live.playing = True
        leaver = conns[1]

        async def compute(fn: Any, *args: Any) -> Any:
            loop.leave(leaver)  # the client goes while its tick runs on the training thread
            return fn(*args)

        loop.compute = compute  # type: ignore[method-assign]
        await loop.pass_once(at_tick=True)
        await settle()
        assert leaver.frames == [] and leaver not in loop.members
        assert len(conns[0].frames) == len(conns[2].frames) == 1
        loop.compute = make_loop()[0].compute  # type: ignore[method-assign]  # inline again, nobody leaves
        await loop.pass_once(at_tick=True)
        await settle()
        assert len(conns[0].frames) == 2 and leaver.frames == []

    asyncio.run(scenario())


def test_paused_sessions_cost_no_compute_and_a_control_shows_at_once() -> None:
    async def scenario() -> None:
        loop, calls = make_loop()
        conn = FakeConnection()
        join(loop, conn)
        await loop.pass_once(at_tick=True)  # the first frame (the session is new: dirty)
        await settle()
        calls.clear()
        for _ in range(5):
            assert await loop.pass_once(at_tick=True) == "idle"
        assert calls == []  # paused and shown: nothing to compute
        conn.pending.append(parse_control({"type": "set", "eps": 0.4}))
        await loop.pass_once(at_tick=False)  # between ticks: applied and shown now, not at the next tick
        await settle()
        assert conn.said and conn.said[-1][1]["eps"] == 0.4 and conn.said[-1][0] == []
        assert len(conn.frames) == 2

    asyncio.run(scenario())


def test_a_bad_control_is_answered_and_changes_nothing() -> None:
    async def scenario() -> None:
        loop, _ = make_loop()
        conn = FakeConnection()
        join(loop, conn)
        conn.pending.append(parse_control({"type": "sweep", "eps": [0.0, 0.1, 0.2, 0.3, 0.4],
                                           "config": {"points": 20_000, "hidden": 512, "penultimate": 256}}))
        await loop.pass_once(at_tick=False)
        await settle()
        errors, state = conn.said[-1]
        assert errors and "too large" in errors[0][0] and state["mode"] == "twin"

    asyncio.run(scenario())


def test_behind_capacity_a_costly_session_is_due_in_proportion_to_its_cost() -> None:
    async def scenario() -> None:
        loop, _ = make_loop()
        twin, sweep = FakeConnection(points=600), FakeConnection(points=600)  # the default twin's size
        sweep.live.apply(parse_control({"type": "sweep", "eps": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]}))
        for c in (twin, sweep):
            join(loop, c)
            c.live.playing = True
        loop.behind = True
        for _ in range(12):
            await loop.pass_once(at_tick=True)
            await settle()
        assert twin.live.session.step_count == 36
        assert sweep.live.session.step_count == 12  # six models cost three twins: one tick in three

    asyncio.run(scenario())


def test_training_never_waits_for_the_page_and_the_next_frame_is_the_newest() -> None:
    """A page that does not acknowledge: its session trains on every tick all the same, gets WINDOW frames, then
    none until an acknowledgement opens the window, and that frame shows the step the run is at."""

    async def scenario() -> None:
        loop, _ = make_loop()
        conn = FakeConnection(acks=False)
        join(loop, conn)
        conn.live.playing = True
        for _ in range(10):
            await loop.pass_once(at_tick=True)
            await settle()
        assert conn.live.session.step_count == 30  # 3 steps a tick, every tick: nothing waited for the page
        assert len(conn.frames) == WINDOW
        conn.flow.ack(conn.flow.last_sent, 0.0)  # the page has them now
        await loop.pass_once(at_tick=True)
        await settle()
        decoder = FrameDecoder()
        frames = [decoder.decode(f) for f in conn.frames]
        assert len(frames) == WINDOW + 1 and frames[-1]["step"] == conn.live.session.step_count == 33
        assert [f["seq"] for f in frames] == list(range(1, WINDOW + 2))

    asyncio.run(scenario())


def test_a_page_that_never_acknowledges_gets_a_frame_each_floor_period() -> None:
    async def scenario() -> None:
        loop, _ = make_loop()
        conn = FakeConnection(acks=False)
        join(loop, conn)
        conn.live.playing = True
        for _ in range(5):
            await loop.pass_once(at_tick=True)
            await settle()
        assert len(conn.frames) == WINDOW
        conn.flow.last_send_time -= FLOOR_PERIOD  # as if a second had passed since its last frame
        await loop.pass_once(at_tick=True)
        await settle()
        assert len(conn.frames) == WINDOW + 1
        await loop.pass_once(at_tick=True)
        await settle()
        assert len(conn.frames) == WINDOW + 1  # and then not again for another period

    asyncio.run(scenario())


def test_a_late_tick_trains_for_the_periods_it_stands_for() -> None:
    """Behind (a tick took two periods), a playing run trains twice its speed in that tick: it keeps its speed."""

    async def scenario() -> None:
        loop, _ = make_loop()
        conn = FakeConnection()
        join(loop, conn)
        conn.live.playing = True
        await loop.pass_once(at_tick=True, periods=2)
        await settle()
        assert conn.live.session.step_count == 2 * 3 and len(conn.frames) == 1

    asyncio.run(scenario())


def test_behind_capacity_metrics_and_regions_come_half_as_often() -> None:
    """A full room on a small machine: every frame still moves the points, every 6th measures (not every 3rd)."""

    async def scenario() -> None:
        loop, _ = make_loop()
        conn = FakeConnection()
        join(loop, conn)
        conn.live.playing = True
        loop.behind = True
        for _ in range(13):
            await loop.pass_once(at_tick=True)
            await settle()
        decoder = FrameDecoder()
        frames = [decoder.decode(f) for f in conn.frames]
        assert len(frames) == 13
        assert [i for i, f in enumerate(frames) if f["measured"]] == [0, 6, 12]
        assert [i for i, f in enumerate(frames) if "extent" in f] == [11]

    asyncio.run(scenario())


def test_late_ticks_catch_up_their_fractions_and_no_more_than_catch_up() -> None:
    """Ticks 1.25 periods apart train 5 periods in 4 ticks (the run keeps its speed); on time, one each; a tick
    ten periods late trains CATCH_UP of them and owes nothing after."""
    owed, trained = 0.0, []
    for _ in range(8):
        periods, owed = catch_up(owed + 1.25)
        trained.append(periods)
    assert sum(trained) == 10 and set(trained) == {1, 2}
    owed, trained = 0.0, []
    for _ in range(5):
        periods, owed = catch_up(owed + 0.98)  # a hair early, as a timer wakes
        trained.append(periods)
    assert trained == [1] * 5
    assert catch_up(10.0) == (CATCH_UP, 0.0)
    loop, _ = make_loop()
    assert loop.catch_up(1.5) == (1, 0.5)
    loop.behind = True  # the CPU is the limit: runs slow down with the frames, nothing is owed
    assert loop.catch_up(1.5) == (1, 0.0) and loop.catch_up(5.0) == (1, 0.0)


def test_the_loop_is_behind_only_while_ticks_fill_the_last_second() -> None:
    """Behind means the CPU is the limit for a whole second: one slow tick, or ticks that fill half of each period,
    are not; ticks back to back are, and a second later, lighter ticks are not."""
    loop, _ = make_loop()
    period = 1 / 30
    now = 100.0
    assert not loop.busy_ticking(now, now + 0.3)  # one slow tick (a collection, a burst of metrics)
    now += 0.3
    for _ in range(60):  # two seconds of ticks that take half their period
        now += period
        assert not loop.busy_ticking(now, now + period / 2)
    behind = []
    for _ in range(40):  # back to back: each tick takes longer than its period
        behind.append(loop.busy_ticking(now, now + 1.2 * period))
        now += 1.2 * period
    assert behind[-1] and not behind[0] and sum(behind) > 10
    assert BEHIND_BUSY < 1.0
    for _ in range(31):  # a second of light ticks
        now += period
        late = loop.busy_ticking(now, now + 0.2 * period)
    assert not late


def test_a_loop_that_is_behind_still_lets_the_frames_it_built_leave() -> None:
    """Ticks back to back (no time to sleep): the event loop still gets a turn between them, so the frame a tick
    handed to its socket has left before the next tick asks whether the page's window is open."""

    async def scenario() -> None:
        loop, _ = make_loop()
        left: list[bool] = []

        async def send() -> None:
            left.append(True)

        task = asyncio.create_task(send())
        await loop.nap(0.0)
        assert left == [True] and task.done()

    asyncio.run(scenario())
