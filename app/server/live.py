"""LiveSession: a TrainingSession plus what a live connection adds (play state, speed, fps, pending steps).

Synchronous and I/O-free: connection.py calls `apply` for each validated control and `tick` on a worker thread.
ε and the learning rate change live at the next step; dataset and model settings reset the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..engine.batch import snapshot_key, snapshot_sessions, step_sessions, train_key
from ..engine.config import CSV, MAX_CONTROLS_PER_SECOND, MAX_FPS, MAX_SPEED, RunConfig
from ..engine.distill import DistillSession, DistillSettings, DistillSnapshot
from ..engine.session import TrainingSession
from ..protocol.frames import FrameEncoder
from ..protocol.messages import (
    DIVERGED,
    RATE_LIMITED,
    ControlError,
    Distill,
    Goto,
    Inspect,
    Pause,
    Play,
    Reset,
    Set,
    Step,
    Sweep,
    merge_config,
)
from . import upload

DEFAULT_SPEED = 3  # steps per frame: 90 steps/s at 30 fps, the effect shows within seconds
METRICS_EVERY = 3  # all-point metrics on every 3rd frame (10 Hz at 30 fps); points move on every frame
REGIONS_EVERY = 6  # decision regions (input-space panel) on every 6th frame, between two measured ones
SPARSE = 2  # while the compute loop is behind, metrics and regions come half as often: frames and training first


class LiveSession:
    def __init__(self, config: RunConfig, *, fps_cap: int = 30, max_steps_per_second: int = 2_000) -> None:
        self.session: TrainingSession | DistillSession = TrainingSession(config)
        self.csv: upload.CsvData | None = None  # the session's own CSV file (server/upload.py), in memory only
        self.replies: list[dict[str, Any]] = []  # answers to controls (a dataset's summary), sent before the state
        self.fps_cap = min(fps_cap, MAX_FPS)
        self.fps = self.fps_cap
        self.speed = DEFAULT_SPEED
        self.max_steps_per_second = max_steps_per_second
        self.playing = False
        self.pending_steps = 0
        self.dirty = True  # something changed that the client has not seen in a frame yet
        self.measure_next = True  # the next frame measures every metric (after a control, at once)
        self.frames = 0
        self._rate_window: list[float] = []
        self._steps_log: list[tuple[float, int]] = []
        self.error: Exception | None = None  # set by a tick that failed on this session alone
        self.goto: int | None = None  # a `goto` in progress: the step it fast-forwards to, frames held back
        self.announce = False  # the state changed without a control (a goto arrived): send it after the frame
        self.encoder = FrameEncoder()  # this connection's frame stream: what the page has already
        self.room_paused = False  # the host paused the room ("eyes on the front"): no training until resumed

    # ---- controls ---------------------------------------------------------------------------------
    def admit(self, now: float) -> None:
        """Rate limit: at most MAX_CONTROLS_PER_SECOND control messages in any one second."""
        self._rate_window = [t for t in self._rate_window if now - t < 1.0]
        if len(self._rate_window) >= MAX_CONTROLS_PER_SECOND:
            raise ControlError(f"too many control messages: at most {MAX_CONTROLS_PER_SECOND} per second",
                               RATE_LIMITED)
        self._rate_window.append(now)

    def apply(self, ctrl: Play | Pause | Step | Set | Reset | Sweep | Distill | Goto | Inspect | upload.ReadDataset
              ) -> None:
        """Apply one validated control; raises ControlError (state unchanged) if it cannot be applied."""
        s = self.session
        if isinstance(ctrl, Play):
            if s.diverged:
                raise ControlError(s.diverged, DIVERGED)
            self.playing = True
        elif isinstance(ctrl, Pause):
            self.playing = False
        elif isinstance(ctrl, Step):
            if s.diverged:
                raise ControlError(s.diverged, DIVERGED)
            self.pending_steps = min(self.pending_steps + ctrl.n, MAX_SPEED)
        elif isinstance(ctrl, Set):
            if ctrl.eps is not None and s.is_sweep:
                raise ControlError("this connection is running a sweep; its ε values are fixed")
            _check_lab_set(s, ctrl)
            if ctrl.eps is not None:
                s.set_eps(ctrl.eps)
            if ctrl.lr is not None:
                s.set_lr(ctrl.lr)
            if ctrl.speed is not None:
                self.speed = ctrl.speed
            if ctrl.fps is not None:
                self.fps = min(ctrl.fps, self.fps_cap)
            if isinstance(s, DistillSession):
                s.set_distill(ctrl.temperature, ctrl.alpha)
        elif isinstance(ctrl, Reset):
            config = merge_config(s.config, ctrl.config)
            self._reset(config, None)
        elif isinstance(ctrl, Sweep):
            config = merge_config(s.config, ctrl.config)
            self._reset(config, list(ctrl.eps))
        elif isinstance(ctrl, Distill):
            self._distill(merge_config(s.config, ctrl.config), ctrl.lab_changes())
        elif isinstance(ctrl, Goto):
            self._goto(ctrl.to)
        elif isinstance(ctrl, Inspect):
            self._inspect(ctrl.index)
        elif isinstance(ctrl, upload.ReadDataset):
            upload.apply(self, ctrl)
        self.dirty = True
        self.measure_next = True

    def start(self, build: Callable[[], TrainingSession | DistillSession]) -> None:
        """A new run (a reset, a sweep, the lab, a file): built fully before it replaces the old one (a refusal
        leaves the old one as it was); the frame stream then starts a new run (labels and layout again)."""
        try:
            self.session = build()
        except ValueError as err:
            raise ControlError(str(err)) from None
        self.encoder.new_run()
        self.pending_steps, self.goto = 0, None
        self._steps_log.clear()

    def _reset(self, config: RunConfig, sweep_eps: list[float] | None) -> None:
        self.start(lambda: TrainingSession(config, sweep_eps, self.csv))

    def _goto(self, to: int) -> None:
        s = self.session
        if not isinstance(s, TrainingSession):
            raise ControlError("goto works in the explorer and the sweep, not in the distillation lab")
        if s.diverged:
            raise ControlError(s.diverged, DIVERGED)
        if to < s.step_count:
            raise ControlError(f"this run is already at step {s.step_count:,}, past {to:,}: reset it to go back "
                               "(the same seed gives the same run)")
        self.playing, self.pending_steps = False, 0
        self.goto = to if to > s.step_count else None

    def _inspect(self, index: int | None) -> None:
        s = self.session
        if not isinstance(s, TrainingSession):
            raise ControlError("the point inspector works in the explorer and the sweep, not in the distillation lab")
        shown = s.display_idx.size
        if index is not None and index >= shown:
            raise ControlError(f"index {index} is not a displayed point: this run shows {shown} points, "
                               f"0 to {shown - 1}")
        s.inspect_index = index

    def _distill(self, config: RunConfig, changes: dict[str, Any]) -> None:
        self.start(lambda: DistillSession(config, DistillSettings(**changes), self.csv))

    # ---- work -------------------------------------------------------------------------------------
    def steps_per_tick(self, ticks: int = 1) -> int:
        """Steps the next tick takes: the speed while playing (`ticks` times: a late tick stands for more than
        one), else pending `step` requests; either way at most the per-session rate cap's share of the tick,
        so `step 1000` is spread over ticks like play."""
        if self.session.diverged or self.room_paused:
            return 0
        cap = max(1, self.max_steps_per_second // max(self.fps, 1)) * ticks
        if self.goto is not None:
            return min(self.goto - self.session.step_count, cap)
        return min(self.speed * ticks if self.playing else self.pending_steps, cap)

    @property
    def seeking(self) -> bool:
        """A `goto` is under way: no frames until it arrives."""
        return self.goto is not None

    def tick(self, want_frame: bool, train: bool = True) -> bytes | None:
        """Train this tick's steps (if `train`); build a frame if wanted and something changed.

        A tick of one: the compute loop ticks many sessions at once through `tick_sessions`. Raises
        what training or framing raised (the session is paused).
        """
        frame = tick_sessions([Job(self, want_frame, train)])[0]
        if self.error is not None:
            err, self.error = self.error, None
            raise err
        return frame

    def _trained(self, asked: int, done: int, now: float) -> None:
        if self.goto is not None:
            if self.session.step_count >= self.goto or self.session.diverged:
                self.goto, self.measure_next = None, True  # arrived: its frame measures every metric
                self.announce = True  # and the client is told, after that frame, that the goto is over
        elif not self.playing:
            self.pending_steps = max(0, self.pending_steps - asked)
        self._steps_log.append((now, done))
        self._steps_log = [(t, k) for t, k in self._steps_log if now - t < 2.0]
        self.dirty = True

    def _frame_plan(self, sparse: bool = False) -> tuple[bool, bool]:
        """This frame's (regions, metrics): every metric on every METRICS_EVERY-th frame (and after a control);
        `sparse` (the compute loop is behind: a full room on a small machine): half as often."""
        self.dirty = False
        self.frames += 1
        every = SPARSE if sparse else 1
        measure = self.measure_next or self.frames % (METRICS_EVERY * every) == 1
        self.measure_next = False
        return self.frames % (REGIONS_EVERY * every) == 0, measure

    def _encode(self, snap: Any) -> bytes:
        if snap.diverged:
            self.playing = False
        rate = round(self.steps_per_second(), 1)
        if isinstance(snap, DistillSnapshot):
            self.playing = self.playing and not snap.finished  # the lab stops by itself after the students
            return self.encoder.encode_distill(snap, playing=self.playing, steps_per_s=rate)
        return self.encoder.encode(snap, playing=self.playing, steps_per_s=rate,
                                   mode="sweep" if self.session.is_sweep else "twin")

    def take_replies(self) -> list[dict[str, Any]]:
        """The answers queued by the controls applied so far (each once)."""
        replies, self.replies = self.replies, []
        return replies

    def steps_per_second(self) -> float:
        if len(self._steps_log) < 2:
            return 0.0
        span = self._steps_log[-1][0] - self._steps_log[0][0]
        return sum(k for _, k in self._steps_log[1:]) / span if span > 0 else 0.0

    def state(self) -> dict[str, Any]:
        """The server-confirmed settings, sent as a text message after every control."""
        s = self.session
        return {
            "type": "state",
            "playing": self.playing,
            "step": s.step_count,
            "speed": self.speed,
            "fps": self.fps,
            "lr": s.lr,
            "eps": s.smoothed_eps,
            "sweep_eps": s.eps_values if s.is_sweep else None,
            "mode": "sweep" if s.is_sweep else "twin",
            **({"mode": "distill", "distill": s.describe()} if isinstance(s, DistillSession) else {}),
            "config": s.config.as_dict(),
            "class_names": list(s.data.class_names),
            "device": str(s.device),
            "diverged": s.diverged,
            "goto": self.goto,
            "room_paused": self.room_paused,
            "inspect": getattr(s, "inspect_index", None),
            "data": upload.described(self.csv) if s.config.dataset == CSV else None,
            "version": __version__,
        }


@dataclass
class Job:
    """One session's part in a tick: whether it may send a frame now, whether it trains, and for how many tick
    periods (more than one when the compute loop is behind: the run keeps its speed)."""

    live: LiveSession
    want_frame: bool
    train: bool = True
    ticks: int = 1
    sparse: bool = False  # the loop is behind: metrics and regions half as often (LiveSession._frame_plan)


def tick_sessions(jobs: Sequence[Job], batch: bool = True, groups: list[int] | None = None) -> list[bytes | None]:
    """One tick for many live sessions: each trains its steps, then the wanted frames are built.

    Sessions whose models have the same shape and take the same number of steps train as one bank
    (engine/batch.py), and are snapshotted as one; with batch=False (BATCH_SESSIONS=0) every session
    is its own group, through the same code. A group that raises is retried one session at a time, so
    a fault stays with the session that has it: its job gets the exception instead of a frame.
    `groups`, when given, receives the size of each training group.
    """
    now = time.monotonic()
    frames: list[bytes | None] = [None] * len(jobs)
    steps = [job.live.steps_per_tick(job.ticks) if job.train else 0 for job in jobs]
    training: dict[Hashable, list[int]] = {}
    for j, job in enumerate(jobs):
        if steps[j]:
            training.setdefault(_key(job.live.session, batch, train_key, steps[j]), []).append(j)
    failed: dict[int, Exception] = {}
    if groups is not None:
        groups.extend(len(members) for members in training.values())
    for members in training.values():
        def step(group: list[int]) -> None:
            done = _step([jobs[j].live.session for j in group], steps[group[0]])
            for j, d in zip(group, done, strict=True):
                jobs[j].live._trained(steps[j], d, now)
        _isolating(step, members, failed)
    wanted = [j for j, job in enumerate(jobs)
              if job.want_frame and job.live.dirty and not job.live.seeking and j not in failed]
    plans = {j: jobs[j].live._frame_plan(jobs[j].sparse) for j in wanted}
    snapshotting: dict[Hashable, list[int]] = {}
    for j in wanted:
        snapshotting.setdefault(_key(jobs[j].live.session, batch, snapshot_key), []).append(j)
    for members in snapshotting.values():
        def snap(group: list[int]) -> None:
            snaps = _snapshot([jobs[j].live.session for j in group], [plans[j] for j in group])
            for j, sn in zip(group, snaps, strict=True):
                frames[j] = jobs[j].live._encode(sn)
        _isolating(snap, members, failed)
    for job in jobs:
        if job.live.session.diverged:
            job.live.playing, job.live.pending_steps, job.live.goto = False, 0, None
    for j, err in failed.items():
        frames[j] = None
        jobs[j].live.error = err
    return frames


def _key(session: Any, batch: bool, key: Callable[[Any], Hashable], *extra: Hashable) -> Hashable:
    """Sessions with equal keys form one group; any other kind of session (or batch=False) is alone."""
    if batch and isinstance(session, TrainingSession):
        return (key(session), *extra)
    return ("alone", id(session))


def _step(sessions: list[Any], n: int) -> list[int]:
    if len(sessions) == 1 and not isinstance(sessions[0], TrainingSession):
        return [sessions[0].step(n)]
    return step_sessions(sessions, n)


def _snapshot(sessions: list[Any], plans: list[tuple[bool, bool]]) -> list[Any]:
    if len(sessions) == 1 and not isinstance(sessions[0], TrainingSession):
        regions, metrics = plans[0]
        return [sessions[0].snapshot(regions=regions, metrics=metrics)]
    return snapshot_sessions(sessions, [r for r, _ in plans], [m for _, m in plans])


def _isolating(work: Callable[[list[int]], None], members: list[int], failed: dict[int, Exception]) -> None:
    """Run work on the group; if it raises, on each member alone, recording the members that still fail."""
    try:
        work(members)
        return
    except Exception as err:  # noqa: BLE001 - a bug in training or framing: keep it to its session
        if len(members) == 1:
            failed[members[0]] = err
            return
    for j in members:
        try:
            work([j])
        except Exception as err:  # noqa: BLE001
            failed[j] = err


def _check_lab_set(s: TrainingSession | DistillSession, ctrl: Set) -> None:
    """Refuse, before anything changes, a `set` the distillation lab cannot take now, or T and α elsewhere."""
    if isinstance(s, DistillSession):
        refusal = s.eps_refusal() if ctrl.eps is not None else None
        if refusal:
            raise ControlError(refusal)
    elif ctrl.temperature is not None or ctrl.alpha is not None:
        raise ControlError("temperature and α belong to the distillation lab; start it with a distill control")
