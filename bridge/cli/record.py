"""``bridge record``: track an input and save every landmark frame to a recording
(:mod:`bridge.tracking.recording`), replayable anywhere an input is accepted."""

from __future__ import annotations

import argparse
from pathlib import Path

from bridge.app.multiview import open_views
from bridge.app.run import open_run
from bridge.cli.options import (
    add_input_args,
    note,
    positive_int,
    resolve_input,
    several_inputs,
    tracker_config_from_args,
)
from bridge.core.errors import BridgeError
from bridge.core.files import check_outputs
from bridge.multiview.calibration import read_calibration
from bridge.tracking.recording import MULTIVIEW_VERSION, RecordingHeader, RecordingWriter, now_iso


def configure_record(parser: argparse.ArgumentParser) -> None:
    add_input_args(parser)
    parser.add_argument("--out", "-o", metavar="FILE", type=Path, required=True, help="recording file to write")
    parser.add_argument("--max-frames", metavar="N", type=positive_int, default=None, help="stop after N frames")
    parser.add_argument("--append", action="store_true", help="continue FILE if it is already a recording")
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


def cmd_record(args: argparse.Namespace) -> int:
    """Track the input and write every LandmarkFrame to a recording."""
    several = several_inputs(args)
    inputs = list(args.inputs_all) if several else [resolve_input(args)]
    check_outputs([("--out", args.out)], inputs, force=True)  # never an input; an existing --out: below
    if args.out.exists() and not (args.force or args.append):
        raise BridgeError(
            f"{args.out} already exists; pass --force to overwrite it, --append to continue it, or another --out"
        )
    if several:
        return record_views(args)
    input_text = inputs[0]
    written = found = 0
    config = tracker_config_from_args(args)
    with open_run(input_text, config, None, max_frames=args.max_frames, on_note=note) as (info, run):
        header = RecordingHeader(
            source=info.description, fps=info.fps, image_size=info.image_size, created=now_iso()
        )
        note(f"recording {info.description} to {args.out} (Ctrl-C to stop)")
        with RecordingWriter(args.out, header, append=args.append) as writer:
            try:
                for result in run:
                    writer.write(result.raw)
                    written += 1
                    found += result.raw.person
            finally:
                share = f", person in {100.0 * found / written:.1f}%" if written else ""
                note(f"wrote {written} frames{share} to {args.out}")
    return 0


def record_views(args: argparse.Namespace) -> int:
    """Several ``--input`` with ``--calibration``: triangulate them and write a version-2 recording."""
    if args.calibration is None:
        raise BridgeError("several --input need --calibration FILE (a camera TOML or Qualisys .qca.txt)")
    calibration = read_calibration(args.calibration)
    config = tracker_config_from_args(args)
    written = found = 0
    with open_views(args.inputs_all, calibration, config, max_frames=args.max_frames, on_note=note) as (info, run):
        first = info.infos[0]
        header = RecordingHeader(
            source=" + ".join(i.description for i in info.infos), fps=first.fps, image_size=first.image_size,
            created=now_iso(), version=MULTIVIEW_VERSION, extra=info.header_fields(),
        )  # fmt: skip
        with RecordingWriter(args.out, header, append=args.append) as writer:
            try:
                for frame in run:
                    writer.write(frame)
                    written += 1
                    found += frame.person
            finally:
                note(f"wrote {written} triangulated frames ({found} with the person) to {args.out}")
    return 0
