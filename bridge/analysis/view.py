"""The camera's view of the body, and which angles it suits.

A camera sees a body plane best when it looks square at it: sagittal angles (knee, hip, ankle, elbow, shoulder
flexion, forward lean) from the side, frontal ones (shoulder abduction, lateral lean) from the front or back.
From the front, knee flexion lies along the camera's depth axis, which one camera can only guess (MediaPipe's
depth reads bent knees too straight), so the report warns about it.

:func:`side_view_deg` estimates, per frame, how far the camera looks along the body's left–right axis: the angle
between the camera's axis (MediaPipe world ``+z``) and the body's frontal plane (through the hip and shoulder
lines), folded to 0…90°: 0 the camera sees the front or the back, 90 it looks straight at one side.
:func:`assess_view` summarises it for the clip (the median over the tracked frames) into a view (front, oblique,
side) and, per angle, whether the view suits it and which estimate the analysis uses: the 3-D angle
(:mod:`bridge.analysis.angles`) or, for the sagittal angles of a side view, the image-plane angle
(:mod:`bridge.analysis.angles2d`) where the validation on real video (``bench/bench_analysis_validation.py``)
found it better.
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

#: The angles measured in the image plane on a side view (``--plane-angles auto``): those whose image-plane
#: estimate the validation on the Pose2Sim demos found better than the 3-D one on side views.
IMAGE_PLANE_ON_SIDE: frozenset[str] = frozenset({"knee_flexion", "hip_flexion", "elbow_flexion"})

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
        method: ``3d`` (MediaPipe's 3-D landmarks) or ``image`` (measured in the image plane).
        text: one line for the report, e.g. ``"no: front view (12°), knee flexion reads too small …"``.
    """

    name: str
    plane: str
    suits: str
    method: str
    text: str


@dataclass(frozen=True, eq=False)
class ViewAssessment:
    """The camera's view of the body over a clip and what it means for each angle.

    Attributes:
        side_view_deg: (T,) degrees per frame (:func:`side_view_deg`); NaN where no person.
        median_deg: its median over the tracked frames (NaN if none).
        view: ``front``, ``oblique``, ``side`` (:func:`view_of` of the median) or ``unknown``.
        shares: share of tracked frames in each view (``VIEW_NAMES``).
        angles: per angle name, its :class:`AngleView`.
        warnings: lines the report and the terminal show (e.g. knee flexion filmed from the front).
    """

    side_view_deg: FloatArray
    median_deg: float
    view: str
    shares: Mapping[str, float]
    angles: Mapping[str, AngleView] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def image_plane(self) -> frozenset[str]:
        """The angle names measured in the image plane."""
        return frozenset(n for n, a in self.angles.items() if a.method == "image")


def _suits(plane: str, view: str) -> str:
    if view == "unknown":
        return "no"
    good = "side" if plane == "sagittal" else "front"
    return "yes" if view == good else ("partly" if view == "oblique" else "no")


def _method(name: str, view: str, plane_angles: str, image_plane_names: frozenset[str]) -> str:
    if name not in image_plane_names or plane_angles == "3d":
        return "3d"
    if plane_angles == "image":
        return "image"
    return "image" if view == "side" and joint_of(name) in IMAGE_PLANE_ON_SIDE else "3d"


def _text(name: str, plane: str, suits: str, view: str, median: float, method: str) -> str:
    where = f"{view} view ({median:.0f}° from the front)" if view != "unknown" else "view unknown"
    how = "measured in the image plane" if method == "image" else "from the 3-D landmarks"
    if suits == "yes":
        return f"yes: {where}, {how}"
    if suits == "partly":
        return f"partly: {where}, {how}; expect larger errors than from the {'side' if plane == 'sagittal' else 'front'}"
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
) -> ViewAssessment:
    """The clip's view and, per angle of :data:`ANGLE_NAMES`, whether it suits it and which estimate is used.

    Args:
        world_xyz_m: (T, 33, 3) MediaPipe world frame, metres (the low-passed track).
        person: (T,) bool, frames with a person.
        plane_angles: one of :data:`PLANE_CHOICES`.
        image_plane_names: the angle names that have an image-plane estimate
            (:data:`bridge.analysis.angles2d.IMAGE_PLANE_ANGLES`).
    """
    per_frame = side_view_deg(world_xyz_m)
    seen = per_frame[np.asarray(person, dtype=bool) & np.isfinite(per_frame)]
    median = float(np.median(seen)) if seen.size else math.nan
    view = view_of(median)
    shares = {v: float(np.mean([view_of(float(d)) == v for d in seen])) if seen.size else 0.0 for v in VIEW_NAMES}
    angles = {}
    for name in ANGLE_NAMES:
        plane = plane_of(name)
        suits = _suits(plane, view)
        method = _method(name, view, plane_angles, image_plane_names)
        angles[name] = AngleView(name, plane, suits, method, _text(name, plane, suits, view, median, method))
    warnings = []
    if view == "front":
        warnings.append(
            f"front view ({median:.0f}° from the front): knee, hip and elbow flexion from the front rest on "
            "MediaPipe's depth guess (knee flexion reads too small); film from the side for sagittal angles"
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
    return ViewAssessment(per_frame, median, view, shares, angles, tuple(warnings))


def view_angles(
    track: Track, config: AnalysisConfig = AnalysisConfig()  # noqa: B008 (frozen)
) -> tuple[JointAngles, ViewAssessment]:
    """The clip's joint angles, each from the estimate its view calls for, and the view assessment.

    The 3-D angles of :func:`~bridge.analysis.angles.joint_angles`, with the columns that
    :func:`assess_view` assigns to the image plane replaced by :func:`~bridge.analysis.angles2d.image_plane_angles`
    (``config.plane_angles``).
    """
    angles = joint_angles(track, config)
    view = assess_view(track.world_xyz_m, track.person, config.plane_angles, frozenset(IMAGE_PLANE_ANGLES))
    chosen = view.image_plane()
    if not chosen:
        return angles, view
    planar = image_plane_angles(track.image_px, track.visibility, config.min_visibility)
    values = angles.values_deg.copy()
    for k, name in enumerate(angles.names):
        if name in chosen:
            values[:, k] = planar[name]
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
    "view_of",
]
