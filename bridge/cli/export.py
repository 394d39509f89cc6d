"""``bridge export``: track a recording or a video, solve the rig, and write the motion as BVH (and/or glTF).

The landmark → pose chain is the one ``bridge stream`` uses (:class:`~bridge.app.stream.Processor`: flip repair,
One-Euro filter, solver) with the same ``--rig``/``--mirror``/filter options, so an export looks like what a
live receiver got. The poses are resampled to ``--fps`` (default: the input's own rate) and written by
:func:`bridge.export.bvh.export_bvh` (format: see :mod:`bridge.export.bvh` and the README's "Export" section)
and/or
:func:`bridge.export.gltf.export_glb`.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bridge.app.stream import Processor
from bridge.cli.options import float_in, positive_int
from bridge.cli.options import note as _note
from bridge.core.errors import BridgeError
from bridge.core.pose import BonePose
from bridge.core.rig import Rig
from bridge.export.bvh import BVH_UNITS, BvhExportConfig, BvhRecorder, export_bvh

#: Frame rate of the BVH when neither --fps nor the input says one.
DEFAULT_EXPORT_FPS = 30.0


_fps = float_in(1.0, 1000.0, "frame rate in frames per second")
_frames = positive_int


def configure_export(parser: argparse.ArgumentParser) -> None:
    """Options of ``bridge export``."""
    from bridge.cli.main import add_input_args
    from bridge.cli.stream import add_pose_args

    parser.add_argument(
        "source", nargs="?", metavar="RECORDING|VIDEO", default=None,
        help="a bridge recording (.jsonl), a video file or a folder of images (or use --input)",
    )  # fmt: skip
    add_input_args(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--bvh", metavar="FILE", type=Path, default=None, help="BVH file to write")
    out.add_argument("--glb", metavar="FILE", type=Path, default=None,
                     help="glTF binary to write: the rig as a skin and the motion as an animation")  # fmt: skip
    out.add_argument("--fps", type=_fps, default=None, metavar="N",
                     help="output frames per second; poses are resampled (default: the input's rate)")  # fmt: skip
    out.add_argument("--unit", choices=tuple(BVH_UNITS), default="cm",
                     help="unit of BVH offsets and hips positions (default cm; Blender: scale 0.01)")  # fmt: skip
    out.add_argument("--max-frames", type=_frames, default=None, metavar="N", help="use only the first N frames")
    add_pose_args(parser)


def _input_text(args: argparse.Namespace) -> str:
    from bridge.tracking.sources import parse_input

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
    from bridge.cli.main import tracker_config_from_args
    from bridge.cli.stream import processor_config_from_args, rig_from_args
    from bridge.tracking.process import open_landmarks

    input_text = _input_text(args)
    outputs = [p for p in (args.bvh, args.glb) if p is not None]
    if not outputs:
        raise BridgeError("say what to write: --bvh FILE.bvh and/or --glb FILE.glb")
    for path in outputs:
        if not path.parent.is_dir():
            raise BridgeError(f"cannot write {path}: folder {path.parent} does not exist; create it first")
    config = BvhExportConfig(unit=args.unit)
    rig = rig_from_args(args)
    processor = Processor(rig, processor_config_from_args(args))
    poses: list[BonePose] = []
    tracked = 0
    with open_landmarks(input_text, tracker_config_from_args(args)) as (info, frames):
        _note(f"exporting {info.description}")
        fps = args.fps or info.fps or DEFAULT_EXPORT_FPS
        for frame in frames:
            pose = processor(frame)
            poses.append(pose)
            tracked += int(pose.tracking)
            if args.max_frames is not None and len(poses) >= args.max_frames:
                break
    if not poses:
        raise BridgeError(f"{info.description} has no frames; nothing to export")
    if args.bvh is not None:
        motion = export_bvh(args.bvh, poses, fps, config)
        _note(
            f"wrote {args.bvh}: {len(rig)} joints, {motion.num_frames} frames at {fps:g} fps "
            f"({motion.duration_s:.2f} s, unit {config.unit}) from {len(poses)} input frames, person in {tracked}"
        )
    if args.glb is not None:
        from bridge.export.gltf import export_glb

        keys = export_glb(args.glb, poses, fps, name=args.glb.stem)
        _note(f"wrote {args.glb}: {len(rig)} joints, {keys} keyframes at {fps:g} fps (metres)")
    return 0


# --------------------------------------------------------------------------------------------------------------
# bridge stream --record-bvh


def add_record_bvh_args(parser: argparse.ArgumentParser) -> None:
    """``--record-bvh FILE``, ``--record-fps N``: record the solved motion while streaming (``bridge stream``)."""
    group = parser.add_argument_group("BVH recording")
    group.add_argument("--record-bvh", metavar="FILE", type=Path, default=None,
                       help="also record the solved motion to this BVH file (stays valid on Ctrl-C)")  # fmt: skip
    group.add_argument("--record-fps", type=_fps, default=DEFAULT_EXPORT_FPS, metavar="N",
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
            _note(f"recorded {recorder.frames_written} frames at {args.record_fps:g} fps to {path}")
        else:
            _note(f"no frame was recorded; {path} not written")
