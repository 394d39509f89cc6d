"""Solved rig motion → glTF 2.0 binary (``.glb``): the rig as a skin of joint nodes plus one animation.

glTF's frame is the rig frame (right-handed, Y up, the avatar faces +Z, metres) and its rotations are
scalar-last quaternions like scipy's, so nothing is converted: each bone is a node whose ``translation`` is the
rig's rest offset (``Hips``: its rest position above the floor origin) and whose animated ``rotation`` is the
bone's local rotation (each key in the hemisphere of the one before it); ``Hips`` also has an animated
``translation``. The nodes form a skin (joints and inverse bind matrices of the T-pose) so that importers such as
Blender build an armature from them; there is no mesh.
Keyframes are the same regular grid as the BVH export (:func:`bridge.export.bvh.resample_poses`), interpolation
``LINEAR`` (slerp for rotations, as the glTF specification defines it).

The file is written by hand (a JSON chunk and a BIN chunk, about 100 lines of code) rather than with a
dependency.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError
from bridge.core.files import atomic_write
from bridge.core.pose import BonePose
from bridge.core.rig import Rig
from bridge.core.rotations import continuous_quaternions
from bridge.export.bvh import resample_poses

FloatArray = npt.NDArray[np.float64]

_FLOAT = 5126  # glTF componentType FLOAT
_GLB_MAGIC = 0x46546C67  # "glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942


class _Buffer:
    """The BIN chunk being built: one bufferView and one accessor per array."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.views: list[dict[str, Any]] = []
        self.accessors: list[dict[str, Any]] = []

    def add(self, array: FloatArray, kind: str, with_bounds: bool = False) -> int:
        """Append a (N, k) float array as an accessor of ``kind`` (SCALAR, VEC3, VEC4, MAT4); its index."""
        a = np.ascontiguousarray(array, dtype="<f4")
        while len(self.data) % 4:
            self.data.append(0)
        self.views.append({"buffer": 0, "byteOffset": len(self.data), "byteLength": a.nbytes})
        self.data.extend(a.tobytes())
        acc: dict[str, Any] = {
            "bufferView": len(self.views) - 1, "componentType": _FLOAT, "count": int(a.shape[0]), "type": kind,
        }  # fmt: skip
        if with_bounds:
            flat = a.reshape(a.shape[0], -1)
            acc["min"] = [float(v) for v in flat.min(axis=0)]
            acc["max"] = [float(v) for v in flat.max(axis=0)]
        self.accessors.append(acc)
        return len(self.accessors) - 1


def gltf_document(poses: Sequence[BonePose], fps: float, name: str = "take") -> tuple[dict[str, Any], bytes]:
    """The glTF JSON document and its binary buffer for a take resampled at ``fps``."""
    if not poses:
        raise BridgeError("there is no motion to export: the input had no frames")
    quats, hips = resample_poses(poses, fps)
    return motion_document(poses[0].rig, quats, hips, fps, name)


def motion_document(
    rig: Rig, quats: FloatArray, hips: FloatArray, fps: float, name: str = "take"
) -> tuple[dict[str, Any], bytes]:
    """:func:`gltf_document` of a take already on the ``fps`` grid: (T, B, 4) scalar-last local quaternions
    (rig bone order) and (T, 3) hips positions (rig frame, metres)."""
    # Each key in the hemisphere of the one before: importers that interpolate or filter the four components
    # (rather than slerp the short way) see no jump.
    keys = continuous_quaternions(quats)
    n_t, n_b = quats.shape[0], len(rig)
    buf = _Buffer()
    times = np.arange(n_t, dtype=np.float64) / fps
    t_acc = buf.add(times, "SCALAR", with_bounds=True)
    rest_world = rig.rest_world_m
    ibm = np.tile(np.eye(4), (n_b, 1, 1))
    ibm[:, :3, 3] = -rest_world  # T-pose: every joint unrotated, so the inverse bind is a translation
    ibm_acc = buf.add(ibm.transpose(0, 2, 1).reshape(n_b, 16), "MAT4")  # glTF matrices are column-major

    nodes: list[dict[str, Any]] = []
    for b, bone in enumerate(rig.bones):
        node: dict[str, Any] = {"name": bone, "translation": [float(v) for v in rig.offsets_m[b]]}
        children = [int(c) for c in np.flatnonzero(rig.parents == b)]
        if children:
            node["children"] = children
        nodes.append(node)
    samplers: list[dict[str, Any]] = []
    channels: list[dict[str, Any]] = []
    for b in range(n_b):
        q = keys[:, b]
        samplers.append({"input": t_acc, "output": buf.add(q, "VEC4"), "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": b, "path": "rotation"}})
    samplers.append({"input": t_acc, "output": buf.add(hips, "VEC3"), "interpolation": "LINEAR"})
    channels.append({"sampler": len(samplers) - 1, "target": {"node": 0, "path": "translation"}})
    nodes[0]["translation"] = [float(v) for v in hips[0]]
    doc: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "bridge (bridge.export_gltf)"},
        "scene": 0,
        "scenes": [{"name": name, "nodes": [0]}],
        "nodes": nodes,
        "skins": [{"name": rig.name, "joints": list(range(n_b)), "skeleton": 0, "inverseBindMatrices": ibm_acc}],
        "animations": [{"name": name, "samplers": samplers, "channels": channels}],
        "accessors": buf.accessors,
        "bufferViews": buf.views,
        "buffers": [{"byteLength": len(buf.data)}],
    }
    return doc, bytes(buf.data)


def glb_bytes(doc: dict[str, Any], binary: bytes) -> bytes:
    """A GLB container: 12-byte header, JSON chunk (space-padded), BIN chunk (zero-padded)."""
    js = json.dumps(doc, separators=(",", ":")).encode("utf-8")
    js += b" " * (-len(js) % 4)
    bn = binary + b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(js) + 8 + len(bn)
    return b"".join([
        struct.pack("<III", _GLB_MAGIC, 2, total),
        struct.pack("<II", len(js), _CHUNK_JSON), js,
        struct.pack("<II", len(bn), _CHUNK_BIN), bn,
    ])  # fmt: skip


def export_glb(path: str | os.PathLike[str], poses: Sequence[BonePose], fps: float, name: str = "take") -> int:
    """Write a take as a ``.glb`` file (atomically); returns the number of keyframes."""
    doc, binary = gltf_document(poses, fps, name)
    atomic_write(path, glb_bytes(doc, binary), "glTF file")
    return int(doc["accessors"][0]["count"])


def export_glb_motion(
    path: str | os.PathLike[str], rig: Rig, quats: FloatArray, hips: FloatArray, fps: float, name: str = "take"
) -> int:
    """:func:`export_glb` of a take already on the ``fps`` grid (see :func:`motion_document`)."""
    doc, binary = motion_document(rig, quats, hips, fps, name)
    atomic_write(path, glb_bytes(doc, binary), "glTF file")
    return int(doc["accessors"][0]["count"])
