"""A bank of M small MLPs trained in lockstep, one ε each (vectorize, don't loop: docs/architecture.md).

input → hidden (ReLU) → penultimate (ReLU, dimension d) → 3 logits with bias. Every model in the
bank starts from the same weights and sees the same minibatches, so any difference comes from ε alone.

Tiny models are overhead-bound, so a step is a handful of batched kernels: all parameters live in one
(M, P) tensor, one row per model (each parameter a (M, ...) view of its columns), the backward pass is
written out by hand (checked against autograd in the tests), and the optimizer (Adam or SGD, written
out too, checked against torch.optim) updates that one tensor. Because each model is one row, the rows
of many banks concatenated are a bank too: the server steps every session of a worker this way
(engine/batch.py), each row with its own data, ε, learning rate and optimizer step count.
"""

from __future__ import annotations

import math

import torch
from torch import nn


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


Shapes = list[tuple[int, ...]]


def _layout(m: int, in_dim: int, hidden: int, penultimate: int, k: int) -> Shapes:
    """Shapes of w1, b1, w2, b2, w3, b3, each with the leading model axis."""
    return [(m, hidden, in_dim), (m, hidden), (m, penultimate, hidden), (m, penultimate),
            (m, k, penultimate), (m, k)]


def _views(flat: torch.Tensor, shapes: Shapes) -> list[torch.Tensor]:
    """w1 … b3 as views of the rows of `flat` (R, P): one row per model, whatever R is."""
    out, offset, rows = [], 0, flat.shape[0]
    for shape in shapes:
        n = math.prod(shape[1:])
        out.append(flat[:, offset : offset + n].view(rows, *shape[1:]))
        offset += n
    return out


