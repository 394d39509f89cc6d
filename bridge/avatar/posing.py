"""An avatar posed like a VMC receiver poses it: the rig's pose on the file's nodes, then its meshes skinned.

Frames: everything comes out in the **rig frame** (right-handed, Y up, the avatar faces +Z, metres): the file's
frame is turned by the avatar's facing turn and its floor moved to y = 0 (:attr:`AvatarModel.file_to_rig`, the
same conversion :mod:`bridge.avatar.read` applies to the skeleton).

Nodes (:func:`posed_nodes`), the way a receiver with a normalised humanoid (UniVRM, EVMC4U's default) applies
local bone rotations on top of the T-pose:

* a humanoid bone's node sits at the bone's joint from forward kinematics and turns by the bone's world rotation
  ``W_b`` relative to its rest: its world matrix is ``[W_b · S_b · R0 | joint_b]``, with ``R0`` the node's rest
  world rotation (and scale) in the rig frame and ``S_b`` the turn that straightened an A-posed file into the
  rig's T-pose (:func:`straightening_rotations`; identity for VRM, which is in the T-pose by spec);
* every other node (helpers between bones, hair and cloth bones, accessories) keeps its rest local transform
  under its parent.

Meshes (:class:`Skinner`): morph targets are added to the bind-pose vertices first (glTF order), then linear
blend skinning with the skin's joints and inverse bind matrices (:func:`bridge.core.skinning.skinning_matrices`;
the blend itself is :func:`bridge.core.skinning.skin_vertices` in float32, vectorised by influence count,
tested equal to it). A mesh without a skin follows its node rigidly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bridge.avatar.expressions import AvatarExpressions, read_expressions
from bridge.avatar.gltf import load_gltf
from bridge.avatar.mesh import MAX_TEXTURE_PX, AvatarMeshes, AvatarPrimitive, meshes_of
from bridge.avatar.read import AvatarSkeleton, read_avatar_skeleton
from bridge.core.frames import gltf_to_rig_matrix
from bridge.core.rig import Rig
from bridge.core.skinning import skinning_matrices

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.intp]


def _turn_between(a: FloatArray, b: FloatArray) -> FloatArray:
    """(3, 3): the smallest rotation taking direction ``a`` onto direction ``b`` (as the T-pose straightening
    of :mod:`bridge.avatar.read` turns a limb)."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    axis = np.cross(a, b)
    angle = math.atan2(float(np.linalg.norm(axis)), float(a @ b))
    if angle < 1e-9:
        return np.eye(3)
    if np.linalg.norm(axis) < 1e-12:  # opposite: any perpendicular axis
        axis = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
    from scipy.spatial.transform import Rotation

    return np.asarray(Rotation.from_rotvec(axis / np.linalg.norm(axis) * angle).as_matrix())


def straightening_rotations(rig: Rig, bind_joints_m: FloatArray) -> FloatArray:
    """(B, 3, 3) world rotations ``S_b`` that take each bone of the file's bind pose into the rig's rest pose.

    A bone with one child turns by the smallest rotation that carries its bind direction (after its parent's
    turn) onto the rig's rest direction; other bones turn with their parent. For a rig read with ``tpose=False``
    (or a file already in the T-pose) every ``S_b`` is the identity.

    Args:
        rig: the rig the poses are for (rest offsets, rig frame).
        bind_joints_m: (B, 3) float, rig frame, metres: the same joints where the file's bind pose has them.
    """
    out = np.tile(np.eye(3), (len(rig), 1, 1))
    children: dict[int, list[int]] = {}
    for b, p in enumerate(rig.parents):
        if p >= 0:
            children.setdefault(int(p), []).append(b)
    for b in range(len(rig)):
        p = int(rig.parents[b])
        base = out[p] if p >= 0 else np.eye(3)
        kids = children.get(b, [])
        if len(kids) == 1:
            c = kids[0]
            bind_dir = base @ (bind_joints_m[c] - bind_joints_m[b])
            out[b] = _turn_between(bind_dir, rig.offsets_m[c]) @ base
        else:
            out[b] = base
    return out


@dataclass(frozen=True, eq=False)
class AvatarModel:
    """A drawable avatar: its skeleton (and rig), meshes, expressions, and how its nodes follow the rig.

    Attributes:
        skeleton: the humanoid skeleton (:func:`bridge.avatar.read.read_avatar_skeleton`, T-posed).
        meshes: the drawable parts (:func:`bridge.avatar.mesh.read_avatar_meshes`).
        expressions: the expression table (:func:`bridge.avatar.expressions.read_expressions`).
        file_to_rig: (4, 4) float: the file's frame → the rig frame (facing turn, floor to y = 0).
        bone_nodes: (B,) intp: the node of each rig bone.
        bind_joints_m: (B, 3) float, rig frame, metres: the joints as the file's bind pose has them.
        straighten: (B, 3, 3) float: :func:`straightening_rotations`.
        rest_rotations: (B, 3, 3) float: each bone node's rest world rotation and scale in the rig frame.
        levels: node indices by depth from the scene roots (parents first).
    """

    skeleton: AvatarSkeleton
    meshes: AvatarMeshes
    expressions: AvatarExpressions
    file_to_rig: FloatArray
    bone_nodes: IntArray
    bind_joints_m: FloatArray
    straighten: FloatArray
    rest_rotations: FloatArray
    levels: tuple[IntArray, ...]

    @property
    def rig(self) -> Rig:
        return self.skeleton.rig


