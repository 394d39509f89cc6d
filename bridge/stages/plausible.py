"""Plausible legs: a knee bends the way the pelvis faces, a foot points forward.

MediaPipe guesses each landmark's depth; for a nearly straight leg seen from the front the knee's depth is
ambiguous, and on real video it sometimes picks the wrong side: the knee then bends *backwards* (100–166° away
from the pelvis' forward direction) and the solver, which follows the landmarks, turns the whole leg round so
the foot points backwards. A knee bent against its joint is impossible, so :func:`plausible_legs` replaces it
by its **depth-mirrored twin** (the same image position, the depth of its offset from the hip–ankle line
reversed: exactly what the camera cannot tell apart) when that one is plausible, else by the previous plausible
bend direction. A foot pointing backwards is depth-mirrored about its ankle the same way.

Every array here is MediaPipe's world frame (x right, y down, z away, hip-centred), metres; ``xyz`` is (33, 3).
The same tests on the solved rig (:func:`knee_against_pelvis_deg`) measure the outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.core.landmarks import PoseLandmark as L
from bridge.core.rotations import cross, norm

FloatArray = npt.NDArray[np.float64]

#: (hip, knee, ankle, heel, toe) of each leg, left then right.
LEGS = (
    (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE, L.LEFT_HEEL, L.LEFT_FOOT_INDEX),
    (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE, L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX),
)


@dataclass(frozen=True)
class PlausibleConfig:
    """What counts as a knee bent against its joint.

    Attributes:
        min_flexion_deg: a knee bent less than this is straight: its bend direction is not checked.
        knee_max_deg: largest angle between a knee's bend direction and the pelvis' forward direction (hip
            rotation turns a knee up to ~45° in, ~60° out; sitting cross-legged about 90°).
        foot_max_deg: largest angle between a foot's direction (heel → toe) and the pelvis' forward direction.
    """

    min_flexion_deg: float = 15.0
    knee_max_deg: float = 90.0
    foot_max_deg: float = 120.0


def _unit(v: FloatArray) -> FloatArray:
    n = norm(np.asarray(v, dtype=np.float64))[..., None]  # (not np.linalg.norm: its wrapper costs more here)
    return np.asarray(v / np.where(n > 1e-12, n, 1.0), dtype=np.float64)


def pelvis_forward(left_hip: FloatArray, right_hip: FloatArray, up: FloatArray) -> FloatArray:
    """(..., 3) unit forward direction of a pelvis: across the hips (right → left) × the trunk's up. The same in
    MediaPipe's world frame and the rig frame (a half turn about x apart)."""
    across = np.asarray(left_hip, dtype=np.float64) - np.asarray(right_hip, dtype=np.float64)
    return _unit(cross(across, np.asarray(up, dtype=np.float64)))


def knee_bend(hip: FloatArray, knee: FloatArray, ankle: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """A knee's (..., 3) offset from the hip–ankle line, (..., 3) the line's foot point, (...) flexion, degrees."""
    line = _unit(ankle - hip)
    foot = hip + np.sum((knee - hip) * line, axis=-1, keepdims=True) * line
    a, b = _unit(knee - hip), _unit(ankle - knee)
    flexion = np.degrees(np.arccos(np.clip(np.sum(a * b, axis=-1), -1.0, 1.0)))
    return knee - foot, foot, flexion


def knee_against_pelvis_deg(
    hip: FloatArray, knee: FloatArray, ankle: FloatArray, forward: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """(...) angle between the knee's bend direction and ``forward`` (degrees), and the knee's flexion."""
    offset, _, flexion = knee_bend(hip, knee, ankle)
    cos = np.sum(_unit(offset) * _unit(forward), axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))), flexion


def _body_forward(xyz: FloatArray) -> FloatArray:
    up = 0.5 * (xyz[L.LEFT_SHOULDER] + xyz[L.RIGHT_SHOULDER]) - 0.5 * (xyz[L.LEFT_HIP] + xyz[L.RIGHT_HIP])
    return pelvis_forward(xyz[L.LEFT_HIP], xyz[L.RIGHT_HIP], up)


