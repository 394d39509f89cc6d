"""``bridge stream``: every frame of the run loop encoded for each receiver's protocol and sent over UDP.

:func:`run_stream` drives the run loop (:mod:`bridge.app.run`: tracker, processor), the encoders
(:mod:`bridge.output.protocols`) and the UDP sender (:mod:`bridge.output.transport`), caps the send rate, and
reports a compact status line (:mod:`bridge.app.status`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bridge.app.processor import FrameResult, Processor, ProcessorConfig
from bridge.app.run import open_run
from bridge.app.status import StatusLine
from bridge.core.rig import Rig, load_rig
from bridge.output.protocols import LAN_DATAGRAM_BYTES, EncoderConfig, encode_frame, encoder_config_for
from bridge.output.transport import OscTarget, RateLimiter, UdpSender
from bridge.stages.flips import SWAPPED_FLAG
from bridge.tracking.config import TrackerConfig
from bridge.tracking.process import DETECTED_TIME_FLAG, DROPPED_FLAG, READ_TIME_FLAG


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
        tracker, processor, encoders: the stages' settings (encoders: VMC and VRChat).
        max_rate_hz: send-rate cap; frames arriving faster are skipped (counted), never delayed; 0 = no cap
            (for tests and offline replays; the command line keeps 1..200).
        realtime: pace file inputs (video, recording) at their own frame rate, as a camera would deliver them.
        max_frames: stop after this many frames (None: until the input ends or Ctrl-C).
        status_interval_s: how often the status line is refreshed.
        lan_datagram_bytes: VMC targets that are not loopback addresses get frames split into datagrams of at
            most this many bytes when ``encoders`` sets no limit
            (:func:`bridge.output.protocols.encoder_config_for`); None: one bundle a frame everywhere.
        views, calibration: two or more inputs triangulated with that calibration (:mod:`bridge.app.multiview`;
            then ``input_text`` is only the first); ``()``: one input.
    """

    input_text: str | None
    targets: tuple[StreamTarget, ...]
    rig: Rig = field(default_factory=load_rig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    processor: ProcessorConfig = field(default_factory=ProcessorConfig)
    encoders: EncoderConfig = field(default_factory=EncoderConfig)
    max_rate_hz: float = 60.0
    realtime: bool = True
    max_frames: int | None = None
    status_interval_s: float = 0.5
    lan_datagram_bytes: int | None = LAN_DATAGRAM_BYTES
    views: tuple[str, ...] = ()
    calibration: str | Path | None = None


#: Frames the per-frame statistics of :class:`StreamStats` keep (the latest; about 68 s at 60 fps).
STATS_WINDOW = 4096


@dataclass
class StreamStats:
    """What a stream did, for the final summary and the benchmarks.

    ``latencies_ms``: frame read → last datagram sent, per sent frame; ``added_ms``: inference finished →
    last datagram sent (the bridge's own cost: queue hand-over, repair, filter, solve, encode, send), split into
    ``handover_ms`` (inference finished → frame in this process) and ``process_ms`` (→ datagrams sent). Each
    keeps the last :data:`STATS_WINDOW` frames only, so a stream of any length holds bounded statistics.
    """

    frames: int = 0
    sent: int = 0
    skipped: int = 0
    dropped: int = 0
    nominal_fps: float | None = None
    tracked: int = 0
    lr_swaps: int = 0
    started_s: float = field(default_factory=time.monotonic)
    ended_s: float = 0.0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=STATS_WINDOW))
    added_ms: deque[float] = field(default_factory=lambda: deque(maxlen=STATS_WINDOW))
    handover_ms: deque[float] = field(default_factory=lambda: deque(maxlen=STATS_WINDOW))
    process_ms: deque[float] = field(default_factory=lambda: deque(maxlen=STATS_WINDOW))
    description: str = ""

    @property
    def fps(self) -> float:
        end = self.ended_s or time.monotonic()
        return self.frames / max(end - self.started_s, 1e-9)

    def summary(self) -> str:
        lat = f"{np.median(self.latencies_ms):.1f} ms" if self.latencies_ms else "n/a"
        added = f"{np.median(self.added_ms):.2f} ms" if self.added_ms else "n/a"
        dropped = f"{self.dropped} dropped (the machine could not keep up), " if self.dropped else ""
        return (
            f"{self.frames} frames at {self.fps:.1f} fps, {self.sent} sent, "
            f"{self.skipped} skipped by the rate cap, {dropped}"
            f"person tracked in {self.tracked}, left/right swaps repaired {self.lr_swaps}; "
            f"median latency {lat} (bridge's own part {added})"
        )

    def behind(self) -> str:
        """'' while the machine keeps up; else what shows it cannot: frames dropped, or a live input's frame
        rate below 90 % of what the camera delivers (after the first 2 s)."""
        if self.dropped:
            return f"behind: {self.dropped} frames dropped"
        elapsed = (self.ended_s or time.monotonic()) - self.started_s
        if self.nominal_fps and elapsed > 2.0 and self.fps < 0.9 * self.nominal_fps:
            return f"behind: {self.fps:.0f} of {self.nominal_fps:.0f} fps"
        return ""


