"""Humanoid rigs as data, their validation, and forward kinematics.

A rig lists bones named as Unity HumanBodyBones, each with its parent and its **rest local offset**: the
position of the bone's joint relative to its parent's joint, in metres, in the rig frame, with every local
rotation identity (the VRM T-pose).

Rig frame (used by the rig, the solver and every ``BonePose``): right-handed, Y up, the avatar faces +Z and
+X is the avatar's left: the glTF / VRM 1.0 frame. Metres. The root bone (Hips) has as offset its rest
position above the floor origin.

Rig files (``avatars/NAME.json``) look like::

    {"format": "bridge-rig", "version": 1, "name": "default", "unit": "m",
     "bones": [{"name": "Hips", "parent": null, "offset": [0, 0.95, 0]},
               {"name": "Spine", "parent": "Hips", "offset": [0, 0.1, 0]}, ...]}

An optional ``"tail": [x, y, z]`` on a leaf bone gives the end of that bone (head top, finger tips), used for
drawing and BVH end sites.

**Original bones.** The rig is *normalised*: every bone's rest rotation is identity. An avatar file's own bone
nodes (VRM 1.0, most glTF exports) usually have rest rotations of their own, and receivers that write received
local rotations straight onto those nodes (EVMC4U with a VRM 1.0 model, VMC4UE) need them in that *original*
space. A rig read from such a file carries :class:`OriginalBones` (``Rig.original``): each bone node's rest
rotation, its parent node's, and its local translation; the conversion itself is
:func:`bridge.core.frames.normalized_to_original_rotation`. A rig from a ``.json`` file has none:
:attr:`Rig.original_bones` then gives identity rest rotations and the offsets as local translations, so both
spaces coincide.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.core.errors import BridgeError
from bridge.core.humanoid import HUMAN_BODY_BONES, REQUIRED_BONES

FloatArray = npt.NDArray[np.float64]

RIG_FORMAT = "bridge-rig"
#: File suffixes of avatars (read by :mod:`bridge.avatar`), not rig files.
AVATAR_SUFFIXES = (".vrm", ".glb", ".gltf")
RIG_VERSION = 1

#: Folder of the rig files that ship with bridge (``avatars/`` in a checkout, ``bridge/avatars`` installed).
AVATARS_DIR_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "avatars",
    Path(__file__).resolve().parents[1] / "avatars",
)


class RigError(BridgeError):
    """A rig file that cannot be used: its message names the file and what is wrong."""


@dataclass(frozen=True, eq=False)
class OriginalBones:
    """The avatar file's own bone nodes at rest, per rig bone (rig order), all in the rig frame's axes.

    Attributes:
        rotations: B rotations: each bone node's world rotation in the rest pose (the T-pose the rig is in: arms
            and legs straightened by the avatar reader are turned with it).
        parent_rotations: B rotations: the world rest rotation of each bone node's parent *node* (which may be a
            non-humanoid node between two humanoid bones; for Hips, the armature above it).
        local_positions: (B, 3) float: each bone node's local translation in its parent node's frame and units
            (what a receiver writes as the node's local position).
        parent_scales: (B,) float: the uniform world scale of each parent node (an armature scaled 0.01 gives
            0.01; VRM: 1), to turn a movement in metres into the parent's units.
        kind: what the file is: ``vrm0``, ``vrm1``, ``gltf:<mapping>`` ("" when unknown).
    """

    rotations: Rotation
    parent_rotations: Rotation
    local_positions: FloatArray
    parent_scales: FloatArray
    kind: str = ""

    @property
    def has_rest_rotations(self) -> bool:
        """Whether any bone node or parent node is rotated at rest (if not, original = normalised)."""
        return bool(
            max(self.rotations.magnitude().max(), self.parent_rotations.magnitude().max()) > math.radians(0.01)
        )

    def hips_local_position(self, hips_position_m: FloatArray, rest_hips_m: FloatArray) -> FloatArray:
        """(3,) the Hips node's local translation (parent node frame and units) for the Hips joint at
        ``hips_position_m`` (rig frame, metres), given its rest position ``rest_hips_m``."""
        move = self.parent_rotations[0].inv().apply(np.asarray(hips_position_m, dtype=np.float64) - rest_hips_m)
        return np.asarray(self.local_positions[0] + move / self.parent_scales[0], dtype=np.float64)

    def hips_position_from_local(self, local_position: FloatArray, rest_hips_m: FloatArray) -> FloatArray:
        """Inverse of :meth:`hips_local_position`: the Hips joint (rig frame, metres) for a node translation."""
        move = (np.asarray(local_position, dtype=np.float64) - self.local_positions[0]) * self.parent_scales[0]
        return np.asarray(rest_hips_m + self.parent_rotations[0].apply(move), dtype=np.float64)


#: The largest offset (metres, any axis) a rig's bone may have: rigs are people, not planets.
MAX_OFFSET_M = 100.0


@dataclass(frozen=True, eq=False)
class Rig:
    """A humanoid skeleton in its rest pose.

    Attributes:
        name: the rig's name.
        bones: bone names (Unity HumanBodyBones), ordered so that every parent comes before its children.
        parents: (B,) int, index of each bone's parent in ``bones``; -1 for the root (Hips).
        offsets_m: (B, 3) float, rig frame, metres: rest local offset of each bone's joint from its parent's
            joint (for the root: its rest position relative to the floor origin).
        tails_m: bone name → (3,) float, rig frame, metres: the end of a leaf bone relative to its joint.
        original: the avatar file's own bone nodes (see the module docstring); None for a rig file.
    """

    name: str
    bones: tuple[str, ...]
    parents: npt.NDArray[np.intp]
    offsets_m: FloatArray
    tails_m: dict[str, FloatArray] = field(default_factory=dict)
    original: OriginalBones | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {b: i for i, b in enumerate(self.bones)})
        offsets = np.asarray(self.offsets_m, dtype=np.float64)
        # Forward kinematics' levels: (bones, their parents, their rest offsets (K, 3, 1) metres).
        levels = [(ks, ps, offsets[ks][:, :, None]) for ks, ps in depth_levels(self.parents)]
        object.__setattr__(self, "_levels", levels)
        sizes = np.abs(np.asarray(self.offsets_m, dtype=np.float64))
        tails = [np.abs(np.asarray(t, dtype=np.float64)) for t in self.tails_m.values()]
        if not all(np.all(np.isfinite(a)) and (a.size == 0 or a.max() <= MAX_OFFSET_M) for a in [sizes, *tails]):
            raise RigError(
                f"rig {self.name}: a bone offset is not a finite size of at most {MAX_OFFSET_M:g} m (largest "
                f"{float(np.nan_to_num(sizes, nan=np.inf).max()):.3g} m); a rig is in metres at a person's size"
            )

    def __len__(self) -> int:
        return len(self.bones)

    def index(self, bone: str) -> int:
        """Index of ``bone`` in this rig (KeyError if the rig has no such bone)."""
        return self._index[bone]  # type: ignore[attr-defined, no-any-return]

    def has(self, bone: str) -> bool:
        """Whether the rig has ``bone``."""
        return bone in self._index  # type: ignore[attr-defined]

    def parent_of(self, bone: str) -> str | None:
        """Name of ``bone``'s parent, None for the root."""
        p = int(self.parents[self.index(bone)])
        return None if p < 0 else self.bones[p]

    def children_of(self, bone: str) -> list[str]:
        """Names of ``bone``'s direct children."""
        i = self.index(bone)
        return [b for b, p in zip(self.bones, self.parents, strict=True) if p == i]

    @property
    def original_bones(self) -> OriginalBones:
        """:attr:`original`, or for a rig without one identity rest rotations and the offsets as translations."""
        if self.original is not None:
            return self.original
        n = len(self.bones)
        return OriginalBones(Rotation.identity(n), Rotation.identity(n), self.offsets_m.copy(), np.ones(n))

    @property
    def rest_world_m(self) -> FloatArray:
        """(B, 3) float, rig frame, metres: joint positions in the rest pose (a copy of the rig's own)."""
        return self._rest_world_m.copy()

    @functools.cached_property
    def _rest_world_m(self) -> FloatArray:
        pos, _ = forward_kinematics(self, Rotation.identity(len(self.bones)))
        return pos

    @functools.cached_property
    def height_m(self) -> float:
        """Standing height of the rest pose: from the floor (y=0) to the top of the head (its tail if given).
        Worked out once (the rig does not change): every frame of root motion asks for it."""
        rest = self._rest_world_m
        top = float(rest[:, 1].max())
        if "Head" in self.tails_m and self.has("Head"):
            top = max(top, float(rest[self.index("Head"), 1] + self.tails_m["Head"][1]))
        return top

    def to_json(self) -> dict[str, Any]:
        """The rig as the JSON document that :func:`load_rig` reads."""
        bones = []
        for i, b in enumerate(self.bones):
            entry: dict[str, Any] = {
                "name": b,
                "parent": None if self.parents[i] < 0 else self.bones[int(self.parents[i])],
                "offset": [round(float(v), 9) for v in self.offsets_m[i]],
            }
            if b in self.tails_m:
                entry["tail"] = [round(float(v), 9) for v in self.tails_m[b]]
            bones.append(entry)
        return {"format": RIG_FORMAT, "version": RIG_VERSION, "name": self.name, "unit": "m", "bones": bones}


def _vec3(value: object, where: str) -> FloatArray:
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"{where} must be a list of 3 numbers, got {value!r}")
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{where} has a non-finite number: {value!r}")
    return arr


