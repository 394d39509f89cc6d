"""``bridge export``: track a recording or a video, solve the rig, and write the motion as BVH (and/or glTF).

The landmark → pose chain is the one ``bridge stream`` uses (:class:`~bridge.app.processor.Processor` in the run
loop of :mod:`bridge.app.run`) with the same ``--rig``/``--mirror``/filter options, so an export looks like what
a live receiver got. The poses are resampled to ``--fps`` (default: the input's own rate) and written by
:func:`bridge.export.bvh.export_bvh` (format: see :mod:`bridge.export.bvh` and the README's "Export" section)
and/or :func:`bridge.export.gltf.export_glb`.
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
    fps_value,
    note,
    positive_int,
    processor_config_from_args,
    resolve_views,
    rig_from_args,
    tracker_config_from_args,
)
from bridge.core.errors import BridgeError
from bridge.core.pose import BonePose
from bridge.export.bvh import BVH_UNITS, BvhExportConfig, export_bvh
from bridge.export.gltf import export_glb
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
    """Track the input, solve every frame, and write the motion as BVH and/or glTF."""
    input_text = _input_text(args)
    outputs = [p for p in (args.bvh, args.glb) if p is not None]
    if not outputs:
        raise BridgeError("say what to write: --bvh FILE.bvh and/or --glb FILE.glb")
    for path in outputs:
        if not path.parent.is_dir():
            raise BridgeError(f"cannot write {path}: folder {path.parent} does not exist; create it first")
    config = BvhExportConfig(unit=args.unit)
    rig = rig_from_args(args)
    processor = Processor(rig, processor_config_from_args(args, root_motion="planar"))
    tracker = tracker_config_from_args(args)
    views = resolve_views(args)
    with open_run(input_text, tracker, None, max_frames=args.max_frames, on_note=note, views=views,
                  calibration=args.calibration) as (info, run):  # fmt: skip
        note(f"exporting {info.description}")
        fps = args.fps or info.fps or DEFAULT_EXPORT_FPS
        raw = [result.raw for result in run]
    # Offline: zero-phase smoothing and the body state's look-ahead form (no lag; see Processor.process_offline).
    poses: list[BonePose] = [r.pose for r in processor.process_offline(raw) if r.pose is not None]
    tracked = sum(int(p.tracking) for p in poses)
    if not poses:
        raise BridgeError(f"{info.description} has no frames; nothing to export")
    if args.bvh is not None:
        motion = export_bvh(args.bvh, poses, fps, config)
        note(
            f"wrote {args.bvh}: {len(rig)} joints, {motion.num_frames} frames at {fps:g} fps "
            f"({motion.duration_s:.2f} s, unit {config.unit}) from {len(poses)} input frames, person in {tracked}"
        )
    if args.glb is not None:
        keys = export_glb(args.glb, poses, fps, name=args.glb.stem)
        note(f"wrote {args.glb}: {len(rig)} joints, {keys} keyframes at {fps:g} fps (metres)")
    return 0
