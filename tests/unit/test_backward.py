"""The hand-written backward pass of the model bank against autograd (micrograd checks itself this way)."""

from __future__ import annotations

import pytest
import torch

from app.engine.bank import ModelBank, _views
from app.engine.loss import bank_smoothed_cross_entropy


def autograd_reference(bank: ModelBank, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor):
    flat = bank.flat.detach().clone().double().requires_grad_(True)
    w1, b1, w2, b2, w3, b3 = _views(flat, bank.shapes)
    xd = x.double()
    h = torch.relu(torch.einsum("bi,mhi->mbh", xd, w1) + b1[:, None])
    a = torch.relu(torch.einsum("mbh,mdh->mbd", h, w2) + b2[:, None])
    z = torch.einsum("mbd,mkd->mbk", a, w3) + b3[:, None]
    losses = bank_smoothed_cross_entropy(z, y, eps.double())
    losses.sum().backward()
    return losses.detach(), flat.grad


@pytest.mark.parametrize("m,in_dim,hidden,d", [(1, 2, 32, 8), (2, 2, 16, 4), (5, 64, 24, 8)])
def test_manual_gradient_matches_autograd(m: int, in_dim: int, hidden: int, d: int) -> None:
    torch.manual_seed(m)
    bank = ModelBank(m, in_dim, hidden, d, seed=3)
    with torch.no_grad():  # leave the identical init so each model has its own ReLU pattern
        bank.flat.add_(0.2 * torch.randn_like(bank.flat))
    x, y = torch.randn(50, in_dim), torch.randint(0, 3, (50,))
    eps = torch.linspace(0.0, 0.5, m)
    losses = bank.backward(x, y, eps)
    ref_losses, ref_grad = autograd_reference(bank, x, y, eps)
    torch.testing.assert_close(losses.double(), ref_losses, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(bank.flat.grad.double(), ref_grad, atol=1e-6, rtol=1e-4)
    assert ref_grad.abs().max() > 1e-3  # the comparison is not between two zero vectors


def test_forward_builds_no_autograd_graph() -> None:
    bank = ModelBank(2, 2, 8, 4)
    acts, logits = bank(torch.randn(7, 2))
    assert acts.shape == (2, 7, 4) and logits.shape == (2, 7, 3)
    assert not logits.requires_grad


@pytest.mark.parametrize("name", ["adam", "sgd"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_bank_optimizer_matches_torch_optim(name: str, weight_decay: float) -> None:
    """The written-out Adam and SGD (momentum 0.9) follow torch.optim step for step on the same gradients."""
    from app.engine.bank import make_optimizer

    bank = ModelBank(2, 2, 8, 4, seed=0)
    ref = bank.flat.detach().clone().requires_grad_(True)
    ref_opt: torch.optim.Optimizer = (
        torch.optim.Adam([ref], lr=0.01, weight_decay=weight_decay) if name == "adam"
        else torch.optim.SGD([ref], lr=0.01, momentum=0.9, weight_decay=weight_decay)
    )
    opt = make_optimizer(bank, name, 0.01, weight_decay=weight_decay)
    g = torch.Generator().manual_seed(1)
    for _ in range(60):
        grad = torch.randn(ref.shape, generator=g)
        bank.flat.grad.copy_(grad)
        opt.step()
        ref.grad = grad.clone()
        ref_opt.step()
    moved = (ref.detach() - ModelBank(2, 2, 8, 4, seed=0).flat.detach()).abs().max()
    assert moved > 1e-2  # both really trained
    torch.testing.assert_close(bank.flat.detach(), ref.detach(), atol=1e-6, rtol=1e-6)
