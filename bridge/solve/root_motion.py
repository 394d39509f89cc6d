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
placements, or the first where it was triangulated: the avatar starts at the origin) and scaled by the
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
#: The rig's feet, left and right (:attr:`~bridge.core.landmarks.Placement.planted`): the bones whose heads
#: can bear the weight (the ankle, then the ball of the foot as the heel rises). A planted foot is held along the
#: camera's axis (room Z) only, where the camera guesses (depth from the body's size wavers 6 % a frame); across
#: the view the image says where the hips are to a pixel, and holding the feet there too dragged the hips
#: against the image on a real view (Pose2Sim cam02: correlation with the image 0.99 → −0.05). Where several
#: calibrated cameras placed the body (``source="triangulated"``) neither axis is a guess: it is held on both.
FEET = (("LeftFoot", "LeftToes"), ("RightFoot", "RightToes"))
#: Seconds over which a planted foot's anchor follows the travel (:meth:`RootMotion._keep_feet`).
RECENTRE_S = 1.0
#: Seconds over which the hips' shift is smoothed (the legs' frame-to-frame noise would shake the hips: joint
#: jitter of two registry videos 35 → 41–44 m/s² unsmoothed, 36–38 with this).
SMOOTH_S = 0.05
#: Seconds over which the feet's shift fades once no foot is planted.
RELEASE_S = 0.3
#: Metres: two planted feet whose bearing points move apart by more than this in one frame have not both stood
#: still: the one that moved more is a leg whose pose jumped (:meth:`RootMotion._leg_jump`).
LEG_JUMP_M = 0.06


def bearing_points(rig: Rig) -> tuple[list[list[int]], FloatArray]:
    """Each foot's points that can bear the weight (:data:`FEET`: the ankle and the ball; the ankle twice on a rig
    without toes) as ``rig`` bone indices, and (F, 2) their heights at rest (flat on the floor), metres; ``([],
    (0,))`` on a rig without both feet."""
    feet = [[rig.index(b) for b in foot if rig.has(b)] for foot in FEET]
    feet = [foot[:1] * 2 if len(foot) == 1 else foot for foot in feet]  # no toes: the ankle only
    if not all(feet):
        return [], np.zeros(0)
    rest = rig.rest_world_m
    return feet, np.array([[rest[i][1] for i in foot] for foot in feet])


def bearing_support(points_m: FloatArray, flat_heights_m: FloatArray) -> npt.NDArray[np.intp]:
    """(T, F) which of each foot's :func:`bearing_points` bears the weight: the lower against its flat height (the
    heel strikes, the foot rolls, the ball pushes off). ``points_m``: (T, F, 2, 3), rig frame, metres."""
    return np.asarray(np.argmin(points_m[..., 1] - flat_heights_m, axis=-1))


