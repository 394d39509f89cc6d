"""Forward kinematics of BVH motions: joint translations and rotations, world positions, the rest pose.

The conventions are those of :mod:`bridge.export.bvh_file`: rotation channels compose intrinsically in their
listed order, position channels replace their component of the ``OFFSET``, a joint's world rotation is
``W_j = W_parent @ R_j`` and its world position ``p_j = p_parent + W_parent @ t_j`` (``t_j`` its translation);
an End Site of joint ``j`` is at ``p_j + W_j @ offset``. Units and axes are the file's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from bridge.export.bvh_file import BvhMotion, BvhSkeleton, FloatArray, FrameSelection, IntArray


@dataclass(frozen=True, eq=False)
class BvhPose:
    """Forward kinematics of some frames of a BVH motion, in the file's units and axes.

    Attributes:
        frame_indices: (T,) int, the BVH frames these rows are.
        positions: (T, J, 3) float, file units, BVH world frame: joint positions.
        rotations: (T, J, 3, 3) float: world rotation matrix of each joint (rest pose = identity), i.e. the
            rotation that carries the joint's rest-pose directions to this frame's.
        end_sites: joint name → (T, 3) float, file units, BVH world frame: position of that joint's End Site.
    """

    frame_indices: IntArray
    positions: FloatArray
    rotations: FloatArray
    end_sites: dict[str, FloatArray]


_AXIS_OF = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}
_POS_AXIS = {"Xposition": 0, "Yposition": 1, "Zposition": 2}


def bvh_local_transforms(motion: BvhMotion, frames: FrameSelection = None) -> tuple[FloatArray, FloatArray]:
    """Each joint's translation from its parent and its local rotation, for the selected frames.

    Returns:
        translations: (T, J, 3) float, file units, parent's frame: ``OFFSET`` with position channels applied.
        rotations: (T, J, 3, 3) float: local rotation matrices, the rotation channels composed intrinsically
            in their listed order (``Zrotation Xrotation Yrotation`` → ``Rz @ Rx @ Ry``).
    """
    sk = motion.skeleton
    idx = motion.frame_indices(frames)
    data = motion.channels[idx]
    n_t, n_j = len(idx), len(sk)
    trans = np.broadcast_to(sk.offsets, (n_t, n_j, 3)).copy()
    rots = np.broadcast_to(np.eye(3), (n_t, n_j, 3, 3)).copy()
    for j in range(n_j):
        cols = sk.channel_columns(j)
        rot_axes = ""
        rot_cols: list[int] = []
        for c, name in zip(cols, sk.channels[j], strict=True):
            if name in _POS_AXIS:
                trans[:, j, _POS_AXIS[name]] = data[:, c]
            else:
                rot_axes += _AXIS_OF[name]
                rot_cols.append(c)
        if rot_axes and n_t:
            # Channels are unique, so the axes never repeat: a valid scipy sequence; uppercase = intrinsic.
            rots[:, j] = Rotation.from_euler(rot_axes, data[:, rot_cols], degrees=True).as_matrix()
    return trans, rots


def bvh_forward_kinematics(motion: BvhMotion, frames: FrameSelection = None) -> BvhPose:
    """World positions and rotations of every joint and end site for the selected frames (vectorised)."""
    sk = motion.skeleton
    idx = motion.frame_indices(frames)
    trans, local = bvh_local_transforms(motion, idx)
    n_t, n_j = trans.shape[0], trans.shape[1]
    world_r = np.empty((n_t, n_j, 3, 3))
    world_p = np.empty((n_t, n_j, 3))
    for j in range(n_j):
        p = int(sk.parents[j])
        if p < 0:
            world_r[:, j] = local[:, j]
            world_p[:, j] = trans[:, j]
        else:
            world_r[:, j] = world_r[:, p] @ local[:, j]
            world_p[:, j] = world_p[:, p] + np.einsum("tab,tb->ta", world_r[:, p], trans[:, j])
    ends = {
        name: world_p[:, sk.index(name)] + world_r[:, sk.index(name)] @ off for name, off in sk.end_sites.items()
    }
    return BvhPose(frame_indices=idx, positions=world_p, rotations=world_r, end_sites=ends)


def bvh_world_positions(motion: BvhMotion, frames: FrameSelection = None) -> FloatArray:
    """(T, J, 3) float, file units, BVH world frame: joint positions of the selected frames."""
    return bvh_forward_kinematics(motion, frames).positions


def bvh_world_rotations(motion: BvhMotion, frames: FrameSelection = None) -> Rotation:
    """T*J world rotations of the selected frames (frame-major: row ``t * J + j``), rest pose = identity."""
    mats = bvh_forward_kinematics(motion, frames).rotations
    return Rotation.from_matrix(mats.reshape(-1, 3, 3))


def bvh_rest_positions(skeleton: BvhSkeleton) -> tuple[FloatArray, dict[str, FloatArray]]:
    """Rest pose (every channel zero, root at its OFFSET): (J, 3) joint positions and end-site positions, file
    units, BVH world frame."""
    pos = np.zeros((len(skeleton), 3))
    for j in range(len(skeleton)):
        p = int(skeleton.parents[j])
        pos[j] = skeleton.offsets[j] if p < 0 else pos[p] + skeleton.offsets[j]
    ends = {name: pos[skeleton.index(name)] + off for name, off in skeleton.end_sites.items()}
    return pos, ends
