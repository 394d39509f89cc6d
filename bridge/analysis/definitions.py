"""The words of the report: every angle's definition and sign convention, the body frames, and the normative
ranges of motion with their published source.

One place for what the report page prints (and the README's table repeats; a test keeps the two equal), so the
page can stand on its own: no "see the README".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Definition:
    """One angle (both sides where it has two): its definition, what 0° is, what positive means."""

    joint: str
    definition: str
    zero: str
    positive: str


#: The body-fixed frames the angles are measured in.
FRAMES_TEXT = (
    "Angles are 3-D, computed from MediaPipe's world landmarks in frames fixed to the body, so they do not "
    "depend on where the camera stands — except on a side view, where knee and hip flexion are measured "
    "in the image plane (see View below). Pelvis frame: left = right hip → left hip; up = "
    "mid-hips → mid-shoulders made perpendicular to left; forward = left × up. Trunk frame: the same with the "
    "shoulder line. MediaPipe has no pelvis markers of its own, so the pelvis frame's tilt follows the trunk: "
    "hip flexion is the thigh against the trunk line, as a goniometer held along the trunk measures it."
)

#: How the camera's view is judged and what the image-plane angles are (bridge.analysis.view, .angles2d).
VIEW_TEXT = (
    "View: the view angle is the angle between the camera's axis and the body's frontal plane (through the hip "
    "and shoulder lines, from MediaPipe's 3-D landmarks): 0° the camera sees the front or back, 90° one side; "
    "the clip's median under 30° is a front view, from 60° a side view, oblique between. Sagittal angles "
    "(flexion, dorsiflexion, forward lean) suit a side view: from the front they lie along the camera's depth "
    "axis, which one camera only guesses (bent knees read too straight). Frontal angles (abduction, lateral "
    "lean) suit a front or back view. On a side view the image-plane angles are used for knee and hip flexion: "
    "the same definitions applied to the 2-D image landmarks (knee: 180° − the 2-D hip–knee–ankle angle; "
    "hip: the thigh against the image trunk line, positive toward the way the person faces, told from the feet "
    "and the face)."
)

#: Every angle of :data:`bridge.analysis.angles.TWO_SIDED` and the trunk, in report order.
DEFINITIONS: tuple[Definition, ...] = (
    Definition(
        "knee_flexion",
        "180° − hip–knee–ankle angle (never negative: hyperextension reads as a small flexion)",
        "straight",
        "bent",
    ),
    Definition(
        "hip_flexion",
        "thigh (hip → knee) in the pelvis frame's sagittal plane, from down toward forward",
        "thigh along the trunk line",
        "thigh forward (negative: extension)",
    ),
    Definition(
        "ankle_dorsiflexion",
        "90° − angle between shank (ankle → knee) and foot (heel → foot index)",
        "sole at right angles to the shank",
        "toes toward the shin (negative: plantar flexion)",
    ),
    Definition("elbow_flexion", "180° − shoulder–elbow–wrist angle", "straight", "bent"),
    Definition(
        "shoulder_flexion",
        "upper arm in the trunk frame's sagittal plane, from down toward forward",
        "arm hanging",
        "forward; 90 horizontal, 180 overhead (negative: extension)",
    ),
    Definition(
        "shoulder_abduction",
        "upper arm in the trunk frame's frontal plane, from down toward its own side",
        "arm hanging",
        "sideways; 90 horizontal (negative: adduction across the body)",
    ),
    Definition(
        "trunk_forward_lean",
        "trunk (mid-hips → mid-shoulders) against the camera's vertical, in the heading plane",
        "upright",
        "leaning forward",
    ),
    Definition("trunk_lateral_lean", "the same in the frontal plane", "upright", "leaning to the subject's right"),
)

#: What the planar angles and empty values mean.
PLANAR_TEXT = (
    "Shoulder and hip angles are planar projections (as on a goniometer): each is undefined — left empty — when "
    "the segment lies within 20° of its plane's normal (the flexion of an arm pointing straight sideways, the "
    "abduction of one pointing straight forward), and they run from −90° to 270° so an arm overhead reads about "
    "180°, never ±180°. Trunk lean uses the camera's vertical: keep the camera level. Every other angle is "
    "independent of the camera. A value is empty when the person is not found or a landmark it needs is less "
    "visible than the minimum visibility."
)

#: Range of motion and the symmetry index, as the report computes them.
ROM_TEXT = (
    "Range of motion (ROM) = 98th − 2nd percentile of the angle over the clip (robust to a stray frame); min and "
    "max are those percentiles."
)
SYMMETRY_TEXT = (
    "Symmetry index SI = 100 · (L − R) / ((L + R) / 2) % (Robinson, Herzog & Nigg 1987), of the left (L) and "
    "right (R) ranges of motion: 0 % is symmetric, positive means the left moves more; within ±10 % is "
    "commonly taken as symmetric. Mean |L − R| is the mean absolute difference of the two angles over the frames "
    "where both are seen."
)


@dataclass(frozen=True)
class Norm:
    """A published normative range of motion for one angle, degrees, in this analysis's sign convention.

    Attributes:
        joint: the angle (``knee_flexion``); low_deg, high_deg: the normative range (e.g. −30 … 120 for hip
            extension 30° and flexion 120°); text: the published motions and values, as printed in the source.
    """

    joint: str
    low_deg: float
    high_deg: float
    text: str


#: The source of :data:`NORMS`, as cited on the page.
NORM_SOURCE = (
    "American Academy of Orthopaedic Surgeons (AAOS). Joint Motion: Method of Measuring and Recording. Chicago: "
    "AAOS, 1965 — average adult ranges, as tabulated (AAOS column) in Norkin CC, White DJ. Measurement of Joint "
    "Motion: A Guide to Goniometry, Appendix A. Philadelphia: F.A. Davis."
)
#: How to read :data:`NORMS` against a clip.
NORM_NOTE = (
    "Normative values are the largest active ranges measured with a goniometer in a clinical examination, each "
    "motion on its own; a movement clip shows only the range the movement used, so a measured range below the "
    "norm is not by itself a limitation. The trunk lean angles have no counterpart in the table."
)

#: AAOS (1965) averages, degrees, for the angles of this analysis that the table covers.
NORMS: tuple[Norm, ...] = (
    Norm("knee_flexion", 0.0, 135.0, "knee flexion 0–135°"),
    Norm("hip_flexion", -30.0, 120.0, "hip flexion 0–120°, extension 0–30°"),
    Norm("ankle_dorsiflexion", -50.0, 20.0, "ankle dorsiflexion 0–20°, plantar flexion 0–50°"),
    Norm("elbow_flexion", 0.0, 150.0, "elbow flexion 0–150°"),
    Norm("shoulder_flexion", -60.0, 180.0, "shoulder flexion 0–180°, extension 0–60°"),
    Norm("shoulder_abduction", 0.0, 180.0, "shoulder abduction 0–180°"),
)


def norm_of(angle_name: str) -> Norm | None:
    """The norm of an angle column (``left_knee_flexion`` → the knee's), None when the table has none."""
    joint = angle_name.removeprefix("left_").removeprefix("right_")
    return next((n for n in NORMS if n.joint == joint), None)


__all__ = [
    "DEFINITIONS",
    "FRAMES_TEXT",
    "NORMS",
    "NORM_NOTE",
    "NORM_SOURCE",
    "PLANAR_TEXT",
    "VIEW_TEXT",
    "ROM_TEXT",
    "SYMMETRY_TEXT",
    "Definition",
    "Norm",
    "norm_of",
]
