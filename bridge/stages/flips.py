"""Left/right swap repair: undo MediaPipe's stretches of frames with the person's left and right exchanged.

MediaPipe PoseLandmarker sometimes labels the person's left side as right and vice versa for a run of frames
(a "flip"): every left landmark jumps to where its right twin was in the image, the world skeleton turns into
a body facing the other way, and both jump back when the flip ends. Measured with the full model in VIDEO
mode and this stage's defaults (``bench/bench_filter.py``): Pose2Sim Demo_SinglePerson cam02 (60 fps, a man
facing the camera, arms out, twisting) has 28 of 100 frames flagged — one 21-frame stretch (45–65) and single
frames around it (33, 36, 42, 43, 67, 72, 73); the Sports2D demo (30 fps) 5 of 221 (67, 68, 70, 71, 72, while
the man jumps off the box); cam01, cam03, cam04: none. Checked against the order of the shoulders in the
image, which tells a flip for a person facing the camera: the flags agree on 98 of the 99 decisive frames of
cam02 and on all 120 of the demo's frames 5–140.

How the stage decides (per frame, in the MediaPipe frame, *before* filtering):

1. Reference: the last repaired frame where the decision was clear (see 4). Image points are measured in
   image heights (x scaled by width/height). A constant-velocity prediction is available
   (``velocity_damping``) but off by default: on the real clips above it followed MediaPipe's jumpy frames and
   locked into the wrong labelling (with 0.5: 37–70 of 99 frames right on cam02, 18–119 of 120 on the demo).
2. Cost of an assignment = visibility-weighted mean distance of the 32 landmarks that have a left/right twin
   to the reference, in the image (divided by the torso's size in the image) plus in the world frame (divided
   by the torso's size in metres; torso size = mean shoulder–hip length). The weights are symmetric under the
   swap so they cannot favour either assignment; the arms and legs count ``limb_weight`` (0.5) against the
   face, shoulders and hips (limbs swing past each other in a stride: a run toward the camera read as flipped).
3. MediaPipe's labelling is in one of two *modes*: right, or flipped. The mode toggles only when the other
   assignment is clearly better: ``cost(other) < ratio · cost(current)`` and cheaper by ``min_margin``. When
   neither is clearly better (the person side-on: left and right overlap in the image) the mode is kept —
   the hysteresis that carries a repair through ambiguous frames in the middle of a flipped stretch.
4. Only clear frames (one assignment clearly better) become the reference; an ambiguous frame (side-on, or
   MediaPipe swapping only part of the body) is not trusted unless the reference is older than
   ``max_reference_age_s``.
5. In the flipped mode the frame is repaired — ``[SWAP_LEFT_RIGHT]`` applied to ``world_xyz_m``, ``image_xy``,
   ``visibility`` and ``presence`` — and flagged ``flags["lr_swapped"] = True``. Every output frame of a tracked
   person carries the flag (False when untouched); no-person frames pass through unchanged.
6. Tracking loss (a no-person frame, a gap over ``max_gap_s``) forgets everything. A flipped mode older than
   ``max_flip_s`` is given up (the stage restarts from MediaPipe's labelling): this bounds the damage of a
   wrong decision, at the price of flips longer than that.

A real turn of the body is continuous: each landmark moves a little per frame, so the given assignment keeps
continuing the motion and the mode never toggles. Checked on CMU mocap (``bridge.mocap``): 01_01 (two natural
180° turns of about 1 s), 01_03 and Boxing_Toes seen from 0°, 90°, 180°, 270°: no frame flagged; a synthetic
180° turn added to the walk is never flagged at 30 fps for turns from 2 s down to 0.15 s (3°–40° per frame),
at 15 fps down to 0.25 s (48° per frame); at 15 fps it is in 0.15 s (80° per frame: there a turn and a flip
look alike).

Bone lengths are not used: a swap of *all* left and right landmarks maps every bone onto its mirror twin,
whose length is the same, so bone lengths cannot tell the two assignments apart.

Limitations:

* **A flip at the very start of tracking cannot be seen.** The first frame after a reset has no past to
  compare with, so it is taken as given. If MediaPipe starts flipped, those frames stay flipped, and when
  MediaPipe corrects itself the stage sees a toggle and swaps the now-correct frames instead, until
  ``max_flip_s`` runs out. MediaPipe's output has no absolute cue to break the tie: in its flipped frames the
  world skeleton is a consistent body facing away (nose behind the ears), and the eyes and ears swap with
  the rest. The same holds for a flip that starts while the reference is unreliable (after a jump in the
  data such as the T-pose frame 0 of the CMU clips).
* Only whole-body swaps are repaired; a swap of the legs alone is not (such frames count as ambiguous).
* The repair relabels landmarks; it does not fix the depth (z) MediaPipe guessed for the flipped frames,
  which is that of a body facing away. Downstream stages may trust flagged frames less.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError
from bridge.core.landmarks import SWAP_LEFT_RIGHT, LandmarkFrame, PoseLandmark

FloatArray = npt.NDArray[np.float64]

#: Name of the per-frame flag set by :class:`FlipRepair`: bool, True when the frame's left and right were
#: exchanged back.
SWAPPED_FLAG = "lr_swapped"

#: Landmarks that have a left/right twin (all but the nose).
_PAIRED: npt.NDArray[np.intp] = np.flatnonzero(np.arange(SWAP_LEFT_RIGHT.size) != SWAP_LEFT_RIGHT)

_L = PoseLandmark
_TORSO = ((_L.LEFT_SHOULDER, _L.LEFT_HIP), (_L.RIGHT_SHOULDER, _L.RIGHT_HIP))
_TORSO_TOP = np.array([a for a, _ in _TORSO])
_TORSO_BOTTOM = np.array([b for _, b in _TORSO])
#: (2, 32): the paired landmarks as given, and their twins (the swapped assignment), to cost both at once.
_BOTH_ASSIGNMENTS: npt.NDArray[np.intp] = np.stack([_PAIRED, SWAP_LEFT_RIGHT[_PAIRED]])
#: The paired landmarks that keep their side of the body while it moves: the face, the shoulders and the hips.
_STEADY = frozenset(range(_L.LEFT_EYE_INNER, _L.RIGHT_SHOULDER + 1)) | {_L.LEFT_HIP, _L.RIGHT_HIP}


@dataclass(frozen=True)
class FlipRepairConfig:
    """Settings of :class:`FlipRepair`.

    Defaults: on the real clips (see the module docstring) ``ratio`` 0.6–0.9 and ``min_margin`` 0.05–0.3 all
    give (with the default weights) 95–98 of 99 frames right on cam02 and 119–120 of 120 on the demo, no flags
    on cam01/03/04 and none on the mocap clips with 1 cm noise; ``velocity_damping`` 0.5 drops cam02 to 37–70
    and the demo to 18–119. The defaults sit in the middle.

    Attributes:
        ratio: the other assignment must cost less than ``ratio`` times the current one to toggle the mode
            (and a clear frame is one where this holds one way or the other).
        min_margin: ... and be cheaper by at least this much (cost unit: torso sizes, image + world summed).
        image_weight: weight of the image cost.
        world_weight: weight of the world-frame cost.
        velocity_damping: factor on the constant-velocity term of the prediction (0 = constant position).
        max_gap_s: a gap between frames longer than this is a tracking loss: the history is forgotten, s.
        max_flip_s: a flipped mode lasting longer than this is given up, s.
        max_reference_age_s: an ambiguous frame becomes the reference when the last clear one is older, s.
        limb_weight: weight of the arms' and legs' landmarks in the cost against the face's, shoulders' and
            hips' (1). Limbs swing past each other as a body walks or runs, so that with a reference a few frames
            old the swapped limbs can sit nearer it than the given ones: at 1, a rendered run toward the camera
            (DeepMimic ``run``, where MediaPipe does not flip) was "repaired" on 39 of its 60 frames, its knee
            then bent backwards; at 0.5 on 3 (renders of 19 clips: 41 → 5 frames), while Pose2Sim cam02 agrees
            with the shoulders' order on 97 of 99 decisive frames (98 at 1) and the Sports2D demo on all 120.
            At 0 (the face and trunk alone) cam02 fell to 70.
    """

    ratio: float = 0.8
    min_margin: float = 0.15
    image_weight: float = 1.0
    world_weight: float = 1.0
    velocity_damping: float = 0.0
    max_gap_s: float = 0.5
    max_flip_s: float = 2.0
    max_reference_age_s: float = 0.25
    limb_weight: float = 0.5

    def __post_init__(self) -> None:
        if not (0 < self.ratio <= 1 and self.min_margin >= 0 and self.velocity_damping >= 0):
            raise BridgeError("flip repair settings: need 0 < ratio <= 1, min_margin >= 0, velocity_damping >= 0")
        if not 0 < self.limb_weight <= 1:
            raise BridgeError("flip repair settings: need 0 < limb_weight <= 1")
        if not (self.max_gap_s > 0 and self.max_flip_s > 0 and self.max_reference_age_s > 0):
            raise BridgeError("flip repair settings: max_gap_s, max_flip_s and max_reference_age_s must be > 0")
        if self.image_weight < 0 or self.world_weight < 0 or self.image_weight + self.world_weight <= 0:
            raise BridgeError("flip repair settings: image_weight and world_weight must be >= 0, not both 0")


def swap_left_right(frame: LandmarkFrame) -> LandmarkFrame:
    """The frame with every left landmark exchanged with its right twin (positions, visibility, presence)."""
    return frame.replace(
        world_xyz_m=np.asarray(frame.world_xyz_m)[SWAP_LEFT_RIGHT],
        image_xy=np.asarray(frame.image_xy)[SWAP_LEFT_RIGHT],
        visibility=np.asarray(frame.visibility)[SWAP_LEFT_RIGHT],
        presence=np.asarray(frame.presence)[SWAP_LEFT_RIGHT],
    )


def _torso_size(xyz: FloatArray) -> float:
    """Mean shoulder–hip length of (33, D) points, same unit as the points."""
    d = xyz[_TORSO_TOP] - xyz[_TORSO_BOTTOM]
    n = np.sqrt((d * d).sum(axis=1))
    return float(n[0] + n[1]) / 2.0


class FlipRepair:
    """Pipeline stage: detects and undoes left/right flips, one :class:`LandmarkFrame` at a time.

    See the module docstring for the method. State: the last two reference frames, MediaPipe's current mode
    and how long it has lasted. Timestamps must increase (else :class:`BridgeError`).
    """

    def __init__(self, config: FlipRepairConfig | None = None) -> None:
        self.config = config or FlipRepairConfig()
        steady = np.array([int(i) in _STEADY for i in _PAIRED])
        self._cue = np.where(steady, 1.0, self.config.limb_weight)  # (32,) each paired landmark's weight
        self.reset()

    def reset(self) -> None:
        """Forget the history (and the last timestamp)."""
        self._history: list[tuple[float, FloatArray, FloatArray, FloatArray]] = []  # (t, world, image_h, vis)
        self._flipped = False
        self._flipped_s = 0.0
        self._t_prev_s: float | None = None
        #: (cost of the given assignment, cost of the swapped one) at the last frame, for diagnostics.
        self.last_costs: tuple[float, float] | None = None

    def _predict(self, t: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        t1, w1, i1, v1 = self._history[-1]
        if len(self._history) < 2:
            return w1, i1, v1
        t0, w0, i0, _ = self._history[-2]
        k = self.config.velocity_damping * (t - t1) / (t1 - t0)
        return w1 + k * (w1 - w0), i1 + k * (i1 - i0), v1

    def _costs(
        self, world: FloatArray, image: FloatArray, weight: FloatArray, pred_w: FloatArray, pred_i: FloatArray
    ) -> tuple[float, float]:
        """Costs of the given and of the swapped assignment, computed together."""
        c = self.config
        d_img = image[_BOTH_ASSIGNMENTS] - pred_i[_PAIRED]  # (2, 32, 2)
        d_world = world[_BOTH_ASSIGNMENTS] - pred_w[_PAIRED]  # (2, 32, 3)
        scale_img = max(_torso_size(pred_i), 1e-3)
        scale_world = max(_torso_size(pred_w), 1e-2)
        per_landmark = (c.image_weight / scale_img) * np.sqrt((d_img * d_img).sum(axis=2)) + (
            c.world_weight / scale_world
        ) * np.sqrt((d_world * d_world).sum(axis=2))
        weight = weight * self._cue
        costs = (per_landmark @ weight) / max(float(weight.sum()), 1e-9)
        return float(costs[0]), float(costs[1])

    def __call__(self, frame: LandmarkFrame) -> LandmarkFrame:
        """Repair one frame; returns a new frame (the input is not modified)."""
        t = float(frame.t_s)
        if not math.isfinite(t) or (self._t_prev_s is not None and not t > self._t_prev_s):
            raise BridgeError(
                f"flip repair: timestamps must increase, frame {frame.frame_index} has t={t:.6f} s after "
                f"t={self._t_prev_s} s; give every frame a later time than the one before"
            )
        gap = None if self._t_prev_s is None else t - self._t_prev_s
        self._t_prev_s = t
        if not frame.person:
            self._history.clear()
            self._flipped = False
            self.last_costs = None
            return frame
        if gap is not None and gap > self.config.max_gap_s:
            self._history.clear()
            self._flipped = False

        w, h = frame.image_size
        aspect = np.array([w / h if h > 0 else 1.0, 1.0])
        world = np.asarray(frame.world_xyz_m, dtype=np.float64)
        image = np.asarray(frame.image_xy, dtype=np.float64) * aspect
        vis = np.asarray(frame.visibility, dtype=np.float64)
        if self._history:
            pred_w, pred_i, pred_v = self._predict(t)
            # Symmetric weight: the same for both assignments, so it cannot favour one of them.
            weight = (np.minimum(vis, vis[SWAP_LEFT_RIGHT]) * np.minimum(pred_v, pred_v[SWAP_LEFT_RIGHT]))[_PAIRED]
            weight = np.minimum(np.maximum(weight, 0.05), 1.0)
            cost_given, cost_swapped = self._costs(world, image, weight, pred_w, pred_i)
            self.last_costs = (cost_given, cost_swapped)
            cost_current, cost_other = (cost_swapped, cost_given) if self._flipped else (cost_given, cost_swapped)
            c = self.config
            if cost_other < c.ratio * cost_current and cost_current - cost_other > c.min_margin:
                self._flipped = not self._flipped
                clear = True
            else:
                clear = cost_current < c.ratio * cost_other and cost_other - cost_current > c.min_margin
        else:
            self.last_costs = None
            clear = True
        if self._flipped:
            self._flipped_s += gap if gap is not None else 0.0
            if self._flipped_s > self.config.max_flip_s:
                # Give up: start afresh from MediaPipe's labelling, with this frame as the only reference.
                self._flipped = False
                self._history.clear()
        if not self._flipped:
            self._flipped_s = 0.0

        out = swap_left_right(frame) if self._flipped else frame
        flags = dict(frame.flags)
        flags[SWAPPED_FLAG] = self._flipped
        out = out.replace(flags=flags)
        # Only frames where one assignment was clearly better extend the history the prediction is made from;
        # an ambiguous frame (side-on, or a partial swap) is not trusted as a reference unless the history is old.
        if clear or not self._history or t - self._history[-1][0] > self.config.max_reference_age_s:
            self._history.append(
                (
                    t,
                    np.asarray(out.world_xyz_m, dtype=np.float64),
                    np.asarray(out.image_xy, dtype=np.float64) * aspect,
                    np.asarray(out.visibility, dtype=np.float64),
                )
            )
            del self._history[:-2]
        return out


def repair_flips(frames: Iterable[LandmarkFrame], config: FlipRepairConfig | None = None) -> list[LandmarkFrame]:
    """Run a fresh :class:`FlipRepair` over a sequence of frames (identical to calling it per frame)."""
    stage = FlipRepair(config)
    return [stage(f) for f in frames]
