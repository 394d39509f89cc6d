"""Root motion: the hips travel and rise in the world as the body-state stage placed them.

``--root-motion`` (:attr:`~bridge.solve.body_config.SolverConfig.root_motion`):

* ``off``: the hips stay above the rig's origin, grounded (the lowest foot at its rest height): what a VTuber
  at a desk wants — the avatar stays where the scene put it whatever the camera guesses about depth.
* ``planar``: the hips travel over the floor (x, z) as the person does; their height stays grounded.
* ``full``: they also rise: grounded height plus the placement's lift (a jump, a step onto a box); a planted foot
  is on the floor (lift 0), so standing and crouching stay exact.

With ``planar`` and ``full`` no joint of the posed rig goes below the floor (y = 0): where one would (a hand on
the floor, lying down), the hips rise by as much.

The travel is relative to where the person was first placed (the mean of the first ``ORIGIN_FRAMES``
placements: the avatar starts at the origin) and scaled by the
rig's height over the person's (:attr:`~bridge.core.landmarks.Placement.height_m`), so an avatar of another
size takes steps of its own size. Frames: the room frame of a placement has the rig frame's axes (Y up, +Z
toward the camera, +X the camera's image right), metres.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from bridge.core.landmarks import Placement
from bridge.core.rig import Rig, forward_kinematics

FloatArray = npt.NDArray[np.float64]

#: Placements averaged into the origin of the travel (half a second at 30 fps).
ORIGIN_FRAMES = 15


class RootMotion:
    """Grounded hips (T, 3) + placements → hips that travel (state: the origin, the last travel)."""

    def __init__(self, rig: Rig, mode: str = "off") -> None:
        self.rig = rig
        self.mode = mode
        self._origin: FloatArray | None = None
        self._count = 0
        self._last = np.zeros(3)

    def reset(self) -> None:
        """Forget the origin: the next placement starts at the rig's origin again."""
        self._origin = None
        self._count = 0
        self._last = np.zeros(3)

    def __call__(
        self, grounded_m: FloatArray, placements: Sequence[Placement | None], quats: FloatArray | None = None
    ) -> FloatArray:
        """(T, 3) hips, rig frame, metres. ``quats``: (T, B, 4) the frames' local rotations (scalar-last); given,
        no joint ends below the floor (the hips rise instead: hands on the floor in a knockdown)."""
        if self.mode == "off":
            return grounded_m
        out = np.array(grounded_m, dtype=np.float64, copy=True)
        for k, p in enumerate(placements):
            if p is not None:
                if self._count < ORIGIN_FRAMES:  # the origin: the mean of the first placements (one may be off)
                    self._count += 1
                    first = np.asarray(p.hips_m, dtype=np.float64)
                    self._origin = (
                        first if self._origin is None else self._origin + (first - self._origin) / self._count
                    )
                assert self._origin is not None
                scale = self.rig.height_m / p.height_m if math.isfinite(p.height_m) and p.height_m > 0 else 1.0
                travel = (np.asarray(p.hips_m) - self._origin) * scale
                travel[1] = p.lift_m * scale if self.mode == "full" else 0.0
                self._last = travel
            out[k] += self._last
        if quats is not None:
            n_t = len(out)
            joints, _ = forward_kinematics(self.rig, Rotation.from_quat(np.reshape(quats, (-1, 4))), out)
            lowest = np.reshape(joints, (n_t, -1, 3))[:, :, 1].min(axis=1)
            out[:, 1] += np.maximum(0.0, -lowest)
        return out
