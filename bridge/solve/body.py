"""Solver: filtered world landmarks → local bone rotations of a humanoid rig (plus the hips position).

Pure: numpy and scipy only, no mediapipe, no sockets, no rendering.

Method. Every bone gets a *world* rotation that carries its rest direction onto the direction the landmarks
show (the **primary** vector, matched exactly) and a rest **secondary** vector as close as possible onto an
observed one that fixes the twist about the bone. This is ``Rotation.align_vectors([p, s], [p0, s0],
weights=[inf, 1])``; :func:`align_two` computes the same thing vectorised over frames (a test checks it
against scipy). Local rotations are then ``parent_world⁻¹ · world``. The primary and secondary of each bone:

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
*grounded*: their height keeps the lowest foot point at its rest height (crouching lowers the hips).

Frames: input landmarks are converted from MediaPipe's world frame to the rig frame by
:func:`bridge.core.frames.mediapipe_to_rig` (the mirror, where asked for, was applied before:
:mod:`bridge.stages.mirror`); every array in this module is in the rig frame (right-handed, Y up, +Z the avatar's
front, +X its left), metres.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.core.frames import mediapipe_to_rig
from bridge.core.landmarks import LandmarkFrame
from bridge.core.landmarks import PoseLandmark as L
from bridge.core.pose import BonePose, BoneState
from bridge.core.rig import Rig
from bridge.core.rotations import (
    X_AXIS,
    Y_AXIS,
    Z_AXIS,
    axis_angle_matrix,
    basis,
    clamp_angle,
    cross,
    fraction,
    min_rotation,
    norm,
    perp,
    transpose,
    twist_angle,
    unit,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SolverConfig:
    """Settings of the solver.

    Attributes:
        min_visibility: landmarks below this visibility do not drive bones.
        hold_s: how long an untracked bone keeps its last tracked rotation.
        ease_s: how long it then takes to ease back to rest.
        elbow_range_deg: allowed elbow flexion (0 = straight).
        knee_range_deg: allowed knee flexion (0 = straight).
        forearm_twist_range_deg: allowed forearm pronation/supination away from the T-pose (palm down).
        shoulder_max_deg: largest clavicle rotation away from rest.
        hand_max_deg: largest wrist rotation (flexion/deviation) away from rest.
        foot_max_deg: largest ankle rotation away from rest.
        head_pitch_offset_deg: how far the nose sits below the ears' line when looking straight ahead, as an
            angle seen from the ears' mid-point (MediaPipe's ear points sit near the tragus). Measured on
            MediaPipe's world landmarks of the Sports2D demo: median 9.1° relative to the trunk (221 frames).
        straight_limb_deg: below this flexion, a limb's bend direction is blended with a prior (the rest
            pole carried by the limb's swing, and the foot for legs), since it is not observable.
        ground: keep the lowest foot point at its rest height (the hips move down when the user crouches).
    """

    min_visibility: float = 0.5
    hold_s: float = 0.5
    ease_s: float = 1.0
    elbow_range_deg: tuple[float, float] = (0.0, 155.0)
    knee_range_deg: tuple[float, float] = (0.0, 160.0)
    forearm_twist_range_deg: tuple[float, float] = (-100.0, 100.0)
    shoulder_max_deg: float = 30.0
    hand_max_deg: float = 80.0
    foot_max_deg: float = 70.0
    head_pitch_offset_deg: float = 10.0
    straight_limb_deg: float = 30.0
    ground: bool = True


def _chain_chord(g: _RigGeometry, w_hips: FloatArray, step: FloatArray) -> FloatArray:
    """(T, 3) world vector from the hip joints' mid-point to the shoulder joints' mid-point when every spine
    chain bone turns by ``step`` (T, 3, 3) under hips turned by ``w_hips`` (T, 3, 3)."""
    r = w_hips
    p = np.zeros(w_hips.shape[:-1])
    for off in g.chain_offsets:
        p = p + r @ off
        r = r @ step
    return p + r @ g.top_to_shoulders_mid - w_hips @ g.hips_to_legs_mid


# ----------------------------------------------------------------------------------- rig geometry


@dataclass(frozen=True, eq=False)
class _Limbs:
    """Rest geometry of the four limbs, stacked in the order left arm, right arm, left leg, right leg.

    Vectors are unit, rig frame, shape (4, 3); indices are into the rig's bones.
    """

    upper: tuple[int, ...]
    lower: tuple[int, ...]
    end: tuple[int, ...]
    upper_dir: FloatArray  # rest direction of the upper bone
    lower_dir: FloatArray  # rest direction of the lower bone
    pole: FloatArray  # rest bend direction (⟂ upper_dir): where the lower bone goes when the joint flexes
    lower_pole: FloatArray  # the same, made ⟂ lower_dir
    hinge: FloatArray  # rest hinge axis: lower_dir × lower_pole
    end_dir: FloatArray  # rest direction of the end bone (hand: to the knuckles; foot: ankle → toe tip)
    flex_min: FloatArray  # (4,) radians
    flex_max: FloatArray  # (4,) radians
    end_max: FloatArray  # (4,) radians: largest wrist / ankle rotation


ARMS = slice(0, 2)
LEGS = slice(2, 4)


class _RigGeometry:
    """What the solver needs to know about a rig, computed once."""

    def __init__(self, rig: Rig, config: SolverConfig) -> None:
        self.rig = rig
        rest = rig.rest_world_m
        idx = rig.index

        def rest_dir(frm: str, to: str) -> FloatArray:
            return unit(rest[idx(to)] - rest[idx(frm)])

        def tail_point(bone: str, default_dir: FloatArray) -> FloatArray:
            """Rest position of the end of ``bone``: its tail, first child, or a default."""
            if bone in rig.tails_m:
                return rest[idx(bone)] + rig.tails_m[bone]
            kids = rig.children_of(bone)
            if kids:
                return rest[idx(kids[0])]
            return rest[idx(bone)] + 0.1 * default_dir

        # Spine chain: bones strictly between Hips and the neck (or head).
        top = "Neck" if rig.has("Neck") else "Head"
        chain: list[str] = []
        b = rig.parent_of(top)
        while b is not None and b != "Hips":
            chain.append(b)
            b = rig.parent_of(b)
        self.hips = idx("Hips")
        self.chain = [idx(c) for c in reversed(chain)]
        self.top = self.chain[-1] if self.chain else self.hips
        # Rest offsets walked by the chord of the spine chain: Hips → each chain bone's joint, then from the top
        # bone's joint to the shoulder joints' mid-point; and Hips → the hip joints' mid-point.
        self.chain_offsets = [rig.offsets_m[i] for i in self.chain]
        sh_mid_rest = (rest[idx("LeftUpperArm")] + rest[idx("RightUpperArm")]) / 2
        self.top_to_shoulders_mid = sh_mid_rest - rest[self.top]
        self.hips_to_legs_mid = (rest[idx("LeftUpperLeg")] + rest[idx("RightUpperLeg")]) / 2 - rest[self.hips]
        self.neck = idx("Neck") if rig.has("Neck") else None
        self.head = idx("Head")
        p = math.radians(config.head_pitch_offset_deg)
        face_forward = np.array([0.0, -math.sin(p), math.cos(p)])
        hips_lateral = rest_dir("RightUpperLeg", "LeftUpperLeg")

        self.shoulders = [idx(f"{s}Shoulder") for s in ("Left", "Right") if rig.has(f"{s}Shoulder")]
        # The clavicle is aimed like the landmarks see it, from the shoulders' mid-point to the shoulder joint; its
        # rest direction is measured the same way (rigs whose clavicles point back, like MakeHuman's, differ).
        sh_mid = (rest[idx("LeftUpperArm")] + rest[idx("RightUpperArm")]) / 2
        shoulder_dirs = [
            unit(rest[idx(f"{s}UpperArm")] - sh_mid) for s in ("Left", "Right") if rig.has(f"{s}Shoulder")
        ]

        limbs = [
            ("LeftUpperArm", "LeftLowerArm", "LeftHand", Z_AXIS),
            ("RightUpperArm", "RightLowerArm", "RightHand", Z_AXIS),
            ("LeftUpperLeg", "LeftLowerLeg", "LeftFoot", -Z_AXIS),
            ("RightUpperLeg", "RightLowerLeg", "RightFoot", -Z_AXIS),
        ]
        upper_dir, lower_dir, pole, lower_pole, end_dir = [], [], [], [], []
        for up, lo, end, hint in limbs:
            u = unit(rest[idx(lo)] - rest[idx(up)])
            lo_d = unit(rest[idx(end)] - rest[idx(lo)])
            upper_dir.append(u)
            lower_dir.append(lo_d)
            pole.append(unit(perp(hint, u)))
            lower_pole.append(unit(perp(hint, lo_d)))
            if end.endswith("Foot"):
                toes = end.replace("Foot", "Toes")
                tip = tail_point(toes, Z_AXIS) if rig.has(toes) else tail_point(end, Z_AXIS - Y_AXIS)
            else:
                tip = tail_point(end, lo_d)
            end_dir.append(unit(tip - rest[idx(end)]))
        lower_dir_a, lower_pole_a = np.array(lower_dir), np.array(lower_pole)
        self.limbs = _Limbs(
            upper=tuple(idx(x[0]) for x in limbs),
            lower=tuple(idx(x[1]) for x in limbs),
            end=tuple(idx(x[2]) for x in limbs),
            upper_dir=np.array(upper_dir),
            lower_dir=lower_dir_a,
            pole=np.array(pole),
            lower_pole=lower_pole_a,
            hinge=unit(cross(lower_dir_a, lower_pole_a)),
            end_dir=np.array(end_dir),
            flex_min=np.radians([config.elbow_range_deg[0]] * 2 + [config.knee_range_deg[0]] * 2),
            flex_max=np.radians([config.elbow_range_deg[1]] * 2 + [config.knee_range_deg[1]] * 2),
            end_max=np.radians([config.hand_max_deg] * 2 + [config.foot_max_deg] * 2),
        )
        # Transposed rest bases of the targets aligned straight from landmarks, in this order:
        # hips, hips-from-shoulders, torso top, head, left hand, right hand.
        rest_pairs = [
            (hips_lateral, Y_AXIS),
            (hips_lateral, Y_AXIS),
            (rest_dir("Hips", top), rest_dir("RightUpperArm", "LeftUpperArm")),
            (X_AXIS, face_forward),
            (self.limbs.end_dir[0], Z_AXIS),
            (self.limbs.end_dir[1], Z_AXIS),
        ]
        self.rest_bases_t = np.stack([basis(p0, s0).T for p0, s0 in rest_pairs])
        self.shoulder_bases_t = np.stack([basis(d, Z_AXIS).T for d in shoulder_dirs]) if shoulder_dirs else None
        self.leg_end_bases_t = np.stack([basis(self.limbs.end_dir[k], self.limbs.hinge[k]).T for k in (2, 3)])
        self.limb_bases_t = np.stack([basis(self.limbs.upper_dir[k], self.limbs.pole[k]).T for k in range(4)])

        self.toes = [idx(f"{s}Toes") for s in ("Left", "Right") if rig.has(f"{s}Toes")]
        # Lowest rest points of each foot (joint and toe tip), to ground the hips.
        self.ground_points: list[tuple[int, FloatArray]] = []
        for s in ("Left", "Right"):
            self.ground_points.append((idx(f"{s}Foot"), np.zeros(3)))
            if rig.has(f"{s}Toes"):
                toes_i = idx(f"{s}Toes")
                self.ground_points.append((toes_i, np.zeros(3)))
                if f"{s}Toes" in rig.tails_m:
                    self.ground_points.append((toes_i, rig.tails_m[f"{s}Toes"]))
        # Bones whose world position grounding needs: the legs from the hips down.
        needed = {self.hips}
        for j, _ in self.ground_points:
            while j >= 0:
                needed.add(j)
                j = int(rig.parents[j])
        self.ground_chain = sorted(needed)


# ------------------------------------------------------------------------------------ the pure solve


@dataclass(frozen=True, eq=False)
class SolvedArrays:
    """The stateless solve of T frames.

    Attributes:
        local_m: (T, B, 3, 3) float, rig frame: each bone's rotation relative to its parent.
        tracked: (T, B) bool: the bone was solved from visible landmarks.
    """

    local_m: FloatArray
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
_FOOT_POINTS = np.array(
    [[L.LEFT_ANKLE, L.LEFT_HEEL, L.LEFT_FOOT_INDEX], [L.RIGHT_ANKLE, L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX]]
)


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
    n_t = xyz.shape[0]
    n_b = len(rig.bones)
    world = np.empty((n_t, n_b, 3, 3))
    local = np.broadcast_to(np.eye(3), (n_t, n_b, 3, 3)).copy()
    tracked = np.zeros((n_t, n_b), dtype=bool)
    parents = rig.parents

    def set_bone(i: int, local_m: FloatArray, ok: BoolArray) -> None:
        p = int(parents[i])
        local[:, i] = local_m
        if p < 0:
            world[:, i] = local_m
            tracked[:, i] = ok
        else:
            world[:, i] = world[:, p] @ local_m
            tracked[:, i] = ok & tracked[:, p]

    def fill_rest(i: int) -> None:
        world[:, i] = world[:, int(parents[i])]

    # --- targets aligned straight from landmarks: hips, hips-from-shoulders, torso top, head, hands
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
    w_hips = np.where(use_sh[:, None, None], targets[:, 1], targets[:, 0])
    w_top, w_head, w_hands = targets[:, 2], targets[:, 3], targets[:, 4:6]

    set_bone(g.hips, w_hips, hips_ok | sh_ok)
    if g.chain:
        n = len(g.chain)
        step = fraction(transpose(w_hips) @ w_top, 1.0 / n)
        # A bent chain's chord (hip joints mid → shoulder joints mid) leans less than its top segment: turn the
        # top's target once so the chord, where the arms hang from, lands on the observed trunk.
        chord = _chain_chord(g, w_hips, step)
        w_top = min_rotation(chord, trunk_up) @ w_top
        step = fraction(transpose(w_hips) @ w_top, 1.0 / n)
        for i in g.chain:
            set_bone(i, step, sh_ok)
        w_top = world[:, g.top]

    # --- neck and head
    head_ok = visible[:, L.LEFT_EAR] & visible[:, L.RIGHT_EAR] & visible[:, L.NOSE]
    rel = clamp_angle(transpose(w_top) @ w_head, math.radians(100.0))
    if g.neck is not None:
        half = fraction(rel, 0.5)
        set_bone(g.neck, half, head_ok)
        set_bone(g.head, half, head_ok)
    else:
        set_bone(g.head, rel, head_ok)

    # --- shoulders (clavicles): shoulders mid → shoulder, twist from the chest's forward
    if g.shoulder_bases_t is not None:
        sh_pts = np.stack([sh_l, sh_r][: len(g.shoulders)], axis=1)
        chest_fwd = np.broadcast_to(w_top[:, None, :, 2], sh_pts.shape)
        w_sh = basis(sh_pts - sh_mid[:, None], chest_fwd) @ g.shoulder_bases_t
        for k, i in enumerate(g.shoulders):
            parent_w = world[:, int(parents[i])]
            set_bone(
                i, clamp_angle(transpose(parent_w) @ w_sh[:, k], math.radians(config.shoulder_max_deg)), sh_ok
            )

    # --- the four limbs at once
    pts = xyz[:, _LIMB_POINTS]  # (T, 4, 3, 3): root, mid, end joints
    vis = visible[:, _LIMB_POINTS]  # (T, 4, 3)
    hand_ok = np.all(visible[:, _HAND_POINTS[:, :3]], axis=2)  # (T, 2): wrist, index, pinky
    foot = xyz[:, _FOOT_POINTS]  # (T, 2, 3, 3): ankle, heel, toe tip
    foot_ok = np.all(visible[:, _FOOT_POINTS], axis=2)
    upper_ok = vis[:, :, 0] & vis[:, :, 1]
    upper_ok[:, LEGS] &= hips_ok[:, None]
    _solve_limbs(
        g,
        world,
        set_bone,
        pts,
        upper_ok=upper_ok,
        lower_ok=vis[:, :, 1] & vis[:, :, 2],
        hands=w_hands,
        hand_ok=hand_ok,
        foot=foot,
        foot_ok=foot_ok,
        config=config,
    )
    for i in g.toes:
        fill_rest(i)
    return SolvedArrays(local_m=local, tracked=tracked)


def _solve_limbs(
    g: _RigGeometry,
    world: FloatArray,
    set_bone,  # type: ignore[no-untyped-def]
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
    parents = g.rig.parents
    parent_w = np.stack([world[:, int(parents[i])] for i in lb.upper], axis=1)  # (T, 4, 3, 3)
    upper = pts[:, :, 1] - pts[:, :, 0]
    lower = pts[:, :, 2] - pts[:, :, 1]
    u = unit(upper)
    # The bend direction: where the lower bone leaves the upper one's line. It is not observable while the limb
    # is straight, so it is blended with priors that fade out as the joint bends past ``straight_limb_deg``:
    # the rest pole carried by the limb's swing, and for legs the backward direction of the foot.
    bend = perp(unit(lower), u)
    prior_w = np.clip(1.0 - norm(bend) / math.sin(math.radians(config.straight_limb_deg)), 0.0, 1.0) ** 2
    upper_in_parent = np.einsum("tkji,tkj->tki", parent_w, upper)
    swing = min_rotation(lb.upper_dir, upper_in_parent)
    carried_pole = np.einsum("tkij,tkj->tki", parent_w @ swing, np.broadcast_to(lb.pole, upper.shape))
    prior = 0.3 * unit(perp(carried_pole, u))
    heel_minus_toe = np.where(foot_ok[:, :, None], foot[:, :, 1] - foot[:, :, 2], 0.0)
    prior[:, LEGS] += unit(perp(heel_minus_toe, u[:, LEGS]))
    w_upper = basis(upper, bend + prior_w[:, :, None] * prior) @ g.limb_bases_t
    local_upper = transpose(parent_w) @ w_upper
    for k, i in enumerate(lb.upper):
        set_bone(i, local_upper[:, k], upper_ok[:, k])

    # The middle joint is a hinge: flexion about the rest hinge axis, clamped to its range.
    lower_local = np.einsum("tkji,tkj->tki", w_upper, lower)
    flex = np.arctan2(
        np.einsum("tki,ki->tk", lower_local, lb.lower_pole), np.einsum("tki,ki->tk", lower_local, lb.lower_dir)
    )
    hinge = axis_angle_matrix(lb.hinge, np.clip(flex, lb.flex_min, lb.flex_max))
    # Forearm twist (pronation/supination) from the hand's orientation, only where the hand is seen.
    w_arm0 = w_upper[:, ARMS] @ hinge[:, ARMS]
    twist = twist_angle(transpose(w_arm0) @ hands, lb.lower_dir[ARMS])
    lo, hi = np.radians(config.forearm_twist_range_deg)
    twist = np.where(hand_ok, np.clip(twist, lo, hi), 0.0)
    lower_m = hinge.copy()
    lower_m[:, ARMS] = hinge[:, ARMS] @ axis_angle_matrix(lb.lower_dir[ARMS], twist)
    for k, i in enumerate(lb.lower):
        set_bone(i, lower_m[:, k], lower_ok[:, k])
    w_lower = np.stack([world[:, i] for i in lb.lower], axis=1)

    # Feet: ankle → toe tip, their roll taken from the knee's hinge axis.
    knee_axis = np.einsum("tkij,kj->tki", w_lower[:, LEGS], lb.hinge[LEGS])
    w_feet = basis(foot[:, :, 2] - foot[:, :, 0], knee_axis) @ g.leg_end_bases_t
    w_end = np.concatenate([hands, w_feet], axis=1)
    end_ok = np.concatenate([hand_ok, foot_ok], axis=1)
    end_local = clamp_angle(transpose(w_lower) @ w_end, lb.end_max)
    end_local = np.where(end_ok[:, :, None, None], end_local, np.eye(3))
    for k, i in enumerate(lb.end):
        set_bone(i, end_local[:, k], end_ok[:, k])


# ------------------------------------------------------------------------------- stateful front end


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

    def reset(self) -> None:
        """Forget all history: every bone back at rest."""
        self._last_q[:] = [0.0, 0.0, 0.0, 1.0]
        self._lost_since[:] = -np.inf

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
        hips = self._hips_positions(quats)
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
