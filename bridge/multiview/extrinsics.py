"""Extrinsics from the person alone: the cameras' poses from the 2-D landmarks every view saw of someone moving.

With the intrinsics known: each view's pose relative to the first from the essential matrix of their shared
landmarks (RANSAC), the others placed on the first pair's triangulated landmarks (PnP), then a bundle
adjustment of every pose and landmark (scipy ``least_squares``, a robust loss, left/right labels repaired
first). The scale comes from the person's height (anthropometric proportions of the leg, trunk and neck), up from
their body (feet to shoulders) and the floor from their heels.

Shapes: F frames (synchronised), V views, N landmarks. Pixels at each camera's calibrated size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares
from scipy.sparse import lil_matrix
from scipy.spatial.transform import Rotation

from bridge.core.errors import BridgeError
from bridge.core.landmarks import LandmarkFrame, PoseLandmark
from bridge.multiview.calibration import Calibration, Camera, undistort
from bridge.multiview.fuse import view_arrays
from bridge.multiview.sync import SyncConfig, apply_offsets, estimate_offsets_calibrated
from bridge.multiview.triangulate import TriangulationConfig, dlt, swap_views, triangulate

FloatArray = npt.NDArray[np.float64]

L = PoseLandmark
#: The landmarks used (the body and the face, not the fingers).
USED = np.array([lm for lm in PoseLandmark if not ("PINKY" in lm.name or "INDEX" in lm.name and "FOOT" not in
                 lm.name or "THUMB" in lm.name)], dtype=np.intp)  # fmt: skip
#: Ankle → knee → hip → shoulder → eye as a fraction of stature (Winter's segment proportions: 0.246 + 0.245 +
#: 0.288 + 0.118).
CHAIN_OF_STATURE = 0.897


@dataclass(frozen=True)
class ExtrinsicsConfig:
    """Settings of the extrinsics from the person.

    Attributes:
        min_weight: landmarks below this visibility are not used.
        ransac_px: the essential matrix's RANSAC threshold, pixels.
        loss_px: scale of the bundle adjustment's robust (soft L1) loss, pixels.
        max_points: at most this many (frame, landmark) points go into the bundle adjustment (evenly spread).
    """

    min_weight: float = 0.5
    ransac_px: float = 4.0
    loss_px: float = 4.0
    max_points: int = 1500


@dataclass(frozen=True, eq=False)
class ExtrinsicsResult:
    """The calibration found and how well it fits: ``rms_px`` the bundle adjustment's RMS reprojection error of
    its inliers, ``height_scale`` metres per unit of the unscaled solution, ``points`` used."""

    calibration: Calibration
    rms_px: float
    height_scale: float
    points: int


def _relative_pose(xy_a: FloatArray, xy_b: FloatArray, f_px: float, config: ExtrinsicsConfig) -> tuple:
    """(R, t unit, inlier count) of view b relative to view a from (K, 2) normalised points."""
    e, mask = cv2.findEssentialMat(xy_a, xy_b, np.eye(3), cv2.RANSAC, 0.999, config.ransac_px / f_px)
    if e is None or e.shape != (3, 3):
        raise BridgeError("the views share too few landmarks for their relative pose; film longer, move more")
    count, rotation, t, _ = cv2.recoverPose(e, xy_a, xy_b, np.eye(3), mask=mask)
    return rotation, t.ravel(), int(count)


def _initial_poses(xy: FloatArray, w: FloatArray, cams: Sequence[Camera], config: ExtrinsicsConfig) -> list:
    """[(R, t)] of every view in view 0's camera frame, view 0 at the identity, scale of the best pair."""
    v = xy.shape[1]
    f_px = float(np.mean([c.K[0, 0] for c in cams]))
    pairs = []
    for b in range(1, v):
        both = (w[:, 0] > config.min_weight) & (w[:, b] > config.min_weight)
        if both.sum() < 30:
            raise BridgeError(f"views 1 and {b + 1} see fewer than 30 landmarks together; film the person longer")
        pairs.append((b, *_relative_pose(xy[:, 0][both], xy[:, b][both], f_px, config)))
    best = max(pairs, key=lambda p: p[3])
    poses: list = [None] * v
    poses[0] = (np.eye(3), np.zeros(3))
    poses[best[0]] = (best[1], best[2])
    ext = np.stack([np.hstack([np.eye(3), np.zeros((3, 1))]), np.hstack([best[1], best[2][:, None]])])
    pick = [0, best[0]]
    points = dlt(
        ext, xy[:, pick][:, :, None], np.where(w[:, pick] > config.min_weight, w[:, pick], 0.0)[:, :, None]
    )
    points = points[:, 0]
    for b in range(1, v):
        if poses[b] is not None:
            continue
        ok = np.isfinite(points).all(axis=-1) & (w[:, b] > config.min_weight)
        found, rvec, tvec, _ = cv2.solvePnPRansac(
            points[ok], xy[:, b][ok], np.eye(3), None, reprojectionError=config.ransac_px / f_px
        )
        if not found:
            raise BridgeError(f"view {b + 1} could not be placed from the person; film them in every view")
        poses[b] = (Rotation.from_rotvec(rvec.ravel()).as_matrix(), tvec.ravel())
    return poses