def _record_sent(stats: StreamStats, result: FrameResult, sent_s: float) -> None:
    """Latency figures of a frame whose datagrams just left."""
    stats.sent += 1
    read_s = result.raw.flags.get(READ_TIME_FLAG)
    if isinstance(read_s, float):
        stats.latencies_ms.append((sent_s - read_s) * 1000.0)
    detected_s = result.raw.flags.get(DETECTED_TIME_FLAG)
    if isinstance(detected_s, float):
        stats.added_ms.append((sent_s - detected_s) * 1000.0)
        stats.handover_ms.append((result.received_s - detected_s) * 1000.0)
    stats.process_ms.append((sent_s - result.received_s) * 1000.0)


def _status_text(stats: StreamStats, tracking: bool, targets: int) -> str:
    lat = stats.latencies_ms[-1] if stats.latencies_ms else float("nan")
    behind = stats.behind()
    return (
        f"{stats.fps:5.1f} fps | latency {lat:5.1f} ms | "
        + ("tracking" if tracking else "no person")
        + f" | sent {stats.sent} to {targets} target(s)"
        + (f" | {behind}" if behind else "")
    )


def target_groups(config: StreamConfig) -> tuple[dict[tuple[str, EncoderConfig], list[OscTarget]], list[str]]:
    """The targets grouped by protocol and encoder settings (each group's frame is encoded once), and what to
    say about them at start (the targets whose VMC frames are split because they are not on this machine)."""
    groups: dict[tuple[str, EncoderConfig], list[OscTarget]] = {}
    split: list[OscTarget] = []
    for t in config.targets:
        encoders = config.encoders
        if t.protocol == "vmc":
            encoders = encoder_config_for(t.target, config.encoders, config.lan_datagram_bytes)
            if encoders is not config.encoders:
                split.append(t.target)
        groups.setdefault((t.protocol, encoders), []).append(t.target)
    notes = []
    if split:
        notes.append(
            f"{', '.join(map(str, split))}: not on this machine, so VMC frames go as bundles of at most "
            f"{config.lan_datagram_bytes} bytes (a network drops fragmented datagrams; --max-datagram sets "
            "another size, 0 one bundle a frame)"
        )
    return groups, notes


def run_stream(
    config: StreamConfig,
    status: StatusLine | None = None,
    on_result: Callable[[FrameResult], None] | None = None,
) -> StreamStats:
    """Track ``config.input_text`` and stream every frame to ``config.targets`` until the input ends,
    ``max_frames`` is reached, or Ctrl-C (KeyboardInterrupt propagates after everything is closed).

    ``on_result`` (optional) sees every processed frame — the BVH recorder hooks in here.
    """
    status = status or StatusLine(config.status_interval_s)
    processor = Processor(config.rig, config.processor)
    limiter = RateLimiter(config.max_rate_hz) if config.max_rate_hz > 0 else None
    groups, notes = target_groups(config)
    stats = StreamStats()
    was_tracking: bool | None = None
    with (
        open_run(config.input_text, config.tracker, processor, realtime=config.realtime,
                 max_frames=config.max_frames, on_note=status.message, views=config.views,
                 calibration=config.calibration) as (info, results),
        UdpSender([t.target for t in config.targets], on_status=status.message) as sender,
    ):  # fmt: skip
        stats.description = info.description
        stats.nominal_fps = info.fps if info.live else None
        status.message(
            f"streaming {info.description} to "
            + ", ".join(f"{t.target} ({t.protocol})" for t in config.targets)
            + (" — Ctrl-C to stop" if info.live else "")
        )
        for line in notes:
            status.message(line)
        stats.started_s = time.monotonic()
        for result in results:
            pose = result.pose
            assert pose is not None
            stats.frames += 1
            stats.tracked += int(result.raw.person)
            stats.lr_swaps += int(bool(result.landmarks.flags.get(SWAPPED_FLAG, False)))
            dropped = result.raw.flags.get(DROPPED_FLAG)
            if isinstance(dropped, int):
                stats.dropped = max(stats.dropped, dropped)
            now = time.monotonic()
            if limiter is None or limiter.allow(now):
                for (proto, encoders), group in groups.items():
                    grams = encode_frame({proto}, pose, now - stats.started_s, result.blendshapes, encoders)
                    sender.send(grams[proto], group)
                _record_sent(stats, result, time.monotonic())
            else:
                stats.skipped += 1
            if on_result is not None:
                on_result(result)
            if was_tracking is not None and pose.tracking != was_tracking:
                status.message(
                    "tracking " + ("regained" if pose.tracking else "lost: holding, then easing to rest")
                )
            was_tracking = pose.tracking
            status.update(_status_text(stats, pose.tracking, len(config.targets)), now)
        stats.ended_s = time.monotonic()
        stats.dropped = max(stats.dropped, results.dropped_frames)
    status.close()
    return stats
