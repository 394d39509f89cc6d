"""Measures of triangulated landmarks against a reference (for tests and benches of :mod:`bridge.multiview`).

Every array is (F, K, 3) points of the same K landmarks in the same frame (the calibrated world), metres; the
measures come out in millimetres (or as fractions).
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt

from bridge.core.landmarks import SWAP_LEFT_RIGHT, PoseLandmark

FloatArray = npt.NDArray[np.float64]

L = PoseLandmark
#: The 12 joints the measures use (shoulders, elbows, wrists, hips, knees, ankles).
JOINTS = np.array(
    [L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_ELBOW, L.RIGHT_ELBOW, L.LEFT_WRIST, L.RIGHT_WRIST, L.LEFT_HIP,
     L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE],
    dtype=np.intp,
)  # fmt: skip
#: The limb bones whose length should not change: upper and lower arms and legs, as pairs of landmarks.
LIMBS = (
    (L.LEFT_SHOULDER, L.LEFT_ELBOW), (L.LEFT_ELBOW, L.LEFT_WRIST), (L.RIGHT_SHOULDER, L.RIGHT_ELBOW),
    (L.RIGHT_ELBOW, L.RIGHT_WRIST), (L.LEFT_HIP, L.LEFT_KNEE), (L.LEFT_KNEE, L.LEFT_ANKLE),
    (L.RIGHT_HIP, L.RIGHT_KNEE), (L.RIGHT_KNEE, L.RIGHT_ANKLE),
)  # fmt: skip


def _valid(pred: FloatArray, ref: FloatArray) -> npt.NDArray[np.bool_]:
    """(F,) frames where every joint is finite in both."""
    return np.asarray(np.isfinite(pred[:, JOINTS]).all(axis=(1, 2)) & np.isfinite(ref[:, JOINTS]).all(axis=(1, 2)))


def similarity_aligned(pred: FloatArray, ref: FloatArray) -> FloatArray:
    """(K, 3) ``pred`` moved by the rotation, scale and translation that best fit it onto ``ref`` (Umeyama)."""
    mp, mr = pred.mean(axis=0), ref.mean(axis=0)
    p, r = pred - mp, ref - mr
    u, s, vt = np.linalg.svd(p.T @ r)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.diag([1.0, 1.0, d])
    rotation = (u @ fix @ vt).T
    scale = float(np.sum(s * np.diag(fix)) / np.sum(p * p))
    return np.asarray(scale * p @ rotation.T + mr)


def mpjpe_mm(pred: FloatArray, ref: FloatArray) -> float:
    """Mean joint distance without any alignment, mm (frames where both have every joint)."""
    ok = _valid(pred, ref)
    return float(1000 * np.linalg.norm(pred[ok][:, JOINTS] - ref[ok][:, JOINTS], axis=-1).mean())


def pa_mpjpe_mm(pred: FloatArray, ref: FloatArray) -> float:
    """Mean joint distance after a per-frame similarity (Procrustes) alignment, mm."""
    ok = np.flatnonzero(_valid(pred, ref))
    errs = [
        np.linalg.norm(similarity_aligned(pred[j, JOINTS], ref[j, JOINTS]) - ref[j, JOINTS], axis=-1) for j in ok
    ]
    return float(1000 * np.mean(errs))


def bone_length_variation_mm(points: FloatArray) -> float:
    """The limbs' length standard deviation over time, mean over the 8 limb bones, mm."""
    lengths = np.stack([np.linalg.norm(points[:, a] - points[:, b], axis=-1) for a, b in LIMBS], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(1000 * np.nanmean(np.nanstd(lengths, axis=0)))


def left_right_consistency(pred: FloatArray, ref: FloatArray) -> float:
    """Fraction of frames whose left/right labels agree with ``ref`` (closer unswapped than swapped)."""
    ok = _valid(pred, ref)
    as_is = np.linalg.norm(pred[ok][:, JOINTS] - ref[ok][:, JOINTS], axis=-1).mean(axis=1)
    swapped = np.linalg.norm(pred[ok][:, SWAP_LEFT_RIGHT][:, JOINTS] - ref[ok][:, JOINTS], axis=-1).mean(axis=1)
    return float(np.mean(as_is <= swapped)) if ok.any() else float("nan")