def _ba_residuals(params: FloatArray, v: int, obs: tuple, f_px: FloatArray) -> FloatArray:
    cam_idx, pt_idx, xy_obs, wt = obs
    poses = params[: 6 * (v - 1)].reshape(v - 1, 6)
    rot = np.concatenate([np.zeros((1, 3)), poses[:, :3]])
    trans = np.concatenate([np.zeros((1, 3)), poses[:, 3:]])
    pts = params[6 * (v - 1) :].reshape(-1, 3)
    p = Rotation.from_rotvec(rot[cam_idx]).apply(pts[pt_idx]) + trans[cam_idx]
    proj = p[:, :2] / np.maximum(p[:, 2:3], 1e-6)
    return np.asarray(((proj - xy_obs) * (wt * f_px[cam_idx])[:, None]).ravel())


def _sparsity(v: int, n_points: int, cam_idx: npt.NDArray[np.intp], pt_idx: npt.NDArray[np.intp]) -> lil_matrix:
    m = lil_matrix((2 * len(cam_idx), 6 * (v - 1) + 3 * n_points), dtype=int)
    rows = np.arange(len(cam_idx))
    for k in range(2):
        for j in range(6):
            moving = cam_idx > 0
            m[2 * rows[moving] + k, 6 * (cam_idx[moving] - 1) + j] = 1
        for j in range(3):
            m[2 * rows + k, 6 * (v - 1) + 3 * pt_idx + j] = 1
    return m


def _bundle_adjust(
    flat_xy: FloatArray, flat_w: FloatArray, cams: Sequence[Camera], poses: list, config: ExtrinsicsConfig
) -> tuple[list, float, int]:
    """Refine the poses (view 0 fixed) and the landmarks from (K, V, 2) normalised points and (K, V) weights;
    returns (poses, RMS reprojection error of the inliers in pixels, points used)."""
    v = flat_xy.shape[1]
    seen = (flat_w > config.min_weight).sum(axis=1) >= 2
    chosen = np.flatnonzero(seen)
    if len(chosen) > config.max_points:
        chosen = chosen[np.linspace(0, len(chosen) - 1, config.max_points).astype(np.intp)]
    ext = np.stack([np.hstack([r, t[:, None]]) for r, t in poses])
    use = np.where(flat_w[chosen] > config.min_weight, flat_w[chosen], 0.0)
    points0 = dlt(ext, flat_xy[chosen][:, :, None], use[:, :, None])[:, 0]
    good = np.isfinite(points0).all(axis=1)
    chosen, points0, use = chosen[good], points0[good], use[good]
    pt_idx, cam_idx = np.nonzero(use > 0)
    obs = (cam_idx, pt_idx, flat_xy[chosen][pt_idx, cam_idx], use[pt_idx, cam_idx])
    f_px = np.array([c.K[0, 0] for c in cams])
    x0 = np.concatenate(
        [np.concatenate([Rotation.from_matrix(r).as_rotvec(), t]) for r, t in poses[1:]] + [points0.ravel()]
    )
    sol = least_squares(
        _ba_residuals, x0, jac_sparsity=_sparsity(v, len(points0), cam_idx, pt_idx), method="trf", x_scale="jac",
        loss="soft_l1", f_scale=config.loss_px, args=(v, obs, f_px), max_nfev=60,
    )  # fmt: skip
    res = _ba_residuals(sol.x, v, obs, f_px).reshape(-1, 2)
    err = np.linalg.norm(res, axis=1)
    rms = float(np.sqrt(np.mean(err[err < 3 * config.loss_px] ** 2)))
    pose_params = sol.x[: 6 * (v - 1)].reshape(v - 1, 6)
    out = [(np.eye(3), np.zeros(3))] + [(Rotation.from_rotvec(p[:3]).as_matrix(), p[3:]) for p in pose_params]
    return out, rms, len(points0)


