"""The stateless, vectorised body solve: T frames of rig-frame landmarks → local bone rotations.

The method is described in :mod:`bridge.solve.body`, which adds the state (hold/ease, the grounded hips).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.core.landmarks import PoseLandmark as L
from bridge.core.rig import Rig
from bridge.core.rotations import (
    Y_AXIS,
    axis_angle_matrix,
    basis,
    clamp_angle,
    clip,
    dot,
    fraction,
    matvec,
    min_rotation,
    norm,
    perp,
    transpose,
    twist_angle,
    unit,
)
from bridge.solve.body_config import SolverConfig
from bridge.solve.body_geometry import ARMS, LEGS, _chain_chord, _RigGeometry

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class SolvedArrays:
    """The stateless solve of T frames.

    Attributes:
        local_m: (T, B, 3, 3) float, rig frame: each bone's rotation relative to its parent.
        world_m: (T, B, 3, 3) float, rig frame: each solved bone's world rotation (the product of ``local_m`` down
            its chain; the toes, left at rest, have their parent's; bones the body solve does not reach, like the
            fingers, are undefined).
        tracked: (T, B) bool: the bone was solved from visible landmarks.
    """

    local_m: FloatArray
    world_m: FloatArray
    tracked: BoolArray


_LIMB_POINTS = np.array(
    [
        [L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST],
        [L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST],
        [L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE],
        [L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE],
    ]
)
_HAND_POINTS = np.array(
    [
        [L.LEFT_WRIST, L.LEFT_INDEX, L.LEFT_PINKY, L.LEFT_THUMB],
        [L.RIGHT_WRIST, L.RIGHT_INDEX, L.RIGHT_PINKY, L.RIGHT_THUMB],
    ]
)
_EYE = np.eye(3)
_FOOT_POINTS = np.array(
    [[L.LEFT_ANKLE, L.LEFT_HEEL, L.LEFT_FOOT_INDEX], [L.RIGHT_ANKLE, L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX]]
)


class _Bones:
    """The solve of T frames being filled in, bone by bone (or a group at a time), parents before children."""

    def __init__(self, rig: Rig, n_t: int) -> None:
        n_b = len(rig.bones)
        self.parents = rig.parents
        self.world = np.empty((n_t, n_b, 3, 3))
        self.local = np.empty((n_t, n_b, 3, 3))
        self.local[:] = np.eye(3)
        self.tracked = np.zeros((n_t, n_b), dtype=bool)

    def set_bone(self, i: int, local_m: FloatArray, ok: BoolArray) -> None:
        """Bone ``i`` turns by ``local_m`` (T, 3, 3) under its parent; tracked where ``ok`` and its parent is."""
        p = int(self.parents[i])
        self.local[:, i] = local_m
        if p < 0:
            self.world[:, i] = local_m
            self.tracked[:, i] = ok
        else:
            self.world[:, i] = self.world[:, p] @ local_m
            self.tracked[:, i] = ok & self.tracked[:, p]

    def set_bones(self, bones: npt.NDArray[np.intp], local_m: FloatArray, ok: BoolArray) -> None:
        """Bones ``bones`` (K,), none the parent of another, turn by ``local_m`` (T, K, 3, 3) under their
        parents; tracked where ``ok`` (T, K), or (T, 1) for all K, and their parent is. One call for the group
        instead of K."""
        parents = self.parents[bones]
        self.local[:, bones] = local_m
        self.world[:, bones] = self.world[:, parents] @ local_m
        self.tracked[:, bones] = ok & self.tracked[:, parents]

    def fill_rest(self, i: int) -> None:
        """Bone ``i`` stays at rest (and untracked) under its parent."""
        self.world[:, i] = self.world[:, int(self.parents[i])]


@dataclass(frozen=True, eq=False)
class _Targets:
    """World rotations aligned straight from the landmarks of T frames, and what the trunk's landmarks show."""

    hips: FloatArray  # (T, 3, 3), from the hips, or from the shoulders where the hips are out of view
    top: FloatArray  # (T, 3, 3): the torso top
    head: FloatArray  # (T, 3, 3)
    hands: FloatArray  # (T, 2, 3, 3): left, right
    trunk_up: FloatArray  # (T, 3): hips mid → shoulders mid (world up where only the shoulders are seen)
    hips_ok: BoolArray  # (T,): both hips visible
    sh_ok: BoolArray  # (T,): both shoulders visible


