"""The distillation lab: why a label-smoothed teacher is a worse teacher (Müller, Kornblith & Hinton 2019, §4).

Two teachers, ε = 0 and ε (the twin: same initial weights, same minibatches), train first; then two
students, one per teacher (a bank of two: same initial weights, same minibatches), learn from their
teacher's softened probabilities p_T = softmax(z/T) with Hinton et al.'s (2015) loss
T²·KL(p_T(teacher) ‖ p_T(student)), mixed with the hard labels' cross-entropy by α (0: pure distillation).
The T² keeps the gradient's scale comparable across T.

Smoothing pulls each class into a tight cluster equidistant from every wrong template, so the
teacher's wrong-class probabilities become equal and no longer say which wrong class is similar
("information erasure"). The similar-class share measures it (engine/kd.py): of the teacher's wrong-class
probability on the training points of a similar pair (a, b), the fraction on the other class of the pair;
0.5 says nothing about which wrong class is similar.

No I/O: the CLI, the WebSocket session and the tests drive DistillSession like a TrainingSession.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .bank import make_optimizer
from .config import CSV, MAX_RUN_SIZE, ConfigError, RunConfig, check, finite, run_size
from .data import Dataset, class_order
from .kd import distill_backward, distillation_loss, similar_pair, similar_share, similar_share_per_point
from .session import BASELINE, DIVERGED_LOSS, SMOOTHED, RunSnapshot, Snapshot, TrainingSession

if TYPE_CHECKING:
    from .tabular import CsvData

TEACHERS, STUDENTS, DONE = "teachers", "students", "done"  # the lab's phases, in order
ROLES = ("teacher", "student")
RUN_NAMES = tuple(f"{role}/{twin}" for role in ROLES for twin in (BASELINE, SMOOTHED))
STUDENT_DROPS = ("eps", "loss_floor", "optimal_logit_gap")  # a student's own ε is 0: these say nothing of it


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass(frozen=True)
class DistillSettings:
    """What the lab adds to the teachers' RunConfig. Checked against config.LIMITS when built."""

    temperature: float = field(default=1.0, metadata=_doc("softening temperature T of p_T = softmax(z/T)"))
    alpha: float = field(default=0.0, metadata=_doc("weight of the hard labels' cross-entropy (0: pure distillation)"))
    teacher_steps: int = field(default=3000, metadata=_doc("steps the teachers train"))
    student_steps: int = field(default=3000, metadata=_doc("steps the students train, after the teachers"))
    student_hidden: int = field(default=8, metadata=_doc("the students' hidden width"))
    student_penultimate: int = field(default=4, metadata=_doc("the students' penultimate dimension"))

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            check(f.name, getattr(self, f.name))

    def replace(self, **changes: Any) -> DistillSettings:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_lab_size(config: RunConfig, settings: DistillSettings, points: int | None = None) -> None:
    """Teachers and students together stay within the run-size limit every session has (`points`: a CSV
    file's training points)."""
    students = config.replace(hidden=settings.student_hidden, penultimate=settings.student_penultimate)
    size = run_size(config, 2, points) + run_size(students, 2, points)
    if size > MAX_RUN_SIZE:
        raise ConfigError(
            f"lab too large: 2 teachers and 2 students × {points or config.training_points} points × their units = "
            f"{size:,}, "
            f"at most {MAX_RUN_SIZE:,}; use fewer points or narrower networks")


class _Batches:
    """The students' minibatches: shuffled per epoch (or in class order when unshuffled); None: full batch."""

    def __init__(self, y: np.ndarray, batch_size: int, ordered: bool, seed: int, device: torch.device) -> None:
        self.n, self.size, self.ordered, self.device = y.size, batch_size, ordered, device
        self.gen = torch.Generator().manual_seed(seed)
        self.order = torch.as_tensor(class_order(y), device=device) if ordered else self._permutation()
        self.cursor = 0

    def _permutation(self) -> torch.Tensor:
        return torch.randperm(self.n, generator=self.gen).to(self.device)

    def next(self) -> torch.Tensor | None:
        if self.size >= self.n:
            return None
        parts, need = [], self.size
        while need:
            take = self.order[self.cursor : self.cursor + need]
            parts.append(take)
            need -= take.numel()
            self.cursor += take.numel()
            if self.cursor == self.n:
                self.cursor = 0
                if not self.ordered:
                    self.order = self._permutation()
        return parts[0] if len(parts) == 1 else torch.cat(parts)


