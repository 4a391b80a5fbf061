"""What the built-in lesson (app/lessons/data/label-smoothing-20.toml) states, and how each statement is checked.

CLAIMS: every number a step's texts state that is not an input of the step's own settings, keyed by (step,
mention as written), with a check computed by the engine: app/engine/loss.py for targets, losses, floors and
gaps; a seeded training run of the step's own settings (tests/support/lesson_runs.py) for what training does.
The paper's and the blog's numbers are checked against tables transcribed from their sources. BEHAVIOUR
(lesson_behaviour.py) checks what the questions answer without a number.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from app.engine.config import K
from app.engine.kd import similar_share
from app.engine.loss import calculate, loss_floor, optimal_logit_gap, smoothed_targets
from app.engine.measure import N_BINS
from app.engine.session import BASELINE, SMOOTHED
from app.lessons import Lesson, Step
from tests.support.lesson_runs import Metrics, distill_settings, fitted_flipped, lab, run_config, sweep, twin, value
from tests.support.lesson_text import entries, numbers, rounds_to, stated

# The paper's numbers, transcribed from shared/SCIENCE.md §8 (Müller, Kornblith & Hinton 2019, Tables 2 and 3)
# and §7 (the paper's §4, its toy MNIST distillation); the lesson quotes them as the paper's, never the toy's.
PAPER = {
    "Table 2, CIFAR-10 AlexNet top-1 %, without / with LS (ε = 0.1)": (86.8, 86.7),
    "Table 3, CIFAR-100 ResNet-56 ECE: baseline, temperature scaling (T = 1.9), LS": (0.150, 0.021, 0.024),
    "Table 3, CIFAR-100 ResNet-56, the ε of its LS": (0.05,),
    "§4, toy MNIST teacher error %, without / with LS": (0.67, 0.59),
    "§4, toy MNIST student error %, teacher without / with LS": (0.74, 0.91),
}
# The blog's worked example (shared/seed/label-smoothing-blog.txt, §1), as the blog prints it: K = 4, label 2
# (counted from 1), ε = 0.2, two predictions, and the smoothed loss it printed for p2 (SCIENCE.md §3: wrong).
BLOG_P1 = [0.05, 0.9, 0.03, 0.02]
BLOG_P2 = [0.01, 0.79, 0.15, 0.05]
BLOG_LABEL, BLOG_EPS, BLOG_P2_PRINTED = 2, 0.2, 0.29
SEEDS = (0, 1)  # the step's own seed (the explorer's default, 0) and one more: each run claim holds for both
EPS_GRID = (0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.9)
OVER_CONFIDENT = [0.0001, 0.9997, 0.0001, 0.0001]
TWIN_STEPS = (500, 1000, 2000)  # checkpoints of the twins (the smoothed gap settles within a few hundred steps)
ROOM_EPS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)  # a room spread over [0, 0.5], trained as one sweep
FLIPPED_STEPS = 3000  # the noisy step's wide network has memorised some flipped labels by then

Check = Callable[[Step, str], None]  # the step, and the mention as its text writes it


@dataclass(frozen=True)
class Claim:
    step: int  # 1-based, as the host counts
    mention: str  # as the text writes it, spaces collapsed
    how: str  # how it is checked, in words
    check: Check


# ---- runs of a step's settings --------------------------------------------------------------------------------
def twin_at(step: Step, seed: int, steps: int) -> Metrics:
    return twin(run_config(step, seed), TWIN_STEPS).at[steps]


def room(step: Step, seed: int) -> Metrics:
    return sweep(run_config(step, seed), ROOM_EPS, 1000)


def room_gap(step: Step, seed: int, eps: float) -> float:
    return value(room(step, seed), f"eps={eps:g}", "logit_gap")


def distilled(step: Step, seed: int) -> Metrics:
    return lab(run_config(step, seed), distill_settings(step))


def flipped(step: Step, seed: int) -> dict[str, tuple[int, float, float]]:
    return fitted_flipped(twin(run_config(step, seed), (FLIPPED_STEPS,)).session)


def pair_shares(step: Step, seed: int) -> list[float]:
    """The twin's similar-class shares (one-hot, smoothed) on the pair (0, 1) at its last checkpoint."""
    session = twin(run_config(step, seed), TWIN_STEPS).session
    with torch.no_grad():
        z = session.bank(session.x_train)[1]
    return [float(v) for v in similar_share(z, session.y_train, (0, 1))]


