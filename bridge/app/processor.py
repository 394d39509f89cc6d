"""The chain every command shares: a tracked frame in, a :class:`FrameResult` out.

Order (each stage optional, see :class:`ProcessorConfig`):

    tracked frame ─► flip repair ─► lifter ─► One-Euro filter ─► mirror ─► body state ─► body solver ─► hands
                     (stages: LandmarkFrame → LandmarkFrame)                 ─► face ─► signs (→ BonePose, blends)

* the lifter runs after the flip repair, so its 2-D window is labelled consistently (one swapped frame would
  disturb every output whose window holds it), and before the filter, which smooths what it made;
* the mirror runs last among the stages: flip repair, lifter and filter work on what the camera saw;
* the body state (:mod:`bridge.stages.body_state`, on where configured) places the body in the room, keeps
  planted feet planted and legs plausible, and holds the pose back until a confident start, then eases it in;
* offline (:meth:`Processor.process_offline`: ``export``, ``batch``) the One-Euro filter is replaced by a
  zero-phase low-pass (:func:`bridge.analysis.track.lowpass_track`, as ``analyze`` uses) and the body state runs
  in its offline form; live stays causal;
* a processor without a rig runs the landmark stages only (``bridge analyze``, ``bridge record``);
* last (signs), each bone's quaternion is kept in the hemisphere of its previous frame
  (:class:`~bridge.core.rotations.QuaternionContinuity`): the same rotations, but no sign flip between frames
  for a receiver or recorder that filters or keys quaternion components (VMC4B's recorder does).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from bridge.analysis.track import lowpass_track, track_from_frames
from bridge.core.frames import to_normalised
from bridge.core.landmarks import LandmarkFrame
from bridge.core.pose import BonePose
from bridge.core.rig import Rig
from bridge.core.rotations import QuaternionContinuity
from bridge.solve.body import Solver
from bridge.solve.body_config import SolverConfig
from bridge.solve.face import FaceConfig, FaceSolver
from bridge.solve.hands import HandConfig, HandSolver
from bridge.stages.body_state import EASE_IN_FLAG, BodyState, BodyStateConfig, ease_in_pose, rig_foot_slope_deg
from bridge.stages.filter import LandmarkFilter, OneEuroConfig
from bridge.stages.flips import FlipRepair, FlipRepairConfig
from bridge.stages.lifter import CausalLifter, LifterConfig
from bridge.stages.mirror import Mirror

Stage = Callable[[LandmarkFrame], LandmarkFrame]


@dataclass(frozen=True)
class ProcessorConfig:
    """Settings of the chain; a stage set to None (``mirror`` False) is left out.

    Attributes:
        flips: left/right swap repair (:mod:`bridge.stages.flips`).
        lifter: temporal 3-D lifter (``--lifter temporal``, :mod:`bridge.stages.lifter`); None keeps MediaPipe's
            world landmarks.
        filter: One-Euro filter (:mod:`bridge.stages.filter`).
        mirror: the avatar mirrors the user (:mod:`bridge.stages.mirror`).
        solver: body solver settings (:mod:`bridge.solve.body`).
        hands: finger solver (:mod:`bridge.solve.hands`), applied where frames carry hands.
        face: face solver (:mod:`bridge.solve.face`: head, eyes, blend shapes).
        body: the body-state stage (:mod:`bridge.stages.body_state`); None leaves it out.
        offline_cutoff_hz: :meth:`Processor.process_offline`'s zero-phase low-pass (used instead of ``filter``
            where that is set; 0 = none).
    """

    flips: FlipRepairConfig | None = field(default_factory=FlipRepairConfig)
    lifter: LifterConfig | None = None
    filter: OneEuroConfig | None = field(default_factory=OneEuroConfig)
    mirror: bool = False
    solver: SolverConfig = field(default_factory=SolverConfig)
    hands: HandConfig | None = field(default_factory=HandConfig)
    face: FaceConfig | None = field(default_factory=FaceConfig)
    body: BodyStateConfig | None = None
    offline_cutoff_hz: float = 6.0


#: The landmark stages of offline movement analysis: flip repair only (``bridge.analysis`` low-passes the
#: landmarks itself, zero-phase, instead of the live One-Euro filter).
ANALYSIS_STAGES = ProcessorConfig(filter=None, hands=None, face=None)


@dataclass(frozen=True, eq=False)
class FrameResult:
    """One frame through the chain.

    Attributes:
        raw: the frame as tracked (what a recording stores).
        landmarks: after the landmark stages: what the solvers saw (MediaPipe world frame; mirrored with
            ``--mirror``).
        pose: the solved pose (rig frame); None when the processor has no rig.
        blendshapes: blend shape name → weight to send with this frame; None until a face has been seen.
        received_s: monotonic clock when the frame reached the processor (for latency figures), NaN if unknown.
    """

    raw: LandmarkFrame
    landmarks: LandmarkFrame
    pose: BonePose | None = None
    blendshapes: Mapping[str, float] | None = None
    received_s: float = math.nan

    @property
    def t_s(self) -> float:
        """The frame's timestamp, seconds."""
        return self.raw.t_s


#: Frames the offline path solves in one vectorised pass (:meth:`Solver.solve_frames`: the same poses as one
#: frame at a time, to float rounding, at a tenth of the cost; a chunk bounds the memory of a long take).
OFFLINE_SOLVE_FRAMES = 256


