"""app/engine/geometry.py: the paper's template-plane projection (SCIENCE.md §4; Müller et al. 2019 §1.1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.engine.geometry import (
    align_basis,
    distance_summary,
    project_bank,
    project_to_template_plane,
    template_basis,
    template_distances,
)


def random_case(seed: int, n: int = 40, d: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    acts = np.abs(rng.normal(size=(n, d))) * 2  # (N, d), ReLU-like
    weight = rng.normal(size=(3, d))  # (3, d)
    bias = rng.normal(size=3)  # (3,)
    return acts, weight, bias


def augmented(acts: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x̃ = [x, 1], w̃_k = [w_k, b_k], written out here as the reference."""
    return np.hstack([acts, np.ones((len(acts), 1))]), np.hstack([weight, bias[:, None]])


def pairwise(x: np.ndarray) -> np.ndarray:
    return np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))


def rotation(theta: float) -> np.ndarray:
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


REFLECT = np.array([[1.0, 0.0], [0.0, -1.0]])


# ---- the invariants of SCIENCE.md §4 -----------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_templates_land_with_their_distances_kept(seed: int) -> None:
    acts, weight, bias = random_case(seed)
    proj = project_to_template_plane(acts, weight, bias)
    _, w_aug = augmented(acts, weight, bias)
    assert proj.templates.shape == (3, 2) and proj.points.shape == (len(acts), 2)
    np.testing.assert_allclose(pairwise(proj.templates), pairwise(w_aug), atol=1e-10)
    np.testing.assert_allclose(proj.templates.mean(axis=0), 0.0, atol=1e-10)  # centred on their mean
    np.testing.assert_allclose(proj.basis.T @ proj.basis, np.eye(2), atol=1e-12)  # orthonormal


@pytest.mark.parametrize("seed", range(5))
def test_projection_shifts_squared_distances_by_the_same_amount_for_every_template(seed: int) -> None:
    """‖P(x̃) − P(w̃_k)‖² − ‖x̃ − w̃_k‖² is the same for k = 1, 2, 3: the nearest template stays nearest."""
    acts, weight, bias = random_case(seed)
    proj = project_to_template_plane(acts, weight, bias)
    x_aug, w_aug = augmented(acts, weight, bias)
    in_plane = ((proj.points[:, None, :] - proj.templates[None, :, :]) ** 2).sum(-1)  # (N, 3)
    full = ((x_aug[:, None, :] - w_aug[None, :, :]) ** 2).sum(-1)  # (N, 3)
    diff = in_plane - full
    np.testing.assert_allclose(diff, np.repeat(diff[:, :1], 3, axis=1), atol=1e-9)
    assert (diff <= 1e-9).all()  # projecting never increases a distance
    np.testing.assert_array_equal(in_plane.argmin(axis=1), full.argmin(axis=1))


def test_projection_equals_an_independent_gram_schmidt_recipe_up_to_an_isometry() -> None:
    acts, weight, bias = random_case(11)
    x_aug, w_aug = augmented(acts, weight, bias)
    centre = w_aug.mean(axis=0)
    u = w_aug[1] - w_aug[0]
    e1 = u / np.linalg.norm(u)
    v = (w_aug[2] - w_aug[0]) - ((w_aug[2] - w_aug[0]) @ e1) * e1
    basis = np.stack([e1, v / np.linalg.norm(v)], axis=1)
    ref = np.vstack([(x_aug - centre) @ basis, (w_aug - centre) @ basis])
    proj = project_to_template_plane(acts, weight, bias)
    np.testing.assert_allclose(pairwise(np.vstack([proj.points, proj.templates])), pairwise(ref), atol=1e-9)


def test_the_bias_is_part_of_the_template() -> None:
    """Templates differing only in the bias still land apart: the paper's recipe appends b_k."""
    acts, weight, _ = random_case(3)
    proj = project_to_template_plane(acts, np.tile(weight[:1], (3, 1)) + 1e-3 * weight, np.array([0.0, 2.0, 5.0]))
    assert pairwise(proj.templates)[0, 2] > 4.9


