"""Planted feet locked with the legs: a small two-bone IK of each planted leg keeps its foot where it stands.

:mod:`bridge.solve.root_motion` moves the hips so that planted feet stay put along the camera's axis (where one
camera only guesses); what is left is the legs' own error: MediaPipe's depth of a leg relative to the hips
correlates with the truth by 0.0–0.8 on rendered mocap, and across the view the image places the hips, not the
feet. :class:`FootLock` holds each planted foot's bearing point (the ankle, then the ball as the heel rises:
the lower of the two against its flat-foot height, as root motion picks it) at the place over the floor (room
X, Z) where it took the weight, and bends and swings that leg to reach it:

1. the knee bends about its own hinge axis (the normal of the hip–knee–ankle plane; a leg nearly straight or bent
   against the pelvis: the pelvis' left-right axis, so that it bends the way a knee does) to the angle that gives
   the hip-to-target distance (law of cosines);
2. the whole leg swings about the hip onto the target (the shortest rotation);
3. the foot keeps its world rotation (a planted foot stays flat).

The knee's bend stays a bend about the same axis, so a knee bent the way it can bend still is. A leg is locked
whatever its bones' state: a leg held or easing to rest while the image shows its foot planted (the far leg of
a side view, its visibility about the solver's cut) kept its foot put instead of sliding (rendered 01_01 from
the side: skate 10.0 → 3.6 cm).

A foot whose anchor has moved more than ``MAX_REACH_M`` from where the leg would put it is dragged along (it
slides rather than the leg contorting). Once the foot lifts, the offset fades over ``RELEASE_S``; a foot that
lands is anchored where its leg puts it (carrying what was left of the last offset instead added the offsets up
over a clip of jumps: 20 cm of bent legs by the end of the 01_01 mocap). The anchor does not follow the leg while
the foot is planted (a 1 s follow, as root motion's, left 3.4 cm of skate on the rendered jumps instead of 2.6).
The height of every joint is the solver's: the lock moves the feet over the floor only.

Frames: the rig frame (Y up, floor at y = 0), metres; rotations as (T, B, 4) scalar-last quaternions and
(T, B, 3, 3) world matrices (:func:`~bridge.core.rig.forward_kinematics`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.core.rig import Rig
from bridge.core.rotations import axis_angle_matrix, cross, dot, min_rotation, norm, perp, transpose, unit
from bridge.solve.root_motion import bearing_points, bearing_support

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: The legs, left and right: (upper leg, lower leg, foot) as Unity HumanBodyBones.
LEGS = (("LeftUpperLeg", "LeftLowerLeg", "LeftFoot"), ("RightUpperLeg", "RightLowerLeg", "RightFoot"))
#: Metres: an anchor farther than this from where the leg would put its foot is dragged along.
MAX_REACH_M = 0.25
#: Seconds over which a lifted foot's offset fades.
RELEASE_S = 0.2
#: Degrees: a knee bent less than this bends about the pelvis' axis (its hip–knee–ankle plane is noise).
STRAIGHT_DEG = 5.0
#: Offsets under this (metres) are not worth an IK.
_MIN_OFFSET_M = 1e-4


class FootLock:
    """Planted legs bent and swung so that their feet stay where they were planted (state: each foot's anchor and
    offset)."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self._points, self._flat = bearing_points(rig)  # the feet's ankle and ball, as root motion keeps them
        ok = bool(self._points) and all(rig.has(b) for leg in LEGS for b in leg)
        self._legs = [[rig.index(b) for b in leg] for leg in LEGS] if ok else []
        self._bones = np.array(self._legs, dtype=np.intp).reshape(-1, 3)  # (F, 3): upper leg, lower leg, foot
        self._hip_parents = np.asarray(rig.parents, dtype=np.intp)[self._bones[:, 0]]  # (F,)
        self.reset()

    def reset(self) -> None:
        """Forget every anchor: no foot locked."""
        self._offset = np.zeros((len(LEGS), 2))  # (F, 2) room X, Z: where the lock moves each foot from the leg's
        self._anchor = np.full((len(LEGS), 2), np.nan)  # (F, 2) the bearing point's place while planted
        self._support = np.full(len(LEGS), -1)
        self._last_points: FloatArray | None = None  # (F, 2, 2) last frame's bearing points as locked (X, Z)
        self._last_t: float | None = None

    def __call__(
        self,
        quats: FloatArray,
        joints_m: FloatArray,
        world_r: FloatArray,
        planted: BoolArray,
        t_s: FloatArray,
    ) -> FloatArray:
        """(T, B, 4) ``quats`` with planted legs locked (changed in place and returned).

        Args:
            joints_m: (T, B, 3) the posed rig's joints (the hips where root motion put them), rig frame, metres.
            world_r: (T, B, 3, 3) its bones' world rotations.
            planted: (T, 2) left, right foot planted.
            t_s: (T,) seconds.
        """
        if not self._legs:
            return quats
        offsets = self._offsets(joints_m, planted, t_s)  # (T, F, 2)
        frames, legs = np.nonzero(norm(offsets) > _MIN_OFFSET_M)  # every (frame, leg) to lock, in one batch
        if not frames.size:
            return quats
        bones = self._bones[legs]  # (N, 3): upper leg, lower leg, foot
        target = joints_m[frames, bones[:, 2]].copy()
        target[:, [0, 2]] += offsets[frames, legs]
        rows = frames[:, None]
        local = _leg_ik(
            joints_m[rows, bones], world_r[rows, bones], world_r[frames, self._hip_parents[legs]], target
        )
        quats[rows, bones] = (
            Rotation.from_matrix(local.reshape(-1, 3, 3), assume_valid=True).as_quat().reshape(-1, 3, 4)
        )
        return quats

    def _offsets(self, joints_m: FloatArray, planted: BoolArray, t_s: FloatArray) -> FloatArray:
        """(T, F, 2) room X, Z each foot is moved by, frame by frame (the anchors' state carried on)."""
        n_t = len(joints_m)
        out = np.zeros((n_t, len(self._legs), 2))
        points = joints_m[:, self._points]  # (T, F, 2 points, 3)
        support = bearing_support(points, self._flat)  # (T, F)
        for k in range(n_t):
            dt = 0.0 if self._last_t is None else max(float(t_s[k]) - self._last_t, 0.0)
            self._last_t = float(t_s[k])
            xz = points[k][:, :, ::2]  # (F, 2 points, 2)
            for f in range(len(self._legs)):
                bearing = xz[f, support[k, f]]
                if not planted[k, f]:
                    self._anchor[f] = np.nan
                    self._offset[f] *= math.exp(-dt / RELEASE_S)
                    continue
                if not np.isfinite(self._anchor[f]).all():
                    self._anchor[f] = bearing  # lands: where the leg puts it
                elif support[k, f] != self._support[f] and self._last_points is not None:
                    self._anchor[f] = self._last_points[f, support[k, f]]  # the other point takes the weight
                offset = self._anchor[f] - bearing
                reach = float(np.hypot(offset[0], offset[1]))
                if reach > MAX_REACH_M:  # dragged along
                    offset *= MAX_REACH_M / reach
                    self._anchor[f] = bearing + offset
                self._offset[f] = offset
            self._support = support[k].copy()
            self._last_points = xz + self._offset[:, None, :]
            out[k] = self._offset
        return out