class RootMotion:
    """Grounded hips (T, 3) + placements → hips that travel (state: the origin, the last travel, the planted
    feet's anchors)."""

    def __init__(self, rig: Rig, mode: str = "off") -> None:
        self.rig = rig
        self.mode = mode
        self._feet, self._flat_heights = bearing_points(rig)
        self.reset()

    def reset(self) -> None:
        """Forget the origin and the feet: the next placement starts at the rig's origin again."""
        self._origin: FloatArray | None = None
        self._count = 0
        self._last = np.zeros(3)
        self._anchors = np.full((len(FEET), 2), np.nan)  # planted feet's bearing points (room X, Z), rig frame, m
        self._support = np.full(len(FEET), -1)  # which of the foot's points bears the weight
        self._planted = np.zeros(len(FEET), dtype=bool)
        self._last_points: FloatArray | None = None  # (F, 2, 2) last frame's ankle and ball (room X, Z)
        self._correction = np.zeros(2)
        self._smoothed = np.zeros(2)
        self._last_t: float | None = None
        #: The last call's posed rig where it was given rotations: (T, B, 3) joints with the hips as returned and
        #: (T, B, 3, 3) world rotations (rig frame, metres), for :class:`~bridge.solve.foot_lock.FootLock`.
        self.posed: tuple[FloatArray, FloatArray] | None = None

    def __call__(
        self,
        grounded_m: FloatArray,
        placements: Sequence[Placement | None],
        quats: FloatArray | None = None,
        t_s: FloatArray | None = None,
    ) -> FloatArray:
        """(T, 3) hips, rig frame, metres. ``quats``: (T, B, 4) the frames' local rotations (scalar-last); given,
        planted feet stay where they were planted (:meth:`_keep_feet`, with ``t_s`` (T,) seconds) and no joint
        ends below the floor (the hips rise instead: hands on the floor in a knockdown)."""
        self.posed = None
        if self.mode == "off":
            return grounded_m
        out = np.array(grounded_m, dtype=np.float64, copy=True)
        for k, p in enumerate(placements):
            if p is not None:
                if self._count < ORIGIN_FRAMES:  # the origin: the mean of the first placements (one may be off)
                    self._count += ORIGIN_FRAMES if p.source == "triangulated" else 1  # measured: the first
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
            joints, world_r = forward_kinematics(self.rig, Rotation.from_quat(np.reshape(quats, (-1, 4))), out)
            joints = np.reshape(joints, (n_t, -1, 3))
            if self._feet:
                shift = self._keep_feet(joints[:, self._feet], placements, t_s)  # (T, 2): room X, Z (see FEET)
                out[:, [0, 2]] += shift
                joints[:, :, [0, 2]] += shift[:, None]
            rise = np.maximum(0.0, -joints[:, :, 1].min(axis=1))
            out[:, 1] += rise
            joints[:, :, 1] += rise[:, None]
            self.posed = (joints, np.reshape(world_r, (n_t, -1, 3, 3)))
        return out

    def _leg_jump(self, feet: FloatArray, support: npt.NDArray[np.intp]) -> None:
        """Both feet planted, as last frame: where their bearing points (``feet`` (F, 2) room X, Z, as the travel
        puts them) moved apart by more than :data:`LEG_JUMP_M`, the foot that moved more carries its anchor along
        by the difference, so that its jump does not shift the hips. Two feet on the ground move together, as the
        hips move over them; one jumping alone is its leg's pose jumping (the far leg of a side view switching
        between held and tracked: a 25 cm jump shifted the hips 12 cm and the near foot skated with them,
        rendered CMU 01_01 from the side)."""
        if self._last_points is None:
            return
        moved = feet - self._last_points[np.arange(len(FEET)), support]  # (F, 2) since last frame
        if float(np.linalg.norm(moved[0] - moved[1])) <= LEG_JUMP_M:
            return
        f = int(np.argmax(np.linalg.norm(moved, axis=1)))
        self._anchors[f] += moved[f] - moved[1 - f]

    def _keep_feet(
        self, feet_m: FloatArray, placements: Sequence[Placement | None], t_s: FloatArray | None
    ) -> FloatArray:
        """(T, 2) the shift over the floor (room X, Z) of the hips that keeps each planted foot where it was
        planted: along the camera's axis only (X stays 0) unless the placement was triangulated (see :data:`FEET`).

        ``feet_m``: (T, F, 2, 3) each foot's (rig ``FEET``) ankle and ball as the travel puts them, rig frame,
        metres. Of a planted foot (:attr:`Placement.planted`) the lower of the two bears the weight (the heel
        strikes, the foot rolls, the ball pushes off); it is anchored where the shifted rig had it when it took
        the weight, and while any foot is planted the hips shift so that the bearing points stay on their anchors
        (the rig's own legs decide the step, so an avatar of other proportions does not slide either). The
        anchors follow the travel by ``RECENTRE_S`` (a long stance does not hold a wrong guess forever); with no
        foot planted the shift fades over ``RELEASE_S``; the shift is smoothed over ``SMOOTH_S``. Without
        ``t_s`` the frames are taken 1/30 s apart.
        """
        n_t = len(feet_m)
        out = np.zeros((n_t, 2))
        times = np.arange(n_t, dtype=np.float64) / 30.0 if t_s is None else np.asarray(t_s, dtype=np.float64)
        support = bearing_support(feet_m, self._flat_heights)  # (T, F)
        floor_xz = feet_m[:, :, :, ::2]  # (T, F, 2 points, 2 axes: X, Z)
        for k in range(n_t):
            p = placements[k]
            planted = np.array(p.planted if p is not None else (False, False), dtype=bool)
            axes = np.array([p is not None and p.source == "triangulated", True])
            dt = 0.0 if self._last_t is None else max(float(times[k]) - self._last_t, 0.0)
            self._last_t = float(times[k])
            feet = floor_xz[k, np.arange(len(FEET)), support[k]]  # (F, 2) the bearing points
            for f in range(len(FEET)):
                if not planted[f]:
                    self._anchors[f] = np.nan
                elif not np.isfinite(self._anchors[f]).all():
                    self._anchors[f] = feet[f] + self._correction  # landed: where the shifted rig has it
                elif support[k, f] != self._support[f] and self._last_points is not None:
                    # the weight moves to the foot's other point: it stays where it was shown last frame
                    self._anchors[f] = self._last_points[f, support[k, f]] + self._correction
                else:
                    self._anchors[f] += (feet[f] - self._anchors[f]) * min(dt / RECENTRE_S, 1.0)
            if planted.all() and self._planted.all() and (support[k] == self._support).all():
                self._leg_jump(feet, support[k])
            lifted = self._planted & ~planted
            if lifted.any() and planted.any():  # a foot lifts, another stays: the shift carries on unbroken
                self._anchors[planted] = feet[planted] + self._correction
            self._planted = planted
            self._support = support[k].copy()
            self._last_points = floor_xz[k].copy()
            if planted.any():
                self._correction = np.where(axes, np.mean((self._anchors - feet)[planted], axis=0), 0.0)
            else:
                self._correction *= math.exp(-dt / RELEASE_S)
            self._smoothed += (self._correction - self._smoothed) * (1.0 - math.exp(-dt / SMOOTH_S))
            out[k] = self._smoothed
        return out
