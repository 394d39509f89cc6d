"""Wiring of the stages: tracker → flip repair → One-Euro filter → solver → encoders → UDP.

:class:`Processor` is the chain every command shares (landmark frame in, bone pose out); :func:`run_stream`
is ``bridge stream``: it drives the tracker, the processor, the VMC / VRChat encoders and the UDP sender, caps
the send rate, paces file inputs at their own speed, and reports a compact status line.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from bridge.core.landmarks import LandmarkFrame
from bridge.core.pose import BonePose
from bridge.core.rig import Rig, load_rig
from bridge.output.transport import OscTarget, RateLimiter, UdpSender
from bridge.output.vmc import VmcConfig, encode_vmc_frame
from bridge.output.vrchat import VrchatConfig, encode_vrchat_frame
from bridge.solve.body import Solver, SolverConfig
from bridge.solve.face import FaceConfig, FaceSolver
from bridge.solve.hands import HandConfig, HandSolver
from bridge.stages.filter import LandmarkFilter, OneEuroConfig
from bridge.stages.flips import FlipRepair, FlipRepairConfig
from bridge.stages.lifter import CausalLifter, LifterConfig
from bridge.tracking.config import TrackerConfig
from bridge.tracking.process import DETECTED_TIME_FLAG, READ_TIME_FLAG, open_landmarks


@dataclass(frozen=True)
class ProcessorConfig:
    """Settings of the landmark → pose chain.

    Attributes:
        flips: left/right swap repair settings; None turns the repair off.
        filter: One-Euro settings; None turns filtering off.
        solver: solver settings (including the mirror option).
        lifter: temporal 3-D lifter (``--lifter temporal``); None keeps MediaPipe's world landmarks. It runs
            after the flip repair (so its 2-D window is labelled consistently: one swapped frame would
            disturb every output whose window holds it) and before the filter (which smooths what it made).
        hands: finger stage (:mod:`bridge.solve.hands`), applied to the solved pose when frames carry hands; None
            turns it off. Its ``mirror`` is taken from ``solver.mirror``.
        face: face stage (:mod:`bridge.solve.face`: head, eyes, blend shapes); None turns it off. Its ``mirror`` is
            taken from ``solver.mirror``.
    """

    flips: FlipRepairConfig | None = field(default_factory=FlipRepairConfig)
    filter: OneEuroConfig | None = field(default_factory=OneEuroConfig)
    solver: SolverConfig = field(default_factory=SolverConfig)
    lifter: LifterConfig | None = None
    hands: HandConfig | None = field(default_factory=HandConfig)
    face: FaceConfig | None = field(default_factory=FaceConfig)


class Processor:
    """Landmark frame → bone pose: flip repair, then the One-Euro filter, then the solver (stateful, live)."""

    def __init__(self, rig: Rig, config: ProcessorConfig = ProcessorConfig()) -> None:
        self.rig = rig
        self.config = config
        self.flips = FlipRepair(config.flips) if config.flips is not None else None
        self.lifter = CausalLifter(config.lifter) if config.lifter is not None else None
        self.filter = LandmarkFilter(config.filter) if config.filter is not None else None
        self.solver = Solver(rig, config.solver)
        mirror = config.solver.mirror
        self.hands = HandSolver(rig, dataclasses.replace(config.hands, mirror=mirror)) if config.hands else None
        self.face = FaceSolver(dataclasses.replace(config.face, mirror=mirror)) if config.face else None
        #: blend shape name → weight of the last frame :meth:`pose` solved (None: no face seen yet).
        self.blendshapes: dict[str, float] | None = None

    def landmarks(self, frame: LandmarkFrame) -> LandmarkFrame:
        """The repaired, filtered landmarks of ``frame`` (what the solver sees)."""
        if self.flips is not None:
            frame = self.flips(frame)
        if self.lifter is not None:
            frame = self.lifter(frame)
        if self.filter is not None:
            frame = self.filter(frame)
        return frame

    def pose(self, landmarks: LandmarkFrame) -> BonePose:
        """Solve already repaired/filtered landmarks: the body, then the hands' fingers and the face's head and
        eyes where the frame carries them (sets :attr:`blendshapes`)."""
        pose = self.solver(landmarks)
        if self.hands is not None and landmarks.hands is not None:
            pose = self.hands(landmarks, pose)
        if self.face is not None:
            out = self.face(landmarks, pose)
            pose, self.blendshapes = out.pose, out.blendshapes
        return pose

    def __call__(self, frame: LandmarkFrame) -> BonePose:
        return self.pose(self.landmarks(frame))

    def run(self, frames: Iterable[LandmarkFrame]) -> Iterator[tuple[LandmarkFrame, BonePose]]:
        """Process a sequence: yields (filtered landmarks, pose) per frame."""
        for frame in frames:
            lm = self.landmarks(frame)
            yield lm, self.pose(lm)


@dataclass(frozen=True)
class StreamTarget:
    """One receiver and the protocol it speaks (``vmc`` or ``vrchat``)."""

    target: OscTarget
    protocol: str


@dataclass(frozen=True)
class StreamConfig:
    """Settings of ``bridge stream``.

    Attributes:
        input_text: what to track (see :mod:`bridge.tracking.sources`); None is resolved by the caller.
        targets: receivers; every frame goes to all of them, each in its protocol.
        rig: the avatar's skeleton (its rest offsets are the VMC bone positions).
        tracker, processor, vmc, vrchat: the stages' settings.
        max_rate_hz: send-rate cap; frames arriving faster are skipped (counted), never delayed; 0 = no cap
            (for tests and offline replays; the command line keeps 1..200).
        realtime: pace file inputs (video, recording) at their own frame rate, as a camera would deliver them.
        max_frames: stop after this many frames (None: until the input ends or Ctrl-C).
        status_interval_s: how often the status line is refreshed.
    """

    input_text: str | None
    targets: tuple[StreamTarget, ...]
    rig: Rig = field(default_factory=load_rig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    processor: ProcessorConfig = field(default_factory=ProcessorConfig)
    vmc: VmcConfig = field(default_factory=VmcConfig)
    vrchat: VrchatConfig = field(default_factory=VrchatConfig)
    max_rate_hz: float = 60.0
    realtime: bool = True
    max_frames: int | None = None
    status_interval_s: float = 0.5


@dataclass
class StreamStats:
    """What a stream did, for the final summary and the benchmarks.

    ``latencies_ms``: frame read → last datagram sent, per sent frame; ``added_ms``: inference finished →
    last datagram sent (the bridge's own cost: queue hand-over, repair, filter, solve, encode, send), split into
    ``handover_ms`` (inference finished → frame in this process) and ``process_ms`` (→ datagrams sent).
    """

    frames: int = 0
    sent: int = 0
    skipped: int = 0
    tracked: int = 0
    lr_swaps: int = 0
    started_s: float = field(default_factory=time.monotonic)
    ended_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    added_ms: list[float] = field(default_factory=list)
    handover_ms: list[float] = field(default_factory=list)
    process_ms: list[float] = field(default_factory=list)
    description: str = ""

    @property
    def fps(self) -> float:
        end = self.ended_s or time.monotonic()
        return self.frames / max(end - self.started_s, 1e-9)

    def summary(self) -> str:
        lat = f"{np.median(self.latencies_ms):.1f} ms" if self.latencies_ms else "n/a"
        added = f"{np.median(self.added_ms):.2f} ms" if self.added_ms else "n/a"
        return (
            f"{self.frames} frames at {self.fps:.1f} fps, {self.sent} sent, "
            f"{self.skipped} skipped by the rate cap, "
            f"person tracked in {self.tracked}, left/right swaps repaired {self.lr_swaps}; "
            f"median latency {lat} (bridge's own part {added})"
        )


class StatusLine:
    """A compact, self-refreshing status line on a terminal (a plain line now and then otherwise)."""

    def __init__(self, interval_s: float, stream=None) -> None:  # type: ignore[no-untyped-def]
        self.interval_s = interval_s
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self._dirty = False

    def update(self, text: str, now_s: float) -> None:
        period = self.interval_s if self.tty else max(self.interval_s, 5.0)
        if now_s - self._last < period:
            return
        self._last = now_s
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
            self._dirty = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        """A line that stays (target problems, tracking changes)."""
        if self._dirty:
            self.stream.write("\r\x1b[2K")
            self._dirty = False
        self.stream.write(f"bridge: {text}\n")
        self.stream.flush()

    def close(self) -> None:
        if self._dirty:
            self.stream.write("\n")
            self.stream.flush()


def encode_for_targets(
    pose: BonePose,
    t_s: float,
    config: StreamConfig,
    protocols: set[str],
    blendshapes: dict[str, float] | None = None,
) -> dict[str, list[bytes]]:
    """The datagrams of one frame for each protocol in use (encoders only: no sockets here); ``blendshapes``
    (name → weight) travel with the VMC frame as ``/VMC/Ext/Blend/Val`` … ``/VMC/Ext/Blend/Apply``."""
    out: dict[str, list[bytes]] = {}
    if "vmc" in protocols:
        out["vmc"] = encode_vmc_frame(pose, t_s, config.vmc, blendshapes=blendshapes)
    if "vrchat" in protocols:
        out["vrchat"] = encode_vrchat_frame(pose, config.vrchat)
    return out


def run_stream(
    config: StreamConfig,
    status: StatusLine | None = None,
    on_pose: Callable[[LandmarkFrame, BonePose], None] | None = None,
) -> StreamStats:
    """Track ``config.input_text`` and stream every frame to ``config.targets`` until the input ends,
    ``max_frames`` is reached, or Ctrl-C (KeyboardInterrupt propagates after everything is closed).

    ``on_pose`` (optional) sees every processed frame — the viewer and the BVH recorder hook in here.
    """
    status = status or StatusLine(config.status_interval_s)
    processor = Processor(config.rig, config.processor)
    limiter = RateLimiter(config.max_rate_hz) if config.max_rate_hz > 0 else None
    protocols = {t.protocol for t in config.targets}
    by_protocol = {p: [t.target for t in config.targets if t.protocol == p] for p in protocols}
    stats = StreamStats()
    was_tracking: bool | None = None
    # Files play at their own speed: the tracker process reads each frame at its time, as a camera would, so
    # latency figures stay true; recordings (no tracker process) are paced here.
    tracker_config = dataclasses.replace(config.tracker, realtime=config.realtime)
    with (
        open_landmarks(config.input_text, tracker_config) as (info, frames),
        UdpSender([t.target for t in config.targets], on_status=status.message) as sender,
    ):
        stats.description = info.description
        status.message(
            f"streaming {info.description} to "
            + ", ".join(f"{t.target} ({t.protocol})" for t in config.targets)
            + (" — Ctrl-C to stop" if info.live else "")
        )
        pace_start: float | None = None
        first_t: float | None = None
        stats.started_s = time.monotonic()
        for frame in frames:
            received_s = time.monotonic()
            if config.realtime and not info.live and READ_TIME_FLAG not in frame.flags:
                # A recording: deliver its frames at their own speed, as a camera would.
                now = time.monotonic()
                if pace_start is None:
                    pace_start, first_t = now, frame.t_s
                assert first_t is not None
                delay = pace_start + (frame.t_s - first_t) - now
                if delay > 0:
                    time.sleep(delay)
            work_s = time.monotonic()
            pose_lm = processor.landmarks(frame)
            pose = processor.pose(pose_lm)
            stats.frames += 1
            stats.tracked += int(frame.person)
            stats.lr_swaps += int(bool(pose_lm.flags.get("lr_swapped", False)))
            now = time.monotonic()
            if limiter is None or limiter.allow(now):
                datagrams = encode_for_targets(
                    pose, now - stats.started_s, config, protocols, blendshapes=processor.blendshapes
                )
                for proto, grams in datagrams.items():
                    sender.send(grams, by_protocol[proto])
                sent_s = time.monotonic()
                stats.sent += 1
                read_s = frame.flags.get(READ_TIME_FLAG)
                if isinstance(read_s, float):
                    stats.latencies_ms.append((sent_s - read_s) * 1000.0)
                detected_s = frame.flags.get(DETECTED_TIME_FLAG)
                if isinstance(detected_s, float):
                    stats.added_ms.append((sent_s - detected_s) * 1000.0)
                    stats.handover_ms.append((received_s - detected_s) * 1000.0)
                stats.process_ms.append((sent_s - work_s) * 1000.0)
            else:
                stats.skipped += 1
            if on_pose is not None:
                on_pose(pose_lm, pose)
            if was_tracking is not None and pose.tracking != was_tracking:
                status.message(
                    "tracking " + ("regained" if pose.tracking else "lost: holding, then easing to rest")
                )
            was_tracking = pose.tracking
            lat = stats.latencies_ms[-1] if stats.latencies_ms else float("nan")
            status.update(
                f"{stats.fps:5.1f} fps | latency {lat:5.1f} ms | "
                + ("tracking" if pose.tracking else "no person")
                + f" | sent {stats.sent} to {len(config.targets)} target(s)",
                now,
            )
            if config.max_frames is not None and stats.frames >= config.max_frames:
                break
        stats.ended_s = time.monotonic()
    status.close()
    return stats
