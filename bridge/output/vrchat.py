"""BonePose → VRChat OSC trackers. Encoding only: no sockets. The only place Euler angles exist in bridge.

VRChat (port 9000) reads up to 8 body trackers plus an optional head reference::

    /tracking/trackers/1..8/position   (float x, float y, float z)
    /tracking/trackers/1..8/rotation   (float x, float y, float z)
    /tracking/trackers/head/position   (float x, float y, float z)
    /tracking/trackers/head/rotation   (float x, float y, float z)

Values are **world** poses in Unity's frame (left-handed, Y up, metres, floor at y = 0). Positions are the
joints' world positions from forward kinematics, scaled by ``height_m / rig.height_m`` so the rig is as tall
as the user (VRChat expects real-world metres; the rig frame already has its floor at y = 0, so scaling
keeps the feet on the floor). Rotations are the bones' world rotations converted to Unity's frame, sent as
Euler angles in degrees ``(x, y, z)`` that Unity applies Z first, then X, then Y (``Quaternion.Euler``).

VRChat needs tracker rotations, not just positions: when the user calibrates (stands in the avatar's pose
and confirms), VRChat records each tracker's offset to the avatar bone it is nearest to, then drives the
avatar by IK from the trackers' positions *and* rotations. Send the same subset every frame.

Body parts and their tracker numbers (fixed slots: a part keeps its number whatever subset is chosen, so
``("hip", "left_foot", "right_foot")`` sends trackers 1, 3 and 4):

=====  ============  =========================================  ==========================
 no.   part          position (joint)                           rotation (bone)
=====  ============  =========================================  ==========================
 1     hip           Hips                                       Hips
 2     chest         UpperChest (else Chest, else Spine)        same bone
 3     left_foot     LeftFoot (ankle)                           LeftFoot
 4     right_foot    RightFoot (ankle)                          RightFoot
 5     left_knee     LeftLowerLeg (knee)                        LeftLowerLeg (shin)
 6     right_knee    RightLowerLeg (knee)                       RightLowerLeg (shin)
 7     left_elbow    LeftLowerArm (elbow)                       LeftUpperArm (VRChat: "elbows (upper arms)")
 8     right_elbow   RightLowerArm (elbow)                      RightUpperArm
 head  (send_head)   Head                                       Head (only with ``head_rotation``)
=====  ============  =========================================  ==========================

The head tracker only helps VRChat align bridge's tracking space with its own; it does not drive the head. By
default only its **position** is sent: VRChat turns the whole OSC tracking space toward the head rotation it
is sent, so a tracked head that turns (or a camera's noisy estimate of it) would swing every tracker around
the user; the headset already knows where the head looks. SlimeVR and MediaPipe-VR-Fullbody-Tracking send
the head position alone too. ``head_rotation=True`` (``--head-rotation``) adds
``/tracking/trackers/head/rotation``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from bridge.core.errors import BridgeError
from bridge.core.frames import rig_to_unity_position, rig_to_unity_quaternion
from bridge.core.pose import BonePose
from bridge.core.rig import Rig
from bridge.output.packing import OscPacked, osc_message, pack_datagrams

#: Default port VRChat receives OSC on.
VRCHAT_DEFAULT_PORT = 9000
#: At most this many body trackers (VRChat's limit).
MAX_TRACKERS = 8

#: Body parts in tracker-number order: part ``TRACKER_PARTS[i]`` is tracker ``i + 1``.
TRACKER_PARTS: tuple[str, ...] = (
    "hip", "chest", "left_foot", "right_foot", "left_knee", "right_knee", "left_elbow", "right_elbow",
)  # fmt: skip

#: part → (candidate bones for the position, first present wins; candidate bones for the rotation).
_PART_BONES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "hip": (("Hips",), ("Hips",)),
    "chest": (("UpperChest", "Chest", "Spine"), ("UpperChest", "Chest", "Spine")),
    "left_foot": (("LeftFoot",), ("LeftFoot",)),
    "right_foot": (("RightFoot",), ("RightFoot",)),
    "left_knee": (("LeftLowerLeg",), ("LeftLowerLeg",)),
    "right_knee": (("RightLowerLeg",), ("RightLowerLeg",)),
    "left_elbow": (("LeftLowerArm",), ("LeftUpperArm",)),
    "right_elbow": (("RightLowerArm",), ("RightUpperArm",)),
}

DEFAULT_TRACKERS: tuple[str, ...] = ("hip", "left_foot", "right_foot")
MIN_HEIGHT_M = 0.5
MAX_HEIGHT_M = 2.5


@dataclass(frozen=True)
class VrchatConfig:
    """What the VRChat encoder sends.

    Attributes:
        trackers: body parts to send (see the module table); default hip and both feet, which VRChat's IK
            handles best. Order does not matter: numbers are fixed per part.
        height_m: the user's real height in metres; positions are scaled by ``height_m / rig.height_m``.
        send_head: also send ``/tracking/trackers/head/position`` so VRChat can align the tracking spaces.
        head_rotation: with ``send_head``, also send ``/tracking/trackers/head/rotation`` (VRChat then turns its
            tracking space toward it; see the module docstring).
        bundle: one OSC bundle per frame (True) or one datagram per message (False).
    """

    trackers: tuple[str, ...] = DEFAULT_TRACKERS
    height_m: float = 1.7
    send_head: bool = True
    head_rotation: bool = False
    bundle: bool = True

    def __post_init__(self) -> None:
        names = tuple(self.trackers)
        object.__setattr__(self, "trackers", names)
        valid = ", ".join(TRACKER_PARTS)
        unknown = [t for t in names if t not in TRACKER_PARTS]
        if unknown:
            raise BridgeError(f"unknown VRChat tracker {unknown[0]!r}; valid trackers: {valid}")
        if not names:
            raise BridgeError(f"choose at least one VRChat tracker from: {valid}")
        dupes = sorted({t for t in names if names.count(t) > 1})
        if dupes:
            raise BridgeError(f"VRChat tracker {dupes[0]!r} is listed twice; list each body part once")
        if len(names) > MAX_TRACKERS:
            raise BridgeError(f"VRChat takes at most {MAX_TRACKERS} trackers, got {len(names)}")
        if not (MIN_HEIGHT_M <= float(self.height_m) <= MAX_HEIGHT_M):
            raise BridgeError(
                f"height {self.height_m} m is out of range; give your height in metres "
                f"({MIN_HEIGHT_M}..{MAX_HEIGHT_M}, e.g. 1.7)"
            )


def tracker_number(part: str) -> int:
    """VRChat tracker number (1..8) of a body part."""
    return TRACKER_PARTS.index(part) + 1


def _first_bone(rig: Rig, candidates: tuple[str, ...]) -> int:
    for b in candidates:
        if rig.has(b):
            return rig.index(b)
    raise BridgeError(f"rig {rig.name} has none of the bones {', '.join(candidates)}; use a complete rig")


def tracker_bones(rig: Rig, part: str) -> tuple[int, int]:
    """Indices in ``rig`` of the bone giving ``part``'s position and of the bone giving its rotation."""
    pos_bones, rot_bones = _PART_BONES[part]
    return _first_bone(rig, pos_bones), _first_bone(rig, rot_bones)


