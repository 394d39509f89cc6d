"""What the body-state stage knows about one camera: which way is up and how high it stands over the floor,
from the body's up direction and where the feet stood (:func:`floor_from_feet`).

Frames: the camera frame has MediaPipe's axes (x right, y down, z along the optical axis), metres.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bridge.core.frames import camera_to_room, level_rotation

FloatArray = npt.NDArray[np.float64]

#: Live: frames the camera's level and height are worked out afresh, then how often (:class:`CameraFloor`).
_EXACT_FRAMES = 30
_REFRESH_FRAMES = 10
#: :func:`floor_from_feet`: points it needs, the spread of their image rows it needs (normalised: rows / focal
#: length), and how far from the body's up direction its floor may turn.
_FLOOR_POINTS = 30
_FLOOR_MIN_ROWS = 0.05
_FLOOR_MAX_TURN_DEG = 12.0
#: Foot points more than this above the lowest fifth of them stand on something (a step, a box) or are in the
#: air: not the floor (:func:`floor_band`).
_FLOOR_BAND_M = 0.15
#: Standing frames the camera counts as level for before the body's up direction is believed (the body's up
#: is a mean of this many level frames and the standing frames seen). A person climbing stands straight but
#: leans: on rendered CMU 01_03 all 24 standing frames leaned 15–34° toward the box and put the camera's tilt
#: 15° off (the camera's height, measured along it, then 1.1 m off at 5.5 m); walking and jumping 3–4° (the
#: rendered cameras look 3° down). Where the feet fit a floor (:func:`floor_from_feet`) that decides the tilt.
_LEVEL_PRIOR_FRAMES = 150.0


def floor_band(above_m: FloatArray, keep_quantile: float = 1.0) -> npt.NDArray[np.bool_]:
    """(N,) which foot points ((N,) metres above a floor guess) stand on the floor: those no more than
    ``_FLOOR_BAND_M`` above the lowest fifth (and in the lowest ``keep_quantile`` of them). A person who climbs
    onto a box and stays there stands higher most of the clip: the median foot, or the lowest 60 %, put the
    floor on the box (CMU 01_03 rendered: the floor 0.69 m too high, the hips never rose)."""
    above = np.asarray(above_m, dtype=np.float64)
    limit = float(np.quantile(above, 0.2)) + _FLOOR_BAND_M
    return np.asarray(above <= min(limit, float(np.quantile(above, keep_quantile))), dtype=np.bool_)


def floor_from_feet(points_cam_m: FloatArray, prior_up: FloatArray) -> tuple[FloatArray, float] | None:
    """The floor under a camera level in roll, from the lowest foot points of many frames, or None where they
    do not say (too few, or all at one distance).

    Args:
        points_cam_m: (N, 3) camera frame (x right, y down, z along the axis), metres: each frame's lowest foot
            point, its direction from the image (exact to a pixel), its depth from the body's size (±6 %).
        prior_up: (3,) camera frame: the body's up direction; a fit more than ``_FLOOR_MAX_TURN_DEG`` from it is
            refused.

    Returns:
        (the up direction (3,), unit, camera frame; the camera's height above the floor, metres).

    A floor point ``p = z·r`` (``r = p / z``, its ray) obeys ``1 / z = w_y·r_y + w_z`` with ``w = −u / h``:
    linear in ``w``, the noise all in ``1 / z``: weighted least squares (weights ``z²``: a relative depth error)
    of the points on the floor as ``prior_up`` sees it (:func:`floor_band`), fitted again to the lowest 60 % of
    those on the fitted floor (frames whose foot was off the floor: jumps, a step, a box; this biases the
    height by a few per cent, as the body's size does anyway). The camera's tilt from
    the body alone was 4–5° off on rendered walks and jumps (the floor 30–40 cm off at 4–5 m); this was 0–2° off.
    """
    p = np.asarray(points_cam_m, dtype=np.float64)
    p = p[np.isfinite(p).all(axis=1) & (p[:, 2] > 0.1)]
    if len(p) < _FLOOR_POINTS:
        return None
    rows = p[:, 1] / p[:, 2]
    a = np.stack([rows, np.ones(len(p))], axis=1)
    prior = np.asarray(prior_up, dtype=np.float64) / np.linalg.norm(prior_up)
    weight = p[:, 2] ** 2 * floor_band(p @ prior, 0.6)  # first on the floor as the prior's up sees it
    up = np.array([0.0, -1.0, 0.0])
    height = 0.0
    for _ in range(6):
        sw = np.sqrt(weight)
        if np.count_nonzero(weight) < _FLOOR_POINTS // 2 or np.ptp(rows[weight > 0]) < _FLOOR_MIN_ROWS:
            return None
        w_y, w_z = np.linalg.lstsq(a * sw[:, None], sw / p[:, 2], rcond=None)[0]
        norm = math.hypot(w_y, w_z)
        if norm < 1e-9 or w_y <= 0:  # the floor below the camera: up is −y
            return None
        up, height = -np.array([0.0, w_y, w_z]) / norm, 1.0 / norm
        above = height + p @ up
        keep = floor_band(above, 0.6)  # the lowest 60 % on the floor: clear of the feet off it
        predicted = 1.0 / np.maximum(a @ np.array([w_y, w_z]), 1e-6)  # the floor's depth at each point's row
        weight = predicted**2 * keep  # (the measured depth, noisy, would weigh its own error in)
    if float(up @ prior) < math.cos(math.radians(_FLOOR_MAX_TURN_DEG)):
        return None
    return up, height


@dataclass
class CameraFloor:
    """What the stage knows about the camera: its up direction and, from where the feet stood, its height.

    ``feet`` holds the lowest foot point of recent frames in the camera frame (metres), so the height is measured
    along the up direction known when it is asked for (the up estimate improves while the floor is gathered).
    Both are worked out afresh each frame for the first ``_EXACT_FRAMES`` frames, then every ``_REFRESH_FRAMES``
    (they change slowly; working them out cost a third of the stage's time).
    """

    up_sum: FloatArray = field(default_factory=lambda: np.zeros(3))
    feet: deque[FloatArray] = field(default_factory=lambda: deque(maxlen=600))
    fixed: bool = False
    _asked: list[int] = field(default_factory=lambda: [0, 0])
    _level: FloatArray | None = None
    _floor: tuple[FloatArray, float] | None = None
    _height: tuple[float | None] | None = None

    def _fresh(self, which: int) -> bool:
        self._asked[which] += 1
        n = self._asked[which]
        return not self.fixed and (n <= _EXACT_FRAMES or n % _REFRESH_FRAMES == 0)

    def level(self) -> FloatArray:
        """The level rotation (:func:`level_rotation`) of the up direction known now: the floor's where the feet
        have shown one (:func:`floor_from_feet`), else the body's."""
        if self._level is None or self._fresh(0):
            up = self.up_sum + _LEVEL_PRIOR_FRAMES * np.array([0.0, -1.0, 0.0])  # (camera frame: y down)
            floor = floor_from_feet(np.stack(self.feet), up) if len(self.feet) >= _FLOOR_POINTS else None
            self._floor = floor
            self._level = level_rotation(up if floor is None else floor[0])
        return self._level

    def height_m(self) -> float | None:
        """The camera's height above the floor (the fitted floor's, or :meth:`_height_m` along :meth:`level`),
        None before any foot."""
        if self._height is None or self._fresh(1):
            level = self.level() if self._level is None else self._level
            self._height = (self._floor[1] if self._floor is not None else self._height_m(level),)
        return self._height[0]

    def _height_m(self, level: FloatArray) -> float | None:
        """The camera above the floor: where the lowest foot usually is (walking, one foot is always down; a
        jump is short): the median of the camera's height above each frame's lowest foot point on the floor
        (:func:`floor_band`)."""
        if not self.feet:
            return None
        below = camera_to_room(np.stack(self.feet), level, 0.0)[:, 1]  # each point's height over the camera
        return -float(np.median(below[floor_band(below - below.min())]))
