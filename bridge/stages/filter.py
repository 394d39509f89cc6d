"""One-Euro filtering of landmarks: less jitter when still, little lag when moving.

The One-Euro filter (:mod:`bridge.core.one_euro`) is driven by the frames' timestamps, so a variable frame rate
(dropped frames, a webcam that slows down in the dark) keeps the same time constants.

:class:`LandmarkFilter` is the pipeline stage for ``LandmarkFrame`` values:
it filters ``world_xyz_m`` and ``image_xy``, holds landmarks that are not visible, and resets on tracking loss.
:func:`filter_frames` runs the stage over a list of frames.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame
from bridge.core.one_euro import OneEuroFilter

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Name of the per-frame flag set by :class:`LandmarkFilter`: (33,) bool, True where the output landmark is a
#: held value (the landmark's visibility was below ``min_visibility``, so this frame's input was ignored).
HELD_FLAG = "held_landmarks"


@dataclass(frozen=True)
class OneEuroConfig:
    """Settings of :class:`LandmarkFilter`.

    World landmarks (``world_xyz_m``, metres): the cutoff rises with the norm of each landmark's filtered 3-D
    velocity in m/s, so ``beta`` is in 1/m (Hz per m/s). Image landmarks (``image_xy``) get their own filter,
    measured in *image heights* (x is scaled by width/height so both axes share one unit): ``image_beta`` is in
    1/image-height. The two are separate because world landmarks are hip-centred — a person walking across
    the picture barely moves in world coordinates but moves a lot in the image.

    Defaults were tuned on MediaPipe PoseLandmarker (full model, VIDEO mode) output for the Sports2D demo video
    (30 fps, a jump off a box and a walk) and Pose2Sim Demo_SinglePerson cam01, cam03, cam04 (60 fps; cam02 left
    out: its left/right flips dominate every error): 5 runs of at least 30 tracked frames, 496 frames.
    Reference: the same landmarks through a zero-phase 4th-order Butterworth low-pass at 6 Hz (forwards and
    backwards). Measured:
    *jitter* = RMS of the output's part above 6 Hz (output minus its own zero-phase low-pass), as a ratio to the
    raw input's; *motion error* = RMS distance to the reference on samples moving faster than 0.5 m/s
    (image: 0.2 image-heights/s); *lag* = time shift that best aligns output and reference. Sweep (world):

    ==============  =====  =============  ======  =========================================
    min_cutoff_hz   beta   jitter ratio   lag     motion error (raw 47.6 mm)
    ==============  =====  =============  ======  =========================================
    1.0             0      0.12           110 ms  150.2 mm
    1.0             1      0.37           33 ms   62.0 mm
    **1.0**         **2**  **0.48**       27 ms   49.2 mm
    1.0             4      0.60           17 ms   41.6 mm
    1.5             2      0.50           23 ms   47.0 mm
    3.0             2      0.54           23 ms   42.2 mm
    ==============  =====  =============  ======  =========================================

    The rule: the most smoothing whose error during fast motion stays within ~3 % of the raw input's. At rest the
    cutoff is ``min_cutoff_hz``: at 30 fps alpha = 0.173, so white jitter keeps alpha/(2-alpha) = 9.5 % of its
    variance (31 % of its RMS); at 60 fps 5.0 % (22 %). Image, same rule: ``image_min_cutoff_hz`` 1.0,
    ``image_beta`` 10 → jitter ratio 0.51, motion error 13.4 vs 13.3 (raw) milli-image-heights, lag 23 ms
    (beta 5: 0.40, 17.0, 33 ms). Users who sit still (VTubers) may lower ``min_cutoff_hz``; fast sports may
    raise ``beta``. Rerun with ``python bench/bench_filter.py``.

    Attributes:
        min_cutoff_hz: world cutoff at rest, Hz.
        beta: world speed coefficient, 1/m (cutoff Hz per m/s of landmark speed).
        d_cutoff_hz: cutoff of the derivative estimate, Hz (both filters).
        image_min_cutoff_hz: image cutoff at rest, Hz.
        image_beta: image speed coefficient, 1/image-height (cutoff Hz per image height per second).
        min_visibility: landmarks whose visibility is below this are held (input ignored) and flagged.
        hold_s: longest time a landmark is held; after that it follows its (low-visibility) input again, so
            a limb that stays out of view does not freeze for ever.
        max_gap_s: a gap between two frames longer than this is a tracking loss: the filter restarts.
    """

    min_cutoff_hz: float = 1.0
    beta: float = 2.0
    d_cutoff_hz: float = 1.0
    image_min_cutoff_hz: float = 1.0
    image_beta: float = 10.0
    min_visibility: float = 0.5
    hold_s: float = 0.5
    max_gap_s: float = 0.5

    def __post_init__(self) -> None:
        if not (self.min_cutoff_hz > 0 and self.image_min_cutoff_hz > 0 and self.d_cutoff_hz > 0):
            raise BridgeError("filter settings: cutoff frequencies must be > 0 Hz; fix min_cutoff_hz/d_cutoff_hz")
        if self.beta < 0 or self.image_beta < 0 or self.hold_s < 0 or self.max_gap_s <= 0:
            raise BridgeError("filter settings: beta, image_beta and hold_s must be >= 0 and max_gap_s > 0")


class LandmarkFilter:
    """Pipeline stage: One-Euro filter for :class:`LandmarkFrame` values, one frame at a time.

    * ``world_xyz_m`` (33, 3) metres and ``image_xy`` (33, 2) normalised are filtered (separate filters, see
      :class:`OneEuroConfig`); ``visibility`` and ``presence`` pass through unchanged.
    * A landmark whose visibility is below ``min_visibility`` is held at its last good filtered value for up to
      ``hold_s`` seconds and flagged in ``flags["held_landmarks"]`` ((33,) bool, see :data:`HELD_FLAG` and
      :func:`held_landmarks`); every output frame of a tracked person carries that flag. A landmark not seen
      since the last reset has nothing to hold and is filtered as given.
    * Tracking loss resets the filter: a frame with ``person=False`` (returned unchanged), or a gap longer than
      ``max_gap_s``. The first frame after a reset passes through unchanged.
    * Timestamps must increase (across resets too, except :meth:`reset`): otherwise :class:`BridgeError`.
    """

    def __init__(self, config: OneEuroConfig | None = None) -> None:
        self.config = config or OneEuroConfig()
        c = self.config
        self._world = OneEuroFilter(c.min_cutoff_hz, c.beta, c.d_cutoff_hz, vector_axis=-1)
        self._image = OneEuroFilter(c.image_min_cutoff_hz, c.image_beta, c.d_cutoff_hz, vector_axis=-1)
        self._t_prev_s: float | None = None
        self._last_good_s = np.full(NUM_LANDMARKS, -np.inf)

    def reset(self) -> None:
        """Forget everything, including the last timestamp."""
        self._reset_tracking()
        self._t_prev_s = None

    def _reset_tracking(self) -> None:
        self._world.reset()
        self._image.reset()
        self._last_good_s = np.full(NUM_LANDMARKS, -np.inf)

    def __call__(self, frame: LandmarkFrame) -> LandmarkFrame:
        """Filter one frame; returns a new frame (the input is not modified)."""
        t = float(frame.t_s)
        if not math.isfinite(t):
            raise BridgeError(f"landmark filter: frame {frame.frame_index} has timestamp {frame.t_s!r}")
        if self._t_prev_s is not None and not t > self._t_prev_s:
            raise BridgeError(
                f"landmark filter: timestamps must increase, frame {frame.frame_index} has t={t:.6f} s after "
                f"t={self._t_prev_s:.6f} s; give every frame a later time than the one before"
            )
        gap = None if self._t_prev_s is None else t - self._t_prev_s
        self._t_prev_s = t
        if not frame.person:
            self._reset_tracking()
            return frame
        if gap is not None and gap > self.config.max_gap_s:
            self._reset_tracking()

        visible = np.asarray(frame.visibility, dtype=np.float64) >= self.config.min_visibility
        self._last_good_s = np.where(visible, t, self._last_good_s)
        if not self._world.initialised:
            held = np.zeros(NUM_LANDMARKS, dtype=bool)
        else:
            held = ~visible & (t - self._last_good_s <= self.config.hold_s)
        update = ~held[:, None]

        w, h = frame.image_size
        aspect = np.array([w / h if h > 0 else 1.0, 1.0])  # speed of normalised points → image heights per s
        world = self._world(t, frame.world_xyz_m, update)
        image = self._image(t, frame.image_xy, update, speed_scale=aspect)
        flags = dict(frame.flags)
        flags[HELD_FLAG] = held
        return frame.replace(world_xyz_m=world, image_xy=image, flags=flags)


def held_landmarks(frame: LandmarkFrame) -> BoolArray:
    """(33,) bool: the landmarks :class:`LandmarkFilter` held in ``frame`` (all False if it did not run)."""
    value = frame.flags.get(HELD_FLAG)
    if value is None:
        return np.zeros(NUM_LANDMARKS, dtype=bool)
    return np.asarray(value, dtype=bool)


def filter_frames(frames: Iterable[LandmarkFrame], config: OneEuroConfig | None = None) -> list[LandmarkFrame]:
    """Filter a sequence of frames with a fresh :class:`LandmarkFilter` (identical to calling it per frame)."""
    stage = LandmarkFilter(config)
    return [stage(f) for f in frames]
