"""``bridge stream``: track a camera or a file and drive avatars over OSC (VMC protocol, VRChat OSC trackers)."""

from __future__ import annotations

import argparse
import sys

from bridge.app.stream import ProcessorConfig, StatusLine, StreamConfig, StreamTarget, run_stream
from bridge.avatar.load import load_rig_or_avatar
from bridge.avatar.read import read_avatar
from bridge.cli.options import float_in as _float_in
from bridge.core.errors import BridgeError
from bridge.core.rig import Rig
from bridge.output.transport import parse_osc_target, select_protocol
from bridge.output.vmc import VMC_DEFAULT_PORT, VmcConfig
from bridge.output.vrchat import TRACKER_PARTS, VrchatConfig
from bridge.solve.body import SolverConfig
from bridge.solve.face import NAME_SETS, FaceConfig
from bridge.solve.hands import HandConfig
from bridge.stages.filter import OneEuroConfig
from bridge.stages.flips import FlipRepairConfig
from bridge.stages.lifter import LIFTER_CHOICES, LifterConfig

DEFAULT_TARGET = f"127.0.0.1:{VMC_DEFAULT_PORT}"


class _AvatarAction(argparse.Action):
    """``--avatar FILE``: stored as ``args.avatar`` and also as ``args.rig`` (``load_rig`` reads avatar files),
    so code that still calls ``load_rig(args.rig)`` uses the avatar too; :func:`rig_from_args` is the way."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        setattr(namespace, self.dest, values)
        namespace.rig = values


def add_pose_args(parser: argparse.ArgumentParser) -> None:
    """Options of the landmark → pose chain, shared by every command that solves poses."""
    group = parser.add_argument_group("pose")
    group.add_argument(
        "--rig", default="default", help="rig name in avatars/ or a rig .json file (default: default)"
    )
    group.add_argument(
        "--avatar", metavar="FILE", default=None, action=_AvatarAction,
        help="your avatar (.vrm VRM 0.x/1.0, .glb, .gltf): use its skeleton's proportions as the rig "
        "(takes precedence over --rig)",
    )  # fmt: skip
    group.add_argument(
        "--mirror", action="store_true", help="the avatar mirrors you (your right hand moves its left)"
    )
    group.add_argument(
        "--hold",
        type=_float_in(0, 60),
        default=0.5,
        metavar="S",
        help="seconds a lost bone (or person) holds its last pose before easing to rest (default 0.5)",
    )
    group.add_argument(
        "--ease",
        type=_float_in(0, 60),
        default=1.0,
        metavar="S",
        help="seconds to ease back to the rest pose after the hold (default 1.0)",
    )
    group.add_argument(
        "--min-cutoff",
        type=_float_in(0.01, 100),
        default=OneEuroConfig().min_cutoff_hz,
        metavar="HZ",
        help="One-Euro cutoff at rest: lower = smoother, more lag (default %(default)s)",
    )
    group.add_argument(
        "--beta",
        type=_float_in(0, 1000),
        default=OneEuroConfig().beta,
        metavar="PER_M",
        help="One-Euro speed coefficient: higher = less lag in fast moves (default %(default)s)",
    )
    group.add_argument("--no-filter", action="store_true", help="do not smooth the landmarks")
    group.add_argument("--no-flip-repair", action="store_true", help="do not repair MediaPipe's left/right swaps")
    group.add_argument("--lifter", choices=LIFTER_CHOICES, default="mediapipe",
                       help="3-D landmarks from MediaPipe's world output, or from the temporal lifter over the "
                       "last 27 frames of 2-D landmarks (default %(default)s)")  # fmt: skip


def rig_from_args(args: argparse.Namespace) -> Rig:
    """The rig chosen with :func:`add_pose_args`: ``--avatar`` (read with :func:`bridge.avatar.read.read_avatar`)
    if given, else ``--rig``. Every command that uses ``add_pose_args`` gets its rig here."""
    avatar = getattr(args, "avatar", None)
    if avatar:
        return read_avatar(avatar)
    return load_rig_or_avatar(getattr(args, "rig", "default"))


def processor_config_from_args(args: argparse.Namespace) -> ProcessorConfig:
    """The landmark → pose settings chosen with :func:`add_pose_args`."""
    return ProcessorConfig(
        flips=None if args.no_flip_repair else FlipRepairConfig(),
        filter=None if args.no_filter else OneEuroConfig(min_cutoff_hz=args.min_cutoff, beta=args.beta),
        solver=SolverConfig(mirror=args.mirror, hold_s=args.hold, ease_s=args.ease),
        lifter=LifterConfig() if getattr(args, "lifter", "mediapipe") == "temporal" else None,
        hands=HandConfig(mirror=args.mirror, hold_s=args.hold, ease_s=args.ease),
        face=FaceConfig(
            mirror=args.mirror, hold_s=args.hold, ease_s=args.ease, names=getattr(args, "blendshapes", "vrm0")
        ),
    )


def configure_stream(parser: argparse.ArgumentParser) -> None:
    from bridge.cli.main import add_input_args

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
        type=_float_in(1, 200),
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
        help="VMC: split each frame's bundle into datagrams of at most BYTES (e.g. 1400 on a LAN)",
    )
    group.add_argument(
        "--trackers",
        default=",".join(VrchatConfig().trackers),
        metavar="LIST",
        help="VRChat trackers, comma-separated from: " + ", ".join(TRACKER_PARTS) + " (default %(default)s)",
    )
    group.add_argument(
        "--height",
        type=_float_in(0.5, 2.5),
        default=1.7,
        metavar="M",
        help="VRChat: your height in metres; tracker positions are scaled to it (default 1.7)",
    )
    group.add_argument(
        "--no-head", action="store_true", help="VRChat: do not send the head tracker used for alignment"
    )
    group.add_argument(
        "--blendshapes", choices=NAME_SETS, default="vrm0",
        help="VMC with --track face: blend shape names sent: arkit (52 Perfect Sync names), vrm0 (Blink_L, A, "
        "Joy, ...) or vrm1 (blinkLeft, aa, happy, ...) (default %(default)s)",
    )  # fmt: skip
    add_pose_args(parser)
    run = parser.add_argument_group("run")
    run.add_argument(
        "--fast", action="store_true", help="files: stream as fast as tracking goes, not at the file's speed"
    )
    run.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N frames")
    from bridge.cli.export import add_record_bvh_args

    add_record_bvh_args(parser)


def stream_config_from_args(args: argparse.Namespace) -> StreamConfig:
    """Parse and validate every option before anything starts (bad --osc → a one-line error)."""
    from bridge.cli.main import resolve_input, tracker_config_from_args

    texts = args.osc or [DEFAULT_TARGET]
    targets = []
    for text in texts:
        target = parse_osc_target(text)
        targets.append(StreamTarget(target, select_protocol(target, args.protocol)))
    if args.max_datagram is not None and args.max_datagram < 128:
        raise BridgeError(
            f"--max-datagram {args.max_datagram} is too small; use at least 128 bytes (1400 on a LAN)"
        )
    trackers = tuple(t.strip() for t in args.trackers.split(",") if t.strip())
    vrchat = VrchatConfig(trackers=trackers, height_m=args.height, send_head=not args.no_head)
    if args.max_frames is not None and args.max_frames <= 0:
        raise BridgeError(f"--max-frames must be a positive number of frames, got {args.max_frames}")
    if not args.osc:
        print(f"bridge: no --osc given: sending VMC to {DEFAULT_TARGET}", file=sys.stderr)
    return StreamConfig(
        input_text=resolve_input(args),
        targets=tuple(targets),
        rig=rig_from_args(args),
        tracker=tracker_config_from_args(args),
        processor=processor_config_from_args(args),
        vmc=VmcConfig(bundle=not args.no_bundle, max_datagram_bytes=args.max_datagram),
        vrchat=vrchat,
        max_rate_hz=args.rate,
        realtime=not args.fast,
        max_frames=args.max_frames,
    )


def cmd_stream(args: argparse.Namespace) -> int:
    config = stream_config_from_args(args)
    status = StatusLine(config.status_interval_s)
    from bridge.cli.export import open_bvh_recorder

    with open_bvh_recorder(args, config.rig) as recorder:
        stats = run_stream(config, status, on_pose=recorder.on_pose if recorder is not None else None)
    status.message("done: " + stats.summary())
    return 0
