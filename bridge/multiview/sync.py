"""Synchronisation of views that were not started together, from the person's motion.

Each view's motion signal is the mean vertical image speed of the body's landmarks (as Pose2Sim's: vertical
motion looks alike from every upright camera; in body heights per frame, so views near and far weigh alike);
the lag between two views is where their signals correlate best (Pearson over the overlap) or, with calibrated
cameras, where their two-view triangulation reprojects best (the sharper measure); the per-view offsets are the
least-squares fit to every pair's lag, weighted by how well the pair agrees, so they are the same whichever view
is the reference.

Offsets are in frames: frame ``j + offsets[v]`` of view ``v`` shows the instant of frame ``j`` of view 0.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError
from bridge.core.landmarks import LandmarkFrame, PoseLandmark
from bridge.multiview.calibration import Calibration
from bridge.multiview.triangulate import TriangulationConfig, triangulate

FloatArray = npt.NDArray[np.float64]

L = PoseLandmark
#: The landmarks whose motion is compared (the limbs and the torso, not the face).
MOTION_LANDMARKS = np.array(
    [L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_ELBOW, L.RIGHT_ELBOW, L.LEFT_WRIST, L.RIGHT_WRIST, L.LEFT_HIP,
     L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE],  # left, right, left, right, …
    dtype=np.intp,
)  # fmt: skip


@dataclass(frozen=True)
class SyncConfig:
    """Settings of the synchronisation.

    Attributes:
        max_lag: the largest offset looked for, frames.
        min_overlap: the fewest frames two views must share at a lag.
        smooth: frames of the moving average applied to the motion signals.
    """

    max_lag: int = 30
    min_overlap: int = 30
    smooth: int = 3


@dataclass(frozen=True, eq=False)
class SyncResult:
    """Estimated offsets.

    Attributes:
        offsets: (V,) int, frames, view 0's offset 0 (see the module docstring).
        lags: (V, V) the best lag of each pair (``lags[a, b]``: view b's frame ``j + lag`` matches a's ``j``).
        correlation: (V, V) the correlation at that lag (1 on the diagonal).
    """

    offsets: npt.NDArray[np.intp]
    lags: npt.NDArray[np.intp]
    correlation: FloatArray

    def relative_to(self, reference: int) -> npt.NDArray[np.intp]:
        """(V,) offsets with view ``reference`` at 0."""
        return np.asarray(self.offsets - self.offsets[reference], dtype=np.intp)


def motion_signal(image_xy: FloatArray, weights: FloatArray, smooth: int = 3) -> FloatArray:
    """(F, N, 2) image points (any unit) and (F, N) weights → (F,) vertical image speed in body heights per frame.

    The speeds are of features that a left/right swap of the 2-D model leaves alone (the sum and the absolute
    difference of the heights of each left/right pair), each clipped at 5× its median. NaN where the person was
    not seen in a frame or its predecessor.
    """
    y = np.asarray(image_xy, dtype=np.float64)[..., 1]
    w = np.asarray(weights, dtype=np.float64)
    left, right = MOTION_LANDMARKS[0::2], MOTION_LANDMARKS[1::2]
    features = np.concatenate([y[:, left] + y[:, right], np.abs(y[:, left] - y[:, right])], axis=1)
    seen = np.tile(np.minimum(w[:, left], w[:, right]) > 0.3, 2)
    height = np.nanmedian(np.ptp(np.where(seen[:, : len(left)], y[:, left], np.nan), axis=1))
    if not np.isfinite(height) or height <= 0:
        height = 1.0
    speed = np.abs(np.diff(features, axis=0)) / height  # (F-1, K)
    both = seen[1:] & seen[:-1]
    speed = np.where(both, speed, np.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cap = 5.0 * np.nanmedian(speed, axis=0)
        signal = np.nanmean(np.minimum(speed, np.nan_to_num(cap, nan=np.inf)), axis=1)
    signal = np.concatenate([[np.nan], signal])
    if smooth > 1:
        kernel = np.ones(smooth) / smooth
        filled = np.nan_to_num(signal, nan=float(np.nanmean(signal)) if np.isfinite(signal).any() else 0.0)
        signal = np.where(np.isfinite(signal), np.convolve(filled, kernel, mode="same"), np.nan)
    return signal


def best_lag(a: FloatArray, b: FloatArray, config: SyncConfig) -> tuple[int, float]:
    """The lag (frames) maximising the correlation of ``a[j]`` with ``b[j + lag]``, and that correlation."""
    best, best_r = 0, -np.inf
    for lag in range(-config.max_lag, config.max_lag + 1):
        start_a, start_b = max(0, -lag), max(0, lag)
        n = min(len(a) - start_a, len(b) - start_b)
        sa, sb = a[start_a : start_a + n], b[start_b : start_b + n]
        ok = np.isfinite(sa) & np.isfinite(sb)
        if ok.sum() < config.min_overlap:
            continue
        r = float(np.corrcoef(sa[ok], sb[ok])[0, 1])
        if np.isfinite(r) and r > best_r:
            best, best_r = lag, r
    return best, best_r


def _pairwise_offsets(
    v: int,
    measure: Callable[[int, int], tuple[int, float]],
    weight: Callable[[float], float],
    diagonal: float,
    min_overlap: int,
) -> SyncResult:
    """Every pair of the ``v`` views measured (``measure(a, b)`` → (lag, score)), then one set of offsets fitted
    to all pairs, each weighted by ``weight(score)``; ``diagonal`` fills the score matrix's diagonal."""
    lags = np.zeros((v, v), dtype=np.intp)
    scores = np.eye(v) * diagonal
    fits = []
    for a in range(v):
        for b in range(a + 1, v):
            lag, score = measure(a, b)
            if not np.isfinite(score):
                raise BridgeError(
                    f"views {a + 1} and {b + 1} share fewer than {min_overlap} frames with the person in "
                    "both; check that every view sees the person (or give longer clips)"
                )
            lags[a, b], lags[b, a] = lag, -lag
            scores[a, b] = scores[b, a] = score
            fits.append((a, b, float(lag), weight(score)))
    return SyncResult(_fit_offsets(v, fits), lags, scores)


