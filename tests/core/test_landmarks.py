"""Landmark names and the landmark frame value."""

from __future__ import annotations

import numpy as np

from bridge.core.landmarks import BODY_SEGMENTS, NUM_LANDMARKS, SWAP_LEFT_RIGHT, LandmarkFrame, PoseLandmark


def test_swap_left_right_pairs_each_side_with_its_twin() -> None:
    assert len(PoseLandmark) == NUM_LANDMARKS == 33
    assert np.array_equal(SWAP_LEFT_RIGHT[SWAP_LEFT_RIGHT], np.arange(33))  # an involution
    assert SWAP_LEFT_RIGHT[PoseLandmark.NOSE] == PoseLandmark.NOSE
    assert SWAP_LEFT_RIGHT[PoseLandmark.LEFT_KNEE] == PoseLandmark.RIGHT_KNEE
    assert SWAP_LEFT_RIGHT[PoseLandmark.MOUTH_LEFT] == PoseLandmark.MOUTH_RIGHT
    for lm in PoseLandmark:
        twin = PoseLandmark(int(SWAP_LEFT_RIGHT[lm]))
        assert twin.name.replace("RIGHT", "LEFT") == lm.name.replace("RIGHT", "LEFT")


def test_body_segments_join_distinct_landmarks() -> None:
    assert all(a != b for a, b in BODY_SEGMENTS)
    assert (PoseLandmark.LEFT_HIP, PoseLandmark.LEFT_KNEE) in BODY_SEGMENTS


def test_no_person_frames_and_flags_are_values() -> None:
    f = LandmarkFrame.no_person(1.5, (640, 480), frame_index=3)
    assert not f.person and f.world_xyz_m.shape == (33, 3) and f.image_size == (640, 480)
    g = f.with_flags(a=1)
    h = g.with_flags(b=2)
    assert dict(f.flags) == {} and dict(g.flags) == {"a": 1} and dict(h.flags) == {"a": 1, "b": 2}
    assert h.equals(f) and not h.equals(f.replace(t_s=2.0))
