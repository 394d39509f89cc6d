"""The body solve of :func:`bridge.solve.body_arrays.solve_arrays`, compiled: one frame at a time, in machine code.

The vectorised numpy solve costs about as many numpy calls for one frame as for thousands (about 350, some
330 µs on one frame); the live path solves one frame at a time, so it pays that every frame. This kernel runs
the same method, step for step, bone by bone, with numba (no Python or numpy call per step): a few µs a frame.
Its outputs equal the numpy solve's to float rounding (tested on real MediaPipe frames and on every edge case
the numpy solve handles: hidden hips, a lost person, straight limbs, half turns).

Arrays are as in :class:`bridge.solve.body_arrays.SolvedArrays`: rig frame, metres, matrices acting on column
vectors.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from bridge.core.landmarks import PoseLandmark as L
from bridge.solve.body_arrays import _FOOT_POINTS, _HAND_POINTS, _LIMB_POINTS, SolvedArrays
from bridge.solve.body_config import SolverConfig
from bridge.solve.body_geometry import _RigGeometry
from bridge.solve.body_kernel_math import (
    jit,
    mat_axis_angle,
    mat_basis,
    mat_clamp_angle,
    mat_fraction,
    mat_min_rotation,
    mat_mul,
    mat_t_mul,
    mat_t_vec,
    mat_twist_angle,
    mat_vec,
    vec_dot,
    vec_norm,
    vec_perp,
    vec_unit,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

_NOSE, _EAR_L, _EAR_R = int(L.NOSE), int(L.LEFT_EAR), int(L.RIGHT_EAR)
_SH_L, _SH_R, _HIP_L, _HIP_R = int(L.LEFT_SHOULDER), int(L.RIGHT_SHOULDER), int(L.LEFT_HIP), int(L.RIGHT_HIP)
_LIMB_PTS = _LIMB_POINTS.astype(np.int64)  # (4, 3): root, mid, end of left arm, right arm, left leg, right leg
_HAND_PTS = _HAND_POINTS.astype(np.int64)  # (2, 4): wrist, index, pinky, thumb
_FOOT_PTS = _FOOT_POINTS.astype(np.int64)  # (2, 3): ankle, heel, toe tip
_Y = np.array([0.0, 1.0, 0.0])


class KernelGeometry(NamedTuple):
    """A :class:`~bridge.solve.body_geometry._RigGeometry` and the solver's settings as plain arrays (what a
    compiled function can take). Bone indices are int64; -1 is "none"; S (0–2) clavicles, C spine bones."""

    parents: IntArray  # (B,)
    bones: IntArray  # (4,): hips, torso top, neck (-1: none), head
    chain: IntArray  # (C,) the spine chain from the hips up
    chain_offsets_m: FloatArray  # (C, 3)
    chord_ends_m: FloatArray  # (2, 3): torso top → shoulder joints' mid-point; hips → hip joints' mid-point
    rest_bases_t: FloatArray  # (6, 3, 3): hips, hips-from-shoulders, torso top, head, left hand, right hand
    shoulders: IntArray  # (2, S): clavicles, their parents
    shoulder_bases_t: FloatArray  # (S, 3, 3)
    limb_bones: IntArray  # (4, 4): upper, lower, end, parent of the upper; of the four limbs
    limb_bases_t: FloatArray  # (4, 3, 3)
    leg_end_bases_t: FloatArray  # (2, 3, 3)
    limb_dirs: FloatArray  # (5, 4, 3): upper_dir, lower_dir, pole, lower_pole, hinge of the four limbs
    limb_limits: FloatArray  # (3, 4): flex_min, flex_max, end_max (radians)
    toes: IntArray  # (2, K): toe bones, their parents
    angles: FloatArray  # (5,): twist min, twist max, sin(straight limb), shoulder max, head max (radians)


def kernel_geometry(g: _RigGeometry, config: SolverConfig) -> KernelGeometry:
    """The kernel's form of a rig's solve geometry and the solver's settings."""
    lb = g.limbs
    neck = -1 if g.neck is None else g.neck
    # No clavicle bases exactly where the rig has no clavicles (g.shoulders empty).
    sh_bases = g.shoulder_bases_t if g.shoulder_bases_t is not None else np.zeros((0, 3, 3))
    return KernelGeometry(
        parents=np.asarray(g.rig.parents, dtype=np.int64),
        bones=np.array([g.hips, g.top, neck, g.head], dtype=np.int64),
        chain=np.array(g.chain, dtype=np.int64),
        chain_offsets_m=np.array(g.chain_offsets, dtype=np.float64).reshape(-1, 3),
        chord_ends_m=np.stack([g.top_to_shoulders_mid, g.hips_to_legs_mid]).astype(np.float64),
        rest_bases_t=np.ascontiguousarray(g.rest_bases_t, dtype=np.float64),
        shoulders=np.stack([g.shoulder_bones, g.shoulder_parents]).astype(np.int64).reshape(2, -1),
        shoulder_bases_t=np.ascontiguousarray(sh_bases, dtype=np.float64),
        limb_bones=np.stack([g.limb_upper, g.limb_lower, g.limb_end, g.limb_parents], axis=1).astype(np.int64),
        limb_bases_t=np.ascontiguousarray(g.limb_bases_t, dtype=np.float64),
        leg_end_bases_t=np.ascontiguousarray(g.leg_end_bases_t, dtype=np.float64),
        limb_dirs=np.stack([lb.upper_dir, lb.lower_dir, lb.pole, lb.lower_pole, lb.hinge]).astype(np.float64),
        limb_limits=np.stack([lb.flex_min, lb.flex_max, lb.end_max]).astype(np.float64),
        toes=np.stack([g.toe_bones, g.toe_parents]).astype(np.int64).reshape(2, -1),
        angles=np.array(
            [
                lb.twist_min,
                lb.twist_max,
                math.sin(math.radians(config.straight_limb_deg)),
                math.radians(config.shoulder_max_deg),
                math.radians(100.0),
            ]
        ),
    )