def rig_from_json(doc: object, source: str = "<rig>") -> Rig:
    """Build and validate a :class:`Rig` from a parsed rig document; :class:`RigError` names any problem."""
    try:
        return _rig_from_json(doc)
    except (ValueError, TypeError, KeyError) as exc:
        raise RigError(f"rig {source} is not valid: {exc}; fix the file (see avatars/default.json)") from None


def _rig_from_json(doc: object) -> Rig:
    if not isinstance(doc, dict):
        raise ValueError("the document must be a JSON object")
    if doc.get("format") != RIG_FORMAT:
        raise ValueError(f'"format" must be "{RIG_FORMAT}"')
    if doc.get("version") != RIG_VERSION:
        raise ValueError(f'"version" {doc.get("version")!r} is not supported (this bridge reads {RIG_VERSION})')
    if doc.get("unit", "m") != "m":
        raise ValueError('"unit" must be "m"')
    entries = doc.get("bones")
    if not isinstance(entries, list) or not entries:
        raise ValueError('"bones" must be a non-empty list')
    names: list[str] = []
    parent_of: dict[str, str | None] = {}
    offsets: dict[str, FloatArray] = {}
    tails: dict[str, FloatArray] = {}
    for k, e in enumerate(entries):
        if not isinstance(e, dict):
            raise ValueError(f"bone #{k} must be an object")
        name = e.get("name")
        if name not in HUMAN_BODY_BONES:
            raise ValueError(f"bone #{k} has unknown name {name!r} (use Unity HumanBodyBones names)")
        if name in parent_of:
            raise ValueError(f"bone {name} appears twice")
        parent = e.get("parent")
        if parent is not None and not isinstance(parent, str):
            raise ValueError(f"bone {name}: parent must be a bone name or null")
        names.append(name)
        parent_of[name] = parent
        offsets[name] = _vec3(e.get("offset"), f"bone {name}: offset")
        if "tail" in e:
            tails[name] = _vec3(e["tail"], f"bone {name}: tail")
    roots = [b for b in names if parent_of[b] is None]
    if roots != ["Hips"]:
        raise ValueError(f"the rig must have exactly one root bone, Hips; roots found: {roots}")
    for b in names:
        p = parent_of[b]
        if p is not None and p not in parent_of:
            raise ValueError(f"bone {b} has parent {p}, which is not in the rig")
    missing = [b for b in REQUIRED_BONES if b not in parent_of]
    if missing:
        raise ValueError(f"required bones missing: {', '.join(missing)}")
    # Order parents before children; a bone never reached from Hips sits on a cycle.
    # Stable topological order: file order wherever a bone's parent is already placed.
    order: list[str] = []
    placed: set[str] = set()
    progress = True
    while progress:
        progress = False
        for b in names:
            if b not in placed and (parent_of[b] is None or parent_of[b] in placed):
                order.append(b)
                placed.add(b)
                progress = True
    if len(order) != len(names):
        cyc = sorted(set(names) - set(order))
        raise ValueError(f"bones {', '.join(cyc)} form a cycle (not reachable from Hips)")
    for b in order[1:]:
        if float(np.linalg.norm(offsets[b])) < 1e-4:
            raise ValueError(f"bone {b}: offset has zero length (a bone must have a length)")
    index = {b: i for i, b in enumerate(order)}
    parents = np.array([-1 if parent_of[b] is None else index[parent_of[b]] for b in order], dtype=np.intp)  # type: ignore[index]
    name = doc.get("name", "rig")
    return Rig(
        name=str(name),
        bones=tuple(order),
        parents=parents,
        offsets_m=np.stack([offsets[b] for b in order]),
        tails_m=tails,
    )