def unity_euler_degrees(quat_xyzw: np.ndarray) -> np.ndarray:
    """Unity-frame quaternions (N, 4) scalar-last → (N, 3) Euler degrees ``(x, y, z)`` as Unity's
    ``Quaternion.Euler(x, y, z)`` takes them: rotate about Z, then X, then Y (fixed axes), i.e.
    ``q = qy * qx * qz``. scipy's extrinsic ``'zxy'`` is that order and returns ``[z, x, y]``.
    """
    with warnings.catch_warnings():
        # Near x = ±90° the split between z and y is arbitrary; scipy picks one that rebuilds the same rotation.
        warnings.simplefilter("ignore", UserWarning)
        zxy = Rotation.from_quat(np.atleast_2d(quat_xyzw)).as_euler("zxy", degrees=True)
    return zxy[:, [1, 2, 0]]


def tracker_poses(pose: BonePose, config: VrchatConfig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The trackers of one frame, before OSC: key (``"1"``..``"8"``, ``"head"``) → (position (3,) Unity
    frame metres scaled to the user's height, Euler (3,) degrees ``(x, y, z)`` in Unity's Z-X-Y order).
    Keys are in sending order: tracker numbers ascending, then head.
    """
    rig = pose.rig
    scale = float(config.height_m) / rig.height_m
    positions_m, world_mats = pose.world()
    entries: list[tuple[str, int, int]] = []
    for part in sorted(config.trackers, key=tracker_number):
        p_idx, r_idx = tracker_bones(rig, part)
        entries.append((str(tracker_number(part)), p_idx, r_idx))
    if config.send_head:
        head = rig.index("Head")
        entries.append(("head", head, head))
    pos_idx = [e[1] for e in entries]
    rot_idx = [e[2] for e in entries]
    pos_unity = rig_to_unity_position(positions_m[pos_idx] * scale)
    quat_unity = np.atleast_2d(rig_to_unity_quaternion(Rotation.from_matrix(world_mats[rot_idx])))
    euler = unity_euler_degrees(quat_unity) + 0.0  # + 0.0: no -0.0 in packet dumps
    pos_unity = pos_unity + 0.0
    return {key: (pos_unity[i], euler[i]) for i, (key, _, _) in enumerate(entries)}


def vrchat_frame_messages(pose: BonePose, config: VrchatConfig | None = None) -> list[OscPacked]:
    """One frame's messages: ``position`` then ``rotation`` for each tracker, in tracker order, then the head's
    position (and rotation with ``head_rotation``)."""
    cfg = config or VrchatConfig()
    msgs = []
    for key, (pos, euler) in tracker_poses(pose, cfg).items():
        msgs.append(osc_message(f"/tracking/trackers/{key}/position", *(float(v) for v in pos)))
        if key != "head" or cfg.head_rotation:
            msgs.append(osc_message(f"/tracking/trackers/{key}/rotation", *(float(v) for v in euler)))
    return msgs


def encode_vrchat_frame(pose: BonePose, config: VrchatConfig | None = None) -> list[bytes]:
    """One frame of VRChat OSC trackers as UDP datagrams (a frame is at most ~1 KB: never split)."""
    cfg = config or VrchatConfig()
    return pack_datagrams(vrchat_frame_messages(pose, cfg), cfg.bundle)
