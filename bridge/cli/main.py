"""The ``bridge`` command line.

Subcommands are registered in one place, :data:`COMMANDS`: each is a :class:`Command` with a function that adds
its options to its sub-parser and a ``cmd_<name>(args) -> int`` function that runs it, one module per command
(``bridge.cli.<name>``). Options that several commands share live in :mod:`bridge.cli.options`.

:func:`main` turns a :class:`~bridge.core.errors.BridgeError` into ``bridge: error: <message>`` on stderr and exit
status 2 (no traceback), and Ctrl-C into ``bridge: interrupted`` and status 130 after the commands' ``with``
blocks have closed (a recording being written stays valid), and a closed output pipe (``| head``) into one note
and status 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

from bridge import __version__
from bridge.cli.analyze import cmd_analyze, configure_analyze
from bridge.cli.avatar import cmd_avatar, configure_avatar
from bridge.cli.batch import cmd_batch, configure_batch
from bridge.cli.calibrate import cmd_calibrate, configure_calibrate
from bridge.cli.cameras import cmd_cameras, configure_cameras
from bridge.cli.export import cmd_export, configure_export
from bridge.cli.record import cmd_record, configure_record
from bridge.cli.stream import cmd_stream, configure_stream
from bridge.cli.track import cmd_track, configure_track
from bridge.cli.view import cmd_view, configure_view
from bridge.core.errors import BridgeError

# --------------------------------------------------------------------------------------------------------------
# Registry and entry point


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, one-line help, option setup and ``cmd_<name>`` function."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


#: Every subcommand, in the order ``bridge --help`` lists them. Add new ones here.
COMMANDS: list[Command] = [
    Command(
        "stream",
        "track a camera or a file and drive avatars over OSC (VMC, VRChat)",
        configure_stream,
        cmd_stream,
    ),
    Command("track", "track an input and print what the tracker sees", configure_track, cmd_track),
    Command("cameras", "list the cameras of this machine and their modes", configure_cameras, cmd_cameras),
    Command("record", "track an input and save the landmarks to a recording file", configure_record, cmd_record),
    Command("export", "solve a recording or video, write the motion as BVH/glTF", configure_export, cmd_export),
    Command(
        "avatar", "convert a VRM / glTF avatar into a rig file (avatars/NAME.json)", configure_avatar, cmd_avatar
    ),  # fmt: skip
    Command(
        "analyze",
        "3-D joint angles, squat repetitions and jumps of videos or recordings, with a report",
        configure_analyze,
        cmd_analyze,
    ),  # fmt: skip
    Command(
        "view",
        "Open3D preview: landmarks and solved rig, received VMC, or a rig at rest",
        configure_view,
        cmd_view,
    ),  # fmt: skip
    Command(
        "batch",
        "track, solve and write every video of a folder (BVH, analysis), locally or on Ray",
        configure_batch,
        cmd_batch,
    ),  # fmt: skip
    Command(
        "calibrate",
        "cameras for several-view tracking: convert a calibration, intrinsics from a board, sync videos",
        configure_calibrate,
        cmd_calibrate,
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
        print("bridge: the reader of the output closed it; stopped", file=sys.stderr, flush=True)
        return 0
