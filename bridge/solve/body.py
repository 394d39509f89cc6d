"""Solver: filtered world landmarks → local bone rotations of a humanoid rig (plus the hips position).

Pure: numpy, scipy and numba only, no mediapipe, no sockets, no rendering.

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
eases to its idle rotation over ``ease_s`` (state REST): the rest pose, but the upper arms hang
``idle_arms_down_deg`` below the T (:func:`idle_rotations`). A frame without a person does the same for every bone
and marks the pose ``tracking=False``.

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
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.core.frames import mediapipe_to_rig
from bridge.core.landmarks import LandmarkFrame
from bridge.core.pose import BonePose, BoneState
from bridge.core.rig import Rig, depth_levels
from bridge.core.rotations import any_true, clip, dot
from bridge.solve.body_arrays import SolvedArrays, solve_arrays
from bridge.solve.body_config import SolverConfig
from bridge.solve.body_geometry import _RigGeometry
from bridge.solve.body_kernel import kernel_geometry, solve_compiled
from bridge.solve.foot_lock import FootLock
from bridge.solve.root_motion import RootMotion

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _frames_to_arrays(
    frames: Sequence[LandmarkFrame], config: SolverConfig
) -> tuple[FloatArray, BoolArray, FloatArray, BoolArray]:
    """Stack frames: xyz (T,33,3) rig frame, visible (T,33), t_s (T,), person (T,)."""
    if len(frames) == 1:  # the live path: no list comprehensions, no stacking
        f = frames[0]
        world = np.asarray(f.world_xyz_m, dtype=np.float64)[None]
        vis = np.asarray(f.visibility, dtype=np.float64)[None]
        person = np.array([f.person], dtype=bool)
        t_s = np.array([f.t_s], dtype=np.float64)
    else:
        world = np.stack([f.world_xyz_m for f in frames])
        vis = np.stack([f.visibility for f in frames])
        person = np.array([f.person for f in frames], dtype=bool)
        t_s = np.array([f.t_s for f in frames], dtype=np.float64)
    xyz = mediapipe_to_rig(world)
    visible = (vis >= config.min_visibility) & person[:, None]
    return xyz, visible, t_s, person


_IDENTITY_Q = np.array([0.0, 0.0, 0.0, 1.0])
#: Batches up to this many frames (the live path's one) are solved by the compiled kernel
#: (:mod:`bridge.solve.body_kernel`: about 20 µs a frame, where the numpy solve costs 330 µs for one frame), longer
#: ones by the vectorised numpy solve (12 µs a frame over thousands). Measured by bench/bench_speed.py.
COMPILED_MAX_FRAMES = 16
#: The upper arms and the sign of the turn about the rig's forward axis (+Z) that lowers each from the T-pose
#: (the left arm points to +X: a negative turn; the right to -X: a positive one).
_IDLE_ARMS = (("LeftUpperArm", -1.0), ("RightUpperArm", 1.0))


def idle_rotations(rig: Rig, config: SolverConfig) -> FloatArray:
    """(B, 4) quaternions (scalar last), each bone's local rotation where nothing drives it: identity (the rest
    pose) but for the upper arms, lowered ``config.idle_arms_down_deg`` about the rig's forward axis."""
    out = np.tile(_IDENTITY_Q, (len(rig.bones), 1))
    for bone, sign in _IDLE_ARMS:
        if rig.has(bone) and config.idle_arms_down_deg:
            angle = sign * np.radians(config.idle_arms_down_deg)
            out[rig.index(bone)] = Rotation.from_rotvec([0.0, 0.0, angle]).as_quat()
    return out


@dataclass(frozen=True, eq=False)
class PoseArrays:
    """T solved frames as arrays (:meth:`Solver.solve_to_arrays`); frame k is the ``BonePose`` that
    :meth:`Solver.solve_frames` returns for it.

    Attributes:
        t_s: (T,) timestamps, seconds.
        quats_xyzw: (T, B, 4) local rotations, rig frame, scalar last (scipy's order).
        hips_position_m: (T, 3) hips positions, rig frame, metres.
        bone_state: (T, B) int8 :class:`~bridge.core.pose.BoneState` values.
        tracking: (T,) bool.
    """

    t_s: FloatArray
    quats_xyzw: FloatArray
    hips_position_m: FloatArray
    bone_state: npt.NDArray[np.int8]
    tracking: BoolArray


