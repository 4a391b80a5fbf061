"""app/engine/loss.py (and the model bank's losses) against two references: PyTorch's label smoothing
(`F.cross_entropy(label_smoothing=ε)`) and the numpy oracle written from the formulas, tests/reference/loss.py;
and the values the blog post works out (its Eq 2.2, §3 and §5; Müller, Kornblith & Hinton 2019, §1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from app.engine.bank import ModelBank
from app.engine.loss import (
    bank_smoothed_cross_entropy,
    calculate,
    loss_floor,
    optimal_logit_gap,
    smoothed_cross_entropy,
    smoothed_targets,
)
from tests.reference import loss as ref

EPS_GRID = [0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 0.9, 0.99, 1.0]
KS = range(2, 11)


def random_batch(k: int, seed: int, scale: float = 3.0, n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, generator=g, dtype=torch.float64) * scale
    labels = torch.randint(0, k, (n,), generator=g)
    return logits, labels


# ---- smoothed cross-entropy vs PyTorch -------------------------------------------------------------
@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("scale", [0.5, 3.0, 30.0])
def test_smoothed_cross_entropy_matches_pytorch(k: int, scale: float) -> None:
    logits, labels = random_batch(k, seed=k, scale=scale)
    for eps in EPS_GRID:
        ours = smoothed_cross_entropy(logits, labels, eps)
        ref = F.cross_entropy(logits, labels, label_smoothing=eps)
        assert ours.dtype == torch.float64
        torch.testing.assert_close(ours, ref, atol=1e-6, rtol=0, msg=f"K={k} ε={eps}")


@pytest.mark.parametrize("k", [2, 3, 7])
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5, 1.0])
def test_smoothed_cross_entropy_gradient_matches_pytorch(k: int, eps: float) -> None:
    logits, labels = random_batch(k, seed=100 + k)
    ours_in = logits.clone().requires_grad_(True)
    ref_in = logits.clone().requires_grad_(True)
    smoothed_cross_entropy(ours_in, labels, eps).backward()
    F.cross_entropy(ref_in, labels, label_smoothing=eps).backward()
    assert ours_in.grad is not None and ref_in.grad is not None
    torch.testing.assert_close(ours_in.grad, ref_in.grad, atol=1e-9, rtol=0)


def test_k3_rewrite_of_the_blog() -> None:
    """Blog §3: for K = 3, L_ls = L_onehot + (ε/3)(2 z_y − z_a − z_b)."""
    logits, labels = random_batch(3, seed=7, n=32)
    eps = 0.2
    onehot = F.cross_entropy(logits, labels, reduction="none")
    z_y = logits.gather(1, labels[:, None]).squeeze(1)
    rewrite = onehot + (eps / 3) * (3 * z_y - logits.sum(dim=1))  # 2 z_y − z_a − z_b = 3 z_y − Σ z
    torch.testing.assert_close(smoothed_cross_entropy(logits, labels, eps), rewrite.mean(), atol=1e-9, rtol=0)


@pytest.mark.parametrize("k", [2, 3, 10])
def test_bank_loss_is_each_models_pytorch_loss(k: int) -> None:
    g = torch.Generator().manual_seed(k)
    eps = torch.tensor([0.0, 0.05, 0.1, 0.3, 1.0], dtype=torch.float64)
    logits = torch.randn(eps.numel(), 40, k, generator=g, dtype=torch.float64) * 4  # (M, B, K)
    labels = torch.randint(0, k, (40,), generator=g)
    losses = bank_smoothed_cross_entropy(logits, labels, eps)
    assert losses.shape == (eps.numel(),)
    for m, e in enumerate(eps.tolist()):
        ref = F.cross_entropy(logits[m], labels, label_smoothing=e)
        torch.testing.assert_close(losses[m], ref, atol=1e-9, rtol=0, msg=f"model {m}, ε={e}")


# ---- against the numpy oracle (tests/reference/loss.py) ------------------------------------------------
@pytest.mark.parametrize("k", [2, 3, 10])
def test_the_oracle_agrees_with_pytorch(k: int) -> None:
    logits, labels = random_batch(k, seed=50 + k, scale=10.0)
    for eps in EPS_GRID:
        per_point = F.cross_entropy(logits, labels, label_smoothing=eps, reduction="none").numpy()
        np.testing.assert_allclose(ref.smoothed_losses(logits.numpy(), labels.numpy(), eps), per_point, atol=1e-12)


@pytest.mark.parametrize("k", KS)
def test_smoothed_targets_and_loss_match_the_oracle(k: int) -> None:
    logits, labels = random_batch(k, seed=k, scale=30.0)
    for eps in EPS_GRID:
        want = ref.smoothed_targets(labels.numpy(), k, eps)
        np.testing.assert_allclose(smoothed_targets(labels, k, eps).numpy(), want, atol=1e-15)
        got = smoothed_cross_entropy(logits, labels, eps).item()
        assert got == pytest.approx(ref.smoothed_cross_entropy(logits.numpy(), labels.numpy(), eps), abs=1e-12)


@pytest.mark.parametrize("k", [2, 3, 10])
def test_the_banks_losses_match_the_oracle(k: int) -> None:
    """bank_smoothed_cross_entropy and ModelBank.backward (the training step's own loss) for each model."""
    eps = torch.tensor([0.0, 0.05, 0.1, 0.3, 1.0], dtype=torch.float64)
    g = torch.Generator().manual_seed(k)
    logits = torch.randn(eps.numel(), 40, k, generator=g, dtype=torch.float64) * 4  # (M, B, K)
    labels = torch.randint(0, k, (40,), generator=g)
    bank = ModelBank(eps.numel(), 2, 16, 4, k, seed=k)
    x = torch.randn(40, 2, generator=g)
    with torch.no_grad():
        _, bank_logits = bank(x)
    trained = bank.backward(x, labels, eps.float())
    for m, e in enumerate(eps.tolist()):
        want = ref.smoothed_cross_entropy(logits[m].numpy(), labels.numpy(), e)
        assert bank_smoothed_cross_entropy(logits, labels, eps)[m].item() == pytest.approx(want, abs=1e-12)
        want = ref.smoothed_cross_entropy(bank_logits[m].double().numpy(), labels.numpy(), e)
        assert trained[m].item() == pytest.approx(want, abs=1e-5), f"model {m}, ε={e}"


@pytest.mark.parametrize("k", KS)
def test_floor_and_gap_match_the_oracle(k: int) -> None:
    for eps in EPS_GRID:
        assert loss_floor(eps, k) == pytest.approx(ref.loss_floor(eps, k), abs=1e-12)
        assert optimal_logit_gap(eps, k) == pytest.approx(ref.optimal_logit_gap(eps, k), abs=1e-12)


# ---- targets ----------------------------------------------------------------------------------------
def test_smoothed_targets_blog_value() -> None:
    """The blog post's Eq 2.2: K=3, ε=0.1, label 1 → [0.0333, 0.9333, 0.0333] (ε/K to every class)."""
    q = smoothed_targets(torch.tensor([1]), 3, 0.1)[0]
    assert q.tolist() == pytest.approx([0.0333, 0.9333, 0.0333], abs=1e-4)


@pytest.mark.parametrize("k", KS)
def test_smoothed_targets_are_distributions_and_match_pytorch(k: int) -> None:
    logits, labels = random_batch(k, seed=k)
    for eps in EPS_GRID:
        q = smoothed_targets(labels, k, torch.tensor(eps, dtype=torch.float64).expand(labels.shape))
        assert q.shape == (labels.numel(), k)
        torch.testing.assert_close(q.sum(dim=1), torch.ones(labels.numel(), dtype=torch.float64))
        assert bool((q >= 0).all())
        # PyTorch with these probability targets = PyTorch with label_smoothing=ε
        torch.testing.assert_close(
            F.cross_entropy(logits, q), F.cross_entropy(logits, labels, label_smoothing=eps), atol=1e-9, rtol=0
        )


def test_smoothed_targets_scalar_and_per_row_eps_agree() -> None:
    labels = torch.tensor([0, 2, 1, 1])
    per_row = smoothed_targets(labels, 3, torch.tensor([0.1, 0.1, 0.1, 0.1]))
    scalar = smoothed_targets(labels, 3, 0.1)
    torch.testing.assert_close(per_row, scalar.to(per_row.dtype))
    mixed = smoothed_targets(labels, 3, torch.tensor([0.0, 0.3, 0.6, 1.0]))
    for row, e in zip(mixed, [0.0, 0.3, 0.6, 1.0], strict=True):
        assert row.max().item() == pytest.approx(1 - e + e / 3)
        assert row.min().item() == pytest.approx(e / 3)


# ---- what training converges to (the blog post's §5) ----------------------------------------------------
@pytest.mark.parametrize(
    ("eps", "gap", "floor"),
    [(0.05, 4.060, 0.169), (0.1, 3.332, 0.291), (0.2, 2.565, 0.485), (0.3, 2.079, 0.639)],
)
def test_floor_and_gap_match_the_worked_values(eps: float, gap: float, floor: float) -> None:
    assert optimal_logit_gap(eps, 3) == pytest.approx(gap, abs=5e-4)
    assert loss_floor(eps, 3) == pytest.approx(floor, abs=5e-4)


def test_gap_at_eps_01_is_ln_28() -> None:
    assert optimal_logit_gap(0.1, 3) == pytest.approx(math.log(28), abs=1e-12)


def test_edges_of_eps() -> None:
    assert optimal_logit_gap(0.0, 3) == math.inf
    assert loss_floor(0.0, 3) == 0.0
    # ε = 1: uniform targets, no gap, and the floor is the entropy of the uniform distribution
    for k in KS:
        assert optimal_logit_gap(1.0, k) == pytest.approx(0.0, abs=1e-12)
        assert loss_floor(1.0, k) == pytest.approx(math.log(k), abs=1e-12)


@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("eps", [0.01, 0.05, 0.1, 0.3, 0.7, 1.0])
def test_floor_is_the_loss_at_the_optimum_and_its_gradient_vanishes(k: int, eps: float) -> None:
    label = k - 1
    p = ref.optimum_probs(eps, k, label)
    z = torch.tensor(np.log(p), dtype=torch.float64, requires_grad=True)
    y = torch.tensor([label])
    loss = F.cross_entropy(z[None], y, label_smoothing=eps)
    loss.backward()
    assert loss.item() == pytest.approx(loss_floor(eps, k), abs=1e-9)
    assert z.grad is not None
    torch.testing.assert_close(z.grad, torch.zeros(k, dtype=torch.float64), atol=1e-12, rtol=0)  # p − q' = 0
    wrong = [i for i in range(k) if i != label]
    gaps = (z[label] - z[wrong]).detach()
    torch.testing.assert_close(gaps, torch.full((k - 1,), optimal_logit_gap(eps, k), dtype=torch.float64))


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("eps", [0.05, 0.1, 0.3])
def test_no_logits_beat_the_floor(k: int, eps: float) -> None:
    """Gibbs' inequality: the smoothed loss of any prediction is at least the entropy of q'."""
    logits, labels = random_batch(k, seed=3 * k, scale=5.0, n=500)
    per_point = F.cross_entropy(logits, labels, label_smoothing=eps, reduction="none")
    assert per_point.min().item() >= loss_floor(eps, k) - 1e-12


def test_floor_and_gap_reject_bad_arguments() -> None:
    for bad in (-0.1, 1.1, math.nan):
        with pytest.raises(ValueError, match="ε must be between 0 and 1"):
            loss_floor(bad, 3)
        with pytest.raises(ValueError, match="ε must be between 0 and 1"):
            optimal_logit_gap(bad, 3)
    with pytest.raises(ValueError, match="at least 2"):
        loss_floor(0.1, 1)


# ---- the blog's worked examples through the calculator -------------------------------------------------
def test_blog_one_hot_examples() -> None:
    # K = 3, label 2 (1-based) = index 1
    assert calculate([0.2, 0.7, 0.1], 1, 0.0).onehot_loss == pytest.approx(0.357, abs=5e-4)
    assert calculate([0.8, 0.1, 0.1], 1, 0.0).onehot_loss == pytest.approx(2.303, abs=5e-4)


def test_blog_smoothed_examples_with_the_corrected_p2() -> None:
    p1 = calculate([0.05, 0.9, 0.03, 0.02], 1, 0.2)
    p2 = calculate([0.01, 0.79, 0.15, 0.05], 1, 0.2)
    over = calculate([0.0001, 0.9997, 0.0001, 0.0001], 1, 0.2)
    assert p1.targets == pytest.approx([0.05, 0.85, 0.05, 0.05], abs=1e-12)
    assert p1.smoothed_loss == pytest.approx(0.610, abs=5e-4)
    assert p2.smoothed_loss == pytest.approx(0.675, abs=5e-4)  # the blog prints 0.29: wrong
    assert p1.smoothed_loss < p2.smoothed_loss  # p1, not p2, has the lower smoothed loss
    assert over.smoothed_loss == pytest.approx(1.382, abs=5e-4)
    assert over.smoothed_loss > p1.smoothed_loss
    assert over.onehot_loss < p1.onehot_loss  # one-hot rewards the over-confident vector


CALC_CASES = [
    ([0.2, 0.7, 0.1], 1, 0.0),
    ([0.8, 0.1, 0.1], 1, 0.1),
    ([0.05, 0.9, 0.03, 0.02], 1, 0.2),
    ([0.01, 0.79, 0.15, 0.05], 1, 0.2),
    ([0.0001, 0.9997, 0.0001, 0.0001], 1, 0.2),
    ([0.5, 0.5], 0, 1.0),
]


@pytest.mark.parametrize(("probs", "label", "eps"), CALC_CASES)
def test_calculator_matches_autograd_of_pytorch(probs: list[float], label: int, eps: float) -> None:
    calc = calculate(probs, label, eps)
    z = torch.tensor(np.log(probs), dtype=torch.float64, requires_grad=True)  # logits = log p
    y = torch.tensor([label])
    smoothed = F.cross_entropy(z[None], y, label_smoothing=eps)
    smoothed.backward()
    assert z.grad is not None
    assert calc.smoothed_loss == pytest.approx(smoothed.item(), abs=1e-9)
    assert calc.onehot_loss == pytest.approx(F.cross_entropy(z[None].detach(), y).item(), abs=1e-9)
    assert calc.gradient == pytest.approx(z.grad.tolist(), abs=1e-9)
    assert sum(calc.targets) == pytest.approx(1.0)
    assert calc.label == label and calc.eps == eps
    # and the oracle, with logits log p: loss −Σ q' log p, gradient p − q'
    z_np, y_np = np.log([probs]), np.array([label])
    assert calc.smoothed_loss == pytest.approx(ref.smoothed_cross_entropy(z_np, y_np, eps), abs=1e-9)
    assert calc.gradient == pytest.approx(ref.smoothed_gradient(z_np, y_np, eps)[0].tolist(), abs=1e-9)
    assert calc.targets == pytest.approx(ref.smoothed_targets(y_np, len(probs), eps)[0].tolist(), abs=1e-12)


@pytest.mark.parametrize(
    ("probs", "label", "eps", "message"),
    [
        ([1.0], 0, 0.1, "at least 2 entries"),
        ([[0.5, 0.5], [0.5, 0.5]], 0, 0.1, "at least 2 entries"),
        ([0.5, 0.6], 0, 0.1, "add up to 1"),
        ([0.0, 1.0], 0, 0.1, "positive"),
        ([-0.1, 1.1], 0, 0.1, "positive"),
        ([math.nan, 0.5, 0.5], 0, 0.1, "positive"),
        ([math.inf, 0.5], 0, 0.1, "positive"),
        ([0.2, 0.7, 0.1], 3, 0.1, "label must be one of the 3 classes"),
        ([0.2, 0.7, 0.1], -1, 0.1, "label must be one of the 3 classes"),
        ([0.2, 0.7, 0.1], 1, 1.5, "ε must be between 0 and 1"),
        ([0.2, 0.7, 0.1], 1, -0.1, "ε must be between 0 and 1"),
        ([0.2, 0.7, 0.1], 1, math.nan, "ε must be between 0 and 1"),
    ],
)
def test_calculator_rejects_bad_input_clearly(probs: list[float], label: int, eps: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calculate(probs, label, eps)