def calc(probs: list[float], step: Step) -> float:
    return calculate(probs, step.settings["label"] - 1, step.settings["eps"]).smoothed_loss


def true_target(eps: float) -> float:
    """The smoothed target's true-class entry, from engine/loss.py."""
    return float(smoothed_targets(torch.tensor([0]), K, eps)[0, 0])


# ---- formulas and values of app/engine/loss.py ----------------------------------------------------------------
def target_formula(_: Step, __: str) -> None:
    """q′ = (1 − ε)·one-hot + ε/K and its true-class entry 1 − ε + ε/K are engine/loss.py's targets."""
    for eps in EPS_GRID:
        q = smoothed_targets(torch.arange(K), K, eps).double()
        assert torch.allclose(q, (1 - eps) * torch.eye(K, dtype=torch.float64) + eps / K, atol=1e-6)
        assert math.isclose(true_target(eps), 1 - eps + eps / K, abs_tol=1e-6)


def gap_formula(_: Step, __: str) -> None:
    for eps in EPS_GRID:
        assert math.isclose(math.log(1 + K * (1 - eps) / eps), optimal_logit_gap(eps, K), rel_tol=1e-12)


def ln_gap(step: Step, said: str) -> None:
    """"ln 28": the optimal gap at the step's ε (the room's top ε for "ln 4")."""
    eps = step.settings.get("eps", max(ROOM_EPS))
    assert math.isclose(math.log(stated(said)[0]), optimal_logit_gap(eps, K), rel_tol=1e-12)


def smoothed_target_values(step: Step, said: str) -> None:
    targets = calculate(step.settings["probs"], step.settings["label"] - 1, step.settings["eps"]).targets
    for q, written in zip(targets, entries(said), strict=True):
        rounds_to(q, written)


def blog_vector(step: Step, said: str) -> None:
    assert numbers(said) == BLOG_P1
    assert (step.settings["label"], step.settings["eps"]) == (BLOG_LABEL, BLOG_EPS)


def blog_printed(step: Step, said: str) -> None:
    assert step.settings["probs"] == BLOG_P2 and stated(said)[0] == BLOG_P2_PRINTED
    assert abs(calc(BLOG_P2, step) - BLOG_P2_PRINTED) > 0.3  # the blog's arithmetic is wrong, SCIENCE.md §3


def over_confident(_: Step, said: str) -> None:
    vector = numbers(said)
    assert vector == OVER_CONFIDENT and math.isclose(sum(vector), 1.0) and max(vector) > max(BLOG_P1)


def over_confident_loss(step: Step, said: str) -> None:
    rounds_to(calc(OVER_CONFIDENT, step), said)
    assert calc(OVER_CONFIDENT, step) > calc(BLOG_P1, step)


def smoothed_true_entry(step: Step, said: str) -> None:
    rounds_to(true_target(run_config(step).eps), said)


def even_split(_: Step, said: str) -> None:
    """0.5 = 1/(K − 1): engine/kd.py's share when both wrong classes get the same logit."""
    z = torch.tensor([[[2.0, -1.0, -1.0], [-1.0, 2.0, -1.0]]])
    share = float(similar_share(z, torch.tensor([0, 1]), (0, 1))[0])
    assert math.isclose(share, 1 / (K - 1), rel_tol=1e-6) and share == stated(said)[0]


def bins(_: Step, said: str) -> None:
    assert stated(said)[0] == N_BINS


def paper(_: Step, said: str) -> None:
    assert stated(said)[0] in {x for row in PAPER.values() for x in row}, f"{said} is not in the paper's table"