def estimate_offsets(signals: Sequence[FloatArray], config: SyncConfig | None = None) -> SyncResult:
    """Per-view offsets from (F_v,) motion signals (:func:`motion_signal`), consistent across every pair."""
    cfg = config or SyncConfig()
    return _pairwise_offsets(
        len(signals), lambda a, b: best_lag(signals[a], signals[b], cfg), lambda r: max(r, 0.05), 1.0,
        cfg.min_overlap,
    )  # fmt: skip


def view_signals(views: Sequence[Sequence[LandmarkFrame]], smooth: int = 3) -> list[FloatArray]:
    """The motion signal of each view's LandmarkFrames (normalised image points; frames without a person NaN)."""
    out = []
    for frames in views:
        xy = np.stack([f.image_xy * np.asarray(f.image_size, dtype=np.float64) for f in frames])
        w = np.stack([f.visibility if f.person else np.zeros_like(f.visibility) for f in frames])
        out.append(motion_signal(xy, w, smooth))
    return out


def aligned_ranges(lengths: Sequence[int], offsets: Sequence[int]) -> list[range]:
    """Each view's frame range once aligned: the same instants, as long as every view allows."""
    base = min(offsets)
    starts = [int(o - base) for o in offsets]
    count = min(n - s for n, s in zip(lengths, starts, strict=True))
    if count <= 0:
        raise BridgeError("the views do not overlap in time once synchronised; give clips of the same take")
    return [range(s, s + count) for s in starts]


def apply_offsets(views: Sequence[Sequence[LandmarkFrame]], offsets: Sequence[int]) -> list[list[LandmarkFrame]]:
    """The views trimmed so that their j-th frames show the same instant."""
    ranges = aligned_ranges([len(v) for v in views], offsets)
    return [[frames[i] for i in r] for frames, r in zip(views, ranges, strict=True)]


def reprojection_lag(
    calibration: Calibration,
    pixels: Sequence[FloatArray],
    weights: Sequence[FloatArray],
    pair: tuple[int, int],
    config: SyncConfig,
) -> tuple[int, float]:
    """With calibrated cameras: the lag of view ``pair[1]`` against ``pair[0]`` whose two-view triangulation has
    the lowest median reprojection error (pixels), and that error. ``pixels[v]``: (F_v, N, 2); ``weights[v]``:
    (F_v, N)."""
    a, b = pair
    sub = Calibration((calibration.cameras[a], calibration.cameras[b]), calibration.up, calibration.floor_m)
    best, best_err = 0, np.inf
    for lag in range(-config.max_lag, config.max_lag + 1):
        start_a, start_b = max(0, -lag), max(0, lag)
        n = min(len(pixels[a]) - start_a, len(pixels[b]) - start_b)
        if n < config.min_overlap:
            continue
        px = np.stack([pixels[a][start_a : start_a + n], pixels[b][start_b : start_b + n]], axis=1)
        w = np.stack([weights[a][start_a : start_a + n], weights[b][start_b : start_b + n]], axis=1)
        err = triangulate(sub, px, w, TriangulationConfig(max_error_px=np.inf)).reprojection_px
        if np.isfinite(err).sum() < config.min_overlap:
            continue
        med = float(np.nanmedian(err))
        if med < best_err:
            best, best_err = lag, med
    return best, best_err


def estimate_offsets_calibrated(
    calibration: Calibration,
    pixels: Sequence[FloatArray],
    weights: Sequence[FloatArray],
    config: SyncConfig | None = None,
) -> SyncResult:
    """Per-view offsets from every pair's best reprojection lag (:func:`reprojection_lag`), fitted as one set.

    ``correlation`` holds each pair's median reprojection error (pixels) at its lag instead of a correlation.
    """
    cfg = config or SyncConfig()
    return _pairwise_offsets(
        len(pixels), lambda a, b: reprojection_lag(calibration, pixels, weights, (a, b), cfg),
        lambda err: 1.0 / max(err, 0.5), 0.0, cfg.min_overlap,
    )  # fmt: skip


def _fit_offsets(v: int, fits: Sequence[tuple[int, int, float, float]]) -> npt.NDArray[np.intp]:
    """(V,) integer offsets, view 0 at 0, fitting ``offset[b] - offset[a] = lag`` for each (a, b, lag, weight)."""
    if v < 2 or not fits:
        return np.zeros(v, dtype=np.intp)
    rows = np.zeros((len(fits) + 1, v))
    rhs = np.zeros(len(fits) + 1)
    for k, (a, b, lag, weight) in enumerate(fits):
        rows[k, a], rows[k, b], rhs[k] = -weight, weight, lag * weight
    rows[-1, 0] = 10.0
    offsets = np.rint(np.linalg.lstsq(rows, rhs, rcond=None)[0]).astype(np.intp)
    return np.asarray(offsets - offsets[0], dtype=np.intp)
