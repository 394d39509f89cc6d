"""BonePose → VMC protocol (Virtual Motion Capture) messages and datagrams. Encoding only: no sockets.

bridge is a VMC **Performer**; receivers (Marionettes: VSeeFace, VNyan, Unity with EVMC4U, …) listen on UDP
port 39539 by default. Every frame carries, in this order:

``/VMC/Ext/OK  (int loaded, int calibrationState, int calibrationMode, int trackingStatus)``
    loaded = 1; calibrationState = 3 (calibrated; 0 uncalibrated, 1 waiting, 2 calibrating);
    calibrationMode = 0 (normal); trackingStatus = 1 while ``pose.tracking`` else 0 (tracking lost).
``/VMC/Ext/T  (float time)``
    seconds (the stream's clock).
``/VMC/Ext/Root/Pos  (string "root", float px py pz, float qx qy qz qw)``
    the avatar's root transform: bridge sends the origin with identity rotation; the body's movement
    travels in the Hips bone.
``/VMC/Ext/Bone/Pos  (string bone, float px py pz, float qx qy qz qw)``, one per rig bone, every frame
    bone = Unity HumanBodyBones name; **local** position and rotation (relative to the parent bone) in
    Unity's frame (left-handed, Y up, metres), quaternion scalar-last. The position is the rig's rest offset
    (never zeros: receivers write it onto their bones), except for Hips, whose position is
    ``BonePose.hips_position_m`` (relative to the root, i.e. the floor origin).

Blend shapes (face, later): ``/VMC/Ext/Blend/Val (string name, float weight)`` for each shape, then one
``/VMC/Ext/Blend/Apply`` (no arguments).

Every number is an OSC float (``f``) except the four ints of ``/VMC/Ext/OK``. Rig frame → Unity frame goes
through :mod:`bridge.core.frames` only.

**Bone space** (``VmcConfig.bone_space``). ``normalized`` (default): local rotations relative to a rest pose in
which every bone is unrotated (the VRM 0.x / UniVRM normalised T-pose), positions the rig's offsets — what
receivers that retarget through a humanoid expect. ``original``: for an avatar whose own bone nodes are rotated
at rest (VRM 1.0 keeps them so), each bone's local rotation is turned into that node's space,
``R0(parent node)⁻¹ · q · R0(bone node)`` (:func:`bridge.core.frames.normalized_to_original_rotation`), and its
position is the node's own local translation (:class:`bridge.core.rig.OriginalBones`): a receiver that writes
them onto the model's original nodes gets the intended world pose. Which receiver wants which:

=====================================  ======================================================================
receiver                               bone space
=====================================  ======================================================================
EVMC4U, VRM 1.0 model (its default:    ``original``: it sets ``localRotation``/``localPosition`` of the
no control rig)                        animator's bone transforms, the model's own nodes
EVMC4U, VRM 1.0 with a control rig     ``normalized``
VMC4UE (Unreal)                        ``original``: it replaces each mapped bone's local transform
VMC4B (Blender)                        ``normalized``: it turns the rotation into each pose bone's frame
VSeeFace, VNyan, EVMC4U with VRM 0.x   either: VRM 0.x nodes have no rest rotations, the two are the same
=====================================  ======================================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import SupportsFloat

import numpy as np

from bridge.core.errors import BridgeError
from bridge.core.frames import normalized_to_original_rotation, rig_to_unity_position, rig_to_unity_quaternion
from bridge.core.pose import BonePose
from bridge.core.rig import Rig
from bridge.output.packing import OscPacked, osc_floats_message, osc_message, pack_datagrams

#: Default port of VMC receivers (Marionettes).
VMC_DEFAULT_PORT = 39539

ADDRESS_OK = "/VMC/Ext/OK"
ADDRESS_TIME = "/VMC/Ext/T"
ADDRESS_ROOT = "/VMC/Ext/Root/Pos"
ADDRESS_BONE = "/VMC/Ext/Bone/Pos"
ADDRESS_BLEND_VAL = "/VMC/Ext/Blend/Val"
ADDRESS_BLEND_APPLY = "/VMC/Ext/Blend/Apply"

#: /VMC/Ext/OK values.
LOADED = 1
CALIBRATION_STATE_CALIBRATED = 3
CALIBRATION_MODE_NORMAL = 0
TRACKING_OK = 1
TRACKING_LOST = 0

#: Smallest accepted datagram limit: one bone message (≤ ~110 bytes) in a bundle must fit.
MIN_DATAGRAM_BYTES = 128

#: Bone spaces (see the module docstring).
NORMALIZED = "normalized"
ORIGINAL = "original"
BONE_SPACES: tuple[str, ...] = (NORMALIZED, ORIGINAL)


@dataclass(frozen=True)
class VmcConfig:
    """How VMC frames are packed into datagrams.

    Attributes:
        bundle: True (default): each frame travels as one OSC bundle, so a receiver applies all bones of a
            frame together; False: one message per datagram, for receivers that do not read bundles.
        max_datagram_bytes: with ``bundle``, split a frame into several bundles of at most this many bytes
            (1400 keeps each datagram inside one Ethernet frame on a LAN); None: one bundle per frame
            (about 4.5 KB for the default rig: fine on localhost, fragmented on a LAN). Which targets get a
            limit by default is decided per target by :func:`bridge.output.protocols.encoder_config_for`.
        bone_space: ``normalized`` or ``original`` (see the module docstring).
    """

    bundle: bool = True
    max_datagram_bytes: int | None = None
    bone_space: str = NORMALIZED

    def __post_init__(self) -> None:
        if self.bone_space not in BONE_SPACES:
            raise BridgeError(f"unknown bone space {self.bone_space!r}; use one of {', '.join(BONE_SPACES)}")
        if self.max_datagram_bytes is not None and self.max_datagram_bytes < MIN_DATAGRAM_BYTES:
            raise BridgeError(
                f"VMC datagram size limit {self.max_datagram_bytes} is too small; use at least "
                f"{MIN_DATAGRAM_BYTES} bytes (1400 suits a LAN)"
            )


def ok_message(tracking: bool) -> OscPacked:
    """``/VMC/Ext/OK``: avatar loaded, calibrated, normal mode; tracking status 1 (OK) or 0 (lost)."""
    return osc_message(
        ADDRESS_OK,
        LOADED,
        CALIBRATION_STATE_CALIBRATED,
        CALIBRATION_MODE_NORMAL,
        TRACKING_OK if tracking else TRACKING_LOST,
    )


def time_message(t_s: float) -> OscPacked:
    """``/VMC/Ext/T``: the frame's time in seconds."""
    return osc_message(ADDRESS_TIME, float(t_s))