# ---- what a run of the step's settings does (seeds 0 and 1) ---------------------------------------------------
def one_hot_gap_grows(step: Step, said: str) -> None:
    for seed in SEEDS:
        at_1000, at_2000 = (value(twin_at(step, seed, n), BASELINE, "logit_gap") for n in (1000, 2000))
        assert stated(said)[0] < at_1000 < at_2000, (seed, at_1000, at_2000)


def gap_settles(step: Step, said: str) -> None:
    eps = step.settings["eps"]
    rounds_to(optimal_logit_gap(eps, K), said)
    assert step.question is not None
    for seed in SEEDS:
        for n in (1000, 2000):
            gap = value(twin_at(step, seed, n), SMOOTHED, "logit_gap")
            assert abs(gap - optimal_logit_gap(eps, K)) < 0.05 and step.question.right(gap), (seed, n, gap)


def one_hot_loss_to_zero(step: Step, _: str) -> None:
    assert loss_floor(0.0, K) == 0.0 and -math.log(1.0) == 0.0
    for seed in SEEDS:
        at_1000, at_2000 = twin_at(step, seed, 1000), twin_at(step, seed, 2000)
        assert value(at_2000, BASELINE, "train_loss") < value(at_1000, BASELINE, "train_loss") < 0.01
        assert value(at_1000, BASELINE, "mean_confidence") > 0.99


def loss_on_floor(step: Step, said: str) -> None:
    floor = loss_floor(step.settings["eps"], K)
    rounds_to(floor, said)
    for seed in SEEDS:
        for n in (1000, 2000):
            loss = value(twin_at(step, seed, n), SMOOTHED, "train_loss")
            assert floor - 1e-4 <= loss < floor + 0.002, (seed, n, loss, floor)


def inspector_identity(step: Step, _: str) -> None:
    """‖x̃ − w̃_k‖² = ‖x̃‖² − 2 z_k + ‖w̃_k‖² with the inspector's numbers (engine/batch.py) on trained points."""
    session = twin(run_config(step, 0), TWIN_STEPS).session
    try:
        for index in (0, 17, 150):
            session.inspect_index = index
            card = session.snapshot(metrics=False).inspect
            assert card is not None
            for run in card["runs"].values():
                for k in range(K):
                    rhs = run["activation_sq_norm"] - 2 * run["logits"][k] + run["template_sq_norms"][k]
                    assert math.isclose(run["distances"][k] ** 2, rhs, rel_tol=1e-4, abs_tol=1e-4)
    finally:
        session.inspect_index = None


def one_hot_share_near_one(step: Step, _: str) -> None:
    for seed in SEEDS:
        assert pair_shares(step, seed)[0] > 0.95


def one_hot_certain(step: Step, said: str) -> None:
    assert true_target(0.0) == stated(said)[0]
    for seed in SEEDS:
        assert flipped(step, seed)[BASELINE][2] > 0.97


def one_hot_ece_near_zero(step: Step, _: str) -> None:
    for seed in SEEDS:
        assert value(twin_at(step, seed, 1000), BASELINE, "ece") < 0.01


def every_point_right(step: Step, said: str) -> None:
    for seed in SEEDS:
        metrics = twin_at(step, seed, 1000)
        assert value(metrics, BASELINE, "val_acc") == value(metrics, SMOOTHED, "val_acc") == stated(said)[0]
        assert value(metrics, BASELINE, "mean_confidence") > 0.99


def smoothed_confidence(step: Step, said: str) -> None:
    target = true_target(step.settings["eps"])
    rounds_to(target, said)
    for seed in SEEDS:
        assert abs(value(twin_at(step, seed, 1000), SMOOTHED, "mean_confidence") - target) < 0.01


def smoothed_ece(step: Step, said: str) -> None:
    for seed in SEEDS:
        rounds_to(value(twin_at(step, seed, 1000), SMOOTHED, "ece"), said)