# ---- inputs ----------------------------------------------------------------------------------------------
def test_numpy_and_torch_inputs_give_the_same_result() -> None:
    acts, weight, bias = random_case(5)
    ref = project_to_template_plane(acts, weight, bias)
    for dtype in (torch.float64, torch.float32):
        t_acts = torch.tensor(acts, dtype=dtype, requires_grad=True)  # a tensor that needs grad is fine too
        got = project_to_template_plane(t_acts, torch.tensor(weight, dtype=dtype), torch.tensor(bias, dtype=dtype))
        tol = 1e-12 if dtype == torch.float64 else 1e-5
        np.testing.assert_allclose(got.points, ref.points, atol=tol * 10)
        np.testing.assert_allclose(got.templates, ref.templates, atol=tol * 10)
        np.testing.assert_allclose(
            template_distances(t_acts, torch.tensor(weight, dtype=dtype), torch.tensor(bias, dtype=dtype)),
            template_distances(acts, weight, bias), atol=tol * 10,
        )
    # float32 numpy in, float32 tensor in: identical (both are computed in float64)
    a32, w32, b32 = acts.astype(np.float32), weight.astype(np.float32), bias.astype(np.float32)
    np.testing.assert_array_equal(
        project_to_template_plane(a32, w32, b32).points,
        project_to_template_plane(torch.from_numpy(a32), torch.from_numpy(w32), torch.from_numpy(b32)).points,
    )


def test_bank_projection_matches_the_single_recipe() -> None:
    """project_bank (the live path, torch, all models at once) against project_to_template_plane."""
    cases = [random_case(s, n=25, d=6) for s in range(4)]
    acts = torch.tensor(np.stack([c[0] for c in cases]))  # (M, S, d)
    weight = torch.tensor(np.stack([c[1] for c in cases]))  # (M, 3, d)
    bias = torch.tensor(np.stack([c[2] for c in cases]))  # (M, 3)
    points, templates, basis = project_bank(acts, weight, bias)
    for m, case in enumerate(cases):
        ref = project_to_template_plane(*case)
        np.testing.assert_allclose(pairwise(templates[m].numpy()), pairwise(ref.templates), atol=1e-9)
        both = np.vstack([points[m].numpy(), templates[m].numpy()])
        np.testing.assert_allclose(pairwise(both), pairwise(np.vstack([ref.points, ref.templates])), atol=1e-9)
        # aligned to the reference basis, the coordinates agree exactly
        aligned = project_to_template_plane(*case, previous_basis=basis[m].numpy())
        np.testing.assert_allclose(aligned.points, points[m].numpy(), atol=1e-9)
    again, _, _ = project_bank(acts, weight, bias, previous=basis)
    np.testing.assert_allclose(again.numpy(), points.numpy(), atol=1e-9)  # aligned to itself: no change


def test_bad_shapes_are_rejected() -> None:
    acts, weight, bias = random_case(0)
    with pytest.raises(ValueError, match="shapes do not fit"):
        project_to_template_plane(acts[:, :5], weight, bias)
    with pytest.raises(ValueError, match="shapes do not fit"):
        project_to_template_plane(acts, weight, bias[:2])
    with pytest.raises(ValueError, match="shapes do not fit"):
        template_distances(acts[0], weight, bias)


# ---- alignment: motion, not spin --------------------------------------------------------------------------
@pytest.mark.parametrize("theta", [0.3, 1.7, np.pi, -2.5])
@pytest.mark.parametrize("reflect", [False, True])
def test_align_basis_undoes_an_in_plane_rotation_or_reflection(theta: float, reflect: bool) -> None:
    _, weight, bias = random_case(2)
    _, q = template_basis(np.hstack([weight, bias[:, None]]))
    turn = rotation(theta) @ (REFLECT if reflect else np.eye(2))
    np.testing.assert_allclose(align_basis(q @ turn, q), q, atol=1e-12)
    # every in-plane version of a basis aligns to the same result
    np.testing.assert_allclose(align_basis(q @ turn, q @ rotation(0.4)), align_basis(q, q @ rotation(0.4)), atol=1e-12)