def _levels(parents: IntArray) -> tuple[IntArray, ...]:
    children: dict[int, list[int]] = {}
    for i, p in enumerate(parents):
        children.setdefault(int(p), []).append(i)
    levels, current = [], children.get(-1, [])
    seen: set[int] = set()
    while current:
        current = [n for n in current if n not in seen]
        seen.update(current)
        if current:
            levels.append(np.asarray(current, dtype=np.intp))
        current = [c for n in current for c in children.get(n, [])]
    return tuple(levels)


def load_avatar_model(path: str | Path, *, max_texture_px: int = MAX_TEXTURE_PX) -> AvatarModel:
    """Read everything the viewer needs to draw the avatar in ``path`` (``.vrm`` / ``.glb`` / ``.gltf``).

    Raises:
        AvatarError: see :func:`bridge.avatar.read.read_avatar_skeleton` and
            :func:`bridge.avatar.mesh.read_avatar_meshes`.
    """
    source = Path(path)
    skeleton = read_avatar_skeleton(source)
    gltf = load_gltf(source)
    meshes = meshes_of(gltf, source, max_texture_px=max_texture_px)
    expressions = read_expressions(gltf, meshes.target_names, meshes.default_weights)
    rig = skeleton.rig
    file_to_rig = np.eye(4)
    file_to_rig[:3, :3] = gltf_to_rig_matrix(skeleton.facing_turn_deg)
    file_to_rig[1, 3] = -skeleton.floor_m
    bone_nodes = np.array([skeleton.bone_nodes[b] for b in rig.bones], dtype=np.intp)
    bind = file_to_rig @ meshes.node_world[bone_nodes]
    bind_joints = bind[:, :3, 3].copy()
    return AvatarModel(
        skeleton, meshes, expressions, file_to_rig, bone_nodes, bind_joints,
        straightening_rotations(rig, bind_joints), bind[:, :3, :3].copy(), _levels(meshes.node_parent),
    )  # fmt: skip


def posed_nodes(model: AvatarModel, joints_m: FloatArray, rotations: FloatArray) -> FloatArray:
    """(N, 4, 4) world matrices (rig frame, metres) of every node for a posed rig (see the module docstring).

    Args:
        joints_m: (B, 3) float, rig frame, metres: joint positions from forward kinematics of ``model.rig``.
        rotations: (B, 3, 3) float: the bones' world rotations (identity at rest).
    """
    m = model.meshes
    out = np.tile(np.eye(4), (len(m.node_local), 1, 1))
    bone_of = -np.ones(len(m.node_local), dtype=np.intp)
    bone_of[model.bone_nodes] = np.arange(len(model.bone_nodes))
    posed = np.empty((len(model.bone_nodes), 4, 4))
    posed[:, 3] = (0.0, 0.0, 0.0, 1.0)
    posed[:, :3, :3] = np.asarray(rotations) @ model.straighten @ model.rest_rotations
    posed[:, :3, 3] = joints_m
    for level in model.levels:
        parents = m.node_parent[level]
        up = np.where((parents >= 0)[:, None, None], out[np.maximum(parents, 0)], model.file_to_rig)
        out[level] = up @ m.node_local[level]
        bones = bone_of[level]
        hit = bones >= 0
        out[level[hit]] = posed[bones[hit]]
    return out


@dataclass(frozen=True, eq=False)
class _Prepared:
    """A primitive ready for fast skinning: vertices reordered by influence count (``order``), weights
    normalised (a vertex with none follows ``file_to_rig``: the extra last joint), sparse morph targets."""

    primitive: AvatarPrimitive
    order: IntArray
    positions_m: Float32Array
    joints: IntArray
    weights: Float32Array
    groups: tuple[tuple[int, int, int], ...]  # (start, end, influences)
    morphs: tuple[tuple[IntArray, Float32Array], ...]
    triangles: npt.NDArray[np.int32]
    uv: Float32Array | None


