"""Movement analysis: 3-D joint angles, squat repetitions and jumps, as pure functions on arrays.

Everything here works on the repaired and filtered landmarks (what :meth:`bridge.app.stream.Processor.landmarks`
returns). Angles come from ``world_xyz_m`` (MediaPipe world frame: x right, y down, z away from the camera,
hip-centred, metres) expressed in body-fixed frames built from the pelvis and trunk landmarks, except where the
camera's view calls for the image plane (:mod:`bridge.analysis.view`: the sagittal angles the validation found
better in 2-D on a side view, :mod:`bridge.analysis.angles2d`). Jump detection uses the image track (see
:func:`bridge.analysis.events.detect_jumps`: world landmarks are hip-centred and cannot see the body leave the
floor).

:func:`analyse` runs every stage, one module each: :mod:`bridge.analysis.track` (the landmarks as arrays,
low-passed), :mod:`bridge.analysis.angles` (the joint angles and their definitions, ranges of motion, symmetry)
and :mod:`bridge.analysis.events` (squat repetitions, jumps) and :mod:`bridge.analysis.reps` (repetitions of any
angle), with the settings of
:mod:`bridge.analysis.config`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bridge.analysis.angles import AngleSummary, JointAngles, Symmetry, summarise_angles, symmetry
from bridge.analysis.config import AnalysisConfig
from bridge.analysis.events import FootTrack, Jump, SquatRep, count_squats, detect_jumps, knee_signal
from bridge.analysis.reps import RepSet, count_all_reps
from bridge.analysis.track import FloatArray, Track, lowpass_track, track_from_frames
from bridge.analysis.view import ViewAssessment, view_angles
from bridge.core.errors import BridgeError
from bridge.core.landmarks import LandmarkFrame
from bridge.core.person import describe_person


@dataclass(frozen=True, eq=False)
class Analysis:
    """Everything :func:`analyse` finds in one clip.

    Attributes:
        track: the low-passed landmarks.
        angles: per-frame joint angles; summary: their ranges of motion; symmetry: left vs right.
        knee_deg: (T,) degrees: the squat signal (:func:`knee_signal`) repetitions are counted on.
        squats, jumps: what was found; feet: the image-track signals of jump detection.
        reps: the repetitions of every ``--reps`` angle (:mod:`bridge.analysis.reps`).
        view: the camera's view of the body and, per angle, whether it suits it and which estimate (3-D or
            image plane) ``angles`` holds (:mod:`bridge.analysis.view`); None: not assessed.
        config: the settings used.
        person: whom the landmarks follow and what happened to them (:func:`bridge.core.person.describe_person`),
            None when the tracker made no person selection (older recordings, synthetic frames).
    """

    track: Track
    angles: JointAngles
    summary: list[AngleSummary]
    symmetry: list[Symmetry]
    knee_deg: FloatArray
    squats: list[SquatRep]
    jumps: list[Jump]
    feet: FootTrack
    reps: tuple[RepSet, ...] = ()
    view: ViewAssessment | None = None
    config: AnalysisConfig = field(default_factory=AnalysisConfig)
    person: str | None = None


def triangulated_views(frames: Sequence[LandmarkFrame]) -> int:
    """How many calibrated views the frames were triangulated from (their ``views`` flag, set by
    :func:`bridge.multiview.fuse.fuse`): the median over the frames with a person, 1 for a single camera."""
    counts = [int(f.flags.get("views", 1) or 1) for f in frames if f.person]  # type: ignore[call-overload]
    return int(np.median(counts)) if counts else 1


def analyse(frames: Sequence[LandmarkFrame], config: AnalysisConfig = AnalysisConfig()) -> Analysis:
    """Angles, summaries, squat repetitions and jumps of (flip-repaired) landmark frames, low-passed first."""
    track = lowpass_track(track_from_frames(frames), config.cutoff_hz)
    if not track.person.any():
        raise BridgeError("no person was found in any frame; check the input shows a whole person")
    angles, view = view_angles(track, config, triangulated_views(frames))
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
        reps=count_all_reps(angles, config),
        view=view,
        config=config,
        person=describe_person(frames),
    )
