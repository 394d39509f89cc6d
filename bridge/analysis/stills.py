"""Stills for the report: the frames of the key moments with the tracked skeleton drawn on them.

Key moments (:func:`key_moments`): the first frame of each continuous person track (which person was analysed),
the deepest squat, the peak of each angle's range of motion (the frame nearest its 98th percentile, the
report's robust maximum), the largest repetition of each ``--reps`` set and the highest jump (mid-flight).

The images come from the caller (:func:`grab_frames` picks them out of any iterable of decoded frames, e.g. a
:class:`bridge.tracking.sources.FrameSource` opened on the analysed video, so frame indices match the
tracking's). A recording holds no image: the skeleton is then drawn on a blank canvas of the video's size.
The skeleton is drawn from the low-passed image landmarks (pixels, x right, y down) of the analysis: the left
side sky blue, the right side orange, the midline yellow (:data:`LEFT_RGB`, :data:`RIGHT_RGB`,
:data:`MIDDLE_RGB`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from bridge.analysis.analyse import Analysis
from bridge.analysis.track import FloatArray, track_segments
from bridge.core.landmarks import BODY_SEGMENTS
from bridge.core.landmarks import PoseLandmark as L

BgrImage = npt.NDArray[np.uint8]

#: Skeleton colours (RGB): the person's left side, right side and midline (shoulder and hip lines, head).
LEFT_RGB = (0, 190, 255)
RIGHT_RGB = (255, 90, 0)
MIDDLE_RGB = (255, 225, 0)
#: Tracks shorter than this many frames get no still of their own.
MIN_TRACK_FRAMES = 5
#: Width of a still in the report, pixels.
STILL_WIDTH_PX = 420


class FrameLike(Protocol):
    """A decoded frame: its 0-based index in the source and its BGR image."""

    @property
    def frame_index(self) -> int: ...

    @property
    def image_bgr(self) -> BgrImage: ...


@dataclass(frozen=True)
class KeyMoment:
    """A frame worth a still: ``row`` into the analysis's arrays, its source frame index and time, and what it
    shows (one label per reason, e.g. ``"Deepest squat: knee flexion 96°"``)."""

    row: int
    frame_index: int
    t_s: float
    labels: tuple[str, ...]


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _nearest_row(values: FloatArray, target: float) -> int | None:
    finite = np.isfinite(values)
    if not finite.any() or not math.isfinite(target):
        return None
    return int(np.nanargmin(np.where(finite, np.abs(values - target), np.nan)))


def _reasons(analysis: Analysis) -> list[tuple[int, str]]:
    """(row, label) of every key moment, in report order."""
    t = analysis.angles.t_s
    out: list[tuple[int, str]] = []
    for n, (a, b) in enumerate(track_segments(analysis.track), 1):
        if b - a >= MIN_TRACK_FRAMES:  # a flicker of a few frames (MediaPipe locking on) is not worth a still
            out.append((a, f"Person track {n} starts ({t[a]:.2f} s)"))
    if analysis.squats:
        deepest = max(analysis.squats, key=lambda r: r.depth_flexion_deg)
        row = int(np.argmin(np.abs(t - deepest.bottom_s)))
        out.append((row, f"Deepest squat: knee flexion {deepest.depth_flexion_deg:.0f}°"))
    for s in analysis.summary:
        peak = _nearest_row(analysis.angles[s.name], s.max_deg)
        if peak is not None:
            out.append((peak, f"{_title(s.name)}: peak {float(analysis.angles[s.name][peak]):.0f}°"))
    for rep_set in analysis.reps:
        if rep_set.reps:
            n, big = max(enumerate(rep_set.reps, 1), key=lambda nr: nr[1].range_deg)
            side = f" {big.side}" if big.side else ""
            row = int(np.argmin(np.abs(t - big.extreme_s)))
            out.append((row, f"{rep_set.spec.name}: largest repetition (#{n}{side}, {big.range_deg:.0f}°)"))
    if analysis.jumps:
        n, high = max(enumerate(analysis.jumps, 1), key=lambda nj: nj[1].peak_height_m)
        row = int(np.argmin(np.abs(t - 0.5 * (high.takeoff_s + high.landing_s))))
        out.append((row, f"Highest jump (#{n}, {100 * high.peak_height_m:.0f} cm): mid-flight"))
    return out


def key_moments(analysis: Analysis) -> list[KeyMoment]:
    """The key moments of :func:`_reasons`, one per frame (labels of one frame merged), in time order."""
    labels: dict[int, list[str]] = {}
    for row, label in _reasons(analysis):
        labels.setdefault(row, []).append(label)
    t, index = analysis.angles.t_s, analysis.angles.frame_index
    return [KeyMoment(r, int(index[r]), float(t[r]), tuple(labels[r])) for r in sorted(labels)]


def grab_frames(frames: Iterable[FrameLike], wanted: Iterable[int]) -> dict[int, BgrImage]:
    """The images of the ``wanted`` frame indices out of ``frames`` (read in order; stops after the last one)."""
    todo = set(wanted)
    out: dict[int, BgrImage] = {}
    if not todo:
        return out
    last = max(todo)
    for frame in frames:
        if frame.frame_index in todo:
            out[frame.frame_index] = np.ascontiguousarray(frame.image_bgr)
        if frame.frame_index >= last:
            break
    return out


def _side_colour(a: L, b: L) -> tuple[int, int, int]:
    names = (a.name, b.name)
    if all(n.startswith("LEFT") for n in names):
        return LEFT_RGB
    if all(n.startswith("RIGHT") for n in names):
        return RIGHT_RGB
    return MIDDLE_RGB


def draw_skeleton(image_bgr: BgrImage, image_px: FloatArray, visible: npt.NDArray[np.bool_]) -> BgrImage:
    """A copy of ``image_bgr`` with the skeleton drawn: segments between visible landmarks, joints as dots.

    Args:
        image_bgr: (H, W, 3) uint8.
        image_px: (33, 2) landmark pixels (x right, y down) in that image; NaN = not seen.
        visible: (33,) bool, landmarks to draw.
    """
    import cv2

    out = image_bgr.copy()
    size = max(out.shape[:2])
    width = max(3, int(round(size / 140)))
    ok = visible & np.isfinite(image_px).all(axis=1)
    for a, b in BODY_SEGMENTS:
        if ok[a] and ok[b]:
            r, g, bl = _side_colour(a, b)
            p, q = (tuple(int(round(v)) for v in image_px[i]) for i in (a, b))
            cv2.line(out, p, q, (0, 0, 0), width + 2, cv2.LINE_AA)  # a dark rim keeps it readable on any image
            cv2.line(out, p, q, (bl, g, r), width, cv2.LINE_AA)
    for i in np.flatnonzero(ok):
        centre = tuple(int(round(v)) for v in image_px[i])
        cv2.circle(out, centre, width + 1, (255, 255, 255), -1, cv2.LINE_AA)
    return out


def blank_canvas(image_size: tuple[int, int]) -> BgrImage:
    """A light grey (H, W, 3) image of ``image_size`` (width, height): the background when there is no video."""
    w, h = max(int(image_size[0]), 16), max(int(image_size[1]), 16)
    return np.full((h, w, 3), 236, dtype=np.uint8)


def still_jpeg(
    analysis: Analysis, moment: KeyMoment, image_bgr: BgrImage | None, width_px: int = STILL_WIDTH_PX
) -> bytes:
    """The JPEG of one still: the frame (or a blank canvas) ``width_px`` wide, with the skeleton of that moment
    drawn at that size (so its lines stay as thick in the report whatever the video's size)."""
    import cv2

    track = analysis.track
    base = image_bgr if image_bgr is not None else blank_canvas(track.image_size)
    scale = width_px / base.shape[1]
    size = (width_px, max(1, int(round(base.shape[0] * scale))))
    small = np.asarray(cv2.resize(base, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    px = track.image_px[moment.row] * np.array(
        [small.shape[1] / track.image_size[0], small.shape[0] / track.image_size[1]]
    )
    visible = track.visibility[moment.row] >= analysis.config.min_visibility
    drawn = draw_skeleton(small, px, visible & bool(track.person[moment.row]))
    ok, data = cv2.imencode(".jpg", drawn, [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR image
        raise RuntimeError("OpenCV could not encode a JPEG")
    return bytes(data.tobytes())


@dataclass(frozen=True)
class Still:
    """A key moment and its JPEG; ``from_video`` False when drawn on a blank canvas."""

    moment: KeyMoment
    jpeg: bytes
    from_video: bool


def make_stills(analysis: Analysis, images: Mapping[int, BgrImage] | None) -> list[Still]:
    """Every key moment's still: on its video frame where ``images`` has it, else on a blank canvas."""
    out = []
    for m in key_moments(analysis):
        image = images.get(m.frame_index) if images is not None else None
        out.append(Still(m, still_jpeg(analysis, m, image), image is not None))
    return out


__all__ = [
    "KeyMoment",
    "Still",
    "draw_skeleton",
    "grab_frames",
    "key_moments",
    "make_stills",
    "still_jpeg",
]
