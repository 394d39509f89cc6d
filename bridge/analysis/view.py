"""The camera's view of the body, and which angles it suits.

A camera sees a body plane best when it looks square at it: sagittal angles (knee, hip, ankle, elbow, shoulder
flexion, forward lean) from the side, frontal ones (shoulder abduction, lateral lean) from the front or back.
From the front, knee flexion lies along the camera's depth axis, which one camera can only guess (MediaPipe's
depth reads bent knees too straight), so the report warns about it.

:func:`side_view_deg` estimates, per frame, how far the camera looks along the body's left–right axis: the angle
between the camera's axis (MediaPipe world ``+z``) and the body's frontal plane (through the hip and shoulder
lines), folded to 0…90°: 0 the camera sees the front or the back, 90 it looks straight at one side.
:func:`assess_view` summarises it for the clip (the median over the tracked frames) into a view (front, oblique,
side) and says, per angle, whether the view suits it and which estimate the analysis uses: the 3-D angle
(:mod:`bridge.analysis.angles`) or, for knee and hip flexion on the frames seen from the side, the image-plane
angle (:mod:`bridge.analysis.angles2d`), blended over 50–70° of view angle so that a person turning does not
make the angle jump. The validation on real video (``bench/bench_analysis_validation.py``) found the 3-D angles
better than the image plane on front and oblique views.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from bridge.analysis.angles import ANGLE_NAMES, SIDES, TWO_SIDED, JointAngles, joint_angles
from bridge.analysis.angles2d import IMAGE_PLANE_ANGLES, image_plane_angles
from bridge.analysis.config import AnalysisConfig
from bridge.analysis.track import FloatArray, Track
from bridge.core.landmarks import PoseLandmark as L

#: Views by the clip's median side-view angle: below FRONT_MAX_DEG "front" (or back), from SIDE_MIN_DEG "side".
FRONT_MAX_DEG = 30.0
SIDE_MIN_DEG = 60.0
VIEW_NAMES = ("front", "oblique", "side")

#: Per frame, the image plane's weight ramps from 0 at BLEND_LO_DEG of view angle to 1 at BLEND_HI_DEG.
BLEND_LO_DEG = 50.0
BLEND_HI_DEG = 70.0

#: The body plane each angle lies in (``ANGLE_NAMES`` without the side prefix).
SAGITTAL_JOINTS = (
    "knee_flexion",
    "hip_flexion",
    "ankle_dorsiflexion",
    "elbow_flexion",
    "shoulder_flexion",
    "trunk_forward_lean",
)
FRONTAL_JOINTS = ("shoulder_abduction", "trunk_lateral_lean")

#: The angles measured in the image plane on a side view (``--plane-angles auto``): the two whose plane of
#: motion is the body's sagittal plane, which a side view sees square (the elbow's and the shoulder's plane
#: turns with the arm). On front and oblique views the validation on real video
#: (``bench/bench_analysis_validation.py``) found the 3-D angles better, so the image plane is used on side
#: views only; the Pose2Sim demos have no side view to validate this choice on real video (synthetic side views
#: of CMU mocap: ``tests/analysis/test_view.py``).
IMAGE_PLANE_ON_SIDE: frozenset[str] = frozenset({"knee_flexion", "hip_flexion"})

#: What ``--plane-angles`` may be: ``auto`` (the image plane where the view and the validation say so), ``3d``
#: (always the 3-D angles), ``image`` (the image plane for every angle that has one, whatever the view).
PLANE_CHOICES = ("auto", "3d", "image")


def joint_of(name: str) -> str:
    """``left_knee_flexion`` → ``knee_flexion``; ``trunk_forward_lean`` unchanged."""
    for side in SIDES:
        if name.startswith(f"{side}_"):
            return name[len(side) + 1 :]
    return name


def plane_of(name: str) -> str:
    """``"sagittal"`` or ``"frontal"``: the body plane the angle ``name`` lies in."""
    return "frontal" if joint_of(name) in FRONTAL_JOINTS else "sagittal"


def side_view_deg(world_xyz_m: FloatArray) -> FloatArray:
    """(T,) degrees in [0, 90]: how far the camera looks along the body's left–right axis (module docstring).

    Args:
        world_xyz_m: (T, 33, 3) MediaPipe world frame (x right, y down, z away from the camera), metres; NaN
            rows give NaN.
    """
    w = np.asarray(world_xyz_m, dtype=np.float64)
    left = (w[:, L.LEFT_HIP] - w[:, L.RIGHT_HIP]) + (w[:, L.LEFT_SHOULDER] - w[:, L.RIGHT_SHOULDER])
    n = np.linalg.norm(left, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        along_axis = np.abs(left[:, 2]) / n
    return np.asarray(np.degrees(np.arcsin(np.clip(along_axis, 0.0, 1.0))), dtype=np.float64)


def view_of(deg: float) -> str:
    """The view named by a side-view angle: ``front`` (or back), ``oblique`` or ``side``."""
    if not math.isfinite(deg):
        return "unknown"
    return "front" if deg < FRONT_MAX_DEG else ("side" if deg >= SIDE_MIN_DEG else "oblique")


@dataclass(frozen=True)
class AngleView:
    """How well the clip's view suits one angle.

    Attributes:
        name: the angle (:data:`~bridge.analysis.angles.ANGLE_NAMES`).
        plane: ``sagittal`` or ``frontal``.
        suits: ``yes``, ``partly`` or ``no``.
        method: ``3d`` (MediaPipe's 3-D landmarks), ``image`` (measured in the image plane) or ``mixed`` (the
            image plane on the clip's side-view frames, 3-D on the others).
        image_share: share of the tracked frames measured in the image plane (0…1; blends count by weight).
        text: one line for the report, e.g. ``"no: front view (12°), knee flexion reads too small …"``.
    """

    name: str
    plane: str
    suits: str
    method: str
    text: str
    image_share: float = 0.0


@dataclass(frozen=True, eq=False)
class ViewAssessment:
    """The camera's view of the body over a clip and what it means for each angle.

    Attributes:
        side_view_deg: (T,) degrees per frame (:func:`side_view_deg`); NaN where no person.
        median_deg: its median over the tracked frames (NaN if none).
        view: ``front``, ``oblique``, ``side`` (:func:`view_of` of the median), ``unknown``, or ``"N views"``
            for landmarks triangulated from N calibrated views.
        shares: share of tracked frames in each view (``VIEW_NAMES``).
        image_weight: (T,) weight of the image-plane estimate per frame for the angles that use it (0 3-D, 1 the
            image plane): with ``auto``, 0 up to :data:`BLEND_LO_DEG` of view angle, 1 from :data:`BLEND_HI_DEG`,
            linear between (so a person turning does not make the angle jump).
        angles: per angle name, its :class:`AngleView`.
        warnings: lines the report and the terminal show (e.g. knee flexion filmed from the front).
    """

    side_view_deg: FloatArray
    median_deg: float
    view: str
    shares: Mapping[str, float]
    image_weight: FloatArray
    angles: Mapping[str, AngleView] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def image_plane(self) -> frozenset[str]:
        """The angle names measured in the image plane."""
        return frozenset(n for n, a in self.angles.items() if a.method != "3d")


def _suits(plane: str, view: str) -> str:
    if view == "unknown":
        return "no"
    good = "side" if plane == "sagittal" else "front"
    return "yes" if view == good else ("partly" if view == "oblique" else "no")


def _uses_image(name: str, plane_angles: str, image_plane_names: frozenset[str]) -> bool:
    if name not in image_plane_names or plane_angles == "3d":
        return False
    return plane_angles == "image" or joint_of(name) in IMAGE_PLANE_ON_SIDE


def image_weight(per_frame_deg: FloatArray, plane_angles: str) -> FloatArray:
    """(T,) the image-plane estimate's weight per frame (:attr:`ViewAssessment.image_weight`)."""
    if plane_angles == "image":
        return np.ones_like(per_frame_deg)
    if plane_angles == "3d":
        return np.zeros_like(per_frame_deg)
    w = np.clip((per_frame_deg - BLEND_LO_DEG) / (BLEND_HI_DEG - BLEND_LO_DEG), 0.0, 1.0)
    return np.asarray(np.where(np.isfinite(w), w, 0.0), dtype=np.float64)


def _method(share: float) -> str:
    return "3d" if share <= 0.0 else ("image" if share >= 0.995 else "mixed")


def _text(name: str, plane: str, suits: str, view: str, median: float, method: str, share: float = 0.0) -> str:
    where = f"{view} view ({median:.0f}° from the front)" if view != "unknown" else "view unknown"
    how = {
        "image": "measured in the image plane",
        "3d": "from the 3-D landmarks",
        "mixed": f"in the image plane on the side-view frames ({100 * share:.0f}%), 3-D on the others",
    }[method]
    if suits == "yes":
        return f"yes: {where}, {how}"
    if suits == "partly":
        best = "side" if plane == "sagittal" else "front"
        return f"partly: {where}, {how}; expect larger errors than from the {best}"
    if joint_of(name) == "knee_flexion" and view == "front":
        return (
            f"NO: {where}; knee flexion from the front rests on MediaPipe's depth guess and reads too small, "
            "film from the side"
        )
    better = "the side" if plane == "sagittal" else "the front or back"
    return f"no: {where}, {how}; film from {better} for this angle"


def assess_view(
    world_xyz_m: FloatArray,
    person: np.ndarray,
    plane_angles: str = "auto",
    image_plane_names: frozenset[str] = frozenset(),
    views: int = 1,
) -> ViewAssessment:
    """The clip's view and, per angle of :data:`ANGLE_NAMES`, whether it suits it and which estimate is used.

    Args:
        world_xyz_m: (T, 33, 3) MediaPipe world frame, metres (the low-passed track).
        person: (T,) bool, frames with a person.
        plane_angles: one of :data:`PLANE_CHOICES`.
        image_plane_names: the angle names that have an image-plane estimate
            (:data:`bridge.analysis.angles2d.IMAGE_PLANE_ANGLES`).
        views: how many calibrated views the landmarks were triangulated from (1: one camera). From two or more
            the 3-D landmarks are measured, not guessed: every angle is 3-D and no view limits it (the view
            angle is still that of the first view).
    """
    per_frame = side_view_deg(world_xyz_m)
    if views >= 2:
        return _triangulated(per_frame, person, views)
    seen = per_frame[np.asarray(person, dtype=bool) & np.isfinite(per_frame)]
    median = float(np.median(seen)) if seen.size else math.nan
    view = view_of(median)
    shares = {v: float(np.mean([view_of(float(d)) == v for d in seen])) if seen.size else 0.0 for v in VIEW_NAMES}
    weight = image_weight(per_frame, plane_angles)
    tracked = np.asarray(person, dtype=bool)
    mean_weight = float(weight[tracked].mean()) if tracked.any() else 0.0
    angles = {}
    for name in ANGLE_NAMES:
        plane = plane_of(name)
        suits = _suits(plane, view)
        share = mean_weight if _uses_image(name, plane_angles, image_plane_names) else 0.0
        method = _method(share)
        text = _text(name, plane, suits, view, median, method, share)
        angles[name] = AngleView(name, plane, suits, method, text, share)
    warnings = []
    if view == "front":
        warnings.append(
            f"front view ({median:.0f}° from the front): knee flexion filmed from the front reads too small "
            "(it rests on MediaPipe's depth guess); the other sagittal angles (hip, ankle, elbow, "
            "shoulder flexion, forward lean) are unreliable from the front too: film from the side for them"
        )
    elif view == "oblique":
        warnings.append(
            f"oblique view ({median:.0f}° from the front): no body plane faces the camera; sagittal angles are "
            "best filmed from the side, frontal ones from the front"
        )
    if seen.size and view != "unknown" and shares[view] < 0.6:
        warnings.append(
            "the view changes during the clip (the person turns): "
            + ", ".join(f"{100 * shares[v]:.0f}% {v}" for v in VIEW_NAMES)
            + " of the frames"
        )
    return ViewAssessment(per_frame, median, view, shares, weight, angles, tuple(warnings))


def _triangulated(per_frame: FloatArray, person: np.ndarray, views: int) -> ViewAssessment:
    """The assessment of landmarks triangulated from ``views`` cameras: every angle suits, 3-D."""
    seen = per_frame[np.asarray(person, dtype=bool) & np.isfinite(per_frame)]
    median = float(np.median(seen)) if seen.size else math.nan
    shares = {v: float(np.mean([view_of(float(d)) == v for d in seen])) if seen.size else 0.0 for v in VIEW_NAMES}
    text = f"yes: triangulated from {views} calibrated views, from the 3-D landmarks (no single view limits it)"
    angles = {n: AngleView(n, plane_of(n), "yes", "3d", text) for n in ANGLE_NAMES}
    return ViewAssessment(per_frame, median, f"{views} views", shares, np.zeros_like(per_frame), angles)


def view_lines(view: ViewAssessment | None) -> list[str]:
    """The terminal's lines about the view: the view, the angles it does not suit, each warning."""
    if view is None:
        return []
    out = [
        f"view: {view.view} ({view.median_deg:.0f}° from the front)" if view.view != "unknown" else "view: unknown"
    ]
    unsuited = sorted({joint_of(n) for n, a in view.angles.items() if a.suits == "no"})
    if unsuited and view.view != "unknown":
        out.append("the view does not suit: " + ", ".join(u.replace("_", " ") for u in unsuited))
    out += [f"warning: {w}" for w in view.warnings]
    return out


def view_angles(
    track: Track,
    config: AnalysisConfig = AnalysisConfig(),  # noqa: B008 (frozen)
    views: int = 1,
) -> tuple[JointAngles, ViewAssessment]:
    """The clip's joint angles, each from the estimate its view calls for, and the view assessment.

    The 3-D angles of :func:`~bridge.analysis.angles.joint_angles`; the columns that :func:`assess_view` assigns
    to the image plane (``config.plane_angles``) take :func:`~bridge.analysis.angles2d.image_plane_angles`
    weighted per frame by :attr:`ViewAssessment.image_weight` (the 3-D value where the image-plane one is
    undefined).
    """
    angles = joint_angles(track, config)
    view = assess_view(track.world_xyz_m, track.person, config.plane_angles, frozenset(IMAGE_PLANE_ANGLES), views)
    chosen = view.image_plane()
    if not chosen:
        return angles, view
    planar = image_plane_angles(track.image_px, track.visibility, config.min_visibility)
    values = angles.values_deg.copy()
    w = view.image_weight
    for k, name in enumerate(angles.names):
        if name in chosen:
            image, d3 = planar[name], values[:, k]
            blend = w * image + (1.0 - w) * d3
            usable = np.isfinite(image)
            values[:, k] = np.where(usable & (w >= 1.0), image, np.where(usable & (w > 0.0), blend, d3))
    return JointAngles(angles.t_s, angles.frame_index, angles.names, values), view


__all__ = [
    "ANGLE_NAMES",
    "TWO_SIDED",
    "AngleView",
    "ViewAssessment",
    "assess_view",
    "plane_of",
    "side_view_deg",
    "view_angles",
    "view_lines",
    "view_of",
]
