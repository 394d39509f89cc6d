"""Fusing several views' LandmarkFrames into one: levelled, hip-centred, placed in the room; monocular fallback."""

from __future__ import annotations

import numpy as np

from bridge.core.landmarks import PoseLandmark
from bridge.multiview.fuse import fuse
from tests.multiview.helpers import mocap_world, ring, view_frames


def test_fused_frames_are_levelled_hip_centred_and_placed() -> None:
    cal = ring(2)
    truth = mocap_world()
    fused = fuse(cal, view_frames(cal, truth))
    assert len(fused.frames) == len(truth) and not fused.monocular.any()
    frame = fused.frames[5]
    lm = frame.world_xyz_m
    # Levelled: y points down along gravity (the world's −Z), so the head is above (smaller y than) the ankles.
    assert lm[PoseLandmark.NOSE, 1] < lm[PoseLandmark.LEFT_ANKLE, 1] - 1.0
    np.testing.assert_allclose(0.5 * (lm[PoseLandmark.LEFT_HIP] + lm[PoseLandmark.RIGHT_HIP]), 0.0, atol=1e-9)
    # Heights (along y) equal the world's heights (along Z).
    np.testing.assert_allclose(lm[:, 1] - lm[0, 1], -(truth[5, :, 2] - truth[5, 0, 2]), atol=1e-6)
    hips = 0.5 * (truth[5, PoseLandmark.LEFT_HIP] + truth[5, PoseLandmark.RIGHT_HIP])
    assert frame.placement is not None and frame.placement.source == "triangulated"
    assert abs(frame.placement.hips_m[1] - hips[2]) < 1e-6  # height above the floor z = 0
    horizontal = np.linalg.norm((hips - cal.cameras[0].centre_m)[:2])
    assert abs(np.hypot(frame.placement.hips_m[0], frame.placement.hips_m[2]) - horizontal) < 1e-6
    assert frame.flags["views"] == 2 and frame.flags["reprojection_px"] < 1e-3


def test_landmarks_one_view_sees_fall_back_to_its_monocular_estimate() -> None:
    cal = ring(2)
    truth = mocap_world()
    views = view_frames(cal, truth)
    hidden = [PoseLandmark.LEFT_WRIST, PoseLandmark.LEFT_ELBOW]
    views[1] = [f.replace(visibility=np.where(np.isin(np.arange(33), hidden), 0.0, 1.0)) for f in views[1]]
    fused = fuse(cal, views)
    assert fused.monocular[:, hidden].all() and fused.monocular.sum() == 2 * len(truth)
    # The monocular estimate is exact here, so the rigid fit puts the hidden landmarks where they are.
    np.testing.assert_allclose(fused.points_world_m, truth, atol=1e-6)
    assert (fused.frames[0].visibility[hidden] == 1).all()  # view 1 saw them


def test_a_frame_only_one_view_sees_is_placed_from_its_image() -> None:
    cal = ring(2)
    truth = mocap_world()
    views = view_frames(cal, truth)
    views[1][3] = views[1][3].no_person(views[1][3].t_s, views[1][3].image_size, 3)
    fused = fuse(cal, views)
    assert fused.monocular[3].all() and not fused.monocular[2].any()
    np.testing.assert_allclose(fused.points_world_m[3], truth[3], atol=1e-6)
    assert fused.frames[3].person and fused.frames[3].flags["views"] == 0


def test_the_floor_is_found_under_the_feet_when_the_calibration_does_not_say() -> None:
    import dataclasses

    cal = ring(2)
    truth = mocap_world() + np.array([0.0, 0.0, 0.7])  # the world's origin 0.7 m under the floor
    told = fuse(cal, view_frames(cal, truth))
    unknown = fuse(dataclasses.replace(cal, floor_known=False), view_frames(cal, truth))
    height = [f.placement.hips_m[1] for f in unknown.frames if f.placement is not None]
    assert told.frames[0].placement is not None
    assert abs(told.frames[0].placement.hips_m[1] - height[0] - 0.7) < 0.03
    hips = 0.5 * (truth[:, PoseLandmark.LEFT_HIP, 2] + truth[:, PoseLandmark.RIGHT_HIP, 2]) - 0.7
    assert np.max(np.abs(np.asarray(height) - hips)) < 0.03