def solve_arrays(
    rig: Rig,
    xyz_m: FloatArray,
    visible: BoolArray,
    config: SolverConfig = SolverConfig(),
    geometry: _RigGeometry | None = None,
) -> SolvedArrays:
    """Solve T frames of landmarks without any state.

    Vectorised over frames and, where bones do not depend on each other, over bones (all four limbs are solved
    together), so one frame costs about as many numpy calls as many frames.

    Args:
        rig: the target skeleton.
        xyz_m: (T, 33, 3) float, rig frame (after :func:`bridge.core.frames.mediapipe_to_rig`), metres.
        visible: (T, 33) bool: which landmarks may drive bones.
        config: solver settings.
    """
    g = geometry or _RigGeometry(rig, config)
    xyz = np.asarray(xyz_m, dtype=np.float64)
    bones = _Bones(rig, xyz.shape[0])
    targets = _aligned_targets(g, xyz, visible)
    w_top = _solve_hips_and_spine(g, bones, targets)
    _solve_neck_and_head(g, bones, w_top, targets.head, visible)
    _solve_shoulders(g, bones, xyz, w_top, targets.sh_ok, config)

    # --- the four limbs at once
    pts = xyz[:, _LIMB_POINTS]  # (T, 4, 3, 3): root, mid, end joints
    vis = visible[:, _LIMB_POINTS]  # (T, 4, 3)
    hand_ok = np.all(visible[:, _HAND_POINTS[:, :3]], axis=2)  # (T, 2): wrist, index, pinky
    foot = xyz[:, _FOOT_POINTS]  # (T, 2, 3, 3): ankle, heel, toe tip
    foot_ok = np.all(visible[:, _FOOT_POINTS], axis=2)
    upper_ok = vis[:, :, 0] & vis[:, :, 1]
    upper_ok[:, LEGS] &= targets.hips_ok[:, None]
    _solve_limbs(
        g,
        bones,
        pts,
        upper_ok=upper_ok,
        lower_ok=vis[:, :, 1] & vis[:, :, 2],
        hands=targets.hands,
        hand_ok=hand_ok,
        foot=foot,
        foot_ok=foot_ok,
        config=config,
    )
    if g.toes:
        bones.world[:, g.toe_bones] = bones.world[:, g.toe_parents]  # at rest under their parents
    return SolvedArrays(local_m=bones.local, world_m=bones.world, tracked=bones.tracked)


