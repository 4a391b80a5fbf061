"""The distillation lab's math against references (F.kl_div, autograd, a hand-made table) and its session."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from app.engine.bank import ModelBank
from app.engine.config import ConfigError, RunConfig
from app.engine.data import Dataset
from app.engine.distill import DONE, RUN_NAMES, STUDENTS, TEACHERS, DistillSession, DistillSettings
from app.engine.kd import distill_backward, distillation_loss, similar_pair, similar_share, similar_share_per_point

CPU = RunConfig(device="cpu", similarity=0.5)


# ---- the loss and its gradient ---------------------------------------------------------------------
@pytest.mark.parametrize("temperature", [0.5, 1.0, 4.0])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_distillation_loss_is_hintons_t2_kl_by_f_kl_div(temperature: float, alpha: float) -> None:
    g = torch.Generator().manual_seed(0)
    zs, zt = 3 * torch.randn(2, 64, 3, generator=g), 3 * torch.randn(2, 64, 3, generator=g)
    y = torch.randint(0, 3, (64,), generator=g)
    got = distillation_loss(zs, zt, y, temperature, alpha)
    for m in range(2):
        kl = F.kl_div(F.log_softmax(zs[m] / temperature, -1), F.log_softmax(zt[m] / temperature, -1),
                      reduction="batchmean", log_target=True)
        want = (1 - alpha) * temperature**2 * kl + alpha * F.cross_entropy(zs[m], y)
        torch.testing.assert_close(got[m], want, atol=1e-6, rtol=1e-6)
    assert got.min() > 0.01  # not two zeros compared


def autograd_grads(bank: ModelBank, x: torch.Tensor, y: torch.Tensor, zt: torch.Tensor,
                   temperature: float, alpha: float) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The same loss through autograd, in float64, from copies of the bank's parameters."""
    w1, b1, w2, b2, w3, b3 = (p.detach().clone().double().requires_grad_(True)
                              for p in (bank.w1, bank.b1, bank.w2, bank.b2, bank.w3, bank.b3))
    h = torch.relu(torch.einsum("bi,mhi->mbh", x.double(), w1) + b1[:, None])
    a = torch.relu(torch.einsum("mbh,mdh->mbd", h, w2) + b2[:, None])
    z = torch.einsum("mbd,mkd->mbk", a, w3) + b3[:, None]
    losses = distillation_loss(z, zt.double(), y, temperature, alpha)
    losses.sum().backward()
    return losses.detach(), [p.grad for p in (w1, b1, w2, b2, w3, b3)]  # type: ignore[misc]


@pytest.mark.parametrize(("temperature", "alpha"), [(1.0, 0.0), (3.0, 0.0), (2.0, 0.4), (0.5, 1.0)])
def test_distill_backward_matches_autograd(temperature: float, alpha: float) -> None:
    bank = ModelBank(2, 2, 8, 4, seed=1)
    with torch.no_grad():  # leave the identical init so each student has its own ReLU pattern
        bank.flat.add_(0.3 * torch.randn(bank.flat.shape, generator=torch.Generator().manual_seed(2)))
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(40, 2, generator=g), torch.randint(0, 3, (40,), generator=g)
    zt = 4 * torch.randn(2, 40, 3, generator=g)
    losses = distill_backward(bank, x, y, zt, temperature, alpha)
    ref_losses, ref_grads = autograd_grads(bank, x, y, zt, temperature, alpha)
    torch.testing.assert_close(losses.double(), ref_losses, atol=1e-6, rtol=1e-5)
    mine = (bank.g_w1, bank.g_b1, bank.g_w2, bank.g_b2, bank.g_w3, bank.g_b3)
    for got, want in zip(mine, ref_grads, strict=True):
        torch.testing.assert_close(got.double(), want, atol=1e-6, rtol=1e-4)
    assert max(float(r.abs().max()) for r in ref_grads) > 1e-3  # not two zero vectors compared