def _leg_ik(joints_m: FloatArray, world_r: FloatArray, parent_r: FloatArray, target_m: FloatArray) -> FloatArray:
    """(N, 3, 3, 3) local rotations of (upper leg, lower leg, foot) that put the ankle on ``target_m`` (N, 3).

    ``joints_m`` (N, 3, 3): the hip, knee and ankle joints; ``world_r`` (N, 3, 3, 3) those bones' world rotations;
    ``parent_r`` (N, 3, 3) the upper leg's parent's (rig frame, metres).
    """
    hip, knee, ankle = joints_m[:, 0], joints_m[:, 1], joints_m[:, 2]
    thigh, shank = norm(knee - hip), norm(ankle - knee)
    reach = np.clip(norm(target_m - hip), np.abs(thigh - shank) + 1e-4, thigh + shank - 1e-4)
    normal = cross(hip - knee, ankle - knee)
    # The knee bends about its hinge plane's normal where the leg is bent (STRAIGHT_DEG or more) the way a knee
    # bends; else (nearly straight, or bent against the pelvis: the plane's normal is noise or points the wrong
    # way) about the pelvis' left-right axis square to the thigh (the thigh's own twist is a guess on a straight
    # leg). Turning the shank about the pelvis' +X moves the foot back, so a knee's plane normal
    # (hip − knee) × (ankle − knee) points along −X.
    rig_axis = -unit(perp(parent_r @ np.array([1.0, 0.0, 0.0]), unit(knee - hip)))
    forward = (norm(normal) > math.sin(math.radians(STRAIGHT_DEG)) * thigh * shank) & (dot(normal, rig_axis) > 0)
    axis = unit(np.where(forward[:, None], normal, rig_axis))
    # the shank's angle from the thigh about that axis (0..2π: past π, bent backwards), and the one wanted
    signed = np.arctan2(dot(axis, normal), dot(hip - knee, ankle - knee)) % (2 * np.pi)
    wanted = np.arccos(np.clip((thigh**2 + shank**2 - reach**2) / (2.0 * thigh * shank), -1.0, 1.0))
    bend = axis_angle_matrix(axis, wanted - signed)
    ankle_bent = knee + (bend @ (ankle - knee)[..., None])[..., 0]
    swing = min_rotation(ankle_bent - hip, target_m - hip)
    upper = swing @ world_r[:, 0]
    lower = swing @ bend @ world_r[:, 1]
    return np.stack(
        [transpose(parent_r) @ upper, transpose(upper) @ lower, transpose(lower) @ world_r[:, 2]], axis=1
    )
