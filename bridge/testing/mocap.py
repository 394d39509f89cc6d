"""Real motion capture (BVH) as the 33 MediaPipe landmarks a camera would report: ground truth for tests.

:func:`mocap_landmarks` runs forward kinematics on a BVH clip, maps its joints to the 33 BlazePose landmarks,
synthesises the points mocap skeletons lack (face, hand knuckles, heels) from the world **rotations** of the
joints they belong to (so they turn rigidly with the body), and expresses everything the way MediaPipe
reports a person seen by a virtual camera (:class:`~bridge.testing.virtual_camera.VirtualCamera`):

* ``world_xyz_m``: MediaPipe world frame: x to the image's right, y down, z away from the camera, origin at
  the midpoint of LEFT_HIP and RIGHT_HIP in every frame, metres.
* ``image_xy``: MediaPipe normalised image coordinates through the virtual pinhole camera.

Frames and units found in the BVH files this was built against (``/usr/share/assimp/models/BVH``):

* CMU conversions ``01_01.bvh`` (2752 frames), ``01_03.bvh`` (4511 frames): 120 fps (Frame Time .0083333),
  Y up, floor at y = 0, rest pose faces +Z with the subject's left at +X. Frame 0 is a T-pose (arms
  horizontal, palms down) that the converter prepends, every rotation zero, at the clip's start position;
  the captured motion starts at frame 1 (in 01_03 the subject then faces about 100° away from frame 0).
  Length unit: the CMU ASF unit ``length 0.45``, i.e. 1/0.45 inch, so **metres = units × 0.0254 / 0.45 =
  units × 0.056444** (the factor the CMU FAQ gives and dm_control uses). Checked: thigh 0.40 m and shank
  0.42 m, frame-0 head end site 1.54 m above the floor (the CMU head bone ends a few cm below the crown),
  feet reach y ≈ 0: a 1.55–1.6 m adult.
* ``Boxing_Toes.bvh`` (3069 frames declared, 3070 lines): 100 fps, centimetres (head end site at 1.71 m),
  Y up, floor at y = 0, rest pose faces +Z with the left at +X; the clip starts in a guard stance facing -Z.

Units are detected per file (:func:`guess_units_to_m`) and can be given explicitly.

What this is not: a model of MediaPipe's errors. The landmarks are exact joint centres (MediaPipe's hips sit
wider and higher than the hip joints), noise-free and all visible; add noise or occlusion in the test that
needs it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError
from bridge.core.landmarks import NUM_LANDMARKS, SWAP_LEFT_RIGHT, LandmarkFrame, PoseLandmark
from bridge.export.bvh_file import BvhMotion, BvhSkeleton, FrameSelection
from bridge.export.bvh_kinematics import bvh_forward_kinematics, bvh_rest_positions
from bridge.testing.virtual_camera import VirtualCamera

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

L = PoseLandmark

#: Metres per file unit of known mocap length units, tried by :func:`guess_units_to_m`.
KNOWN_UNITS_TO_M: dict[str, float] = {
    "m": 1.0,
    "cm": 0.01,
    "mm": 0.001,
    "inch": 0.0254,
    "cmu": 0.0254 / 0.45,  # CMU ASF "length 0.45": one unit is 1/0.45 inch = 0.056444 m
}

#: Typical adult standing height used to pick units and to size the synthesised face/hand/heel points.
REFERENCE_HEIGHT_M = 1.70

#: Skeleton roles → candidate BVH joint names, tried in order ("{S}" is "Left"/"Right", "{s}" "L"/"R").
#: Order matters: CMU has both ``LeftShoulder`` (the clavicle) and ``LeftArm`` (the shoulder joint).
ROLE_CANDIDATES: dict[str, tuple[str, ...]] = {
    "hip": ("{S}UpLeg", "{S}Hip", "{S}Thigh", "{S}UpperLeg", "{s}Thigh"),
    "knee": ("{S}Leg", "{S}Knee", "{S}Shin", "{S}LowerLeg", "{S}LowLeg", "{s}Shin"),
    "ankle": ("{S}Foot", "{S}Ankle"),
    "toe": ("{S}ToeBase", "{S}Toes", "{S}Toe", "{s}Toe"),
    "shoulder": ("{S}Arm", "{S}UpArm", "{S}UpperArm", "{S}Shoulder", "{s}Shldr"),
    "elbow": ("{S}ForeArm", "{S}Elbow", "{S}LowerArm", "{S}LowArm", "{s}ForeArm"),
    "wrist": ("{S}Hand", "{S}Wrist", "{s}Hand"),
}
#: Roles without a side. The neck base is the first ``Neck*`` joint that does not sit on its parent (CMU's
#: ``Neck`` has a zero offset and coincides with ``Spine1``; its ``Neck1`` starts the neck).
CENTRE_ROLE_CANDIDATES: dict[str, tuple[str, ...]] = {
    "neck": ("Neck", "Neck1", "Neck2", "LowerNeck"),
    "head": ("Head",),
}

#: Keys of :attr:`MocapLandmarks.joints_m`.
JOINT_KEYS: tuple[str, ...] = (
    "pelvis", "hips_mid",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_toe", "right_toe",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "neck_base", "head", "head_centre", "head_top",
)  # fmt: skip

# ----- synthesised points: offsets in metres for a REFERENCE_HEIGHT_M adult, scaled by height/REFERENCE. -----
# Face points relative to the head centre (midpoint of the head joint and its end site, about ear/eye level),
# in body axes (left, up, forward) of the rest pose, carried by the head joint's world rotation. Left side
# written; the right side mirrors "left". Values: adult head ~15 cm wide at the ears, eyes 6.4 cm apart.
_FACE_BODY_M: dict[PoseLandmark, tuple[float, float, float]] = {
    L.NOSE: (0.0, -0.025, 0.105),
    L.LEFT_EYE_INNER: (0.017, 0.005, 0.085),
    L.LEFT_EYE: (0.032, 0.005, 0.082),
    L.LEFT_EYE_OUTER: (0.047, 0.005, 0.075),
    L.LEFT_EAR: (0.075, -0.005, 0.0),
    L.MOUTH_LEFT: (0.025, -0.065, 0.088),
}
# Hand points relative to the wrist joint in the hand's rest axes (along = elbow→wrist, thumb side = body
# forward in the T-pose with palms down, palm = body down), carried by the wrist joint's world rotation.
# MediaPipe's INDEX/PINKY sit on the knuckle line (MCP joints) either side of the hand, THUMB near its tip.
_HAND_M: dict[str, tuple[float, float, float]] = {  # (along, thumb side, palm side)
    "INDEX": (0.085, 0.025, 0.0),
    "PINKY": (0.075, -0.030, 0.0),
    "THUMB": (0.060, 0.050, 0.010),
}
# Heel relative to the ankle joint in body axes (left, up, forward): behind and below it, near the sole.
_HEEL_BODY_M = (0.0, -0.05, -0.06)
# Foot index when the skeleton has no toe joint: ahead of and below the ankle.
_TOE_FALLBACK_BODY_M = (0.0, -0.06, 0.15)


@dataclass(frozen=True, eq=False)
class MocapLandmarks:
    """A mocap clip seen as MediaPipe landmarks, with its ground-truth joints.

    Attributes:
        t_s: (T,) float, seconds: clip time of each frame (BVH frame index × frame time).
        frame_indices: (T,) int: the BVH frame each row comes from.
        world_xyz_m: (T, 33, 3) float, MediaPipe world frame (x right in the image, y down, z away from the
            virtual camera), origin at the midpoint of LEFT_HIP and RIGHT_HIP in each frame, metres.
        image_xy: (T, 33, 2) float, MediaPipe normalised image coordinates (x right, y down, 0..1 inside
            the image) through :attr:`camera`; may leave [0, 1] when a point is outside the image.
        visibility: (T, 33) float: 1.0, except 0.0 for points less than 5 cm in front of the camera (the
            subject walked past it), whose ``image_xy`` is then meaningless.
        in_image: (T, 33) bool: in front of the camera and inside the image.
        joints_m: ground-truth joints, each (T, 3) float in the same frame as ``world_xyz_m``; keys
            :data:`JOINT_KEYS`: ``pelvis`` (the BVH root joint), ``hips_mid`` (the origin, zeros),
            ``left_/right_`` ``hip knee ankle toe shoulder elbow wrist`` (the mapped BVH joints; ``toe`` is
            the toe joint, the ball of the foot), ``neck_base`` (the joint where the neck leaves the torso),
            ``head`` (the head joint, where the skull turns on the neck), ``head_centre`` (about ear level,
            the centre of the face points), ``head_top`` (the head's end site).
        hips_camera_m: (T, 3) float, camera frame (x right, y down, z along the optical axis), metres: where
            the hips midpoint is; ``world_xyz_m + hips_camera_m[:, None]`` are camera-frame points.
        axes_from_bvh: (3, 3) float: rotation taking BVH-frame directions to MediaPipe-frame directions
            (``v_mp = axes_from_bvh @ v_bvh``); fixed for the clip.
        camera: the virtual camera.
        units_to_m: metres per BVH length unit used.
        joint_names: role key → the BVH joint it was taken from (e.g. ``"left_wrist": "LeftHand"``).
        height_m: estimated standing height of the subject (rest pose, legs straight), metres.
        source: the BVH file.
    """

    t_s: FloatArray
    frame_indices: IntArray
    world_xyz_m: FloatArray
    image_xy: FloatArray
    visibility: FloatArray
    in_image: npt.NDArray[np.bool_]
    joints_m: dict[str, FloatArray]
    hips_camera_m: FloatArray
    axes_from_bvh: FloatArray
    camera: VirtualCamera
    units_to_m: float
    joint_names: dict[str, str] = field(default_factory=dict)
    height_m: float = float("nan")
    source: str = "<bvh>"

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    def camera_xyz_m(self) -> FloatArray:
        """(T, 33, 3) float, camera frame (x right, y down, z along the optical axis), metres."""
        return self.world_xyz_m + self.hips_camera_m[:, None, :]


# ------------------------------------------------------------------------------------------ skeleton roles


def _lm(name: str) -> int:
    """Index of the landmark called ``name``."""
    return int(PoseLandmark[name])


def _find_joint(skeleton: BvhSkeleton, candidates: tuple[str, ...]) -> str | None:
    lower = {n.split(":")[-1].lower(): n for n in skeleton.names}
    for c in candidates:
        if c.lower() in lower:
            return lower[c.lower()]
    return None


def skeleton_roles(skeleton: BvhSkeleton, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Which BVH joint plays each role: keys ``left_hip`` … ``right_wrist``, ``left_toe``/``right_toe``
    (optional), ``neck``, ``head``.

    Joint names are matched case-insensitively, ignoring a ``namespace:`` prefix. ``overrides`` maps role keys
    to joint names for skeletons with other naming.

    Raises:
        BridgeError: a required role has no joint; the message lists the skeleton's joints.
    """
    roles: dict[str, str] = {}
    missing: list[str] = []
    for role, pattern in ROLE_CANDIDATES.items():
        for side, s in (("Left", "L"), ("Right", "R")):
            key = f"{side.lower()}_{role}"
            name = _find_joint(skeleton, tuple(p.format(S=side, s=s) for p in pattern))
            if name is not None:
                roles[key] = name
            elif role != "toe":
                missing.append(key)
    necks = [n for c in CENTRE_ROLE_CANDIDATES["neck"] if (n := _find_joint(skeleton, (c,))) is not None]
    neck = next((n for n in necks if float(np.linalg.norm(skeleton.offsets[skeleton.index(n)])) > 1e-9), None)
    neck = neck or (necks[0] if necks else None)
    if neck is not None:
        roles["neck"] = neck
    else:
        missing.append("neck")
    head = _find_joint(skeleton, CENTRE_ROLE_CANDIDATES["head"])
    if head is not None:
        roles["head"] = head
    else:
        missing.append("head")
    for key, name in (overrides or {}).items():
        if not skeleton.has(name):
            raise BridgeError(f"mocap role {key} names joint {name!r}, which the BVH skeleton does not have")
        roles[key] = name
        if key in missing:
            missing.remove(key)
    if missing:
        raise BridgeError(
            f"BVH skeleton has no joint for {', '.join(missing)} (joints: {', '.join(skeleton.names)}); "
            "pass roles={...} naming them"
        )
    return roles


# ------------------------------------------------------------------------------------------------- geometry


def _unit(v: FloatArray) -> FloatArray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.asarray(v / np.where(n > 1e-12, n, 1.0), dtype=np.float64)


@dataclass(frozen=True)
class _RestFrame:
    """Body axes of the rest pose in BVH coordinates, and the world's up axis."""

    left: FloatArray  # (3,) unit
    up: FloatArray  # (3,) unit: = world_up
    forward: FloatArray  # (3,) unit, left × up
    world_up: FloatArray  # (3,) unit: the file axis nearest the rest torso's up (the floor normal)
    height_units: float  # standing height estimate, file units


def _rest_frame(skeleton: BvhSkeleton, roles: Mapping[str, str]) -> _RestFrame:
    rest, ends = bvh_rest_positions(skeleton)

    def at(role: str) -> FloatArray:
        return rest[skeleton.index(roles[role])]

    # The rest pose stands upright along a file axis (Y in every BVH seen): that axis is "up", for the body
    # axes and for the floor. (CMU's rest spine leans back 7° from it; the world axis is the better "up".)
    torso_up = at("neck") - 0.5 * (at("left_hip") + at("right_hip"))
    axis = int(np.argmax(np.abs(torso_up)))
    world_up = np.zeros(3)
    world_up[axis] = np.sign(torso_up[axis])
    left_raw = (at("left_hip") - at("right_hip")) + (at("left_shoulder") - at("right_shoulder"))
    left = _unit(left_raw - (left_raw @ world_up) * world_up)
    up = world_up
    forward = np.cross(left, up)
    head = skeleton.index(roles["head"])
    top = ends.get(roles["head"], rest[head])
    height = 0.0
    for side in ("left", "right"):
        hip, knee, ankle = at(f"{side}_hip"), at(f"{side}_knee"), at(f"{side}_ankle")
        toe = rest[skeleton.index(roles[f"{side}_toe"])] if f"{side}_toe" in roles else ankle
        ankle_height = max(float((ankle - toe) @ world_up), 0.0)
        leg = float(np.linalg.norm(knee - hip) + np.linalg.norm(ankle - knee)) + ankle_height
        height = max(height, leg + float((top - hip) @ world_up))
    return _RestFrame(left=left, up=up, forward=forward, world_up=world_up, height_units=height)


def guess_units_to_m(skeleton: BvhSkeleton, roles: Mapping[str, str] | None = None) -> tuple[float, str]:
    """Metres per BVH unit, and the unit's name: the known unit that makes the subject closest to 1.70 m.

    The rest-pose standing height (legs straightened: thigh + shank + ankle height above the toes, plus the
    head end site's height above the hip joint) is measured in file units and each of
    :data:`KNOWN_UNITS_TO_M` tried; the one with the smallest ``|log(height / 1.70 m)|`` wins. For the CMU
    files (26.55 units) that is the CMU unit (1.50 m; inches would make 0.67 m), for Boxing_Toes (173.3
    units) centimetres (1.73 m).
    """
    rf = _rest_frame(skeleton, roles or skeleton_roles(skeleton))
    if not rf.height_units > 0:
        raise BridgeError("BVH skeleton has no height (head not above the feet); pass units_to_m explicitly")
    name = min(KNOWN_UNITS_TO_M, key=lambda k: abs(math.log(rf.height_units * KNOWN_UNITS_TO_M[k] / 1.70)))
    return KNOWN_UNITS_TO_M[name], name


def _rotation_about(axis_unit: FloatArray, angle_rad: float) -> FloatArray:
    """(3, 3) right-handed rotation by ``angle_rad`` about ``axis_unit``."""
    k = axis_unit
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.asarray(np.eye(3) + math.sin(angle_rad) * kx + (1.0 - math.cos(angle_rad)) * (kx @ kx))


# ------------------------------------------------------------------------------------------ landmark synthesis


@dataclass(frozen=True, eq=False)
class _Posed:
    """Forward kinematics of the selected frames in metres, BVH axes, with what the synthesised points need."""

    skeleton: BvhSkeleton
    roles: Mapping[str, str]
    rest: _RestFrame
    pos: FloatArray  # (T, J, 3) metres, BVH axes: joint positions
    rot: FloatArray  # (T, J, 3, 3): joint world rotations
    ends: dict[str, FloatArray]  # joint name → (T, 3) metres, BVH axes: its End Site
    rest_pos: FloatArray  # (J, 3) file units, BVH axes: rest-pose joint positions
    units_to_m: float
    height_m: float
    scale: float  # height_m / REFERENCE_HEIGHT_M: the factor of the synthesised offsets
    body: FloatArray  # (3, 3): columns are the rest body axes (left, up, forward) in BVH coords

    def j(self, role: str) -> int:
        """Index of the joint playing ``role``."""
        return self.skeleton.index(self.roles[role])

    def carried(self, joint: int, offset_bvh_m: FloatArray) -> FloatArray:
        """(T, 3): joint position plus its world rotation applied to a rest-pose offset (BVH axes, metres)."""
        return self.pos[:, joint] + self.rot[:, joint] @ offset_bvh_m


def _posed(
    motion: BvhMotion, idx: IntArray, role_map: Mapping[str, str], rf: _RestFrame, units_to_m: float
) -> _Posed:
    """Forward kinematics of frames ``idx`` scaled to metres, and the subject's size and rest body axes."""
    sk = motion.skeleton
    pose = bvh_forward_kinematics(motion, idx)
    pos = pose.positions * units_to_m  # (T, J, 3) metres, BVH axes
    rot = pose.rotations  # (T, J, 3, 3)
    ends = {k: v * units_to_m for k, v in pose.end_sites.items()}
    rest_pos, _ = bvh_rest_positions(sk)
    height_m = rf.height_units * units_to_m
    s = height_m / REFERENCE_HEIGHT_M
    body = np.stack([rf.left, rf.up, rf.forward], axis=1)  # columns: body axes in BVH coords
    return _Posed(
        skeleton=sk, roles=role_map, rest=rf, pos=pos, rot=rot, ends=ends, rest_pos=rest_pos,
        units_to_m=units_to_m, height_m=height_m, scale=s, body=body,
    )  # fmt: skip


def _limb_joints(p: _Posed, side: str, lm: FloatArray, joints: dict[str, FloatArray]) -> None:
    """SHOULDER, ELBOW, WRIST, HIP, KNEE, ANKLE of one side (``"LEFT"``/``"RIGHT"``): the mapped joints."""
    low = side.lower()
    for role, mark in (
        ("shoulder", "SHOULDER"), ("elbow", "ELBOW"), ("wrist", "WRIST"),
        ("hip", "HIP"), ("knee", "KNEE"), ("ankle", "ANKLE"),
    ):  # fmt: skip
        lm[:, _lm(f"{side}_{mark}")] = p.pos[:, p.j(f"{low}_{role}")]
        joints[f"{low}_{role}"] = p.pos[:, p.j(f"{low}_{role}")]


def _foot_points(p: _Posed, side: str, lm: FloatArray, joints: dict[str, FloatArray]) -> None:
    """HEEL and FOOT_INDEX of one side, and its ``toe`` joint (the toe joint, else a point ahead of the ankle)."""
    low = side.lower()
    ankle = p.j(f"{low}_ankle")
    lm[:, _lm(f"{side}_HEEL")] = p.carried(ankle, p.body @ (np.array(_HEEL_BODY_M) * p.scale))
    toe_name = p.roles.get(f"{low}_toe")
    if toe_name is not None:
        joints[f"{low}_toe"] = p.pos[:, p.skeleton.index(toe_name)]
        tip = p.ends.get(toe_name)
        lm[:, _lm(f"{side}_FOOT_INDEX")] = tip if tip is not None else p.pos[:, p.skeleton.index(toe_name)]
    else:
        toe_pt = p.carried(ankle, p.body @ (np.array(_TOE_FALLBACK_BODY_M) * p.scale))
        joints[f"{low}_toe"] = toe_pt
        lm[:, _lm(f"{side}_FOOT_INDEX")] = toe_pt


def _hand_points(p: _Posed, side: str, lm: FloatArray) -> None:
    """INDEX, PINKY and THUMB of one side, carried by the wrist joint."""
    low = side.lower()
    # Hand axes at rest: along the forearm, thumb toward body forward, palm toward body down.
    wrist, elbow = p.j(f"{low}_wrist"), p.j(f"{low}_elbow")
    along = _unit(p.rest_pos[wrist] - p.rest_pos[elbow])
    thumb = _unit(p.rest.forward - (p.rest.forward @ along) * along)
    palm = np.cross(along, thumb)
    if palm @ p.rest.up > 0:
        palm = -palm
    for name, (da, dt, dp) in _HAND_M.items():
        off = (da * along + dt * thumb + dp * palm) * p.scale
        lm[:, _lm(f"{side}_{name}")] = p.carried(wrist, off)


def _face_points(p: _Posed, lm: FloatArray, joints: dict[str, FloatArray]) -> None:
    """Face landmarks, carried by the head joint around the head centre; the trunk and head joints."""
    mirror = np.array([-1.0, 1.0, 1.0])
    head = p.j("head")
    head_end = p.skeleton.end_sites.get(p.roles["head"])
    centre_off = 0.5 * head_end * p.units_to_m if head_end is not None else p.rest.up * 0.10 * p.scale
    for face_mark, off_body in _FACE_BODY_M.items():
        o = np.array(off_body) * p.scale
        lm[:, int(face_mark)] = p.carried(head, centre_off + p.body @ o)
        lm[:, int(SWAP_LEFT_RIGHT[face_mark])] = p.carried(head, centre_off + p.body @ (o * mirror))
    joints["pelvis"] = p.pos[:, 0]
    joints["neck_base"] = p.pos[:, p.j("neck")]
    joints["head"] = p.pos[:, head]
    joints["head_centre"] = p.carried(head, centre_off)
    joints["head_top"] = (
        p.carried(head, head_end * p.units_to_m) if head_end is not None else p.carried(head, 2 * centre_off)
    )


def _landmarks(p: _Posed) -> tuple[FloatArray, dict[str, FloatArray]]:
    """(T, 33, 3) landmarks and the ground-truth joints (by :data:`JOINT_KEYS`, less ``hips_mid``), metres, BVH
    axes."""
    lm = np.zeros((p.pos.shape[0], NUM_LANDMARKS, 3))
    joints: dict[str, FloatArray] = {}
    for side in ("LEFT", "RIGHT"):
        _limb_joints(p, side, lm, joints)
        _foot_points(p, side, lm, joints)
        _hand_points(p, side, lm)
    _face_points(p, lm, joints)
    return lm, joints


def _start_left(
    lm: FloatArray, idx: IntArray, motion: BvhMotion, up_w: FloatArray, facing_window_s: float
) -> FloatArray:
    """(3,) unit, BVH axes: the subject's left at the start, from the hip and shoulder lines, made horizontal."""
    n_win = max(1, int(np.count_nonzero((idx - idx[0]) * motion.frame_time_s <= facing_window_s + 1e-9)))
    left_raw = (lm[:n_win, L.LEFT_HIP] - lm[:n_win, L.RIGHT_HIP]) + (
        lm[:n_win, L.LEFT_SHOULDER] - lm[:n_win, L.RIGHT_SHOULDER]
    )
    left_per_frame = _unit(left_raw - (left_raw @ up_w)[:, None] * up_w)
    # Median of the per-frame directions: robust to a stray frame such as CMU's synthetic T-pose frame 0.
    left_h = np.median(left_per_frame, axis=0)
    if np.linalg.norm(left_h) < 1e-6:
        raise BridgeError(f"cannot tell which way the subject faces at the start of {motion.source}")
    return _unit(left_h)


def _camera_frame(
    camera: VirtualCamera, left_h: FloatArray, up_w: FloatArray, hips_mid: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Where the camera stands and looks: ``(axes, hips_camera_m)``, the (3, 3) camera axes in BVH coords (rows;
    ``v_mp = axes @ v_bvh``) and the (T, 3) hips midpoint in the camera frame, metres."""
    forward_h = np.cross(left_h, up_w)
    toward_cam = _rotation_about(up_w, math.radians(camera.yaw_deg)) @ forward_h  # subject → camera
    anchor = hips_mid if camera.follow else hips_mid[:1]
    start = anchor - (anchor @ up_w)[:, None] * up_w  # on the floor (the BVH's up = 0 plane); (T or 1, 3)
    cam_pos = start + camera.distance_m * toward_cam + camera.height_m * up_w
    z_c = -toward_cam
    y_c = -up_w
    x_c = np.cross(y_c, z_c)
    axes = np.stack([x_c, y_c, z_c])  # rows: camera axes in BVH coords → v_mp = axes @ v_bvh
    return axes, (hips_mid - cam_pos) @ axes.T


def _in_view(
    camera: VirtualCamera, cam_pts: FloatArray
) -> tuple[FloatArray, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """``(image_xy, in_front, in_image)`` of (T, 33, 3) camera-frame points (see :class:`MocapLandmarks`)."""
    near = 0.05
    image_xy = camera.project(cam_pts, near_m=near)
    in_front = cam_pts[..., 2] > near
    in_image = in_front & np.all((image_xy >= 0.0) & (image_xy <= 1.0), axis=-1)
    return image_xy, in_front, in_image


def _the_camera(camera: VirtualCamera | None, camera_yaw_deg: float) -> VirtualCamera:
    """``camera``, or a :class:`VirtualCamera` at ``camera_yaw_deg``; BridgeError when both give a yaw."""
    if camera is None:
        return VirtualCamera(yaw_deg=float(camera_yaw_deg))
    if camera_yaw_deg != 0.0 and camera_yaw_deg != camera.yaw_deg:
        raise BridgeError("pass the camera yaw either as camera_yaw_deg or in camera=VirtualCamera(...), not both")
    return camera


# ------------------------------------------------------------------------------------------------ main entry


def mocap_landmarks(
    motion: BvhMotion,
    camera_yaw_deg: float = 0.0,
    frames: FrameSelection = None,
    *,
    camera: VirtualCamera | None = None,
    units_to_m: float | None = None,
    roles: Mapping[str, str] | None = None,
    facing_window_s: float = 0.25,
) -> MocapLandmarks:
    """Map a BVH clip to the 33 MediaPipe landmarks seen by a virtual camera, plus ground-truth joints.

    Args:
        motion: the parsed BVH clip.
        camera_yaw_deg: where the camera stands around the subject (0: in front of them as they face during
            the first ``facing_window_s`` of the selected frames; 90: at their left). Shorthand for
            ``camera=VirtualCamera(yaw_deg=...)``.
        frames: which BVH frames (None: all; a slice; or frame numbers).
        camera: the full virtual camera (its ``yaw_deg`` is used; do not also pass ``camera_yaw_deg``).
        units_to_m: metres per BVH unit; default :func:`guess_units_to_m`.
        roles: overrides of :func:`skeleton_roles` for unusual joint names.
        facing_window_s: how much of the start of the selection defines the subject's facing.

    Landmark mapping (L/R alike, "carried by J" = fixed offset turned by joint J's world rotation):

    * SHOULDER, ELBOW, WRIST, HIP, KNEE, ANKLE: the matching joints (CMU ``LeftArm``, ``LeftForeArm``,
      ``LeftHand``, ``LeftUpLeg``, ``LeftLeg``, ``LeftFoot``; Boxing ``LeftShoulder``, ``LeftElbow``,
      ``LeftWrist``, ``LeftHip``, ``LeftKnee``, ``LeftAnkle``).
    * FOOT_INDEX: the toe joint's End Site (the toe tip), else the toe joint, else a point ahead of and below
      the ankle carried by it. HEEL: 6 cm behind and 5 cm below the ankle, carried by the ankle joint.
    * INDEX / PINKY: the index / little-finger knuckles, 8.5 / 7.5 cm along the hand from the wrist and 2.5 /
      3 cm to the thumb / little-finger side; THUMB: 6 cm along and 5 cm to the thumb side, 1 cm palm-wards;
      carried by the wrist joint (the T-pose hand has its palm down and thumb forward).
    * NOSE, EYES (inner, centre, outer), EARS, MOUTH corners: around the head centre (the midpoint of the head
      joint and its End Site, about ear level): ears 7.5 cm to each side, eyes 3.2 cm either side 8 cm ahead,
      nose 10.5 cm ahead 2.5 cm down, mouth corners 2.5 cm either side 6.5 cm down; carried by the head joint.

    Synthesised offsets are for a 1.70 m adult and scale with the subject's estimated height.

    Raises:
        BridgeError: no frames selected, missing joints, or an unusable camera/unit.
    """
    camera = _the_camera(camera, camera_yaw_deg)
    sk = motion.skeleton
    role_map = skeleton_roles(sk, roles)
    rf = _rest_frame(sk, role_map)
    if units_to_m is None:
        units_to_m, _ = guess_units_to_m(sk, role_map)
    if not (math.isfinite(units_to_m) and units_to_m > 0):
        raise BridgeError(f"units_to_m must be a positive number of metres per BVH unit, got {units_to_m}")
    idx = motion.frame_indices(frames)
    if idx.size == 0:
        raise BridgeError(f"no frames selected from {motion.source}; pick at least one frame")

    posed = _posed(motion, idx, role_map, rf, units_to_m)
    lm, joints = _landmarks(posed)
    left_h = _start_left(lm, idx, motion, rf.world_up, facing_window_s)
    hips_mid = 0.5 * (lm[:, L.LEFT_HIP] + lm[:, L.RIGHT_HIP])  # (T, 3) metres, BVH axes
    axes, hips_cam = _camera_frame(camera, left_h, rf.world_up, hips_mid)
    world = (lm - hips_mid[:, None, :]) @ axes.T
    joints["hips_mid"] = hips_mid
    joints_mp = {k: (joints[k] - hips_mid) @ axes.T for k in JOINT_KEYS}
    image_xy, in_front, in_image = _in_view(camera, world + hips_cam[:, None, :])
    return MocapLandmarks(
        t_s=idx.astype(np.float64) * motion.frame_time_s,
        frame_indices=idx,
        world_xyz_m=world,
        image_xy=image_xy,
        visibility=in_front.astype(np.float64),
        in_image=in_image,
        joints_m=joints_mp,
        hips_camera_m=hips_cam,
        axes_from_bvh=axes,
        camera=camera,
        units_to_m=float(units_to_m),
        joint_names={k: v for k, v in role_map.items()},
        height_m=float(posed.height_m),
        source=motion.source,
    )


def to_landmark_frames(m: MocapLandmarks) -> list[LandmarkFrame]:
    """One :class:`LandmarkFrame` per mocap frame (presence 1, ``frame_index`` = the BVH frame)."""
    out: list[LandmarkFrame] = []
    for k in range(len(m)):
        out.append(
            LandmarkFrame(
                t_s=float(m.t_s[k]),
                world_xyz_m=m.world_xyz_m[k].copy(),
                image_xy=m.image_xy[k].copy(),
                visibility=m.visibility[k].copy(),
                presence=np.ones(NUM_LANDMARKS),
                image_size=m.camera.image_size,
                person=True,
                frame_index=int(m.frame_indices[k]),
            )
        )
    return out
