"""Validation of ``bridge analyze`` on real video against a multi-view reference (Pose2Sim's calibrated demos).

For each view of a trial, the reference is triangulated (:func:`bridge.multiview.triangulate.triangulate`) from
the *other* views only, so no 2-D landmark of the analysed view enters its reference. The views are not
frame-aligned: :func:`frame_offsets` finds each view's offset to the first one as the shift that minimises the
triangulation's reprojection error. Reference points are low-passed like the analysis' landmarks (zero-phase
Butterworth at the analysis cutoff), and the reference angles use the same definitions
(:func:`bridge.analysis.angles.angles_from_points`, vertical = the calibration's up).

Per angle and view: mean absolute error, bias (monocular − reference) and the 95 % limits of agreement (Bland–
Altman: bias ± 1.96 SD of the differences) of the analysis' angles, of its 3-D angles and of its image-plane
angles; and the view angle (:func:`bridge.analysis.view.side_view_deg`) against the one the calibrated camera
and the reference body give.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridge.analysis.analyse import Analysis, analyse
from bridge.analysis.angles import ANGLE_NAMES, POINT_PARTS, SIDES, angles_from_points, joint_angles
from bridge.analysis.angles2d import image_plane_angles
from bridge.analysis.config import AnalysisConfig
from bridge.analysis.track import FloatArray, Track, lowpass_track
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame
from bridge.core.landmarks import PoseLandmark as L
from bridge.multiview.calibration import Calibration, read_calibration
from bridge.multiview.fuse import fuse
from bridge.multiview.triangulate import TriangulationConfig, triangulate
from bridge.testing.pose2sim_demo import VIEWS, Trial, track_view

#: Triangulation for the offset search: every point kept, so a worse offset cannot look better by losing points.
_SEARCH = TriangulationConfig(max_error_px=math.inf)

#: The estimates compared: what ``analyze`` reports (``auto``), always 3-D, always the image plane.
ESTIMATES = ("analyze", "3d", "image")


@dataclass(frozen=True, eq=False)
class TrialViews:
    """One trial's tracked views, frame-aligned.

    Attributes:
        trial: the trial.
        calibration: its cameras, scaled to the videos' sizes, in ``VIEWS`` order.
        frames: per view, the tracked frames (all of them).
        offsets: per view, the frame offset to the first view (frame k of view 0 shows what frame k + offset of
            view v shows).
        pixels: (F, V, 33, 2) aligned landmark pixels (NaN: not seen); weights: (F, V, 33) visibility.
        start: per view, the index of its frame at aligned frame 0.
    """

    trial: Trial
    calibration: Calibration
    frames: tuple[list[LandmarkFrame], ...]
    offsets: tuple[int, ...]
    pixels: FloatArray
    weights: FloatArray
    start: tuple[int, ...]


def _pixels(frames: Sequence[LandmarkFrame]) -> tuple[FloatArray, FloatArray]:
    """(T, 33, 2) pixels and (T, 33) visibility of frames (NaN / 0 where no person)."""
    px = np.full((len(frames), NUM_LANDMARKS, 2), np.nan)
    w = np.zeros((len(frames), NUM_LANDMARKS))
    for k, f in enumerate(frames):
        if f.person:
            px[k] = np.asarray(f.image_xy) * np.asarray(f.image_size, dtype=np.float64)
            w[k] = f.visibility
    return px, w


def _aligned(px: list[FloatArray], w: list[FloatArray], offsets: Sequence[int]) -> tuple[FloatArray, ...]:
    """Pixels and weights of every view on the common aligned frames, and each view's start index."""
    lo = max(0, *(-o for o in offsets))
    n = min(len(p) - o for p, o in zip(px, offsets, strict=True)) - lo
    start = tuple(lo + o for o in offsets)
    pixels = np.stack([p[s : s + n] for p, s in zip(px, start, strict=True)], axis=1)
    weights = np.stack([q[s : s + n] for q, s in zip(w, start, strict=True)], axis=1)
    return pixels, weights, np.array(start)


def _pair_error(calib: Calibration, px: list[FloatArray], w: list[FloatArray], i: int, off: int) -> float:
    c = Calibration((calib.cameras[0], calib.cameras[i]), calib.up, calib.floor_m)
    pixels, weights, _ = _aligned([px[0], px[i]], [w[0], w[i]], (0, off))
    err = triangulate(c, pixels, weights, _SEARCH).reprojection_px
    return float(np.nanmedian(err)) if np.isfinite(err).any() else math.inf