def test_a_student_that_matches_its_teacher_has_zero_loss_and_gradient() -> None:
    bank = ModelBank(2, 2, 8, 4, seed=0)
    x, y = torch.randn(30, 2), torch.randint(0, 3, (30,))
    z = bank(x)[1]
    for temperature in (0.7, 1.0, 5.0):
        shifted = z + torch.randn(2, 30, 1)  # a constant per point: the same p_T
        losses = distill_backward(bank, x, y, shifted, temperature, 0.0)
        assert float(losses.abs().max()) < 1e-6
        assert float(bank.flat.grad.abs().max()) < 1e-6
    assert float(distillation_loss(z, z + torch.randn(2, 30, 3), y, 1.0).min()) > 1e-3  # the test can fail


# ---- the similar-class share ----------------------------------------------------------------------
TABLE = torch.tensor([[0.7, 0.2, 0.1],  # label 0: other of the pair 1 takes 0.2 of 0.3 wrong
                      [0.1, 0.6, 0.3],  # label 1: other 0 takes 0.1 of 0.4
                      [0.9, 0.05, 0.05],  # label 0: 0.05 of 0.1
                      [0.3, 0.3, 0.4]])  # label 2: not of the pair, left out
LABELS = torch.tensor([0, 1, 0, 2])


def test_similar_share_of_a_hand_made_table() -> None:
    logits = torch.log(TABLE).unsqueeze(0)  # softmax(log p) = p
    per_point = similar_share_per_point(logits, LABELS, (0, 1))
    mass = similar_share(logits, LABELS, (0, 1))
    torch.testing.assert_close(per_point, torch.tensor([(0.2 / 0.3 + 0.1 / 0.4 + 0.05 / 0.1) / 3]))
    torch.testing.assert_close(mass, torch.tensor([(0.2 + 0.1 + 0.05) / (0.3 + 0.4 + 0.1)]))
    # at T = 2, p_T ∝ √p: computed here by hand from the table
    soft = np.sqrt(TABLE.numpy()[:3])
    soft /= soft.sum(axis=1, keepdims=True)
    other, own = soft[[0, 1, 2], [1, 0, 1]], soft[[0, 1, 2], [0, 1, 0]]
    torch.testing.assert_close(similar_share(logits, LABELS, (0, 1), 2.0),
                               torch.tensor([float(other.sum() / (1 - own).sum())]))
    torch.testing.assert_close(similar_share_per_point(logits, LABELS, (0, 1), 2.0),
                               torch.tensor([float((other / (1 - own)).mean())]))
    # another pair: (1, 2) takes the points labelled 1 and 2
    torch.testing.assert_close(similar_share(logits, LABELS, (1, 2)), torch.tensor([(0.3 + 0.3) / (0.4 + 0.6)]))


def test_similar_share_stays_finite_when_the_teacher_is_certain() -> None:
    logits = torch.tensor([[[60.0, 0.0, -10.0], [0.0, 60.0, -10.0]]])  # p_y rounds to 1 in float32
    labels = torch.tensor([0, 1])
    assert float(torch.softmax(logits, -1).max()) == 1.0
    torch.testing.assert_close(similar_share(logits, labels, (0, 1)), torch.sigmoid(torch.tensor([10.0])))
    torch.testing.assert_close(similar_share_per_point(logits, labels, (0, 1)), torch.sigmoid(torch.tensor([10.0])))
    even = torch.tensor([[[5.0, 1.0, 1.0], [1.0, 5.0, 1.0]]])
    torch.testing.assert_close(similar_share(even, labels, (0, 1)), torch.tensor([0.5]))


def table_dataset(means: list[list[float]]) -> Dataset:
    x = np.repeat(np.array(means, dtype=np.float32), 4, axis=0)
    y = np.repeat(np.arange(3), 4)
    return Dataset(name="wine", x_train=x, y_train=y, x_val=x, y_val=y, flipped=np.zeros(12, bool), y_true=y,
                   class_names=("a", "b", "c"))