def root_message() -> OscPacked:
    """``/VMC/Ext/Root/Pos``: the avatar root at the origin, identity rotation (movement is in the Hips)."""
    return osc_message(ADDRESS_ROOT, "root", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)


def bone_local_unity(pose: BonePose, bone_space: str = NORMALIZED) -> tuple[np.ndarray, np.ndarray]:
    """Each bone's local transform as VMC sends it.

    Returns:
        positions: (B, 3) float, Unity frame (left-handed, Y up), metres: rest offsets from the parent joint,
            Hips = ``pose.hips_position_m`` (``original``: the nodes' own local translations).
        quaternions: (B, 4) float, Unity frame, scalar-last ``x y z w``: local rotations (``original``: in the
            avatar nodes' own space).
    """
    if bone_space == ORIGINAL:
        return _original_local_unity(pose)
    offsets = np.array(pose.rig.offsets_m, dtype=np.float64, copy=True)
    offsets[pose.rig.parents < 0] = pose.hips_position_m  # the root, Hips
    # "+ 0.0" turns the reflection's -0.0 into 0.0 (tidier for people reading packet dumps).
    return (
        rig_to_unity_position(offsets) + 0.0,
        np.atleast_2d(rig_to_unity_quaternion(pose.local_rotations)) + 0.0,
    )


def _original_local_unity(pose: BonePose) -> tuple[np.ndarray, np.ndarray]:
    """:func:`bone_local_unity` in the avatar's original bone space."""
    rig = pose.rig
    original = rig.original_bones
    positions = np.array(original.local_positions, dtype=np.float64, copy=True)
    positions[0] = original.hips_local_position(pose.hips_position_m, rig.offsets_m[0])
    rest, parent_rest = original.rotations, original.parent_rotations
    rotations = normalized_to_original_rotation(pose.local_rotations, rest, parent_rest)
    return rig_to_unity_position(positions) + 0.0, np.atleast_2d(rig_to_unity_quaternion(rotations)) + 0.0