def _cameras(cams: Sequence[Camera], poses: list, scale: float = 1.0) -> tuple[Camera, ...]:
    return tuple(
        replace(c, R=np.asarray(r), t=np.asarray(t) * scale) for c, (r, t) in zip(cams, poses, strict=True)
    )


def body_scale(points_m: FloatArray, height_m: float) -> float:
    """The factor that makes (F, 33, 3) triangulated landmarks (any unit) a person ``height_m`` tall."""

    def length(a: FloatArray, b: FloatArray) -> float:
        return float(np.nanmedian(np.linalg.norm(a - b, axis=-1)))

    p = points_m
    mid = {
        k: 0.5 * (p[:, getattr(L, f"LEFT_{k}")] + p[:, getattr(L, f"RIGHT_{k}")])
        for k in ("HIP", "SHOULDER", "EYE")
    }
    legs = [length(p[:, getattr(L, f"{s}_ANKLE")], p[:, getattr(L, f"{s}_KNEE")]) + length(
        p[:, getattr(L, f"{s}_KNEE")], p[:, getattr(L, f"{s}_HIP")]) for s in ("LEFT", "RIGHT")]  # fmt: skip
    chain = float(np.mean(legs)) + length(mid["HIP"], mid["SHOULDER"]) + length(mid["SHOULDER"], mid["EYE"])
    if not np.isfinite(chain) or chain <= 0:
        raise BridgeError(
            "the person's legs and trunk were not seen well enough to scale the cameras; use a board"
        )
    return height_m * CHAIN_OF_STATURE / chain


def up_and_floor(points_m: FloatArray) -> tuple[FloatArray, float]:
    """The world's up (the median of the ankles → shoulders direction) and the floor's height along it (the
    heels' and toes' 2nd percentile) of (F, 33, 3) landmarks."""
    p = points_m
    axis = 0.5 * (p[:, L.LEFT_SHOULDER] + p[:, L.RIGHT_SHOULDER] - p[:, L.LEFT_ANKLE] - p[:, L.RIGHT_ANKLE])
    axis = axis[np.isfinite(axis).all(axis=1)]
    up = np.median(axis / np.linalg.norm(axis, axis=1, keepdims=True), axis=0)
    up = up / np.linalg.norm(up)
    feet = p[:, [L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX]].reshape(-1, 3) @ up
    return up, float(np.nanpercentile(feet, 2))


def _flat(a: FloatArray) -> FloatArray:
    """(F, V, N, …) → (F·N, V, …)."""
    return np.moveaxis(a, 1, 2).reshape(-1, a.shape[1], *a.shape[3:])


