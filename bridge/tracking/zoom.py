"""A person too small for the pose model's detector: look again at a square part of the frame.

MediaPipe's pose detector sees the whole frame letterboxed to 224 × 224 pixels, so a person under about a third
of the frame's height is too small for it: on a 640 × 360 render of CMU 01_01 the person 7 m from the camera
(119 px tall) was found on none of the first 29 frames, and the tracker reported nobody until they came closer.
The same person in a square crop of the frame's height (1.8 × larger for the detector) was found on all of
them, 2.0 px median error against the truth.

So where the pose model finds nobody on the whole frame, :class:`ZoomSearch` runs a second pose landmarker
(IMAGE mode: its crop moves from frame to frame) on one square of the frame:

* where a person was found in a square of the last frames (within ``follow_s``): a square around them, of
  ``follow_margin`` × the larger side of their box (at least ``min_side_frac`` of the frame's shorter side);
* otherwise the next of the tiles that cover the frame (:func:`tiles`: squares of the shorter side, or 0.6 of
  the longer for frames near square, then of half that, overlapping by half), one per frame in turn, so a frame
  with nobody in it costs one more detector run, not one per tile (a 16:9 frame has 3 + 21 tiles: a person a
  sixth of the frame's height is found within a second at 30 fps).

A person found there is mapped back to the whole frame's normalised coordinates (world landmarks, hip-centred
metres, do not depend on the crop); the tracker goes on trying the whole frame first, so once the person is
large enough MediaPipe's own tracking (VIDEO mode) takes over again. It takes over only where it agrees with the
second look (:func:`agrees`): the pose model's first frames after it finds a person are its least stable (the
Sports2D demo's frames 3 and 5 put the man's heels 100–200 px low while the square placed them right), so
while the second look follows someone it runs beside the whole frame, and its pose is kept where the two
differ.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bridge.tracking.crops import Crop, cut, square

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ZoomConfig:
    """Settings of the search for a small person.

    Attributes:
        follow_s: seconds a person found in a square is looked for around where they were.
        follow_margin: the side of that square over the larger side of the person's box.
        min_side_frac: the smallest square, as a fraction of the frame's shorter side.
        max_side_px: squares larger than this are resampled down to it (the model's inputs are 224–256 px).
        agree_frac: the hand-over (:func:`agrees`): how far, over the person's height, the whole frame's pose may
            lie from the second look's for the whole frame to take over.
    """

    follow_s: float = 0.5
    follow_margin: float = 1.8
    min_side_frac: float = 0.3
    max_side_px: int = 512
    agree_frac: float = 0.15


def tiles(image_size: tuple[int, int], levels: int = 2) -> list[Crop]:
    """Squares covering a (width, height) frame, overlapping by at least half, left to right, top to bottom: first
    of the shorter side (or 0.6 of the longer where that is larger: a near-square frame), then of half that, and
    so on for ``levels``."""
    w, h = image_size
    out: list[Crop] = []
    for level in range(levels):
        side = float(min(w, h, max(0.6 * max(w, h), 1.0))) / 2**level

        def starts(length: int, side: float = side) -> FloatArray:
            n = math.ceil((length - side) / (0.5 * side)) + 1 if length > side else 1
            return np.linspace(0.0, max(length - side, 0.0), n)

        out += [Crop(float(x0), float(y0), side) for y0 in starts(h) for x0 in starts(w)]
    return out


def person_square(image_xy: FloatArray, image_size: tuple[int, int], config: ZoomConfig) -> Crop:
    """The square to look for a person again whose landmarks ((33, 2) normalised) were ``image_xy``."""
    w, h = image_size
    px = np.asarray(image_xy, dtype=np.float64) * np.array([w, h], dtype=np.float64)
    lo, hi = np.nanmin(px, axis=0), np.nanmax(px, axis=0)
    side = max(config.follow_margin * float(np.max(hi - lo)), config.min_side_frac * min(w, h))
    return square(0.5 * (lo + hi), 0.5 * side)


def map_result(result: Any, crop: Crop, image_size: tuple[int, int]) -> Any:
    """A MediaPipe ``PoseLandmarkerResult`` of ``crop`` with its image landmarks in the whole frame's normalised
    coordinates (x over the width, y over the height, z on the width's scale); world landmarks as they are."""
    w, _ = image_size
    poses = []
    for pose in result.pose_landmarks or []:
        xy = crop.to_image(np.array([(p.x, p.y) for p in pose], dtype=np.float64), image_size)
        poses.append(
            [
                dataclasses.replace(p, x=float(x), y=float(y), z=None if p.z is None else p.z * crop.side_px / w)
                for p, (x, y) in zip(pose, xy, strict=True)
            ]
        )
    return dataclasses.replace(result, pose_landmarks=poses)


def _pose_xy(pose: Any) -> FloatArray:
    return np.array([(p.x, p.y) for p in pose], dtype=np.float64)


def agrees(result: Any, second: Any, image_size: tuple[int, int], config: ZoomConfig) -> bool:
    """Whether one of the whole frame's poses (``result``) lies where the second look's first pose (``second``,
    whole-frame coordinates) does: 90 % of the landmarks within ``agree_frac`` of that pose's box height."""
    size = np.asarray(image_size, dtype=np.float64)
    seen = _pose_xy(second.pose_landmarks[0]) * size
    tall = max(float(np.ptp(seen[:, 1])), 1.0)
    for pose in result.pose_landmarks or []:
        off = np.linalg.norm(_pose_xy(pose) * size - seen, axis=1)
        if float(np.quantile(off, 0.9)) <= config.agree_frac * tall:
            return True
    return False


class ZoomSearch:
    """The second look (see the module docstring) with its own landmarker: ``landmarker`` is a MediaPipe
    ``PoseLandmarker`` in IMAGE mode; the search closes it."""

    def __init__(self, landmarker: Any, config: ZoomConfig = ZoomConfig()) -> None:
        self.config = config
        self._landmarker = landmarker
        self._next_tile = 0
        self._seen: tuple[float, FloatArray] | None = None  # (time, normalised landmarks) of the last find

    def following(self, t_s: float) -> bool:
        """Whether a person was found in a square lately (within ``follow_s`` of ``t_s``)."""
        return self._seen is not None and t_s - self._seen[0] <= self.config.follow_s

    def forget(self) -> None:
        """The whole frame shows the person again: look in the tiles next time."""
        self._seen = None

    def find(self, rgb: npt.NDArray[np.uint8], t_s: float) -> Any | None:
        """The ``PoseLandmarkerResult`` (whole-frame coordinates) of the square looked at in this (H, W, 3) RGB
        frame, None where nobody is there."""
        import mediapipe as mp

        size = (int(rgb.shape[1]), int(rgb.shape[0]))
        if self.following(t_s):
            assert self._seen is not None
            crop = person_square(self._seen[1], size, self.config)
        else:
            self._seen = None
            all_tiles = tiles(size)
            crop = all_tiles[self._next_tile % len(all_tiles)]
            self._next_tile += 1
        out_px = int(min(round(crop.side_px), self.config.max_side_px))
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cut(rgb, crop, out_px))
        result = self._landmarker.detect(image)
        if not result.pose_landmarks:
            self._seen = None
            return None
        mapped = map_result(result, crop, size)
        self._seen = (t_s, _pose_xy(mapped.pose_landmarks[0]))
        return mapped

    def close(self) -> None:
        """Release the landmarker (idempotent)."""
        landmarker, self._landmarker = self._landmarker, None
        if landmarker is not None:
            landmarker.close()
