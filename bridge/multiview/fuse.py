"""Several views' LandmarkFrames → one LandmarkFrame of triangulated landmarks, so the rest of the pipeline is
unchanged.

The fused frame's ``world_xyz_m`` are the triangulated landmarks in the **levelled camera** frame of the
reference view (:func:`bridge.core.frames.levelled_camera_rotation`: MediaPipe's axes with y along gravity),
hip-centred, metres; its ``placement`` is where the hips are in the room frame (``source="triangulated"``); its
flags carry ``views`` (how many views it was made from) and ``reprojection_px`` (the median error). A landmark
seen by fewer than two views falls back to the best view's monocular estimate, fitted onto the triangulated
landmarks (a rigid fit) or, with none, turned by that camera's rotation and placed by its image points. When the
calibration does not say where the floor is, it is put under the feet (:func:`feet_floor_m`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.core.frames import levelled_camera_rotation, world_to_levelled
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame, Placement, PoseLandmark
from bridge.multiview.calibration import Calibration, Camera, undistort
from bridge.multiview.triangulate import Triangulation, TriangulationConfig, triangulate

FloatArray = npt.NDArray[np.float64]

L = PoseLandmark
#: Image sizes within this fraction of the calibrated size are taken as the calibrated size (a video cropped or
#: padded by a few pixels, as Pose2Sim's 1080-wide videos of 1088-wide cameras); beyond it points are scaled.
SIZE_TOLERANCE = 0.02


@dataclass(frozen=True, eq=False)
class FusedFrames:
    """Triangulated frames and where each landmark came from.

    Attributes:
        frames: one LandmarkFrame per frame (see the module docstring).
        triangulation: the raw triangulation (calibrated world, metres; reprojection error in pixels).
        points_world_m: (F, N, 3) calibrated world, metres, the monocular fallback filled in (NaN: no view).
        monocular: (F, N) bool, landmarks filled by the monocular fallback.
    """

    frames: list[LandmarkFrame]
    triangulation: Triangulation
    points_world_m: FloatArray
    monocular: npt.NDArray[np.bool_]


def view_arrays(
    calibration: Calibration, views: Sequence[Sequence[LandmarkFrame]]
) -> tuple[FloatArray, FloatArray]:
    """V views of F frames each → (F, V, N, 2) pixels at each camera's calibrated size and (F, V, N) weights.

    A frame without a person has weight 0; image points are scaled to the calibrated size only when the frame's
    size differs from it by more than :data:`SIZE_TOLERANCE`.
    """
    f = min(len(v) for v in views)
    pixels = np.full((f, len(views), NUM_LANDMARKS, 2), np.nan)
    weights = np.zeros((f, len(views), NUM_LANDMARKS))
    for i, (cam, frames) in enumerate(zip(calibration.cameras, views, strict=True)):
        for j, frame in enumerate(frames[:f]):
            if not frame.person:
                continue
            size = np.asarray(frame.image_size, dtype=np.float64)
            close = np.all(np.abs(size / np.asarray(cam.size) - 1.0) <= SIZE_TOLERANCE)
            scale = size if close else np.asarray(cam.size, dtype=np.float64)
            pixels[j, i] = frame.image_xy * scale
            weights[j, i] = frame.visibility
    return pixels, weights


def _kabsch(source: FloatArray, target: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Rotation and translation taking (K, 3) ``source`` onto ``target`` (least squares, no scale)."""
    cs, ct = source.mean(axis=0), target.mean(axis=0)
    u, _, vt = np.linalg.svd((source - cs).T @ (target - ct))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rotation = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return rotation, ct - rotation @ cs


def _placed_by_image(camera: Camera, mono_cam_m: FloatArray, pixels: FloatArray, seen: FloatArray) -> FloatArray:
    """(N, 3) camera-frame points: the monocular skeleton moved (translation only) to fit its image points."""
    xy = undistort(camera, pixels)
    rows, rhs = [], []
    for k in np.flatnonzero(seen):
        x, y = xy[k]
        px, py, pz = mono_cam_m[k]
        rows += [[1.0, 0.0, -x], [0.0, 1.0, -y]]
        rhs += [x * pz - px, y * pz - py]
    if len(rows) < 6:
        return mono_cam_m + np.array([0.0, 0.0, 3.0])
    shift = np.linalg.lstsq(np.asarray(rows), np.asarray(rhs), rcond=None)[0]
    return mono_cam_m + shift


