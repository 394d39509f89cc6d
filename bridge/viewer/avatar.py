"""The user's avatar in the viewer: a pose (solved, or received over VMC) and blend shapes → posed mesh layers.

:class:`AvatarView` holds an :class:`bridge.avatar.posing.AvatarModel` and its
:class:`~bridge.avatar.posing.Skinner` (prepared once) and turns each frame into mesh layers
(:class:`bridge.viewer.scene.MeshLayer`), rig frame:

* solved poses (``bridge view --input … --avatar FILE``): the pose's forward kinematics on the avatar's rig;
* received VMC (``--listen … --avatar FILE``), what a receiver with this avatar shows (:func:`received_world`):
  each received bone's **local rotation** replaces the avatar's bone's, the Hips take the received Hips position,
  the whole body the ``/VMC/Ext/Root/Pos`` transform; bone lengths stay the avatar's own (VSeeFace and VNyan do
  not stretch bones; bones the avatar lacks are dropped, bones not received stay at rest);
* blend shapes (``/VMC/Ext/Blend/Val`` after ``Apply``, or what the stream would send) go through the avatar's
  expression table (:mod:`bridge.avatar.expressions`) to its morph targets.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.avatar.posing import AvatarModel, Skinner, posed_nodes
from bridge.core.frames import original_to_normalized_rotation
from bridge.core.pose import BonePose
from bridge.core.rig import Rig, forward_kinematics
from bridge.output.vmc import NORMALIZED, ORIGINAL
from bridge.viewer.receiver import ReceivedFrame
from bridge.viewer.scene import MeshLayer

FloatArray = npt.NDArray[np.float64]


def received_world(frame: ReceivedFrame, rig: Rig, bone_space: str = NORMALIZED) -> tuple[FloatArray, FloatArray]:
    """(B, 3) joints (rig frame, metres) and (B, 3, 3) world rotations of ``rig`` posed by a received frame as a
    receiver applies it (see the module docstring). ``bone_space``: the sender's (``--bone-space``): original
    rotations are brought back to the normalised rig with
    :func:`~bridge.core.frames.original_to_normalized_rotation`."""
    quats = np.tile([0.0, 0.0, 0.0, 1.0], (len(rig), 1))
    for name, bone in frame.bones.items():
        if rig.has(name):
            quats[rig.index(name)] = bone.rotation.as_quat()
    if bone_space == ORIGINAL:
        bones = rig.original_bones
        normal = original_to_normalized_rotation(
            Rotation.from_quat(quats), bones.rotations, bones.parent_rotations
        )
        received = np.array([rig.bones[k] in frame.bones for k in range(len(rig))])
        quats = np.where(received[:, None], normal.as_quat(), quats)
    hips = frame.bones.get(rig.bones[0])
    hips_m = hips.position_m if hips is not None else rig.offsets_m[0]
    if hips is not None and bone_space == ORIGINAL:
        hips_m = rig.original_bones.hips_position_from_local(hips.position_m, rig.offsets_m[0])
    joints, rotations = forward_kinematics(rig, Rotation.from_quat(quats), hips_m)
    root_r = frame.root.rotation.as_matrix()
    return joints @ root_r.T + frame.root.position_m, root_r @ rotations


class AvatarView:
    """Poses and skins one avatar into mesh layers, frame after frame."""

    def __init__(self, model: AvatarModel, name: str = "avatar", bone_space: str = NORMALIZED) -> None:
        self.model = model
        self.name = name
        self.bone_space = bone_space
        self.skinner = Skinner(model)

    @property
    def rig(self) -> Rig:
        return self.model.rig

    def layers(
        self,
        joints_m: FloatArray,
        rotations: FloatArray,
        blendshapes: Mapping[str, float] | None = None,
        offset_m: FloatArray | None = None,
        opacity: float = 1.0,
    ) -> tuple[MeshLayer, ...]:
        """The avatar posed by FK results of its rig (``joints_m`` (B, 3), ``rotations`` (B, 3, 3), rig frame)
        with received blend shape values (name → weight), moved by ``offset_m`` (3,), alpha × ``opacity``."""
        m = self.model
        weights = m.expressions.morph_weights(blendshapes or {}, m.meshes.default_weights)
        vertices = self.skinner.vertices(posed_nodes(m, joints_m, rotations), weights)
        shift = np.zeros(3, dtype=np.float32) if offset_m is None else np.asarray(offset_m, dtype=np.float32)
        out = []
        for k, (part, v) in enumerate(zip(self.skinner.parts, vertices, strict=True)):
            mat = part.primitive.material
            tex = m.meshes.images[mat.texture] if mat.texture is not None else None
            colour = (*mat.base_color[:3], mat.base_color[3] * opacity)
            if mat.alpha_mode == "OPAQUE":  # glTF: alpha is ignored
                colour = (*mat.base_color[:3], opacity)
                tex = tex[:, :, :3] if tex is not None and tex.shape[2] == 4 else tex
            out.append(MeshLayer(
                f"{self.name}-{k}", v + shift, part.triangles, colour, part.uv if tex is not None else None, tex,
                f"{self.name}-texture-{mat.texture}-{0 if tex is None else tex.shape[2]}",
            ))  # fmt: skip
        return tuple(out)

    def pose_layers(
        self, pose: BonePose, blendshapes: Mapping[str, float] | None = None, offset_m: FloatArray | None = None,
        opacity: float = 1.0,
    ) -> tuple[MeshLayer, ...]:  # fmt: skip
        """The avatar in a solved ``pose`` (of this avatar's rig, or any rig with the same bones)."""
        if pose.rig is self.rig:
            joints, rotations = pose.world()
        else:  # another rig's rotations on the avatar's own bones
            from scipy.spatial.transform import Rotation

            quats = np.tile([0.0, 0.0, 0.0, 1.0], (len(self.rig), 1))
            for b, name in enumerate(pose.rig.bones):
                if self.rig.has(name):
                    quats[self.rig.index(name)] = pose.local_rotations[b].as_quat()
            joints, rotations = forward_kinematics(self.rig, Rotation.from_quat(quats), pose.hips_position_m)
        return self.layers(joints, rotations, blendshapes, offset_m, opacity)

    def received_layers(
        self, frame: ReceivedFrame, offset_m: FloatArray | None = None, opacity: float = 1.0
    ) -> tuple[MeshLayer, ...]:
        """The avatar as a receiver shows ``frame`` (bones and blend shapes)."""
        joints, rotations = received_world(frame, self.rig, self.bone_space)
        return self.layers(joints, rotations, frame.blendshapes, offset_m, opacity)