def avatars_dir() -> Path:
    """The folder of bundled rig files."""
    for d in AVATARS_DIR_CANDIDATES:
        if (d / "default.json").is_file():
            return d
    raise BridgeError("the bundled rigs (avatars/default.json) are missing; reinstall bridge")


def load_rig(name_or_path: str | Path = "default") -> Rig:
    """Load a rig file by bundled name (``default``, or ``avatars/NAME``) or from a ``.json`` path, validated.

    Avatar files (``.vrm`` / ``.glb`` / ``.gltf``) are read by :func:`bridge.avatar.load.load_rig_or_avatar`."""
    text = str(name_or_path)
    path = Path(text)
    if not path.suffix and not path.exists():
        path = avatars_dir() / f"{path.name}.json"
    if not path.is_file():
        raise RigError(f"rig file {text} not found; pass a rig .json file or a bundled name such as 'default'")
    if path.suffix.lower() in AVATAR_SUFFIXES:
        raise RigError(f"{path} is an avatar file, not a rig file; pass it with --avatar")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RigError(f"rig {path} is not readable JSON ({exc}); fix or regenerate the file") from None
    return rig_from_json(doc, str(path))


def forward_kinematics(
    rig: Rig, local_rotations: Rotation, hips_position_m: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """World joint positions and rotations of a posed rig.

    Args:
        rig: the skeleton.
        local_rotations: B rotations (one frame) or T*B rotations (T frames, bone-major within a frame),
            each bone relative to its parent, rig frame.
        hips_position_m: (3,) or (T, 3) float, rig frame, metres: where the root joint is. Default: its rest
            position (``rig.offsets_m[0]``).

    Returns:
        positions: (B, 3) or (T, B, 3) float, rig frame, metres: joint positions.
        rotations: (B, 3, 3) or (T, B, 3, 3) float: world rotation matrices of the bones.
    """
    n_bones = len(rig.bones)
    mats = local_rotations.as_matrix()
    single = len(mats) == n_bones and (hips_position_m is None or np.ndim(hips_position_m) == 1)
    mats = mats.reshape(-1, n_bones, 3, 3)
    n_frames = mats.shape[0]
    if hips_position_m is None:
        root = np.broadcast_to(rig.offsets_m[0], (n_frames, 3))
    else:
        root = np.broadcast_to(np.asarray(hips_position_m, dtype=np.float64).reshape(-1, 3), (n_frames, 3))
    world_r = np.empty_like(mats)
    world_p = np.empty((n_frames, n_bones, 3))
    roots = rig.parents < 0
    world_r[:, roots] = mats[:, roots]
    world_p[:, roots] = root[:, None]
    # One level of the tree at a time (every bone of a level has its parent in a level above): ~10 levels of
    # two products each instead of two per bone (a 54-bone rig: 0.160 → 0.082 ms a frame).
    for ks, ps, offsets in rig._levels:  # type: ignore[attr-defined]
        parent_r = world_r[:, ps]
        world_r[:, ks] = parent_r @ mats[:, ks]
        world_p[:, ks] = world_p[:, ps] + (parent_r @ offsets)[..., 0]
    if single:
        return world_p[0], world_r[0]
    return world_p, world_r


def depth_levels(
    parents: npt.NDArray[np.intp] | list[int],
) -> list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]]:
    """[(bones (K,), their parents (K,))] per depth below the root(s), top down, of a tree whose ``parents`` (-1: a
    root) come before their children: the order forward kinematics needs (every parent in a level above)."""
    parents = np.asarray(parents, dtype=np.intp)
    depth = np.zeros(len(parents), dtype=np.intp)
    for b, p in enumerate(parents):
        depth[b] = depth[p] + 1 if p >= 0 else 0
    levels = []
    for d in range(1, int(depth.max(initial=0)) + 1):
        ks = np.flatnonzero(depth == d)
        levels.append((ks, parents[ks]))
    return levels


def scaled(rig: Rig, factor: float, name: str | None = None) -> Rig:
    """The same rig with every offset multiplied by ``factor`` (e.g. to fit a user's height)."""
    if not math.isfinite(factor) or factor <= 0:
        raise BridgeError(f"scale factor must be a positive number, got {factor}")
    return Rig(
        name=name or rig.name,
        bones=rig.bones,
        parents=rig.parents,
        offsets_m=rig.offsets_m * factor,
        tails_m={k: v * factor for k, v in rig.tails_m.items()},
        original=None
        if rig.original is None
        else OriginalBones(
            rig.original.rotations,
            rig.original.parent_rotations,
            rig.original.local_positions * factor,
            rig.original.parent_scales,
            rig.original.kind,
        ),
    )
