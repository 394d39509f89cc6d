"""Events in the signals: squat repetitions in the knee flexion (with hysteresis) and jumps (flight phases)
in the image track."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from bridge.analysis.angles import JointAngles
from bridge.analysis.config import AnalysisConfig
from bridge.analysis.track import FloatArray, Track, track_segments
from bridge.core.landmarks import PoseLandmark as L

#: Standard gravity, m/s², for flight-time jump heights.
G_M_S2 = 9.80665


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


@dataclass(frozen=True)
class Swing:
    """One excursion of a signal from its rest side across an active threshold and back (frame indices).

    Attributes:
        start: last frame within ``onset_deg`` of the rest posture before the excursion.
        extreme: the frame farthest toward the active side (the first one, if several are equal).
        end: first frame back within ``onset_deg`` of the rest posture; the last frame seen when the clip
            ends before the signal comes back (``returned`` False).
        returned: the signal came back across the rest threshold.
    """

    start: int
    extreme: int
    end: int
    returned: bool


def hysteresis_swings(values: FloatArray, rest: float, active: float, onset: float) -> list[Swing]:
    """Excursions of ``values`` from the rest side (beyond ``rest``) across ``active`` and back, with hysteresis.

    The direction is the thresholds' order: ``active > rest`` counts rises (a squat's knee flexion), ``active <
    rest`` falls (standing up out of a chair in knee flexion). A swing goes "rest" (at or beyond ``rest``) →
    "active" (at or beyond ``active``) → "rest" again, so noise that crosses one threshold back and forth
    changes nothing: only a full swing across both counts. Its start (end) is the last (first) frame within
    ``onset`` of the rest posture before (after) it, the rest posture being the value nearest the rest side
    between two swings. Frames with NaN keep the state; the signal must first be seen on the rest side (a clip
    that starts in the active state does not make a swing of it). A swing still active when the clip ends is
    returned with ``returned`` False.

    Args:
        values: (T,) float, e.g. degrees; rest, active, onset: in the same unit (``onset`` ≥ 0).
    """
    sign = 1.0 if active > rest else -1.0
    k = sign * np.asarray(values, dtype=np.float64)  # now "active" is always above "rest"
    up, down = sign * rest, sign * active
    crossings: list[tuple[int, int, int]] = []  # (last rest frame, extreme, first rest frame again)
    state = "unknown"
    start_i = bottom_i = -1
    for i in range(k.size):
        v = k[i]
        if not np.isfinite(v):
            continue
        if state in ("unknown", "up"):
            if v <= up:
                state, start_i = "up", i
            elif v >= down and state == "up":
                state, bottom_i = "down", i
        elif state == "down":
            if v > k[bottom_i]:
                bottom_i = i
            if v <= up:
                crossings.append((start_i, bottom_i, i))
                state, start_i = "up", i
    swings: list[Swing] = []
    prev_end = 0
    pending = start_i if state == "down" else None  # the clip ended during an excursion that left here
    for n, (up_i, extreme_i, back_i) in enumerate(crossings):
        following = crossings[n + 1][0] if n + 1 < len(crossings) else pending
        next_start = following + 1 if following is not None else k.size
        before = k[prev_end : up_i + 1]
        start = prev_end + int(np.flatnonzero(before <= float(np.nanmin(before)) + onset)[-1])
        after = k[back_i:next_start]
        end = back_i + int(np.flatnonzero(after <= float(np.nanmin(after)) + onset)[0])
        swings.append(Swing(start, extreme_i, end, True))
        prev_end = end
    if pending is not None:
        before = k[min(prev_end, pending) : pending + 1]
        start = min(prev_end, pending) + int(np.flatnonzero(before <= float(np.nanmin(before)) + onset)[-1])
        last = int(np.flatnonzero(np.isfinite(k))[-1])
        swings.append(Swing(start, bottom_i, last, False))
    return swings


def count_squats(
    t_s: FloatArray,
    knee_flexion_deg: FloatArray,
    config: AnalysisConfig = AnalysisConfig(),
) -> list[SquatRep]:
    """Squat repetitions in a knee-flexion signal, with hysteresis (:func:`hysteresis_swings`).

    A repetition goes "up" (flexion ≤ ``squat_up_deg``) → "down" (≥ ``squat_down_deg``) → "up" again. Noise
    that crosses one threshold back and forth changes nothing: only a full swing across both counts. Its start
    (end) is the last (first) frame within ``squat_onset_deg`` of the standing posture before (after) it, so
    time down and time up cover the whole movement. Frames with NaN (person lost) keep the state; a repetition
    whose bottom was never seen cannot be made up, and one the clip ends in is not counted.

    Args:
        t_s: (T,) seconds; knee_flexion_deg: (T,) degrees (e.g. :func:`knee_signal`).
    """
    t = np.asarray(t_s, dtype=np.float64)
    k = np.asarray(knee_flexion_deg, dtype=np.float64)
    swings = hysteresis_swings(k, config.squat_up_deg, config.squat_down_deg, config.squat_onset_deg)
    return [
        SquatRep(
            float(t[s.start]),
            float(t[s.extreme]),
            float(t[s.end]),
            float(k[s.extreme]),
            float(180.0 - k[s.extreme]),
        )
        for s in swings
        if s.returned
    ]


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
            landing, peak = _find_landing(rise, t[a:b], i, contact_frames, config)
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


def _find_landing(
    rise: FloatArray, t_s: FloatArray, i: int, contact_frames: int, config: AnalysisConfig
) -> tuple[int | None, int]:
    """(landing, peak): segment indices of the landing after a flight found airborne at ``i`` (None: the
    segment ends first) and of the highest ``rise`` (metres above the take-off level) up to it.

    ``t_s`` is the segment's times; the landing rules are those of :func:`detect_jumps`.
    """
    peak = i
    landing = None
    j = i + 1
    while j < rise.size:
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
        speed = abs(rise[j] - rise[j - 1]) / max(t_s[j] - t_s[j - 1], 1e-6)
        if j > peak and falling >= config.jump_on_m and speed < config.land_speed_m_s:
            landing = j - 1  # it stopped between j-1 and j: on the ground at j-1
            break
        j += 1
    return landing, peak


def _skip_flight(h: FloatArray, i: int, config: AnalysisConfig) -> int:
    while i < h.size and not (np.isfinite(h[i]) and h[i] <= config.jump_off_m):
        i += 1
    return i