def _aligned_targets(g: _RigGeometry, xyz: FloatArray, visible: BoolArray) -> _Targets:
    """Targets aligned straight from landmarks: hips, hips-from-shoulders, torso top, head, hands."""
    n_t = xyz.shape[0]
    hip_l, hip_r = xyz[:, L.LEFT_HIP], xyz[:, L.RIGHT_HIP]
    sh_l, sh_r = xyz[:, L.LEFT_SHOULDER], xyz[:, L.RIGHT_SHOULDER]
    sh_mid = (sh_l + sh_r) / 2
    hips_ok = visible[:, L.LEFT_HIP] & visible[:, L.RIGHT_HIP]
    sh_ok = visible[:, L.LEFT_SHOULDER] & visible[:, L.RIGHT_SHOULDER]
    # Hips out of view (a user at a desk): the hips face where the shoulders face, upright.
    use_sh = ~hips_ok & sh_ok
    trunk_up = np.where(use_sh[:, None], Y_AXIS, sh_mid - (hip_l + hip_r) / 2)
    sh_line = sh_l - sh_r
    ear_l, ear_r = xyz[:, L.LEFT_EAR], xyz[:, L.RIGHT_EAR]
    hand = xyz[:, _HAND_POINTS]  # (T, 2, 4, 3): wrist, index, pinky, thumb
    knuckles = (hand[:, :, 1] + hand[:, :, 2]) / 2 - hand[:, :, 0]  # (T, 2, 3): wrist → knuckles
    prim = np.stack(
        [hip_l - hip_r, perp(sh_line, Y_AXIS), trunk_up, ear_l - ear_r, knuckles[:, 0], knuckles[:, 1]], axis=1
    )
    hand_sec = unit(hand[:, :, 1] - hand[:, :, 2]) + 0.5 * unit(hand[:, :, 3] - hand[:, :, 0])
    sec = np.stack(
        [
            unit(trunk_up) + Y_AXIS,
            np.broadcast_to(Y_AXIS, (n_t, 3)),
            sh_line,
            xyz[:, L.NOSE] - (ear_l + ear_r) / 2,
            hand_sec[:, 0],
            hand_sec[:, 1],
        ],
        axis=1,
    )
    targets = basis(prim, sec) @ g.rest_bases_t  # (T, 6, 3, 3)
    return _Targets(
        hips=np.where(use_sh[:, None, None], targets[:, 1], targets[:, 0]),
        top=targets[:, 2],
        head=targets[:, 3],
        hands=targets[:, 4:6],
        trunk_up=trunk_up,
        hips_ok=hips_ok,
        sh_ok=sh_ok,
    )


def _solve_hips_and_spine(g: _RigGeometry, bones: _Bones, targets: _Targets) -> FloatArray:
    """Set the hips and the spine chain; return the (T, 3, 3) world rotation of the torso top."""
    w_hips, w_top = targets.hips, targets.top
    bones.set_bone(g.hips, w_hips, targets.hips_ok | targets.sh_ok)
    if not g.chain:
        return w_top
    n = len(g.chain)
    step = fraction(transpose(w_hips) @ w_top, 1.0 / n)
    # A bent chain's chord (hip joints mid → shoulder joints mid) leans less than its top segment: turn the
    # top's target once so the chord, where the arms hang from, lands on the observed trunk.
    chord = _chain_chord(g, w_hips, step)
    w_top = min_rotation(chord, targets.trunk_up) @ w_top
    step = fraction(transpose(w_hips) @ w_top, 1.0 / n)
    for i in g.chain:
        bones.set_bone(i, step, targets.sh_ok)
    return bones.world[:, g.top]


def _solve_neck_and_head(
    g: _RigGeometry, bones: _Bones, w_top: FloatArray, w_head: FloatArray, visible: BoolArray
) -> None:
    """Set the neck and head: the head's turn from the torso top, split evenly over the two."""
    head_ok = visible[:, L.LEFT_EAR] & visible[:, L.RIGHT_EAR] & visible[:, L.NOSE]
    rel = clamp_angle(transpose(w_top) @ w_head, math.radians(100.0))
    if g.neck is not None:
        half = fraction(rel, 0.5)
        bones.set_bone(g.neck, half, head_ok)
        bones.set_bone(g.head, half, head_ok)  # the head's parent is the neck: not one group
    else:
        bones.set_bone(g.head, rel, head_ok)


def _solve_shoulders(
    g: _RigGeometry, bones: _Bones, xyz: FloatArray, w_top: FloatArray, sh_ok: BoolArray, config: SolverConfig
) -> None:
    """Set the shoulders (clavicles): shoulders mid → shoulder, twist from the chest's forward."""
    if g.shoulder_bases_t is None:
        return
    sh_l, sh_r = xyz[:, L.LEFT_SHOULDER], xyz[:, L.RIGHT_SHOULDER]
    sh_mid = (sh_l + sh_r) / 2
    sh_pts = np.stack([sh_l, sh_r][: len(g.shoulders)], axis=1)
    w_sh = basis(sh_pts - sh_mid[:, None], w_top[:, None, :, 2]) @ g.shoulder_bases_t  # twist: the chest's forward
    parent_w = bones.world[:, g.shoulder_parents]  # (T, S, 3, 3)
    local_sh = clamp_angle(transpose(parent_w) @ w_sh, math.radians(config.shoulder_max_deg))
    bones.set_bones(g.shoulder_bones, local_sh, sh_ok[:, None])


