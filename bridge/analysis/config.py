"""The settings of the movement analysis (:class:`AnalysisConfig`), shared by every stage of it."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.core.errors import BridgeError


# Frozen, so the stages' ``config: AnalysisConfig = AnalysisConfig()`` defaults are safe (ruff's B008 cannot
# see that across modules: hence their ``noqa``).
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
