"""The rig's rest geometry as the body solver (:mod:`bridge.solve.body`) needs it, computed once per rig.

Every array is in the rig frame (right-handed, Y up, +Z the avatar's front, +X its left), metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.core.rig import Rig
from bridge.core.rotations import X_AXIS, Y_AXIS, Z_AXIS, basis, cross, perp, unit
from bridge.solve.body_config import SolverConfig

FloatArray = npt.NDArray[np.float64]


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
    twist_min: float  # radians: the forearm twist's range (pronation / supination)
    twist_max: float

    @classmethod
    def of_rig(cls, rig: Rig, rest: FloatArray, config: SolverConfig) -> _Limbs:
        """The limbs of ``rig``, whose rest joint positions are ``rest`` (B, 3)."""
        idx = rig.index
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
                if rig.has(toes):
                    tip = _tail_point(rig, rest, toes, Z_AXIS)
                else:
                    tip = _tail_point(rig, rest, end, Z_AXIS - Y_AXIS)
            else:
                tip = _tail_point(rig, rest, end, lo_d)
            end_dir.append(unit(tip - rest[idx(end)]))
        lower_dir_a, lower_pole_a = np.array(lower_dir), np.array(lower_pole)
        return cls(
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
            twist_min=float(np.radians(config.forearm_twist_range_deg[0])),
            twist_max=float(np.radians(config.forearm_twist_range_deg[1])),
        )


ARMS = slice(0, 2)
LEGS = slice(2, 4)


def _rest_dir(rig: Rig, rest: FloatArray, frm: str, to: str) -> FloatArray:
    """Unit rest direction from the joint of bone ``frm`` to the joint of bone ``to``."""
    return unit(rest[rig.index(to)] - rest[rig.index(frm)])


def _tail_point(rig: Rig, rest: FloatArray, bone: str, default_dir: FloatArray) -> FloatArray:
    """Rest position of the end of ``bone``: its tail, first child, or a default."""
    if bone in rig.tails_m:
        return rest[rig.index(bone)] + rig.tails_m[bone]
    kids = rig.children_of(bone)
    if kids:
        return rest[rig.index(kids[0])]
    return rest[rig.index(bone)] + 0.1 * default_dir


def _spine_chain(rig: Rig, top: str) -> list[str]:
    """The spine chain: bones strictly between Hips and ``top`` (the neck, or the head), from the hips up."""
    chain: list[str] = []
    b = rig.parent_of(top)
    while b is not None and b != "Hips":
        chain.append(b)
        b = rig.parent_of(b)
    return list(reversed(chain))


def _rest_bases_t(rig: Rig, rest: FloatArray, top: str, limbs: _Limbs, config: SolverConfig) -> FloatArray:
    """(6, 3, 3) transposed rest bases of the targets aligned straight from landmarks, in this order:
    hips, hips-from-shoulders, torso top, head, left hand, right hand."""
    p = math.radians(config.head_pitch_offset_deg)
    face_forward = np.array([0.0, -math.sin(p), math.cos(p)])
    hips_lateral = _rest_dir(rig, rest, "RightUpperLeg", "LeftUpperLeg")
    rest_pairs = [
        (hips_lateral, Y_AXIS),
        (hips_lateral, Y_AXIS),
        (_rest_dir(rig, rest, "Hips", top), _rest_dir(rig, rest, "RightUpperArm", "LeftUpperArm")),
        (X_AXIS, face_forward),
        (limbs.end_dir[0], Z_AXIS),
        (limbs.end_dir[1], Z_AXIS),
    ]
    return np.stack([basis(p0, s0).T for p0, s0 in rest_pairs])


def _shoulder_bases_t(rig: Rig, rest: FloatArray) -> FloatArray | None:
    """(S, 3, 3) transposed rest bases of the clavicles the rig has (left first), None if it has none.

    The clavicle is aimed like the landmarks see it, from the shoulders' mid-point to the shoulder joint; its
    rest direction is measured the same way (rigs whose clavicles point back, like MakeHuman's, differ).
    """
    idx = rig.index
    sh_mid = (rest[idx("LeftUpperArm")] + rest[idx("RightUpperArm")]) / 2
    shoulder_dirs = [
        unit(rest[idx(f"{s}UpperArm")] - sh_mid) for s in ("Left", "Right") if rig.has(f"{s}Shoulder")
    ]
    return np.stack([basis(d, Z_AXIS).T for d in shoulder_dirs]) if shoulder_dirs else None


def _ground_points(rig: Rig) -> list[tuple[int, FloatArray]]:
    """Lowest rest points of each foot (joint and toe tip), to ground the hips: (bone, offset from its joint)."""
    idx = rig.index
    points: list[tuple[int, FloatArray]] = []
    for s in ("Left", "Right"):
        points.append((idx(f"{s}Foot"), np.zeros(3)))
        if rig.has(f"{s}Toes"):
            toes_i = idx(f"{s}Toes")
            points.append((toes_i, np.zeros(3)))
            if f"{s}Toes" in rig.tails_m:
                points.append((toes_i, rig.tails_m[f"{s}Toes"]))
    return points


def _ground_chain(rig: Rig, hips: int, ground_points: list[tuple[int, FloatArray]]) -> list[int]:
    """Bones whose world position grounding needs: the legs from the hips down, sorted."""
    needed = {hips}
    for j, _ in ground_points:
        while j >= 0:
            needed.add(j)
            j = int(rig.parents[j])
    return sorted(needed)


class _RigGeometry:
    """What the solver needs to know about a rig, computed once."""

    def __init__(self, rig: Rig, config: SolverConfig) -> None:
        self.rig = rig
        rest = rig.rest_world_m
        idx = rig.index
        top = "Neck" if rig.has("Neck") else "Head"
        self.hips = idx("Hips")
        self.chain = [idx(c) for c in _spine_chain(rig, top)]
        self.top = self.chain[-1] if self.chain else self.hips
        # Rest offsets walked by the chord of the spine chain: Hips → each chain bone's joint, then from the top
        # bone's joint to the shoulder joints' mid-point; and Hips → the hip joints' mid-point.
        self.chain_offsets = [rig.offsets_m[i] for i in self.chain]
        sh_mid_rest = (rest[idx("LeftUpperArm")] + rest[idx("RightUpperArm")]) / 2
        self.top_to_shoulders_mid = sh_mid_rest - rest[self.top]
        self.hips_to_legs_mid = (rest[idx("LeftUpperLeg")] + rest[idx("RightUpperLeg")]) / 2 - rest[self.hips]
        self.neck = idx("Neck") if rig.has("Neck") else None
        self.head = idx("Head")
        self.shoulders = [idx(f"{s}Shoulder") for s in ("Left", "Right") if rig.has(f"{s}Shoulder")]
        self.limbs = _Limbs.of_rig(rig, rest, config)
        self.rest_bases_t = _rest_bases_t(rig, rest, top, self.limbs, config)
        self.shoulder_bases_t = _shoulder_bases_t(rig, rest)
        self.leg_end_bases_t = np.stack([basis(self.limbs.end_dir[k], self.limbs.hinge[k]).T for k in (2, 3)])
        self.limb_bases_t = np.stack([basis(self.limbs.upper_dir[k], self.limbs.pole[k]).T for k in range(4)])
        self.toes = [idx(f"{s}Toes") for s in ("Left", "Right") if rig.has(f"{s}Toes")]
        self.ground_points = _ground_points(rig)
        self.ground_chain = _ground_chain(rig, self.hips, self.ground_points)
        # Index arrays for the solve's group operations (one fancy index instead of a loop over bones).
        parents = rig.parents
        self.limb_upper = np.array(self.limbs.upper, dtype=np.intp)
        self.limb_lower = np.array(self.limbs.lower, dtype=np.intp)
        self.limb_end = np.array(self.limbs.end, dtype=np.intp)
        self.limb_parents = parents[self.limb_upper]
        self.shoulder_bones = np.array(self.shoulders, dtype=np.intp)
        self.shoulder_parents = parents[self.shoulder_bones]
        self.toe_bones = np.array(self.toes, dtype=np.intp)
        self.toe_parents = parents[self.toe_bones]


def _chain_chord(g: _RigGeometry, w_hips: FloatArray, step: FloatArray) -> FloatArray:
    """(T, 3) world vector from the hip joints' mid-point to the shoulder joints' mid-point when every spine
    chain bone turns by ``step`` (T, 3, 3) under hips turned by ``w_hips`` (T, 3, 3)."""
    r = w_hips
    p = np.zeros(w_hips.shape[:-1])
    for off in g.chain_offsets:
        p = p + r @ off
        r = r @ step
    return p + r @ g.top_to_shoulders_mid - w_hips @ g.hips_to_legs_mid
