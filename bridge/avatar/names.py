"""Humanoid bone names: VRM 0.x / 1.0 bone names and the node names of known rigs → Unity HumanBodyBones.

VRM 0.x names its bones in lowerCamelCase HumanBodyBones. VRM 1.0's thumb bones are named one step further up
the hand than Unity's: ``thumbMetacarpal`` → ``ThumbProximal``, ``thumbProximal`` → ``ThumbIntermediate`` (the
mapping UniVRM uses). Plain glTF files are read by node name with one of :data:`NAME_MAPPINGS` (see
:mod:`bridge.avatar.read`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from bridge.core.humanoid import HUMAN_BODY_BONES


def vrm0_bone_name(bone: str) -> str | None:
    """VRM 0.x humanoid bone name (lowerCamelCase HumanBodyBones) → Unity name, None if unknown."""
    name = bone[:1].upper() + bone[1:]
    return name if name in HUMAN_BODY_BONES else None


_VRM1_THUMBS = {
    "ThumbMetacarpal": "ThumbProximal",
    "ThumbProximal": "ThumbIntermediate",
    "ThumbDistal": "ThumbDistal",
}


def vrm1_bone_name(bone: str) -> str | None:
    """VRM 1.0 humanoid bone name → Unity name (thumbs shifted as UniVRM does), None if unknown."""
    name = bone[:1].upper() + bone[1:]
    for side in ("Left", "Right"):
        for vrm1, unity in _VRM1_THUMBS.items():
            if name == side + vrm1:
                return side + unity
    return name if name in HUMAN_BODY_BONES else None


def _sided(table: Mapping[str, str], left: str, right: str, suffix: bool) -> dict[str, str]:
    """Expand ``{"UpperArm": "upperarm"}`` into both sides' node names (as prefix or suffix)."""
    out: dict[str, str] = {}
    for unity_part, node_part in table.items():
        for side, tag in (("Left", left), ("Right", right)):
            out[(node_part + tag) if suffix else (tag + node_part)] = side + unity_part
    return out


_FINGERS_UNITY = ("Thumb", "Index", "Middle", "Ring", "Little")
_PHALANGES = ("Proximal", "Intermediate", "Distal")

#: Mixamo node name (prefix stripped) → HumanBodyBones.
MIXAMO_BONES: dict[str, str] = {
    "Hips": "Hips", "Spine": "Spine", "Spine1": "Chest", "Spine2": "UpperChest", "Neck": "Neck", "Head": "Head",
    **_sided({"Shoulder": "Shoulder", "UpperArm": "Arm", "LowerArm": "ForeArm", "Hand": "Hand",
              "UpperLeg": "UpLeg", "LowerLeg": "Leg", "Foot": "Foot", "Toes": "ToeBase", "Eye": "Eye"},
             "Left", "Right", suffix=False),
    **_sided({f"{f}{p}": f"Hand{'Pinky' if f == 'Little' else f}{k + 1}"
              for f in _FINGERS_UNITY for k, p in enumerate(_PHALANGES)}, "Left", "Right", suffix=False),
}  # fmt: skip

#: Unreal / MPFB "game engine" node name → HumanBodyBones.
GAME_ENGINE_BONES: dict[str, str] = {
    "pelvis": "Hips", "spine_01": "Spine", "spine_02": "Chest", "spine_03": "UpperChest", "neck_01": "Neck",
    "head": "Head",
    **_sided({"Shoulder": "clavicle", "UpperArm": "upperarm", "LowerArm": "lowerarm", "Hand": "hand",
              "UpperLeg": "thigh", "LowerLeg": "calf", "Foot": "foot", "Toes": "ball"}, "_l", "_r", suffix=True),
    **_sided({f"{f}{p}": f"{'pinky' if f == 'Little' else f.lower()}_0{k + 1}"
              for f in _FINGERS_UNITY for k, p in enumerate(_PHALANGES)}, "_l", "_r", suffix=True),
}  # fmt: skip

#: MakeHuman / MPFB default rig node name → HumanBodyBones (its twist bones upperarm02, lowerarm02 … are skipped).
MPFB_DEFAULT_BONES: dict[str, str] = {
    "root": "Hips", "spine04": "Spine", "spine03": "Chest", "spine02": "UpperChest", "neck01": "Neck",
    "head": "Head",
    **_sided({"Shoulder": "clavicle", "UpperArm": "upperarm01", "LowerArm": "lowerarm01", "Hand": "wrist",
              "UpperLeg": "upperleg01", "LowerLeg": "lowerleg01", "Foot": "foot", "Toes": "toe1-1"},
             ".L", ".R", suffix=True),
}  # fmt: skip

_MIXAMO_PREFIX = re.compile(r"^mixamorig\d*[:_]")


def _map_unity(name: str) -> str | None:
    return name if name in HUMAN_BODY_BONES else None


def _map_mixamo(name: str) -> str | None:
    return MIXAMO_BONES.get(_MIXAMO_PREFIX.sub("", name))


#: Plain-glTF name mappings, tried in this order: mapping name → (node name → HumanBodyBones or None).
NAME_MAPPINGS: dict[str, Callable[[str], str | None]] = {
    "unity": _map_unity,
    "mixamo": _map_mixamo,
    "game_engine": GAME_ENGINE_BONES.get,
    "mpfb_default": MPFB_DEFAULT_BONES.get,
}