def test_the_similar_pair_is_blobs_0_and_1_else_the_closest_class_means() -> None:
    assert similar_pair(DistillSession(CPU.replace(similarity=0.0)).data) == (0, 1)
    assert similar_pair(table_dataset([[0, 0], [5, 5], [5.5, 5]])) == (1, 2)
    assert similar_pair(table_dataset([[0, 0], [9, 0], [0.5, 0.5]])) == (0, 2)


# ---- the session --------------------------------------------------------------------------------
SHORT = DistillSettings(teacher_steps=5, student_steps=3)


def test_teachers_train_first_then_students_then_it_stops() -> None:
    lab = DistillSession(CPU, SHORT)
    assert (lab.phase, lab.step_count) == (TEACHERS, 0)
    assert lab.step(4) == 4 and lab.phase == TEACHERS and lab.teachers.step_count == 4
    assert lab.step(10) == 4 and lab.phase == DONE  # the last teacher step, then the three students'
    assert (lab.teachers.step_count, lab.student_step, lab.step_count) == (5, 3, 8)
    assert lab.step(5) == 0
    snap = lab.snapshot()
    assert snap.finished and snap.step == 8
    assert [r.name for r in snap.frame.runs] == list(RUN_NAMES)
    assert [r.eps for r in snap.frame.runs] == [0.0, 0.1, 0.0, 0.1]  # a student's ε is its teacher's
    student = snap.frame.runs[2].metrics
    assert student["steps"] == 3 and student["teacher_eps"] == 0.0 and "loss_floor" not in student
    assert {"similar_share", "similar_share_per_point", "agreement", "hard_train_loss"} <= set(student)
    assert all(0 <= r.metrics["similar_share"] <= 1 for r in snap.frame.runs)
    assert snap.point["label"] == 0 and set(snap.point["log_probs"]) == set(RUN_NAMES)
    assert int(snap.frame.labels[snap.point["display_index"]]) == 0


def test_the_student_phase_starts_from_the_trained_teachers_and_the_students_train() -> None:
    lab = DistillSession(CPU, DistillSettings(teacher_steps=200, student_steps=150))
    lab.step(200)
    assert lab.phase == STUDENTS
    before = lab.snapshot()
    teachers = lab.teachers.bank.flat.detach().clone()
    lab.step(150)
    after = lab.snapshot()
    assert torch.equal(lab.teachers.bank.flat.detach(), teachers)  # frozen while the students train
    for i in (2, 3):
        assert after.frame.runs[i].metrics["train_loss"] < 0.5 * before.frame.runs[i].metrics["train_loss"]
        assert after.frame.runs[i].metrics["steps"] == 150
    assert after.frame.runs[0].metrics == before.frame.runs[0].metrics  # the teachers' numbers stay put


def test_students_share_their_init_and_their_batches() -> None:
    """With two identical teachers (ε = 0 for both) the two students stay together (up to float rounding, which
    batched kernels do not promise to be the same for every row) while they move far from where they started."""
    lab = DistillSession(CPU.replace(eps=0.0), DistillSettings(teacher_steps=30, student_steps=60))
    start = lab.students.bank.flat.detach().view(2, -1).clone()
    assert torch.equal(start[0], start[1])
    lab.step(90)
    flat = lab.students.bank.flat.detach().view(2, -1)
    assert float((flat[0] - flat[1]).abs().max()) < 1e-4
    assert float((flat[0] - start[0]).abs().max()) > 0.05


def test_the_same_seed_gives_the_same_lab() -> None:
    a, b = (DistillSession(CPU, DistillSettings(teacher_steps=20, student_steps=20)) for _ in range(2))
    a.step(40)
    b.step(40)
    assert a.run_metrics() == b.run_metrics()