def solve_compiled(xyz_m: FloatArray, visible: BoolArray, geo: KernelGeometry) -> SolvedArrays:
    """Solve T frames like :func:`~bridge.solve.body_arrays.solve_arrays`, compiled.

    Args:
        xyz_m: (T, 33, 3) float, rig frame, metres.
        visible: (T, 33) bool: which landmarks may drive bones.
        geo: :func:`kernel_geometry` of the rig and settings.
    """
    xyz = np.ascontiguousarray(xyz_m, dtype=np.float64)
    n_t, n_b = xyz.shape[0], len(geo.parents)
    local = np.empty((n_t, n_b, 3, 3))
    world = np.empty((n_t, n_b, 3, 3))
    tracked = np.zeros((n_t, n_b), dtype=np.bool_)
    _solve_frames(xyz, np.ascontiguousarray(visible, dtype=np.bool_), geo, local, world, tracked)
    return SolvedArrays(local_m=local, world_m=world, tracked=tracked)


@jit
def _solve_frames(
    xyz: FloatArray,
    vis: BoolArray,
    geo: KernelGeometry,
    local: FloatArray,
    world: FloatArray,
    tracked: BoolArray,
) -> None:
    """Fill ``local``, ``world`` (T, B, 3, 3) and ``tracked`` (T, B) frame by frame."""
    eye = np.eye(3)
    for t in range(xyz.shape[0]):
        for b in range(local.shape[1]):
            local[t, b] = eye
            world[t, b] = eye
        _solve_frame(xyz[t], vis[t], geo, local[t], world[t], tracked[t])


@jit
def _set_bone(
    i: int, m: FloatArray, ok: bool, geo: KernelGeometry, local: FloatArray, world: FloatArray, tracked: BoolArray
) -> None:
    """Bone ``i`` turns by ``m`` (3, 3) under its parent; tracked where ``ok`` and its parent is."""
    p = geo.parents[i]
    local[i] = m
    if p < 0:
        world[i] = m
        tracked[i] = ok
    else:
        world[i] = mat_mul(world[p], m)
        tracked[i] = ok and tracked[p]


@jit
def _solve_frame(
    xyz: FloatArray, vis: BoolArray, geo: KernelGeometry, local: FloatArray, world: FloatArray, tracked: BoolArray
) -> None:
    """One frame: ``xyz`` (33, 3), ``vis`` (33,) in; ``local``, ``world`` (B, 3, 3), ``tracked`` (B,) out."""
    hips_ok = vis[_HIP_L] and vis[_HIP_R]
    sh_ok = vis[_SH_L] and vis[_SH_R]
    targets, trunk_up = _aligned_targets(xyz, hips_ok, sh_ok, geo)
    hips, top = geo.bones[0], geo.bones[1]
    _set_bone(hips, targets[0], hips_ok or sh_ok, geo, local, world, tracked)
    w_top = targets[2]
    n_c = len(geo.chain)
    if n_c:
        step = mat_fraction(mat_t_mul(targets[0], w_top), 1.0 / n_c)
        chord = _chain_chord(targets[0], step, geo)
        w_top = mat_mul(mat_min_rotation(chord, trunk_up), w_top)
        step = mat_fraction(mat_t_mul(targets[0], w_top), 1.0 / n_c)
        for i in geo.chain:
            _set_bone(i, step, sh_ok, geo, local, world, tracked)
        w_top = world[top].copy()
    head_ok = vis[_EAR_L] and vis[_EAR_R] and vis[_NOSE]
    rel = mat_clamp_angle(mat_t_mul(w_top, targets[3]), geo.angles[4])
    if geo.bones[2] >= 0:
        half = mat_fraction(rel, 0.5)
        _set_bone(geo.bones[2], half, head_ok, geo, local, world, tracked)
        _set_bone(geo.bones[3], half, head_ok, geo, local, world, tracked)
    else:
        _set_bone(geo.bones[3], rel, head_ok, geo, local, world, tracked)
    _solve_shoulders(xyz, sh_ok, w_top, geo, local, world, tracked)
    _solve_limbs(xyz, vis, hips_ok, targets[4:6], geo, local, world, tracked)
    for k in range(geo.toes.shape[1]):
        world[geo.toes[0, k]] = world[geo.toes[1, k]]


