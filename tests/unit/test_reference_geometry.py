"""tests/reference/geometry.py, the numpy oracle of the template-plane projection, checked on its own: against
an independent Gram–Schmidt recipe, distances worked out by hand, and the Procrustes alignment's algebra."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.reference.geometry import (
    align_basis,
    distance_summary,
    project_to_template_plane,
    template_basis,
    template_distances,
)
from tests.support.geometry import REFLECT, augmented, pairwise, random_case, rotation


def test_projection_equals_an_independent_gram_schmidt_recipe_up_to_an_isometry() -> None:
    acts, weight, bias = random_case(11)
    x_aug, w_aug = augmented(acts, weight, bias)
    centre = w_aug.mean(axis=0)
    u = w_aug[1] - w_aug[0]
    e1 = u / np.linalg.norm(u)
    v = (w_aug[2] - w_aug[0]) - ((w_aug[2] - w_aug[0]) @ e1) * e1
    basis = np.stack([e1, v / np.linalg.norm(v)], axis=1)
    want = np.vstack([(x_aug - centre) @ basis, (w_aug - centre) @ basis])
    proj = project_to_template_plane(acts, weight, bias)
    np.testing.assert_allclose(pairwise(np.vstack([proj.points, proj.templates])), pairwise(want), atol=1e-9)
    np.testing.assert_allclose(proj.basis.T @ proj.basis, np.eye(2), atol=1e-12)


def test_numpy_and_torch_inputs_give_the_same_result() -> None:
    acts, weight, bias = random_case(5)
    want = project_to_template_plane(acts, weight, bias)
    for dtype in (torch.float64, torch.float32):
        t_acts = torch.tensor(acts, dtype=dtype, requires_grad=True)  # a tensor that needs grad is fine too
        t_weight, t_bias = torch.tensor(weight, dtype=dtype), torch.tensor(bias, dtype=dtype)
        got = project_to_template_plane(t_acts, t_weight, t_bias)
        tol = 1e-11 if dtype == torch.float64 else 1e-4
        np.testing.assert_allclose(got.points, want.points, atol=tol)
        np.testing.assert_allclose(got.templates, want.templates, atol=tol)
        np.testing.assert_allclose(template_distances(t_acts, t_weight, t_bias), template_distances(acts, weight, bias),
                                   atol=tol)
    # float32 numpy in, float32 tensor in: identical (both are computed in float64)
    a32, w32, b32 = acts.astype(np.float32), weight.astype(np.float32), bias.astype(np.float32)
    np.testing.assert_array_equal(
        project_to_template_plane(a32, w32, b32).points,
        project_to_template_plane(torch.from_numpy(a32), torch.from_numpy(w32), torch.from_numpy(b32)).points,
    )


def test_bad_shapes_are_rejected() -> None:
    acts, weight, bias = random_case(0)
    with pytest.raises(ValueError, match="shapes do not fit"):
        project_to_template_plane(acts[:, :5], weight, bias)
    with pytest.raises(ValueError, match="shapes do not fit"):
        project_to_template_plane(acts, weight, bias[:2])
    with pytest.raises(ValueError, match="shapes do not fit"):
        template_distances(acts[0], weight, bias)


# ---- alignment ---------------------------------------------------------------------------------------------
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
    assert distance_summary(torch.tensor(dists), torch.tensor(labels)) == pytest.approx(got)


def test_spread_is_zero_when_equidistant_from_the_wrong_templates() -> None:
    """Activations sitting on their own template of a regular arrangement: wrong templates equidistant."""
    weight, bias = np.eye(3), np.zeros(3)
    acts = np.vstack([np.eye(3)] * 4)  # x = w_y
    labels = np.tile([0, 1, 2], 4)
    got = distance_summary(template_distances(acts, weight, bias), labels)
    assert got["incorrect_spread"] == 0.0
    assert got["dist_correct"] == pytest.approx(1.0)  # only the bias coordinate differs: |1 − 0|
    assert got["dist_incorrect"] == pytest.approx(np.sqrt(3))  # √(1 + 1 + 1)
