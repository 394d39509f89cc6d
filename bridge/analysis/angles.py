"""3-D joint angles in body-fixed frames, their ranges of motion and left/right symmetry.

Angles come from ``world_xyz_m`` (MediaPipe world frame: x right, y down, z away from the camera,
hip-centred, metres) expressed in body-fixed frames built from the pelvis and trunk landmarks, so they do not
depend on where the camera stands.

Angle definitions (degrees; "L/R" = both sides; the README section "Movement analysis" has the same table):

* Pelvis frame: ``left`` = unit(LEFT_HIP − RIGHT_HIP); ``up`` = the trunk vector (mid-shoulders − mid-hips)
  made perpendicular to ``left``; ``forward`` = left × up. Trunk frame: the same with the shoulder line.
* ``knee_flexion``: 180° − the hip–knee–ankle angle (0 straight, positive bent).
* ``elbow_flexion``: 180° − the shoulder–elbow–wrist angle.
* ``hip_flexion``: thigh (hip → knee) in the pelvis frame's sagittal plane: atan2(thigh·forward, −thigh·up);
  0 standing, positive thigh forward, negative extension (thigh behind the trunk line).
* ``shoulder_flexion``: upper arm (shoulder → elbow) in the trunk frame's sagittal plane, as for the hip: 0 arm
  hanging, 90 forward horizontal, 180 overhead, negative extension behind.
* ``shoulder_abduction``: upper arm in the trunk frame's frontal plane: atan2(arm·outward, −arm·up) with
  outward = +left for the left arm, −left for the right; 0 hanging, 90 sideways horizontal, negative adduction
  across the body. A planar projection: undefined (NaN) when the arm lies within 20° of the plane's normal
  (the sagittal angle of an arm pointing straight sideways, the frontal angle of one pointing straight forward).
* ``ankle_dorsiflexion``: 90° − the angle between the shank (ankle → knee) and the foot (heel → foot index);
  0 with the sole at right angles to the shank, positive toes toward the shin, negative plantar flexion.
* ``trunk_forward_lean`` / ``trunk_lateral_lean``: the trunk vector against the camera's vertical (−y, so the
  camera must be level), split into the heading plane (forward from the hip and shoulder lines, positive
  leaning forward) and the frontal plane (positive leaning to the subject's right).

A value is NaN where the person is not tracked or one of its landmarks' visibility is below
:attr:`AnalysisConfig.min_visibility`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bridge.analysis.config import AnalysisConfig
from bridge.analysis.track import FloatArray, Track
from bridge.core.landmarks import PoseLandmark as L

SIDES = ("left", "right")

#: Joints measured on both sides, in report order.
TWO_SIDED: tuple[str, ...] = (
    "knee_flexion",
    "hip_flexion",
    "ankle_dorsiflexion",
    "elbow_flexion",
    "shoulder_flexion",
    "shoulder_abduction",
)
#: Angle column names in report order: (T,) degrees each, by the definitions in the module docstring.
ANGLE_NAMES: tuple[str, ...] = tuple(f"{side}_{joint}" for joint in TWO_SIDED for side in SIDES) + (
    "trunk_forward_lean",
    "trunk_lateral_lean",
)

#: Point names :func:`angles_from_points` reads: ``left_/right_`` + these, and ``heel``/``foot_index``.
POINT_PARTS: tuple[str, ...] = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "foot_index")

#: MediaPipe world "up" (y points down), used for trunk lean: the camera's vertical.
MEDIAPIPE_UP = np.array([0.0, -1.0, 0.0])

#: Planar (projected) angles are NaN when the projected segment is shorter than sin(20°) of its length.
_MIN_PROJECTED = math.sin(math.radians(20.0))


# ------------------------------------------------------------------------------------------------ points


def points_from_landmarks(
    world_xyz_m: FloatArray, visibility: FloatArray | None = None, min_visibility: float = 0.0
) -> dict[str, FloatArray]:
    """The named points :func:`angles_from_points` reads, from landmarks.

    Args:
        world_xyz_m: (T, 33, 3) float, MediaPipe world frame, metres.
        visibility: (T, 33) float or None; points below ``min_visibility`` become NaN.

    Returns:
        ``{"left_knee": (T, 3), ...}`` for every side and :data:`POINT_PARTS` entry (same frame and unit).
    """
    xyz = np.array(world_xyz_m, dtype=np.float64, copy=True)
    if visibility is not None:
        xyz[np.asarray(visibility) < min_visibility] = np.nan
    return {
        f"{side}_{part}": xyz[:, L[f"{side.upper()}_{part.upper()}"]] for side in SIDES for part in POINT_PARTS
    }


# ------------------------------------------------------------------------------------------------ geometry


def _unit(v: FloatArray) -> FloatArray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(n > 1e-9, v / n, np.nan), dtype=np.float64)


def _dot(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.asarray(np.sum(a * b, axis=-1), dtype=np.float64)


def _between_deg(a: FloatArray, b: FloatArray) -> FloatArray:
    """(T,) angle between vectors a and b, degrees (NaN if either is NaN or zero)."""
    ua, ub = _unit(a), _unit(b)  # atan2 of |a×b| and a·b: accurate near 0° and 180°, unlike arccos
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(ua, ub), axis=-1), _dot(ua, ub)))


def body_axes(left_point: FloatArray, right_point: FloatArray, up_vector: FloatArray) -> tuple[FloatArray, ...]:
    """Body-fixed axes from a left/right landmark pair and an up-ish vector: (left, up, forward), (T, 3) each.

    ``left`` points from the right landmark to the left one, ``up`` is ``up_vector`` made perpendicular to it
    and ``forward = left × up`` (right-handed in MediaPipe's right-handed world frame).
    """
    left = _unit(left_point - right_point)
    up = _unit(up_vector - _dot(up_vector, left)[:, None] * left)
    forward = np.cross(left, up)
    return left, up, forward


def _planar_deg(v: FloatArray, toward: FloatArray, down: FloatArray) -> FloatArray:
    """Angle of ``v`` from ``down`` toward ``toward`` in their plane, degrees in (-90, 270]; NaN when ``v`` is
    far off the plane. The range puts the cut behind-and-up, where joints do not go, so an arm raised overhead
    reads 170…190° rather than jumping between +180° and -180°."""
    a, b = _dot(v, toward), _dot(v, down)
    length = np.linalg.norm(v, axis=-1)
    with np.errstate(invalid="ignore"):
        ok = np.hypot(a, b) >= _MIN_PROJECTED * length
    deg = np.degrees(np.arctan2(a, b))
    deg = np.where(deg <= -90.0, deg + 360.0, deg)  # range (-90, 270]: overhead stays near 180, never wraps
    return np.where(ok, deg, np.nan)


def angles_from_points(points: Mapping[str, FloatArray], up: FloatArray = MEDIAPIPE_UP) -> dict[str, FloatArray]:
    """Every angle of :data:`ANGLE_NAMES`, (T,) degrees, from named points (definitions: module docstring).

    Args:
        points: ``left_/right_`` + :data:`POINT_PARTS` → (T, 3) float positions in one right-handed frame,
            metres (the MediaPipe world frame, or mocap ground-truth joints in it). NaN propagates.
        up: (3,) the frame's vertical for trunk lean (MediaPipe world: (0, -1, 0)).
    """
    P = {k: np.asarray(v, dtype=np.float64) for k, v in points.items()}
    mid_hip = 0.5 * (P["left_hip"] + P["right_hip"])
    mid_sh = 0.5 * (P["left_shoulder"] + P["right_shoulder"])
    trunk = mid_sh - mid_hip
    p_left, p_up, p_fwd = body_axes(P["left_hip"], P["right_hip"], trunk)
    t_left, t_up, t_fwd = body_axes(P["left_shoulder"], P["right_shoulder"], trunk)
    out: dict[str, FloatArray] = {}
    for side in SIDES:
        sign = 1.0 if side == "left" else -1.0

        def p(part: str, side: str = side) -> FloatArray:
            return P[f"{side}_{part}"]

        out[f"{side}_knee_flexion"] = _between_deg(p("knee") - p("hip"), p("ankle") - p("knee"))
        out[f"{side}_elbow_flexion"] = _between_deg(p("elbow") - p("shoulder"), p("wrist") - p("elbow"))
        out[f"{side}_hip_flexion"] = _planar_deg(p("knee") - p("hip"), p_fwd, -p_up)
        arm = p("elbow") - p("shoulder")
        out[f"{side}_shoulder_flexion"] = _planar_deg(arm, t_fwd, -t_up)
        out[f"{side}_shoulder_abduction"] = _planar_deg(arm, sign * t_left, -t_up)
        out[f"{side}_ankle_dorsiflexion"] = 90.0 - _between_deg(
            p("knee") - p("ankle"), p("foot_index") - p("heel")
        )
    up_w = _unit(np.asarray(up, dtype=np.float64)[None, :])[0]
    left_raw = (P["left_hip"] - P["right_hip"]) + (P["left_shoulder"] - P["right_shoulder"])
    left_h = _unit(left_raw - _dot(left_raw, up_w)[:, None] * up_w)
    fwd_h = np.cross(left_h, up_w)
    vertical = _dot(trunk, up_w)
    out["trunk_forward_lean"] = np.degrees(np.arctan2(_dot(trunk, fwd_h), vertical))
    out["trunk_lateral_lean"] = np.degrees(np.arctan2(_dot(trunk, -left_h), vertical))
    return {name: out[name] for name in ANGLE_NAMES}


@dataclass(frozen=True, eq=False)
class JointAngles:
    """Per-frame joint angles of a clip.

    Attributes:
        t_s: (T,) float, seconds.
        frame_index: (T,) int.
        names: column names (:data:`ANGLE_NAMES`).
        values_deg: (T, K) float, degrees by the module's definitions; NaN where undefined or not seen.
    """

    t_s: FloatArray
    frame_index: npt.NDArray[np.intp]
    names: tuple[str, ...]
    values_deg: FloatArray

    def __getitem__(self, name: str) -> FloatArray:
        return np.asarray(self.values_deg[:, self.names.index(name)])


def joint_angles(track: Track, config: AnalysisConfig = AnalysisConfig()) -> JointAngles:
    """The 3-D joint angles of every frame of ``track`` (from its world landmarks only)."""
    points = points_from_landmarks(track.world_xyz_m, track.visibility, config.min_visibility)
    angles = angles_from_points(points)
    values = np.stack([angles[n] for n in ANGLE_NAMES], axis=1)
    return JointAngles(track.t_s, track.frame_index, ANGLE_NAMES, values)


# ------------------------------------------------------------------------------------------------ summaries


@dataclass(frozen=True)
class AngleSummary:
    """Range of motion of one angle over a clip, degrees (NaN if never seen); ``seen`` = share of frames."""

    name: str
    min_deg: float
    max_deg: float
    mean_deg: float
    seen: float

    @property
    def rom_deg(self) -> float:
        """Range of motion: max − min."""
        return self.max_deg - self.min_deg


def summarise_angles(angles: JointAngles) -> list[AngleSummary]:
    """Min, max, mean and range of motion of each angle (robust: 2nd and 98th percentiles for min and max)."""
    out = []
    for k, name in enumerate(angles.names):
        v = angles.values_deg[:, k]
        v = v[np.isfinite(v)]
        if v.size == 0:
            out.append(AngleSummary(name, math.nan, math.nan, math.nan, 0.0))
            continue
        lo, hi = np.percentile(v, [2.0, 98.0])
        out.append(AngleSummary(name, float(lo), float(hi), float(v.mean()), v.size / angles.values_deg.shape[0]))
    return out


@dataclass(frozen=True)
class Symmetry:
    """Left/right comparison of one joint angle.

    Attributes:
        joint: e.g. ``knee_flexion``.
        rom_left_deg, rom_right_deg: ranges of motion.
        rom_index_percent: 100·(left − right)/mean(left, right) of the ranges of motion (0 = symmetric).
        mean_abs_diff_deg: mean |left − right| over frames where both are seen.
    """

    joint: str
    rom_left_deg: float
    rom_right_deg: float
    rom_index_percent: float
    mean_abs_diff_deg: float


def symmetry(angles: JointAngles) -> list[Symmetry]:
    """Left/right symmetry of every two-sided angle."""
    summaries = {s.name: s for s in summarise_angles(angles)}
    out = []
    for name in angles.names:
        if not name.startswith("left_"):
            continue
        joint = name[len("left_") :]
        rl, rr = summaries[name].rom_deg, summaries[f"right_{joint}"].rom_deg
        mean_rom = 0.5 * (rl + rr)
        index = 100.0 * (rl - rr) / mean_rom if mean_rom > 1e-9 else math.nan
        d = np.abs(angles[name] - angles[f"right_{joint}"])
        d = d[np.isfinite(d)]
        out.append(Symmetry(joint, rl, rr, index, float(d.mean()) if d.size else math.nan))
    return out
