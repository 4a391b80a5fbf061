"""A bank of M small MLPs trained in lockstep, one ε each (vectorize, don't loop: docs/architecture.md).

input → hidden (ReLU) → penultimate (ReLU, dimension d) → 3 logits with bias. Every model in the
bank starts from the same weights and sees the same minibatches, so any difference comes from ε alone.

Tiny models are overhead-bound, so a step is a handful of batched kernels: all parameters of all
models live in one flat tensor (each parameter one contiguous (M, ...) block of it), the backward pass
is written out by hand (checked against autograd in the tests), and the optimizer (Adam or SGD,
written out too, checked against torch.optim) updates that one tensor. Adam and SGD act
elementwise, so one optimizer over the bank equals M separate optimizers.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .loss import smoothed_targets


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


def _layout(m: int, in_dim: int, hidden: int, penultimate: int, k: int) -> list[tuple[int, ...]]:
    """Shapes of w1, b1, w2, b2, w3, b3, each with the leading model axis."""
    return [(m, hidden, in_dim), (m, hidden), (m, penultimate, hidden), (m, penultimate),
            (m, k, penultimate), (m, k)]


def _views(flat: torch.Tensor, shapes: list[tuple[int, ...]]) -> list[torch.Tensor]:
    out, offset = [], 0
    for shape in shapes:
        n = math.prod(shape)
        out.append(flat[offset : offset + n].view(shape))
        offset += n
    return out


class ModelBank(nn.Module):
    """M identical-at-init MLPs; `flat` holds every parameter, w1 … b3 are (M, ...) views of it."""

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
        self.m, self.shapes = m, _layout(m, in_dim, hidden, penultimate, k)
        blocks = []
        for out_dim, fan_in in ((hidden, in_dim), (penultimate, hidden), (k, penultimate)):
            bound = 1.0 / math.sqrt(fan_in)  # nn.Linear's default init: U(±1/√fan_in)
            w = (torch.rand(out_dim, fan_in, generator=g) * 2 - 1) * bound
            b = (torch.rand(out_dim, generator=g) * 2 - 1) * bound
            blocks += [w.expand(m, -1, -1).reshape(-1), b.expand(m, -1).reshape(-1)]
        self.flat = nn.Parameter(torch.cat(blocks).to(device))
        self.flat.grad = torch.zeros_like(self.flat)
        with torch.no_grad():  # views of the detached tensor: they follow every update and carry no graph
            self.w1, self.b1, self.w2, self.b2, self.w3, self.b3 = _views(self.flat.detach(), self.shapes)
            self.g_w1, self.g_b1, self.g_w2, self.g_b2, self.g_w3, self.g_b3 = _views(self.flat.grad, self.shapes)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, D), shared by all models → penultimate activations (M, B, d) and logits (M, B, K).

        No autograd graph: gradients come from `backward`, written out by hand.
        """
        return self._forward(x)[1:]

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = torch.relu(torch.baddbmm(self.b1.unsqueeze(1), x.expand(self.m, -1, -1), self.w1.mT))  # (M, B, H)
        acts = torch.relu(torch.baddbmm(self.b2.unsqueeze(1), h, self.w2.mT))  # (M, B, d)
        logits = torch.baddbmm(self.b3.unsqueeze(1), acts, self.w3.mT)  # (M, B, K)
        return h, acts, logits

    def templates(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The class templates: last-layer weights (M, K, d) and biases (M, K)."""
        return self.w3.detach(), self.b3.detach()

    @torch.no_grad()
    def backward(self, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Forward, each model's mean smoothed loss (M,), and its gradient written into flat.grad.

        ∂L/∂z = (p − q')/B for every model at once (blog §5), then back through the three layers.
        """
        b, k = x.shape[0], self.w3.shape[1]
        h, acts, logits = self._forward(x)
        log_p = torch.log_softmax(logits, dim=-1)  # (M, B, K)
        q = smoothed_targets(y, k, eps.view(-1, 1))  # (M, B, K)
        losses = -(q * log_p).sum(dim=-1).mean(dim=-1)  # (M,)
        dz = (log_p.exp_().sub_(q)).div_(b)  # (M, B, K)
        torch.bmm(dz.mT, acts, out=self.g_w3)  # (M, K, d)
        torch.sum(dz, dim=1, out=self.g_b3)
        da = torch.bmm(dz, self.w3).mul_(acts > 0)  # (M, B, d)
        torch.bmm(da.mT, h, out=self.g_w2)  # (M, d, H)
        torch.sum(da, dim=1, out=self.g_b2)
        dh = torch.bmm(da, self.w2).mul_(h > 0)  # (M, B, H)
        torch.matmul(dh.mT, x, out=self.g_w1)  # (M, H, D)
        torch.sum(dh, dim=1, out=self.g_b1)
        return losses


class BankOptimizer:
    """Adam or SGD with momentum on the bank's one flat tensor: PyTorch's update rules, written out.

    torch.optim's per-step Python overhead is several times the arithmetic for models this small;
    this is the same algorithm in five in-place ops (checked against torch.optim in the tests).
    Weight decay is L2 added to the gradient, as in torch.optim.Adam and SGD. Elementwise, so the
    bank's optimizer equals one optimizer per model. `param_groups[0]["lr"]` is the live learning rate.
    """

    def __init__(self, bank: ModelBank, name: str, lr: float, *, momentum: float = 0.9,
                 weight_decay: float = 0.0, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        if name not in ("adam", "sgd"):
            raise ValueError(f"unknown optimizer {name!r}; choose adam or sgd")
        self.name, self.momentum, self.weight_decay, self.betas, self.eps = name, momentum, weight_decay, betas, eps
        self.param_groups: list[dict[str, float]] = [{"lr": lr}]
        self.flat = bank.flat.detach()
        self.grad = bank.flat.grad
        self.t = 0
        self.m = torch.zeros_like(self.flat)  # Adam's first moment, or SGD's momentum buffer
        self.v = torch.zeros_like(self.flat) if name == "adam" else None

    @torch.no_grad()
    def step(self) -> None:
        assert self.grad is not None
        lr, g = self.param_groups[0]["lr"], self.grad
        if self.weight_decay:
            g = g.add(self.flat, alpha=self.weight_decay)
        self.t += 1
        if self.v is None:  # SGD with momentum (dampening 0): the buffer starts as the first gradient
            if self.t == 1:
                self.m.copy_(g)
            else:
                self.m.mul_(self.momentum).add_(g)
            self.flat.add_(self.m, alpha=-lr)
            return
        b1, b2 = self.betas
        self.m.lerp_(g, 1.0 - b1)
        self.v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
        denom = self.v.sqrt().div_(math.sqrt(1.0 - b2**self.t)).add_(self.eps)
        self.flat.addcdiv_(self.m, denom, value=-lr / (1.0 - b1**self.t))


def make_optimizer(
    bank: ModelBank, name: str, lr: float, *, momentum: float = 0.9, weight_decay: float = 0.0
) -> BankOptimizer:
    """Adam (default) or SGD with momentum over the bank's one flat tensor: elementwise, so per model."""
    return BankOptimizer(bank, name, lr, momentum=momentum, weight_decay=weight_decay)


def train_step(
    bank: ModelBank, opt: BankOptimizer, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """One optimizer step on minibatch (x, y) for every model; returns each model's loss (M,)."""
    losses = bank.backward(x, y, eps)
    opt.step()
    return losses
