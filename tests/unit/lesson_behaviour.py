"""What the built-in lesson's questions answer, and its texts say, without a number: checked by training the
step's own settings with the engine (tests/support/lesson_runs.py), seeds 0 and 1. Keyed by step (1-based);
every step with a question has at least one entry, the first being the one that decides its answer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.engine.config import K
from app.engine.data import make_dataset
from app.engine.loss import calculate, loss_floor, optimal_logit_gap
from app.engine.session import BASELINE, SMOOTHED
from app.lessons import Step
from tests.support.lesson_runs import first_passes, run_config, twin, value, wrong_logit_difference
from tests.unit.lesson_claims import (
    BLOG_P1,
    ROOM_EPS,
    SEEDS,
    TWIN_STEPS,
    distilled,
    flipped,
    pair_shares,
    room,
    room_gap,
    twin_at,
)

Check = Callable[[Step], None]


def p1_wins(step: Step) -> None:
    label, eps = step.settings["label"] - 1, step.settings["eps"]
    assert calculate(BLOG_P1, label, eps).smoothed_loss < calculate(step.settings["probs"], label, eps).smoothed_loss


def gap_settles_early(step: Step) -> None:
    for seed in SEEDS:
        gap = value(twin_at(step, seed, 500), SMOOTHED, "logit_gap")
        assert abs(gap - optimal_logit_gap(step.settings["eps"], K)) < 0.1, (seed, gap)


def floor_not_zero(step: Step) -> None:
    floor = loss_floor(step.settings["eps"], K)
    assert floor > 0
    for seed in SEEDS:
        for n in TWIN_STEPS:
            assert value(twin_at(step, seed, n), SMOOTHED, "train_loss") >= floor - 1e-4


def every_point_classified(step: Step) -> None:
    for seed in SEEDS:
        for run in (BASELINE, SMOOTHED):
            assert value(twin_at(step, seed, 1000), run, "train_acc") == 1.0


def wrong_logits_equal(step: Step) -> None:
    for seed in SEEDS:
        diff = wrong_logit_difference(twin(run_config(step, seed), TWIN_STEPS).session)
        assert diff[SMOOTHED] < 0.1 and diff[SMOOTHED] < diff[BASELINE] / 10, (seed, diff)


def one_hot_wrong_logits_keep_falling(step: Step) -> None:
    for seed in SEEDS:
        gaps = [value(twin_at(step, seed, n), BASELINE, "logit_gap") for n in TWIN_STEPS]
        assert gaps == sorted(gaps), (seed, gaps)


def smoothed_share_lower(step: Step) -> None:
    for seed in SEEDS:
        one_hot, smoothed = pair_shares(step, seed)
        assert 0.5 < smoothed < one_hot - 0.05, (seed, one_hot, smoothed)


def accuracy_about_the_same(step: Step) -> None:
    for seed in SEEDS:
        last = twin_at(step, seed, TWIN_STEPS[-1])
        assert abs(value(last, BASELINE, "val_acc") - value(last, SMOOTHED, "val_acc")) <= 0.03


def spread_not_always_lower(step: Step) -> None:
    """On the step's own run (seed 0) the smoothed wrong-template spread is at or above the one-hot's somewhere."""
    spreads = [(value(twin_at(step, 0, n), SMOOTHED, "incorrect_spread"),
                value(twin_at(step, 0, n), BASELINE, "incorrect_spread")) for n in TWIN_STEPS]
    assert any(smoothed >= one_hot for smoothed, one_hot in spreads), spreads


def one_hot_surer_of_flipped(step: Step) -> None:
    for seed in SEEDS:
        fits = flipped(step, seed)
        assert fits[BASELINE][1] > fits[SMOOTHED][1], (seed, fits)


def both_fit_some_flipped(step: Step) -> None:
    for seed in SEEDS:
        assert all(count > 0 for count, _, _ in flipped(step, seed).values())


def arrivals(step: Step, seed: int) -> dict[str, np.ndarray]:
    return first_passes(run_config(step, seed), 3)


def one_hot_spikes_higher(step: Step) -> None:
    for seed in SEEDS:
        loss = arrivals(step, seed)
        assert loss[BASELINE].max() > loss[SMOOTHED].max(), (seed, loss[BASELINE].max(), loss[SMOOTHED].max())


def peak_as_class_1_arrives(step: Step) -> None:
    """Both runs' loss over all points peaks within a step of class 1's first batch (unshuffled: class 0 first)."""
    config = run_config(step)
    for seed in SEEDS:
        y = make_dataset(config.dataset, points=config.points, similarity=config.similarity, seed=seed).y_train
        arrives = int(np.sum(y == 0)) // config.batch_size  # the steps before it hold class 0 only
        for name, trace in arrivals(step, seed).items():
            assert abs(int(trace.argmax()) - arrives) <= 1, (seed, name, int(trace.argmax()), arrives)


def jump_does_not_come_back(step: Step) -> None:
    config = run_config(step)
    first = -(-config.training_points // config.batch_size)  # steps in the first pass
    for seed in SEEDS:
        for trace in arrivals(step, seed).values():
            assert trace[first:].max() < trace[:first].max() / 2


def one_hot_lower_ece(step: Step) -> None:
    for seed in SEEDS:
        metrics = twin_at(step, seed, 1000)
        assert value(metrics, BASELINE, "ece") < value(metrics, SMOOTHED, "ece")


def smoothed_under_confident(step: Step) -> None:
    for seed in SEEDS:
        metrics = twin_at(step, seed, 1000)
        assert value(metrics, SMOOTHED, "val_acc") > value(metrics, SMOOTHED, "mean_confidence")


def room_traces_theory(step: Step) -> None:
    for seed in SEEDS:
        gaps = [room_gap(step, seed, e) for e in ROOM_EPS]
        assert gaps == sorted(gaps, reverse=True), gaps
        for e, gap in zip(ROOM_EPS[1:], gaps[1:], strict=True):
            assert abs(gap - optimal_logit_gap(e, K)) < 0.05, (seed, e, gap)


def room_accuracy_flat_ece_climbs(step: Step) -> None:
    for seed in SEEDS:
        metrics = room(step, seed)
        assert len({value(metrics, f"eps={e:g}", "val_acc") for e in ROOM_EPS}) == 1
        ece = [value(metrics, f"eps={e:g}", "ece") for e in ROOM_EPS]
        assert ece == sorted(ece), ece


def one_hot_student_learns_the_pair(step: Step) -> None:
    for seed in SEEDS:
        lab = distilled(step, seed)
        assert value(lab, "teacher/baseline", "similar_share") > value(lab, "teacher/smoothed", "similar_share")
        assert value(lab, "student/baseline", "similar_share") > value(lab, "student/smoothed", "similar_share")
        assert value(lab, "student/baseline", "similar_share") > 0.9  # it inherits its teacher's share near 1


def students_differ_in_nll(step: Step) -> None:
    for seed in SEEDS:
        lab = distilled(step, seed)
        assert abs(value(lab, "student/baseline", "val_acc") - value(lab, "student/smoothed", "val_acc")) <= 0.02
        assert value(lab, "student/smoothed", "val_nll") > value(lab, "student/baseline", "val_nll")


# The answer each step's first behaviour check supports: a lesson whose answer changes fails until its check does.
ANSWERS = {
    1: "p1, the more confident",
    3: "no: it stops at a floor above 0",
    4: "equal",
    5: "one-hot: mostly on the similar class; smoothed: spread more evenly",
    6: "the one-hot run",
    7: "the one-hot run",
    8: "the one-hot run",
    9: "a curve falling as ε grows, on the theory",
    10: "the one-hot teacher's",
}
BEHAVIOUR: dict[int, list[tuple[str, Check]]] = {
    1: [("p1 has the lower smoothed loss", p1_wins)],
    2: [("the smoothed gap is on the theory within 500 steps", gap_settles_early)],
    3: [("the smoothed loss never goes below its floor, which is above 0", floor_not_zero),
        ("both runs classify every training point", every_point_classified)],
    4: [("a smoothed point's two wrong logits are equal, the one-hot run's are not", wrong_logits_equal),
        ("the one-hot gap keeps growing", one_hot_wrong_logits_keep_falling)],
    5: [("the smoothed similar-class share is lower, above an even split", smoothed_share_lower),
        ("validation accuracy about the same (within 0.03)", accuracy_about_the_same),
        ("the smoothed wrong-template spread is not always lower (seed 0)", spread_not_always_lower)],
    6: [("the one-hot run is surer of the flipped labels it fits", one_hot_surer_of_flipped),
        ("both runs fit some flipped labels", both_fit_some_flipped)],
    7: [("when class 1 first arrives the one-hot run's loss peaks higher", one_hot_spikes_higher),
        ("both runs' loss peaks as class 1 first arrives", peak_as_class_1_arrives),
        ("after the first pass the loss stays below half that peak", jump_does_not_come_back)],
    8: [("the one-hot run has the lower ECE", one_hot_lower_ece),
        ("the smoothed run is more accurate than confident", smoothed_under_confident)],
    9: [("the room's gaps fall with ε, on the theory", room_traces_theory),
        ("the room's accuracy is flat and its ECE climbs with ε", room_accuracy_flat_ece_climbs)],
    10: [("the one-hot teacher's student puts more wrong mass on the similar class", one_hot_student_learns_the_pair),
         ("the students' accuracy differs little; the smoothed teacher's student has the higher NLL",
          students_differ_in_nll)],
}
