"""The ``bridge`` command line.

Subcommands are registered in one place, :data:`COMMANDS`: each is a :class:`Command` with a function that adds
its options to its sub-parser and a ``cmd_<name>(args) -> int`` function that runs it. Commands that read an
input call :func:`add_input_args` (``--input``, ``--model``, ``--image-fps``) and build the tracker settings
with :func:`tracker_config_from_args`; :func:`resolve_input` picks the camera or the demo clip when no
``--input`` is given.

:func:`main` turns a :class:`~bridge.core.errors.BridgeError` into ``bridge: error: <message>`` on stderr and exit
status 2 (no traceback), and Ctrl-C into ``bridge: interrupted`` and status 130 after the commands' ``with``
blocks have closed (a recording being written stays valid).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bridge import __version__
from bridge.cli.options import note as _note
from bridge.cli.options import positive_float as _positive_float
from bridge.cli.options import positive_int as _positive_int
from bridge.core.errors import BridgeError
from bridge.core.landmarks import LandmarkFrame
from bridge.tracking.config import TrackerConfig
from bridge.tracking.process import open_landmarks


def add_input_args(parser: argparse.ArgumentParser) -> None:
    """Add the options every command that reads an input shares: ``--input``, ``--model``, ``--image-fps``."""
    group = parser.add_argument_group("input")
    group.add_argument(
        "--input",
        "-i",
        metavar="X",
        default=None,
        help="camera, camera:N, N (webcam number), a video file, a folder of images, a bridge recording "
        "(.jsonl) or demo; default: camera 0 if there is one, else the Sports2D demo clip",
    )
    group.add_argument(
        "--model",
        metavar="PATH",
        type=Path,
        default=None,
        help="MediaPipe pose landmarker .task file (lite/full/heavy); default: the bundled full model",
    )
    group.add_argument(
        "--image-fps",
        metavar="FPS",
        type=_positive_float,
        default=30.0,
        help="frame rate assigned to a folder of images (default 30)",
    )
    group.add_argument(
        "--track",
        metavar="PARTS",
        type=_track_parts,
        default=("body",),
        help="what to track, comma-separated from body, hands, face (e.g. body,hands,face: fingers, facial "
        "expressions, head and eyes); the body always runs (default body)",
    )


def _track_parts(text: str) -> tuple[str, ...]:
    """``--track`` value → the parts to track (see :func:`bridge.tracking.config.parse_track`)."""
    from bridge.tracking.config import parse_track

    try:
        return parse_track(text)
    except BridgeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def tracker_config_from_args(args: argparse.Namespace) -> TrackerConfig:
    """The :class:`TrackerConfig` selected by the options of :func:`add_input_args`."""
    return TrackerConfig(
        model_path=getattr(args, "model", None),
        image_fps=getattr(args, "image_fps", 30.0),
        track=tuple(getattr(args, "track", ("body",))),
    )


def resolve_input(args: argparse.Namespace) -> str:
    """The input string to open: ``--input``, else camera 0 if one exists, else the demo clip (said on stderr)."""
    if args.input is not None:
        return str(args.input)
    from bridge.tracking.sources import camera_available

    if camera_available(0):
        _note("no --input given: using camera 0")
        return "camera:0"
    _note("no --input given and no camera found: using the Sports2D demo clip (pass --input to choose)")
    return "demo"


# --------------------------------------------------------------------------------------------------------------
# bridge record


def _configure_record(parser: argparse.ArgumentParser) -> None:
    add_input_args(parser)
    parser.add_argument("--out", "-o", metavar="FILE", type=Path, required=True, help="recording file to write")
    parser.add_argument("--max-frames", metavar="N", type=_positive_int, default=None, help="stop after N frames")
    parser.add_argument("--append", action="store_true", help="continue FILE if it is already a recording")


def cmd_record(args: argparse.Namespace) -> int:
    """Track the input and write every LandmarkFrame to a recording (see :mod:`bridge.tracking.recording`)."""
    from bridge.tracking.recording import RecordingHeader, RecordingWriter, now_iso

    input_text = resolve_input(args)
    written = found = 0
    with open_landmarks(input_text, tracker_config_from_args(args)) as (info, frames):
        header = RecordingHeader(
            source=info.description, fps=info.fps, image_size=info.image_size, created=now_iso()
        )
        _note(f"recording {info.description} to {args.out} (Ctrl-C to stop)")
        with RecordingWriter(args.out, header, append=args.append) as writer:
            try:
                for frame in frames:
                    writer.write(frame)
                    written += 1
                    found += frame.person
                    if args.max_frames is not None and written >= args.max_frames:
                        break
            finally:
                share = f", person in {100.0 * found / written:.1f}%" if written else ""
                _note(f"wrote {written} frames{share} to {args.out}")
    return 0


# --------------------------------------------------------------------------------------------------------------
# bridge track


def _configure_track(parser: argparse.ArgumentParser) -> None:
    add_input_args(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per frame and a JSON summary")
    parser.add_argument("--summary-only", action="store_true", help="print only the final summary")
    parser.add_argument("--max-frames", metavar="N", type=_positive_int, default=None, help="stop after N frames")


def frame_summary(frame: LandmarkFrame) -> dict[str, object]:
    """A few numbers describing one frame, for ``bridge track`` output."""
    summary: dict[str, object] = {
        "frame_index": frame.frame_index,
        "t_s": round(frame.t_s, 4),
        "person": frame.person,
    }
    if frame.person:
        summary["mean_visibility"] = round(float(frame.visibility.mean()), 3)
        y_m = frame.world_xyz_m[:, 1]
        summary["vertical_extent_m"] = round(float(y_m.max() - y_m.min()), 3)
    if frame.hands is not None:  # --track hands
        summary["hands"] = len(frame.hands)
    if frame.face is not None:  # --track face, a face found
        summary["face"] = True
    return summary


def cmd_track(args: argparse.Namespace) -> int:
    """Track the input and print per-frame summaries and a final summary (frames, person found %, fps)."""
    input_text = resolve_input(args)
    count = found = 0
    start = time.perf_counter()
    dropped = 0
    description: str | None = None  # set once the input is open: no summary for start-up errors
    try:
        with open_landmarks(input_text, tracker_config_from_args(args)) as (info, frames):
            description = info.description
            start = time.perf_counter()
            for frame in frames:
                count += 1
                found += frame.person
                if not args.summary_only:
                    summary = frame_summary(frame)
                    if args.json:
                        print(json.dumps(summary), flush=True)
                    elif frame.person:
                        print(
                            f"frame {frame.frame_index:5d}  t={frame.t_s:8.3f} s  person  "
                            f"visibility {summary['mean_visibility']:.2f}  "
                            f"vertical extent {summary['vertical_extent_m']:.2f} m",
                            flush=True,
                        )
                    else:
                        print(f"frame {frame.frame_index:5d}  t={frame.t_s:8.3f} s  no person", flush=True)
                if args.max_frames is not None and count >= args.max_frames:
                    break
            dropped = int(getattr(frames, "dropped_frames", 0))
    finally:
        if description is not None:
            _print_track_summary(args, description, count, found, dropped, time.perf_counter() - start)
    return 0


def _print_track_summary(
    args: argparse.Namespace, description: str, count: int, found: int, dropped: int, elapsed: float
) -> None:
    """Print the final summary of ``bridge track`` (text or JSON)."""
    fps = count / elapsed if elapsed > 0 and count else 0.0
    share = 100.0 * found / count if count else 0.0
    if args.json:
        final = {
            "input": description,
            "frames": count,
            "person_found_percent": round(share, 1),
            "fps": round(fps, 1),
            "dropped_frames": dropped,
        }
        print(json.dumps({"summary": final}), flush=True)
    else:
        print(
            f"{description}: {count} frames, person found in {share:.1f}%, {fps:.1f} fps"
            + (f", {dropped} dropped" if dropped else ""),
            flush=True,
        )


# --------------------------------------------------------------------------------------------------------------
# Registry and entry point


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, one-line help, option setup and ``cmd_<name>`` function."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _configure_stream(parser: argparse.ArgumentParser) -> None:
    from bridge.cli.stream import configure_stream

    configure_stream(parser)


def _cmd_stream(args: argparse.Namespace) -> int:
    from bridge.cli.stream import cmd_stream

    return cmd_stream(args)


def _configure_export(parser: argparse.ArgumentParser) -> None:
    from bridge.cli.export import configure_export

    configure_export(parser)


def _cmd_export(args: argparse.Namespace) -> int:
    from bridge.cli.export import cmd_export

    return cmd_export(args)


def _configure_avatar(parser: argparse.ArgumentParser) -> None:
    from bridge.cli.avatar import configure_avatar

    configure_avatar(parser)


def _cmd_avatar(args: argparse.Namespace) -> int:
    from bridge.cli.avatar import cmd_avatar

    return cmd_avatar(args)


def _configure_analyze(parser: argparse.ArgumentParser) -> None:
    from bridge.cli.analyze import configure_analyze

    configure_analyze(parser)


def _cmd_analyze(args: argparse.Namespace) -> int:
    from bridge.cli.analyze import cmd_analyze

    return cmd_analyze(args)


def _configure_view(parser: argparse.ArgumentParser) -> None:
    from bridge.cli.view import configure_view

    configure_view(parser)


def _cmd_view(args: argparse.Namespace) -> int:
    from bridge.cli.view import cmd_view

    return cmd_view(args)


def _configure_batch(parser: argparse.ArgumentParser) -> None:
    from bridge.cli.batch import configure_batch

    configure_batch(parser)


def _cmd_batch(args: argparse.Namespace) -> int:
    from bridge.cli.batch import cmd_batch

    return cmd_batch(args)


#: Every subcommand, in the order ``bridge --help`` lists them. Add new ones here.
COMMANDS: list[Command] = [
    Command(
        "stream",
        "track a camera or a file and drive avatars over OSC (VMC, VRChat)",
        _configure_stream,
        _cmd_stream,
    ),
    Command("track", "track an input and print what the tracker sees", _configure_track, cmd_track),
    Command("record", "track an input and save the landmarks to a recording file", _configure_record, cmd_record),
    Command("export", "solve a recording or video, write the motion as BVH/glTF", _configure_export, _cmd_export),
    Command(
        "avatar", "convert a VRM / glTF avatar into a rig file (avatars/NAME.json)", _configure_avatar, _cmd_avatar
    ),  # fmt: skip
    Command(
        "analyze",
        "3-D joint angles, squat repetitions and jumps of videos or recordings, with a report",
        _configure_analyze,
        _cmd_analyze,
    ),  # fmt: skip
    Command(
        "view",
        "Open3D preview: landmarks and solved rig, received VMC, or a rig at rest",
        _configure_view,
        _cmd_view,
    ),  # fmt: skip
    Command(
        "batch",
        "track, solve and write every video of a folder (BVH, analysis), locally or on Ray",
        _configure_batch,
        _cmd_batch,
    ),  # fmt: skip
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="bridge",
        description="Webcam or video → MediaPipe pose landmarks → humanoid bone rotations → VMC / VRChat OSC.",
    )
    parser.add_argument("--version", action="version", version=f"bridge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        sub_parser = sub.add_parser(command.name, help=command.help, description=command.help)
        command.configure(sub_parser)
        sub_parser.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``bridge`` command line; returns the exit status (0 ok, 2 user error, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args))
    except BridgeError as exc:
        print(f"bridge: error: {exc}", file=sys.stderr, flush=True)
        return BridgeError.exit_code
    except KeyboardInterrupt:
        print("bridge: interrupted", file=sys.stderr, flush=True)
        return 130
    except BrokenPipeError:  # e.g. `bridge track | head`: the reader left; not an error worth a traceback
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