def forward_rows(params: list[torch.Tensor], x: torch.Tensor, *, classes_first: bool = False
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hidden (R, B, H), penultimate (R, B, d) and logits (R, B, K) of the R models whose w1 … b3 are `params`
    (`_views` of an (R, P) tensor). x is (B, D), shared by every model, or (R, B, D), one set per model.

    classes_first=True gives the logits as (R, K, B): with K = 3, softmax and the reductions over the
    classes run many times faster along a middle axis than along a last axis of length 3.
    """
    w1, b1, w2, b2, w3, b3 = params
    xr = x.expand(w1.shape[0], -1, -1) if x.dim() == 2 else x
    h = torch.relu(torch.baddbmm(b1.unsqueeze(1), xr, w1.mT))
    acts = torch.relu(torch.baddbmm(b2.unsqueeze(1), h, w2.mT))
    if classes_first:
        return h, acts, torch.baddbmm(b3.unsqueeze(-1), w3, acts.mT)
    return h, acts, torch.baddbmm(b3.unsqueeze(1), acts, w3.mT)


def backward_rows(params: list[torch.Tensor], grad: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                  eps: torch.Tensor) -> torch.Tensor:
    """Forward, each model's mean smoothed loss (R,), and its gradient written into `grad` (R, P).

    x (B, D) and y (B,) shared, or (R, B, D) and (R, B) per model; eps (R,).
    ∂L/∂z = (p − q')/B for every model at once (blog §5), then back through the three layers.
    The logits are held classes first, (R, K, B): see forward_rows. Each gradient block is computed
    contiguous and the six are joined into `grad` by one copy (writing into strided views of it costs more).
    """
    b = x.shape[-2]
    h, acts, logits = forward_rows(params, x, classes_first=True)
    w2, w3 = params[2], params[4]
    k = w3.shape[1]
    log_p = torch.log_softmax(logits, dim=1)  # (R, K, B)
    e = eps.view(-1, 1, 1)
    one_hot = y.unsqueeze(-2) == torch.arange(k, device=y.device).view(k, 1)  # (R or 1, K, B)
    q = one_hot * (1.0 - e) + e / k  # q' = (1 − ε)·one-hot + ε/K, (R, K, B)
    losses = -(q * log_p).sum(dim=1).mean(dim=-1)  # (R,)
    dz = (log_p.exp_().sub_(q)).div_(b)  # (R, K, B)
    da = _relu_backward(torch.bmm(dz.mT, w3), acts)  # (R, B, d)
    dh = _relu_backward(torch.bmm(da, w2), h)  # (R, B, H)
    blocks = (torch.matmul(dh.mT, x), dh.sum(dim=1),  # w1 (R, H, D), b1
              torch.bmm(da.mT, h), da.sum(dim=1),  # w2 (R, d, H), b2
              torch.bmm(dz, acts), dz.sum(dim=2))  # w3 (R, K, d), b3
    torch.cat([g.reshape(g.shape[0], -1) for g in blocks], dim=1, out=grad)
    return losses


def _relu_backward(grad: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """grad where the ReLU's output is positive, else 0 (one fused kernel: a bool mask and a multiply cost
    ten times more here)."""
    result: torch.Tensor = torch.ops.aten.threshold_backward(grad, out, 0)
    return result


class ModelBank(nn.Module):
    """M identical-at-init MLPs; `flat` (M, P) holds every parameter, w1 … b3 are (M, ...) views of it."""

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
            blocks += [w.reshape(-1), b]
        self.flat = nn.Parameter(torch.cat(blocks).expand(m, -1).contiguous().to(device))
        self.flat.grad = torch.zeros_like(self.flat)
        with torch.no_grad():  # views of the detached tensor: they follow every update and carry no graph
            self.params = _views(self.flat.detach(), self.shapes)
            self.grads = _views(self.flat.grad, self.shapes)
            self.w1, self.b1, self.w2, self.b2, self.w3, self.b3 = self.params
            self.g_w1, self.g_b1, self.g_w2, self.g_b2, self.g_w3, self.g_b3 = self.grads

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, D), shared by all models, or (M, B, D) → penultimate activations (M, B, d) and logits (M, B, K).

        No autograd graph: gradients come from `backward`, written out by hand.
        """
        return forward_rows(self.params, x)[1:]

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Hidden, penultimate and logits, for code that writes its own backward pass (a different loss)."""
        return forward_rows(self.params, x)

    def templates(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The class templates: last-layer weights (M, K, d) and biases (M, K)."""
        return self.w3.detach(), self.b3.detach()

    @torch.no_grad()
    def backward(self, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Forward, each model's mean smoothed loss (M,), and its gradient written into flat.grad."""
        assert self.flat.grad is not None
        return backward_rows(self.params, self.flat.grad, x, y, eps)


ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
SGD_MOMENTUM = 0.9


def optimizer_step_rows(name: str, flat: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor | None,
                        t: torch.Tensor, lr: torch.Tensor, weight_decay: torch.Tensor | None) -> None:
    """One Adam or SGD-with-momentum step for every row of `flat` (R, P), each with its own settings.

    t (R, 1) float64: each row's step number, this step included (Adam's bias correction); lr (R, 1)
    and weight_decay (R, 1) or None. The same rules as torch.optim.Adam and SGD (dampening 0, L2
    weight decay added to the gradient); a zero momentum buffer makes SGD's first step the gradient.
    """
    g = grad if weight_decay is None else grad.addcmul(flat, weight_decay)
    if v is None:
        m.mul_(SGD_MOMENTUM).add_(g)
        flat.addcmul_(m, lr, value=-1.0)
        return
    b1, b2 = ADAM_BETAS
    m.lerp_(g, 1.0 - b1)
    v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
    correction2 = (1.0 - torch.pow(b2, t)).sqrt_().to(flat.dtype)
    step = (lr / (1.0 - torch.pow(b1, t))).to(flat.dtype)
    denom = v.sqrt().div_(correction2).add_(ADAM_EPS)
    flat.addcmul_(m.div(denom), step, value=-1.0)


class BankOptimizer:
    """Adam or SGD with momentum on the bank's (M, P) tensor: PyTorch's update rules, written out.

    torch.optim's per-step Python overhead is several times the arithmetic for models this small;
    this is the same algorithm in a few in-place ops (checked against torch.optim in the tests).
    Elementwise, so the bank's optimizer equals one optimizer per model. `param_groups[0]["lr"]` is the
    live learning rate; `m`, `v` and `t` are the state that engine/batch.py gathers across sessions.
    """

    def __init__(self, bank: ModelBank, name: str, lr: float, *, weight_decay: float = 0.0) -> None:
        if name not in ("adam", "sgd"):
            raise ValueError(f"unknown optimizer {name!r}; choose adam or sgd")
        self.name, self.momentum, self.weight_decay = name, SGD_MOMENTUM, weight_decay
        self.param_groups: list[dict[str, float]] = [{"lr": lr}]
        self.flat = bank.flat.detach()
        self.grad = bank.flat.grad
        self.t = 0
        self.m = torch.zeros_like(self.flat)  # Adam's first moment, or SGD's momentum buffer
        self.v = torch.zeros_like(self.flat) if name == "adam" else None

    @torch.no_grad()
    def step(self) -> None:
        assert self.grad is not None
        self.t += 1
        rows = self.flat.shape[0]
        column = torch.full((rows, 1), 1.0, dtype=torch.float64, device=self.flat.device)
        lr = (column * self.param_groups[0]["lr"]).to(self.flat.dtype)
        wd = (column * self.weight_decay).to(self.flat.dtype) if self.weight_decay else None
        optimizer_step_rows(self.name, self.flat, self.grad, self.m, self.v, column * self.t, lr, wd)


def make_optimizer(bank: ModelBank, name: str, lr: float, *, weight_decay: float = 0.0) -> BankOptimizer:
    """Adam (default) or SGD with momentum over the bank's one tensor: elementwise, so per model."""
    return BankOptimizer(bank, name, lr, weight_decay=weight_decay)


def train_step(
    bank: ModelBank, opt: BankOptimizer, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """One optimizer step on minibatch (x, y) for every model; returns each model's loss (M,)."""
    losses = bank.backward(x, y, eps)
    opt.step()
    return losses
