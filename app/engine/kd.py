"""Knowledge distillation's math (Hinton, Vinyals & Dean 2015; Müller, Kornblith & Hinton 2019, §4).

The student's loss (1 − α)·T²·KL(p_T(teacher) ‖ p_T(student)) + α·CE(hard labels), p_T = softmax(z/T), and its
gradient written out for the model bank (checked against autograd in the tests); the similar-class share
that shows what label smoothing erases from a teacher; and which two classes count as the similar pair.
"""

from __future__ import annotations

import numpy as np
import torch

from .bank import ModelBank
from .data import Dataset


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                      temperature: float, alpha: float = 0.0) -> torch.Tensor:
    """Each model's mean (1 − α)·T²·KL(p_T(teacher) ‖ p_T(student)) + α·CE(labels): logits (M, B, K) → (M,)."""
    log_q = torch.log_softmax(student_logits / temperature, dim=-1)  # (M, B, K)
    log_p = torch.log_softmax(teacher_logits / temperature, dim=-1)
    kl = (log_p.exp() * (log_p - log_q)).sum(dim=-1).mean(dim=-1)  # (M,)
    if not alpha:
        return temperature**2 * kl
    idx = labels.view(1, -1, 1).expand(student_logits.shape[0], -1, 1)
    hard = -torch.log_softmax(student_logits, dim=-1).gather(-1, idx).squeeze(-1).mean(dim=-1)
    return (1.0 - alpha) * temperature**2 * kl + alpha * hard


@torch.no_grad()
def distill_backward(bank: ModelBank, x: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor,
                     temperature: float, alpha: float = 0.0) -> torch.Tensor:
    """Forward, each student's distillation loss (M,), and its gradient written into the bank's gradient.

    ∂/∂z of T²·KL(p_T ‖ q_T) is T·(q_T − p_T); of the hard-label term, softmax(z) − one-hot; each over B.
    Then back through the three layers as ModelBank.backward does (checked against autograd in the tests).
    x (B, D) shared by the students, labels (B,), teacher_logits (M, B, K), one teacher per student.
    """
    b, k = x.shape[0], bank.w3.shape[1]
    h, acts, logits = bank._forward(x)  # (M, B, H), (M, B, d), (M, B, K)
    losses = distillation_loss(logits, teacher_logits, labels, temperature, alpha)
    q_t = torch.softmax(logits / temperature, dim=-1)
    p_t = torch.softmax(teacher_logits / temperature, dim=-1)
    dz = q_t.sub_(p_t).mul_((1.0 - alpha) * temperature)  # (M, B, K)
    if alpha:
        one_hot = torch.nn.functional.one_hot(labels, k).to(logits.dtype)  # (B, K)
        dz.add_(torch.softmax(logits, dim=-1).sub_(one_hot), alpha=alpha)
    dz.div_(b)
    torch.bmm(dz.mT, acts, out=bank.g_w3)  # (M, K, d)
    torch.sum(dz, dim=1, out=bank.g_b3)
    da = torch.bmm(dz, bank.w3).mul_(acts > 0)  # (M, B, d)
    torch.bmm(da.mT, h, out=bank.g_w2)  # (M, d, H)
    torch.sum(da, dim=1, out=bank.g_b2)
    dh = torch.bmm(da, bank.w2).mul_(h > 0)  # (M, B, H)
    torch.matmul(dh.mT, x, out=bank.g_w1)  # (M, H, D)
    torch.sum(dh, dim=1, out=bank.g_b1)
    return losses


def _pair_terms(logits: torch.Tensor, labels: torch.Tensor, pair: tuple[int, int],
                temperature: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For the points labelled a or b: log p_T(other of the pair), log(1 − p_T(own label)), log p_T's normaliser.

    1 − p_T(y) is Σ_{j≠y} p_T(j), a log-sum-exp over the wrong classes: finite even when p_T(y) rounds to 1.
    """
    a, b = pair
    keep = (labels == a) | (labels == b)
    z = logits[:, keep] / temperature  # (M, P, K)
    y = labels[keep]
    other = torch.where(y == a, b, a).view(1, -1, 1).expand(z.shape[0], -1, 1)
    wrong = z.masked_fill(torch.nn.functional.one_hot(y, z.shape[-1]).bool(), -torch.inf)
    return z.gather(-1, other).squeeze(-1), torch.logsumexp(wrong, dim=-1), torch.logsumexp(z, dim=-1)  # (M, P) each


def similar_share(logits: torch.Tensor, labels: torch.Tensor, pair: tuple[int, int],
                  temperature: float = 1.0) -> torch.Tensor:
    """Of all the wrong-class probability at T on the training points of the pair (a, b), the fraction that goes
    to the other class of the pair: Σ p_T(other) / Σ (1 − p_T(own label)), i.e. the per-point share weighted
    by each point's wrong mass, which is what the KL term of a student weighs it by. (M, N, K) → (M,).

    0.5 with K = 3, 1/(K − 1) with K classes: the wrong mass says nothing of which class is similar.
    """
    z_other, z_wrong, z_all = _pair_terms(logits, labels, pair, temperature)
    return (torch.logsumexp(z_other - z_all, dim=-1) - torch.logsumexp(z_wrong - z_all, dim=-1)).exp_()


def similar_share_per_point(logits: torch.Tensor, labels: torch.Tensor, pair: tuple[int, int],
                            temperature: float = 1.0) -> torch.Tensor:
    """The plain mean over the pair's training points of p_T(other) / (1 − p_T(own label)), every point counted
    alike, also those whose wrong mass is negligible (and whose split of it is noise). (M, N, K) → (M,)."""
    z_other, z_wrong, _ = _pair_terms(logits, labels, pair, temperature)
    return (z_other - z_wrong).exp_().mean(dim=-1)


def similar_pair(data: Dataset) -> tuple[int, int]:
    """The similar pair: classes 0 and 1 for blobs (its `similarity` knob), else the two closest class means."""
    if data.name == "blobs":
        return 0, 1
    means = np.stack([data.x_train[data.y_true == c].mean(axis=0) for c in range(3)])
    pairs = [(0, 1), (0, 2), (1, 2)]
    a, b = min(pairs, key=lambda p: float(np.linalg.norm(means[p[0]] - means[p[1]])))
    return a, b
