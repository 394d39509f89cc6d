"""The refiner's multi-view training targets: each view's reference from the other views only."""

from __future__ import annotations

import numpy as np

from bridge.core.landmarks import PoseLandmark
from bridge.multiview.calibration import project
from bridge.testing.lifter_data_real import BODY_12
from bridge.testing.lifter_data_views import references, view_group_specs
from tests.multiview.helpers import mocap_world, ring


def test_each_views_reference_is_the_body_in_its_camera_axes_from_the_other_views() -> None:
    """Four cameras round a real CMU walk seeing it exactly: each view's reference is the walk in that camera's
    axes, hip-centred (within the 6 Hz low-pass: a few mm); moving one view's pixels 40 px leaves its own
    reference bit-identical and changes the others'."""
    calib = ring(4)
    world = mocap_world(40)
    t_s = np.arange(len(world)) / 30.0
    pixels = np.stack([project(c, world) for c in calib.cameras], axis=1)  # (F, V, 33, 2)
    weights = np.ones(pixels.shape[:3])
    refs = references(calib, pixels, weights, t_s)
    body = [int(i) for i in BODY_12]
    for v, cam in enumerate(calib.cameras):
        pts = world @ cam.R.T
        hips = 0.5 * (pts[:, PoseLandmark.LEFT_HIP] + pts[:, PoseLandmark.RIGHT_HIP])
        err = np.linalg.norm(refs[:, v, body] - (pts - hips[:, None])[:, body], axis=-1)
        assert np.nanmean(err) < 0.006, f"view {v}: {1000 * np.nanmean(err):.1f} mm"
    moved = pixels.copy()
    moved[:, 0] += 40.0
    again = references(calib, moved, weights, t_s)
    assert np.array_equal(again[:, 0], refs[:, 0], equal_nan=True)
    assert np.nanmax(np.abs(again[:, 1] - refs[:, 1])) > 0.01


def test_view_groups_film_one_stretch_from_all_round() -> None:
    """Every group is one clip's one stretch, its cameras spread all round (gaps under 360 / views + 30°)."""
    groups = view_group_specs(2, views=4, seed=3)
    assert len({g[0].clip for g in groups}) == len(groups) // 2
    for g in groups:
        assert len(g) == 4 and len({(s.clip, s.start_s, s.duration_s) for s in g}) == 1
        yaws = np.sort([s.yaw_deg for s in g])
        gaps = np.diff(np.concatenate([yaws, yaws[:1] + 360.0]))
        assert gaps.max() < 90.0 + 30.0 + 1e-9, yaws
