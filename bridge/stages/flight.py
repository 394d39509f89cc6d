"""Offline: a body in flight travels in a straight line over the floor.

Between the last frame a foot was planted and the next (a jump, a leap, a running stride) nothing pushes the body
sideways, so its hips travel over the floor at one velocity. One camera cannot see that: its depth comes from the
body's size, and MediaPipe's metric body reads larger or smaller as it crouches and stretches (rendered CMU
``01_01``, standing jumps toward the camera: 0.94–0.96 of the true range in flight, 1.07–1.12 in the crouch
before it). :func:`ballistic_flights` replaces each flight's guessed range by the straight line between the
placements that bound it: the hips keep the bearing from the camera that the image gives them (across the view
the image places them to a pixel) and their height, at the range that line gives (the height along the ray
would change by under a centimetre: the hips fly near the camera's height).

Frames: placements in the room frame (:class:`~bridge.core.landmarks.Placement`: Y up, the camera's optical
centre above the origin), metres; only ``source="camera"`` placements (a triangulated one is measured).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from bridge.core.landmarks import LandmarkFrame, Placement

FloatArray = npt.NDArray[np.float64]

#: A stretch without a planted foot longer than this (seconds) is not taken for a flight (a foot out of view, a
#: contact not found): a standing jump's flight lasts 0.3–0.6 s, a 1 m high one 0.9 s.
MAX_FLIGHT_S = 1.0


def _guessed(frame: LandmarkFrame) -> Placement | None:
    """The frame's placement where one camera guessed it (a person, ``source="camera"``), else None."""
    p = frame.placement
    return p if frame.person and p is not None and p.source == "camera" else None


def flights(frames: list[LandmarkFrame], max_s: float = MAX_FLIGHT_S) -> list[tuple[int, int]]:
    """[(a, b)]: frame indices of the planted frames that bound each flight (frames a+1 … b−1 placed, no foot
    planted, at most ``max_s`` seconds from a to b), in order."""
    out = []
    last_planted: int | None = None
    for k, frame in enumerate(frames):
        p = _guessed(frame)
        if p is None:
            last_planted = None  # not placed: the flight, if any, is not seen whole
            continue
        if not any(p.planted):
            continue
        if last_planted is not None and k - last_planted > 1 and frame.t_s - frames[last_planted].t_s <= max_s:
            out.append((last_planted, k))
        last_planted = k
    return out


def _floor_xz(frame: LandmarkFrame) -> FloatArray:
    """(2,) the room x, z of a frame's hips (its placement: one camera's), metres."""
    p = _guessed(frame)
    assert p is not None
    return np.asarray(p.hips_m, dtype=np.float64)[[0, 2]]


def ballistic_flights(frames: list[LandmarkFrame], max_s: float = MAX_FLIGHT_S) -> list[LandmarkFrame]:
    """The frames with each flight's hips (x, z) moved along their bearings from the camera onto the straight line
    between the flight's bounding placements (:func:`flights`); height and lift as they were."""
    out = list(frames)
    for a, b in flights(frames, max_s):
        xz_a, xz_b = _floor_xz(frames[a]), _floor_xz(frames[b])
        t_a, t_b = frames[a].t_s, frames[b].t_s
        for k in range(a + 1, b):
            p = _guessed(frames[k])
            assert p is not None
            hips = np.array(p.hips_m, dtype=np.float64)
            length = float(np.hypot(hips[0], hips[2]))
            if length < 1e-6:  # right below the camera: no bearing to move along
                continue
            bearing = hips[[0, 2]] / length
            line = xz_a + (xz_b - xz_a) * (frames[k].t_s - t_a) / max(t_b - t_a, 1e-9)
            hips[[0, 2]] = bearing * max(float(line @ bearing), 0.0)  # the line's range along that bearing
            out[k] = frames[k].replace(placement=dataclasses.replace(p, hips_m=hips))
    return out
