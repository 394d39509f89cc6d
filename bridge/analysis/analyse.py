"""Movement analysis: 3-D joint angles, squat repetitions and jumps, as pure functions on arrays.

Everything here works on the repaired and filtered landmarks (what :meth:`bridge.app.stream.Processor.landmarks`
returns), never on the 2-D image points for angles: angles come from ``world_xyz_m`` (MediaPipe world frame:
x right, y down, z away from the camera, hip-centred, metres) expressed in body-fixed frames built from the
pelvis and trunk landmarks, so they do not depend on where the camera stands. Only jump detection uses the
image track (see :func:`detect_jumps`: world landmarks are hip-centred and cannot see the body leave the floor).

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
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bridge.core.errors import BridgeError
from bridge.core.landmarks import NUM_LANDMARKS, LandmarkFrame
from bridge.core.landmarks import PoseLandmark as L

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Standard gravity, m/s², for flight-time jump heights.
G_M_S2 = 9.80665

SIDES = ("left", "right")

#: Angle column names in report order: (T,) degrees each, by the definitions in the module docstring.
ANGLE_NAMES: tuple[str, ...] = tuple(
    f"{side}_{joint}"
    for joint in (
        "knee_flexion",
        "hip_flexion",
        "ankle_dorsiflexion",
        "elbow_flexion",
        "shoulder_flexion",
        "shoulder_abduction",
    )
    for side in SIDES
) + ("trunk_forward_lean", "trunk_lateral_lean")

#: Point names :func:`angles_from_points` reads: ``left_/right_`` + these, and ``heel``/``foot_index``.
POINT_PARTS: tuple[str, ...] = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "foot_index")

#: MediaPipe world "up" (y points down), used for trunk lean: the camera's vertical.
MEDIAPIPE_UP = np.array([0.0, -1.0, 0.0])

#: Planar (projected) angles are NaN when the projected segment is shorter than sin(20°) of its length.
_MIN_PROJECTED = math.sin(math.radians(20.0))


@dataclass(frozen=True)
class AnalysisConfig:
    """Settings of the analysis.

    Attributes:
        min_visibility: landmarks below this visibility make the angles that use them NaN.
        cutoff_hz: zero-phase low-pass applied to the landmarks before anything else (:func:`lowpass_track`);
            None = none (when the frames were already filtered).
        squat_down_deg: mean knee flexion (degrees) a squat must reach to count (entering the "down" state).
        squat_up_deg: mean knee flexion the person must come back under to finish a repetition; the gap to
            ``squat_down_deg`` is the hysteresis that keeps noise near one threshold from adding reps.
        squat_onset_deg: a repetition starts (ends) where the knees leave (are back within) this many degrees of
            the standing posture's flexion, so time down and time up cover the whole movement.
        smooth_s: width of a centred moving average applied to the knee signal before counting, seconds; 0 (the
            default): none, the landmarks are low-passed already (``cutoff_hz``) and more would flatten depths.
        jump_on_m: the lowest foot point must rise this far above the floor level (metres) to start a flight.
        jump_off_m: ... and come back within this of a floor level to land (hysteresis with ``jump_on_m``).
        land_speed_m_s: a falling foot that slows below this vertical speed (m/s) after descending has landed
            (landings lower than the take-off, e.g. off a box).
        floor_window_s: window of the running floor estimate (a high percentile of the lowest foot point).
        floor_percentile: that percentile of the lowest foot point's image y (y grows downward).
        min_contact_s: the foot must have been on the floor this long before a take-off (so a track that
            starts or recovers in the air, or one noisy frame, does not make a take-off).
        min_flight_s, max_flight_s: flights outside this range are not jumps (a stumble; a lost track).
    """

    min_visibility: float = 0.3
    cutoff_hz: float | None = 6.0
    squat_down_deg: float = 70.0
    squat_up_deg: float = 35.0
    squat_onset_deg: float = 3.0
    smooth_s: float = 0.0
    jump_on_m: float = 0.05
    jump_off_m: float = 0.02
    land_speed_m_s: float = 0.3
    floor_window_s: float = 1.0
    floor_percentile: float = 75.0
    min_contact_s: float = 0.1
    min_flight_s: float = 0.1
    max_flight_s: float = 1.5

    def __post_init__(self) -> None:
        if not 0 <= self.min_visibility <= 1:
            raise BridgeError(f"min visibility must be between 0 and 1, got {self.min_visibility}")
        if not 0 <= self.squat_up_deg < self.squat_down_deg:
            raise BridgeError(
                f"squat thresholds: need 0 <= up ({self.squat_up_deg}) < down ({self.squat_down_deg}) degrees"
            )
        if not 0 < self.jump_off_m < self.jump_on_m:
            raise BridgeError(f"jump thresholds: need 0 < off ({self.jump_off_m}) < on ({self.jump_on_m}) metres")
        if not 0 < self.min_flight_s < self.max_flight_s:
            raise BridgeError("jump flight limits: need 0 < min_flight_s < max_flight_s")


# ------------------------------------------------------------------------------------------------ the track


@dataclass(frozen=True, eq=False)
class Track:
    """A clip's landmarks as arrays (no-person frames are NaN rows).

    Attributes:
        t_s: (T,) float, seconds.
        frame_index: (T,) int.
        person: (T,) bool.
        world_xyz_m: (T, 33, 3) float, MediaPipe world frame (x right, y down, z away), hip-centred, metres;
            NaN where no person.
        image_px: (T, 33, 2) float, image pixels (x right, y down); NaN where no person.
        visibility: (T, 33) float; 0 where no person.
        image_size: (width, height) pixels.
    """

    t_s: FloatArray
    frame_index: npt.NDArray[np.intp]
    person: BoolArray
    world_xyz_m: FloatArray
    image_px: FloatArray
    visibility: FloatArray
    image_size: tuple[int, int]

    def __len__(self) -> int:
        return int(self.t_s.shape[0])


def track_from_frames(frames: Sequence[LandmarkFrame]) -> Track:
    """Stack frames into a :class:`Track` (raises :class:`BridgeError` when there are none)."""
    if not frames:
        raise BridgeError("the input has no frames to analyse; check that the video or recording is not empty")
    n = len(frames)
    world = np.full((n, NUM_LANDMARKS, 3), np.nan)
    image = np.full((n, NUM_LANDMARKS, 2), np.nan)
    vis = np.zeros((n, NUM_LANDMARKS))
    person = np.zeros(n, dtype=bool)
    size = next((f.image_size for f in frames if f.image_size is not None), None) or (1, 1)
    for k, f in enumerate(frames):
        if f.person:
            person[k] = True
            world[k] = f.world_xyz_m
            w, h = f.image_size or size
            image[k] = np.asarray(f.image_xy) * np.array([w, h], dtype=np.float64)
            vis[k] = f.visibility
    return Track(
        t_s=np.array([f.t_s for f in frames], dtype=np.float64),
        frame_index=np.array([f.frame_index for f in frames], dtype=np.intp),
        person=person,
        world_xyz_m=world,
        image_px=image,
        visibility=vis,
        image_size=(int(size[0]), int(size[1])),
    )


def lowpass_track(track: Track, cutoff_hz: float | None) -> Track:
    """The track with world and image landmarks low-passed by a zero-phase Butterworth filter.

    Offline analysis can look ahead, so it uses the biomechanics standard (Winter): a 2nd-order Butterworth
    run forwards and backwards (``filtfilt``: 4th order, no lag) at ``cutoff_hz`` (6 Hz by default), on each
    continuous track separately (:func:`track_segments`). The live One-Euro filter lags 20–30 ms, which costs
    2–3° of angle in fast moves (measured on CMU mocap, see tests/test_analysis.py); this filter does not lag.
    Runs too short to filter (under 10 frames) and a cutoff at or above the Nyquist rate leave data as is.

    Args:
        cutoff_hz: None or 0 = no filtering.
    """
    if not cutoff_hz or len(track) < 2:
        return track
    from scipy.signal import butter, filtfilt

    dt = np.diff(track.t_s)
    dt = dt[dt > 0]
    if dt.size == 0:
        return track
    fs = 1.0 / float(np.median(dt))
    wn = cutoff_hz / (fs / 2.0)
    if not 0 < wn < 1:
        return track
    b, a = butter(2, wn)
    world = track.world_xyz_m.copy()
    image = track.image_px.copy()
    for start, stop in track_segments(track):
        if stop - start < 10:
            continue
        pad = min(3 * max(len(a), len(b)), stop - start - 1)
        world[start:stop] = filtfilt(b, a, world[start:stop], axis=0, padlen=pad)
        image[start:stop] = filtfilt(b, a, image[start:stop], axis=0, padlen=pad)
    return Track(track.t_s, track.frame_index, track.person, world, image, track.visibility, track.image_size)


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


# ------------------------------------------------------------------------------------------------ squats


def moving_average(t_s: FloatArray, values: FloatArray, width_s: float) -> FloatArray:
    """Centred moving average over ``width_s`` seconds, NaN-aware (NaN where the window has no value).

    Args:
        t_s: (T,) increasing seconds; values: (T,) float.
    """
    v = np.asarray(values, dtype=np.float64)
    if width_s <= 0 or v.size == 0:
        return v.copy()
    finite = np.isfinite(v)
    csum = np.concatenate([[0.0], np.cumsum(np.where(finite, v, 0.0))])
    ccount = np.concatenate([[0], np.cumsum(finite)])
    lo = np.searchsorted(t_s, t_s - width_s / 2.0, side="left")
    hi = np.searchsorted(t_s, t_s + width_s / 2.0, side="right")
    count = ccount[hi] - ccount[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (csum[hi] - csum[lo]) / np.maximum(count, 1), np.nan)


@dataclass(frozen=True)
class SquatRep:
    """One squat repetition.

    Attributes:
        start_s: when the knees started bending (left the standing posture).
        bottom_s: time of the deepest point.
        end_s: when the knees were back in the standing posture.
        depth_flexion_deg: the largest knee flexion (the less bent knee, smoothed).
        min_knee_angle_deg: the smallest hip–knee–ankle angle = 180 − depth_flexion_deg (the clinical "depth").
    """

    start_s: float
    bottom_s: float
    end_s: float
    depth_flexion_deg: float
    min_knee_angle_deg: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def descent_s(self) -> float:
        """Eccentric phase (going down), seconds: the tempo's first number."""
        return self.bottom_s - self.start_s

    @property
    def ascent_s(self) -> float:
        """Concentric phase (coming up), seconds."""
        return self.end_s - self.bottom_s


