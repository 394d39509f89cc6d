"""Ground contacts: which foot is planted, from its height above the floor and its speed.

A foot is *planted* while its lowest point is within ``height_m`` of the floor and it moves slower than
``speed_m_s`` (room frame, :class:`~bridge.core.landmarks.Placement`: Y up, floor y = 0, metres). Contact starts
and ends need the condition for ``min_frames`` frames in a row, so one noisy frame neither plants nor lifts a foot.
:func:`detect_contacts` does it for a whole clip (offline), :class:`ContactTracker` frame by frame (live); both
give the same answer on the same data.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ContactConfig:
    """When a foot counts as planted.

    Attributes:
        height_m: the foot's lowest point at most this far above the floor.
        speed_m_s: the foot point slower than this (3-D speed, metres per second). A walking foot in swing moves
            at 2–5 m/s, a planted one under 0.3 m/s (heel-strike to toe-off rolls about 0.2 m/s).
        min_frames: frames in a row a change needs before it counts.
        speed_window_s: the speed is measured over this much time (at least one frame): a landmark's jitter of
            1 cm a frame alone would read 0.6 m/s at 60 fps.
    """

    height_m: float = 0.08
    speed_m_s: float = 0.5
    min_frames: int = 2
    speed_window_s: float = 0.1


class ContactTracker:
    """Planted feet, one frame at a time: ``tracker(t_s, heights_m, points_m) → (F,) bool``."""

    def __init__(self, config: ContactConfig = ContactConfig(), feet: int = 2) -> None:
        self.config = config
        self._planted = np.zeros(feet, dtype=bool)
        self._streak = np.zeros(feet, dtype=np.int64)
        self._recent: deque[tuple[float, FloatArray]] = deque()

    def reset(self) -> None:
        """Forget the history: no foot planted."""
        self._planted[:] = False
        self._streak[:] = 0
        self._recent.clear()

    def __call__(self, t_s: float, heights_m: FloatArray, points_m: FloatArray) -> BoolArray:
        """Args: heights_m (F,) each foot's lowest point above the floor; points_m (F, 3) room frame, metres."""
        points = np.asarray(points_m, dtype=np.float64)
        speed = np.zeros(len(points))
        while len(self._recent) > 1 and t_s - self._recent[1][0] >= self.config.speed_window_s:
            self._recent.popleft()
        if self._recent and t_s > self._recent[0][0]:
            speed = np.linalg.norm(points - self._recent[0][1], axis=-1) / (t_s - self._recent[0][0])
        self._recent.append((float(t_s), points.copy()))
        now = (np.asarray(heights_m) <= self.config.height_m) & (speed <= self.config.speed_m_s)
        now &= np.isfinite(np.asarray(heights_m))
        changed = now != self._planted
        self._streak = np.where(changed, self._streak + 1, 0)
        flip = self._streak >= self.config.min_frames
        self._planted = np.where(flip, now, self._planted)
        self._streak[flip] = 0
        return self._planted.copy()


def detect_contacts(
    t_s: FloatArray, heights_m: FloatArray, points_m: FloatArray, config: ContactConfig = ContactConfig()
) -> BoolArray:
    """(T, F) planted feet of a clip: ``t_s`` (T,) seconds, ``heights_m`` (T, F) each foot's lowest point above
    the floor, ``points_m`` (T, F, 3) the foot points, room frame, metres."""
    tracker = ContactTracker(config, feet=np.shape(heights_m)[1])
    return np.stack([tracker(float(t), h, p) for t, h, p in zip(t_s, heights_m, points_m, strict=True)])
