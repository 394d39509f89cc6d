"""Linear blend skinning: a mesh's vertices moved by its skeleton's joints (the glTF 2.0 skinning model).

``vertex = Σ_k weight_k · (joint_matrix[j_k] @ inverse_bind[j_k]) @ rest_vertex`` over the (up to) four joints
``j_k`` each vertex is bound to. Pure numpy, vectorised over vertices; used by the viewer's avatar and by the
rendered ground truth of the tests and benches.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def skinning_matrices(joint_world: FloatArray, inverse_bind: FloatArray) -> FloatArray:
    """(J, 4, 4): each joint's world matrix times its inverse bind matrix (bind space → posed world space)."""
    return np.asarray(joint_world, dtype=np.float64) @ np.asarray(inverse_bind, dtype=np.float64)


def skin_vertices(rest_xyz: FloatArray, joints: IntArray, weights: FloatArray, skin: FloatArray) -> FloatArray:
    """Posed vertex positions.

    Args:
        rest_xyz: (V, 3) float, the mesh's vertices in its bind pose (the mesh node's frame, metres).
        joints: (V, K) int, indices into ``skin`` of the joints each vertex follows (K = 4 in glTF).
        weights: (V, K) float, their weights (rows summing to 1; rows summing to 0 keep the rest position).
        skin: (J, 4, 4) float, :func:`skinning_matrices` of the pose.

    Returns:
        (V, 3) float, the posed vertices in the skeleton's world frame.
    """
    w = np.asarray(weights, dtype=np.float64)
    total = w.sum(axis=1, keepdims=True)
    unbound = total[:, 0] <= 0
    w = np.where(total > 0, w / np.where(total > 0, total, 1.0), 0.0)
    blended = np.einsum("vk,vkij->vij", w, skin[np.asarray(joints, dtype=np.intp)])  # (V, 4, 4)
    p = np.asarray(rest_xyz, dtype=np.float64)
    out = np.einsum("vij,vj->vi", blended[:, :3, :3], p) + blended[:, :3, 3]
    out[unbound] = p[unbound]
    return out
