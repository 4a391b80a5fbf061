"""A bank of M small MLPs trained in lockstep, one ε each (DESIGN.md: vectorize, don't loop).

input → hidden (ReLU) → penultimate (ReLU, dimension d) → 3 logits with bias. Every model in the
bank starts from the same weights and sees the same minibatches, so any difference comes from ε alone.
Adam and SGD act elementwise, so one optimizer over the (M, ...) parameters equals M optimizers.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .loss import bank_smoothed_cross_entropy


def resolve_device(name: str) -> torch.device:
    """'auto' → CUDA when available, else CPU; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' was asked for but no CUDA GPU is available; use 'cpu' or 'auto'")
        return torch.device("cuda")
    raise ValueError(f"unknown device {name!r}; choose auto, cpu or cuda")


class ModelBank(nn.Module):
    """M identical-at-init MLPs; parameters carry a leading model axis M."""

    def __init__(
        self,
        m: int,
        in_dim: int,
        hidden: int,
        penultimate: int,
        k: int = 3,
        *,
        seed: int = 0,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        shapes = [(hidden, in_dim), (penultimate, hidden), (k, penultimate)]
        params = []
        for out_dim, fan_in in shapes:  # nn.Linear's default init: U(±1/√fan_in)
            bound = 1.0 / math.sqrt(fan_in)
            w = (torch.rand(out_dim, fan_in, generator=g) * 2 - 1) * bound
            b = (torch.rand(out_dim, generator=g) * 2 - 1) * bound
            params += [w, b]
        self.m = m
        tensors = [p.unsqueeze(0).repeat(m, *([1] * p.dim())).to(device) for p in params]
        self.w1, self.b1, self.w2, self.b2, self.w3, self.b3 = (nn.Parameter(t) for t in tensors)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, D), shared by all models → penultimate activations (M, B, d) and logits (M, B, K)."""
        h = torch.relu(torch.baddbmm(self.b1.unsqueeze(1), x.expand(self.m, -1, -1), self.w1.mT))  # (M, B, H)
        acts = torch.relu(torch.baddbmm(self.b2.unsqueeze(1), h, self.w2.mT))  # (M, B, d)
        logits = torch.baddbmm(self.b3.unsqueeze(1), acts, self.w3.mT)  # (M, B, K)
        return acts, logits

    def templates(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The class templates: last-layer weights (M, K, d) and biases (M, K)."""
        return self.w3.detach(), self.b3.detach()


def make_optimizer(
    bank: ModelBank, name: str, lr: float, *, momentum: float = 0.9, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """Adam (default) or SGD with momentum over the whole bank; both elementwise, so per model."""
    params = list(bank.parameters())
    foreach = params[0].device.type != "cpu"
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, foreach=foreach)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, foreach=foreach)
    raise ValueError(f"unknown optimizer {name!r}; choose adam or sgd")


def train_step(
    bank: ModelBank, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """One optimizer step on minibatch (x, y) for every model; returns each model's loss (M,)."""
    _, logits = bank(x)
    losses = bank_smoothed_cross_entropy(logits, y, eps)  # (M,)
    opt.zero_grad(set_to_none=True)
    losses.sum().backward()  # model m's parameters only see model m's loss
    opt.step()
    return losses.detach()
