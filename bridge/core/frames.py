"""The only two places where axes and units change.

1. **MediaPipe → rig** (on the way in), :func:`mediapipe_to_rig`:
   MediaPipe world frame (x to the image's right, y down, z away from the camera, metres, hip-centred) →
   rig frame (right-handed, Y up, the avatar faces +Z, +X is the avatar's left, metres). A person facing the
   camera has their left side at image right (+x), so ``rig = (x, -y, -z)``: a 180° turn about x, no
   reflection. The person facing the camera drives an avatar facing its own front.
   The **mirror** option (the avatar moves like the user's mirror image) is applied here and nowhere else:
   left and right landmarks are exchanged and x is negated.

2. **Rig → Unity** (on the way out), :func:`rig_to_unity_position` / :func:`rig_to_unity_rotation`:
   Unity is left-handed, Y up, +Z forward, metres; a humanoid faces +Z with its left at -X. The conversion is
   the reflection x → -x: positions ``(-x, y, z)``, quaternions ``(x, -y, -z, w)`` (scalar-last), the same
   conversion UniVRM applies between glTF and Unity.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.core.landmarks import SWAP_LEFT_RIGHT

FloatArray = npt.NDArray[np.float64]

#: rig_xyz = MEDIAPIPE_TO_RIG @ mediapipe_xyz
MEDIAPIPE_TO_RIG: FloatArray = np.diag([1.0, -1.0, -1.0])
#: x → -x, both ways between the rig frame and Unity's.
RIG_TO_UNITY: FloatArray = np.diag([-1.0, 1.0, 1.0])


def mediapipe_to_rig(world_xyz_m: FloatArray, mirror: bool = False) -> FloatArray:
    """Landmarks from MediaPipe's world frame to the rig frame.

    Args:
        world_xyz_m: (..., 33, 3) float, MediaPipe world frame (x right, y down, z away), metres.
        mirror: exchange the person's left and right and reflect x, so the avatar mirrors the user.

    Returns:
        (..., 33, 3) float, rig frame (Y up, +Z toward the camera, +X the person's left), metres.
    """
    xyz = np.asarray(world_xyz_m, dtype=np.float64) @ MEDIAPIPE_TO_RIG.T
    if mirror:
        xyz = xyz[..., SWAP_LEFT_RIGHT, :] * np.array([-1.0, 1.0, 1.0])
    return xyz


def rig_to_mediapipe(xyz_m: FloatArray) -> FloatArray:
    """Inverse of :func:`mediapipe_to_rig` without mirroring: (..., 3) rig frame → MediaPipe world frame.

    Used to synthesise landmarks from rigs and mocap (the conversion is its own inverse).
    """
    return np.asarray(xyz_m, dtype=np.float64) @ MEDIAPIPE_TO_RIG.T


def mirror_per_landmark(values: npt.NDArray[np.generic], mirror: bool) -> npt.NDArray[np.generic]:
    """Per-landmark values (visibility, flags; shape (..., 33)) reordered like :func:`mediapipe_to_rig` does."""
    return values[..., SWAP_LEFT_RIGHT] if mirror else values


def mirror_image_xy(image_xy: FloatArray, mirror: bool) -> FloatArray:
    """(..., 33, 2) normalised image points, reordered and flipped left↔right when ``mirror`` is set."""
    if not mirror:
        return image_xy
    out = np.asarray(image_xy, dtype=np.float64)[..., SWAP_LEFT_RIGHT, :].copy()
    out[..., 0] = 1.0 - out[..., 0]
    return out


def rig_to_unity_position(xyz_m: FloatArray) -> FloatArray:
    """(..., 3) rig-frame positions (metres) → Unity frame (left-handed, Y up, metres)."""
    return np.asarray(xyz_m, dtype=np.float64) * np.array([-1.0, 1.0, 1.0])


def rig_to_unity_quaternion(rotation: Rotation) -> FloatArray:
    """Rig-frame rotations → Unity-frame quaternions, (N, 4) or (4,) float, scalar-last ``x y z w``."""
    q = rotation.as_quat()
    return q * np.array([1.0, -1.0, -1.0, 1.0])


def unity_to_rig_quaternion(quat_xyzw: FloatArray) -> Rotation:
    """Inverse of :func:`rig_to_unity_quaternion` (the reflection is its own inverse)."""
    return Rotation.from_quat(np.asarray(quat_xyzw, dtype=np.float64) * np.array([1.0, -1.0, -1.0, 1.0]))