def bone_messages(pose: BonePose, bone_space: str = NORMALIZED) -> list[OscPacked]:
    """One ``/VMC/Ext/Bone/Pos`` per rig bone (rig order, parents first)."""
    positions, quats = bone_local_unity(pose, bone_space)
    prefixes = _bone_prefixes(pose.rig, bone_space)
    out = []
    for i, (name, p, q) in enumerate(zip(pose.rig.bones, positions, quats, strict=True)):
        prefix = prefixes[i]
        if prefix is None:  # the root moves: its position is part of the frame
            out.append(osc_message(ADDRESS_BONE, name, *(float(v) for v in p), *(float(v) for v in q)))
        else:
            out.append(osc_floats_message(prefix, ADDRESS_BONE, q.tolist()))
    return out


_PREFIX_CACHE: dict[tuple[int, str], tuple[Rig, list[bytes | None]]] = {}


def _bone_prefixes(rig: Rig, bone_space: str = NORMALIZED) -> list[bytes | None]:
    """Per bone, the encoded ``/VMC/Ext/Bone/Pos`` message up to its quaternion (address, type tags, name and
    rest position never change between frames); None for the root, whose position moves. Cached per rig."""
    hit = _PREFIX_CACHE.get((id(rig), bone_space))
    if hit is not None and hit[0] is rig:
        return hit[1]
    rest = rig.original_bones.local_positions if bone_space == ORIGINAL else rig.offsets_m
    positions = rig_to_unity_position(rest) + 0.0
    prefixes: list[bytes | None] = []
    for name, p, parent in zip(rig.bones, positions, rig.parents, strict=True):
        if parent < 0:
            prefixes.append(None)
        else:
            full = osc_message(ADDRESS_BONE, name, *(float(v) for v in p), 0.0, 0.0, 0.0, 1.0).dgram
            prefixes.append(full[:-16])  # drop the 4 quaternion floats
    if len(_PREFIX_CACHE) > 16:
        _PREFIX_CACHE.clear()
    _PREFIX_CACHE[(id(rig), bone_space)] = (rig, prefixes)
    return prefixes


def blend_messages(weights: Mapping[str, SupportsFloat]) -> list[OscPacked]:
    """``/VMC/Ext/Blend/Val`` for each blend shape (name → weight, usually 0..1), then ``/VMC/Ext/Blend/Apply``.

    An empty mapping gives no messages.
    """
    if not weights:
        return []
    out = []
    for name, w in weights.items():
        value = float(w)
        if not name or not math.isfinite(value):
            raise ValueError(f"blend shape {name!r}: needs a name and a finite weight, got {w!r}")
        out.append(osc_message(ADDRESS_BLEND_VAL, str(name), value))
    out.append(osc_message(ADDRESS_BLEND_APPLY))
    return out


def vmc_frame_messages(
    pose: BonePose,
    t_s: float,
    blendshapes: Mapping[str, SupportsFloat] | None = None,
    bone_space: str = NORMALIZED,
) -> list[OscPacked]:
    """All messages of one frame: OK, T, Root, every bone, then blend shapes (if any)."""
    msgs = [ok_message(pose.tracking), time_message(t_s), root_message(), *bone_messages(pose, bone_space)]
    if blendshapes:
        msgs.extend(blend_messages(blendshapes))
    return msgs


def encode_vmc_frame(
    pose: BonePose,
    t_s: float,
    config: VmcConfig | None = None,
    blendshapes: Mapping[str, SupportsFloat] | None = None,
) -> list[bytes]:
    """One frame of VMC as UDP datagrams (see :class:`VmcConfig` for bundling and splitting)."""
    cfg = config or VmcConfig()
    messages = vmc_frame_messages(pose, t_s, blendshapes, cfg.bone_space)
    return pack_datagrams(messages, cfg.bundle, cfg.max_datagram_bytes)


def encode_vmc_blendshapes(weights: Mapping[str, SupportsFloat], config: VmcConfig | None = None) -> list[bytes]:
    """Blend shapes alone (a face stream between body frames) as UDP datagrams."""
    cfg = config or VmcConfig()
    return pack_datagrams(blend_messages(weights), cfg.bundle, cfg.max_datagram_bytes)