class Solver:
    """Landmark frames → :class:`BonePose`, one frame at a time (live) or many (:meth:`solve_frames`).

    Holds the state the pure solve lacks: each bone's last tracked rotation and when it was lost, so
    untracked bones hold, then ease to rest. Both paths give identical poses (to float rounding). A few frames
    (live: one) are solved by the compiled kernel, many by one vectorised numpy pass (``COMPILED_MAX_FRAMES``);
    the hold/ease is one vectorised pass over the frames given.
    """

    def __init__(self, rig: Rig, config: SolverConfig = SolverConfig()) -> None:
        self.rig = rig
        self.config = config
        self._geometry = _RigGeometry(rig, config)
        self._kernel_geometry = kernel_geometry(self._geometry, config)
        # Compile (or load the compiled code from numba's cache) now, not on the first live frame.
        solve_compiled(np.zeros((1, 33, 3)), np.zeros((1, 33), dtype=bool), self._kernel_geometry)
        n = len(rig.bones)
        self._idle_q = idle_rotations(rig, config)
        self._last_q = np.tile(_IDENTITY_Q, (n, 1))
        self._lost_since = np.full(n, -np.inf)  # -inf: never tracked (at rest); inf: tracked now
        self._ground = _GroundChain(rig, self._geometry)
        self._rest_lowest = float(self._ground.lowest(self._ground.world(self._ground.rest_matrices(rig)))[0])
        self.root_motion = RootMotion(rig, config.root_motion)
        self.foot_lock = FootLock(rig)

    def reset(self) -> None:
        """Forget all history: every bone back at rest."""
        self._last_q[:] = _IDENTITY_Q
        self._lost_since[:] = -np.inf
        self.root_motion.reset()
        self.foot_lock.reset()

    def __call__(self, frame: LandmarkFrame) -> BonePose:
        """Solve one frame (the live path)."""
        return self.solve_frames([frame])[0]

    def solve_frames(self, frames: Sequence[LandmarkFrame] | Iterable[LandmarkFrame]) -> list[BonePose]:
        """Solve T frames in one vectorised pass, then apply hold/ease in order (the batch path)."""
        frames = frames if isinstance(frames, list) else list(frames)
        if not frames:
            return []
        poses = self.solve_to_arrays(frames)
        return [
            BonePose(
                t_s=float(poses.t_s[k]),
                rig=self.rig,
                hips_position_m=poses.hips_position_m[k],
                local_rotations=Rotation.from_quat(poses.quats_xyzw[k]),
                bone_state=poses.bone_state[k],
                tracking=bool(poses.tracking[k]),
                flags=dict(f.flags),
            )
            for k, f in enumerate(frames)
        ]

    def solve_to_arrays(self, frames: Sequence[LandmarkFrame]) -> PoseArrays:
        """Solve T (≥ 1) frames like :meth:`solve_frames` (same state, same numbers) into arrays instead of T
        :class:`BonePose` objects: what a long recording needs without paying for a scipy ``Rotation`` a frame."""
        n_t = len(frames)
        xyz, visible, t_s, person = _frames_to_arrays(frames, self.config)
        if n_t <= COMPILED_MAX_FRAMES:
            solved = solve_compiled(xyz, visible, self._kernel_geometry)
        else:
            solved = solve_arrays(self.rig, xyz, visible, self.config, self._geometry)
        local_m = solved.local_m.reshape(-1, 3, 3)
        quats = Rotation.from_matrix(local_m, assume_valid=True).as_quat().reshape(n_t, -1, 4)
        quats, states = self._hold_or_ease(t_s, quats, solved.tracked)
        hips = self._hips_positions(quats, solved)
        placements = [f.placement for f in frames]
        hips = self.root_motion(hips, placements, quats, t_s)
        if self.root_motion.posed is not None and self.config.foot_lock:
            planted = np.array([p.planted if p is not None else (False, False) for p in placements], dtype=bool)
            quats = self.foot_lock(quats, *self.root_motion.posed, planted, t_s)
        return PoseArrays(t_s, quats, hips, states, person & solved.tracked.any(axis=1))

    def _hold_or_ease(
        self, t_s: FloatArray, quat: FloatArray, tracked: BoolArray
    ) -> tuple[FloatArray, npt.NDArray[np.int8]]:
        """(T, B, 4) quaternions and (T, B) states: tracked bones kept, the others held, then slerped to identity.

        ``quat`` is changed in place (and returned). Bones tracked in every frame are kept as they are; bones never
        tracked, before or in this batch (fingers, toes, hidden legs), stay exactly at rest; only the others (on
        long recordings and live, a few) go through :func:`_hold_or_ease_columns`.
        """
        n_t, n_b = tracked.shape
        state = np.zeros((n_t, n_b), dtype=np.int8)  # BoneState.TRACKED
        always = tracked.all(axis=0)
        if always.all():
            self._last_q[:] = quat[-1]
            self._lost_since[:] = np.inf
            return quat, state
        active = always | tracked.any(axis=0) | (self._lost_since != -np.inf)
        never = ~active
        quat[:, never] = self._idle_q[never]
        state[:, never] = BoneState.REST
        self._last_q[always] = quat[-1, always]
        self._lost_since[always] = np.inf
        cols = np.flatnonzero(active & ~always)
        if cols.size:
            q, st, self._last_q[cols], self._lost_since[cols] = _hold_or_ease_columns(
                t_s,
                quat[:, cols],
                tracked[:, cols],
                self._last_q[cols],
                self._lost_since[cols],
                self.config,
                self._idle_q[cols],
            )
            quat[:, cols], state[:, cols] = q, st
        return quat, state

    def _hips_positions(self, quats: FloatArray, solved: SolvedArrays) -> FloatArray:
        """(T, 3) hips positions, rig frame, metres: above the origin, grounded if configured.

        ``quats`` (T, B, 4): the poses sent; ``solved``: the solve they came from (a tracked bone's matrix is its
        quaternion's; only held or easing bones are converted back).
        """
        n_t = len(quats)
        base = np.tile(self.rig.offsets_m[0], (n_t, 1))
        if not self.config.ground:
            return base
        # Forward kinematics of the legs only (Hips down to the toes), not of every bone of the rig.
        ground = self._ground
        chain = ground.chain
        if solved.tracked[:, ground.solved_chain].all() and (quats[:, ground.rest_chain] == _IDENTITY_Q).all():
            # Every leg bone as solved (the toes at rest): the solve's own world rotations are the pose's.
            world = solved.world_m[:, chain]
        else:
            mats = solved.local_m[:, chain]
            q = quats[:, chain]
            untracked = ~solved.tracked[:, chain]
            at_rest = untracked & (q == _IDENTITY_Q).all(axis=-1)  # e.g. the toes, never tracked
            mats[at_rest] = np.eye(3)
            moving = untracked & ~at_rest  # held or easing: not the solved matrix
            if moving.any():
                mats[moving] = Rotation.from_quat(q[moving]).as_matrix()
            world = ground.world(mats)
        base[:, 1] += self._rest_lowest - ground.lowest(world)
        return base