@dataclass
class DistillSnapshot:
    """A frame's worth of the lab: the four runs (teachers, then students) and what the page adds."""

    frame: Snapshot  # runs named RUN_NAMES; a student's `eps` is its teacher's ε
    phase: str
    teacher_step: int
    student_step: int
    settings: DistillSettings
    pair: tuple[int, int]
    point: dict[str, Any]  # a training point of the pair: display index, label, each run's log p_T there (nats)

    @property
    def step(self) -> int:
        return self.frame.step

    @property
    def diverged(self) -> str | None:
        return self.frame.diverged

    @property
    def finished(self) -> bool:
        return self.phase == DONE


class DistillSession:
    """Teachers, then students: step, change ε (while the teachers train), T, α and the learning rate, snapshot.

    Duck-compatible with TrainingSession where the live session needs it: step, snapshot, step_count,
    lr, smoothed_eps, is_sweep, eps_values, config (the teachers' RunConfig), data, device, diverged.
    """

    is_sweep = False

    def __init__(self, config: RunConfig | None = None, settings: DistillSettings | None = None,
                 table: CsvData | None = None) -> None:
        self.reset(config or RunConfig(), settings, table)

    def reset(self, config: RunConfig, settings: DistillSettings | None = None, table: CsvData | None = None) -> None:
        """Start the lab again from step 0 (`table`: the session's CSV rows, for the dataset "csv"); raises
        ConfigError (state unchanged) before building anything."""
        settings = settings or DistillSettings()
        table = table if config.dataset == CSV else None
        check_lab_size(config, settings, int(table.summary["train"]) if table is not None else None)
        teachers = TrainingSession(config, table=table)
        students = TrainingSession(config.replace(
            hidden=settings.student_hidden, penultimate=settings.student_penultimate, eps=0.0), table=table)
        self.settings, self.teachers, self.students = settings, teachers, students
        self.pair = similar_pair(teachers.data)
        self.student_step = 0
        self._student_diverged: str | None = None
        self._batches = _Batches(teachers.data.y_train, config.batch_size, config.ordered, config.seed + 2,
                                 teachers.device)
        self._good = students.bank.flat.detach().clone()
        self._good_step = 0
        self._teacher_z: torch.Tensor | None = None  # frozen teachers' logits (2, N + V, K), once they are done
        self._teacher_snap: Snapshot | None = None
        self._student_snap: Snapshot | None = None  # the untrained students, shown while the teachers train
        self._extras: tuple[list[dict[str, float | None]], dict[str, Any]] | None = None
        self._measured_at = -1  # the step of the last measured snapshot
        self._point = _bar_point(teachers.data, teachers.display_idx, self.pair)

    # ---- what the live session reads ----------------------------------------------------------
    @property
    def config(self) -> RunConfig:
        return self.teachers.config

    @property
    def data(self) -> Dataset:
        return self.teachers.data

    @property
    def device(self) -> torch.device:
        return self.teachers.device

    @property
    def lr(self) -> float:
        return self.teachers.lr

    @property
    def eps_values(self) -> list[float]:
        return self.teachers.eps_values

    @property
    def smoothed_eps(self) -> float | None:
        return self.teachers.smoothed_eps

    @property
    def step_count(self) -> int:
        """Steps so far, teachers' and students' together."""
        return self.teachers.step_count + self.student_step

    @property
    def diverged(self) -> str | None:
        return self.teachers.diverged or self._student_diverged

    @property
    def phase(self) -> str:
        if self.teachers.step_count < self.settings.teacher_steps:
            return TEACHERS
        return STUDENTS if self.student_step < self.settings.student_steps else DONE

    def describe(self) -> dict[str, Any]:
        """The lab's settings and where it stands (the live session's state message)."""
        return {**self.settings.as_dict(), "phase": self.phase, "teacher_step": self.teachers.step_count,
                "student_step": self.student_step, "pair": list(self.pair)}

    # ---- live changes -------------------------------------------------------------------------
    def eps_refusal(self) -> str | None:
        """Why ε cannot change now (the teachers have finished), or None."""
        if self.phase == TEACHERS:
            return None
        return (f"the teachers finished training at step {self.settings.teacher_steps}; ε changes the smoothed "
                "teacher while it trains: restart the lab to train it with another ε")

    def set_eps(self, eps: float) -> None:
        """The smoothed teacher's ε, at its next step; refused once the teachers have finished."""
        refusal = self.eps_refusal()
        if refusal:
            raise ConfigError(refusal)
        self.teachers.set_eps(eps)

    def set_lr(self, lr: float) -> None:
        """The learning rate of teachers and students, live; after a divergence, training may go on."""
        self.teachers.set_lr(lr)
        self.students.set_lr(lr)
        self._student_diverged = None

    def set_distill(self, temperature: float | None = None, alpha: float | None = None) -> None:
        """T and α, live: the students' next step uses them, and the shares and bars are shown at the new T."""
        changes = {k: v for k, v in (("temperature", temperature), ("alpha", alpha)) if v is not None}
        self.settings = self.settings.replace(**changes)
        self._extras = None

    # ---- training -----------------------------------------------------------------------------
    def step(self, n: int = 1) -> int:
        """Up to n steps: the teachers' until they are done, then the students'. Returns the steps taken."""
        done = 0
        while done < n and not self.diverged:
            phase = self.phase
            if phase == TEACHERS:
                done += self.teachers.step(min(n - done, self.settings.teacher_steps - self.teachers.step_count))
            elif phase == STUDENTS:
                done += self._student_steps(min(n - done, self.settings.student_steps - self.student_step))
            else:
                break
        return done

    def _freeze(self) -> None:
        """The teachers are done: keep their logits on every point, and their last snapshot."""
        t = self.teachers
        self._teacher_z = t.bank(torch.cat([t.x_train, t.x_val]))[1]  # (2, N + V, K)
        self._teacher_snap = t.snapshot()

    def _student_steps(self, n: int) -> int:
        if self._teacher_z is None:
            self._freeze()
        assert self._teacher_z is not None
        s, z_train = self.students, self._teacher_z[:, : self.data.y_train.size]
        temperature, alpha = self.settings.temperature, self.settings.alpha
        done = 0
        for _ in range(n):
            idx = self._batches.next()
            x = s.x_train if idx is None else s.x_train[idx]
            y = s.y_train if idx is None else s.y_train[idx]
            z = z_train if idx is None else z_train[:, idx]
            losses = distill_backward(s.bank, x, y, z, temperature, alpha)  # at the current weights
            if not bool((losses < DIVERGED_LOSS).all()):  # NaN fails this test too
                done -= self.student_step - self._good_step
                self._diverge()
                break
            self._good.copy_(s.bank.flat.detach())
            self._good_step = self.student_step
            s.opt.step()
            self.student_step += 1
            done += 1
        s.step_count = self.student_step  # the students' metrics say the step they were measured at
        return done

    def _diverge(self) -> None:
        """Back to the students' last weights with a finite loss, with a fresh optimizer (as TrainingSession)."""
        self._student_diverged = (f"the students' training diverged at student step {self.student_step} "
                                  "(learning rate too high?); restart or lower it")
        s = self.students
        with torch.no_grad():
            s.bank.flat.copy_(self._good)
        self.student_step = s.step_count = self._good_step
        s.opt = make_optimizer(s.bank, s.config.optimizer, s.lr, weight_decay=s.config.weight_decay)

    # ---- snapshots ----------------------------------------------------------------------------
    def snapshot(self, regions: bool = False, metrics: bool = True) -> DistillSnapshot:
        """The four runs (teachers, students) with their metrics, similar-class shares and the bar point's p_T.

        While the teachers train, the students are shown as they start; then the teachers as they ended.
        A finished lab is always measured once more, so its last numbers are its final ones.
        `regions` is accepted for the live session's sake: the lab shows no decision regions.
        """
        phase = self.phase
        metrics = metrics or (phase == DONE and self._measured_at != self.step_count)
        if phase == TEACHERS:
            teachers = self.teachers.snapshot(metrics=metrics)
            if self._student_snap is None:
                self._student_snap = self.students.snapshot()
            students = self._student_snap
        else:
            if self._teacher_snap is None:
                self._freeze()
            assert self._teacher_snap is not None
            teachers, students = self._teacher_snap, self.students.snapshot(metrics=metrics)
        if metrics or self._extras is None:
            self._extras = self._measure_extras()
            self._measured_at = self.step_count
        extras, point = self._extras
        runs = []
        for i, run in enumerate([*teachers.runs, *students.runs]):
            values = {**run.metrics, **extras[i]}
            if i >= 2:  # a student: its train_loss is the distillation objective, its plain cross-entropy kept
                values = {k: v for k, v in values.items() if k not in STUDENT_DROPS}
                values["hard_train_loss"] = run.metrics.get("train_loss")
            runs.append(dataclasses.replace(run, name=RUN_NAMES[i], eps=self.eps_values[i % 2], metrics=values))
        frame = dataclasses.replace(teachers, step=self.step_count, runs=runs, diverged=self.diverged)
        return DistillSnapshot(frame=frame, phase=phase, teacher_step=self.teachers.step_count,
                               student_step=self.student_step, settings=self.settings, pair=self.pair, point=point)

    @torch.no_grad()
    def _measure_extras(self) -> tuple[list[dict[str, float | None]], dict[str, Any]]:
        """Per run: the similar-class shares at T; per student: its distillation objective on the training set
        (its train_loss) and how often it agrees with its teacher on validation. Every run's log p_T at the bar point.
        """
        t, s = self.teachers, self.students
        n, temperature = self.data.y_train.size, self.settings.temperature
        x_all = torch.cat([t.x_train, t.x_val])
        z_t = self._teacher_z if self._teacher_z is not None else t.bank(x_all)[1]  # (2, N + V, K)
        z_s = s.bank(x_all)[1]
        y = t.y_train
        extras: list[dict[str, float | None]] = []
        for z in (z_t, z_s):
            share = similar_share(z[:, :n], y, self.pair, temperature).tolist()
            per_point = similar_share_per_point(z[:, :n], y, self.pair, temperature).tolist()
            extras += [{"similar_share": finite(v), "similar_share_per_point": finite(w)}
                       for v, w in zip(share, per_point, strict=True)]
        kd = distillation_loss(z_s[:, :n], z_t[:, :n], y, temperature, self.settings.alpha).tolist()
        agree = (z_s[:, n:].argmax(-1) == z_t[:, n:].argmax(-1)).float().mean(-1).tolist()
        for m in range(2):
            extras[2 + m].update(train_loss=finite(kd[m]), agreement=finite(agree[m]), teacher_eps=self.eps_values[m])
        i = int(self.teachers.display_idx[self._point])
        log_p = torch.log_softmax(torch.cat([z_t[:, i], z_s[:, i]]) / temperature, dim=-1).to("cpu").numpy()  # (4, K)
        point = {"display_index": int(self._point), "label": int(self.data.y_train[i]), "log_probs": {
            name: [finite(round(float(v), 4)) for v in log_p[r]] for r, name in enumerate(RUN_NAMES)}}
        return extras, point

    def run_metrics(self) -> dict[str, dict[str, float | None]]:
        """The latest metrics per run name (takes a snapshot)."""
        return {r.name: r.metrics for r in self.snapshot().frame.runs}


def _bar_point(data: Dataset, display_idx: np.ndarray, pair: tuple[int, int]) -> int:
    """Position in the display subsample of the bar chart's point: the clean point of class a nearest a quarter of
    the way from a's mean to b's, a typical point of the pair chosen from the inputs alone, not from any model."""
    a, b = pair
    mean_a, mean_b = (data.x_train[data.y_true == c].mean(axis=0) for c in pair)
    target = 0.75 * mean_a + 0.25 * mean_b
    best, best_d = 0, np.inf
    for pos, i in enumerate(display_idx):
        if data.y_true[i] == a and not data.flipped[i]:
            d = float(np.linalg.norm(data.x_train[i] - target))
            if d < best_d:
                best, best_d = pos, d
    return best


__all__ = ["DONE", "RUN_NAMES", "STUDENTS", "TEACHERS", "DistillSession", "DistillSettings", "DistillSnapshot",
           "RunSnapshot"]
