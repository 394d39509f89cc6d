"""Sagittal angles measured in the image plane (2-D), for clips filmed from the side.

From a side view the body's sagittal plane is (nearly) the image plane, so the sagittal joint angles can be read
off the 2-D image landmarks, which MediaPipe places far better than it guesses depth (Sports2D measures in 2-D
for that reason). :mod:`bridge.analysis.view` decides, per clip and per angle, whether these replace the 3-D
angles of :mod:`bridge.analysis.angles`.

Definitions (degrees, from ``image_px``: (T, 33, 2) image pixels, x right, y down), matching the 3-D ones:

* ``knee_flexion``, ``elbow_flexion``: 180° − the 2-D hip–knee–ankle (shoulder–elbow–wrist) angle; unsigned.
* ``ankle_dorsiflexion``: 90° − the 2-D angle between shank (ankle → knee) and foot (heel → foot index).
* ``hip_flexion`` / ``shoulder_flexion``: the thigh (hip → knee) / upper arm (shoulder → elbow) against the
  image trunk line (mid-shoulders → mid-hips = "down"), positive toward the way the person faces; in (−90, 270].
* ``trunk_forward_lean``: the trunk (mid-hips → mid-shoulders) against the image's vertical, positive toward the
  way the person faces (so the camera must be level, as for the 3-D lean).

The way the person faces in the image (:func:`facing_sign`) comes from the feet (heel → toes) and the face (ears
→ nose), as Sports2D does; the angles of frames where it cannot be told are NaN for the signed angles.
"""

from __future__ import annotations

import numpy as np

from bridge.analysis.angles import SIDES
from bridge.analysis.track import FloatArray
from bridge.core.landmarks import PoseLandmark as L

#: The angles (of :data:`~bridge.analysis.angles.TWO_SIDED`, per side, and the trunk's) this module measures.
IMAGE_PLANE_JOINTS: tuple[str, ...] = (
    "knee_flexion",
    "hip_flexion",
    "ankle_dorsiflexion",
    "elbow_flexion",
    "shoulder_flexion",
)
IMAGE_PLANE_ANGLES: tuple[str, ...] = tuple(f"{s}_{j}" for j in IMAGE_PLANE_JOINTS for s in SIDES) + (
    "trunk_forward_lean",
)


def _unit2(v: FloatArray) -> FloatArray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(n > 1e-9, v / n, np.nan), dtype=np.float64)


def _between2_deg(a: FloatArray, b: FloatArray) -> FloatArray:
    """(T,) unsigned angle between 2-D vectors, degrees."""
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    dot = np.sum(a * b, axis=-1)
    return np.asarray(np.degrees(np.arctan2(np.abs(cross), dot)), dtype=np.float64)


def _planar2_deg(v: FloatArray, forward: FloatArray, down: FloatArray) -> FloatArray:
    """Angle of ``v`` from ``down`` toward ``forward``, degrees in (−90, 270] (as the 3-D planar angles)."""
    deg = np.degrees(np.arctan2(np.sum(v * forward, axis=-1), np.sum(v * down, axis=-1)))
    return np.asarray(np.where(deg <= -90.0, deg + 360.0, deg), dtype=np.float64)


def facing_sign(
    image_px: FloatArray, visibility: FloatArray | None = None, min_visibility: float = 0.0
) -> FloatArray:
    """(T,) +1 where the person faces image right, −1 image left, NaN where it cannot be told (facing the camera
    or away: neither the feet nor the face point sideways by more than a fifth of their length).

    Args:
        image_px: (T, 33, 2) image pixels.
    """
    xy = np.array(image_px, dtype=np.float64, copy=True)
    if visibility is not None:
        xy[np.asarray(visibility) < min_visibility] = np.nan
    votes = []
    for side in SIDES:
        foot = xy[:, L[f"{side.upper()}_FOOT_INDEX"]] - xy[:, L[f"{side.upper()}_HEEL"]]
        votes.append(foot[:, 0] / np.linalg.norm(foot, axis=-1))
    ears = 0.5 * (xy[:, L.LEFT_EAR] + xy[:, L.RIGHT_EAR])
    face = xy[:, L.NOSE] - ears
    shoulders = np.linalg.norm(xy[:, L.LEFT_SHOULDER] - xy[:, L.RIGHT_SHOULDER], axis=-1)
    torso = np.linalg.norm(
        0.5 * (xy[:, L.LEFT_SHOULDER] + xy[:, L.RIGHT_SHOULDER]) - 0.5 * (xy[:, L.LEFT_HIP] + xy[:, L.RIGHT_HIP]),
        axis=-1,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        votes.append(np.clip(face[:, 0] / (0.1 * np.maximum(torso, shoulders)), -1.0, 1.0))
        stacked = np.stack(votes, axis=1)
        finite = np.isfinite(stacked)
        vote = np.where(finite, stacked, 0.0).sum(axis=1) / finite.sum(axis=1)  # NaN where no vote
    out = np.where(vote > 0.2, 1.0, np.where(vote < -0.2, -1.0, np.nan))
    return np.asarray(out, dtype=np.float64)


def image_plane_angles(
    image_px: FloatArray, visibility: FloatArray | None = None, min_visibility: float = 0.0
) -> dict[str, FloatArray]:
    """Every angle of :data:`IMAGE_PLANE_ANGLES`, (T,) degrees, measured in the image (module docstring).

    Args:
        image_px: (T, 33, 2) float image pixels (x right, y down); NaN propagates.
        visibility: (T, 33) or None; landmarks below ``min_visibility`` make the angles that use them NaN.
    """
    xy = np.array(image_px, dtype=np.float64, copy=True)
    if visibility is not None:
        xy[np.asarray(visibility) < min_visibility] = np.nan
    with np.errstate(invalid="ignore"):
        sign = facing_sign(image_px, visibility, min_visibility)
    mid_hip = 0.5 * (xy[:, L.LEFT_HIP] + xy[:, L.RIGHT_HIP])
    mid_sh = 0.5 * (xy[:, L.LEFT_SHOULDER] + xy[:, L.RIGHT_SHOULDER])
    down = _unit2(mid_hip - mid_sh)
    perp = np.stack([-down[:, 1], down[:, 0]], axis=1)  # down turned 90°; flipped toward the facing below
    forward = np.where((perp[:, :1] * sign[:, None]) >= 0.0, perp, -perp) * np.abs(sign)[:, None]
    out: dict[str, FloatArray] = {}
    for side in SIDES:

        def p(part: str, side: str = side) -> FloatArray:
            return xy[:, L[f"{side.upper()}_{part.upper()}"]]

        out[f"{side}_knee_flexion"] = _between2_deg(p("knee") - p("hip"), p("ankle") - p("knee"))
        out[f"{side}_elbow_flexion"] = _between2_deg(p("elbow") - p("shoulder"), p("wrist") - p("elbow"))
        out[f"{side}_ankle_dorsiflexion"] = 90.0 - _between2_deg(
            p("knee") - p("ankle"), p("foot_index") - p("heel")
        )
        out[f"{side}_hip_flexion"] = _planar2_deg(p("knee") - p("hip"), forward, down)
        out[f"{side}_shoulder_flexion"] = _planar2_deg(p("elbow") - p("shoulder"), forward, down)
    trunk = mid_sh - mid_hip
    out["trunk_forward_lean"] = np.degrees(np.arctan2(sign * trunk[:, 0], -trunk[:, 1]))
    return {name: np.asarray(out[name], dtype=np.float64) for name in IMAGE_PLANE_ANGLES}