def test_align_basis_without_a_usable_previous_basis_is_a_no_op() -> None:
    _, weight, bias = random_case(2)
    _, q = template_basis(np.hstack([weight, bias[:, None]]))
    np.testing.assert_array_equal(align_basis(q, None), q)
    np.testing.assert_array_equal(align_basis(q, np.eye(4, 2)), q)  # another d after a reset


def test_slowly_changing_weights_give_slowly_moving_points() -> None:
    acts, weight, bias = random_case(8)
    rng = np.random.default_rng(0)
    drift_w, drift_b = rng.normal(size=weight.shape), rng.normal(size=bias.shape)
    previous = None
    last_points = None
    flip = np.eye(2)
    for t in range(60):
        w_t, b_t = weight + 1e-3 * t * drift_w, bias + 1e-3 * t * drift_b
        proj = project_to_template_plane(acts, w_t, b_t, previous)
        if previous is not None:
            assert np.abs(proj.basis - previous).max() < 0.01  # the basis moves a little each frame
            assert last_points is not None
            assert np.abs(proj.points - last_points).max() < 0.05  # so do the points
        previous, last_points = proj.basis, proj.points
        # whatever sign QR picks for the raw basis, the aligned frame is the same
        flip = REFLECT @ flip
        assert previous is not None
        _, raw = template_basis(np.hstack([w_t, b_t[:, None]]))
        np.testing.assert_allclose(align_basis(raw @ flip, previous), previous, atol=1e-9)


# ---- distances and their summary -------------------------------------------------------------------------
def test_template_distances_by_hand() -> None:
    acts = np.array([[1.0, 0.0], [0.0, 2.0]])
    weight = np.array([[1.0, 0.0], [0.0, 0.0], [3.0, 4.0]])
    bias = np.array([1.0, 0.0, 1.0])
    # x̃ = [1, 0, 1], [0, 2, 1]; w̃ = [1, 0, 1], [0, 0, 0], [3, 4, 1]
    want = np.array([[0.0, np.sqrt(2), np.sqrt(4 + 16)], [np.sqrt(1 + 4), np.sqrt(4 + 1), np.sqrt(9 + 4)]])
    np.testing.assert_allclose(template_distances(acts, weight, bias), want, atol=1e-12)


def test_distance_summary_by_hand() -> None:
    dists = np.array([[1.0, 2.0, 3.0], [4.0, 1.0, 1.0], [2.0, 2.0, 5.0]])
    labels = np.array([0, 1, 2])
    # correct: 1, 1, 5; wrong pairs: (2, 3), (1, 4), (2, 2)
    # spread: |2 − 3|/2.5 = 0.4, |1 − 4|/2.5 = 1.2, 0/2 = 0
    got = distance_summary(dists, labels)
    assert got["dist_correct"] == pytest.approx(7 / 3)
    assert got["dist_incorrect"] == pytest.approx(14 / 6)
    assert got["incorrect_spread"] == pytest.approx(1.6 / 3)
    torch_got = distance_summary(torch.tensor(dists), torch.tensor(labels))
    assert torch_got == pytest.approx(got)


def test_spread_is_zero_when_equidistant_from_the_wrong_templates() -> None:
    """Activations sitting on their own template of a regular arrangement: wrong templates equidistant."""
    weight, bias = np.eye(3), np.zeros(3)
    acts = np.vstack([np.eye(3)] * 4)  # x = w_y
    labels = np.tile([0, 1, 2], 4)
    got = distance_summary(template_distances(acts, weight, bias), labels)
    assert got["incorrect_spread"] == 0.0
    assert got["dist_correct"] == pytest.approx(1.0)  # only the bias coordinate differs: |1 − 0|
    assert got["dist_incorrect"] == pytest.approx(np.sqrt(3))  # √(1 + 1 + 1)
