"""app/engine/bank.py: the bank of M models equals M models trained on their own (issue 2 §3)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from app.engine.bank import ModelBank, make_optimizer, resolve_device, train_step

IN, HIDDEN, PEN, K = 2, 16, 8, 3
EPS = [0.0, 0.05, 0.1, 0.3]


def batches(steps: int, batch: int = 32, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Fixed minibatches of a learnable 3-class problem (labels from the input's angle)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(steps):
        x = torch.randn(batch, IN, generator=g)
        y = ((torch.atan2(x[:, 1], x[:, 0]) + torch.pi) / (2 * torch.pi / 3)).long().clamp(0, 2)
        out.append((x, y))
    return out


def reference_mlp(bank: ModelBank, m: int) -> nn.Sequential:
    """Model m of the bank as plain nn.Linear layers (the independent reference)."""
    net = nn.Sequential(nn.Linear(IN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, PEN), nn.ReLU(), nn.Linear(PEN, K))
    with torch.no_grad():
        for layer, (w, b) in zip(net[::2], [(bank.w1, bank.b1), (bank.w2, bank.b2), (bank.w3, bank.b3)], strict=True):
            layer.weight.copy_(w[m])
            layer.bias.copy_(b[m])
    return net


def bank_params(bank: ModelBank, m: int) -> list[torch.Tensor]:
    """Model m's w1, b1, w2, b2, w3, b3 (detached first: they are no-grad views of bank.flat)."""
    return [p.detach()[m] for p in (bank.w1, bank.b1, bank.w2, bank.b2, bank.w3, bank.b3)]


def net_params(net: nn.Sequential) -> list[torch.Tensor]:
    return [t.detach() for layer in net[::2] for t in (layer.weight, layer.bias)]


# ---- construction -----------------------------------------------------------------------------------
def test_every_model_starts_from_the_same_weights() -> None:
    bank = ModelBank(5, IN, HIDDEN, PEN, K, seed=3)
    shapes = [(HIDDEN, IN), (HIDDEN,), (PEN, HIDDEN), (PEN,), (K, PEN), (K,)]
    for m in range(5):
        params = bank_params(bank, m)
        assert [tuple(p.shape) for p in params] == shapes
        for p, p0 in zip(params, bank_params(bank, 0), strict=True):
            torch.testing.assert_close(p, p0, atol=0, rtol=0)


def test_init_is_deterministic_from_the_seed() -> None:
    a, b, c = (ModelBank(2, IN, HIDDEN, PEN, K, seed=s) for s in (1, 1, 2))
    for pa, pb, pc in zip(bank_params(a, 1), bank_params(b, 1), bank_params(c, 1), strict=True):
        torch.testing.assert_close(pa, pb, atol=0, rtol=0)
        assert not torch.equal(pa, pc)


def test_forward_shapes_and_templates() -> None:
    bank = ModelBank(4, IN, HIDDEN, PEN, K, seed=0)
    x = torch.randn(10, IN)
    acts, logits = bank(x)
    assert acts.shape == (4, 10, PEN) and logits.shape == (4, 10, K)
    assert bool((acts >= 0).all())  # ReLU penultimate layer
    w, b = bank.templates()
    assert w.shape == (4, K, PEN) and b.shape == (4, K)
    assert not w.requires_grad and not b.requires_grad
    torch.testing.assert_close(logits, acts @ w.mT + b[:, None, :])  # z_k = w_k·x + b_k


def test_forward_matches_plain_layers() -> None:
    bank = ModelBank(3, IN, HIDDEN, PEN, K, seed=4)
    with torch.no_grad():
        for p in bank_params(bank, 0) + bank_params(bank, 2):  # make the models differ
            p.add_(0.1 * torch.randn_like(p))
    x = torch.randn(20, IN)
    _, logits = bank(x)
    for m in range(3):
        torch.testing.assert_close(logits[m], reference_mlp(bank, m)(x), atol=1e-6, rtol=1e-6)


