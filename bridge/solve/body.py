"""Solver: filtered world landmarks → local bone rotations of a humanoid rig (plus the hips position).

Pure: numpy and scipy only, no mediapipe, no sockets, no rendering.

Method. Every bone gets a *world* rotation that carries its rest direction onto the direction the landmarks
show (the **primary** vector, matched exactly) and a rest **secondary** vector as close as possible onto an
observed one that fixes the twist about the bone. This is ``Rotation.align_vectors([p, s], [p0, s0],
weights=[inf, 1])``; :func:`~bridge.core.rotations.align_two` (here via its basis,
:func:`~bridge.core.rotations.basis`) computes the same thing vectorised over frames (a test checks it against
scipy). Local rotations are then ``parent_world⁻¹ · world``. The primary and secondary of each bone:

=============  =======================================  =====================================================
bone           primary (observed ← rest)                secondary (fixes the twist)
=============  =======================================  =====================================================
Hips           right hip → left hip  ←  +X              trunk up blended with world up (pelvis tilt = half
                                                        the trunk's; the spine carries the rest)
spine chain    hips mid → shoulders mid ← rest chain    right shoulder → left shoulder; the rotation from
               (Spine, Chest, UpperChest)               Hips to the top is split evenly over the chain
Neck, Head     right ear → left ear  ←  +X              ears mid → nose ← forward, pitched down by
                                                        ``head_pitch_offset_deg``; split evenly Neck/Head
Shoulder       shoulders mid → shoulder  ← rest         chest forward; angle clamped (clavicle range)
UpperArm       shoulder → elbow  ←  rest                the elbow's bend direction (wrist side); while the
                                                        arm is nearly straight, blended with the rest pole
                                                        carried by the arm's swing
LowerArm       hinge about the elbow axis, flexion clamped to ``elbow_range_deg``; plus the forearm twist
               (pronation) taken from the hand's orientation
Hand           wrist → index/pinky mid  ←  rest         pinky → index (+ thumb)  ←  +Z (palm down T-pose)
UpperLeg       hip → knee  ←  rest                      the knee's bend direction (ankle side), blended with
                                                        the backward foot direction when nearly straight
LowerLeg       hinge about the knee axis, flexion clamped to ``knee_range_deg``
Foot           ankle → foot index  ←  rest ankle→toe    the shank's hinge axis (no inversion/eversion)
Toes           no landmark: rest
=============  =======================================  =====================================================

Visibility. A bone is *tracked* when every landmark it needs has visibility ≥ ``min_visibility`` and its
parent is tracked. An untracked bone holds its last tracked local rotation for ``hold_s`` (state HELD), then
eases to rest over ``ease_s`` (state REST). A frame without a person does the same for every bone and marks
the pose ``tracking=False``.

Hips position. MediaPipe's world landmarks are hip-centred, so the hips stay above the rig's origin and are
*grounded*: their height keeps the lowest foot point at its rest height (crouching lowers the hips). Where the
frames carry a :class:`~bridge.core.landmarks.Placement` (the body-state stage) and ``root_motion`` asks for it,
the hips also travel and rise (:mod:`bridge.solve.root_motion`).

Frames: input landmarks are converted from MediaPipe's world frame to the rig frame by
:func:`bridge.core.frames.mediapipe_to_rig` (the mirror, where asked for, was applied before:
:mod:`bridge.stages.mirror`); every array in this module is in the rig frame (right-handed, Y up, +Z the avatar's
front, +X its left), metres.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.core.frames import mediapipe_to_rig
from bridge.core.landmarks import LandmarkFrame
from bridge.core.pose import BonePose, BoneState
from bridge.core.rig import Rig
from bridge.solve.body_arrays import solve_arrays
from bridge.solve.body_config import SolverConfig
from bridge.solve.body_geometry import _RigGeometry
from bridge.solve.root_motion import RootMotion

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _frames_to_arrays(
    frames: Sequence[LandmarkFrame], config: SolverConfig
) -> tuple[FloatArray, BoolArray, FloatArray, BoolArray]:
    """Stack frames: xyz (T,33,3) rig frame, visible (T,33), t_s (T,), person (T,)."""
    world = np.stack([f.world_xyz_m for f in frames])
    vis = np.stack([f.visibility for f in frames])
    person = np.array([f.person for f in frames], dtype=bool)
    xyz = mediapipe_to_rig(world)
    visible = (vis >= config.min_visibility) & person[:, None]
    return xyz, visible, np.array([f.t_s for f in frames], dtype=np.float64), person


class Solver:
    """Landmark frames → :class:`BonePose`, one frame at a time (live) or many (:meth:`solve_frames`).

    Holds the state the pure solve lacks: each bone's last tracked rotation and when it was lost, so
    untracked bones hold, then ease to rest. Both paths give identical poses.
    """

    def __init__(self, rig: Rig, config: SolverConfig = SolverConfig()) -> None:
        self.rig = rig
        self.config = config
        self._geometry = _RigGeometry(rig, config)
        n = len(rig.bones)
        self._last_q = np.tile([0.0, 0.0, 0.0, 1.0], (n, 1))
        self._lost_since = np.full(n, -np.inf)  # -inf: never tracked (at rest)
        rest = rig.rest_world_m
        self._rest_lowest = min(float((rest[b] + off)[1]) for b, off in self._geometry.ground_points)
        self.root_motion = RootMotion(rig, config.root_motion)

    def reset(self) -> None:
        """Forget all history: every bone back at rest."""
        self._last_q[:] = [0.0, 0.0, 0.0, 1.0]
        self._lost_since[:] = -np.inf
        self.root_motion.reset()

    def __call__(self, frame: LandmarkFrame) -> BonePose:
        """Solve one frame (the live path)."""
        return self.solve_frames([frame])[0]

    def solve_frames(self, frames: Sequence[LandmarkFrame] | Iterable[LandmarkFrame]) -> list[BonePose]:
        """Solve T frames in one vectorised pass, then apply hold/ease in order (the batch path)."""
        frames = list(frames)
        if not frames:
            return []
        xyz, visible, t_s, person = _frames_to_arrays(frames, self.config)
        solved = solve_arrays(self.rig, xyz, visible, self.config, self._geometry)
        quats = Rotation.from_matrix(solved.local_m.reshape(-1, 3, 3)).as_quat().reshape(len(frames), -1, 4)
        states = np.empty(solved.tracked.shape, dtype=np.int8)
        for k in range(len(frames)):
            quats[k], states[k] = self._hold_or_ease(t_s[k], quats[k], solved.tracked[k])
        hips = self.root_motion(self._hips_positions(quats), [f.placement for f in frames], quats)
        poses = []
        for k, f in enumerate(frames):
            flags = dict(f.flags)
            poses.append(
                BonePose(
                    t_s=float(t_s[k]),
                    rig=self.rig,
                    hips_position_m=hips[k],
                    local_rotations=Rotation.from_quat(quats[k]),
                    bone_state=states[k],
                    tracking=bool(person[k] and solved.tracked[k].any()),
                    flags=flags,
                )
            )
        return poses

    def _hold_or_ease(
        self, t_s: float, quat: FloatArray, tracked: BoolArray
    ) -> tuple[FloatArray, npt.NDArray[np.int8]]:
        """Per frame: keep tracked bones, hold the others, then slerp them to identity."""
        cfg = self.config
        state = np.full(len(quat), BoneState.TRACKED, dtype=np.int8)
        # Keep quaternions in one hemisphere with the last value so slerp takes the short way.
        self._last_q[tracked] = quat[tracked]
        self._lost_since[tracked] = np.inf
        lost = ~tracked
        newly = lost & (self._lost_since == np.inf)
        self._lost_since[newly] = t_s
        if not lost.any():
            return quat, state
        out = quat.copy()
        since = t_s - self._lost_since[lost]
        w = np.clip((since - cfg.hold_s) / max(cfg.ease_s, 1e-6), 0.0, 1.0)
        w = np.where(np.isfinite(since), w, 1.0)
        last = self._last_q[lost]
        # slerp(last, identity, w): identity has w-component 1.
        sign = np.where(last[:, 3] < 0, -1.0, 1.0)
        last = last * sign[:, None]
        theta = np.arccos(np.clip(last[:, 3], -1.0, 1.0))
        sin_t = np.sin(theta)
        small = sin_t < 1e-6
        a = np.where(small, 1.0 - w, np.sin((1.0 - w) * theta) / np.where(small, 1.0, sin_t))
        b = np.where(small, w, np.sin(w * theta) / np.where(small, 1.0, sin_t))
        eased = a[:, None] * last + b[:, None] * np.array([0.0, 0.0, 0.0, 1.0])
        out[lost] = eased / np.linalg.norm(eased, axis=1, keepdims=True)
        state[lost] = np.where(w > 0.0, BoneState.REST, BoneState.HELD)
        return out, state

    def _hips_positions(self, quats: FloatArray) -> FloatArray:
        """(T, 3) hips positions, rig frame, metres: above the origin, grounded if configured."""
        n_t = len(quats)
        base = np.tile(self.rig.offsets_m[0], (n_t, 1))
        if not self.config.ground:
            return base
        # Forward kinematics of the legs only (Hips down to the toes), not of every bone of the rig.
        chain = self._geometry.ground_chain
        mats = Rotation.from_quat(quats[:, chain].reshape(-1, 4)).as_matrix().reshape(n_t, len(chain), 3, 3)
        pos: dict[int, FloatArray] = {}
        rot: dict[int, FloatArray] = {}
        for k, b in enumerate(chain):
            p = int(self.rig.parents[b])
            if p < 0:
                rot[b], pos[b] = mats[:, k], base
            else:
                rot[b] = rot[p] @ mats[:, k]
                pos[b] = pos[p] + rot[p] @ self.rig.offsets_m[b]
        lowest = np.min(
            np.stack([pos[b][:, 1] + (rot[b] @ off)[:, 1] for b, off in self._geometry.ground_points]), axis=0
        )
        base[:, 1] += self._rest_lowest - lowest
        return base


def solve_frames(
    rig: Rig, frames: Iterable[LandmarkFrame], config: SolverConfig = SolverConfig()
) -> list[BonePose]:
    """Batch path: solve a whole sequence with a fresh :class:`Solver`."""
    return Solver(rig, config).solve_frames(list(frames))
