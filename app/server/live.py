"""LiveSession: a TrainingSession plus what a live connection adds (play state, speed, fps, pending steps).

Synchronous and I/O-free: connection.py calls `apply` for each validated control and `tick` on a worker thread.
ε and the learning rate change live at the next step; dataset and model settings reset the run.
"""

from __future__ import annotations

import time
from typing import Any

from .. import __version__
from ..engine.config import MAX_CONTROLS_PER_SECOND, MAX_FPS, MAX_SPEED, RunConfig
from ..engine.distill import DistillSession, DistillSettings, DistillSnapshot
from ..engine.session import TrainingSession
from ..protocol.frames import encode_distill, encode_snapshot
from ..protocol.messages import (
    DIVERGED,
    ControlError,
    Distill,
    Pause,
    Play,
    Reset,
    Set,
    Step,
    Sweep,
    merge_config,
)

DEFAULT_SPEED = 3  # steps per frame: 90 steps/s at 30 fps, the effect shows within seconds
METRICS_EVERY = 3  # all-point metrics on every 3rd frame (10 Hz at 30 fps); points move on every frame
REGIONS_EVERY = 6  # decision regions (input-space panel) on every 6th frame, between two measured ones


class LiveSession:
    def __init__(self, config: RunConfig, *, fps_cap: int = 30, max_steps_per_second: int = 2_000) -> None:
        self.session: TrainingSession | DistillSession = TrainingSession(config)
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

    # ---- controls ---------------------------------------------------------------------------------
    def admit(self, now: float) -> None:
        """Rate limit: at most MAX_CONTROLS_PER_SECOND control messages in any one second."""
        self._rate_window = [t for t in self._rate_window if now - t < 1.0]
        if len(self._rate_window) >= MAX_CONTROLS_PER_SECOND:
            raise ControlError(f"too many control messages: at most {MAX_CONTROLS_PER_SECOND} per second")
        self._rate_window.append(now)

    def apply(self, ctrl: Play | Pause | Step | Set | Reset | Sweep | Distill) -> None:
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
        self.dirty = True
        self.measure_next = True

    def _reset(self, config: RunConfig, sweep_eps: list[float] | None) -> None:
        try:
            self.session = TrainingSession(config, sweep_eps)  # built fully before it replaces the old one
        except ValueError as err:
            raise ControlError(str(err)) from None
        self.pending_steps = 0
        self._steps_log.clear()

    def _distill(self, config: RunConfig, changes: dict[str, Any]) -> None:
        try:
            self.session = DistillSession(config, DistillSettings(**changes))  # built before it replaces the old
        except ValueError as err:
            raise ControlError(str(err)) from None
        self.pending_steps = 0
        self._steps_log.clear()

    # ---- work -------------------------------------------------------------------------------------
    def steps_per_tick(self) -> int:
        """Steps the next tick takes: the speed while playing, else pending `step` requests; either way at
        most the per-session rate cap's share of one tick, so `step 1000` is spread over ticks like play."""
        if self.session.diverged:
            return 0
        cap = max(1, self.max_steps_per_second // max(self.fps, 1))
        return min(self.speed if self.playing else self.pending_steps, cap)

    def tick(self, want_frame: bool, train: bool = True) -> bytes | None:
        """Train this tick's steps (if `train`); build a frame if wanted and something changed.

        Runs on a worker thread. A divergence, found by a step or by the snapshot, pauses the run.
        """
        n = self.steps_per_tick() if train else 0
        if n:
            done = self.session.step(n)
            if not self.playing:
                self.pending_steps = max(0, self.pending_steps - n)
            now = time.monotonic()
            self._steps_log.append((now, done))
            self._steps_log = [(t, k) for t, k in self._steps_log if now - t < 2.0]
            self.dirty = True
        frame = None
        if want_frame and self.dirty:
            self.dirty = False
            self.frames += 1
            measure = self.measure_next or self.frames % METRICS_EVERY == 1
            self.measure_next = False
            snap = self.session.snapshot(regions=self.frames % REGIONS_EVERY == 0, metrics=measure)
            if snap.diverged:
                self.playing = False
            if isinstance(snap, DistillSnapshot):
                self.playing = self.playing and not snap.finished  # the lab stops by itself after the students
                frame = encode_distill(snap, playing=self.playing, steps_per_s=round(self.steps_per_second(), 1))
            else:
                frame = encode_snapshot(snap, playing=self.playing, steps_per_s=round(self.steps_per_second(), 1),
                                        mode="sweep" if self.session.is_sweep else "twin")
        if self.session.diverged:
            self.playing, self.pending_steps = False, 0
        return frame

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
            "version": __version__,
        }


def _check_lab_set(s: TrainingSession | DistillSession, ctrl: Set) -> None:
    """Refuse, before anything changes, a `set` the distillation lab cannot take now, or T and α elsewhere."""
    if isinstance(s, DistillSession):
        refusal = s.eps_refusal() if ctrl.eps is not None else None
        if refusal:
            raise ControlError(refusal)
    elif ctrl.temperature is not None or ctrl.alpha is not None:
        raise ControlError("temperature and α belong to the distillation lab; start it with a distill control")