def _hold_or_ease_columns(
    t_s: FloatArray,
    quat: FloatArray,
    tracked: BoolArray,
    last_q: FloatArray,
    lost_since: FloatArray,
    cfg: SolverConfig,
    idle_q: FloatArray,
) -> tuple[FloatArray, npt.NDArray[np.int8], FloatArray, FloatArray]:
    """Hold, then ease to the idle rotations ``idle_q`` (C, 4), C bones over T frames: ``quat`` (T, C, 4) solved,
    ``tracked`` (T, C); the state carried in from the previous call, ``last_q`` (C, 4) (each bone's last tracked
    rotation) and ``lost_since`` (C,) (when it was lost, s; inf: tracked; -inf: never). Returns the (T, C, 4)
    quaternions, the (T, C) states and the state to carry on (``last_q``, ``lost_since``).

    Vectorised over frames: each untracked bone's last tracked frame (or the state carried in) and the time it was
    lost, found with a running maximum over frame indices.
    """
    n_t, n_b = tracked.shape
    if n_t == 1 and not any_true(tracked):  # live: each bone given here is lost in this frame
        lost_at = np.where(lost_since == np.inf, t_s[0], lost_since)  # inf: lost at this frame
        since = t_s[0] - lost_at
        w = clip((since - cfg.hold_s) / max(cfg.ease_s, 1e-6), 0.0, 1.0)
        eased, eased_state = _toward_rest(last_q, np.where(np.isfinite(since), w, 1.0), idle_q)
        return eased[None], eased_state[None].astype(np.int8), last_q, lost_at
    state = np.zeros((n_t, n_b), dtype=np.int8)  # BoneState.TRACKED
    frame_no = np.arange(n_t)[:, None]
    last_k = np.maximum.accumulate(np.where(tracked, frame_no, -1), axis=0)  # (T, C): -1 = before this call
    seen = last_k >= 0
    # When each bone was lost: the frame after its last tracked one, or as carried in (inf: lost at frame 0).
    carried = np.where(lost_since == np.inf, t_s[0], lost_since)
    lost_at = np.where(seen, t_s[np.minimum(last_k + 1, n_t - 1)], carried[None, :])
    held_q = np.where(seen[:, :, None], quat[np.maximum(last_k, 0), np.arange(n_b)], last_q[None])
    lost = ~tracked
    out = quat.copy()
    since = t_s[:, None] - lost_at
    w = clip((since - cfg.hold_s) / max(cfg.ease_s, 1e-6), 0.0, 1.0)[lost]
    idle = np.broadcast_to(idle_q[None], held_q.shape)[lost]
    out[lost], state[lost] = _toward_rest(held_q[lost], np.where(np.isfinite(since[lost]), w, 1.0), idle)
    return out, state, held_q[-1], np.where(tracked[-1], np.inf, lost_at[-1])


