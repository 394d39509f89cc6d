"""Fingers: 21 hand landmarks → local rotations of the finger bones (and the hand) of a humanoid rig.

Pure geometry on numpy arrays plus a small stateful stage (:class:`HandSolver`): no mediapipe, no sockets.

Which hand is which. MediaPipe's handedness label is often unsure on small or turned hands, and its
documentation says it names hands as in a mirrored (selfie) image, which mediapipe 1.2.2 does not do on plain
video (see :func:`_side_without_pose`). When the pose has found a person, :func:`assign_sides` ignores the label
and gives each hand to the pose wrist its own wrist lies next to in the image (the pair of matches with the
smallest total distance; a hand far from both wrists — someone else's — is dropped). Without a person, the
hand's 3-D shape decides (:func:`hand_chirality`), then the label. A hand whose 3-D shape is the other side's
(depth guessed wrong) is reflected in depth before solving (:meth:`HandSolver.observe`).

Mirror. :mod:`bridge.stages.mirror` reflects the hands with the body, so each hand's fingers always drive the
avatar hand at the end of the arm that the same real arm drives: without ``--mirror`` the user's right hand
drives the avatar's right hand; with it, the user's right hand (with its arm) drives the avatar's left one,
exactly as a mirror image moves. This module knows nothing of it.

Method (rig frame, after :func:`~bridge.core.frames.mediapipe_to_rig` like the pose). With
:func:`bridge.core.rotations.align_two` every bone's *world* rotation in the hand's frame carries its rest
direction exactly onto the observed one and a rest secondary vector as close as possible onto an observed one:

===================  =======================================  ==========================================
bone                 primary (observed ← rest)                secondary (fixes the twist)
===================  =======================================  ==========================================
Hand (palm)          wrist → middle knuckle                   little knuckle → index knuckle
Index..Little        joint → next joint (MCP→PIP→DIP→tip)     little knuckle → index knuckle (across the
× 3 phalanges                                                 palm: flexion turns about this axis)
Thumb × 3            CMC → MCP → IP → tip                     the palm's normal (back of the hand)
===================  =======================================  ==========================================

Local rotations follow as ``parent_world⁻¹ · world``. A flat hand in the rig's rest shape gives identity for
every finger; a fist gives large flexion (tests). The hand bone itself: with ``drive_wrist`` (default) its
rotation comes from the hand model's palm (better than the pose's three hand points), expressed under the
forearm the body solver produced and clamped to ``hand_max_deg``, so the hand agrees with the body's wrist.

Tracking loss: a hand that disappears holds its last rotations for ``hold_s``, then eases to rest (open hand)
over ``ease_s``. Finger rotations are smoothed with a One-Euro filter on quaternions (kept in one hemisphere).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.core.frames import mediapipe_to_rig, rig_to_mediapipe
from bridge.core.hand_face import HandLandmark as H
from bridge.core.hand_face import HandObservation, HandsResult
from bridge.core.landmarks import LandmarkFrame
from bridge.core.landmarks import PoseLandmark as L
from bridge.core.one_euro import OneEuroFilter
from bridge.core.pose import BonePose, BoneState
from bridge.core.rig import Rig
from bridge.core.rotations import align_two

FloatArray = npt.NDArray[np.float64]

SIDES: tuple[str, str] = ("Left", "Right")
FINGERS: tuple[str, ...] = ("Thumb", "Index", "Middle", "Ring", "Little")
SEGMENTS: tuple[str, ...] = ("Proximal", "Intermediate", "Distal")

#: Landmark chain of each finger: the joints of its three bones, then the tip.
FINGER_POINTS: dict[str, tuple[int, int, int, int]] = {
    "Thumb": (H.THUMB_CMC, H.THUMB_MCP, H.THUMB_IP, H.THUMB_TIP),
    "Index": (H.INDEX_MCP, H.INDEX_PIP, H.INDEX_DIP, H.INDEX_TIP),
    "Middle": (H.MIDDLE_MCP, H.MIDDLE_PIP, H.MIDDLE_DIP, H.MIDDLE_TIP),
    "Ring": (H.RING_MCP, H.RING_PIP, H.RING_DIP, H.RING_TIP),
    "Little": (H.PINKY_MCP, H.PINKY_PIP, H.PINKY_DIP, H.PINKY_TIP),
}


def finger_bones(side: str) -> tuple[str, ...]:
    """The 15 finger bones of ``side`` ("Left"/"Right"), finger by finger, proximal first."""
    return tuple(f"{side}{f}{s}" for f in FINGERS for s in SEGMENTS)


@dataclass(frozen=True)
class HandConfig:
    """Settings of the finger stage.

    Attributes:
        hold_s, ease_s: a lost hand holds this long, then eases to rest over ``ease_s``.
        drive_wrist: set the Hand bone from the hand model's palm (else the body solver's stays).
        hand_max_deg: largest hand rotation relative to the forearm.
        filter: smooth finger rotations with One-Euro.
        min_cutoff_hz, beta: One-Euro settings on quaternion components (unit-less, so beta is per 1/s).
        min_chirality_m: how clearly (metres, see :func:`hand_chirality`) a hand's 3-D shape must be the other
            side's before it is reflected in depth (see :meth:`HandSolver.observe`).
    """

    hold_s: float = 0.5
    ease_s: float = 1.0
    drive_wrist: bool = True
    hand_max_deg: float = 80.0
    filter: bool = True
    min_cutoff_hz: float = 2.0
    beta: float = 0.5
    min_chirality_m: float = 0.008


# ----------------------------------------------------------------------------------------- sides


def hand_chirality(world_xyz_m: FloatArray) -> float:
    """Which hand the 3-D landmarks are shaped like, metres: < 0 a left hand, > 0 a right hand, ≈ 0 a flat hand
    (undecided).

    The palm normal ``(index knuckle − wrist) × (little knuckle − wrist)`` points to the back of a left hand and
    to the palm of a right one; fingers and thumb curl toward the palm. The value is the mean of (tip − knuckle)
    over the five fingers along that normal. Any frame without reflection gives the same sign (MediaPipe's and
    the rig's alike).
    """
    p = np.asarray(world_xyz_m, dtype=np.float64)
    n = np.cross(p[H.INDEX_MCP] - p[H.WRIST], p[H.PINKY_MCP] - p[H.WRIST])
    n = n / max(float(np.linalg.norm(n)), 1e-12)
    tips = p[[H.THUMB_TIP, H.INDEX_TIP, H.MIDDLE_TIP, H.RING_TIP, H.PINKY_TIP]]
    knuckles = p[[H.THUMB_MCP, H.INDEX_MCP, H.MIDDLE_MCP, H.RING_MCP, H.PINKY_MCP]]
    return float(np.mean((tips - knuckles) @ n))


def _side_without_pose(hand: HandObservation, min_chirality_m: float = 0.005) -> str:
    """The person's side of a hand found without a pose: its 3-D shape, else MediaPipe's label.

    Measured with mediapipe 1.2.2 on plain (unmirrored) video, Pose2Sim cam04 (the subject facing the camera):
    the label, the pose's wrist and the landmarks' 3-D shape named the same hand on 50 of 50 frames — the label
    names the person's own hand, not the mirrored one MediaPipe's documentation describes.
    """
    c = hand_chirality(hand.world_xyz_m)
    if abs(c) >= min_chirality_m:
        return "Left" if c < 0 else "Right"
    return "Right" if hand.label == "Right" else "Left"


def assign_sides(hands: HandsResult | None, pose: LandmarkFrame) -> dict[str, HandObservation]:
    """The person's "Left"/"Right" hand among ``hands``, decided with the pose's wrists when there is a person.

    Distances are measured in pixels of the source image; a hand whose wrist is farther than
    ``0.6 × forearm`` (at least 3 % of the image's larger side) from the pose wrist it would belong to is not
    that side's hand.
    """
    if hands is None or not hands.hands:
        return {}
    if not pose.person:
        out: dict[str, HandObservation] = {}
        for h in sorted(hands.hands, key=lambda h: -h.score):
            out.setdefault(_side_without_pose(h), h)
        return out
    size = np.asarray(pose.image_size, dtype=np.float64)
    px = pose.image_xy * size
    wrists = {"Left": px[L.LEFT_WRIST], "Right": px[L.RIGHT_WRIST]}
    limit = {
        "Left": max(0.6 * float(np.linalg.norm(px[L.LEFT_WRIST] - px[L.LEFT_ELBOW])), 0.03 * float(size.max())),
        "Right": max(0.6 * float(np.linalg.norm(px[L.RIGHT_WRIST] - px[L.RIGHT_ELBOW])), 0.03 * float(size.max())),
    }
    cands = list(hands.hands)
    dist = {(k, s): float(np.linalg.norm(h.image_xy[H.WRIST] * size - wrists[s])) for k, h in enumerate(cands)
            for s in SIDES}  # fmt: skip
    best: dict[str, HandObservation] = {}
    best_cost = np.inf
    # Every assignment of up to two hands to the two sides; the most matches first, then the smallest distance.
    options: list[dict[str, int]] = [{}]
    for k in range(len(cands)):
        for s in SIDES:
            options.append({s: k})
            for k2 in range(len(cands)):
                if k2 != k:
                    options.append({s: k, ("Right" if s == "Left" else "Left"): k2})
    for opt in options:
        if any(dist[(k, s)] > limit[s] for s, k in opt.items()):
            continue
        cost = sum(dist[(k, s)] for s, k in opt.items()) - 1e6 * len(opt)
        if cost < best_cost:
            best_cost = cost
            best = {s: cands[k] for s, k in opt.items()}
    return best


# ----------------------------------------------------------------------------------------- geometry


def _unit(v: FloatArray) -> FloatArray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


class HandGeometry:
    """Rest directions of one avatar hand (rig frame), computed once from the rig.

    Raises KeyError if the rig lacks one of the hand's finger bones (see :func:`rig_has_fingers`).
    """

    def __init__(self, rig: Rig, side: str) -> None:
        self.side = side
        rest = rig.rest_world_m
        idx = rig.index
        self.hand = idx(f"{side}Hand")
        self.lower_arm = idx(f"{side}LowerArm")
        self.bones = [idx(b) for b in finger_bones(side)]

        def joint(name: str) -> FloatArray:
            return rest[idx(name)]

        def tip(name: str) -> FloatArray:
            if name in rig.tails_m:
                return rest[idx(name)] + rig.tails_m[name]
            parent = rig.parent_of(name)
            assert parent is not None
            return rest[idx(name)] + (rest[idx(name)] - rest[idx(parent)])

        # rest[f] (4, 3): the joints of the finger's three bones, then its tip, as the landmarks list them.
        self.rest_points = {
            f: np.stack([joint(f"{side}{f}{s}") for s in SEGMENTS] + [tip(f"{side}{f}Distal")]) for f in FINGERS
        }
        wrist = joint(f"{side}Hand")
        index, middle, little = (self.rest_points[f][0] for f in ("Index", "Middle", "Little"))
        self.palm_rest = (middle - wrist, index - little)
        self.normal_rest = np.cross(index - wrist, little - wrist)


def rig_has_fingers(rig: Rig, side: str) -> bool:
    """Whether ``rig`` has every finger bone of ``side`` (and the hand and forearm)."""
    return all(rig.has(b) for b in (*finger_bones(side), f"{side}Hand", f"{side}LowerArm"))


def solve_hand(geometry: HandGeometry, xyz: FloatArray) -> tuple[FloatArray, FloatArray]:
    """One hand's rotations from its landmarks.

    Args:
        geometry: the avatar hand's rest geometry.
        xyz: (21, 3) or (T, 21, 3) float, rig frame (see :func:`~bridge.core.frames.mediapipe_to_rig`), any origin
        and scale.

    Returns:
        palm_world: (3, 3) or (T, 3, 3): the hand bone's world rotation as the landmarks show it (rig frame).
        finger_local: (15, 3, 3) or (T, 15, 3, 3): local rotations of :func:`finger_bones` (in that order),
            each relative to its parent bone (the proximal bones relative to the hand as the landmarks show it).
    """
    p = np.asarray(xyz, dtype=np.float64)
    single = p.ndim == 2
    if single:
        p = p[None]
    wrist = p[:, H.WRIST]
    index, middle, little = p[:, H.INDEX_MCP], p[:, H.MIDDLE_MCP], p[:, H.PINKY_MCP]
    across = index - little
    palm = align_two(middle - wrist, across, *geometry.palm_rest)
    normal = np.cross(index - wrist, little - wrist)
    locals_: list[FloatArray] = []
    for f in FINGERS:
        pts = p[:, list(FINGER_POINTS[f])]  # (T, 4, 3)
        rest = geometry.rest_points[f]
        sec_obs, sec_rest = (normal, geometry.normal_rest) if f == "Thumb" else (across, geometry.palm_rest[1])
        parent = palm
        for k in range(3):
            world = align_two(pts[:, k + 1] - pts[:, k], sec_obs, rest[k + 1] - rest[k], sec_rest)
            locals_.append(np.swapaxes(parent, -1, -2) @ world)
            parent = world
    finger_local = np.stack(locals_, axis=1)
    if single:
        return palm[0], finger_local[0]
    return palm, finger_local


def finger_flexion_deg(finger_local: FloatArray) -> FloatArray:
    """(..., 15) rotation angles in degrees of (..., 15, 3, 3) finger local rotations (0 = rest, open hand)."""
    tr = np.trace(finger_local, axis1=-2, axis2=-1)
    return np.asarray(np.degrees(np.arccos(np.clip((tr - 1.0) / 2.0, -1.0, 1.0))), dtype=np.float64)


# ----------------------------------------------------------------------------------------- stateful stage


def _clamp(rotation: Rotation, max_rad: float) -> Rotation:
    rv = rotation.as_rotvec()
    n = float(np.linalg.norm(rv))
    return Rotation.from_rotvec(rv * (max_rad / n)) if n > max_rad else rotation


class _SideState:
    def __init__(self, config: HandConfig) -> None:
        self.last_q: FloatArray | None = None  # (16, 4): hand, then the 15 fingers
        self.lost_since: float | None = None
        self.last_t: float | None = None
        self.filter = OneEuroFilter(config.min_cutoff_hz, config.beta) if config.filter else None


class HandSolver:
    """Applies the hands of each frame to the body's pose: finger bones (and the hand bone) of both sides.

    Sides the rig has no finger bones for are skipped. Call once per frame, in order, after the body solver.
    """

    def __init__(self, rig: Rig, config: HandConfig = HandConfig()) -> None:
        self.rig = rig
        self.config = config
        self.geometry = {s: HandGeometry(rig, s) for s in SIDES if rig_has_fingers(rig, s)}
        self._state = {s: _SideState(config) for s in self.geometry}

    def observe(self, frame: LandmarkFrame) -> dict[str, FloatArray]:
        """The hands of ``frame`` as (21, 3) rig-frame points by side (the avatar's, after
        the mirror stage where it ran: the person's side otherwise).

        Depth check: a single camera cannot always tell a palm facing it from a back facing it; a wrong guess
        reflects the hand in depth and turns a left hand's shape into a right hand's, so its fingers would bend
        backwards. A hand whose 3-D shape (:func:`hand_chirality`, beyond ``min_chirality_m``) is not the shape
        of the person's side it was given is reflected in depth (MediaPipe z) about its wrist.
        """
        out: dict[str, FloatArray] = {}
        for side, h in assign_sides(frame.hands, frame).items():
            xyz = np.array(h.world_xyz_m, dtype=np.float64)
            c = hand_chirality(xyz)
            if abs(c) >= self.config.min_chirality_m and (c < 0) != (side == "Left"):
                xyz[:, 2] = 2.0 * xyz[H.WRIST, 2] - xyz[:, 2]
            out[side] = mediapipe_to_rig(xyz)
        return out

    def __call__(self, frame: LandmarkFrame, pose: BonePose) -> BonePose:
        """``pose`` with the hands of ``frame`` applied (a new BonePose; ``pose`` itself is not changed)."""
        if frame.hands is None or not self.geometry:
            return pose
        hands = self.observe(frame)
        quats = pose.local_rotations.as_quat().copy()
        state = pose.bone_state.copy()
        _, world = pose.world()
        cfg = self.config
        for side, geom in self.geometry.items():
            st = self._state[side]
            rows = [geom.hand, *geom.bones]
            obs = hands.get(side)
            if obs is not None:
                palm, fingers = solve_hand(geom, obs)
                q = np.empty((16, 4))
                if cfg.drive_wrist and state[geom.lower_arm] != BoneState.REST:
                    hand_local = _clamp(Rotation.from_matrix(world[geom.lower_arm].T @ palm),
                                        np.radians(cfg.hand_max_deg))  # fmt: skip
                    q[0] = hand_local.as_quat()
                else:
                    q[0] = quats[geom.hand]
                q[1:] = Rotation.from_matrix(fingers).as_quat()
                if st.last_q is not None:  # same hemisphere as before: filtering and slerp go the short way
                    q *= np.where(np.einsum("ij,ij->i", q, st.last_q) < 0, -1.0, 1.0)[:, None]
                if st.filter is not None:
                    if st.lost_since is not None or st.last_t is None or frame.t_s <= st.last_t:
                        st.filter.reset()  # a new appearance (or time went back): start from this sample
                    q = st.filter(frame.t_s, q)
                    q /= np.linalg.norm(q, axis=1, keepdims=True)
                st.last_t = frame.t_s
                st.last_q = q
                st.lost_since = None
                quats[rows] = q
                state[rows] = BoneState.TRACKED
            elif st.last_q is not None:
                if st.lost_since is None:
                    st.lost_since = frame.t_s
                w = float(np.clip((frame.t_s - st.lost_since - cfg.hold_s) / max(cfg.ease_s, 1e-6), 0.0, 1.0))
                held = Rotation.from_quat(st.last_q)
                eased = Rotation.from_rotvec(held.as_rotvec() * (1.0 - w))
                # The fingers ease to rest; the hand bone from its held rotation to what the body solver gives it.
                quats[rows[1:]] = eased.as_quat()[1:]
                state[rows[1:]] = BoneState.HELD if w == 0.0 else BoneState.REST
                if cfg.drive_wrist:
                    body = Rotation.from_quat(quats[geom.hand])
                    back = (body.inv() * held[0]).as_rotvec() * (1.0 - w)
                    quats[geom.hand] = (body * Rotation.from_rotvec(back)).as_quat()
                if w >= 1.0:
                    st.last_q = None
        return BonePose(
            t_s=pose.t_s,
            rig=pose.rig,
            hips_position_m=pose.hips_position_m,
            local_rotations=Rotation.from_quat(quats),
            bone_state=state,
            tracking=pose.tracking,
            flags=pose.flags,
        )


def hand_landmarks_from_pose(pose: BonePose, side: str) -> FloatArray:
    """(21, 3) synthetic hand world landmarks (MediaPipe frame, metres, origin at the middle knuckle) of a posed
    rig's ``side`` hand: the inverse of the solve, for known-answer tests."""
    pos, rot = pose.world()
    rig = pose.rig
    out = np.zeros((21, 3))
    out[H.WRIST] = pos[rig.index(f"{side}Hand")]
    for f in FINGERS:
        pts = FINGER_POINTS[f]
        for k, s in enumerate(SEGMENTS):
            out[pts[k]] = pos[rig.index(f"{side}{f}{s}")]
        distal = rig.index(f"{side}{f}Distal")
        tail = rig.tails_m.get(f"{side}{f}Distal", rig.offsets_m[distal])
        out[pts[3]] = pos[distal] + rot[distal] @ tail
    out -= out[H.MIDDLE_MCP]
    return rig_to_mediapipe(out)