# ---- training: the bank equals separately trained models ----------------------------------------------
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_bank_equals_separately_trained_single_models(optimizer: str) -> None:
    data = batches(200)
    lr = 0.01 if optimizer == "adam" else 0.05
    bank = ModelBank(len(EPS), IN, HIDDEN, PEN, K, seed=7)
    opt = make_optimizer(bank, optimizer, lr, weight_decay=1e-3)
    singles = [ModelBank(1, IN, HIDDEN, PEN, K, seed=7) for _ in EPS]
    single_opts = [make_optimizer(s, optimizer, lr, weight_decay=1e-3) for s in singles]
    eps_bank = torch.tensor(EPS)
    for x, y in data:
        bank_losses = train_step(bank, opt, x, y, eps_bank)
        for m, (single, single_opt) in enumerate(zip(singles, single_opts, strict=True)):
            loss = train_step(single, single_opt, x, y, torch.tensor([EPS[m]]))
            torch.testing.assert_close(bank_losses[m], loss[0], atol=1e-5, rtol=0)
    for m, single in enumerate(singles):
        for got, want in zip(bank_params(bank, m), bank_params(single, 0), strict=True):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=0, msg=f"{optimizer}, ε={EPS[m]}")
    # and ε made a difference: the runs did not stay identical
    assert not torch.allclose(bank_params(bank, 0)[4], bank_params(bank, len(EPS) - 1)[4], atol=1e-3)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_bank_equals_pytorch_reference_training(optimizer: str) -> None:
    """Each model of the bank trains like nn.Linear layers + F.cross_entropy(label_smoothing=ε)."""
    data = batches(200, seed=1)
    lr = 0.01 if optimizer == "adam" else 0.05
    bank = ModelBank(len(EPS), IN, HIDDEN, PEN, K, seed=2)
    opt = make_optimizer(bank, optimizer, lr)
    nets = [reference_mlp(bank, m) for m in range(len(EPS))]
    if optimizer == "adam":
        net_opts = [torch.optim.Adam(n.parameters(), lr=lr) for n in nets]
    else:
        net_opts = [torch.optim.SGD(n.parameters(), lr=lr, momentum=0.9) for n in nets]
    eps_bank = torch.tensor(EPS)
    for x, y in data:
        train_step(bank, opt, x, y, eps_bank)
        for net, net_opt, eps in zip(nets, net_opts, EPS, strict=True):
            net_opt.zero_grad()
            F.cross_entropy(net(x), y, label_smoothing=eps).backward()
            net_opt.step()
    for m, net in enumerate(nets):
        for got, want in zip(bank_params(bank, m), net_params(net), strict=True):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=0, msg=f"{optimizer}, ε={EPS[m]}")


def test_train_step_returns_each_models_loss_before_the_step() -> None:
    bank = ModelBank(2, IN, HIDDEN, PEN, K, seed=0)
    opt = make_optimizer(bank, "adam", 0.01)
    x, y = batches(1)[0]
    eps = torch.tensor([0.0, 0.2])
    with torch.no_grad():
        _, logits = bank(x)
    expected = [F.cross_entropy(logits[m], y, label_smoothing=e) for m, e in enumerate(eps.tolist())]
    losses = train_step(bank, opt, x, y, eps)
    assert not losses.requires_grad
    torch.testing.assert_close(losses, torch.stack(expected))


# ---- devices and options ----------------------------------------------------------------------------
def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message when CUDA is absent")
def test_cuda_asked_for_without_cuda_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no CUDA GPU is available"):
        resolve_device("cuda")


def test_make_optimizer_options() -> None:
    bank = ModelBank(2, IN, HIDDEN, PEN, K)
    adam = make_optimizer(bank, "adam", 0.02, weight_decay=0.1)
    assert adam.name == "adam" and adam.param_groups[0]["lr"] == 0.02 and adam.weight_decay == 0.1
    sgd = make_optimizer(bank, "sgd", 0.3)
    assert sgd.name == "sgd" and sgd.momentum == 0.9 and sgd.v is None
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        make_optimizer(bank, "rmsprop", 0.01)
