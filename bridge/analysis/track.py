"""A clip's landmarks as arrays (:class:`Track`): stacked from the frames, low-passed, cut into continuous
person tracks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame
from bridge.core.landmarks import PoseLandmark as L

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Track:
    """A clip's landmarks as arrays (no-person frames are NaN rows).

    Attributes:
        t_s: (T,) float, seconds.
        frame_index: (T,) int.
        person: (T,) bool.
        world_xyz_m: (T, 33, 3) float, MediaPipe world frame (x right, y down, z away), hip-centred, metres;
            NaN where no person.
        image_px: (T, 33, 2) float, image pixels (x right, y down); NaN where no person.
        visibility: (T, 33) float; 0 where no person.
        image_size: (width, height) pixels.
    """

    t_s: FloatArray
    frame_index: npt.NDArray[np.intp]
    person: BoolArray
    world_xyz_m: FloatArray
    image_px: FloatArray
    visibility: FloatArray
    image_size: tuple[int, int]

    def __len__(self) -> int:
        return int(self.t_s.shape[0])


def track_from_frames(frames: Sequence[LandmarkFrame]) -> Track:
    """Stack frames into a :class:`Track` (raises :class:`BridgeError` when there are none)."""
    if not frames:
        raise BridgeError("the input has no frames to analyse; check that the video or recording is not empty")
    n = len(frames)
    world = np.full((n, NUM_LANDMARKS, 3), np.nan)
    image = np.full((n, NUM_LANDMARKS, 2), np.nan)
    vis = np.zeros((n, NUM_LANDMARKS))
    person = np.zeros(n, dtype=bool)
    size = next((f.image_size for f in frames if f.image_size is not None), None) or (1, 1)
    for k, f in enumerate(frames):
        if f.person:
            person[k] = True
            world[k] = f.world_xyz_m
            w, h = f.image_size or size
            image[k] = np.asarray(f.image_xy) * np.array([w, h], dtype=np.float64)
            vis[k] = f.visibility
    return Track(
        t_s=np.array([f.t_s for f in frames], dtype=np.float64),
        frame_index=np.array([f.frame_index for f in frames], dtype=np.intp),
        person=person,
        world_xyz_m=world,
        image_px=image,
        visibility=vis,
        image_size=(int(size[0]), int(size[1])),
    )


def lowpass_track(track: Track, cutoff_hz: float | None) -> Track:
    """The track with world and image landmarks low-passed by a zero-phase Butterworth filter.

    Offline analysis can look ahead, so it uses the biomechanics standard (Winter): a 2nd-order Butterworth
    run forwards and backwards (``filtfilt``: 4th order, no lag) at ``cutoff_hz`` (6 Hz by default), on each
    continuous track separately (:func:`track_segments`). The live One-Euro filter lags 20–30 ms, which costs
    2–3° of angle in fast moves (measured on CMU mocap, see tests/test_analysis.py); this filter does not lag.
    Runs too short to filter (under 10 frames) and a cutoff at or above the Nyquist rate leave data as is.

    Args:
        cutoff_hz: None or 0 = no filtering.
    """
    if not cutoff_hz or len(track) < 2:
        return track
    from scipy.signal import butter, filtfilt

    dt = np.diff(track.t_s)
    dt = dt[dt > 0]
    if dt.size == 0:
        return track
    fs = 1.0 / float(np.median(dt))
    wn = cutoff_hz / (fs / 2.0)
    if not 0 < wn < 1:
        return track
    b, a = butter(2, wn)
    world = track.world_xyz_m.copy()
    image = track.image_px.copy()
    for start, stop in track_segments(track):
        if stop - start < 10:
            continue
        pad = min(3 * max(len(a), len(b)), stop - start - 1)
        world[start:stop] = filtfilt(b, a, world[start:stop], axis=0, padlen=pad)
        image[start:stop] = filtfilt(b, a, image[start:stop], axis=0, padlen=pad)
    return Track(track.t_s, track.frame_index, track.person, world, image, track.visibility, track.image_size)


def track_segments(track: Track) -> list[tuple[int, int]]:
    """[start, stop) index ranges of continuous person tracks: split at no-person frames and where the hips jump
    more than 15 % of the image's larger side in one frame (MediaPipe switching to someone else)."""
    hips = 0.5 * (track.image_px[:, L.LEFT_HIP] + track.image_px[:, L.RIGHT_HIP])
    jump_px = 0.15 * max(track.image_size)
    out, start = [], None
    for i in range(len(track)):
        if not track.person[i]:
            if start is not None:
                out.append((start, i))
            start = None
            continue
        if start is not None and np.linalg.norm(hips[i] - hips[i - 1]) > jump_px:
            out.append((start, i))
            start = None
        if start is None:
            start = i
    if start is not None:
        out.append((start, len(track)))
    return out