def knee_signal(angles: JointAngles, config: AnalysisConfig = AnalysisConfig()) -> FloatArray:
    """(T,) degrees: the smaller of left and right knee flexion (the one seen if only one is), smoothed.

    The smaller one, because a squat bends both knees: walking or a lunge bends one knee a lot at a time and
    must not count.
    """
    both = np.stack([angles["left_knee_flexion"], angles["right_knee_flexion"]], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows (person lost) stay NaN
        least = np.nanmin(both, axis=1)
    return moving_average(angles.t_s, least, config.smooth_s)


def count_squats(
    t_s: FloatArray, knee_flexion_deg: FloatArray, config: AnalysisConfig = AnalysisConfig()
) -> list[SquatRep]:
    """Squat repetitions in a knee-flexion signal, with hysteresis.

    A repetition goes "up" (flexion ≤ ``squat_up_deg``) → "down" (≥ ``squat_down_deg``) → "up" again. Noise
    that crosses one threshold back and forth changes nothing: only a full swing across both counts. Its start
    (end) is the last (first) frame within ``squat_onset_deg`` of the standing posture before (after) it. Frames
    with NaN (person lost) keep the state; a repetition whose bottom was never seen cannot be made up.

    Args:
        t_s: (T,) seconds; knee_flexion_deg: (T,) degrees (e.g. :func:`knee_signal`).
    """
    t = np.asarray(t_s, dtype=np.float64)
    k = np.asarray(knee_flexion_deg, dtype=np.float64)
    crossings: list[tuple[int, int, int]] = []  # (last "up" frame, bottom, first "up" frame again)
    state = "unknown"  # until the knees are first seen straight: a clip starting at the bottom is not a rep
    start_i = bottom_i = -1
    for i in range(k.size):
        v = k[i]
        if not np.isfinite(v):
            continue
        if state in ("unknown", "up"):
            if v <= config.squat_up_deg:
                state, start_i = "up", i
            elif v >= config.squat_down_deg and state == "up":
                state, bottom_i = "down", i
        elif state == "down":
            if v > k[bottom_i]:
                bottom_i = i
            if v <= config.squat_up_deg:
                crossings.append((start_i, bottom_i, i))
                state, start_i = "up", i
    # Start and end: where the knees leave and come back to the standing posture (within squat_onset_deg of the
    # least flexion between repetitions), not where they cross the "up" threshold, so the tempo is complete.
    reps: list[SquatRep] = []
    prev_end = 0
    for n, (up_i, bottom_i, back_i) in enumerate(crossings):
        next_start = crossings[n + 1][0] + 1 if n + 1 < len(crossings) else k.size
        before = k[prev_end : up_i + 1]
        base = float(np.nanmin(before))
        near = np.flatnonzero(before <= base + config.squat_onset_deg)
        start = prev_end + int(near[-1])
        after = k[back_i:next_start]
        base_after = float(np.nanmin(after))
        end = back_i + int(np.flatnonzero(after <= base_after + config.squat_onset_deg)[0])
        depth = float(k[bottom_i])
        reps.append(SquatRep(float(t[start]), float(t[bottom_i]), float(t[end]), depth, 180.0 - depth))
        prev_end = end
    return reps


# ------------------------------------------------------------------------------------------------ jumps


@dataclass(frozen=True)
class Jump:
    """One flight phase.

    Attributes:
        takeoff_s: last frame time with a foot on the floor before the flight.
        landing_s: first frame time with a foot back on a floor.
        peak_height_m: highest rise of the lowest foot point above its take-off level, metres (image track).
        drop_m: landing level below the take-off level, metres (≈ 0 for a jump in place; a box's height).
        hip_rise_m: highest rise of the mid-hip point above its take-off position during the flight, metres.
    """

    takeoff_s: float
    landing_s: float
    peak_height_m: float
    drop_m: float
    hip_rise_m: float

    @property
    def flight_s(self) -> float:
        return self.landing_s - self.takeoff_s

    @property
    def height_from_flight_m(self) -> float:
        """Jump height implied by the flight time for a landing at the take-off level: g·t²/8."""
        return G_M_S2 * self.flight_s**2 / 8.0


@dataclass(frozen=True, eq=False)
class FootTrack:
    """The image-track signals jump detection uses (for plots).

    Attributes:
        t_s: (T,) seconds.
        foot_height_m: (T,) lowest foot point's height above the running floor estimate, metres (NaN: unseen).
        m_per_px: (T,) metres per image pixel near the person (NaN: unseen).
    """

    t_s: FloatArray
    foot_height_m: FloatArray
    m_per_px: FloatArray


_FOOT_POINTS = (L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX, L.LEFT_ANKLE, L.RIGHT_ANKLE)
_SCALE_SEGMENTS = (
    (L.LEFT_HIP, L.LEFT_KNEE),
    (L.LEFT_KNEE, L.LEFT_ANKLE),
    (L.RIGHT_HIP, L.RIGHT_KNEE),
    (L.RIGHT_KNEE, L.RIGHT_ANKLE),
    (L.LEFT_SHOULDER, L.LEFT_HIP),
    (L.RIGHT_SHOULDER, L.RIGHT_HIP),
)


def _lowest_foot_y(track: Track) -> FloatArray:
    """(T,) image pixels: the largest image y (lowest point) of heels, foot indices and ankles; NaN if unseen."""
    y = track.image_px[:, list(_FOOT_POINTS), 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no-person rows stay NaN
        return np.asarray(np.nanmax(y, axis=1) if len(track) else np.zeros(0), dtype=np.float64)


def track_segments(track: Track) -> list[tuple[int, int]]:
    """[start, stop) index ranges of continuous person tracks: split at no-person frames and where the hips jump
    more than 15 % of the image's larger side in one frame (MediaPipe switching to someone else)."""
    hips = 0.5 * (track.image_px[:, L.LEFT_HIP] + track.image_px[:, L.RIGHT_HIP])
    jump_px = 0.15 * max(track.image_size)
    out, start = [], None
    for i in range(len(track)):
        if not track.person[i]:
            if start is not None:
                out.append((start, i))
            start = None
            continue
        if start is not None and np.linalg.norm(hips[i] - hips[i - 1]) > jump_px:
            out.append((start, i))
            start = None
        if start is None:
            start = i
    if start is not None:
        out.append((start, len(track)))
    return out


def foot_track(track: Track, config: AnalysisConfig = AnalysisConfig()) -> FootTrack:
    """Height of the lowest foot point above the floor, in metres, from the image track.

    * The lowest foot point: the largest image y among heels, foot indices and ankles.
    * Metres per pixel: the world length of the legs and trunk sides divided by their image length, median over
      each continuous segment of the track (parts toward the camera look short; the median of the ratio of
      sums is steady for a person facing or side-on to the camera). Needs a static camera.
    * Floor: the ``floor_percentile`` (75th) percentile of the lowest foot point's image y over
      ``floor_window_s`` centred on each frame (feet spend most time on the floor), so the floor follows a
      person walking in depth.
    """
    n = len(track)
    height = np.full(n, np.nan)
    scale = np.full(n, np.nan)
    low_y = _lowest_foot_y(track)
    for a, b in track_segments(track):
        world_len = sum(
            np.linalg.norm(track.world_xyz_m[a:b, i] - track.world_xyz_m[a:b, j], axis=-1)
            for i, j in _SCALE_SEGMENTS
        )
        px_len = sum(
            np.linalg.norm(track.image_px[a:b, i] - track.image_px[a:b, j], axis=-1) for i, j in _SCALE_SEGMENTS
        )
        ratio = np.asarray(world_len) / np.maximum(np.asarray(px_len), 1e-6)
        m_per_px = float(np.nanmedian(ratio)) if np.isfinite(ratio).any() else math.nan
        scale[a:b] = m_per_px
        t = track.t_s[a:b]
        y = low_y[a:b]
        for i in range(b - a):
            lo = np.searchsorted(t, t[i] - config.floor_window_s / 2.0, side="left")
            hi = np.searchsorted(t, t[i] + config.floor_window_s / 2.0, side="right")
            window = y[lo:hi]
            window = window[np.isfinite(window)]
            if window.size:
                height[a + i] = (np.percentile(window, config.floor_percentile) - y[i]) * m_per_px
    return FootTrack(track.t_s, height, scale)


def detect_jumps(track: Track, config: AnalysisConfig = AnalysisConfig()) -> tuple[list[Jump], FootTrack]:
    """Flight phases (take-off, landing, flight time) of the tracked person, from the image track.

    World landmarks are hip-centred: a body in the air looks the same as one on the floor, so the feet are
    followed in the image instead (:func:`foot_track`), scaled to metres by the person's apparent size.

    Take-off: the lowest foot point rises more than ``jump_on_m`` above the floor after at least
    ``min_contact_s`` on it; the take-off frame is the last one before that within ``jump_off_m`` of the floor
    (hysteresis: noise between the two thresholds never starts or ends a flight). Landing: the first frame
    after the peak where the foot is back within ``jump_off_m`` of the take-off level, or — for a landing on
    lower ground — has fallen at least ``jump_on_m`` and then stops (vertical speed under ``land_speed_m_s``).
    Flights shorter than ``min_flight_s`` or longer than ``max_flight_s``, broken by a lost track, or in which
    the hips do not rise at least ``jump_on_m`` above their take-off position (a body in flight rises as a
    whole; a noisy foot track during a walk does not lift the hips) are dropped.
    """
    ft = foot_track(track, config)
    low_y = _lowest_foot_y(track)
    hips_y = 0.5 * (track.image_px[:, L.LEFT_HIP, 1] + track.image_px[:, L.RIGHT_HIP, 1])
    jumps: list[Jump] = []
    t = track.t_s
    for a, b in track_segments(track):
        h = ft.foot_height_m[a:b]
        i = 1
        floor_from = 0  # a take-off is searched for after the previous landing only
        while i < b - a:
            if not (np.isfinite(h[i]) and h[i] > config.jump_on_m):
                i += 1
                continue
            # Take-off: walk back to the last frame on the floor.
            k = i
            while k > floor_from and not (np.isfinite(h[k - 1]) and h[k - 1] <= config.jump_off_m):
                k -= 1
            if k == floor_from:  # never seen on the floor before: not a take-off we can time
                i = _skip_flight(h, i, config)
                continue
            takeoff = k - 1
            c = takeoff
            while c > floor_from and np.isfinite(h[c - 1]) and h[c - 1] <= config.jump_off_m:
                c -= 1
            if t[a + takeoff] - t[a + c] < config.min_contact_s - 1e-9:
                i = _skip_flight(h, i, config)
                continue
            m_per_px = ft.m_per_px[a + takeoff]
            contact_frames = max(1, int(round(config.min_contact_s / max(float(np.median(np.diff(t))), 1e-6))))
            base_y = low_y[a + takeoff]
            rise = (base_y - low_y[a:b]) * m_per_px  # (segment,) metres above the take-off level
            peak = i
            landing = None
            j = i + 1
            while j < b - a:
                if rise[j] > rise[peak]:
                    peak = j
                falling = rise[peak] - rise[j]
                if rise[j] <= config.jump_off_m:
                    # Back at the take-off level: landed there, unless the foot keeps falling (off a box).
                    after = rise[j + 1 : j + 1 + contact_frames]
                    after = after[np.isfinite(after)]
                    if after.size == 0 or float(after.min()) > rise[j] - config.jump_on_m:
                        landing = j
                        break
                speed = abs(rise[j] - rise[j - 1]) / max(t[a + j] - t[a + j - 1], 1e-6)
                if j > peak and falling >= config.jump_on_m and speed < config.land_speed_m_s:
                    landing = j - 1  # it stopped between j-1 and j: on the ground at j-1
                    break
                j += 1
            if landing is None:
                break
            flight = t[a + landing] - t[a + takeoff]
            hip_y = hips_y[a + takeoff : a + landing + 1]
            hip_rise = float(np.nanmax(hip_y[0] - hip_y) * m_per_px) if np.isfinite(hip_y).any() else 0.0
            if config.min_flight_s <= flight <= config.max_flight_s and hip_rise >= config.jump_on_m:
                jumps.append(
                    Jump(
                        float(t[a + takeoff]),
                        float(t[a + landing]),
                        float(rise[peak]),
                        float(-rise[landing]),
                        hip_rise,
                    )
                )
            i = floor_from = landing
            # Wait for the foot to settle back on the floor estimate before the next take-off.
            while i < b - a and np.isfinite(h[i]) and h[i] > config.jump_off_m and rise[i] > config.jump_off_m:
                i += 1
    return jumps, ft


def _skip_flight(h: FloatArray, i: int, config: AnalysisConfig) -> int:
    while i < h.size and not (np.isfinite(h[i]) and h[i] <= config.jump_off_m):
        i += 1
    return i


# ------------------------------------------------------------------------------------------------ all of it


@dataclass(frozen=True, eq=False)
class Analysis:
    """Everything :func:`analyse` finds in one clip.

    Attributes:
        track: the low-passed landmarks.
        angles: per-frame joint angles; summary: their ranges of motion; symmetry: left vs right.
        knee_deg: (T,) degrees: the squat signal (:func:`knee_signal`) repetitions are counted on.
        squats, jumps: what was found; feet: the image-track signals of jump detection.
        config: the settings used.
    """

    track: Track
    angles: JointAngles
    summary: list[AngleSummary]
    symmetry: list[Symmetry]
    knee_deg: FloatArray
    squats: list[SquatRep]
    jumps: list[Jump]
    feet: FootTrack
    config: AnalysisConfig = field(default_factory=AnalysisConfig)


def analyse(frames: Sequence[LandmarkFrame], config: AnalysisConfig = AnalysisConfig()) -> Analysis:
    """Angles, summaries, squat repetitions and jumps of (flip-repaired) landmark frames, low-passed first."""
    track = lowpass_track(track_from_frames(frames), config.cutoff_hz)
    if not track.person.any():
        raise BridgeError("no person was found in any frame; check the input shows a whole person")
    angles = joint_angles(track, config)
    knee = knee_signal(angles, config)
    jumps, feet = detect_jumps(track, config)
    return Analysis(
        track=track,
        angles=angles,
        summary=summarise_angles(angles),
        symmetry=symmetry(angles),
        knee_deg=knee,
        squats=count_squats(angles.t_s, knee, config),
        jumps=jumps,
        feet=feet,
        config=config,
    )
