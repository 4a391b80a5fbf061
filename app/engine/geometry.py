"""Template geometry: the paper's projection onto the plane of the three class templates, for a bank of models.

Müller, Kornblith & Hinton 2019, "When does label smoothing help?", §1.1 and Figure 1; the blog post's §4.
The logit z_k = w̃_k·x̃ with x̃ = [x, 1] and w̃_k = [w_k, b_k], so a larger logit means x̃ is closer to
template w̃_k. The plane passes through the three bias-augmented templates, centred on their mean, with an
orthonormal basis from QR; each frame's basis is aligned to the previous one (2×2 orthogonal Procrustes).
"""

from __future__ import annotations

import torch


def project_bank(
    acts: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, previous: torch.Tensor | None = None,
    has_previous: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The projection for a whole bank at once (the live path; tests/reference/geometry.py is its numpy oracle).

    acts (M, S, d), weight (M, 3, d), bias (M, 3), previous basis (M, d + 1, 2) or None →
    points (M, S, 2), templates (M, 3, 2), basis (M, d + 1, 2). `has_previous` (M,) bool, when given,
    says which rows of `previous` are real (the others are placeholders: those models are not aligned).
    """
    w_aug = torch.cat([weight, bias.unsqueeze(-1)], dim=-1)  # (M, 3, d + 1)
    centre = w_aug.mean(dim=1, keepdim=True)  # (M, 1, d + 1)
    q, _ = torch.linalg.qr((w_aug[:, 1:] - w_aug[:, :1]).mT)  # (M, d + 1, 2)
    if previous is not None and previous.shape == q.shape:
        u, _, vt = torch.linalg.svd(q.mT @ previous)  # (M, 2, 2) orthogonal Procrustes
        turn = u @ vt
        if has_previous is not None:
            turn = torch.where(has_previous.view(-1, 1, 1), turn, torch.eye(2, dtype=q.dtype, device=q.device))
        q = q @ turn
    x_aug = torch.cat([acts, torch.ones_like(acts[..., :1])], dim=-1)  # (M, S, d + 1)
    return (x_aug - centre) @ q, (w_aug - centre) @ q, q