class Processor:
    """Tracked frames → :class:`FrameResult`, one at a time and in order (the stages and solvers keep state)."""

    def __init__(self, rig: Rig | None, config: ProcessorConfig = ProcessorConfig()) -> None:
        self.rig = rig
        self.config = config
        stages: list[Stage] = []
        if config.flips is not None:
            stages.append(FlipRepair(config.flips))
        if config.lifter is not None:
            stages.append(CausalLifter(config.lifter))
        if config.filter is not None:
            stages.append(LandmarkFilter(config.filter))
        if config.mirror:
            stages.append(Mirror())
        body = config.body
        if body is not None and rig is not None and body.rig_foot_slope_deg is None:
            body = dataclasses.replace(body, rig_foot_slope_deg=rig_foot_slope_deg(rig))
        self.body = BodyState(body) if body is not None else None
        if self.body is not None:
            stages.append(self.body)
        self.stages: tuple[Stage, ...] = tuple(stages)
        self.solver = Solver(rig, config.solver) if rig is not None else None
        self.hands = HandSolver(rig, config.hands) if rig is not None and config.hands is not None else None
        self.face = FaceSolver(config.face) if rig is not None and config.face is not None else None
        self.continuity = QuaternionContinuity()

    def landmarks(self, frame: LandmarkFrame) -> LandmarkFrame:
        """``frame`` through the landmark stages."""
        for stage in self.stages:
            frame = stage(frame)
        return frame

    def __call__(self, frame: LandmarkFrame, received_s: float = math.nan) -> FrameResult:
        """Process one tracked frame."""
        return self._solve(frame, self.landmarks(frame), received_s)

    def _solve(self, frame: LandmarkFrame, landmarks: LandmarkFrame, received_s: float) -> FrameResult:
        if self.solver is None:
            return FrameResult(frame, landmarks, received_s=received_s)
        return self._finish(frame, landmarks, self.solver(landmarks), received_s)

    def _finish(
        self, frame: LandmarkFrame, landmarks: LandmarkFrame, pose: BonePose, received_s: float
    ) -> FrameResult:
        """The solved body ``pose`` of ``landmarks`` eased in, with hands and face, in quaternion continuity."""
        ease = landmarks.flags.get(EASE_IN_FLAG)
        if isinstance(ease, float) and ease < 1.0:
            pose = ease_in_pose(pose, ease)
        if self.hands is not None and landmarks.hands is not None:
            pose = self.hands(landmarks, pose)
        blendshapes = None
        if self.face is not None:
            out = self.face(landmarks, pose)
            pose, blendshapes = out.pose, out.blendshapes
        rotations = self.continuity(pose.local_rotations)
        if rotations is not pose.local_rotations:  # most frames: no sign to change, the same object back
            pose = dataclasses.replace(pose, local_rotations=rotations)
        return FrameResult(frame, landmarks, pose, blendshapes, received_s)

    def process_offline(self, frames: list[LandmarkFrame]) -> list[FrameResult]:
        """A whole clip at once, looking ahead: the stages without the One-Euro filter, then the zero-phase
        low-pass (``offline_cutoff_hz``, where a filter is configured), the body state's offline form, the
        solvers."""
        return list(self.iter_offline(frames))

    def iter_offline_windows(self, frames: Iterable[LandmarkFrame], window_s: float) -> Iterator[FrameResult]:
        """:meth:`iter_offline` over consecutive windows of ``window_s`` seconds of a take of any length, so that
        memory is bounded by the window, not the take (the stages' state carries on from window to window; the
        zero-phase smoothing and the body state's look-ahead see one window at a time)."""
        buffer: list[LandmarkFrame] = []
        for frame in frames:
            if buffer and frame.t_s - buffer[0].t_s >= window_s:
                yield from self.iter_offline(buffer)
                buffer = []
            buffer.append(frame)
        if buffer:
            yield from self.iter_offline(buffer)

    def iter_offline(self, frames: list[LandmarkFrame]) -> Iterator[FrameResult]:
        """:meth:`process_offline` solving a chunk of :data:`OFFLINE_SOLVE_FRAMES` at a time as it is asked for
        (the landmark stages see the whole clip; the solved poses need not all be held at once, see
        :mod:`bridge.export.take`)."""
        staged = list(frames)
        for stage in self.stages:
            if isinstance(stage, (LandmarkFilter, BodyState)):
                continue
            staged = [stage(f) for f in staged]
        if self.config.filter is not None and self.config.offline_cutoff_hz > 0 and staged:
            staged = _lowpassed(staged, self.config.offline_cutoff_hz)
        if self.body is not None:
            staged = self.body.offline(staged)
        if self.solver is None:
            yield from (FrameResult(raw, f) for raw, f in zip(frames, staged, strict=True))
            return
        for start in range(0, len(staged), OFFLINE_SOLVE_FRAMES):  # the body solve vectorised over a chunk
            chunk = staged[start : start + OFFLINE_SOLVE_FRAMES]
            poses = self.solver.solve_frames(chunk)
            for raw, f, pose in zip(frames[start : start + len(chunk)], chunk, poses, strict=True):
                yield self._finish(raw, f, pose, math.nan)


def _lowpassed(frames: list[LandmarkFrame], cutoff_hz: float) -> list[LandmarkFrame]:
    """The frames with world and image landmarks low-passed zero-phase (as ``analyze`` does)."""
    track = lowpass_track(track_from_frames(frames), cutoff_hz)
    out = []
    for k, f in enumerate(frames):
        if not f.person:
            out.append(f)
            continue
        image = to_normalised(track.image_px[k], track.image_size) if f.image_size else f.image_xy
        out.append(f.replace(world_xyz_m=track.world_xyz_m[k], image_xy=image))
    return out
