"""The compute loop: one per worker process; it trains every session of the worker and builds their frames.

Each connection (connection.py) only reads controls and writes what it is given; the loop owns the
clock. On every tick (FPS_CAP times a second) it applies the controls that arrived, takes the playing
sessions that are due, and hands them to one call on the training thread: sessions whose models have
the same shape train as one bank and are snapshotted as one (live.tick_sessions, engine/batch.py).
A control on a session that is not training is shown at once, without waiting for a tick, and the
loop never waits to fill a batch: one session alone ticks as often as a full room.

Training never waits for the network: a playing session trains on every tick it is due, whether or
not its page can take a frame; a frame is built only when its flow control (flow.py) lets one go, and
then from the newest state. Fairness: every due session takes part in every tick, so beyond capacity
the ticks slow down and every session's frame rate falls alike. A session whose work costs more than a
twin's (a sweep, a large run) is due less often when the loop is behind, in proportion to its cost
(`Member.cost`), so it cannot slow the room down more than its share.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..engine.config import RunConfig, run_size
from ..protocol.messages import DIVERGED, ControlError
from .live import Job, LiveSession, tick_sessions

if TYPE_CHECKING:
    from .connection import Connection

RETRY_SOON = 0.002  # seconds: a frame that is still leaving is looked at again this soon
CATCH_UP = 2  # a late tick trains for up to this many tick periods: runs keep their speed through a slow tick
BEHIND_BUSY = 0.9  # the loop is behind while its ticks took this share of the last second or more
IDLE, RETRY, TICK = "idle", "retry", "tick"

log = logging.getLogger(__name__)
T = TypeVar("T")


class Busy:
    """How many training jobs run on worker threads in this process right now (/healthz `busy_threads`).

    A closed session must free its thread, not only its registry ticket: this is how tests see it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            self.value += 1
        try:
            return fn(*args)
        finally:
            with self._lock:
                self.value -= 1


@dataclass(eq=False)
class Member:
    """A connection as the loop sees it: its place in the tick schedule and its share of the work."""

    conn: Connection
    phase: float = 0.0  # ticks owed: the session is due when this reaches 1 (fps below the tick rate)
    credit: float = 0.0  # behind capacity: a costly session waits until its credit pays for a tick
    sends: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def live(self) -> LiveSession | None:
        return self.conn.live

    def cost(self) -> float:
        """The session's work per tick relative to a default twin's (1.0): models × points × units."""
        live = self.live
        if live is None:
            return 1.0
        s = live.session
        return max(1.0, run_size(s.config, len(s.eps_values), int(s.data.y_train.size)) / _TWIN_SIZE)

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.sends.add(task)
        task.add_done_callback(self.sends.discard)


_TWIN_SIZE = float(run_size(RunConfig(), 2))  # the default twin: the unit of Member.cost


def catch_up(owed: float) -> tuple[int, float]:
    """`owed` tick periods have passed untrained: the periods this tick trains for (1 to CATCH_UP) and what is still
    owed after it. Fractions carry over, so ticks 1.25 periods apart train 5 periods in every 4 ticks; a tick a hair
    early counts as one; beyond CATCH_UP the rest is dropped (a run slows rather than take ever longer ticks)."""
    owed = min(owed, float(CATCH_UP))
    periods = max(1, int(owed + 0.05))
    return periods, max(owed - periods, -1.0)


