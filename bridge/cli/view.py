"""``bridge view``: an Open3D preview of what the engine will get (the code lives in the ``viewer`` package).

Modes: track and solve an input (camera, video, recording) and show the filtered landmarks beside (or over)
the solved rig; ``--listen HOST:PORT``: draw the rig from incoming VMC, exactly what an engine receives;
``--rig NAME`` without ``--input``: the rig at rest. ``--avatar FILE`` draws the avatar's meshes skinned by the
pose (``--no-mesh``: its skeleton). ``--snapshot`` / ``--out-dir`` render headless.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from bridge.avatar.posing import AvatarModel, load_avatar_model
from bridge.cli.options import (
    add_input_args,
    add_pose_args,
    processor_config_from_args,
    resolve_bone_space,
    resolve_input,
    resolve_views,
    rig_from_args,
    tracker_config_from_args,
)
from bridge.cli.options import positive_float as _positive_float
from bridge.cli.options import positive_int as _positive_int
from bridge.core.errors import BridgeError
from bridge.core.hand_face import NUM_BLENDSHAPES
from bridge.core.rig import load_rig
from bridge.output.transport import parse_osc_target
from bridge.output.vmc import BONE_SPACES, VMC_DEFAULT_PORT
from bridge.solve.face import NAME_SETS, map_blendshapes
from bridge.viewer.app import ViewConfig, run_view
from bridge.viewer.scene import LAYOUTS, ViewOptions


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or not all(16 <= int(p) <= 8192 for p in parts):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}")
    return int(parts[0]), int(parts[1])


def configure_view(parser: argparse.ArgumentParser) -> None:

    add_input_args(parser)
    add_pose_args(parser)
    parser.set_defaults(rig=None)  # None = not given: with no --input, show this rig at rest
    group = parser.add_argument_group("view")
    group.add_argument("--listen", metavar="HOST:PORT", default=None,
                       help="receiver mode: draw the rig from VMC arriving here "
                       f"(e.g. 127.0.0.1:{VMC_DEFAULT_PORT}); "
                       "binds to the host given, use 0.0.0.0 to accept other machines")  # fmt: skip
    group.add_argument("--layout", choices=LAYOUTS, default="side",
                       help="landmarks beside the rig (default) or on top of it")  # fmt: skip
    group.add_argument("--axes", action="store_true", help="draw each bone's local x/y/z axes (red/green/blue)")
    group.add_argument("--bone-space", choices=("auto", *BONE_SPACES), default="auto",
                       help="--listen with --avatar: the space the sender's bones are in, as bridge stream "
                       "--bone-space (auto: original for a VRM 1.0 avatar whose bones are rotated at "
                       "rest)")  # fmt: skip
    group.add_argument("--no-mesh", action="store_true",
                       help="with --avatar: draw its skeleton as bones instead of its skinned meshes")  # fmt: skip
    group.add_argument("--no-grid", action="store_true", help="no floor grid")
    group.add_argument("--size", type=_size, default=None, metavar="WxH",
                       help="window or image size (default 960x720 window, 640x480 images)")  # fmt: skip
    group.add_argument("--max-fps", type=_positive_float, default=30.0, metavar="FPS",
                       help="draw at most this many frames per second (default 30)")  # fmt: skip
    group.add_argument("--cpu-share", type=float, default=0.1, metavar="F",
                       help="receiver mode: draw with at most this share of one CPU core (default 0.1; 0 = no "
                       "limit); software rendering competes with the tracker")  # fmt: skip
    group.add_argument("--fast", action="store_true", help="files: play as fast as tracking goes (window mode)")
    group.add_argument("--no-hud", action="store_true", help="no status text on rendered images")
    headless = parser.add_argument_group("headless (no window; renders on the CPU)")
    headless.add_argument("--snapshot", type=Path, default=None, metavar="FILE.png",
                          help="write one image: of the last frame with a person (receiver: the first frame "
                          "received)")  # fmt: skip
    headless.add_argument("--at", type=float, default=None, metavar="SECONDS",
                          help="with --snapshot and --input: the frame at this time instead")  # fmt: skip
    headless.add_argument("--out-dir", type=Path, default=None, metavar="DIR",
                          help="write frame_00000.png, ... one image per frame")  # fmt: skip
    headless.add_argument("--frames", type=_positive_int, default=None, metavar="N",
                          help="stop after N frames")  # fmt: skip
    headless.add_argument("--timeout", type=_positive_float, default=10.0, metavar="S",
                          help="receiver, headless: stop when nothing arrives for S s (default 10)")  # fmt: skip


def view_config_from_args(args: argparse.Namespace) -> ViewConfig:
    """Validate the options and build the :class:`bridge.viewer.app.ViewConfig` (bad values → one-line
    BridgeError)."""

    rig_given = args.rig is not None or bool(getattr(args, "avatar", None))  # --avatar FILE also sets args.rig
    avatar: AvatarModel | None = load_avatar_model(args.avatar) if getattr(args, "avatar", None) else None
    rig = avatar.rig if avatar is not None else rig_from_args(args) if rig_given else load_rig("default")
    listen: tuple[str, int] | None = None
    if args.listen is not None:
        if args.input is not None:
            raise BridgeError(
                "--listen and --input exclude each other: draw either received VMC or a tracked input"
            )
        try:
            target = parse_osc_target(args.listen)
        except BridgeError as exc:
            raise BridgeError(str(exc).replace("--osc", "--listen", 1)) from None
        listen = (target.ip or target.host, target.port)
    if args.out_dir is not None and args.out_dir.exists() and not args.out_dir.is_dir():
        raise BridgeError(f"--out-dir {args.out_dir} is a file; give a folder for the frame images")
    if args.snapshot is not None and args.snapshot.suffix.lower() != ".png":
        raise BridgeError(f"--snapshot {args.snapshot}: the image must be a .png file")
    if args.at is not None and (args.snapshot is None or listen is not None or not args.at >= 0):
        raise BridgeError(
            f"--at {args.at:g}: give a time of 0 s or more, with --snapshot FILE.png and an --input to take it "
            "from"
        )
    if not 0 <= args.cpu_share <= 64:
        raise BridgeError(f"--cpu-share {args.cpu_share:g}: give a share of one core from 0 (no limit) to 64")
    headless = args.snapshot is not None or args.out_dir is not None
    if args.input is not None or (listen is None and not rig_given):
        views = resolve_views(args)
        input_text: str | None = None if listen is not None else args.input if views else resolve_input(args)
    else:
        input_text = None
    default_size = (640, 480) if headless else (960, 720)
    width, height = args.size or default_size
    return ViewConfig(
        input_text=input_text,
        views=resolve_views(args) if input_text is not None else (),
        calibration=getattr(args, "calibration", None),
        listen=listen,
        rig=rig,
        avatar=avatar,
        mesh=not args.no_mesh,
        bone_space=resolve_bone_space(args.bone_space, rig)
        if listen is not None and avatar is not None
        else "normalized",
        tracker=tracker_config_from_args(args),
        processor=processor_config_from_args(args),
        options=ViewOptions(layout=args.layout, axes_m=0.08 if args.axes else 0.0, grid=not args.no_grid),
        width=width,
        height=height,
        snapshot=args.snapshot,
        snapshot_at_s=args.at,
        out_dir=args.out_dir,
        frames=args.frames,
        max_fps=args.max_fps,
        realtime=not args.fast,
        timeout_s=args.timeout,
        hud=not args.no_hud,
        cpu_share=args.cpu_share,
    )


def blendshape_hint(avatar: AvatarModel, name_set: str) -> str | None:
    """A one-line hint when none of the ``--blendshapes`` names would move the avatar's face but another name
    set's would; None when they fit (or no set does)."""
    known = avatar.expressions.names
    matches = {s: len(set(map_blendshapes(np.zeros(NUM_BLENDSHAPES), s)) & set(known)) for s in NAME_SETS}
    if matches[name_set] or not any(matches.values()):
        return None
    best = max(matches, key=lambda s: matches[s])
    return (f"bridge: note: the avatar has no expressions named like --blendshapes {name_set}; it has "
            f"{matches[best]} named like --blendshapes {best}: pass that to see its face move")  # fmt: skip


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cmd_view(args: argparse.Namespace) -> int:
    """Run the viewer; headless runs say what they wrote on stderr."""

    config = view_config_from_args(args)
    if config.avatar is not None and config.mesh and not config.avatar.meshes.primitives:
        _say("bridge: note: the avatar has no meshes to draw: drawing its skeleton")
        config = dataclasses.replace(config, mesh=False)
    if config.avatar is not None:
        a = config.avatar
        _say(
            f"bridge: avatar {Path(a.skeleton.source).name}: {len(a.meshes.primitives)} mesh part(s), "
            f"{a.meshes.vertex_count} vertices, {len(a.expressions.expressions)} expressions "
            f"({a.expressions.kind})"
        )
        for note in a.meshes.notes + a.expressions.notes:
            _say(f"bridge: note: {note}")
        hint = blendshape_hint(a, config.processor.face.names) if config.processor.face is not None else None
        if hint and config.input_text is not None and "face" in config.tracker.track:
            _say(hint)
    if config.listen is not None:
        _say(f"bridge: listening for VMC on {config.listen[0]}:{config.listen[1]}")
    result = run_view(config)
    if config.headless:
        shown = list(dict.fromkeys(result.images[:1] + result.images[-1:]))
        where = " ... ".join(str(p) for p in shown) if shown else "nothing"
        _say(f"bridge: drew {result.frames} frame(s); wrote {len(result.images)} image(s): {where}")
        if config.snapshot is not None and result.snapshot_t_s is not None:
            _say(f"bridge: the snapshot shows frame {result.snapshot_frame} (t = {result.snapshot_t_s:.3f} s)")
        if result.note:
            _say(f"bridge: note: {result.note}")
    if result.avatar_ms:
        ms = sorted(result.avatar_ms)
        _say(f"bridge: posing and skinning the avatar took {ms[len(ms) // 2]:.2f} ms per frame (median of "
             f"{len(ms)}, slowest {ms[-1]:.2f} ms)")  # fmt: skip
    return 0