def test_live_changes_and_refusals_leave_the_state_as_it_was() -> None:
    lab = DistillSession(CPU, SHORT)
    lab.set_eps(0.2)
    assert lab.smoothed_eps == 0.2 and lab.eps_refusal() is None
    lab.set_distill(temperature=3.0)
    lab.set_distill(alpha=0.5)
    assert (lab.settings.temperature, lab.settings.alpha) == (3.0, 0.5)
    with pytest.raises(ConfigError, match="temperature T must be between 0.1 and 20"):
        lab.set_distill(temperature=0.0)
    with pytest.raises(ConfigError, match="α"):
        lab.set_distill(alpha=1.5)
    assert (lab.settings.temperature, lab.settings.alpha) == (3.0, 0.5)
    lab.step(5)
    with pytest.raises(ConfigError, match="teachers finished training at step 5"):
        lab.set_eps(0.3)
    assert lab.smoothed_eps == 0.2
    lab.set_lr(0.02)
    assert lab.lr == 0.02 and lab.students.opt.param_groups[0]["lr"] == 0.02


@pytest.mark.parametrize(("field", "value", "words"), [
    ("temperature", 25.0, "the temperature T must be between 0.1 and 20"),
    ("teacher_steps", 0, "the teachers' steps must be a whole number between 1 and 100,000"),
    ("student_steps", 2.5, "the students' steps must be a whole number"),
    ("student_hidden", 0, "the students' hidden width"),
    ("student_penultimate", 1, "the students' penultimate dimension"),
])
def test_bad_settings_are_refused_in_words(field: str, value: float, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        DistillSettings(**{field: value})


def test_a_lab_too_large_is_refused_before_anything_is_built() -> None:
    big = RunConfig(device="cpu", points=20_000, hidden=512, penultimate=256)
    with pytest.raises(ConfigError, match="lab too large"):
        DistillSession(big, DistillSettings(student_hidden=512, student_penultimate=256))


def test_students_that_diverge_go_back_and_say_so() -> None:
    lab = DistillSession(CPU, DistillSettings(teacher_steps=20, student_steps=100))
    assert lab.step(30) == 30 and lab.student_step == 10
    with torch.no_grad():
        lab.students.bank.flat.fill_(float("nan"))  # what a blown-up step leaves behind
    assert lab.step(5) == -1  # no step taken, and the one that made these weights undone
    assert lab.diverged is not None and "students' training diverged at student step 10" in lab.diverged
    assert lab.student_step == 9 and lab.step(5) == 0
    assert bool(torch.isfinite(lab.students.bank.flat).all())
    snap = lab.snapshot()
    assert snap.diverged == lab.diverged and all(np.isfinite(r.points).all() for r in snap.frame.runs)
    lab.set_lr(0.005)
    assert lab.diverged is None and lab.step(5) == 5 and lab.student_step == 14


# ---- what the lab shows, seeded (paper §4): blobs with similarity 0.5 -----------------------------------
@pytest.fixture(scope="module")
def trained() -> list[dict[str, dict[str, float | None]]]:
    runs = []
    for seed in (0, 1, 2):
        lab = DistillSession(CPU.replace(seed=seed), DistillSettings(teacher_steps=3000, student_steps=2000))
        lab.step(5000)
        assert lab.phase == DONE and not lab.diverged
        runs.append(lab.run_metrics())
    return runs


def test_the_one_hot_teacher_says_which_class_is_similar_and_the_smoothed_one_does_not(trained: list) -> None:
    for m in trained:
        onehot, smoothed = m["teacher/baseline"], m["teacher/smoothed"]
        assert onehot["similar_share"] > 0.85, onehot
        assert abs(smoothed["similar_share"] - 0.5) < 0.1, smoothed
        assert abs(smoothed["similar_share_per_point"] - 0.5) < 0.05, smoothed
        assert onehot["similar_share"] - smoothed["similar_share"] > 0.25


def test_both_students_learn_about_as_well_as_their_teachers(trained: list) -> None:
    for m in trained:
        for twin in ("baseline", "smoothed"):
            teacher, student = m[f"teacher/{twin}"], m[f"student/{twin}"]
            assert student["val_acc"] > 0.9 and student["val_acc"] >= teacher["val_acc"] - 0.03, (twin, m)
            assert student["agreement"] > 0.95
        # the students inherit what their teacher says of the similar class
        assert m["student/baseline"]["similar_share"] > m["student/smoothed"]["similar_share"] + 0.2
