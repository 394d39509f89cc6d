"""The pose value: rest pose and forward kinematics."""

from __future__ import annotations

import numpy as np

from bridge.core.pose import BonePose, BoneState
from bridge.core.rig import load_rig


def test_rest_pose_is_the_t_pose_at_rest_height() -> None:
    rig = load_rig()
    rest = BonePose.rest(rig, t_s=2.0)
    assert rest.t_s == 2.0 and not rest.tracking
    assert np.all(rest.bone_state == BoneState.REST)
    assert np.allclose(rest.local_rotations.magnitude(), 0.0)
    joints, rots = rest.world()
    np.testing.assert_allclose(joints, rig.rest_world_m)
    np.testing.assert_allclose(rots, np.broadcast_to(np.eye(3), rots.shape))
    assert rest.rotation_of("Head").magnitude() == 0.0