def monocular_fill(
    calibration: Calibration,
    views: Sequence[Sequence[LandmarkFrame]],
    pixels: FloatArray,
    weights: FloatArray,
    points_world_m: FloatArray,
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Fill the NaN landmarks of (F, N, 3) ``points_world_m`` from the best view's monocular landmarks."""
    out = points_world_m.copy()
    filled = np.zeros(out.shape[:2], dtype=bool)
    for j in np.flatnonzero(np.isnan(out).any(axis=(1, 2))):
        best = int(np.argmax(weights[j].sum(axis=-1)))
        if weights[j, best].sum() <= 0:
            continue
        cam = calibration.cameras[best]
        mono = np.asarray(views[best][int(j)].world_xyz_m)  # MediaPipe world axes = the camera's axes
        known = np.isfinite(out[j]).all(axis=-1)
        if known.sum() >= 4:
            rotation, shift = _kabsch(mono[known], out[j][known])
            world = mono @ rotation.T + shift
        else:
            cam_pts = _placed_by_image(cam, mono, pixels[j, best], weights[j, best] > 0.3)
            world = (cam_pts - cam.t) @ cam.R
        fill = ~known
        out[j][fill] = world[fill]
        filled[j] = fill
    return out, filled


def feet_floor_m(points_world_m: FloatArray, up: FloatArray) -> float:
    """The floor's height along ``up`` under (F, N, 3) landmarks: the heels' and toes' 2nd percentile (metres);
    0 when no foot was seen."""
    feet = (
        points_world_m[:, [L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX]].reshape(-1, 3) @ up
    )
    feet = feet[np.isfinite(feet)]
    return float(np.percentile(feet, 2)) if feet.size else 0.0


def fuse(
    calibration: Calibration,
    views: Sequence[Sequence[LandmarkFrame]],
    config: TriangulationConfig | None = None,
    reference: int = 0,
) -> FusedFrames:
    """Triangulate V views of frames (already paired: the j-th frame of each view shows the same instant)."""
    pixels, weights = view_arrays(calibration, views)
    tri = triangulate(calibration, pixels, weights, config)
    points, filled = monocular_fill(calibration, views, pixels, weights, tri.points_world_m)
    if not calibration.floor_known:
        calibration = dataclasses.replace(
            calibration, floor_m=feet_floor_m(points, calibration.up), floor_known=True
        )
    rotation = levelled_camera_rotation(calibration.up, calibration.cameras[reference].R)
    centre = calibration.cameras[reference].centre_m
    frames = [
        _frame(views, j, reference, points[j], tri, rotation, centre, calibration) for j in range(len(points))
    ]
    return FusedFrames(frames, tri, points, filled)


def _frame(
    views: Sequence[Sequence[LandmarkFrame]],
    j: int,
    reference: int,
    points_m: FloatArray,
    tri: Triangulation,
    rotation: FloatArray,
    camera_centre_m: FloatArray,
    calibration: Calibration,
) -> LandmarkFrame:
    ref = views[reference][j]
    seen = [v[j] for v in views if v[j].person]
    hips = 0.5 * (points_m[L.LEFT_HIP] + points_m[L.RIGHT_HIP])
    if not seen or not np.isfinite(hips).all():
        return LandmarkFrame.no_person(ref.t_s, ref.image_size, ref.frame_index)
    levelled = world_to_levelled(np.nan_to_num(points_m - hips), rotation)
    offset = world_to_levelled(hips - camera_centre_m, rotation)
    height = float(hips @ calibration.up - calibration.floor_m)
    placement = Placement(np.array([offset[0], height, -offset[2]]), source="triangulated")
    errors = tri.reprojection_px[j]
    return LandmarkFrame(
        t_s=ref.t_s,
        world_xyz_m=levelled,
        image_xy=ref.image_xy if ref.person else seen[0].image_xy,
        visibility=np.where(np.isfinite(points_m).all(axis=-1), np.max([v.visibility for v in seen], axis=0), 0.0),
        presence=np.max([v.presence for v in seen], axis=0),
        image_size=ref.image_size,
        frame_index=ref.frame_index,
        flags={
            **ref.flags,
            "views": int(tri.views[j].max(initial=0)),
            "reprojection_px": float(np.nanmedian(errors)) if np.isfinite(errors).any() else float("nan"),
        },
        hands=ref.hands,
        face=ref.face,
        placement=placement,
    )
