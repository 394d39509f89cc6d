"""``bridge stream``: track a camera or a file and drive avatars over OSC (VMC protocol, VRChat OSC trackers)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bridge.app.status import StatusLine
from bridge.app.stream import StreamConfig, StreamTarget, run_stream
from bridge.cli.options import (
    DEFAULT_EXPORT_FPS,
    add_input_args,
    add_pose_args,
    float_in,
    fps_value,
    note,
    processor_config_from_args,
    resolve_bone_space,
    resolve_input,
    resolve_views,
    rig_from_args,
    tracker_config_from_args,
)
from bridge.core.errors import BridgeError
from bridge.core.rig import Rig
from bridge.export.bvh import BVH_UNITS, BvhExportConfig, BvhRecorder
from bridge.output.protocols import LAN_DATAGRAM_BYTES, EncoderConfig, select_protocol
from bridge.output.transport import parse_osc_target
from bridge.output.vmc import BONE_SPACES, VMC_DEFAULT_PORT, VmcConfig
from bridge.output.vrchat import TRACKER_PARTS, VrchatConfig
from bridge.solve.face import NAME_SETS

DEFAULT_TARGET = f"127.0.0.1:{VMC_DEFAULT_PORT}"


def configure_stream(parser: argparse.ArgumentParser) -> None:
    add_input_args(parser)
    group = parser.add_argument_group("output")
    group.add_argument(
        "--osc",
        action="append",
        metavar="HOST:PORT",
        default=None,
        help=f"receiver; repeat for several (default {DEFAULT_TARGET}, VMC). Port 9000 means VRChat, "
        f"{VMC_DEFAULT_PORT} VMC; other ports need --protocol",
    )
    group.add_argument(
        "--protocol", choices=("vmc", "vrchat"), default=None, help="protocol for every --osc target"
    )
    group.add_argument(
        "--rate",
        type=float_in(1, 200),
        default=60.0,
        metavar="HZ",
        help="send at most this many frames per second (default 60)",
    )
    group.add_argument(
        "--no-bundle", action="store_true", help="VMC: send separate messages, not one bundle a frame"
    )
    group.add_argument(
        "--max-datagram",
        type=int,
        default=None,
        metavar="BYTES",
        help="VMC: split each frame's bundle into datagrams of at most BYTES; 0: one bundle a frame (default: "
        "1400 for targets that are not on this machine, one bundle a frame on 127.0.0.1)",
    )
    group.add_argument(
        "--trackers",
        default=",".join(VrchatConfig().trackers),
        metavar="LIST",
        help="VRChat trackers, comma-separated from: " + ", ".join(TRACKER_PARTS) + " (default %(default)s)",
    )
    group.add_argument(
        "--no-head", action="store_true", help="VRChat: do not send the head tracker used for alignment"
    )
    group.add_argument(
        "--head-rotation", action="store_true",
        help="VRChat: send the head tracker's rotation too (by default its position only: VRChat turns the "
        "whole tracking space toward a head rotation it is sent)",
    )  # fmt: skip
    group.add_argument(
        "--bone-space", choices=("auto", *BONE_SPACES), default="auto",
        help="VMC: local bone rotations relative to a normalised rest (identity rotations; VMC4B, EVMC4U with "
        "VRM 0.x or a VRM 1.0 control rig) or onto the --avatar file's own bone nodes (original; EVMC4U with "
        "VRM 1.0, VMC4UE); auto: original for a VRM 1.0 avatar whose bones are rotated at rest, else "
        "normalized (default auto)",
    )  # fmt: skip
    group.add_argument(
        "--blendshapes", choices=NAME_SETS, default="vrm0",
        help="VMC with --track face: blend shape names sent: arkit (the 52 Perfect Sync names as Apple spells "
        "them: jawOpen, ...), arkit-pascal (JawOpen, ...), vrm0 (Blink_L, A, Joy, ...) or vrm1 (blinkLeft, aa, "
        "happy, ...) (default %(default)s)",
    )  # fmt: skip
    add_pose_args(parser)
    run = parser.add_argument_group("run")
    run.add_argument(
        "--fast", action="store_true", help="files: stream as fast as tracking goes, not at the file's speed"
    )
    run.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N frames")
    add_record_bvh_args(parser)


def stream_config_from_args(args: argparse.Namespace) -> StreamConfig:
    """Parse and validate every option before anything starts (bad --osc → a one-line error)."""
    texts = args.osc or [DEFAULT_TARGET]
    targets = []
    for text in texts:
        target = parse_osc_target(text)
        targets.append(StreamTarget(target, select_protocol(target, args.protocol)))
    if args.max_datagram is not None and 0 != args.max_datagram < 128:
        raise BridgeError(
            f"--max-datagram {args.max_datagram} is too small; use at least 128 bytes (1400 on a LAN), or 0 for "
            "one bundle a frame"
        )
    chosen = args.max_datagram is not None
    max_datagram = args.max_datagram or None  # 0: one bundle a frame
    trackers = tuple(t.strip() for t in args.trackers.split(",") if t.strip())
    vrchat = VrchatConfig(
        trackers=trackers,
        height_m=args.height or VrchatConfig().height_m,
        send_head=not args.no_head,
        head_rotation=args.head_rotation,
    )
    if args.mirror and any(t.protocol == "vrchat" for t in targets):
        note(
            "warning: --mirror with a VRChat target: a mirrored body cannot match your headset and controllers "
            "(your left hand would move the avatar's right); leave --mirror off for VRChat"
        )
    if args.max_frames is not None and args.max_frames <= 0:
        raise BridgeError(f"--max-frames must be a positive number of frames, got {args.max_frames}")
    if not args.osc:
        print(f"bridge: no --osc given: sending VMC to {DEFAULT_TARGET}", file=sys.stderr)
    rig = rig_from_args(args)
    bone_space = resolve_bone_space(args.bone_space, rig)
    return StreamConfig(
        input_text=resolve_input(args) if not resolve_views(args) else args.input,
        views=resolve_views(args),
        calibration=args.calibration,
        targets=tuple(targets),
        rig=rig,
        tracker=tracker_config_from_args(args),
        processor=processor_config_from_args(args),
        encoders=EncoderConfig(
            VmcConfig(bundle=not args.no_bundle, max_datagram_bytes=max_datagram, bone_space=bone_space), vrchat
        ),
        lan_datagram_bytes=None if chosen else LAN_DATAGRAM_BYTES,
        max_rate_hz=args.rate,
        realtime=not args.fast,
        max_frames=args.max_frames,
    )


def cmd_stream(args: argparse.Namespace) -> int:
    config = stream_config_from_args(args)
    status = StatusLine(config.status_interval_s)
    with open_bvh_recorder(args, config.rig) as recorder:
        on_result = None if recorder is None else lambda result: recorder.add(result.pose)
        stats = run_stream(config, status, on_result=on_result)
    status.message("done: " + stats.summary())
    return 0


# --------------------------------------------------------------------------------------------------------------
# bridge stream --record-bvh


def add_record_bvh_args(parser: argparse.ArgumentParser) -> None:
    """``--record-bvh FILE``, ``--record-fps N``: record the solved motion while streaming (``bridge stream``)."""
    group = parser.add_argument_group("BVH recording")
    group.add_argument("--record-bvh", metavar="FILE", type=Path, default=None,
                       help="also record the solved motion to this BVH file (stays valid on Ctrl-C)")  # fmt: skip
    group.add_argument("--record-fps", type=fps_value, default=DEFAULT_EXPORT_FPS, metavar="N",
                       help="frames per second of --record-bvh (default %(default)g)")  # fmt: skip
    group.add_argument("--record-unit", choices=tuple(BVH_UNITS), default="cm",
                       help="unit of --record-bvh (default cm)")  # fmt: skip


@contextmanager
def open_bvh_recorder(args: argparse.Namespace, rig: Rig) -> Iterator[BvhRecorder | None]:
    """A :class:`BvhRecorder` for ``--record-bvh`` (None without it), closed — file made consistent — on exit,
    Ctrl-C included."""
    path: Path | None = getattr(args, "record_bvh", None)
    if path is None:
        yield None
        return
    if not path.parent.is_dir():
        raise BridgeError(f"cannot write {path}: folder {path.parent} does not exist; create it first")
    recorder = BvhRecorder(path, rig, fps=args.record_fps, config=BvhExportConfig(unit=args.record_unit))
    try:
        yield recorder
    finally:
        recorder.close()
        if recorder.frames_written:
            note(f"recorded {recorder.frames_written} frames at {args.record_fps:g} fps to {path}")
        else:
            note(f"no frame was recorded; {path} not written")
