"""An avatar's drawable parts, read from its glTF / VRM file: meshes, skins, materials, textures, morph targets.

What is read (glTF 2.0, the parts a humanoid avatar uses):

* every node of the scene with a ``mesh``: one :class:`AvatarPrimitive` per ``TRIANGLES`` primitive (other
  modes are skipped and noted), its ``POSITION``, ``TEXCOORD_0``, ``JOINTS_0/1`` and ``WEIGHTS_0/1`` (up to 8
  influences), its indices (none: one triangle per three vertices) and its morph targets' ``POSITION``
  displacements (sparse accessors included); a mesh on a node without ``skin`` is bound rigidly to that node;
* skins: joint nodes and inverse bind matrices (identity when the file has none, as the spec says);
* materials: ``baseColorFactor`` (linear RGBA), ``baseColorTexture`` (its image, decoded with OpenCV and scaled
  down to ``max_texture_px`` — every frame uploads it again, see :mod:`bridge.viewer.render`), ``alphaMode``,
  ``doubleSided``; VRM's MToon shading is not reproduced (UniVRM writes these glTF fallbacks for it);
* morph target names (``mesh.extras.targetNames``, else the first primitive's) and the mesh's default
  ``weights``.

Arrays stay in the file's frame and units (metres), as stored: vertices of a skinned mesh are in the bind pose,
those of a rigid mesh in its node's frame. :mod:`bridge.avatar.posing` moves them into the rig frame.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bridge.avatar.gltf import AvatarError, load_gltf, world_matrices

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.intp]
UInt8Image = npt.NDArray[np.uint8]

_COMPONENT = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_NORMALISE = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_TRIANGLES = 4

#: Largest texture side kept (pixels): the viewer uploads every texture with every frame.
MAX_TEXTURE_PX = 512


@dataclass(frozen=True, eq=False)
class AvatarMaterial:
    """A primitive's look: linear RGBA base colour, base colour texture (an index into
    :attr:`AvatarMeshes.images`, None for none), glTF alpha mode and whether both sides are drawn."""

    name: str = ""
    base_color: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    texture: int | None = None
    alpha_mode: str = "OPAQUE"
    double_sided: bool = False


@dataclass(frozen=True, eq=False)
class AvatarPrimitive:
    """One drawable part of an avatar (a glTF primitive as instanced by one node).

    Attributes:
        node: the node that instantiates the mesh.
        mesh: the glTF mesh index (morph weights and VRM 0.x binds refer to it).
        skin: the node's skin index, None for a mesh bound rigidly to ``node``.
        positions_m: (V, 3) float32, file frame, metres: bind-pose vertices (a rigid mesh: in its node's frame).
        triangles: (F, 3) int32 vertex indices.
        joints: (V, K) intp, indices into the skin's joints (zeros for a rigid mesh).
        weights: (V, K) float32 skin weights as stored (a rigid mesh: 1 on the first column).
        uv: (V, 2) float32 ``TEXCOORD_0`` (glTF: origin top-left, v down), None if absent.
        morph_deltas_m: (T, V, 3) float32 morph target displacements, file frame, metres; None without targets.
        material: colour and texture.
    """

    node: int
    mesh: int
    skin: int | None
    positions_m: Float32Array
    triangles: npt.NDArray[np.int32]
    joints: IntArray
    weights: Float32Array
    uv: Float32Array | None
    morph_deltas_m: Float32Array | None
    material: AvatarMaterial


@dataclass(frozen=True, eq=False)
class AvatarSkin:
    """A glTF skin: ``joints`` (J,) node indices, ``inverse_bind`` (J, 4, 4) float64, file frame."""

    joints: IntArray
    inverse_bind: FloatArray


@dataclass(frozen=True, eq=False)
class AvatarMeshes:
    """Everything drawable of an avatar file, plus the node tree it hangs on (rest pose, file frame).

    Attributes:
        source: the file.
        primitives: the drawable parts.
        skins: the file's skins (indexed by :attr:`AvatarPrimitive.skin`).
        images: decoded base colour images, (H, W, 3 or 4) uint8 RGB(A), None where one could not be decoded.
        node_local: (N, 4, 4) float64: each node's local rest transform.
        node_parent: (N,) intp: each node's parent node, -1 for a root.
        node_world: (N, 4, 4) float64: rest world transforms (identity for nodes outside the scene).
        target_names: glTF mesh index → its morph target names ("" where unnamed).
        default_weights: glTF mesh index → (T,) float64 default morph weights.
        notes: what was skipped, one short line each (unsupported primitive modes, undecodable images …).
    """

    source: str
    primitives: tuple[AvatarPrimitive, ...]
    skins: tuple[AvatarSkin, ...]
    images: tuple[UInt8Image | None, ...]
    node_local: FloatArray
    node_parent: IntArray
    node_world: FloatArray
    target_names: dict[int, tuple[str, ...]] = field(default_factory=dict)
    default_weights: dict[int, FloatArray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def vertex_count(self) -> int:
        return sum(len(p.positions_m) for p in self.primitives)

    @property
    def triangle_count(self) -> int:
        return sum(len(p.triangles) for p in self.primitives)


# --------------------------------------------------------------------------------------------------------------
# Buffers and accessors


class _Buffers:
    """The bytes of a file's buffers (GLB chunk, data URIs, files next to a .gltf), loaded once each."""

    def __init__(self, gltf: Any, source: Path) -> None:
        self.gltf, self.source = gltf, source
        self._data: dict[int, bytes] = {}

    def buffer(self, index: int) -> bytes:
        if index not in self._data:
            buffers = self.gltf.buffers or []
            if not 0 <= index < len(buffers):
                raise AvatarError(f"avatar {self.source}: buffer {index} does not exist; the file is broken")
            uri = buffers[index].uri
            if uri is None:
                blob = self.gltf.binary_blob()
                if blob is None:
                    raise AvatarError(f"avatar {self.source}: buffer {index} has no data; the file is broken")
                self._data[index] = bytes(blob)
            elif uri.startswith("data:"):
                self._data[index] = base64.b64decode(uri.split(",", 1)[1])
            else:
                path = self.source.parent / uri
                try:
                    self._data[index] = path.read_bytes()
                except OSError:
                    raise AvatarError(
                        f"avatar {self.source}: its buffer file {uri} is missing; keep it next to the .gltf"
                    ) from None
        return self._data[index]

    def view(self, index: int) -> tuple[bytes, int, int, int | None]:
        """(buffer bytes, byte offset, byte length, byte stride) of buffer view ``index``."""
        views = self.gltf.bufferViews or []
        if not 0 <= index < len(views):
            raise AvatarError(f"avatar {self.source}: buffer view {index} does not exist; the file is broken")
        v = views[index]
        return self.buffer(v.buffer), int(v.byteOffset or 0), int(v.byteLength), v.byteStride


def _read_view(buffers: _Buffers, view: int, offset: int, ctype: int, count: int, width: int) -> np.ndarray:
    """(count, width) array of component type ``ctype`` from a buffer view (its byte stride respected)."""
    data, start, length, stride = buffers.view(view)
    dtype = np.dtype(_COMPONENT[ctype]).newbyteorder("<")
    elem = dtype.itemsize * width
    step = int(stride) if stride else elem
    begin = start + offset
    if count and begin + step * (count - 1) + elem > min(len(data), start + length):
        raise AvatarError(f"avatar {buffers.source}: an accessor runs past its buffer view; the file is broken")
    arr = np.ndarray((count, width), dtype=dtype, buffer=data, offset=begin, strides=(step, dtype.itemsize))
    return np.array(arr)  # a copy, native order


def read_accessor(buffers: _Buffers, index: int, *, as_float: bool = True) -> np.ndarray:
    """Accessor ``index`` as a (count, width) array: float64 (normalised integers scaled to [0, 1] / [-1, 1])
    or, with ``as_float`` False, the stored integers. Sparse accessors are applied onto their base."""
    accessors = buffers.gltf.accessors or []
    if not 0 <= index < len(accessors):
        raise AvatarError(f"avatar {buffers.source}: accessor {index} does not exist; the file is broken")
    acc = accessors[index]
    width = _WIDTH.get(acc.type)
    if width is None or acc.componentType not in _COMPONENT:
        raise AvatarError(f"avatar {buffers.source}: accessor {index} has an unknown type; the file is broken")
    count = int(acc.count)
    if acc.bufferView is not None:
        out = _read_view(buffers, acc.bufferView, int(acc.byteOffset or 0), acc.componentType, count, width)
    else:
        out = np.zeros((count, width), dtype=_COMPONENT[acc.componentType])
    sparse = acc.sparse
    if sparse is not None and int(sparse.count or 0) > 0:
        n = int(sparse.count)
        idx = _read_view(buffers, sparse.indices.bufferView, int(sparse.indices.byteOffset or 0),
                         sparse.indices.componentType, n, 1)[:, 0].astype(np.intp)  # fmt: skip
        vals = _read_view(buffers, sparse.values.bufferView, int(sparse.values.byteOffset or 0), acc.componentType,
                          n, width)  # fmt: skip
        if idx.size and (idx.min() < 0 or idx.max() >= count):
            raise AvatarError(f"avatar {buffers.source}: sparse accessor {index} is out of range; file broken")
        out = out.copy()
        out[idx] = vals
    if not as_float:
        return out
    if acc.normalized and acc.componentType in _NORMALISE:
        return np.maximum(out.astype(np.float64) / _NORMALISE[acc.componentType], -1.0)
    return out.astype(np.float64)


# --------------------------------------------------------------------------------------------------------------
# Images and materials


def _decode_image(buffers: _Buffers, image: Any, max_px: int) -> UInt8Image | None:
    """An image as (H, W, 3|4) uint8 RGB(A), its longer side at most ``max_px``; None if it cannot be read."""
    import cv2

    try:
        if image.bufferView is not None:
            data, start, length, _ = buffers.view(image.bufferView)
            raw = data[start : start + length]
        elif image.uri and image.uri.startswith("data:"):
            raw = base64.b64decode(image.uri.split(",", 1)[1])
        elif image.uri:
            raw = (buffers.source.parent / image.uri).read_bytes()
        else:
            return None
    except (OSError, AvatarError, ValueError):
        return None
    decoded = cv2.imdecode(np.frombuffer(raw, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:
        return None
    if decoded.dtype == np.uint16:  # 16-bit PNG
        decoded = (decoded // 257).astype(np.uint8)
    elif decoded.dtype != np.uint8:
        return None
    if decoded.ndim == 2:
        decoded = cv2.cvtColor(decoded, cv2.COLOR_GRAY2RGB)
    elif decoded.shape[2] == 4:
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA)
    else:
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    h, w = decoded.shape[:2]
    if max(h, w) > max_px:
        s = max_px / max(h, w)
        decoded = cv2.resize(decoded, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(decoded)


def _material(gltf: Any, index: int | None) -> AvatarMaterial:
    materials = gltf.materials or []
    if index is None or not 0 <= index < len(materials):
        return AvatarMaterial()
    m = materials[index]
    pbr = m.pbrMetallicRoughness
    colour = (1.0, 1.0, 1.0, 1.0)
    texture: int | None = None
    if pbr is not None:
        if pbr.baseColorFactor is not None and len(pbr.baseColorFactor) == 4:
            colour = tuple(float(np.clip(c, 0.0, 1.0)) for c in pbr.baseColorFactor)  # type: ignore[assignment]
        info = pbr.baseColorTexture
        textures = gltf.textures or []
        if info is not None and 0 <= int(info.index) < len(textures) and int(info.texCoord or 0) == 0:
            source = textures[int(info.index)].source
            texture = int(source) if source is not None and 0 <= source < len(gltf.images or []) else None
    return AvatarMaterial(m.name or "", colour, texture, str(m.alphaMode or "OPAQUE"), bool(m.doubleSided))


# --------------------------------------------------------------------------------------------------------------
# Meshes


def _attr(attributes: Any, name: str) -> int | None:
    value = attributes.get(name) if isinstance(attributes, dict) else getattr(attributes, name, None)
    return int(value) if value is not None else None


def _skin_channels(buffers: _Buffers, attributes: Any, n: int) -> tuple[IntArray, Float32Array] | None:
    """(V, K) joints and weights from JOINTS_0/WEIGHTS_0 (and _1), None when the primitive has none."""
    joints, weights = [], []
    for set_ in ("0", "1"):
        j, w = _attr(attributes, f"JOINTS_{set_}"), _attr(attributes, f"WEIGHTS_{set_}")
        if j is None or w is None:
            break
        joints.append(read_accessor(buffers, j, as_float=False).astype(np.intp))
        weights.append(read_accessor(buffers, w).astype(np.float32))
    if not joints:
        return None
    jt, wt = np.concatenate(joints, axis=1), np.concatenate(weights, axis=1)
    if len(jt) != n or len(wt) != n:
        raise AvatarError(f"avatar {buffers.source}: skin attributes and positions differ in length; file broken")
    return jt, wt


def _morphs(buffers: _Buffers, prim: Any, n: int) -> Float32Array | None:
    targets = prim.targets or []
    if not targets:
        return None
    out = np.zeros((len(targets), n, 3), dtype=np.float32)
    for t, target in enumerate(targets):
        acc = _attr(target, "POSITION")
        if acc is not None:
            delta = read_accessor(buffers, acc)
            if delta.shape != (n, 3):
                raise AvatarError(f"avatar {buffers.source}: a morph target has the wrong length; file broken")
            out[t] = delta
    return out


def _primitive(buffers: _Buffers, node: int, mesh: int, skin: int | None, prim: Any) -> AvatarPrimitive:
    pos_i = _attr(prim.attributes, "POSITION")
    if pos_i is None:
        raise AvatarError(f"avatar {buffers.source}: mesh {mesh} has a primitive without POSITION; file broken")
    positions = read_accessor(buffers, pos_i).astype(np.float32)
    n = len(positions)
    if prim.indices is not None:
        flat = read_accessor(buffers, prim.indices, as_float=False)[:, 0].astype(np.int64)
    else:
        flat = np.arange(n - n % 3, dtype=np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= n):
        raise AvatarError(f"avatar {buffers.source}: mesh {mesh} indexes past its vertices; the file is broken")
    triangles = flat[: len(flat) - len(flat) % 3].reshape(-1, 3).astype(np.int32)
    channels = _skin_channels(buffers, prim.attributes, n) if skin is not None else None
    if channels is None:  # rigid: every vertex follows the node
        skin = None
        joints, weights = np.zeros((n, 1), dtype=np.intp), np.ones((n, 1), dtype=np.float32)
    else:
        joints, weights = channels
    uv_i = _attr(prim.attributes, "TEXCOORD_0")
    uv = read_accessor(buffers, uv_i).astype(np.float32) if uv_i is not None else None
    if uv is not None and len(uv) != n:
        uv = None
    return AvatarPrimitive(
        node, mesh, skin, positions, triangles, joints, weights, uv, _morphs(buffers, prim, n),
        _material(buffers.gltf, prim.material),
    )  # fmt: skip


def _target_names(mesh: Any) -> tuple[str, ...]:
    for extras in [mesh.extras] + [p.extras for p in mesh.primitives or []]:
        names = extras.get("targetNames") if isinstance(extras, dict) else None
        if isinstance(names, list):
            return tuple(str(x) for x in names)
    return ()


def _node_arrays(gltf: Any, source: Path) -> tuple[FloatArray, IntArray, FloatArray, dict[int, FloatArray]]:
    from bridge.avatar.gltf import _node_local_matrix

    world, parent = world_matrices(gltf, source)
    n = len(gltf.nodes)
    local = np.stack([_node_local_matrix(node) for node in gltf.nodes]) if n else np.zeros((0, 4, 4))
    parents = np.array([parent.get(i, -1) for i in range(n)], dtype=np.intp)
    world_arr = np.stack([world.get(i, np.eye(4)) for i in range(n)]) if n else np.zeros((0, 4, 4))
    return local, parents, world_arr, world


def _skins(buffers: _Buffers, gltf: Any, source: Path) -> tuple[AvatarSkin, ...]:
    skins = []
    n_nodes = len(gltf.nodes)
    for k, skin in enumerate(gltf.skins or []):
        joints = np.asarray(skin.joints or [], dtype=np.intp)
        if joints.size and (joints.min() < 0 or joints.max() >= n_nodes):
            raise AvatarError(f"avatar {source}: skin {k} names a joint node that does not exist; file broken")
        if skin.inverseBindMatrices is not None:
            ibm = read_accessor(buffers, skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
            if len(ibm) != len(joints):
                raise AvatarError(f"avatar {source}: skin {k} has {len(ibm)} inverse bind matrices for "
                                  f"{len(joints)} joints; the file is broken")  # fmt: skip
        else:
            ibm = np.tile(np.eye(4), (len(joints), 1, 1))
        skins.append(AvatarSkin(joints, ibm))
    return tuple(skins)


def read_avatar_meshes(path: str | Path, *, max_texture_px: int = MAX_TEXTURE_PX) -> AvatarMeshes:
    """Read the drawable parts of a ``.vrm`` / ``.glb`` / ``.gltf`` avatar (see the module docstring).

    Raises:
        AvatarError: not glTF, or broken references (one line naming the file and the problem).
    """
    source = Path(path)
    return meshes_of(load_gltf(source), source, max_texture_px=max_texture_px)


def meshes_of(gltf: Any, source: Path, *, max_texture_px: int = MAX_TEXTURE_PX) -> AvatarMeshes:
    """:func:`read_avatar_meshes` of a glTF already loaded with :func:`bridge.avatar.gltf.load_gltf`."""
    buffers = _Buffers(gltf, source)
    local, parents, world_arr, reached = _node_arrays(gltf, source)
    skins = _skins(buffers, gltf, source)
    meshes = gltf.meshes or []
    prims: list[AvatarPrimitive] = []
    notes: list[str] = []
    for i, node in enumerate(gltf.nodes):
        if node.mesh is None or i not in reached:
            continue
        if not 0 <= node.mesh < len(meshes):
            raise AvatarError(f"avatar {source}: node {i} names mesh {node.mesh}, which does not exist")
        skin = node.skin if node.skin is not None and 0 <= node.skin < len(skins) else None
        for prim in meshes[node.mesh].primitives or []:
            if (prim.mode if prim.mode is not None else _TRIANGLES) != _TRIANGLES:
                notes.append(f"mesh {node.mesh}: a primitive of mode {prim.mode} (not triangles) is not drawn")
                continue
            prims.append(_primitive(buffers, i, node.mesh, skin, prim))
    images: list[UInt8Image | None] = []
    for k, image in enumerate(gltf.images or []):
        images.append(_decode_image(buffers, image, max_texture_px))
        if images[-1] is None:
            notes.append(f"image {k} ({image.mimeType or image.uri or 'unknown type'}) could not be decoded")
    names = {m: _target_names(meshes[m]) for m in {p.mesh for p in prims}}
    defaults = {}
    for m in {p.mesh for p in prims}:
        n_targets = max((len(p.morph_deltas_m) for p in prims if p.mesh == m and p.morph_deltas_m is not None),
                        default=0)  # fmt: skip
        w = np.zeros(n_targets)
        given = meshes[m].weights or []
        w[: min(len(given), n_targets)] = given[:n_targets]
        defaults[m] = w
    return AvatarMeshes(
        str(source), tuple(prims), skins, tuple(images), local, parents, world_arr, names, defaults, tuple(notes)
    )
