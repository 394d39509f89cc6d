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
:func:`bridge.frames.mediapipe_to_rig` (where the mirror option lives); every array in this module is in the
rig frame (right-handed, Y up, +Z the avatar's front, +X its left), metres.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.frames import mediapipe_to_rig, mirror_per_landmark
from bridge.landmarks import LandmarkFrame
from bridge.landmarks import PoseLandmark as L
from bridge.pose import BonePose, BoneState
from bridge.rig import Rig, forward_kinematics

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_X = np.array([1.0, 0.0, 0.0])
_Y = np.array([0.0, 1.0, 0.0])
_Z = np.array([0.0, 0.0, 1.0])
_EPS = 1e-9


@dataclass(frozen=True)
class SolverConfig:
    """Settings of the solver.

    Attributes:
        mirror: the avatar mirrors the user (left and right exchanged, x reflected) — applied on the way in.
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
            angle seen from the ears' mid-point (MediaPipe's ear points sit near the tragus).
        straight_limb_deg: below this flexion, a limb's bend direction is blended with a prior (the rest
            pole carried by the limb's swing, and the foot for legs), since it is not observable.
        ground: keep the lowest foot point at its rest height (the hips move down when the user crouches).
    """

    mirror: bool = False
    min_visibility: float = 0.5
    hold_s: float = 0.5
    ease_s: float = 1.0
    elbow_range_deg: tuple[float, float] = (0.0, 155.0)
    knee_range_deg: tuple[float, float] = (0.0, 160.0)
    forearm_twist_range_deg: tuple[float, float] = (-100.0, 100.0)
    shoulder_max_deg: float = 30.0
    hand_max_deg: float = 80.0
    foot_max_deg: float = 70.0
    head_pitch_offset_deg: float = 15.0
    straight_limb_deg: float = 30.0
    ground: bool = True


# --------------------------------------------------------------------------------------------- geometry


def _unit(v: FloatArray) -> FloatArray:
    """(..., 3) vectors scaled to length 1 (zero vectors stay zero)."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, _EPS)


def _perp(v: FloatArray, axis_unit: FloatArray) -> FloatArray:
    """Part of (..., 3) ``v`` perpendicular to the unit ``axis_unit``."""
    return v - np.sum(v * axis_unit, axis=-1, keepdims=True) * axis_unit


def _basis(primary: FloatArray, secondary: FloatArray) -> FloatArray:
    """(..., 3, 3) orthonormal frames whose columns are primary, secondary ⟂ primary, and their cross."""
    e1 = _unit(primary)
    # A zero primary (no person: all landmarks at the origin) gives an arbitrary but valid frame; such bones are
    # untracked and replaced by hold/rest later.
    zero = np.linalg.norm(e1, axis=-1) < 0.5
    if np.any(zero):
        e1 = np.where(zero[..., None], _X, e1)
    e2 = _unit(_perp(secondary, e1))
    # A secondary parallel to the primary leaves the twist undefined: pick any perpendicular.
    bad = np.linalg.norm(e2, axis=-1) < 0.5
    if np.any(bad):
        alt = np.where(np.abs(e1[..., :1]) < 0.9, _X, _Y)
        e2 = np.where(bad[..., None], _unit(_perp(alt, e1)), e2)
    e3 = np.cross(e1, e2)
    return np.stack([e1, e2, e3], axis=-1)


def align_two(
    primary_obs: FloatArray, secondary_obs: FloatArray, primary_rest: FloatArray, secondary_rest: FloatArray
) -> FloatArray:
    """Rotation matrices R (..., 3, 3) with R·primary_rest ∥ primary_obs exactly and R·secondary_rest as
    close as possible to secondary_obs.

    Equal to ``Rotation.align_vectors([primary_obs, secondary_obs], [primary_rest, secondary_rest],
    weights=[np.inf, 1])`` (tested), but vectorised over any leading shape.
    """
    return _basis(primary_obs, secondary_obs) @ np.swapaxes(_basis(primary_rest, secondary_rest), -1, -2)


def axis_angle_matrix(axis_unit: FloatArray, angle_rad: FloatArray) -> FloatArray:
    """(..., 3, 3) rotations by ``angle_rad`` (...,) about unit axes (..., 3) or one axis (3,) (Rodrigues)."""
    a = np.broadcast_to(axis_unit, np.shape(angle_rad) + (3,))
    c = np.cos(angle_rad)[..., None, None]
    s = np.sin(angle_rad)[..., None, None]
    k = np.zeros(a.shape[:-1] + (3, 3))
    k[..., 0, 1], k[..., 0, 2] = -a[..., 2], a[..., 1]
    k[..., 1, 0], k[..., 1, 2] = a[..., 2], -a[..., 0]
    k[..., 2, 0], k[..., 2, 1] = -a[..., 1], a[..., 0]
    return np.eye(3) + s * k + (1.0 - c) * (k @ k)


def _min_rotation(a_unit: FloatArray, b: FloatArray) -> FloatArray:
    """(..., 3, 3) shortest rotation taking the unit vector ``a_unit`` (3,) onto the direction of ``b``."""
    bu = _unit(b)
    axis = np.cross(a_unit, bu)
    s = np.linalg.norm(axis, axis=-1)
    c = np.sum(a_unit * bu, axis=-1)
    fallback = _unit(_perp(np.where(abs(a_unit[0]) < 0.9, _X, _Y), a_unit))
    axis_u = np.where((s > 1e-9)[..., None], axis / np.maximum(s, _EPS)[..., None], fallback)
    return axis_angle_matrix(axis_u, np.arctan2(s, c))


def _angle_of(m: FloatArray) -> FloatArray:
    """Rotation angle (radians) of (..., 3, 3) rotation matrices."""
    tr = np.trace(m, axis1=-2, axis2=-1)
    return np.arccos(np.clip((tr - 1.0) / 2.0, -1.0, 1.0))


def _clamp_angle(m: FloatArray, max_rad: float) -> FloatArray:
    """Rotations (..., 3, 3) whose angle exceeds ``max_rad`` scaled down to it, keeping the axis."""
    ang = _angle_of(m)
    over = ang > max_rad
    if not np.any(over):
        return m
    rv = Rotation.from_matrix(m[over]).as_rotvec()
    rv *= (max_rad / np.maximum(np.linalg.norm(rv, axis=-1), _EPS))[:, None]
    out = m.copy()
    out[over] = Rotation.from_rotvec(rv).as_matrix()
    return out


def _fraction(m: FloatArray, fraction: float) -> FloatArray:
    """(..., 3, 3) rotations with their angle multiplied by ``fraction`` (same axis)."""
    shape = m.shape[:-2]
    rv = Rotation.from_matrix(m.reshape(-1, 3, 3)).as_rotvec() * fraction
    return Rotation.from_rotvec(rv).as_matrix().reshape(shape + (3, 3))


def _twist_angle(m: FloatArray, axis_unit: FloatArray) -> FloatArray:
    """Angle (radians, in (-π, π]) of the twist part of rotations (..., 3, 3) about the unit ``axis_unit``
    (swing-twist decomposition)."""
    q = Rotation.from_matrix(m.reshape(-1, 3, 3)).as_quat()  # x y z w
    ang = 2.0 * np.arctan2(q[:, :3] @ axis_unit, q[:, 3])
    ang = (ang + np.pi) % (2.0 * np.pi) - np.pi
    return ang.reshape(m.shape[:-2])


def _mT(m: FloatArray) -> FloatArray:
    return np.swapaxes(m, -1, -2)


# ----------------------------------------------------------------------------------- rig geometry


@dataclass(frozen=True, eq=False)
class _Limb:
    """The rest geometry of one arm or leg of a rig (indices into the rig, unit vectors in the rig frame)."""

    upper: int
    lower: int
    end: int  # Hand or Foot
    upper_dir: FloatArray  # rest direction of the upper bone
    lower_dir: FloatArray  # rest direction of the lower bone
    pole: FloatArray  # rest bend direction (⟂ upper_dir): where the lower bone goes when the joint flexes
    lower_pole: FloatArray  # the same, made ⟂ lower_dir
    hinge: FloatArray  # rest hinge axis: lower_dir × lower_pole
    end_dir: FloatArray  # rest direction of the end bone (hand: to the knuckles; foot: ankle → toe tip)


class _RigGeometry:
    """What the solver needs to know about a rig, computed once."""

    def __init__(self, rig: Rig, config: SolverConfig) -> None:
        self.rig = rig
        rest = rig.rest_world_m
        idx = rig.index

        def rest_dir(frm: str, to: str) -> FloatArray:
            return _unit(rest[idx(to)] - rest[idx(frm)])

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
        self.chain = [idx(c) for c in reversed(chain)]
        self.top = self.chain[-1] if self.chain else idx("Hips")
        self.neck = idx("Neck") if rig.has("Neck") else None
        self.head = idx("Head")
        self.chain_dir = rest_dir("Hips", top)
        self.hips_lateral = rest_dir("RightUpperLeg", "LeftUpperLeg")
        self.shoulder_lateral = rest_dir("RightUpperArm", "LeftUpperArm")
        p = math.radians(config.head_pitch_offset_deg)
        self.face_forward = np.array([0.0, -math.sin(p), math.cos(p)])

        self.shoulders: dict[str, tuple[int, FloatArray]] = {}
        for side in ("Left", "Right"):
            if rig.has(f"{side}Shoulder"):
                self.shoulders[side] = (idx(f"{side}Shoulder"), rest_dir(f"{side}Shoulder", f"{side}UpperArm"))

        self.arms = {s: self._limb(f"{s}UpperArm", f"{s}LowerArm", f"{s}Hand", _Z, tail_point) for s in ("Left", "Right")}
        self.legs = {s: self._limb(f"{s}UpperLeg", f"{s}LowerLeg", f"{s}Foot", -_Z, tail_point) for s in ("Left", "Right")}
        self.toes = [idx(f"{s}Toes") for s in ("Left", "Right") if rig.has(f"{s}Toes")]
        # Lowest rest points of each foot (joint and toe tip), to ground the hips.
        self.ground_points: list[tuple[int, FloatArray]] = []
        for s in ("Left", "Right"):
            foot = idx(f"{s}Foot")
            self.ground_points.append((foot, np.zeros(3)))
            if rig.has(f"{s}Toes"):
                toes = idx(f"{s}Toes")
                self.ground_points.append((toes, np.zeros(3)))
                if f"{s}Toes" in rig.tails_m:
                    self.ground_points.append((toes, rig.tails_m[f"{s}Toes"]))

    def _limb(self, upper: str, lower: str, end: str, pole_hint: FloatArray, tail_point) -> _Limb:  # type: ignore[no-untyped-def]
        rig = self.rig
        rest = rig.rest_world_m
        i_u, i_l, i_e = rig.index(upper), rig.index(lower), rig.index(end)
        upper_dir = _unit(rest[i_l] - rest[i_u])
        lower_dir = _unit(rest[i_e] - rest[i_l])
        pole = _unit(_perp(pole_hint, upper_dir))
        lower_pole = _unit(_perp(pole_hint, lower_dir))
        if end.endswith("Foot"):
            toe = rig.index(end.replace("Foot", "Toes")) if rig.has(end.replace("Foot", "Toes")) else None
            tip = tail_point(rig.bones[toe], _Z) if toe is not None else tail_point(end, _Z - _Y)
            end_dir = _unit(tip - rest[i_e])
        else:
            end_dir = _unit(tail_point(end, lower_dir) - rest[i_e])
        return _Limb(
            upper=i_u,
            lower=i_l,
            end=i_e,
            upper_dir=upper_dir,
            lower_dir=lower_dir,
            pole=pole,
            lower_pole=lower_pole,
            hinge=_unit(np.cross(lower_dir, lower_pole)),
            end_dir=end_dir,
        )


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


def solve_arrays(
    rig: Rig, xyz_m: FloatArray, visible: BoolArray, config: SolverConfig = SolverConfig(), geometry: _RigGeometry | None = None
) -> SolvedArrays:
    """Solve T frames of landmarks without any state.

    Args:
        rig: the target skeleton.
        xyz_m: (T, 33, 3) float, rig frame (after :func:`bridge.frames.mediapipe_to_rig`), metres.
        visible: (T, 33) bool: which landmarks may drive bones.
        config: solver settings.
    """
    g = geometry or _RigGeometry(rig, config)
    xyz = np.asarray(xyz_m, dtype=np.float64)
    n_t = xyz.shape[0]
    n_b = len(rig.bones)
    world = np.broadcast_to(np.eye(3), (n_t, n_b, 3, 3)).copy()
    local = np.broadcast_to(np.eye(3), (n_t, n_b, 3, 3)).copy()
    tracked = np.zeros((n_t, n_b), dtype=bool)

    def P(lm: L) -> FloatArray:
        return xyz[:, lm]

    def V(*lms: L) -> BoolArray:
        return np.all(visible[:, list(lms)], axis=1)

    def set_bone(i: int, local_m: FloatArray, ok: BoolArray) -> None:
        p = int(rig.parents[i])
        local[:, i] = local_m
        world[:, i] = local_m if p < 0 else world[:, p] @ local_m
        tracked[:, i] = ok if p < 0 else ok & tracked[:, p]

    # --- hips and spine chain
    hip_l, hip_r, sh_l, sh_r = P(L.LEFT_HIP), P(L.RIGHT_HIP), P(L.LEFT_SHOULDER), P(L.RIGHT_SHOULDER)
    hip_mid, sh_mid = (hip_l + hip_r) / 2, (sh_l + sh_r) / 2
    trunk_up = sh_mid - hip_mid
    hips_ok, sh_ok = V(L.LEFT_HIP, L.RIGHT_HIP), V(L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    w_hips = align_two(hip_l - hip_r, _unit(trunk_up) + _Y, g.hips_lateral, _Y)
    # Hips out of view (a user at a desk): face where the shoulders face, upright.
    w_hips_from_sh = align_two(_perp(sh_l - sh_r, _Y), _Y, g.hips_lateral, _Y)
    use_sh = ~hips_ok & sh_ok
    w_hips = np.where(use_sh[:, None, None], w_hips_from_sh, w_hips)
    trunk_up = np.where(use_sh[:, None], _Y, trunk_up)
    hips_idx = rig.index("Hips")
    set_bone(hips_idx, w_hips, hips_ok | sh_ok)

    w_top = align_two(trunk_up, sh_l - sh_r, g.chain_dir, g.shoulder_lateral)
    if g.chain:
        step = _fraction(_mT(w_hips) @ w_top, 1.0 / len(g.chain))
        for i in g.chain:
            set_bone(i, step, sh_ok)
        w_top = world[:, g.top]

    # --- neck and head
    ear_l, ear_r, nose = P(L.LEFT_EAR), P(L.RIGHT_EAR), P(L.NOSE)
    w_head = align_two(ear_l - ear_r, nose - (ear_l + ear_r) / 2, _X, g.face_forward)
    head_ok = V(L.LEFT_EAR, L.RIGHT_EAR, L.NOSE)
    rel = _clamp_angle(_mT(w_top) @ w_head, math.radians(100.0))
    if g.neck is not None:
        half = _fraction(rel, 0.5)
        set_bone(g.neck, half, head_ok)
        set_bone(g.head, half, head_ok)
    else:
        set_bone(g.head, rel, head_ok)

    # --- shoulders and arms
    chest_forward = w_top[:, :, 2]
    for side, (sh, wrist, elbow, index, pinky, thumb) in {
        "Left": (sh_l, P(L.LEFT_WRIST), P(L.LEFT_ELBOW), P(L.LEFT_INDEX), P(L.LEFT_PINKY), P(L.LEFT_THUMB)),
        "Right": (sh_r, P(L.RIGHT_WRIST), P(L.RIGHT_ELBOW), P(L.RIGHT_INDEX), P(L.RIGHT_PINKY), P(L.RIGHT_THUMB)),
    }.items():
        s = side.upper()
        limb = g.arms[side]
        if side in g.shoulders:
            i_sh, sh_dir = g.shoulders[side]
            w_sh = align_two(sh - sh_mid, chest_forward, sh_dir, _Z)
            parent_w = world[:, int(rig.parents[i_sh])]
            set_bone(i_sh, _clamp_angle(_mT(parent_w) @ w_sh, math.radians(config.shoulder_max_deg)), sh_ok)
        hand_ok = V(L[f"{s}_WRIST"], L[f"{s}_INDEX"], L[f"{s}_PINKY"])
        knuckles = (index + pinky) / 2
        hand_secondary = _unit(index - pinky) + 0.5 * _unit(thumb - wrist)
        w_hand = align_two(knuckles - wrist, hand_secondary, limb.end_dir, _Z)
        _solve_limb(
            rig, limb, world, set_bone, sh, elbow, wrist, None,
            upper_ok=V(L[f"{s}_SHOULDER"], L[f"{s}_ELBOW"]),
            lower_ok=V(L[f"{s}_ELBOW"], L[f"{s}_WRIST"]),
            flex_range=config.elbow_range_deg, config=config,
            end_world=w_hand, end_ok=hand_ok, twist_range=config.forearm_twist_range_deg,
            end_max_deg=config.hand_max_deg,
        )  # fmt: skip

    # --- legs
    for side, (hip, knee, ankle, heel, toe) in {
        "Left": (hip_l, P(L.LEFT_KNEE), P(L.LEFT_ANKLE), P(L.LEFT_HEEL), P(L.LEFT_FOOT_INDEX)),
        "Right": (hip_r, P(L.RIGHT_KNEE), P(L.RIGHT_ANKLE), P(L.RIGHT_HEEL), P(L.RIGHT_FOOT_INDEX)),
    }.items():
        s = side.upper()
        limb = g.legs[side]
        foot_ok = V(L[f"{s}_ANKLE"], L[f"{s}_FOOT_INDEX"], L[f"{s}_HEEL"])
        _solve_limb(
            rig, limb, world, set_bone, hip, knee, ankle, np.where(foot_ok[:, None], heel - toe, 0.0),
            upper_ok=V(L[f"{s}_HIP"], L[f"{s}_KNEE"]) & hips_ok,
            lower_ok=V(L[f"{s}_KNEE"], L[f"{s}_ANKLE"]),
            flex_range=config.knee_range_deg, config=config,
            end_world=None, end_ok=foot_ok, twist_range=None, end_max_deg=config.foot_max_deg,
            end_primary=toe - ankle,
        )  # fmt: skip
    return SolvedArrays(local_m=local, tracked=tracked)


def _solve_limb(
    rig: Rig,
    limb: _Limb,
    world: FloatArray,
    set_bone,  # type: ignore[no-untyped-def]
    root: FloatArray,
    mid: FloatArray,
    end: FloatArray,
    pole_hint: FloatArray | None,
    *,
    upper_ok: BoolArray,
    lower_ok: BoolArray,
    flex_range: tuple[float, float],
    config: SolverConfig,
    end_world: FloatArray | None,
    end_ok: BoolArray,
    twist_range: tuple[float, float] | None,
    end_max_deg: float,
    end_primary: FloatArray | None = None,
) -> None:
    """Solve an arm (shoulder, elbow, wrist + hand) or a leg (hip, knee, ankle + foot) of T frames.

    ``root``, ``mid``, ``end``: (T, 3) joint landmarks, rig frame. ``pole_hint``: (T, 3) extra evidence for
    the bend direction (the backward foot direction for legs) or None. For arms ``end_world`` is the hand's
    target world rotation (T, 3, 3); for legs ``end_primary`` is the ankle → toe vector.
    """
    parent_w = world[:, int(rig.parents[limb.upper])]
    upper = mid - root
    lower = end - mid
    u = _unit(upper)
    # The bend direction: where the lower bone leaves the upper one's line; unobservable when straight, so it
    # is blended with priors that fade out as the joint bends past ``straight_limb_deg``.
    bend = _perp(_unit(lower), u)
    sin_bend = np.linalg.norm(bend, axis=-1)
    prior_w = np.clip(1.0 - sin_bend / math.sin(math.radians(config.straight_limb_deg)), 0.0, 1.0) ** 2
    swing = _min_rotation(limb.upper_dir, np.einsum("tji,tj->ti", parent_w, upper))
    carried_pole = parent_w @ swing @ limb.pole
    prior = 0.3 * _unit(_perp(carried_pole, u))
    if pole_hint is not None:
        prior = prior + _unit(_perp(pole_hint, u))
    pole = bend + prior_w[:, None] * prior
    w_upper = align_two(upper, pole, limb.upper_dir, limb.pole)
    set_bone(limb.upper, _mT(parent_w) @ w_upper, upper_ok)

    # The middle joint is a hinge: flexion about the rest hinge axis, clamped to its range.
    lower_local = np.einsum("tji,tj->ti", w_upper, lower)
    flex = np.arctan2(lower_local @ limb.lower_pole, lower_local @ limb.lower_dir)
    flex = np.clip(flex, math.radians(flex_range[0]), math.radians(flex_range[1]))
    hinge = axis_angle_matrix(limb.hinge, flex)
    w_lower0 = w_upper @ hinge
    if end_world is not None and twist_range is not None:
        # Forearm twist (pronation/supination) from the hand's orientation, only where the hand is seen.
        twist = _twist_angle(_mT(w_lower0) @ end_world, limb.lower_dir)
        twist = np.clip(twist, math.radians(twist_range[0]), math.radians(twist_range[1]))
        twist = np.where(end_ok, twist, 0.0)
        lower_m = hinge @ axis_angle_matrix(limb.lower_dir, twist)
    else:
        lower_m = hinge
    set_bone(limb.lower, lower_m, lower_ok)
    w_lower = world[:, limb.lower]

    if end_world is None:
        assert end_primary is not None
        # Foot: ankle → toe tip, its roll taken from the knee's hinge axis.
        end_world = align_two(end_primary, w_lower @ limb.hinge, limb.end_dir, limb.hinge)
    end_local = _clamp_angle(_mT(w_lower) @ end_world, math.radians(end_max_deg))
    end_local = np.where(end_ok[:, None, None], end_local, np.eye(3))
    set_bone(limb.end, end_local, end_ok)


# ------------------------------------------------------------------------------- stateful front end


def _frames_to_arrays(
    frames: Sequence[LandmarkFrame], config: SolverConfig
) -> tuple[FloatArray, BoolArray, FloatArray, BoolArray]:
    """Stack frames: xyz (T,33,3) rig frame, visible (T,33), t_s (T,), person (T,)."""
    world = np.stack([f.world_xyz_m for f in frames])
    vis = np.stack([f.visibility for f in frames])
    person = np.array([f.person for f in frames], dtype=bool)
    xyz = mediapipe_to_rig(world, mirror=config.mirror)
    visible = (mirror_per_landmark(vis, config.mirror) >= config.min_visibility) & person[:, None]
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
        pos, rot = forward_kinematics(self.rig, Rotation.from_quat(quats.reshape(-1, 4)), base)
        pos = pos.reshape(n_t, -1, 3)
        rot = rot.reshape(n_t, -1, 3, 3)
        lowest = np.min(
            np.stack([pos[:, b, 1] + (rot[:, b] @ off)[:, 1] for b, off in self._geometry.ground_points]), axis=0
        )
        base[:, 1] += self._rest_lowest - lowest
        return base


def solve_frames(rig: Rig, frames: Iterable[LandmarkFrame], config: SolverConfig = SolverConfig()) -> list[BonePose]:
    """Batch path: solve a whole sequence with a fresh :class:`Solver`."""
    return Solver(rig, config).solve_frames(list(frames))
