"""app/engine/geometry.py: the paper's template-plane projection (Müller, Kornblith & Hinton 2019, §1.1 and
Figure 1; the blog post's §4), as the live code computes it for a bank of models (project_bank, torch).

Its invariants are checked on project_bank itself; its coordinates are compared with the numpy oracle in
tests/reference/geometry.py, which tests/unit/test_reference_geometry.py checks by hand and by an
independent recipe.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.engine.geometry import project_bank
from tests.reference import geometry as ref
from tests.support.geometry import REFLECT, augmented, pairwise, random_case, rotation


def bank(cases: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, ...]:
    """(acts, weight, bias) of several models stacked as the bank holds them: (M, N, d), (M, 3, d), (M, 3)."""
    return tuple(torch.tensor(np.stack([c[i] for c in cases])) for i in range(3))


CASES = [random_case(seed) for seed in range(5)]


# ---- the invariants, on the live code ----------------------------------------------------------------------
def test_templates_land_with_their_distances_kept() -> None:
    points, templates, basis = project_bank(*bank(CASES))
    assert points.shape == (5, 40, 2) and templates.shape == (5, 3, 2) and basis.shape == (5, 9, 2)
    for m, (acts, weight, bias) in enumerate(CASES):
        _, w_aug = augmented(acts, weight, bias)
        np.testing.assert_allclose(pairwise(templates[m].numpy()), pairwise(w_aug), atol=1e-10)
        np.testing.assert_allclose(templates[m].numpy().mean(axis=0), 0.0, atol=1e-10)  # centred on their mean
        np.testing.assert_allclose((basis[m].mT @ basis[m]).numpy(), np.eye(2), atol=1e-12)  # orthonormal


def test_projection_shifts_squared_distances_by_the_same_amount_for_every_template() -> None:
    """‖P(x̃) − P(w̃_k)‖² − ‖x̃ − w̃_k‖² is the same for k = 1, 2, 3: the nearest template stays nearest."""
    points, templates, _ = project_bank(*bank(CASES))
    for m, (acts, weight, bias) in enumerate(CASES):
        x_aug, w_aug = augmented(acts, weight, bias)
        p, t = points[m].numpy(), templates[m].numpy()
        in_plane = ((p[:, None, :] - t[None, :, :]) ** 2).sum(-1)  # (N, 3)
        full = ((x_aug[:, None, :] - w_aug[None, :, :]) ** 2).sum(-1)  # (N, 3)
        diff = in_plane - full
        np.testing.assert_allclose(diff, np.repeat(diff[:, :1], 3, axis=1), atol=1e-9)
        assert (diff <= 1e-9).all()  # projecting never increases a distance
        np.testing.assert_array_equal(in_plane.argmin(axis=1), full.argmin(axis=1))


def test_the_bias_is_part_of_the_template() -> None:
    """Templates differing only in the bias still land apart: the paper's recipe appends b_k."""
    acts, weight, _ = random_case(3)
    case = (acts, np.tile(weight[:1], (3, 1)) + 1e-3 * weight, np.array([0.0, 2.0, 5.0]))
    _, templates, _ = project_bank(*bank([case]))
    assert pairwise(templates[0].numpy())[0, 2] > 4.9


# ---- alignment: motion, not spin (orthogonal Procrustes) -----------------------------------------------------
@pytest.mark.parametrize("theta", [0.3, 1.7, np.pi, -2.5])
@pytest.mark.parametrize("reflect", [False, True])
def test_aligning_to_a_turned_basis_turns_the_picture_with_it(theta: float, reflect: bool) -> None:
    tensors = bank(CASES[:2])
    points, templates, basis = project_bank(*tensors)
    turn = torch.tensor(rotation(theta) @ (REFLECT if reflect else np.eye(2)))
    turned_points, turned_templates, turned_basis = project_bank(*tensors, previous=basis @ turn)
    torch.testing.assert_close(turned_basis, basis @ turn, atol=1e-12, rtol=0)
    torch.testing.assert_close(turned_points, points @ turn, atol=1e-9, rtol=0)
    torch.testing.assert_close(turned_templates, templates @ turn, atol=1e-9, rtol=0)


def test_without_a_usable_previous_basis_nothing_is_aligned() -> None:
    tensors = bank(CASES[:2])
    plain = project_bank(*tensors)
    other_d = torch.tensor(np.stack([np.eye(4, 2)] * 2))  # another penultimate width, after a reset
    for got, want in zip(project_bank(*tensors, previous=other_d), plain, strict=True):
        torch.testing.assert_close(got, want, atol=0, rtol=0)
    again, _, _ = project_bank(*tensors, previous=plain[2])
    torch.testing.assert_close(again, plain[0], atol=1e-9, rtol=0)  # aligned to itself: no change


def test_slowly_changing_weights_give_slowly_moving_points() -> None:
    acts, weight, bias = random_case(8)
    rng = np.random.default_rng(0)
    drift_w, drift_b = rng.normal(size=weight.shape), rng.normal(size=bias.shape)
    previous = last_points = None
    for t in range(60):
        case = (acts, weight + 1e-3 * t * drift_w, bias + 1e-3 * t * drift_b)
        points, _, basis = project_bank(*bank([case]), previous=previous)
        if previous is not None and last_points is not None:
            assert (basis - previous).abs().max() < 0.01  # the basis moves a little each frame
            assert (points - last_points).abs().max() < 0.05  # so do the points
        previous, last_points = basis, points


# ---- against the numpy oracle ------------------------------------------------------------------------------
def test_bank_projection_matches_the_reference_recipe() -> None:
    cases = [random_case(s, n=25, d=6) for s in range(4)]
    points, templates, basis = project_bank(*bank(cases))
    for m, case in enumerate(cases):
        want = ref.project_to_template_plane(*case)
        both = np.vstack([points[m].numpy(), templates[m].numpy()])
        np.testing.assert_allclose(pairwise(both), pairwise(np.vstack([want.points, want.templates])), atol=1e-9)
        # aligned to the live basis, the reference's coordinates are the live ones
        aligned = ref.project_to_template_plane(*case, previous_basis=basis[m].numpy())
        np.testing.assert_allclose(aligned.points, points[m].numpy(), atol=1e-9)
        np.testing.assert_allclose(aligned.templates, templates[m].numpy(), atol=1e-9)


def test_bank_alignment_matches_the_reference_procrustes() -> None:
    tensors = bank(CASES[:3])
    _, _, basis = project_bank(*tensors)
    previous = basis @ torch.tensor(rotation(0.9) @ REFLECT)
    _, _, aligned = project_bank(*tensors, previous=previous)
    for m in range(3):
        want = ref.align_basis(basis[m].numpy(), previous[m].numpy())
        np.testing.assert_allclose(aligned[m].numpy(), want, atol=1e-12)


def test_float32_bank_agrees_with_the_float64_reference() -> None:
    """The live bank runs in float32."""
    acts, weight, bias = (t.float() for t in bank(CASES))
    points, templates, basis = project_bank(acts, weight, bias)
    for m, case in enumerate(CASES):
        want = ref.project_to_template_plane(*case, previous_basis=basis[m].double().numpy())
        np.testing.assert_allclose(points[m].numpy(), want.points, atol=1e-4)
        np.testing.assert_allclose(templates[m].numpy(), want.templates, atol=1e-4)