@jit
def _aligned_targets(
    xyz: FloatArray, hips_ok: bool, sh_ok: bool, geo: KernelGeometry
) -> tuple[FloatArray, FloatArray]:
    """(6, 3, 3) world targets (hips — from the shoulders where the hips are out of view —, hips again, torso
    top, head, left hand, right hand) and the (3,) trunk's up (hips mid → shoulders mid, or world up)."""
    sh_mid = (xyz[_SH_L] + xyz[_SH_R]) / 2
    use_sh = (not hips_ok) and sh_ok
    trunk_up = _Y.copy() if use_sh else sh_mid - (xyz[_HIP_L] + xyz[_HIP_R]) / 2
    sh_line = xyz[_SH_L] - xyz[_SH_R]
    ear_mid = (xyz[_EAR_L] + xyz[_EAR_R]) / 2
    prim = np.empty((6, 3))
    sec = np.empty((6, 3))
    prim[0], sec[0] = xyz[_HIP_L] - xyz[_HIP_R], vec_unit(trunk_up) + _Y
    prim[1], sec[1] = vec_perp(sh_line, _Y), _Y
    prim[2], sec[2] = trunk_up, sh_line
    prim[3], sec[3] = xyz[_EAR_L] - xyz[_EAR_R], xyz[_NOSE] - ear_mid
    for k in range(2):
        wrist, index, pinky, thumb = (
            xyz[_HAND_PTS[k, 0]],
            xyz[_HAND_PTS[k, 1]],
            xyz[_HAND_PTS[k, 2]],
            xyz[_HAND_PTS[k, 3]],
        )
        prim[4 + k] = (index + pinky) / 2 - wrist
        sec[4 + k] = vec_unit(index - pinky) + 0.5 * vec_unit(thumb - wrist)
    out = np.empty((6, 3, 3))
    for j in range(6):
        out[j] = mat_mul(mat_basis(prim[j], sec[j]), geo.rest_bases_t[j])
    if use_sh:
        out[0] = out[1]
    return out, trunk_up


@jit
def _chain_chord(w_hips: FloatArray, step: FloatArray, geo: KernelGeometry) -> FloatArray:
    """(3,) world vector hip joints' mid-point → shoulder joints' mid-point with every spine bone turned by
    ``step`` under hips turned by ``w_hips`` (see :func:`bridge.solve.body_geometry._chain_chord`)."""
    r = w_hips
    p = np.zeros(3)
    for k in range(geo.chain_offsets_m.shape[0]):
        p = p + mat_vec(r, geo.chain_offsets_m[k])
        r = mat_mul(r, step)
    return p + mat_vec(r, geo.chord_ends_m[0]) - mat_vec(w_hips, geo.chord_ends_m[1])


@jit
def _solve_shoulders(
    xyz: FloatArray,
    sh_ok: bool,
    w_top: FloatArray,
    geo: KernelGeometry,
    local: FloatArray,
    world: FloatArray,
    tracked: BoolArray,
) -> None:
    """The clavicles: shoulders mid → shoulder, twist from the chest's forward, clamped."""
    n_s = geo.shoulders.shape[1]
    sh_mid = (xyz[_SH_L] + xyz[_SH_R]) / 2
    forward = w_top[:, 2].copy()
    rel = np.empty((n_s, 3, 3))
    for k in range(n_s):  # every parent read before any clavicle is set (as the group solve does)
        w_sh = mat_mul(mat_basis(xyz[_SH_L if k == 0 else _SH_R] - sh_mid, forward), geo.shoulder_bases_t[k])
        rel[k] = mat_clamp_angle(mat_t_mul(world[geo.shoulders[1, k]], w_sh), geo.angles[3])
    for k in range(n_s):
        _set_bone(geo.shoulders[0, k], rel[k], sh_ok, geo, local, world, tracked)