def estimate_extrinsics(
    cameras: Sequence[Camera],
    pixels: FloatArray,
    weights: FloatArray,
    height_m: float,
    config: ExtrinsicsConfig | None = None,
) -> ExtrinsicsResult:
    """The poses of ``cameras`` (their intrinsics are kept) from (F, V, 33, 2) pixels and (F, V, 33) weights of
    synchronised views of one person ``height_m`` tall. The world: the first camera's frame, metres."""
    config = config or ExtrinsicsConfig()
    if len(cameras) < 2 or np.shape(pixels)[1] != len(cameras):
        raise BridgeError(f"extrinsics need 2 or more views with a camera each (got {len(cameras)} cameras)")
    px = np.asarray(pixels, dtype=np.float64)
    w = np.where(np.isfinite(px).all(axis=-1), np.asarray(weights, dtype=np.float64), 0.0)
    w[:, :, np.setdiff1d(np.arange(w.shape[2]), USED)] = 0.0
    xy = np.stack([undistort(c, px[:, i]) for i, c in enumerate(cameras)], axis=1)
    poses = _initial_poses(_flat(xy), _flat(w), cameras, config)
    up0 = np.array([0.0, -1.0, 0.0])
    swap_fix = triangulate(
        Calibration(_cameras(cameras, poses), up0), px, w, TriangulationConfig(max_error_px=1e9)
    )
    xy, w, px = swap_views(xy, swap_fix.swapped), swap_views(w, swap_fix.swapped), swap_views(px, swap_fix.swapped)
    poses, rms, count = _bundle_adjust(_flat(xy), _flat(w), cameras, poses, config)
    unscaled = Calibration(_cameras(cameras, poses), up0)
    points = triangulate(
        unscaled, px, w, TriangulationConfig(fix_left_right=False, max_error_px=1e9)
    ).points_world_m
    scale = body_scale(points, height_m)
    up, floor = up_and_floor(points * scale)
    return ExtrinsicsResult(Calibration(_cameras(cameras, poses, scale), up, floor), rms, scale, count)


def compare_calibrations(found: Calibration, reference: Calibration) -> tuple[FloatArray, FloatArray]:
    """(V,) rotation errors (degrees) and (V,) camera position errors (metres) of ``found`` against
    ``reference`` after the similarity (rotation, scale, translation) that best maps its camera centres on the
    reference's."""
    a = np.stack([c.centre_m for c in found.cameras])
    b = np.stack([c.centre_m for c in reference.cameras])
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    u, s, vt = np.linalg.svd((a - ma).T @ (b - mb))
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.diag([1.0, 1.0, d])
    rot = (u @ fix @ vt).T
    scale = float(np.sum(s * np.diag(fix)) / np.sum((a - ma) ** 2))
    mapped = scale * (a - ma) @ rot.T + mb
    positions = np.linalg.norm(mapped - b, axis=1)
    angles = [
        np.degrees(Rotation.from_matrix(f.R @ rot.T @ r.R.T).magnitude())
        for f, r in zip(found.cameras, reference.cameras, strict=True)
    ]
    return np.asarray(angles), positions


def extrinsics_from_views(
    cameras: Sequence[Camera],
    views: Sequence[Sequence[LandmarkFrame]],
    height_m: float,
    initial_offsets: Sequence[int] | None = None,
    config: ExtrinsicsConfig | None = None,
) -> tuple[ExtrinsicsResult, list[int]]:
    """Extrinsics from unsynchronised views' LandmarkFrames: a first solution with ``initial_offsets`` (default
    none), the offsets then measured by reprojection with it, and the solution again on the aligned views.
    Returns the result and the offsets (frames, view 0 at 0)."""
    offsets = list(initial_offsets) if initial_offsets is not None else [0] * len(views)
    first = Calibration(tuple(cameras), np.array([0.0, -1.0, 0.0]))
    pixels, weights = view_arrays(first, apply_offsets(views, offsets))
    result = estimate_extrinsics(cameras, pixels, weights, height_m, config)
    shortest = min(len(v) for v in views)
    sync = SyncConfig(max_lag=min(15, shortest // 4), min_overlap=max(10, shortest // 2))
    arrays = [view_arrays(Calibration((c,), first.up), [v]) for c, v in zip(cameras, views, strict=True)]
    found = estimate_offsets_calibrated(
        result.calibration, [p[:, 0] for p, _ in arrays], [w[:, 0] for _, w in arrays], sync
    )
    offsets = [int(o) for o in found.offsets]
    pixels, weights = view_arrays(first, apply_offsets(views, offsets))
    return estimate_extrinsics(cameras, pixels, weights, height_m, config), offsets
