"""``bridge export``: track a recording or a video, solve the rig, and write the motion as BVH (and/or glTF).

The landmark → pose chain is the one ``bridge stream`` uses (:class:`~bridge.app.processor.Processor` in the run
loop of :mod:`bridge.app.run`) with the same ``--rig``/``--mirror``/filter options, so an export looks like what
a live receiver got. The poses are resampled to ``--fps`` (default: the input's own rate) and written by
:class:`bridge.export.take.TakeWriter` (format: see :mod:`bridge.export.bvh` and the README's "Export" section),
in chunks, so memory does not grow with the recording's length. No output may be an input or another output, and
existing files are replaced only with ``--force``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bridge.app.processor import Processor
from bridge.app.run import open_run
from bridge.cli.options import (
    DEFAULT_EXPORT_FPS,
    add_input_args,
    add_pose_args,
    float_in,
    fps_value,
    note,
    positive_int,
    processor_config_from_args,
    resolve_views,
    rig_from_args,
    tracker_config_from_args,
)
from bridge.core.errors import BridgeError
from bridge.core.files import check_outputs
from bridge.export.bvh import BVH_UNITS, BvhExportConfig
from bridge.export.take import TakeWriter
from bridge.tracking.sources import parse_input


def configure_export(parser: argparse.ArgumentParser) -> None:
    """Options of ``bridge export``."""
    parser.add_argument(
        "source", nargs="?", metavar="RECORDING|VIDEO", default=None,
        help="a bridge recording (.jsonl), a video file or a folder of images (or use --input)",
    )  # fmt: skip
    add_input_args(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--bvh", metavar="FILE", type=Path, default=None, help="BVH file to write")
    out.add_argument("--glb", metavar="FILE", type=Path, default=None,
                     help="glTF binary to write: the rig as a skin and the motion as an animation")  # fmt: skip
    out.add_argument("--fps", type=fps_value, default=None, metavar="N",
                     help="output frames per second; poses are resampled (default: the input's rate)")  # fmt: skip
    out.add_argument("--unit", choices=tuple(BVH_UNITS), default="cm",
                     help="unit of BVH offsets and hips positions (default cm; Blender: scale 0.01)")  # fmt: skip
    out.add_argument("--force", action="store_true", help="replace --bvh / --glb files that exist already")
    out.add_argument(
        "--offline-window", type=float_in(1, 86400, "window in seconds"), default=600.0, metavar="S",
        help="the offline smoothing and the body state look ahead within windows of S seconds (default "
        "%(default)g): memory is bounded by the window, not by the take's length",
    )  # fmt: skip
    out.add_argument(
        "--max-frames", type=positive_int, default=None, metavar="N", help="use only the first N frames"
    )
    add_pose_args(parser)


def _input_text(args: argparse.Namespace) -> str:
    if args.source is not None and args.input is not None:
        raise BridgeError("give the input once: either as RECORDING|VIDEO or with --input, not both")
    text = args.source if args.source is not None else args.input
    if text is None:
        raise BridgeError("nothing to export: pass a recording or a video, e.g. bridge export a.jsonl --bvh a.bvh")
    if parse_input(text).live:
        raise BridgeError(
            f"bridge export reads files, not cameras ({text}); to record a camera use bridge stream --record-bvh F"
        )
    return str(text)


def cmd_export(args: argparse.Namespace) -> int:
    """Track the input, solve every frame, and write the motion as BVH and/or glTF (the landmarks are held for
    the offline chain; the poses are solved and written in chunks, see :mod:`bridge.export.take`)."""
    input_text = _input_text(args)
    if args.bvh is None and args.glb is None:
        raise BridgeError("say what to write: --bvh FILE.bvh and/or --glb FILE.glb")
    views = resolve_views(args)
    check_outputs([("--bvh", args.bvh), ("--glb", args.glb)], [input_text, *views], force=args.force)
    config = BvhExportConfig(unit=args.unit)
    rig = rig_from_args(args)
    processor = Processor(rig, processor_config_from_args(args, root_motion="planar"))
    count = tracked = 0
    tracker = tracker_config_from_args(args)
    with open_run(input_text, tracker, None, max_frames=args.max_frames, on_note=note, views=views,
                  calibration=args.calibration) as (info, run):  # fmt: skip
        note(f"exporting {info.description}")
        fps = args.fps or info.fps or DEFAULT_EXPORT_FPS
        # Offline: zero-phase smoothing and the body state's look-ahead form (no lag; see Processor.iter_offline)
        # over windows of --offline-window seconds; the poses are solved one at a time into the streamed writer.
        raw = (result.raw for result in run)
        with TakeWriter(rig, fps, args.bvh, args.glb, config) as take:
            for result in processor.iter_offline_windows(raw, args.offline_window):
                if result.pose is None:
                    continue
                take.add(result.pose)
                count += 1
                tracked += int(result.pose.tracking)
            if not count:
                raise BridgeError(f"{info.description} has no frames; nothing to export")
            summary = take.finish((args.glb or args.bvh).stem)
    if summary.gaps_cut:
        note(
            f"{summary.gaps_cut} time gap(s) longer than {take.resampler.max_gap_s:g} s in the input were cut "
            f"({summary.gap_s_cut:.1f} s in all); the take goes on from the next frame"
        )
    if args.bvh is not None:
        note(
            f"wrote {args.bvh}: {len(rig)} joints, {summary.frames} frames at {fps:g} fps "
            f"({summary.frames / fps:.2f} s, unit {config.unit}) from {count} input frames, person in {tracked}"
        )
    if args.glb is not None:
        note(f"wrote {args.glb}: {len(rig)} joints, {summary.glb_keys} keyframes at {fps:g} fps (metres)")
    return 0
