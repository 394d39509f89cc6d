"""An avatar's expressions: which morph targets a received blend shape name moves, and by how much.

A VMC receiver gets ``/VMC/Ext/Blend/Val (name, weight)`` messages and, on ``/VMC/Ext/Blend/Apply``, shows them
through the avatar's own expression table:

* **VRM 0.x** ``extensions.VRM.blendShapeMaster.blendShapeGroups``: each group ``{name, presetName, binds:
  [{mesh, index, weight 0..100}], isBinary}``. A received name selects a group by its ``name`` or by its preset's
  UniVRM enum name (``presetName`` ``blink_l`` ↔ ``Blink_L``, ``joy`` ↔ ``Joy``, ``a`` ↔ ``A``), case-sensitive as
  the VMC spec says (UniVRM's ``BlendShapeKey``).
* **VRM 1.0** ``extensions.VRMC_vrm.expressions``: ``preset`` (``happy``, ``aa``, ``blinkLeft`` …) and ``custom``
  expressions by their keys, each ``{morphTargetBinds: [{node, index, weight 0..1}], isBinary,
  overrideBlink|LookAt|Mouth: none|block|blend}``. VRM 0.x preset names select the matching VRM 1.0 preset too
  (``Joy`` → ``happy``, ``A`` → ``aa`` …), as VMagicMirror does for VRM 0.x senders. Overrides are applied as
  UniVRM 1.0 does: an active expression with ``block`` silences the blink (``blink*``), look-at (``look*``) or
  mouth (``aa ih ou ee oh``) expressions, with ``blend`` scales them by ``1 − its weight``.
* **plain glTF**: a received name moves every morph target of that name (``targetNames``) at weight 1 (how
  Blender's VMC4B drives shape keys); ARKit-named "Perfect Sync" targets work this way.

Received weights are clamped to [0, 1]; binary expressions snap at 0.5; each morph target's weight is the sum of
its binds, clamped to [0, 1]; targets no expression binds keep the mesh's default weight. Material colour and
texture-offset binds are not applied (noted by :func:`read_expressions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: VRM 0.x ``presetName`` → UniVRM's BlendShapePreset name (what senders put in ``/VMC/Ext/Blend/Val``).
VRM0_PRESETS: dict[str, str] = {
    "neutral": "Neutral", "a": "A", "i": "I", "u": "U", "e": "E", "o": "O", "blink": "Blink", "joy": "Joy",
    "angry": "Angry", "sorrow": "Sorrow", "fun": "Fun", "lookup": "LookUp", "lookdown": "LookDown",
    "lookleft": "LookLeft", "lookright": "LookRight", "blink_l": "Blink_L", "blink_r": "Blink_R",
}  # fmt: skip
#: VRM 0.x preset name → VRM 1.0 preset (UniVRM's migration table; VRM 0.x has no ``surprised``).
VRM0_TO_VRM1: dict[str, str] = {
    "Neutral": "neutral", "A": "aa", "I": "ih", "U": "ou", "E": "ee", "O": "oh", "Blink": "blink",
    "Joy": "happy", "Angry": "angry", "Sorrow": "sad", "Fun": "relaxed", "LookUp": "lookUp",
    "LookDown": "lookDown", "LookLeft": "lookLeft", "LookRight": "lookRight", "Blink_L": "blinkLeft",
    "Blink_R": "blinkRight",
}  # fmt: skip
#: VRM 1.0 override groups: the preset expressions an ``override*`` of another expression acts on.
OVERRIDE_GROUPS: dict[str, frozenset[str]] = {
    "overrideBlink": frozenset({"blink", "blinkLeft", "blinkRight"}),
    "overrideLookAt": frozenset({"lookUp", "lookDown", "lookLeft", "lookRight"}),
    "overrideMouth": frozenset({"aa", "ih", "ou", "ee", "oh"}),
}


@dataclass(frozen=True)
class MorphBind:
    """Morph target ``target`` of glTF mesh ``mesh`` at ``weight`` (0..1) when the expression is at 1."""

    mesh: int
    target: int
    weight: float


@dataclass(frozen=True, eq=False)
class Expression:
    """One expression: its key, binds, binary flag and VRM 1.0 overrides (``none`` / ``block`` / ``blend``)."""

    key: str
    binds: tuple[MorphBind, ...]
    is_binary: bool = False
    overrides: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class AvatarExpressions:
    """The expression table of an avatar and the received names that select each expression.

    Attributes:
        kind: ``vrm0``, ``vrm1`` or ``morph`` (plain glTF: morph target names).
        expressions: expression key → :class:`Expression`.
        names: received name → expression key.
        notes: what is not applied (material binds …).
    """

    kind: str
    expressions: dict[str, Expression]
    names: dict[str, str]
    notes: tuple[str, ...] = ()

    def matched(self, values: Mapping[str, float]) -> dict[str, float]:
        """Expression key → weight for the received ``values`` (name → weight): clamped, binary snapped,
        VRM 1.0 overrides applied. Unknown names are ignored."""
        out: dict[str, float] = {}
        for name, value in values.items():
            key = self.names.get(name)
            if key is None or not np.isfinite(value):
                continue
            w = float(np.clip(value, 0.0, 1.0))
            if self.expressions[key].is_binary:
                w = 1.0 if w > 0.5 else 0.0
            out[key] = w
        factors = {group: 1.0 for group in OVERRIDE_GROUPS}
        for key, w in out.items():
            for group, mode in self.expressions[key].overrides.items():
                if key in OVERRIDE_GROUPS.get(group, ()):
                    continue  # an expression never overrides its own group
                if w > 0 and mode == "block":
                    factors[group] = 0.0
                elif w > 0 and mode == "blend":
                    factors[group] = min(factors[group], 1.0 - w)
        for group, f in factors.items():
            for key in OVERRIDE_GROUPS[group] & out.keys():
                out[key] *= f
        return out

    def morph_weights(
        self, values: Mapping[str, float], defaults: Mapping[int, FloatArray]
    ) -> dict[int, FloatArray]:
        """glTF mesh index → (T,) morph weights for the received ``values``: the mesh's defaults where no
        expression binds a target, else the sum of the binds, clamped to [0, 1]."""
        out = {m: np.array(w, dtype=np.float64) for m, w in defaults.items()}
        bound: dict[int, set[int]] = {}
        for e in self.expressions.values():
            for b in e.binds:
                bound.setdefault(b.mesh, set()).add(b.target)
        for m, targets in bound.items():
            if m in out:
                idx = [t for t in targets if t < len(out[m])]
                out[m][idx] = 0.0
        for key, w in self.matched(values).items():
            for b in self.expressions[key].binds:
                if b.mesh in out and b.target < len(out[b.mesh]):
                    out[b.mesh][b.target] += w * b.weight
        return {m: np.clip(w, 0.0, 1.0) for m, w in out.items()}


def _vrm0(ext: dict[str, Any], n_targets: Mapping[int, int]) -> AvatarExpressions:
    groups = ((ext.get("blendShapeMaster") or {}).get("blendShapeGroups")) or []
    expressions: dict[str, Expression] = {}
    names: dict[str, str] = {}
    materials = 0
    for k, g in enumerate(groups):
        if not isinstance(g, dict):
            continue
        binds = tuple(
            MorphBind(int(b["mesh"]), int(b["index"]), float(b.get("weight", 100.0)) / 100.0)
            for b in g.get("binds") or []
            if isinstance(b, dict) and isinstance(b.get("mesh"), int) and isinstance(b.get("index"), int)
            and 0 <= b["index"] < n_targets.get(b["mesh"], 0)
        )  # fmt: skip
        materials += len(g.get("materialValues") or [])
        key = str(g.get("name") or f"group{k}")
        expressions[key] = Expression(key, binds, bool(g.get("isBinary", False)))
        names.setdefault(key, key)
        preset = VRM0_PRESETS.get(str(g.get("presetName", "")).lower())
        if preset is not None:
            names[preset] = key  # the preset's enum name wins over a group merely named like it
    notes = (f"{materials} material binds of blend shape groups are not applied",) if materials else ()
    return AvatarExpressions("vrm0", expressions, names, notes)


def _vrm1(ext: dict[str, Any], node_mesh: Mapping[int, int], n_targets: Mapping[int, int]) -> AvatarExpressions:
    table = ext.get("expressions") or {}
    expressions: dict[str, Expression] = {}
    names: dict[str, str] = {}
    other = 0
    for section in ("preset", "custom"):
        for key, e in (table.get(section) or {}).items():
            if not isinstance(e, dict):
                continue
            binds = []
            for b in e.get("morphTargetBinds") or []:
                node = b.get("node") if isinstance(b, dict) else None
                mesh = node_mesh.get(node) if isinstance(node, int) else None
                if (
                    mesh is not None
                    and isinstance(b.get("index"), int)
                    and 0 <= b["index"] < n_targets.get(mesh, 0)
                ):
                    binds.append(MorphBind(mesh, int(b["index"]), float(b.get("weight", 1.0))))
            other += len(e.get("materialColorBinds") or []) + len(e.get("textureTransformBinds") or [])
            overrides = {g: str(e.get(g, "none")) for g in OVERRIDE_GROUPS}
            expressions[str(key)] = Expression(str(key), tuple(binds), bool(e.get("isBinary", False)), overrides)
            names[str(key)] = str(key)
    for vrm0, vrm1 in VRM0_TO_VRM1.items():
        if vrm1 in expressions:
            names.setdefault(vrm0, vrm1)
    notes = (f"{other} material colour / texture binds of expressions are not applied",) if other else ()
    return AvatarExpressions("vrm1", expressions, names, notes)


def _morph_names(target_names: Mapping[int, tuple[str, ...]]) -> AvatarExpressions:
    by_name: dict[str, list[MorphBind]] = {}
    for mesh, names in target_names.items():
        for t, name in enumerate(names):
            if name:
                by_name.setdefault(name, []).append(MorphBind(mesh, t, 1.0))
    expressions = {n: Expression(n, tuple(b)) for n, b in by_name.items()}
    return AvatarExpressions("morph", expressions, {n: n for n in expressions})


def read_expressions(
    gltf: Any, target_names: Mapping[int, tuple[str, ...]], default_weights: Mapping[int, FloatArray]
) -> AvatarExpressions:
    """The expression table of a loaded glTF (pygltflib) whose meshes have ``target_names`` and
    ``default_weights`` (see :class:`bridge.avatar.mesh.AvatarMeshes`)."""
    ext = gltf.extensions or {}
    n_targets = {m: len(w) for m, w in default_weights.items()}
    if isinstance(ext.get("VRMC_vrm"), dict):
        node_mesh = {i: n.mesh for i, n in enumerate(gltf.nodes) if n.mesh is not None}
        return _vrm1(ext["VRMC_vrm"], node_mesh, n_targets)
    if isinstance(ext.get("VRM"), dict):
        return _vrm0(ext["VRM"], n_targets)
    return _morph_names(target_names)