def _prepare(p: AvatarPrimitive, n_joints: int) -> _Prepared:
    """Prepare ``p``, whose skin (or rigid node) has ``n_joints`` joints."""
    w = np.asarray(p.weights, dtype=np.float64).copy()
    j = np.asarray(p.joints, dtype=np.intp).copy()
    w[~np.isfinite(w) | (w < 0)] = 0.0
    rank = np.argsort(-w, axis=1, kind="stable")  # largest weights first
    w = np.take_along_axis(w, rank, axis=1)
    j = np.take_along_axis(j, rank, axis=1)
    total = w.sum(axis=1)
    used = j[w > 0]
    if used.size and (used.min() < 0 or used.max() >= n_joints):
        from bridge.avatar.gltf import AvatarError

        raise AvatarError(f"a mesh of node {p.node} is weighted to joints its skin does not have; file broken")
    unbound = total <= 0
    w = np.where(unbound[:, None], 0.0, w / np.where(unbound, 1.0, total)[:, None])
    w[unbound, 0], j[unbound, 0] = 1.0, n_joints  # the extra joint: the file frame's rest placement
    count = np.maximum((w > 1e-7).sum(axis=1), 1)
    order = np.argsort(count, kind="stable").astype(np.intp)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    count = count[order]
    groups, start = [], 0
    for n in range(1, w.shape[1] + 1):
        end = int(np.searchsorted(count, n, side="right"))
        if end > start:
            groups.append((start, end, n))
        start = end
    morphs = []
    if p.morph_deltas_m is not None:
        for delta in p.morph_deltas_m[:, order]:
            nz = np.nonzero(np.abs(delta).sum(axis=1) > 0)[0].astype(np.intp)
            morphs.append((nz, np.ascontiguousarray(delta[nz], dtype=np.float32)))
    return _Prepared(
        p, order, np.ascontiguousarray(p.positions_m[order], dtype=np.float32), j[order],
        w[order].astype(np.float32), tuple(groups), tuple(morphs), inverse[p.triangles].astype(np.int32),
        None if p.uv is None else np.ascontiguousarray(p.uv[order]),
    )  # fmt: skip


def blend_vertices(
    positions_m: Float32Array, joints: IntArray, weights: Float32Array, groups: tuple[tuple[int, int, int], ...],
    skin: FloatArray,
) -> Float32Array:  # fmt: skip
    """Linear blend skinning in float32 (the formula of :func:`bridge.core.skinning.skin_vertices`), for vertices
    sorted by influence count: ``groups`` are (start, end, n) runs whose vertices use their first n joints.

    Args:
        positions_m: (V, 3) float32, bind pose; joints (V, K) intp; weights (V, K) float32 normalised rows.
        skin: (J, 4, 4) float skinning matrices (joint world @ inverse bind).

    Returns:
        (V, 3) float32 posed vertices.
    """
    mats = np.ascontiguousarray(np.asarray(skin)[:, :3, :], dtype=np.float32).reshape(-1, 12)
    out = np.empty((len(positions_m), 3), dtype=np.float32)
    for start, end, n in groups:
        jj, ww = joints[start:end], weights[start:end]
        acc = mats[jj[:, 0]]
        if n > 1:
            acc = acc * ww[:, :1]
            for k in range(1, n):
                acc += ww[:, k : k + 1] * mats[jj[:, k]]
        a = acc.reshape(-1, 3, 4)
        out[start:end] = np.matmul(a[:, :, :3], positions_m[start:end, :, None])[:, :, 0] + a[:, :, 3]
    return out


class Skinner:
    """Poses an :class:`AvatarModel`'s meshes: per frame, node matrices + morph weights → posed vertices.

    Preparation (reordering, normalising, sparse morph targets) happens once here; :meth:`vertices` is the
    per-frame work (numpy, float32, no per-vertex Python).
    """

    def __init__(self, model: AvatarModel) -> None:
        self.model = model
        skins = model.meshes.skins
        self.parts = tuple(
            _prepare(p, 1 if p.skin is None else len(skins[p.skin].joints)) for p in model.meshes.primitives
        )

    def skin_matrices(self, part: _Prepared, nodes: FloatArray) -> FloatArray:
        """(J + 1, 4, 4) float64 skinning matrices of ``part`` for node matrices ``nodes`` (the last one places
        vertices bound to no joint as the file's rest pose does)."""
        p = part.primitive
        if p.skin is None:
            mats = nodes[p.node][None]
        else:
            skin = self.model.meshes.skins[p.skin]
            mats = skinning_matrices(nodes[skin.joints], skin.inverse_bind)
        return np.concatenate([mats, self.model.file_to_rig[None]])

    def vertices(
        self, nodes: FloatArray, morph_weights: Mapping[int, FloatArray] | None = None
    ) -> list[Float32Array]:
        """Posed vertices of every part (:attr:`parts` order, each in its own reordered vertex order), rig frame.

        Args:
            nodes: (N, 4, 4) float: :func:`posed_nodes`.
            morph_weights: glTF mesh index → (T,) morph weights (default: the meshes' defaults).
        """
        weights = self.model.meshes.default_weights if morph_weights is None else morph_weights
        out = []
        for part in self.parts:
            base = part.positions_m
            w = weights.get(part.primitive.mesh)
            if part.morphs and w is not None and np.any(np.abs(w) > 1e-6):
                base = base.copy()
                for t in np.nonzero(np.abs(w[: len(part.morphs)]) > 1e-6)[0]:
                    idx, delta = part.morphs[t]
                    base[idx] += np.float32(w[t]) * delta
            out.append(
                blend_vertices(base, part.joints, part.weights, part.groups, self.skin_matrices(part, nodes))
            )
        return out