class ComputeLoop:
    """Owns every session of this worker process; `run` is its clock (started with the first session)."""

    def __init__(self, executor: ThreadPoolExecutor, busy: Busy, *, fps_cap: int, batch: bool = True) -> None:
        self.executor, self.busy, self.fps_cap, self.batch = executor, busy, fps_cap, batch
        self.members: dict[Connection, Member] = {}
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.ticks = 0
        self.behind = False  # ticks took BEHIND_BUSY of the last second or more: the CPU is the limit
        self.tick_log: deque[tuple[float, float]] = deque()  # (start, seconds) of the last second's ticks
        self.largest_group = 0  # the most sessions trained as one bank so far (/healthz)

    # ---- membership ------------------------------------------------------------------------------
    def join(self, conn: Connection) -> None:
        self.members[conn] = Member(conn)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.run(), name="compute-loop")
        self.poke()

    def leave(self, conn: Connection) -> None:
        member = self.members.pop(conn, None)
        if member is not None:
            for task in member.sends:
                task.cancel()

    def poke(self) -> None:
        """Something changed (a control arrived, a frame left): look at the sessions now."""
        self.wake.set()

    async def compute(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn on the training thread (off the event loop), counted in `busy`."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, self.busy.run, fn, *args)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    # ---- the clock -------------------------------------------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.fps_cap
        next_tick = last_tick = loop.time()
        owed = 0.0  # tick periods elapsed and not yet trained for (a late tick catches up, up to CATCH_UP)
        while self.members:  # the next session to join starts the loop again
            started = loop.time()
            at_tick = started >= next_tick - RETRY_SOON
            periods = 1
            if at_tick:  # train for the periods that passed since the last tick (more than one when late)
                periods, owed = self.catch_up(owed + (started - last_tick) / period)
                last_tick = started
            try:
                need = await self.pass_once(at_tick, periods)
            except Exception:  # the loop serves everybody: a bug is logged, never the end of it
                log.exception("a compute loop pass failed")
                need = TICK
            now = loop.time()
            if at_tick:
                self.behind = self.busy_ticking(started, now)
                next_tick = max(next_tick + period, now)  # whole periods: no drift; behind: tick again at once
            if need == IDLE:
                await self.nap(None)
                last_tick, owed = loop.time() - period, 0.0  # nothing trained while idle: nothing to catch up
            else:
                await self.nap(min(RETRY_SOON, next_tick - now) if need == RETRY else next_tick - now)

    def catch_up(self, owed: float) -> tuple[int, float]:
        """The periods this tick trains for and what stays owed (`catch_up`); while the loop is behind, one and
        nothing: the CPU is the limit, not one slow tick, and runs and frames slow down together, every session
        alike (catching up would take the CPU from the frames and make every tick longer still)."""
        return (1, 0.0) if self.behind else catch_up(owed)

    def busy_ticking(self, started: float, now: float) -> bool:
        """Log a tick that ran from `started` to `now`; True while the last second's ticks took BEHIND_BUSY of it
        or more (the CPU is the limit: over a whole second, so one slow tick, a collection, is not)."""
        log_ = self.tick_log
        log_.append((started, now - started))
        while log_[0][0] < now - 1.0:
            log_.popleft()
        return sum(seconds for _, seconds in log_) >= BEHIND_BUSY

    async def nap(self, timeout: float | None) -> None:
        """Sleep until poked or `timeout` seconds pass (None: until poked); not at all if controls wait, but the
        event loop always gets one turn: the frames just built leave, and acknowledgements are read, before the next
        tick looks at the windows (behind, ticks run back to back, and each page got a frame only every other one)."""
        self.wake.clear()
        if (timeout is not None and timeout <= 0) or any(m.conn.pending for m in self.members.values()):
            await asyncio.sleep(0)
            return
        try:
            await asyncio.wait_for(self.wake.wait(), timeout)
        except TimeoutError:
            pass

    async def pass_once(self, at_tick: bool, periods: int = 1) -> str:
        """Apply controls; on a tick, train and frame the due sessions; show changes of idle ones at once.
        `periods`: the tick periods this tick stands for (more than one after a late tick, never while behind).

        Returns when to look next: IDLE (when something happens), RETRY (soon: a frame is still leaving)
        or TICK (at the next tick: something trains).
        """
        loop = asyncio.get_running_loop()
        members = [m for m in self.members.values() if m.live is not None]
        controlled = [m for m in members if m.conn.pending]
        if controlled:
            await self.apply_controls(controlled)
        if at_tick:
            self.ticks += 1
        now = loop.time()
        jobs: list[tuple[Member, Job]] = []
        retry = training = False
        waiting = False  # a change waits for its page's window to open (an acknowledgement pokes the loop)
        for m in members:
            live, conn = m.live, m.conn
            assert live is not None
            steps = live.steps_per_tick()
            frame_free = conn.frame_task is None or conn.frame_task.done()
            if steps:
                training = True
                if at_tick and self._due(m, live):  # a late tick trains for the periods it stands for
                    want = frame_free and conn.flow.may_send(now)
                    jobs.append((m, Job(live, want, True, periods, self.behind)))
            elif live.dirty:
                if not frame_free:
                    retry = True  # the last frame is still leaving
                elif conn.flow.may_send(now):
                    jobs.append((m, Job(live, True, False)))  # nothing trains: show the change now
                else:
                    waiting = True
        if jobs:
            diverged_before = [m.live.session.diverged if m.live else None for m, _ in jobs]
            groups: list[int] = []
            frames = await self.compute(tick_sessions, [job for _, job in jobs], self.batch, groups)
            self.largest_group = max([self.largest_group, *groups])
            sent_at = loop.time()
            for (m, job), frame, was in zip(jobs, frames, diverged_before, strict=True):
                if m.conn not in self.members:
                    continue  # it left during the tick: its results go nowhere
                self.deliver(m, job.live, frame, was, sent_at)
        return RETRY if retry else TICK if training or waiting else IDLE

    def _due(self, m: Member, live: LiveSession) -> bool:
        """A session at fps f is due on f of every FPS_CAP ticks; a costly one, when the loop is behind,
        on fewer: it waits until it has sat out ticks in proportion to its cost."""
        m.phase = min(m.phase + live.fps / self.fps_cap, 2.0)
        if m.phase < 1.0:
            return False
        if self.behind:
            cost = m.cost()
            if cost > 1.0:
                m.credit += 1.0
                if m.credit < cost:
                    return False
                m.credit -= cost
        m.phase -= 1.0
        return True

    def deliver(self, m: Member, live: LiveSession, frame: bytes | None, was_diverged: str | None,
                now: float) -> None:
        conn = m.conn
        if live.error is not None:
            err, live.error = live.error, None
            log.error("a training tick failed", exc_info=err)
            live.playing, live.pending_steps, live.dirty = False, 0, False
            m.spawn(conn.say([("training stopped after an internal error; reset to start again", None)],
                             live.state()))
            return
        if frame is not None:
            conn.frame_out(frame, now)
        diverged = live.session.diverged
        if diverged and not was_diverged:
            live.announce = False
            m.spawn(conn.say([(diverged, DIVERGED)], live.state()))
        elif live.announce and frame is not None:
            live.announce = False
            m.spawn(conn.say([], live.state()))

    async def apply_controls(self, members: list[Member]) -> None:
        """Apply every control received since the last look, on the training thread; then confirm each
        session's state to its client (after its errors, if any)."""
        batches = []
        for m in members:
            controls, m.conn.pending = m.conn.pending, []
            batches.append((m, controls))

        def apply_all() -> list[list[tuple[str, str | None]]]:
            out = []
            for m, controls in batches:
                errors: list[tuple[str, str | None]] = []
                live = m.live
                assert live is not None
                for ctrl in controls:
                    try:
                        live.apply(ctrl)
                    except ControlError as err:
                        errors.append((str(err), err.code))
                    except Exception:  # a bug must not end the session: report it, keep the previous state
                        log.exception("applying a %s control failed", type(ctrl).__name__)
                        errors.append(("that control could not be applied; the session keeps its previous state",
                                       None))
                out.append(errors)
            return out

        results = await self.compute(apply_all)
        for (m, _), errors in zip(batches, results, strict=True):
            if m.conn in self.members and m.live is not None:
                m.phase = 1.0  # a changed session is due at the next tick
                m.spawn(m.conn.say(errors, m.live.state()))
