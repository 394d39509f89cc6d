"""Synthetic landmarks from a posed rig: the inverse of what the solver does, for tests and benchmarks.

The 33 MediaPipe landmarks are placed on a posed rig: body joints at the rig's joints, and the points the rig
has no joint for (face, hand knuckles, heels, toe tips) at fixed offsets carried by the world rotation of the
bone they belong to, so they turn with the body.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from bridge.core.frames import rig_to_mediapipe
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame
from bridge.core.landmarks import PoseLandmark as L
from bridge.core.pose import BonePose
from bridge.core.rig import Rig, forward_kinematics
from bridge.solve.body_config import SolverConfig

FloatArray = npt.NDArray[np.float64]

#: Landmark → (bone, offset (3,) in the bone's rest frame = rig frame, metres) for points off the joints.
#: Offsets are written for the left side (+X is the avatar's left); right ones mirror x.
_HEAD_POINTS: dict[str, tuple[float, float, float]] = {
    # the nose 10 cm ahead of the ears' mid-point, below it by the solver's default head pitch offset
    "NOSE": (0.0, 0.07 - 0.1 * math.tan(math.radians(SolverConfig().head_pitch_offset_deg)), 0.10),
    "LEFT_EYE_INNER": (0.017, 0.08, 0.085),
    "LEFT_EYE": (0.032, 0.08, 0.082),
    "LEFT_EYE_OUTER": (0.047, 0.08, 0.075),
    "LEFT_EAR": (0.075, 0.07, 0.0),
    "MOUTH_LEFT": (0.025, 0.01, 0.09),
}
_HAND_POINTS = {"INDEX": (0.09, 0.0, 0.0325), "PINKY": (0.09, 0.0, -0.0325), "THUMB": (0.06, 0.0, 0.05)}
_HEEL = (0.0, -0.05, -0.05)


def _side_names(name: str) -> list[tuple[str, float]]:
    """('LEFT_EYE', +1), ('RIGHT_EYE', -1); unsided names once with +1."""
    if "LEFT" in name.split("_"):
        return [(name, 1.0), ("_".join("RIGHT" if w == "LEFT" else w for w in name.split("_")), -1.0)]
    return [(name, 1.0)]


def landmarks_from_world(rig: Rig, joints_m: FloatArray, rotations: FloatArray) -> FloatArray:
    """33 landmarks of a posed rig, MediaPipe world frame, hip-centred, metres.

    Args:
        rig: the skeleton (must have Toes with tails for foot index points; else the foot joint is used).
        joints_m: (..., B, 3) joint positions, rig frame, metres (from :func:`forward_kinematics`).
        rotations: (..., B, 3, 3) world rotations of the bones.

    Returns:
        (..., 33, 3) float, MediaPipe world frame (x right, y down, z away), origin mid-hips, metres.
    """
    out = np.zeros(joints_m.shape[:-2] + (NUM_LANDMARKS, 3))

    def at(bone: str, offset: tuple[float, float, float] | FloatArray = (0.0, 0.0, 0.0)) -> FloatArray:
        i = rig.index(bone)
        return joints_m[..., i, :] + rotations[..., i, :, :] @ np.asarray(offset, dtype=np.float64)

    for side, sgn in (("LEFT", 1.0), ("RIGHT", -1.0)):
        s = side.capitalize()
        mirror = np.array([sgn, 1.0, 1.0])
        out[..., L[f"{side}_SHOULDER"], :] = at(f"{s}UpperArm")
        out[..., L[f"{side}_ELBOW"], :] = at(f"{s}LowerArm")
        out[..., L[f"{side}_WRIST"], :] = at(f"{s}Hand")
        for part, off in _HAND_POINTS.items():
            out[..., L[f"{side}_{part}"], :] = at(f"{s}Hand", np.array(off) * mirror)
        out[..., L[f"{side}_HIP"], :] = at(f"{s}UpperLeg")
        out[..., L[f"{side}_KNEE"], :] = at(f"{s}LowerLeg")
        out[..., L[f"{side}_ANKLE"], :] = at(f"{s}Foot")
        out[..., L[f"{side}_HEEL"], :] = at(f"{s}Foot", _HEEL)
        toes = f"{s}Toes"
        if rig.has(toes):
            out[..., L[f"{side}_FOOT_INDEX"], :] = at(toes, rig.tails_m.get(toes, np.zeros(3)))
        else:
            out[..., L[f"{side}_FOOT_INDEX"], :] = at(f"{s}Foot", (0.0, -0.07, 0.18))
    for name, off in _HEAD_POINTS.items():
        for n, sgn in _side_names(name):
            out[..., L[n], :] = at("Head", np.array(off) * np.array([sgn, 1.0, 1.0]))
    hip_mid = (out[..., L.LEFT_HIP, :] + out[..., L.RIGHT_HIP, :]) / 2
    return rig_to_mediapipe(out - hip_mid[..., None, :])


def frame_from_pose(pose: BonePose, t_s: float | None = None, visibility: float = 1.0) -> LandmarkFrame:
    """A :class:`LandmarkFrame` whose world landmarks sit on ``pose`` (image points: a simple projection)."""
    pos, rot = forward_kinematics(pose.rig, pose.local_rotations, pose.hips_position_m)
    world = landmarks_from_world(pose.rig, pos, rot)
    image_xy = 0.5 + world[:, :2] / 4.0  # a stand-in orthographic view, 4 m across
    return LandmarkFrame(
        t_s=pose.t_s if t_s is None else t_s,
        world_xyz_m=world,
        image_xy=image_xy,
        visibility=np.full(NUM_LANDMARKS, visibility),
        presence=np.full(NUM_LANDMARKS, visibility),
        image_size=(1280, 720),
    )