def frame_offsets(calib: Calibration, px: list[FloatArray], w: list[FloatArray], max_shift: int = 20) -> list[int]:
    """Per view, the frame offset to view 0 that minimises the two-view reprojection error (view 0: 0)."""
    out = [0]
    for i in range(1, len(px)):
        errors = {off: _pair_error(calib, px, w, i, off) for off in range(-max_shift, max_shift + 1)}
        out.append(min(errors, key=lambda k: errors[k]))
    return out


def load_trial(trial: Trial, cache_dir: Path | None = None, max_frames: int | None = None) -> TrialViews:
    """Track (or read from the cache) every view of ``trial`` (its first ``max_frames``), scale its calibration,
    align the views."""
    frames = tuple(track_view(v, cache_dir, max_frames) for v in trial.videos)
    calib = read_calibration(trial.calibration).select(VIEWS)
    sizes = [next(f.image_size for f in fr if f.person) for fr in frames]
    calib = Calibration(
        tuple(c.scaled(s) for c, s in zip(calib.cameras, sizes, strict=True)), calib.up, calib.floor_m
    )
    pw = [_pixels(fr) for fr in frames]
    px, w = [p for p, _ in pw], [q for _, q in pw]
    offsets = frame_offsets(calib, px, w)
    pixels, weights, start = _aligned(px, w, offsets)
    return TrialViews(trial, calib, frames, tuple(offsets), pixels, weights, tuple(int(s) for s in start))


def lowpass_points(points_m: FloatArray, t_s: FloatArray, cutoff_hz: float | None) -> FloatArray:
    """Reference points low-passed like the analysis' landmarks (through a :class:`Track`)."""
    n = len(t_s)
    filled = points_m.copy()
    for j in range(points_m.shape[1]):  # short gaps of one landmark: linear interpolation, so filtfilt can run
        for a in range(3):
            v = filled[:, j, a]
            ok = np.isfinite(v)
            if ok.sum() >= 2:
                filled[:, j, a] = np.interp(np.arange(n), np.flatnonzero(ok), v[ok])
    track = Track(
        t_s, np.arange(n), np.ones(n, dtype=bool), filled, np.zeros((n, NUM_LANDMARKS, 2)),
        np.ones((n, NUM_LANDMARKS)), (1, 1),
    )  # fmt: skip
    out = lowpass_track(track, cutoff_hz).world_xyz_m
    return np.asarray(np.where(np.isfinite(points_m), out, np.nan), dtype=np.float64)  # no invented points


@dataclass(frozen=True, eq=False)
class Reference:
    """The reference of one analysed view: triangulated from the other views.

    Attributes:
        view: the analysed view's index; t_s: (F,) seconds of the aligned frames.
        points_m: (F, 33, 3) reference landmarks, calibrated world, metres (low-passed).
        angles_deg: per angle name, (F,) degrees.
        side_view_deg: (F,) the true view angle: the calibrated camera's ray to the mid-hips against the reference
            body's frontal plane (as :func:`bridge.analysis.view.side_view_deg`).
    """

    view: int
    t_s: FloatArray
    points_m: FloatArray
    angles_deg: dict[str, FloatArray]
    side_view_deg: FloatArray


def reference_for(
    views: TrialViews, view: int, cutoff_hz: float | None = 6.0, others: Sequence[int] | None = None
) -> Reference:
    """The reference of ``view`` from ``others`` (default: every other view; module docstring)."""
    if others is None:
        others = [i for i in range(len(views.calibration.cameras)) if i != view]
    others = list(others)
    c = views.calibration
    calib = Calibration(tuple(c.cameras[i] for i in others), c.up, c.floor_m)
    tri = triangulate(calib, views.pixels[:, others], views.weights[:, others])
    own = views.frames[view]
    t_s = np.array([own[views.start[view] + k].t_s for k in range(views.pixels.shape[0])], dtype=np.float64)
    pts = lowpass_points(np.asarray(tri.points_world_m, dtype=np.float64), t_s, cutoff_hz)
    named = {f"{s}_{p}": pts[:, L[f"{s.upper()}_{p.upper()}"]] for s in SIDES for p in POINT_PARTS}
    angles = angles_from_points(named, up=np.asarray(c.up, dtype=np.float64))
    left = (pts[:, L.LEFT_HIP] - pts[:, L.RIGHT_HIP]) + (pts[:, L.LEFT_SHOULDER] - pts[:, L.RIGHT_SHOULDER])
    ray = 0.5 * (pts[:, L.LEFT_HIP] + pts[:, L.RIGHT_HIP]) - c.cameras[view].centre_m
    with np.errstate(invalid="ignore"):
        cos = np.abs(np.sum(left * ray, axis=1)) / (np.linalg.norm(left, axis=1) * np.linalg.norm(ray, axis=1))
    side = np.degrees(np.arcsin(np.clip(cos, 0.0, 1.0)))
    return Reference(view, t_s, pts, angles, side)


