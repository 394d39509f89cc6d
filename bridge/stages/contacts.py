"""Ground contacts: which foot is planted, from its height above the floor and its speed.

A foot is *planted* while its lowest point is within ``height_m`` of the floor and it moves slower than
``speed_m_s`` (room frame, :class:`~bridge.core.landmarks.Placement`: Y up, floor y = 0, metres). Contact starts
and ends need the condition for ``min_frames`` frames in a row, so one noisy frame neither plants nor lifts a foot.
:func:`detect_contacts` does it for a whole clip (offline), :class:`ContactTracker` frame by frame (live); both
give the same answer on the same data.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.core.landmarks import LandmarkFrame, Placement

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Flag (bool, bool) of a frame: that foot (left, right) is planted.
CONTACT_FLAG = "contacts"


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


def latency_s(config: ContactConfig, frame_s: float) -> float:
    """Seconds by which :class:`ContactTracker` finds a foot that stops, with frames ``frame_s`` apart, at worst
    (a foot that stops at once): its speed is measured back over ``speed_window_s`` (whole frames), so it reads as
    moving until that much time has passed, and ``min_frames − 1`` more frames confirm it."""
    window_frames = max(1, math.ceil(config.speed_window_s / frame_s - 1e-6))
    return (window_frames + config.min_frames - 1) * frame_s


def lead_contacts(t_s: FloatArray, planted: BoolArray, lead_s: float) -> BoolArray:
    """(T, F) the planted flags ``planted`` (T, F) with each contact begun up to ``lead_s`` seconds earlier (the
    offline form of the live detector, which finds a landing :func:`latency_s` after it happens; a lift-off it
    finds as late, while the foot still bears weight, so the ends stay)."""
    t = np.asarray(t_s, dtype=np.float64)
    out = np.array(planted, dtype=bool, copy=True)
    for f in range(out.shape[1]):
        starts = np.flatnonzero(np.diff(np.concatenate([[False], out[:, f]]).astype(np.int8)) > 0)
        for start in starts:
            k = start - 1
            while k >= 0 and not out[k, f] and t[start] - t[k] <= lead_s + 1e-9:
                out[k, f] = True
                k -= 1
    return out


def _placed_contacts(
    frames: list[LandmarkFrame], config: ContactConfig
) -> tuple[list[tuple[int, Placement]], BoolArray, BoolArray]:
    """The placed frames (index, placement), their (P, F) planted flags as found, and the same begun
    :func:`latency_s` earlier (:func:`lead_contacts`); no rows where fewer than two frames are placed."""
    placed = [(k, f.placement) for k, f in enumerate(frames) if f.placement is not None and f.person]
    if len(placed) < 2:
        return [], np.zeros((0, 2), dtype=np.bool_), np.zeros((0, 2), dtype=np.bool_)
    t_s = np.array([frames[k].t_s for k, _ in placed])
    planted: BoolArray = np.array([p.planted for _, p in placed], dtype=np.bool_)
    return placed, planted, lead_contacts(t_s, planted, latency_s(config, float(np.median(np.diff(t_s)))))


def early_landings(frames: list[LandmarkFrame], config: ContactConfig) -> list[LandmarkFrame]:
    """Offline: the frames before each contact that the live detector had not yet found (:func:`lead_contacts`),
    with no foot planted as found, stand no higher than the frame after them: the body lands on the surface of
    the contact it lands into when the foot does. Their lift was what the camera saw (a low camera's depth error
    put standing feet 10–15 cm up: rendered 01_01's first frames floated 16 cm over the floor). Only the lift is
    changed, before the flights and the low-pass; the planted flags follow in :func:`early_contacts`."""
    placed, planted, early = _placed_contacts(frames, config)
    out = list(frames)
    for i in range(len(placed) - 2, -1, -1):  # backwards: a run of such frames takes the contact's surface
        k, p = placed[i]
        after = out[placed[i + 1][0]].placement
        if early[i].any() and not planted[i].any() and after is not None and after.lift_m < p.lift_m:
            out[k] = frames[k].replace(placement=dataclasses.replace(p, lift_m=after.lift_m))
    return out


def early_contacts(frames: list[LandmarkFrame], config: ContactConfig) -> list[LandmarkFrame]:
    """Offline: the frames with each foot planted from when it landed, not from when the live detector could tell
    (:func:`lead_contacts` by :func:`latency_s`; their placements' ``planted`` and :data:`CONTACT_FLAG`): the rig
    locks it from there (:mod:`bridge.solve.foot_lock`). The body state calls it after the flights, whose ends
    stay on the frames the detector found (moved too, they fell on the stretched landing frames: 01_01's root
    path 11.6 → 13.0 cm)."""
    placed, _, early = _placed_contacts(frames, config)
    out = list(frames)
    for (k, p), flags in zip(placed, early, strict=True):
        if tuple(flags) != p.planted:
            both = (bool(flags[0]), bool(flags[1]))
            out[k] = frames[k].replace(placement=dataclasses.replace(p, planted=both),
                                       flags={**frames[k].flags, CONTACT_FLAG: both})  # fmt: skip
    return out
