"""Linear blend skinning: known answers (rest, one joint, a blend) against hand-written transforms."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from bridge.core.skinning import skin_vertices, skinning_matrices


def _transform(rot: Rotation, t: tuple[float, float, float]) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = rot.as_matrix(), t
    return m


def test_rest_pose_keeps_the_vertices_and_one_joint_moves_them_rigidly() -> None:
    rng = np.random.default_rng(5)
    rest = rng.normal(size=(50, 3))
    bind = np.stack([_transform(Rotation.identity(), (0, 0, 0)), _transform(Rotation.identity(), (0, 1, 0))])
    inverse_bind = np.linalg.inv(bind)
    joints = np.tile([0, 1, 0, 0], (50, 1))
    weights = np.tile([0.0, 1.0, 0.0, 0.0], (50, 1))
    np.testing.assert_allclose(skin_vertices(rest, joints, weights, skinning_matrices(bind, inverse_bind)), rest)
    turn = Rotation.from_euler("z", 90, degrees=True)
    posed = bind.copy()
    posed[1] = _transform(turn, (0, 1, 0))  # joint 1 turns about its own origin (0, 1, 0)
    got = skin_vertices(rest, joints, weights, skinning_matrices(posed, inverse_bind))
    np.testing.assert_allclose(got, turn.apply(rest - [0, 1, 0]) + [0, 1, 0], atol=1e-12)


def test_weights_blend_and_unbound_vertices_stay() -> None:
    rest = np.array([[1.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    skin = np.stack([np.eye(4), _transform(Rotation.identity(), (0, 0, 2))])
    joints = np.array([[0, 1, 0, 0], [0, 0, 0, 0]])
    weights = np.array([[0.75, 0.25, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    got = skin_vertices(rest, joints, weights, skin)
    np.testing.assert_allclose(got, [[1.0, 0.0, 0.5], [2.0, 0.0, 0.0]])