def _solve_limbs(
    g: _RigGeometry,
    bones: _Bones,
    pts: FloatArray,
    *,
    upper_ok: BoolArray,
    lower_ok: BoolArray,
    hands: FloatArray,
    hand_ok: BoolArray,
    foot: FloatArray,
    foot_ok: BoolArray,
    config: SolverConfig,
) -> None:
    """Solve arms (shoulder, elbow, wrist + hand) and legs (hip, knee, ankle + foot) of T frames together.

    ``pts``: (T, 4, 3, 3) root/mid/end joint landmarks of the four limbs, rig frame. ``hands``: (T, 2, 3, 3)
    target world rotations of the hands. ``foot``: (T, 2, 3, 3) ankle, heel and toe-tip landmarks.
    """
    lb = g.limbs
    world = bones.world
    parent_w = world[:, g.limb_parents]  # (T, 4, 3, 3)
    upper = pts[:, :, 1] - pts[:, :, 0]
    lower = pts[:, :, 2] - pts[:, :, 1]
    u = unit(upper)
    # The bend direction: where the lower bone leaves the upper one's line. It is not observable while the limb
    # is straight, so it is blended with priors that fade out as the joint bends past ``straight_limb_deg``:
    # the rest pole carried by the limb's swing, and for legs the backward direction of the foot.
    bend = perp(unit(lower), u)
    prior_w = clip(1.0 - norm(bend) / math.sin(math.radians(config.straight_limb_deg)), 0.0, 1.0) ** 2
    upper_in_parent = matvec(transpose(parent_w), upper)
    swing = min_rotation(lb.upper_dir, upper_in_parent)
    carried_pole = matvec(parent_w @ swing, lb.pole)
    prior = 0.3 * unit(perp(carried_pole, u))
    heel_minus_toe = np.where(foot_ok[:, :, None], foot[:, :, 1] - foot[:, :, 2], 0.0)
    prior[:, LEGS] += unit(perp(heel_minus_toe, u[:, LEGS]))
    w_upper = basis(upper, bend + prior_w[:, :, None] * prior) @ g.limb_bases_t
    bones.set_bones(g.limb_upper, transpose(parent_w) @ w_upper, upper_ok)

    # The middle joint is a hinge: flexion about the rest hinge axis, clamped to its range.
    lower_local = matvec(transpose(w_upper), lower)
    flex = np.arctan2(dot(lower_local, lb.lower_pole), dot(lower_local, lb.lower_dir))
    hinge = axis_angle_matrix(lb.hinge, clip(flex, lb.flex_min, lb.flex_max))
    # Forearm twist (pronation/supination) from the hand's orientation, only where the hand is seen.
    w_arm0 = w_upper[:, ARMS] @ hinge[:, ARMS]
    twist = twist_angle(transpose(w_arm0) @ hands, lb.lower_dir[ARMS])
    twist = np.where(hand_ok, clip(twist, lb.twist_min, lb.twist_max), 0.0)
    lower_m = hinge.copy()
    lower_m[:, ARMS] = hinge[:, ARMS] @ axis_angle_matrix(lb.lower_dir[ARMS], twist)
    bones.set_bones(g.limb_lower, lower_m, lower_ok)
    w_lower = world[:, g.limb_lower]

    # Feet: ankle → toe tip, their roll taken from the knee's hinge axis.
    knee_axis = matvec(w_lower[:, LEGS], lb.hinge[LEGS])
    w_feet = basis(foot[:, :, 2] - foot[:, :, 0], knee_axis) @ g.leg_end_bases_t
    w_end = np.concatenate([hands, w_feet], axis=1)
    end_ok = np.concatenate([hand_ok, foot_ok], axis=1)
    end_local = clamp_angle(transpose(w_lower) @ w_end, lb.end_max)
    end_local = np.where(end_ok[:, :, None, None], end_local, _EYE)
    bones.set_bones(g.limb_end, end_local, end_ok)
