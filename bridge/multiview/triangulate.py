"""Triangulation of the 33 pose landmarks seen by several calibrated views: arrays in, arrays out.

Visibility-weighted DLT on undistorted points; a view whose reprojection error is an outlier is dropped (with
three or more views); left/right labels are made consistent across views first (MediaPipe swaps them per view)
and the body's handedness is checked in 3-D (toes ahead of heels, the nose ahead of the ears).

Shapes: F frames, V views, N landmarks (33). Pixels: x right, y down. World: the calibrated world, metres.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.core.landmarks import SWAP_LEFT_RIGHT, PoseLandmark
from bridge.multiview.calibration import Calibration, project, undistort

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

L = PoseLandmark
_LEFT = np.array([lm for lm in PoseLandmark if SWAP_LEFT_RIGHT[lm] != lm and "LEFT" in lm.name], dtype=np.intp)
_RIGHT = SWAP_LEFT_RIGHT[_LEFT]


@dataclass(frozen=True)
class TriangulationConfig:
    """How landmarks are triangulated.

    Attributes:
        min_weight: a view's landmark with visibility below this is not used.
        outlier_px: reprojection error (pixels, at the view's resolution) above which a view is suspected.
        outlier_gain: a view is dropped when leaving it out lowers the mean error of the others by this factor.
        max_error_px: a landmark whose mean reprojection error stays above this is not trusted (NaN: the
            monocular fallback fills it).
        fix_left_right: make left/right labels consistent across views (and with the body in 3-D).
        swap_min_px: a view's labels are exchanged only where that lowers the pair's reprojection error by more
            than this. Two cameras at one height cannot tell left from right of points side by side at one
            height (the swap moves them along their epipolar lines): on a rendered clip, swapping on any smaller
            error exchanged MediaPipe's correct labels of standing feet on 6–12 frames in a row (0.2 against
            0.6 px), and the feet's slide per contact read 22 cm instead of 6; where the geometry cannot tell,
            MediaPipe's labels stay. (Pose2Sim's real views are unchanged by it: their swaps differ by 10+ px.)
    """

    min_weight: float = 0.3
    outlier_px: float = 15.0
    outlier_gain: float = 2.0
    max_error_px: float = 60.0
    fix_left_right: bool = True
    swap_min_px: float = 1.0


@dataclass(frozen=True, eq=False)
class Triangulation:
    """Triangulated landmarks of F frames.

    Attributes:
        points_world_m: (F, N, 3) calibrated world, metres; NaN where fewer than two views agreed.
        reprojection_px: (F, N) mean reprojection error over the views used, pixels; NaN where not triangulated.
        used: (F, V, N) bool, the views each landmark was triangulated from.
        swapped: (F, V) bool, views whose left/right labels were exchanged before triangulating.
    """

    points_world_m: FloatArray
    reprojection_px: FloatArray
    used: BoolArray
    swapped: BoolArray

    @property
    def views(self) -> npt.NDArray[np.intp]:
        """(F, N) how many views each landmark was triangulated from (0 where not triangulated)."""
        counts = self.used.sum(axis=1)
        return np.where(np.isfinite(self.points_world_m[..., 0]), counts, 0).astype(np.intp)


def dlt(extrinsics: FloatArray, xy_norm: FloatArray, weights: FloatArray) -> FloatArray:
    """Weighted DLT, vectorised.

    Args:
        extrinsics: (V, 3, 4) ``[R | t]`` per view (world → camera).
        xy_norm: (..., V, N, 2) undistorted normalised camera coordinates (x/z, y/z).
        weights: (..., V, N) ≥ 0; 0 leaves the view out for that landmark.

    Returns:
        (..., N, 3) world points, metres; NaN where fewer than two views have a positive weight.
    """
    p = np.asarray(extrinsics, dtype=np.float64)
    x = np.moveaxis(xy_norm, -3, -2)  # (..., N, V, 2)
    w = np.moveaxis(weights, -2, -1)[..., None]  # (..., N, V, 1)
    x = np.where(np.isfinite(x), x, 0.0)
    rows_x = (x[..., 0:1] * p[:, 2] - p[:, 0]) * w  # (..., N, V, 4)
    rows_y = (x[..., 1:2] * p[:, 2] - p[:, 1]) * w
    a = np.concatenate([rows_x, rows_y], axis=-2)
    _, _, vh = np.linalg.svd(a)
    h = vh[..., -1, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = h[..., :3] / h[..., 3:4]
    enough = (np.asarray(weights) > 0).sum(axis=-2) >= 2
    return np.where(enough[..., None], out, np.nan)


def view_errors(calibration: Calibration, points_world_m: FloatArray, pixels: FloatArray) -> FloatArray:
    """(..., V, N) reprojection error of (..., N, 3) world points against (..., V, N, 2) pixels, pixels."""
    errors = []
    for v, cam in enumerate(calibration.cameras):
        errors.append(np.linalg.norm(project(cam, points_world_m) - pixels[..., v, :, :], axis=-1))
    return np.stack(errors, axis=-2)


def _mean_used(errors: FloatArray, use: BoolArray) -> FloatArray:
    n = use.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.where(use, np.nan_to_num(errors, nan=1e9), 0.0).sum(axis=-2) / n, np.nan)


def _solve(
    calibration: Calibration, xy_norm: FloatArray, pixels: FloatArray, use: BoolArray, weights: FloatArray
) -> tuple[FloatArray, FloatArray]:
    ext = np.stack([c.extrinsic for c in calibration.cameras])
    points = dlt(ext, xy_norm, np.where(use, weights, 0.0))
    return points, _mean_used(view_errors(calibration, points, pixels), use)


def _left_right_fixed(
    calibration: Calibration, xy_norm: FloatArray, pixels: FloatArray, weights: FloatArray, min_px: float = 1.0
) -> BoolArray:
    """(F, V) which views to swap so that each agrees with the frame's best view (pairwise reprojection: the
    swapped labels' error more than ``min_px`` lower than the view's own)."""
    f, v = weights.shape[:2]
    ref = np.argmax(weights.mean(axis=-1), axis=1)  # (F,)
    swapped = np.zeros((f, v), dtype=bool)
    frames = np.arange(f)
    for other in range(v):
        pair_err = []
        for swap in (False, True):
            order = SWAP_LEFT_RIGHT if swap else np.arange(len(SWAP_LEFT_RIGHT))
            xy = xy_norm.copy()
            px = pixels.copy()
            w = np.zeros_like(weights)
            xy[:, other] = xy_norm[:, other][:, order]
            px[:, other] = pixels[:, other][:, order]
            w[frames, ref] = weights[frames, ref]
            w[:, other] = weights[:, other][:, order]
            use = w > 0
            _, err = _solve(calibration, xy, px, use, w)
            sides = np.concatenate([_LEFT, _RIGHT])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # frames the pair does not share: NaN
                pair_err.append(np.nanmedian(np.where(use[:, other][:, sides], err[:, sides], np.nan), axis=-1))
        swap_err, own_err = np.nan_to_num(pair_err[1], nan=np.inf), np.nan_to_num(pair_err[0], nan=np.inf)
        with np.errstate(invalid="ignore"):  # both infinite (the pair shares nothing): inf - inf, no swap
            better = own_err - swap_err > min_px
        swapped[:, other] = better & (ref != other)
    return swapped


def body_is_mirrored(points_world_m: FloatArray, up: FloatArray) -> BoolArray:
    """(F,) True where (F, N, 3) world points have their left side on the body's right (labels all swapped).

    The body's front is where the toes point from the heels and the nose from the ears; its left is up × front.
    """
    p = points_world_m
    front = (p[:, L.LEFT_FOOT_INDEX] - p[:, L.LEFT_HEEL]) + (p[:, L.RIGHT_FOOT_INDEX] - p[:, L.RIGHT_HEEL])
    front = np.nan_to_num(front) + np.nan_to_num(p[:, L.NOSE] - 0.5 * (p[:, L.LEFT_EAR] + p[:, L.RIGHT_EAR]))
    left_axis = np.cross(up, front)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames with nothing triangulated: NaN
        sides = np.nanmean(p[:, _LEFT] - p[:, _RIGHT], axis=1)
    return np.asarray(np.nan_to_num(np.sum(sides * left_axis, axis=-1)) < 0)


def swap_views(array: FloatArray, swapped: BoolArray) -> FloatArray:
    """(F, V, N, ...) with the landmarks of the swapped (F, V) views exchanged left ↔ right."""
    return np.where(swapped.reshape(swapped.shape + (1,) * (array.ndim - 2)), array[:, :, SWAP_LEFT_RIGHT], array)


def triangulate(
    calibration: Calibration, pixels: FloatArray, weights: FloatArray, config: TriangulationConfig | None = None
) -> Triangulation:
    """Triangulate F frames of V views.

    Args:
        calibration: the V cameras, in the order of the views.
        pixels: (F, V, N, 2) landmark pixels at each camera's calibrated size (NaN: not seen).
        weights: (F, V, N) visibility in [0, 1] (0: not seen).
    """
    config = config or TriangulationConfig()
    px = np.asarray(pixels, dtype=np.float64)
    w = np.where(np.isfinite(px).all(axis=-1), np.asarray(weights, dtype=np.float64), 0.0)
    w = np.where(w >= config.min_weight, w, 0.0)
    xy = np.stack([undistort(c, px[:, i]) for i, c in enumerate(calibration.cameras)], axis=1)
    f, v = w.shape[:2]
    swapped = np.zeros((f, v), dtype=bool)
    if config.fix_left_right and v >= 2:
        swapped = _left_right_fixed(calibration, xy, px, w, config.swap_min_px)
        px, xy, w = swap_views(px, swapped), swap_views(xy, swapped), swap_views(w, swapped)
    use = w > 0
    points, err = _solve(calibration, xy, px, use, w)
    if v >= 3:
        points, err, use = _drop_outlier_views(calibration, xy, px, w, use, points, err, config)
    bad = ~(err <= config.max_error_px)
    points = np.where(bad[..., None], np.nan, points)
    err = np.where(bad, np.nan, err)
    if config.fix_left_right:
        mirrored = body_is_mirrored(points, calibration.up)
        points = np.where(mirrored[:, None, None], points[:, SWAP_LEFT_RIGHT], points)
        err = np.where(mirrored[:, None], err[:, SWAP_LEFT_RIGHT], err)
        use = np.where(mirrored[:, None, None], use[:, :, SWAP_LEFT_RIGHT], use)
        swapped = swapped ^ mirrored[:, None]
    return Triangulation(points, err, use, swapped)


def _drop_outlier_views(
    calibration: Calibration,
    xy: FloatArray,
    px: FloatArray,
    w: FloatArray,
    use: BoolArray,
    points: FloatArray,
    err: FloatArray,
    config: TriangulationConfig,
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Leave each view out in turn; keep the best leave-one-out where the full solution's error is an outlier."""
    best_points, best_err, best_use = points, err, use
    for drop in range(w.shape[1]):
        use_d = use.copy()
        use_d[:, drop] = False
        pts_d, err_d = _solve(calibration, xy, px, use_d, w)
        better = (
            (err > config.outlier_px)
            & (use_d.sum(axis=1) >= 2)
            & (err_d * config.outlier_gain < err)
            & (np.nan_to_num(err_d, nan=np.inf) < np.nan_to_num(best_err, nan=np.inf))
        )
        best_points = np.where(better[..., None], pts_d, best_points)
        best_err = np.where(better, err_d, best_err)
        best_use = np.where(better[:, None, :], use_d, best_use)
    return best_points, best_err, best_use