@jit
def _solve_limbs(
    xyz: FloatArray,
    vis: BoolArray,
    hips_ok: bool,
    hands: FloatArray,
    geo: KernelGeometry,
    local: FloatArray,
    world: FloatArray,
    tracked: BoolArray,
) -> None:
    """Arms (shoulder, elbow, wrist + hand) and legs (hip, knee, ankle + foot), as
    :func:`bridge.solve.body_arrays._solve_limbs` solves them."""
    parent_w = np.empty((4, 3, 3))
    for k in range(4):
        parent_w[k] = world[geo.limb_bones[k, 3]]
    for k in range(4):
        root, mid, end = xyz[_LIMB_PTS[k, 0]], xyz[_LIMB_PTS[k, 1]], xyz[_LIMB_PTS[k, 2]]
        upper, lower = mid - root, end - mid
        u = vec_unit(upper)
        bend = vec_perp(vec_unit(lower), u)
        prior_w = min(max(1.0 - vec_norm(bend) / geo.angles[2], 0.0), 1.0) ** 2
        swing = mat_min_rotation(geo.limb_dirs[0, k], mat_t_vec(parent_w[k], upper))
        carried_pole = mat_vec(mat_mul(parent_w[k], swing), geo.limb_dirs[2, k])
        prior = 0.3 * vec_unit(vec_perp(carried_pole, u))
        if k >= 2:
            foot = k - 2
            if _all_visible(vis, _FOOT_PTS[foot]):
                heel_minus_toe = xyz[_FOOT_PTS[foot, 1]] - xyz[_FOOT_PTS[foot, 2]]
            else:
                heel_minus_toe = np.zeros(3)
            prior = prior + vec_unit(vec_perp(heel_minus_toe, u))
        w_upper = mat_mul(mat_basis(upper, bend + prior_w * prior), geo.limb_bases_t[k])
        upper_ok = vis[_LIMB_PTS[k, 0]] and vis[_LIMB_PTS[k, 1]] and (k < 2 or hips_ok)
        _set_bone(geo.limb_bones[k, 0], mat_t_mul(parent_w[k], w_upper), upper_ok, geo, local, world, tracked)
        _solve_lower_and_end(xyz, vis, k, lower, w_upper, hands, geo, local, world, tracked)


@jit
def _all_visible(vis: BoolArray, points: IntArray) -> bool:
    """Whether every landmark of ``points`` is visible (a loop: numba compiles no generators)."""
    for p in points:  # noqa: SIM110
        if not vis[p]:
            return False
    return True


@jit
def _solve_lower_and_end(
    xyz: FloatArray,
    vis: BoolArray,
    k: int,
    lower: FloatArray,
    w_upper: FloatArray,
    hands: FloatArray,
    geo: KernelGeometry,
    local: FloatArray,
    world: FloatArray,
    tracked: BoolArray,
) -> None:
    """Limb ``k``'s hinge (elbow or knee, with the forearm's twist) and its end (hand or foot)."""
    lower_dir, lower_pole, hinge_axis = geo.limb_dirs[1, k], geo.limb_dirs[3, k], geo.limb_dirs[4, k]
    lower_local = mat_t_vec(w_upper, lower)
    flex = math.atan2(vec_dot(lower_local, lower_pole), vec_dot(lower_local, lower_dir))
    hinge = mat_axis_angle(hinge_axis, min(max(flex, geo.limb_limits[0, k]), geo.limb_limits[1, k]))
    lower_m = hinge
    w_end = np.eye(3)  # the hand's target, or the foot's aim (below)
    if k < 2:
        end_ok = _all_visible(vis, _HAND_PTS[k, :3])
        twist = 0.0
        if end_ok:
            twist = mat_twist_angle(mat_t_mul(mat_mul(w_upper, hinge), hands[k]), lower_dir)
            twist = min(max(twist, geo.angles[0]), geo.angles[1])
        lower_m = mat_mul(hinge, mat_axis_angle(lower_dir, twist))
        w_end = hands[k].copy()
    else:
        end_ok = _all_visible(vis, _FOOT_PTS[k - 2])
    lower_bone, end_bone = geo.limb_bones[k, 1], geo.limb_bones[k, 2]
    lower_ok = vis[_LIMB_PTS[k, 1]] and vis[_LIMB_PTS[k, 2]]
    _set_bone(lower_bone, lower_m, lower_ok, geo, local, world, tracked)
    w_lower = world[lower_bone]
    if k >= 2:
        foot = xyz[_FOOT_PTS[k - 2]]
        knee_axis = mat_vec(w_lower, hinge_axis)
        w_end = mat_mul(mat_basis(foot[2] - foot[0], knee_axis), geo.leg_end_bases_t[k - 2])
    end_local = np.eye(3)
    if end_ok:
        end_local = mat_clamp_angle(mat_t_mul(w_lower, w_end), geo.limb_limits[2, k])
    _set_bone(end_bone, end_local, end_ok, geo, local, world, tracked)
