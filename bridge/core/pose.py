"""The solver's output: one frame of a posed humanoid rig."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.core.rig import Rig, forward_kinematics

FloatArray = npt.NDArray[np.float64]


class BoneState(enum.IntEnum):
    """Where a bone's rotation in a :class:`BonePose` came from."""

    TRACKED = 0  #: solved from landmarks seen in this frame
    HELD = 1  #: landmarks not seen: the last tracked rotation is held
    REST = 2  #: nothing to solve it from: rest pose (identity), or easing back to it


@dataclass(frozen=True, eq=False)
class BonePose:
    """A posed rig at one instant.

    Attributes:
        t_s: timestamp in seconds (the landmark frame's).
        rig: the skeleton these rotations apply to.
        hips_position_m: (3,) float, rig frame, metres: the Hips joint relative to the floor origin.
        local_rotations: ``len(rig)`` rotations, rig frame, each bone relative to its parent; identity = rest
            (T-pose).
        bone_state: (B,) int8 of :class:`BoneState` values.
        tracking: True while a person is tracked; False while holding or easing to rest after tracking loss.
        flags: per-frame notes from the stages (e.g. ``lr_swapped``).
    """

    t_s: float
    rig: Rig
    hips_position_m: FloatArray
    local_rotations: Rotation
    bone_state: npt.NDArray[np.int8]
    tracking: bool = True
    flags: Mapping[str, object] = field(default_factory=dict)

    @staticmethod
    def rest(rig: Rig, t_s: float = 0.0, tracking: bool = False) -> BonePose:
        """The rig's rest pose (T-pose, hips at their rest position), every bone flagged REST."""
        n = len(rig.bones)
        return BonePose(
            t_s=t_s,
            rig=rig,
            hips_position_m=rig.offsets_m[0].copy(),
            local_rotations=Rotation.identity(n),
            bone_state=np.full(n, BoneState.REST, dtype=np.int8),
            tracking=tracking,
        )

    def rotation_of(self, bone: str) -> Rotation:
        """Local rotation of ``bone``."""
        return self.local_rotations[self.rig.index(bone)]

    def world(self) -> tuple[FloatArray, FloatArray]:
        """(B, 3) joint positions (rig frame, metres) and (B, 3, 3) world rotation matrices."""
        return forward_kinematics(self.rig, self.local_rotations, self.hips_position_m)
