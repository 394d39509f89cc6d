"""Triangulation on synthetic views of a real mocap walk: exact views, one bad view, views with swapped labels."""

from __future__ import annotations

import numpy as np

from bridge.core.landmarks import SWAP_LEFT_RIGHT, PoseLandmark
from bridge.multiview.calibration import Calibration, project
from bridge.multiview.triangulate import _LEFT, _RIGHT, TriangulationConfig, body_is_mirrored, triangulate
from tests.multiview.helpers import look_at, mocap_world, ring


def _views(count: int, noise_px: float = 0.0, seed: int = 3) -> tuple:
    cal = ring(count)
    truth = mocap_world()
    rng = np.random.default_rng(seed)
    pixels = np.stack([project(c, truth) for c in cal.cameras], axis=1)  # (F, V, 33, 2)
    pixels = pixels + rng.normal(scale=noise_px, size=pixels.shape)
    return cal, truth, pixels, np.ones(pixels.shape[:3])


def test_exact_views_triangulate_exactly() -> None:
    cal, truth, pixels, weights = _views(2)
    tri = triangulate(cal, pixels, weights)
    assert np.nanmax(np.abs(tri.points_world_m - truth)) < 1e-6
    assert np.nanmax(tri.reprojection_px) < 1e-4
    assert not tri.swapped.any()
    assert (tri.views == 2).all()


def test_noise_gives_millimetres_and_pixel_errors() -> None:
    cal, truth, pixels, weights = _views(3, noise_px=1.0)
    tri = triangulate(cal, pixels, weights)
    err_mm = 1000 * np.linalg.norm(tri.points_world_m - truth, axis=-1)
    assert np.median(err_mm) < 8.0
    assert 0.3 < np.nanmedian(tri.reprojection_px) < 1.5


def test_one_bad_view_is_dropped() -> None:
    cal, truth, pixels, weights = _views(4, noise_px=0.5)
    bad = pixels.copy()
    bad[:, 2, PoseLandmark.LEFT_WRIST] += 80.0  # view 3 puts the left wrist 80 px off in every frame
    kept = triangulate(cal, bad, weights)
    naive = triangulate(cal, bad, weights, TriangulationConfig(outlier_px=1e9))
    wrist = PoseLandmark.LEFT_WRIST
    err = 1000 * np.linalg.norm(kept.points_world_m[:, wrist] - truth[:, wrist], axis=-1)
    err_naive = 1000 * np.linalg.norm(naive.points_world_m[:, wrist] - truth[:, wrist], axis=-1)
    assert np.median(err) < 10.0 < np.median(err_naive)
    assert not kept.used[:, 2, wrist].any() and kept.used[:, 2, PoseLandmark.NOSE].all()


def test_swapped_labels_in_one_view_are_repaired() -> None:
    cal, truth, pixels, weights = _views(3, noise_px=0.5)
    swapped = pixels.copy()
    swapped[::3, 1] = pixels[::3, 1][:, SWAP_LEFT_RIGHT]  # view 2 swaps left and right every third frame
    tri = triangulate(cal, swapped, weights)
    assert tri.swapped[::3, 1].all() and not tri.swapped[1::3].any()
    err_mm = 1000 * np.linalg.norm(tri.points_world_m - truth, axis=-1)
    assert np.median(err_mm) < 8.0
    off = triangulate(cal, swapped, weights, TriangulationConfig(fix_left_right=False))
    assert np.nanmedian(off.reprojection_px[::3]) > 3 * np.nanmedian(tri.reprojection_px[::3])


def test_every_view_swapped_is_caught_by_the_body_handedness() -> None:
    cal, truth, pixels, weights = _views(2, noise_px=0.3)
    assert not body_is_mirrored(truth, cal.up).any()
    assert body_is_mirrored(truth[:, SWAP_LEFT_RIGHT], cal.up).all()
    tri = triangulate(cal, pixels[:, :, SWAP_LEFT_RIGHT], weights)
    assert tri.swapped.all()
    assert np.median(1000 * np.linalg.norm(tri.points_world_m - truth, axis=-1)) < 8.0


def test_unseen_landmarks_are_nan_and_one_view_is_not_enough() -> None:
    cal, truth, pixels, weights = _views(3)
    w = weights.copy()
    w[:, 1:, PoseLandmark.NOSE] = 0.0  # only view 1 sees the nose
    w[:, 2, PoseLandmark.LEFT_KNEE] = 0.1  # below min_weight in view 3: two views remain
    tri = triangulate(cal, pixels, w)
    assert np.isnan(tri.points_world_m[:, PoseLandmark.NOSE]).all()
    assert (tri.views[:, PoseLandmark.NOSE] == 0).all() and (tri.views[:, PoseLandmark.LEFT_KNEE] == 2).all()
    assert np.nanmax(np.abs(tri.points_world_m - truth)) < 1e-6


def test_labels_are_kept_where_two_views_cannot_tell_left_from_right() -> None:
    """Two cameras at one height and a body whose left and right points lie side by side along their baseline
    (feet together, seen from both sides): swapping one view's labels only moves the points along their epipolar
    lines, so both labellings reproject within the noise. MediaPipe's (correct) labels are kept; swapping on any
    smaller error (``swap_min_px=0``, the old rule) exchanged them on about half of the frames."""
    up = np.array([0.0, 0.0, 1.0])
    target = np.array([0.0, 0.0, 0.9])
    cal = Calibration((look_at("a", np.array([-3.0, -2.0, 1.2]), target, up),
                       look_at("b", np.array([3.0, -2.0, 1.2]), target, up)), up)  # fmt: skip
    truth = mocap_world().copy()
    truth[:, _LEFT] = truth[:, _RIGHT] + np.array([0.25, 0.0, 0.0])  # left beside right, along the baseline
    rng = np.random.default_rng(11)
    pixels = np.stack([project(c, truth) for c in cal.cameras], axis=1)
    pixels = pixels + rng.normal(scale=0.3, size=pixels.shape)
    weights = np.ones(pixels.shape[:3])
    old = triangulate(cal, pixels, weights, TriangulationConfig(swap_min_px=0.0, fix_left_right=True))
    new = triangulate(cal, pixels, weights)
    assert old.swapped[:, 1].mean() > 0.2  # the geometry cannot tell: the old rule swapped at random
    assert not (new.swapped[:, 1] ^ new.swapped[:, 0]).any()  # no view exchanged against the other
    err_mm = 1000 * np.linalg.norm(new.points_world_m - truth, axis=-1)
    assert np.nanmedian(err_mm) < 8.0