def room_end(step: Step, said: str) -> None:
    """An end of the room's ε range: at 0 no finite optimal gap (the ε = 0 run's gap dwarfs the rest); at 0.5
    the run reaches ln(1 + K(1 − ε)/ε)."""
    eps = stated(said)[0]
    assert eps in ROOM_EPS
    for seed in SEEDS:
        if eps == 0:
            assert optimal_logit_gap(eps, K) == math.inf
            assert room_gap(step, seed, 0.0) > 3 * room_gap(step, seed, ROOM_EPS[1])
        else:
            assert abs(room_gap(step, seed, eps) - optimal_logit_gap(eps, K)) < 0.05


def room_top_gap(step: Step, said: str) -> None:
    top = max(ROOM_EPS)
    rounds_to(optimal_logit_gap(top, K), said)
    for seed in SEEDS:
        rounds_to(room_gap(step, seed, top), said)


def smoothed_teacher_share(step: Step, said: str) -> None:
    even_split(step, said)
    for seed in SEEDS:
        assert 0.5 < value(distilled(step, seed), "teacher/smoothed", "similar_share") < 0.65


def one_hot_teacher_share(step: Step, _: str) -> None:
    for seed in SEEDS:
        assert value(distilled(step, seed), "teacher/baseline", "similar_share") > 0.9


