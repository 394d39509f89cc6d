"""Offline flights (:mod:`bridge.stages.flight`): known answers on placements of a body jumping toward the camera,
its guessed range off in flight by what MediaPipe's stretched body gives on renders (0.94 of the truth)."""

from __future__ import annotations

import numpy as np

from bridge.core.landmarks import LandmarkFrame, Placement
from bridge.stages.flight import MAX_FLIGHT_S, ballistic_flights, flights

FPS = 30.0


def _frames(planted: str, range_scale: dict[int, float], source: str = "camera") -> list[LandmarkFrame]:
    """One frame per character of ``planted`` ('B' both feet, '.' none, '-' no placement): the hips travel from
    (1, 6) m to the camera at 1.5 m/s (room x, z; across and toward it), each frame's range scaled by
    ``range_scale`` (frame → factor) as a size-based depth would misread it; the height 0.9 m."""
    out = []
    for k, c in enumerate(planted):
        t = k / FPS
        true_xz = np.array([1.0, 6.0]) + np.array([0.3, -1.5]) * t
        xz = true_xz * range_scale.get(k, 1.0)
        frame = LandmarkFrame.no_person(t, (640, 360), k)
        frame = frame.replace(person=True)
        if c != "-":
            hips = np.array([xz[0], 0.9, xz[1]])
            frame = frame.replace(placement=Placement(hips, source, planted=(c == "B", c == "B")))
        out.append(frame)
    return out


def _xz(frames: list[LandmarkFrame]) -> np.ndarray:
    return np.array([f.placement.hips_m[[0, 2]] if f.placement is not None else [np.nan] * 2 for f in frames])


def test_a_flight_travels_in_a_straight_line_along_the_rays_the_image_shows() -> None:
    pattern = "BBBBB" + "." * 12 + "BBBBB"
    bias = {k: 0.94 for k in range(5, 17)}
    frames = _frames(pattern, bias)
    truth = _xz(_frames(pattern, {}))
    assert flights(frames) == [(4, 17)]
    fixed = _xz(ballistic_flights(frames))
    before = np.linalg.norm(_xz(frames) - truth, axis=1)
    after = np.linalg.norm(fixed - truth, axis=1)
    assert before[5:17].min() > 0.3  # the guess is 35+ cm off in flight
    assert after.max() < 1e-9  # on the true straight line
    bearing_before = np.arctan2(_xz(frames)[:, 0], _xz(frames)[:, 1])
    np.testing.assert_allclose(np.arctan2(fixed[:, 0], fixed[:, 1]), bearing_before)  # only the range moved
    heights = [f.placement.hips_m[1] for f in ballistic_flights(frames) if f.placement is not None]
    assert heights == [0.9] * len(heights)


def test_only_flights_seen_whole_and_short_enough_are_straightened() -> None:
    long_gap = "BB" + "." * int(MAX_FLIGHT_S * FPS + 2) + "BB"  # longer than a flight: a contact not found
    unseen = "BB...-...BB"  # a frame without a placement: the flight is not seen whole
    for pattern in (long_gap, unseen, "BBBB" + "." * 5, "." * 5 + "BBBB"):
        frames = _frames(pattern, {k: 0.94 for k in range(len(pattern))})
        assert flights(frames) == []
        np.testing.assert_array_equal(_xz(ballistic_flights(frames)), _xz(frames))


def test_triangulated_placements_are_measured_and_left_alone() -> None:
    pattern = "BBB" + "." * 8 + "BBB"
    frames = _frames(pattern, {k: 0.94 for k in range(3, 11)}, source="triangulated")
    assert flights(frames) == []
    np.testing.assert_array_equal(_xz(ballistic_flights(frames)), _xz(frames))
