"""Avatar glTF files: loading them (pygltflib), node transforms in the rest pose, the meshes' height range.

:class:`AvatarError` is the one error every avatar reader raises.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.core.errors import BridgeError

FloatArray = npt.NDArray[np.float64]


class AvatarError(BridgeError):
    """An avatar file that cannot be used: the message names the file and what is missing."""


def load_gltf(path: Path) -> Any:
    """Parse a .glb/.vrm (binary) or .gltf (JSON) file with pygltflib; AvatarError if it is not glTF."""
    import pygltflib

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AvatarError(f"avatar {path} cannot be read ({exc.strerror or exc}); check the path") from None
    _check_node_count(data, path)
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
    for i, node in enumerate(gltf.nodes):
        _check_node(node, i, path)
    return gltf


#: The most nodes an avatar file may have (VRM avatars have a few hundred; 300k nodes took 95 s to read).
MAX_NODES = 20_000
#: The largest translation (metres) a node may have.
MAX_TRANSLATION_M = 1.0e4


def _check_node_count(data: bytes, path: Path) -> None:
    """AvatarError, before pygltflib builds an object per node, when the glTF JSON has absurdly many nodes."""
    import json
    import struct

    text = data
    if data[:4] == b"glTF" and len(data) >= 20:
        (length,) = struct.unpack_from("<I", data, 12)
        text = data[20 : 20 + length]
    try:
        doc = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return  # not JSON: pygltflib's reading says what is wrong
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    if isinstance(nodes, list) and len(nodes) > MAX_NODES:
        raise AvatarError(
            f"avatar {path} has {len(nodes)} nodes, more than any avatar ({MAX_NODES}); export the avatar "
            "alone, without the scene around it"
        )


def _check_node(node: Any, i: int, path: Path) -> None:
    """AvatarError unless the node's transform has the glTF sizes (matrix 16, rotation 4, scale and translation
    3 values) and finite, plausible numbers."""
    for field, size in (("matrix", 16), ("rotation", 4), ("scale", 3), ("translation", 3)):
        value = getattr(node, field, None)
        if value is None:
            continue
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.zeros(0)
        if arr.shape != (size,) or not np.all(np.isfinite(arr)):
            raise AvatarError(
                f"avatar {path}: node {i} ({node.name or 'unnamed'}) has a {field} of {value!r}, glTF needs "
                f"{size} finite numbers; the file is broken, export it again"
            )
        if field == "translation" and float(np.abs(arr).max()) > MAX_TRANSLATION_M:
            raise AvatarError(
                f"avatar {path}: node {i} ({node.name or 'unnamed'}) is {float(np.abs(arr).max()):.3g} m from its "
                "parent; export the avatar in metres at its real size"
            )


def _node_local_matrix(node: Any) -> FloatArray:
    """(4, 4) float: a glTF node's local transform (its ``matrix``, else T·R·S)."""
    if node.matrix is not None:
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


def world_matrices(gltf: Any, source: Path) -> tuple[dict[int, FloatArray], dict[int, int]]:
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


def mesh_y_range(gltf: Any, world: dict[int, FloatArray]) -> tuple[float, float] | None:
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
