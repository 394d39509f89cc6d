"""The settings of the movement analysis (:class:`AnalysisConfig`), shared by every stage of it."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.core.errors import BridgeError


@dataclass(frozen=True)
class RepSpec:
    """What ``--reps`` counts: repetitions of one angle (see :mod:`bridge.analysis.reps`, which makes these).

    Attributes:
        name: as given (``elbow_flexion``, ``left_knee_flexion``, ``sit-to-stand``), shown in the report.
        angle: the angle: a two-sided joint of :data:`~bridge.analysis.angles.TWO_SIDED` (``knee_flexion``) or a
            column of :data:`~bridge.analysis.angles.ANGLE_NAMES` (``left_knee_flexion``, ``trunk_forward_lean``).
        combine: ``"sides"``: each side of a two-sided joint counted on its own; ``"mean"``: the mean of the two
            sides counted as one signal (bilateral movements such as standing up); ``"single"``: one column.
        rest_deg, active_deg: the hysteresis thresholds, degrees: a repetition leaves the rest posture (at or
            beyond ``rest_deg``), reaches ``active_deg`` and comes back beyond ``rest_deg``; ``active_deg <
            rest_deg`` counts movements that decrease the angle. None: from the clip (see
            :func:`bridge.analysis.reps.thresholds`).
        count_unfinished: a repetition the clip ends in (active, not back at rest) still counts — the
            30-second chair stand test counts the last stand.
        definition: what the preset measures, in words (for the report); empty for a plain angle.
    """

    name: str
    angle: str
    combine: str = "sides"
    rest_deg: float | None = None
    active_deg: float | None = None
    count_unfinished: bool = False
    definition: str = ""

    def __post_init__(self) -> None:
        if self.combine not in ("sides", "mean", "single"):
            raise BridgeError(f"repetitions of {self.name}: unknown combine {self.combine!r}")
        if (self.rest_deg is None) != (self.active_deg is None):
            raise BridgeError(f"repetitions of {self.name}: give both thresholds (REST:ACTIVE) or neither")
        if self.rest_deg is not None and self.rest_deg == self.active_deg:
            raise BridgeError(f"repetitions of {self.name}: the two thresholds must differ")


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
        plane_angles: where the sagittal angles come from (:mod:`bridge.analysis.view`): ``auto`` (the image
            plane on a side view for the angles the validation found better there, else 3-D), ``3d``, ``image``.
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
    reps: tuple[RepSpec, ...] = ()
    rep_onset_deg: float = 3.0
    rep_hold_share: float = 0.1
    rep_min_range_deg: float = 20.0
    plane_angles: str = "auto"

    def __post_init__(self) -> None:
        if not 0 <= self.min_visibility <= 1:
            raise BridgeError(f"min visibility must be between 0 and 1, got {self.min_visibility}")
        if not 0 <= self.squat_up_deg < self.squat_down_deg:
            raise BridgeError(
                f"squat thresholds: need 0 <= up ({self.squat_up_deg}) < down ({self.squat_down_deg}) degrees"
            )
        if not 0 < self.jump_off_m < self.jump_on_m:
            raise BridgeError(f"jump thresholds: need 0 < off ({self.jump_off_m}) < on ({self.jump_on_m}) metres")
        if self.plane_angles not in ("auto", "3d", "image"):
            raise BridgeError(f"plane angles must be auto, 3d or image, got {self.plane_angles!r}")
        if not 0 < self.min_flight_s < self.max_flight_s:
            raise BridgeError("jump flight limits: need 0 < min_flight_s < max_flight_s")