def aligned_frames(views: TrialViews, view: int) -> list[LandmarkFrame]:
    """The frames of one view on the aligned frames (frame k shows what aligned frame k of every view shows)."""
    n = views.pixels.shape[0]
    return list(views.frames[view][views.start[view] : views.start[view] + n])


def validate_multiview(
    views: TrialViews,
    analysed: Sequence[int],
    config: AnalysisConfig = AnalysisConfig(),  # noqa: B008 (frozen)
) -> tuple[Analysis, dict[str, Agreement]]:
    """``analyze`` of the views ``analysed`` fused by :func:`bridge.multiview.fuse.fuse` (what a several-view
    recording replays) against a reference triangulated from the remaining views."""
    c = views.calibration
    calib = Calibration(tuple(c.cameras[i] for i in analysed), c.up, c.floor_m)
    fused = fuse(calib, [aligned_frames(views, i) for i in analysed])
    analysis = analyse(fused.frames, config)
    others = [i for i in range(len(c.cameras)) if i not in analysed]
    ref = reference_for(views, analysed[0], config.cutoff_hz, others)
    return analysis, {n: agreement(analysis.angles[n], ref.angles_deg[n]) for n in ANGLE_NAMES}


@dataclass(frozen=True)
class Agreement:
    """Monocular against reference for one angle: degrees; ``n`` frames compared."""

    mae_deg: float
    bias_deg: float
    loa_low_deg: float
    loa_high_deg: float
    n: int


def agreement(estimate: FloatArray, reference: FloatArray) -> Agreement:
    """Mean absolute error, bias (estimate − reference) and Bland–Altman 95 % limits of agreement."""
    d = np.asarray(estimate, dtype=np.float64) - np.asarray(reference, dtype=np.float64)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return Agreement(math.nan, math.nan, math.nan, math.nan, int(d.size))
    bias, sd = float(d.mean()), float(d.std(ddof=1))
    return Agreement(float(np.abs(d).mean()), bias, bias - 1.96 * sd, bias + 1.96 * sd, int(d.size))


@dataclass(frozen=True, eq=False)
class ViewResult:
    """The validation of one view: its analysis, the reference, and per estimate and angle the agreement."""

    trial: str
    view: str
    analysis: Analysis
    reference: Reference
    estimates: dict[str, dict[str, FloatArray]]
    agreements: dict[str, dict[str, Agreement]]
    view_error_deg: float


def _estimates(analysis: Analysis, config: AnalysisConfig) -> dict[str, dict[str, FloatArray]]:
    track = analysis.track
    three_d = joint_angles(track, config)
    image = image_plane_angles(track.image_px, track.visibility, config.min_visibility)
    return {
        "analyze": {n: analysis.angles[n] for n in ANGLE_NAMES},
        "3d": {n: three_d[n] for n in ANGLE_NAMES},
        "image": {n: image.get(n, np.full(len(track), np.nan)) for n in ANGLE_NAMES},
    }


def validate_view(
    views: TrialViews,
    view: int,
    config: AnalysisConfig = AnalysisConfig(),  # noqa: B008 (frozen)
    frames: slice | None = None,
) -> ViewResult:
    """Analyse one view as ``bridge analyze`` does and compare it with its reference (``frames``: a subsample
    of the aligned frames to compare, default all)."""
    analysis = analyse(views.frames[view], config)
    ref = reference_for(views, view, config.cutoff_hz)
    n = len(ref.t_s)
    rows = np.arange(views.start[view], views.start[view] + n)
    pick = np.arange(n)[frames] if frames is not None else np.arange(n)
    est = {k: {a: v[rows][pick] for a, v in e.items()} for k, e in _estimates(analysis, config).items()}
    agreements = {k: {a: agreement(v, ref.angles_deg[a][pick]) for a, v in e.items()} for k, e in est.items()}
    view_deg = analysis.view.side_view_deg[rows][pick] if analysis.view else np.full(pick.size, np.nan)
    d = np.abs(view_deg - ref.side_view_deg[pick])
    return ViewResult(
        views.trial.name,
        VIEWS[view],
        analysis,
        ref,
        est,
        agreements,
        float(np.nanmean(d)) if np.isfinite(d).any() else math.nan,
    )