def _depth_mirror(point: FloatArray, about: FloatArray) -> FloatArray:
    """``point`` with the depth (z) of its offset from ``about`` reversed."""
    out = np.array(point, dtype=np.float64, copy=True)
    out[..., 2] = 2.0 * about[..., 2] - point[..., 2]
    return out


def _norm(v: FloatArray) -> float:
    return math.sqrt(float(v @ v))


def _check(
    hip: FloatArray, knee: FloatArray, ankle: FloatArray, fwd: FloatArray, config: PlausibleConfig
) -> tuple[bool, FloatArray, FloatArray, float]:
    """One knee (per frame, so scalar maths): (plausible, offset from the hip–ankle line, the line's foot point,
    flexion in degrees)."""
    line = ankle - hip
    line = line / max(_norm(line), 1e-12)
    foot = hip + float((knee - hip) @ line) * line
    offset = knee - foot
    a, b = knee - hip, ankle - knee
    cos_flex = float(a @ b) / max(_norm(a) * _norm(b), 1e-12)
    flexion = math.degrees(math.acos(min(1.0, max(-1.0, cos_flex))))
    if flexion < config.min_flexion_deg:
        return True, offset, foot, flexion
    cos = float(offset @ fwd) / max(_norm(offset), 1e-12)
    return cos >= math.cos(math.radians(config.knee_max_deg)), offset, foot, flexion


#: :func:`plausible_legs`' verdict on a leg: left as it was, replaced by a plausible alternative, or impossible
#: with no plausible alternative (the caller should not let it drive bones: the solver then holds the last one).
LEG_OK, LEG_FIXED, LEG_IMPOSSIBLE = 0, 1, 2


def plausible_legs(
    xyz: FloatArray, previous_bend: FloatArray | None = None, config: PlausibleConfig = PlausibleConfig()
) -> tuple[FloatArray, FloatArray, tuple[int, int]]:
    """Legs made plausible (see the module docstring).

    Args:
        xyz: (33, 3) world landmarks.
        previous_bend: (2, 3) each knee's last plausible bend direction (unit, world frame), NaN rows unknown.

    Returns:
        (33, 3) landmarks with impossible knees and feet replaced; (2, 3) each knee's plausible bend direction now
        (NaN while straight and unknown); each leg's verdict (``LEG_OK``, ``LEG_FIXED``, ``LEG_IMPOSSIBLE``).
    """
    out = np.array(xyz, dtype=np.float64, copy=True)
    fwd = _body_forward(out)
    bends = np.full((2, 3), np.nan) if previous_bend is None else np.array(previous_bend, dtype=np.float64)
    fixed = [LEG_OK, LEG_OK]
    cos_foot = math.cos(math.radians(config.foot_max_deg))
    for side, (hip, knee, ankle, heel, toe) in enumerate(LEGS):
        ok, offset, foot, flexion = _check(out[hip], out[knee], out[ankle], fwd, config)
        if not ok:
            candidates = [_depth_mirror(out[knee], foot)]
            if np.isfinite(bends[side]).all():
                line = _unit(out[ankle] - out[hip])
                d = bends[side] - float(bends[side] @ line) * line
                candidates.append(foot + _unit(d) * _norm(offset))
            fixed[side] = LEG_IMPOSSIBLE
            for candidate in candidates:
                ok, new_offset, _, flexion = _check(out[hip], candidate, out[ankle], fwd, config)
                if ok:
                    out[knee], offset, fixed[side] = candidate, new_offset, LEG_FIXED
                    break
        if ok and flexion >= config.min_flexion_deg:
            bends[side] = offset / max(_norm(offset), 1e-12)
        foot_dir = out[toe] - out[heel]
        if float(foot_dir @ fwd) < cos_foot * _norm(foot_dir):
            out[heel] = _depth_mirror(out[heel], out[ankle])
            out[toe] = _depth_mirror(out[toe], out[ankle])
            fixed[side] = max(fixed[side], LEG_FIXED)
    return out, bends, (fixed[0], fixed[1])