def _toward_rest(last: FloatArray, w: FloatArray, idle: FloatArray) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """(N, 4) quaternions ``last`` slerped toward the idle rotations ``idle`` (N, 4) by ``w`` (N,) in [0, 1], and
    their (N,) states (HELD at w = 0, else REST)."""
    cos = np.sum(last * idle, axis=1)  # with an identity idle rotation: exactly last's w-component
    sign = np.where(cos < 0, -1.0, 1.0)
    last = last * sign[:, None]
    theta = np.arccos(clip(cos * sign, -1.0, 1.0))
    sin_t = np.sin(theta)
    small = sin_t < 1e-6
    a = np.where(small, 1.0 - w, np.sin((1.0 - w) * theta) / np.where(small, 1.0, sin_t))
    b = np.where(small, w, np.sin(w * theta) / np.where(small, 1.0, sin_t))
    eased = a[:, None] * last + b[:, None] * idle
    return eased / np.sqrt((eased * eased).sum(axis=1, keepdims=True)), np.where(
        w > 0.0, BoneState.REST, BoneState.HELD
    )


class _GroundChain:
    """Forward kinematics of the bones grounding needs (the legs), both legs at once.

    Positions are relative to the hips joint, rig frame, metres.
    """

    def __init__(self, rig: Rig, geometry: _RigGeometry) -> None:
        chain, ground_points = geometry.ground_chain, geometry.ground_points
        self.chain = np.array(chain, dtype=np.intp)
        #: the chain's bones the body solve sets (tracked when seen), and those it leaves at rest (the toes).
        self.solved_chain = np.array([b for b in chain if b not in geometry.toes], dtype=np.intp)
        self.rest_chain = np.array([b for b in chain if b in geometry.toes], dtype=np.intp)
        pos_of = {b: k for k, b in enumerate(chain)}
        parent_pos = [pos_of.get(int(rig.parents[b]), -1) for b in chain]  # -1: the root (sorted: parents first)
        # Per depth level after the root: positions in the chain and their parents' positions.
        self.levels = depth_levels(parent_pos)
        # A joint below the root sits at its parent's position plus the parent's world rotation times its rest
        # offset (a "step"); a ground point's height sums the steps on its path from the hips.
        steps = [k for k in range(len(chain)) if parent_pos[k] >= 0]
        self.step_parents = np.array([parent_pos[k] for k in steps], dtype=np.intp)
        self.step_offsets = rig.offsets_m[self.chain[steps]]
        self.point_pos = np.array([pos_of[b] for b, _ in ground_points], dtype=np.intp)
        self.point_offsets = np.array([off for _, off in ground_points], dtype=np.float64).reshape(-1, 3)
        self.point_paths = np.zeros((len(steps), len(self.point_pos)))  # (steps, points): 1 on the point's path
        for j, k in enumerate(self.point_pos):
            k = int(k)
            while parent_pos[k] >= 0:
                self.point_paths[steps.index(k), j] = 1.0
                k = parent_pos[k]

    def rest_matrices(self, rig: Rig) -> FloatArray:
        """(1, K, 3, 3) identity local rotations (the rest pose)."""
        return np.broadcast_to(np.eye(3), (1, len(self.chain), 3, 3)).copy()

    def world(self, mats: FloatArray) -> FloatArray:
        """(T, K, 3, 3) world rotations of the chain from its local rotations ``mats`` (T, K, 3, 3)."""
        rot = np.empty_like(mats)
        rot[:, 0] = mats[:, 0]
        for ks, ps in self.levels:
            rot[:, ks] = rot[:, ps] @ mats[:, ks]
        return rot

    def lowest(self, world: FloatArray) -> FloatArray:
        """(T,) height of the lowest ground point above the hips joint, world rotations ``world`` (T, K, 3, 3)."""
        up = world[:, :, 1]  # (T, K, 3): the y row of each bone's world rotation
        step_y = dot(up.take(self.step_parents, axis=1), self.step_offsets)  # (T, steps)
        heights = step_y @ self.point_paths + dot(up.take(self.point_pos, axis=1), self.point_offsets)
        return np.asarray(heights.min(axis=1), dtype=np.float64)


def solve_frames(
    rig: Rig, frames: Iterable[LandmarkFrame], config: SolverConfig = SolverConfig()
) -> list[BonePose]:
    """Batch path: solve a whole sequence with a fresh :class:`Solver`."""
    return Solver(rig, config).solve_frames(list(frames))
