"""app/engine/measure.py (torch, batched, by name) against the numpy oracles in tests/reference/measure.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.engine import measure as M
from tests.reference import measure as ref


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-5, abs=1e-6)


def _case(seed: int, n: int = 400, k: int = 3, scale: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, k)) * scale, rng.integers(0, k, n)


@pytest.mark.parametrize("seed", range(4))
def test_reliability_and_nll_match_the_oracle(seed: int) -> None:
    z, y = _case(seed, scale=1.0 + seed)
    ours = M.reliability(torch.as_tensor(z), torch.as_tensor(y))
    theirs = ref.reliability(ref.softmax(z), y)
    np.testing.assert_array_equal(ours.count, theirs.count)
    np.testing.assert_allclose(ours.confidence, theirs.confidence, atol=1e-12)
    np.testing.assert_allclose(ours.accuracy, theirs.accuracy, atol=1e-12)
    assert ours.ece == pytest.approx(theirs.ece, abs=1e-12)
    assert M.nll(torch.as_tensor(z), torch.as_tensor(y)) == pytest.approx(ref.nll(z, y), rel=1e-12)


@pytest.mark.parametrize("scale", [0.3, 1.0, 8.0])
def test_fit_temperature_matches_the_oracle(scale: float) -> None:
    z, y = _case(7)
    z[np.arange(y.size), y] += 2.0  # mostly right, so there is a proper optimum
    z *= scale
    ours = M.fit_temperature(torch.as_tensor(z), torch.as_tensor(y))
    assert ours == pytest.approx(ref.fit_temperature(z, y), rel=1e-3)


def test_bank_reliability_is_each_model_alone() -> None:
    cases = [_case(s) for s in range(3)]
    conf, hit = [], []
    for z, y in cases:
        p = ref.softmax(z)
        conf.append(p.max(-1))
        hit.append((p.argmax(-1) == y).astype(np.float64))
    bank = M.bank_reliability(torch.as_tensor(np.stack(conf)), torch.as_tensor(np.stack(hit)))
    for rel, (z, y) in zip(bank, cases, strict=True):
        alone = ref.reliability(ref.softmax(z), y)
        np.testing.assert_array_equal(rel.count, alone.count)
        assert rel.ece == pytest.approx(alone.ece, abs=1e-12)


def test_measure_bank_names_every_metric_and_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    m, n, v, d = 2, 60, 30, 4
    f32 = np.float32  # as the session measures
    acts = torch.as_tensor(rng.random((m, n + v, d), f32))
    w = torch.as_tensor(rng.standard_normal((m, 3, d), f32))
    b = torch.as_tensor(rng.standard_normal((m, 3), f32))
    logits = acts @ w.mT + b.unsqueeze(1)
    y_train, y_val = torch.as_tensor(rng.integers(0, 3, n)), torch.as_tensor(rng.integers(0, 3, v))
    y_true = y_train.clone()
    y_true[:5] = (y_true[:5] + 1) % 3
    eps = torch.tensor([0.0, 0.2])
    out = M.measure_bank(acts, logits, w, b, eps, M.Labels.build(y_train, y_val, y_true, m))
    assert set(out.scalars) == {"train_loss", "val_loss", "val_nll", "train_acc", "val_acc", "mean_confidence",
                                "logit_gap", "val_logit_gap", "dist_correct", "dist_incorrect",
                                "incorrect_spread", "train_acc_clean", "ece"}
    for i in range(m):
        z, yt, yv = logits[i].double().numpy(), y_train.numpy(), y_val.numpy()
        q = (1 - eps[i].item()) * np.eye(3)[yt] + eps[i].item() / 3
        assert out.scalars["train_loss"][i] == approx(-(q * ref.log_softmax(z[:n])).sum(-1).mean())
        assert out.scalars["val_nll"][i] == approx(ref.nll(z[n:], yv))
        assert out.scalars["train_acc"][i] == approx(ref.accuracy(ref.softmax(z[:n]), yt))
        assert out.scalars["train_acc_clean"][i] == approx(ref.accuracy(ref.softmax(z[:n]), y_true.numpy()))
        assert out.scalars["logit_gap"][i] == approx(ref.logit_gap(z[:n], yt))
        assert out.scalars["ece"][i] == approx(ref.reliability(ref.softmax(z[n:]), yv).ece)
        x_aug = np.hstack([acts[i, :n].double().numpy(), np.ones((n, 1))])
        w_aug = np.hstack([w[i].double().numpy(), b[i].double().numpy()[:, None]])
        dist = np.linalg.norm(x_aug[:, None] - w_aug[None], axis=-1)  # (N, 3)
        assert out.scalars["dist_correct"][i] == approx(dist[np.arange(n), yt].mean())
        np.testing.assert_allclose(out.class_distances[i][1], dist[yt == 1].mean(0), rtol=1e-5)