T, G = target_formula, gap_formula
FORMULA_Q, FORMULA_TRUE, FORMULA_GAP = "`q′ = (1 − ε)·one-hot + ε/K`", "`1 − ε + ε/K`", "`ln(1 + K(1 − ε)/ε)`"
GRID = "over an ε grid"
CLAIMS: list[Claim] = [
    Claim(1, FORMULA_Q, f"engine/loss.py smoothed_targets {GRID}", T),
    Claim(1, "[0.05, 0.85, 0.05, 0.05]", "calculate(the step's vector, label, ε).targets", smoothed_target_values),
    Claim(1, "[0.05, 0.9, 0.03, 0.02]", "the blog's p1 (BLOG_P1), at the step's label and ε", blog_vector),
    Claim(1, "0.610", "calculate(the blog's p1, label 2, ε = 0.2).smoothed_loss",
          lambda s, said: rounds_to(calc(BLOG_P1, s), said)),
    Claim(1, "0.675", "calculate(the step's p2, label 2, ε = 0.2).smoothed_loss",
          lambda s, said: rounds_to(calc(s.settings["probs"], s), said)),
    Claim(1, "0.29", "the blog's printed p2 loss (BLOG_P2_PRINTED), off the engine's by more than 0.3", blog_printed),
    Claim(1, "[0.0001, 0.9997, 0.0001, 0.0001]", "sums to 1, more confident than p1", over_confident),
    Claim(1, "1.382", "calculate(that vector, label 2, ε = 0.2).smoothed_loss, above p1's", over_confident_loss),
    Claim(2, "10", "one-hot train gap > 10 at 1,000 steps and larger at 2,000 (seeds 0, 1)", one_hot_gap_grows),
    Claim(2, FORMULA_TRUE, f"smoothed_targets' true-class entry {GRID}", T),
    Claim(2, FORMULA_GAP, f"optimal_logit_gap {GRID}", G),
    Claim(2, "ln 28", "ln 28 = optimal_logit_gap(0.1, 3)", ln_gap),
    Claim(2, "3.33", "optimal_logit_gap(0.1, 3); the smoothed train gap within 0.05 of it, and inside the answer's "
          "tolerance, at 1,000 and 2,000 steps (seeds 0, 1)", gap_settles),
    Claim(3, "0", "loss_floor(0, 3) = 0; one-hot train loss < 0.01 at 1,000 steps, lower at 2,000 (seeds 0, 1)",
          one_hot_loss_to_zero),
    Claim(3, "1", "−log 1 = 0; the one-hot run's mean confidence > 0.99 at 1,000 steps (seeds 0, 1)",
          one_hot_loss_to_zero),
    Claim(3, "0.291", "loss_floor(0.1, 3); the smoothed train loss within 0.002 above it, never below, at 1,000 and "
          "2,000 steps (seeds 0, 1)", loss_on_floor),
    Claim(4, "`‖x̃ − w̃_k‖² = ‖x̃‖² − 2 z_k + ‖w̃_k‖²`", "the inspector's numbers (engine/batch.py) on three points "
          "of a trained twin, every run and class", inspector_identity),
    Claim(5, "1", "the one-hot run's similar-class share > 0.95 at 2,000 steps (seeds 0, 1)", one_hot_share_near_one),
    Claim(5, "0.5", "1/(K − 1): engine/kd.py similar_share of equal wrong logits", even_split),
    Claim(6, FORMULA_TRUE, f"smoothed_targets' true-class entry {GRID}", T),
    Claim(6, "1", "the one-hot target's true entry; that run's surest fitted flipped label > 0.97 at 3,000 steps "
          "(seeds 0, 1)", one_hot_certain),
    Claim(6, "0.867", "smoothed_targets(ε = 0.2)'s true-class entry", smoothed_true_entry),
    Claim(8, "15", "engine/measure.py N_BINS", bins),
    *(Claim(8, said, "the paper (PAPER table)", paper) for said in ("0.150", "0.024", "ε = 0.05", "0.021")),
    Claim(8, "0", "the one-hot run's ECE < 0.01 at 1,000 steps (seeds 0, 1)", one_hot_ece_near_zero),
    Claim(8, "1", "both runs' validation accuracy 1, one-hot mean confidence > 0.99 at 1,000 steps (seeds 0, 1)",
          every_point_right),
    Claim(8, FORMULA_TRUE, f"smoothed_targets' true-class entry {GRID}", T),
    Claim(8, "0.933", "smoothed_targets(0.1)'s true-class entry; the smoothed run's mean confidence within 0.01 of "
          "it at 1,000 steps (seeds 0, 1)", smoothed_confidence),
    Claim(8, "0.07", "the smoothed run's ECE at 1,000 steps, rounded (seeds 0, 1)", smoothed_ece),
    Claim(9, "0", "optimal_logit_gap(0, 3) is infinite; a room's ε = 0 run's gap > 3 × its ε = 0.05 run's "
          "(a 7-model sweep, 1,000 steps, seeds 0, 1)", room_end),
    Claim(9, "0.5", "the same sweep's ε = 0.5 run within 0.05 of optimal_logit_gap(0.5, 3)", room_end),
    Claim(9, "ε = 0.5", "as 0.5", room_end),
    Claim(9, FORMULA_GAP, f"optimal_logit_gap {GRID}", G),
    Claim(9, "ln 4", "ln 4 = optimal_logit_gap(0.5, 3)", ln_gap),
    Claim(9, "1.39", "optimal_logit_gap(0.5, 3), and the sweep's ε = 0.5 run, rounded (seeds 0, 1)", room_top_gap),
    *(Claim(9, said, "the paper (PAPER table)", paper) for said in ("86.8", "86.7")),
    Claim(10, "0.5", "1/(K − 1); the smoothed teacher's share between it and 0.65 after the lab (seeds 0, 1)",
          smoothed_teacher_share),
    Claim(10, "1", "the one-hot teacher's similar-class share > 0.9 after the lab (seeds 0, 1)", one_hot_teacher_share),
    *(Claim(10, said, "the paper's toy MNIST (PAPER table)", paper) for said in ("0.59%", "0.67%", "0.91%", "0.74%")),
]


def lesson_length(lesson: Lesson, said: str) -> None:
    """The title's 20 minutes: its steps at about 2 minutes each (a text is read aloud in one)."""
    assert len(lesson.steps) * 2 == stated(said)[0]


LESSON_CLAIMS: dict[str, tuple[str, Callable[[Lesson, str], None]]] = {
    "20": ("the lesson's 10 steps at about 2 minutes each", lesson_length),
}
